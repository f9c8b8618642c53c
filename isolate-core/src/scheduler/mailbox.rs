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

use crate::sync::{AtomicUsize, Mutex, Ordering, lock};

/// See the module docs.
#[derive(Debug)]
pub struct Mailbox<M> {
    inner: Mutex<Inner<M>>,
    senders: AtomicUsize,
    bound: Option<Box<Bound>>,
}

/// The capacity of a bounded mailbox and the senders waiting for room.
#[derive(Debug)]
struct Bound {
    capacity: usize,
    /// Senders between [`Mailbox::listen`] and the end of their wait. Lets
    /// a pop skip the event (and its lock) when nobody waits. A sender
    /// counts itself before it retries its push under the mailbox lock, and
    /// a pop reads the count after its own turn under that lock, so either
    /// the retry sees the room or the pop sees the waiter.
    waiting: AtomicUsize,
    room: Event,
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
pub struct RoomListener<'a> {
    bound: &'a Bound,
    /// `None` once a blocking wait has used it.
    listener: Option<EventListener>,
}

impl RoomListener<'_> {
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

impl Future for RoomListener<'_> {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        match &mut self.listener {
            Some(listener) => Pin::new(listener).poll(cx),
            None => Poll::Ready(()),
        }
    }
}

impl std::fmt::Debug for RoomListener<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RoomListener(..)")
    }
}

impl Drop for RoomListener<'_> {
    fn drop(&mut self) {
        self.bound.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

#[derive(Debug)]
struct Inner<M> {
    queue: VecDeque<M>,
    closed: bool,
}

impl<M> Mailbox<M> {
    /// An open, empty mailbox with `senders` ports pointing at it.
    pub fn new(senders: usize) -> Self {
        Mailbox {
            inner: Mutex::new(Inner {
                queue: VecDeque::new(),
                closed: false,
            }),
            senders: AtomicUsize::new(senders),
            bound: None,
        }
    }

    /// As [`new`](Self::new), holding at most `capacity` messages (at
    /// least one).
    pub fn bounded(senders: usize, capacity: usize) -> Self {
        Mailbox {
            bound: Some(Box::new(Bound {
                capacity: capacity.max(1),
                waiting: AtomicUsize::new(0),
                room: Event::new(),
            })),
            ..Mailbox::new(senders)
        }
    }

    /// Appends `message`, or gives it back if the mailbox is closed or full.
    pub fn push(&self, message: M) -> Result<(), Refused<M>> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(Refused::Closed(message));
        }
        if let Some(bound) = &self.bound
            && inner.queue.len() >= bound.capacity
        {
            return Err(Refused::Full(message));
        }
        inner.queue.push_back(message);
        Ok(())
    }

    /// Takes the oldest message, and makes room for one waiting sender.
    pub fn pop(&self) -> Option<M> {
        let message = lock(&self.inner).queue.pop_front();
        if let Some(bound) = &self.bound
            && message.is_some()
            && bound.waiting.load(Ordering::Acquire) != 0
        {
            // One more waiter than already woken: each pop frees one slot.
            bound.room.notify(1.additional());
        }
        message
    }

    /// Registers to be woken when a bounded mailbox has room (or closes).
    /// `None` for an unbounded mailbox, which is never full. Register
    /// first, then retry the push: a pop in between wakes this listener.
    pub fn listen(&self) -> Option<RoomListener<'_>> {
        let bound = self.bound.as_deref()?;
        bound.waiting.fetch_add(1, Ordering::AcqRel);
        Some(RoomListener {
            bound,
            listener: Some(bound.room.listen()),
        })
    }

    /// The capacity of a bounded mailbox.
    pub fn capacity(&self) -> Option<usize> {
        self.bound.as_ref().map(|bound| bound.capacity)
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
        if let Some(bound) = &self.bound {
            bound.room.notify(usize::MAX);
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
