//! What a value being (de)serialized crosses: a `spawn_uri` connection or
//! another [transport](crate::transport).
//!
//! Serde gives a `Serialize` impl no context, yet a [`SendPort`] or a
//! [`ReplySender`] must know where it is going to be encoded at all. The
//! encoder pushes a scope on a thread-local stack around the call into
//! postcard, and the impls in `wire.rs` read the innermost one. A stack,
//! not a slot: dropping a port while encoding can encode a frame for
//! another connection.
//!
//! [`SendPort`]: crate::SendPort
//! [`ReplySender`]: crate::ReplySender

use std::cell::RefCell;
use std::sync::Arc;

use super::peer::Peer;
use crate::transport;

/// One value being (de)serialized.
pub(crate) enum Scope {
    /// A frame of a `spawn_uri` connection, and the ids exported into it.
    Peer { peer: Arc<Peer>, exported: Vec<u64> },
    /// A message of another transport.
    Transport(transport::Scope),
}

thread_local! {
    static SCOPES: RefCell<Vec<Scope>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` inside `scope`, and gives the scope back with what `f` left in
/// it.
pub(crate) fn within<R>(scope: Scope, f: impl FnOnce() -> R) -> (R, Scope) {
    /// Pops the scope if `f` panics.
    struct Pop;
    impl Drop for Pop {
        fn drop(&mut self) {
            SCOPES.with(|scopes| scopes.borrow_mut().pop());
        }
    }
    SCOPES.with(|scopes| scopes.borrow_mut().push(scope));
    let guard = Pop;
    let result = f();
    std::mem::forget(guard);
    let scope = SCOPES.with(|scopes| scopes.borrow_mut().pop());
    (
        result,
        scope.expect("a scope is popped only by the call that pushed it"),
    )
}

/// Runs `f` on the innermost scope, if there is one. `f` must not encode or
/// decode: the stack is borrowed while it runs.
pub(crate) fn with_innermost<R>(f: impl FnOnce(Option<&mut Scope>) -> R) -> R {
    SCOPES.with(|scopes| f(scopes.borrow_mut().last_mut()))
}

/// As [`with_innermost`], during the thread's teardown too: then the
/// stack is gone, and `value` is given back.
pub(crate) fn try_with_innermost<V, R>(
    value: V,
    f: impl FnOnce(V, Option<&mut Scope>) -> R,
) -> Result<R, V> {
    let mut value = Some(value);
    SCOPES
        .try_with(|scopes| {
            let value = value.take().expect("taken once");
            f(value, scopes.borrow_mut().last_mut())
        })
        .map_err(|_| value.take().expect("not taken when the stack is gone"))
}
