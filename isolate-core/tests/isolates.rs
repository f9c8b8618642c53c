//! Isolates: one message at a time, in order, and failures that stay local.

mod common;

use common::{Counter, CounterMsg, PATIENCE, group};
use isolate_core::prelude::*;

#[test]
fn tells_and_asks_from_one_sender_are_handled_in_fifo_order() {
    let group = group(2);
    let counter = group.spawn(Counter::default());
    let mut replies = Vec::new();
    for n in 0..1_000u64 {
        counter.send(CounterMsg::Add(n)).unwrap();
        if n % 100 == 99 {
            replies.push((n, counter.ask(CounterMsg::Total)));
        }
    }
    for (n, reply) in replies {
        // Each ask sees exactly the tells sent before it, no more, no less.
        assert_eq!(reply.wait_timeout(PATIENCE).unwrap(), n * (n + 1) / 2);
    }
    let seen = counter
        .ask(CounterMsg::Seen)
        .wait_timeout(PATIENCE)
        .unwrap();
    assert_eq!(seen, (0..1_000).collect::<Vec<_>>());
}

#[test]
fn ten_thousand_isolates_in_a_group_all_answer_an_ask() {
    let group = group(2);
    let ports: Vec<_> = (0..10_000u64)
        .map(|i| {
            let port = group.spawn(Counter::default());
            port.send(CounterMsg::Add(i)).unwrap();
            port
        })
        .collect();
    assert_eq!(group.len(), 10_000);
    let replies: Vec<_> = ports.iter().map(|p| p.ask(CounterMsg::Total)).collect();
    for (i, reply) in replies.into_iter().enumerate() {
        assert_eq!(reply.wait_timeout(PATIENCE).unwrap(), i as u64);
    }
}

#[test]
fn a_panicking_handler_fails_its_pending_asks_and_the_group_goes_on() {
    let group = group(2);
    let doomed = group.spawn(Counter::default());
    let healthy = group.spawn(Counter::default());

    // Queue asks behind the panic so that they are pending when it happens.
    doomed.send(CounterMsg::Add(1)).unwrap();
    let before = doomed.ask(CounterMsg::Total);
    doomed
        .send(CounterMsg::Panic("handler failed on purpose"))
        .unwrap();
    let pending: Vec<_> = (0..10).map(|_| doomed.ask(CounterMsg::Total)).collect();

    assert_eq!(before.wait_timeout(PATIENCE), Ok(1));
    for reply in pending {
        assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    }
    // The dead isolate's port now refuses messages and gives them back...
    assert!(matches!(
        doomed.send(CounterMsg::Add(5)),
        Err(SendError::Closed(CounterMsg::Add(5)))
    ));
    assert!(doomed.is_closed());
    // ...and an ask to it fails at once instead of hanging.
    assert_eq!(
        doomed.ask(CounterMsg::Total).wait(),
        Err(ReplyError::Dropped)
    );

    // The rest of the group is untouched.
    healthy.send(CounterMsg::Add(41)).unwrap();
    healthy.send(CounterMsg::Add(1)).unwrap();
    assert_eq!(
        healthy.ask(CounterMsg::Total).wait_timeout(PATIENCE),
        Ok(42)
    );
    let fresh = group.spawn(Counter::default());
    assert_eq!(fresh.ask(CounterMsg::Total).wait_timeout(PATIENCE), Ok(0));
}

#[test]
fn an_async_handler_finishes_before_the_next_message_is_handled() {
    let group = group(2);
    let counter = group.spawn(Counter::default());
    let first = counter.ask(|reply| CounterMsg::AddLater(10, reply));
    counter.send(CounterMsg::Add(1)).unwrap();
    let second = counter.ask(|reply| CounterMsg::AddLater(100, reply));
    assert_eq!(first.wait_timeout(PATIENCE), Ok(10));
    assert_eq!(second.wait_timeout(PATIENCE), Ok(111));
    let seen = counter
        .ask(CounterMsg::Seen)
        .wait_timeout(PATIENCE)
        .unwrap();
    assert_eq!(seen, [10, 1, 100]);
}

/// Logs its name on every message, and "dropped" when its state is dropped.
#[message]
struct Logger {
    name: &'static str,
    log: SendPort<&'static str>,
}

enum LoggerMsg {
    Work,
    /// Blocks the worker until the test says go (test-only: a real handler
    /// would `.await`).
    Block(std::sync::mpsc::Receiver<()>),
}

// SAFETY: test-only. `Receiver` is owned and moved, never shared; it is not
// `Sendable` in general only because a blocking receive has no place in a
// handler, which is exactly what these tests need to do on purpose.
unsafe impl Sendable for LoggerMsg {}

impl Isolate for Logger {
    type Message = LoggerMsg;
    type Port = SendPort<LoggerMsg>;

    fn handle(&mut self, message: LoggerMsg) -> Handled<'_> {
        match message {
            LoggerMsg::Work => {
                let _ = self.log.send(self.name);
            }
            LoggerMsg::Block(go) => {
                let _ = go.recv_timeout(PATIENCE);
            }
        }
        Handled::Done
    }
}

