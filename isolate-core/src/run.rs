//! Dart's `Isolate.run` and `Isolate.exit`: one-off computations in a new
//! isolate, and ending the current one with a last message.

use std::any::Any;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use crate::control::SpawnOptions;
use crate::error::{ExitError, RemoteError, RemoteErrorKind, ReplyError, TrySendError};
use crate::group::IsolateGroup;
use crate::port::SendPort;
use crate::reply::{Reply, ReplySender};
use crate::scheduler::cell::{self, ExitSignal};
use crate::scheduler::worker;
use crate::sendable::Sendable;

/// Runs `computation` in a new isolate on the [global
/// group](IsolateGroup::global) and returns its result, moved back without a
/// copy (Dart's `Isolate.run`). Blocks the calling thread until then.
///
/// `computation` captures nothing: a closure that captures a variable is
/// refused at compile time (Dart's closures over-capture, and then fail at
/// run time with "Illegal argument in isolate message"). Pass data with
/// [`run_with`].
///
/// # Errors
///
/// A panic inside comes back as a [`RemoteError`] carrying the panic message
/// ([`RemoteErrorKind::Panicked`]); it never hangs the caller. On an isolate
/// group's worker thread this refuses to block and returns
/// [`RemoteErrorKind::BlockingInIsolate`]: use [`run_async`] there.
///
/// # Examples
///
/// ```
/// let sum = isolate_core::run(|| (1..=100u64).sum::<u64>())?;
/// assert_eq!(sum, 5050);
///
/// let failed = isolate_core::run(|| -> u8 { panic!("boom") }).unwrap_err();
/// assert_eq!(failed.message(), "boom");
/// # Ok::<(), isolate_core::RemoteError>(())
/// ```
pub fn run<R: Sendable>(computation: fn() -> R) -> Result<R, RemoteError> {
    blocking(computation, |computation| computation())
}

/// Runs `computation(data)` in a new isolate on the global group, moving
/// `data` in and the result out. Blocks until then. See [`run`].
///
/// # Errors
///
/// As [`run`].
///
/// # Examples
///
/// ```
/// let words = vec!["a".to_owned(), "bb".to_owned(), "ccc".to_owned()];
/// let total = isolate_core::run_with(words, |words| words.iter().map(String::len).sum::<usize>())?;
/// assert_eq!(total, 6);
/// # Ok::<(), isolate_core::RemoteError>(())
/// ```
pub fn run_with<D: Sendable, R: Sendable>(
    data: D,
    computation: fn(D) -> R,
) -> Result<R, RemoteError> {
    blocking(data, computation)
}

fn blocking<D, R>(data: D, computation: fn(D) -> R) -> Result<R, RemoteError>
where
    D: Send + 'static,
    R: Send + 'static,
{
    may_block("run")?;
    settle(start(data, computation).wait())
}

/// The async form of [`run`]: starts the computation at once and returns a
/// [`RunFuture`] to await its result, so it works inside isolates and in any
/// async runtime.
///
/// The computation starts when this function is called, not when the future
/// is first polled (as `tokio::spawn`), so that many can run at once:
///
/// ```
/// # futures::executor::block_on(async {
/// let running: Vec<_> = (0..4u64)
///     .map(|n| isolate_core::run_with_async(n, |n| n * n))
///     .collect();
/// let mut squares = Vec::new();
/// for result in running {
///     squares.push(result.await?);
/// }
/// assert_eq!(squares, [0, 1, 4, 9]);
/// # Ok::<(), isolate_core::RemoteError>(())
/// # }).unwrap();
/// ```
///
/// Dropping the future does not stop the computation; its result is dropped.
///
/// # Errors
///
/// The future resolves as [`run`] returns, except that it never refuses to
/// run.
pub fn run_async<R: Sendable>(computation: fn() -> R) -> RunFuture<R> {
    RunFuture {
        reply: start(computation, |computation| computation()),
    }
}

/// The async form of [`run_with`]; see [`run_async`].
///
/// # Errors
///
/// As [`run_async`].
pub fn run_with_async<D: Sendable, R: Sendable>(data: D, computation: fn(D) -> R) -> RunFuture<R> {
    RunFuture {
        reply: start(data, computation),
    }
}

