//! Timers: `send_after`, `send_interval`, `after` and `every`, the futures
//! of `time`, and the scheduler's LIFO watch, driven by one timer thread
//! per group, started with its first worker and joined when the group
//! shuts down. A deterministic group has no timer thread: its timers run on
//! virtual time.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A scheduled send, from [`IsolateGroup::send_after`](crate::IsolateGroup::send_after)
/// and its siblings. Dropping it does not cancel it; [`cancel`](Timer::cancel) does.
#[derive(Clone)]
pub struct Timer {
    cancelled: Arc<AtomicBool>,
    /// Its queue and its id there, so that a cancel frees its entry at once
    /// rather than at its deadline (a `timeout` of an hour that ends in a
    /// millisecond must not hold memory for the hour).
    entry: Option<(Weak<Shared>, u64)>,
}

impl Timer {
    /// Stops the timer: a pending send does not happen, an interval stops.
    /// Returns `false` if it was already cancelled.
    pub fn cancel(&self) -> bool {
        if self.cancelled.swap(true, Ordering::AcqRel) {
            return false;
        }
        if let Some((queue, id)) = &self.entry
            && let Some(queue) = queue.upgrade()
        {
            let removed = {
                let mut guard = lock(&queue.0);
                let removed = guard.entries.remove(id);
                // The heap keeps a cancelled deadline until it is due;
                // rebuilt when those outnumber the live ones.
                if guard.due.len() > 64 && guard.due.len() > 2 * guard.entries.len() {
                    let Queue { due, entries, .. } = &mut *guard;
                    due.retain(|Reverse((_, id))| entries.contains_key(id));
                }
                removed
            };
            // Outside the lock: the action may hold a port.
            drop(removed);
        }
        true
    }

    /// Whether [`cancel`](Timer::cancel) was called.
    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::Acquire)
    }
}

impl fmt::Debug for Timer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Timer")
            .field("cancelled", &self.is_cancelled())
            .finish()
    }
}

/// What a due timer does, and what it asks for next.
type Action = Box<dyn FnMut() -> Next + Send>;

/// What a timer does after it has fired.
pub(crate) enum Next {
    /// Nothing more: a one-shot timer fired, or its port closed.
    Done,
    /// Fire again at its next period (for a one-shot timer: done).
    Again,
    /// Fire again after this delay: its message met a full mailbox.
    Retry(Duration),
}

struct Entry {
    action: Action,
    period: Option<Duration>,
    cancelled: Arc<AtomicBool>,
}

#[derive(Default)]
struct Queue {
    due: BinaryHeap<Reverse<(Instant, u64)>>,
    entries: HashMap<u64, Entry>,
    next: u64,
    stopped: bool,
}

/// A timer queue and the condvar its thread waits on.
type Shared = (Mutex<Queue>, Condvar);

