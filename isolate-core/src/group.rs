//! [`IsolateGroup`]: a worker pool and the isolates multiplexed on it.

use std::any::Any;
use std::fmt;
use std::future::Future;
use std::num::NonZeroUsize;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::task::{Context, Poll};
use std::thread::JoinHandle;

use crate::control::SpawnOptions;
use crate::error::{BuildError, TrySendError};
use crate::handle::IsolateHandle;
use crate::introspect::{GroupStats, IsolateInfo, ShutdownReport};
use crate::isolate::{Handled, Isolate};
use crate::pinned::Pinned;
use crate::port::SendPort;
use crate::registry::{LookupError, Port, RegisterError};
use crate::scheduler::cell::Cell;
use crate::scheduler::pool::Pool;
use crate::scheduler::reactor::Reactor;
use crate::sendable::Sendable;
use crate::timer::{Next, Timer};
use std::time::{Duration, Instant};

/// A timer's first retry when its message meets a full mailbox, and the
/// longest wait between retries.
const RETRY_FIRST: Duration = Duration::from_millis(1);
const RETRY_MAX: Duration = Duration::from_millis(100);

/// A group of isolates sharing a pool of worker threads (Dart's isolate
/// group).
///
/// Isolates are multiplexed on the group's workers (M:N): spawning one costs
/// an allocation, not a thread, and an idle isolate costs no CPU. Inside a
/// group, [`Shared`](crate::Shared) objects cross by pointer and owned data
/// moves.
///
/// `IsolateGroup` is a cheap handle; clones share the group. When the last
/// handle is dropped, the group stops every isolate (their pending asks fail
/// with [`ReplyError::Dropped`](crate::ReplyError::Dropped)) and joins its
/// worker threads before `drop` returns. A handler in the middle of a run
/// finishes that run first (a thread cannot be interrupted), so a handler
/// that never returns keeps `drop` waiting. Keep a handle for as long as you
/// use the group's isolates: `IsolateGroup::new().spawn(..)` drops the group
/// at the end of the statement, and the isolate with it.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
///
/// let group = IsolateGroup::builder().workers(2).name("cpu").build()?;
/// assert_eq!(group.workers(), 2);
/// assert_eq!(group.name(), "cpu");
/// # Ok::<(), isolate_core::BuildError>(())
/// ```
#[derive(Clone)]
pub struct IsolateGroup {
    owner: Arc<Owner>,
}

/// Owns the worker threads; its drop is the group's shutdown.
struct Owner {
    pool: Arc<Pool>,
    threads: Mutex<Vec<JoinHandle<()>>>,
    /// A deterministic group's seed and random choices (the seed also
    /// outside the lock, which a drive holds throughout).
    driver: Option<(u64, Mutex<crate::deterministic::Driver>)>,
    /// The tokio runtime the group started for itself, if it did: its
    /// workers drive it while they park. Shut down after the workers, when
    /// the last of them (which hold it too) lets go.
    _reactor: Option<Arc<Reactor>>,
}

impl Owner {
    fn take_threads(&self) -> Vec<JoinHandle<()>> {
        match self.threads.lock() {
            Ok(mut threads) => std::mem::take(&mut *threads),
            Err(poisoned) => std::mem::take(&mut *poisoned.into_inner()),
        }
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let threads = self.take_threads();
        self.pool.shutdown(threads);
    }
}

/// Configures a new [`IsolateGroup`]. Made by [`IsolateGroup::builder`].
///
/// # Examples
///
/// ```
/// use isolate_core::IsolateGroup;
///
/// let io = IsolateGroup::builder()
///     .workers(1)
///     .name("io")
///     .stack_size(256 * 1024)
///     .build()?;
/// assert_eq!(io.workers(), 1);
/// # Ok::<(), isolate_core::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct IsolateGroupBuilder {
    workers: Option<usize>,
    name: String,
    stack_size: Option<usize>,
    #[cfg(feature = "tokio")]
    tokio: Option<Tokio>,
}

/// Which tokio runtime a group's workers run in the context of.
#[cfg(feature = "tokio")]
#[derive(Debug, Clone)]
enum Tokio {
    /// One the group starts and owns.
    Own,
    /// The user's.
    Handle(tokio::runtime::Handle),
}

impl IsolateGroup {
    /// The group's pool: for the crate's own modules that reach its timers
    /// and queues (`time`).
    pub(crate) fn pool(&self) -> &Arc<Pool> {
        &self.owner.pool
    }
}

impl IsolateGroupBuilder {
    /// Number of worker threads. Default: one per available core.
    pub fn workers(mut self, workers: usize) -> Self {
        self.workers = Some(workers);
        self
    }

    /// The group's name; worker threads are named `{name}-{index}`.
    /// Default: `"isolates"`.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Stack size of each worker thread, in bytes. Default: the standard
    /// library's (2 MiB).
    pub fn stack_size(mut self, bytes: usize) -> Self {
        self.stack_size = Some(bytes);
        self
    }

