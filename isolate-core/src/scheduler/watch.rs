//! The watch on the workers' LIFO slots: an isolate woken into a worker's
//! LIFO slot runs right after the current run on that worker, which is what
//! makes a ping-pong pair or a chain of asks fast. But the slot is the
//! worker's own: if the current run then goes on for long (a handler that
//! blocks, or computes), the woken isolate waits for all of it, however
//! many other workers are idle.
//!
//! Each worker publishes, with plain stores, how many runs it has started
//! and which isolate (its key in the group's table) sits in its LIFO slot.
//! While any worker is awake, the group's timer thread looks at them every
//! [`TICK`]: a slot that holds the same isolate across a tick during which
//! its worker started no run is stranded, and the watch queues that isolate
//! on the injector, where any worker takes it.
//!
//! The watch never takes the slot's own reference: it queues a second one,
//! fetched from the group's table. Whichever of the two a worker runs
//! first wins `State::start_run`; the other finds the isolate no longer
//! `SCHEDULED` and does nothing (a stale entry, as after a stop). So the
//! owner's side stays two plain stores per hop, with no atomic
//! read-modify-write, and the watch costs the hot path nothing measurable.
//! When every worker sleeps, the watch stops, so an idle group still uses
//! no CPU; the first worker to wake starts it again.

use std::sync::Weak;
use std::time::Duration;

use crossbeam_utils::CachePadded;

use super::owned::Key;
use super::pool::Pool;
use crate::sync::{AtomicU64, Ordering};
use crate::timer::Next;

/// How often the watch looks: a stranded isolate waits between one and two.
pub(crate) const TICK: Duration = Duration::from_millis(1);

/// What the slot holds when it is empty.
const EMPTY: u64 = u64::MAX;

/// One worker's published state.
#[derive(Default)]
pub(crate) struct Slot {
    /// Runs started, written only by the worker.
    runs: AtomicU64,
    /// The key of the isolate in its LIFO slot, or [`EMPTY`].
    lifo: AtomicU64,
}

/// The watch of one group.
pub(crate) struct Watch {
    slots: Box<[CachePadded<Slot>]>,
}

impl Watch {
    pub(crate) fn new(workers: usize) -> Self {
        Watch {
            slots: (0..workers)
                .map(|_| {
                    CachePadded::new(Slot {
                        runs: AtomicU64::new(0),
                        lifo: AtomicU64::new(EMPTY),
                    })
                })
                .collect(),
        }
    }

    /// Worker `index` starts a run (called by that worker only).
    #[inline]
    pub(crate) fn started_run(&self, index: usize) {
        if let Some(slot) = self.slots.get(index) {
            let runs = slot.runs.load(Ordering::Relaxed);
            slot.runs.store(runs.wrapping_add(1), Ordering::Relaxed);
        }
    }

    /// Worker `index` put the isolate `key` in its LIFO slot, or emptied it.
    #[inline]
    pub(crate) fn set_lifo(&self, index: usize, key: Option<Key>) {
        if let Some(slot) = self.slots.get(index) {
            slot.lifo
                .store(key.map_or(EMPTY, Key::to_bits), Ordering::Relaxed);
        }
    }

    fn read(&self) -> Vec<(u64, u64)> {
        self.slots
            .iter()
            .map(|slot| {
                (
                    slot.runs.load(Ordering::Relaxed),
                    slot.lifo.load(Ordering::Relaxed),
                )
            })
            .collect()
    }
}

/// Starts the watch of `pool` on its timer thread, unless it runs already.
pub(crate) fn ensure(pool: &std::sync::Arc<Pool>) {
    if pool.watching.load(Ordering::SeqCst) || pool.watching.swap(true, Ordering::SeqCst) {
        return;
    }
    let weak = std::sync::Arc::downgrade(pool);
    let mut last: Vec<(u64, u64)> = pool.watch.read();
    let mut queued: Vec<(u64, u64)> = vec![(0, EMPTY); last.len()];
    let timer = pool.timers.schedule(
        &pool.name,
        TICK,
        Some(TICK),
        Box::new(move || tick(&weak, &mut last, &mut queued)),
    );
    if timer.is_cancelled() {
        // The group is shutting down: nothing to watch.
        pool.watching.store(false, Ordering::SeqCst);
    }
}

/// One look at every slot.
fn tick(pool: &Weak<Pool>, last: &mut [(u64, u64)], queued: &mut [(u64, u64)]) -> Next {
    let Some(pool) = pool.upgrade() else {
        return Next::Done;
    };
    if pool.is_shutting_down() {
        pool.watching.store(false, Ordering::SeqCst);
        return Next::Done;
    }
    let now = pool.watch.read();
    for (index, &(runs, lifo)) in now.iter().enumerate() {
        let stranded = lifo != EMPTY && (runs, lifo) == last[index];
        if stranded && queued[index] != (runs, lifo) {
            queued[index] = (runs, lifo);
            if let Some(task) = pool.owned.get(Key::from_bits(lifo)) {
                pool.inject(task);
            }
        }
        last[index] = (runs, lifo);
    }
    if now.iter().all(|&(_, lifo)| lifo == EMPTY) && pool.idle.all_asleep() {
        // Every worker sleeps: stop, unless one woke meanwhile (a waking
        // worker reads `watching` after it leaves the sleepers, so one of
        // the two sees the other).
        pool.watching.store(false, Ordering::SeqCst);
        if !pool.idle.all_asleep() && !pool.watching.swap(true, Ordering::SeqCst) {
            return Next::Again;
        }
        return Next::Done;
    }
    Next::Again
}
