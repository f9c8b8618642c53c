//! `#[isolate]` and `#[message]`: generated ports, end to end.

mod common;

use std::collections::HashMap;

use common::PATIENCE;
use isolate_core::prelude::*;

#[message]
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    pub id: u64,
    pub text: String,
}

#[message]
#[derive(Debug, Clone, PartialEq)]
pub enum Report {
    Total(u64),
    Words(Vec<String>),
}

#[isolate]
#[derive(Default)]
pub struct Counter {
    counts: HashMap<String, u64>,
    chunks: Vec<u64>,
}

#[isolate]
impl Counter {
    /// Counts the words of a chunk.
    #[message]
    fn add(&mut self, chunk: Chunk) {
        self.chunks.push(chunk.id);
        for word in chunk.text.split_whitespace() {
            *self.counts.entry(word.to_owned()).or_default() += 1;
        }
    }

    /// How often `word` was seen.
    #[message]
    fn count(&self, word: String) -> u64 {
        self.counts.get(&word).copied().unwrap_or(0)
    }

    /// Several arguments, and a tuple pattern.
    #[message]
    fn add_pair(&mut self, first: String, (second, times): (String, u64)) {
        *self.counts.entry(first).or_default() += 1;
        *self.counts.entry(second).or_default() += times;
    }

    /// The ids of the chunks, in the order they were handled.
    #[message]
    fn chunk_ids(&self) -> Vec<u64> {
        self.chunks.clone()
    }

    /// An async tell: sends a report after a real await.
    #[message]
    async fn report_to(&mut self, to: SendPort<Report>) {
        let total = self.counts.values().sum();
        let mut inbox = ReceivePort::new();
        inbox.send_port().send(total).unwrap();
        let total = inbox.recv_async().await.unwrap();
        let _ = to.send(Report::Total(total));
    }

    /// An async ask that awaits another isolate.
    #[message]
    async fn total_via(&self, helper: HelperPort) -> u64 {
        let mine: u64 = self.counts.values().sum();
        mine + helper.double(mine).await.unwrap()
    }

    /// Fails on purpose.
    #[message]
    fn explode(&mut self) {
        panic!("handler failed on purpose");
    }

    fn not_a_handler(&self) -> usize {
        self.counts.len()
    }

    /// Uses a plain method inside a handler.
    #[message]
    fn distinct(&self) -> usize {
        self.not_a_handler()
    }
}

#[isolate]
pub struct Helper;

#[isolate]
impl Helper {
    #[message]
    fn double(&self, n: u64) -> u64 {
        n * 2
    }
}

fn chunk(id: u64, text: &str) -> Chunk {
    Chunk {
        id,
        text: text.to_owned(),
    }
}

#[test]
fn a_tell_and_an_ask_through_the_generated_port() {
    let group = common::group(2);
    let counter: CounterPort = group.spawn(Counter::default());
    counter.add(chunk(1, "a b a")).unwrap();
    assert_eq!(counter.count("a".to_owned()).wait_timeout(PATIENCE), Ok(2));
    assert_eq!(
        counter.count("zzz".to_owned()).wait_timeout(PATIENCE),
        Ok(0)
    );
    assert_eq!(counter.distinct().wait_timeout(PATIENCE), Ok(2));
}

#[test]
fn handlers_with_several_arguments_and_patterns() {
    let group = common::group(1);
    let counter = group.spawn(Counter::default());
    counter
        .add_pair("x".to_owned(), ("y".to_owned(), 5))
        .unwrap();
    assert_eq!(counter.count("y".to_owned()).wait_timeout(PATIENCE), Ok(5));
}

#[test]
fn tells_and_asks_from_one_sender_keep_their_order() {
    let group = common::group(2);
    let counter = group.spawn(Counter::default());
    let mut asks = Vec::new();
    for id in 0..500 {
        counter.add(chunk(id, "w")).unwrap();
        if id % 50 == 49 {
            asks.push((id, counter.count("w".to_owned())));
        }
    }
    for (id, reply) in asks {
        assert_eq!(reply.wait_timeout(PATIENCE), Ok(id + 1));
    }
    let ids = counter.chunk_ids().wait_timeout(PATIENCE).unwrap();
    assert_eq!(ids, (0..500).collect::<Vec<_>>());
}

#[test]
fn async_handlers_are_awaited_inside_the_isolate() {
    let group = common::group(2);
    let counter = group.spawn(Counter::default());
    let helper = group.spawn(Helper);
    counter.add(chunk(1, "a b c")).unwrap();
    let mut reports = ReceivePort::new();
    counter.report_to(reports.send_port()).unwrap();
    assert_eq!(reports.recv_timeout(PATIENCE), Ok(Report::Total(3)));
    assert_eq!(counter.total_via(helper).wait_timeout(PATIENCE), Ok(9));
}

#[test]
fn a_panicking_handler_fails_pending_asks_and_gives_tells_back() {
    let group = common::group(1);
    let counter = group.spawn(Counter::default());
    counter.explode().unwrap();
    let pending = counter.count("a".to_owned());
    assert_eq!(pending.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    // A tell to the dead isolate gives its argument back.
    let error = counter.add(chunk(7, "late")).unwrap_err();
    assert_eq!(error.into_inner(), chunk(7, "late"));
    assert!(counter.is_closed());
}

#[test]
fn ports_travel_inside_messages_to_other_isolates() {
    #[isolate]
    struct Forwarder {
        to: Option<CounterPort>,
    }
    #[isolate]
    impl Forwarder {
        #[message]
        fn connect(&mut self, to: CounterPort) {
            self.to = Some(to);
        }
        #[message]
        fn forward(&self, chunk: Chunk) -> bool {
            self.to.as_ref().is_some_and(|to| to.add(chunk).is_ok())
        }
    }

    let group = common::group(2);
    let counter = group.spawn(Counter::default());
    let forwarder = group.spawn(Forwarder { to: None });
    forwarder.connect(counter.clone()).unwrap();
    assert_eq!(
        forwarder.forward(chunk(3, "via")).wait_timeout(PATIENCE),
        Ok(true)
    );
    assert_eq!(
        counter.count("via".to_owned()).wait_timeout(PATIENCE),
        Ok(1)
    );
}

#[test]
fn generated_ports_are_cheap_handles_with_equality_and_debug() {
    let group = common::group(1);
    let a = group.spawn(Counter::default());
    let b = group.spawn(Counter::default());
    assert_eq!(a, a.clone());
    assert_ne!(a, b);
    assert_eq!(format!("{a:?}"), "CounterPort { closed: false }");
    fn sendable<T: Sendable>(_: &T) {}
    sendable(&a);
    drop(group);
    assert!(a.is_closed());
}

#[message(immutable)]
#[derive(Debug)]
pub struct Config {
    pub name: String,
    pub limits: Vec<u32>,
}

#[message]
pub enum Wrapper<T> {
    One(T),
    Many(Vec<T>),
}

#[test]
fn immutable_messages_live_in_shared_and_generic_messages_are_checked_per_use() {
    let config = Shared::new(Config {
        name: "prod".to_owned(),
        limits: vec![1, 2],
    });
    fn sendable<T: Sendable>(_: T) {}
    sendable(config.clone());
    sendable(Wrapper::One(String::from("owned")));
    sendable(Wrapper::<u8>::Many(vec![1]));
    assert_eq!(config.limits, [1, 2]);
}
