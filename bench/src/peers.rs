//! One function per (workload, framework). Each checks its own answer.

use std::time::Instant;

use isolate_core::prelude::*;

pub const SPAWNS: usize = 100_000;
pub const PING_PONG: u64 = 1_000_000;
pub const OFFLOADS: usize = 10_000;

pub fn run(workload: &str, framework: &str) -> f64 {
    match (workload, framework) {
        ("spawn", "isolates") => isolates::spawn().spawn_ns,
        ("first-message", "isolates") => isolates::spawn().ask_ns,
        ("memory", "isolates") => isolates::spawn().bytes_idle,
        ("memory-after-message", "isolates") => isolates::spawn().bytes_after,
        ("spawn", "tokio") => tokio_peer::spawn().spawn_ns,
        ("first-message", "tokio") => tokio_peer::spawn().ask_ns,
        ("memory", "tokio") => tokio_peer::spawn().bytes_idle,
        ("memory-after-message", "tokio") => tokio_peer::spawn().bytes_after,
        ("ping-pong", "isolates") => isolates::ping_pong(),
        ("ping-pong", "tokio") => tokio_peer::ping_pong(),
        ("skynet", "isolates") => isolates::skynet(),
        ("skynet", "tokio") => tokio_peer::skynet(),
        ("offload", "isolates") => isolates::offload(),
        ("offload", "rayon") => offload_rayon(),
        ("offload", "tokio") => tokio_peer::offload(),
        ("socket-round-trip", "raw") => crate::process::raw_socket(),
        ("round-trip", framework) => crate::process::round_trip(framework),
        ("throughput", framework) => crate::process::throughput(framework),
        ("round-trip-1mib", framework) => crate::process::megabyte(framework),
        ("round-trip-1mib-bytes", framework) => crate::process::megabyte_bytes(framework),
        _ => panic!("unknown pair {workload}/{framework}"),
    }
}

/// Resident set size of this process, in bytes.
/// What the spawn workload measures.
pub struct Spawned {
    pub spawn_ns: f64,
    pub ask_ns: f64,
    /// Resident bytes per isolate/task right after spawning.
    pub bytes_idle: f64,
    /// Resident bytes per isolate/task after each answered one message.
    pub bytes_after: f64,
}

pub fn rss() -> f64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("Linux /proc");
    let pages: f64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096.0
}

/// A small CPU-bound job (~40 µs on the reference machine): the offload workload's unit of work.
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

fn offload_rayon() -> f64 {
    use rayon::prelude::*;
    let expected = offload_expected();
    let pool = rayon::ThreadPoolBuilder::new().build().unwrap();
    let start = Instant::now();
    let total = pool.install(|| {
        (0..OFFLOADS as u64)
            .into_par_iter()
            .map(job)
            .reduce(|| 0, u64::wrapping_add)
    });
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(total, expected);
    ms
}

pub fn skynet_expected() -> u64 {
    (0..1_000_000u64).sum()
}

mod isolates {
    use super::*;

    #[message]
    struct Idle;
    #[message]
    enum IdleMsg {
        Ping(ReplySender<()>),
    }
    impl Isolate for Idle {
        type Message = IdleMsg;
        type Port = SendPort<IdleMsg>;
        fn handle(&mut self, IdleMsg::Ping(reply): IdleMsg) -> Handled<'_> {
            reply.send(());
            Handled::Done
        }
    }

    pub fn spawn() -> Spawned {
        let group = IsolateGroup::new();
        let mut ports = Vec::with_capacity(SPAWNS);
        let before = rss();
        let start = Instant::now();
        for _ in 0..SPAWNS {
            ports.push(group.spawn(Idle));
        }
        let spawn_ns = start.elapsed().as_nanos() as f64 / SPAWNS as f64;
        let bytes = (rss() - before) / SPAWNS as f64;
        assert_eq!(group.len(), SPAWNS);
        let start = Instant::now();
        let replies: Vec<_> = ports.iter().map(|p| p.ask(IdleMsg::Ping)).collect();
        for reply in replies {
            reply.wait().unwrap();
        }
        let ask_ns = start.elapsed().as_nanos() as f64 / SPAWNS as f64;
        Spawned {
            spawn_ns,
            ask_ns,
            bytes_idle: bytes,
            bytes_after: (rss() - before) / SPAWNS as f64,
        }
    }

    #[message]
    struct Player {
        other: Option<SendPort<Ball>>,
        done: Option<ReplySender<u64>>,
    }
    #[message]
    enum Ball {
        Meet(SendPort<Ball>, Option<ReplySender<u64>>),
        Hit(u64),
    }
    impl Isolate for Player {
        type Message = Ball;
        type Port = SendPort<Ball>;
        fn handle(&mut self, ball: Ball) -> Handled<'_> {
            match ball {
                Ball::Meet(other, done) => {
                    self.other = Some(other);
                    self.done = done;
                }
                Ball::Hit(0) => {
                    if let Some(done) = self.done.take() {
                        done.send(0);
                    } else if let Some(other) = &self.other {
                        let _ = other.send(Ball::Hit(0));
                    }
                }
                Ball::Hit(n) => {
                    let _ = self.other.as_ref().unwrap().send(Ball::Hit(n - 1));
                }
            }
            Handled::Done
        }
    }

    pub fn ping_pong() -> f64 {
        let group = IsolateGroup::new();
        let a = group.spawn(Player {
            other: None,
            done: None,
        });
        let b = group.spawn(Player {
            other: None,
            done: None,
        });
        let (done, finished) = Reply::channel();
        a.send(Ball::Meet(b.clone(), Some(done))).unwrap();
        b.send(Ball::Meet(a.clone(), None)).unwrap();
        let start = Instant::now();
        // Even count: the last hit (n = 0) lands on `a`, which holds `done`.
        a.send(Ball::Hit(PING_PONG)).unwrap();
        finished.wait().unwrap();
        start.elapsed().as_nanos() as f64 / PING_PONG as f64
    }

    type Node = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>>;

    /// Boxed because it spawns itself: a recursive `async fn` cannot prove
    /// its own future `Send`.
    fn skynet_node(job: (u64, u64, ReplySender<u64>)) -> Node {
        Box::pin(skynet_body(job))
    }

    async fn skynet_body(job: (u64, u64, ReplySender<u64>)) {
        let (num, size, parent) = job;
        if size == 1 {
            parent.send(num);
            return;
        }
        let group = IsolateGroup::current().expect("inside the group");
        let step = size / 10;
        let replies: Vec<_> = (0..10)
            .map(|i| {
                let (reply_to, reply) = Reply::channel();
                group.spawn_fn(skynet_node, (num + i * step, step, reply_to));
                reply
            })
            .collect();
        drop(group);
        let mut sum = 0;
        for reply in replies {
            sum += reply.await.unwrap();
        }
        parent.send(sum);
    }

    pub fn skynet() -> f64 {
        let group = IsolateGroup::new();
        let start = Instant::now();
        let (reply_to, reply) = Reply::channel();
        group.spawn_fn(skynet_node, (0, 1_000_000, reply_to));
        let sum = reply.wait().unwrap();
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(sum, skynet_expected());
        ms
    }

    pub fn offload() -> f64 {
        let expected = offload_expected();
        // Warm the global group up, as rayon's pool is built before timing.
        isolate_core::run(|| 0u8).unwrap();
        let start = Instant::now();
        let total = futures::executor::block_on(async {
            let pending: Vec<_> = (0..OFFLOADS as u64)
                .map(|i| Box::pin(isolate_core::run_with_async(i, job)))
                .collect();
            let mut total = 0u64;
            for result in pending {
                total = total.wrapping_add(result.await.unwrap());
            }
            total
        });
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(total, expected);
        ms
    }
}

