//! This project: isolates written with `#[isolate]` (or by hand, as
//! `Isolate` impls), and `spawn_fn` isolates fed through `ReceivePort`s.

use std::time::Instant;

use isolate_core::prelude::*;

use super::*;

pub struct Isolates;

impl Peer for Isolates {
    fn name(&self) -> &'static str {
        "isolates"
    }

    fn workloads(&self) -> &'static [&'static str] {
        &[
            "spawn",
            "first-message",
            "memory",
            "memory-after-message",
            "ping-pong",
            "ping-pong-pinned",
            "ring",
            "skynet",
            "fan-in",
            "ask",
            "tells",
            "offload",
            "offload-each",
            "hop-64-bytes",
            "hop-vec-64mib",
            "hop-shared-64mib",
            "spawn-in-group",
            "new-group",
        ]
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "hop-64-bytes" => hop_64_bytes(),
            "hop-vec-64mib" => hop_vec_64mib(),
            "hop-shared-64mib" => hop_shared_64mib(),
            "spawn-in-group" => spawn_in_group(),
            "new-group" => new_group(),
            "ping-pong" => ping_pong(),
            "ping-pong-pinned" => ping_pong_pinned(),
            "ring" => ring(),
            "skynet" => skynet(),
            "fan-in" => fan_in(),
            "ask" => ask(),
            "tells" => tells(),
            "offload" => offload(),
            "offload-each" => offload_each(),
            spawn_workload => spawn().figure(spawn_workload),
        }
    }
}

/// Isolates written as `spawn_fn` entry functions that loop over a
/// `ReceivePort`: Dart's shape.
pub struct SpawnFn;

impl Peer for SpawnFn {
    fn name(&self) -> &'static str {
        "isolates-spawn_fn"
    }

    fn workloads(&self) -> &'static [&'static str] {
        &["ping-pong", "ring"]
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "ping-pong" => spawn_fn_ping_pong(),
            "ring" => spawn_fn_ring(),
            other => panic!("isolates-spawn_fn does not run {other}"),
        }
    }
}

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

