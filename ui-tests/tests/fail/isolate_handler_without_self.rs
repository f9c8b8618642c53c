use isolate_core::prelude::*;

#[isolate]
pub struct Session {
    id: u64,
}

#[isolate]
impl Session {
    #[message]
    fn id(&self) -> u64 {
        self.id
    }

    #[message]
    fn version() -> u32 {
        1
    }
}

fn main() {}
