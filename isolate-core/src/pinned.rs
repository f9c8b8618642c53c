//! Pinned isolates: state built on one worker thread and kept there, so it
//! may hold `Rc`, `RefCell` and other `!Send` values.
//!
//! The scheduler does the pinning (a pinned isolate is queued only on its
//! home worker, which nobody steals from; see `scheduler/worker.rs`). This
//! module only makes sure the state is *created* there: what crosses from
//! the spawner's thread is the factory, a `fn` pointer (code, which captures
//! nothing), and its data, which is `Sendable`; the state it returns never
//! leaves the worker that called it.
//!
//! A closure factory would be `Send` and still capture what the spawner
//! shares with others (a clone of its `Arc<Mutex<_>>`): the state would then
//! reach that mutex from inside the isolate, past every check. That is why
//! the factory is a `fn` and its data travels beside it, as `spawn_fn`'s
//! message does.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::isolate::{Handled, Isolate};
use crate::sendable::Sendable;

/// A pinned isolate as the scheduler holds it: the factory until the first
/// run on the home worker, the state from then on.
pub(crate) struct Pinned<I> {
    factory: Option<Box<dyn FnOnce() -> I + Send>>,
    /// Boxed so that `Pinned` is `Unpin` whatever `I` is.
    state: Option<Box<I>>,
}

impl<I: Isolate> Pinned<I> {
    pub(crate) fn new<D: Sendable>(factory: fn(D) -> I, data: D) -> Self {
        Pinned {
            factory: Some(Box::new(move || factory(data))),
            state: None,
        }
    }
}

impl<I: Isolate> Isolate for Pinned<I> {
    type Message = I::Message;
    type Port = I::Port;

    fn handle(&mut self, message: I::Message) -> Handled<'_> {
        match &mut self.state {
            Some(state) => state.handle(message),
            // The entry runs before any message, and a factory that panicked
            // ends the isolate; so this cannot happen.
            None => unreachable!("a pinned isolate handled a message before its state was built"),
        }
    }

    // Scheduled at spawn, like `spawn_fn`'s entry: the factory runs on the
    // home worker before the first message.
    const __HAS_ENTRY: bool = true;

    fn __poll_entry(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if let Some(factory) = this.factory.take() {
            this.state = Some(Box::new(factory()));
        }
        Poll::Ready(())
    }
}
