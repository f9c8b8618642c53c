//! Offloads work to isolate groups in child processes (Dart's
//! `Isolate.spawnUri`), and shows what happens when one crashes.
//!
//! The program is its own child: run with `--child`, it serves a `Worker`
//! isolate to the parent that started it.
//!
//! ```text
//! cargo run --example process_worker
//! ```

use std::time::{Duration, Instant};

use isolate_core::RemoteErrorKind;
use isolate_core::prelude::*;
use isolate_core::process::{self, ProcessExit};
use serde::{Deserialize, Serialize};

/// What the parent hands each child at start.
#[message]
#[derive(Serialize, Deserialize)]
struct Config {
    name: String,
    /// Where the child reports progress: a port of the parent's, which
    /// keeps working from the other process.
    progress: SendPort<String>,
}

/// The isolate each child serves.
#[isolate]
struct Worker {
    name: String,
    progress: SendPort<String>,
}

#[isolate(remote)]
impl Worker {
    /// How many primes are below `n`: real work, done in the child.
    #[message]
    fn count_primes(&self, n: u64) -> u64 {
        let count = (2..n).filter(|&k| is_prime(k)).count() as u64;
        let _ = self.progress.send(format!(
            "{} (pid {}) counted {count} primes below {n}",
            self.name,
            std::process::id()
        ));
        count
    }

    /// A checksum of a buffer that crossed the process boundary.
    #[message]
    fn checksum(&self, bytes: Vec<u8>) -> u64 {
        bytes.iter().map(|&b| u64::from(b)).sum()
    }

    /// Takes the whole process down, as a segfaulting C library would.
    #[message]
    fn crash(&self) {
        std::process::abort();
    }
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().any(|arg| arg == "--child") {
        return serve_child();
    }
    let group = IsolateGroup::new();
    let me = std::env::current_exe()?;
    let mut progress = ReceivePort::new();
    let mut errors = ReceivePort::new();

    println!("1. Starting two child processes, each an isolate group.");
    let start = Instant::now();
    let mut children: Vec<ProcessIsolate<WorkerPort>> = Vec::new();
    for name in ["alpha", "beta"] {
        let config = Config {
            name: name.into(),
            progress: progress.send_port(),
        };
        let child: ProcessIsolate<WorkerPort> = group.spawn_uri(&me, ["--child"], config)?;
        child.add_error_listener(errors.send_port());
        println!(
            "   {name}: pid {} (this process is {})",
            child.pid(),
            std::process::id()
        );
        children.push(child);
    }
    println!("   both serving after {:?}", start.elapsed());

    println!("2. Offloading work: each child counts primes, asked from here.");
    let asks: Vec<_> = children
        .iter()
        .zip([50_000, 60_000])
        .map(|(child, n)| (n, child.port().count_primes(n)))
        .collect();
    for (n, reply) in asks {
        println!(
            "   primes below {n}: {}",
            reply.wait_timeout(Duration::from_secs(30))?
        );
    }
    for _ in 0..2 {
        println!(
            "   progress: {}",
            progress.recv_timeout(Duration::from_secs(30))?
        );
    }

    println!("3. A 1 MiB buffer crosses the boundary and is checksummed there.");
    let buffer = vec![3u8; 1 << 20];
    let sum = children[0]
        .port()
        .checksum(buffer)
        .wait_timeout(Duration::from_secs(30))?;
    println!(
        "   checksum from the child: {sum} (expected {})",
        3 * (1 << 20)
    );

    println!("4. beta crashes on purpose, with an ask queued behind the crash.");
    let (alpha, beta) = (&children[0], &children[1]);
    beta.port().crash()?;
    let pending = beta.port().count_primes(10_000_000);
    let exit = beta.exited().wait_timeout(Duration::from_secs(30))?;
    println!("   beta {exit}");
    println!(
        "   the queued ask: {:?}",
        pending.wait_timeout(Duration::from_secs(30))
    );
    let error = errors.recv_timeout(Duration::from_secs(30))?;
    if error.kind() == RemoteErrorKind::Exited {
        println!("   error listener: {error}");
    }
    println!(
        "   an ask to beta now: {:?}",
        beta.port()
            .checksum(vec![1])
            .wait_timeout(Duration::from_secs(5))
    );
    let still = alpha
        .port()
        .count_primes(1_000)
        .wait_timeout(Duration::from_secs(30))?;
    println!("   alpha is unaffected: {still} primes below 1000");
    let _ = progress.recv_timeout(Duration::from_secs(30))?;

    println!("5. Ending alpha gracefully.");
    alpha.kill(Priority::BeforeNextEvent);
    let exit = alpha.exited().wait_timeout(Duration::from_secs(30))?;
    println!("   alpha {exit}");
    assert_eq!(exit, ProcessExit::Code(0));
    Ok(())
}

/// The child: serve a `Worker` to the parent until it lets go.
fn serve_child() -> Result<(), Box<dyn std::error::Error>> {
    process::serve(|group: &IsolateGroup, config: Config| {
        group.spawn(Worker {
            name: config.name,
            progress: config.progress,
        })
    })?;
    Ok(())
}
