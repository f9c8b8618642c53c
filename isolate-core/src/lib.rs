//! Dart's isolates, in Rust, checked by the compiler.
//!
//! An **isolate** owns its state and talks to the world only through typed
//! **ports**. Inside one isolate, messages are handled one at a time, in
//! order, so its state needs no lock. Isolates live in an **isolate group**,
//! which owns a pool of worker threads and multiplexes its isolates on them
//! (M:N): spawning an isolate costs an allocation, not a thread.
//!
//! What may cross between isolates is decided at compile time by
//! [`Sendable`]: owned data moves, deeply [`Immutable`] data is shared by
//! pointer through [`Shared<T>`], and shared mutable state (`Rc`, `Cell`,
//! `RefCell`, locks, atomics, `Arc<Mutex<_>>`), borrows and raw pointers are
//! refused with an error that names the type and the fix. Dart checks this
//! only at run time.
//!
//! # The macros
//!
//! Users write isolates with two attributes. `#[isolate]` on a struct and on
//! its impl block generates a typed port (`CounterPort`) with one method per
//! `#[message]` handler. A handler without a return value is a *tell* (the
//! port method returns at once); one with a return value is an *ask* (the
//! port method returns a [`Reply`] to `.wait()` for or `.await`); an
//! `async fn` handler is awaited inside the isolate, which still handles one
//! message at a time. `#[message]` on a struct or enum derives [`Sendable`]
//! after checking every field, and `#[message(immutable)]` also derives
//! [`Immutable`], so the type can be shared through [`Shared<T>`].
//!
//! ```
//! use std::collections::HashMap;
//! use isolate_core::prelude::*;
//!
//! #[message(immutable)]                 // may be shared by many isolates
//! pub struct StopWords { pub words: Vec<String> }
//!
//! #[message]                            // may cross: checked field by field
//! pub struct Chunk { pub text: String, pub stop_words: Shared<StopWords> }
//!
//! #[isolate]
//! #[derive(Default)]
//! pub struct Counter { counts: HashMap<String, u64> }
//!
//! #[isolate]
//! impl Counter {
//!     /// A tell: `counter.add(chunk)` returns at once.
//!     #[message]
//!     fn add(&mut self, chunk: Chunk) {
//!         for word in chunk.text.split_whitespace() {
//!             if !chunk.stop_words.words.iter().any(|w| w == word) {
//!                 *self.counts.entry(word.to_owned()).or_default() += 1;
//!             }
//!         }
//!     }
//!
//!     /// An ask: `counter.count(word)` returns a `Reply<u64>`.
//!     #[message]
//!     fn count(&self, word: String) -> u64 {
//!         self.counts.get(&word).copied().unwrap_or(0)
//!     }
//! }
//!
//! let group = IsolateGroup::new();
//! let counter: CounterPort = group.spawn(Counter::default());
//! let stop_words = Shared::new(StopWords { words: vec!["the".into()] });
//! counter.add(Chunk { text: "the cat and the hat".into(), stop_words })?;
//! assert_eq!(counter.count("the".into()).wait(), Ok(0));
//! assert_eq!(counter.count("cat".into()).wait(), Ok(1));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! The compiler refuses what cannot cross, at the field or argument that
//! holds it, and says why and what to do:
//!
//! ```compile_fail
//! use isolate_core::prelude::*;
//!
//! #[message]
//! pub struct Job { pub scratch: std::cell::RefCell<Vec<u8>> }
//! // error: field `scratch` of `Job` cannot cross an isolate: `RefCell<Vec<u8>>`
//! //        is refused because it is shared mutable state: it allows writes
//! //        through a shared reference.
//! //        help: send an owned copy of the data instead (the receiver gets its
//! //        own), or make the state one isolate's own and send that isolate
//! //        plain-data messages
//! ```
//!
//! The same isolate can be written by hand by implementing [`Isolate`]; its
//! documentation shows how.
//!
//! # Dart's API, in Rust
//!
//! | Dart | Rust |
//! |---|---|
//! | `Isolate.spawn(entry, msg)` | [`IsolateGroup::spawn_fn`] |
//! | `Isolate.run(f)` | [`run`], [`run_with`], [`run_async`], [`run_with_async`]; many at once: [`run_many`] |
//! | `Isolate.exit(port, msg)` | [`exit`] |
//! | `ReceivePort` / `SendPort` | [`ReceivePort<T>`], [`SendPort<T>`] |
//! | `TransferableTypedData` | an owned `Vec<u8>` (moves in O(1)), or [`Shared<[u8]>`](Shared) |
//!
//! A Dart isolate's state is private to its thread, so it may be anything.
//! Here that is [`IsolateGroup::spawn_pinned`]: the state is built on one
//! worker and never leaves it, so it may hold `Rc` and `RefCell`.
//!
//! `docs/dart-mapping.md` in the repository lists every API and where Rust
//! differs, and why.
//!
//! # Blocking inside an isolate
//!
//! A blocking wait ([`Reply::wait`], [`ReceivePort::recv`], [`run`]) on a
//! worker thread would stall one of the group's few threads and can deadlock
//! a small group. These calls refuse to block there and return an error that
//! says to `.await` instead, as tokio refuses `block_on` inside its runtime.
//!
//! # Features
//!
//! - `macros` (default): re-exports `#[message]` and `#[isolate]` from
//!   `isolate-macros`.
//! - `tracing` (opt-in): a `tracing` span per isolate run (`isolate`, at
//!   `DEBUG`, with its id, group and name) and per message (`message`, at
//!   `TRACE`), and events for spawns, panics (`ERROR`) and kills. Without a
//!   subscriber it costs about 27 instructions per message (a ping-pong
//!   message is about 430), which is why it is not on by default.
#![deny(missing_docs)]
#![warn(rust_2018_idioms)]

