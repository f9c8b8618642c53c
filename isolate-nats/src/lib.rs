//! Isolate groups across processes and machines, over [NATS].
//!
//! A [`RemoteGroup`] is one process's membership of a named group. A member
//! publishes the ports of its own isolates under names, and any member
//! looks a name up and gets a port of the isolate's own type
//! (`CounterPort`), whose tells and asks cross the network:
//!
//! - a registered port is a NATS subject, served by its member;
//! - a tell is a NATS message on that subject, an ask a NATS request with
//!   a reply subject and a timeout;
//! - the names live in a JetStream key-value bucket, so a member that joins
//!   late finds them, and a member that leaves takes its names with it.
//!
//! Messages are encoded with the same serde codec as
//! [`spawn_uri`](isolate_core::IsolateGroup::spawn_uri) (postcard), and
//! carry their type's [fingerprint](isolate_core::transport::fingerprint):
//! the receiver checks it before decoding, so a message of another type, or
//! garbage, is an error at the receiver and never reaches a handler.
//!
//! # What is delivered, and what may be lost
//!
//! NATS delivers a message at most once, and so does this crate. Within
//! that:
//!
//! - **Order.** The messages of one member to one port arrive in the order
//!   they were sent, tells and asks alike (one connection, one subject, one
//!   queue).
//! - **Flow control.** Core NATS has none: a receiver that falls behind
//!   has messages dropped for it. So each looked-up port lets at most 4,096
//!   of its messages be on their way at once; past that, tells wait as they
//!   would for a full bounded mailbox (`send` blocks, `send_async` awaits,
//!   inside an isolate `send` fails with `BlockingInIsolate`). One tell in
//!   1,024 asks the receiver for an acknowledgement, which returns the
//!   credit once the receiver has taken those tells (so a window stays
//!   shut while its receiver takes nothing). Asks never wait for credit
//!   (deferred, they would be overtaken by later tells); they count until
//!   answered.
//! - **Tells** are lost when nobody serves the port (its member is gone),
//!   and when the connection drops with them in the client's buffer. A
//!   receiver that still falls behind (many senders at once, or senders
//!   that are not isolate-nats ports) has messages dropped for it; its error
//!   listeners hear how many. Ask when you must know.
//! - **Asks** always end: with the answer, or with an error that says why.
//!   [`ReplyError::NoResponder`](isolate_core::ReplyError::NoResponder) when
//!   nobody serves the port (the request was not handled);
//!   [`ReplyError::Timeout`](isolate_core::ReplyError::Timeout) after the
//!   ask timeout; [`ReplyError::Disconnected`](isolate_core::ReplyError::Disconnected)
//!   when this member's connection drops while the ask waits;
//!   [`ReplyError::Undeliverable`](isolate_core::ReplyError::Undeliverable)
//!   when either side could not decode. After a timeout or a disconnect the
//!   request may or may not have been handled: make handlers that may be
//!   retried idempotent.
//! - **Reconnects** are the client library's: it reconnects for ever, to
//!   any server of the cluster, and sends what was queued meanwhile. Queued
//!   messages wait in memory while the server is away: at most a window of
//!   tells per looked-up port, plus the asks made meanwhile.
//! - **Ending.** [`RemoteGroup::leave`] sends what is queued before it
//!   returns. Dropping the last handle and port without it stops the I/O
//!   thread at once, and what was still queued is lost: call `leave` before
//!   the process ends.
//!
//! A [`SendPort`](isolate_core::SendPort) cannot travel inside a message
//! over NATS (encoding fails with an error that says so): register the
//! port under a name and send the name.
//!
//! # Examples
//!
//! See [`RemoteGroup`], and the `cluster_wordfreq` example.
//!
//! [NATS]: https://nats.io
#![deny(missing_docs)]

// The codec comes from isolate-core's `process` feature, which is Unix-only.
#[cfg(not(unix))]
compile_error!("isolate-nats needs Unix for now: it uses isolate-core's `process` feature");

mod call;
mod envelope;
mod error;
mod group;
mod link;
mod names;
mod proxy;
mod serve;

pub use call::Call;
pub use error::Error;
pub use group::{RemoteGroup, RemoteGroupBuilder};

/// What the messages of a port must be to cross NATS: serde types, which
/// `#[isolate(remote)]` makes the messages of an isolate.
///
/// Implemented for every type that is `Serialize` and `DeserializeOwned`;
/// it exists to say so, and what to do, when a type is not.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot cross NATS: it does not implement serde's `Serialize` and `Deserialize`",
    label = "the messages of a port registered or looked up in a `RemoteGroup` must be serde types",
    note = "for the port of an `#[isolate]`, write `#[isolate(remote)]` on its impl block; for a `SendPort<T>`, derive `serde::Serialize` and `serde::Deserialize` for `T`"
)]
pub trait RemoteMessage: serde::Serialize + serde::de::DeserializeOwned + Send + 'static {}

impl<T: serde::Serialize + serde::de::DeserializeOwned + Send + 'static> RemoteMessage for T {}

/// The transport's name in isolate-core's error messages.
const NATS: &str = "NATS";
