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
    #[message]
    struct Owner(Option<IsolateGroup>);
    #[message]
    enum Msg {
        DropGroup(ReplySender<()>),
    }
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

#[message]
struct Node {
    next: Option<SendPort<NodeMsg>>,
}

#[message]
enum NodeMsg {
    Link(SendPort<NodeMsg>, ReplySender<()>),
}

impl Isolate for Node {
    type Message = NodeMsg;
    type Port = SendPort<NodeMsg>;
    fn handle(&mut self, NodeMsg::Link(next, done): NodeMsg) -> Handled<'_> {
        self.next = Some(next);
        done.send(());
        Handled::Done
    }
}

#[test]
fn dropping_a_group_tears_a_long_chain_of_isolates_down_without_recursing() {
    const LENGTH: usize = 50_000;
    let group = common::group(1);
    let mut ports: Vec<_> = (0..LENGTH)
        .map(|_| group.spawn(Node { next: None }))
        .collect();
    let links: Vec<_> = (0..LENGTH - 1)
        .map(|i| {
            let next = ports[i + 1].clone();
            ports[i].ask(|done| NodeMsg::Link(next, done))
        })
        .collect();
    for link in links {
        link.wait_timeout(PATIENCE).unwrap();
    }
    let head = ports.remove(0);
    drop(ports); // each node is now reachable only through the one before it
    // Tearing one node down drops the last port to the next: this must not
    // become one stack frame per node.
    drop(group);
    assert!(head.is_closed());
}

/// Holds a borrow of its isolate's state across an `.await`, and reports,
/// when dropped, what it sees through that borrow.
struct Guard<'a> {
    log: &'a mut Vec<u64>,
    report: SendPort<(usize, usize)>,
}

impl Drop for Guard<'_> {
    fn drop(&mut self) {
        self.log.push(99);
        let _ = self.report.send((self.log.len(), self.log.capacity()));
    }
}

#[message]
struct Borrower {
    log: Vec<u64>,
}

#[message]
enum BorrowerMsg {
    Park(SendPort<(usize, usize)>, ReplySender<()>),
}

impl Isolate for Borrower {
    type Message = BorrowerMsg;
    type Port = SendPort<BorrowerMsg>;
    fn handle(&mut self, BorrowerMsg::Park(report, parked): BorrowerMsg) -> Handled<'_> {
        Handled::future(async move {
            let _guard = Guard {
                log: &mut self.log,
                report,
            };
            parked.send(());
            std::future::pending::<()>().await;
        })
    }
}

#[test]
fn a_pending_future_that_borrows_the_state_is_dropped_before_the_state() {
    let group = common::group(1);
    let borrower = group.spawn(Borrower { log: vec![1, 2, 3] });
    let mut reports = ReceivePort::new();
    let parked = borrower.ask(|parked| BorrowerMsg::Park(reports.send_port(), parked));
    assert_eq!(parked.wait_timeout(PATIENCE), Ok(()));
    drop(group);
    // The guard's destructor saw the state where it was, intact.
    let (len, capacity) = reports.recv_timeout(PATIENCE).unwrap();
    assert_eq!(len, 4);
    assert!(capacity >= 4);
}
