//! Carrying messages between processes over a transport other than
//! `spawn_uri`'s socket: the hooks that `isolate-nats` is built on.
//!
//! A transport crate owns the network; this module owns what crosses it, so
//! that every transport encodes a message the same way, with the same codec
//! as [`spawn_uri`](crate::IsolateGroup::spawn_uri) (serde, in [postcard]'s
//! format), and the same rules:
//!
//! - [`encode`] turns a message into bytes. A [`ReplySender`] inside it
//!   (the message is an ask) comes out as a [`PendingReply`]: the asker's
//!   end, which the transport [answers](PendingReply::answer) with the bytes
//!   that come back, or [fails](PendingReply::fail) with the reason none
//!   will. A message carries at most one.
//! - [`decode`] turns bytes back into a message. The transport passes an
//!   [`Answer`], its way back to the asker, and the `ReplySender` the handler
//!   gets encodes its answer into it. A sender dropped unanswered fails the
//!   answer with [`AnswerFailure::Dropped`], so the asker need not wait for
//!   a timeout to learn that.
//! - [`proxy_port`] makes a [`SendPort`] whose messages go to a [`Proxy`]
//!   instead of a mailbox: the typed ports that `#[isolate]` generates wrap
//!   it like any other.
//! - [`fingerprint`] names a type's shape in eight bytes, for the receiver
//!   to check before it decodes.
//!
//! A [`SendPort`] inside a message cannot cross a transport: encoding fails
//! with an error that says so. (A port has no name outside its process
//! unless the transport gives it one; `isolate-nats` does that with
//! registered names.) A [`Shared<T>`](crate::Shared) is copied.
//!
//! # Examples
//!
//! A transport in miniature: the message goes through bytes, and so does
//! the answer.
//!
//! ```
//! use isolate_core::transport::{self, Answer, AnswerFailure};
//! use isolate_core::{Reply, ReplySender};
//!
//! #[derive(serde::Serialize, serde::Deserialize)]
//! struct Double(u32, ReplySender<u32>);
//!
//! /// The transport's way back: here, a channel of bytes.
//! struct Back(std::sync::mpsc::Sender<Vec<u8>>);
//! // SAFETY: it reaches only a channel that carries the answer's bytes.
//! unsafe impl Answer for Back {
//!     fn answer(self: Box<Self>, bytes: Vec<u8>) {
//!         let _ = self.0.send(bytes);
//!     }
//!     fn fail(self: Box<Self>, _: AnswerFailure) {}
//! }
//!
//! let (reply_to, reply) = Reply::channel();
//! let encoded = transport::encode("example", &Double(21, reply_to)).unwrap();
//! let (bytes, pending) = encoded.into_parts();
//!
//! // The other side decodes the request with its way back, and answers.
//! let (tx, rx) = std::sync::mpsc::channel();
//! let decoded = transport::decode::<Double>("example", &bytes, Some(Box::new(Back(tx))));
//! let Double(n, answer) = decoded.unwrap().into_value();
//! answer.send(n * 2);
//!
//! // The asking side hands the answer's bytes to the pending reply.
//! pending.unwrap().answer("example", &rx.recv().unwrap()).unwrap();
//! assert_eq!(reply.wait(), Ok(42));
//! ```
//!
//! [postcard]: https://docs.rs/postcard

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ReplyError, TrySendError};
use crate::port::{Inbox, SendPort};
use crate::process::scope::{self, Scope as Current};
use crate::reply::{RemoteReply, ReplySender, Route};
use crate::scheduler::mailbox::RoomListener;

