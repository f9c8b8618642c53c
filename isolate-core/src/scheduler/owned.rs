//! Every live isolate of a group, so that shutdown can stop the idle ones
//! (which sit in no queue) and fail the asks they hold.
//!
//! Sharded so that spawns on different workers never meet on one lock: a
//! worker registers the isolates it spawns in its own shard (other threads
//! use the isolate id to pick one). An isolate removes itself when it stops; shutdown closes every
//! shard, so an isolate spawned after that point is stopped at once instead of
//! outliving its group.

use std::sync::Arc;

use slab::Slab;

use super::task::TaskRef;
use crate::sync::{Mutex, lock};

/// The capacity past which an emptied shard frees its storage.
const SHRINK_ABOVE: usize = 1024;

pub(crate) struct Owned {
    shards: Box<[Mutex<Shard>]>,
    /// Notified when a removal leaves a shard empty, for `wait_empty`.
    emptied: event_listener::Event,
}

#[derive(Default)]
struct Shard {
    tasks: Slab<TaskRef>,
    closed: bool,
}

/// Where an isolate is registered: its shard and its slot in that shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key {
    shard: u32,
    slot: u32,
}

impl Key {
    /// The key in one word, for the LIFO watch (`watch.rs`).
    pub(crate) fn to_bits(self) -> u64 {
        (u64::from(self.shard) << 32) | u64::from(self.slot)
    }

    /// The key back from [`to_bits`](Self::to_bits).
    pub(crate) fn from_bits(bits: u64) -> Self {
        Key {
            shard: (bits >> 32) as u32,
            slot: bits as u32,
        }
    }
}

/// The key of an isolate that was never registered (its group was closed).
pub(crate) const UNREGISTERED: Key = Key {
    shard: u32::MAX,
    slot: u32::MAX,
};

impl Owned {
    pub(crate) fn new(workers: usize) -> Self {
        let shards = (workers * 4).next_power_of_two();
        Owned {
            shards: (0..shards).map(|_| Mutex::new(Shard::default())).collect(),
            emptied: event_listener::Event::new(),
        }
    }

    /// Builds a task with its key and registers it in the shard that `hint`
    /// picks (a worker index, or an isolate id). Returns the task and whether
    /// it was registered: `false` means the group is shutting down and the
    /// caller must stop the task at once.
    pub(crate) fn insert<T, F>(&self, hint: usize, make: F) -> (Arc<T>, bool)
    where
        T: super::task::Task,
        F: FnOnce(Key) -> Arc<T>,
    {
        let index = hint & (self.shards.len() - 1);
        let mut shard = lock(&self.shards[index]);
        if shard.closed {
            drop(shard);
            return (make(UNREGISTERED), false);
        }
        let entry = shard.tasks.vacant_entry();
        let key = Key {
            shard: index as u32,
            slot: entry.key() as u32,
        };
        let task = make(key);
        entry.insert(task.clone());
        (task, true)
    }

    /// Forgets a stopped isolate.
    pub(crate) fn remove(&self, key: Key) {
        if key == UNREGISTERED {
            return;
        }
        let (removed, emptied) = {
            let mut shard = lock(&self.shards[key.shard as usize]);
            let removed = shard.tasks.try_remove(key.slot as usize);
            let emptied = shard.tasks.is_empty();
            // A shard that held many isolates and holds none now gives its
            // storage back: a group that once ran a million isolates would
            // otherwise keep 16 MB of empty slots for good. (A slab cannot
            // move live entries, so a partly full shard keeps its size.)
            if shard.tasks.is_empty() && shard.tasks.capacity() > SHRINK_ABOVE {
                shard.tasks = Slab::new();
            }
            (removed, emptied)
        };
        // Dropped outside the lock: this may be the last reference.
        drop(removed);
        if emptied {
            // An atomic load when nobody drains.
            self.emptied.notify(usize::MAX);
        }
    }

    /// Blocks until no isolate is registered, or `deadline`. Returns
    /// whether none is.
    pub(crate) fn wait_empty(&self, deadline: std::time::Instant) -> bool {
        use event_listener::Listener;
        loop {
            if self.len() == 0 {
                return true;
            }
            // Listened before looking again: a shard emptied in between
            // notified before the listener existed.
            let listener = self.emptied.listen();
            if self.len() == 0 {
                return true;
            }
            if listener.wait_deadline(deadline).is_none() {
                return self.len() == 0;
            }
        }
    }

    /// Another reference to the isolate registered under `key`, if one is
    /// (it may have ended, and its slot gone to another isolate).
    pub(crate) fn get(&self, key: Key) -> Option<TaskRef> {
        let shard = self.shards.get(key.shard as usize)?;
        lock(shard).tasks.get(key.slot as usize).cloned()
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

    /// Every live isolate, for introspection (each shard locked in turn,
    /// only long enough to clone its pointers).
    pub(crate) fn snapshot(&self) -> Vec<TaskRef> {
        let mut all = Vec::new();
        for shard in self.shards.iter() {
            all.extend(lock(shard).tasks.iter().map(|(_, task)| task.clone()));
        }
        all
    }

    /// Number of live isolates.
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| lock(s).tasks.len()).sum()
    }
}

#[cfg(all(test, not(isolate_loom)))]
mod tests {
    use super::*;
    use crate::introspect::{IsolateInfo, IsolateState};
    use crate::scheduler::state::Phase;
    use crate::scheduler::task::Task;

    /// A task that only knows its key.
    struct Slot(Key);

    impl Task for Slot {
        fn run(self: Arc<Self>) {}
        fn shutdown(&self) {}
        fn id(&self) -> u64 {
            0
        }
        fn phase(&self) -> Phase {
            Phase::Idle
        }
        fn info(&self) -> IsolateInfo {
            IsolateInfo {
                id: 0,
                name: None,
                state: IsolateState::Idle,
                mailbox_len: 0,
                mailbox_capacity: None,
                senders_waiting: 0,
                messages_handled: 0,
            }
        }
        fn key(&self) -> Key {
            self.0
        }
    }

    fn capacity(owned: &Owned) -> usize {
        owned.shards.iter().map(|s| lock(s).tasks.capacity()).sum()
    }

    #[test]
    fn an_emptied_shard_gives_its_storage_back() {
        let owned = Owned::new(1);
        let keys: Vec<Key> = (0..5000)
            .map(|_| owned.insert(0, |key| Arc::new(Slot(key))).0.key())
            .collect();
        assert!(capacity(&owned) >= 5000);
        for key in &keys[..4999] {
            owned.remove(*key);
        }
        assert!(
            capacity(&owned) >= 5000,
            "one left: the shard keeps its size"
        );
        owned.remove(keys[4999]);
        assert_eq!(capacity(&owned), 0);
    }
}
