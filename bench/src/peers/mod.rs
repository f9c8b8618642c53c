//! The frameworks under test, one file each behind [`Peer`]. Adding a peer
//! is one file here and one line in [`ALL`]. Every workload checks its own
//! answer: a wrong one panics, which fails the run.

mod actix_actors;
mod isolates;
mod kameo_actors;
mod machine;
mod ractor_actors;
mod rayon_iter;
mod threads;
mod tokio_tasks;

pub use crate::process::{InGroup, Nats, Process};

/// One framework under test.
pub trait Peer: Sync {
    /// Its name in the tables.
    fn name(&self) -> &'static str;
    /// The workloads it runs (see `MATRIX` in `main.rs`).
    fn workloads(&self) -> &'static [&'static str];
    /// Runs one of its workloads and returns the figure.
    fn run(&self, workload: &str) -> f64;
}

/// Every peer, in the order of the tables.
pub static ALL: &[&dyn Peer] = &[
    &machine::Machine,
    &isolates::Isolates,
    &isolates::SpawnFn,
    &tokio_tasks::Tokio,
    &kameo_actors::Kameo,
    &ractor_actors::Ractor,
    &actix_actors::Actix,
    &threads::Threads,
    &rayon_iter::Rayon,
    &InGroup,
    &Process,
    &Nats,
];

/// The peer called `name`.
pub fn find(name: &str) -> &'static dyn Peer {
    *ALL.iter()
        .find(|peer| peer.name() == name)
        .unwrap_or_else(|| panic!("no peer {name}"))
}

/// The workloads every actor framework runs.
pub const ACTOR_WORKLOADS: &[&str] = &[
    "spawn",
    "first-message",
    "memory",
    "memory-after-message",
    "ping-pong",
    "ring",
    "skynet",
    "fan-in",
    "ask",
];

/// Tokio's multi-threaded runtime, one worker per core: what tokio, kameo
/// and ractor run on.
pub fn tokio_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().build().unwrap()
}

pub const SPAWNS: usize = 100_000;
pub const PING_PONG: u64 = 1_000_000;
pub const RING: usize = 10_000;
pub const RING_ROUNDS: usize = 100;
pub const FAN_IN: u64 = 500_000;
pub const ASKS: u64 = 20_000;
/// Tells from one plain thread into a busy actor.
pub const TELLS: u64 = 1_000_000;
pub const OFFLOADS: usize = 10_000;

/// What the spawn workload measures.
pub struct Spawned {
    pub spawn_ns: f64,
    pub ask_ns: f64,
    /// Resident bytes per isolate/task right after spawning.
    pub bytes_idle: f64,
    /// Resident bytes per isolate/task after each answered one message.
    pub bytes_after: f64,
}

impl Spawned {
    /// The figure of one of the four spawn workloads.
    pub fn figure(&self, workload: &str) -> f64 {
        match workload {
            "spawn" => self.spawn_ns,
            "first-message" => self.ask_ns,
            "memory" => self.bytes_idle,
            "memory-after-message" => self.bytes_after,
            other => panic!("not a spawn workload: {other}"),
        }
    }
}

/// Resident set size of this process, in bytes.
pub fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0
}

/// A small CPU-bound job (~40 µs on the reference machine): the offload
/// workload's unit of work.
pub fn job(seed: u64) -> u64 {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut acc = 0u64;
    for _ in 0..20_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        acc = acc.wrapping_add(x >> 60);
    }
    acc
}

pub fn offload_expected() -> u64 {
    (0..OFFLOADS as u64).map(job).fold(0, u64::wrapping_add)
}

pub fn skynet_expected() -> u64 {
    (0..1_000_000u64).sum()
}

/// The sum a fan-in consumer must see: two producers, each sending
/// `0..FAN_IN`.
pub fn fan_in_expected() -> u64 {
    2 * (0..FAN_IN).sum::<u64>()
}

/// ns per unit of `count`, since `start`.
pub fn ns_per(start: std::time::Instant, count: u64) -> f64 {
    start.elapsed().as_nanos() as f64 / count as f64
}
