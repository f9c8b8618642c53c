//! The benchmark matrix: every (workload, framework) pair, each in fresh
//! processes, medians and raw figures. Run it with:
//!
//! ```text
//! cargo run --release --manifest-path bench/Cargo.toml            # 3 runs each
//! cargo run --release --manifest-path bench/Cargo.toml -- --runs 5
//! ```
//!
//! A child process is `isolate-bench --one <workload> <framework>`; it prints
//! one line `figure <value> <unit>` after checking that its answer is right
//! (a wrong answer exits non-zero and fails the run).

mod peers;
mod process;

use std::process::Command;

/// (workload, frameworks, what the figure is, lower is better)
const MATRIX: &[(&str, &[&str], &str)] = &[
    (
        "spawn",
        &["isolates", "tokio"],
        "ns per spawn of 100,000 idle",
    ),
    (
        "first-message",
        &["isolates", "tokio"],
        "ns per first ask answered, 100,000",
    ),
    (
        "memory",
        &["isolates", "tokio"],
        "resident bytes per idle isolate/task, just spawned",
    ),
    (
        "memory-after-message",
        &["isolates", "tokio"],
        "resident bytes per isolate/task after one message",
    ),
    (
        "ping-pong",
        &["isolates", "tokio"],
        "ns per message, 2 isolates, 1,000,000 messages",
    ),
    ("skynet", &["isolates", "tokio"], "ms for 1,000,000 leaves"),
    (
        "offload",
        &["isolates", "rayon", "tokio"],
        "ms for 10,000 computations of ~40 µs",
    ),
    (
        "socket-round-trip",
        &["raw"],
        "calibration: ns per 8-byte round trip over a Unix socket to a child",
    ),
    (
        "round-trip",
        &["in-group", "process"],
        "ns per ask of a u64 from a plain thread",
    ),
    (
        "throughput",
        &["in-group", "process"],
        "ns per tell of a u64, 1,000,000 streamed",
    ),
    (
        "round-trip-1mib",
        &["in-group", "process"],
        "µs per ask carrying a 1 MiB Vec<u8>",
    ),
    (
        "round-trip-1mib-bytes",
        &["in-group", "process"],
        "µs per ask carrying 1 MiB as serde_bytes",
    ),
];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--echo-socket") {
        process::echo_socket();
        return;
    }
    if args.get(1).map(String::as_str) == Some("--serve") {
        process::serve();
        return;
    }
    if args.get(1).map(String::as_str) == Some("--one") {
        let (workload, framework) = (&args[2], &args[3]);
        let figure = peers::run(workload, framework);
        println!("figure {figure}");
        return;
    }
    let runs: usize = match args.iter().position(|a| a == "--runs") {
        Some(i) => args.get(i + 1).and_then(|n| n.parse().ok()).unwrap_or(3),
        None => 3,
    };
    let only: Option<&String> = args
        .iter()
        .position(|a| a == "--only")
        .and_then(|i| args.get(i + 1));
    let me = std::env::current_exe().expect("own path");
    println!(
        "machine: {} cores; {} runs per figure, each in a fresh process",
        cores(),
        runs
    );
    println!();
    println!("| workload | framework | median | raw figures | ratio to best |");
    println!("|---|---|---|---|---|");
    for (workload, frameworks, unit) in MATRIX {
        if only.is_some_and(|o| !o.split(',').any(|w| w == *workload)) {
            continue;
        }
        let mut medians = Vec::new();
        for framework in *frameworks {
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
        for (framework, median, raw) in medians {
            let raw: Vec<String> = raw.iter().map(|f| format!("{f:.1}")).collect();
            println!(
                "| {workload} ({unit}) | {framework} | {median:.1} | {} | {:.2}× |",
                raw.join(", "),
                median / best
            );
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
