//! Time inside isolates: [`sleep`], [`sleep_until`], [`timeout`] and
//! [`interval`], futures that an async handler or a `spawn_fn` entry
//! awaits, as a Dart isolate awaits `Future.delayed`.
//!
//! They are driven by the timer thread of the group they are first polled
//! in (the thread behind [`send_after`](crate::IsolateGroup::send_after)),
//! so waiting costs no worker: the isolate's state stays where it is, its
//! worker runs other isolates, and the timer's firing schedules it again.
//! While an async handler sleeps, the isolate's next message waits, as for
//! any other `.await` in a handler.
//!
//! In a [deterministic group](crate::deterministic) they run on the group's
//! virtual clock: a test that sleeps for an hour takes no time, and two
//! sleeps end in the order of their deadlines, the same for every seed.
//! [`now`] reads the same clock.
//!
//! Outside any group (on a plain thread, under another executor) they use
//! the global group's timer thread, on real time.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use isolate_core::prelude::*;
//! use isolate_core::time;
//!
//! #[isolate]
//! struct Debouncer {
//!     calls: u32,
//! }
//!
//! #[isolate]
//! impl Debouncer {
//!     #[message]
//!     async fn call(&mut self) -> u32 {
//!         // Waits without holding a worker; the next message waits too.
//!         time::sleep(Duration::from_millis(10)).await;
//!         self.calls += 1;
//!         self.calls
//!     }
//! }
//!
//! let group = IsolateGroup::new();
//! let debouncer = group.spawn(Debouncer { calls: 0 });
//! assert_eq!(debouncer.call().wait(), Ok(1));
//! ```
//!
//! On virtual time, an hour passes at once:
//!
//! ```
//! use std::time::Duration;
//! use isolate_core::time;
//!
//! isolate_core::deterministic::check(0..3, |_group| async move {
//!     let start = time::now();
//!     time::sleep(Duration::from_secs(3600)).await;
//!     assert!(time::now() - start >= Duration::from_secs(3600));
//! });
//! ```

use std::fmt;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use atomic_waker::AtomicWaker;

use crate::scheduler::pool::Pool;
use crate::scheduler::worker;
use crate::timer::{Next, Timer};

/// The pool whose timers drive a time future polled here: the group of the
/// isolate (or deterministic driver) on this thread, else the global group.
fn current_pool() -> Arc<Pool> {
    worker::current_pool().unwrap_or_else(|| crate::IsolateGroup::global().pool().clone())
}

/// The current time on the clock of the group this runs in: the virtual
/// clock of a deterministic group, real time anywhere else.
///
/// # Examples
///
/// ```
/// let before = std::time::Instant::now();
/// assert!(isolate_core::time::now() >= before);
/// ```
pub fn now() -> Instant {
    current_pool().timers.now()
}

/// Waits for `duration` to pass: a future that completes once the group's
/// clock has moved on by `duration` from its first poll.
///
/// A zero duration completes at the first poll. Dropping the future
/// cancels its timer.
///
/// # Examples
///
/// ```
/// use std::time::{Duration, Instant};
///
/// let start = Instant::now();
/// futures::executor::block_on(isolate_core::time::sleep(Duration::from_millis(5)));
/// assert!(start.elapsed() >= Duration::from_millis(5));
/// ```
pub fn sleep(duration: Duration) -> Sleep {
    Sleep {
        wait: Wait::For(duration),
        armed: None,
    }
}

/// Waits until `deadline` on the group's clock (see [`now`]). A deadline in
/// the past completes at the first poll.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use isolate_core::time;
///
/// let deadline = time::now() + Duration::from_millis(5);
/// futures::executor::block_on(time::sleep_until(deadline));
/// assert!(time::now() >= deadline);
/// ```
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep {
        wait: Wait::Until(deadline),
        armed: None,
    }
}

/// The future of [`sleep`] and [`sleep_until`].
#[must_use = "a sleep does nothing unless awaited"]
pub struct Sleep {
    wait: Wait,
    armed: Option<Armed>,
}

enum Wait {
    /// From the first poll.
    For(Duration),
    Until(Instant),
}

/// A sleep's timer, once it is scheduled.
struct Armed {
    deadline: Instant,
    timer: Timer,
    shared: Arc<Shared>,
}

/// What the timer thread and the sleeping future share.
#[derive(Default)]
struct Shared {
    fired: AtomicBool,
    waker: AtomicWaker,
}

impl Sleep {
    /// The instant this sleep ends at, once it has been polled; before its
    /// first poll, a [`sleep`] has no deadline yet.
    pub fn deadline(&self) -> Option<Instant> {
        match (&self.armed, &self.wait) {
            (Some(armed), _) => Some(armed.deadline),
            (None, Wait::Until(deadline)) => Some(*deadline),
            (None, Wait::For(_)) => None,
        }
    }

    /// Whether the deadline has passed (the timer fired).
    pub fn is_elapsed(&self) -> bool {
        self.armed
            .as_ref()
            .is_some_and(|armed| armed.shared.fired.load(Ordering::Acquire))
    }

    /// Schedules the timer, or says the deadline has passed already.
    fn arm(&mut self) -> Poll<()> {
        let pool = current_pool();
        let now = pool.timers.now();
        let deadline = match self.wait {
            Wait::For(duration) => now.checked_add(duration).unwrap_or(now + FAR_FUTURE),
            Wait::Until(deadline) => deadline,
        };
        let delay = deadline.saturating_duration_since(now);
        if delay.is_zero() {
            return Poll::Ready(());
        }
        let shared = Arc::new(Shared::default());
        let fired = shared.clone();
        let timer = pool.timers.schedule(
            &pool.name,
            delay,
            None,
            Box::new(move || {
                fired.fired.store(true, Ordering::Release);
                fired.waker.wake();
                Next::Done
            }),
        );
        if timer.is_cancelled() {
            // The group is shutting down: no timer will fire. Waiting would
            // hang; the sleep ends instead, as everything in the group does.
            return Poll::Ready(());
        }
        self.armed = Some(Armed {
            deadline,
            timer,
            shared,
        });
        Poll::Pending
    }
}

