//! The answer to an ask: [`Reply`] and the [`ReplySender`] that fulfils it.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Wake, Waker};
use std::time::{Duration, Instant};

use crate::error::ReplyError;
use crate::scheduler::worker;

/// The answer to an ask, still to come: [`wait`](Reply::wait) for it on a
/// plain thread, or `.await` it in async code (any runtime, tokio included,
/// and inside isolates).
///
/// A `Reply` never hangs on a dead isolate: when the request is dropped
/// unanswered (the isolate stopped, panicked, was killed, or its group was
/// dropped) it resolves with [`ReplyError::Dropped`]. It can wait for ever
/// only on a live isolate that never answers: a handler that keeps the
/// [`ReplySender`], or two isolates that ask each other and wait (an ask to
/// the very isolate that asks is refused, [`ReplyError::AskedItself`]).
///
/// Dropping a `Reply` gives up the answer, not the request: the request is
/// delivered and handled as if the reply were awaited (see
/// [`SendPort::ask`](crate::SendPort::ask)), on an unbounded mailbox and a
/// full bounded one alike.
///
/// # Examples
///
/// ```
/// use isolate_core::Reply;
///
/// let (reply_to, reply) = Reply::channel();
/// std::thread::spawn(move || reply_to.send("done"));
/// assert_eq!(reply.wait(), Ok("done"));
/// ```
#[must_use = "the request is sent whether or not the reply is awaited, but its answer is \
              lost unless the Reply is waited for or awaited"]
pub struct Reply<T> {
    /// `Err` only from a transport that knows why an ask failed (see
    /// [`ReplySender::fail`]); a dropped sender is `Dropped` as ever.
    receiver: oneshot::Receiver<Result<T, ReplyError>>,
    /// The send of the request, when it could not go out at once (an ask
    /// to a full bounded mailbox). Driven to its end before the answer is
    /// awaited, so that a wait's timeout covers the wait for room too; a
    /// reply dropped first hands it to its mailbox's group, so the request
    /// goes out all the same. (The mutex only makes the reply `Sync`; it is
    /// reached through `&mut` and never locked.)
    sending: Option<Box<Mutex<Outgoing>>>,
}

pub(crate) type Sending = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Where a send that nobody waits for is run to its end.
pub(crate) type Detach = Box<dyn FnOnce(Sending) + Send>;

/// A request still on its way, and where it goes if its reply is dropped.
struct Outgoing {
    send: Sending,
    /// Taken when the send is done; still here when the reply is dropped
    /// first.
    detach: Option<Detach>,
}

impl Drop for Outgoing {
    fn drop(&mut self) {
        // The request goes out whether or not its answer is awaited.
        if let Some(detach) = self.detach.take() {
            // A zero-sized stand-in: no allocation.
            let send = std::mem::replace(&mut self.send, Box::pin(async {}));
            detach(send);
        }
    }
}

/// The capability to answer one ask. Put it in a request message; the
/// handler calls [`send`](ReplySender::send) once. Dropping it unanswered
/// fails the waiting [`Reply`] with [`ReplyError::Dropped`].
///
/// # Examples
///
/// ```
/// use isolate_core::{Reply, ReplyError};
///
/// let (reply_to, reply) = Reply::<u8>::channel();
/// drop(reply_to); // the handler never answered
/// assert_eq!(reply.wait(), Err(ReplyError::Dropped));
/// ```
pub struct ReplySender<T> {
    /// The answer's way back. A `Cell` so that serializing a request into
    /// another process (which sees only `&self`) can take it: the capability
    /// moves into the connection. Two pointers wide, and answering takes no
    /// lock; the price is that a `ReplySender` is `Send` but not `Sync`.
    route: std::cell::Cell<Option<Route<T>>>,
}

/// Where an answer goes: to a [`Reply`] in this process, or through a
/// connection to one in another.
pub(crate) enum Route<T> {
    Local(oneshot::Sender<Result<T, ReplyError>>),
    /// Boxed twice to stay one pointer wide: remote asks are rare, and the
    /// size of every ask's message counts.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    Remote(Box<Box<dyn RemoteReply<T>>>),
}

/// The far end of an ask made in another process.
pub(crate) trait RemoteReply<T>: Send {
    fn send(self: Box<Self>, value: T);
    fn is_closed(&self) -> bool;
}

impl<T> Reply<T> {
    /// A connected pair: the sender goes into a request, the reply stays.
    pub fn channel() -> (ReplySender<T>, Reply<T>) {
        let (sender, receiver) = oneshot::channel();
        (
            ReplySender::with_route(Route::Local(sender)),
            Reply {
                receiver,
                sending: None,
            },
        )
    }

    /// This reply, whose request goes out through `send` first; if the
    /// reply is dropped before, `detach` runs the send to its end.
    pub(crate) fn after(mut self, send: Sending, detach: Detach) -> Self {
        self.sending = Some(Box::new(Mutex::new(Outgoing {
            send,
            detach: Some(detach),
        })));
        self
    }

    /// Drives the request's send, if one is still under way.
    fn poll_sending(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let Some(sending) = &mut self.sending else {
            return Poll::Ready(());
        };
        let outgoing = sending.get_mut().unwrap_or_else(PoisonError::into_inner);
        if outgoing.send.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        outgoing.detach = None;
        self.sending = None;
        Poll::Ready(())
    }