/// The fingerprint of a type: a 64-bit hash of its shape in serde's data
/// model, the same in every program built from the same definition, by any
/// compiler.
///
/// Two members check it before they decode, so a message meant for another
/// type is refused with an error that says so rather than misread. What it
/// covers is what the bytes mean: the names of the structs, enums,
/// variants and fields the type reaches, and the kind and order of every
/// field, through every variant of every enum. Adding, removing, renaming
/// or reordering any of these changes it; the module a type lives in, its
/// methods, its doc comments, generic parameter *names* and the compiler's
/// version do not. A [`SendPort`] or [`ReplySender`] inside the type counts
/// as a port: each port carries its own message type's fingerprint when it
/// crosses.
///
/// The shape is read by deserializing the type from a tracer that hands
/// out placeholders (`1` for numbers, empty strings and sequences), once
/// per enum variant it has to see, and the result is kept for the rest of
/// the process. Types are told apart by their serde name and their
/// visitor's type, so `db::Error` inside `Error`, or `Result<u32, String>`
/// beside `Result<String, u8>`, are each seen in full.
///
/// Limits:
/// - A field whose `Deserialize` the tracer cannot read (one that refuses
///   every placeholder, as a URL parser refuses an empty string; one that
///   calls `deserialize_any`, which postcard cannot carry either; one that
///   panics) ends what can be seen of the struct it is in, and of each
///   struct around it up to the nearest enum variant: a change after it
///   there is not seen. What comes before it, the types it reaches, and
///   every other variant still are. An error or panic that a `Deserialize`
///   catches and recovers from hides nothing.
/// - Past 128 levels of nesting, the rest of a value is not read.
/// - A hand-written `Deserialize` that reads its bytes differently by
///   value (a tag it reads itself) shows the tracer one branch only.
/// - Types are told apart by serde name and visitor type name; two types
///   whose names the compiler prints alike (defined in two `const _`
///   blocks of one module, as some macros do) and that share a serde name
///   are taken for one when one is inside the other.
/// - Past 4,096 runs, what was seen is hashed, marked as partial.
///
/// Everything above is deterministic: the same in every build of one
/// source by one compiler, and, since type names are compared and never
/// hashed, by compilers that differ in how they print them.
///
/// # Examples
///
/// ```
/// use isolate_core::transport::fingerprint;
///
/// mod v1 {
///     #[derive(serde::Deserialize)]
///     pub struct Job { pub id: u32 }
/// }
/// mod v2 {
///     #[derive(serde::Deserialize)]
///     pub struct Job { pub id: u32, pub name: String }
/// }
/// mod elsewhere {
///     #[derive(serde::Deserialize)]
///     pub struct Job { pub id: u32 }
/// }
///
/// // One name, two shapes: told apart.
/// assert_ne!(fingerprint::<v1::Job>(), fingerprint::<v2::Job>());
/// // One shape, two modules: the same bytes, the same fingerprint.
/// assert_eq!(fingerprint::<v1::Job>(), fingerprint::<elsewhere::Job>());
/// assert_ne!(fingerprint::<u64>(), fingerprint::<i64>());
/// ```
pub fn fingerprint<T: DeserializeOwned + 'static>() -> u64 {
    crate::process::shape::fingerprint::<T>()
}

/// Why a value could not be encoded or decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodecError {
    message: String,
}

impl CodecError {
    fn new(message: String) -> Self {
        CodecError { message }
    }
}

impl fmt::Display for CodecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CodecError {}

/// An encoded message: its bytes, and the asker's end of the ask it
/// carries, if it is one.
#[derive(Debug)]
pub struct Encoded {
    bytes: Vec<u8>,
    reply: Option<PendingReply>,
}

impl Encoded {
    /// The message's bytes.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Whether the message is an ask: it carried a [`ReplySender`].
    pub fn is_ask(&self) -> bool {
        self.reply.is_some()
    }

    /// The bytes, and the pending reply of an ask.
    pub fn into_parts(self) -> (Vec<u8>, Option<PendingReply>) {
        (self.bytes, self.reply)
    }
}

/// The state of one message being encoded or decoded for a transport.
pub(crate) struct Scope {
    /// Tells this scope apart from the others on the thread's stack.
    id: u64,
    transport: &'static str,
    /// Encoding: the reply sender found in the message.
    pending: Option<PendingReply>,
    /// Decoding: the way back for the reply sender in the message.
    answer: Option<Box<dyn Answer>>,
    /// Why one of this crate's serde impls failed: postcard keeps only
    /// that a custom error happened, not its text.
    failure: Option<String>,
}

impl Scope {
    fn new(transport: &'static str, answer: Option<Box<dyn Answer>>) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        Scope {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
            transport,
            pending: None,
            answer,
            failure: None,
        }
    }

    /// Keeps `why` for the error message, and returns it for serde.
    fn refuse(&mut self, why: String) -> String {
        self.failure.get_or_insert_with(|| why.clone());
        why
    }
}

