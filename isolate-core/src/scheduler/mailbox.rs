//! An isolate's mailbox: a FIFO queue that can be closed, plus a count of the
//! ports that can still send to it.
//!
//! A mutex around a `VecDeque` is the right tool here: the lock is held for a
//! push or a pop only (never while user code runs, and messages are dropped
//! after the guard), so it is almost never contended, costs one uncontended
//! atomic pair, and makes "close and take everything" atomic with respect to
//! senders. That last property is what lets a dead isolate fail every pending
//! ask: once [`Mailbox::close`] returns, no message can be stranded inside.

use std::collections::VecDeque;

use crate::sync::{AtomicUsize, Mutex, Ordering, lock};

/// See the module docs.
#[derive(Debug)]
pub struct Mailbox<M> {
    inner: Mutex<Inner<M>>,
    senders: AtomicUsize,
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
        }
    }

    /// Appends `message`, or gives it back if the mailbox is closed.
    pub fn push(&self, message: M) -> Result<(), M> {
        let mut inner = lock(&self.inner);
        if inner.closed {
            return Err(message);
        }
        inner.queue.push_back(message);
        Ok(())
    }

    /// Takes the oldest message.
    pub fn pop(&self) -> Option<M> {
        lock(&self.inner).queue.pop_front()
    }

    /// Closes the mailbox and returns what was still queued. The caller drops
    /// the messages, outside the lock, which fails any pending asks among them.
    pub fn close(&self) -> VecDeque<M> {
        let mut inner = lock(&self.inner);
        inner.closed = true;
        std::mem::take(&mut inner.queue)
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
