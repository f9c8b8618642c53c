use std::rc::Rc;
use isolate_core::prelude::*;

#[isolate]
pub struct Worker {
    done: u64,
}

#[isolate]
impl Worker {
    #[message]
    async fn step(&mut self, wait_on: SendPort<SendPort<u64>>) {
        // An `Rc` held across an `.await` makes the handler's future `!Send`.
        let local = Rc::new(1u64);
        let mut inbox = ReceivePort::new();
        let _ = wait_on.send(inbox.send_port());
        let n = inbox.recv_async().await.unwrap_or(0);
        self.done += n + *local;
    }
}

fn main() {}
