//! Flutter's `compute` use case: a big JSON document is parsed off the
//! isolate that must stay responsive, with `run`, while that isolate keeps
//! answering pings. The same parse done inside the isolate shows what it
//! saves: the worst ping latency during each parse is printed.
//!
//! ```text
//! cargo run --release --example json_offload                      # 200,000 records
//! cargo run --release --example json_offload -- --records 2000
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use isolate_core::prelude::*;
use serde::{Deserialize, Serialize};

/// One record of the document.
#[derive(Serialize, Deserialize)]
struct Record {
    id: u64,
    name: String,
    email: String,
    tags: Vec<String>,
    score: f64,
}

/// What a parse reports back: small, so that it crosses in O(1).
#[message]
#[derive(Debug, Clone, Copy, PartialEq)]
struct Summary {
    records: usize,
    mean_score: f64,
}

/// Parses the document and sums it up: the expensive part.
fn parse(json: String) -> Summary {
    let records: Vec<Record> = serde_json::from_str(&json).expect("the document is valid JSON");
    let total: f64 = records.iter().map(|record| record.score).sum();
    Summary {
        records: records.len(),
        mean_score: total / records.len().max(1) as f64,
    }
}

/// The isolate that must stay responsive, like Flutter's UI isolate.
#[isolate]
struct Ui;

#[isolate]
impl Ui {
    /// Parses in this isolate: nothing else runs here until it is done.
    #[message]
    fn parse_here(&self, json: String) -> Summary {
        parse(json)
    }

    /// Parses in another isolate with `run`: this one awaits the result,
    /// and answers pings at that `.await` meanwhile.
    #[message]
    async fn parse_offloaded(&self, json: String) -> Summary {
        isolate_core::run_with_async(json, parse)
            .await
            .expect("the parse does not panic")
    }
}

fn main() {
    let records = records_from_args();
    let json = document(records);
    println!(
        "json_offload: a document of {records} records, {:.1} MiB",
        json.len() as f64 / (1 << 20) as f64
    );
    let group = IsolateGroup::new();
    let (ui, handle) = group.spawn_with(Ui, Default::default());

    let here = measure(&handle, || ui.parse_here(json.clone()).wait());
    let offloaded = measure(&handle, || ui.parse_offloaded(json.clone()).wait());
    assert_eq!(here.0, offloaded.0, "both parses agree");
    let summary = here.0;
    println!(
        "  parsed {} records, mean score {:.3}",
        summary.records, summary.mean_score
    );
    println!(
        "  parse inside the isolate: {:>6.1} ms, worst ping {:>6.1} ms",
        ms(here.1),
        ms(here.2)
    );
    println!(
        "  parse offloaded with run: {:>6.1} ms, worst ping {:>6.1} ms",
        ms(offloaded.1),
        ms(offloaded.2)
    );
}

/// Runs `parse` while a thread pings the UI isolate every millisecond;
/// returns the summary, the parse time and the worst ping latency.
fn measure(
    ui: &IsolateHandle,
    parse: impl FnOnce() -> Result<Summary, ReplyError>,
) -> (Summary, Duration, Duration) {
    let done = Arc::new(AtomicBool::new(false));
    let pinger = {
        let (ui, done) = (ui.clone(), done.clone());
        std::thread::spawn(move || {
            let mut pongs = ReceivePort::new();
            let mut worst = Duration::ZERO;
            while !done.load(Ordering::Acquire) {
                let sent = Instant::now();
                ui.ping(pongs.send_port(), (), Priority::Immediate);
                pongs.recv().expect("the UI isolate answers");
                worst = worst.max(sent.elapsed());
                std::thread::sleep(Duration::from_millis(1));
            }
            worst
        })
    };
    let start = Instant::now();
    let summary = parse().expect("the UI isolate answers");
    let took = start.elapsed();
    done.store(true, Ordering::Release);
    let worst = pinger.join().expect("the pinger ends");
    (summary, took, worst)
}

/// A document of `records` records, made up on the spot.
fn document(records: u64) -> String {
    let records: Vec<Record> = (0..records)
        .map(|id| Record {
            id,
            name: format!("user {id}"),
            email: format!("user{id}@example.org"),
            tags: vec!["isolate".into(), format!("group-{}", id % 7)],
            score: (id % 100) as f64 / 10.0,
        })
        .collect();
    serde_json::to_string(&records).expect("records serialize")
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// `--records N` (default 200,000).
fn records_from_args() -> u64 {
    let args: Vec<String> = std::env::args().collect();
    match args
        .iter()
        .position(|arg| arg == "--records")
        .map(|i| args.get(i + 1))
    {
        None => 200_000,
        Some(Some(n)) if n.parse::<u64>().is_ok_and(|n| n > 0) => n.parse().unwrap_or(200_000),
        Some(_) => {
            eprintln!("--records takes a positive number");
            std::process::exit(2);
        }
    }
}
