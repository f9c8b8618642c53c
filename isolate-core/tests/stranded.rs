//! An isolate woken into a worker's LIFO slot by a handler that then goes
//! on for long (blocks, or computes) is taken by another worker, not left
//! waiting for the whole handler.

mod common;

use std::sync::mpsc;

use common::PATIENCE;
use isolate_core::prelude::*;

#[isolate]
struct Echo;

#[isolate]
impl Echo {
    /// Says `n` back on `to`.
    #[message]
    fn echo(&self, n: u32, to: SendPort<u32>) {
        to.send(n).unwrap();
    }
}

/// The handler that strands its wake-up: it wakes `echo` (which goes into
/// this worker's LIFO slot, to run when this handler returns), then blocks
/// this worker until the echo has run. Only another worker can run it.
#[isolate]
struct Blocker;

#[isolate]
impl Blocker {
    #[message]
    fn wake_then_block(&self, echo: EchoPort, done: SendPort<&'static str>) {
        let mut echoed = ReceivePort::new();
        echo.echo(7, echoed.send_port()).unwrap();
        // A blocking wait on a worker, which a real handler should not do;
        // it stands for a long computation or a blocking call.
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(echoed.recv_timeout(PATIENCE));
        });
        let seen = rx.recv_timeout(PATIENCE).ok().and_then(Result::ok);
        done.send(if seen == Some(7) {
            "the echo ran while this handler blocked"
        } else {
            "the echo waited for this handler"
        })
        .unwrap();
    }
}

#[test]
fn a_wake_up_stranded_behind_a_blocked_handler_is_taken_by_another_worker() {
    let group = common::group(2);
    for _ in 0..5 {
        let echo = group.spawn(Echo);
        let blocker = group.spawn(Blocker);
        let mut done = ReceivePort::new();
        blocker.wake_then_block(echo, done.send_port()).unwrap();
        assert_eq!(
            done.recv_timeout(PATIENCE * 2),
            Ok("the echo ran while this handler blocked")
        );
    }
}
