use isolate_core::prelude::*;

#[isolate]
pub struct Sink {
    lines: Vec<String>,
}

#[isolate]
impl Sink {
    #[message]
    fn push(&mut self, line: impl Into<String>) {
        self.lines.push(line.into());
    }
}

fn main() {}
