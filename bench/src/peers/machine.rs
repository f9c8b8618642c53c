//! Calibration: what this machine allows, so that readers can place the
//! other figures. Not a framework.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use super::*;

pub struct Machine;

impl Peer for Machine {
    fn name(&self) -> &'static str {
        "machine"
    }

    fn workloads(&self) -> &'static [&'static str] {
        &["calibration-spin", "calibration-wake", "socket-round-trip"]
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "calibration-spin" => spin(),
            "calibration-wake" => wake(),
            "socket-round-trip" => crate::process::raw_socket(),
            other => panic!("machine does not run {other}"),
        }
    }
}

/// ns per round trip between two threads spinning on one atomic: the
/// cost of a cache line crossing between cores, and back.
fn spin() -> f64 {
    const TRIPS: u64 = 200_000;
    let ball = Arc::new(AtomicU64::new(0));
    let other = {
        let ball = ball.clone();
        std::thread::spawn(move || {
            for n in 0..TRIPS {
                while ball.load(Ordering::Acquire) != 2 * n + 1 {
                    std::hint::spin_loop();
                }
                ball.store(2 * n + 2, Ordering::Release);
            }
        })
    };
    let start = Instant::now();
    for n in 0..TRIPS {
        ball.store(2 * n + 1, Ordering::Release);
        while ball.load(Ordering::Acquire) != 2 * n + 2 {
            std::hint::spin_loop();
        }
    }
    let figure = ns_per(start, TRIPS);
    other.join().unwrap();
    figure
}

/// ns per round trip between two threads that park and wake each other:
/// the floor under any hand-off to a sleeping thread.
fn wake() -> f64 {
    const TRIPS: u64 = 20_000;
    let turn = Arc::new(AtomicU64::new(0));
    let main = std::thread::current();
    let other = {
        let turn = turn.clone();
        std::thread::spawn(move || {
            for n in 0..TRIPS {
                while turn.load(Ordering::Acquire) != 2 * n + 1 {
                    std::thread::park();
                }
                turn.store(2 * n + 2, Ordering::Release);
                main.unpark();
            }
        })
    };
    let start = Instant::now();
    for n in 0..TRIPS {
        turn.store(2 * n + 1, Ordering::Release);
        other.thread().unpark();
        while turn.load(Ordering::Acquire) != 2 * n + 2 {
            std::thread::park();
        }
    }
    let figure = ns_per(start, TRIPS);
    other.join().unwrap();
    figure
}
