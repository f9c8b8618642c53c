//! Chaos, small enough for CI: 10,000 isolates, 1,000 of which panic at
//! random moments. The other 9,000 answer every ask, supervisors restart the
//! ones they own, and every wait is bounded, so a hang fails the test.

mod common;

use std::time::Duration;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{Strategy, Supervisor};

#[isolate]
#[derive(Default)]
struct Worker {
    sum: u64,
}

#[isolate]
impl Worker {
    #[message]
    fn add(&mut self, n: u64) -> u64 {
        self.sum += n;
        self.sum
    }

    #[message]
    fn crash(&mut self) -> u64 {
        panic!("chaos");
    }
}

/// A small deterministic generator (xorshift): the same seed, the same chaos.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn ten_thousand_isolates_survive_a_thousand_random_panics() {
    const TOTAL: usize = 10_000;
    const CHAOTIC: usize = 1_000;
    const ROUNDS: u64 = 3;
    let seed = 0x5EED_1234_u64;
    let mut rng = Rng(seed);
    // Silence the panic hook for the expected panics, so CI logs stay
    // readable; a failed assertion still reports through the harness.
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|info| {
        if info.payload_as_str() != Some("chaos") {
            eprintln!("{info}");
        }
    }));

    let group = common::group(2);
    // Ten supervisors own the chaotic isolates, a hundred each.
    let supervisors: Vec<Supervisor> = (0..10)
        .map(|_| {
            Supervisor::builder(&group)
                .strategy(Strategy::OneForOne)
                .intensity(1_000, Duration::from_secs(600))
                .build()
        })
        .collect();
    let mut chaotic = vec![false; TOTAL];
    let mut picked = 0;
    while picked < CHAOTIC {
        let index = (rng.next() % TOTAL as u64) as usize;
        if !chaotic[index] {
            chaotic[index] = true;
            picked += 1;
        }
    }
    let ports: Vec<WorkerPort> = (0..TOTAL)
        .map(|i| {
            if chaotic[i] {
                supervisors[i % 10].spawn(Worker::default)
            } else {
                group.spawn(Worker::default())
            }
        })
        .collect();

    // What each isolate's sum should be: a restart resets it.
    let mut expected = vec![0u64; TOTAL];
    for round in 1..=ROUNDS {
        // Each chaotic isolate crashes once per round, at a random point
        // among the asks.
        let replies: Vec<_> = ports
            .iter()
            .enumerate()
            .map(|(i, port)| {
                let crash_first = chaotic[i] && rng.next().is_multiple_of(2);
                let crashed = crash_first.then(|| port.crash());
                let added = port.add(1);
                let crashed = crashed.or_else(|| chaotic[i].then(|| port.crash()));
                (i, added, crashed, crash_first)
            })
            .collect();
        for (i, added, crashed, crash_first) in replies {
            let sum = added.wait_timeout(PATIENCE).unwrap_or_else(|e| {
                panic!(
                    "isolate {i} (chaotic: {}) did not answer round {round}: {e}",
                    chaotic[i]
                )
            });
            if chaotic[i] && crash_first {
                expected[i] = 0; // restarted before the add
            }
            expected[i] += 1;
            assert_eq!(
                sum, expected[i],
                "isolate {i}, round {round}, crash first: {crash_first}"
            );
            if chaotic[i] {
                assert_eq!(
                    crashed.unwrap().wait_timeout(PATIENCE),
                    Err(ReplyError::Dropped)
                );
                if !crash_first {
                    expected[i] = 0; // restarted after the add
                }
            } else {
                assert_eq!(sum, round, "isolate {i} lost a message");
            }
        }
    }

    // A failed ask resolves while its handler unwinds, a moment before the
    // supervisor counts the restart: wait (bounded) for the last ones.
    common::wait_until("every restart is counted", || {
        supervisors.iter().map(Supervisor::restarts).sum::<u64>() == CHAOTIC as u64 * ROUNDS
    });
    assert!(supervisors.iter().all(|s| !s.has_failed()));
    assert_eq!(group.len(), TOTAL);
    std::panic::set_hook(hook);
}
