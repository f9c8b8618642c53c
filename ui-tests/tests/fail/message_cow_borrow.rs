use std::borrow::Cow;
use isolate_core::prelude::*;

#[message]
pub struct Line {
    pub text: Cow<'static, str>,
    pub tag: Option<&'static str>,
}

#[message]
pub struct Borrowed<'a> {
    pub text: Cow<'a, str>,
}

fn main() {}
