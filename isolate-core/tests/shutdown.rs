//! `group.shutdown()` and `shutdown_timeout()`: stop everything, fail every
//! pending ask, join the workers, and say what was still running.

mod common;

use std::time::Duration;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{IsolateState, SpawnOptions};

#[message]
struct Blocker;

enum BlockerMsg {
    /// Blocks the worker until `go` fires (test-only: real handlers await).
    Block(std::sync::mpsc::Receiver<()>, SendPort<()>),
    Ping(ReplySender<()>),
}

// SAFETY: test-only. The `Receiver` is owned and moved, never shared; it is
// not `Sendable` in general only because blocking has no place in a handler,
// which is exactly what this test needs.
unsafe impl Sendable for BlockerMsg {}

impl Isolate for Blocker {
    type Message = BlockerMsg;
    type Port = SendPort<BlockerMsg>;
    fn handle(&mut self, message: BlockerMsg) -> Handled<'_> {
        match message {
            BlockerMsg::Block(go, started) => {
                let _ = started.send(());
                let _ = go.recv_timeout(PATIENCE);
            }
            BlockerMsg::Ping(reply) => reply.send(()),
        }
        Handled::Done
    }
}

#[test]
fn shutdown_stops_every_isolate_fails_pending_asks_and_refuses_new_spawns() {
    let group = common::group(2);
    let mut exits = ReceivePort::new();
    let mut ports = Vec::new();
    for _ in 0..10 {
        let (port, _handle) =
            group.spawn_with(Blocker, SpawnOptions::new().on_exit(exits.send_port(), ()));
        ports.push(port);
    }
    let pending: Vec<_> = ports.iter().map(|p| p.ask(BlockerMsg::Ping)).collect();
    let report = group.shutdown();
    assert!(report.is_clean(), "{report:?}");
    // Every ask was answered or failed: none hangs.
    for reply in pending {
        let _ = reply
            .wait_timeout(PATIENCE)
            .map_err(|e| assert_eq!(e, ReplyError::Dropped));
    }
    for _ in 0..10 {
        assert_eq!(exits.recv_timeout(PATIENCE), Ok(()));
    }
    assert!(group.is_empty());
    assert!(ports.iter().all(SendPort::is_closed));
    // A spawn after shutdown returns a port that is already closed.
    let late = group.spawn(Blocker);
    assert!(late.is_closed());
    assert_eq!(late.ask(BlockerMsg::Ping).wait(), Err(ReplyError::Dropped));
}

#[test]
fn shutdown_timeout_reports_a_handler_that_did_not_return_and_stops_it_after() {
    let group = common::group(1);
    let mut exits = ReceivePort::new();
    let (port, handle) = group.spawn_with(
        Blocker,
        SpawnOptions::new()
            .name("stuck")
            .on_exit(exits.send_port(), "stopped"),
    );
    let (go, wait) = std::sync::mpsc::channel();
    let mut started = ReceivePort::new();
    port.send(BlockerMsg::Block(wait, started.send_port()))
        .unwrap();
    started.recv_timeout(PATIENCE).unwrap();

    let report = group.shutdown_timeout(Duration::from_millis(50));
    assert!(!report.is_clean());
    assert_eq!(report.workers_left_running, ["test-0"]);
    assert_eq!(report.still_running.len(), 1);
    assert_eq!(report.still_running[0].id, handle.id());
    assert_eq!(report.still_running[0].name.as_deref(), Some("stuck"));
    assert_eq!(report.still_running[0].state, IsolateState::Running);

    // Queued behind the stuck handler: never handled, it fails.
    let queued = port.ask(BlockerMsg::Ping);
    // Once the handler returns, its worker stops the isolate.
    go.send(()).unwrap();
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("stopped"));
    assert_eq!(queued.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    assert!(handle.is_finished());
}
