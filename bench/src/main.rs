//! The benchmark matrix: every (workload, framework) pair, each in fresh
//! processes, medians and every raw figure. Run it with:
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml                      # 3 runs each
//! cargo run --release --manifest-path bench/Cargo.toml -- --runs 5
//! cargo run --release --manifest-path bench/Cargo.toml -- --only ring,ask   # some workloads
//! cargo run --release --manifest-path bench/Cargo.toml -- --chart docs/benchmarks.svg
//! cargo run --release --manifest-path bench/Cargo.toml -- --blocking      # blocking calls and ask latency
//! ```
//!
//! A child process is `isolate-bench --one <workload> <framework>`; it
//! prints one line `figure <value>` after checking that its answer is right
//! (a wrong answer panics, exits non-zero and fails the run). The frameworks
//! are the peers in `peers/`, one file each.

mod blocking;
mod chart;
mod million;
mod nats;
mod peers;
mod process;

use std::process::Command;

/// (workload, what its figure is). Lower is better everywhere.
const MATRIX: &[(&str, &str)] = &[
    (
        "calibration-spin",
        "ns per round trip, two threads spinning on one atomic",
    ),
    (
        "calibration-wake",
        "ns per round trip, two threads parking and waking each other",
    ),
    (
        "socket-round-trip",
        "ns per 8-byte round trip over a Unix socket to a child process",
    ),
    (
        "nats-request",
        "ns per 8-byte request/reply through a local nats-server, async-nats alone",
    ),
    ("spawn", "ns per spawn of 100,000 idle actors"),
    ("first-message", "ns per first ask answered, 100,000 actors"),
    ("memory", "resident bytes per idle actor, just spawned"),
    (
        "memory-after-message",
        "resident bytes per actor after one message",
    ),
    ("ping-pong", "ns per message, 2 actors, 1,000,000 messages"),
    (
        "ping-pong-pinned",
        "ns per message, 2 pinned isolates on different workers",
    ),
    ("ring", "ns per hop, 10,000 actors, a token 100 times round"),
    (
        "ring-100",
        "ns per hop, 100 threads, a token 1,000 times round",
    ),
    ("skynet", "ms for 1,000,000 leaves"),
    (
        "fan-in",
        "ns per message, 2 producers, 1 consumer, 1,000,000 messages",
    ),
    ("ask", "ns per ask from a plain thread, one at a time"),
    (
        "tells",
        "ns per tell from a plain thread into a busy actor, 1,000,000 tells",
    ),
    ("offload", "ms for 10,000 computations of ~40 µs"),
    (
        "offload-each",
        "ms for 10,000 computations awaited one by one (run_with_async)",
    ),
    (
        "hop-64-bytes",
        "ns per hop of a [u8; 64] between two isolates",
    ),
    (
        "hop-vec-64mib",
        "ns per hop of a 64 MiB Vec<u8> (moved) between two isolates",
    ),
    (
        "hop-shared-64mib",
        "ns per hop of a Shared<Vec<u8>> of 64 MiB between two isolates",
    ),
    (
        "spawn-in-group",
        "ns per isolate spawned into an existing group",
    ),
    (
        "new-group",
        "ns per new group (threads started) with one isolate spawned",
    ),
    ("round-trip", "ns per ask of a u64 from a plain thread"),
    (
        "asks-in-flight",
        "ns per ask of a u64, 1,000 in flight from a plain thread",
    ),
    ("throughput", "ns per tell of a u64, 1,000,000 streamed"),
    ("round-trip-1mib", "µs per ask carrying a 1 MiB Vec<u8>"),
    (
        "round-trip-1mib-bytes",
        "µs per ask carrying 1 MiB as serde_bytes",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("--echo-socket") => return process::echo_socket(),
        Some("--serve") => return process::serve(),
        Some("--million") => return million::run(),
        Some("--blocking") => return blocking::run(),
        Some("--one") => {
            let (workload, framework) = (&args[2], &args[3]);
            let figure = peers::find(framework).run(workload);
            println!("figure {figure}");
            return;
        }
        _ => {}
    }
    let runs: usize = match args.iter().position(|a| a == "--runs") {
        Some(i) => args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(3),
        None => 3,
    };
    let only: Option<&String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let chart_path: Option<&String> = args
        .iter()
        .position(|a| a == "--chart")
        .and_then(|i| args.get(i + 1));
    let mut bars = Vec::new();
    let me = std::env::current_exe().expect("own path");
    println!(
        "machine: {} cores; {} runs per figure, each in a fresh process",
        cores(),
        runs
    );
    println!();
    println!("| workload | framework | median | raw figures | ratio to best |");
    println!("|---|---|---|---|---|");
    for (workload, unit) in MATRIX {
        if only.is_some_and(|o| !o.split(',').any(|w| w == *workload)) {
            continue;
        }
        let mut medians = Vec::new();
        for peer in peers::ALL
            .iter()
            .filter(|peer| peer.workloads().contains(workload))
        {
            let framework = peer.name();
            let mut figures: Vec<f64> = (0..runs)
                .map(|_| {
                    let out = Command::new(&me)
                        .args(["--one", workload, framework])
                        .output()
                        .expect("child runs");
                    let stdout = String::from_utf8_lossy(&out.stdout);
                    assert!(
                        out.status.success(),
                        "{workload}/{framework} failed: {stdout}{}",
                        String::from_utf8_lossy(&out.stderr)
                    );
                    stdout
                        .lines()
                        .find_map(|l| l.strip_prefix("figure "))
                        .and_then(|f| f.trim().parse().ok())
                        .expect("a figure line")
                })
                .collect();
            let raw = figures.clone();
            figures.sort_by(f64::total_cmp);
            let median = figures[figures.len() / 2];
            medians.push((framework, median, raw));
        }
        let best = medians.iter().map(|m| m.1).fold(f64::INFINITY, f64::min);
        let compared = medians.len() > 1;
        for (framework, median, raw) in medians {
            // Rows with one peer (calibration, isolates-only rows) compare
            // nothing: they stay in the table, out of the chart.
            if compared {
                bars.push(chart::Bar {
                    workload,
                    framework,
                    ratio: median / best,
                });
            }
            let raw: Vec<String> = raw.iter().map(|f| format!("{f:.1}")).collect();
            println!(
                "| {workload} ({unit}) | {framework} | {median:.1} | {} | {:.2}× |",
                raw.join(", "),
                median / best
            );
        }
    }
    if let Some(path) = chart_path {
        chart::draw(path, &bars).expect("the chart is written");
        println!();
        println!("chart: {path}");
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
