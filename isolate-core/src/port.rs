//! Typed ports: [`SendPort`] and [`ReceivePort`] (Dart's, with a type).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;
use futures_core::Stream;
use parking_lot::{Mutex, MutexGuard};

use crate::error::{
    RecvError, RecvTimeoutError, ReplyError, SendError, SendTimeoutError, TryRecvError,
    TrySendError,
};
use crate::isolate::Isolate;
use crate::reply::{Reply, ReplySender};
use crate::scheduler::cell::Cell;
use crate::scheduler::mailbox::{Refused, RoomListener};
use crate::scheduler::worker;

/// The sending end of a port: cheap to clone, and [`Sendable`](crate::Sendable)
/// when `T` is, so it can be handed to other isolates.
///
/// A `SendPort` points either at an isolate's mailbox (what
/// [`IsolateGroup::spawn`](crate::IsolateGroup::spawn) returns) or at a
/// [`ReceivePort`]. When the receiver is gone, [`send`](SendPort::send)
/// returns the message in a [`SendError`] (Dart drops it silently).
///
/// Sending waits only for an isolate spawned with a bounded mailbox
/// ([`SpawnOptions::bounded`](crate::SpawnOptions::bounded)) that is full,
/// or for a port into another process whose flow-control window is full:
/// [`send`](SendPort::send) then waits for room on a plain thread,
/// [`send_async`](SendPort::send_async) waits without blocking, and
/// [`try_send`](SendPort::try_send) gives the message back at once. To an
/// unbounded mailbox or a `ReceivePort`, all three return at once.
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
    Channel(flume::Sender<Packet<T>>, Arc<Link>),
    Isolate(Arc<dyn Inbox<T>>),
}

/// One try of a send, with the registration to wait on when it found the
/// mailbox full.
enum Attempt<'a, T> {
    Sent,
    /// Refused for good: `Closed` or `Undeliverable`.
    Failed(SendError<T>),
    Wait(T, RoomListener<'a, T>),
}

/// What travels through a [`ReceivePort`]'s channel.
enum Packet<T> {
    Message(T),
    /// Sent by the last `SendPort` as it is dropped, so that a waiting
    /// receiver wakes up and sees that nobody can send any more.
    Wake,
}

/// What the `SendPort`s of one `ReceivePort` share with it.
#[derive(Debug, Default)]
struct Link {
    /// Counts the `SendPort`s. flume counts senders too, but the receive port
    /// keeps one of its own (to make new `SendPort`s), so flume's count never
    /// reaches zero; this one does.
    senders: AtomicUsize,
    /// Set when the `ReceivePort` is closed or dropped. Sends check it under
    /// the lock and the closing side drains the queue under it, so a message
    /// is either refused or drained: none is stranded in a dead queue (where
    /// an ask inside it would never resolve).
    closed: Mutex<bool>,
    /// The task awaiting the port, if one is. An async receive registers
    /// here and looks at the queue again, and a send wakes it after its
    /// push: one compare-and-swap on each side, where flume's own async
    /// receive allocates and queues a hook per wait (a `spawn_fn` ring hop
    /// went from about 210 to 115 ns; see docs/benchmarks.md). Blocking
    /// receives still wait in flume.
    waker: AtomicWaker,
}

/// Locks a port's `closed` flag: `parking_lot`'s, for the same reason as
/// the scheduler's locks (held for one flume push; see `crate::sync`).
fn lock(closed: &Mutex<bool>) -> MutexGuard<'_, bool> {
    closed.lock()
}

/// An isolate's mailbox as a port sees it, with the isolate's type erased.
pub(crate) trait Inbox<T>: Send + Sync + 'static {
    /// Queues a message; `Ok(true)` means the isolate must be scheduled.
    fn push(&self, message: T) -> Result<bool, TrySendError<T>>;
    /// Registers to be woken when a full bounded mailbox has room.
    fn listen(&self) -> Option<RoomListener<'_, T>>;
    fn schedule(self: Arc<Self>);
    fn add_sender(&self);
    /// `true` when the isolate must be scheduled (it lost its last port).
    fn remove_sender(&self) -> bool;
    fn is_closed(&self) -> bool;
    /// The isolate behind the mailbox; `None` for a proxy to another process.
    fn isolate_id(&self) -> Option<u64>;
    fn note_registered(&self, name: Arc<str>);
    /// For a proxy to a port in another process: the connection (by
    /// address) and the port's id on it.
    fn remote(&self) -> Option<(usize, u64)> {
        None
    }
    /// Runs a send that nobody waits for any more (an ask whose reply was
    /// dropped while its mailbox was full) to its end: by default in an
    /// isolate of the global group; an isolate's mailbox uses its own group.
    fn run_detached(&self, send: Pin<Box<dyn Future<Output = ()> + Send>>) {
        crate::group::IsolateGroup::global().spawn_future(send, Default::default());
    }
}

