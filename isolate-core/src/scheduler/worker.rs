//! A worker thread: its local queue, its LIFO slot, and the loop that runs
//! isolates.
//!
//! Where the next isolate comes from, in order:
//! 1. the **LIFO slot**: the isolate most recently woken by code running on
//!    this worker. A message's receiver runs next, on the same core, while the
//!    message is still in cache. This is what makes ping-pong and rings fast.
//!    At most [`MAX_LIFO_RUNS`] slot runs follow one another, then the slot's
//!    isolate goes to the back of the local queue, so two isolates bouncing a
//!    message cannot starve the rest.
//! 2. the **local queue** (FIFO), which other workers may steal from;
//! 3. every [`INJECTOR_INTERVAL`] ticks, the **injector** first, so that work
//!    from outside the pool is not starved by a busy local queue;
//! 4. the injector, then the other workers' queues (**work stealing**);
//! 5. otherwise the worker **parks** (see `idle.rs`): in a group with a
//!    reactor, inside it if no other worker is there (see `reactor.rs`).
//!
//! A pinned isolate skips all of that: it is queued in its home worker's
//! **home queue**, which that worker looks at before anything else and
//! which nobody steals from (see `Pool::send_home`).

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;
use std::task::{Context, Poll};

use crossbeam_deque::{Steal, Worker as Deque};

use super::pool::Pool;
use super::reactor::Reactor;
use super::task::TaskRef;
use crate::sync::Parker;

/// Consecutive runs taken from the LIFO slot before it yields to the queue.
const MAX_LIFO_RUNS: u32 = 3;
/// How often (in ticks) the injector is checked before the local queue.
const INJECTOR_INTERVAL: u32 = 61;
/// Searches a worker makes before it parks, and spin hints between them:
/// about 20 µs in all.
const SPIN_ROUNDS: u32 = 32;
const SPINS_PER_ROUND: u32 = 64;

struct Local {
    pool: Arc<Pool>,
    index: usize,
    queue: Deque<TaskRef>,
    lifo: Cell<Option<TaskRef>>,
    tick: Cell<u32>,
    /// The group's reactor, if it has one.
    reactor: Option<Arc<Reactor>>,
    /// Whether this worker parks in the reactor right now, and whether
    /// something has ended that park already.
    in_driver: Cell<bool>,
    kicked: Cell<bool>,
}

thread_local! {
    static CURRENT: RefCell<Option<Rc<Local>>> = const { RefCell::new(None) };
    /// Set on a group's worker threads and timer thread.
    static NO_BLOCKING: Cell<bool> = const { Cell::new(false) };
    /// The deterministic group this thread is driving, inside `block_on`.
    static DRIVING: RefCell<Option<Arc<Pool>>> = const { RefCell::new(None) };
    /// Pinned isolates sent home while this thread was closing that home
    /// (see `close_home`): stopped by its loop, not recursively.
    static ORPHANS: RefCell<Vec<TaskRef>> = const { RefCell::new(Vec::new()) };
}

/// A pinned isolate was sent to a closed home. On that home's own thread
/// (which is closing it) it joins the closing loop's worklist: stopping
/// one isolate can wake the next, and stopping it here, recursively, would
/// overflow the stack on a long chain of ports. Elsewhere it is stopped at
/// once (its value, if built, left alone: see `Cell::teardown`).
pub(crate) fn orphaned(pool: &Pool, home: usize, task: TaskRef) {
    if current_index_of(pool) == Some(home)
        && ORPHANS
            .try_with(|orphans| orphans.borrow_mut().push(task.clone()))
            .is_ok()
    {
        return;
    }
    task.shutdown();
}

/// Closes home `index` of `pool` and stops, on this thread (its worker),
/// every pinned isolate homed there: those queued, those in the group's
/// list, and those woken while this runs.
pub(crate) fn close_home(pool: &Pool, index: usize) {
    let Some(home) = pool.homes.get(index) else {
        return;
    };
    let mut work: Vec<TaskRef> = home.close().into();
    work.extend(
        pool.owned
            .snapshot()
            .into_iter()
            .filter(|task| task.home() == Some(index)),
    );
    loop {
        while let Some(task) = work.pop() {
            task.shutdown();
        }
        let orphans = ORPHANS
            .try_with(|orphans| std::mem::take(&mut *orphans.borrow_mut()))
            .unwrap_or_default();
        if orphans.is_empty() {
            return;
        }
        work = orphans;
    }
}

