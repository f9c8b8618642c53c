//! Bounded mailboxes: `SpawnOptions::bounded(n)` holds at most `n` messages;
//! a full mailbox pushes back on its senders, and nothing waits forever.

mod common;

use std::time::Duration;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{IsolateState, RecvTimeoutError, SendTimeoutError, SpawnOptions, TrySendError};

#[isolate]
#[derive(Default)]
struct Sink {
    got: Vec<u32>,
}

#[isolate]
impl Sink {
    #[message]
    fn put(&mut self, n: u32) {
        self.got.push(n);
    }

    #[message]
    fn pair(&mut self, a: u32, b: u32) {
        self.got.push(a);
        self.got.push(b);
    }

    #[message]
    fn got(&self) -> Vec<u32> {
        self.got.clone()
    }

    /// An ask with an effect: what a dropped reply must not lose.
    #[message]
    fn put_counted(&mut self, n: u32) -> usize {
        self.got.push(n);
        self.got.len()
    }
}

/// A sink that holds its messages until resumed: its mailbox fills up.
fn paused_sink(group: &IsolateGroup, capacity: usize) -> (SinkPort, IsolateHandle) {
    group.spawn_with(
        Sink::default(),
        SpawnOptions::new().bounded(capacity).paused(true),
    )
}

fn resume(handle: &IsolateHandle) {
    handle.resume(&handle.pause_capability());
}

/// Rule: a full mailbox refuses `try_` sends with `Full`, giving the
/// arguments back, and accepts again once the isolate has made room.
#[test]
fn try_send_to_a_full_mailbox_gives_the_message_back() {
    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 2);
    sink.try_put(1).unwrap();
    sink.try_put(2).unwrap();
    assert!(matches!(sink.try_put(3), Err(TrySendError::Full(3))));
    assert!(matches!(
        sink.try_pair(4, 5),
        Err(TrySendError::Full((4, 5)))
    ));
    let info = common::info(&group, &handle);
    assert_eq!(info.mailbox_len, 2);
    assert_eq!(info.mailbox_capacity, Some(2));
    assert_eq!(info.state, IsolateState::Paused);

    resume(&handle);
    assert_eq!(sink.got().wait_timeout(PATIENCE), Ok(vec![1, 2]));
    sink.try_put(3).unwrap();
    assert_eq!(sink.got().wait_timeout(PATIENCE), Ok(vec![1, 2, 3]));
}

/// Rule: an unbounded mailbox (the default) is never full.
#[test]
fn an_unbounded_mailbox_is_never_full() {
    let group = common::group(2);
    let (sink, handle) = group.spawn_with(Sink::default(), SpawnOptions::new().paused(true));
    for n in 0..10_000 {
        sink.try_put(n).unwrap();
    }
    let info = common::info(&group, &handle);
    assert_eq!(info.mailbox_capacity, None);
    resume(&handle);
    assert_eq!(sink.got().wait_timeout(PATIENCE).unwrap().len(), 10_000);
}

/// Rule: a blocking tell waits for room on a plain thread, and delivers in
/// order once the isolate takes its messages.
#[test]
fn a_blocking_tell_waits_for_room() {
    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(0).unwrap();
    let mut sent = ReceivePort::new();
    let done = sent.send_port();
    let producer = sink.clone();
    // Miri runs each hand-off thousands of times slower.
    let last = if cfg!(miri) { 10 } else { 100 };
    let thread = std::thread::spawn(move || {
        for n in 1..=last {
            producer.put(n).unwrap();
        }
        done.send(()).unwrap();
    });
    // The producer cannot get past its first tell while the sink is paused.
    assert_eq!(
        sent.recv_timeout(Duration::from_millis(50)),
        Err(RecvTimeoutError::Timeout)
    );
    resume(&handle);
    assert_eq!(sent.recv_timeout(PATIENCE), Ok(()));
    thread.join().unwrap();
    assert_eq!(
        sink.got().wait_timeout(PATIENCE),
        Ok((0..=last).collect::<Vec<_>>())
    );
}

/// Rule: `send_timeout` gives the message back when the mailbox stays full.
#[test]
fn send_timeout_gives_up_on_a_mailbox_that_stays_full() {
    let group = common::group(2);
    let (sink, _handle) = paused_sink(&group, 1);
    sink.put(1).unwrap();
    let port = sink.send_port();
    let error = port
        .send_timeout(port_message(&sink), Duration::from_millis(20))
        .unwrap_err();
    assert!(matches!(error, SendTimeoutError::Timeout(_)));
}

