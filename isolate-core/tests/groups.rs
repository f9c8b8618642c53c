//! Groups: built, configured, and dropped without leaking a thread.

mod common;

use common::{Counter, CounterMsg, PATIENCE};
use isolate_core::BuildError;
use isolate_core::prelude::*;

#[test]
fn the_builder_names_the_group_and_its_threads() {
    async fn report(answer: SendPort<Option<String>>) {
        answer
            .send(std::thread::current().name().map(str::to_owned))
            .unwrap();
    }
    let group = IsolateGroup::builder()
        .workers(1)
        .name("cpu")
        .build()
        .unwrap();
    assert_eq!(group.name(), "cpu");
    assert_eq!(group.workers(), 1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(report, inbox.send_port());
    assert_eq!(
        inbox.recv_timeout(PATIENCE).unwrap().as_deref(),
        Some("cpu-0")
    );
}

#[test]
fn zero_workers_is_an_error_that_says_what_to_do() {
    let error = IsolateGroup::builder().workers(0).build().unwrap_err();
    assert!(matches!(error, BuildError::ZeroWorkers));
    assert!(error.to_string().contains("workers(1)"));
}

#[test]
fn the_global_group_has_one_worker_per_core() {
    let cores = std::thread::available_parallelism().unwrap().get();
    assert_eq!(IsolateGroup::global().workers(), cores);
    assert_eq!(IsolateGroup::global().name(), "global");
}

#[test]
fn clones_share_the_group_and_the_last_one_stops_it() {
    let group = common::group(1);
    let clone = group.clone();
    let counter = group.spawn(Counter::default());
    drop(group);
    // The clone keeps the group alive.
    counter.send(CounterMsg::Add(2)).unwrap();
    assert_eq!(counter.ask(CounterMsg::Total).wait_timeout(PATIENCE), Ok(2));
    assert_eq!(clone.len(), 1);
    drop(clone);
    assert!(counter.is_closed());
}

#[test]
fn a_group_dropped_from_inside_its_own_isolate_does_not_deadlock() {
    struct Owner(Option<IsolateGroup>);
    enum Msg {
        DropGroup(ReplySender<()>),
    }
    // SAFETY: test-only; the group handle moves into the isolate once.
    unsafe impl Sendable for Msg {}
    impl Isolate for Owner {
        type Message = Msg;
        type Port = SendPort<Msg>;
        fn handle(&mut self, Msg::DropGroup(done): Msg) -> Handled<'_> {
            drop(self.0.take());
            done.send(());
            Handled::Done
        }
    }
    let group = common::group(2);
    let owner = group.spawn(Owner(Some(group.clone())));
    // The isolate now holds the group's last handle and drops it on one of
    // the group's own worker threads, which cannot join itself.
    drop(group);
    assert_eq!(owner.ask(Msg::DropGroup).wait_timeout(PATIENCE), Ok(()));
    // The group is gone: the isolate was stopped after its handler returned.
    common::wait_until("the isolate is stopped", || owner.is_closed());
}