    /// Starts the worker threads.
    ///
    /// # Errors
    ///
    /// [`BuildError::ZeroWorkers`] for `workers(0)`;
    /// [`BuildError::Spawn`] when the OS refuses a thread (any threads already
    /// started are stopped and joined first); [`BuildError::Runtime`] when
    /// the tokio runtime that `tokio()` (feature `tokio`) asks for cannot
    /// start.
    pub fn build(self) -> Result<IsolateGroup, BuildError> {
        let workers = match self.workers {
            Some(0) => return Err(BuildError::ZeroWorkers),
            Some(n) => n,
            None => default_workers(),
        };
        #[cfg(feature = "tokio")]
        let (reactor, handle) = match self.tokio {
            None => (None, None),
            Some(Tokio::Handle(handle)) => (None, Some(handle)),
            Some(Tokio::Own) => {
                let reactor = Reactor::new(&self.name).map_err(BuildError::Runtime)?;
                let handle = reactor.handle().clone();
                (Some(Arc::new(reactor)), Some(handle))
            }
        };
        #[cfg(not(feature = "tokio"))]
        let (reactor, handle) = (None, None);
        let started = Pool::start(
            Arc::from(self.name),
            workers,
            self.stack_size,
            handle,
            reactor.clone(),
        );
        let (pool, threads) = started.map_err(BuildError::Spawn)?;
        Ok(IsolateGroup::from_pool(pool, threads, None, reactor))
    }

    /// Runs the group's workers inside a tokio runtime that the group
    /// starts for itself, so that `tokio::net`, `tokio::time` and the
    /// crates built on them (hyper, axum, reqwest, tonic) work inside async
    /// handlers and `spawn_fn` entries. The isolate that waits on a socket
    /// or a timer is woken when it is ready, and its state never moves
    /// while it waits. The runtime is shut down with the group.
    ///
    /// The runtime has no thread of its own: the group's workers drive its
    /// IO and time drivers, as tokio's workers do. A worker with nothing to
    /// run parks inside it, waiting on sockets, timers and new work at
    /// once, and runs the isolate a socket woke with no hand-off to another
    /// thread; a busy worker looks at it without waiting every 61 turns of
    /// its loop, so a handler that computes or blocks for long delays the
    /// sockets and timers of its worker's isolates, as in tokio.
    ///
    /// Inside an isolate, await tokio's futures; do not call
    /// `Handle::block_on` or `Runtime::block_on` (they block the worker,
    /// which the library cannot see), and prefer
    /// [`blocking`](crate::blocking()) to `tokio::task::spawn_blocking`
    /// for blocking work. `tokio::spawn` runs a task on the group's
    /// workers, between isolates and outside every one: it may not touch
    /// an isolate's state (it cannot: the future must be `Send + 'static`),
    /// it is unsupervised, and tokio's `block_in_place` panics inside it
    /// (the runtime is a current-thread one). Such a task that computes or
    /// blocks holds a worker as a handler would, and with it the reactor.
    /// Deterministic groups and the global group
    /// ([`run`](crate::run)) do not run in tokio's context; in a
    /// deterministic group, use [`time`](crate::time), whose clock is the
    /// group's. A [`blocking`](crate::blocking()) call made from the group's
    /// isolates runs in the same context. A tokio socket stays registered
    /// with the runtime it was made in: moved to an isolate of another
    /// group, it fails with IO errors once its group (and runtime) is gone.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    ///
    /// async fn nap(done: SendPort<&'static str>) {
    ///     tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    ///     done.send("rested").unwrap();
    /// }
    ///
    /// let group = IsolateGroup::builder().workers(2).tokio().build()?;
    /// let mut done = ReceivePort::new();
    /// group.spawn_fn(nap, done.send_port());
    /// assert_eq!(done.recv(), Ok("rested"));
    /// # Ok::<(), isolate_core::BuildError>(())
    /// ```
    #[cfg(feature = "tokio")]
    pub fn tokio(mut self) -> Self {
        self.tokio = Some(Tokio::Own);
        self
    }

    /// Runs the group's workers inside the context of the tokio runtime
    /// behind `handle` (see [`tokio`](Self::tokio)): the runtime must
    /// have its IO and time drivers enabled for the calls that need them,
    /// must outlive the group's use of them, and must be driven: a
    /// multi-thread runtime drives itself, a current-thread one only while
    /// some thread is in its `block_on` (a `#[tokio::test]` that then
    /// blocks that thread on an ask waits for ever).
    #[cfg(feature = "tokio")]
    pub fn tokio_handle(mut self, handle: tokio::runtime::Handle) -> Self {
        self.tokio = Some(Tokio::Handle(handle));
        self
    }
}

fn default_workers() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

impl IsolateGroup {
    /// A new group with one worker per core.
    ///
    /// # Panics
    ///
    /// If the OS refuses to start a thread; use
    /// [`builder`](Self::builder) to handle that as an error.
    pub fn new() -> Self {
        match Self::builder().build() {
            Ok(group) => group,
            Err(error) => panic!("IsolateGroup::new: {error}"),
        }
    }

    fn from_pool(
        pool: Arc<Pool>,
        threads: Vec<JoinHandle<()>>,
        driver: Option<crate::deterministic::Driver>,
        reactor: Option<Arc<Reactor>>,
    ) -> IsolateGroup {
        let owner = Arc::new(Owner {
            pool,
            threads: Mutex::new(threads),
            driver: driver.map(|driver| (driver.seed(), Mutex::new(driver))),
            _reactor: reactor,
        });
        let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(&owner) as _;
        let _ = owner.pool.owner.set(weak);
        IsolateGroup { owner }
    }

