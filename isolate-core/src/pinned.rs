//! Pinned isolates: state built on one worker thread and kept there, so it
//! may hold `Rc`, `RefCell` and other `!Send` values.
//!
//! The scheduler does the pinning (a pinned isolate is queued only on its
//! home worker, which nobody steals from; see `scheduler/worker.rs`). This
//! module only makes sure the state is *created* there: the value that
//! crosses from the spawner's thread is the factory, which is `Send`, and
//! the state it returns never leaves the worker that called it.

use std::pin::Pin;
use std::task::{Context, Poll};

use crate::isolate::{Handled, Isolate};

/// A pinned isolate as the scheduler holds it: the factory until the first
/// run on the home worker, the state from then on.
pub(crate) struct Pinned<I> {
    factory: Option<Box<dyn FnOnce() -> I + Send>>,
    /// Boxed so that `Pinned` is `Unpin` whatever `I` is.
    state: Option<Box<I>>,
}

impl<I: Isolate> Pinned<I> {
    pub(crate) fn new(factory: impl FnOnce() -> I + Send + 'static) -> Self {
        Pinned {
            factory: Some(Box::new(factory)),
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
