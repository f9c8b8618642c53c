//! Skynet, the classic actor benchmark, as a readable program: one isolate
//! spawns 10 children, each spawns 10, down to 1,000,000 leaves; each leaf
//! answers its number and every parent sums its children's answers.
//!
//! ```text
//! cargo run --release --example skynet                 # 1,000,000 leaves
//! cargo run --release --example skynet -- --leaves 1000
//! ```

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use isolate_core::prelude::*;

/// What each node is given: the first number of its range, how many leaves
/// it covers, and where its sum goes.
type Job = (u64, u64, ReplySender<u64>);

/// One node of the tree. It spawns its children and awaits their sums; a
/// leaf answers its own number. (Boxed because it spawns itself: a
/// recursive `async fn` cannot name its own future.)
fn node(job: Job) -> Pin<Box<dyn Future<Output = ()> + Send>> {
    Box::pin(async move {
        let (first, leaves, parent) = job;
        if leaves == 1 {
            parent.send(first);
            return;
        }
        let group = IsolateGroup::current().expect("a node runs in the group");
        let step = leaves / 10;
        let sums: Vec<Reply<u64>> = (0..10)
            .map(|i| {
                let (reply_to, sum) = Reply::channel();
                group.spawn_fn(node, (first + i * step, step, reply_to));
                sum
            })
            .collect();
        let mut total = 0;
        for sum in sums {
            total += sum.await.expect("a child answers");
        }
        parent.send(total);
    })
}

fn main() {
    let leaves = leaves_from_args();
    let group = IsolateGroup::new();
    let start = Instant::now();
    let (reply_to, sum) = Reply::channel();
    group.spawn_fn(node, (0, leaves, reply_to));
    let sum = sum.wait().expect("the root answers");
    let elapsed = start.elapsed();
    let isolates: u64 = std::iter::successors(Some(leaves), |n| (*n > 1).then(|| n / 10)).sum();
    println!("skynet: {isolates} isolates spawned, {leaves} leaves, sum {sum}");
    assert_eq!(sum, leaves * (leaves - 1) / 2, "the sum is wrong");
    println!(
        "        {:.0} ms on {} workers ({:.0} ns per isolate)",
        elapsed.as_secs_f64() * 1e3,
        group.workers(),
        elapsed.as_nanos() as f64 / isolates as f64
    );
}

/// `--leaves N`, a power of ten (default 1,000,000).
fn leaves_from_args() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    let leaves = args
        .iter()
        .position(|arg| arg == "--leaves")
        .and_then(|i| args.get(i + 1))
        .map_or(Ok(1_000_000), |n| n.parse::<u64>());
    match leaves {
        Ok(n) if n >= 1 && 10u64.pow(n.ilog10()) == n => n,
        _ => {
            eprintln!("--leaves takes a power of ten, such as 1000 or 1000000");
            std::process::exit(2);
        }
    }
}
