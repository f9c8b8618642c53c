//! A tour of isolate-core: groups, `#[isolate]` and `#[message]`, tells and
//! asks, async handlers, `run`, `spawn_fn`, `Shared`, Dart's controls (pause,
//! ping, kill, exit listeners), and what the compiler refuses. Run it with:
//!
//! ```text
//! cargo run --example tour
//! ```

use std::collections::HashMap;
use std::time::Instant;

use isolate_core::SpawnOptions;
use isolate_core::prelude::*;

// ---------------------------------------------------------------------------
// 1. An isolate: private state, one message at a time.
// ---------------------------------------------------------------------------

/// Counts words. Its `HashMap` is private: no lock, because only this
/// isolate ever touches it. `#[isolate]` declares `WordCounterPort`.
#[isolate]
#[derive(Default)]
struct WordCounter {
    counts: HashMap<String, u64>,
}

/// Each `#[message]` method is a handler, and a method of the port. Every
/// argument and return type is checked, at compile time, to be `Sendable`.
#[isolate]
impl WordCounter {
    /// A tell (no return value): count these words.
    #[message]
    fn count(&mut self, text: Shared<str>, stop_words: Shared<Vec<String>>) {
        for word in text.split_whitespace().map(str::to_lowercase) {
            if !stop_words.contains(&word) {
                *self.counts.entry(word).or_default() += 1;
            }
        }
    }

    /// An ask (a return value): the `n` most frequent words.
    #[message]
    fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut top: Vec<_> = self.counts.iter().map(|(w, c)| (w.clone(), *c)).collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(n);
        top
    }

    /// A handler that fails: a panic ends this isolate (errors are fatal),
    /// or, under a supervisor, restarts it.
    #[message]
    fn crash(&mut self) {
        panic!("asked to crash");
    }

    /// An async handler: awaited inside the isolate, which takes no other
    /// message meanwhile. Here it asks another isolate for a total.
    #[message]
    async fn total_with(&self, other: WordCounterPort) -> u64 {
        let mine: u64 = self.counts.values().sum();
        let theirs = other.top(usize::MAX).await.unwrap_or_default();
        mine + theirs.iter().map(|(_, count)| count).sum::<u64>()
    }
}

// ---------------------------------------------------------------------------
// 2. Dart's `Isolate.spawn`: an entry function and a message.
// ---------------------------------------------------------------------------

/// Dart's handshake: the new isolate sends back a port of its own, then
/// serves requests on it until every sender is gone.
async fn squarer(handshake: SendPort<SendPort<(u64, SendPort<u64>)>>) {
    let mut requests = ReceivePort::new();
    handshake.send(requests.send_port()).unwrap();
    drop(handshake);
    while let Ok((n, answer)) = requests.recv_async().await {
        let _ = answer.send(n * n);
    }
}

