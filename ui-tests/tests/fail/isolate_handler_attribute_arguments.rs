use isolate_core::prelude::*;

#[isolate]
pub struct Sink {
    lines: Vec<String>,
}

#[isolate]
impl Sink {
    #[message(priority = "high")]
    fn push(&mut self, line: String) {
        self.lines.push(line);
    }
}

fn main() {}