pub mod blocking;
mod checked;
mod control;
pub mod deterministic;
mod error;
mod group;
mod handle;
mod introspect;
mod isolate;
mod panic_trace;
mod pinned;
mod port;
#[cfg(all(unix, feature = "process"))]
pub mod process;
mod registry;
mod reply;
mod run;
mod scheduler;
mod sendable;
mod shared;
pub mod stop;
mod supervisor;
mod sync;
pub mod time;
mod timer;
mod trace;
#[cfg(all(unix, feature = "process"))]
pub mod transport;

pub mod prelude;

pub use blocking::{blocking, blocking_with};
pub use control::{Capability, Priority, SpawnOptions};
pub use error::{
    BuildError, ExitError, RecvError, RecvTimeoutError, RemoteError, RemoteErrorKind, ReplyError,
    SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use group::{IsolateGroup, IsolateGroupBuilder};
pub use handle::{IsolateHandle, checkpoint, current};
pub use introspect::{GroupStats, IsolateInfo, IsolateState, ShutdownReport};
pub use isolate::{Handled, Isolate};
pub use port::{ReceivePort, SendPort};
pub use registry::{LookupError, Port, RegisterError};
pub use reply::{Reply, ReplySender};
pub use run::{
    RunFuture, RunMany, exit, run, run_async, run_future, run_many, run_with, run_with_async,
};
pub use sendable::{AssertSendable, Immutable, Sendable};
pub use shared::Shared;
pub use stop::StopSignal;
pub use supervisor::{Strategy, Supervisor, SupervisorBuilder};
pub use timer::Timer;

#[cfg(all(unix, feature = "process"))]
pub use process::{ProcessIsolate, SpawnUriError};

#[cfg(feature = "macros")]
pub use isolate_macros::{isolate, message};

/// The scheduler's state machine and mailbox, exposed for `tests/loom.rs`
/// only. Not part of the API.
#[cfg(isolate_loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::scheduler::idle::Idle;
    pub use crate::scheduler::mailbox::{Mailbox, deliver};
    pub use crate::scheduler::state::{Finish, State};
    pub use crate::sync::loom_parker::{Parker, Unparker};
}

