use std::borrow::Cow;

use isolate_core::prelude::*;

#[isolate]
pub struct Log {
    lines: Vec<String>,
}

#[isolate]
impl Log {
    #[message]
    fn take(&mut self, line: Cow<str>) {
        self.lines.push(line.into_owned());
    }
}

fn main() {}
