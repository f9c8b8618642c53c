//! A group's worker pool: the queues, the workers' threads, and shutdown.

use std::any::Any;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, OnceLock, Weak};
use std::thread::JoinHandle;

use crossbeam_deque::{Injector, Steal, Stealer, Worker as Deque};

use super::idle::Idle;
use super::owned::Owned;
use super::reactor::Reactor;
use super::task::TaskRef;
use super::watch::Watch;
use super::worker;
use crate::introspect::{IsolateInfo, IsolateState};
use crate::registry::Registry;
use crate::timer::Timers;
use std::sync::{Condvar, Mutex as StdMutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

fn lock(mutex: &StdMutex<Vec<bool>>) -> MutexGuard<'_, Vec<bool>> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
use crate::sync::{AtomicBool, AtomicUsize, Ordering, Parker};

/// A worker's queue of pinned isolates: only that worker takes from it, so
/// work stealing never moves a pinned isolate.
#[derive(Default)]
pub(crate) struct Home {
    queue: crate::sync::Mutex<HomeQueue>,
    /// Its length, readable without the lock: an empty home costs the
    /// worker's loop one load.
    queued: AtomicUsize,
}

#[derive(Default)]
struct HomeQueue {
    tasks: std::collections::VecDeque<TaskRef>,
    /// Set when the worker exits: nothing will read the queue again.
    closed: bool,
}

impl Home {
    pub(crate) fn pop(&self) -> Option<TaskRef> {
        if self.queued.load(Ordering::Acquire) == 0 {
            return None;
        }
        let task = crate::sync::lock(&self.queue).tasks.pop_front();
        if task.is_some() {
            self.queued.fetch_sub(1, Ordering::AcqRel);
        }
        task
    }

    /// Queues `task`, or gives it back if the home's worker has exited.
    fn push(&self, task: TaskRef) -> Result<(), TaskRef> {
        let mut queue = crate::sync::lock(&self.queue);
        if queue.closed {
            return Err(task);
        }
        queue.tasks.push_back(task);
        self.queued.fetch_add(1, Ordering::AcqRel);
        Ok(())
    }

    /// The worker is exiting: refuses what comes from now on and returns
    /// what was queued.
    pub(crate) fn close(&self) -> std::collections::VecDeque<TaskRef> {
        let mut queue = crate::sync::lock(&self.queue);
        queue.closed = true;
        self.queued.store(0, Ordering::Release);
        std::mem::take(&mut queue.tasks)
    }

    fn is_closed(&self) -> bool {
        crate::sync::lock(&self.queue).closed
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.queued.load(Ordering::Acquire) == 0
    }
}

/// The state a group's workers and isolates share.
pub(crate) struct Pool {
    pub(crate) name: Arc<str>,
    /// Tasks scheduled from outside the pool's workers.
    pub(crate) injector: Injector<TaskRef>,
    /// One per worker: how the others steal from its local queue.
    pub(crate) stealers: Box<[Stealer<TaskRef>]>,
    /// One per worker: the pinned isolates woken for it.
    pub(crate) homes: Box<[Home]>,
    /// Round-robin counter for choosing a new pinned isolate's home.
    next_home: AtomicUsize,
    /// For a deterministic group (no worker threads): the thread that drives
    /// it, which counts as its one worker (see `deterministic.rs`).
    pub(crate) driver: Option<std::thread::ThreadId>,
    pub(crate) idle: Idle,
    /// What the workers publish for the LIFO watch (`watch.rs`).
    pub(crate) watch: Watch,
    /// Whether the LIFO watch runs on the timer thread.
    pub(crate) watching: AtomicBool,
    pub(crate) owned: Owned,
    pub(crate) registry: Registry,
    pub(crate) timers: Timers,
    /// Worker threads that have exited, for `shutdown_within`.
    exited: StdMutex<Vec<bool>>,
    exited_changed: Condvar,
    shutdown: AtomicBool,
    /// Set once shutdown has stopped every isolate; from then on, whoever
    /// pushes to the injector drains it (see `inject`).
    swept: AtomicBool,
    /// Messages handled by isolates that have ended (live ones keep their
    /// own count), and isolates spawned: for `IsolateGroup::stats`.
    pub(crate) ended_handled: AtomicU64,
    pub(crate) spawned: AtomicU64,
    /// The group handle's shared part, for `IsolateGroup::current`. Weak, so
    /// that the pool does not keep its own group alive.
    pub(crate) owner: OnceLock<Weak<dyn Any + Send + Sync>>,
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name)
            .field("workers", &self.stealers.len())
            .finish_non_exhaustive()
    }
}

/// A tokio runtime's handle, with the `tokio` feature; nothing without it.
#[cfg(feature = "tokio")]
pub(crate) type TokioHandle = tokio::runtime::Handle;
/// A tokio runtime's handle, with the `tokio` feature; nothing without it.
#[cfg(not(feature = "tokio"))]
#[derive(Clone)]
pub(crate) enum TokioHandle {}

/// Enters `handle`'s runtime context until the guard drops.
#[cfg(feature = "tokio")]
fn enter(handle: Option<&TokioHandle>) -> Option<tokio::runtime::EnterGuard<'_>> {
    handle.map(TokioHandle::enter)
}

