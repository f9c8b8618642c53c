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

/// An isolate that asks itself, as a handler that forgot it is the isolate.
#[isolate]
#[derive(Default)]
struct Narcissus {
    total: u64,
}

#[isolate]
impl Narcissus {
    #[message]
    fn add(&mut self, n: u64) -> u64 {
        self.total += n;
        self.total
    }

    /// Awaits an ask to its own port: it could only be answered after this
    /// handler returns.
    #[message]
    async fn add_through(&self, me: NarcissusPort, n: u64) -> Result<u64, ReplyError> {
        me.add(n).await
    }

    /// The same from a handler that is not async: refused before it is sent.
    #[message]
    fn ask_and_drop(&self, me: NarcissusPort) -> Option<ReplyError> {
        me.add(1).try_wait().err().and_then(Result::err)
    }
}

#[test]
fn an_ask_to_the_isolate_that_is_asking_fails_at_once() {
    let group = group(2);
    let me = group.spawn(Narcissus::default());
    assert_eq!(
        me.add_through(me.clone(), 5).wait_timeout(PATIENCE),
        Ok(Err(ReplyError::AskedItself))
    );
    assert_eq!(
        me.ask_and_drop(me.clone()).wait_timeout(PATIENCE),
        Ok(Some(ReplyError::AskedItself))
    );
    // Neither request was sent; the isolate is unharmed and answers others.
    assert_eq!(me.add(2).wait_timeout(PATIENCE), Ok(2));
    let text = ReplyError::AskedItself.to_string();
    assert!(text.contains("asked itself"), "{text}");
}

#[test]
fn an_ask_to_another_isolate_of_the_same_type_is_not_refused() {
    let group = group(2);
    let one = group.spawn(Narcissus::default());
    let two = group.spawn(Narcissus::default());
    assert_eq!(
        one.add_through(two.clone(), 3).wait_timeout(PATIENCE),
        Ok(Ok(3))
    );
    assert_eq!(two.add(0).wait_timeout(PATIENCE), Ok(3));
}

/// Rule: dropping a reply gives up the answer, not the request (the full
/// bounded mailbox's half of the rule is in `tests/bounded.rs`).
#[test]
fn a_dropped_reply_still_sends_its_request_to_an_unbounded_mailbox() {
    let group = group(2);
    let counter = group.spawn(Narcissus::default());
    drop(counter.add(4));
    assert_eq!(counter.add(1).wait_timeout(PATIENCE), Ok(5));
}
