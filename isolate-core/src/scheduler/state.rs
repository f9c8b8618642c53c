//! The scheduling state of one isolate: a five-state machine in one atomic.
//!
//! ```text
//!            notify                 start_run
//!   IDLE ─────────────▶ SCHEDULED ─────────────▶ RUNNING ◀──┐
//!    ▲                     ▲                      │   │     │ (more messages
//!    │ finish_run          │ finish_run           │   │     │  handled)
//!    └─────────────────────┼──────────────────────┘   │ notify
//!                          │                          ▼     │
//!                          └──────────────────── NOTIFIED ──┘
//!
//!   stop: RUNNING | NOTIFIED ─▶ STOPPED          (by the worker running it)
//!   stop_idle: IDLE | SCHEDULED ─▶ STOPPED       (by group shutdown)
//! ```
//!
//! # Invariants
//!
//! 1. **At most one run.** Only the thread that moved the state to `RUNNING`
//!    (through [`State::start_run`]) touches the isolate's private core (its
//!    value and the future of an async handler) until it leaves `RUNNING` or
//!    `NOTIFIED`. Group shutdown touches the core only after winning
//!    [`State::stop_idle`], which no run can be in the middle of.
//! 2. **Queued at most once.** Exactly the caller that sees `true` from
//!    [`State::notify`] (the `IDLE → SCHEDULED` edge) or `Finish::Reschedule`
//!    from [`State::finish_run`] pushes the isolate onto a run queue. So an
//!    isolate is in at most one queue slot at a time, and never in one while
//!    `IDLE`, `RUNNING` or `STOPPED`. One exception, by design: the LIFO
//!    watch (`watch.rs`) queues a *second* reference to an isolate stranded
//!    in a busy worker's LIFO slot. Both entries reach `start_run`, which
//!    only one wins; the other is stale and does nothing, as a stale waker.
//! 3. **No lost wake-up.** A sender pushes its message into the mailbox
//!    *before* it calls `notify`. If the isolate is running, `notify` moves it
//!    to `NOTIFIED`, and `finish_run` then reschedules it instead of letting it
//!    go idle; if it is idle, `notify` schedules it. Either way a message in
//!    the mailbox is always followed by a run that can see it. `notify`
//!    *writes* the state in every case but `STOPPED`, even when it leaves it
//!    as it was (`SCHEDULED`, `NOTIFIED`): that release write is what the
//!    next run's `start_run` (or `finish_run`) acquires, so the run sees
//!    whatever the notifier wrote before it. A plain load there would leave
//!    a wake-up whose data travels outside the mailbox lock (a `resume`
//!    clearing the pause flag, the last port's release) unordered with a
//!    run that was already queued: Miri's weak-memory emulation found a
//!    resumed isolate that read the pause flag stale and went idle for good.
//! 4. **`STOPPED` is final.** No transition leaves it; `notify` on a stopped
//!    isolate does nothing, so late senders and stale wakers are harmless.
//!
//! `tests/loom.rs` checks 2, 3 and 4 under every interleaving loom finds.

use crate::sync::{AtomicUsize, Ordering};

const IDLE: usize = 0;
const SCHEDULED: usize = 1;
const RUNNING: usize = 2;
const NOTIFIED: usize = 3;
const STOPPED: usize = 4;

/// What the worker must do when a run ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Finish {
    /// Nothing: the isolate is idle until the next `notify`.
    Idle,
    /// Push the isolate back onto a run queue: it was notified while running.
    Reschedule,
    /// The isolate was stopped while it ran.
    Stopped,
}

/// A readable name for a state, for introspection and debugging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Waiting for a message or a wake-up; in no run queue.
    Idle,
    /// In a run queue, waiting for a worker.
    Scheduled,
    /// A worker is running it.
    Running,
    /// A worker is running it and it has been woken again meanwhile.
    Notified,
    /// Ended; it will never run again.
    Stopped,
}

/// The atomic scheduling state of one isolate. See the module docs.
#[derive(Debug)]
pub struct State(AtomicUsize);

impl Default for State {
    fn default() -> Self {
        Self::new()
    }
}