/// Encodes `value` for `transport` (a name for error messages, such as
/// `"NATS"`).
///
/// # Errors
///
/// A [`CodecError`] when a serde impl fails, when the value holds a
/// [`SendPort`] (which cannot cross a transport), or when it holds more
/// than one [`ReplySender`]. An ask that fails to encode is failed: its
/// [`Reply`](crate::Reply) resolves with [`ReplyError::Undeliverable`].
pub fn encode<T: Serialize + ?Sized>(
    transport: &'static str,
    value: &T,
) -> Result<Encoded, CodecError> {
    encode_after(transport, value, Vec::new())
}

/// As [`encode`], appending the value to `head` (a transport's own
/// header), so that the message is written once, in one buffer.
///
/// # Errors
///
/// As [`encode`].
///
/// # Examples
///
/// ```
/// use isolate_core::transport;
///
/// let encoded = transport::encode_after("example", &7u8, b"HEAD".to_vec()).unwrap();
/// assert_eq!(encoded.bytes(), b"HEAD\x07");
/// ```
pub fn encode_after<T: Serialize + ?Sized>(
    transport: &'static str,
    value: &T,
    head: Vec<u8>,
) -> Result<Encoded, CodecError> {
    let scope = Current::Transport(Scope::new(transport, None));
    let (encoded, scope) = scope::within(scope, || postcard::to_extend(value, head));
    let (pending, failure) = match scope {
        Current::Transport(scope) => (scope.pending, scope.failure),
        Current::Peer { .. } => (None, None),
    };
    match encoded {
        Ok(bytes) => Ok(Encoded {
            bytes,
            reply: pending,
        }),
        Err(error) => {
            if let Some(pending) = pending {
                pending.fail(ReplyError::Undeliverable);
            }
            Err(CodecError::new(format!(
                "could not encode a `{}` for {transport}: {}",
                std::any::type_name::<T>(),
                failure.unwrap_or_else(|| error.to_string())
            )))
        }
    }
}

/// A decoded message, and the way back that it did not use (it held no
/// [`ReplySender`]).
pub struct Decoded<T> {
    value: T,
    unused: Option<Box<dyn Answer>>,
}

impl<T> Decoded<T> {
    /// The message.
    pub fn into_value(self) -> T {
        self.value
    }

    /// The message, and the way back it did not use: a transport may tell
    /// an asker that waits on it that no answer will come.
    pub fn into_parts(self) -> (T, Option<Box<dyn Answer>>) {
        (self.value, self.unused)
    }
}

impl<T: fmt::Debug> fmt::Debug for Decoded<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Decoded")
            .field("value", &self.value)
            .field("unused", &self.unused.is_some())
            .finish()
    }
}

/// Decodes a `T` from `bytes`, which must hold exactly one. A
/// [`ReplySender`] in it answers through `answer`.
///
/// # Errors
///
/// A [`CodecError`] for bytes that are not exactly one `T` (never a panic),
/// and for a `T` that holds a [`ReplySender`] when `answer` is `None`.
/// When decoding fails and an `answer` was given, the asker hears of it:
/// the answer is failed with [`AnswerFailure::Undeliverable`].
pub fn decode<T: DeserializeOwned>(
    transport: &'static str,
    bytes: &[u8],
    answer: Option<Box<dyn Answer>>,
) -> Result<Decoded<T>, CodecError> {
    let scope = Current::Transport(Scope::new(transport, answer));
    // Trailing bytes are refused inside the scope: the value (and a reply
    // sender in it) is dropped there, which gives the way back to the scope
    // so that the asker hears "undeliverable", not "dropped".
    let (decoded, scope) = scope::within(scope, || {
        postcard::take_from_bytes::<T>(bytes).map(|(value, rest)| match rest {
            [] => Ok(value),
            _ => Err(rest.len()),
        })
    });
    let (unused, failure) = match scope {
        Current::Transport(scope) => (scope.answer, scope.failure),
        Current::Peer { .. } => (None, None),
    };
    let what = std::any::type_name::<T>();
    let error = match decoded {
        Ok(Ok(value)) => return Ok(Decoded { value, unused }),
        Ok(Err(left_over)) => CodecError::new(format!(
            "could not decode a `{what}` from {transport}: {left_over} bytes left over (do both \
             programs define the type alike?)"
        )),
        Err(error) => CodecError::new(format!(
            "could not decode a `{what}` from {transport}: {}",
            failure.unwrap_or_else(|| error.to_string())
        )),
    };
    if let Some(answer) = unused {
        answer.fail(AnswerFailure::Undeliverable(error.to_string()));
    }
    Err(error)
}