/// A message for `sink`'s raw port, built through an ask that is then
/// dropped: the only way to name the hidden message type from outside.
fn port_message(sink: &SinkPort) -> <Sink as Isolate>::Message {
    let mut inbox = ReceivePort::new();
    let raw = inbox.send_port();
    // A port of the same message type that leads to a ReceivePort.
    let _ = SinkPort::from(raw).put(9);
    let message = inbox.try_recv().unwrap();
    let _ = sink;
    message
}

/// Rule: inside an isolate, `_async` tells wait for room without blocking a
/// worker, so a producer isolate can feed a slower bounded consumer.
#[test]
fn an_isolate_waits_for_room_with_async_tells() {
    const COUNT: u32 = if cfg!(miri) { 50 } else { 1_000 };
    async fn produce((sink, done): (SinkPort, SendPort<()>)) {
        for n in 0..COUNT {
            sink.put_async(n).await.unwrap();
        }
        done.send(()).unwrap();
    }

    // One worker: the producer and the consumer must take turns on it.
    let group = common::group(1);
    let (sink, _handle) = group.spawn_with(Sink::default(), SpawnOptions::new().bounded(4));
    let mut done = ReceivePort::new();
    group.spawn_fn(produce, (sink.clone(), done.send_port()));
    assert_eq!(done.recv_timeout(PATIENCE), Ok(()));
    assert_eq!(
        sink.got().wait_timeout(PATIENCE),
        Ok((0..COUNT).collect::<Vec<_>>())
    );
}

/// Rule: a blocking tell from inside an isolate to a full mailbox does not
/// stall the worker: it returns `BlockingInIsolate` with the arguments.
#[test]
fn a_blocking_tell_inside_an_isolate_is_refused_when_full() {
    async fn tell_twice((sink, answer): (SinkPort, SendPort<Result<(), SendError<u32>>>)) {
        sink.put(1).unwrap();
        answer.send(sink.put(2)).unwrap();
    }

    let group = common::group(2);
    let (sink, _handle) = paused_sink(&group, 1);
    let mut answer = ReceivePort::new();
    group.spawn_fn(tell_twice, (sink, answer.send_port()));
    let error = answer.recv_timeout(PATIENCE).unwrap().unwrap_err();
    assert!(matches!(error, SendError::BlockingInIsolate(2)));
    assert!(error.to_string().contains("send_async"));
}

/// Rule: senders waiting for room are released with `Closed` when the
/// isolate is killed: no sender waits forever on a dead isolate.
#[test]
fn waiting_senders_fail_when_the_isolate_is_killed() {
    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(0).unwrap();
    let mut results = ReceivePort::new();
    let threads: Vec<_> = (1..=3)
        .map(|n| {
            let sink = sink.clone();
            let results = results.send_port();
            std::thread::spawn(move || results.send(sink.put(n)).unwrap())
        })
        .collect();
    // Killed only once all three wait for room.
    common::wait_until("three senders waiting", || {
        common::info(&group, &handle).senders_waiting == 3
    });
    let mut exits = ReceivePort::new();
    handle.add_on_exit_listener(exits.send_port(), ());
    handle.kill(Priority::Immediate);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(()));
    for _ in 1..=3 {
        let result = results.recv_timeout(PATIENCE).unwrap();
        assert!(matches!(result, Err(SendError::Closed(_))), "{result:?}");
    }
    for thread in threads {
        thread.join().unwrap();
    }
}

/// Rule: a sender that gives up its wait (drops its `send_async`) does not
/// take another waiter's turn. (That a woken waiter which gives up hands
/// its wake-up on is checked in `mailbox.rs`'s unit tests, where the
/// interleaving can be forced.)
#[test]
fn a_cancelled_async_send_leaves_the_others_their_turn() {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Waker};

    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(0).unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    {
        let mut cancelled = pin!(sink.put_async(1));
        assert!(cancelled.as_mut().poll(&mut cx).is_pending());
        // Dropped here, while it waits.
    }
    let mut waiting = ReceivePort::new();
    let done = waiting.send_port();
    let waiter = sink.clone();
    let thread = std::thread::spawn(move || {
        let sent = futures::executor::block_on(waiter.put_async(2));
        done.send(sent.is_ok()).unwrap();
    });
    resume(&handle);
    assert_eq!(waiting.recv_timeout(PATIENCE), Ok(true));
    thread.join().unwrap();
    assert_eq!(sink.got().wait_timeout(PATIENCE), Ok(vec![0, 2]));
}

