//! Every live isolate of a group, so that shutdown can stop the idle ones
//! (which sit in no queue) and fail the asks they hold.
//!
//! Sharded by isolate id so that spawns on different workers rarely meet on
//! one lock. An isolate removes itself when it stops; shutdown closes every
//! shard, so an isolate spawned after that point is stopped at once instead of
//! outliving its group.

use std::sync::Arc;

use slab::Slab;

use super::task::TaskRef;
use crate::sync::{Mutex, lock};

pub(crate) struct Owned {
    shards: Box<[Mutex<Shard>]>,
}

#[derive(Default)]
struct Shard {
    tasks: Slab<TaskRef>,
    closed: bool,
}

/// The key of an isolate that was never registered (its group was closed).
pub(crate) const UNREGISTERED: usize = usize::MAX;

impl Owned {
    pub(crate) fn new(workers: usize) -> Self {
        let shards = (workers * 4).next_power_of_two();
        Owned {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
        }
    }

    fn shard(&self, id: u64) -> &Mutex<Shard> {
        &self.shards[(id as usize) & (self.shards.len() - 1)]
    }

    /// Builds a task with its slot key and registers it. Returns the task and
    /// whether it was registered: `false` means the group is shutting down and
    /// the caller must stop the task at once.
    pub(crate) fn insert<T, F>(&self, id: u64, make: F) -> (Arc<T>, bool)
    where
        T: super::task::Task,
        F: FnOnce(usize) -> Arc<T>,
    {
        let mut shard = lock(self.shard(id));
        if shard.closed {
            drop(shard);
            return (make(UNREGISTERED), false);
        }
        let entry = shard.tasks.vacant_entry();
        let task = make(entry.key());
        entry.insert(task.clone());
        (task, true)
    }

    /// Forgets a stopped isolate.
    pub(crate) fn remove(&self, id: u64, key: usize) {
        if key == UNREGISTERED {
            return;
        }
        let removed = {
            let mut shard = lock(self.shard(id));
            shard.tasks.try_remove(key)
        };
        // Dropped outside the lock: this may be the last reference.
        drop(removed);
    }

    /// Closes every shard and takes every live isolate (shutdown).
    pub(crate) fn close(&self) -> Vec<TaskRef> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            shard.closed = true;
            all.extend(shard.tasks.drain());
        }
        all
    }

    /// Number of live isolates.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).tasks.len()).sum()
    }
}
