//! Dart's controls: kill priorities, capability-based pause and resume,
//! pings, exit and error listeners, spawn options, `current()`.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RecvTimeoutError, SpawnOptions};

/// Records what it handles; can park in an async handler until released.
#[isolate]
#[derive(Default)]
struct Recorder {
    seen: Vec<u32>,
}

#[isolate]
impl Recorder {
    #[message]
    fn record(&mut self, n: u32) {
        self.seen.push(n);
    }

    #[message]
    fn seen(&self) -> Vec<u32> {
        self.seen.clone()
    }

    /// Parks until `release` sends, telling `parked` first. Records `n`
    /// only if it gets to finish.
    #[message]
    async fn park(&mut self, n: u32, parked: SendPort<()>, release: SendPort<SendPort<()>>) {
        let mut go = ReceivePort::new();
        let _ = release.send(go.send_port());
        let _ = parked.send(());
        if go.recv_async().await.is_ok() {
            self.seen.push(n);
        }
    }

    #[message]
    fn fail(&mut self, why: String) {
        panic!("{why}");
    }

    #[message]
    fn whoami(&self) -> (Option<String>, bool) {
        let me = isolate_core::current();
        (
            me.as_ref().and_then(|h| h.name().map(str::to_owned)),
            me.is_some(),
        )
    }
}

/// Parks `recorder` in an async handler; returns the port that releases it.
fn park(recorder: &RecorderPort, n: u32) -> SendPort<()> {
    let mut parked = ReceivePort::new();
    let mut release = ReceivePort::new();
    recorder
        .park(n, parked.send_port(), release.send_port())
        .unwrap();
    parked.recv_timeout(PATIENCE).unwrap();
    release.recv_timeout(PATIENCE).unwrap()
}

#[test]
fn kill_immediate_cancels_the_async_handler_in_flight_and_fails_queued_asks() {
    let group = common::group(2);
    let mut exits = ReceivePort::new();
    let (recorder, handle) = group.spawn_with(
        Recorder::default(),
        SpawnOptions::new().on_exit(exits.send_port(), "exited"),
    );
    let release = park(&recorder, 1);
    let queued = recorder.seen();
    handle.kill(Priority::Immediate);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("exited"));
    assert_eq!(queued.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    // The parked handler was cancelled: its release port is gone.
    assert!(release.send(()).is_err());
    assert!(recorder.is_closed());
    assert!(handle.is_finished());
}

#[test]
fn kill_before_next_event_lets_the_current_message_finish_and_drops_the_rest() {
    let group = common::group(2);
    let mut exits = ReceivePort::new();
    let (recorder, handle) = group.spawn_with(
        Recorder::default(),
        SpawnOptions::new().on_exit(exits.send_port(), ()),
    );
    let release = park(&recorder, 1);
    recorder.record(2).unwrap(); // queued behind the parked handler
    let queued = recorder.seen();
    handle.kill(Priority::BeforeNextEvent);
    // The kill waits for the current message; release it.
    release.send(()).unwrap();
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(()));
    // The queued ask was never handled: the kill overtook it.
    assert_eq!(queued.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
}

#[test]
fn a_paused_isolate_queues_messages_and_handles_them_in_order_once_resumed() {
    let group = common::group(2);
    let (recorder, handle) = group.spawn_with(Recorder::default(), SpawnOptions::new());
    let capability = handle.pause();
    assert!(handle.is_paused());
    for n in 0..5 {
        recorder.record(n).unwrap();
    }
    let seen = recorder.seen();
    // Still paused: a ping is answered, the ask is not.
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), "pong", Priority::Immediate);
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok("pong"));
    let seen = match seen.try_wait() {
        Err(Ok(pending)) => pending,
        other => panic!("a paused isolate answered: {other:?}"),
    };
    handle.resume(&capability);
    assert_eq!(seen.wait_timeout(PATIENCE), Ok(vec![0, 1, 2, 3, 4]));
}

#[test]
fn every_distinct_capability_must_be_resumed_but_one_capability_twice_needs_one_resume() {
    let group = common::group(1);
    let (recorder, handle) = group.spawn_with(Recorder::default(), SpawnOptions::new());
    let a = handle.pause();
    handle.pause_with(&a);
    let b = handle.pause();
    handle.resume(&a);
    assert!(handle.is_paused(), "b still holds it");
    handle.resume(&a); // a no longer holds it: nothing happens
    assert!(handle.is_paused());
    handle.resume(&b);
    assert!(!handle.is_paused());
    recorder.record(7).unwrap();
    assert_eq!(recorder.seen().wait_timeout(PATIENCE), Ok(vec![7]));
}

#[test]
fn a_ping_is_answered_while_an_async_handler_is_in_flight() {
    let group = common::group(1);
    let (recorder, handle) = group.spawn_with(Recorder::default(), SpawnOptions::new());
    let release = park(&recorder, 1);
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), 1, Priority::Immediate);
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok(1));
    // A before-next-event ping waits for the handler to finish.
    handle.ping(pongs.send_port(), 2, Priority::BeforeNextEvent);
    release.send(()).unwrap();
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok(2));
    assert_eq!(recorder.seen().wait_timeout(PATIENCE), Ok(vec![1]));
}

