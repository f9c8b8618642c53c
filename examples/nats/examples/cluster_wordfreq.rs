//! Three processes count the words of a directory's text files together,
//! sharing one word count through a NATS server.
//!
//! The first process (the coordinator) spawns a `Tally` isolate and
//! registers it in a remote group as `tally`, then starts two more
//! processes of this same program. Each of the three looks the tally up by
//! name, counts a third of the files with one isolate per file
//! (`run_many`), tells the tally its counts, and asks it to note that it
//! has finished. The ask comes after the tells on one connection, so its
//! answer means every count of that process has been merged.
//!
//! ```text
//! nats-server -js &                                   # a server, by hand
//! cargo run --release --example cluster_wordfreq -- --url nats://127.0.0.1:4222
//! cargo run --release --example cluster_wordfreq      # starts a nats-server of its own
//! cargo run --release --example cluster_wordfreq -- --group mine --url nats://127.0.0.1:4222
//! cargo run --release --example cluster_wordfreq -- ~/src/linux
//! ```

use std::collections::{HashMap, HashSet};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use examples::words::{STOP_WORDS, collect, count_files, top};
use isolate_core::prelude::*;
use isolate_nats::RemoteGroup;

/// The largest map of counts in one message: well under NATS's default
/// limit of 1 MiB a message.
const WORDS_PER_MESSAGE: usize = 5_000;

/// The shared word count, served by the coordinator.
#[isolate]
#[derive(Default)]
struct Tally {
    counts: HashMap<String, u64>,
    finished: Vec<String>,
}

#[isolate(remote)]
impl Tally {
    /// Adds a process's counts (a tell: nothing to wait for).
    #[message]
    fn merge(&mut self, counts: HashMap<String, u64>) {
        for (word, n) in counts {
            *self.counts.entry(word).or_default() += n;
        }
    }

    /// Notes that `who` has sent all its counts; answers how many
    /// processes have.
    #[message]
    fn finished(&mut self, who: String) -> usize {
        self.finished.push(who);
        self.finished.len()
    }

    /// The `n` most frequent words, and the number of words counted.
    #[message]
    fn top(&self, n: usize) -> (Vec<(String, u64)>, u64) {
        (top(&self.counts, n), self.counts.values().sum())
    }
}

/// What each process is told on its command line.
struct Args {
    root: PathBuf,
    url: Option<String>,
    group: String,
    /// `Some(i)` in the processes the coordinator starts.
    share: Option<usize>,
}

fn args() -> Result<Args, String> {
    let mut args = Args {
        // This repository's own sources and docs.
        root: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".."),
        url: None,
        // One group (one bucket on the server) for every run; a run
        // leaves it with its names removed.
        group: "cluster-wordfreq".to_owned(),
        share: None,
    };
    let mut given = std::env::args().skip(1);
    while let Some(arg) = given.next() {
        let mut value = |flag: &str| given.next().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--url" => args.url = Some(value("--url nats://host:port")?),
            "--group" => args.group = value("--group NAME")?,
            "--share" => {
                args.share = Some(
                    value("--share N")?
                        .parse()
                        .map_err(|_| "--share takes a number")?,
                )
            }
            _ => args.root = PathBuf::from(arg),
        }
    }
    Ok(args)
}

const SHARES: usize = 3;