    /// A deterministic group for tests: no worker threads. Its isolates run
    /// only inside [`block_on`](Self::block_on), on the calling thread, one
    /// at a time, in an order drawn from `seed`; its timers
    /// ([`send_after`](Self::send_after), [`send_interval`](Self::send_interval),
    /// [`after`](Self::after)) run on virtual time, which jumps to the next
    /// deadline whenever nothing else can run. The same seed gives the same
    /// interleaving every time (as long as the test itself does not depend
    /// on other threads or the real clock); other seeds explore others.
    ///
    /// [`deterministic::check`](crate::deterministic::check) runs a test
    /// over many seeds and names the one that fails.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::prelude::*;
    ///
    /// let group = IsolateGroup::deterministic(7);
    /// let mut inbox = ReceivePort::new();
    /// // An hour of virtual time passes at once: nothing else is runnable.
    /// group.send_after(&inbox.send_port(), Duration::from_secs(3600), "later");
    /// let message = group.block_on(async { inbox.recv_async().await });
    /// assert_eq!(message, Ok(Ok("later")));
    /// ```
    pub fn deterministic(seed: u64) -> IsolateGroup {
        let pool = Pool::driven(Arc::from(format!("deterministic-{seed}")));
        IsolateGroup::from_pool(
            pool,
            Vec::new(),
            Some(crate::deterministic::Driver::new(seed)),
            None,
        )
    }

    /// The seed of a deterministic group; `None` for any other.
    pub fn seed(&self) -> Option<u64> {
        self.owner.driver.as_ref().map(|(seed, _)| *seed)
    }

    /// Drives a deterministic group until `future` completes: polls it on
    /// this thread and, whenever it waits, runs the group's isolates in the
    /// order the seed draws (the future's own turns included), moving
    /// virtual time on when nothing else can run.
    ///
    /// Blocking waits (`Reply::wait`, `ReceivePort::recv`) refuse to block
    /// while the group is driven, as on a worker thread: await instead.
    ///
    /// # Errors
    ///
    /// [`DriveError::Stalled`](crate::deterministic::DriveError::Stalled)
    /// when the future waits and nothing can wake it (a deadlock, found
    /// rather than hung on); `NotDeterministic` on a group with threads of
    /// its own; `WrongThread` from another thread than the one that made
    /// the group; `AlreadyDriving` from inside the group.
    ///
    /// # Examples
    ///
    /// See [`deterministic`](Self::deterministic).
    pub fn block_on<F: Future>(
        &self,
        future: F,
    ) -> Result<F::Output, crate::deterministic::DriveError> {
        use crate::deterministic::DriveError;
        let Some((_, driver)) = &self.owner.driver else {
            return Err(DriveError::NotDeterministic);
        };
        if self.owner.pool.driver != Some(std::thread::current().id()) {
            return Err(DriveError::WrongThread);
        }
        crate::deterministic::drive(&self.owner.pool, driver, future)
    }

    /// Configures a new group.
    pub fn builder() -> IsolateGroupBuilder {
        IsolateGroupBuilder {
            workers: None,
            name: "isolates".to_owned(),
            stack_size: None,
            #[cfg(feature = "tokio")]
            tokio: None,
        }
    }