/// Reports where the shared list it was sent lives.
async fn address_of(job: (Shared<Vec<String>>, SendPort<usize>)) {
    let (list, answer) = job;
    answer.send(Shared::as_ptr(&list) as usize).unwrap();
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("isolate-core tour\n");
    // Panics inside isolates are caught and reported as errors; keep the
    // standard hook's report of them to one line so the tour stays readable.
    std::panic::set_hook(Box::new(|info| {
        eprintln!(
            "   (caught a panic: {})",
            info.payload_as_str().unwrap_or("...")
        );
    }));

    // -- Groups -------------------------------------------------------------
    let group = IsolateGroup::builder().workers(2).name("tour").build()?;
    println!(
        "1. a group `{}` with {} worker threads",
        group.name(),
        group.workers()
    );

    // -- An isolate, tells and an ask ---------------------------------------
    let counter = group.spawn(WordCounter::default());
    // Immutable data is shared by pointer: every isolate reads one copy.
    let stop_words: Shared<Vec<String>> =
        Shared::new(["the", "a", "of", "and"].map(String::from).to_vec());
    let lines = [
        "the quick brown fox jumps over the lazy dog",
        "a fox is quick and a dog is lazy",
        "the isolate of the fox",
    ];
    for line in lines {
        counter.count(Shared::from(line), stop_words.clone())?; // a tell
    }
    let top = counter.top(3).wait()?; // an ask, answered after the tells
    println!("2. three tells, then an ask answered in order: top words {top:?}");
    let other = group.spawn(WordCounter::default());
    other.count(Shared::from("one more line"), stop_words.clone())?;
    let total = counter.total_with(other).wait()?;
    println!("   an async handler asked another isolate: {total} words in both");

    // -- Shared: O(1) across isolates ----------------------------------------
    let mut addresses = ReceivePort::new();
    group.spawn_fn(address_of, (stop_words.clone(), addresses.send_port()));
    let seen_at = addresses.recv()?;
    println!(
        "3. `Shared` crosses by pointer: the other isolate read the very allocation sent ({})",
        if seen_at == Shared::as_ptr(&stop_words) as usize {
            "same address"
        } else {
            "a copy!"
        }
    );

    // -- 10,000 isolates: an allocation each, not a thread --------------------
    let started = Instant::now();
    let many: Vec<_> = (0..10_000)
        .map(|_| group.spawn(WordCounter::default()))
        .collect();
    let spawned = started.elapsed();
    let replies: Vec<_> = many.iter().map(|port| port.top(1)).collect();
    let answered = replies
        .into_iter()
        .map(Reply::wait)
        .filter(Result::is_ok)
        .count();
    println!(
        "4. spawned 10,000 isolates in {spawned:?} on {} threads; {answered} answered an ask",
        group.workers()
    );
    drop(many);

    // -- Dart's spawn: entry function + message, and a port handshake -------
    let mut handshake = ReceivePort::new();
    group.spawn_fn(squarer, handshake.send_port());
    let requests = handshake.recv()?;
    let mut answers = ReceivePort::new();
    requests.send((12, answers.send_port()))?;
    println!("5. spawn_fn + port handshake: 12² = {}", answers.recv()?);

    // -- Dart's run: a one-off computation, its result moved back -----------
    let primes = isolate_core::run(|| (2..50_000u32).filter(|n| is_prime(*n)).count())?;
    println!("6. run: {primes} primes below 50,000, computed in another isolate");
    let failure = isolate_core::run(|| -> u32 { panic!("division by zero, on purpose") });
    println!(
        "7. a panic inside run comes back as an error: {}",
        failure.unwrap_err()
    );

    // -- Dart's controls: the handle pauses, pings and kills -----------------
    let mut exits = ReceivePort::new();
    let (worker, handle) = group.spawn_with(
        WordCounter::default(),
        SpawnOptions::new()
            .name("controlled")
            .on_exit(exits.send_port(), "controlled has ended"),
    );
    let paused = handle.pause();
    worker.count(Shared::from("queued while paused"), stop_words.clone())?;
    let mut pongs = ReceivePort::new();
    handle.ping(pongs.send_port(), "pong", Priority::Immediate);
    let pong = pongs.recv()?; // control requests are served while paused
    handle.resume(&paused);
    let counted = worker.top(10).wait()?.len();
    handle.kill(Priority::BeforeNextEvent);
    println!(
        "8. `{}` answered a ping while paused ({pong}), counted {counted} words once resumed, \
         then was killed: {}",
        handle.name().unwrap_or("?"),
        exits.recv()?
    );

    // -- Beyond Dart: a supervisor restarts a failed isolate in place --------
    let supervisor = isolate_core::Supervisor::builder(&group)
        .strategy(isolate_core::Strategy::OneForOne)
        .build();
    let supervised = supervisor.spawn(WordCounter::default);
    supervised.count(Shared::from("lost in the crash"), stop_words.clone())?;
    supervised.crash()?; // panics; the supervisor rebuilds it from its factory
    supervised.count(Shared::from("after the restart"), stop_words.clone())?;
    let words = supervised.top(10).wait()?.len();
    println!(
        "9. a supervised isolate crashed and restarted {} time, same port: it now knows {words} words",
        supervisor.restarts()
    );
    drop((supervisor, supervised)); // the supervisor holds a handle to the group

    // -- A dead isolate fails its asks at once, never hangs them --------------
    let doomed = group.spawn(WordCounter::default());
    doomed.count(Shared::from("x"), Shared::new(Vec::new()))?;
    drop(group); // stops every isolate in the group and joins its threads
    let after = doomed.top(1).wait();
    println!("10. after the group is dropped, an ask fails at once: {after:?}");

    // -- What the compiler refuses ------------------------------------------
    // Shared mutable state cannot cross an isolate. Uncomment to see:
    //
    //     let shared = std::sync::Arc::new(std::sync::Mutex::new(0));
    //     isolate_core::run_with(shared, |s| *s.lock().unwrap() += 1);
    //
    // error[E0277]: `Mutex<i32>` is not deeply immutable, so isolates cannot share it
    //   = note: data with `Cell`, `RefCell`, locks, atomics, `Rc` or raw pointers
    //           inside can change through a shared reference, so it is never
    //           shared: send an owned copy instead, or make the state one
    //           isolate's own and send that isolate plain-data messages
    println!("11. and `Arc<Mutex<_>>`, `Rc`, `RefCell`, atomics, borrows: refused at compile time");
    Ok(())
}

fn is_prime(n: u32) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}
