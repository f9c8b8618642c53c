//! Deterministic test groups: one thread, a seeded choice of which isolate
//! runs next, and virtual time, so that a test of isolates replays the same
//! interleaving for a seed and explores others across seeds.
//!
//! This is not a second runtime. A deterministic group is an ordinary
//! group's pool with no worker threads: the same cells, state machine,
//! mailboxes, runs, budgets, control lanes, pinned homes and timer queue.
//! What differs is only who takes the next task from the run queues. Where
//! a worker thread would pop its LIFO slot, its queue or the injector, the
//! driver here ([`IsolateGroup::block_on`]) gathers everything runnable and
//! picks one at random with the group's seed; and where the timer thread
//! would sleep until a deadline, the driver moves a virtual clock to it.
//!
//! # Examples
//!
//! ```
//! use isolate_core::prelude::*;
//!
//! #[isolate]
//! #[derive(Default)]
//! struct Counter { total: u64 }
//!
//! #[isolate]
//! impl Counter {
//!     #[message]
//!     fn add(&mut self, n: u64) -> u64 { self.total += n; self.total }
//! }
//!
//! isolate_core::deterministic::check(0..20, |group| async move {
//!     let counter = group.spawn(Counter::default());
//!     let (a, b) = (counter.add(1), counter.add(2));
//!     assert_eq!(a.await.unwrap() + b.await.unwrap(), 1 + 3);
//! });
//! ```

use std::future::Future;
use std::ops::Range;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll, Wake, Waker};

use crossbeam_deque::Steal;

use crate::group::IsolateGroup;
use crate::scheduler::pool::Pool;
use crate::scheduler::task::TaskRef;
use crate::scheduler::worker;

/// Why [`IsolateGroup::block_on`] could not finish its future.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DriveError {
    /// The group is not deterministic: it has worker threads of its own,
    /// and its isolates run without a driver. Use `.wait()` or any executor.
    NotDeterministic,
    /// `block_on` was called from another thread than the one that made the
    /// group: a deterministic group lives on one thread.
    WrongThread,
    /// `block_on` was called while the group is being driven (from one of
    /// its isolates, or from the future being driven): `.await` instead.
    AlreadyDriving,
    /// The future waits, and nothing can wake it: no isolate can run and no
    /// timer is pending. A deadlock (two isolates awaiting each other, an
    /// ask to an isolate that never answers) found without hanging. Also
    /// reported when a hundred thousand runs and timer firings pass without the
    /// future being woken (isolates or an interval timer busy around a
    /// deadlock); and when the future waits on something outside the group
    /// (another group, a socket), which the driver cannot see coming.
    Stalled {
        /// The group's seed, to replay it.
        seed: u64,
        /// Runs made before it stalled.
        steps: u64,
    },
}

impl std::fmt::Display for DriveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DriveError::NotDeterministic => f.write_str(
                "block_on drives deterministic groups only (IsolateGroup::deterministic): \
                 on another group, use .wait() or an executor",
            ),
            DriveError::WrongThread => f.write_str(
                "a deterministic group runs on the thread that made it: call block_on there",
            ),
            DriveError::AlreadyDriving => f.write_str(
                "block_on called while the group is being driven (inside one of its isolates or \
                 the future it drives): .await instead",
            ),
            DriveError::Stalled { seed, steps } => write!(
                f,
                "stalled after {steps} runs with seed {seed}: the future waits, no isolate can \
                 run and no timer is pending (a deadlock); replay it with \
                 isolate_core::deterministic::replay({seed}, ..)"
            ),
        }
    }
}

impl std::error::Error for DriveError {}

/// A deterministic group's choices: its seed and random generator.
pub(crate) struct Driver {
    seed: u64,
    rng: fastrand::Rng,
    steps: u64,
}

impl Driver {
    pub(crate) fn new(seed: u64) -> Self {
        Driver {
            seed,
            rng: fastrand::Rng::with_seed(seed),
            steps: 0,
        }
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }
}

/// Wakes the future being driven: a flag the driver reads.
struct Flag(AtomicBool);

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.store(true, Ordering::Release);
    }
}

/// Steps in a row without the driven future being woken after which the
/// drive counts as stalled, even though isolates or timers keep running
/// (an interval timer ticking into a deadlock would otherwise spin for
/// ever).
const PATIENCE_STEPS: u64 = 100_000;

