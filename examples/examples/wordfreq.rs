//! Counts the words in every text file under a directory, with one isolate
//! per batch of files, a stop-word list that every isolate reads in place
//! (`Shared`: one allocation, no copy), and a counter isolate that merges
//! the batches' counts. Then does the same on one thread, to compare.
//!
//! ```text
//! cargo run --release --example wordfreq                 # this repository
//! cargo run --release --example wordfreq -- ~/src/linux  # any directory
//! ```

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::time::Instant;

use examples::words::{STOP_WORDS, collect, count_files, top};
use indicatif::{ProgressBar, ProgressStyle};
use isolate_core::prelude::*;

/// Batches per worker thread: enough to balance uneven files, few enough
/// that merging the batches' counts stays cheap next to counting.
const BATCHES_PER_WORKER: usize = 4;

/// Merges the batches' counts: its map is private, so it needs no lock.
#[isolate]
#[derive(Default)]
struct Counter {
    counts: HashMap<String, u64>,
}

#[isolate]
impl Counter {
    #[message]
    fn merge(&mut self, counts: HashMap<String, u64>) {
        for (word, n) in counts {
            *self.counts.entry(word).or_default() += n;
        }
    }

    /// The `n` most frequent words, and the number of words counted.
    #[message]
    fn top(&self, n: usize) -> (Vec<(String, u64)>, u64) {
        (top(&self.counts, n), self.counts.values().sum())
    }
}

/// What each batch isolate is given.
type Batch = (
    Vec<PathBuf>,
    Shared<HashSet<String>>,
    CounterPort,
    SendPort<usize>,
);

/// One batch: count its files' words, hand the counts to the counter, say
/// how many files were done.
async fn count_batch((files, stop_words, counter, done): Batch) {
    let counts = count_files(&files, &stop_words);
    counter
        .merge(counts)
        .expect("the counter outlives the batches");
    let _ = done.send(files.len());
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args().nth(1).map_or_else(
        // This repository's own sources and docs.
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        PathBuf::from,
    );
    let root = root.canonicalize().unwrap_or(root);
    let mut files = Vec::new();
    collect(&root, &mut files)?;
    files.sort();
    if files.is_empty() {
        return Err(format!("no text files under {}", root.display()).into());
    }
    // Read every file once untimed, so that both runs find them in the
    // page cache and the comparison is of counting, not of the disk.
    for file in &files {
        let _ = std::fs::read(file);
    }
    let stop_words: Shared<HashSet<String>> =
        Shared::new(STOP_WORDS.iter().map(|word| word.to_string()).collect());

    let group = IsolateGroup::new();
    let start = Instant::now();
    let counter = group.spawn(Counter::default());
    let batch = files.len().div_ceil(group.workers() * BATCHES_PER_WORKER);
    let mut done = ReceivePort::new();
    for batch in files.chunks(batch) {
        let job = (
            batch.to_vec(),
            stop_words.clone(),
            counter.clone(),
            done.send_port(),
        );
        group.spawn_fn(count_batch, job);
    }
    let progress = ProgressBar::new(files.len() as u64)
        .with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} files")?);
    let mut counted = 0;
    while counted < files.len() {
        let n = done.recv()?;
        counted += n;
        progress.inc(n as u64);
    }
    progress.finish_and_clear();
    let (top_words, total) = counter.top(10).wait()?;
    let isolates = start.elapsed();

    let start = Instant::now();
    let alone = count_files(&files, &stop_words);
    let one_thread = start.elapsed();
    assert_eq!(top(&alone, 10), top_words, "both counts agree");

    println!(
        "wordfreq: {} files under {}, {} words counted ({} stop words skipped)",
        files.len(),
        root.display(),
        total,
        stop_words.len()
    );
    println!(
        "  {} batch isolates on {} workers: {:.1} ms; one thread: {:.1} ms",
        files.len().div_ceil(batch),
        group.workers(),
        isolates.as_secs_f64() * 1e3,
        one_thread.as_secs_f64() * 1e3
    );
    println!("  top words:");
    for (word, n) in &top_words {
        println!("    {n:>7}  {word}");
    }
    Ok(())
}