    /// The process-wide group that [`run`](crate::run) uses: started on first
    /// use, one worker per core, never stopped.
    pub fn global() -> &'static IsolateGroup {
        static GLOBAL: OnceLock<IsolateGroup> = OnceLock::new();
        GLOBAL.get_or_init(|| match Self::builder().name("global").build() {
            Ok(group) => group,
            Err(error) => panic!("the global isolate group could not start: {error}"),
        })
    }

    /// The group of the isolate this code runs in, so that an isolate can
    /// spawn more isolates beside it (Dart's `Isolate.spawn` from inside an
    /// isolate). `None` outside an isolate, or once the group is shutting
    /// down.
    ///
    /// The returned handle keeps the group alive while it exists: keep it for
    /// the spawn, not in the isolate's state, or the group will never stop
    /// on its own.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    ///
    /// async fn parent(answer: SendPort<u64>) {
    ///     let group = IsolateGroup::current().expect("inside an isolate");
    ///     let (reply_to, reply) = Reply::channel();
    ///     group.spawn_fn(child, reply_to);
    ///     drop(group);
    ///     answer.send(reply.await.unwrap()).unwrap();
    /// }
    ///
    /// async fn child(reply_to: ReplySender<u64>) {
    ///     reply_to.send(42);
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let mut inbox = ReceivePort::new();
    /// group.spawn_fn(parent, inbox.send_port());
    /// assert_eq!(inbox.recv(), Ok(42));
    /// assert!(IsolateGroup::current().is_none()); // not inside an isolate
    /// ```
    pub fn current() -> Option<IsolateGroup> {
        let pool = crate::scheduler::worker::current_pool()?;
        let owner = pool.owner.get()?.upgrade()?;
        let owner = owner.downcast::<Owner>().ok()?;
        if owner.pool.is_shutting_down() {
            return None;
        }
        Some(IsolateGroup { owner })
    }

    /// The group's name.
    pub fn name(&self) -> &str {
        &self.owner.pool.name
    }

    /// Number of worker threads.
    pub fn workers(&self) -> usize {
        self.owner.pool.workers()
    }

    /// Number of live isolates.
    pub fn len(&self) -> usize {
        self.owner.pool.owned.len()
    }

    /// A snapshot of every live isolate: id, name, state, mailbox length and
    /// messages handled.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    /// use isolate_core::{IsolateState, SpawnOptions};
    ///
    /// #[isolate]
    /// struct Echo;
    ///
    /// #[isolate]
    /// impl Echo {
    ///     #[message]
    ///     fn echo(&self, n: u32) -> u32 { n }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let (echo, _handle) = group.spawn_with(Echo, SpawnOptions::new().name("echo"));
    /// echo.echo(1).wait()?;
    /// let info = &group.isolates()[0];
    /// assert_eq!(info.name.as_deref(), Some("echo"));
    /// assert_eq!(info.messages_handled, 1);
    /// // A snapshot: it may still be finishing the run that answered.
    /// assert!(matches!(info.state, IsolateState::Idle | IsolateState::Running));
    /// assert_eq!(group.stats().live_isolates, 1);
    /// # Ok::<(), isolate_core::ReplyError>(())
    /// ```
    pub fn isolates(&self) -> Vec<IsolateInfo> {
        self.owner
            .pool
            .owned
            .snapshot()
            .iter()
            .map(|task| task.info())
            .collect()
    }

    /// Counters of the whole group.
    pub fn stats(&self) -> GroupStats {
        let pool = &self.owner.pool;
        let live = pool.owned.snapshot();
        let live_handled: u64 = live.iter().map(|task| task.info().messages_handled).sum();
        GroupStats {
            workers: pool.workers(),
            live_isolates: live.len(),
            spawned: pool.spawned.load(std::sync::atomic::Ordering::Relaxed),
            messages_handled: live_handled
                + pool
                    .ended_handled
                    .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// Registers `port` under `name` in this group's registry, so that any
    /// code holding the group can find it with [`lookup`](Self::lookup).
    /// When the isolate behind the port ends, its names go with it. The
    /// registry holds a clone of the port, so a registered isolate lives
    /// until it is killed, fails or is unregistered, as a registered Erlang
    /// process does, even when no other port to it is left.
    ///
    /// # Errors
    ///
    /// [`RegisterError::Taken`] when a live port already has the name (a
    /// name whose isolate has ended is free again).
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    /// use isolate_core::LookupError;
    ///
    /// #[isolate]
    /// struct Config { debug: bool }
    ///
    /// #[isolate]
    /// impl Config {
    ///     #[message]
    ///     fn debug(&self) -> bool { self.debug }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let config = group.spawn(Config { debug: true });
    /// group.register("config", &config)?;
    ///
    /// let found: ConfigPort = group.lookup("config")?;
    /// assert_eq!(found.debug().wait(), Ok(true));
    /// // The wrong type is an error, not a panic:
    /// let wrong = group.lookup::<SendPort<String>>("config");
    /// assert!(matches!(wrong, Err(LookupError::WrongType { .. })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn register<P: Port>(&self, name: &str, port: &P) -> Result<(), RegisterError> {
        self.owner.pool.registry.register(name, port)
    }

    /// The port registered under `name`, as type `P`.
    ///
    /// # Errors
    ///
    /// [`LookupError::NotFound`] when no live port has the name;
    /// [`LookupError::WrongType`] when the port registered there is not a
    /// `P` (the error names both types).
    pub fn lookup<P: Port>(&self, name: &str) -> Result<P, LookupError> {
        self.owner.pool.registry.lookup(name)
    }

    /// Removes `name` from the registry. Returns whether it was there.
    pub fn unregister(&self, name: &str) -> bool {
        self.owner.pool.registry.unregister(name)
    }

    /// The names of the live ports in the registry, sorted.
    pub fn registered(&self) -> Vec<String> {
        self.owner.pool.registry.names()
    }

    /// Sends `message` to `port` after `delay`, from the group's timer
    /// thread (one per group, started on first use). Returns a [`Timer`]
    /// that can cancel the send; dropping it does not.
    ///
    /// If the message meets a full bounded mailbox, the timer tries again
    /// shortly (after 1 ms, then twice as long each time, up to 100 ms) until
    /// it is delivered, the port closes, or the timer is cancelled: the
    /// timer thread never blocks, and the message is not lost.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::prelude::*;
    ///
    /// let group = IsolateGroup::new();
    /// let mut inbox = ReceivePort::new();
    /// group.send_after(&inbox.send_port(), Duration::from_millis(10), "later");
    /// let cancelled = group.send_after(&inbox.send_port(), Duration::from_millis(10), "never");
    /// cancelled.cancel();
    /// assert_eq!(inbox.recv(), Ok("later"));
    /// ```
    pub fn send_after<P: Port>(&self, port: &P, delay: Duration, message: P::Message) -> Timer
    where
        P::Message: Sendable,
    {
        let port = port.as_send_port().clone();
        let mut message = Some(message);
        let mut backoff = RETRY_FIRST;
        self.owner.pool.timers.schedule(
            &self.owner.pool.name,
            delay,
            None,
            Box::new(move || {
                let Some(unsent) = message.take() else {
                    return Next::Done;
                };
                match port.try_send(unsent) {
                    Err(TrySendError::Full(unsent)) => {
                        message = Some(unsent);
                        let retry = backoff;
                        backoff = (backoff * 2).min(RETRY_MAX);
                        Next::Retry(retry)
                    }
                    Ok(()) | Err(TrySendError::Closed(_) | TrySendError::Undeliverable(_)) => {
                        Next::Done
                    }
                }
            }),
        )
    }

    /// Sends a clone of `message` to `port` every `period`, starting one
    /// period from now, until the [`Timer`] is cancelled or the port closes.
    /// A tick that falls behind is not repeated to catch up, and a tick that
    /// meets a full bounded mailbox is skipped (the timer thread never
    /// blocks).
    pub fn send_interval<P: Port>(&self, port: &P, period: Duration, message: P::Message) -> Timer
    where
        P::Message: Sendable + Clone,
    {
        let port = port.as_send_port().clone();
        self.owner.pool.timers.schedule(
            &self.owner.pool.name,
            period,
            Some(period),
            Box::new(move || match port.try_send(message.clone()) {
                Ok(()) | Err(TrySendError::Full(_)) => Next::Again,
                Err(TrySendError::Closed(_) | TrySendError::Undeliverable(_)) => Next::Done,
            }),
        )
    }

    /// Runs `action(data)` on the timer thread after `delay`: the form for
    /// typed ports, whose messages are their methods.
    ///
    /// `action` captures nothing (pass what it needs in `data`) and should
    /// only send: it runs on the group's single timer thread, where blocking
    /// calls are refused as on a worker (a tell to a full bounded mailbox
    /// returns [`SendError::BlockingInIsolate`](crate::SendError::BlockingInIsolate);
    /// use its `try_` form).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::prelude::*;
    ///
    /// #[isolate]
    /// #[derive(Default)]
    /// struct Clock { ticks: u32 }
    ///
    /// #[isolate]
    /// impl Clock {
    ///     #[message]
    ///     fn tick(&mut self) { self.ticks += 1 }
    ///     #[message]
    ///     fn ticks(&self) -> u32 { self.ticks }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let clock = group.spawn(Clock::default());
    /// let mut done = ReceivePort::new();
    /// group.after(Duration::from_millis(5), (clock.clone(), done.send_port()), |(clock, done)| {
    ///     let _ = clock.tick();
    ///     let _ = done.send(());
    /// });
    /// done.recv()?;
    /// assert_eq!(clock.ticks().wait(), Ok(1));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn after<D: Sendable>(&self, delay: Duration, data: D, action: fn(D)) -> Timer {
        let mut data = Some(data);
        self.owner.pool.timers.schedule(
            &self.owner.pool.name,
            delay,
            None,
            Box::new(move || {
                if let Some(data) = data.take() {
                    action(data);
                }
                Next::Done
            }),
        )
    }

    /// Runs `action(&data)` on the timer thread every `period`, starting one
    /// period from now, until the [`Timer`] is cancelled. See
    /// [`after`](Self::after).
    pub fn every<D: Sendable>(&self, period: Duration, data: D, action: fn(&D)) -> Timer {
        self.owner.pool.timers.schedule(
            &self.owner.pool.name,
            period,
            Some(period),
            Box::new(move || {
                action(&data);
                Next::Again
            }),
        )
    }

    /// Stops the group now, for every handle: no isolate is spawned in it any
    /// more (a spawn returns a port that is already closed), the isolates
    /// finish the message they are handling and handle no other, every
    /// pending ask fails with [`ReplyError::Dropped`](crate::ReplyError::Dropped),
    /// exit listeners are told, and the worker threads are joined before
    /// this returns. Dropping the last handle does the same.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    ///
    /// async fn forever(_: ()) { std::future::pending::<()>().await }
    ///
    /// let group = IsolateGroup::new();
    /// let handle = group.spawn_fn(forever, ());
    /// let report = group.shutdown();
    /// assert!(report.is_clean());
    /// assert!(handle.is_finished());
    /// assert!(group.is_empty());
    /// ```
    pub fn shutdown(&self) -> ShutdownReport {
        self.shutdown_within(None)
    }

    /// As [`shutdown`](Self::shutdown), but waits at most `timeout` for
    /// handlers in the middle of a message to return. A thread cannot be
    /// interrupted: the report lists the isolates whose handler is still
    /// running and the worker threads left behind; each such isolate is
    /// stopped as soon as its handler returns.
    pub fn shutdown_timeout(&self, timeout: Duration) -> ShutdownReport {
        self.shutdown_within(Some(timeout))
    }

    fn shutdown_within(&self, timeout: Option<Duration>) -> ShutdownReport {
        let threads = self.owner.take_threads();
        let (still_running, workers_left_running, stopped) =
            self.owner.pool.shutdown_within(threads, timeout);
        ShutdownReport {
            still_running,
            workers_left_running,
            stopped,
        }
    }

    /// Shuts the group down gracefully: waits up to `grace` for its
    /// isolates to end by themselves, then shuts down as
    /// [`shutdown_timeout`](Self::shutdown_timeout) does with what is left
    /// of `grace` (and at least 100 ms). A server calls it once its isolates have been told to
    /// finish (a [`StopSignal`](crate::StopSignal) given): connections that
    /// finish their request in time end on their own, and the report's
    /// [`stopped`](ShutdownReport::stopped) counts those that did not.
    ///
    /// An isolate only ends by itself when its entry returns (a `spawn_fn`
    /// isolate) or every port to it is gone (an `#[isolate]`): ports held
    /// outside the group, by `main` say, keep their isolates alive until the
    /// deadline, so drop them first. Called on a worker or timer thread of
    /// any group (where waiting would stall it, and the caller may keep the
    /// group from ever being empty), it does not wait before shutting down.
    /// Called from inside an isolate on a thread of its own (a
    /// [`run`](crate::run) closure, or a deterministic group's driver), it
    /// waits the whole grace, since that isolate ends only after it
    /// returns.
    ///
    /// The report's [`stopped`](ShutdownReport::stopped) counts the
    /// isolates still registered when the grace ran out; those of them still
    /// inside a handler at the shutdown's deadline are also in
    /// [`still_running`](ShutdownReport::still_running).
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::prelude::*;
    ///
    /// async fn quick(_: ()) {}
    /// async fn forever(_: ()) { std::future::pending::<()>().await }
    ///
    /// let group = IsolateGroup::new();
    /// group.spawn_fn(quick, ());
    /// let stuck = group.spawn_fn(forever, ());
    /// let report = group.drain(Duration::from_millis(500));
    /// assert_eq!(report.stopped, 1, "the one that never ends is stopped at the deadline");
    /// assert!(stuck.is_finished());
    /// ```
    pub fn drain(&self, grace: Duration) -> ShutdownReport {
        // A grace too long to add to now (`Duration::MAX`) has no deadline.
        let deadline = Instant::now().checked_add(grace);
        if !crate::scheduler::worker::must_not_block() {
            self.owner.pool.owned.wait_empty(deadline);
        }
        // At least a moment for idle workers to see the shutdown and exit,
        // or a drain that used its whole grace would report them as stuck.
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        self.shutdown_within(left.map(|left| left.max(Duration::from_millis(100))))
    }

    /// Whether the group has no live isolate.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Spawns `isolate` and returns its port.
    ///
    /// The value moves into the new isolate, so it must be [`Sendable`], as
    /// a message must: `#[isolate]` checks every field of the struct, and so
    /// does `#[message]` on a hand-written isolate's struct. Two isolates can
    /// therefore never share mutable state through their fields.
    ///
    /// The isolate starts idle: it costs one allocation and no queue
    /// operation until its first message. It ends when every port to it is
    /// dropped and its mailbox is empty, when a handler panics, or when the
    /// group is dropped.
    ///
    /// # Examples
    ///
    /// See [`Isolate`].
    pub fn spawn<I: Isolate + Sendable>(&self, isolate: I) -> I::Port {
        let cell = Cell::spawn(
            &self.owner.pool,
            isolate,
            1,
            None,
            SpawnOptions::default(),
            None,
        );
        I::Port::from(SendPort::from_inbox(cell))
    }

    /// Spawns `isolate` with [`SpawnOptions`] and returns its port and its
    /// [`IsolateHandle`], which controls it (kill, pause, ping, listeners).
    ///
    /// The port alone grants no control, as in Dart: keep the handle where
    /// control belongs and hand out ports freely.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    /// use isolate_core::SpawnOptions;
    ///
    /// #[isolate]
    /// struct Echo;
    ///
    /// #[isolate]
    /// impl Echo {
    ///     #[message]
    ///     fn echo(&self, text: String) -> String { text }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let mut exits = ReceivePort::new();
    /// let (echo, handle) = group.spawn_with(
    ///     Echo,
    ///     SpawnOptions::new().name("echo").on_exit(exits.send_port(), "echo ended"),
    /// );
    /// assert_eq!(echo.echo("hi".into()).wait(), Ok("hi".to_owned()));
    /// handle.kill(Priority::Immediate);
    /// assert_eq!(exits.recv(), Ok("echo ended"));
    /// assert!(echo.is_closed());
    /// ```
    pub fn spawn_with<I: Isolate + Sendable>(
        &self,
        isolate: I,
        options: SpawnOptions,
    ) -> (I::Port, IsolateHandle) {
        let cell = Cell::spawn(&self.owner.pool, isolate, 1, None, options, None);
        let handle = IsolateHandle::new(cell.clone());
        (I::Port::from(SendPort::from_inbox(cell)), handle)
    }

    /// Spawns a *pinned* isolate: `factory(data)` builds its state on one of
    /// the group's workers, and the isolate runs on that worker only, so its
    /// state may hold `Rc`, `RefCell` and other values that are not `Send`
    /// (as a Dart isolate's state is always private to its thread).
    ///
    /// `factory` is a `fn` (or a closure that captures nothing), and what
    /// it needs comes in `data`, which must be [`Sendable`], as `spawn_fn`'s
    /// message must: a capture would carry the spawner's values, shared
    /// mutable state included, into the isolate past that check. Build the
    /// `Rc`s and `RefCell`s *inside* the factory; a closure that captures
    /// one is refused at compile time ("closures can only be coerced to `fn`
    /// types if they do not capture any variables").
    ///
    /// Its port is an ordinary one: [`Sendable`], usable from any thread or
    /// isolate, and the messages it carries are still checked. Async
    /// handlers may hold `!Send` values across an `.await`: return
    /// [`Handled::local`](crate::Handled::local) (`#[isolate(pinned)]` does
    /// this for you).
    ///
    /// # What it costs
    ///
    /// Work stealing never takes a pinned isolate: when its home worker is
    /// busy, it waits even if another worker is idle, and a message to it
    /// always goes through its home's queue (a lock and, from another
    /// thread, a wake-up) rather than the sender's LIFO slot. Homes are
    /// handed out round-robin. Choose it when the state cannot be `Send`
    /// (it wraps a `!Send` library, or shares `Rc`s internally); otherwise
    /// [`spawn`](Self::spawn) is faster under load.
    ///
    /// When the group shuts down, each worker drops the state of its pinned
    /// isolates itself, before its thread exits (after the handler it is
    /// stuck in returns, past a `shutdown_timeout`). A state is never
    /// dropped on another thread: where that cannot be avoided (its worker
    /// exited before the isolate was stopped), it is leaked.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::cell::RefCell;
    /// use std::rc::Rc;
    /// use isolate_core::prelude::*;
    ///
    /// #[isolate(pinned)]
    /// struct Notes {
    ///     title: String,
    ///     // Shared inside the isolate, never across: `Rc` is fine here.
    ///     lines: Rc<RefCell<Vec<String>>>,
    /// }
    ///
    /// #[isolate(pinned)]
    /// impl Notes {
    ///     #[message]
    ///     fn add(&mut self, line: String) -> String {
    ///         self.lines.borrow_mut().push(line);
    ///         format!("{}: {} lines", self.title, self.lines.borrow().len())
    ///     }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// // The `Rc` is built by the factory, on the isolate's worker; the title
    /// // is data, and crosses beside it.
    /// let notes = group.spawn_pinned(
    ///     |title| Notes { title, lines: Rc::default() },
    ///     "todo".to_owned(),
    /// );
    /// assert_eq!(notes.add("one".into()).wait(), Ok("todo: 1 lines".to_owned()));
    /// assert_eq!(notes.add("two".into()).wait(), Ok("todo: 2 lines".to_owned()));
    /// ```
    ///
    /// A factory that captures is refused, whatever it captures:
    ///
    /// ```compile_fail
    /// use std::sync::{Arc, Mutex};
    /// use isolate_core::prelude::*;
    ///
    /// #[isolate(pinned)]
    /// struct Leaky { shared: Arc<Mutex<u64>> }
    ///
    /// #[isolate(pinned)]
    /// impl Leaky {
    ///     #[message]
    ///     fn bump(&mut self) { *self.shared.lock().unwrap() += 1 }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let shared = Arc::new(Mutex::new(0));
    /// let leaky = group.spawn_pinned(move |()| Leaky { shared: shared.clone() }, ());
    /// ```
    pub fn spawn_pinned<D, I>(&self, factory: fn(D) -> I, data: D) -> I::Port
    where
        D: Sendable,
        I: Isolate,
    {
        self.spawn_pinned_with(factory, data, SpawnOptions::default())
            .0
    }

    /// [`spawn_pinned`](Self::spawn_pinned) with [`SpawnOptions`], returning
    /// the isolate's handle too.
    pub fn spawn_pinned_with<D, I>(
        &self,
        factory: fn(D) -> I,
        data: D,
        options: SpawnOptions,
    ) -> (I::Port, IsolateHandle)
    where
        D: Sendable,
        I: Isolate,
    {
        let cell = Cell::spawn_pinned(&self.owner.pool, Pinned::new(factory, data), options);
        let handle = IsolateHandle::new(cell.clone());
        (I::Port::from(SendPort::from_inbox(cell)), handle)
    }

    /// Dart's `Isolate.spawn(entry, message)`: starts a new isolate that runs
    /// `entry(message)` and ends when that future completes.
    ///
    /// `entry` is an `async fn` (or a closure that captures nothing): any data
    /// goes in `message`, which must be [`Sendable`]. A closure that captures
    /// a variable is refused at compile time, because a capture would smuggle
    /// data past the `Sendable` check (Dart's over-capturing closures are a
    /// long-standing source of "Illegal argument in isolate message").
    ///
    /// The usual shape is Dart's: send the new isolate a [`SendPort`] so it
    /// can answer, and have it make a [`ReceivePort`](crate::ReceivePort) of
    /// its own for further messages.
    ///
    /// `entry` is called in the new isolate, not on the caller's thread, so
    /// even a plain `fn` that does its work before returning a ready future
    /// runs where it should.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    ///
    /// async fn square(job: (u64, SendPort<u64>)) {
    ///     let (n, answer) = job;
    ///     answer.send(n * n).unwrap();
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let mut inbox = ReceivePort::new();
    /// group.spawn_fn(square, (7, inbox.send_port()));
    /// assert_eq!(inbox.recv(), Ok(49));
    /// ```
    pub fn spawn_fn<M, F>(&self, entry: fn(M) -> F, message: M) -> IsolateHandle
    where
        M: Sendable,
        F: Future<Output = ()> + Send + 'static,
    {
        self.spawn_fn_with(entry, message, SpawnOptions::default())
    }

    /// [`spawn_fn`](Self::spawn_fn) with [`SpawnOptions`]: a name, starting
    /// paused, non-fatal errors, and exit and error listeners registered
    /// before the isolate can run, so that none of its events is missed.
    ///
    /// # Examples
    ///
    /// See [`SpawnOptions`].
    pub fn spawn_fn_with<M, F>(
        &self,
        entry: fn(M) -> F,
        message: M,
        options: SpawnOptions,
    ) -> IsolateHandle
    where
        M: Sendable,
        F: Future<Output = ()> + Send + 'static,
    {
        // Called inside the isolate: the caller only moves `message` in.
        self.spawn_future(async move { entry(message).await }, options)
    }

    /// Spawns an isolate that runs `future`: the runtime's own way to start
    /// work, shared by `spawn_fn` and `run`.
    pub(crate) fn spawn_future(
        &self,
        future: impl Future<Output = ()> + Send + 'static,
        options: SpawnOptions,
    ) -> IsolateHandle {
        IsolateHandle::new(spawn_entry(&self.owner.pool, future, options))
    }

    /// Spawns an isolate that `supervisor` restarts in place when it fails.
    pub(crate) fn spawn_supervised<I: Isolate + Sendable>(
        &self,
        factory: fn() -> I,
        supervisor: Arc<crate::supervisor::Core>,
        options: SpawnOptions,
    ) -> (I::Port, IsolateHandle) {
        let supervised = crate::scheduler::cell::Supervised {
            factory,
            supervisor,
        };
        let cell = Cell::spawn(
            &self.owner.pool,
            factory(),
            1,
            None,
            options,
            Some(supervised),
        );
        let handle = IsolateHandle::new(cell.clone());
        (I::Port::from(SendPort::from_inbox(cell)), handle)
    }
}