/// Errors are printed with their `Display`, which says what to do (a
/// `main` that returns them would print their `Debug` form).
fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    let args = args()?;
    let mut files = Vec::new();
    collect(&args.root, &mut files)?;
    files.sort();
    if let (Some(share), Some(url)) = (args.share, &args.url) {
        return count_share(url, &args.group, &files, share);
    }

    // The coordinator: a server (given, or our own), the tally, two more
    // processes.
    let started = Instant::now();
    let own_server = match &args.url {
        Some(_) => None,
        None => Some(OwnServer::start()?),
    };
    let url = args
        .url
        .clone()
        .or_else(|| own_server.as_ref().map(OwnServer::url))
        .expect("a server");
    let group = IsolateGroup::new();
    let remote = RemoteGroup::connect(&url, &args.group).wait()?;
    remote
        .register("tally", &group.spawn(Tally::default()))
        .wait()?;
    println!(
        "{} files under {}, counted by {SHARES} processes through {url} (group `{}`)",
        files.len(),
        args.root.display(),
        args.group
    );

    let me = std::env::current_exe()?;
    let children: Vec<Child> = (1..SHARES)
        .map(|share| {
            Command::new(&me)
                .arg(&args.root)
                .args(["--url", &url, "--group", &args.group])
                .args(["--share", &share.to_string()])
                .stdin(Stdio::null())
                .spawn()
        })
        .collect::<Result<_, _>>()?;
    count_share(&url, &args.group, &files, 0)?;
    for mut child in children {
        let status = child.wait()?;
        if !status.success() {
            return Err(format!("a counting process failed: {status}").into());
        }
    }

    let tally: TallyPort = remote.lookup("tally").wait()?;
    let (top_words, total) = tally.top(10).wait()?;
    println!(
        "{total} words in {:.0?}; the most frequent:",
        started.elapsed()
    );
    for (word, n) in &top_words {
        println!("  {n:>7}  {word}");
    }
    // The same count on one thread, to show that nothing was lost.
    let stop_words: HashSet<String> = STOP_WORDS.iter().map(|word| word.to_string()).collect();
    let alone = count_files(&files, &stop_words);
    assert_eq!(top(&alone, 10), top_words, "both counts agree");
    assert_eq!(alone.values().sum::<u64>(), total, "both totals agree");
    println!("checked against one thread: the counts agree");
    remote.leave().wait()?;
    Ok(())
}

/// One process's part: count every third file, send the counts to the
/// tally, and say so.
fn count_share(
    url: &str,
    group: &str,
    files: &[PathBuf],
    share: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    let started = Instant::now();
    let remote = RemoteGroup::connect(url, group).wait()?;
    let tally: TallyPort = remote.lookup("tally").wait()?;
    let mine: Vec<PathBuf> = files.iter().skip(share).step_by(SHARES).cloned().collect();
    // One isolate per file, on this process's own global group.
    let counts = isolate_core::run_many(mine.clone(), |file| {
        let stop_words: HashSet<String> = STOP_WORDS.iter().map(|word| word.to_string()).collect();
        count_files(&[file], &stop_words)
    })
    .wait()?;
    let mut merged: HashMap<String, u64> = HashMap::new();
    for (word, n) in counts.into_iter().flatten() {
        *merged.entry(word).or_default() += n;
    }
    let words: u64 = merged.values().sum();
    let mut batch = HashMap::new();
    let mut messages = 0;
    for (word, n) in merged {
        batch.insert(word, n);
        if batch.len() == WORDS_PER_MESSAGE {
            tally.merge(std::mem::take(&mut batch))?;
            messages += 1;
        }
    }
    if !batch.is_empty() {
        tally.merge(batch)?;
        messages += 1;
    }
    let who = format!("process {share} (pid {})", std::process::id());
    let done = tally.finished(who.clone()).wait()?;
    println!(
        "{who}: {} files, {words} words, {messages} merge tells, {:.0?} ({done} of {SHARES} done)",
        mine.len(),
        started.elapsed()
    );
    remote.leave().wait()?;
    Ok(())
}

/// A `nats-server` of the example's own, on a free loopback port, killed
/// (and its store removed) when the example ends.
struct OwnServer {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl OwnServer {
    fn start() -> Result<OwnServer, Box<dyn std::error::Error>> {
        let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        let dir = std::env::temp_dir().join(format!("cluster-wordfreq-{}", std::process::id()));
        // `NATS_SERVER`, else the PATH, else Debian's place for it.
        let binary = std::env::var("NATS_SERVER")
            .into_iter()
            .chain(["nats-server".to_owned(), "/usr/sbin/nats-server".to_owned()])
            .find(|binary| {
                Command::new(binary)
                    .arg("--version")
                    .stdout(Stdio::null())
                    .status()
                    .is_ok()
            })
            .ok_or(
                "no nats-server here: install it (`apt-get install nats-server`), or start one \
                 elsewhere and pass `--url nats://host:4222`",
            )?;
        let child = Command::new(binary)
            .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
            .arg(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        let server = OwnServer { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > deadline {
                return Err("the nats-server did not start listening within 10 s".into());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(server)
    }

    fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
