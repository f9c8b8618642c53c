//! The errors of the public API. Each `Display` says what happened and what
//! to do about it; errors that fail to deliver a value give it back.

use std::backtrace::Backtrace;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

const BLOCKING_HINT: &str = "a blocking wait was called on an isolate group's worker or timer thread, \
     where it would stall one of the group's few threads and can deadlock the group: \
     `.await` instead (use an async handler, `recv_async`, or `run_async`)";

/// A message could not be delivered by [`SendPort::send`](crate::SendPort::send)
/// or [`send_async`](crate::SendPort::send_async). The message is given back.
///
/// Dart drops an undeliverable message silently; here the sender always
/// knows, and keeps the message.
///
/// # Examples
///
/// ```
/// use isolate_core::{ReceivePort, SendError};
///
/// let inbox = ReceivePort::new();
/// let port = inbox.send_port();
/// inbox.close();
/// let error = port.send(String::from("kept")).unwrap_err();
/// assert!(matches!(error, SendError::Closed(_)));
/// assert_eq!(error.into_inner(), "kept");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendError<T> {
    /// The receiving isolate has ended, or its
    /// [`ReceivePort`](crate::ReceivePort) was dropped.
    Closed(T),
    /// The receiving isolate's mailbox is bounded and full, and waiting for
    /// room would block an isolate group's thread. Use
    /// [`send_async`](crate::SendPort::send_async) (or a port's `_async`
    /// method) there, or [`try_send`](crate::SendPort::try_send).
    BlockingInIsolate(T),
    /// The message could not be encoded for the port's process (another
    /// process, see `spawn_uri`): a type whose serde impl failed, or a
    /// message larger than the connection's frame limit. The port still
    /// works for other messages; the error listeners were told why.
    Undeliverable(T),
}

impl<T> SendError<T> {
    /// The message that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            SendError::Closed(message)
            | SendError::BlockingInIsolate(message)
            | SendError::Undeliverable(message) => message,
        }
    }

    /// The same error around another message: how a typed port gives back
    /// a handler's arguments rather than the message that carried them.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> SendError<U> {
        match self {
            SendError::Closed(message) => SendError::Closed(f(message)),
            SendError::BlockingInIsolate(message) => SendError::BlockingInIsolate(f(message)),
            SendError::Undeliverable(message) => SendError::Undeliverable(f(message)),
        }
    }

    /// Whether the receiver is gone, so that every later send fails too.
    pub fn is_closed(&self) -> bool {
        matches!(self, SendError::Closed(_))
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str("Closed(..)"),
            SendError::BlockingInIsolate(_) => f.write_str("BlockingInIsolate(..)"),
            SendError::Undeliverable(_) => f.write_str("Undeliverable(..)"),
        }
    }
}

const CLOSED: &str = "the port is closed: its isolate has ended or its ReceivePort was dropped; \
     the message is returned in the error";

const FULL_BLOCKING: &str = "the isolate's bounded mailbox is full, and waiting for room here \
     would block an isolate group's thread: use `send_async` (a typed port's `_async` method) \
     or `try_send`; the message is returned in the error";

const UNDELIVERABLE: &str = "the message could not be encoded for the other process (its serde \
     impl failed, or it is larger than the connection accepts; the error listeners have the \
     details); the message is returned in the error";

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendError::Closed(_) => f.write_str(CLOSED),
            SendError::BlockingInIsolate(_) => f.write_str(FULL_BLOCKING),
            SendError::Undeliverable(_) => f.write_str(UNDELIVERABLE),
        }
    }
}

impl<T> std::error::Error for SendError<T> {}