/// Makes the calling thread act as `pool`'s one worker until the guard is
/// dropped: `IsolateGroup::current()` finds the group, and blocking waits
/// are refused (they would wait for isolates that only this thread runs).
pub(crate) fn drive(pool: Arc<Pool>) -> impl Drop {
    /// What was there before, put back when the drive ends (a drive may
    /// nest: a test driving one deterministic group inside another's).
    struct Driving(Option<Arc<Pool>>, bool);
    impl Drop for Driving {
        fn drop(&mut self) {
            let previous = self.0.take();
            let _ = DRIVING.try_with(|driving| *driving.borrow_mut() = previous);
            let _ = NO_BLOCKING.try_with(|flag| flag.set(self.1));
        }
    }
    let previous = DRIVING.with(|driving| driving.borrow_mut().replace(pool));
    Driving(previous, NO_BLOCKING.with(|flag| flag.replace(true)))
}

/// Whether the calling thread is a worker or the timer thread of some
/// group: a blocking wait here would stall one of the group's few threads,
/// so blocking APIs refuse it.
pub(crate) fn must_not_block() -> bool {
    NO_BLOCKING.try_with(Cell::get).unwrap_or(false)
}

/// Marks the calling thread (a worker, a timer thread) as one where
/// blocking APIs must refuse to block.
pub(crate) fn forbid_blocking() {
    NO_BLOCKING.with(|flag| flag.set(true));
}

/// The index of the calling thread among `pool`'s workers, if it is one.
pub(crate) fn current_index(pool: &Arc<Pool>) -> Option<usize> {
    current_index_of(pool)
}

/// As [`current_index`], for a pool known by reference.
pub(crate) fn current_index_of(pool: &Pool) -> Option<usize> {
    // A deterministic group's driver is its one worker, inside `block_on`
    // or not (it also shuts the group down).
    if pool.driver.is_some() {
        return (pool.driver == Some(std::thread::current().id())).then_some(0);
    }
    CURRENT
        .try_with(|current| {
            current
                .borrow()
                .as_ref()
                .filter(|local| std::ptr::eq(Arc::as_ptr(&local.pool), pool))
                .map(|local| local.index)
        })
        .ok()
        .flatten()
}

/// The pool of the worker thread this is, if it is one.
pub(crate) fn current_pool() -> Option<Arc<Pool>> {
    CURRENT
        .try_with(|current| current.borrow().as_ref().map(|local| local.pool.clone()))
        .ok()
        .flatten()
        .or_else(|| {
            DRIVING
                .try_with(|driving| driving.borrow().clone())
                .ok()
                .flatten()
        })
}

/// Schedules `task`, which something just woke (a message, a waker).
///
/// On one of `pool`'s workers it goes into the LIFO slot; anywhere else into
/// the injector.
pub(crate) fn schedule(pool: &Arc<Pool>, task: TaskRef) {
    if let Some(home) = task.home() {
        pool.send_home(home, task);
        return;
    }
    let task = with_local(pool, task, |local, task| {
        local.pool.watch.set_lifo(local.index, Some(task.key()));
        if let Some(previous) = local.lifo.replace(Some(task)) {
            // Two isolates woken in one run (a fan-out): the older one can run
            // anywhere, so let a sleeping worker steal it.
            local.queue.push(previous);
            local.pool.idle.notify_one();
        }
        // Woken by a socket, a timer or a tokio task while this worker
        // parks in the reactor: the park ends, and the isolate runs next.
        local.kick();
    });
    if let Some(task) = task {
        pool.inject(task);
    }
}

/// Ends the park in the reactor of the calling thread, if it is one of
/// `pool`'s workers and parks there: it just queued work that only its own
/// loop will look at (its LIFO slot, its home queue).
pub(crate) fn kick(pool: &Pool) {
    let _ = CURRENT.try_with(|current| {
        if let Some(local) = current.borrow().as_ref()
            && std::ptr::eq(Arc::as_ptr(&local.pool), pool)
        {
            local.kick();
        }
    });
}

/// Runs `f` with this thread's worker state if it belongs to `pool`;
/// otherwise gives `task` back.
fn with_local(pool: &Arc<Pool>, task: TaskRef, f: impl FnOnce(&Local, TaskRef)) -> Option<TaskRef> {
    let mut task = Some(task);
    let _ = CURRENT.try_with(|current| {
        if let Some(local) = current.borrow().as_ref()
            && Arc::ptr_eq(&local.pool, pool)
            && !pool.is_shutting_down()
            && let Some(task) = task.take()
        {
            f(local, task);
        }
    });
    task
}

/// Runs a task. A run catches every panic of user code itself; this is the
/// backstop that keeps the worker alive (and its queues served) should one
/// ever escape.
fn run_contained(task: TaskRef) {
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| task.run()));
}

