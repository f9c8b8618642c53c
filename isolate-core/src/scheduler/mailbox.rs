//! An isolate's mailbox: a FIFO queue that can be closed, plus a count of the
//! ports that can still send to it.
//!
//! A mutex around a `VecDeque` is the right tool here: the lock is held for a
//! push or a pop only (never while user code runs, and messages are dropped
//! after the guard), so it is almost never contended, costs one uncontended
//! atomic pair, and makes "close and take everything" atomic with respect to
//! senders. That last property is what lets a dead isolate fail every pending
//! ask: once [`Mailbox::close`] returns, no message can be stranded inside.
//!
//! # Bounded mailboxes
//!
//! A mailbox may have a capacity. A push to a full one is refused with
//! [`Refused::Full`], and a sender that wants to wait registers with
//! [`Mailbox::listen`] and tries again when woken. Every pop wakes one more
//! waiting sender (if any wait), and closing wakes them all, so that they
//! see the mailbox closed rather than wait forever. The waiting itself is
//! `event-listener`'s: a woken listener that is dropped before it retries
//! passes its wake-up on, so a cancelled `send_async` cannot strand the
//! others. Unbounded mailboxes carry no such state (one null pointer).

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use event_listener::{Event, EventListener, IntoNotification, Listener};

use super::state::State;
use crate::sync::{AtomicUsize, Mutex, MutexGuard, Ordering, lock};

/// See the module docs.
#[derive(Debug)]
pub struct Mailbox<M> {
    inner: Mutex<Inner<M>>,
    senders: AtomicUsize,
    /// Where senders wait for room: only a bounded mailbox has one.
    room: Option<Box<Event>>,
}

#[derive(Debug)]
struct Inner<M> {
    queue: VecDeque<M>,
    closed: bool,
    /// `usize::MAX` when unbounded: checked in the same lock and cache line
    /// as the queue, so an unbounded push pays one comparison for the bound.
    capacity: usize,
    /// Senders registered with [`Mailbox::listen`] and not yet done waiting.
    /// Counted under the lock, so a pop sees every waiter whose retry came
    /// before it, and skips the event entirely when nobody waits.
    waiting: u32,
}

/// Why [`Mailbox::push`] gave a message back.
#[derive(Debug)]
pub enum Refused<M> {
    /// The mailbox is bounded and holds its capacity.
    Full(M),
    /// The isolate has ended.
    Closed(M),
}

/// A sender's registration to be woken when a bounded mailbox has room:
/// await it, or [`wait`](RoomListener::wait) on a plain thread. Dropping it
/// unregisters.
pub struct RoomListener<'a, M> {
    /// The mailbox whose waiters it is counted among; `None` for a
    /// transport's proxy, whose room is its own (`transport::Room`).
    inner: Option<&'a Mutex<Inner<M>>>,
    /// `None` once a blocking wait has used it.
    listener: Option<EventListener>,
}

impl<M> RoomListener<'_, M> {
    /// A registration with an event of a transport's own.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn detached(listener: EventListener) -> Self {
        RoomListener {
            inner: None,
            listener: Some(listener),
        }
    }

    /// Blocks until woken, or until `deadline`; `false` means it passed.
    pub fn wait(mut self, deadline: Option<Instant>) -> bool {
        match (self.listener.take(), deadline) {
            (Some(listener), None) => {
                listener.wait();
                true
            }
            (Some(listener), Some(deadline)) => listener.wait_deadline(deadline).is_some(),
            (None, _) => true,
        }
    }
}

impl<M> Future for RoomListener<'_, M> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.listener {
            Some(listener) => Pin::new(listener).poll(cx),
            None => Poll::Ready(()),
        }
    }
}

impl<M> std::fmt::Debug for RoomListener<'_, M> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoomListener(..)")
    }
}

impl<M> Drop for RoomListener<'_, M> {
    fn drop(&mut self) {
        if let Some(inner) = self.inner {
            lock(inner).waiting -= 1;
        }
    }
}

/// Delivers `message` to an isolate: `Ok(true)` means the caller must put
/// the isolate on a run queue.
///
/// Only a push into an *empty* mailbox notifies the isolate. A push behind
/// other messages needs no wake-up of its own: the push that made the
/// mailbox non-empty notifies after it, and a run ends only after a pop that
/// found the mailbox empty (or with a wake-up still to come: a pending
/// handler's waker, a `resume`, a budget that reschedules it). So a stream
/// of tells into a busy isolate costs one lock round trip each, not a lock
/// and a contended read-modify-write of the state.
/// `tests/loom.rs` checks that no message is stranded.
pub fn deliver<M>(mailbox: &Mailbox<M>, state: &State, message: M) -> Result<bool, Refused<M>> {
    Ok(mailbox.push(message)? && state.notify())
}

