//! Replies: an ask resolves with a value or an error, never a hang.

mod common;

use std::time::Duration;

use common::{Counter, CounterMsg, PATIENCE, group};
use isolate_core::prelude::*;

#[test]
fn a_reply_resolves_with_the_answer() {
    let (reply_to, reply) = Reply::channel();
    std::thread::spawn(move || reply_to.send(5u8));
    assert_eq!(reply.wait_timeout(PATIENCE), Ok(5));
}

#[test]
fn a_dropped_reply_sender_fails_the_reply() {
    let (reply_to, reply) = Reply::<u8>::channel();
    drop(reply_to);
    assert_eq!(reply.wait(), Err(ReplyError::Dropped));
}

#[test]
fn wait_timeout_reports_the_timeout() {
    let (_reply_to, reply) = Reply::<u8>::channel();
    let after = Duration::from_millis(5);
    assert_eq!(reply.wait_timeout(after), Err(ReplyError::Timeout(after)));
}

#[test]
fn try_wait_gives_the_reply_back_until_the_answer_is_there() {
    let (reply_to, reply) = Reply::channel();
    let reply = match reply.try_wait() {
        Err(Ok(reply)) => reply,
        other => panic!("expected a pending reply, got {other:?}"),
    };
    reply_to.send(3u8);
    assert_eq!(reply.try_wait().ok(), Some(3));
}

#[test]
fn a_reply_sender_knows_when_the_asker_stopped_waiting() {
    let (reply_to, reply) = Reply::<u8>::channel();
    assert!(!reply_to.is_closed());
    drop(reply);
    assert!(reply_to.is_closed());
    reply_to.send(1); // dropped quietly: nobody to tell
}

#[test]
fn pending_asks_fail_when_the_group_is_dropped() {
    let group = group(1);
    let sleeper = group.spawn(Counter::default());
    // The sleeper parks inside an async handler that never finishes; asks
    // queue behind it.
    let mut started = ReceivePort::new();
    let in_flight = sleeper.ask(|reply| CounterMsg::Sleep(started.send_port(), reply));
    started.recv_timeout(PATIENCE).unwrap();
    let queued: Vec<_> = (0..3).map(|_| sleeper.ask(CounterMsg::Total)).collect();
    drop(group);
    assert_eq!(in_flight.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    for reply in queued {
        assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    }
    // And the port knows it is closed.
    assert!(sleeper.is_closed());
    assert!(sleeper.send(CounterMsg::Add(1)).is_err());
}

#[test]
fn an_ask_to_a_stopped_isolate_fails_at_once() {
    let group = group(1);
    let counter = group.spawn(Counter::default());
    drop(group);
    assert_eq!(
        counter.ask(CounterMsg::Total).wait(),
        Err(ReplyError::Dropped)
    );
}
