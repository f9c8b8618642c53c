//! ractor actors (on tokio's multi-threaded runtime).

use std::time::Instant;

use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::oneshot;

use super::*;

pub struct Ractor;

impl Peer for Ractor {
    fn name(&self) -> &'static str {
        "ractor"
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
struct Player;

enum Hit {
    Meet(ActorRef<Hit>, Option<oneshot::Sender<()>>),
    Ball(u64),
}

#[derive(Default)]
struct Seat {
    next: Option<ActorRef<Hit>>,
    done: Option<oneshot::Sender<()>>,
}

impl Actor for Player {
    type Msg = Hit;
    type State = Seat;
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Hit>, _: ()) -> Result<Seat, ActorProcessingErr> {
        Ok(Seat::default())
    }

    async fn handle(
        &self,
        _: ActorRef<Hit>,
        hit: Hit,
        seat: &mut Seat,
    ) -> Result<(), ActorProcessingErr> {
        match hit {
            Hit::Meet(next, done) => (seat.next, seat.done) = (Some(next), done),
            Hit::Ball(0) if seat.done.is_some() => {
                if let Some(done) = seat.done.take() {
                    let _ = done.send(());
                }
            }
            Hit::Ball(n) => {
                if let Some(next) = &seat.next {
                    let _ = next.cast(Hit::Ball(n.saturating_sub(1)));
                }
            }
        }
        Ok(())
    }
}

/// `players` actors in a ring, a ball passed `hops` times: ping-pong is a
/// ring of two.
fn passing(players: usize, hops: usize) -> f64 {
    tokio_runtime().block_on(async {
        let mut refs = Vec::with_capacity(players);
        for _ in 0..players {
            let (actor, _) = Actor::spawn(None, Player, ()).await.unwrap();
            refs.push(actor);
        }
        let (done, finished) = oneshot::channel();
        let mut done = Some(done);
        for (i, player) in refs.iter().enumerate() {
            let finish = if i == 0 { done.take() } else { None };
            player
                .cast(Hit::Meet(refs[(i + 1) % players].clone(), finish))
                .unwrap();
        }
        let start = Instant::now();
        refs[0].cast(Hit::Ball(hops as u64)).unwrap();
        finished.await.unwrap();
        let figure = ns_per(start, hops as u64);
        for player in refs {
            player.stop(None);
        }
        figure
    })
}

/// A skynet node: a leaf tells its parent its number; an inner node spawns
/// ten children in `pre_start`, sums what they tell it (`u64` messages),
/// tells its parent the sum and stops.
struct Skynet;

/// Whom a node answers: its parent node, or the caller for the root.
enum Parent {
    Node(ActorRef<u64>),
    Caller(oneshot::Sender<u64>),
}

impl Parent {
    fn answer(self, sum: u64) {
        match self {
            Parent::Node(node) => node.cast(sum).unwrap(),
            Parent::Caller(caller) => caller.send(sum).unwrap(),
        }
    }
}

/// A node's state: whom to answer, the sum so far, the children
/// still to answer.
struct Pending {
    parent: Option<Parent>,
    sum: u64,
    children: u8,
}

impl Actor for Skynet {
    type Msg = u64;
    type State = Pending;
    /// (num, size, parent)
    type Arguments = (u64, u64, Parent);

