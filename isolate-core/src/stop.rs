//! Graceful shutdown: a signal that tells a server's isolates to stop
//! taking new work, and (with the `tokio` feature) the operating system's
//! Ctrl-C and `SIGTERM` as that signal.
//!
//! A server stops in three steps: its acceptors stop accepting, its
//! connections finish the request in flight and close, and the group is
//! shut down once they have (or once a deadline passes). The first two are
//! the isolates' own business, so the library gives them one thing to wait
//! for, a [`StopSignal`]; the third is
//! [`IsolateGroup::drain`](crate::IsolateGroup::drain).
//!
//! ```
//! use std::time::Duration;
//! use isolate_core::prelude::*;
//! use isolate_core::StopSignal;
//!
//! /// Works until told to stop, then finishes what it holds and ends.
//! async fn worker((stop, done): (StopSignal, SendPort<&'static str>)) {
//!     stop.stopped().await;
//!     let _ = done.send("finished in-flight work");
//! }
//!
//! let group = IsolateGroup::new();
//! let stop = StopSignal::new();
//! let mut done = ReceivePort::new();
//! group.spawn_fn(worker, (stop.clone(), done.send_port()));
//!
//! stop.stop(); // in a server: `group.stop_on_signals(&stop)?; stop.wait()?;`
//! let report = group.drain(Duration::from_secs(5));
//! assert_eq!(done.recv()?, "finished in-flight work");
//! assert!(report.is_clean());
//! assert_eq!(report.stopped, 0, "the worker ended by itself");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use event_listener::{Event, EventListener, Listener};

use crate::scheduler::worker;

/// A one-way signal shared by a server's isolates: once
/// [`stop`](Self::stop) is called, every clone reports it, every
/// [`stopped`](Self::stopped) future completes and every
/// [`wait`](Self::wait) returns. It never goes back.
///
/// It is [`Sendable`](crate::Sendable): clones go to the isolates that must
/// hear it (an acceptor that stops accepting, a connection that closes after
/// its current request). What they share is a single flag that only ever
/// goes from "running" to "stopped" and carries no data, so it is a
/// broadcast of one message without a payload, not shared mutable state.
///
/// See the [module documentation](crate::stop) for a whole shutdown.
#[derive(Clone, Default)]
pub struct StopSignal {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    event: Event,
}

// SAFETY: the only state behind the `Arc` is a flag that goes from false to
// true once and an `Event` that wakes waiters; neither carries data from
// one isolate to another or can be changed back, so sharing it lets no
// isolate observe another's state (see the audit table in
// docs/architecture.md).
unsafe impl crate::Sendable for StopSignal {}

impl StopSignal {
    /// A signal that has not been given.
    pub fn new() -> Self {
        Self::default()
    }

    /// Gives the signal: every clone reports [`is_stopped`](Self::is_stopped),
    /// and everything that waits on it wakes. Calling it again does nothing.
    pub fn stop(&self) {
        if !self.inner.stopped.swap(true, Ordering::SeqCst) {
            self.inner.event.notify(usize::MAX);
        }
    }

    /// Whether the signal has been given.
    pub fn is_stopped(&self) -> bool {
        self.inner.stopped.load(Ordering::SeqCst)
    }

    /// A future that completes once the signal is given (at once if it has
    /// been). Await it in an isolate, next to its work, with a `select`:
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures::FutureExt;
    /// use isolate_core::prelude::*;
    /// use isolate_core::{StopSignal, time};
    ///
    /// /// Ticks until told to stop, then reports how many times it ticked.
    /// async fn ticker((stop, ticks): (StopSignal, SendPort<u32>)) {
    ///     let mut every = time::interval(Duration::from_millis(1));
    ///     let mut stopped = stop.stopped();
    ///     let mut count = 0;
    ///     loop {
    ///         futures::select_biased! {
    ///             _ = stopped => break,
    ///             _ = every.tick().fuse() => count += 1,
    ///         }
    ///     }
    ///     let _ = ticks.send(count);
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let stop = StopSignal::new();
    /// let mut ticks = ReceivePort::new();
    /// stop.stop();
    /// group.spawn_fn(ticker, (stop, ticks.send_port()));
    /// assert_eq!(ticks.recv(), Ok(0), "stopped before its first tick");
    /// ```
    pub fn stopped(&self) -> Stopped {
        Stopped {
            signal: self.clone(),
            listener: None,
            done: false,
        }
    }

    /// Blocks the calling thread until the signal is given: what a server's
    /// `main` does once its isolates are running.
    ///
    /// # Errors
    ///
    /// [`BlockingInIsolate`] on a worker thread of an isolate group, where a
    /// blocked thread would stall other isolates: `.await`
    /// [`stopped`](Self::stopped) there instead.
    pub fn wait(&self) -> Result<(), BlockingInIsolate> {
        self.wait_until(None).map(|_| ())
    }

    /// As [`wait`](Self::wait), for at most `timeout`. Returns whether the
    /// signal was given.
    ///
    /// # Errors
    ///
    /// As [`wait`](Self::wait).
    pub fn wait_timeout(&self, timeout: Duration) -> Result<bool, BlockingInIsolate> {
        self.wait_until(Some(Instant::now() + timeout))
    }

    fn wait_until(&self, deadline: Option<Instant>) -> Result<bool, BlockingInIsolate> {
        if worker::must_not_block() {
            return Err(BlockingInIsolate);
        }
        loop {
            if self.is_stopped() {
                return Ok(true);
            }
            let listener = self.inner.event.listen();
            // Checked again after listening: a `stop` in between notified
            // before the listener existed.
            if self.is_stopped() {
                return Ok(true);
            }
            match deadline {
                None => listener.wait(),
                Some(deadline) => {
                    if listener.wait_deadline(deadline).is_none() {
                        return Ok(self.is_stopped());
                    }
                }
            }
        }
    }
}

