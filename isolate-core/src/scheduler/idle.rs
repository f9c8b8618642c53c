//! Parking and waking the group's workers.
//!
//! A worker with nothing in its own queue becomes **searching**: it looks in
//! the injector and the other workers' queues. While any worker searches, a
//! producer wakes nobody: the searcher will find what was pushed. This keeps
//! a busy group from waking (and re-parking) threads on every spawn. A
//! searcher that finds work stops searching, and if it was the last searcher
//! it wakes one sleeper, so that a burst of work spreads over the workers.
//!
//! A searcher that finds nothing registers as a sleeper, checks every queue
//! once more, and only then parks. A producer pushes its task first and then
//! reads the counters. Both sides put a `SeqCst` fence between their write
//! and their read (the Dekker pattern), so either the producer sees the
//! searcher or sleeper, or the worker sees the task: a task is never left in
//! a queue while every worker sleeps. An idle group uses no CPU.
//!
//! In a group with a reactor (`reactor.rs`), one sleeper parks inside the
//! reactor instead of on its parker: it waits on sockets and timers as well
//! as on work. It publishes a waker and its index before its last look at
//! the queues (the same Dekker pattern), and waking it means waking that
//! waker. A producer prefers waking another sleeper, so that the reactor
//! keeps a thread waiting on it while the group has one to spare.

use std::task::Waker;

use crate::sync::{AtomicUsize, Mutex, Ordering, Unparker, fence, lock};

/// `Idle::driving` when no worker parks in the reactor.
const NOBODY: usize = usize::MAX;

/// Who of the group's workers searches and who sleeps, and how to wake them.
#[derive(Debug)]
pub struct Idle {
    /// Workers awake and looking for work, including the ones just woken.
    searching: AtomicUsize,
    /// Number of entries in `sleepers`, readable without the lock so that the
    /// common case (everyone busy) costs two loads.
    sleeping: AtomicUsize,
    sleepers: Mutex<Vec<usize>>,
    unparkers: Box<[Unparker]>,
    /// The worker parked in the reactor ([`NOBODY`] if none), readable
    /// without the lock: a wake-up of any other worker costs one load.
    driving: AtomicUsize,
    /// Its waker, which ends its park.
    driver: Mutex<Option<(usize, Waker)>>,
}

impl Idle {
    /// The parking state of the workers that `unparkers` wake, in order.
    pub fn new(unparkers: Box<[Unparker]>) -> Self {
        Idle {
            searching: AtomicUsize::new(0),
            sleeping: AtomicUsize::new(0),
            sleepers: Mutex::new(Vec::with_capacity(unparkers.len())),
            unparkers,
            driving: AtomicUsize::new(NOBODY),
            driver: Mutex::new(None),
        }
    }

    /// Wakes one sleeping worker if nobody is searching. Call after making
    /// work visible.
    pub fn notify_one(&self) {
        fence(Ordering::SeqCst);
        if self.searching.load(Ordering::SeqCst) != 0 || self.sleeping.load(Ordering::SeqCst) == 0 {
            return;
        }
        let woken = {
            let mut sleepers = lock(&self.sleepers);
            // Re-checked under the lock, so two producers do not both wake
            // a worker for what one searcher can find.
            if self.searching.load(Ordering::SeqCst) != 0 {
                return;
            }
            // The worker in the reactor is woken last: woken, it stops
            // waiting on sockets and timers until it parks again.
            let count = sleepers.len();
            if count > 1 && sleepers[count - 1] == self.driving.load(Ordering::SeqCst) {
                sleepers.swap(count - 1, count - 2);
            }
            let woken = sleepers.pop();
            if woken.is_some() {
                self.sleeping.fetch_sub(1, Ordering::SeqCst);
                // Counted as searching on its behalf from now on.
                self.searching.fetch_add(1, Ordering::SeqCst);
            }
            woken
        };
        if let Some(index) = woken {
            self.wake(index);
        }
    }

    /// Ends worker `index`'s park, on its parker or in the reactor.
    fn wake(&self, index: usize) {
        if let Some(unparker) = self.unparkers.get(index) {
            unparker.unpark();
        }
        self.wake_driver(index);
    }

    /// Ends worker `index`'s park in the reactor, if it parks there.
    ///
    /// A producer calls it after a `SeqCst` fence that follows the push
    /// (`notify_one` starts with one; `unpark` and `notify_all` add theirs):
    /// its half of the Dekker pattern with `enter_driver`.
    fn wake_driver(&self, index: usize) {
        if self.driving.load(Ordering::SeqCst) == index
            && let Some((driver, waker)) = lock(&self.driver).as_ref()
            && *driver == index
        {
            waker.wake_by_ref();
        }
    }

