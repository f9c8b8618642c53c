//! The one error type of a remote group's operations.

use std::fmt;
use std::time::Duration;

/// Why an operation of a [`RemoteGroup`](crate::RemoteGroup) failed.
///
/// Sends and asks through a looked-up port fail with isolate-core's own
/// errors instead ([`SendError`](isolate_core::SendError),
/// [`ReplyError`](isolate_core::ReplyError)), like every other port.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// A group or port name that NATS cannot carry.
    InvalidName {
        /// The name.
        name: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// The server could not be reached, or refused the connection.
    Connect(String),
    /// The server has no JetStream, which holds the group's names.
    NoJetStream(String),
    /// The server failed an operation on the group's names (its key-value
    /// bucket), or the connection dropped during one.
    Names(String),
    /// A live port is registered under this name, by this member or
    /// another.
    Taken {
        /// The name.
        name: String,
    },
    /// No live port is registered under this name.
    NotFound {
        /// The name.
        name: String,
    },
    /// The name is registered with a port of another message type.
    WrongType {
        /// The name.
        name: String,
        /// The message type asked for.
        expected: &'static str,
        /// The message type registered.
        registered: String,
    },
    /// The operation did not finish in time.
    Timeout(Duration),
    /// The remote group was closed (its last handle dropped, or it left)
    /// before the operation finished.
    Closed,
    /// A blocking `wait` was called on an isolate group's worker thread,
    /// where it would stall the group: `.await` the operation there.
    BlockingInIsolate,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::InvalidName { name, why } => {
                write!(f, "`{name}` cannot be used as a name: {why}")
            }
            Error::Connect(why) => write!(
                f,
                "could not connect to the NATS server: {why} (is nats-server running, with \
                 JetStream on: `nats-server -js`?)"
            ),
            Error::NoJetStream(why) => write!(
                f,
                "the NATS server has no JetStream, which holds the group's names: start it \
                 with `nats-server -js` ({why})"
            ),
            Error::Names(why) => write!(f, "the group's names could not be read or written: {why}"),
            Error::Taken { name } => write!(
                f,
                "the name `{name}` is taken by a live port: unregister it first, or pick another name"
            ),
            Error::NotFound { name } => write!(
                f,
                "no live port is registered as `{name}` (it was never registered, its isolate \
                 has ended, or its member has left)"
            ),
            Error::WrongType {
                name,
                expected,
                registered,
            } => write!(
                f,
                "`{name}` is registered with messages of type `{registered}`, not `{expected}`: \
                 look it up with the port type of that isolate"
            ),
            Error::Timeout(after) => write!(f, "no answer from the NATS server within {after:?}"),
            Error::Closed => {
                f.write_str("the remote group was closed before the operation finished")
            }
            Error::BlockingInIsolate => f.write_str(
                "a blocking wait on an isolate group's worker thread would stall the group: \
                 `.await` the operation instead",
            ),
        }
    }
}

impl std::error::Error for Error {}