/// A message could not be delivered by
/// [`SendPort::try_send`](crate::SendPort::try_send), which never waits. The
/// message is given back.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
/// use isolate_core::{SpawnOptions, TrySendError};
///
/// async fn stuck(_: ()) { std::future::pending::<()>().await }
///
/// let group = IsolateGroup::new();
/// let mut inbox = ReceivePort::<u8>::new();
/// # let _ = &mut inbox;
/// // An isolate that never reads, with room for one message.
/// let (port, _handle) = group.spawn_with(
///     Echo,
///     SpawnOptions::new().bounded(1).paused(true),
/// );
/// assert!(port.try_echo(1).is_ok());
/// let error = port.try_echo(2).unwrap_err();
/// assert!(matches!(error, TrySendError::Full(2)));
///
/// #[isolate]
/// struct Echo;
///
/// #[isolate]
/// impl Echo {
///     #[message]
///     fn echo(&mut self, _n: u8) {}
/// }
/// # let _ = stuck;
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// The isolate's mailbox is bounded and full, or the port leads to
    /// another process and its flow-control window is full: try later, or
    /// wait for room with [`send`](crate::SendPort::send) or
    /// [`send_async`](crate::SendPort::send_async).
    Full(T),
    /// The receiving isolate has ended, or its
    /// [`ReceivePort`](crate::ReceivePort) was dropped.
    Closed(T),
    /// The message could not be encoded for the port's process (another
    /// process, see `spawn_uri`): a type whose serde impl failed, or a
    /// message larger than the connection's frame limit. The port still
    /// works for other messages; the error listeners were told why.
    Undeliverable(T),
}

impl<T> TrySendError<T> {
    /// The message that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(message)
            | TrySendError::Closed(message)
            | TrySendError::Undeliverable(message) => message,
        }
    }

    /// The same error around another message (see [`SendError::map`]).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> TrySendError<U> {
        match self {
            TrySendError::Full(message) => TrySendError::Full(f(message)),
            TrySendError::Closed(message) => TrySendError::Closed(f(message)),
            TrySendError::Undeliverable(message) => TrySendError::Undeliverable(f(message)),
        }
    }

    /// Whether the mailbox was full (rather than closed).
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }

    /// Whether the receiver is gone, so that every later send fails too.
    pub fn is_closed(&self) -> bool {
        matches!(self, TrySendError::Closed(_))
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Closed(_) => f.write_str("Closed(..)"),
            TrySendError::Undeliverable(_) => f.write_str("Undeliverable(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str(
                "the isolate's bounded mailbox (or the port's flow-control window) is full: \
                 try again later, or wait for room with `send` or `send_async`; the message \
                 is returned in the error",
            ),
            TrySendError::Closed(_) => f.write_str(CLOSED),
            TrySendError::Undeliverable(_) => f.write_str(UNDELIVERABLE),
        }
    }
}

impl<T> std::error::Error for TrySendError<T> {}

/// A message could not be delivered by
/// [`SendPort::send_timeout`](crate::SendPort::send_timeout). The message is
/// given back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// The bounded mailbox stayed full until the timeout.
    Timeout(T),
    /// The receiving isolate has ended, or its
    /// [`ReceivePort`](crate::ReceivePort) was dropped.
    Closed(T),
    /// As [`SendError::BlockingInIsolate`].
    BlockingInIsolate(T),
    /// As [`SendError::Undeliverable`].
    Undeliverable(T),
}

impl<T> SendTimeoutError<T> {
    /// The message that was not delivered.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(message)
            | SendTimeoutError::Closed(message)
            | SendTimeoutError::BlockingInIsolate(message)
            | SendTimeoutError::Undeliverable(message) => message,
        }
    }

    /// The same error around another message (see [`SendError::map`]).
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> SendTimeoutError<U> {
        match self {
            SendTimeoutError::Timeout(message) => SendTimeoutError::Timeout(f(message)),
            SendTimeoutError::Closed(message) => SendTimeoutError::Closed(f(message)),
            SendTimeoutError::BlockingInIsolate(message) => {
                SendTimeoutError::BlockingInIsolate(f(message))
            }
            SendTimeoutError::Undeliverable(message) => SendTimeoutError::Undeliverable(f(message)),
        }
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str("Timeout(..)"),
            SendTimeoutError::Closed(_) => f.write_str("Closed(..)"),
            SendTimeoutError::BlockingInIsolate(_) => f.write_str("BlockingInIsolate(..)"),
            SendTimeoutError::Undeliverable(_) => f.write_str("Undeliverable(..)"),
        }
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendTimeoutError::Timeout(_) => f.write_str(
                "the isolate's bounded mailbox stayed full until the timeout; \
                 the message is returned in the error",
            ),
            SendTimeoutError::Closed(_) => f.write_str(CLOSED),
            SendTimeoutError::BlockingInIsolate(_) => f.write_str(FULL_BLOCKING),
            SendTimeoutError::Undeliverable(_) => f.write_str(UNDELIVERABLE),
        }
    }
}

