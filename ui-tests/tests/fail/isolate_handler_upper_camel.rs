use isolate_core::prelude::*;

#[isolate]
pub struct Bell;

#[isolate]
impl Bell {
    #[allow(non_snake_case)]
    #[message]
    fn Ring(&self, times: u8) {
        let _ = times;
    }
}

fn main() {}
