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
use crate::sync::{AtomicUsize, Mutex, Ordering, lock};

/// The capacity past which an emptied shard frees its storage.
const SHRINK_ABOVE: usize = 1024;

pub(crate) struct Owned {
    shards: Box<[Mutex<Shard>]>,
    /// Registered isolates, counted apart from the shards: a scan of the
    /// shards one lock at a time could miss an isolate spawned into a shard
    /// already counted by one that then ended in a shard not yet counted,
    /// and see none while one lives. A spawner is registered until it
    /// returns, so the count never passes through zero while a spawn is
    /// under way.
    live: AtomicUsize,
    /// Threads in `wait_empty`: a removal that empties the group notifies
    /// only when there is one (an `Event`'s notify costs a fence even with
    /// nobody listening).
    draining: AtomicUsize,
    /// Notified when the last registered isolate is removed while a thread
    /// waits in `wait_empty`.
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
            live: AtomicUsize::new(0),
            draining: AtomicUsize::new(0),
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
        // Counted before the spawner can return (and end): see `live`.
        self.live.fetch_add(1, Ordering::SeqCst);
        (task, true)
    }

    /// Forgets a stopped isolate.
    pub(crate) fn remove(&self, key: Key) {
        if key == UNREGISTERED {
            return;
        }
        let (removed, last) = {
            let mut shard = lock(&self.shards[key.shard as usize]);
            let removed = shard.tasks.try_remove(key.slot as usize);
            // A slot that `close` drained was uncounted there.
            let last = removed.is_some() && self.live.fetch_sub(1, Ordering::SeqCst) == 1;
            // A shard that held many isolates and holds none now gives its
            // storage back: a group that once ran a million isolates would
            // otherwise keep 16 MB of empty slots for good. (A slab cannot
            // move live entries, so a partly full shard keeps its size.)
            if shard.tasks.is_empty() && shard.tasks.capacity() > SHRINK_ABOVE {
                shard.tasks = Slab::new();
            }
            (removed, last)
        };
        // Dropped outside the lock: this may be the last reference.
        drop(removed);
        // SeqCst on both sides (here and in `wait_empty`): either the waiter
        // sees the count at zero, or this sees the waiter.
        if last && self.draining.load(Ordering::SeqCst) > 0 {
            self.emptied.notify(usize::MAX);
        }
    }

    /// Blocks until no isolate is registered, or `deadline` (none: for as
    /// long as it takes). Returns whether none is.
    pub(crate) fn wait_empty(&self, deadline: Option<std::time::Instant>) -> bool {
        use event_listener::Listener;
        self.draining.fetch_add(1, Ordering::SeqCst);
        let empty = loop {
            // Listened before looking: a removal in between notifies it.
            let listener = self.emptied.listen();
            if self.len() == 0 {
                break true;
            }
            match deadline {
                Some(deadline) => {
                    if listener.wait_deadline(deadline).is_none() {
                        break self.len() == 0;
                    }
                }
                None => listener.wait(),
            }
        };
        self.draining.fetch_sub(1, Ordering::SeqCst);
        empty
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
            let before = all.len();
            all.extend(shard.tasks.drain());
            // Uncounted under the shard's lock, so that a `remove` of one of
            // these (which finds its slot gone) does not count it again.
            self.live.fetch_sub(all.len() - before, Ordering::SeqCst);
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
        self.live.load(Ordering::SeqCst)
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

    /// The count a drain waits on: never zero while a spawner hands over
    /// to its child in another shard, back to zero after a shutdown took
    /// the rest, and a waiter woken by the last removal.
    #[test]
    fn the_count_follows_spawns_across_shards_and_wakes_a_drain() {
        let owned = Arc::new(Owned::new(2));
        let parent = owned.insert(0, |key| Arc::new(Slot(key))).0.key();
        let child = owned.insert(7, |key| Arc::new(Slot(key))).0.key();
        owned.remove(parent);
        assert_eq!(owned.len(), 1, "the child lives in another shard");
        assert!(!owned.wait_empty(Some(std::time::Instant::now())));

        let waiter = {
            let owned = owned.clone();
            std::thread::spawn(move || owned.wait_empty(None))
        };
        owned.remove(child);
        assert!(waiter.join().unwrap(), "the last removal wakes the drain");

        let left = owned.insert(3, |key| Arc::new(Slot(key))).0.key();
        assert_eq!(owned.close().len(), 1);
        assert_eq!(owned.len(), 0);
        owned.remove(left);
        assert_eq!(owned.len(), 0, "a drained slot is not uncounted twice");
    }
}
