//! Dropping a group joins its threads. Its own test binary, so that no other
//! test starts or stops threads while it counts them.

mod common;

use common::{Counter, CounterMsg, PATIENCE};
use isolate_core::prelude::*;

fn thread_count() -> usize {
    // Linux: one entry per thread of this process.
    std::fs::read_dir("/proc/self/task")
        .map(|dir| dir.count())
        .unwrap_or(0)
}

#[test]
fn dropping_a_group_joins_its_worker_threads() {
    // Warm up anything lazily started (the test harness's own threads).
    drop(common::group(2));
    let before = thread_count();
    for _ in 0..20 {
        let group = IsolateGroup::builder().workers(3).build().unwrap();
        let counter = group.spawn(Counter::default());
        counter.send(CounterMsg::Add(1)).unwrap();
        // A timer starts the group's timer thread, which must go too.
        group.send_after(
            &counter,
            std::time::Duration::from_secs(3600),
            CounterMsg::Add(1),
        );
        assert_eq!(counter.ask(CounterMsg::Total).wait_timeout(PATIENCE), Ok(1));
        drop(group);
    }
    if cfg!(target_os = "linux") {
        // A joined thread can still be listed for a moment while the kernel
        // tears it down (and `before` may have counted one such thread of
        // the warm-up group), so the count is awaited, not read once: 20
        // groups' leaked threads (80) would never go away.
        common::wait_until("the dropped groups' threads to be gone", || {
            thread_count() <= before
        });
    }
}