/// Runs the async computation `computation(data)` in a new isolate on the
/// global group (Dart's `Isolate.run(() async { .. })`): the isolate awaits
/// what `computation` returns, so the computation may sleep, receive from
/// ports, ask other isolates and await IO, and the result comes back when
/// it completes. `computation` is a `fn` (an `async fn` is one) and
/// `data` is `Sendable`, as for [`run_with`]: the future is made inside the
/// isolate, from `data`, so it can capture nothing of the caller's.
///
/// # Errors
///
/// As [`run_async`]: a panic while the future is made or polled comes back
/// as a [`RemoteError`] ([`RemoteErrorKind::Panicked`]), and an isolate
/// that ends first (killed, or its group gone) as "the computation ended
/// without a result".
///
/// # Examples
///
/// ```
/// use std::time::Duration;
///
/// async fn slow_double(n: u64) -> u64 {
///     isolate_core::time::sleep(Duration::from_millis(5)).await;
///     n * 2
/// }
///
/// let doubled = isolate_core::run_future(21, slow_double).wait()?;
/// assert_eq!(doubled, 42);
/// # Ok::<(), isolate_core::RemoteError>(())
/// ```
pub fn run_future<D, F, R>(data: D, computation: fn(D) -> F) -> RunFuture<R>
where
    D: Sendable,
    F: Future<Output = R> + Send + 'static,
    R: Sendable,
{
    let (reply_to, reply) = Reply::channel();
    let future = async move {
        let outcome = match catch_unwind(AssertUnwindSafe(|| computation(data))) {
            Ok(future) => Caught(Box::pin(future)).await,
            Err(payload) => Err(payload),
        };
        match outcome {
            Ok(value) => reply_to.send(Ok(value)),
            Err(payload) if payload.is::<ExitSignal>() => {
                drop(reply_to);
                resume_unwind(payload)
            }
            Err(payload) => {
                reply_to.send(Err(RemoteError::panicked(cell::panic_message(&*payload))))
            }
        }
    };
    IsolateGroup::global().spawn_future(future, SpawnOptions::default());
    RunFuture { reply }
}

/// A future whose panics are caught, poll by poll, as `catch_unwind` does
/// for a call. Boxed, so that no pin projection (no `unsafe`) is needed.
struct Caught<F>(Pin<Box<F>>);

impl<F: Future> Future for Caught<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let future = self.0.as_mut();
        match catch_unwind(AssertUnwindSafe(|| future.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(value)) => Poll::Ready(Ok(value)),
            Err(payload) => Poll::Ready(Err(payload)),
        }
    }
}

/// The result of [`run_async`] or [`run_with_async`], still to come.
#[must_use = "the computation runs anyway; await this to get its result"]
#[derive(Debug)]
pub struct RunFuture<R> {
    reply: Reply<Result<R, RemoteError>>,
}

impl<R> RunFuture<R> {
    /// The future of a result that `reply` will carry.
    pub(crate) fn from_reply(reply: Reply<Result<R, RemoteError>>) -> Self {
        RunFuture { reply }
    }

    /// Blocks the thread until the result arrives: the form for plain
    /// threads that started several computations at once.
    ///
    /// # Errors
    ///
    /// As [`run`]: a panic comes back as a [`RemoteError`]; on an isolate
    /// group's worker thread this refuses to block
    /// ([`RemoteErrorKind::BlockingInIsolate`]) and the result is lost.
    ///
    /// # Examples
    ///
    /// ```
    /// let running: Vec<_> = (1..=3u64).map(|n| isolate_core::run_with_async(n, |n| n * 10)).collect();
    /// let results: Result<Vec<u64>, _> = running.into_iter().map(|r| r.wait()).collect();
    /// assert_eq!(results?, [10, 20, 30]);
    /// # Ok::<(), isolate_core::RemoteError>(())
    /// ```
    pub fn wait(self) -> Result<R, RemoteError> {
        may_block("RunFuture::wait")?;
        settle(self.reply.wait())
    }
}

impl<R> Future for RunFuture<R> {
    type Output = Result<R, RemoteError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.reply).poll(cx).map(settle)
    }
}