/// Far enough to be "never" for a sleep whose deadline overflows `Instant`.
const FAR_FUTURE: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let armed = match &self.armed {
            Some(armed) => armed,
            None => {
                if self.arm().is_ready() {
                    return Poll::Ready(());
                }
                self.armed.as_ref().expect("armed just now")
            }
        };
        // Registered before the check, so a firing in between still wakes.
        armed.shared.waker.register(cx.waker());
        if armed.shared.fired.load(Ordering::Acquire) {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(armed) = &self.armed {
            armed.timer.cancel();
        }
    }
}

impl fmt::Debug for Sleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sleep")
            .field("deadline", &self.deadline())
            .field("elapsed", &self.is_elapsed())
            .finish()
    }
}

/// Runs `future` for at most `duration`: its output, or [`Elapsed`] if the
/// group's clock reached the deadline first (the future is then dropped).
///
/// The future is polled first, so one that is ready at once is never
/// reported as elapsed.
///
/// # Errors
///
/// [`Elapsed`] when the deadline passed before the future completed.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use isolate_core::time::{self, Elapsed};
///
/// futures::executor::block_on(async {
///     let quick = time::timeout(Duration::from_secs(5), async { 7 }).await;
///     assert_eq!(quick, Ok(7));
///
///     let slow = time::sleep(Duration::from_secs(5));
///     let late = time::timeout(Duration::from_millis(5), slow).await;
///     assert_eq!(late, Err(Elapsed));
/// });
/// ```
pub async fn timeout<F: Future>(duration: Duration, future: F) -> Result<F::Output, Elapsed> {
    let mut future = pin!(future);
    let mut deadline = sleep(duration);
    poll_fn(|cx| {
        if let Poll::Ready(output) = future.as_mut().poll(cx) {
            return Poll::Ready(Ok(output));
        }
        Pin::new(&mut deadline).poll(cx).map(|()| Err(Elapsed))
    })
    .await
}

/// The deadline of a [`timeout`] passed before its future completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Elapsed;

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "the deadline passed before the future completed (it was dropped); give it more \
             time, or handle the timeout",
        )
    }
}

impl std::error::Error for Elapsed {}

/// Ticks every `period`: the first [`tick`](Interval::tick) completes at
/// once, the next ones at `start + period`, `start + 2 × period`, and so on.
///
/// A tick that is late (the isolate was busy past a tick's time) completes
/// at once, and the ticks missed meanwhile are skipped, not burst: the next
/// one is the first multiple of `period` after now. So a slow consumer
/// sees fewer ticks, never a backlog.
///
/// # Panics
///
/// If `period` is zero.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use isolate_core::time;
///
/// isolate_core::deterministic::check(0..3, |_group| async move {
///     let mut every = time::interval(Duration::from_secs(60));
///     let first = every.tick().await;
///     let second = every.tick().await;
///     assert_eq!(second - first, Duration::from_secs(60));
/// });
/// ```
pub fn interval(period: Duration) -> Interval {
    assert!(
        !period.is_zero(),
        "an interval's period must be more than zero"
    );
    Interval {
        period,
        next: None,
        sleep: None,
    }
}

/// The ticker of [`interval`]. Also a [`Stream`](futures_core::Stream) of
/// tick instants.
#[derive(Debug)]
pub struct Interval {
    period: Duration,
    /// The next tick's time; `None` before the first tick.
    next: Option<Instant>,
    sleep: Option<Sleep>,
}

impl Interval {
    /// Waits for the next tick and returns its scheduled time.
    pub async fn tick(&mut self) -> Instant {
        poll_fn(|cx| self.poll_tick(cx)).await
    }

    /// The period between ticks.
    pub fn period(&self) -> Duration {
        self.period
    }

    /// Polls for the next tick: the poll form of [`tick`](Self::tick).
    pub fn poll_tick(&mut self, cx: &mut Context<'_>) -> Poll<Instant> {
        let now = now();
        let due = *self.next.get_or_insert(now);
        if due > now {
            let sleep = self.sleep.get_or_insert_with(|| sleep_until(due));
            if Pin::new(sleep).poll(cx).is_pending() {
                return Poll::Pending;
            }
        }
        self.sleep = None;
        // Skips the ticks missed while the consumer was busy. A period so
        // long that the next tick is past what `Instant` holds never ticks
        // again.
        let far = |from: Instant| from.checked_add(FAR_FUTURE).unwrap_or(from);
        let mut next = due.checked_add(self.period).unwrap_or_else(|| far(due));
        let now = self::now();
        if next <= now {
            let behind = (now - due).as_nanos() / self.period.as_nanos();
            let periods = u32::try_from(behind.saturating_add(1)).unwrap_or(u32::MAX);
            next = self
                .period
                .checked_mul(periods)
                .and_then(|skip| due.checked_add(skip))
                .unwrap_or_else(|| far(now));
        }
        self.next = Some(next);
        Poll::Ready(due)
    }
}

impl futures_core::Stream for Interval {
    type Item = Instant;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Instant>> {
        self.poll_tick(cx).map(Some)
    }
}
