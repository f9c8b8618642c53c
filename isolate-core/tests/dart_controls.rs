//! Dart's control tests (`tests/lib/isolate` in the Dart SDK: `kill_test`,
//! `kill2_test`, `pause_test`, `ping_test`, `ping_pause_test`), read as
//! behaviours of an isolate that is busy with its queue: the shape of
//! nearly every Dart isolate, an entry that loops on `recv_async` while
//! messages are already waiting.
//!
//! Each control is issued while the entry is inside one poll with its queue
//! full, so each test is deterministic: without the control lane getting
//! its turn at `recv_async`, the entry would handle the whole queue first.
//! Each runs 1,000 rounds on a group of two workers.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{Capability, RecvTimeoutError};

const ROUNDS: usize = 1_000;

/// Messages queued behind the first.
const QUEUED: u32 = 50;

/// What the entry does on its first message, to itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Kill(Priority),
    Pause,
    Ping,
}

// SAFETY: plain data, no shared state.
unsafe impl Sendable for Act {}

/// What the test hears, in one port, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Event {
    /// The entry handled message `n`.
    Handled(u32),
    /// The entry paused itself with this capability.
    Paused(Capability),
    /// A pong, answered by the control lane.
    Pong,
    /// The isolate ended.
    Exited,
}

// SAFETY: a `Capability` is an immutable token; the rest is plain data.
unsafe impl Sendable for Event {}

/// The entry's queue and its `go`, for the test.
type Setup = (SendPort<u32>, SendPort<()>);

/// The entry: makes its queue, hands the test its port and waits for `go`
/// (so the test fills the queue before the entry looks at it), then handles
/// `0..=QUEUED` in order, doing `act` to itself on message 0.
async fn busy((act, events, setup): (Act, SendPort<Event>, SendPort<Setup>)) {
    let mut queue = ReceivePort::<u32>::new();
    let mut go = ReceivePort::<()>::new();
    setup.send((queue.send_port(), go.send_port())).unwrap();
    go.recv_async().await.unwrap();
    let me = isolate_core::current().expect("in an isolate");
    for _ in 0..=QUEUED {
        let Ok(n) = queue.recv_async().await else {
            return;
        };
        if n == 0 {
            match act {
                Act::Kill(priority) => me.kill(priority),
                Act::Pause => events.send(Event::Paused(me.pause())).unwrap(),
                Act::Ping => me.ping(events.clone(), Event::Pong, Priority::Immediate),
            }
        }
        events.send(Event::Handled(n)).unwrap();
    }
}

/// Starts a `busy` entry doing `act`, with its whole queue waiting for it.
fn start(group: &IsolateGroup, act: Act) -> (IsolateHandle, ReceivePort<Event>) {
    let events = ReceivePort::new();
    let mut setup = ReceivePort::new();
    let handle = group.spawn_fn(busy, (act, events.send_port(), setup.send_port()));
    handle.add_on_exit_listener(events.send_port(), Event::Exited);
    let (queue, go) = setup.recv_timeout(PATIENCE).unwrap();
    for n in 0..=QUEUED {
        queue.send(n).unwrap();
    }
    go.send(()).unwrap();
    (handle, events)
}

fn next(events: &mut ReceivePort<Event>) -> Event {
    events.recv_timeout(PATIENCE).expect("an event")
}

/// Everything the port hears until the isolate's exit.
fn until_exit(events: &mut ReceivePort<Event>) -> Vec<Event> {
    let mut heard = Vec::new();
    loop {
        match next(events) {
            Event::Exited => return heard,
            event => heard.push(event),
        }
    }
}

/// `kill_self_test`: killing the current isolate with `Priority::Immediate`
/// does not return: nothing after the call runs (here, the report of
/// message 0), and no other message is taken.
#[test]
fn kill_self_test_immediate_does_not_return() {
    let group = common::group(2);
    for round in 0..ROUNDS {
        let (_handle, mut events) = start(&group, Act::Kill(Priority::Immediate));
        assert_eq!(until_exit(&mut events), [], "round {round}");
    }
}

