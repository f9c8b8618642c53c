use isolate_core::prelude::*;

#[message]
pub struct Job<'a> {
    pub text: &'a str,
}

fn main() {}
