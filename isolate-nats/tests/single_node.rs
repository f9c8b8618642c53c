//! A remote group over one real `nats-server` (see `support`): names,
//! tells and asks between members, and every way an ask can fail.

mod support;

use std::time::{Duration, Instant};

use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, ReplyError, SendError};
use isolate_nats::{Error, RemoteGroup};
use serde::{Deserialize, Serialize};
use support::{NatsServer, PATIENCE};

#[isolate]
struct Counter {
    total: u64,
    calls: u64,
}

#[isolate(remote)]
impl Counter {
    #[message]
    fn add(&mut self, n: u64) {
        self.total += n;
        self.calls += 1;
    }

    #[message]
    fn total(&mut self) -> u64 {
        self.calls += 1;
        self.total
    }

    #[message]
    fn calls(&self) -> u64 {
        self.calls
    }

    #[message]
    fn echo(&self, text: String) -> String {
        text
    }
}

fn counter(group: &IsolateGroup) -> CounterPort {
    group.spawn(Counter { total: 0, calls: 0 })
}

/// A member with short timeouts, so that a failure shows in seconds.
fn member(server: &NatsServer, group: &str) -> RemoteGroup {
    RemoteGroup::builder()
        .ask_timeout(Duration::from_secs(2))
        .connect(&server.url(), group)
        .wait_timeout(PATIENCE)
        .expect("connects")
}

/// Polls `check` until it holds, failing the test after `PATIENCE`.
fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "never happened: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Records what it is sent, in the order it arrives.
#[isolate]
#[derive(Default)]
struct Recorder {
    seen: Vec<u64>,
}

#[isolate(remote)]
impl Recorder {
    #[message]
    fn note(&mut self, n: u64) {
        self.seen.push(n);
    }

    #[message]
    fn note_and_count(&mut self, n: u64) -> usize {
        self.seen.push(n);
        self.seen.len()
    }

    #[message]
    fn seen(&self) -> Vec<u64> {
        self.seen.clone()
    }

    #[message]
    fn count(&self) -> usize {
        self.seen.len()
    }
}

#[test]
fn tells_and_asks_cross_between_members_in_order() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let serving = member(&server, "order");
    serving
        .register("recorder", &group.spawn(Recorder::default()))
        .wait()
        .unwrap();

    let asking = member(&server, "order");
    let remote: RecorderPort = asking.lookup("recorder").wait().unwrap();
    // Tells with an ask every hundred, none waited for until the end: more
    // than a flow-control window's worth, so senders wait for credit too.
    let mut replies = Vec::new();
    for n in 1..=10_000 {
        if n % 100 == 0 {
            replies.push((n, remote.note_and_count(n)));
        } else {
            remote.note(n).unwrap();
        }
    }
    for (n, reply) in replies {
        assert_eq!(reply.wait_timeout(PATIENCE), Ok(n as usize));
    }
    let seen = remote.seen().wait_timeout(PATIENCE).unwrap();
    assert!(seen.iter().copied().eq(1..=10_000), "out of order");
}

#[test]
fn a_flood_of_tells_is_paced_not_dropped() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let serving = member(&server, "flood");
    let mut errors = ReceivePort::new();
    serving.add_error_listener(errors.send_port());
    serving
        .register("counter", &counter(&group))
        .wait()
        .unwrap();
    let asking = member(&server, "flood");
    asking.add_error_listener(errors.send_port());
    let remote: CounterPort = asking.lookup("counter").wait().unwrap();
    // More than the receiving client buffers (65,536 messages): without the
    // flow-control window, NATS drops the excess for the receiver.
    let tells: u64 = 150_000;
    for n in 0..tells {
        remote.add(n).unwrap();
    }
    assert_eq!(
        remote.total().wait_timeout(PATIENCE),
        Ok(tells * (tells - 1) / 2)
    );
    assert!(errors.try_recv().is_err(), "no message was reported lost");
    assert_eq!(
        remote.echo("über ✓".into()).wait_timeout(PATIENCE),
        Ok("über ✓".into())
    );
}

#[test]
fn asks_work_from_async_code_without_a_tokio_runtime() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let url = server.url();
    let (_serving, total) = futures::executor::block_on(async {
        let remote = RemoteGroup::connect(&url, "async").await?;
        remote.register("counter", &counter(&group)).await?;
        let port: CounterPort = remote.lookup("counter").await?;
        port.add(7).unwrap();
        let total = port.total().await?;
        Ok::<_, Box<dyn std::error::Error>>((remote, total))
    })
    .unwrap();
    assert_eq!(total, 7);

    // And from inside an isolate, where a blocking wait is refused.
    let mut results = ReceivePort::new();
    group.spawn_fn(
        inside_an_isolate,
        (member(&server, "async"), results.send_port()),
    );
    assert_eq!(results.recv_timeout(PATIENCE), Ok((true, 7)));
}

