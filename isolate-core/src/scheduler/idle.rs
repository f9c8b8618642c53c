//! Parking and waking the group's workers.
//!
//! A worker with nothing to do registers itself as a sleeper, checks every
//! queue once more, and only then parks. A producer pushes its task first and
//! then looks for a sleeper to wake. Both sides put a `SeqCst` fence between
//! their write and their read (the Dekker pattern), so either the producer
//! sees the sleeper or the worker sees the task: a task is never left in a
//! queue while every worker sleeps. An idle group therefore uses no CPU.

use crossbeam_utils::sync::Unparker;

use crate::sync::{AtomicUsize, Mutex, Ordering, fence, lock};

#[derive(Debug)]
pub(crate) struct Idle {
    /// Number of entries in `sleepers`, readable without the lock so that the
    /// common case (everyone busy) costs one load.
    sleeping: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    unparkers: Box<[Unparker]>,
}

impl Idle {
    pub(crate) fn new(unparkers: Box<[Unparker]>) -> Self {
        Idle {
            sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(unparkers.len())),
            unparkers,
        }
    }

    /// Wakes one sleeping worker, if any. Call after making work visible.
    pub(crate) fn notify_one(&self) {
        fence(Ordering::SeqCst);
        if self.sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let woken = {
            let mut sleepers = lock(&self.sleepers);
            let woken = sleepers.pop();
            if woken.is_some() {
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
            }
            woken
        };
        if let Some(index) = woken {
            self.unparkers[index].unpark();
        }
    }

    /// Wakes every worker (shutdown).
    pub(crate) fn notify_all(&self) {
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.clear();
            self.sleeping.store(0, Ordering::SeqCst);
        }
        for unparker in self.unparkers.iter() {
            unparker.unpark();
        }
    }

    /// Worker `index` is about to park. It must check the queues again after
    /// this call and before parking.
    pub(crate) fn register(&self, index: usize) {
        let mut sleepers = lock(&self.sleepers);
        sleepers.push(index);
        self.sleeping.fetch_add(1, Ordering::SeqCst);
        drop(sleepers);
        fence(Ordering::SeqCst);
    }

    /// Worker `index` is awake (it found work, or was woken): take it off the
    /// sleeper list if a notifier has not already done so.
    pub(crate) fn unregister(&self, index: usize) {
        let mut sleepers = lock(&self.sleepers);
        if let Some(position) = sleepers.iter().position(|&i| i == index) {
            sleepers.swap_remove(position);
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
        }
    }
}
