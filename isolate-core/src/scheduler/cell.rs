//! One isolate in memory: its scheduling state, its mailbox, and its private
//! core (the user's value and the future of an async handler in flight).
//!
//! This file holds the runtime's only `unsafe` code outside of trait impls.
//! All of it is about the core, and all of it rests on invariant 1 of
//! `state.rs`: the core is touched only by the thread that won the run (or
//! the stop), so there is never a second reference to it.
//!
//! A *pinned* isolate (one with a home worker) may hold a `!Send` value and
//! a `!Send` handler future. Its core is touched only on its home worker:
//! the scheduler runs a homed isolate nowhere else, shutdown off that thread
//! leaves it to the home worker (which tears its pinned isolates down before
//! it exits), and a cell dropped elsewhere with its value still inside
//! leaks the value rather than drop it on the wrong thread.

use std::any::Any;
use std::cell::UnsafeCell;
use std::future::Future;
use std::mem::ManuallyDrop;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use super::mailbox::{self, Mailbox, Refused, RoomListener};
use super::owned::Key;
use super::pool::Pool;
use super::state::{Finish, Phase, State};
use super::task::Task;
use super::worker;
use crate::control::{Controls, LazyControls, Listener, SpawnOptions, Verdict};
use crate::error::RemoteError;
use crate::handle::{IsolateHandle, Target};
use crate::introspect::{IsolateInfo, IsolateState};
use crate::isolate::{Handled, Isolate};
use crate::supervisor::{self, Decision};
use crate::trace;
use std::sync::atomic::{AtomicU64, Ordering, fence};

/// Messages handled in one run before the isolate yields its worker, so that
/// one flooded isolate cannot starve the others.
const BUDGET: u32 = 128;

type BoxFuture = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;
/// A handler future as the core keeps it: `Send` unless the isolate is
/// pinned (see the module docs).
type CoreFuture = Pin<Box<dyn Future<Output = ()> + 'static>>;

pub(crate) struct Cell<I: Isolate> {
    state: State,
    id: u64,
    key: Key,
    pool: Arc<Pool>,
    mailbox: Mailbox<I::Message>,
    /// Dart's controls (kill, pause, ping, listeners), allocated on first use.
    controls: LazyControls,
    /// Messages handled; written only by the run holder, read by anyone.
    handled: AtomicU64,
    /// The factory and supervisor of a supervised isolate.
    supervised: Option<Box<Supervised<I>>>,
    /// The worker a pinned isolate runs on, and only on; `None` for an
    /// isolate that may run on any worker.
    home: Option<u32>,
    /// In `ManuallyDrop` so that `Drop for Cell` can leak a pinned core
    /// rather than drop it off its home thread; on its home, `Drop` empties
    /// it in place (`drop_core`).
    core: ManuallyDrop<UnsafeCell<Core<I>>>,
}

/// How a supervised isolate is rebuilt, and who decides.
pub(crate) struct Supervised<I> {
    pub(crate) factory: fn() -> I,
    pub(crate) supervisor: Arc<supervisor::Core>,
}

struct Core<I> {
    /// The async handler in flight, or an entry future. Declared before
    /// `isolate` so that it is dropped first: it may borrow `isolate`.
    future: Option<CoreFuture>,
    isolate: Option<I>,
}

// SAFETY: `Cell` is shared between threads through `Arc`. Everything in it is
// `Sync` and `Send` except the core, and the core is only ever reached by the
// one thread that holds the run (state RUNNING/NOTIFIED) or that stopped the
// isolate (`State::stop`/`stop_idle` succeeded), as `state.rs` invariant 1
// states. For an isolate with no home, the core holds an `I: Send` (only
// `Cell::spawn`, which requires it, makes such cells) and only `Send`
// futures (`Handled::Local` is refused, see `run_core`), so handing it from
// one such thread to the next is sound. A pinned isolate's core never leaves
// its home thread at all (module docs): the values in it are created, used
// and dropped there, so they are never sent, whatever their type.
unsafe impl<I: Isolate> Sync for Cell<I> {}
// SAFETY: as above.
unsafe impl<I: Isolate> Send for Cell<I> {}

/// How a run ended.
enum Outcome {
    /// Nothing left to do now: the mailbox is empty or an async handler is
    /// waiting for a wake-up.
    Idle,
    /// The budget ran out with messages left.
    Yield,
    /// The isolate ends.
    Exit,
}