/// `kill_test`, for a long computation: no kill can stop a thread from
/// outside, but `checkpoint()` ends the isolate there once it is killed
/// with `Priority::Immediate`, and nothing after it runs.
#[test]
fn kill_test_a_long_loop_with_checkpoints_can_be_killed() {
    async fn spin((started, events): (SendPort<()>, SendPort<Event>)) {
        started.send(()).unwrap();
        let mut n = 0u64;
        loop {
            isolate_core::checkpoint();
            n = n.wrapping_add(1);
            if n == u64::MAX {
                break;
            }
        }
        events.send(Event::Handled(0)).unwrap();
    }
    let group = common::group(2);
    for round in 0..100 {
        let mut events = ReceivePort::new();
        let mut started = ReceivePort::new();
        let handle = group.spawn_fn(spin, (started.send_port(), events.send_port()));
        handle.add_on_exit_listener(events.send_port(), Event::Exited);
        started.recv_timeout(PATIENCE).unwrap();
        handle.kill(Priority::Immediate);
        assert_eq!(until_exit(&mut events), [], "round {round}");
    }
}

/// `isolate_run_test`: a computation that kills itself delivers no result.
#[test]
fn a_run_that_kills_itself_ends_without_a_result() {
    let result = isolate_core::run(|| {
        let me = isolate_core::current().expect("in an isolate");
        me.kill(Priority::Immediate);
        42
    });
    let error = result.expect_err("a killed computation has no result");
    assert!(error.to_string().contains("without a result"), "{error}");
    // Killed before the next event, it finishes its one event first.
    let result = isolate_core::run(|| {
        isolate_core::current()
            .unwrap()
            .kill(Priority::BeforeNextEvent);
        42
    });
    assert_eq!(result, Ok(42));
}

/// A checkpoint outside an isolate, or in one not killed, returns.
#[test]
fn a_checkpoint_that_is_not_killed_returns() {
    isolate_core::checkpoint();
    let result = isolate_core::run_with(1, |n: u32| {
        isolate_core::checkpoint();
        n + 1
    });
    assert_eq!(result, Ok(2));
}

/// `kill2_test`: a kill with `Priority::BeforeNextEvent` lets the message
/// in hand finish, and no other.
#[test]
fn kill2_test_before_next_event_reaches_an_entry_busy_with_its_queue() {
    let group = common::group(2);
    for round in 0..ROUNDS {
        let (_handle, mut events) = start(&group, Act::Kill(Priority::BeforeNextEvent));
        assert_eq!(
            until_exit(&mut events),
            [Event::Handled(0)],
            "round {round}"
        );
    }
}

/// `pause_test` and `ping_pause_test`: a paused isolate takes no message
/// until resumed, but answers pings; resumed, it goes on in order.
#[test]
fn pause_test_an_entry_busy_with_its_queue_stops_until_resumed() {
    let group = common::group(2);
    for round in 0..ROUNDS {
        let (handle, mut events) = start(&group, Act::Pause);
        let Event::Paused(capability) = next(&mut events) else {
            panic!("round {round}: no pause")
        };
        assert_eq!(next(&mut events), Event::Handled(0), "round {round}");
        // Answered while paused, and before any message after the pause.
        handle.ping(events.send_port(), Event::Pong, Priority::Immediate);
        assert_eq!(next(&mut events), Event::Pong, "round {round}");
        assert!(handle.is_paused(), "round {round}");
        handle.resume(&capability);
        let rest: Vec<_> = (1..=QUEUED).map(Event::Handled).collect();
        assert_eq!(until_exit(&mut events), rest, "round {round}");
    }
}

/// `ping_test`: a ping with `Priority::Immediate` is answered before the
/// next message is taken, not after the queue is drained (and not dropped
/// because the entry drained its queue and ended).
#[test]
fn ping_test_is_answered_by_an_entry_busy_with_its_queue() {
    let group = common::group(2);
    for round in 0..ROUNDS {
        let (_handle, mut events) = start(&group, Act::Ping);
        let mut expected = vec![Event::Handled(0), Event::Pong];
        expected.extend((1..=QUEUED).map(Event::Handled));
        assert_eq!(until_exit(&mut events), expected, "round {round}");
    }
}