impl fmt::Debug for StopSignal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StopSignal")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

/// The future of [`StopSignal::stopped`]: completes once the signal is
/// given. Dropping it cancels nothing but the wait.
#[must_use = "a future does nothing unless awaited"]
pub struct Stopped {
    signal: StopSignal,
    listener: Option<EventListener>,
    done: bool,
}

impl Future for Stopped {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            if self.signal.is_stopped() {
                self.listener = None;
                self.done = true;
                return Poll::Ready(());
            }
            match &mut self.listener {
                None => {
                    // Listen, then look again before sleeping: a `stop`
                    // between the look above and here woke nobody.
                    self.listener = Some(self.signal.inner.event.listen());
                }
                Some(listener) => {
                    if Pin::new(listener).poll(cx).is_pending() {
                        return Poll::Pending;
                    }
                    self.listener = None;
                }
            }
        }
    }
}

/// For `futures::select!`: done once it has completed (polling it again
/// is harmless, and completes again).
impl futures_core::FusedFuture for Stopped {
    fn is_terminated(&self) -> bool {
        self.done
    }
}

impl fmt::Debug for Stopped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stopped")
            .field("stopped", &self.signal.is_stopped())
            .finish()
    }
}

/// [`StopSignal::wait`] was called on a worker thread of an isolate group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockingInIsolate;

impl fmt::Display for BlockingInIsolate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "StopSignal::wait would block a worker thread of an isolate group; \
             `.await` StopSignal::stopped() there instead",
        )
    }
}

impl std::error::Error for BlockingInIsolate {}

#[cfg(feature = "tokio")]
pub(crate) mod os {
    //! Ctrl-C and `SIGTERM` as a [`StopSignal`], through tokio's signal
    //! driver (which the group's runtime already runs).

    use std::future::{Future, poll_fn};
    use std::pin::pin;
    use std::task::Poll;

    use super::StopSignal;

    /// The exit status of a process ended by a second signal: 128 + the
    /// signal's number, as a shell reports a process the signal killed.
    #[cfg(unix)]
    const FORCED: [(i32, &str); 2] = [(130, "SIGINT"), (143, "SIGTERM")];

    /// Registers for the signals now (so one that comes right after this
    /// returns is not missed), gives `stop` on the first, and ends the
    /// process on the next: registering takes the signals' default action
    /// away for good, and a server stuck in its grace period must still
    /// yield to a second Ctrl-C.
    pub(crate) fn stop_on_signals(
        runtime: &tokio::runtime::Handle,
        stop: &StopSignal,
    ) -> std::io::Result<()> {
        let _context = runtime.enter();
        let stop = stop.clone();
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let mut interrupt = signal(SignalKind::interrupt())?;
            let mut terminate = signal(SignalKind::terminate())?;
            runtime.spawn(async move {
                let mut stopped = pin!(stop.stopped());
                let mut given = false;
                loop {
                    let which = poll_fn(|cx| {
                        if interrupt.poll_recv(cx).is_ready() {
                            return Poll::Ready(Some(0));
                        }
                        if terminate.poll_recv(cx).is_ready() {
                            return Poll::Ready(Some(1));
                        }
                        if !given && stopped.as_mut().poll(cx).is_ready() {
                            return Poll::Ready(None);
                        }
                        Poll::Pending
                    })
                    .await;
                    match which {
                        // Stopped by the program: the next signal forces.
                        None => given = true,
                        Some(_) if !given => {
                            given = true;
                            stop.stop();
                        }
                        Some(index) => {
                            let (status, name) = FORCED[index];
                            eprintln!("{name} again during a graceful shutdown: exiting now");
                            std::process::exit(status);
                        }
                    }
                }
            });
        }
        #[cfg(not(unix))]
        runtime.spawn(async move {
            let mut stopped = pin!(stop.stopped());
            let mut first = pin!(tokio::signal::ctrl_c());
            let interrupted = poll_fn(|cx| {
                if let Poll::Ready(result) = first.as_mut().poll(cx) {
                    return Poll::Ready(result.is_ok());
                }
                if stopped.as_mut().poll(cx).is_ready() {
                    return Poll::Ready(false);
                }
                Poll::Pending
            })
            .await;
            if interrupted {
                stop.stop();
            }
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("Ctrl-C again during a graceful shutdown: exiting now");
                std::process::exit(130);
            }
        });
        Ok(())
    }
}

#[cfg(all(test, not(isolate_loom)))]
mod tests {
    use super::*;

    #[test]
    fn a_stop_wakes_every_clone_and_stays_given() {
        let stop = StopSignal::new();
        let clone = stop.clone();
        assert!(!clone.is_stopped());
        assert_eq!(clone.wait_timeout(Duration::from_millis(1)), Ok(false));
        let waiter = std::thread::spawn(move || clone.wait());
        stop.stop();
        stop.stop();
        assert_eq!(waiter.join().unwrap(), Ok(()));
        assert!(stop.is_stopped());
        futures::executor::block_on(stop.stopped());
    }

    #[test]
    fn a_stopped_future_wakes_when_the_signal_is_given_later() {
        let stop = StopSignal::new();
        let giver = stop.clone();
        let mut future = Box::pin(stop.stopped());
        let waker = futures::task::noop_waker();
        let mut cx = Context::from_waker(&waker);
        assert!(future.as_mut().poll(&mut cx).is_pending());
        let thread = std::thread::spawn(move || giver.stop());
        futures::executor::block_on(future);
        thread.join().unwrap();
    }
}
