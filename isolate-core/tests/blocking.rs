//! `blocking` and `blocking_with`: blocking work on threads of its own,
//! awaited by isolates without holding a worker.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, blocking, blocking_with};

/// Blocks its thread until the test answers the `ReplySender` it hands
/// over: a blocking call whose end the test decides.
fn wait_for_the_test(gate: SendPort<ReplySender<u32>>) -> u32 {
    let (open, opened) = Reply::channel();
    gate.send(open).unwrap();
    opened.wait_timeout(PATIENCE).unwrap()
}

#[isolate]
struct Worker;

#[isolate]
impl Worker {
    #[message]
    async fn blocked(&self, gate: SendPort<ReplySender<u32>>) -> u32 {
        blocking_with(gate, wait_for_the_test).await.unwrap()
    }

    #[message]
    fn ping(&self) -> &'static str {
        "pong"
    }
}

#[test]
fn a_blocking_call_leaves_the_group_s_one_worker_to_other_isolates() {
    let group = common::group(1);
    let (blocked, other) = (group.spawn(Worker), group.spawn(Worker));
    let mut gates = ReceivePort::new();
    let answer = blocked.blocked(gates.send_port());
    // The blocking call has started, and blocks its thread...
    let open = gates.recv_timeout(PATIENCE).unwrap();
    // ...while the group's only worker still serves another isolate.
    assert_eq!(other.ping().wait_timeout(PATIENCE), Ok("pong"));
    open.send(7);
    assert_eq!(answer.wait_timeout(PATIENCE), Ok(7));
}

#[test]
fn a_panic_in_blocking_work_is_an_error_with_its_message() {
    let error = blocking(|| -> u8 { panic!("disk on fire") })
        .wait()
        .unwrap_err();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert_eq!(error.message(), "disk on fire");
    // The pool goes on.
    assert_eq!(blocking(|| 1 + 1).wait(), Ok(2));
}

#[test]
fn more_calls_than_threads_all_complete_in_their_turn() {
    let calls = isolate_core::blocking::MAX_THREADS * 3;
    let pending: Vec<_> = (0..calls as u64)
        .map(|n| blocking_with(n, |n| n * 2))
        .collect();
    for (n, result) in pending.into_iter().enumerate() {
        assert_eq!(result.wait(), Ok(n as u64 * 2));
    }
}