/// The body of a worker thread.
pub(crate) fn main(
    pool: Arc<Pool>,
    index: usize,
    queue: Deque<TaskRef>,
    parker: Parker,
    reactor: Option<Arc<Reactor>>,
) {
    let local = Rc::new(Local {
        pool,
        index,
        queue,
        lifo: Cell::new(None),
        tick: Cell::new(0),
        reactor,
        in_driver: Cell::new(false),
        kicked: Cell::new(false),
    });
    CURRENT.with(|current| *current.borrow_mut() = Some(local.clone()));
    forbid_blocking();
    super::watch::ensure(&local.pool);
    local.run(&parker);
    // Drop what is still queued here; shutdown stops those isolates through
    // the group's list of live isolates.
    local.take_lifo();
    while local.queue.pop().is_some() {}
    // Pinned isolates are torn down at home, while this thread still counts
    // as their worker: their values never leave it. The home closes first,
    // so that what is sent home from now on is stopped (see `orphaned`)
    // rather than stranded in a queue nobody reads. What was queued there
    // includes the pinned isolates that the shutdown sweep handed over
    // because this worker was still in a run.
    close_home(&local.pool, local.index);
    CURRENT.with(|current| current.borrow_mut().take());
    local.pool.worker_exited(local.index);
}

impl Local {
    fn run(&self, parker: &Parker) {
        // Whether this worker counts in `Idle::searching`.
        let mut searching = false;
        loop {
            if self.pool.is_shutting_down() {
                return;
            }
            // The LIFO slot can fill outside a run: in the reactor.
            let task = match self.take_lifo().or_else(|| self.next_local()) {
                Some(task) => Some(task),
                None => {
                    if !searching {
                        self.pool.idle.start_search();
                        searching = true;
                    }
                    self.search()
                }
            };
            if let Some(task) = task {
                if searching {
                    searching = false;
                    self.pool.idle.end_search();
                }
                self.run_task(task);
                continue;
            }
            // Nothing anywhere yet. Keep searching a little while before
            // parking: in a burst of small tasks, new work usually appears
            // within microseconds, and a searching worker is found by it
            // without a wake-up system call.
            if let Some(task) = self.spin_search() {
                searching = false;
                self.pool.idle.end_search();
                self.run_task(task);
                continue;
            }
            // Nothing anywhere: become a sleeper, look once more, park.
            self.pool.idle.register(self.index);
            if !self.has_work() && !self.park_in_reactor() {
                parker.park();
            }
            // Searching again, whether woken, early or spuriously.
            self.pool.idle.unregister(self.index);
            super::watch::ensure(&self.pool);
            searching = true;
        }
    }

    fn run_task(&self, task: TaskRef) {
        let watch = &self.pool.watch;
        watch.started_run(self.index);
        run_contained(task);
        for _ in 0..MAX_LIFO_RUNS {
            match self.take_lifo() {
                Some(next) => {
                    watch.started_run(self.index);
                    run_contained(next);
                }
                None => return,
            }
        }
        if let Some(next) = self.take_lifo() {
            // Out of the LIFO slot for fairness. Other workers are woken to
            // steal only when more than this one task is queued: waking a
            // thread to steal a lone task just pulls a ping-pong pair apart
            // onto two cores.
            self.queue.push(next);
            if self.queue.len() > 1 {
                self.pool.idle.notify_one();
            }
        }
    }

    /// Parks inside the reactor until there is work (see `DriverPark`),
    /// unless the group has none or another worker parks there: then
    /// `false`, at once.
    fn park_in_reactor(&self) -> bool {
        let Some(reactor) = &self.reactor else {
            return false;
        };
        self.in_driver.set(true);
        self.kicked.set(false);
        let parked = reactor
            .try_block_on(DriverPark {
                local: self,
                entered: false,
            })
            .is_some();
        self.in_driver.set(false);
        self.pool.idle.leave_driver(self.index);
        parked
    }

    /// Handles the reactor's ready events without waiting (if no other
    /// worker is in it), and returns an isolate they woke.
    fn poll_reactor(&self) -> Option<TaskRef> {
        let reactor = self.reactor.as_ref()?;
        if !reactor.poll() {
            return None;
        }
        // A worker that went to park while this one was in the reactor
        // parked on its parker: with nobody in the reactor now, it is
        // woken to park there instead, so that sockets and timers do not
        // wait for this worker's next look while a worker idles.
        self.pool.idle.hand_over_reactor();
        self.take_lifo()
    }

