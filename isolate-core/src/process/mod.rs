//! Isolate groups in child processes: Dart's `Isolate.spawnUri`, in Rust.
//!
//! [`IsolateGroup::spawn_uri`](crate::IsolateGroup::spawn_uri) starts a
//! program as a child process; the program's `main` calls [`serve`], which
//! runs an isolate group there, hands the parent's initial message to an
//! entry function, and sends back what the entry returns (typically a
//! port). The parent gets a [`ProcessIsolate`]: that result, and the
//! controls of the child (kill, ping, exit and error listeners).
//!
//! # What crosses, and how
//!
//! Messages between processes are copied: serialized with serde in
//! [postcard]'s compact format, in length-prefixed [frames](frame) over a
//! Unix socket (the child's stdin, stdout and stderr stay its own, so a
//! `println!` in the child cannot corrupt the protocol). A message type must
//! be [`Sendable`](crate::Sendable) and implement `Serialize` and
//! `DeserializeOwned`; the ports that `#[isolate]` generates implement both
//! when their handlers' types do.
//!
//! - A [`SendPort`](crate::SendPort) inside a message crosses as a port: the
//!   receiver gets a `SendPort` whose messages travel back through the
//!   connection. Ports work in both directions, and a port sent back to the
//!   process it came from is the original again, not a proxy of a proxy.
//! - An ask across processes works as within one: the
//!   [`ReplySender`](crate::ReplySender) crosses as a one-shot port. If the
//!   child dies, every pending [`Reply`](crate::Reply) resolves with
//!   [`ReplyError::Dropped`](crate::ReplyError::Dropped).
//! - A [`Shared<T>`](crate::Shared) is deep-copied, as Dart copies objects
//!   that leave their isolate group; the receiver gets its own `Shared`.
//! - A message that cannot be encoded fails to send with
//!   [`SendError::Undeliverable`](crate::SendError::Undeliverable), which
//!   gives it back; a message that cannot be decoded is never handed to a
//!   handler. Either way the error listeners hear why
//!   ([`RemoteErrorKind::Undeliverable`](crate::RemoteErrorKind::Undeliverable)),
//!   on both sides for a decode failure, and an ask inside the lost message
//!   fails at once with [`ReplyError::Dropped`](crate::ReplyError::Dropped).
//!
//! At start, both sides check the protocol version and the names of the
//! initial message's and the result's types, so two programs that disagree
//! fail with [`SpawnUriError::Mismatch`] rather than garbage.
//!
//! # Lifetime
//!
//! The child serves until its parent drops the `ProcessIsolate` and every
//! port into the child, kills it, or exits: the child notices that the
//! connection closed, its `serve` returns, and its `main` ends. A child that
//! does not end within [`ProcessOptions::kill_grace`] of being asked is
//! killed. Every child is reaped: none is left a zombie.
//!
//! Backpressure crosses, port by port. Each port into the other process
//! lets [`frame::WINDOW`] bytes (4 MiB) of messages be on their way: sent,
//! and not yet put in the receiving mailbox. Past that, the port is full:
//! [`SendPort::send`](crate::SendPort::send) waits (on an isolate's
//! thread it refuses with `BlockingInIsolate`, as for a full bounded
//! mailbox), `send_async` and the generated `method_async` await room,
//! `try_send` returns `Full`. So a receiver that reads nothing, or whose
//! bounded mailbox stays full, holds its senders back instead of growing
//! either process. In the receiving process, a message for a full bounded
//! mailbox waits, in order, in a backlog (fed by a thread of its own while
//! it lasts), so that one busy isolate never holds up the connection's
//! other ports, replies and pings; the window bounds that backlog. Messages
//! received before the connection ends are still delivered.
//!
//! Unix only: the transport is a Unix domain socket.
//!
//! # Examples
//!
//! A program that both spawns and serves (it runs itself as the child):
//!
//! ```no_run
//! use isolate_core::prelude::*;
//! use isolate_core::process;
//!
//! #[isolate]
//! struct Squarer;
//!
//! #[isolate(remote)] // its port can cross into another process
//! impl Squarer {
//!     #[message]
//!     fn square(&self, n: u64) -> u64 {
//!         n * n
//!     }
//! }
//!
//! fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     if std::env::args().any(|arg| arg == "--child") {
//!         // The child: serve a `Squarer` to the parent.
//!         process::serve(|group: &IsolateGroup, (): ()| group.spawn(Squarer))?;
//!         return Ok(());
//!     }
//!     let group = IsolateGroup::new();
//!     let me = std::env::current_exe()?;
//!     let child: ProcessIsolate<SquarerPort> = group.spawn_uri(me, ["--child"], ())?;
//!     assert_eq!(child.port().square(12).wait()?, 144); // asked across processes
//!     Ok(())
//! }
//! ```
//!
//! [postcard]: https://docs.rs/postcard