// --- the asking side ------------------------------------------------------

/// The asker's end of an ask that crossed a transport: hand it the
/// answer's bytes, or the reason no answer will come.
///
/// Dropping it fails the ask with [`ReplyError::Dropped`].
pub struct PendingReply {
    inner: Box<dyn Pending>,
}

trait Pending: Send {
    fn answer(self: Box<Self>, transport: &'static str, bytes: &[u8]) -> Result<(), CodecError>;
    fn fail(self: Box<Self>, error: ReplyError);
    fn is_closed(&self) -> bool;
}

/// The route of an ask that left through a transport.
struct Asked<T> {
    sender: ReplySender<T>,
}

impl<T: DeserializeOwned + Send + 'static> Pending for Asked<T> {
    fn answer(self: Box<Self>, transport: &'static str, bytes: &[u8]) -> Result<(), CodecError> {
        match decode::<T>(transport, bytes, None) {
            Ok(decoded) => {
                self.sender.send(decoded.into_value());
                Ok(())
            }
            Err(error) => {
                self.sender.fail(ReplyError::Undeliverable);
                Err(error)
            }
        }
    }

    fn fail(self: Box<Self>, error: ReplyError) {
        self.sender.fail(error);
    }

    fn is_closed(&self) -> bool {
        self.sender.is_closed()
    }
}

impl PendingReply {
    /// Decodes the answer from `bytes` and hands it to the asker.
    ///
    /// # Errors
    ///
    /// A [`CodecError`] when `bytes` are not an answer of the ask's type;
    /// the ask then fails with [`ReplyError::Undeliverable`].
    pub fn answer(self, transport: &'static str, bytes: &[u8]) -> Result<(), CodecError> {
        self.inner.answer(transport, bytes)
    }

    /// Fails the ask: its [`Reply`](crate::Reply) resolves with `error`.
    pub fn fail(self, error: ReplyError) {
        self.inner.fail(error);
    }

    /// Whether the asker has stopped waiting (dropped its
    /// [`Reply`](crate::Reply)): the transport may stop waiting too.
    pub fn is_closed(&self) -> bool {
        self.inner.is_closed()
    }
}

impl fmt::Debug for PendingReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PendingReply(..)")
    }
}

/// Moves a reply sender being serialized into the transport's scope; the
/// wire carries only a marker.
pub(crate) fn export_reply<T>(sender: &ReplySender<T>) -> Result<(), String>
where
    T: DeserializeOwned + Send + 'static,
{
    scope::with_innermost(|scope| {
        let Some(Current::Transport(scope)) = scope else {
            unreachable!("called only inside a transport's scope");
        };
        if scope.pending.is_some() {
            let why = format!(
                "a message to {} may carry one ReplySender, and this one carries more",
                scope.transport
            );
            return Err(scope.refuse(why));
        }
        let Some(route) = sender.take_route() else {
            return Err(scope.refuse("this ReplySender was already sent once".to_owned()));
        };
        scope.pending = Some(PendingReply {
            inner: Box::new(Asked {
                sender: ReplySender::with_route(route),
            }),
        });
        Ok(())
    })
}

// --- the answering side ---------------------------------------------------

