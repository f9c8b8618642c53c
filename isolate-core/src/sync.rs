//! The synchronisation primitives the scheduler is built on.
//!
//! Under `--cfg isolate_loom` they are loom's model-checked doubles, so that
//! `tests/loom.rs` explores every interleaving of the state machine and the
//! mailbox; otherwise they are the standard library's.

#[cfg(isolate_loom)]
pub(crate) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicUsize, Ordering, fence},
};

#[cfg(not(isolate_loom))]
pub(crate) use std::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicUsize, Ordering, fence},
};

/// Locks `mutex`, ignoring poisoning.
///
/// The runtime never runs user code while it holds one of its own locks (user
/// values are always dropped after the guard), so a poisoned lock can only
/// mean a panic inside the runtime's own few lines; the data is still
/// consistent and refusing to go on would turn one panic into many.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