/// A run takes at most a budget of messages from its ports before it
/// gives its worker up, as an `#[isolate]` run does: in a deterministic
/// group (one thread), a kill from another isolate gets its turn while a
/// long queue is still full.
#[test]
fn an_entry_with_a_long_queue_gives_way_and_a_kill_from_elsewhere_reaches_it() {
    async fn drain((events, setup): (SendPort<u32>, SendPort<SendPort<u32>>)) {
        let mut queue = ReceivePort::<u32>::new();
        setup.send(queue.send_port()).unwrap();
        while let Ok(n) = queue.recv_async().await {
            let _ = events.send(n);
        }
    }
    for seed in 0..20 {
        let group = IsolateGroup::deterministic(seed);
        let mut events = ReceivePort::new();
        let mut setup = ReceivePort::new();
        let mut exited = ReceivePort::new();
        let handle = group.spawn_fn(drain, (events.send_port(), setup.send_port()));
        handle.add_on_exit_listener(exited.send_port(), ());
        let queue = group
            .block_on(async { setup.recv_async().await.unwrap() })
            .unwrap();
        for n in 0..10_000 {
            queue.send(n).unwrap();
        }
        // The driver runs the entry or this future, by the seed: the kill
        // comes as soon as this future gets a turn after the first message.
        group
            .block_on(async {
                events.recv_async().await.unwrap();
                handle.kill(Priority::Immediate);
                exited.recv_async().await.unwrap();
            })
            .unwrap();
        // The first was taken above.
        let handled = 1 + std::iter::from_fn(|| events.try_recv().ok()).count();
        // Whole runs of 128 (the budget), and a kill as soon as this
        // future's turn came: never the whole queue.
        assert!(
            handled.is_multiple_of(128) && handled <= 128 * 10,
            "seed {seed}: the entry took {handled} messages before the kill"
        );
    }
}

/// The same acts from an `#[isolate]`'s handler, with its mailbox full
/// (filled while it was spawned paused): its run looks at the control lane
/// between messages.
#[isolate]
struct Busy {
    act: Act,
    events: SendPort<Event>,
}

#[isolate]
impl Busy {
    #[message]
    fn take(&mut self, n: u32) {
        if n == 0 {
            let me = isolate_core::current().expect("in an isolate");
            match self.act {
                Act::Kill(priority) => me.kill(priority),
                Act::Pause => self.events.send(Event::Paused(me.pause())).unwrap(),
                Act::Ping => me.ping(self.events.clone(), Event::Pong, Priority::Immediate),
            }
        }
        self.events.send(Event::Handled(n)).unwrap();
    }
}

#[test]
fn the_same_controls_reach_an_isolate_busy_with_its_mailbox() {
    let group = common::group(2);
    let acts = [
        Act::Kill(Priority::Immediate),
        Act::Kill(Priority::BeforeNextEvent),
        Act::Pause,
        Act::Ping,
    ];
    for round in 0..ROUNDS / 4 {
        for act in acts {
            let mut events = ReceivePort::new();
            let (port, handle) = group.spawn_with(
                Busy {
                    act,
                    events: events.send_port(),
                },
                isolate_core::SpawnOptions::new()
                    .paused(true)
                    .on_exit(events.send_port(), Event::Exited),
            );
            for n in 0..=QUEUED {
                port.take(n).unwrap();
            }
            drop(port);
            handle.resume(&handle.pause_capability());
            let heard = until_exit_or_paused(&mut events, &handle);
            let rest = (1..=QUEUED).map(Event::Handled);
            let expected: Vec<_> = match act {
                // A kill of oneself with `Immediate` does not return.
                Act::Kill(Priority::Immediate) => vec![],
                Act::Kill(_) => vec![Event::Handled(0)],
                Act::Pause => vec![Event::Handled(0), Event::Pong]
                    .into_iter()
                    .chain(rest)
                    .collect(),
                Act::Ping => vec![Event::Handled(0), Event::Pong]
                    .into_iter()
                    .chain(rest)
                    .collect(),
            };
            assert_eq!(heard, expected, "round {round}, {act:?}");
        }
    }
}

