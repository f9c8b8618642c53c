//! Code generation, from input that `valid.rs` has accepted. Nothing here
//! reports a user error.

mod isolate;
mod message;

pub(crate) use isolate::{isolate, stand_in, tell_companions};
pub(crate) use message::message;
