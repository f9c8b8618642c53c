//! Pinned isolates: `!Send` state, built on one worker and never moved.

mod common;

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, SpawnOptions};

fn thread_name() -> String {
    std::thread::current()
        .name()
        .unwrap_or("unnamed")
        .to_owned()
}

/// Records the thread it was built on, and every thread that handled a
/// message for it, in state only its own thread may touch.
#[isolate(pinned)]
struct Local {
    built_on: String,
    threads: Rc<RefCell<HashSet<String>>>,
    /// Tells the test, from `Drop`, where the state was dropped.
    dropped: Option<SendPort<String>>,
}

impl Local {
    fn new(dropped: Option<SendPort<String>>) -> Self {
        Local {
            built_on: thread_name(),
            threads: Rc::default(),
            dropped,
        }
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        if let Some(dropped) = self.dropped.take() {
            let _ = dropped.send(thread_name());
        }
    }
}

#[isolate(pinned)]
impl Local {
    #[message]
    fn touch(&mut self) {
        self.threads.borrow_mut().insert(thread_name());
    }

    #[message]
    fn report(&self) -> (String, Vec<String>) {
        let mut threads: Vec<String> = self.threads.borrow().iter().cloned().collect();
        threads.sort();
        (self.built_on.clone(), threads)
    }

    /// Holds an `Rc` of the state across an `.await`: a future that is not
    /// `Send`, which only a pinned isolate may run.
    #[message]
    async fn touch_later(&mut self, value: SendPort<SendPort<u64>>) -> u64 {
        let threads = Rc::clone(&self.threads);
        let mut inbox = ReceivePort::new();
        value.send(inbox.send_port()).unwrap();
        let n = inbox.recv_async().await.unwrap();
        threads.borrow_mut().insert(thread_name());
        n
    }
}

/// A busy isolate, to keep the other worker looking for work to steal.
#[isolate]
struct Spinner;

#[isolate]
impl Spinner {
    #[message]
    fn spin(&self, rounds: u64) -> u64 {
        (0..rounds).fold(0u64, |acc, n| acc.wrapping_add(std::hint::black_box(n)))
    }
}

#[test]
fn rc_state_is_built_and_used_on_one_worker_only() {
    let group = common::group(2);
    let local = group.spawn_pinned(|()| Local::new(None), ());
    let spinners: Vec<_> = (0..4).map(|_| group.spawn(Spinner)).collect();
    // Messages from this thread, from other threads and amid other work:
    // whatever wakes it, it runs at home.
    let senders: Vec<_> = (0..4)
        .map(|_| {
            let local = local.clone();
            std::thread::spawn(move || {
                for _ in 0..100 {
                    local.touch().unwrap();
                    // Let it go idle, so that the next message wakes it
                    // afresh, from outside the group.
                    local.report().wait_timeout(PATIENCE).unwrap();
                }
            })
        })
        .collect();
    let spins: Vec<_> = spinners
        .iter()
        .flat_map(|spinner| (0..50).map(move |_| spinner.spin(10_000)))
        .collect();
    for sender in senders {
        sender.join().unwrap();
    }
    for spin in spins {
        spin.wait_timeout(PATIENCE).unwrap();
    }
    let (built_on, threads) = local.report().wait_timeout(PATIENCE).unwrap();
    assert!(
        built_on.starts_with("test-"),
        "built on a worker, not the spawner: {built_on}"
    );
    assert_eq!(
        threads,
        [built_on],
        "every message ran where the state was built"
    );
}

#[test]
fn an_async_handler_may_hold_rc_across_an_await() {
    let group = common::group(2);
    let local = group.spawn_pinned(|()| Local::new(None), ());
    let mut requests = ReceivePort::<SendPort<u64>>::new();
    let answer = local.touch_later(requests.send_port());
    requests.recv_timeout(PATIENCE).unwrap().send(42).unwrap();
    assert_eq!(answer.wait_timeout(PATIENCE), Ok(42));
    let (built_on, threads) = local.report().wait_timeout(PATIENCE).unwrap();
    assert_eq!(threads, [built_on], "resumed on its home after the await");
}

#[test]
fn pinned_isolates_are_spread_over_the_workers() {
    let group = common::group(2);
    let homes: HashSet<String> = (0..4)
        .map(|_| group.spawn_pinned(|()| Local::new(None), ()))
        .map(|local| local.report().wait_timeout(PATIENCE).unwrap().0)
        .collect();
    assert_eq!(homes.len(), 2, "homes go round-robin: {homes:?}");
}

#[test]
fn the_state_is_dropped_on_its_home_when_the_isolate_ends() {
    let group = common::group(2);
    let mut dropped = ReceivePort::new();
    let port = dropped.send_port();
    let local = group.spawn_pinned(|port| Local::new(Some(port)), port);
    let (built_on, _) = local.report().wait_timeout(PATIENCE).unwrap();
    drop(local); // its last port: it ends
    assert_eq!(dropped.recv_timeout(PATIENCE), Ok(built_on));
}

