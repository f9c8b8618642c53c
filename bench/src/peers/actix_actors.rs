//! actix actors: each system runs its actors on one thread (an arbiter),
//! so passing is local to that thread; asks from outside cross to it.

use std::time::Instant;

use actix::prelude::*;
use tokio::sync::oneshot;

use super::*;

pub struct Actix;

impl Peer for Actix {
    fn name(&self) -> &'static str {
        "actix"
    }

    fn workloads(&self) -> &'static [&'static str] {
        ACTOR_WORKLOADS
    }

    fn run(&self, workload: &str) -> f64 {
        match workload {
            "ping-pong" => passing(2, PING_PONG as usize),
            "ring" => passing(RING, RING * RING_ROUNDS),
            "skynet" => skynet(),
            "fan-in" => fan_in(),
            "ask" => ask(),
            spawn_workload => spawn().figure(spawn_workload),
        }
    }
}

/// Passes a ball to the next player until its hops run out.
struct Player {
    next: Option<Addr<Player>>,
    done: Option<oneshot::Sender<()>>,
}

impl Actor for Player {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Meet(Addr<Player>, Option<oneshot::Sender<()>>);

#[derive(Message)]
#[rtype(result = "()")]
struct Ball(u64);

impl Handler<Meet> for Player {
    type Result = ();
    fn handle(&mut self, Meet(next, done): Meet, _: &mut Context<Self>) {
        self.next = Some(next);
        self.done = done;
    }
}

impl Handler<Ball> for Player {
    type Result = ();
    fn handle(&mut self, Ball(n): Ball, _: &mut Context<Self>) {
        if n == 0
            && let Some(done) = self.done.take()
        {
            let _ = done.send(());
            return;
        }
        if let Some(next) = &self.next {
            next.do_send(Ball(n.saturating_sub(1)));
        }
    }
}

/// `players` actors in a ring, a ball passed `hops` times: ping-pong is a
/// ring of two.
fn passing(players: usize, hops: usize) -> f64 {
    System::new().block_on(async {
        let addrs: Vec<Addr<Player>> = (0..players)
            .map(|_| {
                Player {
                    next: None,
                    done: None,
                }
                .start()
            })
            .collect();
        let (done, finished) = oneshot::channel();
        let mut done = Some(done);
        for (i, player) in addrs.iter().enumerate() {
            let finish = if i == 0 { done.take() } else { None };
            player.do_send(Meet(addrs[(i + 1) % players].clone(), finish));
        }
        let start = Instant::now();
        addrs[0].do_send(Ball(hops as u64));
        finished.await.unwrap();
        ns_per(start, hops as u64)
    })
}

/// A skynet node: a leaf tells its parent its number; an inner node spawns
/// ten children when started, sums what they tell it, tells its parent the
/// sum and stops.
struct Skynet {
    num: u64,
    size: u64,
    parent: Option<Parent>,
    sum: u64,
    pending: u8,
}

/// Whom a node answers: its parent node, or the caller for the root.
enum Parent {
    Node(Addr<Skynet>),
    Caller(oneshot::Sender<u64>),
}

impl Parent {
    fn answer(self, sum: u64) {
        match self {
            Parent::Node(node) => node.do_send(Partial(sum)),
            Parent::Caller(caller) => caller.send(sum).unwrap(),
        }
    }
}

impl Skynet {
    fn new(num: u64, size: u64, parent: Parent) -> Self {
        Skynet {
            num,
            size,
            parent: Some(parent),
            sum: 0,
            pending: 10,
        }
    }
}

/// A child's sum.
#[derive(Message)]
#[rtype(result = "()")]
struct Partial(u64);

impl Actor for Skynet {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Context<Self>) {
        if self.size == 1 {
            if let Some(parent) = self.parent.take() {
                parent.answer(self.num);
            }
            ctx.stop();
            return;
        }
        let step = self.size / 10;
        for i in 0..10 {
            let parent = Parent::Node(ctx.address());
            Skynet::new(self.num + i * step, step, parent).start();
        }
    }
}

