//! Typed ports: [`SendPort`] and [`ReceivePort`] (Dart's, with a type).

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;

use crate::error::{RecvError, RecvTimeoutError, SendError, TryRecvError};
use crate::isolate::Isolate;
use crate::reply::{Reply, ReplySender};
use crate::scheduler::cell::Cell;
use crate::scheduler::worker;

/// The sending end of a port: cheap to clone, and [`Sendable`](crate::Sendable)
/// when `T` is, so it can be handed to other isolates.
///
/// A `SendPort` points either at an isolate's mailbox (what
/// [`IsolateGroup::spawn`](crate::IsolateGroup::spawn) returns) or at a
/// [`ReceivePort`]. Sending never blocks. When the receiver is gone,
/// [`send`](SendPort::send) returns the message in a [`SendError`] (Dart drops
/// it silently).
///
/// Two `SendPort`s are equal when they reach the same receiver, as in Dart.
///
/// # Examples
///
/// ```
/// use isolate_core::ReceivePort;
///
/// let mut inbox = ReceivePort::new();
/// let port = inbox.send_port();
/// assert_eq!(port, port.clone());
/// port.send("hello").unwrap();
/// assert_eq!(inbox.recv(), Ok("hello"));
/// ```
pub struct SendPort<T: Send + 'static> {
    target: Target<T>,
}

enum Target<T: Send + 'static> {
    Channel(flume::Sender<T>),
    Isolate(Arc<dyn Inbox<T>>),
}

/// An isolate's mailbox as a port sees it, with the isolate's type erased.
pub(crate) trait Inbox<T>: Send + Sync + 'static {
    /// Queues a message; `Ok(true)` means the isolate must be scheduled.
    fn push(&self, message: T) -> Result<bool, T>;
    fn schedule(self: Arc<Self>);
    fn add_sender(&self);
    /// `true` when the isolate must be scheduled (it lost its last port).
    fn remove_sender(&self) -> bool;
    fn is_closed(&self) -> bool;
}

impl<I: Isolate> Inbox<I::Message> for Cell<I> {
    fn push(&self, message: I::Message) -> Result<bool, I::Message> {
        Cell::push(self, message)
    }

    fn schedule(self: Arc<Self>) {
        Cell::schedule(self)
    }

    fn add_sender(&self) {
        Cell::add_sender(self)
    }

    fn remove_sender(&self) -> bool {
        Cell::release_sender(self)
    }

    fn is_closed(&self) -> bool {
        self.is_stopped()
    }
}

impl<T: Send + 'static> SendPort<T> {
    /// A port to an isolate's mailbox; the caller has counted it as a sender.
    pub(crate) fn from_inbox(inbox: Arc<dyn Inbox<T>>) -> Self {
        SendPort {
            target: Target::Isolate(inbox),
        }
    }

    /// Sends `message`. Never blocks.
    ///
    /// # Errors
    ///
    /// Gives the message back in a [`SendError`] when the receiving isolate
    /// has ended or the [`ReceivePort`] was dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::ReceivePort;
    ///
    /// let inbox = ReceivePort::<u32>::new();
    /// let port = inbox.send_port();
    /// drop(inbox);
    /// let error = port.send(7).unwrap_err();
    /// assert_eq!(error.into_inner(), 7);
    /// ```
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        match &self.target {
            Target::Channel(sender) => sender.send(message).map_err(|e| SendError(e.into_inner())),
            Target::Isolate(inbox) => match inbox.push(message) {
                Ok(true) => {
                    inbox.clone().schedule();
                    Ok(())
                }
                Ok(false) => Ok(()),
                Err(message) => Err(SendError(message)),
            },
        }
    }

    /// Sends a request built around a fresh [`ReplySender`] and returns the
    /// [`Reply`] to wait for or await.
    ///
    /// `make` is usually an enum variant such as `CounterMsg::Get`. If the
    /// receiver is gone, the request is dropped and the reply resolves at once
    /// with [`ReplyError::Dropped`](crate::ReplyError::Dropped): an ask never
    /// hangs on a dead isolate.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::{ReceivePort, ReplySender};
    ///
    /// let mut inbox = ReceivePort::<ReplySender<u32>>::new();
    /// let port = inbox.send_port();
    /// let reply = port.ask(|reply_to| reply_to);
    /// inbox.recv().unwrap().send(42);
    /// assert_eq!(reply.wait(), Ok(42));
    /// ```
    pub fn ask<R>(&self, make: impl FnOnce(ReplySender<R>) -> T) -> Reply<R> {
        let (reply_to, reply) = Reply::channel();
        // On failure the request, and the ReplySender in it, is dropped, which
        // resolves `reply` with an error.
        let _ = self.send(make(reply_to));
        reply
    }

    /// Whether the receiver is known to be gone, so that a send would fail.
    ///
    /// `false` is only a snapshot: the receiver may go away at any moment.
    pub fn is_closed(&self) -> bool {
        match &self.target {
            Target::Channel(sender) => sender.is_disconnected(),
            Target::Isolate(inbox) => inbox.is_closed(),
        }
    }

    fn address(&self) -> *const () {
        match &self.target {
            // flume has no address accessor; `same_channel` is used instead.
            Target::Channel(_) => std::ptr::null(),
            Target::Isolate(inbox) => Arc::as_ptr(inbox) as *const (),
        }
    }
}