impl<I: Isolate> Inbox<I::Message> for Cell<I> {
    fn push(&self, message: I::Message) -> Result<bool, TrySendError<I::Message>> {
        Cell::push(self, message).map_err(|refused| match refused {
            Refused::Full(message) => TrySendError::Full(message),
            Refused::Closed(message) => TrySendError::Closed(message),
        })
    }

    fn listen(&self) -> Option<RoomListener<'_, I::Message>> {
        Cell::listen(self)
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

    fn isolate_id(&self) -> Option<u64> {
        Some(crate::scheduler::task::Task::id(self))
    }

    fn note_registered(&self, name: Arc<str>) {
        Cell::note_registered(self, name)
    }

    fn run_detached(&self, send: Pin<Box<dyn Future<Output = ()> + Send>>) {
        crate::group::run_detached(self.pool(), send);
    }
}

impl<T: Send + 'static> SendPort<T> {
    /// A port to an isolate's mailbox; the caller has counted it as a sender.
    pub(crate) fn from_inbox(inbox: Arc<dyn Inbox<T>>) -> Self {
        SendPort {
            target: Target::Isolate(inbox),
        }
    }

    /// Sends `message`, waiting for room if it goes to a full bounded
    /// mailbox, or to another process whose flow-control window is full.
    /// Returns at once in every other case.
    ///
    /// # Errors
    ///
    /// Gives the message back in a [`SendError`]:
    /// [`Closed`](SendError::Closed) when the receiving isolate has ended or
    /// the [`ReceivePort`] was dropped (also while waiting for room), and
    /// [`BlockingInIsolate`](SendError::BlockingInIsolate) when the mailbox
    /// is full and this is an isolate group's thread, where waiting would
    /// stall the group (use [`send_async`](Self::send_async) there), and
    /// [`Undeliverable`](SendError::Undeliverable) when the port leads to
    /// another process and the message could not be encoded.
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
    #[inline]
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        match self.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(message)) => Err(SendError::Closed(message)),
            Err(TrySendError::Undeliverable(message)) => Err(SendError::Undeliverable(message)),
            Err(TrySendError::Full(message)) => self.send_when_room(message),
        }
    }

    /// The rest of [`send`](Self::send), out of its inlined fast path.
    #[cold]
    #[inline(never)]
    fn send_when_room(&self, message: T) -> Result<(), SendError<T>> {
        self.send_until(message, None).map_err(|error| match error {
            SendTimeoutError::Closed(message) => SendError::Closed(message),
            SendTimeoutError::BlockingInIsolate(message) => SendError::BlockingInIsolate(message),
            SendTimeoutError::Undeliverable(message) => SendError::Undeliverable(message),
            SendTimeoutError::Timeout(_) => unreachable!("no deadline was given"),
        })
    }

    /// Sends `message` if it can go at once: never waits.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] when it goes to a full bounded mailbox,
    /// [`TrySendError::Closed`] when the receiver is gone,
    /// [`TrySendError::Undeliverable`] when the port leads to another
    /// process and the message could not be encoded; each gives the message
    /// back.
    #[inline]
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        match &self.target {
            Target::Channel(sender, link) => {
                let closed = lock(&link.closed);
                if *closed {
                    return Err(TrySendError::Closed(message));
                }
                let sent = sender.send(Packet::Message(message)).map_err(|error| {
                    match error.into_inner() {
                        Packet::Message(message) => TrySendError::Closed(message),
                        Packet::Wake => unreachable!("a message was sent"),
                    }
                });
                drop(closed);
                link.waker.wake();
                sent
            }
            Target::Isolate(inbox) => match inbox.push(message) {
                Ok(true) => {
                    inbox.clone().schedule();
                    Ok(())
                }
                Ok(false) => Ok(()),
                Err(error) => Err(error),
            },
        }
    }

    /// Sends `message`, waiting without blocking the thread for room in a
    /// full bounded mailbox: the form to use inside an isolate, and in any
    /// async runtime. Senders waiting on one mailbox are woken in turn, one
    /// per message the isolate takes; dropping the future gives up the wait
    /// (and the message) without costing the others their turn.
    ///
    /// # Errors
    ///
    /// [`SendError::Closed`] with the message when the receiver is gone,
    /// before or during the wait; [`SendError::Undeliverable`] when the port
    /// leads to another process and the message could not be encoded.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::ReceivePort;
    ///
    /// let mut inbox = ReceivePort::new();
    /// let port = inbox.send_port();
    /// futures::executor::block_on(port.send_async("hi")).unwrap();
    /// assert_eq!(inbox.recv(), Ok("hi"));
    /// ```
    pub async fn send_async(&self, mut message: T) -> Result<(), SendError<T>> {
        loop {
            match self.attempt(message) {
                Attempt::Sent => return Ok(()),
                Attempt::Failed(error) => return Err(error),
                Attempt::Wait(given_back, room) => {
                    message = given_back;
                    room.await;
                }
            }
        }
    }

    /// As [`send`](Self::send), waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// As [`send`](Self::send), plus [`SendTimeoutError::Timeout`] when the
    /// mailbox stayed full; each gives the message back.
    pub fn send_timeout(&self, message: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        // A timeout too long for an `Instant` is no deadline at all.
        self.send_until(message, Instant::now().checked_add(timeout))
    }

    /// The blocking send, with an optional deadline.
    fn send_until(
        &self,
        mut message: T,
        deadline: Option<Instant>,
    ) -> Result<(), SendTimeoutError<T>> {
        loop {
            match self.attempt(message) {
                Attempt::Sent => return Ok(()),
                Attempt::Failed(SendError::Undeliverable(given_back)) => {
                    return Err(SendTimeoutError::Undeliverable(given_back));
                }
                Attempt::Failed(error) => return Err(SendTimeoutError::Closed(error.into_inner())),
                Attempt::Wait(given_back, room) => {
                    if worker::must_not_block() {
                        return Err(SendTimeoutError::BlockingInIsolate(given_back));
                    }
                    message = given_back;
                    if !room.wait(deadline) {
                        // One last look: the room may have come with the deadline.
                        return self.try_send(message).map_err(|error| match error {
                            TrySendError::Full(message) => SendTimeoutError::Timeout(message),
                            TrySendError::Closed(message) => SendTimeoutError::Closed(message),
                            TrySendError::Undeliverable(message) => {
                                SendTimeoutError::Undeliverable(message)
                            }
                        });
                    }
                }
            }
        }
    }

    /// Tries to send; when the mailbox is full, registers for room and tries
    /// once more (a pop between the two wakes the registration), so that a
    /// `Wait` can never miss its wake-up.
    fn attempt(&self, message: T) -> Attempt<'_, T> {
        let message = match self.try_send(message) {
            Ok(()) => return Attempt::Sent,
            Err(TrySendError::Full(message)) => message,
            Err(error) => return Attempt::Failed(refusal(error)),
        };
        let Target::Isolate(inbox) = &self.target else {
            unreachable!("only an isolate's mailbox or a proxy is ever full")
        };
        let Some(room) = inbox.listen() else {
            unreachable!("only an isolate's mailbox or a proxy is ever full")
        };
        match self.try_send(message) {
            Ok(()) => Attempt::Sent,
            Err(TrySendError::Full(message)) => Attempt::Wait(message, room),
            Err(error) => Attempt::Failed(refusal(error)),
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
    /// `ask` itself never waits. To a full bounded mailbox, the request goes
    /// out when the reply is waited for or awaited, and that wait includes
    /// the wait for room: `wait_timeout` bounds both.
    ///
    /// **A request is sent whether or not its reply is awaited**, as a tell
    /// is: dropping a `Reply` (or a wait that times out or is refused) gives
    /// up the answer, not the request. To a full bounded mailbox, a dropped
    /// reply's request waits for room in the background, in an isolate of
    /// the mailbox's group, and goes out in its turn.
    ///
    /// An ask to the isolate whose handler is running on this thread fails
    /// at once with [`ReplyError::AskedItself`](crate::ReplyError::AskedItself),
    /// unsent: it could be answered only after the handler that would wait
    /// for it has returned. (Two isolates that ask each other and wait are a
    /// cycle this check cannot see: each waits for the other for ever, as
    /// two threads that join each other do. Bound such waits with a timeout,
    /// or make one direction a tell.)
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
        if self.is_own_isolate() {
            reply_to.fail(ReplyError::AskedItself);
            return reply;
        }
        // On failure the request, and the ReplySender in it, is dropped, which
        // resolves `reply` with an error.
        let request = match self.try_send(make(reply_to)) {
            Err(TrySendError::Full(request)) => request,
            Ok(()) | Err(_) => return reply,
        };
        let Target::Isolate(inbox) = &self.target else {
            unreachable!("only an isolate's mailbox or a proxy is ever full")
        };
        // A reply dropped before its request went in hands the send to the
        // mailbox's own group.
        let inbox = inbox.clone();
        let port = self.clone();
        reply.after(
            Box::pin(async move {
                let _ = port.send_async(request).await;
            }),
            Box::new(move |send| inbox.run_detached(send)),
        )
    }

    /// Whether this port reaches the isolate whose run this thread is in.
    /// The thread-local first: on a plain thread it is all an ask pays.
    fn is_own_isolate(&self) -> bool {
        let Some(current) = crate::handle::current_id() else {
            return false;
        };
        match &self.target {
            Target::Isolate(inbox) => inbox.isolate_id() == Some(current),
            Target::Channel(..) => false,
        }
    }

    /// The id of the isolate this port reaches, if it reaches one.
    pub(crate) fn isolate_id(&self) -> Option<u64> {
        match &self.target {
            Target::Channel(..) => None,
            Target::Isolate(inbox) => inbox.isolate_id(),
        }
    }

    /// For a proxy to a port in another process: the connection (by
    /// address) and the port's id on it.
    #[cfg_attr(not(all(unix, feature = "process")), allow(dead_code))]
    pub(crate) fn remote(&self) -> Option<(usize, u64)> {
        match &self.target {
            Target::Channel(..) => None,
            Target::Isolate(inbox) => inbox.remote(),
        }
    }

    /// Tells the isolate behind this port that it is registered as `name`,
    /// so that the name goes when the isolate ends.
    pub(crate) fn note_registered(&self, name: Arc<str>) {
        if let Target::Isolate(inbox) = &self.target {
            inbox.note_registered(name);
        }
    }

    /// Identifies the receiver: equal for ports that reach the same one.
    pub(crate) fn id(&self) -> usize {
        match &self.target {
            Target::Channel(_, link) => Arc::as_ptr(link) as *const () as usize,
            Target::Isolate(inbox) => Arc::as_ptr(inbox) as *const () as usize,
        }
    }

    /// Whether the receiver is known to be gone, so that a send would fail.
    ///
    /// `false` is only a snapshot: the receiver may go away at any moment.
    pub fn is_closed(&self) -> bool {
        match &self.target {
            Target::Channel(sender, _) => sender.is_disconnected(),
            Target::Isolate(inbox) => inbox.is_closed(),
        }
    }
}

