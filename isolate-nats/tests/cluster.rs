//! A remote group over a three-node `nats-server` cluster on loopback, one
//! node of which is killed while asks are under way.

mod support;

use std::time::{Duration, Instant};

use isolate_core::ReplyError;
use isolate_core::prelude::*;
use isolate_nats::RemoteGroup;
use support::{Cluster, PATIENCE};

#[isolate]
struct Tally {
    count: u64,
}

#[isolate(remote)]
impl Tally {
    #[message]
    fn bump(&mut self) -> u64 {
        self.count += 1;
        self.count
    }
}

const ASK_TIMEOUT: Duration = Duration::from_secs(2);

fn member(url: &str) -> RemoteGroup {
    RemoteGroup::builder()
        .ask_timeout(ASK_TIMEOUT)
        .replicas(3)
        .connect(url, "cluster")
        .wait_timeout(PATIENCE)
        .expect("connects")
}

#[test]
fn asks_fail_over_or_fail_with_an_error_when_a_node_dies() {
    let Some(mut cluster) = Cluster::start() else {
        return;
    };
    let group = IsolateGroup::new();
    // The serving member on node 1; the asking member on node 0, which is
    // the node that dies. It knows only node 0's address: the others it
    // learns from the cluster.
    let serving = member(&cluster.nodes[1].url());
    serving
        .register("tally", &group.spawn(Tally { count: 0 }))
        .wait()
        .unwrap();
    let asking = member(&cluster.nodes[0].url());
    let tally: TallyPort = asking.lookup("tally").wait().unwrap();

    for expected in 1..=20 {
        assert_eq!(tally.bump().wait_timeout(PATIENCE), Ok(expected));
    }

    // Asks in flight when node 0 dies: a batch is sent, then the node is
    // killed, then the batch is waited for; more batches follow until
    // twenty asks have been answered through the surviving nodes.
    let (mut answered, mut failed) = (Vec::new(), Vec::new());
    let mut killed = None;
    while answered.len() < 20 {
        let batch: Vec<_> = (0..50).map(|_| tally.bump()).collect();
        if killed.is_none() {
            cluster.nodes[0].kill();
            killed = Some(Instant::now());
        }
        for reply in batch {
            // Every ask ends: with an answer, or with an error that says
            // what happened. `wait_timeout(PATIENCE)` never runs out; the
            // ask's own timeout (2 s) comes first.
            match reply.wait_timeout(PATIENCE) {
                Ok(count) => answered.push(count),
                Err(
                    error @ (ReplyError::Disconnected
                    | ReplyError::NoResponder
                    | ReplyError::Timeout(ASK_TIMEOUT)),
                ) => failed.push(error),
                Err(other) => panic!("an ask failed with {other:?}"),
            }
        }
        let killed = killed.expect("killed before the first wait");
        assert!(
            killed.elapsed() < PATIENCE * 2,
            "asks did not fail over: {} answered, failures {failed:?}",
            answered.len()
        );
    }
    eprintln!(
        "after the kill: {} answered, {} failed ({:?}) in {:?}",
        answered.len(),
        failed.len(),
        failed.first(),
        killed.map(|killed| killed.elapsed())
    );
    // The answers, in the order the asks were sent, kept counting up: the
    // tally's order of handling is the order of sending, across the
    // failover too.
    assert!(
        answered.windows(2).all(|pair| pair[0] < pair[1]),
        "{answered:?}"
    );
    assert!(answered[0] > 20);

    // The names survived on the two live nodes: a member joining through
    // node 2 finds the tally, and so does the member that moved.
    let late = member(&cluster.nodes[2].url());
    let found: TallyPort = late.lookup("tally").wait_timeout(PATIENCE).unwrap();
    let count = found.bump().wait_timeout(PATIENCE).unwrap();
    assert!(count > *answered.last().unwrap());
    let again: TallyPort = asking.lookup("tally").wait_timeout(PATIENCE).unwrap();
    assert_eq!(again.bump().wait_timeout(PATIENCE), Ok(count + 1));
}
