use std::collections::HashMap;
use std::sync::Arc;

use isolate_core::prelude::*;

#[message]
pub struct Chunk {
    pub id: u64,
    pub text: String,
    pub stop_words: Shared<Vec<String>>,
    pub reply: SendPort<HashMap<String, u64>>,
}

#[message]
pub enum Command<T> {
    Add(T),
    Clear,
    Snapshot { to: ReplySender<Vec<T>> },
}

fn send<T: Sendable>(_: T) {}

fn main() {
    let mut inbox = ReceivePort::new();
    send(Chunk {
        id: 1,
        text: String::from("hello"),
        stop_words: Shared::new(vec![String::from("the")]),
        reply: inbox.send_port(),
    });
    send(Command::Add(String::from("x")));
    send(Command::<u8>::Clear);
    send(Arc::new(String::from("immutable")));
    send(Shared::<str>::from("text"));
    let _ = inbox.try_recv();
}