impl<T> std::error::Error for SendTimeoutError<T> {}

/// Why [`ReceivePort::recv`](crate::ReceivePort::recv) or
/// [`recv_async`](crate::ReceivePort::recv_async) returned without a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvError {
    /// Every [`SendPort`](crate::SendPort) to this port is gone and the queue
    /// is empty: no message can ever arrive.
    Disconnected,
    /// `recv` was called on a worker thread of an isolate group.
    BlockingInIsolate,
}

impl fmt::Display for RecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvError::Disconnected => f.write_str(
                "the receive port is disconnected: every SendPort to it was dropped, \
                 so no message can arrive",
            ),
            RecvError::BlockingInIsolate => f.write_str(BLOCKING_HINT),
        }
    }
}

impl std::error::Error for RecvError {}

/// Why [`ReceivePort::recv_timeout`](crate::ReceivePort::recv_timeout)
/// returned without a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RecvTimeoutError {
    /// No message arrived in time.
    Timeout,
    /// Every [`SendPort`](crate::SendPort) to this port is gone.
    Disconnected,
    /// Called on a worker thread of an isolate group.
    BlockingInIsolate,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RecvTimeoutError::Timeout => f.write_str("no message arrived before the timeout"),
            RecvTimeoutError::Disconnected => RecvError::Disconnected.fmt(f),
            RecvTimeoutError::BlockingInIsolate => f.write_str(BLOCKING_HINT),
        }
    }
}

impl std::error::Error for RecvTimeoutError {}

/// Why [`ReceivePort::try_recv`](crate::ReceivePort::try_recv) returned
/// without a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TryRecvError {
    /// No message is queued now.
    Empty,
    /// Every [`SendPort`](crate::SendPort) to this port is gone.
    Disconnected,
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("no message is queued on the receive port"),
            TryRecvError::Disconnected => RecvError::Disconnected.fmt(f),
        }
    }
}

impl std::error::Error for TryRecvError {}

/// Why a [`Reply`](crate::Reply) resolved without a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyError {
    /// The request was dropped before it was answered: the isolate ended,
    /// panicked, was killed, or its group was dropped (or its handler dropped
    /// the [`ReplySender`](crate::ReplySender) without sending).
    Dropped,
    /// [`Reply::wait_timeout`](crate::Reply::wait_timeout) ran out of time.
    Timeout(Duration),
    /// [`Reply::wait`](crate::Reply::wait) was called on a worker thread of an
    /// isolate group.
    BlockingInIsolate,
    /// The ask went through a network transport (such as `isolate-nats`)
    /// and nobody listens at the port's address: the isolate behind it, or
    /// its whole process, is gone. The request was not handled.
    NoResponder,
    /// The ask went through a network transport, and the connection to it
    /// was lost before the answer came: the request may or may not have
    /// been handled.
    Disconnected,
    /// The ask went through a network transport, and the request or its
    /// answer could not be decoded at the other end (the two programs
    /// disagree on the types). No handler saw a garbled value.
    Undeliverable,
    /// The ask was made to the isolate whose handler was running: its
    /// answer could come only after that handler returned, so awaiting it
    /// there would wait for ever. The request was not sent.
    AskedItself,
}

impl fmt::Display for ReplyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReplyError::Dropped => f.write_str(
                "no reply: the isolate ended, panicked, was killed or lost its group \
                 before it answered this request",
            ),
            ReplyError::Timeout(after) => write!(f, "no reply within {after:?}"),
            ReplyError::BlockingInIsolate => f.write_str(BLOCKING_HINT),
            ReplyError::NoResponder => f.write_str(
                "no reply: nobody listens at this port's address any more (it was \
                 unregistered, or its isolate or its process has gone); look the name up again",
            ),
            ReplyError::Disconnected => f.write_str(
                "no reply: the connection to the messaging server was lost before the answer \
                 came; the request may or may not have been handled",
            ),
            ReplyError::AskedItself => f.write_str(
                "no reply: an isolate asked itself, and the answer could only come after the \
                 handler that asked had returned, so the ask was refused; call the method \
                 directly (`self.method(..)`), or send yourself a tell",
            ),
            ReplyError::Undeliverable => f.write_str(
                "no reply: the request or its answer could not be decoded at the other end \
                 (are both programs built from the same source?); the error listeners have \
                 the details",
            ),
        }
    }
}