/// The payload of the unwind that `isolate_core::exit` starts: a clean end,
/// not a failure.
pub(crate) struct ExitSignal;

thread_local! {
    static IN_ISOLATE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether the calling code runs inside an isolate's handler or future.
pub(crate) fn in_isolate() -> bool {
    IN_ISOLATE.try_with(|flag| flag.get()).unwrap_or(false)
}

/// Sets the in-isolate flag for the length of a run, and clears it even if
/// the run unwinds.
struct RunGuard;

impl RunGuard {
    fn enter() -> Self {
        IN_ISOLATE.with(|flag| flag.set(true));
        RunGuard
    }
}

impl Drop for RunGuard {
    fn drop(&mut self) {
        let _ = IN_ISOLATE.try_with(|flag| flag.set(false));
    }
}

impl<I: Isolate> Cell<I> {
    /// Creates an isolate in `pool` and registers it. `senders` ports will be
    /// made for its mailbox by the caller; `future` is work to start before
    /// the first message. The isolate is scheduled at once if it has such
    /// work, and otherwise waits, idle, for its first message.
    pub(crate) fn spawn(
        pool: &Arc<Pool>,
        isolate: I,
        senders: usize,
        future: Option<BoxFuture>,
        options: SpawnOptions,
        supervised: Option<Supervised<I>>,
    ) -> Arc<Self>
    where
        I: Send,
    {
        Self::create(pool, isolate, senders, future, options, supervised, None)
    }

    /// Creates a pinned isolate: it runs only on one worker, its home,
    /// chosen round-robin. `isolate` must hold no `!Send` value yet (it
    /// moves from the caller's thread to the home worker): a pinned
    /// isolate's value builds its state in its entry, on its home.
    pub(crate) fn spawn_pinned(pool: &Arc<Pool>, isolate: I, options: SpawnOptions) -> Arc<Self> {
        debug_assert!(
            I::__HAS_ENTRY,
            "a pinned isolate builds its state on its home"
        );
        let home = pool.next_home();
        Self::create(pool, isolate, 1, None, options, None, Some(home))
    }

    fn create(
        pool: &Arc<Pool>,
        isolate: I,
        senders: usize,
        future: Option<BoxFuture>,
        options: SpawnOptions,
        supervised: Option<Supervised<I>>,
        home: Option<u32>,
    ) -> Arc<Self> {
        let controls = LazyControls::new();
        let mailbox = match options.capacity {
            Some(capacity) => Mailbox::bounded(senders, capacity),
            None => Mailbox::new(senders),
        };
        if options.needs_controls() {
            let _ = controls.set(Box::new(Controls::new(options)));
        }
        let id = Pool::next_id();
        pool.spawned.fetch_add(1, Ordering::Relaxed);
        let has_work = future.is_some() || I::__HAS_ENTRY;
        let hint = worker::current_index(pool).unwrap_or(id as usize);
        let (cell, registered) = pool.owned.insert(hint, |key| {
            Arc::new(Cell {
                state: if has_work {
                    State::new_scheduled()
                } else {
                    State::new()
                },
                id,
                key,
                pool: pool.clone(),
                mailbox,
                controls,
                handled: AtomicU64::new(0),
                supervised: supervised.map(Box::new),
                home,
                core: ManuallyDrop::new(UnsafeCell::new(Core {
                    future: future.map(|future| future as CoreFuture),
                    isolate: Some(isolate),
                })),
            })
        });
        trace::spawned(id, &pool.name);
        if !registered {
            // The group is shutting down: the isolate never starts. Its core
            // holds only what the spawner handed in (for a pinned isolate,
            // the `Send` factory), so this thread may drop it.
            if cell.state.stop_idle() {
                cell.teardown_core(true);
            }
        } else if has_work {
            // Into the LIFO slot when spawned from a worker: a new isolate
            // runs soon after its parent, depth first, which keeps the set of
            // live isolates (and memory) small in spawn-heavy trees.
            worker::schedule(pool, cell.clone());
        }
        cell
    }

    /// Delivers a message. `Ok(true)` means the caller must schedule the
    /// isolate (see [`Cell::schedule`]).
    pub(crate) fn push(&self, message: I::Message) -> Result<bool, Refused<I::Message>> {
        mailbox::deliver(&self.mailbox, &self.state, message)
    }

    /// Registers a sender to be woken when a bounded mailbox has room.
    pub(crate) fn listen(&self) -> Option<RoomListener<'_, I::Message>> {
        self.mailbox.listen()
    }

    /// Puts a woken isolate on a run queue.
    pub(crate) fn schedule(self: Arc<Self>) {
        let pool = self.pool.clone();
        worker::schedule(&pool, self);
    }

    pub(crate) fn add_sender(&self) {
        self.mailbox.add_sender();
    }

    /// A port was dropped. Returns `true` when that was the last one and the
    /// caller must schedule the isolate, so that it can end.
    pub(crate) fn release_sender(&self) -> bool {
        self.mailbox.remove_sender() && self.state.notify()
    }

    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.pool
    }

    pub(crate) fn is_stopped(&self) -> bool {
        self.state.is_stopped()
    }

    /// The control state, allocated on first use.
    pub(crate) fn controls(&self) -> &Controls {
        self.controls
            .get_or_init(|| Box::new(Controls::new(SpawnOptions::default())))
    }

    /// The name given at spawn, if any.
    fn name(&self) -> Option<&str> {
        self.existing_controls()
            .and_then(|controls| controls.name.as_deref())
    }

    /// The control state if it exists.
    pub(crate) fn existing_controls(&self) -> Option<&Controls> {
        self.controls.get().map(|controls| &**controls)
    }

    /// Wakes the isolate so that it serves its control lane; if it has
    /// already ended, drops what was queued there (nobody will serve it).
    pub(crate) fn wake_for_control(self: &Arc<Self>) {
        if self.state.notify() {
            self.clone().schedule();
        }
        // Pairs with the fence in `teardown`, as in `add_exit_listener`.
        fence(Ordering::SeqCst);
        if self.is_stopped()
            && let Some(controls) = self.existing_controls()
        {
            controls.exited();
        }
    }

    /// Registers an exit listener, firing it at once if the isolate has
    /// already ended.
    pub(crate) fn add_exit_listener(&self, listener: Listener) {
        let controls = self.controls();
        controls.add_exit_listener(listener);
        // Pairs with the fence in `teardown`: either teardown sees these
        // controls and fires the listener, or this sees the isolate stopped
        // and fires it here. `exited` fires each listener once.
        fence(Ordering::SeqCst);
        if self.is_stopped() {
            controls.exited();
        }
    }

    /// Records that the isolate is registered as `name`, so that teardown
    /// removes the name.
    pub(crate) fn note_registered(&self, name: Arc<str>) {
        let controls = self.controls();
        let noted = controls.note_registered(name.clone());
        fence(Ordering::SeqCst);
        if !noted || self.is_stopped() {
            self.pool.registry.forget(&name, self.id);
        }
    }

    /// Reports an uncaught panic. Returns whether the isolate must end.
    fn fail(self: &Arc<Self>, payload: Box<dyn Any + Send>) -> bool {
        if payload.is::<ExitSignal>() {
            return true;
        }
        let error = RemoteError::panicked(panic_message(&*payload));
        // Dropping the payload may itself panic; contain that (the
        // backtrace was taken above, before it could be replaced).
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        let fatal = match self.existing_controls() {
            Some(controls) => controls.report_error(&error),
            None => true,
        };
        trace::panicked(self.id, error.message(), fatal);
        if !fatal {
            return false;
        }
        !self.supervise()
    }

    /// The child failed (its handler panicked, or its factory did while it
    /// was being restarted): asks its supervisor, and restarts it in place
    /// as often as the supervisor allows. Returns whether it lives on.
    ///
    /// Must only be called by the run holder.
    fn supervise(self: &Arc<Self>) -> bool {
        let Some(supervised) = &self.supervised else {
            return false;
        };
        loop {
            match supervised.supervisor.child_failed(self.id) {
                Decision::GiveUp => return false,
                Decision::Restart(pause) => {
                    if let Some((capability, delay)) = pause {
                        self.controls().pause(&capability);
                        let handle = IsolateHandle::new(self.clone());
                        self.pool.timers.schedule(
                            &self.pool.name,
                            delay,
                            None,
                            Box::new(move || {
                                handle.resume(&capability);
                                crate::timer::Next::Done
                            }),
                        );
                    }
                    match self.restart_in_place() {
                        Ok(()) => return true,
                        // The factory was killed (`checkpoint`, a kill of
                        // itself) or called `exit`: the child ends, it did
                        // not fail.
                        Err(payload) if payload.is::<ExitSignal>() => return false,
                        // A factory that panics is this child failing
                        // again: counted towards the intensity, so one that
                        // always panics fails the supervisor, which stops
                        // every child and tells its listeners.
                        Err(payload) => self.report_factory_panic(payload),
                    }
                }
            }
        }
    }

    /// Tells the error listeners that the factory panicked while the
    /// isolate was being restarted.
    fn report_factory_panic(&self, payload: Box<dyn Any + Send>) {
        let message = format!(
            "its supervisor's factory panicked while restarting it: {}",
            panic_message(&*payload)
        );
        // Before the payload's drop, whose own panic would replace it.
        let error = RemoteError::panicked(message);
        let _ = catch_unwind(AssertUnwindSafe(move || drop(payload)));
        if let Some(controls) = self.existing_controls() {
            controls.report_error(&error);
        }
        trace::panicked(self.id, error.message(), true);
    }

    /// Replaces the isolate's value with a fresh one from its factory,
    /// keeping its mailbox, ports and id. Fails with the factory's panic;
    /// the isolate then has no value until a later restart gives it one.
    ///
    /// Must only be called by the run holder, of a supervised isolate.
    fn restart_in_place(&self) -> Result<(), Box<dyn Any + Send>> {
        let Some(supervised) = &self.supervised else {
            return Err(Box::new("not supervised"));
        };
        let core = self.core.get();
        // SAFETY: we hold the run (invariant 1). The future goes first, in
        // place, since it may borrow the value (as in `teardown`).
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { (*core).future = None }));
        // SAFETY: as above; no borrow of the value remains.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { (*core).isolate = None }));
        let fresh = catch_unwind(supervised.factory)?;
        // SAFETY: as above.
        unsafe { (*core).isolate = Some(fresh) };
        Ok(())
    }

    /// Handles messages and polls the async handler until there is nothing
    /// to do, the budget is spent, or the isolate ends.
    ///
    /// `TRACED` selects one of two copies of the loop: the one that runs
    /// when no `tracing` subscriber exists has no trace of tracing in it, so
    /// the feature costs one load and branch per run rather than per message.
    ///
    /// Must only be called by the worker that won `start_run`.
    fn run_core<const TRACED: bool>(self: &Arc<Self>) -> Outcome {
        let core = self.core.get();
        let mut waker: Option<Waker> = None;
        let mut budget = BUDGET;
        loop {
            // The control lane overtakes everything else.
            if let Some(controls) = self.existing_controls()
                && controls.has_work()
            {
                // SAFETY: we hold the run; a read of the `future` field only.
                let boundary = unsafe { (*core).future.is_none() };
                match controls.serve(boundary) {
                    Verdict::Go => {}
                    Verdict::Restart => {
                        // A sibling's failure restarts this one; if its
                        // factory panics, that is this child's own failure.
                        if let Err(payload) = self.restart_in_place() {
                            if payload.is::<ExitSignal>() {
                                return Outcome::Exit;
                            }
                            self.report_factory_panic(payload);
                            if !self.supervise() {
                                return Outcome::Exit;
                            }
                        }
                        continue;
                    }
                    Verdict::Paused => return Outcome::Idle,
                    Verdict::Kill => {
                        trace::killed(self.id);
                        return Outcome::Exit;
                    }
                }
            }
            // An async handler in flight goes first: the next message waits.
            // SAFETY: we hold the run (invariant 1), so no other reference to
            // the core exists. Only the `future` field is borrowed here, which
            // leaves the `&mut I` that the future may hold untouched.
            if let Some(future) = unsafe { &mut (*core).future } {
                let waker = waker.get_or_insert_with(|| Waker::from(self.clone()));
                let mut cx = Context::from_waker(waker);
                let polled = catch_unwind(AssertUnwindSafe(|| {
                    crate::handle::polling_handler(|| future.as_mut().poll(&mut cx))
                }));
                match polled {
                    Ok(Poll::Pending) => return Outcome::Idle,
                    Ok(Poll::Ready(())) => {
                        // SAFETY: as above. Dropped in place, and contained:
                        // a future whose destructor panics ends the isolate,
                        // not the worker.
                        let dropped =
                            catch_unwind(AssertUnwindSafe(|| unsafe { (*core).future = None }));
                        if let Err(payload) = dropped
                            && self.fail(payload)
                        {
                            return Outcome::Exit;
                        }
                    }
                    Err(payload) => {
                        // The failed handler is over either way.
                        // SAFETY: as above.
                        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { (*core).future = None }));
                        if self.fail(payload) {
                            return Outcome::Exit;
                        }
                    }
                }
                continue;
            }
            // An entry isolate's own future (`spawn_fn`, `run`), held inline.
            if I::__HAS_ENTRY {
                // SAFETY: we hold the run. The value lives in this `Arc`'s
                // allocation and is never moved while it is `Some`: every
                // path that ends it drops it in place, by assignment
                // (`drop_core`, from `teardown` and from `Drop for Cell`;
                // `restart_in_place`), and none takes it out first; the
                // `Arc` frees the allocation only after that. So pinning it
                // here is sound, and the pin holds until its drop.
                if let Some(isolate) = unsafe { &mut (*core).isolate } {
                    // SAFETY: as above.
                    let pinned = unsafe { Pin::new_unchecked(isolate) };
                    let waker = waker.get_or_insert_with(|| Waker::from(self.clone()));
                    let mut cx = Context::from_waker(waker);
                    match catch_unwind(AssertUnwindSafe(|| pinned.__poll_entry(&mut cx))) {
                        Ok(Poll::Pending) => return Outcome::Idle,
                        Ok(Poll::Ready(())) => {}
                        Err(payload) => {
                            // The entry is over: it cannot be polled again.
                            self.fail(payload);
                            return Outcome::Exit;
                        }
                    }
                }
            }
            if budget == 0 {
                return Outcome::Yield;
            }
            // Once the group shuts down, the message in hand was the last.
            if self.pool.is_shutting_down() {
                return Outcome::Idle;
            }
            let message = match self.mailbox.pop() {
                Some(message) => message,
                // Senders push before they let go of their port, so once the
                // count reads zero one more pop sees every message sent.
                None if self.mailbox.has_no_senders() => match self.mailbox.pop() {
                    Some(message) => message,
                    None => return Outcome::Exit,
                },
                None => return Outcome::Idle,
            };
            budget -= 1;
            // Counted before the handler runs, so that whoever it answers
            // sees the count include its message. Only the run holder writes
            // the counter: a load and a store, no read-modify-write.
            let seq = self.handled.load(Ordering::Relaxed) + 1;
            self.handled.store(seq, Ordering::Relaxed);
            // SAFETY: we hold the run and no future is in flight (it was
            // polled to completion above), so nothing else borrows `isolate`.
            let Some(isolate) = (unsafe { &mut (*core).isolate }) else {
                return Outcome::Exit;
            };
            let handled = trace::within(
                TRACED,
                || trace::message_span(seq),
                || catch_unwind(AssertUnwindSafe(|| isolate.handle(message))),
            );
            match handled {
                Ok(Handled::Done) => {}
                Ok(Handled::Async(future)) => {
                    // SAFETY: the future borrows `isolate` (at most), which
                    // lives in this `Arc`'s allocation and so never moves. It
                    // is not touched again until the future is dropped (the
                    // branch above runs first on every pass), and `Core`
                    // drops `future` before `isolate`, as does `teardown`.
                    // Erasing the lifetime is therefore sound.
                    let future: BoxFuture = unsafe {
                        std::mem::transmute::<
                            Pin<Box<dyn Future<Output = ()> + Send + '_>>,
                            BoxFuture,
                        >(future)
                    };
                    // SAFETY: we hold the run; see above.
                    unsafe { (*core).future = Some(future) };
                }
                Ok(Handled::Local(future)) if self.home.is_some() => {
                    // SAFETY: as for `Async` above. The future need not be
                    // `Send`: a pinned isolate's core never leaves its home
                    // thread (module docs).
                    let future: CoreFuture = unsafe {
                        std::mem::transmute::<Pin<Box<dyn Future<Output = ()> + '_>>, CoreFuture>(
                            future,
                        )
                    };
                    // SAFETY: we hold the run; see above.
                    unsafe { (*core).future = Some(future) };
                }
                Ok(Handled::Local(future)) => {
                    // Not pinned: the isolate may move to another thread, so
                    // a `!Send` future must not be kept. Dropped here, on
                    // the thread that made it, unpolled.
                    let dropped = catch_unwind(AssertUnwindSafe(move || drop(future)));
                    let payload: Box<dyn Any + Send> = match dropped {
                        Err(payload) => payload,
                        Ok(()) => Box::new(
                            "a handler returned Handled::Local, which only a pinned isolate may \
                             return: spawn it with IsolateGroup::spawn_pinned, or return \
                             Handled::Async with a Send future"
                                .to_owned(),
                        ),
                    };
                    if self.fail(payload) {
                        return Outcome::Exit;
                    }
                }
                Err(payload) => {
                    if self.fail(payload) {
                        return Outcome::Exit;
                    }
                }
            }
        }
    }

    /// Ends the isolate: closes its mailbox (so new sends fail and queued
    /// asks fail), drops its future and then its value, and forgets it.
    ///
    /// Must only be called by the thread that moved the state to `STOPPED`.
    fn teardown(&self) {
        self.teardown_core(self.may_touch_core());
    }

    /// `teardown`, dropping the core's values only if `drop_core` (which
    /// the caller may pass only when this thread may touch them).
    fn teardown_core(&self, drop_core: bool) {
        let queued = self.mailbox.close();
        // Forgotten first, so that whoever observes the isolate's values being
        // dropped also sees it gone from the group.
        self.pool.owned.remove(self.key);
        let core = self.core.get();
        // User destructors run below, each contained on its own: one that
        // panics must neither stop the others nor, by panicking again during
        // the unwind, abort the process.
        let _ = catch_unwind(AssertUnwindSafe(move || drop(queued)));
        if drop_core {
            // SAFETY: the caller stopped the isolate, so it alone reaches the
            // core, and it may touch the core's values (its own guarantee).
            unsafe { Self::drop_core(core) };
        }
        self.pool
            .ended_handled
            .fetch_add(self.handled.load(Ordering::Relaxed), Ordering::Relaxed);
        // The exit listeners, as the very last action. Pairs with the fence
        // in `add_exit_listener`.
        fence(Ordering::SeqCst);
        if let Some(supervised) = &self.supervised {
            supervised.supervisor.child_ended(self.id);
        }
        if let Some(controls) = self.existing_controls() {
            for name in controls.take_registered() {
                self.pool.registry.forget(&name, self.id);
            }
            let _ = catch_unwind(AssertUnwindSafe(|| controls.exited()));
        }
    }
}