/// A transport's way back to the asker of a message it delivers: the
/// [`ReplySender`] in the decoded message answers through it.
///
/// # Safety
///
/// The `ReplySender` that [`decode`] builds around an `Answer` is
/// [`Sendable`](crate::Sendable): it may be handed to any isolate, and its
/// [`answer`](Self::answer) and [`fail`](Self::fail) run on the thread of
/// whichever isolate answers. Implement it only for a transport's way back
/// that reaches no state an isolate's own code can reach, except through
/// synchronization that the transport owns and uses only to carry bytes
/// (a channel to its I/O task, say). A user value with shared mutable state
/// inside (an `Arc<Mutex<_>>` that `main` also holds) would cross into the
/// answering isolate through it, which the isolation guarantee forbids.
/// `isolate-nats` implements it this way.
pub unsafe trait Answer: Send + 'static {
    /// Carries the encoded answer back.
    fn answer(self: Box<Self>, bytes: Vec<u8>);

    /// Tells the asker that no answer will come, and why.
    fn fail(self: Box<Self>, failure: AnswerFailure);
}

/// Why an [`Answer`] carries no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum AnswerFailure {
    /// The handler dropped its [`ReplySender`] unanswered, or the message
    /// was dropped undelivered (its isolate ended).
    Dropped,
    /// The answer could not be encoded: what went wrong.
    Undeliverable(String),
}

/// The [`ReplySender`] a decoded message holds: it encodes its answer.
struct Answering<T> {
    /// The scope that decoded it: a sender dropped while that decode is
    /// still under way (a later field failed) gives the way back to the
    /// scope, which fails it as undeliverable rather than dropped.
    scope: u64,
    transport: &'static str,
    answer: Option<Box<dyn Answer>>,
    _answer: PhantomData<fn(T)>,
}

impl<T: Serialize + Send + 'static> RemoteReply<T> for Answering<T> {
    fn send(mut self: Box<Self>, value: T) {
        let Some(answer) = self.answer.take() else {
            return;
        };
        match encode(self.transport, &value) {
            // An answer that is itself an ask has nobody to answer it: its
            // pending reply is dropped, which fails it.
            Ok(encoded) => answer.answer(encoded.bytes),
            Err(error) => answer.fail(AnswerFailure::Undeliverable(error.to_string())),
        }
    }

    fn is_closed(&self) -> bool {
        false
    }
}

impl<T> Drop for Answering<T> {
    fn drop(&mut self) {
        let Some(answer) = self.answer.take() else {
            return;
        };
        let id = self.scope;
        let unclaimed = scope::try_with_innermost(answer, |answer, scope| match scope {
            Some(Current::Transport(scope)) if scope.id == id && scope.answer.is_none() => {
                scope.answer = Some(answer);
                None
            }
            _ => Some(answer),
        })
        // During the thread's teardown there is no scope to give it to.
        .unwrap_or_else(Some);
        if let Some(answer) = unclaimed {
            answer.fail(AnswerFailure::Dropped);
        }
    }
}

/// Makes the reply sender of a message being deserialized, answering
/// through the transport's way back.
pub(crate) fn import_reply<T>() -> Result<ReplySender<T>, String>
where
    T: Serialize + Send + 'static,
{
    scope::with_innermost(|scope| {
        let Some(Current::Transport(scope)) = scope else {
            unreachable!("called only inside a transport's scope");
        };
        let Some(answer) = scope.answer.take() else {
            let why = format!(
                "a ReplySender arrived from {} with no way to answer it (an ask sent as a \
                 tell, or a second ReplySender in one message)",
                scope.transport
            );
            return Err(scope.refuse(why));
        };
        Ok(ReplySender::with_route(Route::Remote(Box::new(Box::new(
            Answering {
                scope: scope.id,
                transport: scope.transport,
                answer: Some(answer),
                _answer: PhantomData,
            },
        )))))
    })
}

/// The refusal of a [`SendPort`] inside a message for a transport.
pub(crate) fn refuse_port() -> String {
    scope::with_innermost(|scope| {
        let Some(Current::Transport(scope)) = scope else {
            unreachable!("called only inside a transport's scope");
        };
        let why = format!(
            "a SendPort cannot cross {} inside a message: register the port under a name and \
             send the name instead",
            scope.transport
        );
        scope.refuse(why)
    })
}

/// Whether the value being (de)serialized crosses a transport.
pub(crate) fn is_current() -> bool {
    scope::with_innermost(|scope| matches!(scope, Some(Current::Transport(_))))
}

// --- ports ----------------------------------------------------------------