/// The runnable tasks the driver has taken from the queues. Whatever is
/// left when the drive ends (the future finished, panicked or stalled) goes
/// back to the injector, so that the next `block_on` runs it: an isolate
/// taken from a queue and never run would stay scheduled for good.
struct Ready<'a> {
    pool: &'a Pool,
    tasks: Vec<TaskRef>,
}

impl Drop for Ready<'_> {
    fn drop(&mut self) {
        for task in self.tasks.drain(..) {
            self.pool.injector.push(task);
        }
    }
}

/// Everything runnable now, in the order the queues hold it.
fn gather(pool: &Pool, ready: &mut Vec<TaskRef>) {
    loop {
        match pool.injector.steal() {
            Steal::Success(task) => ready.push(task),
            Steal::Empty => break,
            Steal::Retry => continue,
        }
    }
    for home in pool.homes.iter() {
        while let Some(task) = home.pop() {
            ready.push(task);
        }
    }
}

/// The driver loop behind [`IsolateGroup::block_on`].
pub(crate) fn drive<F: Future>(
    pool: &Arc<Pool>,
    driver: &std::sync::Mutex<Driver>,
    future: F,
) -> Result<F::Output, DriveError> {
    let mut driver = match driver.try_lock() {
        Ok(driver) => driver,
        Err(std::sync::TryLockError::Poisoned(poisoned)) => poisoned.into_inner(),
        Err(std::sync::TryLockError::WouldBlock) => return Err(DriveError::AlreadyDriving),
    };
    let _driving = worker::drive(pool.clone());
    let flag = Arc::new(Flag(AtomicBool::new(true)));
    let waker = Waker::from(flag.clone());
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    let mut ready = Ready {
        pool,
        tasks: Vec::new(),
    };
    let mut since_woken = 0u64;
    loop {
        gather(pool, &mut ready.tasks);
        let woken = flag.0.load(Ordering::Acquire);
        let choices = ready.tasks.len() + usize::from(woken);
        since_woken += 1;
        if choices == 0 || since_woken > PATIENCE_STEPS {
            // Nothing to run: time moves on to the next timer, if any.
            if since_woken <= PATIENCE_STEPS && pool.timers.advance() {
                continue;
            }
            return Err(DriveError::Stalled {
                seed: driver.seed,
                steps: driver.steps,
            });
        }
        driver.steps += 1;
        // The future is one more candidate: where it resumes among the
        // isolates' runs is part of the interleaving too.
        let pick = driver.rng.usize(..choices);
        if pick == ready.tasks.len() {
            since_woken = 0;
            flag.0.store(false, Ordering::Release);
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return Ok(output);
            }
        } else {
            let task = ready.tasks.swap_remove(pick);
            // As a worker does: a run catches user panics itself; this is
            // the backstop.
            let _ = catch_unwind(AssertUnwindSafe(|| task.run()));
        }
    }
}

/// Runs `test` once per seed in `seeds`, each time in a new deterministic
/// group (see [`IsolateGroup::deterministic`]) driven until the test's
/// future completes.
///
/// The test is an `async` closure that receives the group: spawn isolates
/// in it and `.await` their replies. Each seed gives one interleaving of the
/// isolates' runs, the same every time.
///
/// # Panics
///
/// When the test panics (a failed assertion) or stalls (a deadlock) for a
/// seed: the panic says which seed, so that [`replay`] can run that one
/// interleaving again, under a debugger or with more logging.
///
/// # Examples
///
/// See the [module docs](self).
pub fn check<T, F>(seeds: Range<u64>, test: T)
where
    T: Fn(IsolateGroup) -> F,
    F: Future<Output = ()>,
{
    for seed in seeds {
        if let Err(failure) = catch_unwind(AssertUnwindSafe(|| replay(seed, &test))) {
            eprintln!(
                "isolate_core::deterministic::check: the test failed with seed {seed}; \
                 replay it with isolate_core::deterministic::replay({seed}, ..)"
            );
            resume_unwind(failure);
        }
    }
}

/// Runs `test` once, in a deterministic group with `seed`: the interleaving
/// [`check`] ran for that seed.
///
/// # Panics
///
/// When the test panics, or stalls (a deadlock: the panic message says so).
pub fn replay<T, F>(seed: u64, test: T)
where
    T: Fn(IsolateGroup) -> F,
    F: Future<Output = ()>,
{
    let group = IsolateGroup::deterministic(seed);
    let future = test(group.clone());
    if let Err(error) = group.block_on(future) {
        panic!("{error}");
    }
}
