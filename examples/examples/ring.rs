//! A ring of isolates passing a token: each isolate knows only the next
//! one's port, and a token goes round the ring a number of times. The
//! classic measure of a message hop between isolates.
//!
//! ```text
//! cargo run --release --example ring                              # 10,000 isolates, 100 rounds
//! cargo run --release --example ring -- --isolates 100 --rounds 10
//! ```

use std::time::Instant;

use isolate_core::prelude::*;

/// One member of the ring.
#[isolate]
struct Member {
    next: Option<MemberPort>,
    /// Where the token goes when its last hop is done.
    finish: SendPort<u64>,
}

#[isolate]
impl Member {
    /// Closes the ring: the port of the member after this one.
    #[message]
    fn link(&mut self, next: MemberPort) {
        self.next = Some(next);
    }

    /// The token, with the hops it has left.
    #[message]
    fn token(&mut self, hops_left: u64) {
        match (&self.next, hops_left) {
            (_, 0) | (None, _) => {
                let _ = self.finish.send(hops_left);
            }
            (Some(next), _) => {
                let _ = next.token(hops_left - 1);
            }
        }
    }
}

fn main() {
    let isolates = arg("--isolates", 10_000);
    let rounds = arg("--rounds", 100);
    let group = IsolateGroup::new();
    let mut finish = ReceivePort::new();

    let start = Instant::now();
    let ring: Vec<MemberPort> = (0..isolates)
        .map(|_| {
            group.spawn(Member {
                next: None,
                finish: finish.send_port(),
            })
        })
        .collect();
    for (i, member) in ring.iter().enumerate() {
        member
            .link(ring[(i + 1) % ring.len()].clone())
            .expect("alive");
    }
    let built = start.elapsed();

    let hops = isolates * rounds;
    let start = Instant::now();
    ring[0].token(hops).expect("alive");
    let left = finish.recv().expect("the token comes back");
    let elapsed = start.elapsed();
    assert_eq!(left, 0, "the token stopped early");

    println!(
        "ring: {isolates} isolates, built in {:.1} ms",
        built.as_secs_f64() * 1e3
    );
    println!(
        "      {rounds} rounds, {hops} hops in {:.0} ms ({:.0} ns per hop)",
        elapsed.as_secs_f64() * 1e3,
        elapsed.as_nanos() as f64 / hops as f64
    );
}

/// A positive number after `name`, or `default`.
fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|arg| arg == name)
        .map(|i| args.get(i + 1))
    {
        None => default,
        Some(Some(n)) if n.parse::<u64>().is_ok_and(|n| n > 0) => n.parse().unwrap_or(default),
        Some(_) => {
            eprintln!("{name} takes a positive number");
            std::process::exit(2);
        }
    }
}
