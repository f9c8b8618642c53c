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
//! stop.stop(); // in a server: `stop.stop_on_signals()?; stop.wait()?;`
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

    /// Gives this signal on the first Ctrl-C (`SIGINT`) or `SIGTERM` the
    /// process receives (feature `tokio`, which handles the signals). They
    /// are registered before this returns, so none is missed after.
    ///
    /// Registering takes the signals' default action (ending the process)
    /// away for as long as the process lives, as tokio's signal handling
    /// does; so that a shutdown that hangs can still be cut short, the next
    /// signal after the stop is given (by a signal or by the program) ends
    /// the process at once, with the status a shell reports for that signal
    /// (130 for `SIGINT`, 143 for `SIGTERM`). Two signals that come
    /// together (a terminal's Ctrl-C and a supervisor's `SIGTERM`) are
    /// therefore a forced exit. Off Unix, only Ctrl-C is watched.
    ///
    /// The signals are watched by a thread of the library's own (one per
    /// call, for the life of the process, asleep until a signal comes), so
    /// they keep working whatever happens to the isolate groups, and no
    /// group needs a tokio runtime for it. Call it once per process.
    ///
    /// # Errors
    ///
    /// The operating system's, if the signals cannot be registered or the
    /// thread cannot be started.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use isolate_core::prelude::*;
    /// use isolate_core::StopSignal;
    ///
    /// # async fn acceptor(_: StopSignal) {}
    /// let group = IsolateGroup::builder().tokio().build()?;
    /// let stop = StopSignal::new();
    /// stop.stop_on_signals()?;
    /// group.spawn_fn(acceptor, stop.clone()); // stops accepting on `stop`
    /// stop.wait()?; // until Ctrl-C or SIGTERM
    /// let report = group.drain(Duration::from_secs(10));
    /// eprintln!("{} connections cut at the deadline", report.stopped);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[cfg(feature = "tokio")]
    pub fn stop_on_signals(&self) -> std::io::Result<()> {
        os::stop_on_signals(self)
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
        // A timeout too long to add to now (`Duration::MAX`) waits for good.
        self.wait_until(Instant::now().checked_add(timeout))
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
mod os {
    //! Ctrl-C and `SIGTERM` as a [`StopSignal`], through tokio's signal
    //! handling, on a thread of its own.
    //!
    //! Not a task on a group's runtime: that would stop hearing signals
    //! when the group is dropped (while the signals' default action stays
    //! gone, so Ctrl-C would do nothing at all), never run on a user's
    //! current-thread runtime that nobody drives, and need the runtime's IO
    //! driver. One thread for the life of the process, asleep in the
    //! kernel, depends on none of that.

    use std::future::poll_fn;
    use std::io;
    use std::task::Poll;

    use super::StopSignal;

    /// Registers for the signals now (so one that comes right after this
    /// returns is not missed), gives `stop` on the first and ends the
    /// process on the next.
    pub(super) fn stop_on_signals(stop: &StopSignal) -> io::Result<()> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .build()?;
        let signals = {
            let _context = runtime.enter();
            Signals::register()?
        };
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("isolate-signals".into())
            .spawn(move || runtime.block_on(watch(signals, stop)))?;
        Ok(())
    }

    /// Gives `stop` on the first signal (unless the program gave it first),
    /// then exits on the next.
    async fn watch(mut signals: Signals, stop: StopSignal) {
        let mut stopped = std::pin::pin!(stop.stopped());
        let mut given = false;
        loop {
            let which = poll_fn(|cx| {
                if let Poll::Ready(which) = signals.poll(cx) {
                    return Poll::Ready(Some(which));
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
                Some((status, name)) => {
                    eprintln!("{name} again during a graceful shutdown: exiting now");
                    std::process::exit(status);
                }
            }
        }
    }

    /// The signals watched, each with the exit status of a process ended by
    /// it (128 + its number, as a shell reports a process the signal
    /// killed) and its name.
    struct Signals {
        #[cfg(unix)]
        interrupt: tokio::signal::unix::Signal,
        #[cfg(unix)]
        terminate: tokio::signal::unix::Signal,
        #[cfg(windows)]
        ctrl_c: tokio::signal::windows::CtrlC,
    }

    impl Signals {
        #[cfg(unix)]
        fn register() -> io::Result<Self> {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Signals {
                interrupt: signal(SignalKind::interrupt())?,
                terminate: signal(SignalKind::terminate())?,
            })
        }

        #[cfg(windows)]
        fn register() -> io::Result<Self> {
            Ok(Signals {
                ctrl_c: tokio::signal::windows::ctrl_c()?,
            })
        }

        fn poll(&mut self, cx: &mut std::task::Context<'_>) -> Poll<(i32, &'static str)> {
            #[cfg(unix)]
            {
                if self.interrupt.poll_recv(cx).is_ready() {
                    return Poll::Ready((130, "SIGINT"));
                }
                if self.terminate.poll_recv(cx).is_ready() {
                    return Poll::Ready((143, "SIGTERM"));
                }
            }
            #[cfg(windows)]
            if self.ctrl_c.poll_recv(cx).is_ready() {
                return Poll::Ready((130, "Ctrl-C"));
            }
            Poll::Pending
        }
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