impl State {
    /// A new isolate starts idle: spawning does not touch a run queue.
    pub fn new() -> Self {
        State(AtomicUsize::new(IDLE))
    }

    /// A new isolate that the spawner will push onto a run queue at once
    /// (one that has work before its first message, such as an entry future).
    pub fn new_scheduled() -> Self {
        State(AtomicUsize::new(SCHEDULED))
    }

    /// There is something for the isolate to do (a message, a wake-up).
    ///
    /// Returns `true` when the caller must push the isolate onto a run queue
    /// (the `IDLE → SCHEDULED` edge). `RUNNING` becomes `NOTIFIED`;
    /// `SCHEDULED` and `NOTIFIED` are rewritten unchanged (see invariant 3);
    /// `STOPPED` is left alone.
    pub fn notify(&self) -> bool {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            let next = match current {
                IDLE => SCHEDULED,
                RUNNING => NOTIFIED,
                STOPPED => return false,
                // Rewritten as it is: a release that the next run acquires.
                other => other,
            };
            match self
                .0
                .compare_exchange_weak(current, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return current == IDLE,
                Err(actual) => current = actual,
            }
        }
    }

    /// A worker popped the isolate from a run queue: `SCHEDULED → RUNNING`.
    ///
    /// Returns `false` when the isolate was stopped while it sat in the queue;
    /// the worker must then drop it without running it.
    pub fn start_run(&self) -> bool {
        self.0
            .compare_exchange(SCHEDULED, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
    }

    /// The run ended with nothing left to do: `RUNNING → IDLE`, or
    /// `NOTIFIED → SCHEDULED` when a notification arrived during the run.
    pub fn finish_run(&self) -> Finish {
        match self
            .0
            .compare_exchange(RUNNING, IDLE, Ordering::SeqCst, Ordering::SeqCst)
        {
            Ok(_) => Finish::Idle,
            Err(NOTIFIED) => {
                // Nobody else moves an isolate out of NOTIFIED (notify leaves
                // it, stop_idle refuses it), so a plain store is enough.
                self.0.store(SCHEDULED, Ordering::SeqCst);
                Finish::Reschedule
            }
            Err(STOPPED) => Finish::Stopped,
            Err(other) => unreachable!("finish_run in state {other}"),
        }
    }

    /// The run used up its budget with work left: `RUNNING | NOTIFIED →
    /// SCHEDULED`. The caller must push the isolate onto a run queue.
    pub fn yield_run(&self) {
        let previous = self.0.swap(SCHEDULED, Ordering::AcqRel);
        debug_assert!(
            previous == RUNNING || previous == NOTIFIED,
            "yield_run in state {previous}"
        );
    }

    /// The running isolate ends: `RUNNING | NOTIFIED → STOPPED`.
    pub fn stop(&self) {
        let previous = self.0.swap(STOPPED, Ordering::AcqRel);
        debug_assert!(
            previous == RUNNING || previous == NOTIFIED || previous == STOPPED,
            "stop in state {previous}"
        );
    }

    /// Stops an isolate that no worker is running: `IDLE | SCHEDULED →
    /// STOPPED`.
    ///
    /// Returns `true` when this call made the transition; the caller then owns
    /// the isolate's core and must tear it down. Returns `false` when the
    /// isolate is running (its worker will see the group's shutdown flag after
    /// the run) or already stopped.
    pub fn stop_idle(&self) -> bool {
        let mut current = self.0.load(Ordering::SeqCst);
        loop {
            if current != IDLE && current != SCHEDULED {
                return false;
            }
            match self
                .0
                .compare_exchange_weak(current, STOPPED, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// The current phase, for introspection. A snapshot: it may change at once.
    pub fn phase(&self) -> Phase {
        match self.0.load(Ordering::Acquire) {
            IDLE => Phase::Idle,
            SCHEDULED => Phase::Scheduled,
            RUNNING => Phase::Running,
            NOTIFIED => Phase::Notified,
            _ => Phase::Stopped,
        }
    }

    /// Whether the isolate has stopped for good.
    pub fn is_stopped(&self) -> bool {
        self.0.load(Ordering::Acquire) == STOPPED
    }
}