/// Rule: an ask to a full mailbox waits for room when its reply is waited
/// for or awaited, on a plain thread and inside an isolate alike.
#[test]
fn asks_wait_for_room() {
    async fn ask_inside((sink, answer): (SinkPort, SendPort<Vec<u32>>)) {
        let got = sink.got().await.unwrap();
        answer.send(got).unwrap();
    }

    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(7).unwrap();
    let mut answer = ReceivePort::new();
    group.spawn_fn(ask_inside, (sink.clone(), answer.send_port()));
    let asker = sink.clone();
    let thread = std::thread::spawn(move || asker.got().wait());
    resume(&handle);
    assert_eq!(answer.recv_timeout(PATIENCE), Ok(vec![7]));
    assert_eq!(thread.join().unwrap(), Ok(vec![7]));
}

/// Rule: an ask's timeout covers its wait for room: a wait never outlasts
/// the timeout it was given, even when the mailbox stays full.
#[test]
fn an_ask_to_a_full_mailbox_times_out() {
    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(1).unwrap();
    let timeout = Duration::from_millis(20);
    assert_eq!(
        sink.got().wait_timeout(timeout),
        Err(ReplyError::Timeout(timeout))
    );
    // The request has not gone in: the mailbox holds its one message (the
    // request waits for room in the background; see the next test).
    assert_eq!(common::info(&group, &handle).mailbox_len, 1);
}

/// Rule: a reply dropped while its request waits for room gives up the
/// answer, not the request: the request goes in when there is room, as it
/// would to an unbounded mailbox (`tests/replies.rs` has that half).
#[test]
fn a_dropped_reply_still_sends_its_request_to_a_full_mailbox() {
    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(1).unwrap();
    drop(sink.put_counted(2));
    // A timed-out wait drops its request's send in the same way.
    let timeout = Duration::from_millis(1);
    assert_eq!(
        sink.put_counted(3).wait_timeout(timeout),
        Err(ReplyError::Timeout(timeout))
    );
    resume(&handle);
    // Each ask is answered after what is queued before it; the dropped
    // requests are handled in their turn, so this ends once both are in.
    let deadline = std::time::Instant::now() + PATIENCE;
    loop {
        let mut got = sink.got().wait_timeout(PATIENCE).unwrap();
        got.sort();
        if got == [1, 2, 3] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "a dropped ask was lost: {got:?}"
        );
    }
}

/// Rule: an ask made inside an isolate whose reply is not awaited yet has
/// not gone out to a full mailbox, and resolves with an error if the
/// isolate dies meanwhile.
#[test]
fn an_unsent_ask_fails_when_the_isolate_dies() {
    async fn ask_then_report((sink, answer): (SinkPort, SendPort<bool>)) {
        let reply = sink.got();
        // Still unsent: the mailbox is full. Report, then await.
        answer.send(true).unwrap();
        answer.send(reply.await.is_err()).unwrap();
    }

    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(1).unwrap();
    let mut answer = ReceivePort::new();
    group.spawn_fn(ask_then_report, (sink, answer.send_port()));
    assert_eq!(answer.recv_timeout(PATIENCE), Ok(true));
    // The ask went nowhere: the mailbox still holds only `put(1)`.
    let info = common::info(&group, &handle);
    assert_eq!(info.mailbox_len, 1);
    handle.kill(Priority::Immediate);
    assert_eq!(answer.recv_timeout(PATIENCE), Ok(true));
}

/// Rule: control requests do not count against the bound: a full, paused
/// isolate still answers a ping.
#[test]
fn control_requests_overtake_a_full_mailbox() {
    let group = common::group(2);
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(1).unwrap();
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), "pong", Priority::Immediate);
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok("pong"));
}

/// Rule: a timer whose message meets a full mailbox retries instead of
/// blocking its thread or dropping the message.
#[test]
fn a_timer_send_to_a_full_mailbox_is_delivered_later() {
    let group = common::group(2);
    let mut inbox = ReceivePort::new();
    let (sink, handle) = paused_sink(&group, 1);
    sink.put(1).unwrap();
    // The timer's message goes to the raw port: a `put(9)`.
    let message = port_message(&sink);
    group.send_after(&sink, Duration::from_millis(1), message);
    // Another timer on the same thread still fires meanwhile.
    group.send_after(&inbox.send_port(), Duration::from_millis(5), "tick");
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("tick"));
    resume(&handle);
    common::wait_until("the timer's message to arrive", || {
        sink.got().wait() == Ok(vec![1, 9])
    });
}

/// Rule: `SpawnOptions::bounded(0)` is a mailbox of one, not a mailbox that
/// can never take a message.
#[test]
fn a_bound_of_zero_is_a_bound_of_one() {
    let group = common::group(2);
    let (sink, _handle) = paused_sink(&group, 0);
    sink.try_put(1).unwrap();
    assert!(sink.try_put(2).unwrap_err().is_full());
}