impl<M> Mailbox<M> {
    /// An open, empty mailbox with `senders` ports pointing at it.
    pub fn new(senders: usize) -> Self {
        Mailbox {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                closed: false,
                capacity: usize::MAX,
                waiting: 0,
            }),
            senders: AtomicUsize::new(senders),
            room: None,
        }
    }

    /// As [`new`](Self::new), holding at most `capacity` messages (at
    /// least one).
    pub fn bounded(senders: usize, capacity: usize) -> Self {
        let mailbox = Mailbox {
            room: Some(Box::new(Event::new())),
            ..Mailbox::new(senders)
        };
        lock(&mailbox.inner).capacity = capacity.clamp(1, usize::MAX - 1);
        mailbox
    }

    /// Appends `message`, or gives it back if the mailbox is closed or full.
    ///
    /// Returns `true` when the mailbox was empty: only that push has to wake
    /// the isolate (see [`deliver`]).
    pub fn push(&self, message: M) -> Result<bool, Refused<M>> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(Refused::Closed(message));
        }
        let len = inner.queue.len();
        if len >= inner.capacity {
            return Err(Refused::Full(message));
        }
        inner.queue.push_back(message);
        Ok(len == 0)
    }

    /// Takes the oldest message, and makes room for one waiting sender.
    pub fn pop(&self) -> Option<M> {
        let mut inner = lock(&self.inner);
        if inner.waiting != 0 {
            return self.pop_making_room(inner);
        }
        // The hot path: nothing between the pop and the return, so the
        // message moves straight into the caller's slot.
        inner.queue.pop_front()
    }

    /// [`pop`](Self::pop) while senders wait: wakes one more of them than
    /// already woken, since each pop frees one slot.
    #[cold]
    #[inline(never)]
    fn pop_making_room(&self, mut inner: MutexGuard<'_, Inner<M>>) -> Option<M> {
        let message = inner.queue.pop_front();
        drop(inner);
        if message.is_some()
            && let Some(room) = &self.room
        {
            room.notify(1.additional());
        }
        message
    }

    /// Registers to be woken when a bounded mailbox has room (or closes).
    /// `None` for an unbounded mailbox, which is never full. Register
    /// first, then retry the push: a pop in between wakes this listener.
    pub fn listen(&self) -> Option<RoomListener<'_, M>> {
        let room = self.room.as_deref()?;
        // Listening first and counting second (under the lock) is safe: a
        // pop that misses the count happened before the caller's retry,
        // which then finds the room.
        let listener = room.listen();
        lock(&self.inner).waiting += 1;
        Some(RoomListener {
            inner: Some(&self.inner),
            listener: Some(listener),
        })
    }

    /// Senders waiting for room now.
    pub fn waiting(&self) -> usize {
        lock(&self.inner).waiting as usize
    }

    /// The capacity of a bounded mailbox.
    pub fn capacity(&self) -> Option<usize> {
        let capacity = lock(&self.inner).capacity;
        (capacity != usize::MAX).then_some(capacity)
    }

    /// Closes the mailbox and returns what was still queued. The caller drops
    /// the messages, outside the lock, which fails any pending asks among them.
    /// Waiting senders wake up and find it closed.
    pub fn close(&self) -> VecDeque<M> {
        let queued = {
            let mut inner = lock(&self.inner);
            inner.closed = true;
            std::mem::take(&mut inner.queue)
        };
        if let Some(room) = &self.room {
            room.notify(usize::MAX);
        }
        queued
    }

    /// Messages waiting to be handled.
    pub fn len(&self) -> usize {
        lock(&self.inner).queue.len()
    }

    /// A new port points at this mailbox.
    pub fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    /// A port was dropped. Returns `true` for the last one: the isolate must
    /// then be notified so that it can end once its queue is empty.
    pub fn remove_sender(&self) -> bool {
        self.senders.fetch_sub(1, Ordering::AcqRel) == 1
    }

    /// Whether no port can send here any more.
    pub fn has_no_senders(&self) -> bool {
        self.senders.load(Ordering::Acquire) == 0
    }
}

#[cfg(all(test, not(isolate_loom)))]
mod tests {
    use super::*;
    use std::task::Waker;

    fn poll(listener: &mut RoomListener<'_, u32>) -> Poll<()> {
        Pin::new(listener).poll(&mut Context::from_waker(Waker::noop()))
    }

    /// A woken waiter that gives up before retrying hands its turn on: a
    /// cancelled `send_async` cannot strand the senders behind it.
    #[test]
    fn a_dropped_woken_waiter_passes_its_turn_on() {
        let mailbox = Mailbox::bounded(1, 1);
        mailbox.push(0).unwrap();
        assert!(matches!(mailbox.push(1), Err(Refused::Full(1))));
        let mut first = mailbox.listen().unwrap();
        let mut second = mailbox.listen().unwrap();
        assert_eq!(mailbox.waiting(), 2);
        assert!(poll(&mut first).is_pending());
        assert!(poll(&mut second).is_pending());

        assert_eq!(mailbox.pop(), Some(0));
        // One slot, one wake-up: the first waiter's.
        assert!(poll(&mut second).is_pending());
        drop(first);
        assert!(poll(&mut second).is_ready());
        drop(second);
        assert_eq!(mailbox.waiting(), 0);
    }

    /// Closing wakes every waiter, so that each finds the mailbox closed.
    #[test]
    fn closing_wakes_every_waiter() {
        let mailbox = Mailbox::bounded(1, 1);
        mailbox.push(0).unwrap();
        let mut waiters: Vec<_> = (0..3).map(|_| mailbox.listen().unwrap()).collect();
        for waiter in &mut waiters {
            assert!(poll(waiter).is_pending());
        }
        assert_eq!(mailbox.close().len(), 1);
        for waiter in &mut waiters {
            assert!(poll(waiter).is_ready());
        }
        assert!(matches!(mailbox.push(1), Err(Refused::Closed(1))));
    }

    /// An unbounded mailbox is never full and has nothing to listen to.
    #[test]
    fn an_unbounded_mailbox_has_no_waiters() {
        let mailbox = Mailbox::new(1);
        for n in 0..1000 {
            mailbox.push(n).unwrap();
        }
        assert!(mailbox.listen().is_none());
        assert_eq!(mailbox.capacity(), None);
    }
}
