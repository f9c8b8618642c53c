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
//! # A first isolate
//!
//! ```
//! use isolate_core::prelude::*;
//!
//! #[message] // the state moves into the isolate: checked like a message
//! struct Counter(u64);
//!
//! #[message]
//! enum Msg {
//!     Add(u64),
//!     Total(ReplySender<u64>),
//! }
//!
//! impl Isolate for Counter {
//!     type Message = Msg;
//!     type Port = SendPort<Msg>;
//!     fn handle(&mut self, msg: Msg) -> Handled<'_> {
//!         match msg {
//!             Msg::Add(n) => self.0 += n,
//!             Msg::Total(reply) => reply.send(self.0),
//!         }
//!         Handled::Done
//!     }
//! }
//!
//! let group = IsolateGroup::new();
//! let counter = group.spawn(Counter(0));
//! for n in 1..=10 {
//!     counter.send(Msg::Add(n)).unwrap(); // a tell
//! }
//! assert_eq!(counter.ask(Msg::Total).wait(), Ok(55)); // an ask
//! ```
//!
//! # Dart's API, in Rust
//!
//! | Dart | Rust |
//! |---|---|
//! | `Isolate.spawn(entry, msg)` | [`IsolateGroup::spawn_fn`] |
//! | `Isolate.run(f)` | [`run`], [`run_with`], [`run_async`], [`run_with_async`] |
//! | `Isolate.exit(port, msg)` | [`exit`] |
//! | `ReceivePort` / `SendPort` | [`ReceivePort<T>`], [`SendPort<T>`] |
//! | `TransferableTypedData` | an owned `Vec<u8>` (moves in O(1)), or [`Shared<[u8]>`](Shared) |
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
//! - `macros` (default): re-exports `#[message]` (and, in a coming release,
//!   `#[isolate]`) from `isolate-macros`.
#![deny(missing_docs)]
#![warn(rust_2018_idioms)]

mod error;
mod group;
mod handle;
mod isolate;
mod port;
mod reply;
mod run;
mod scheduler;
mod sendable;
mod shared;
mod sync;

pub mod prelude;

pub use error::{
    BuildError, ExitError, RecvError, RecvTimeoutError, RemoteError, RemoteErrorKind, ReplyError,
    SendError, TryRecvError,
};
pub use group::{IsolateGroup, IsolateGroupBuilder};
pub use handle::IsolateHandle;
pub use isolate::{Handled, Isolate};
pub use port::{ReceivePort, SendPort};
pub use reply::{Reply, ReplySender};
pub use run::{RunFuture, exit, run, run_async, run_with, run_with_async};
pub use sendable::{Immutable, Sendable};
pub use shared::Shared;

#[cfg(feature = "macros")]
pub use isolate_macros::{isolate, message};

/// The scheduler's state machine and mailbox, exposed for `tests/loom.rs`
/// only. Not part of the API.
#[cfg(isolate_loom)]
#[doc(hidden)]
pub mod __loom {
    pub use crate::scheduler::mailbox::Mailbox;
    pub use crate::scheduler::state::{Finish, State};
}

/// The README's example, compiled and run as a doctest.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

/// Support for the macros' expansions. Not part of the API.
#[doc(hidden)]
pub mod __private {
    /// Compiles only when `T: Sendable`; the macros call it once per field
    /// and per handler argument, with its span, so an error points there.
    pub const fn assert_sendable<T: crate::Sendable + ?Sized>() {}

    /// As `assert_sendable`, for `#[message(immutable)]`.
    pub const fn assert_immutable<T: crate::Immutable + ?Sized>() {}

    /// Implemented by `#[isolate]` on a struct.
    ///
    /// # Safety
    ///
    /// A marker with no promise; `unsafe` only so that nobody implements it
    /// by hand by accident.
    #[diagnostic::on_unimplemented(
        message = "`{Self}` needs `#[isolate]` on its struct definition",
        label = "this impl block has `#[isolate]`, but the struct does not",
        note = "write `#[isolate]` on `struct {Self}` too: it declares the isolate's port type"
    )]
    pub unsafe trait IsolateStruct {}

    /// The message type of an isolate that handles none (the macros' stand-in
    /// after a refused impl block).
    pub use crate::group::NoMessage;

    /// Compiles only when `#[isolate]` is on `T`'s struct definition.
    pub const fn assert_isolate_struct<T: IsolateStruct + ?Sized>() {}
}
