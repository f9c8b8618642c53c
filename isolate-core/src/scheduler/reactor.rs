//! A group's tokio reactor, driven by the group's own parked workers.
//!
//! A group built with `tokio()` owns a current-thread tokio runtime that no
//! thread of its own runs. A worker with nothing to do parks *inside* it
//! (`Runtime::block_on` of a future that ends when work arrives), so the
//! worker that waits for work is also the one that waits on sockets and
//! timers, as tokio's own workers wait on its IO driver. A socket that
//! becomes readable wakes its isolate on that worker, which runs it next,
//! with no hand-off between threads. A busy worker looks at the reactor
//! without waiting every few dozen runs, so that IO and timers are not
//! starved while no worker parks.
//!
//! Only one worker is in the runtime at a time (`busy`), so tokio's
//! scheduler core is always free when a worker enters: a worker never
//! waits for another to leave it.
//!
//! The runtime is held by the group's handle and by its workers, never by
//! the pool: the pool can be dropped by a tokio task inside the runtime,
//! and a runtime dropped from inside its own `block_on` panics.

#[cfg(feature = "tokio")]
pub(crate) use with_tokio::Reactor;
#[cfg(not(feature = "tokio"))]
pub(crate) use without_tokio::Reactor;

#[cfg(feature = "tokio")]
mod with_tokio {
    use std::future::Future;
    use std::sync::atomic::{AtomicBool, Ordering};

    /// The runtime, and who is in it.
    #[derive(Debug)]
    pub(crate) struct Reactor {
        /// `Some` until the drop, which shuts it down without blocking.
        runtime: Option<tokio::runtime::Runtime>,
        handle: tokio::runtime::Handle,
        /// Whether a worker is in the runtime's `block_on`.
        busy: AtomicBool,
    }

    impl Reactor {
        /// A runtime with IO and time drivers and no thread of its own
        /// (its blocking pool's threads are named `{name}-tokio`).
        pub(crate) fn new(name: &str) -> std::io::Result<Reactor> {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .thread_name(format!("{name}-tokio"))
                .enable_all()
                .build()?;
            Ok(Reactor {
                handle: runtime.handle().clone(),
                runtime: Some(runtime),
                busy: AtomicBool::new(false),
            })
        }

        /// The runtime's handle, which the workers enter.
        pub(crate) fn handle(&self) -> &tokio::runtime::Handle {
            &self.handle
        }

        /// Runs `future` to completion inside the runtime, driving its IO
        /// and timers (and its `tokio::spawn` tasks) meanwhile, unless
        /// another worker is in it: then `None`, at once.
        pub(crate) fn try_block_on<F: Future>(&self, future: F) -> Option<F::Output> {
            /// Lets the next worker in, even if `block_on` unwinds.
            struct Leave<'a>(&'a AtomicBool);
            impl Drop for Leave<'_> {
                fn drop(&mut self) {
                    self.0.store(false, Ordering::Release);
                }
            }
            let runtime = self.runtime.as_ref()?;
            self.busy
                .compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed)
                .ok()?;
            let _leave = Leave(&self.busy);
            Some(runtime.block_on(future))
        }

        /// Handles the IO and timer events that are ready, and runs the
        /// `tokio::spawn` tasks that are, without waiting. `false` if
        /// another worker is in the runtime (it handles them).
        pub(crate) fn poll(&self) -> bool {
            self.try_block_on(tokio::task::yield_now()).is_some()
        }
    }

    impl Drop for Reactor {
        fn drop(&mut self) {
            // In the background: the last handle may go on any thread,
            // where a runtime's blocking shutdown could panic.
            if let Some(runtime) = self.runtime.take() {
                runtime.shutdown_background();
            }
        }
    }
}

#[cfg(not(feature = "tokio"))]
mod without_tokio {
    use std::future::Future;

    /// Without the `tokio` feature a group has no reactor.
    #[derive(Debug)]
    pub(crate) enum Reactor {}

    impl Reactor {
        pub(crate) fn try_block_on<F: Future>(&self, _: F) -> Option<F::Output> {
            match *self {}
        }

        pub(crate) fn poll(&self) -> bool {
            match *self {}
        }
    }
}