impl Default for IsolateGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for IsolateGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsolateGroup")
            .field("name", &self.name())
            .field("workers", &self.workers())
            .field("isolates", &self.len())
            .finish()
    }
}

/// Spawns an isolate that runs `future` in `pool`.
pub(crate) fn spawn_entry<F: Future<Output = ()> + Send + 'static>(
    pool: &Arc<Pool>,
    future: F,
    options: SpawnOptions,
) -> Arc<Cell<Entry<F>>> {
    let entry = Entry {
        future: Some(future),
    };
    Cell::spawn(pool, entry, 0, None, options, None)
}

/// Runs `future` in an isolate of its own in `pool`: the runtime's way to
/// finish work that nobody waits for (the send of an ask whose reply was
/// dropped). After the pool's shutdown the future is dropped unrun.
pub(crate) fn run_detached(pool: &Arc<Pool>, future: impl Future<Output = ()> + Send + 'static) {
    drop(spawn_entry(pool, future, SpawnOptions::default()));
}

/// The isolate behind `spawn_fn` and `run`: no mailbox, just its entry
/// future, held inline (one allocation per spawn, not two); it ends when the
/// future completes.
pub(crate) struct Entry<F> {
    future: Option<F>,
}

/// A message type with no values: an entry isolate receives nothing.
#[derive(Debug)]
#[doc(hidden)]
pub enum NoMessage {}