/// A `try_send` error that waiting cannot cure, as a `SendError`.
fn refusal<T>(error: TrySendError<T>) -> SendError<T> {
    match error {
        TrySendError::Undeliverable(message) => SendError::Undeliverable(message),
        TrySendError::Closed(message) | TrySendError::Full(message) => SendError::Closed(message),
    }
}

impl<T: Send + 'static> Clone for SendPort<T> {
    fn clone(&self) -> Self {
        let target = match &self.target {
            Target::Channel(sender, link) => {
                link.senders.fetch_add(1, Ordering::Relaxed);
                Target::Channel(sender.clone(), link.clone())
            }
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
        match &self.target {
            Target::Channel(sender, link) => {
                if link.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
                    // The receiver may be gone already; then nobody waits.
                    let _ = sender.send(Packet::Wake);
                    link.waker.wake();
                }
            }
            Target::Isolate(inbox) => {
                if inbox.remove_sender() {
                    inbox.clone().schedule();
                }
            }
        }
    }
}

impl<T: Send + 'static> PartialEq for SendPort<T> {
    fn eq(&self, other: &Self) -> bool {
        match (&self.target, &other.target) {
            (Target::Channel(a, _), Target::Channel(b, _)) => a.same_channel(b),
            (Target::Isolate(a), Target::Isolate(b)) => {
                std::ptr::addr_eq(Arc::as_ptr(a), Arc::as_ptr(b))
            }
            _ => false,
        }
    }
}

