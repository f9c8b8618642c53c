//! kameo actors (on tokio's multi-threaded runtime), with unbounded
//! mailboxes as isolates have by default.

use std::time::Instant;

use kameo::Actor;
use kameo::actor::{ActorRef, Spawn};
use kameo::error::Infallible;
use kameo::mailbox;
use kameo::message::{Context, Message};
use tokio::sync::oneshot;

use super::*;

pub struct Kameo;

impl Peer for Kameo {
    fn name(&self) -> &'static str {
        "kameo"
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
#[derive(Actor)]
struct Player {
    next: Option<ActorRef<Player>>,
    done: Option<oneshot::Sender<()>>,
}

struct Meet(ActorRef<Player>, Option<oneshot::Sender<()>>);
struct Ball(u64);

impl Message<Meet> for Player {
    type Reply = ();
    async fn handle(&mut self, Meet(next, done): Meet, _: &mut Context<Self, ()>) {
        self.next = Some(next);
        self.done = done;
    }
}

impl Message<Ball> for Player {
    type Reply = ();
    async fn handle(&mut self, Ball(n): Ball, _: &mut Context<Self, ()>) {
        if n == 0
            && let Some(done) = self.done.take()
        {
            let _ = done.send(());
            return;
        }
        if let Some(next) = &self.next {
            let _ = next.tell(Ball(n.saturating_sub(1))).try_send();
        }
    }
}

/// `players` actors in a ring, a ball passed `hops` times: ping-pong is a
/// ring of two.
fn passing(players: usize, hops: usize) -> f64 {
    tokio_runtime().block_on(async {
        let refs: Vec<ActorRef<Player>> = (0..players)
            .map(|_| {
                Player::spawn_with_mailbox(
                    Player {
                        next: None,
                        done: None,
                    },
                    mailbox::unbounded(),
                )
            })
            .collect();
        let (done, finished) = oneshot::channel();
        let mut done = Some(done);
        for (i, player) in refs.iter().enumerate() {
            let finish = if i == 0 { done.take() } else { None };
            player
                .tell(Meet(refs[(i + 1) % players].clone(), finish))
                .await
                .unwrap();
        }
        let start = Instant::now();
        refs[0].tell(Ball(hops as u64)).await.unwrap();
        finished.await.unwrap();
        ns_per(start, hops as u64)
    })
}

/// A skynet node: a leaf tells its parent its number; an inner node spawns
/// ten children on start, sums what they tell it, tells its parent the sum
/// and stops.
struct Skynet {
    parent: Option<Parent>,
    sum: u64,
    pending: u8,
}

/// Whom a node answers: its parent node, or the caller for the root.
enum Parent {
    Node(ActorRef<Skynet>),
    Caller(oneshot::Sender<u64>),
}

impl Parent {
    async fn answer(self, sum: u64) {
        match self {
            Parent::Node(node) => node.tell(Partial(sum)).await.unwrap(),
            Parent::Caller(caller) => caller.send(sum).unwrap(),
        }
    }
}

/// A child's sum.
struct Partial(u64);

impl Actor for Skynet {
    /// (num, size, parent)
    type Args = (u64, u64, Parent);
    type Error = Infallible;

    async fn on_start(
        (num, size, parent): Self::Args,
        me: ActorRef<Self>,
    ) -> Result<Self, Infallible> {
        if size == 1 {
            parent.answer(num).await;
            me.stop_gracefully().await.unwrap();
            return Ok(Skynet {
                parent: None,
                sum: num,
                pending: 0,
            });
        }
        let step = size / 10;
        for i in 0..10 {
            Skynet::spawn_with_mailbox(
                (num + i * step, step, Parent::Node(me.clone())),
                mailbox::unbounded(),
            );
        }
        Ok(Skynet {
            parent: Some(parent),
            sum: 0,
            pending: 10,
        })
    }
}

impl Message<Partial> for Skynet {
    type Reply = ();
    async fn handle(&mut self, Partial(n): Partial, ctx: &mut Context<Self, ()>) {
        self.sum += n;
        self.pending -= 1;
        if self.pending == 0 {
            if let Some(parent) = self.parent.take() {
                parent.answer(self.sum).await;
            }
            ctx.stop();
        }
    }
}

fn skynet() -> f64 {
    let rt = tokio_runtime();
    let start = Instant::now();
    let sum = rt.block_on(async {
        let (caller, answer) = oneshot::channel();
        Skynet::spawn_with_mailbox((0, 1_000_000, Parent::Caller(caller)), mailbox::unbounded());
        answer.await.unwrap()
    });
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, skynet_expected());
    ms
}