#[test]
fn an_isolate_spawned_paused_runs_nothing_until_resumed() {
    async fn entry(answer: SendPort<&'static str>) {
        answer.send("started").unwrap();
    }
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    let handle = group.spawn_fn_with(entry, inbox.send_port(), SpawnOptions::new().paused(true));
    // Prove it is not running: a ping comes back, the entry's message does not.
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), (), Priority::Immediate);
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok(()));
    assert_eq!(inbox.try_recv(), Err(isolate_core::TryRecvError::Empty));
    handle.resume(&handle.pause_capability());
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("started"));
}

#[test]
fn an_isolate_that_fails_on_its_first_message_is_always_reported() {
    let group = common::group(2);
    for round in 0..100 {
        let mut errors = ReceivePort::new();
        let mut exits = ReceivePort::new();
        let (recorder, _handle) = group.spawn_with(
            Recorder::default(),
            SpawnOptions::new()
                .on_error(errors.send_port())
                .on_exit(exits.send_port(), round),
        );
        recorder.fail(format!("failure {round}")).unwrap();
        let error = errors.recv_timeout(PATIENCE).unwrap();
        assert_eq!(error.message(), format!("failure {round}"));
        assert_eq!(exits.recv_timeout(PATIENCE), Ok(round));
    }
}

#[test]
fn with_errors_not_fatal_a_failed_message_is_reported_and_the_isolate_goes_on() {
    let group = common::group(1);
    let mut errors = ReceivePort::new();
    let (recorder, handle) = group.spawn_with(
        Recorder::default(),
        SpawnOptions::new()
            .errors_are_fatal(false)
            .on_error(errors.send_port()),
    );
    recorder.record(1).unwrap();
    recorder.fail("not fatal".to_owned()).unwrap();
    recorder.record(2).unwrap();
    assert_eq!(recorder.seen().wait_timeout(PATIENCE), Ok(vec![1, 2]));
    assert_eq!(
        errors.recv_timeout(PATIENCE).unwrap().message(),
        "not fatal"
    );
    // Fatal again from now on.
    handle.set_errors_fatal(true);
    recorder.fail("fatal".to_owned()).unwrap();
    assert_eq!(errors.recv_timeout(PATIENCE).unwrap().message(), "fatal");
    assert_eq!(
        recorder.seen().wait_timeout(PATIENCE),
        Err(ReplyError::Dropped)
    );
}

#[test]
fn an_exit_listener_added_after_the_isolate_ended_is_told_at_once() {
    async fn quick(_: ()) {}
    let group = common::group(1);
    let handle = group.spawn_fn(quick, ());
    common::wait_until("the isolate has ended", || handle.is_finished());
    let mut exits = ReceivePort::new();
    handle.add_on_exit_listener(exits.send_port(), "late");
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("late"));
}

#[test]
fn one_port_is_one_exit_listener_with_the_last_response_and_removal_works() {
    let group = common::group(1);
    let (_recorder, handle) = group.spawn_with(Recorder::default(), SpawnOptions::new());
    let mut exits = ReceivePort::new();
    handle.add_on_exit_listener(exits.send_port(), 1);
    handle.add_on_exit_listener(exits.send_port(), 2);
    let mut removed = ReceivePort::<u8>::new();
    handle.add_on_exit_listener(removed.send_port(), 9);
    handle.remove_on_exit_listener(&removed.send_port());
    handle.kill(Priority::Immediate);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(2));
    assert_eq!(
        exits.recv_timeout(PATIENCE),
        Err(RecvTimeoutError::Disconnected)
    );
    // The removed listener's port was dropped, never used.
    assert_eq!(
        removed.recv_timeout(PATIENCE),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn an_error_listener_can_be_removed() {
    let group = common::group(1);
    let (recorder, handle) = group.spawn_with(
        Recorder::default(),
        SpawnOptions::new().errors_are_fatal(false),
    );
    let mut errors = ReceivePort::new();
    handle.add_error_listener(errors.send_port());
    recorder.fail("seen".to_owned()).unwrap();
    assert_eq!(errors.recv_timeout(PATIENCE).unwrap().message(), "seen");
    handle.remove_error_listener(&errors.send_port());
    recorder.fail("unseen".to_owned()).unwrap();
    assert_eq!(recorder.seen().wait_timeout(PATIENCE), Ok(vec![]));
    assert_eq!(
        errors.recv_timeout(PATIENCE),
        Err(RecvTimeoutError::Disconnected)
    );
}

#[test]
fn current_names_the_running_isolate() {
    let group = common::group(1);
    let (named, _) = group.spawn_with(Recorder::default(), SpawnOptions::new().name("rec-1"));
    assert_eq!(
        named.whoami().wait_timeout(PATIENCE),
        Ok((Some("rec-1".to_owned()), true))
    );
    let unnamed = group.spawn(Recorder::default());
    assert_eq!(unnamed.whoami().wait_timeout(PATIENCE), Ok((None, true)));
    assert!(isolate_core::current().is_none());
}

#[test]
fn killing_an_ended_isolate_or_pinging_it_does_nothing() {
    async fn quick(_: ()) {}
    let group = common::group(1);
    let handle = group.spawn_fn(quick, ());
    common::wait_until("the isolate has ended", || handle.is_finished());
    handle.kill(Priority::Immediate);
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), (), Priority::Immediate);
    assert_eq!(
        pongs.recv_timeout(PATIENCE),
        Err(RecvTimeoutError::Disconnected)
    );
}