async fn inside_an_isolate((remote, results): (RemoteGroup, SendPort<(bool, u64)>)) {
    let blocked = remote.lookup::<CounterPort>("counter").wait();
    let port: CounterPort = remote.lookup("counter").await.unwrap();
    let total = port.total().await.unwrap();
    results
        .send((blocked.unwrap_err() == Error::BlockingInIsolate, total))
        .unwrap();
}

#[test]
fn a_server_without_jetstream_is_refused_with_what_to_do() {
    let Some(server) = NatsServer::start_with(false) else {
        return;
    };
    match RemoteGroup::connect(&server.url(), "plain").wait_timeout(PATIENCE) {
        Err(error @ Error::NoJetStream(_)) => {
            assert!(error.to_string().contains("nats-server -js"), "{error}");
        }
        other => panic!("connecting to a server without JetStream gave {other:?}"),
    }
}

#[test]
fn a_member_that_joins_late_finds_the_names() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let first = member(&server, "late");
    first.register("a", &counter(&group)).wait().unwrap();
    first.register("b", &counter(&group)).wait().unwrap();

    let late = member(&server, "late");
    assert_eq!(late.names().wait().unwrap(), ["a", "b"]);
    let b: CounterPort = late.lookup("b").wait().unwrap();
    assert_eq!(b.total().wait_timeout(PATIENCE), Ok(0));

    // Another group sees none of them.
    let other = member(&server, "other");
    assert!(other.names().wait().unwrap().is_empty());
}

#[test]
fn lookups_fail_with_what_went_wrong() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let remote = member(&server, "lookups");
    remote.register("counter", &counter(&group)).wait().unwrap();

    assert_eq!(
        remote.lookup::<CounterPort>("nobody").wait().unwrap_err(),
        Error::NotFound {
            name: "nobody".into()
        }
    );
    match remote.lookup::<SendPort<String>>("counter").wait() {
        Err(Error::WrongType {
            name, registered, ..
        }) => {
            assert_eq!(name, "counter");
            assert!(registered.contains("Counter"), "{registered}");
        }
        other => panic!("a lookup with the wrong type gave {other:?}"),
    }
    assert!(matches!(
        remote.lookup::<CounterPort>("no spaces").wait(),
        Err(Error::InvalidName { .. })
    ));
    assert!(matches!(
        RemoteGroup::connect(&server.url(), "a.b").wait(),
        Err(Error::InvalidName { .. })
    ));
}

#[test]
fn a_name_is_held_while_its_isolate_lives_and_freed_when_it_ends() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let remote = member(&server, "taken");
    let (first, first_handle) = group.spawn_with(
        Counter { total: 0, calls: 0 },
        isolate_core::SpawnOptions::new(),
    );
    remote.register("counter", &first).wait().unwrap();

    // Taken, by this member or another.
    assert_eq!(
        remote.register("counter", &counter(&group)).wait(),
        Err(Error::Taken {
            name: "counter".into()
        })
    );
    let other = member(&server, "taken");
    assert!(matches!(
        other.register("counter", &counter(&group)).wait(),
        Err(Error::Taken { .. })
    ));

    // The isolate ends: its name goes, and can be taken again.
    first_handle.kill(Priority::Immediate);
    eventually("the ended isolate's name is gone", || {
        !remote
            .names()
            .wait()
            .unwrap()
            .contains(&"counter".to_owned())
    });
    let second = counter(&group);
    other.register("counter", &second).wait().unwrap();
    second.add(3).unwrap();
    let found: CounterPort = remote.lookup("counter").wait().unwrap();
    assert_eq!(found.total().wait_timeout(PATIENCE), Ok(3));
}

#[test]
fn unregister_and_leave_take_names_out() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let remote = member(&server, "leave");
    remote.register("a", &counter(&group)).wait().unwrap();
    remote.register("b", &counter(&group)).wait().unwrap();
    remote.register("c", &counter(&group)).wait().unwrap();

    assert_eq!(remote.unregister("a").wait(), Ok(true));
    assert_eq!(remote.unregister("a").wait(), Ok(false));
    let watcher = member(&server, "leave");
    assert_eq!(watcher.names().wait().unwrap(), ["b", "c"]);

    remote.leave().wait().unwrap();
    assert!(watcher.names().wait().unwrap().is_empty());
}