mod child;
mod error;
pub mod frame;
mod peer;
pub(crate) mod scope;
mod serve;
pub(crate) mod shape;
pub(crate) mod wire;

use std::fmt;
use std::process::ExitStatus;
use std::time::Duration;

pub use child::ProcessIsolate;
pub use error::{Mismatch, ServeError, SpawnUriError};
pub use serve::serve;

pub(crate) use child::spawn;

/// The environment variable that tells a child where its parent listens.
const SOCKET_ENV: &str = "ISOLATE_CORE_SOCKET";

/// How [`IsolateGroup::spawn_uri_with`](crate::IsolateGroup::spawn_uri_with)
/// starts and ends a child.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use isolate_core::process::ProcessOptions;
///
/// let options = ProcessOptions::new()
///     .handshake_timeout(Duration::from_secs(5))
///     .kill_grace(Duration::from_millis(500))
///     .max_frame(16 << 20);
/// assert_eq!(options.get_max_frame(), 16 << 20);
/// ```
#[derive(Debug, Clone)]
pub struct ProcessOptions {
    handshake_timeout: Duration,
    kill_grace: Duration,
    max_frame: u32,
}

impl ProcessOptions {
    /// The defaults: 30 s to start, 2 s of grace, 64 MiB frames.
    pub fn new() -> Self {
        ProcessOptions {
            handshake_timeout: Duration::from_secs(30),
            kill_grace: Duration::from_secs(2),
            max_frame: frame::DEFAULT_MAX_FRAME,
        }
    }

    /// How long the child may take to connect, greet, and run its entry
    /// function before the spawn fails with [`SpawnUriError::Timeout`].
    pub fn handshake_timeout(mut self, timeout: Duration) -> Self {
        self.handshake_timeout = timeout;
        self
    }

    /// How long a child asked to end (by a graceful kill, or because its
    /// parent let go of it) may take before it is killed.
    pub fn kill_grace(mut self, grace: Duration) -> Self {
        self.kill_grace = grace;
        self
    }

    /// The largest frame either side accepts, in bytes: a message that
    /// encodes larger fails to send. Both processes use the parent's value.
    pub fn max_frame(mut self, bytes: u32) -> Self {
        self.max_frame = bytes.max(1024);
        self
    }

    /// The largest frame either side accepts.
    pub fn get_max_frame(&self) -> u32 {
        self.max_frame
    }
}

impl Default for ProcessOptions {
    fn default() -> Self {
        Self::new()
    }
}

/// How a child process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProcessExit {
    /// It exited with this code: 0 after a clean end, 101 when its `main`
    /// panicked.
    Code(i32),
    /// A signal that its parent did not send ended it.
    Signal(i32),
    /// Its parent killed it: [`ProcessIsolate::kill`], or a grace period
    /// that ran out.
    Killed,
}

impl ProcessExit {
    /// Whether the child ended cleanly: exit code 0, or killed by its
    /// parent as asked.
    pub fn is_clean(&self) -> bool {
        matches!(self, ProcessExit::Code(0) | ProcessExit::Killed)
    }

    fn from_status(status: ExitStatus, killed: bool) -> Self {
        use std::os::unix::process::ExitStatusExt;
        match (status.code(), status.signal()) {
            (Some(code), _) => ProcessExit::Code(code),
            (None, Some(_)) if killed => ProcessExit::Killed,
            (None, Some(signal)) => ProcessExit::Signal(signal),
            (None, None) => ProcessExit::Killed,
        }
    }
}

impl fmt::Display for ProcessExit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProcessExit::Code(code) => write!(f, "exited with code {code}"),
            ProcessExit::Signal(signal) => {
                write!(f, "was ended by signal {signal}")?;
                let name = match signal {
                    1 => "SIGHUP",
                    2 => "SIGINT",
                    3 => "SIGQUIT",
                    4 => "SIGILL",
                    6 => "SIGABRT",
                    8 => "SIGFPE",
                    9 => "SIGKILL",
                    11 => "SIGSEGV",
                    13 => "SIGPIPE",
                    15 => "SIGTERM",
                    _ => return Ok(()),
                };
                write!(f, " ({name})")
            }
            ProcessExit::Killed => f.write_str("was killed by its parent"),
        }
    }
}

/// What each side says in its `Hello`.
struct Greeting {
    version: u16,
    max_frame: u32,
    init: Named,
    port: Named,
}

/// A type as a greeting gives it: its fingerprint, which must match, and
/// its name, for the error message when it does not.
struct Named {
    fingerprint: u64,
    name: String,
}

impl Named {
    fn of<T: serde::de::DeserializeOwned + 'static>() -> Self {
        Named {
            fingerprint: shape::fingerprint::<T>(),
            name: std::any::type_name::<T>().to_owned(),
        }
    }
}