impl Handler<Partial> for Skynet {
    type Result = ();
    fn handle(&mut self, Partial(n): Partial, ctx: &mut Context<Self>) {
        self.sum += n;
        self.pending -= 1;
        if self.pending == 0 {
            if let Some(parent) = self.parent.take() {
                parent.answer(self.sum);
            }
            ctx.stop();
        }
    }
}

fn skynet() -> f64 {
    let system = System::new();
    let start = Instant::now();
    let sum = system.block_on(async {
        let (caller, answer) = oneshot::channel();
        Skynet::new(0, 1_000_000, Parent::Caller(caller)).start();
        answer.await.unwrap()
    });
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, skynet_expected());
    ms
}

/// Sums what it is told; answers asks.
#[derive(Default)]
struct Sink {
    sum: u64,
    seen: u64,
}

impl Actor for Sink {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Add(u64);

#[derive(Message)]
#[rtype(result = "(u64, u64)")]
struct Sum;

#[derive(Message)]
#[rtype(result = "u64")]
struct Echo(u64);

impl Handler<Add> for Sink {
    type Result = ();
    fn handle(&mut self, Add(n): Add, _: &mut Context<Self>) {
        self.sum += n;
        self.seen += 1;
    }
}

impl Handler<Sum> for Sink {
    type Result = MessageResult<Sum>;
    fn handle(&mut self, _: Sum, _: &mut Context<Self>) -> MessageResult<Sum> {
        MessageResult((self.sum, self.seen))
    }
}

impl Handler<Echo> for Sink {
    type Result = MessageResult<Echo>;
    fn handle(&mut self, Echo(n): Echo, _: &mut Context<Self>) -> MessageResult<Echo> {
        MessageResult(n)
    }
}

/// Starts a `Sink` in a system on its own thread and hands back its address.
fn sink_in_a_thread() -> Addr<Sink> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        System::new().block_on(async move {
            tx.send(Sink::default().start()).unwrap();
            std::future::pending::<()>().await;
        });
    });
    rx.recv().unwrap()
}

/// Two producer threads, one consumer actor.
fn fan_in() -> f64 {
    let sink = sink_in_a_thread();
    let start = Instant::now();
    let producers: Vec<_> = (0..2)
        .map(|_| {
            let sink = sink.clone();
            std::thread::spawn(move || {
                for n in 0..FAN_IN {
                    sink.do_send(Add(n));
                }
            })
        })
        .collect();
    for producer in producers {
        producer.join().unwrap();
    }
    let sum = futures::executor::block_on(sink.send(Sum)).unwrap();
    assert_eq!(sum, (fan_in_expected(), 2 * FAN_IN));
    ns_per(start, 2 * FAN_IN)
}

/// Asks from a plain thread, one at a time.
fn ask() -> f64 {
    let sink = sink_in_a_thread();
    let start = Instant::now();
    for n in 0..ASKS {
        assert_eq!(futures::executor::block_on(sink.send(Echo(n))), Ok(n));
    }
    ns_per(start, ASKS)
}

/// An actor that only answers pings.
struct Idle;

impl Actor for Idle {
    type Context = Context<Self>;
}

#[derive(Message)]
#[rtype(result = "()")]
struct Ping;

impl Handler<Ping> for Idle {
    type Result = ();
    fn handle(&mut self, _: Ping, _: &mut Context<Self>) {}
}

fn spawn() -> Spawned {
    System::new().block_on(async {
        let before = rss();
        let start = Instant::now();
        let addrs: Vec<Addr<Idle>> = (0..SPAWNS).map(|_| Idle.start()).collect();
        let spawn_ns = ns_per(start, SPAWNS as u64);
        let bytes_idle = (rss() - before) / SPAWNS as f64;
        let start = Instant::now();
        let asks: Vec<_> = addrs.iter().map(|addr| addr.send(Ping)).collect();
        for ask in asks {
            ask.await.unwrap();
        }
        Spawned {
            spawn_ns,
            ask_ns: ns_per(start, SPAWNS as u64),
            bytes_idle,
            bytes_after: (rss() - before) / SPAWNS as f64,
        }
    })
}
