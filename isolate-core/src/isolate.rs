//! The [`Isolate`] trait: a unit of private state and the handler for its
//! messages.

use std::future::Future;
use std::pin::Pin;

use crate::port::SendPort;
use crate::sendable::Sendable;

/// A unit of private state that handles its messages one at a time.
///
/// The `#[isolate]` macro implements this trait for you, with a message enum,
/// the dispatch, and a typed port (see the [crate docs](crate#the-macros)).
/// Implement it by hand when you want the message type in your own hands.
///
/// Messages are handled one at a time, in the order they arrived (FIFO per
/// sender). When [`handle`](Isolate::handle) returns [`Handled::Async`], the
/// runtime polls that future to completion before it takes the next message,
/// so an `async` handler still sees the state alone.
///
/// The trait does not require `Send`: [`IsolateGroup::spawn`] does (through
/// [`Sendable`]), because an ordinary isolate moves between the group's
/// threads. An isolate whose state holds `Rc`, `RefCell` or other `!Send`
/// values is spawned with [`IsolateGroup::spawn_pinned`] instead: its state
/// is built on one worker thread and never leaves it.
///
/// [`IsolateGroup::spawn`]: crate::IsolateGroup::spawn
/// [`IsolateGroup::spawn_pinned`]: crate::IsolateGroup::spawn_pinned
///
/// An isolate ends when every port to it is dropped and its mailbox is
/// empty, when a handler panics (the panic is caught, the isolate's pending
/// asks fail with an error, and the rest of the group goes on), or when its
/// group is dropped.
///
/// # An async handler holds its isolate
///
/// While an async handler is pending, its isolate handles no other message:
/// that is what lets the handler borrow `self`. So a handler that awaits an
/// ask to its *own* isolate waits forever, and so do two isolates whose
/// handlers await asks to each other at the same time. Dart's event loop
/// would interleave the other messages (and let the state change under the
/// handler's feet). Here, ask other isolates from an async handler, never
/// your own, and avoid cycles of awaited asks; a tell (which awaits nothing)
/// is always safe. `Reply::wait_timeout` (on a plain thread) or a timeout
/// around the `.await` bounds the wait when a cycle is possible.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
///
/// #[message] // the state moves into the isolate, so it is checked too
/// struct Counter(u64);
///
/// #[message]
/// enum CounterMsg {
///     Add(u64),
///     Get(ReplySender<u64>),
/// }
///
/// impl Isolate for Counter {
///     type Message = CounterMsg;
///     type Port = SendPort<CounterMsg>;
///
///     fn handle(&mut self, message: CounterMsg) -> Handled<'_> {
///         match message {
///             CounterMsg::Add(n) => self.0 += n,
///             CounterMsg::Get(reply) => reply.send(self.0),
///         }
///         Handled::Done
///     }
/// }
///
/// let group = IsolateGroup::new();
/// let counter = group.spawn(Counter(0));
/// counter.send(CounterMsg::Add(2)).unwrap();
/// let total = counter.ask(CounterMsg::Get).wait().unwrap();
/// assert_eq!(total, 2);
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not an isolate",
    label = "`{Self}` does not implement `Isolate`",
    note = "write `#[isolate]` on `{Self}`'s struct and on an impl block whose handlers are marked `#[message]`, or implement `Isolate` by hand"
)]
pub trait Isolate: Sized + 'static {
    /// What the isolate receives.
    type Message: Sendable;

    /// What [`IsolateGroup::spawn`](crate::IsolateGroup::spawn) returns: the
    /// raw [`SendPort`] of the mailbox, or a typed wrapper around it such as
    /// the `CounterPort` that `#[isolate]` generates.
    type Port: From<SendPort<Self::Message>>;

    /// Handles one message.
    ///
    /// Return [`Handled::Done`] when the work is done, or
    /// [`Handled::Async`] with a future (which may borrow `self`) that the
    /// runtime awaits before the next message.
    fn handle(&mut self, message: Self::Message) -> Handled<'_>;

    /// Whether the value carries its own entry future (the runtime's
    /// `spawn_fn` isolates). Not part of the API.
    #[doc(hidden)]
    const __HAS_ENTRY: bool = false;

    /// Polls the value's own entry future, pinned where the value lives.
    /// Not part of the API.
    #[doc(hidden)]
    fn __poll_entry(self: Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<()> {
        let _ = cx;
        std::task::Poll::Ready(())
    }
}

/// What [`Isolate::handle`] did with a message.
///
/// # Examples
///
/// An async handler: the future may borrow `self`, and the isolate takes no
/// other message until it completes.
///
/// ```
/// use isolate_core::prelude::*;
///
/// #[message]
/// struct Relay { log: Vec<String> }
///
/// #[message]
/// enum Msg { Fetch(SendPort<SendPort<String>>, ReplySender<usize>) }
///
/// impl Isolate for Relay {
///     type Message = Msg;
///     type Port = SendPort<Msg>;
///     fn handle(&mut self, Msg::Fetch(source, done): Msg) -> Handled<'_> {
///         Handled::future(async move {
///             let mut inbox = ReceivePort::new();
///             source.send(inbox.send_port()).unwrap();
///             if let Ok(line) = inbox.recv_async().await {
///                 self.log.push(line);
///             }
///             done.send(self.log.len());
///         })
///     }
/// }
///
/// let group = IsolateGroup::new();
/// let relay = group.spawn(Relay { log: Vec::new() });
/// let mut requests = ReceivePort::<SendPort<String>>::new();
/// let count = relay.ask(|done| Msg::Fetch(requests.send_port(), done));
/// requests.recv().unwrap().send("a line".to_owned()).unwrap();
/// assert_eq!(count.wait(), Ok(1));
/// ```
#[must_use = "return this from `Isolate::handle`"]
pub enum Handled<'a> {
    /// The message is fully handled.
    Done,
    /// The message is handled once this future completes. It runs inside the
    /// isolate, which takes no other message until then.
    Async(Pin<Box<dyn Future<Output = ()> + Send + 'a>>),
    /// As `Async`, for a future that is not `Send` (one that holds an `Rc`
    /// of a pinned isolate's state across an `.await`). Only a pinned
    /// isolate ([`IsolateGroup::spawn_pinned`](crate::IsolateGroup::spawn_pinned))
    /// may return it, since only its runs never change threads. From any
    /// other isolate the future is dropped unpolled, on the spot, and the
    /// message fails as a handler panic would.
    Local(Pin<Box<dyn Future<Output = ()> + 'a>>),
}

impl<'a> Handled<'a> {
    /// Wraps an `async` block or any future: `Handled::future(async move { ... })`.
    pub fn future(future: impl Future<Output = ()> + Send + 'a) -> Self {
        Handled::Async(Box::pin(future))
    }

    /// Wraps a future that need not be `Send`, for a pinned isolate's
    /// handler: `Handled::local(async move { ... })`.
    pub fn local(future: impl Future<Output = ()> + 'a) -> Self {
        Handled::Local(Box::pin(future))
    }
}

impl std::fmt::Debug for Handled<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Handled::Done => f.write_str("Handled::Done"),
            Handled::Async(_) => f.write_str("Handled::Async(..)"),
            Handled::Local(_) => f.write_str("Handled::Local(..)"),
        }
    }
}
