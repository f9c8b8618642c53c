//! tokio tasks, each looping over an `mpsc` channel: the async ecosystem's
//! usual actor without a framework.

use std::time::Instant;

use super::*;

pub struct Tokio;

impl Peer for Tokio {
    fn name(&self) -> &'static str {
        "tokio"
    }

    fn workloads(&self) -> &'static [&'static str] {
        &[
            "spawn",
            "first-message",
            "memory",
            "memory-after-message",
            "ping-pong",
            "ring",
            "skynet",
            "fan-in",
            "ask",
            "tells",
            "offload",
        ]
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "ping-pong" => ping_pong(),
            "ring" => ring(),
            "skynet" => skynet(),
            "fan-in" => fan_in(),
            "ask" => ask(),
            "tells" => tells(),
            "offload" => offload(),
            spawn_workload => spawn().figure(spawn_workload),
        }
    }
}

use tokio::sync::{mpsc, oneshot};

fn spawn() -> Spawned {
    let rt = tokio_runtime();
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

fn ping_pong() -> f64 {
    let rt = tokio_runtime();
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

fn skynet() -> f64 {
    let rt = tokio_runtime();
    let start = Instant::now();
    let sum = rt.block_on(async { skynet_node(0, 1_000_000).await.unwrap() });
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, skynet_expected());
    ms
}

fn offload() -> f64 {
    let expected = offload_expected();
    let rt = tokio_runtime();
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

/// A ring of tasks, each forwarding to the next over an unbounded channel.
fn ring() -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async {
        let (done_tx, done_rx) = oneshot::channel::<u64>();
        let mut done_tx = Some(done_tx);
        let channels: Vec<_> = (0..RING)
            .map(|_| mpsc::unbounded_channel::<u64>())
            .collect();
        let senders: Vec<_> = channels.iter().map(|(tx, _)| tx.clone()).collect();
        for (i, (_, mut rx)) in channels.into_iter().enumerate() {
            let next = senders[(i + 1) % RING].clone();
            let mut done = if i == 0 { done_tx.take() } else { None };
            tokio::spawn(async move {
                while let Some(n) = rx.recv().await {
                    if n == 0
                        && let Some(done) = done.take()
                    {
                        let _ = done.send(n);
                        return;
                    }
                    let _ = next.send(n.saturating_sub(1));
                }
            });
        }
        let hops = (RING * RING_ROUNDS) as u64;
        let start = Instant::now();
        senders[0].send(hops).unwrap();
        assert_eq!(done_rx.await, Ok(0));
        ns_per(start, hops)
    })
}

/// The consumer task of `fan-in` and `tells`: sums what it receives, and
/// counts it.
async fn summed(mut rx: mpsc::UnboundedReceiver<u64>) -> (u64, u64) {
    let (mut sum, mut seen) = (0, 0);
    while let Some(n) = rx.recv().await {
        sum += n;
        seen += 1;
    }
    (sum, seen)
}

/// Two producer tasks, one consumer task.
fn fan_in() -> f64 {
    let rt = tokio_runtime();
    rt.block_on(async {
        let (tx, rx) = mpsc::unbounded_channel::<u64>();
        let consumer = tokio::spawn(summed(rx));
        let start = Instant::now();
        for _ in 0..2 {
            let tx = tx.clone();
            tokio::spawn(async move {
                for n in 0..FAN_IN {
                    tx.send(n).unwrap();
                }
            });
        }
        drop(tx);
        assert_eq!(consumer.await.unwrap(), (fan_in_expected(), 2 * FAN_IN));
        ns_per(start, 2 * FAN_IN)
    })
}

/// Tells from a plain thread into a task that sums them.
fn tells() -> f64 {
    let rt = tokio_runtime();
    let (tx, rx) = mpsc::unbounded_channel::<u64>();
    let consumer = rt.spawn(summed(rx));
    let start = Instant::now();
    for n in 0..TELLS {
        tx.send(n).unwrap();
    }
    drop(tx);
    let sum = rt.block_on(consumer).unwrap();
    let figure = ns_per(start, TELLS);
    assert_eq!(sum, ((0..TELLS).sum(), TELLS));
    figure
}

/// Asks from a plain thread (the bench's main thread), one at a time.
fn ask() -> f64 {
    let rt = tokio_runtime();
    let (tx, mut rx) = mpsc::unbounded_channel::<(u64, oneshot::Sender<u64>)>();
    rt.spawn(async move {
        while let Some((n, reply)) = rx.recv().await {
            let _ = reply.send(n);
        }
    });
    let start = Instant::now();
    for n in 0..ASKS {
        let (reply, answer) = oneshot::channel();
        tx.send((n, reply)).unwrap();
        assert_eq!(answer.blocking_recv(), Ok(n));
    }
    ns_per(start, ASKS)
}