    /// Ends this worker's park in the reactor, once per park, if it is
    /// there (see `schedule`).
    fn kick(&self) {
        if self.in_driver.get() && !self.kicked.replace(true) {
            self.pool.idle.kick(self.index);
        }
    }

    /// Whether this worker has something to run, or must exit.
    fn has_work(&self) -> bool {
        let lifo = self.lifo.take();
        let full = lifo.is_some();
        self.lifo.set(lifo);
        full || self.pool.has_work_for(self.index) || self.pool.is_shutting_down()
    }

    /// Empties the LIFO slot, telling the watch.
    fn take_lifo(&self) -> Option<TaskRef> {
        let task = self.lifo.take();
        if task.is_some() {
            self.pool.watch.set_lifo(self.index, None);
        }
        task
    }

    /// The next task from this worker's own queue (or, every
    /// [`INJECTOR_INTERVAL`] ticks, from the injector first).
    fn next_local(&self) -> Option<TaskRef> {
        let tick = self.tick.get().wrapping_add(1);
        self.tick.set(tick);
        if tick.is_multiple_of(INJECTOR_INTERVAL) {
            // IO and timers too are not starved by a busy local queue.
            if let Some(task) = self.poll_reactor() {
                return Some(task);
            }
            if let Some(task) = self.steal_from_injector() {
                return Some(task);
            }
        }
        // The home queue and the local queue take turns, so that a busy
        // pinned isolate (which yields back to its home) cannot starve the
        // rest of this worker's work, nor the rest its pinned isolates.
        let home = &self.pool.homes[self.index];
        if tick.is_multiple_of(2) {
            home.pop().or_else(|| self.queue.pop())
        } else {
            self.queue.pop().or_else(|| home.pop())
        }
    }

    /// Searches again for a bounded time (tens of microseconds), with
    /// spin-loop hints between attempts.
    ///
    /// Not in a group with a reactor: a spinning worker waits on no socket,
    /// while parking puts it in the reactor, where a socket's wake-up runs
    /// its isolate at once. Spinning there cost more CPU per HTTP request
    /// and fewer requests per second (docs/benchmarks.md).
    fn spin_search(&self) -> Option<TaskRef> {
        if self.reactor.is_some() {
            return None;
        }
        let home = &self.pool.homes[self.index];
        for _ in 0..SPIN_ROUNDS {
            for _ in 0..SPINS_PER_ROUND {
                // Work only this worker may take is looked for on every
                // spin (one load): nobody else can pick it up meanwhile.
                if !home.is_empty() {
                    break;
                }
                std::hint::spin_loop();
            }
            if self.pool.is_shutting_down() {
                return None;
            }
            if let Some(task) = self.queue.pop().or_else(|| self.search()) {
                return Some(task);
            }
        }
        None
    }

    /// Work from elsewhere: the injector, then the other workers' queues.
    fn search(&self) -> Option<TaskRef> {
        self.pool.homes[self.index]
            .pop()
            .or_else(|| self.steal_from_injector())
            .or_else(|| self.steal_from_workers(self.tick.get() as usize))
    }

    fn steal_from_injector(&self) -> Option<TaskRef> {
        loop {
            match self.pool.injector.steal_batch_and_pop(&self.queue) {
                Steal::Success(task) => return Some(task),
                Steal::Empty => return None,
                Steal::Retry => continue,
            }
        }
    }

    fn steal_from_workers(&self, start: usize) -> Option<TaskRef> {
        let stealers = &self.pool.stealers;
        let count = stealers.len();
        for offset in 0..count {
            let victim = (start + offset) % count;
            if victim == self.index {
                continue;
            }
            loop {
                match stealers[victim].steal_batch_and_pop(&self.queue) {
                    Steal::Success(task) => return Some(task),
                    Steal::Empty => break,
                    Steal::Retry => continue,
                }
            }
        }
        None
    }
}

/// What a worker parks on inside the reactor: pending until there is work.
///
/// Its first poll publishes the waker (see `Idle::enter_driver`) and then
/// looks at the queues once more (and whether a notifier has already
/// picked this worker); if there is nothing, the reactor waits on
/// its sockets and timers until the waker is woken (work was queued for
/// this worker, an event woke an isolate here, the group shuts down). The
/// poll after that ends the park: the worker's loop finds what there is.
struct DriverPark<'a> {
    local: &'a Local,
    entered: bool,
}

impl Future for DriverPark<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.entered {
            return Poll::Ready(());
        }
        self.entered = true;
        let local = self.local;
        if !local.pool.idle.enter_driver(local.index, cx.waker()) || local.has_work() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}
