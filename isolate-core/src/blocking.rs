//! Blocking work off the group's workers: [`blocking`] and
//! [`blocking_with`] run a function that blocks (file IO, a synchronous
//! database driver, a C library) on a separate pool of threads, and hand
//! back a future of its result.
//!
//! A group's workers are few (one per core) and shared by all its
//! isolates, so a handler that blocks one of them stalls every isolate
//! queued behind it. [`run_async`](crate::run_async) does not help there:
//! it runs on the global group's workers. These functions run on threads of
//! their own, started on demand, at most [`MAX_THREADS`] at once (more
//! calls wait their turn in order), each ending after
//! [`KEEP_ALIVE`] idle. The isolate that awaits the result goes on with
//! other work, or, in a handler, waits without holding its worker.
//!
//! The pool is bounded, so work that waits for other blocking work (64
//! calls that each wait for a 65th) can wait for ever, as with any bounded
//! pool: a blocking function should wait on the world, not on its peers.
//!
//! As with [`run`](crate::run), the function is a `fn` (a closure that
//! captures nothing) and what it needs goes in as `data`, which must be
//! [`Sendable`]: a blocking thread gets no shared mutable state of the
//! isolate's. An owned resource (a database connection) can move in as
//! data and come back in the result.
//!
//! # Examples
//!
//! ```
//! use isolate_core::prelude::*;
//!
//! #[isolate]
//! struct Files;
//!
//! #[isolate]
//! impl Files {
//!     #[message]
//!     async fn size(&self, path: String) -> Option<u64> {
//!         // std's file calls block: off the worker with them.
//!         let found = isolate_core::blocking_with(path, |path| {
//!             std::fs::metadata(path).map(|meta| meta.len()).ok()
//!         });
//!         found.await.ok().flatten()
//!     }
//! }
//!
//! let group = IsolateGroup::new();
//! let files = group.spawn(Files);
//! assert!(files.size("Cargo.toml".into()).wait().unwrap().is_some());
//! assert_eq!(files.size("no such file".into()).wait(), Ok(None));
//! ```

use std::collections::VecDeque;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Duration;

use crate::error::RemoteError;
use crate::reply::Reply;
use crate::run::RunFuture;
use crate::scheduler::cell::panic_message;
use crate::sendable::Sendable;

/// The most blocking threads alive at once, process-wide.
pub const MAX_THREADS: usize = 64;

/// How long a blocking thread waits for more work before it ends.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

/// Runs `computation` on a blocking thread; see the [module docs](self).
///
/// The work starts when this is called, not when the future is first
/// polled, and runs to its end even if the future is dropped.
///
/// # Errors
///
/// The future resolves to a [`RemoteError`] of kind
/// [`Panicked`](crate::RemoteErrorKind::Panicked) if `computation` panics, or
/// [`Stopped`](crate::RemoteErrorKind::Stopped) if no thread could be started for
/// it.
///
/// # Examples
///
/// ```
/// let answer = futures::executor::block_on(isolate_core::blocking(|| {
///     std::thread::sleep(std::time::Duration::from_millis(1));
///     42
/// }));
/// assert_eq!(answer, Ok(42));
/// ```
pub fn blocking<R: Sendable>(computation: fn() -> R) -> RunFuture<R> {
    start(computation)
}

/// [`blocking`] with `data` moved in, as [`run_with`](crate::run_with).
///
/// # Errors
///
/// As [`blocking`].
///
/// # Examples
///
/// ```
/// let lines = isolate_core::blocking_with("a\nb\nc".to_owned(), |text| text.lines().count());
/// assert_eq!(lines.wait(), Ok(3));
/// ```
pub fn blocking_with<D: Sendable, R: Sendable>(data: D, computation: fn(D) -> R) -> RunFuture<R> {
    start(move || computation(data))
}

/// Queues `work` (built only from a `fn` and `Sendable` data, by the two
/// functions above) for a blocking thread.
fn start<R: Sendable>(work: impl FnOnce() -> R + Send + 'static) -> RunFuture<R> {
    let (reply_to, reply) = Reply::channel();
    // The caller's tokio context (an isolate of a group built with
    // `.tokio()`) goes with the work: the pool is the process's, not the
    // group's, so its threads have none of their own.
    #[cfg(feature = "tokio")]
    let context = tokio::runtime::Handle::try_current().ok();
    pool().submit(Box::new(move || {
        #[cfg(feature = "tokio")]
        let _context = context.as_ref().map(tokio::runtime::Handle::enter);
        let result = catch_unwind(AssertUnwindSafe(work)).map_err(|payload| {
            let error = RemoteError::panicked(panic_message(&*payload));
            let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
            error
        });
        reply_to.send(result);
    }));
    RunFuture::from_reply(reply)
}

type Job = Box<dyn FnOnce() + Send>;

/// The process's blocking threads and the work waiting for them.
struct Pool {
    state: Mutex<State>,
    work: Condvar,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Job>,
    threads: usize,
    idle: usize,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    crate::panic_trace::install();
    POOL.get_or_init(|| Pool {
        state: Mutex::default(),
        work: Condvar::new(),
    })
}

impl Pool {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn submit(&'static self, job: Job) {
        let mut state = self.lock();
        state.queue.push_back(job);
        if state.idle > 0 {
            drop(state);
            self.work.notify_one();
            return;
        }
        if state.threads >= MAX_THREADS {
            return;
        }
        state.threads += 1;
        drop(state);
        let started = std::thread::Builder::new()
            .name("isolate-blocking".into())
            .spawn(move || self.serve());
        if started.is_err() {
            // No thread: the job waits for one that exists, or, if none
            // does, is dropped, which fails its future (`Stopped`).
            let mut state = self.lock();
            state.threads -= 1;
            if state.threads == 0 {
                let orphans: Vec<Job> = state.queue.drain(..).collect();
                drop(state);
                drop(orphans);
            }
        }
    }

    /// A blocking thread: runs jobs until none comes for `KEEP_ALIVE`.
    fn serve(&self) {
        crate::panic_trace::mark_blocking_thread();
        let mut state = self.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // The job catches its computation's panic itself.
                let _ = catch_unwind(AssertUnwindSafe(job));
                state = self.lock();
                continue;
            }
            state.idle += 1;
            let (next, timeout) = self
                .work
                .wait_timeout(state, KEEP_ALIVE)
                .unwrap_or_else(PoisonError::into_inner);
            state = next;
            state.idle -= 1;
            if timeout.timed_out() && state.queue.is_empty() {
                state.threads -= 1;
                return;
            }
        }
    }
}
