//! An idle group parks its workers and uses no CPU. Its own test binary, so
//! that no other test's threads run beside the ones it watches.

mod common;

use common::{Counter, CounterMsg, PATIENCE};
use isolate_core::prelude::*;

/// `(state, utime + stime in clock ticks)` of each thread of this process
/// whose name starts with `prefix`.
fn threads_named(prefix: &str) -> Vec<(char, u64)> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = entry.path();
        let name = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !name.trim_end().starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).unwrap_or_default();
        // Fields after the `(comm)`: state is the 1st, utime the 12th, stime the 13th.
        let after = &stat[stat.rfind(')').map_or(0, |i| i + 2)..];
        let fields: Vec<&str> = after.split_whitespace().collect();
        if fields.len() > 12 {
            let state = fields[0].chars().next().unwrap_or('?');
            let ticks =
                fields[11].parse::<u64>().unwrap_or(0) + fields[12].parse::<u64>().unwrap_or(0);
            found.push((state, ticks));
        }
    }
    found
}

/// Times the thread named `name` has gone to sleep (each wake-up of it).
fn sleeps_of(name: &str) -> u64 {
    for entry in std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
    {
        let path = entry.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if comm.trim_end() != name {
            continue;
        }
        let status = std::fs::read_to_string(path.join("status")).unwrap_or_default();
        return status
            .lines()
            .find_map(|line| line.strip_prefix("voluntary_ctxt_switches:"))
            .and_then(|n| n.trim().parse().ok())
            .unwrap_or(0);
    }
    0
}

#[test]
fn an_idle_group_parks_its_workers_and_uses_no_cpu() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let group = IsolateGroup::builder()
        .workers(2)
        .name("idlecheck")
        .build()
        .unwrap();
    let counter = group.spawn(Counter::default());
    for n in 0..1_000 {
        counter.send(CounterMsg::Add(n)).unwrap();
    }
    assert_eq!(
        counter.ask(CounterMsg::Total).wait_timeout(PATIENCE),
        Ok((0..1_000).sum())
    );
    common::wait_until("both workers and the timer thread are asleep", || {
        // A new thread takes its name when it first runs, so all are
        // counted only once all have started: two workers, and the timer
        // thread, which runs the LIFO watch while a worker is awake and
        // must stop it once both sleep.
        let threads = threads_named("idlecheck-");
        threads.len() == 3 && threads.iter().all(|(state, _)| *state == 'S')
    });
    let before: u64 = threads_named("idlecheck-").iter().map(|t| t.1).sum();
    let timer_sleeps = sleeps_of("idlecheck-timer");
    // Give a spinning worker time to show up in the tick counters (a tick is
    // 10 ms): a bounded wait on a port that never receives, not a sleep that
    // orders anything.
    let mut never = ReceivePort::<()>::new();
    let _keep = never.send_port();
    let _ = never.recv_timeout(std::time::Duration::from_millis(300));
    let after: u64 = threads_named("idlecheck-").iter().map(|t| t.1).sum();
    // The LIFO watch stops once every worker sleeps: its timer thread is
    // not woken every millisecond (300 times here) for nothing.
    let woken = sleeps_of("idlecheck-timer") - timer_sleeps;
    assert!(
        woken <= 5,
        "the timer thread woke {woken} times in an idle group"
    );
    // A spinning worker would show about 30 ticks here (one per 10 ms per
    // worker); a parked one none. Two allow for a tick boundary crossed
    // while parking. A watch left running on the timer thread would wake
    // it 300 times, which shows here too.
    assert!(
        after - before <= 2,
        "idle workers and timer thread used {} ticks of CPU",
        after - before
    );
}