/// As `until_exit`; a `Paused` is answered with a ping (which must come
/// back before any message) and then a resume.
fn until_exit_or_paused(events: &mut ReceivePort<Event>, handle: &IsolateHandle) -> Vec<Event> {
    let mut heard = Vec::new();
    loop {
        match next(events) {
            Event::Exited => return heard,
            Event::Paused(capability) => {
                assert_eq!(next(events), Event::Handled(0));
                heard.push(Event::Handled(0));
                handle.ping(events.send_port(), Event::Pong, Priority::Immediate);
                assert!(handle.is_paused());
                assert_eq!(next(events), Event::Pong);
                heard.push(Event::Pong);
                handle.resume(&capability);
            }
            event => heard.push(event),
        }
    }
}

/// `isolate_current_test` and the capability tests: a handle crosses to
/// another isolate, and a reduced one grants only what it carries.
#[test]
fn handles_sent_to_another_isolate_carry_only_their_rights() {
    async fn forever(_: ()) {
        std::future::pending::<()>().await
    }
    /// Tries everything through `handle`, in another isolate: reports
    /// whether a pause took and a ping was answered, then kills.
    async fn controller((handle, report): (IsolateHandle, SendPort<(bool, bool)>)) {
        let paused = {
            let capability = handle.pause();
            let paused = handle.is_paused();
            handle.resume(&capability);
            paused
        };
        let mut pongs = ReceivePort::new();
        handle.ping(pongs.send_port(), (), Priority::Immediate);
        let pinged = pongs.recv_async().await.is_ok();
        // Ignored without the right; the test sees which by the exit.
        handle.kill(Priority::Immediate);
        report.send((paused, pinged)).unwrap();
    }
    let group = common::group(2);
    let cases = [
        ("full", true, true),
        ("without_terminate", true, false),
        ("without_pause", false, true),
        ("control_only", false, false),
    ];
    for (name, can_pause, can_terminate) in cases {
        let target = group.spawn_fn(forever, ());
        let mut exits = ReceivePort::new();
        target.add_on_exit_listener(exits.send_port(), ());
        let handle = match name {
            "full" => target.clone(),
            "without_terminate" => target.without_terminate(),
            "without_pause" => target.without_pause(),
            _ => target.control_only(),
        };
        assert_eq!(handle.can_pause(), can_pause, "{name}");
        assert_eq!(handle.can_terminate(), can_terminate, "{name}");
        assert_eq!(handle == target, name == "full", "{name}");
        assert_eq!(handle.id(), target.id());
        let mut report = ReceivePort::new();
        group.spawn_fn(controller, (handle, report.send_port()));
        let (paused, pinged) = report.recv_timeout(PATIENCE).unwrap();
        assert_eq!(paused, can_pause, "{name}: paused through the handle");
        assert!(pinged, "{name}: every handle may ping");
        if can_terminate {
            assert_eq!(exits.recv_timeout(PATIENCE), Ok(()), "{name}");
        } else {
            assert!(!target.is_finished(), "{name}: killed without the right");
            target.kill(Priority::Immediate);
            assert_eq!(exits.recv_timeout(PATIENCE), Ok(()), "{name}");
        }
    }
}

