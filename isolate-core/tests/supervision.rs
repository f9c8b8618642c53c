//! Supervision: failed isolates restart in place, keeping their ports and
//! their queued messages, with Erlang's strategies and a restart intensity.

mod common;

use std::time::{Duration, Instant};

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{Strategy, Supervisor};

#[isolate]
#[derive(Default)]
struct Cell {
    value: u64,
}

#[isolate]
impl Cell {
    #[message]
    fn add(&mut self, n: u64) {
        self.value += n;
    }

    #[message]
    fn value(&self) -> u64 {
        self.value
    }

    #[message]
    fn fail(&mut self) {
        panic!("supervised failure");
    }
}

fn supervisor(group: &IsolateGroup, strategy: Strategy) -> Supervisor {
    Supervisor::builder(group)
        .strategy(strategy)
        .intensity(100, Duration::from_secs(60))
        .build()
}

#[test]
fn one_for_one_restarts_only_the_failed_child_and_its_port_keeps_working() {
    let group = common::group(2);
    let supervisor = supervisor(&group, Strategy::OneForOne);
    let failing = supervisor.spawn(Cell::default);
    let sibling = supervisor.spawn(Cell::default);
    failing.add(5).unwrap();
    sibling.add(7).unwrap();
    // Queued behind the failure: handled by the new instance.
    failing.fail().unwrap();
    let lost = failing.value(); // handled after the restart: sees the fresh state
    failing.add(1).unwrap();
    assert_eq!(lost.wait_timeout(PATIENCE), Ok(0));
    assert_eq!(failing.value().wait_timeout(PATIENCE), Ok(1));
    assert_eq!(
        sibling.value().wait_timeout(PATIENCE),
        Ok(7),
        "sibling untouched"
    );
    assert_eq!(supervisor.restarts(), 1);
    assert!(!failing.is_closed());
}