impl<I: Isolate> Cell<I> {
    /// Whether this thread may drop what the core holds: any thread for an
    /// isolate with no home, only the home worker for a pinned one. Off its
    /// home, a pinned isolate's values are left to the home worker (which
    /// tears down its pinned isolates as it exits) or leaked with the cell.
    fn may_touch_core(&self) -> bool {
        match self.home {
            None => true,
            Some(home) => worker::current_index(&self.pool) == Some(home as usize),
        }
    }

    /// Drops the core's future, then its value, each in place and with its
    /// destructor's panic contained.
    ///
    /// # Safety
    ///
    /// The caller must be the only one reaching the core (it holds the run
    /// or stopped the isolate), on the core's home if it has one.
    unsafe fn drop_core(core: *mut Core<I>) {
        // The future goes first, *in place* (an assignment): it may hold a
        // borrow of the value, which must still be where the borrow points
        // while the future's destructor runs.
        // SAFETY: the caller's guarantee.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { (*core).future = None }));
        // SAFETY: as above; no borrow of the value remains.
        let _ = catch_unwind(AssertUnwindSafe(|| unsafe { (*core).isolate = None }));
    }

    /// A run inside its span, once a subscriber exists. Kept out of line so
    /// that `Task::run` holds only the untraced copy of the loop.
    #[cold]
    #[inline(never)]
    fn run_traced(self: &Arc<Self>) -> Outcome {
        trace::within(
            true,
            || trace::run_span(self.id, &self.pool.name, self.name()),
            || self.enter_and_run::<true>(),
        )
    }