/// Without the `tokio` feature there is no context to enter.
#[cfg(not(feature = "tokio"))]
struct NoContext;

#[cfg(not(feature = "tokio"))]
fn enter(_: Option<&TokioHandle>) -> NoContext {
    NoContext
}

/// Ids are unique in the process, not just the group, so that an id names
/// one isolate in logs and traces whichever group it came from.
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

impl Pool {
    /// Starts `workers` threads named `{name}-{index}`, in `tokio`'s
    /// context, parking in `reactor` (whose handle `tokio` then is).
    pub(crate) fn start(
        name: Arc<str>,
        workers: usize,
        stack_size: Option<usize>,
        tokio: Option<TokioHandle>,
        reactor: Option<Arc<Reactor>>,
    ) -> std::io::Result<(Arc<Pool>, Vec<JoinHandle<()>>)> {
        let deques: Vec<Deque<TaskRef>> = (0..workers).map(|_| Deque::new_fifo()).collect();
        let parkers: Vec<Parker> = (0..workers).map(|_| Parker::new()).collect();
        let pool = Self::new(name.clone(), &deques, &parkers, None, Timers::default());
        let mut threads = Vec::with_capacity(workers);
        for (index, (deque, parker)) in deques.into_iter().zip(parkers).enumerate() {
            let mut builder = std::thread::Builder::new().name(format!("{name}-{index}"));
            if let Some(size) = stack_size {
                builder = builder.stack_size(size);
            }
            let worker_pool = pool.clone();
            let tokio = tokio.clone();
            let reactor = reactor.clone();
            let main = move || {
                // The whole life of the worker inside the runtime's context,
                // so that tokio resources made in a handler find it.
                let _context = enter(tokio.as_ref());
                worker::main(worker_pool, index, deque, parker, reactor)
            };
            match builder.spawn(main) {
                Ok(handle) => threads.push(handle),
                Err(error) => {
                    // Leave nothing behind: stop the threads already started.
                    pool.shutdown(threads);
                    return Err(error);
                }
            }
        }
        Ok((pool, threads))
    }

    /// A pool with no worker threads, driven by the calling thread (a
    /// deterministic group): its isolates run only inside `block_on`, and
    /// its timers run on virtual time.
    pub(crate) fn driven(name: Arc<str>) -> Arc<Pool> {
        let driver = std::thread::current().id();
        Self::new(name, &[], &[], Some(driver), Timers::virtual_time())
    }

    fn new(
        name: Arc<str>,
        deques: &[Deque<TaskRef>],
        parkers: &[Parker],
        driver: Option<std::thread::ThreadId>,
        timers: Timers,
    ) -> Arc<Pool> {
        crate::panic_trace::install();
        let workers = deques.len();
        Arc::new(Pool {
            name,
            injector: Injector::new(),
            stealers: deques.iter().map(Deque::stealer).collect(),
            // A driven pool has no workers but one home: its driver's.
            homes: (0..workers.max(1)).map(|_| Home::default()).collect(),
            next_home: AtomicUsize::new(0),
            driver,
            idle: Idle::new(parkers.iter().map(|p| p.unparker().clone()).collect()),
            watch: Watch::new(workers),
            watching: AtomicBool::new(false),
            owned: Owned::new(workers),
            registry: Registry::default(),
            timers,
            exited: StdMutex::new(vec![false; workers]),
            exited_changed: Condvar::new(),
            shutdown: AtomicBool::new(false),
            swept: AtomicBool::new(false),
            ended_handled: AtomicU64::new(0),
            spawned: AtomicU64::new(0),
            owner: OnceLock::new(),
        })
    }

    /// A fresh isolate id.
    pub(crate) fn next_id() -> u64 {
        NEXT_ID.fetch_add(1, Ordering::Relaxed)
    }

    /// Number of worker threads.
    pub(crate) fn workers(&self) -> usize {
        self.stealers.len()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.load(Ordering::SeqCst)
    }

    /// The worker a new pinned isolate will live on.
    pub(crate) fn next_home(&self) -> u32 {
        let home = self.next_home.fetch_add(1, Ordering::Relaxed) % self.homes.len();
        u32::try_from(home).unwrap_or(0)
    }

    /// Schedules `task` from a thread that is not one of this pool's workers
    /// (or behind everything else): a pinned one goes to its home.
    pub(crate) fn inject(&self, task: TaskRef) {
        if let Some(home) = task.home() {
            self.send_home(home, task);
            return;
        }
        self.injector.push(task);
        if !self.is_shutting_down() {
            self.idle.notify_one();
        } else if self.swept.load(Ordering::SeqCst) {
            // The shutdown sweep is over and may have drained the injector
            // already: drop what was pushed since. Every isolate is stopped
            // by now, so this runs no user code. Before the sweep is over,
            // the sweep drains it; draining here instead would tear isolates
            // down on an arbitrary thread, recursively, one frame per
            // isolate in a chain of ports.
            self.drain_injector();
        }
    }

