//! The errors of the public API. Each `Display` says what happened and what
//! to do about it; errors that fail to deliver a value give it back.

use std::fmt;
use std::time::Duration;

const BLOCKING_HINT: &str = "a blocking wait was called on an isolate's worker thread, \
     where it would stall one of the group's few threads and can deadlock the group: \
     `.await` instead (use an async handler, `recv_async`, or `run_async`)";

/// A message could not be delivered: the receiving isolate or
/// [`ReceivePort`](crate::ReceivePort) is gone. The message is given back.
///
/// Dart drops such a message silently; here the sender always knows.
///
/// # Examples
///
/// ```
/// use isolate_core::{ReceivePort, SendError};
///
/// let inbox = ReceivePort::new();
/// let port = inbox.send_port();
/// inbox.close();
/// let SendError(message) = port.send(String::from("kept")).unwrap_err();
/// assert_eq!(message, "kept");
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The message that was not delivered.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SendError(..)")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the port is closed: its isolate has ended or its ReceivePort was dropped; \
             the message is returned in the error",
        )
    }
}

impl<T> std::error::Error for SendError<T> {}

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
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError {
    kind: RemoteErrorKind,
    message: String,
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
}

impl RemoteError {
    pub(crate) fn new(kind: RemoteErrorKind, message: impl Into<String>) -> Self {
        RemoteError {
            kind,
            message: message.into(),
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
}

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RemoteErrorKind::Panicked => write!(f, "the isolate panicked: {}", self.message),
            RemoteErrorKind::Stopped => write!(f, "the isolate stopped: {}", self.message),
            RemoteErrorKind::BlockingInIsolate => f.write_str(BLOCKING_HINT),
        }
    }
}

impl std::error::Error for RemoteError {}

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
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::Spawn(error) => Some(error),
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
}

impl<T> ExitError<T> {
    /// The message that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            ExitError::NotInIsolate(message) | ExitError::Closed(message) => message,
        }
    }
}

impl<T> fmt::Debug for ExitError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitError::NotInIsolate(_) => f.write_str("ExitError::NotInIsolate(..)"),
            ExitError::Closed(_) => f.write_str("ExitError::Closed(..)"),
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
            ExitError::Closed(_) => SendError(()).fmt(f),
        }
    }
}

impl<T> std::error::Error for ExitError<T> {}