/// Support for the macros' expansions. Not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::checked::Checked;

    /// Implemented by `#[isolate]` on a struct.
    ///
    /// A marker with no promise, and so a safe trait: every trait the
    /// macros implement with `unsafe impl` carries its own checks, which a
    /// crate that rebinds `isolate_core` cannot point at another trait
    /// (`Send`, say); a promise-free `unsafe` marker could be.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` needs `#[isolate]` on its struct definition",
        label = "this impl block has `#[isolate]`, but the struct does not",
        note = "write `#[isolate]` on `struct {Self}` too: it declares the isolate's port type"
    )]
    pub trait IsolateStruct {}

    /// The message type of an isolate that handles none (the macros' stand-in
    /// after a refused impl block).
    pub use crate::group::NoMessage;

    /// Compiles only when `#[isolate]` is on `T`'s struct definition.
    pub const fn assert_isolate_struct<T: IsolateStruct + ?Sized>() {}

    /// Implemented by `#[isolate(pinned)]` on a struct. A safe trait, as
    /// `IsolateStruct` is, and for the same reason.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` needs `#[isolate(pinned)]` on its struct definition too",
        label = "this impl block has `#[isolate(pinned)]`, but the struct does not",
        note = "a pinned isolate's handlers return futures that may not be `Send`, which only `spawn_pinned` can run: write `#[isolate(pinned)]` on `struct {Self}` so that `spawn` refuses it"
    )]
    pub trait PinnedState {}

    /// Compiles only when `#[isolate(pinned)]` is on `T`'s struct definition.
    pub const fn assert_pinned_state<T: PinnedState + ?Sized>() {}

    #[cfg(all(unix, feature = "process"))]
    pub use serde;

    pub use crate::{__remote_message as remote_message, __remote_port as remote_port};

    /// What `#[isolate(remote)]` asks of every handler's arguments and result.
    #[cfg(all(unix, feature = "process"))]
    #[diagnostic::on_unimplemented(
        message = "`{Self}` cannot cross into another process: it does not implement serde's `Serialize` and `Deserialize`",
        label = "`#[isolate(remote)]` needs this type to be serde",
        note = "derive them: `#[derive(serde::Serialize, serde::Deserialize)]`, or drop `remote` if the isolate's port never leaves this process"
    )]
    pub trait Remote {}

    #[cfg(all(unix, feature = "process"))]
    impl<T: serde::Serialize + serde::de::DeserializeOwned> Remote for T {}

    /// Compiles only when `T` can cross into another process.
    #[cfg(all(unix, feature = "process"))]
    pub const fn assert_remote<T: Remote + ?Sized>() {}

    /// Without the `process` feature, `remote_message!` already refused.
    #[cfg(not(all(unix, feature = "process")))]
    pub const fn assert_remote<T: ?Sized>() {}
}

/// Derives serde for the message enum of an `#[isolate(remote)]` impl.
#[cfg(all(unix, feature = "process"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_message {
    ($item:item) => {
        #[derive($crate::__private::serde::Serialize, $crate::__private::serde::Deserialize)]
        #[serde(crate = "::isolate_core::__private::serde")]
        $item
    };
}

/// Without the `process` feature, `#[isolate(remote)]` is refused.
#[cfg(not(all(unix, feature = "process")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_message {
    ($item:item) => {
        ::core::compile_error!(
            "`#[isolate(remote)]` needs isolate-core's `process` feature (on by default, Unix only)"
        );
        $item
    };
}

/// Serde for the port of an `#[isolate(remote)]` isolate: it crosses as
/// the `SendPort` underneath.
#[cfg(all(unix, feature = "process"))]
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_port {
    ($port:ident, $isolate:ident) => {
        impl $crate::__private::serde::Serialize for $port {
            fn serialize<S: $crate::__private::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::core::result::Result<S::Ok, S::Error> {
                $crate::__private::serde::Serialize::serialize(self.send_port(), serializer)
            }
        }

        impl<'de> $crate::__private::serde::Deserialize<'de> for $port {
            fn deserialize<D: $crate::__private::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::core::result::Result<Self, D::Error> {
                <$crate::SendPort<<$isolate as $crate::Isolate>::Message> as $crate::__private::serde::Deserialize<'de>>::deserialize(deserializer)
                    .map(<$port as ::core::convert::From<_>>::from)
            }
        }
    };
}

/// Without the `process` feature, `remote_message!` already refused.
#[cfg(not(all(unix, feature = "process")))]
#[doc(hidden)]
#[macro_export]
macro_rules! __remote_port {
    ($port:ident, $isolate:ident) => {};
}
