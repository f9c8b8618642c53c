//! `isolate_core::time`: sleeps, timeouts and intervals inside isolates, on
//! real time in ordinary groups and on virtual time in deterministic ones.

mod common;

use std::time::{Duration, Instant};

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::time::{self, Elapsed};

#[isolate]
struct Sleeper {
    woke: u32,
}

#[isolate]
impl Sleeper {
    /// Sleeps, then counts the wake-up.
    #[message]
    async fn nap(&mut self, length: Duration) -> u32 {
        time::sleep(length).await;
        self.woke += 1;
        self.woke
    }

    #[message]
    fn woke(&self) -> u32 {
        self.woke
    }

    /// Reports `tag` to `to` after `length`.
    #[message]
    async fn report_after(&mut self, length: Duration, tag: u32, to: SendPort<u32>) {
        time::sleep(length).await;
        to.send(tag).unwrap();
    }
}

#[test]
fn a_sleeping_handler_leaves_its_worker_to_other_isolates() {
    // One worker: if the sleep held it, the other isolate could not answer
    // until the sleep ended.
    let group = common::group(1);
    let sleeper = group.spawn(Sleeper { woke: 0 });
    let other = group.spawn(Sleeper { woke: 0 });
    let long_nap = sleeper.nap(PATIENCE * 10);
    assert_eq!(other.woke().wait_timeout(PATIENCE), Ok(0));
    // Still asleep: the reply is not there.
    assert!(long_nap.wait_timeout(Duration::ZERO).is_err());
}

#[test]
fn a_sleep_lasts_at_least_its_duration() {
    let group = common::group(2);
    let sleeper = group.spawn(Sleeper { woke: 0 });
    let length = Duration::from_millis(30);
    let started = Instant::now();
    assert_eq!(sleeper.nap(length).wait_timeout(PATIENCE), Ok(1));
    assert!(
        started.elapsed() >= length,
        "woke after {:?}",
        started.elapsed()
    );
}

#[test]
fn an_isolate_sleeping_in_a_handler_takes_its_next_message_after_waking() {
    let group = common::group(2);
    let sleeper = group.spawn(Sleeper { woke: 0 });
    let nap = sleeper.nap(Duration::from_millis(10));
    // Queued behind the nap: it sees the nap's count.
    let woke = sleeper.woke();
    assert_eq!(nap.wait_timeout(PATIENCE), Ok(1));
    assert_eq!(woke.wait_timeout(PATIENCE), Ok(1));
}

#[test]
fn on_virtual_time_an_hour_passes_at_once_and_deadlines_keep_their_order() {
    isolate_core::deterministic::check(0..20, |group| async move {
        let start = time::now();
        let (early, late) = (
            group.spawn(Sleeper { woke: 0 }),
            group.spawn(Sleeper { woke: 0 }),
        );
        let mut reports = ReceivePort::new();
        late.report_after(Duration::from_secs(7200), 2, reports.send_port())
            .unwrap();
        early
            .report_after(Duration::from_secs(3600), 1, reports.send_port())
            .unwrap();
        assert_eq!(reports.recv_async().await, Ok(1));
        assert_eq!(reports.recv_async().await, Ok(2));
        assert!(time::now() - start >= Duration::from_secs(7200));
    });
}

#[test]
fn a_timeout_on_virtual_time_fires_at_its_deadline() {
    isolate_core::deterministic::check(0..5, |_group| async move {
        let start = time::now();
        let late = time::timeout(
            Duration::from_secs(1),
            time::sleep(Duration::from_secs(3600)),
        )
        .await;
        assert_eq!(late, Err(Elapsed));
        let waited = time::now() - start;
        assert!(
            waited >= Duration::from_secs(1) && waited < Duration::from_secs(3600),
            "{waited:?}"
        );
        let quick = time::timeout(Duration::from_secs(1), async { 5 }).await;
        assert_eq!(quick, Ok(5));
    });
}

#[test]
fn an_interval_ticks_on_its_period_and_skips_what_it_missed() {
    isolate_core::deterministic::check(0..5, |_group| async move {
        let period = Duration::from_secs(10);
        let mut every = time::interval(period);
        let first = every.tick().await;
        assert_eq!(every.tick().await - first, period);
        assert_eq!(every.tick().await - first, period * 2);
        // Busy for three and a half periods: the ticks missed are skipped.
        time::sleep(period * 3 + period / 2).await;
        let late = every.tick().await;
        assert_eq!(late - first, period * 3, "the overdue tick comes at once");
        assert_eq!(every.tick().await - first, period * 6);
    });
}

/// An entry isolate that ticks, as a Dart isolate's `Timer.periodic`.
async fn ticker((ticks, to): (u32, SendPort<u32>)) {
    let mut every = time::interval(Duration::from_millis(1));
    for n in 0..ticks {
        every.tick().await;
        to.send(n).unwrap();
    }
}

#[test]
fn a_spawn_fn_entry_ticks_on_an_interval() {
    let group = common::group(2);
    let mut ticks = ReceivePort::new();
    group.spawn_fn(ticker, (5, ticks.send_port()));
    for n in 0..5 {
        assert_eq!(ticks.recv_timeout(PATIENCE), Ok(n));
    }
}

#[test]
fn extreme_durations_neither_panic_nor_fire() {
    isolate_core::deterministic::check(0..2, |_group| async move {
        // The first tick is at once; the next is past what `Instant` holds.
        let mut never_again = time::interval(Duration::MAX);
        never_again.tick().await;
        let second = time::timeout(Duration::from_secs(1), never_again.tick()).await;
        assert_eq!(second, Err(Elapsed));
        let forever = time::timeout(Duration::from_secs(1), time::sleep(Duration::MAX)).await;
        assert_eq!(forever, Err(Elapsed));
        // A deadline in the past is at once.
        time::sleep_until(time::now() - Duration::from_secs(1)).await;
    });
}