mod tokio_peer {
    use super::*;
    use tokio::sync::{mpsc, oneshot};

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread().build().unwrap()
    }

    pub fn spawn() -> Spawned {
        let rt = runtime();
        let mut senders = Vec::with_capacity(SPAWNS);
        let before = rss();
        let start = Instant::now();
        for _ in 0..SPAWNS {
            let (tx, mut rx) = mpsc::unbounded_channel::<oneshot::Sender<()>>();
            rt.spawn(async move {
                while let Some(reply) = rx.recv().await {
                    let _ = reply.send(());
                }
            });
            senders.push(tx);
        }
        let spawn_ns = start.elapsed().as_nanos() as f64 / SPAWNS as f64;
        let bytes_idle = (rss() - before) / SPAWNS as f64;
        let start = Instant::now();
        let answers: Vec<_> = senders
            .iter()
            .map(|tx| {
                let (reply, answer) = oneshot::channel();
                tx.send(reply).unwrap();
                answer
            })
            .collect();
        for answer in answers {
            answer.blocking_recv().unwrap();
        }
        let ask_ns = start.elapsed().as_nanos() as f64 / SPAWNS as f64;
        Spawned {
            spawn_ns,
            ask_ns,
            bytes_idle,
            bytes_after: (rss() - before) / SPAWNS as f64,
        }
    }

    pub fn ping_pong() -> f64 {
        let rt = runtime();
        rt.block_on(async {
            let (a_tx, mut a_rx) = mpsc::unbounded_channel::<u64>();
            let (b_tx, mut b_rx) = mpsc::unbounded_channel::<u64>();
            let (done_tx, done_rx) = oneshot::channel();
            let a_to_b = b_tx.clone();
            tokio::spawn(async move {
                while let Some(n) = a_rx.recv().await {
                    if n == 0 {
                        let _ = done_tx.send(());
                        return;
                    }
                    a_to_b.send(n - 1).unwrap();
                }
            });
            let b_to_a = a_tx.clone();
            tokio::spawn(async move {
                while let Some(n) = b_rx.recv().await {
                    if b_to_a.send(n.saturating_sub(1)).is_err() {
                        return;
                    }
                }
            });
            let start = Instant::now();
            a_tx.send(PING_PONG).unwrap();
            done_rx.await.unwrap();
            start.elapsed().as_nanos() as f64 / PING_PONG as f64
        })
    }

    fn skynet_node(num: u64, size: u64) -> tokio::task::JoinHandle<u64> {
        tokio::spawn(async move {
            if size == 1 {
                return num;
            }
            let step = size / 10;
            let children: Vec<_> = (0..10).map(|i| skynet_node(num + i * step, step)).collect();
            let mut sum = 0;
            for child in children {
                sum += child.await.unwrap();
            }
            sum
        })
    }

    pub fn skynet() -> f64 {
        let rt = runtime();
        let start = Instant::now();
        let sum = rt.block_on(async { skynet_node(0, 1_000_000).await.unwrap() });
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(sum, skynet_expected());
        ms
    }

    pub fn offload() -> f64 {
        let expected = offload_expected();
        let rt = runtime();
        let start = Instant::now();
        let total = rt.block_on(async {
            let handles: Vec<_> = (0..OFFLOADS as u64)
                .map(|i| tokio::spawn(async move { job(i) }))
                .collect();
            let mut total = 0u64;
            for handle in handles {
                total = total.wrapping_add(handle.await.unwrap());
            }
            total
        });
        let ms = start.elapsed().as_secs_f64() * 1e3;
        assert_eq!(total, expected);
        ms
    }
}
