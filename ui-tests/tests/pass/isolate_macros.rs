use std::collections::HashMap;

use isolate_core::prelude::*;

#[message(immutable)]
pub struct StopWords {
    pub words: Vec<String>,
}

#[message]
pub struct Chunk {
    pub id: u64,
    pub text: String,
    pub stop_words: Shared<StopWords>,
}

#[message]
pub enum Report {
    Top(Vec<(String, u64)>),
    Empty,
}

#[isolate]
#[derive(Default)]
pub struct Counter {
    counts: HashMap<String, u64>,
}

#[isolate]
impl Counter {
    /// Counts a chunk.
    #[message]
    fn add(&mut self, chunk: Chunk) {
        for word in chunk.text.split_whitespace() {
            if !chunk.stop_words.words.iter().any(|w| w == word) {
                *self.counts.entry(word.to_owned()).or_default() += 1;
            }
        }
    }

    /// The top `n` words.
    #[message]
    fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<_> = self.counts.iter().map(|(w, c)| (w.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1));
        all.truncate(n);
        all
    }

    /// Sends a report, after an await.
    #[message]
    async fn flush(&mut self, to: SendPort<Report>) {
        let report = if self.counts.is_empty() {
            Report::Empty
        } else {
            Report::Top(self.top(3))
        };
        let _ = to.send(report);
    }

    #[message]
    fn reset(&mut self) {
        self.counts.clear();
    }
}

fn main() {
    let group = IsolateGroup::new();
    let counter: CounterPort = group.spawn(Counter::default());
    let stop_words = Shared::new(StopWords { words: vec!["the".into()] });
    counter
        .add(Chunk { id: 1, text: "the cat".into(), stop_words })
        .unwrap();
    let _top: Reply<Vec<(String, u64)>> = counter.top(10);
    let mut reports = ReceivePort::new();
    counter.flush(reports.send_port()).unwrap();
    counter.reset().unwrap();
    let _ = reports.try_recv();
}
