//! Timers: one thread per group, cancellable, stopped with the group.

mod common;

use std::time::{Duration, Instant};

use common::PATIENCE;
use isolate_core::TryRecvError;
use isolate_core::prelude::*;

#[test]
fn send_after_delivers_no_earlier_than_the_delay() {
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    let started = Instant::now();
    group.send_after(&inbox.send_port(), Duration::from_millis(20), "ding");
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("ding"));
    assert!(started.elapsed() >= Duration::from_millis(20));
}

#[test]
fn a_cancelled_send_never_happens() {
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    let cancelled = group.send_after(&inbox.send_port(), Duration::from_millis(5), "cancelled");
    assert!(cancelled.cancel());
    assert!(!cancelled.cancel(), "cancelling twice reports it");
    // A later send marks the point by which the cancelled one would have run.
    group.send_after(&inbox.send_port(), Duration::from_millis(30), "marker");
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("marker"));
    // Nothing else was sent.
    assert!(matches!(
        inbox.try_recv(),
        Err(TryRecvError::Empty | TryRecvError::Disconnected)
    ));
}

#[test]
fn send_interval_repeats_until_cancelled() {
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    let timer = group.send_interval(&inbox.send_port(), Duration::from_millis(2), 7u8);
    for _ in 0..5 {
        assert_eq!(inbox.recv_timeout(PATIENCE), Ok(7));
    }
    timer.cancel();
    // After the cancel is seen, nothing more arrives: the marker comes next.
    while inbox.try_recv().is_ok() {}
    group.send_after(&inbox.send_port(), Duration::from_millis(20), 0);
    let mut after_cancel = Vec::new();
    loop {
        match inbox.recv_timeout(PATIENCE).unwrap() {
            0 => break,
            other => after_cancel.push(other),
        }
    }
    // At most one tick was already in flight when `cancel` ran.
    assert!(after_cancel.len() <= 1, "{after_cancel:?}");
}

#[test]
fn an_interval_to_a_closed_port_stops_by_itself() {
    let group = common::group(1);
    let inbox = ReceivePort::<u8>::new();
    let timer = group.send_interval(&inbox.send_port(), Duration::from_millis(1), 1);
    drop(inbox);
    common::wait_until("the interval stops", || timer.is_cancelled());
}

#[isolate]
#[derive(Default)]
struct Clock {
    ticks: u32,
}

#[isolate]
impl Clock {
    #[message]
    fn tick(&mut self) {
        self.ticks += 1;
    }

    #[message]
    fn ticks(&self) -> u32 {
        self.ticks
    }
}

#[test]
fn after_and_every_drive_typed_ports() {
    let group = common::group(1);
    let clock = group.spawn(Clock::default());
    let mut ticked = ReceivePort::new();
    let timer = group.every(
        Duration::from_millis(1),
        (clock.clone(), ticked.send_port()),
        |(clock, ticked)| {
            let _ = clock.tick();
            let _ = ticked.send(());
        },
    );
    for _ in 0..3 {
        ticked.recv_timeout(PATIENCE).unwrap();
    }
    timer.cancel();
    assert!(clock.ticks().wait_timeout(PATIENCE).unwrap() >= 3);

    let mut done = ReceivePort::new();
    group.after(Duration::from_millis(1), done.send_port(), |done| {
        let _ = done.send("after");
    });
    assert_eq!(done.recv_timeout(PATIENCE), Ok("after"));
}

#[test]
fn shutdown_drops_pending_timers() {
    let group = common::group(1);
    let mut inbox = ReceivePort::<u8>::new();
    group.send_after(&inbox.send_port(), Duration::from_secs(3600), 1);
    group.shutdown();
    // The pending send was dropped with its port: nothing can arrive.
    assert_eq!(
        inbox.recv_timeout(PATIENCE),
        Err(isolate_core::RecvTimeoutError::Disconnected)
    );
    // Timers made after shutdown come back cancelled.
    let late = group.send_after(&inbox.send_port(), Duration::from_millis(1), 2);
    assert!(late.is_cancelled());
}

#[test]
fn a_delay_past_what_instant_holds_means_never_not_a_panic() {
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    let never = group.send_after(&inbox.send_port(), Duration::MAX, "never");
    group.send_after(&inbox.send_port(), Duration::from_millis(1), "soon");
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("soon"));
    assert!(never.cancel(), "still pending");
}
