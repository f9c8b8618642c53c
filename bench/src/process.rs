//! Cross-process round trips (`spawn_uri`) and asks through a local
//! `nats-server` (`isolate-nats`) beside the same asks inside one group.
//! The `spawn_uri` child is this binary, run as `isolate-bench --serve`.

use std::time::Instant;

use isolate_core::prelude::*;
use isolate_core::process;

use crate::peers::Peer;

/// The `Echo` isolate in the caller's group: the baseline for the
/// cross-process rows.
pub struct InGroup;

/// The `Echo` isolate in a child process (`spawn_uri`).
pub struct Process;

/// The `Echo` isolate registered in a remote group, looked up by another
/// member: every message goes through a `nats-server` on loopback.
pub struct Nats;

const WORKLOADS: &[&str] = &[
    "round-trip",
    "asks-in-flight",
    "throughput",
    "round-trip-1mib",
    "round-trip-1mib-bytes",
];

fn run(framework: &str, workload: &str) -> f64 {
    match workload {
        "round-trip" => round_trip(framework),
        "asks-in-flight" => asks_in_flight(framework),
        "throughput" => throughput(framework),
        "round-trip-1mib" => megabyte(framework),
        "round-trip-1mib-bytes" => megabyte_bytes(framework),
        other => panic!("{framework} does not run {other}"),
    }
}

impl Peer for InGroup {
    fn name(&self) -> &'static str {
        "in-group"
    }

    fn workloads(&self) -> &'static [&'static str] {
        WORKLOADS
    }

    fn run(&self, workload: &str) -> f64 {
        run("in-group", workload)
    }
}

impl Peer for Process {
    fn name(&self) -> &'static str {
        "process"
    }

    fn workloads(&self) -> &'static [&'static str] {
        WORKLOADS
    }

    fn run(&self, workload: &str) -> f64 {
        run("process", workload)
    }
}

impl Peer for Nats {
    fn name(&self) -> &'static str {
        "nats"
    }

    /// Not the 1 MiB rows: a message of 1 MiB and its header is past the
    /// server's default `max_payload` (1 MiB), and is refused.
    fn workloads(&self) -> &'static [&'static str] {
        &["nats-request", "round-trip", "asks-in-flight", "throughput"]
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "nats-request" => crate::nats::raw_round_trip(),
            _ => run("nats", workload),
        }
    }
}