#[test]
fn a_receive_on_a_plain_thread_is_not_affected() {
    let mut port = ReceivePort::new();
    let sender = port.send_port();
    for n in 0..1_000 {
        sender.send(n).unwrap();
    }
    let got = futures::executor::block_on(async {
        let mut got = Vec::new();
        for _ in 0..1_000 {
            got.push(port.recv_async().await.unwrap());
        }
        got
    });
    assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    assert_eq!(
        port.recv_timeout(std::time::Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
}

/// `function_send_test`: a function travels in a message, and the
/// receiving isolate calls it.
#[test]
fn function_send_test_a_fn_pointer_crosses_in_a_message() {
    fn double(n: u64) -> u64 {
        2 * n
    }
    fn square(n: u64) -> u64 {
        n * n
    }
    async fn apply((f, n, answer): (fn(u64) -> u64, u64, SendPort<u64>)) {
        answer.send(f(n)).unwrap();
    }
    let group = common::group(2);
    let mut answers = ReceivePort::new();
    for (f, expected) in [(double as fn(u64) -> u64, 14), (square, 49)] {
        group.spawn_fn(apply, (f, 7, answers.send_port()));
        assert_eq!(answers.recv_timeout(PATIENCE), Ok(expected));
    }
    let shared: Shared<fn(u64) -> u64> = Shared::new(double);
    assert_eq!(isolate_core::run_with(shared, |f| f(21)), Ok(42));
}

/// `isolate_run_test` with an async computation: `run_future` awaits it in
/// its isolate; a panic comes back as an error.
#[test]
fn isolate_run_test_of_an_async_computation() {
    async fn ask_and_add((n, helper): (u64, SendPort<ReplySender<u64>>)) -> u64 {
        let more = helper.ask(|reply| reply).await.unwrap();
        n + more
    }
    async fn fails(why: String) -> u64 {
        isolate_core::time::sleep(std::time::Duration::from_millis(1)).await;
        panic!("{why}")
    }
    let mut helper = ReceivePort::<ReplySender<u64>>::new();
    let running = isolate_core::run_future((40, helper.send_port()), ask_and_add);
    helper.recv_timeout(PATIENCE).unwrap().send(2);
    assert_eq!(running.wait(), Ok(42));
    let error = isolate_core::run_future("later".to_owned(), fails)
        .wait()
        .unwrap_err();
    assert_eq!(error.message(), "later");
}

/// A `select` over two flooded ports returns to the run once both give
/// way, so a control still gets through (each receive gives way, not just
/// the first one of the run).
#[test]
fn a_select_over_two_flooded_ports_still_lets_a_control_through() {
    use std::pin::Pin;
    use std::task::Poll;

    use futures::Stream;

    type Ports = (SendPort<u32>, SendPort<u32>, SendPort<()>);

    async fn two((events, setup): (SendPort<Event>, SendPort<Ports>)) {
        let mut a = ReceivePort::<u32>::new();
        let mut b = ReceivePort::<u32>::new();
        let mut go = ReceivePort::<()>::new();
        setup
            .send((a.send_port(), b.send_port(), go.send_port()))
            .unwrap();
        go.recv_async().await.unwrap();
        let me = isolate_core::current().unwrap();
        loop {
            let next = std::future::poll_fn(|cx| {
                if let Poll::Ready(Some(n)) = Pin::new(&mut a).poll_next(cx) {
                    return Poll::Ready(n);
                }
                if let Poll::Ready(Some(n)) = Pin::new(&mut b).poll_next(cx) {
                    return Poll::Ready(n);
                }
                Poll::Pending
            })
            .await;
            if next == 0 {
                me.kill(Priority::BeforeNextEvent);
            }
            events.send(Event::Handled(next)).unwrap();
        }
    }
    let group = common::group(2);
    for round in 0..ROUNDS / 10 {
        let mut events = ReceivePort::new();
        let mut setup = ReceivePort::new();
        let handle = group.spawn_fn(two, (events.send_port(), setup.send_port()));
        handle.add_on_exit_listener(events.send_port(), Event::Exited);
        let (a, b, go) = setup.recv_timeout(PATIENCE).unwrap();
        a.send(0).unwrap();
        for n in 1..=QUEUED {
            a.send(n).unwrap();
            b.send(1000 + n).unwrap();
        }
        go.send(()).unwrap();
        assert_eq!(
            until_exit(&mut events),
            [Event::Handled(0)],
            "round {round}"
        );
    }
}
