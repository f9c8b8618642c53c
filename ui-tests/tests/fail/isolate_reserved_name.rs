use isolate_core::prelude::*;

#[isolate]
pub struct Door {
    open: bool,
}

#[isolate]
impl Door {
    #[message]
    fn is_closed(&self) -> bool {
        !self.open
    }
}

fn main() {}
