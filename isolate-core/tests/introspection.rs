//! `group.isolates()` and `group.stats()`: what a group tells about itself.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{IsolateState, SpawnOptions};

#[isolate]
#[derive(Default)]
struct Tally {
    n: u64,
}

#[isolate]
impl Tally {
    #[message]
    fn add(&mut self, n: u64) {
        self.n += n;
    }

    #[message]
    fn total(&self) -> u64 {
        self.n
    }
}

#[test]
fn isolates_reports_name_state_mailbox_and_messages_handled() {
    let group = common::group(1);
    let (tally, handle) = group.spawn_with(Tally::default(), SpawnOptions::new().name("tally"));
    for n in 0..10 {
        tally.add(n).unwrap();
    }
    assert_eq!(tally.total().wait_timeout(PATIENCE), Ok(45));
    let info = common::info(&group, &handle);
    assert_eq!(info.name.as_deref(), Some("tally"));
    assert_eq!(info.messages_handled, 11);
    assert_eq!(info.mailbox_len, 0);

    // Paused, with messages waiting.
    let capability = handle.pause();
    for n in 0..3 {
        tally.add(n).unwrap();
    }
    let info = common::info(&group, &handle);
    assert_eq!(info.state, IsolateState::Paused);
    assert_eq!(info.mailbox_len, 3);
    handle.resume(&capability);
    assert_eq!(tally.total().wait_timeout(PATIENCE), Ok(48));
}

#[test]
fn stats_count_spawns_live_isolates_and_messages_including_ended_ones() {
    let group = common::group(2);
    let ports: Vec<_> = (0..5).map(|_| group.spawn(Tally::default())).collect();
    for port in &ports {
        port.add(1).unwrap();
        assert_eq!(port.total().wait_timeout(PATIENCE), Ok(1));
    }
    let stats = group.stats();
    assert_eq!(stats.workers, 2);
    assert_eq!(stats.spawned, 5);
    assert_eq!(stats.live_isolates, 5);
    assert_eq!(stats.messages_handled, 10);
    // Ending isolates keeps their count in the total.
    drop(ports);
    common::wait_until("the isolates end", || group.stats().live_isolates == 0);
    common::wait_until("their counts are folded in", || {
        group.stats().messages_handled == 10
    });
    assert_eq!(group.isolates(), vec![]);
}