/// Where the messages of a [`proxy_port`] go: a transport's sending end
/// for one remote port.
///
/// # Safety
///
/// The port that [`proxy_port`] makes is [`Sendable`](crate::Sendable)
/// (for a `Sendable` `T`): its clones may be held by any number of
/// isolates, and the proxy's methods run on the thread of whichever one
/// sends, in parallel. Implement it only for a transport's sending end that
/// reaches no state an isolate's own code can reach, except through
/// synchronization that the transport owns and uses only to carry messages
/// (its queue to the network, its flow-control window). A proxy that holds
/// a user's shared mutable state (an `Arc<Mutex<_>>` that `main` also
/// holds) would let every isolate with the port touch it, which the
/// isolation guarantee forbids. `isolate-nats` implements it this way.
pub unsafe trait Proxy<T>: Send + Sync + 'static {
    /// Sends `message` on its way, without waiting for the network.
    ///
    /// # Errors
    ///
    /// Gives the message back: [`TrySendError::Full`] when the transport's
    /// flow-control window is full (then [`room`](Self::room) must be
    /// `Some`, and notified when there is room again),
    /// [`TrySendError::Closed`] when the port is known to be gone,
    /// [`TrySendError::Undeliverable`] when it could not be encoded.
    fn send(&self, message: T) -> Result<(), TrySendError<T>>;

    /// Whether the port is known to be gone.
    fn is_closed(&self) -> bool {
        false
    }

    /// Where senders wait when [`send`](Self::send) says the port is full:
    /// [`SendPort::send`] blocks on it, [`SendPort::send_async`] awaits it,
    /// as they wait for room in a bounded mailbox. `None` (the default) for
    /// a proxy that is never full.
    fn room(&self) -> Option<&Room> {
        None
    }
}

/// Where the senders of a [`Proxy`] that is full wait for room.
///
/// The proxy registers nothing: a sender that finds it full registers
/// here, tries once more, and waits; the proxy calls
/// [`notify_all`](Room::notify_all) whenever room comes back, so no sender
/// misses it.
#[derive(Debug, Default)]
pub struct Room {
    event: event_listener::Event,
}

impl Room {
    /// A room nobody waits in yet.
    pub fn new() -> Self {
        Room::default()
    }

    /// Wakes every sender waiting for room: each tries again.
    pub fn notify_all(&self) {
        self.event.notify(usize::MAX);
    }

    /// Registers a sender that found the port full.
    pub(crate) fn listen(&self) -> event_listener::EventListener {
        self.event.listen()
    }
}

/// A [`SendPort`] whose messages go to `proxy`. Its clones share the proxy,
/// which is dropped with the last of them.
///
/// # Examples
///
/// ```
/// use isolate_core::TrySendError;
/// use isolate_core::transport::{self, Proxy};
///
/// struct Printer;
/// // SAFETY: `Printer` has no state at all; it only writes to stdout.
/// unsafe impl Proxy<String> for Printer {
///     fn send(&self, message: String) -> Result<(), TrySendError<String>> {
///         println!("{message}");
///         Ok(())
///     }
/// }
///
/// let port = transport::proxy_port(Printer);
/// port.send("hello".to_owned()).unwrap();
/// ```
pub fn proxy_port<T: Send + 'static>(proxy: impl Proxy<T>) -> SendPort<T> {
    SendPort::from_inbox(Arc::new(ProxyInbox {
        proxy,
        _message: PhantomData,
    }))
}

struct ProxyInbox<P, T> {
    proxy: P,
    _message: PhantomData<fn(T)>,
}

impl<T: Send + 'static, P: Proxy<T>> Inbox<T> for ProxyInbox<P, T> {
    fn push(&self, message: T) -> Result<bool, TrySendError<T>> {
        self.proxy.send(message).map(|()| false)
    }

    fn listen(&self) -> Option<RoomListener<'_, T>> {
        let room = self.proxy.room()?;
        Some(RoomListener::detached(room.listen()))
    }

    fn schedule(self: Arc<Self>) {}

    fn add_sender(&self) {}

    fn remove_sender(&self) -> bool {
        false
    }

    fn is_closed(&self) -> bool {
        self.proxy.is_closed()
    }

    fn isolate_id(&self) -> Option<u64> {
        None
    }

    fn note_registered(&self, _name: Arc<str>) {}
}