// SAFETY: uninhabited; no value of it ever exists.
unsafe impl Sendable for NoMessage {}

impl<F: Future<Output = ()> + Send + 'static> Isolate for Entry<F> {
    type Message = NoMessage;
    type Port = SendPort<NoMessage>;

    fn handle(&mut self, message: NoMessage) -> Handled<'_> {
        match message {}
    }

    const __HAS_ENTRY: bool = true;

    fn __poll_entry(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // SAFETY: structural pinning of `future`: `Entry` never moves it out
        // (it is only polled here, through this projection, and dropped in
        // place), and `Entry` has no `Drop` impl of its own.
        let future = unsafe { self.map_unchecked_mut(|entry| &mut entry.future) };
        match future.as_pin_mut() {
            Some(future) => future.poll(cx),
            None => Poll::Ready(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::marker::PhantomPinned;
    use std::sync::mpsc;

    use super::*;

    const PATIENCE: Duration = Duration::from_secs(30);

    /// A future that says, when dropped, whether it is still where it was
    /// pinned: `Pin`'s promise, which an entry future held inline relies on.
    struct PinCheck {
        pinned_at: std::cell::Cell<usize>,
        events: mpsc::Sender<&'static str>,
        _pinned: PhantomPinned,
    }

    impl Future for PinCheck {
        type Output = ();

        fn poll(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<()> {
            self.pinned_at.set(&*self as *const Self as usize);
            let _ = self.events.send("polled");
            Poll::Pending
        }
    }

    impl Drop for PinCheck {
        fn drop(&mut self) {
            let here = self as *const Self as usize;
            let _ = self.events.send(if self.pinned_at.get() == here {
                "dropped where it was pinned"
            } else {
                "moved after it was pinned"
            });
        }
    }

    #[test]
    fn a_cell_let_go_unstopped_drops_its_entry_future_where_it_was_pinned() {
        let group = IsolateGroup::builder().workers(1).build().unwrap();
        let (events, seen) = mpsc::channel();
        let check = PinCheck {
            pinned_at: std::cell::Cell::new(0),
            events,
            _pinned: PhantomPinned,
        };
        let cell = spawn_entry(&group.owner.pool, check, SpawnOptions::default());
        assert_eq!(seen.recv_timeout(PATIENCE), Ok("polled"));
        // The runtime tears every isolate down before its last reference
        // goes; a cell let go without that reaches `Drop for Cell` with its
        // pinned entry future still alive.
        cell.forget_unstopped();
        drop(cell);
        assert_eq!(
            seen.recv_timeout(PATIENCE),
            Ok("dropped where it was pinned")
        );
    }
}
