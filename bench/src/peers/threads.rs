//! One OS thread per actor, with flume channels: what isolates replace.

use std::time::Instant;

use super::*;

pub struct Threads;

impl Peer for Threads {
    fn name(&self) -> &'static str {
        "threads+flume"
    }

    fn workloads(&self) -> &'static [&'static str] {
        &["ping-pong", "ring-100", "fan-in", "ask", "tells"]
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "ping-pong" => passing(2, PING_PONG as usize),
            // 10,000 threads is what an isolate avoids; a ring of 100 is
            // the comparison a thread can make.
            "ring-100" => passing(100, 100 * RING_ROUNDS * 10),
            "fan-in" => fan_in(),
            "tells" => tells(),
            "ask" => ask(),
            other => panic!("threads+flume does not run {other}"),
        }
    }
}

/// `players` threads in a ring, a ball passed `hops` times.
fn passing(players: usize, hops: usize) -> f64 {
    let channels: Vec<_> = (0..players).map(|_| flume::unbounded::<u64>()).collect();
    let (done, finished) = flume::bounded::<()>(1);
    let threads: Vec<_> = channels
        .iter()
        .enumerate()
        .map(|(i, (_, rx))| {
            let rx = rx.clone();
            let next = channels[(i + 1) % players].0.clone();
            let done = (i == 0).then(|| done.clone());
            std::thread::spawn(move || {
                while let Ok(n) = rx.recv() {
                    if n == u64::MAX {
                        return;
                    }
                    if n == 0
                        && let Some(done) = &done
                    {
                        let _ = done.send(());
                        continue;
                    }
                    let _ = next.send(n.saturating_sub(1));
                }
            })
        })
        .collect();
    let start = Instant::now();
    channels[0].0.send(hops as u64).unwrap();
    finished.recv().unwrap();
    let figure = ns_per(start, hops as u64);
    for (tx, _) in &channels {
        let _ = tx.send(u64::MAX);
    }
    for thread in threads {
        thread.join().unwrap();
    }
    figure
}

/// The consumer of `fan-in` and `tells`: sums what it receives, and counts it.
fn summed(rx: &flume::Receiver<u64>) -> (u64, u64) {
    let (mut sum, mut seen) = (0, 0);
    while let Ok(n) = rx.recv() {
        sum += n;
        seen += 1;
    }
    (sum, seen)
}

fn fan_in() -> f64 {
    let (tx, rx) = flume::unbounded::<u64>();
    let consumer = std::thread::spawn(move || summed(&rx));
    let start = Instant::now();
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for n in 0..FAN_IN {
                    tx.send(n).unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    for producer in producers {
        producer.join().unwrap();
    }
    assert_eq!(consumer.join().unwrap(), (fan_in_expected(), 2 * FAN_IN));
    ns_per(start, 2 * FAN_IN)
}

/// Tells from this thread into a consumer thread.
fn tells() -> f64 {
    let (tx, rx) = flume::unbounded::<u64>();
    let consumer = std::thread::spawn(move || summed(&rx));
    let start = Instant::now();
    for n in 0..TELLS {
        tx.send(n).unwrap();
    }
    drop(tx);
    let sum = consumer.join().unwrap();
    let figure = ns_per(start, TELLS);
    assert_eq!(sum, ((0..TELLS).sum(), TELLS));
    figure
}

fn ask() -> f64 {
    let (tx, rx) = flume::unbounded::<(u64, flume::Sender<u64>)>();
    let server = std::thread::spawn(move || {
        while let Ok((n, reply)) = rx.recv() {
            let _ = reply.send(n);
        }
    });
    let start = Instant::now();
    for n in 0..ASKS {
        let (reply, answer) = flume::bounded(1);
        tx.send((n, reply)).unwrap();
        assert_eq!(answer.recv(), Ok(n));
    }
    let figure = ns_per(start, ASKS);
    drop(tx);
    server.join().unwrap();
    figure
}