/// Sums what it is told; answers asks.
#[derive(Actor, Default)]
struct Sink {
    sum: u64,
    seen: u64,
}

struct Add(u64);
struct Sum;
struct Echo(u64);

impl Message<Add> for Sink {
    type Reply = ();
    async fn handle(&mut self, Add(n): Add, _: &mut Context<Self, ()>) {
        self.sum += n;
        self.seen += 1;
    }
}

impl Message<Sum> for Sink {
    type Reply = (u64, u64);
    async fn handle(&mut self, _: Sum, _: &mut Context<Self, (u64, u64)>) -> (u64, u64) {
        (self.sum, self.seen)
    }
}

impl Message<Echo> for Sink {
    type Reply = u64;
    async fn handle(&mut self, Echo(n): Echo, _: &mut Context<Self, u64>) -> u64 {
        n
    }
}

fn fan_in() -> f64 {
    tokio_runtime().block_on(async {
        let sink = Sink::spawn_with_mailbox(Sink::default(), mailbox::unbounded());
        let start = Instant::now();
        let producers: Vec<_> = (0..2)
            .map(|_| {
                let sink = sink.clone();
                tokio::spawn(async move {
                    for n in 0..FAN_IN {
                        sink.tell(Add(n)).try_send().unwrap();
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
        assert_eq!(
            sink.ask(Sum).await.unwrap(),
            (fan_in_expected(), 2 * FAN_IN)
        );
        ns_per(start, 2 * FAN_IN)
    })
}

/// Asks from a plain thread (kameo's `blocking_send`), one at a time.
fn ask() -> f64 {
    let rt = tokio_runtime();
    let sink =
        rt.block_on(async { Sink::spawn_with_mailbox(Sink::default(), mailbox::unbounded()) });
    let start = Instant::now();
    for n in 0..ASKS {
        assert_eq!(sink.ask(Echo(n)).blocking_send().unwrap(), n);
    }
    ns_per(start, ASKS)
}

/// An actor that only answers pings.
#[derive(Actor)]
struct Idle;

struct Ping;

impl Message<Ping> for Idle {
    type Reply = ();
    async fn handle(&mut self, _: Ping, _: &mut Context<Self, ()>) {}
}

fn spawn() -> Spawned {
    let rt = tokio_runtime();
    let _guard = rt.enter();
    let before = rss();
    let start = Instant::now();
    let refs: Vec<ActorRef<Idle>> = (0..SPAWNS)
        .map(|_| Idle::spawn_with_mailbox(Idle, mailbox::unbounded()))
        .collect();
    let spawn_ns = ns_per(start, SPAWNS as u64);
    let bytes_idle = (rss() - before) / SPAWNS as f64;
    let start = Instant::now();
    rt.block_on(async {
        let asks: Vec<_> = refs
            .iter()
            .map(|actor| {
                let actor = actor.clone();
                tokio::spawn(async move { actor.ask(Ping).await.unwrap() })
            })
            .collect();
        for ask in asks {
            ask.await.unwrap();
        }
    });
    Spawned {
        spawn_ns,
        ask_ns: ns_per(start, SPAWNS as u64),
        bytes_idle,
        bytes_after: (rss() - before) / SPAWNS as f64,
    }
}