#[test]
fn leave_sends_what_is_queued_before_it_returns() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let serving = member(&server, "drain");
    let target = counter(&group);
    serving.register("counter", &target).wait().unwrap();
    let sending = member(&server, "drain");
    let remote: CounterPort = sending.lookup("counter").wait().unwrap();
    for n in 0..20_000 {
        remote.add(n).unwrap();
    }
    // Everything is handed over before `leave` returns: the process could
    // end now and lose nothing.
    sending.leave().wait().unwrap();
    drop(remote);
    let expected = 20_000 * 19_999 / 2;
    eventually("every queued tell arrived", || {
        target.total().wait_timeout(PATIENCE) == Ok(expected)
    });
}

#[test]
fn a_member_writes_its_names_again_and_gives_up_names_taken_from_it() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let remote = member(&server, "keep");
    let mut errors = ReceivePort::new();
    remote.add_error_listener(errors.send_port());
    let target = counter(&group);
    remote.register("kept", &target).wait().unwrap();
    remote.register("taken", &counter(&group)).wait().unwrap();

    let (io, bucket) = server.bucket("keep");
    // A lookup that found the member unreachable for a moment would delete
    // its name; the member, still serving, writes it again.
    io.block_on(bucket.delete("kept")).unwrap();
    // Another member took this one over: the member stops serving it.
    let other = io.block_on(bucket.get("taken")).unwrap().unwrap();
    let mut other: serde_json::Value = serde_json::from_slice(&other).unwrap();
    other["member"] = "somebody-else".into();
    other["subject"] = "isolates.keep.somebody-else.1".into();
    io.block_on(bucket.put("taken", serde_json::to_vec(&other).unwrap().into()))
        .unwrap();

    eventually("the deleted name is written again", || {
        io.block_on(bucket.get("kept")).unwrap().is_some()
    });
    let lost = errors.recv_timeout(PATIENCE).unwrap();
    assert!(
        lost.message()
            .contains("`taken` was taken by another member"),
        "{lost}"
    );
    let watcher = member(&server, "keep");
    let kept: CounterPort = watcher.lookup("kept").wait().unwrap();
    kept.add(2).unwrap();
    assert_eq!(kept.total().wait_timeout(PATIENCE), Ok(2));
    assert_eq!(target.total().wait_timeout(PATIENCE), Ok(2));
}

#[test]
fn a_crashed_member_is_found_gone_and_its_names_are_freed() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let crashing = member(&server, "crash");
    crashing
        .register("counter", &counter(&group))
        .wait()
        .unwrap();
    let survivor = member(&server, "crash");
    let looked_up: CounterPort = survivor.lookup("counter").wait().unwrap();

    // Dropped without `leave`, as a crash would: the connection closes and
    // the name stays in the bucket.
    drop(crashing);
    assert_eq!(survivor.names().wait().unwrap(), ["counter"]);

    // An ask finds nobody: NATS says so (`NoResponder`), which is not its
    // timeout (that would be `Timeout`). No wall-clock bound here: until
    // the server has seen the connection close, an ask may still time out,
    // and under load that takes as long as it takes.
    eventually("the crashed member's subject has no responders", || {
        looked_up.total().wait_timeout(PATIENCE) == Err(ReplyError::NoResponder)
    });

    // A lookup finds the name dead and removes it; it is free again.
    assert!(matches!(
        survivor.lookup::<CounterPort>("counter").wait(),
        Err(Error::NotFound { .. })
    ));
    assert!(survivor.names().wait().unwrap().is_empty());
    survivor
        .register("counter", &counter(&group))
        .wait()
        .unwrap();
}

/// A port whose asks the test answers by hand (or never).
#[isolate_core::message]
#[derive(Debug, Serialize, Deserialize)]
struct Question(u32, ReplySender<u32>);