/// A byte buffer that serde encodes as one byte string (a copy), not as a
/// sequence of a million `u8`s (a million calls): what to send between
/// processes.
#[message]
#[derive(serde::Serialize, serde::Deserialize, Clone)]
pub struct Bytes(#[serde(with = "serde_bytes")] pub Vec<u8>);

#[isolate]
pub struct Echo {
    total: u64,
}

#[isolate(remote)]
impl Echo {
    #[message]
    fn echo(&self, n: u64) -> u64 {
        n
    }

    #[message]
    fn add(&mut self, n: u64) {
        self.total += n;
    }

    #[message]
    fn total(&self) -> u64 {
        self.total
    }

    #[message]
    fn len(&self, bytes: Vec<u8>) -> usize {
        bytes.len()
    }

    #[message]
    fn len_bytes(&self, bytes: Bytes) -> usize {
        bytes.0.len()
    }
}

/// The child's `main`.
pub fn serve() {
    // A parent that exits as soon as it has its figure leaves the child to
    // find the connection gone: that is an end, not a failure.
    match process::serve(|group: &IsolateGroup, (): ()| group.spawn(Echo { total: 0 })) {
        Ok(()) | Err(process::ServeError::ParentGone) => {}
        Err(error) => panic!("served: {error}"),
    }
}

/// What keeps the far end of an `Echo` alive: a child process, or a NATS
/// server and the member that serves it.
enum Far {
    Here,
    Child(#[allow(dead_code)] ProcessIsolate<EchoPort>),
    Nats(#[allow(dead_code)] crate::nats::Served),
}

/// An `Echo` in this group, in a child process, or behind NATS.
fn echo(framework: &str) -> (IsolateGroup, EchoPort, Far) {
    let group = IsolateGroup::new();
    match framework {
        "in-group" => {
            let port = group.spawn(Echo { total: 0 });
            (group, port, Far::Here)
        }
        "process" => {
            let me = std::env::current_exe().expect("own path");
            let child: ProcessIsolate<EchoPort> =
                group.spawn_uri(me, ["--serve"], ()).expect("child serves");
            let port = child.port().clone();
            (group, port, Far::Child(child))
        }
        "nats" => {
            let served = crate::nats::serve(group.spawn(Echo { total: 0 }));
            let port = served.port.clone();
            (group, port, Far::Nats(served))
        }
        other => panic!("unknown framework {other}"),
    }
}

/// ns per ask of a `u64`, one at a time, from a plain thread.
fn round_trip(framework: &str) -> f64 {
    let (_group, port, _far) = echo(framework);
    let asks: u64 = if framework == "in-group" {
        200_000
    } else {
        20_000
    };
    for n in 0..1_000 {
        assert_eq!(port.echo(n).wait(), Ok(n));
    }
    let start = Instant::now();
    for n in 0..asks {
        assert_eq!(port.echo(n).wait(), Ok(n));
    }
    start.elapsed().as_nanos() as f64 / asks as f64
}

/// ns per ask of a `u64` with 1,000 asks in flight at once, from a plain
/// thread: what pipelining buys over one ask at a time.
fn asks_in_flight(framework: &str) -> f64 {
    let (_group, port, _far) = echo(framework);
    let (rounds, window) = if framework == "in-group" {
        (200u64, 1_000u64)
    } else {
        (20, 1_000)
    };
    let round = |base: u64| {
        let replies: Vec<_> = (0..window).map(|n| port.echo(base + n)).collect();
        for (n, reply) in replies.into_iter().enumerate() {
            assert_eq!(reply.wait(), Ok(base + n as u64));
        }
    };
    round(0);
    let start = Instant::now();
    for r in 0..rounds {
        round(r * window);
    }
    start.elapsed().as_nanos() as f64 / (rounds * window) as f64
}

/// ns per tell of a `u64`, streamed, until the last is handled.
fn throughput(framework: &str) -> f64 {
    let (_group, port, _far) = echo(framework);
    let tells: u64 = 1_000_000;
    assert_eq!(port.total().wait(), Ok(0));
    let start = Instant::now();
    for n in 0..tells {
        port.add(n).expect("open");
    }
    assert_eq!(port.total().wait(), Ok(tells * (tells - 1) / 2));
    start.elapsed().as_nanos() as f64 / tells as f64
}

/// µs per ask carrying a 1 MiB `Vec<u8>` (moved within a group, copied
/// between processes).
fn megabyte(framework: &str) -> f64 {
    let (_group, port, _far) = echo(framework);
    let asks = 200;
    let buffer = vec![7u8; 1 << 20];
    assert_eq!(port.len(buffer.clone()).wait(), Ok(1 << 20));
    let start = Instant::now();
    for _ in 0..asks {
        assert_eq!(port.len(buffer.clone()).wait(), Ok(1 << 20));
    }
    start.elapsed().as_micros() as f64 / asks as f64
}

/// As [`megabyte`], with the buffer in a `serde_bytes` wrapper.
fn megabyte_bytes(framework: &str) -> f64 {
    let (_group, port, _far) = echo(framework);
    let asks = 200;
    let buffer = Bytes(vec![7u8; 1 << 20]);
    assert_eq!(port.len_bytes(buffer.clone()).wait(), Ok(1 << 20));
    let start = Instant::now();
    for _ in 0..asks {
        assert_eq!(port.len_bytes(buffer.clone()).wait(), Ok(1 << 20));
    }
    start.elapsed().as_micros() as f64 / asks as f64
}

/// Calibration: ns per round trip of 8 bytes over a Unix socket between
/// this process and a child that echoes them, two blocked threads and
/// nothing else: the floor under `round-trip` for `process`.
pub fn raw_socket() -> f64 {
    use std::io::{Read, Write};
    use std::os::unix::net::UnixListener;
    let path = std::env::temp_dir().join(format!("isolate-bench-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    let listener = UnixListener::bind(&path).expect("bind");
    let mut child = std::process::Command::new(std::env::current_exe().expect("own path"))
        .args(["--echo-socket"])
        .env("ISOLATE_BENCH_SOCKET", &path)
        .spawn()
        .expect("child starts");
    let (mut stream, _) = listener.accept().expect("child connects");
    let _ = std::fs::remove_file(&path);
    let trips = 20_000u64;
    let mut buffer = [0u8; 8];
    let start = Instant::now();
    for n in 0..trips {
        stream.write_all(&n.to_le_bytes()).expect("write");
        stream.read_exact(&mut buffer).expect("read");
        assert_eq!(u64::from_le_bytes(buffer), n);
    }
    let elapsed = start.elapsed();
    drop(stream);
    child.wait().expect("child ends");
    elapsed.as_nanos() as f64 / trips as f64
}

/// The child of [`raw_socket`]: echoes 8-byte packets until the end.
pub fn echo_socket() {
    use std::io::{Read, Write};
    let path = std::env::var("ISOLATE_BENCH_SOCKET").expect("started by raw_socket");
    let mut stream = std::os::unix::net::UnixStream::connect(path).expect("connect");
    let mut buffer = [0u8; 8];
    while stream.read_exact(&mut buffer).is_ok() {
        if stream.write_all(&buffer).is_err() {
            break;
        }
    }
}