impl<T: Send + 'static> Eq for SendPort<T> {}

/// Hashes the receiver, so that ports are map keys (as Dart's are): equal
/// ports, clones or not, hash alike. (A port that came from another
/// process is a proxy made as it arrived: the same remote port received
/// twice is two proxies, unequal, and two keys.)
///
/// # Examples
///
/// ```
/// use std::collections::HashSet;
/// use isolate_core::ReceivePort;
///
/// let (a, b) = (ReceivePort::<u8>::new(), ReceivePort::<u8>::new());
/// let ports: HashSet<_> = [a.send_port(), a.send_port(), b.send_port()].into();
/// assert_eq!(ports.len(), 2);
/// assert!(ports.contains(&a.send_port()));
/// ```
impl<T: Send + 'static> std::hash::Hash for SendPort<T> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
    }
}

impl<T: Send + 'static> fmt::Debug for SendPort<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.target {
            Target::Channel(..) => "ReceivePort",
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
/// # A wait never hangs on a port nobody can send to
///
/// A wait ends with [`RecvError::Disconnected`] as soon as the queue is
/// empty and no [`SendPort`] to this port exists, whether none was ever made
/// or the last one was just dropped (Dart's `ReceivePort` would wait
/// forever). [`send_port`](ReceivePort::send_port) works at any time, so a
/// port can be reused after that.
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
    receiver: flume::Receiver<Packet<T>>,
    /// Kept to make new `SendPort`s; never counted in `link`.
    sender: flume::Sender<Packet<T>>,
    link: Arc<Link>,
}