impl std::error::Error for ReplyError {}

/// What went wrong in another isolate: the error of
/// [`run`](crate::run) and its variants (Dart's `RemoteError`).
///
/// # Examples
///
/// ```
/// use isolate_core::RemoteErrorKind;
///
/// let error = isolate_core::run(|| -> u8 { panic!("no such file") }).unwrap_err();
/// assert_eq!(error.kind(), RemoteErrorKind::Panicked);
/// assert_eq!(error.to_string(), "the isolate panicked: no such file");
/// ```
#[derive(Clone)]
pub struct RemoteError {
    kind: RemoteErrorKind,
    message: String,
    backtrace: Option<Arc<Backtrace>>,
}

/// Errors are equal when their kind and message are: whether a backtrace
/// was taken depends on the environment (`RUST_BACKTRACE`), not on what
/// went wrong.
impl PartialEq for RemoteError {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind && self.message == other.message
    }
}

impl Eq for RemoteError {}

/// The kind and message; a backtrace is printed by
/// [`backtrace`](RemoteError::backtrace) on request, not by `unwrap`.
impl fmt::Debug for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut debug = f.debug_struct("RemoteError");
        debug
            .field("kind", &self.kind)
            .field("message", &self.message);
        if self.backtrace.is_some() {
            debug.field("backtrace", &"(captured)");
        }
        debug.finish()
    }
}

/// The kind of a [`RemoteError`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteErrorKind {
    /// The computation panicked; the message is the panic's.
    Panicked,
    /// The isolate stopped before it produced a result (its group shut down).
    Stopped,
    /// A blocking form ([`run`](crate::run), [`run_with`](crate::run_with))
    /// was called on a worker thread of an isolate group.
    BlockingInIsolate,
    /// A message between processes could not be encoded, decoded or
    /// delivered: the message is lost, and the message says why.
    Undeliverable,
    /// A child process (see `spawn_uri`) ended other than by a clean exit
    /// or a kill from its parent: the message gives its exit code or signal.
    Exited,
    /// A transport (such as `isolate-nats`) reports something other than a
    /// lost message: the message says what (a name taken over by another
    /// member, say).
    Transport,
}

impl RemoteError {
    /// An error of `kind`, saying `message`: for transports (such as
    /// `isolate-nats`) that report to error listeners as `spawn_uri` does.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::{RemoteError, RemoteErrorKind};
    ///
    /// let error = RemoteError::new(RemoteErrorKind::Undeliverable, "garbled");
    /// assert_eq!(error.message(), "garbled");
    /// ```
    pub fn new(kind: RemoteErrorKind, message: impl Into<String>) -> Self {
        RemoteError {
            kind,
            message: message.into(),
            backtrace: None,
        }
    }

