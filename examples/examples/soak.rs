//! A soak: minutes of random spawns, tells, asks, pauses, kills, panics and
//! dropped ports, then a check that isolates, threads and memory come back
//! to their baseline. Run it with:
//!
//! ```text
//! cargo run --release --example soak            # 60 seconds
//! cargo run --release --example soak -- 600     # ten minutes
//! ```
//!
//! It exits non-zero if an ask hangs (every wait is bounded), if an isolate
//! outlives its group, or if threads do not return to the baseline.

use std::time::{Duration, Instant};

use isolate_core::prelude::*;
use isolate_core::{SpawnOptions, Strategy, Supervisor};

#[isolate]
#[derive(Default)]
struct Worker {
    sum: u64,
}

#[isolate]
impl Worker {
    #[message]
    fn add(&mut self, n: u64) {
        self.sum += n;
    }

    #[message]
    fn sum(&self) -> u64 {
        self.sum
    }

    #[message]
    fn crash(&mut self) {
        panic!("soak");
    }

    #[message]
    async fn relay(&mut self, to: WorkerPort, n: u64) -> u64 {
        let _ = to.add(n);
        self.sum += n;
        self.sum
    }
}

/// A deterministic generator: the same seed, the same soak.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |dir| dir.count())
}

fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|statm| statm.split_whitespace().nth(1)?.parse::<f64>().ok())
        .map_or(0.0, |pages| pages * 4096.0 / (1024.0 * 1024.0))
}

#[derive(Default, Debug)]
struct Counts {
    spawned: u64,
    supervised: u64,
    tells: u64,
    asks: u64,
    asks_failed: u64,
    pauses: u64,
    kills: u64,
    crashes: u64,
    drops: u64,
    relays: u64,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .and_then(|arg| arg.parse().ok())
        .unwrap_or(60);
    std::panic::set_hook(Box::new(|info| {
        if info.payload_as_str() != Some("soak") {
            eprintln!("{info}");
        }
    }));
    let patience = Duration::from_secs(30);
    let threads_before = threads();
    let rss_before = rss_mib();
    let started = Instant::now();
    let mut rng = Rng(0x50A4_2026);
    let mut counts = Counts::default();
    let restarts;
    {
        let group = IsolateGroup::builder().workers(2).name("soak").build()?;
        let supervisor = Supervisor::builder(&group)
            .strategy(Strategy::OneForOne)
            .intensity(u32::MAX, Duration::from_secs(1))
            .build();
        let mut live: Vec<(WorkerPort, IsolateHandle)> = Vec::new();
        let deadline = started + Duration::from_secs(seconds);
        while Instant::now() < deadline {
            match rng.below(10) {
                0 | 1 if live.len() < 2_000 => {
                    let entry = if rng.below(2) == 0 {
                        counts.supervised += 1;
                        supervisor.spawn_with(Worker::default, SpawnOptions::new())
                    } else {
                        group.spawn_with(Worker::default(), SpawnOptions::new())
                    };
                    counts.spawned += 1;
                    live.push(entry);
                }
                2 | 3 if !live.is_empty() => {
                    let (port, _) = &live[rng.below(live.len())];
                    for n in 0..10 {
                        let _ = port.add(n);
                    }
                    counts.tells += 10;
                }
                4 if !live.is_empty() => {
                    let (port, _) = &live[rng.below(live.len())];
                    counts.asks += 1;
                    match port.sum().wait_timeout(patience) {
                        Ok(_) => {}
                        Err(ReplyError::Dropped) => counts.asks_failed += 1,
                        Err(other) => return Err(format!("an ask did not resolve: {other}").into()),
                    }
                }
                5 if !live.is_empty() => {
                    let (_, handle) = &live[rng.below(live.len())];
                    let capability = handle.pause();
                    handle.resume(&capability);
                    counts.pauses += 1;
                }
                6 if !live.is_empty() => {
                    let (_, handle) = live.swap_remove(rng.below(live.len()));
                    let priority = if rng.below(2) == 0 {
                        Priority::Immediate
                    } else {
                        Priority::BeforeNextEvent
                    };
                    handle.kill(priority);
                    counts.kills += 1;
                }
                7 if !live.is_empty() => {
                    let (port, _) = &live[rng.below(live.len())];
                    let _ = port.crash();
                    counts.crashes += 1;
                }
                8 if live.len() > 1 => {
                    let from = rng.below(live.len());
                    let to = live[rng.below(live.len())].0.clone();
                    let n = rng.next() % 100;
                    match live[from].0.relay(to, n).wait_timeout(patience) {
                        Ok(_) | Err(ReplyError::Dropped) => counts.relays += 1,
                        Err(other) => {
                            return Err(format!("a relay did not resolve: {other}").into());
                        }
                    }
                }
                9 if !live.is_empty() => {
                    live.swap_remove(rng.below(live.len()));
                    counts.drops += 1;
                }
                _ => {}
            }
        }
        restarts = supervisor.restarts();
        drop(live);
        let report = group.shutdown_timeout(patience);
        if !report.is_clean() {
            return Err(format!("shutdown left work running: {report:?}").into());
        }
        if !group.is_empty() {
            return Err("isolates outlived their group".into());
        }
    }
    let threads_after = threads();
    let rss_after = rss_mib();
    println!(
        "soak: {:.1} s, seed 0x50A42026",
        started.elapsed().as_secs_f64()
    );
    println!("operations: {counts:?}");
    println!("supervisor restarts: {restarts}");
    println!("threads: {threads_before} before, {threads_after} after");
    println!("resident memory: {rss_before:.1} MiB before, {rss_after:.1} MiB after");
    if threads_after != threads_before {
        return Err("threads did not return to the baseline".into());
    }
    println!("ok");
    Ok(())
}