    /// Blocks until the request's send is done; `false` if `deadline`
    /// passed first.
    fn finish_sending(&mut self, deadline: Option<Instant>) -> bool {
        if self.sending.is_none() {
            return true;
        }
        let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
        let mut cx = Context::from_waker(&waker);
        while self.poll_sending(&mut cx).is_pending() {
            match deadline {
                None => std::thread::park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    std::thread::park_timeout(deadline - now);
                }
            }
        }
        true
    }

    /// Blocks the thread until the answer arrives.
    ///
    /// # Errors
    ///
    /// [`ReplyError::Dropped`] if the request is dropped unanswered;
    /// [`ReplyError::BlockingInIsolate`] when called on an isolate group's
    /// worker thread (`.await` the reply there instead). A request still
    /// waiting for room in a full bounded mailbox is then sent in the
    /// background, as for a dropped reply.
    pub fn wait(mut self) -> Result<T, ReplyError> {
        if worker::must_not_block() {
            return Err(ReplyError::BlockingInIsolate);
        }
        self.finish_sending(None);
        self.receiver.recv().unwrap_or(Err(ReplyError::Dropped))
    }

    /// Blocks the thread for at most `timeout`.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait), plus [`ReplyError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::{Reply, ReplyError};
    ///
    /// let (_reply_to, reply) = Reply::<u8>::channel();
    /// let waited = reply.wait_timeout(Duration::from_millis(1));
    /// assert_eq!(waited, Err(ReplyError::Timeout(Duration::from_millis(1))));
    /// ```
    pub fn wait_timeout(mut self, timeout: Duration) -> Result<T, ReplyError> {
        if worker::must_not_block() {
            return Err(ReplyError::BlockingInIsolate);
        }
        // A timeout too long for an `Instant` is no deadline at all.
        let deadline = Instant::now().checked_add(timeout);
        if !self.finish_sending(deadline) {
            return Err(ReplyError::Timeout(timeout));
        }
        let left = deadline.map_or(timeout, |deadline| {
            deadline.saturating_duration_since(Instant::now())
        });
        match self.receiver.recv_timeout(left) {
            Ok(answer) => answer,
            Err(oneshot::RecvTimeoutError::Timeout) => Err(ReplyError::Timeout(timeout)),
            Err(oneshot::RecvTimeoutError::Disconnected) => Err(ReplyError::Dropped),
        }
    }

    /// Takes the answer if it has arrived, without waiting; otherwise gives
    /// the reply back.
    ///
    /// # Errors
    ///
    /// `Err(Ok(reply))` when the answer has not arrived yet,
    /// `Err(Err(ReplyError::Dropped))` when it never will.
    ///
    /// An ask whose request is still waiting for room in a full bounded
    /// mailbox (see [`SendPort::ask`](crate::SendPort::ask)) has no answer
    /// yet: `try_wait` gives it back; awaiting it, waiting for it or
    /// dropping it sends.
    pub fn try_wait(self) -> Result<T, Result<Self, ReplyError>> {
        // Polling the send here, with nobody to wake, would leave a
        // registered waiter that takes another sender's wake-up.
        if self.sending.is_some() {
            return Err(Ok(self));
        }
        match self.receiver.try_recv() {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(Err(error)),
            Err(oneshot::TryRecvError::Empty) => Err(Ok(self)),
            Err(oneshot::TryRecvError::Disconnected) => Err(Err(ReplyError::Dropped)),
        }
    }
}

impl<T> Future for Reply<T> {
    type Output = Result<T, ReplyError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.poll_sending(cx).is_pending() {
            return Poll::Pending;
        }
        Pin::new(&mut self.receiver)
            .poll(cx)
            .map(|result| result.unwrap_or(Err(ReplyError::Dropped)))
    }
}

/// Wakes a thread blocked in [`Reply::wait`] while its request is sent.
struct Unpark(std::thread::Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}

impl<T> ReplySender<T> {
    pub(crate) fn with_route(route: Route<T>) -> Self {
        ReplySender {
            route: std::cell::Cell::new(Some(route)),
        }
    }

    /// Takes the route out, leaving a sender that answers nobody.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn take_route(&self) -> Option<Route<T>> {
        self.route.take()
    }

    /// Answers the ask. If the asker has stopped waiting (dropped its
    /// [`Reply`]), the value is dropped: there is nobody to tell.
    pub fn send(self, value: T) {
        match self.route.take() {
            Some(Route::Local(sender)) => {
                let _ = sender.send(Ok(value));
            }
            Some(Route::Remote(remote)) => (*remote).send(value),
            None => {}
        }
    }

    /// Fails the ask with `error` instead of answering it: for a transport
    /// that knows why no answer will come (nobody listens, the connection
    /// dropped), so that the asker reads the reason rather than
    /// [`ReplyError::Dropped`]. An ask that came from another process
    /// through `spawn_uri` is dropped instead: its connection says
    /// `Dropped` only.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn fail(self, error: ReplyError) {
        match self.route.take() {
            Some(Route::Local(sender)) => {
                let _ = sender.send(Err(error));
            }
            Some(Route::Remote(remote)) => drop(remote),
            None => {}
        }
    }

    /// Whether the asker has stopped waiting, so an answer would be dropped.
    /// Lets a handler skip work nobody wants. (For an ask from another
    /// process: whether the connection to it is gone.)
    pub fn is_closed(&self) -> bool {
        let route = self.route.take();
        let closed = match &route {
            Some(Route::Local(sender)) => sender.is_closed(),
            Some(Route::Remote(remote)) => remote.is_closed(),
            None => true,
        };
        self.route.set(route);
        closed
    }
}

impl<T> fmt::Debug for Reply<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reply(..)")
    }
}

impl<T> fmt::Debug for ReplySender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ReplySender(..)")
    }
}