impl Greeting {
    fn ours<M, P>(max_frame: u32) -> Self
    where
        M: serde::de::DeserializeOwned + 'static,
        P: serde::de::DeserializeOwned + 'static,
    {
        Greeting {
            version: frame::PROTOCOL_VERSION,
            max_frame,
            init: Named::of::<M>(),
            port: Named::of::<P>(),
        }
    }

    fn encode(&self) -> Vec<u8> {
        let mut bytes = Vec::new();
        frame::Frame::Hello(frame::Hello {
            version: self.version,
            max_frame: self.max_frame,
            init_fingerprint: self.init.fingerprint,
            port_fingerprint: self.port.fingerprint,
            init_type: &self.init.name,
            port_type: &self.port.name,
        })
        .encode(&mut bytes);
        bytes
    }

    /// Reads the other side's greeting.
    fn read(stream: &std::os::unix::net::UnixStream) -> Result<Self, frame::FrameError> {
        let mut reader = frame::FrameReader::new(stream, 64 << 10);
        match reader.next_frame()? {
            Some(frame::Frame::Hello(hello)) => Ok(Greeting {
                version: hello.version,
                max_frame: hello.max_frame,
                init: Named {
                    fingerprint: hello.init_fingerprint,
                    name: hello.init_type.to_owned(),
                },
                port: Named {
                    fingerprint: hello.port_fingerprint,
                    name: hello.port_type.to_owned(),
                },
            }),
            Some(_) => Err(frame::FrameError::NotAnIsolate),
            None => Err(frame::FrameError::Truncated),
        }
    }

    /// The first way the other side's greeting disagrees with ours.
    fn check(&self, theirs: &Greeting) -> Result<(), Mismatch> {
        if self.version != theirs.version {
            return Err(Mismatch::Version {
                ours: self.version,
                theirs: theirs.version,
            });
        }
        for (what, ours, their) in [
            ("initial message", &self.init, &theirs.init),
            ("entry's result", &self.port, &theirs.port),
        ] {
            if ours.fingerprint != their.fingerprint {
                return Err(Mismatch::Type {
                    what,
                    ours: ours.name.clone(),
                    theirs: their.name.clone(),
                });
            }
        }
        Ok(())
    }
}

impl crate::IsolateGroup {
    /// Starts `program` with `args` as a child process that serves a new
    /// isolate group (its `main` calls [`serve`]), and hands it `message`:
    /// Dart's `Isolate.spawnUri`. Returns once the child's entry function
    /// has returned; its result is [`ProcessIsolate::port`].
    ///
    /// `M` and `P` must be the types the child's `serve` takes and returns
    /// (checked at start by the [fingerprint](crate::transport::fingerprint)
    /// of their shapes, so `M` must also be `DeserializeOwned`). The child inherits this process's
    /// environment, working directory, stdout and stderr.
    ///
    /// # Errors
    ///
    /// A [`SpawnUriError`]: the program could not be started, ended or did
    /// not answer in time, speaks another protocol version or other types,
    /// or a message could not be encoded or decoded. No child is left
    /// running after an error.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use isolate_core::prelude::*;
    ///
    /// let group = IsolateGroup::new();
    /// let child: ProcessIsolate<SendPort<String>> =
    ///     group.spawn_uri("target/release/logger", ["--quiet"], ())?;
    /// child.port().send("hello from the parent".to_owned())?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn_uri<M, P>(
        &self,
        program: impl AsRef<std::ffi::OsStr>,
        args: impl IntoIterator<Item = impl AsRef<std::ffi::OsStr>>,
        message: M,
    ) -> Result<ProcessIsolate<P>, SpawnUriError>
    where
        M: crate::Sendable + serde::Serialize + serde::de::DeserializeOwned,
        P: serde::de::DeserializeOwned + Send + 'static,
    {
        let mut command = std::process::Command::new(program);
        command.args(args);
        self.spawn_uri_with(command, message, &ProcessOptions::new())
    }

    /// As [`spawn_uri`](Self::spawn_uri), with a prepared `Command` (its
    /// environment, working directory and stdio are kept; stdin is
    /// replaced by `/dev/null`) and [`ProcessOptions`].
    ///
    /// # Errors
    ///
    /// As [`spawn_uri`](Self::spawn_uri).
    pub fn spawn_uri_with<M, P>(
        &self,
        command: std::process::Command,
        message: M,
        options: &ProcessOptions,
    ) -> Result<ProcessIsolate<P>, SpawnUriError>
    where
        M: crate::Sendable + serde::Serialize + serde::de::DeserializeOwned,
        P: serde::de::DeserializeOwned + Send + 'static,
    {
        spawn(command, message, options)
    }
}