    async fn pre_start(
        &self,
        myself: ActorRef<u64>,
        (num, size, parent): (u64, u64, Parent),
    ) -> Result<Pending, ActorProcessingErr> {
        if size == 1 {
            parent.answer(num);
            myself.stop(None);
            return Ok(Pending {
                parent: None,
                sum: num,
                children: 0,
            });
        }
        let step = size / 10;
        for i in 0..10 {
            let child = (num + i * step, step, Parent::Node(myself.clone()));
            Actor::spawn(None, Skynet, child).await?;
        }
        Ok(Pending {
            parent: Some(parent),
            sum: 0,
            children: 10,
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<u64>,
        partial: u64,
        pending: &mut Pending,
    ) -> Result<(), ActorProcessingErr> {
        pending.sum += partial;
        pending.children -= 1;
        if pending.children == 0 {
            if let Some(parent) = pending.parent.take() {
                parent.answer(pending.sum);
            }
            myself.stop(None);
        }
        Ok(())
    }
}

fn skynet() -> f64 {
    let rt = tokio_runtime();
    let start = Instant::now();
    let sum = rt.block_on(async {
        let (caller, answer) = oneshot::channel();
        Actor::spawn(None, Skynet, (0, 1_000_000, Parent::Caller(caller)))
            .await
            .unwrap();
        answer.await.unwrap()
    });
    let ms = start.elapsed().as_secs_f64() * 1e3;
    assert_eq!(sum, skynet_expected());
    ms
}

/// Sums what it is told; answers asks.
struct Sink;

enum SinkMsg {
    Add(u64),
    Sum(RpcReplyPort<(u64, u64)>),
    Echo(u64, RpcReplyPort<u64>),
}

impl Actor for Sink {
    type Msg = SinkMsg;
    type State = (u64, u64);
    type Arguments = ();

    async fn pre_start(
        &self,
        _: ActorRef<SinkMsg>,
        _: (),
    ) -> Result<(u64, u64), ActorProcessingErr> {
        Ok((0, 0))
    }

    async fn handle(
        &self,
        _: ActorRef<SinkMsg>,
        message: SinkMsg,
        (sum, seen): &mut (u64, u64),
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SinkMsg::Add(n) => {
                *sum += n;
                *seen += 1;
            }
            SinkMsg::Sum(reply) => {
                let _ = reply.send((*sum, *seen));
            }
            SinkMsg::Echo(n, reply) => {
                let _ = reply.send(n);
            }
        }
        Ok(())
    }
}

fn fan_in() -> f64 {
    tokio_runtime().block_on(async {
        let (sink, _) = Actor::spawn(None, Sink, ()).await.unwrap();
        let start = Instant::now();
        let producers: Vec<_> = (0..2)
            .map(|_| {
                let sink = sink.clone();
                tokio::spawn(async move {
                    for n in 0..FAN_IN {
                        sink.cast(SinkMsg::Add(n)).unwrap();
                    }
                })
            })
            .collect();
        for producer in producers {
            producer.await.unwrap();
        }
        let sum = sink.call(SinkMsg::Sum, None).await.unwrap();
        assert!(matches!(sum, CallResult::Success(s) if s == (fan_in_expected(), 2 * FAN_IN)));
        let figure = ns_per(start, 2 * FAN_IN);
        sink.stop(None);
        figure
    })
}

/// Asks from a plain thread, one at a time (`block_on` for each).
fn ask() -> f64 {
    let rt = tokio_runtime();
    let (sink, _) = rt.block_on(Actor::spawn(None, Sink, ())).unwrap();
    let start = Instant::now();
    for n in 0..ASKS {
        let answer = rt.block_on(sink.call(|reply| SinkMsg::Echo(n, reply), None));
        assert!(matches!(answer, Ok(CallResult::Success(m)) if m == n));
    }
    let figure = ns_per(start, ASKS);
    sink.stop(None);
    figure
}

/// An actor that only answers pings.
struct Idle;

impl Actor for Idle {
    type Msg = RpcReplyPort<()>;
    type State = ();
    type Arguments = ();

    async fn pre_start(&self, _: ActorRef<Self::Msg>, _: ()) -> Result<(), ActorProcessingErr> {
        Ok(())
    }

    async fn handle(
        &self,
        _: ActorRef<Self::Msg>,
        reply: RpcReplyPort<()>,
        _: &mut (),
    ) -> Result<(), ActorProcessingErr> {
        let _ = reply.send(());
        Ok(())
    }
}

fn spawn() -> Spawned {
    let rt = tokio_runtime();
    rt.block_on(async {
        let before = rss();
        let start = Instant::now();
        let mut refs = Vec::with_capacity(SPAWNS);
        for _ in 0..SPAWNS {
            refs.push(Actor::spawn(None, Idle, ()).await.unwrap().0);
        }
        let spawn_ns = ns_per(start, SPAWNS as u64);
        let bytes_idle = (rss() - before) / SPAWNS as f64;
        let start = Instant::now();
        let asks: Vec<_> = refs
            .iter()
            .map(|actor| {
                let actor = actor.clone();
                tokio::spawn(async move { actor.call(|reply| reply, None).await })
            })
            .collect();
        for ask in asks {
            assert!(matches!(ask.await.unwrap(), Ok(CallResult::Success(()))));
        }
        let ask_ns = ns_per(start, SPAWNS as u64);
        let bytes_after = (rss() - before) / SPAWNS as f64;
        for actor in refs {
            actor.stop(None);
        }
        Spawned {
            spawn_ns,
            ask_ns,
            bytes_idle,
            bytes_after,
        }
    })
}