#[test]
fn an_ask_ends_with_an_answer_a_drop_or_a_timeout() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let serving = member(&server, "asks");
    let mut questions = ReceivePort::<Question>::new();
    serving
        .register("questions", &questions.send_port())
        .wait()
        .unwrap();
    let asking = member(&server, "asks");
    let port: SendPort<Question> = asking.lookup("questions").wait().unwrap();

    // Answered.
    let reply = port.ask(|reply| Question(20, reply));
    let Question(n, answer) = questions.recv_timeout(PATIENCE).unwrap();
    answer.send(n + 1);
    assert_eq!(reply.wait_timeout(PATIENCE), Ok(21));

    // The handler drops its reply sender: the asker hears so at once.
    let reply = port.ask(|reply| Question(0, reply));
    drop(questions.recv_timeout(PATIENCE).unwrap());
    assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Dropped));

    // Never answered: the ask times out (2 s here), it does not hang.
    let started = Instant::now();
    let reply = port.ask(|reply| Question(0, reply));
    let _held = questions.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        reply.wait_timeout(PATIENCE),
        Err(ReplyError::Timeout(Duration::from_secs(2)))
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
}

#[test]
fn garbage_and_foreign_types_are_errors_at_the_receiver_and_reach_no_handler() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    let serving = member(&server, "garbage");
    let mut errors = ReceivePort::new();
    serving.add_error_listener(errors.send_port());
    let target = counter(&group);
    serving.register("counter", &target).wait().unwrap();

    // Another member registers a port of another type, then sends to the
    // counter's subject through a raw client: wrong fingerprint, garbage,
    // a truncated body.
    let (io, bucket) = server.bucket("garbage");
    let raw = io.block_on(async_nats::connect(server.url())).unwrap();
    let record = io.block_on(bucket.get("counter")).unwrap().unwrap();
    let record: serde_json::Value = serde_json::from_slice(&record).unwrap();
    let subject = record["subject"].as_str().unwrap().to_owned();
    let mut wrong_type = b"IS\x01\x00".to_vec();
    wrong_type.extend_from_slice(&42u64.to_le_bytes());
    wrong_type.push(5);
    let mut truncated = b"IS\x01\x00".to_vec();
    truncated.extend_from_slice(
        &isolate_core::transport::fingerprint::<<Counter as Isolate>::Message>().to_le_bytes(),
    );
    truncated.push(200);
    io.block_on(async {
        for payload in [b"garbage".to_vec(), wrong_type, truncated] {
            raw.publish(subject.clone(), payload.into()).await.unwrap();
        }
        // An ask with garbage gets a failure back, not silence.
        let answer = raw
            .request(subject.clone(), b"IS\x01\x01junk".to_vec().into())
            .await
            .unwrap();
        assert_eq!(&answer.payload[..4], b"IS\x01\x05", "a Failed envelope");
        raw.flush().await.unwrap();
    });

    let mut seen = Vec::new();
    while seen.len() < 4 {
        let error = errors.recv_timeout(PATIENCE).expect("an error report");
        assert_eq!(error.kind(), RemoteErrorKind::Undeliverable);
        seen.push(error.message().to_owned());
    }
    assert!(seen[0].contains("no isolate group sent"), "{seen:?}");
    assert!(seen[1].contains("fingerprint"), "{seen:?}");
    assert!(seen[2].contains("could not decode"), "{seen:?}");
    // No handler ran: the counter was never called.
    assert_eq!(target.calls().wait_timeout(PATIENCE), Ok(0));
}

#[test]
fn a_port_inside_a_message_cannot_cross_and_says_why() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let serving = member(&server, "ports");
    let inbox = ReceivePort::<SendPort<u8>>::new();
    serving
        .register("inbox", &inbox.send_port())
        .wait()
        .unwrap();
    let asking = member(&server, "ports");
    let mut errors = ReceivePort::new();
    asking.add_error_listener(errors.send_port());
    let port: SendPort<SendPort<u8>> = asking.lookup("inbox").wait().unwrap();
    let mine = ReceivePort::<u8>::new();
    assert!(matches!(
        port.send(mine.send_port()),
        Err(SendError::Undeliverable(_))
    ));
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert!(
        error.message().contains("register the port under a name"),
        "{error}"
    );
}