/// Runs `computation` on every item of `items`, each in its own isolate on
/// the global group, and gathers the results in input order: the form for
/// offloading many small computations at once.
///
/// The computations start when this function is called. The caller is woken
/// once, when the last one ends, instead of once per result: awaiting 10,000
/// [`run_with_async`] futures one by one costs the waiting thread 10,000
/// wake-ups, about 3 µs each on a 2-core machine, which this avoids (see
/// `docs/benchmarks.md`). Each computation still gets an isolate of its
/// own, so one that panics cannot disturb the others.
///
/// # Errors
///
/// The returned [`RunMany`] resolves to the results in input order, or to
/// the error of the first item (in input order) whose computation panicked
/// ([`RemoteErrorKind::Panicked`], with the panic's message) or ended
/// without a result ([`RemoteErrorKind::Stopped`]). Every computation runs
/// to its end either way.
///
/// # Examples
///
/// ```
/// let squares = isolate_core::run_many(1..=4u64, |n| n * n).wait()?;
/// assert_eq!(squares, [1, 4, 9, 16]);
///
/// let failed = isolate_core::run_many([1u8, 0, 2], |n| 10 / n).wait().unwrap_err();
/// assert_eq!(failed.message(), "attempt to divide by zero");
/// # Ok::<(), isolate_core::RemoteError>(())
/// ```
pub fn run_many<D, R>(items: impl IntoIterator<Item = D>, computation: fn(D) -> R) -> RunMany<R>
where
    D: Sendable,
    R: Sendable,
{
    let items: Vec<D> = items.into_iter().collect();
    let (reply_to, reply) = Reply::channel();
    let batch = Arc::new(Batch {
        results: Mutex::new(std::iter::repeat_with(|| None).take(items.len()).collect()),
        remaining: AtomicUsize::new(items.len()),
        reply_to: Mutex::new(Some(reply_to)),
    });
    if items.is_empty() {
        batch.finish();
    }
    let group = IsolateGroup::global();
    for (index, data) in items.into_iter().enumerate() {
        let slot = Slot {
            batch: batch.clone(),
            index,
            result: None,
        };
        let future = async move {
            match compute(data, computation) {
                Computed::Value(result) => slot.fill(result),
                Computed::Exited(payload) => {
                    drop(slot);
                    resume_unwind(payload)
                }
            }
        };
        group.spawn_future(future, SpawnOptions::default());
    }
    RunMany { reply }
}

/// What a [`RunMany`] resolves to.
type Gathered<R> = Result<Vec<R>, RemoteError>;

/// The results of one [`run_many`], filled in as its computations end.
struct Batch<R> {
    results: Mutex<Vec<Option<Result<R, RemoteError>>>>,
    /// Computations not yet ended; the one that takes it to zero answers.
    remaining: AtomicUsize,
    reply_to: Mutex<Option<ReplySender<Gathered<R>>>>,
}

impl<R> Batch<R> {
    /// Sends every result to the caller: called once, by the last slot.
    fn finish(&self) {
        let results =
            std::mem::take(&mut *self.results.lock().unwrap_or_else(PoisonError::into_inner));
        let results = results
            .into_iter()
            .map(|result| result.unwrap_or_else(|| Err(stopped())))
            .collect();
        let reply_to = self
            .reply_to
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(reply_to) = reply_to {
            reply_to.send(results);
        }
    }
}

/// One computation's place in a [`Batch`]. It reports when dropped, so a
/// computation that never ran (its group shut down) or that called
/// [`exit`] still counts, as [`RemoteErrorKind::Stopped`]: the caller
/// never waits for a result that cannot come.
struct Slot<R> {
    batch: Arc<Batch<R>>,
    index: usize,
    result: Option<Result<R, RemoteError>>,
}

impl<R> Slot<R> {
    fn fill(mut self, result: Result<R, RemoteError>) {
        self.result = Some(result);
    }
}

impl<R> Drop for Slot<R> {
    fn drop(&mut self) {
        let result = self.result.take().unwrap_or_else(|| Err(stopped()));
        self.batch
            .results
            .lock()
            .unwrap_or_else(PoisonError::into_inner)[self.index] = Some(result);
        if self.batch.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.batch.finish();
        }
    }
}

/// The results of [`run_many`], still to come: await it, or
/// [`wait`](Self::wait) on a plain thread.
#[must_use = "the computations run anyway; await this to get their results"]
#[derive(Debug)]
pub struct RunMany<R> {
    reply: Reply<Gathered<R>>,
}