    /// One run, with the thread marked as inside this isolate.
    #[inline(always)]
    fn enter_and_run<const TRACED: bool>(self: &Arc<Self>) -> Outcome {
        let _guard = RunGuard::enter();
        let _current = crate::handle::enter(Arc::as_ptr(self) as *const dyn Target);
        self.run_core::<TRACED>()
    }
}

impl<I: Isolate> Task for Cell<I> {
    fn run(self: Arc<Self>) {
        if !self.state.start_run() {
            return;
        }
        let outcome = if trace::active() {
            self.run_traced()
        } else {
            self.enter_and_run::<false>()
        };
        match outcome {
            Outcome::Idle => match self.state.finish_run() {
                Finish::Idle => {
                    // Shutdown sweeps isolates only after joining every other
                    // worker, so the one isolate it can find running is the
                    // one whose handler dropped the group's last handle, on
                    // this very thread: it is stopped here, after its run.
                    if self.pool.is_shutting_down() && self.state.stop_idle() {
                        self.teardown();
                    }
                }
                Finish::Reschedule => self.schedule(),
                Finish::Stopped => {}
            },
            Outcome::Yield => {
                self.state.yield_run();
                // Behind everything else in the group, including work that
                // came from outside it: a flooded isolate takes its turn.
                let pool = self.pool.clone();
                pool.inject(self);
            }
            Outcome::Exit => {
                self.state.stop();
                self.teardown();
            }
        }
    }

