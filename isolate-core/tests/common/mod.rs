//! A hand-written counter isolate shared by the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use isolate_core::prelude::*;

/// Long enough never to fire on a healthy run; a hang fails the test instead
/// of stalling CI.
pub const PATIENCE: Duration = Duration::from_secs(30);

#[message]
#[derive(Default)]
pub struct Counter {
    pub total: u64,
    pub seen: Vec<u64>,
}

#[message]
pub enum CounterMsg {
    Add(u64),
    Total(ReplySender<u64>),
    Seen(ReplySender<Vec<u64>>),
    Panic(&'static str),
    /// Replies after an `.await` on a receive port.
    AddLater(u64, ReplySender<u64>),
    Sleep(SendPort<()>, ReplySender<()>),
}

impl Isolate for Counter {
    type Message = CounterMsg;
    type Port = SendPort<CounterMsg>;

    fn handle(&mut self, message: CounterMsg) -> Handled<'_> {
        match message {
            CounterMsg::Add(n) => {
                self.total += n;
                self.seen.push(n);
            }
            CounterMsg::Total(reply) => reply.send(self.total),
            CounterMsg::Seen(reply) => reply.send(self.seen.clone()),
            CounterMsg::Panic(why) => panic!("{why}"),
            CounterMsg::AddLater(n, reply) => {
                return Handled::future(async move {
                    // A real await: the value comes back through a port.
                    let mut inbox = ReceivePort::new();
                    inbox.send_port().send(n).unwrap();
                    let n = inbox.recv_async().await.unwrap();
                    self.total += n;
                    self.seen.push(n);
                    reply.send(self.total);
                });
            }
            CounterMsg::Sleep(started, reply) => {
                return Handled::future(async move {
                    // Wait on a port nobody answers until the test drops it.
                    let mut never = ReceivePort::<()>::new();
                    let _keep = never.send_port();
                    let _ = started.send(());
                    let _ = never.recv_async().await;
                    reply.send(());
                });
            }
        }
        Handled::Done
    }
}

pub fn group(workers: usize) -> IsolateGroup {
    IsolateGroup::builder()
        .workers(workers)
        .name("test")
        .build()
        .expect("a test group starts")
}

/// Waits, with a bound, for a condition that a background thread makes true
/// and that no port reports (a worker parking, an isolate's teardown). Fails
/// the test after `PATIENCE`.
pub fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + PATIENCE;
    while !condition() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::yield_now();
    }
}

/// What `group.isolates()` says of the isolate behind `handle`.
pub fn info(group: &IsolateGroup, handle: &IsolateHandle) -> isolate_core::IsolateInfo {
    group
        .isolates()
        .into_iter()
        .find(|info| info.id == handle.id())
        .expect("a live isolate is listed")
}