    /// A panic's error: its message, and the backtrace of where it
    /// happened if one was captured (see [`backtrace`](Self::backtrace)).
    pub(crate) fn panicked(mut message: String) -> Self {
        // The one misuse of tokio the runtime can see: a tokio resource made
        // in an isolate of a group that does not run in a tokio context.
        if message.contains("must be called from the context of a Tokio") {
            message.push_str(TOKIO_HINT);
        }
        RemoteError {
            kind: RemoteErrorKind::Panicked,
            message,
            backtrace: crate::panic_trace::take().map(Arc::new),
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> RemoteErrorKind {
        self.kind
    }

    /// The panic message, or a description of the failure.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Where a panic happened (the `stack` of Dart's `[error, stack]`
    /// pair): print it with `{}`, which looks its symbols up then, not at
    /// the panic. Present when the process asked for
    /// backtraces: `RUST_BACKTRACE` (or `RUST_LIB_BACKTRACE`) set to
    /// anything but `0` when it first starts an isolate group or a
    /// [`blocking`](crate::blocking()) call. `None` otherwise, for every
    /// other kind of error, and for a panic in a child process
    /// (`spawn_uri`), which reaches the parent as text.
    ///
    /// The backtrace is taken by a panic hook that the runtime installs in
    /// front of the one in place (which still runs, and still prints). A
    /// hook set later with `std::panic::set_hook` replaces it: then panics
    /// carry no backtrace.
    pub fn backtrace(&self) -> Option<&Backtrace> {
        self.backtrace.as_deref()
    }
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RemoteErrorKind::Panicked => write!(f, "the isolate panicked: {}", self.message),
            RemoteErrorKind::Stopped => write!(f, "the isolate stopped: {}", self.message),
            RemoteErrorKind::BlockingInIsolate => f.write_str(BLOCKING_HINT),
            RemoteErrorKind::Undeliverable => {
                write!(f, "a message between processes was lost: {}", self.message)
            }
            RemoteErrorKind::Exited => write!(f, "the child process ended: {}", self.message),
            RemoteErrorKind::Transport => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for RemoteError {}

/// Appended to tokio's "no reactor" panic in an isolate.
const TOKIO_HINT: &str = " (this isolate's group does not run in a tokio runtime: build it with \
     `IsolateGroup::builder().tokio()`, or `tokio_handle(handle)`, with isolate-core's `tokio` \
     feature)";

/// Why [`IsolateGroupBuilder::build`](crate::IsolateGroupBuilder::build)
/// failed.
///
/// # Examples
///
/// ```
/// use isolate_core::{BuildError, IsolateGroup};
///
/// let error = IsolateGroup::builder().workers(0).build().unwrap_err();
/// assert!(matches!(error, BuildError::ZeroWorkers));
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum BuildError {
    /// `workers(0)`: a group needs at least one worker thread.
    ZeroWorkers,
    /// The operating system refused to start a worker thread.
    Spawn(std::io::Error),
    /// The tokio runtime that [`tokio`](crate::IsolateGroupBuilder) asked
    /// the group to start could not be built (with the `tokio` feature).
    Runtime(std::io::Error),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::ZeroWorkers => {
                f.write_str("an isolate group needs at least one worker: use workers(1) or more")
            }
            BuildError::Spawn(error) => write!(
                f,
                "could not start a worker thread ({error}): lower `workers` or the stack size"
            ),
            BuildError::Runtime(error) => write!(
                f,
                "could not start the group's tokio runtime ({error}): pass one of your own \
                 with `tokio_handle`"
            ),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(error) | BuildError::Runtime(error) => Some(error),
            BuildError::ZeroWorkers => None,
        }
    }
}

/// Why [`exit`](crate::exit) returned instead of ending the isolate. The
/// message is given back.
#[derive(PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitError<T> {
    /// `exit` was called outside an isolate (on a plain thread).
    NotInIsolate(T),
    /// The port is closed, so the last message cannot be delivered.
    Closed(T),
    /// The port leads to a full bounded mailbox, and `exit` does not wait:
    /// `port.send_async(message).await` first, then return.
    Full(T),
    /// As [`SendError::Undeliverable`]: the message could not be encoded
    /// for the port's process.
    Undeliverable(T),
}

impl<T> ExitError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            ExitError::NotInIsolate(message)
            | ExitError::Closed(message)
            | ExitError::Full(message)
            | ExitError::Undeliverable(message) => message,
        }
    }
}

impl<T> fmt::Debug for ExitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitError::NotInIsolate(_) => f.write_str("ExitError::NotInIsolate(..)"),
            ExitError::Closed(_) => f.write_str("ExitError::Closed(..)"),
            ExitError::Full(_) => f.write_str("ExitError::Full(..)"),
            ExitError::Undeliverable(_) => f.write_str("ExitError::Undeliverable(..)"),
        }
    }
}

impl<T> fmt::Display for ExitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitError::NotInIsolate(_) => f.write_str(
                "exit was called outside an isolate; it only ends the isolate it runs in \
                 (return from your function instead)",
            ),
            ExitError::Closed(_) => f.write_str(CLOSED),
            ExitError::Undeliverable(_) => f.write_str(UNDELIVERABLE),
            ExitError::Full(_) => f.write_str(
                "the port's bounded mailbox is full and `exit` does not wait: \
                 `port.send_async(message).await`, then return",
            ),
        }
    }
}

impl<T> std::error::Error for ExitError<T> {}