    fn shutdown(&self) {
        if self.state.stop_idle() {
            self.teardown();
        }
    }

    fn home(&self) -> Option<usize> {
        self.home.map(|home| home as usize)
    }

    fn key(&self) -> Key {
        self.key
    }

    fn id(&self) -> u64 {
        self.id
    }

    fn phase(&self) -> Phase {
        self.state.phase()
    }

    fn info(&self) -> IsolateInfo {
        let controls = self.existing_controls();
        let state = match self.state.phase() {
            Phase::Stopped => IsolateState::Stopped,
            _ if controls.is_some_and(Controls::is_paused) => IsolateState::Paused,
            Phase::Idle => IsolateState::Idle,
            Phase::Scheduled => IsolateState::Scheduled,
            Phase::Running | Phase::Notified => IsolateState::Running,
        };
        IsolateInfo {
            id: self.id,
            name: controls.and_then(|controls| controls.name.clone()),
            state,
            mailbox_len: self.mailbox.len(),
            mailbox_capacity: self.mailbox.capacity(),
            senders_waiting: self.mailbox.waiting(),
            messages_handled: self.handled.load(Ordering::Relaxed),
        }
    }
}

impl<I: Isolate> Wake for Cell<I> {
    fn wake(self: Arc<Self>) {
        if self.state.notify() {
            self.schedule();
        }
    }