impl<R> RunMany<R> {
    /// Blocks the thread until every computation has ended.
    ///
    /// # Errors
    ///
    /// As [`run_many`]; on an isolate group's worker thread this refuses to
    /// block ([`RemoteErrorKind::BlockingInIsolate`]): await it there.
    pub fn wait(self) -> Result<Vec<R>, RemoteError> {
        may_block("RunMany::wait")?;
        settle(self.reply.wait())
    }
}

impl<R> Future for RunMany<R> {
    type Output = Gathered<R>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.reply).poll(cx).map(settle)
    }
}

/// Spawns the computation on the global group. `D` is not required to be
/// `Sendable` here because `run` passes the computation itself as data.
fn start<D, R>(data: D, computation: fn(D) -> R) -> Reply<Result<R, RemoteError>>
where
    D: Send + 'static,
    R: Send + 'static,
{
    let (reply_to, reply) = Reply::channel();
    let future = async move {
        match compute(data, computation) {
            Computed::Value(result) => reply_to.send(result),
            Computed::Exited(payload) => {
                drop(reply_to);
                resume_unwind(payload)
            }
        }
    };
    IsolateGroup::global().spawn_future(future, SpawnOptions::default());
    reply
}

/// How a computation ended.
enum Computed<R> {
    /// Its result, or its panic as a [`RemoteError`].
    Value(Result<R, RemoteError>),
    /// It called [`exit`]: the caller lets go of its reply, then unwinds on
    /// with this payload so that the isolate ends.
    Exited(Box<dyn Any + Send>),
}

fn compute<D, R>(data: D, computation: fn(D) -> R) -> Computed<R> {
    match catch_unwind(AssertUnwindSafe(|| computation(data))) {
        Ok(value) => Computed::Value(Ok(value)),
        Err(payload) if payload.is::<ExitSignal>() => Computed::Exited(payload),
        Err(payload) => Computed::Value(Err(RemoteError::panicked(cell::panic_message(&*payload)))),
    }
}

/// Refuses a blocking wait on a group's worker thread, where it would stall
/// the group: `what` names the call in the error.
fn may_block(what: &str) -> Result<(), RemoteError> {
    if worker::must_not_block() {
        return Err(RemoteError::new(
            RemoteErrorKind::BlockingInIsolate,
            format!("{what} called on a worker thread"),
        ));
    }
    Ok(())
}

fn settle<R>(result: Result<Result<R, RemoteError>, ReplyError>) -> Result<R, RemoteError> {
    result.unwrap_or_else(|_| Err(stopped()))
}

fn stopped() -> RemoteError {
    RemoteError::new(
        RemoteErrorKind::Stopped,
        "the computation ended without a result",
    )
}

/// Sends `message` to `port` and ends the current isolate at once (Dart's
/// `Isolate.exit`).
///
/// The message moves: inside a group nothing is copied, whatever its size.
/// The isolate ends by unwinding to its run loop, so destructors run; no
/// handler runs after this one, and its queued messages are dropped (their
/// pending asks fail). Requires `panic = "unwind"` (the default).
///
/// Returns only when it cannot exit, giving the message back:
/// [`ExitError::NotInIsolate`] on a plain thread, [`ExitError::Closed`] when
/// the port is closed (the isolate then goes on, as in Dart, where `exit`
/// throws).
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
///
/// async fn worker(answer: SendPort<Vec<u8>>) {
///     let big = vec![7; 1 << 20];
///     let _ = isolate_core::exit(&answer, big); // does not return
///     unreachable!();
/// }
///
/// let group = IsolateGroup::new();
/// let mut inbox = ReceivePort::new();
/// group.spawn_fn(worker, inbox.send_port());
/// assert_eq!(inbox.recv().unwrap().len(), 1 << 20);
/// ```
pub fn exit<T: Sendable>(port: &SendPort<T>, message: T) -> ExitError<T> {
    if !cell::in_isolate() {
        return ExitError::NotInIsolate(message);
    }
    match port.try_send(message) {
        Ok(()) => {}
        Err(TrySendError::Closed(message)) => return ExitError::Closed(message),
        Err(TrySendError::Full(message)) => return ExitError::Full(message),
        Err(TrySendError::Undeliverable(message)) => return ExitError::Undeliverable(message),
    }
    cell::unwind_exit()
}