fn spawn() -> Spawned {
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

fn ping_pong() -> f64 {
    let group = IsolateGroup::new();
    let player = || Player {
        other: None,
        done: None,
    };
    rally(group.spawn(player()), group.spawn(player()))
}

/// Hits a ball `PING_PONG` times between two players; ns per hit.
fn rally(a: SendPort<Ball>, b: SendPort<Ball>) -> f64 {
    let (done, finished) = Reply::channel();
    a.send(Ball::Meet(b.clone(), Some(done))).unwrap();
    b.send(Ball::Meet(a.clone(), None)).unwrap();
    let start = Instant::now();
    // Even count: the last hit (n = 0) lands on `a`, which holds `done`.
    a.send(Ball::Hit(PING_PONG)).unwrap();
    finished.wait().unwrap();
    start.elapsed().as_nanos() as f64 / PING_PONG as f64
}

/// As `ping_pong`, with both players pinned: homes go round-robin, so on
/// two workers each player lives on its own and every hop crosses threads.
fn ping_pong_pinned() -> f64 {
    let group = IsolateGroup::new();
    let player = |()| Player {
        other: None,
        done: None,
    };
    rally(
        group.spawn_pinned(player, ()),
        group.spawn_pinned(player, ()),
    )
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

fn skynet() -> f64 {
    let group = IsolateGroup::new();
    let start = Instant::now();
    let (reply_to, reply) = Reply::channel();
    group.spawn_fn(skynet_node, (0, 1_000_000, reply_to));
    let sum = reply.wait().unwrap();
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, skynet_expected());
    ms
}

/// `run_many`: every computation in its own isolate, the caller woken once.
fn offload() -> f64 {
    let expected = offload_expected();
    // Warm the global group up, as rayon's pool is built before timing.
    isolate_core::run(|| 0u8).unwrap();
    let start = Instant::now();
    let total = isolate_core::run_many(0..OFFLOADS as u64, job)
        .wait()
        .unwrap()
        .into_iter()
        .fold(0, u64::wrapping_add);
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(total, expected);
    ms
}

/// Dart's shape: one `run` future per computation, awaited in order, so
/// the waiting thread wakes once per result.
fn offload_each() -> f64 {
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

/// A member of the ring: passes the token on until its hops run out.
#[isolate]
struct Member {
    next: Option<MemberPort>,
    finish: SendPort<u64>,
}

#[isolate]
impl Member {
    #[message]
    fn link(&mut self, next: MemberPort) {
        self.next = Some(next);
    }

    #[message]
    fn token(&mut self, hops_left: u64) {
        match (&self.next, hops_left) {
            (Some(next), 1..) => {
                let _ = next.token(hops_left - 1);
            }
            _ => {
                let _ = self.finish.send(hops_left);
            }
        }
    }
}

fn ring() -> f64 {
    let group = IsolateGroup::new();
    let mut finish = ReceivePort::new();
    let ring: Vec<MemberPort> = (0..RING)
        .map(|_| {
            group.spawn(Member {
                next: None,
                finish: finish.send_port(),
            })
        })
        .collect();
    for (i, member) in ring.iter().enumerate() {
        member.link(ring[(i + 1) % RING].clone()).unwrap();
    }
    let hops = (RING * RING_ROUNDS) as u64;
    let start = Instant::now();
    ring[0].token(hops).unwrap();
    assert_eq!(finish.recv(), Ok(0));
    ns_per(start, hops)
}

/// Sums what it is sent; answers the sum when asked.
#[isolate]
#[derive(Default)]
struct Sink {
    sum: u64,
    seen: u64,
}

#[isolate]
impl Sink {
    #[message]
    fn add(&mut self, n: u64) {
        self.sum += n;
        self.seen += 1;
    }

    #[message]
    fn sum(&self) -> (u64, u64) {
        (self.sum, self.seen)
    }

    #[message]
    fn echo(&self, n: u64) -> u64 {
        n
    }
}

async fn producer(job: (SinkPort, SendPort<()>)) {
    let (sink, done) = job;
    for n in 0..FAN_IN {
        sink.add(n).unwrap();
    }
    let _ = done.send(());
}

fn fan_in() -> f64 {
    let group = IsolateGroup::new();
    let sink = group.spawn(Sink::default());
    let mut done = ReceivePort::new();
    let start = Instant::now();
    for _ in 0..2 {
        group.spawn_fn(producer, (sink.clone(), done.send_port()));
    }
    done.recv().unwrap();
    done.recv().unwrap();
    assert_eq!(sink.sum().wait(), Ok((fan_in_expected(), 2 * FAN_IN)));
    ns_per(start, 2 * FAN_IN)
}

/// Tells from a plain thread into the sink while it drains them.
fn tells() -> f64 {
    let group = IsolateGroup::new();
    let sink = group.spawn(Sink::default());
    let start = Instant::now();
    for n in 0..TELLS {
        sink.add(n).unwrap();
    }
    assert_eq!(sink.sum().wait(), Ok(((0..TELLS).sum(), TELLS)));
    ns_per(start, TELLS)
}

/// Asks from a plain thread, one at a time.
fn ask() -> f64 {
    let group = IsolateGroup::new();
    let sink = group.spawn(Sink::default());
    let start = Instant::now();
    for n in 0..ASKS {
        assert_eq!(sink.echo(n).wait(), Ok(n));
    }
    ns_per(start, ASKS)
}

/// What a `spawn_fn` player or ring member is sent.
#[message]
enum Hit {
    /// Who to pass to, and (for the one that ends it) who to tell.
    Meet(SendPort<Hit>, Option<ReplySender<()>>),
    Ball(u64),
}

/// Dart's shape: the entry makes its own `ReceivePort`, hands back a
/// `SendPort` to it, then loops.
async fn player(handshake: SendPort<SendPort<Hit>>) {
    let mut inbox = ReceivePort::new();
    let _ = handshake.send(inbox.send_port());
    let (mut next, mut done) = (None, None);
    while let Ok(hit) = inbox.recv_async().await {
        match (hit, &next) {
            (Hit::Meet(other, finish), _) => (next, done) = (Some(other), finish),
            (Hit::Ball(0), _) if done.is_some() => {
                if let Some(done) = done.take() {
                    done.send(());
                }
                return;
            }
            (Hit::Ball(n), Some(next)) => {
                let _ = next.send(Hit::Ball(n.saturating_sub(1)));
            }
            (Hit::Ball(_), None) => unreachable!("a ball before the meeting"),
        }
    }
}

/// `count` players, each passing to the next (the last to the first).
fn players(group: &IsolateGroup, count: usize, done: ReplySender<()>) -> Vec<SendPort<Hit>> {
    let mut handshake = ReceivePort::new();
    let ports: Vec<SendPort<Hit>> = (0..count)
        .map(|_| {
            group.spawn_fn(player, handshake.send_port());
            handshake.recv().unwrap()
        })
        .collect();
    let mut done = Some(done);
    for (i, port) in ports.iter().enumerate() {
        // The first player ends the game.
        let finish = if i == 0 { done.take() } else { None };
        port.send(Hit::Meet(ports[(i + 1) % count].clone(), finish))
            .unwrap();
    }
    ports
}

fn spawn_fn_ping_pong() -> f64 {
    let group = IsolateGroup::new();
    let (done, finished) = Reply::channel();
    let ports = players(&group, 2, done);
    let start = Instant::now();
    // Even: the hit that reaches 0 lands on the first player.
    ports[0].send(Hit::Ball(PING_PONG)).unwrap();
    finished.wait().unwrap();
    ns_per(start, PING_PONG)
}

fn spawn_fn_ring() -> f64 {
    let group = IsolateGroup::new();
    let (done, finished) = Reply::channel();
    let ports = players(&group, RING, done);
    let hops = (RING * RING_ROUNDS) as u64;
    let start = Instant::now();
    // A multiple of the ring's size: the last hop lands on the first.
    ports[0].send(Hit::Ball(hops)).unwrap();
    finished.wait().unwrap();
    ns_per(start, hops)
}

/// Carries a payload back and forth between two isolates.
#[message]
struct Bouncer<P: Send + 'static> {
    other: Option<SendPort<Bounce<P>>>,
    done: Option<ReplySender<P>>,
}

#[message]
enum Bounce<P: Send + 'static> {
    Meet(SendPort<Bounce<P>>, Option<ReplySender<P>>),
    Carry(P, u64),
}

