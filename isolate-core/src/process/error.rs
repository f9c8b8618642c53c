//! The errors of starting a child process group, and of serving one.

use std::fmt;
use std::io;
use std::time::Duration;

use super::ProcessExit;
use super::frame::FrameError;

/// Why [`IsolateGroup::spawn_uri`](crate::IsolateGroup::spawn_uri) could not
/// start an isolate group in a child process. When the child was started,
/// it has been killed and reaped by the time this error is returned.
#[derive(Debug)]
#[non_exhaustive]
pub enum SpawnUriError {
    /// The program could not be started: it does not exist, is not
    /// executable, or the system refused.
    Start {
        /// The program, as given.
        program: String,
        /// What the system said.
        source: io::Error,
    },
    /// Setting up the connection to the child failed.
    Io(io::Error),
    /// The child ended before it served: it is not a program that calls
    /// `isolate_core::process::serve`, it crashed, or its entry function
    /// panicked.
    Exited {
        /// The program, as given.
        program: String,
        /// How it ended.
        exit: ProcessExit,
        /// The last error it reported, such as its panic message.
        error: Option<String>,
    },
    /// The child neither connected nor answered within
    /// [`ProcessOptions::handshake_timeout`](super::ProcessOptions::handshake_timeout).
    Timeout {
        /// The program, as given.
        program: String,
        /// The timeout.
        after: Duration,
    },
    /// The child's greeting was not a valid frame.
    Protocol(FrameError),
    /// The child speaks another protocol version, or exchanges other types:
    /// the two programs disagree, and nothing was sent.
    Mismatch(Mismatch),
    /// The initial message could not be encoded.
    Encode(String),
    /// The child's result could not be decoded.
    Decode(String),
}

impl fmt::Display for SpawnUriError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpawnUriError::Start { program, source } => write!(
                f,
                "could not start `{program}`: {source} (is the path right, and the file \
                 executable?)"
            ),
            SpawnUriError::Io(error) => {
                write!(f, "could not set up the connection to the child: {error}")
            }
            SpawnUriError::Exited {
                program,
                exit,
                error,
            } => {
                write!(f, "`{program}` {exit} before it served an isolate group")?;
                match error {
                    Some(error) => write!(f, ": {error}"),
                    None => f.write_str(" (does its `main` call `isolate_core::process::serve`?)"),
                }
            }
            SpawnUriError::Timeout { program, after } => write!(
                f,
                "`{program}` did not serve an isolate group within {after:?} (does its `main` \
                 call `isolate_core::process::serve`? Raise \
                 `ProcessOptions::handshake_timeout` for a slow start)"
            ),
            SpawnUriError::Protocol(error) => write!(f, "the child's greeting: {error}"),
            SpawnUriError::Mismatch(mismatch) => {
                write!(f, "the child does not match this program: {mismatch}")
            }
            SpawnUriError::Encode(error) => write!(f, "the initial message: {error}"),
            SpawnUriError::Decode(error) => write!(f, "the child's result: {error}"),
        }
    }
}

impl std::error::Error for SpawnUriError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SpawnUriError::Start { source, .. } | SpawnUriError::Io(source) => Some(source),
            SpawnUriError::Protocol(error) => Some(error),
            SpawnUriError::Mismatch(mismatch) => Some(mismatch),
            _ => None,
        }
    }
}

/// Why [`serve`](super::serve) returned with an error.
#[derive(Debug)]
#[non_exhaustive]
pub enum ServeError {
    /// The program was not started by `spawn_uri`: there is no parent to
    /// serve.
    NotSpawned,
    /// Connecting to the parent failed.
    Io(io::Error),
    /// The parent's greeting was not a valid frame.
    Protocol(FrameError),
    /// The parent speaks another protocol version, or exchanges other
    /// types.
    Mismatch(Mismatch),
    /// The initial message could not be decoded.
    Decode(String),
    /// The entry function's result could not be encoded.
    Encode(String),
    /// The entry function panicked, with this message.
    EntryPanicked(String),
    /// The parent went away (it exited or crashed) without asking this
    /// process to end.
    ParentGone,
}

impl fmt::Display for ServeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServeError::NotSpawned => f.write_str(
                "this program serves an isolate group to a parent process, and must be \
                 started by `IsolateGroup::spawn_uri`",
            ),
            ServeError::Io(error) => write!(f, "could not connect to the parent: {error}"),
            ServeError::Protocol(error) => write!(f, "the parent's greeting: {error}"),
            ServeError::Mismatch(mismatch) => {
                write!(f, "the parent does not match this program: {mismatch}")
            }
            ServeError::Decode(error) => write!(f, "the initial message: {error}"),
            ServeError::Encode(error) => write!(f, "the entry's result: {error}"),
            ServeError::EntryPanicked(message) => {
                write!(f, "the entry function panicked: {message}")
            }
            ServeError::ParentGone => f.write_str("the parent process went away"),
        }
    }
}

impl std::error::Error for ServeError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServeError::Io(error) => Some(error),
            ServeError::Protocol(error) => Some(error),
            ServeError::Mismatch(mismatch) => Some(mismatch),
            _ => None,
        }
    }
}

/// How two programs that meet at a process boundary disagree, found by the
/// greeting before any message is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mismatch {
    /// They speak different protocol versions.
    Version {
        /// This program's version.
        ours: u16,
        /// The other program's version.
        theirs: u16,
    },
    /// They exchange different types: the [fingerprints] of their shapes
    /// differ (the names may be the same, for two versions of one type).
    ///
    /// [fingerprints]: crate::transport::fingerprint
    Type {
        /// Which type: `"initial message"` or `"entry's result"`.
        what: &'static str,
        /// The type as this program names it.
        ours: String,
        /// The type as the other program names it.
        theirs: String,
    },
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mismatch::Version { ours, theirs } => write!(
                f,
                "it speaks protocol version {theirs}, this program {ours}: build both with the \
                 same isolate-core"
            ),
            Mismatch::Type { what, ours, theirs } if ours == theirs => write!(
                f,
                "its {what} is a `{theirs}` of another shape than this program's (their \
                 fields or variants differ): build both programs from the same definition"
            ),
            Mismatch::Type { what, ours, theirs } => write!(
                f,
                "its {what} is `{theirs}`, this program's is `{ours}`: the two programs must \
                 agree on the types they exchange"
            ),
        }
    }
}

impl std::error::Error for Mismatch {}
