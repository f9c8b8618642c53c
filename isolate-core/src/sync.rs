//! The synchronisation primitives the scheduler is built on.
//!
//! Under `--cfg isolate_loom` they are loom's model-checked doubles, so that
//! `tests/loom.rs` explores every interleaving of the state machine and the
//! mailbox; otherwise they are the standard library's atomics and `parking_lot`'s
//! mutex.

#[cfg(isolate_loom)]
pub(crate) use loom::sync::{
    Mutex, MutexGuard,
    atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence},
};

#[cfg(not(isolate_loom))]
pub(crate) use crossbeam_utils::sync::{Parker, Unparker};
#[cfg(not(isolate_loom))]
pub(crate) use parking_lot::{Mutex, MutexGuard};

#[cfg(isolate_loom)]
pub(crate) use loom_parker::{Parker, Unparker};

/// A worker's parker under loom: crossbeam's semantics (one token, kept by
/// an unpark that comes before the park) on loom's mutex and condvar, so
/// that the model sees every interleaving of a park with its wake-ups.
#[cfg(isolate_loom)]
pub(crate) mod loom_parker {
    use loom::sync::{Arc, Condvar, Mutex};

    #[derive(Debug, Default)]
    struct Token {
        set: Mutex<bool>,
        changed: Condvar,
    }

    /// The parking end.
    #[derive(Debug)]
    pub struct Parker {
        unparker: Unparker,
    }

    /// The waking end.
    #[derive(Debug, Clone)]
    pub struct Unparker {
        token: Arc<Token>,
    }

    impl Default for Parker {
        fn default() -> Self {
            Self::new()
        }
    }

    impl Parker {
        /// A parker with no token.
        pub fn new() -> Self {
            Parker {
                unparker: Unparker {
                    token: Arc::new(Token::default()),
                },
            }
        }

        /// Waits for the token, and takes it.
        pub fn park(&self) {
            let token = &self.unparker.token;
            let mut set = token.set.lock().unwrap();
            while !*set {
                set = token.changed.wait(set).unwrap();
            }
            *set = false;
        }

        /// The waking end of this parker.
        pub fn unparker(&self) -> &Unparker {
            &self.unparker
        }
    }

    impl Unparker {
        /// Sets the token, waking the parked thread if there is one.
        pub fn unpark(&self) {
            *self.token.set.lock().unwrap() = true;
            self.token.changed.notify_one();
        }
    }
}
#[cfg(not(isolate_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering, fence};

/// Locks `mutex`.
///
/// The scheduler's locks are `parking_lot`'s: each is held for a few
/// instructions (a push, a pop, a slab insert), so spinning briefly before
/// parking is what they want, and a plain thread sending tells into a busy
/// isolate measured 1.7× faster than with the standard library's mutex,
/// whose waiters go to the kernel sooner (see docs/benchmarks.md). They
/// carry no poisoning, which the runtime never wanted anyway: it never runs
/// user code while it holds one of its own locks.
#[cfg(not(isolate_loom))]
#[inline]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock()
}

/// Locks `mutex`, ignoring poisoning (loom's mutex has the standard
/// library's API): a poisoned lock could only mean a panic inside the
/// runtime's own few lines, and the data is still consistent.
#[cfg(isolate_loom)]
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