impl<P: Sendable> Isolate for Bouncer<P> {
    type Message = Bounce<P>;
    type Port = SendPort<Bounce<P>>;

    fn handle(&mut self, message: Bounce<P>) -> Handled<'_> {
        match message {
            Bounce::Meet(other, done) => (self.other, self.done) = (Some(other), done),
            Bounce::Carry(payload, 0) if self.done.is_some() => {
                if let Some(done) = self.done.take() {
                    done.send(payload);
                }
            }
            Bounce::Carry(payload, n) => {
                if let Some(other) = &self.other {
                    let _ = other.send(Bounce::Carry(payload, n.saturating_sub(1)));
                }
            }
        }
        Handled::Done
    }
}

/// ns per hop of `payload` between two isolates, 100,000 hops; gives the
/// payload back for checking.
fn bounce<P: Sendable>(payload: P) -> (f64, P) {
    const HOPS: u64 = 100_000;
    let group = IsolateGroup::new();
    let a = group.spawn(Bouncer::<P> {
        other: None,
        done: None,
    });
    let b = group.spawn(Bouncer::<P> {
        other: None,
        done: None,
    });
    let (done, finished) = Reply::channel();
    a.send(Bounce::Meet(b.clone(), Some(done))).unwrap();
    b.send(Bounce::Meet(a.clone(), None)).unwrap();
    let start = Instant::now();
    // Even: the last hop lands on `a`.
    a.send(Bounce::Carry(payload, HOPS)).unwrap();
    let payload = finished.wait().unwrap();
    (ns_per(start, HOPS), payload)
}

fn hop_64_bytes() -> f64 {
    let (figure, payload) = bounce([7u8; 64]);
    assert_eq!(payload, [7u8; 64]);
    figure
}

fn hop_vec_64mib() -> f64 {
    let (figure, payload) = bounce(vec![7u8; 64 << 20]);
    assert_eq!(
        (payload.len(), payload[0], payload[(64 << 20) - 1]),
        (64 << 20, 7, 7)
    );
    figure
}

fn hop_shared_64mib() -> f64 {
    let shared = Shared::new(vec![7u8; 64 << 20]);
    let (figure, payload) = bounce(shared.clone());
    assert!(
        Shared::ptr_eq(&shared, &payload),
        "the same allocation came back"
    );
    figure
}

/// ns per isolate spawned into an existing group (each is asked once
/// afterwards, untimed, to check that it runs).
fn spawn_in_group() -> f64 {
    const SPAWNS_HERE: usize = 10_000;
    let group = IsolateGroup::new();
    let start = Instant::now();
    let sinks: Vec<SinkPort> = (0..SPAWNS_HERE)
        .map(|_| group.spawn(Sink::default()))
        .collect();
    let figure = ns_per(start, SPAWNS_HERE as u64);
    for (n, sink) in (0..).zip(&sinks) {
        assert_eq!(sink.echo(n).wait(), Ok(n));
    }
    figure
}

/// ns per new group (its worker threads started) with one isolate spawned
/// into it: Dart's spawn of a new isolate group. Each is asked once and
/// dropped afterwards, untimed.
fn new_group() -> f64 {
    const GROUPS: u32 = 200;
    let mut timed = std::time::Duration::ZERO;
    for n in 0..u64::from(GROUPS) {
        let start = Instant::now();
        let group = IsolateGroup::new();
        let sink = group.spawn(Sink::default());
        timed += start.elapsed();
        assert_eq!(sink.echo(n).wait(), Ok(n));
    }
    timed.as_nanos() as f64 / f64::from(GROUPS)
}