impl<T: Send + 'static> Clone for SendPort<T> {
    fn clone(&self) -> Self {
        let target = match &self.target {
            Target::Channel(sender) => Target::Channel(sender.clone()),
            Target::Isolate(inbox) => {
                inbox.add_sender();
                Target::Isolate(inbox.clone())
            }
        };
        SendPort { target }
    }
}

impl<T: Send + 'static> Drop for SendPort<T> {
    fn drop(&mut self) {
        if let Target::Isolate(inbox) = &self.target
            && inbox.remove_sender()
        {
            inbox.clone().schedule();
        }
    }
}

impl<T: Send + 'static> PartialEq for SendPort<T> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.target, &other.target) {
            (Target::Channel(a), Target::Channel(b)) => a.same_channel(b),
            (Target::Isolate(_), Target::Isolate(_)) => self.address() == other.address(),
            _ => false,
        }
    }
}

impl<T: Send + 'static> Eq for SendPort<T> {}

impl<T: Send + 'static> fmt::Debug for SendPort<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.target {
            Target::Channel(_) => "ReceivePort",
            Target::Isolate(_) => "Isolate",
        };
        f.debug_struct("SendPort")
            .field("to", &kind)
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving end of a port. It stays in the isolate (or thread) that
/// made it: it is not [`Sendable`](crate::Sendable), as in Dart.
///
/// Hand out [`SendPort`]s with [`send_port`](ReceivePort::send_port), then
/// receive with [`recv`](ReceivePort::recv) on a plain thread,
/// [`recv_async`](ReceivePort::recv_async) or the [`Stream`] impl in async
/// code (inside an isolate), [`recv_timeout`](ReceivePort::recv_timeout), or
/// [`try_recv`](ReceivePort::try_recv).
///
/// # A wait can never hang on a port nobody can send to
///
/// A new `ReceivePort` holds itself open, so that `send_port` can be called
/// any time before you start waiting. The first *wait* (`recv`,
/// `recv_timeout`, `recv_async`, polling the stream) lets go of that hold:
/// from then on the port disconnects, and the wait returns
/// [`RecvError::Disconnected`], as soon as every `SendPort` is dropped and
/// the queue is empty. So hand out the `SendPort`s you need before you
/// wait; `send_port` after that still works while any `SendPort` is alive.
///
/// # Examples
///
/// ```
/// use isolate_core::{ReceivePort, RecvError};
///
/// let mut inbox = ReceivePort::new();
/// let port = inbox.send_port();
/// std::thread::spawn(move || {
///     for i in 0..3 {
///         port.send(i).unwrap();
///     }
/// });
/// let mut got = Vec::new();
/// while let Ok(i) = inbox.recv() {
///     got.push(i);
/// }
/// assert_eq!(got, [0, 1, 2]); // then the sender was dropped:
/// assert_eq!(inbox.recv(), Err(RecvError::Disconnected));
/// ```
pub struct ReceivePort<T: Send + 'static> {
    receiver: flume::Receiver<T>,
    /// The hold that keeps a fresh port open until its first wait.
    hold: Option<flume::Sender<T>>,
    weak: flume::WeakSender<T>,
    stream: Option<flume::r#async::RecvStream<'static, T>>,
}