#[test]
fn the_state_is_dropped_on_its_home_when_the_group_shuts_down() {
    let group = common::group(2);
    let mut dropped = ReceivePort::new();
    let homes: Vec<String> = (0..4)
        .map(|_| {
            let port = dropped.send_port();
            let local = group.spawn_pinned(|port| Local::new(Some(port)), port);
            let home = local.report().wait_timeout(PATIENCE).unwrap().0;
            // Kept alive by a port that outlives the group.
            std::mem::forget(local);
            home
        })
        .collect();
    drop(group);
    let mut where_dropped: Vec<String> = (0..4)
        .map(|_| dropped.recv_timeout(PATIENCE).unwrap())
        .collect();
    let mut expected = homes;
    where_dropped.sort();
    expected.sort();
    assert_eq!(
        where_dropped, expected,
        "each state dropped by its own worker"
    );
}

#[test]
fn a_factory_that_panics_ends_the_isolate_and_its_asks_fail() {
    let group = common::group(1);
    let mut exits = ReceivePort::new();
    let mut errors = ReceivePort::new();
    let (local, _handle) = group.spawn_pinned_with(
        |()| -> Local { panic!("no state today") },
        (),
        SpawnOptions::new()
            .on_exit(exits.send_port(), ())
            .on_error(errors.send_port()),
    );
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(()));
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.message(), "no state today");
    assert!(local.report().wait_timeout(PATIENCE).is_err());
}

#[test]
fn a_pinned_isolate_can_be_killed_and_reports_its_exit() {
    let group = common::group(2);
    let mut exits = ReceivePort::new();
    let (local, handle) = group.spawn_pinned_with(
        |()| Local::new(None),
        (),
        SpawnOptions::new().on_exit(exits.send_port(), "gone"),
    );
    local.touch().unwrap();
    handle.kill(Priority::Immediate);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("gone"));
    assert!(local.report().wait_timeout(PATIENCE).is_err());
}

/// `Handled::Local` is for pinned isolates. From any other, its future is
/// dropped unpolled and the message fails as a panic would.
#[message]
struct Stray;

#[message]
enum StrayMsg {
    Go(ReplySender<u8>),
}

impl Isolate for Stray {
    type Message = StrayMsg;
    type Port = SendPort<StrayMsg>;

    fn handle(&mut self, StrayMsg::Go(reply): StrayMsg) -> Handled<'_> {
        let not_send = Rc::new(7u8);
        Handled::local(async move { reply.send(*not_send) })
    }
}

#[test]
fn handled_local_from_an_isolate_that_is_not_pinned_fails_the_message() {
    let group = common::group(2);
    let mut errors = ReceivePort::new();
    let (stray, _handle) =
        group.spawn_with(Stray, SpawnOptions::new().on_error(errors.send_port()));
    assert!(stray.ask(StrayMsg::Go).wait_timeout(PATIENCE).is_err());
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert!(
        error.message().contains("spawn_pinned"),
        "{}",
        error.message()
    );
}

#[test]
fn a_state_that_is_send_may_be_pinned_too() {
    let group = common::group(2);
    let spinner = group.spawn_pinned(|()| Spinner, ());
    assert_eq!(spinner.spin(4).wait_timeout(PATIENCE), Ok(6));
}

/// A pinned isolate that can be made to hold its worker, or to keep itself
/// busy by telling itself to go on.
#[isolate(pinned)]
struct Stubborn {
    me: Option<StubbornPort>,
    ticks: Rc<std::cell::Cell<u64>>,
    running: bool,
}

impl Stubborn {
    fn new() -> Self {
        Stubborn {
            me: None,
            ticks: Rc::default(),
            running: false,
        }
    }
}

#[isolate(pinned)]
impl Stubborn {
    /// Holds the worker thread: a handler stuck past a shutdown timeout.
    #[message]
    fn hold(&mut self, started: SendPort<()>, for_millis: u64) {
        let _ = started.send(());
        std::thread::sleep(std::time::Duration::from_millis(for_millis));
    }

    #[message]
    fn ticks(&self) -> u64 {
        self.ticks.get()
    }

    /// Keeps an ask's reply in a pending `!Send` future, forever.
    #[message]
    async fn never(&mut self, started: SendPort<()>) -> u8 {
        let ticks = Rc::clone(&self.ticks);
        let mut nobody = ReceivePort::<u8>::new();
        let _keep = nobody.send_port();
        let _ = started.send(());
        let n = nobody.recv_async().await.unwrap_or(0);
        ticks.set(ticks.get() + 1);
        n
    }

    /// Starts telling itself `tick` until `stop`.
    #[message]
    fn start(&mut self, me: StubbornPort) {
        self.running = true;
        let _ = me.tick();
        self.me = Some(me);
    }

    #[message]
    fn tick(&mut self) {
        self.ticks.set(self.ticks.get() + 1);
        if self.running
            && let Some(me) = &self.me
        {
            let _ = me.tick();
        }
    }

    #[message]
    fn stop(&mut self) {
        self.running = false;
        self.me = None;
    }
}