    fn wake_by_ref(self: &Arc<Self>) {
        if self.state.notify() {
            self.clone().schedule();
        }
    }
}

/// Ends the current isolate by unwinding to its run loop (see `crate::exit`).
pub(crate) fn unwind_exit() -> ! {
    resume_unwind(Box::new(ExitSignal))
}

/// Turns a panic payload into the message it carries.
pub(crate) fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(message) = payload.downcast_ref::<&'static str>() {
        (*message).to_owned()
    } else if let Some(message) = payload.downcast_ref::<String>() {
        message.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

#[cfg(test)]
impl<I: Isolate> Cell<I> {
    /// Lets go of the group's reference without a teardown: the one way to
    /// reach `Drop for Cell` with a live, polled core. The runtime never
    /// takes it, but the drop must be sound if it ever does.
    pub(crate) fn forget_unstopped(&self) {
        self.pool.owned.remove(self.key);
    }
}

impl<I: Isolate> Drop for Cell<I> {
    fn drop(&mut self) {
        if !self.may_touch_core() {
            // A pinned isolate's last reference went away off its home (its
            // group was shut down while that worker was stuck in a handler):
            // its values are leaked, never dropped on the wrong thread.
            return;
        }
        // SAFETY: `&mut self`: nothing else reaches the core, and this is
        // the core's home if it has one. Its values are dropped where they
        // are, never moved first: an entry future held inline was pinned
        // there by `run_core`, and a handler future may borrow the value.
        // What is left (two `None`s) needs no drop, so the `ManuallyDrop`
        // is not dropped itself.
        unsafe { Self::drop_core(self.core.get()) };
    }
}

impl<I: Isolate> std::fmt::Debug for Cell<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Isolate")
            .field("id", &self.id)
            .field("group", &self.pool.name)
            .field("phase", &self.state.phase())
            .finish_non_exhaustive()
    }
}