    /// Queues a pinned isolate on its home worker and wakes that worker. The
    /// wake-up is a direct one: harmless if the worker is awake, which
    /// looks at its home before it parks (on its parker or in the reactor).
    pub(crate) fn send_home(&self, home: usize, task: TaskRef) {
        let Some(queue) = self.homes.get(home) else {
            return;
        };
        if let Err(task) = queue.push(task) {
            // Its worker has exited (the group is shutting down): nothing
            // will run it, so it is stopped, which fails what waits on it.
            worker::orphaned(self, home, task);
            return;
        }
        if worker::current_index_of(self) != Some(home) {
            self.idle.unpark(home);
        } else {
            // Woken on its home worker while that worker parks in the
            // reactor (a socket, a timer, a tokio task): the park ends.
            worker::kick(self);
        }
    }

    /// Whether any queue worker `index` could take from holds a task.
    pub(crate) fn has_work_for(&self, index: usize) -> bool {
        !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
            || self.homes.get(index).is_some_and(|home| !home.is_empty())
    }

    fn drain_injector(&self) {
        loop {
            match self.injector.steal() {
                Steal::Success(task) => task.shutdown(),
                Steal::Empty => break,
                Steal::Retry => continue,
            }
        }
    }

    /// Stops the pool: workers finish the run they are in and exit, every
    /// isolate is stopped (failing its pending asks), and every thread in
    /// `threads` is joined, except the calling thread when it is one of them.
    ///
    /// The order matters: the sweep of live isolates runs after the join, so
    /// no other worker is in the middle of a run while it goes. Only the
    /// calling worker can be (when a handler dropped the last handle), and
    /// that run stops its isolate itself once the handler returns.
    pub(crate) fn shutdown(&self, threads: Vec<JoinHandle<()>>) {
        self.shutdown_within(threads, None);
    }

    /// As `shutdown`, but waits at most `timeout` for the workers to finish
    /// the runs they are in. Returns the isolates still running then, and
    /// the names of the worker threads left behind (they exit on their own
    /// once their handler returns).
    pub(crate) fn shutdown_within(
        &self,
        threads: Vec<JoinHandle<()>>,
        timeout: Option<Duration>,
    ) -> (Vec<IsolateInfo>, Vec<String>, usize) {
        self.shutdown.store(true, Ordering::SeqCst);
        self.idle.notify_all();
        // No timer fires into a stopping group; pending ones are dropped.
        self.timers.stop();
        let me = std::thread::current().id();
        // Workers are spawned in index order; the calling worker (if any)
        // cannot join itself and is left out.
        let others: Vec<(usize, JoinHandle<()>)> = threads
            .into_iter()
            .enumerate()
            .filter(|(_, thread)| thread.thread().id() != me)
            .collect();
        let exited: Vec<bool> = match timeout {
            None => vec![true; self.workers()],
            Some(timeout) => {
                let deadline = Instant::now() + timeout;
                let mut exited = lock(&self.exited);
                while !others.iter().all(|(index, _)| exited[*index]) {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    exited = match self.exited_changed.wait_timeout(exited, left) {
                        Ok((guard, _)) => guard,
                        Err(poisoned) => poisoned.into_inner().0,
                    };
                }
                exited.clone()
            }
        };
        let mut stuck = Vec::new();
        for (index, thread) in others {
            if exited[index] {
                // Its loop is over, so this returns at once. A worker that
                // panicked has already reported it; nothing more to do here.
                let _ = thread.join();
            } else {
                stuck.push(thread.thread().name().unwrap_or("worker").to_owned());
            }
        }
        // What is still running now is in a handler that did not return in
        // time; the sweep leaves it to its worker, which stops it after.
        let running: Vec<IsolateInfo> = self
            .owned
            .snapshot()
            .iter()
            .map(|task| task.info())
            .filter(|info| info.state == IsolateState::Running)
            .collect();
        // A worklist, not recursion: tearing one isolate down can wake the
        // next (its last port dropped), which only lands in the injector.
        let live = self.owned.close();
        let stopped = live.len();
        for task in live {
            match task.home() {
                // A pinned isolate whose worker has not exited (it is still
                // in a run, past the timeout) goes home: that worker tears
                // it down, value and all, as it exits.
                // (A deterministic group has no worker to hand it to.)
                Some(home)
                    if self.driver.is_none()
                        && worker::current_index_of(self) != Some(home)
                        && self.homes.get(home).is_some_and(|home| !home.is_closed()) =>
                {
                    self.send_home(home, task);
                }
                _ => task.shutdown(),
            }
        }
        self.swept.store(true, Ordering::SeqCst);
        self.drain_injector();
        if self.driver.is_some() {
            // A deterministic group has no worker to close its one home:
            // what is queued there would keep the pool alive (a cycle
            // through the queued cells) and never be stopped.
            worker::close_home(self, 0);
        }
        self.registry.clear();
        (running, stuck, stopped)
    }

    /// Worker `index` is about to exit.
    pub(crate) fn worker_exited(&self, index: usize) {
        if let Some(exited) = lock(&self.exited).get_mut(index) {
            *exited = true;
        }
        self.exited_changed.notify_all();
    }
}