#[test]
fn the_ask_whose_handler_failed_gets_an_error_and_later_asks_succeed() {
    #[isolate]
    #[derive(Default)]
    struct Divider;

    #[isolate]
    impl Divider {
        #[message]
        fn divide(&self, a: u64, b: u64) -> u64 {
            a / b
        }
    }

    let group = common::group(1);
    let supervisor = supervisor(&group, Strategy::OneForOne);
    let divider = supervisor.spawn(Divider::default);
    let failed = divider.divide(1, 0);
    let after = divider.divide(10, 2);
    assert_eq!(failed.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    assert_eq!(after.wait_timeout(PATIENCE), Ok(5));
}

/// Three children of `supervisor`, each holding 10.
fn three_children_at_ten(supervisor: &Supervisor) -> Vec<CellPort> {
    let children: Vec<_> = (0..3).map(|_| supervisor.spawn(Cell::default)).collect();
    for child in &children {
        child.add(10).unwrap();
        assert_eq!(child.value().wait_timeout(PATIENCE), Ok(10));
    }
    children
}

#[test]
fn one_for_all_restarts_every_child() {
    let group = common::group(2);
    let supervisor = supervisor(&group, Strategy::OneForAll);
    let children = three_children_at_ten(&supervisor);
    children[1].fail().unwrap();
    // The failed child restarts at once; its siblings at their next message.
    assert_eq!(children[1].value().wait_timeout(PATIENCE), Ok(0));
    for child in [&children[0], &children[2]] {
        assert_eq!(child.value().wait_timeout(PATIENCE), Ok(0));
    }
}

#[test]
fn rest_for_one_restarts_the_failed_child_and_those_started_after_it() {
    let group = common::group(2);
    let supervisor = supervisor(&group, Strategy::RestForOne);
    let children = three_children_at_ten(&supervisor);
    children[1].fail().unwrap();
    assert_eq!(children[1].value().wait_timeout(PATIENCE), Ok(0));
    assert_eq!(children[2].value().wait_timeout(PATIENCE), Ok(0));
    assert_eq!(
        children[0].value().wait_timeout(PATIENCE),
        Ok(10),
        "started before"
    );
}

#[test]
fn exceeding_the_restart_intensity_fails_the_supervisor_and_stops_every_child() {
    let group = common::group(2);
    let supervisor = Supervisor::builder(&group)
        .intensity(2, Duration::from_secs(60))
        .build();
    let mut failures = ReceivePort::new();
    supervisor.on_failure(failures.send_port(), "supervisor failed");
    let flaky = supervisor.spawn(Cell::default);
    let bystander = supervisor.spawn(Cell::default);
    for _ in 0..2 {
        flaky.fail().unwrap();
        assert_eq!(flaky.value().wait_timeout(PATIENCE), Ok(0));
    }
    assert!(!supervisor.has_failed());
    flaky.fail().unwrap(); // the third within the period
    assert_eq!(failures.recv_timeout(PATIENCE), Ok("supervisor failed"));
    assert!(supervisor.has_failed());
    common::wait_until("every child stops", || {
        flaky.is_closed() && bystander.is_closed()
    });
    assert_eq!(bystander.value().wait(), Err(ReplyError::Dropped));
    // Children spawned afterwards are stopped at once.
    let late = supervisor.spawn(Cell::default);
    common::wait_until("the late child stops", || late.is_closed());
}

#[test]
fn a_restarted_child_waits_out_the_backoff() {
    let group = common::group(1);
    let backoff = Duration::from_millis(50);
    let supervisor = Supervisor::builder(&group).backoff(backoff).build();
    let child = supervisor.spawn(Cell::default);
    let started = Instant::now();
    child.fail().unwrap();
    assert_eq!(child.value().wait_timeout(PATIENCE), Ok(0));
    assert!(
        started.elapsed() >= backoff,
        "answered after {:?}",
        started.elapsed()
    );
}

#[test]
fn a_killed_child_is_not_restarted_and_leaves_the_supervisor() {
    let group = common::group(1);
    let supervisor = supervisor(&group, Strategy::OneForOne);
    let (child, handle) = supervisor.spawn_with(Cell::default, isolate_core::SpawnOptions::new());
    assert_eq!(supervisor.children().len(), 1);
    handle.kill(Priority::Immediate);
    common::wait_until("the child ends", || child.is_closed());
    common::wait_until("it leaves the supervisor", || {
        supervisor.children().is_empty()
    });
    assert_eq!(supervisor.restarts(), 0);
}

/// A child whose factory works once and then panics: a restart that cannot
/// build its child.
mod fragile {
    use std::sync::atomic::{AtomicU32, Ordering};

    use isolate_core::prelude::*;

    pub static BUILT: AtomicU32 = AtomicU32::new(0);

    #[isolate]
    pub struct Fragile;

    #[isolate]
    impl Fragile {
        #[message]
        pub fn fail(&mut self) {
            panic!("handler failed");
        }

        #[message]
        pub fn ok(&self) -> u32 {
            1
        }
    }

    pub fn build() -> Fragile {
        if BUILT.fetch_add(1, Ordering::SeqCst) > 0 {
            panic!("no database");
        }
        Fragile
    }

    pub fn build_sibling() -> Fragile {
        Fragile
    }
}

#[test]
fn a_factory_that_panics_on_restart_is_a_failure_the_supervisor_counts() {
    let group = common::group(2);
    let supervisor = Supervisor::builder(&group)
        .intensity(3, Duration::from_secs(60))
        .build();
    let mut failures = ReceivePort::new();
    supervisor.on_failure(failures.send_port(), "supervisor failed");
    let (child, handle) = supervisor.spawn_with(fragile::build, isolate_core::SpawnOptions::new());
    let sibling = supervisor.spawn(fragile::build_sibling);
    let mut errors = ReceivePort::new();
    handle.add_error_listener(errors.send_port());

    child.fail().unwrap();
    // The handler's panic, then each restart's: the factory runs on every
    // restart the intensity allows (3), and each panic counts, so the
    // fourth failure fails the supervisor.
    let first = errors.recv_timeout(PATIENCE).unwrap();
    assert!(first.message().contains("handler failed"), "{first}");
    for _ in 0..3 {
        let error = errors.recv_timeout(PATIENCE).unwrap();
        assert!(
            error
                .message()
                .contains("factory panicked while restarting")
                && error.message().contains("no database"),
            "{error}"
        );
    }
    assert_eq!(failures.recv_timeout(PATIENCE), Ok("supervisor failed"));
    assert!(supervisor.has_failed());
    assert_eq!(supervisor.restarts(), 3);
    assert_eq!(
        fragile::BUILT.load(std::sync::atomic::Ordering::SeqCst),
        4,
        "the first build and three restarts"
    );
    // The supervisor's failure stops the siblings, as any other does.
    common::wait_until("every child stops", || {
        child.is_closed() && sibling.is_closed()
    });
    assert!(sibling.ok().wait().is_err());
}

mod resigning {
    use std::sync::atomic::{AtomicU32, Ordering};

    use isolate_core::prelude::*;

    pub static BUILT: AtomicU32 = AtomicU32::new(0);

    #[isolate]
    pub struct Resigning;

    #[isolate]
    impl Resigning {
        #[message]
        pub fn fail(&mut self) {
            panic!("handler failed");
        }
    }

    /// The first build succeeds; the restart's kills the child it builds
    /// (as a `checkpoint()` in a killed factory would end it).
    pub fn build() -> Resigning {
        if BUILT.fetch_add(1, Ordering::SeqCst) > 0 {
            isolate_core::current()
                .expect("a restart runs in the child")
                .kill(Priority::Immediate);
        }
        Resigning
    }
}

/// A factory that is killed while it restarts its child (or exits) ends
/// the child; it is not a failure, and the supervisor goes on.
#[test]
fn a_factory_killed_while_it_restarts_ends_the_child_without_failing_the_supervisor() {
    let group = common::group(2);
    let supervisor = Supervisor::builder(&group)
        .intensity(3, Duration::from_secs(60))
        .build();
    let mut exits = ReceivePort::new();
    let (child, handle) = supervisor.spawn_with(
        resigning::build,
        isolate_core::SpawnOptions::new().on_exit(exits.send_port(), "child ended"),
    );
    let mut errors = ReceivePort::new();
    handle.add_error_listener(errors.send_port());
    child.fail().unwrap();
    let first = errors.recv_timeout(PATIENCE).unwrap();
    assert!(first.message().contains("handler failed"), "{first}");
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("child ended"));
    assert!(!supervisor.has_failed());
    assert_eq!(
        errors
            .recv_timeout(Duration::ZERO)
            .map(|error| error.to_string()),
        Err(isolate_core::RecvTimeoutError::Timeout),
        "the kill was reported as a failure"
    );
    assert_eq!(
        resigning::BUILT.load(std::sync::atomic::Ordering::SeqCst),
        2
    );
}