/// A group's timer thread and its queue.
#[derive(Default)]
pub(crate) struct Timers {
    queue: Arc<Shared>,
    thread: Mutex<Option<JoinHandle<()>>>,
    /// A deterministic group's virtual clock, moved on by its driver
    /// ([`advance`](Timers::advance)); `None`: real time and a timer thread.
    clock: Option<Mutex<Instant>>,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Timers {
    /// Timers on virtual time: no thread; they fire when the driver of a
    /// deterministic group has nothing else to run.
    pub(crate) fn virtual_time() -> Self {
        Timers {
            clock: Some(Mutex::new(Instant::now())),
            ..Timers::default()
        }
    }

    /// The group's time: virtual for a deterministic group, real otherwise.
    pub(crate) fn now(&self) -> Instant {
        match &self.clock {
            Some(clock) => *clock.lock().unwrap_or_else(PoisonError::into_inner),
            None => Instant::now(),
        }
    }

    /// On virtual time: moves the clock to the earliest pending deadline and
    /// fires that timer. `false` when none is pending.
    pub(crate) fn advance(&self) -> bool {
        let Some(clock) = &self.clock else {
            return false;
        };
        let queue = &self.queue.0;
        let mut guard = lock(queue);
        while let Some(Reverse((deadline, id))) = guard.due.pop() {
            let live = guard
                .entries
                .get(&id)
                .is_some_and(|entry| !entry.cancelled.load(Ordering::Acquire));
            if !live {
                // A cancelled timer moves neither the clock nor the drive.
                guard.entries.remove(&id);
                continue;
            }
            {
                let mut now = clock.lock().unwrap_or_else(PoisonError::into_inner);
                *now = (*now).max(deadline);
            }
            drop(fire(queue, guard, deadline, id, &|| self.now()));
            return true;
        }
        false
    }

    /// Schedules `action` after `delay`, then every `period` if given. In a
    /// group that is shutting down, the timer comes back already cancelled.
    pub(crate) fn schedule(
        &self,
        name: &str,
        delay: Duration,
        period: Option<Duration>,
        action: Action,
    ) -> Timer {
        let cancelled = Arc::new(AtomicBool::new(false));
        let (queue, wake) = &*self.queue;
        let timer = {
            let mut queue = lock(queue);
            if queue.stopped {
                cancelled.store(true, Ordering::Release);
                return Timer {
                    cancelled,
                    entry: None,
                };
            }
            let id = queue.next;
            queue.next += 1;
            queue.due.push(Reverse((later(self.now(), delay), id)));
            queue.entries.insert(
                id,
                Entry {
                    action,
                    period,
                    cancelled: cancelled.clone(),
                },
            );
            Timer {
                cancelled,
                entry: Some((Arc::downgrade(&self.queue), id)),
            }
        };
        wake.notify_one();
        if self.clock.is_none() {
            self.start(name);
        }
        timer
    }

    fn start(&self, name: &str) {
        let mut thread = self.thread.lock().unwrap_or_else(PoisonError::into_inner);
        if thread.is_some() {
            return;
        }
        let queue = self.queue.clone();
        let spawned = std::thread::Builder::new()
            .name(format!("{name}-timer"))
            .spawn(move || {
                crate::scheduler::worker::forbid_blocking();
                run(&queue)
            });
        match spawned {
            Ok(handle) => *thread = Some(handle),
            // Without a thread, timers cannot fire: cancel them all rather
            // than let senders wait for sends that never come.
            Err(_) => {
                let entries = std::mem::take(&mut lock(&self.queue.0).entries);
                for entry in entries.values() {
                    entry.cancelled.store(true, Ordering::Release);
                }
            }
        }
    }

    /// Stops the thread, drops every pending timer and joins the thread
    /// (unless called from it).
    pub(crate) fn stop(&self) {
        let entries = {
            let mut queue = lock(&self.queue.0);
            queue.stopped = true;
            queue.due.clear();
            std::mem::take(&mut queue.entries)
        };
        self.queue.1.notify_all();
        drop(entries);
        let thread = self
            .thread
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(thread) = thread
            && thread.thread().id() != std::thread::current().id()
        {
            let _ = thread.join();
        }
    }
}

/// `from + delay`, or a century on when that is past what `Instant` holds
/// (`send_after(Duration::MAX)` means never, not a panic).
fn later(from: Instant, delay: Duration) -> Instant {
    from.checked_add(delay)
        .or_else(|| from.checked_add(Duration::from_secs(100 * 365 * 24 * 3600)))
        .unwrap_or(from)
}

/// The timer thread: sleeps until the earliest deadline, runs what is due.
fn run(shared: &Shared) {
    let (queue, wake) = shared;
    let mut guard = lock(queue);
    loop {
        if guard.stopped {
            return;
        }
        let now = Instant::now();
        match guard.due.peek().copied() {
            None => {
                guard = wake.wait(guard).unwrap_or_else(PoisonError::into_inner);
            }
            Some(Reverse((deadline, _))) if deadline > now => {
                guard = wake
                    .wait_timeout(guard, deadline - now)
                    .map(|(guard, _)| guard)
                    .unwrap_or_else(|poisoned| poisoned.into_inner().0);
            }
            Some(Reverse((deadline, id))) => {
                guard.due.pop();
                guard = fire(queue, guard, deadline, id, &Instant::now);
            }
        }
    }
}

/// Fires timer `id`, just popped at `deadline`: runs its action without the
/// lock, then queues it again if it repeats (times from `now`). Returns the
/// lock, taken again.
fn fire<'a>(
    queue: &'a Mutex<Queue>,
    mut guard: MutexGuard<'a, Queue>,
    deadline: Instant,
    id: u64,
    now: &dyn Fn() -> Instant,
) -> MutexGuard<'a, Queue> {
    let Some(mut entry) = guard.entries.remove(&id) else {
        return guard;
    };
    if entry.cancelled.load(Ordering::Acquire) {
        return guard;
    }
    // The action runs without the lock: it sends to a port, which may lead
    // to code that schedules another timer.
    drop(guard);
    let next = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (entry.action)()))
        .unwrap_or(Next::Done);
    guard = lock(queue);
    let due = match (next, entry.period) {
        _ if guard.stopped => None,
        // The next tick is a period after this deadline, not after now, so
        // an interval does not drift; a tick that fell behind is not
        // repeated to catch up.
        (Next::Again, Some(period)) => Some(later(deadline, period).max(now())),
        (Next::Retry(delay), _) => Some(later(now(), delay)),
        _ => None,
    };
    match due {
        Some(due) => {
            guard.due.push(Reverse((due, id)));
            guard.entries.insert(id, entry);
        }
        None => entry.cancelled.store(true, Ordering::Release),
    }
    guard
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(timers: &Timers) -> (usize, usize) {
        let queue = lock(&timers.queue.0);
        (queue.entries.len(), queue.due.len())
    }

    #[test]
    fn a_cancelled_timer_frees_its_entry_at_once_and_the_heap_is_compacted() {
        // Virtual time: no thread, nothing fires by itself.
        let timers = Timers::virtual_time();
        let hour = Duration::from_secs(3600);
        let kept = timers.schedule("t", hour, None, Box::new(|| Next::Done));
        for _ in 0..1000 {
            let timer = timers.schedule("t", hour, None, Box::new(|| Next::Done));
            assert!(timer.cancel());
            assert!(!timer.cancel(), "a second cancel is a no-op");
        }
        let (entries, due) = pending(&timers);
        assert_eq!(entries, 1, "only the timer not cancelled keeps an entry");
        assert!(due <= 2 * entries + 65, "the heap was compacted: {due}");
        // What is left still fires, and moves the clock.
        assert!(timers.advance());
        assert!(!timers.advance());
        assert!(kept.is_cancelled(), "a fired one-shot timer is done");
        assert_eq!(pending(&timers).0, 0);
    }
}