impl<T: Send + 'static> ReceivePort<T> {
    /// A new, open port with an unbounded queue.
    pub fn new() -> Self {
        let (sender, receiver) = flume::unbounded();
        ReceivePort {
            receiver,
            weak: sender.downgrade(),
            hold: Some(sender),
            stream: None,
        }
    }

    /// A [`SendPort`] to this port (Dart's `receivePort.sendPort`).
    ///
    /// After the first wait, if every `SendPort` has already been dropped, the
    /// port is disconnected for good and the returned `SendPort` is closed:
    /// its sends fail with [`SendError`].
    pub fn send_port(&self) -> SendPort<T> {
        let sender = match &self.hold {
            Some(sender) => sender.clone(),
            None => self.weak.upgrade().unwrap_or_else(|| {
                // A closed port: a channel whose receiver is already gone.
                flume::unbounded().0
            }),
        };
        SendPort {
            target: Target::Channel(sender),
        }
    }

    /// Waits for the next message, blocking the thread.
    ///
    /// # Errors
    ///
    /// [`RecvError::Disconnected`] when every `SendPort` is gone and the
    /// queue is empty; [`RecvError::BlockingInIsolate`] when called on an
    /// isolate group's worker thread (use [`recv_async`](Self::recv_async)).
    pub fn recv(&mut self) -> Result<T, RecvError> {
        if worker::is_worker_thread() {
            return Err(RecvError::BlockingInIsolate);
        }
        self.hold = None;
        self.receiver.recv().map_err(|_| RecvError::Disconnected)
    }

    /// Waits at most `timeout` for the next message, blocking the thread.
    ///
    /// # Errors
    ///
    /// As [`recv`](Self::recv), plus [`RecvTimeoutError::Timeout`].
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::{ReceivePort, RecvTimeoutError};
    ///
    /// let mut inbox = ReceivePort::<u8>::new();
    /// let _keep_open = inbox.send_port();
    /// let waited = inbox.recv_timeout(Duration::from_millis(1));
    /// assert_eq!(waited, Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        if worker::is_worker_thread() {
            return Err(RecvTimeoutError::BlockingInIsolate);
        }
        self.hold = None;
        self.receiver.recv_timeout(timeout).map_err(|e| match e {
            flume::RecvTimeoutError::Timeout => RecvTimeoutError::Timeout,
            flume::RecvTimeoutError::Disconnected => RecvTimeoutError::Disconnected,
        })
    }

    /// Takes a message if one is queued. Never blocks, so it works anywhere,
    /// and it keeps a fresh port's hold.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is queued,
    /// [`TryRecvError::Disconnected`] when nothing can arrive any more.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        self.receiver.try_recv().map_err(|e| match e {
            flume::TryRecvError::Empty => TryRecvError::Empty,
            flume::TryRecvError::Disconnected => TryRecvError::Disconnected,
        })
    }

    /// Waits for the next message without blocking the thread: the form to
    /// use inside an isolate, and in any async runtime.
    ///
    /// # Errors
    ///
    /// [`RecvError::Disconnected`] when every `SendPort` is gone and the
    /// queue is empty.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::ReceivePort;
    ///
    /// let mut inbox = ReceivePort::new();
    /// inbox.send_port().send(5u8).unwrap();
    /// let got = futures::executor::block_on(inbox.recv_async());
    /// assert_eq!(got, Ok(5));
    /// ```
    pub async fn recv_async(&mut self) -> Result<T, RecvError> {
        self.hold = None;
        self.receiver
            .recv_async()
            .await
            .map_err(|_| RecvError::Disconnected)
    }

    /// Number of messages waiting.
    pub fn len(&self) -> usize {
        self.receiver.len()
    }

    /// Whether no message is waiting.
    pub fn is_empty(&self) -> bool {
        self.receiver.is_empty()
    }

    /// Closes the port (Dart's `close`): the messages still queued are
    /// dropped, and sends through its `SendPort`s fail from now on.
    pub fn close(self) {
        drop(self);
    }
}

impl<T: Send + 'static> Default for ReceivePort<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Stream for ReceivePort<T> {
    type Item = T;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = self.get_mut();
        this.hold = None;
        let stream = this
            .stream
            .get_or_insert_with(|| this.receiver.clone().into_stream());
        Pin::new(stream).poll_next(cx)
    }
}

impl<T: Send + 'static> fmt::Debug for ReceivePort<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivePort")
            .field("queued", &self.receiver.len())
            .field("disconnected", &self.receiver.is_disconnected())
            .finish()
    }
}