#[test]
fn an_ask_queued_behind_a_stuck_handler_fails_after_a_shutdown_timeout() {
    let group = common::group(1);
    let stubborn = group.spawn_pinned(|()| Stubborn::new(), ());
    let mut started = ReceivePort::new();
    stubborn.hold(started.send_port(), 500).unwrap();
    started.recv_timeout(PATIENCE).unwrap();
    // Queued while the handler holds the worker: the isolate will be
    // notified when the handler returns, after the sweep.
    let queued = stubborn.ticks();
    let report = group.shutdown_timeout(std::time::Duration::from_millis(50));
    assert_eq!(report.still_running.len(), 1, "{report:?}");
    assert_eq!(queued.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
}

#[test]
fn an_ask_held_by_a_pinned_future_fails_when_its_worker_was_stuck_at_shutdown() {
    let group = common::group(1);
    let waiting = group.spawn_pinned(|()| Stubborn::new(), ());
    let holding = group.spawn_pinned(|()| Stubborn::new(), ());
    let mut started = ReceivePort::new();
    let held = waiting.never(started.send_port());
    started.recv_timeout(PATIENCE).unwrap();
    holding.hold(started.send_port(), 500).unwrap();
    started.recv_timeout(PATIENCE).unwrap();
    group.shutdown_timeout(std::time::Duration::from_millis(50));
    // The worker tears the waiting isolate down, future and all, when the
    // stuck handler returns: the reply inside the future is dropped.
    assert_eq!(held.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
}

#[test]
fn a_busy_pinned_isolate_does_not_starve_its_worker() {
    let group = common::group(1);
    let stubborn = group.spawn_pinned(|()| Stubborn::new(), ());
    stubborn.start(stubborn.clone()).unwrap();
    // An ordinary isolate on the same (only) worker still gets its turns.
    let spinner = group.spawn(Spinner);
    assert_eq!(spinner.spin(4).wait_timeout(PATIENCE), Ok(6));
    stubborn.stop().unwrap();
    assert!(stubborn.ticks().wait_timeout(PATIENCE).unwrap() > 0);
}

#[test]
fn a_pinned_spawn_after_shutdown_drops_its_factory() {
    let group = common::group(1);
    group.shutdown();
    let mut dropped = ReceivePort::<String>::new();
    let port = dropped.send_port();
    let local = group.spawn_pinned(|port| Local::new(Some(port)), port);
    assert!(local.report().wait_timeout(PATIENCE).is_err());
    // The factory (and the port in its data) is gone: nothing can send.
    assert_eq!(
        dropped.recv_timeout(PATIENCE),
        Err(isolate_core::RecvTimeoutError::Disconnected)
    );
}

/// A link in a chain of pinned isolates, each holding the next one's port.
#[isolate(pinned)]
struct Link {
    _next: Option<LinkPort>,
    _local: Rc<()>,
}

#[isolate(pinned)]
impl Link {
    #[message]
    fn ping(&self) {}
}

#[test]
fn a_long_chain_of_pinned_isolates_shuts_down_without_deep_recursion() {
    let group = common::group(1);
    let mut next: Option<LinkPort> = None;
    for _ in 0..20_000 {
        let held = next.take();
        next = Some(group.spawn_pinned(
            |next| Link {
                _next: next,
                _local: Rc::new(()),
            },
            held,
        ));
    }
    let head = next.unwrap();
    head.ping().unwrap();
    // Stopping each link drops the next one's last port, which wakes it:
    // the worker must stop them in a loop, not one inside the other.
    drop(head);
    group.shutdown();
    assert_eq!(group.len(), 0);
}

#[test]
fn a_pinned_state_in_a_deterministic_group_is_dropped_when_the_group_is() {
    let group = IsolateGroup::deterministic(4);
    let mut dropped = ReceivePort::new();
    let port = dropped.send_port();
    let local = group.spawn_pinned(|port| Local::new(Some(port)), port);
    let built_on = group.block_on(local.report()).unwrap().unwrap().0;
    // Its last port goes while nothing drives the group: the wake-up waits
    // in the group's home queue, until the group itself is dropped.
    drop(local);
    drop(group);
    assert_eq!(dropped.recv_timeout(PATIENCE), Ok(built_on));
}

/// A request for the next message boundary (a ping or a kill of
/// `Priority::BeforeNextEvent`) waits for a pinned isolate's async handler,
/// whose receive must go on taking its message meanwhile (it gave way for
/// ever to the waiting request, and the handler never finished).
#[test]
fn a_before_next_event_request_waits_for_a_pinned_async_handler_that_receives() {
    let group = common::group(2);
    let mut exits = ReceivePort::new();
    let (local, handle) = group.spawn_pinned_with(
        |()| Local::new(None),
        (),
        SpawnOptions::new().on_exit(exits.send_port(), "gone"),
    );
    let mut value = ReceivePort::new();
    let answer = local.touch_later(value.send_port());
    let reply_to: SendPort<u64> = value.recv_timeout(PATIENCE).unwrap();
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), "pong", Priority::BeforeNextEvent);
    handle.kill(Priority::BeforeNextEvent);
    reply_to.send(7).unwrap();
    assert_eq!(answer.wait_timeout(PATIENCE), Ok(7));
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok("pong"));
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("gone"));
}