    /// Worker `index` is about to park in the reactor, which ends the park
    /// through `waker`. Returns whether it may: `false` if a notifier has
    /// taken it off the sleepers already (its wake-up went to the worker's
    /// parker, which the reactor does not wait on). When `true`, the worker
    /// must still check the queues, as after [`register`](Self::register).
    pub fn enter_driver(&self, index: usize, waker: &Waker) -> bool {
        {
            // `driving` changes only under this lock, with the slot: a
            // worker leaving late never clears the next one's waker.
            let mut driver = lock(&self.driver);
            match driver.as_mut() {
                Some((driving, current)) if *driving == index => current.clone_from(waker),
                _ => *driver = Some((index, waker.clone())),
            }
            self.driving.store(index, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        // A notifier that pops this worker after this look reads `driving`
        // after it, and so wakes the waker.
        lock(&self.sleepers).contains(&index)
    }

    /// Worker `index` left the reactor.
    pub fn leave_driver(&self, index: usize) {
        let mut driver = lock(&self.driver);
        if driver
            .as_ref()
            .is_some_and(|(driving, _)| *driving == index)
        {
            *driver = None;
            self.driving.store(NOBODY, Ordering::SeqCst);
        }
    }

    /// A worker left the reactor after a look without waiting: if nobody
    /// is in it now and nobody searches, one sleeper (parked on its parker,
    /// having found the reactor taken) is woken to park there instead.
    /// A worker that registers as a sleeper before it tries the reactor, so
    /// either this sees it sleeping or it finds the reactor free.
    pub fn hand_over_reactor(&self) {
        fence(Ordering::SeqCst);
        if self.driving.load(Ordering::SeqCst) == NOBODY {
            self.notify_one();
        }
    }

    /// Wakes worker `index` if it parks in the reactor: work was put where
    /// only a worker's own loop looks (its LIFO slot, its home queue) by
    /// code running on that worker inside the reactor (no fence: the
    /// producer is the worker itself).
    pub fn kick(&self, index: usize) {
        self.wake_driver(index);
    }

    /// Wakes worker `index` whether or not it sleeps: for work only it may
    /// take (a pinned isolate). A worker that is awake keeps the unpark as a
    /// token, so its next park on its parker returns at once; a park in the
    /// reactor does not see that token, and relies on the worker's look at
    /// its home queue after [`enter_driver`](Self::enter_driver) (or on
    /// the waker, if it is already in). One that sleeps leaves the
    /// sleepers in `unregister`, as after a spurious wake-up.
    pub fn unpark(&self, index: usize) {
        fence(Ordering::SeqCst);
        self.wake(index);
    }

    /// Wakes every worker (shutdown).
    pub fn notify_all(&self) {
        {
            let mut sleepers = lock(&self.sleepers);
            sleepers.clear();
            self.sleeping.store(0, Ordering::SeqCst);
        }
        fence(Ordering::SeqCst);
        for index in 0..self.unparkers.len() {
            self.wake(index);
        }
    }

    /// Whether every worker sleeps (the LIFO watch then stops).
    pub fn all_asleep(&self) -> bool {
        self.sleeping.load(Ordering::SeqCst) == self.unparkers.len()
    }

    /// A worker ran out of local work and starts searching.
    pub fn start_search(&self) {
        self.searching.fetch_add(1, Ordering::SeqCst);
    }

    /// A searching worker found work. If it was the last searcher, another
    /// worker is woken: where there was work, there may be more.
    pub fn end_search(&self) {
        if self.searching.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.notify_one();
        }
    }

    /// Searching worker `index` found nothing and is about to park: it stops
    /// searching and becomes a sleeper. It must check the queues again after
    /// this call and before parking.
    pub fn register(&self, index: usize) {
        let mut sleepers = lock(&self.sleepers);
        sleepers.push(index);
        self.sleeping.fetch_add(1, Ordering::SeqCst);
        self.searching.fetch_sub(1, Ordering::SeqCst);
        drop(sleepers);
        fence(Ordering::SeqCst);
    }

    /// Worker `index` is awake (it found work before parking, was woken, or
    /// woke spuriously) and searching again. A notifier that woke it has
    /// already moved it from sleeping to searching; otherwise it does so here.
    pub fn unregister(&self, index: usize) {
        let mut sleepers = lock(&self.sleepers);
        if let Some(position) = sleepers.iter().position(|&i| i == index) {
            sleepers.swap_remove(position);
            self.sleeping.fetch_sub(1, Ordering::SeqCst);
            self.searching.fetch_add(1, Ordering::SeqCst);
        }
    }
}