impl Drop for Logger {
    fn drop(&mut self) {
        let _ = self.log.send("dropped");
    }
}

#[test]
fn an_isolate_ends_and_drops_its_state_when_its_last_port_is_dropped() {
    let group = group(1);
    let mut log = ReceivePort::new();
    let logger = group.spawn(Logger {
        name: "logger",
        log: log.send_port(),
    });
    logger.send(LoggerMsg::Work).unwrap();
    let copy = logger.clone();
    drop(logger);
    copy.send(LoggerMsg::Work).unwrap();
    drop(copy);
    // Both messages are handled before the isolate ends, then its state drops.
    assert_eq!(log.recv_timeout(PATIENCE), Ok("logger"));
    assert_eq!(log.recv_timeout(PATIENCE), Ok("logger"));
    assert_eq!(log.recv_timeout(PATIENCE), Ok("dropped"));
    assert_eq!(group.len(), 0);
}

#[test]
fn a_flooded_isolate_does_not_starve_the_others_on_one_worker() {
    const FLOOD: usize = 10_000;
    let group = group(1);
    let mut log = ReceivePort::new();
    // Hold the only worker so that the whole flood is queued before any of it runs.
    let gate = group.spawn(Logger {
        name: "gate",
        log: log.send_port(),
    });
    let (go, wait) = std::sync::mpsc::channel();
    gate.send(LoggerMsg::Block(wait)).unwrap();

    let busy = group.spawn(Logger {
        name: "busy",
        log: log.send_port(),
    });
    for _ in 0..FLOOD {
        busy.send(LoggerMsg::Work).unwrap();
    }
    let quick = group.spawn(Logger {
        name: "quick",
        log: log.send_port(),
    });
    quick.send(LoggerMsg::Work).unwrap();
    go.send(()).unwrap();

    let mut busy_before_quick = 0;
    loop {
        match log.recv_timeout(PATIENCE).unwrap() {
            "busy" => busy_before_quick += 1,
            "quick" => break,
            other => panic!("unexpected log entry {other}"),
        }
    }
    // The busy isolate yielded after a budget of messages, long before its
    // flood was through.
    assert!(
        busy_before_quick < FLOOD / 10,
        "quick waited behind {busy_before_quick} busy messages"
    );
}

#[test]
fn blocking_waits_inside_an_isolate_are_refused_with_an_error() {
    async fn probe(answer: SendPort<(ReplyError, isolate_core::RecvError, RemoteErrorKind)>) {
        let (_keep, reply) = Reply::<u8>::channel();
        let wait = reply.wait().unwrap_err();
        let mut inbox = ReceivePort::<u8>::new();
        let recv = inbox.recv().unwrap_err();
        let run = isolate_core::run(|| 1u8).unwrap_err().kind();
        answer.send((wait, recv, run)).unwrap();
    }
    use isolate_core::RemoteErrorKind;
    let group = group(1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(probe, inbox.send_port());
    let (wait, recv, run) = inbox.recv_timeout(PATIENCE).unwrap();
    assert_eq!(wait, ReplyError::BlockingInIsolate);
    assert_eq!(recv, isolate_core::RecvError::BlockingInIsolate);
    assert_eq!(run, RemoteErrorKind::BlockingInIsolate);
    assert!(wait.to_string().contains(".await"));
}

#[test]
fn asks_can_be_awaited_from_tokio() {
    let group = group(2);
    let counter = group.spawn(Counter::default());
    counter.send(CounterMsg::Add(3)).unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let total = runtime.block_on(async {
        tokio::time::timeout(PATIENCE, counter.ask(CounterMsg::Total))
            .await
            .expect("no hang")
    });
    assert_eq!(total, Ok(3));
}

/// A future that completes at once and panics when it is dropped.
struct ReadyThenPanicOnDrop;

impl std::future::Future for ReadyThenPanicOnDrop {
    type Output = ();
    fn poll(self: std::pin::Pin<&mut Self>, _: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        std::task::Poll::Ready(())
    }
}

impl Drop for ReadyThenPanicOnDrop {
    fn drop(&mut self) {
        panic!("drop of a completed handler future");
    }
}

#[message]
struct Fragile;

#[message]
enum FragileMsg {
    Boom,
    Ping(ReplySender<u8>),
}

impl Isolate for Fragile {
    type Message = FragileMsg;
    type Port = SendPort<FragileMsg>;
    fn handle(&mut self, message: FragileMsg) -> Handled<'_> {
        match message {
            FragileMsg::Boom => Handled::future(ReadyThenPanicOnDrop),
            FragileMsg::Ping(reply) => {
                reply.send(1);
                Handled::Done
            }
        }
    }
}

#[test]
fn a_handler_future_that_panics_when_dropped_ends_only_its_isolate() {
    let group = group(1);
    let fragile = group.spawn(Fragile);
    fragile.send(FragileMsg::Boom).unwrap();
    let after = fragile.ask(FragileMsg::Ping);
    assert_eq!(after.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    // The group's only worker survived.
    let other = group.spawn(Fragile);
    assert_eq!(other.ask(FragileMsg::Ping).wait_timeout(PATIENCE), Ok(1));
}
