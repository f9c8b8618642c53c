//! Issue 18's claim about [`isolate_core::blocking`]: isolates that block
//! 100 times for 10 ms each leave the other isolates' ask latency as it
//! is, where the same sleeps on the workers stall them. Run:
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- --blocking
//! ```
//!
//! Two workers and two blockers (one per worker, so that a blocker on the
//! workers stalls every worker for 10 ms at a time); the main thread asks
//! an echo isolate, one ask at a time, for as long as the blockers run.

use std::time::{Duration, Instant};

use isolate_core::prelude::*;

/// Blocking calls per blocker, and how long each one blocks.
const CALLS: usize = 100;
const CALL: Duration = Duration::from_millis(10);
/// Blockers: one per worker.
const BLOCKERS: usize = 2;
/// Asks in the baseline, with no blocker.
const BASELINE_ASKS: usize = 20_000;

#[isolate]
struct Echo;

#[isolate]
impl Echo {
    #[message]
    fn echo(&self, value: u64) -> u64 {
        value
    }
}

fn sleep_once() {
    std::thread::sleep(CALL);
}

/// Blocks `CALLS` times on the blocking pool, then says so.
async fn off_the_workers(done: SendPort<()>) {
    for _ in 0..CALLS {
        isolate_core::blocking(sleep_once).await.unwrap();
    }
    let _ = done.send(());
}

/// Blocks `CALLS` times on the worker it runs on (what not to do).
async fn on_the_workers(done: SendPort<()>) {
    for _ in 0..CALLS {
        sleep_once();
        // Lets the echo isolate run between two sleeps, as a handler that
        // returns between blocking calls would.
        isolate_core::time::sleep(Duration::ZERO).await;
    }
    let _ = done.send(());
}

/// Where the blockers block.
#[derive(Clone, Copy, PartialEq)]
enum Blockers {
    None,
    OffTheWorkers,
    OnTheWorkers,
}

/// Latencies of sequential asks, in microseconds, sorted: for as long as
/// the blockers run, or (none) a fixed count.
fn asks(blockers: Blockers) -> Vec<f64> {
    let group = IsolateGroup::builder().workers(2).build().unwrap();
    let echo = group.spawn(Echo);
    for i in 0..1_000 {
        assert_eq!(echo.echo(i).wait(), Ok(i));
    }
    let mut done = ReceivePort::new();
    for _ in 0..BLOCKERS {
        match blockers {
            Blockers::None => {}
            Blockers::OffTheWorkers => {
                group.spawn_fn(off_the_workers, done.send_port());
            }
            Blockers::OnTheWorkers => {
                group.spawn_fn(on_the_workers, done.send_port());
            }
        }
    }
    let mut finished = 0;
    let mut latencies = Vec::new();
    let mut i = 0;
    loop {
        let running = match blockers {
            Blockers::None => latencies.len() < BASELINE_ASKS,
            _ => finished < BLOCKERS,
        };
        if !running {
            break;
        }
        let start = Instant::now();
        assert_eq!(echo.echo(i).wait(), Ok(i));
        latencies.push(start.elapsed().as_secs_f64() * 1e6);
        i += 1;
        while done.try_recv().is_ok() {
            finished += 1;
        }
    }
    latencies.sort_by(f64::total_cmp);
    latencies
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted[((sorted.len() - 1) as f64 * q).round() as usize]
}

/// Prints the three scenarios as a markdown table.
pub fn run() {
    println!(
        "2 workers; {BLOCKERS} blockers of {CALLS} calls of {} ms each; sequential asks from main",
        CALL.as_millis()
    );
    println!();
    println!("| scenario | asks | p50 µs | p99 µs | max µs |");
    println!("|---|---:|---:|---:|---:|");
    let scenarios = [
        ("no blocker", Blockers::None),
        ("blockers on `blocking`", Blockers::OffTheWorkers),
        ("blockers sleeping on the workers", Blockers::OnTheWorkers),
    ];
    for (name, blockers) in scenarios {
        let latencies = asks(blockers);
        println!(
            "| {name} | {} | {:.1} | {:.1} | {:.0} |",
            latencies.len(),
            quantile(&latencies, 0.5),
            quantile(&latencies, 0.99),
            latencies[latencies.len() - 1],
        );
    }
}