#[test]
fn the_server_going_away_fails_asks_and_its_return_heals_the_group() {
    let Some(mut server) = NatsServer::start() else {
        return;
    };
    let serving = member(&server, "outage");
    let mut questions = ReceivePort::<Question>::new();
    serving
        .register("questions", &questions.send_port())
        .wait()
        .unwrap();
    let group = IsolateGroup::new();
    serving
        .register("counter", &counter(&group))
        .wait()
        .unwrap();
    let asking = member(&server, "outage");
    let port: SendPort<Question> = asking.lookup("questions").wait().unwrap();
    let counter: CounterPort = asking.lookup("counter").wait().unwrap();

    // An ask waiting for its answer when the server dies fails at once
    // with `Disconnected`, not at its timeout.
    let waiting = port.ask(|reply| Question(1, reply));
    let _held = questions.recv_timeout(PATIENCE).unwrap();
    server.kill();
    assert_eq!(
        waiting.wait_timeout(PATIENCE),
        Err(ReplyError::Disconnected)
    );
    // An ask while the server is away fails at its timeout, even behind
    // more tells than the client buffers while it reconnects.
    for n in 0..3_000 {
        counter.add(n).unwrap();
    }
    let during = port.ask(|reply| Question(2, reply));
    assert_eq!(
        during.wait_timeout(PATIENCE),
        Err(ReplyError::Timeout(Duration::from_secs(2)))
    );
    // The operations on names fail with an error, and do not hang.
    let never = Error::Timeout(PATIENCE);
    assert_ne!(asking.names().wait_timeout(PATIENCE).unwrap_err(), never);
    assert_ne!(
        asking
            .register("late", &group.spawn(Counter { total: 0, calls: 0 }))
            .wait_timeout(PATIENCE)
            .unwrap_err(),
        never
    );

    // The server comes back (same port, same store): both clients
    // reconnect, re-subscribe, and asks work again.
    server.restart();
    let mut answered = false;
    let deadline = Instant::now() + PATIENCE;
    while !answered && Instant::now() < deadline {
        let reply = port.ask(|reply| Question(3, reply));
        if let Ok(Question(n, answer)) = questions.recv_timeout(Duration::from_millis(500)) {
            answer.send(n * 10);
        }
        answered = reply.wait_timeout(PATIENCE) == Ok(30);
        // Questions that arrived late are answered so none is held.
        while let Ok(Question(n, answer)) = questions.try_recv() {
            answer.send(n * 10);
        }
    }
    assert!(answered, "asks work again after the server came back");
}

/// Counts how often it is encoded: a sender that spins re-encodes.
#[message]
#[derive(Deserialize)]
struct Counted(u64);

static ENCODES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

impl Serialize for Counted {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        ENCODES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        serializer.serialize_newtype_struct("Counted", &self.0)
    }
}

#[isolate]
#[derive(Default)]
struct Sink {
    taken: u64,
}

#[isolate(remote)]
impl Sink {
    #[message]
    fn take(&mut self, _item: Counted) {
        self.taken += 1;
    }

    #[message]
    fn taken(&self) -> u64 {
        self.taken
    }
}

#[test]
fn a_full_window_holds_its_senders_without_spinning_or_leaking_credit() {
    let Some(server) = NatsServer::start() else {
        return;
    };
    let group = IsolateGroup::new();
    // A receiver that takes nothing: paused, with a mailbox of one.
    let (sink, handle) = group.spawn_with(
        Sink::default(),
        isolate_core::SpawnOptions::new().bounded(1),
    );
    let resume = handle.pause();
    let serving = member(&server, "window");
    serving.register("sink", &sink).wait().unwrap();
    let sending = RemoteGroup::builder()
        .ask_timeout(Duration::from_millis(500))
        .connect(&server.url(), "window")
        .wait_timeout(PATIENCE)
        .unwrap();
    let remote: SinkPort = sending.lookup("sink").wait().unwrap();
    let tells = 6_000u64;
    let sender = {
        let remote = remote.clone();
        std::thread::spawn(move || {
            for n in 0..tells {
                remote.take(Counted(n)).unwrap();
            }
        })
    };
    // The window fills (4,096 messages) and the sender waits.
    eventually("the window is full", || {
        ENCODES.load(std::sync::atomic::Ordering::Relaxed) >= 4_096
    });
    let before = ENCODES.load(std::sync::atomic::Ordering::Relaxed);
    // Over several ask timeouts, the acknowledgements time out and are
    // asked for again; their credit does not come back, so no more tells
    // go out, and the waiting sender does not re-encode in a loop.
    let (_never, quiet) = std::sync::mpsc::channel::<()>();
    let _ = quiet.recv_timeout(Duration::from_millis(2_500));
    let after = ENCODES.load(std::sync::atomic::Ordering::Relaxed);
    assert!(
        after - before < 16,
        "{} encodes while the window was full",
        after - before
    );
    assert!(!sender.is_finished());

    handle.resume(&resume);
    sender.join().unwrap();
    assert_eq!(remote.taken().wait_timeout(PATIENCE), Ok(tells));
}