/// One step of a receive: what the queue and the sender count say now.
enum Step<T> {
    Message(T),
    Disconnected,
    /// Nothing yet, and someone may still send: wait.
    Wait,
}

impl<T: Send + 'static> ReceivePort<T> {
    /// A new, open port with an unbounded queue.
    pub fn new() -> Self {
        let (sender, receiver) = flume::unbounded();
        ReceivePort {
            receiver,
            sender,
            link: Arc::default(),
        }
    }

    /// A [`SendPort`] to this port (Dart's `receivePort.sendPort`).
    pub fn send_port(&self) -> SendPort<T> {
        self.link.senders.fetch_add(1, Ordering::Relaxed);
        SendPort {
            target: Target::Channel(self.sender.clone(), self.link.clone()),
        }
    }

    /// Looks at the queue without waiting, skipping stale wake-ups.
    fn step(&self) -> Step<T> {
        loop {
            match self.receiver.try_recv() {
                Ok(Packet::Message(message)) => return Step::Message(message),
                Ok(Packet::Wake) => continue,
                Err(_) => {}
            }
            if self.link.senders.load(Ordering::Acquire) != 0 {
                return Step::Wait;
            }
            // Every sender pushed its messages before it let go of its port,
            // so once the count reads zero, one more look sees them all.
            match self.receiver.try_recv() {
                Ok(Packet::Message(message)) => return Step::Message(message),
                Ok(Packet::Wake) => continue,
                Err(_) => return Step::Disconnected,
            }
        }
    }

    /// Waits for the next message, blocking the thread.
    ///
    /// # Errors
    ///
    /// [`RecvError::Disconnected`] when the queue is empty and no `SendPort`
    /// exists; [`RecvError::BlockingInIsolate`] when called on an isolate
    /// group's worker thread (use [`recv_async`](Self::recv_async) there).
    pub fn recv(&mut self) -> Result<T, RecvError> {
        if worker::must_not_block() {
            return Err(RecvError::BlockingInIsolate);
        }
        loop {
            match self.step() {
                Step::Message(message) => return Ok(message),
                Step::Disconnected => return Err(RecvError::Disconnected),
                Step::Wait => {
                    if let Ok(Packet::Message(message)) = self.receiver.recv() {
                        return Ok(message);
                    }
                }
            }
        }
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
    /// use std::time::{Duration, Instant};
    /// use isolate_core::{ReceivePort, RecvTimeoutError};
    ///
    /// let mut inbox = ReceivePort::<u8>::new();
    /// let _keep_open = inbox.send_port();
    /// let waited = inbox.recv_timeout(Duration::from_millis(1));
    /// assert_eq!(waited, Err(RecvTimeoutError::Timeout));
    /// ```
    pub fn recv_timeout(&mut self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        if worker::must_not_block() {
            return Err(RecvTimeoutError::BlockingInIsolate);
        }
        // A timeout too long for an `Instant` is no deadline at all.
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return self.recv().map_err(|error| match error {
                RecvError::Disconnected => RecvTimeoutError::Disconnected,
                RecvError::BlockingInIsolate => RecvTimeoutError::BlockingInIsolate,
            });
        };
        loop {
            match self.step() {
                Step::Message(message) => return Ok(message),
                Step::Disconnected => return Err(RecvTimeoutError::Disconnected),
                Step::Wait => match self.receiver.recv_deadline(deadline) {
                    Ok(Packet::Message(message)) => return Ok(message),
                    Ok(Packet::Wake) => {}
                    Err(flume::RecvTimeoutError::Timeout) => {
                        return Err(RecvTimeoutError::Timeout);
                    }
                    Err(flume::RecvTimeoutError::Disconnected) => {
                        return Err(RecvTimeoutError::Disconnected);
                    }
                },
            }
        }
    }

    /// Takes a message if one is queued. Never blocks, so it works anywhere.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] when nothing is queued,
    /// [`TryRecvError::Disconnected`] when nothing is queued and no
    /// `SendPort` exists.
    pub fn try_recv(&mut self) -> Result<T, TryRecvError> {
        match self.step() {
            Step::Message(message) => Ok(message),
            Step::Disconnected => Err(TryRecvError::Disconnected),
            Step::Wait => Err(TryRecvError::Empty),
        }
    }

    /// Waits for the next message without blocking the thread: the form to
    /// use inside an isolate, and in any async runtime.
    ///
    /// # Errors
    ///
    /// [`RecvError::Disconnected`] when the queue is empty and no `SendPort`
    /// exists.
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
        std::future::poll_fn(|cx| self.poll_recv(cx)).await
    }

    /// The next message if there is one; otherwise registers `cx`'s waker
    /// and looks once more, so that a send between the two is not missed.
    ///
    /// Inside an isolate, a kill, pause or ping for it (or a run that has
    /// taken its budget of messages) comes first: the poll wakes the
    /// isolate and returns `Pending`, so that its run serves the controls
    /// before the next message is handed out.
    fn poll_recv(&self, cx: &mut Context<'_>) -> Poll<Result<T, RecvError>> {
        if crate::handle::receive_must_yield(cx.waker()) {
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let step = match self.step() {
            Step::Wait => {
                self.link.waker.register(cx.waker());
                self.step()
            }
            step => step,
        };
        match step {
            Step::Message(message) => {
                crate::handle::took_message();
                Poll::Ready(Ok(message))
            }
            Step::Disconnected => Poll::Ready(Err(RecvError::Disconnected)),
            Step::Wait => Poll::Pending,
        }
    }

    /// Closes the port (Dart's `close`): the messages still queued are
    /// dropped (failing any asks among them), and sends through its
    /// `SendPort`s fail from now on. Dropping the port does the same.
    pub fn close(self) {
        drop(self);
    }
}

impl<T: Send + 'static> Drop for ReceivePort<T> {
    fn drop(&mut self) {
        let queued: Vec<Packet<T>> = {
            let mut closed = lock(&self.link.closed);
            *closed = true;
            self.receiver.try_iter().collect()
        };
        // Dropped outside the lock: a message's destructor may use a
        // `SendPort` to this very port.
        drop(queued);
    }
}

impl<T: Send + 'static> Default for ReceivePort<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Send + 'static> Stream for ReceivePort<T> {
    type Item = T;

    /// Yields messages until the queue is empty and no `SendPort` exists.
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        self.poll_recv(cx).map(Result::ok)
    }
}

impl<T: Send + 'static> fmt::Debug for ReceivePort<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReceivePort")
            .field("send_ports", &self.link.senders.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}
