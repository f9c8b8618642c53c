//! A million isolates, in one group: bytes per isolate, the time to tear
//! them down, and what the allocator keeps after the group is gone. Run:
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml -- --million
//! ```

use std::time::Instant;

use isolate_core::prelude::*;

use crate::peers::rss;

const COUNT: usize = 1_000_000;

/// An idle `#[isolate]`: a state and a mailbox, nothing else.
#[isolate]
struct Idle;

#[isolate]
impl Idle {
    #[message]
    fn ping(&self) {}
}

/// A `spawn_fn` isolate that waits on a port of its own, as Dart's do.
async fn waiting(ready: SendPort<SendPort<u32>>) {
    let mut port = ReceivePort::new();
    ready.send(port.send_port()).unwrap();
    let _ = port.recv_async().await;
}

unsafe extern "C" {
    /// glibc: gives free memory at the top of the heap and in free chunks
    /// back to the system.
    fn malloc_trim(pad: usize) -> i32;
}

fn trim() {
    // SAFETY: `malloc_trim` only releases free memory; glibc allows it at
    // any time, from any thread.
    unsafe { malloc_trim(0) };
}

struct Figures {
    bytes_each: f64,
    teardown_ms: f64,
    kept_mb: f64,
    kept_after_trim_mb: f64,
}

fn measure(kind: &str) -> Figures {
    trim();
    let before = rss();
    let group = IsolateGroup::new();
    let mut keep_alive: Vec<Box<dyn std::any::Any>> = Vec::with_capacity(COUNT);
    match kind {
        "#[isolate]" => {
            for _ in 0..COUNT {
                keep_alive.push(Box::new(group.spawn(Idle)));
            }
        }
        _ => {
            let mut ready = ReceivePort::new();
            for _ in 0..COUNT {
                group.spawn_fn(waiting, ready.send_port());
            }
            for _ in 0..COUNT {
                keep_alive.push(Box::new(ready.recv().unwrap()));
            }
        }
    }
    assert_eq!(group.len(), COUNT);
    let bytes_each = (rss() - before) / COUNT as f64;
    let start = Instant::now();
    drop(keep_alive);
    group.shutdown();
    drop(group);
    let teardown_ms = start.elapsed().as_secs_f64() * 1e3;
    let kept_mb = (rss() - before) / 1e6;
    trim();
    let kept_after_trim_mb = (rss() - before) / 1e6;
    Figures {
        bytes_each,
        teardown_ms,
        kept_mb,
        kept_after_trim_mb,
    }
}

pub fn run() {
    println!(
        "| isolates (1,000,000 in one group) | bytes each | teardown, ms | RSS kept after drop, MB | after malloc_trim, MB |"
    );
    println!("|---|---|---|---|---|");
    for kind in ["#[isolate]", "spawn_fn waiting on recv_async"] {
        let f = measure(kind);
        println!(
            "| {kind} | {:.0} | {:.0} | {:.1} | {:.1} |",
            f.bytes_each, f.teardown_ms, f.kept_mb, f.kept_after_trim_mb
        );
    }
}
