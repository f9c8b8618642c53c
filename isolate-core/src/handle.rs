//! [`IsolateHandle`]: Dart's `Isolate` object, the handle that controls a
//! running isolate, and [`current`].

use std::fmt;
use std::sync::Arc;

use crate::control::{Capability, Controls, Listener, Priority};
use crate::error::RemoteError;
use crate::isolate::Isolate;
use crate::port::SendPort;
use crate::scheduler::cell::Cell;
use crate::scheduler::state::Phase;
use crate::scheduler::task::Task;
use crate::sendable::Sendable;

/// A handle to a spawned isolate (Dart's `Isolate` object): what
/// [`IsolateGroup::spawn_fn`](crate::IsolateGroup::spawn_fn) and
/// [`spawn_with`](crate::IsolateGroup::spawn_with) return.
///
/// The handle is the isolate's control capability: it can
/// [`kill`](Self::kill), [`pause`](Self::pause), [`ping`](Self::ping) and
/// register listeners. A [`SendPort`] grants none of that. Holding a handle
/// does not keep the isolate alive.
///
/// A handle is [`Sendable`]: it may be given to another isolate, as Dart's
/// `Isolate` object may. To give less than full control, send a handle
/// with reduced rights, as Dart's `Isolate(controlPort, pauseCapability:
/// .., terminateCapability: ..)` does:
/// [`without_terminate`](Self::without_terminate) cannot kill (nor make
/// errors fatal or not), [`without_pause`](Self::without_pause) cannot
/// pause or resume, and [`control_only`](Self::control_only) can only
/// ping, ask about the isolate and listen for its exit and errors. As in
/// Dart, a request the handle has no right to is ignored; ask
/// [`can_terminate`](Self::can_terminate) and
/// [`can_pause`](Self::can_pause) first. Two handles are equal when they
/// reach the same isolate with the same rights. (Rights bound what the
/// handle does, not what its holder can do otherwise: an isolate of the
/// same group can still shut the whole group down.)
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
///
/// async fn hello(answer: SendPort<&'static str>) {
///     answer.send("hello").unwrap();
/// }
///
/// let group = IsolateGroup::builder().workers(1).name("demo").build()?;
/// let mut inbox = ReceivePort::new();
/// let handle = group.spawn_fn(hello, inbox.send_port());
/// assert_eq!(handle.group_name(), "demo");
/// assert_eq!(inbox.recv(), Ok("hello"));
/// # Ok::<(), isolate_core::BuildError>(())
/// ```
#[derive(Clone)]
pub struct IsolateHandle {
    target: Arc<dyn Target>,
    rights: Rights,
}

/// What a handle may do beyond pinging and listening.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Rights {
    terminate: bool,
    pause: bool,
}

impl Rights {
    const ALL: Rights = Rights {
        terminate: true,
        pause: true,
    };
}

// SAFETY: a handle reaches its isolate only through control requests (the
// isolate's `Controls`, synchronized and owned by this crate, and its
// scheduling state); no value of the isolate's, nor any user state, is
// reachable through it. Like a `SendPort`, it is a capability, not shared
// data.
unsafe impl Sendable for IsolateHandle {}

/// What a handle needs of an isolate, with its type erased.
pub(crate) trait Target: Send + Sync + 'static {
    fn id(&self) -> u64;
    fn phase(&self) -> Phase;
    fn group_name(&self) -> &str;
    fn controls(&self) -> &Controls;
    fn existing_controls(&self) -> Option<&Controls>;
    fn wake(self: Arc<Self>);
    fn add_exit_listener(&self, listener: Listener);
}

impl<I: Isolate> Target for Cell<I> {
    fn id(&self) -> u64 {
        Task::id(self)
    }

    fn phase(&self) -> Phase {
        Task::phase(self)
    }

    fn group_name(&self) -> &str {
        &self.pool().name
    }

    fn controls(&self) -> &Controls {
        Cell::controls(self)
    }

    fn existing_controls(&self) -> Option<&Controls> {
        Cell::existing_controls(self)
    }

    fn wake(self: Arc<Self>) {
        self.wake_for_control();
    }

    fn add_exit_listener(&self, listener: Listener) {
        Cell::add_exit_listener(self, listener)
    }
}

thread_local! {
    /// The isolate whose run this thread is in, for `current()`: a pointer
    /// into the `Arc` that the run holds, so that a run costs no reference
    /// count; `current()` takes one only when it is called.
    static CURRENT: std::cell::Cell<Option<*const dyn Target>> =
        const { std::cell::Cell::new(None) };
}

thread_local! {
    /// Messages the current run's receive ports have handed out, and how
    /// often a receive has given way in it.
    static TAKEN: std::cell::Cell<(u32, u32)> = const { std::cell::Cell::new((0, 0)) };
    /// Whether the run is polling an async handler (not at a message
    /// boundary), as `run_core` says.
    static IN_HANDLER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// How often receives may give way in one run. Each give-way returns
/// `Pending` to whoever polls; a `select!` over a few ports returns
/// `Pending` to the run once every branch has, and the run then serves
/// the controls. A loop that never returns to the run (a `select!` with a
/// `default` branch) would find every receive `Pending` for ever; past the
/// limit it goes on receiving instead.
const GIVE_WAY_LIMIT: u32 = 64;

/// Runs `poll` (an async handler's poll) marked as inside a handler, so
/// that a receive inside it knows that requests for the next message
/// boundary wait.
pub(crate) fn polling_handler<R>(poll: impl FnOnce() -> R) -> R {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            let _ = IN_HANDLER.try_with(|flag| flag.set(self.0));
        }
    }
    let _restore = Restore(
        IN_HANDLER
            .try_with(|flag| flag.replace(true))
            .unwrap_or(false),
    );
    poll()
}

/// Makes the isolate behind `target` the current one for the length of a
/// run: until the returned guard drops, even on unwind.
///
/// `target` must point into an `Arc` that stays alive for the guard's life
/// (the run's own `self: Arc<Self>`).
pub(crate) fn enter(target: *const dyn Target) -> impl Drop {
    struct Leave(Option<*const dyn Target>, (u32, u32), bool);
    impl Drop for Leave {
        fn drop(&mut self) {
            let _ = CURRENT.try_with(|current| current.set(self.0));
            let _ = TAKEN.try_with(|taken| taken.set(self.1));
            let _ = IN_HANDLER.try_with(|flag| flag.set(self.2));
        }
    }
    let previous = CURRENT
        .try_with(|current| current.replace(Some(target)))
        .ok()
        .flatten();
    let taken = TAKEN
        .try_with(|taken| taken.replace((0, 0)))
        .unwrap_or((0, 0));
    let in_handler = IN_HANDLER
        .try_with(|flag| flag.replace(false))
        .unwrap_or(false);
    crate::panic_trace::forget();
    Leave(previous, taken, in_handler)
}

/// Messages a run may take from receive ports before it gives way, as an
/// `#[isolate]` run handles at most this many before it yields its worker.
const RECEIVE_BUDGET: u32 = 128;

/// Whether a receive port polled with `waker` must give way before it
/// hands out a message: `true` when the poll comes from the current
/// isolate's own run (its waker is the isolate's) and the isolate's control
/// lane has work it can serve now (a kill, a pause, a ping; inside an
/// async handler, only those of `Priority::Immediate` and pauses), or the
/// run has taken its budget of messages. The caller then wakes `waker` and returns `Pending`, so
/// that the run returns to its loop, which serves the controls first and
/// then polls again.
///
/// This is what makes "a control reaches an isolate at its next `.await`"
/// true of an entry that loops on `recv_async` over a full queue, which
/// would otherwise never return to the loop. A poll under another waker (a
/// nested executor, a combinator's own waker) never gives way: its
/// `Pending` would not reach the run, and the caller would spin. Receives
/// give way at most [`GIVE_WAY_LIMIT`] times per run.
pub(crate) fn receive_must_yield(waker: &std::task::Waker) -> bool {
    let Some(target) = CURRENT.try_with(std::cell::Cell::get).ok().flatten() else {
        return false;
    };
    // The isolate's waker is `Waker::from` its `Arc<Cell<_>>`, whose data
    // pointer is the cell, the address `target` holds.
    if !std::ptr::eq(waker.data(), target as *const ()) {
        return false;
    }
    let (taken, gave_way) = TAKEN.try_with(std::cell::Cell::get).unwrap_or((0, 0));
    if gave_way >= GIVE_WAY_LIMIT {
        return false;
    }
    // SAFETY: as in `current`: while `CURRENT` holds the pointer, the run
    // that set it holds the `Arc` it points into, so the allocation is alive.
    let target = unsafe { &*target };
    // Inside an async handler, requests for the next message boundary wait
    // for it (giving way for them would spin); an entry's poll, or a
    // pinned isolate's factory, is at a boundary.
    let boundary = !IN_HANDLER.try_with(std::cell::Cell::get).unwrap_or(false);
    let must = taken >= RECEIVE_BUDGET
        || target
            .existing_controls()
            .is_some_and(|controls| controls.has_work_now(boundary));
    if must {
        let _ = TAKEN.try_with(|count| count.set((taken, gave_way + 1)));
    }
    must
}

/// Ends the current isolate here if it has been killed with
/// [`Priority::Immediate`]: the cooperative check for a long computation,
/// which no kill can otherwise interrupt (Rust cannot stop a thread from
/// outside). Unwinds to the isolate's run loop, as [`exit`](crate::exit)
/// does, so destructors run; returns at once otherwise, and on a plain
/// thread. It costs a thread-local read and an atomic load: call it every
/// few thousand iterations of a hot loop, or once per unit of work.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
///
/// async fn crunch(started: SendPort<()>) {
///     let _ = started.send(());
///     let mut total = 0u64;
///     for n in 0..u64::MAX {
///         if n % 4096 == 0 {
///             isolate_core::checkpoint(); // a kill ends the loop here
///         }
///         total = total.wrapping_add(n);
///     }
///     println!("{total}");
/// }
///
/// let group = IsolateGroup::new();
/// let (mut started, mut exits) = (ReceivePort::new(), ReceivePort::new());
/// let handle = group.spawn_fn(crunch, started.send_port());
/// handle.add_on_exit_listener(exits.send_port(), ());
/// started.recv().unwrap(); // it is in its loop, or about to be
/// handle.kill(Priority::Immediate);
/// assert_eq!(exits.recv(), Ok(()));
/// ```
pub fn checkpoint() {
    let Some(target) = CURRENT.try_with(std::cell::Cell::get).ok().flatten() else {
        return;
    };
    // SAFETY: as in `current`: while `CURRENT` holds the pointer, the run
    // that set it holds the `Arc` it points into, so the allocation is alive.
    let target = unsafe { &*target };
    if target
        .existing_controls()
        .is_some_and(Controls::is_killed_now)
        && !std::thread::panicking()
    {
        crate::scheduler::cell::unwind_exit();
    }
}

/// Counts a message a receive port handed out in the current run.
pub(crate) fn took_message() {
    let _ = TAKEN.try_with(|count| {
        let (taken, gave_way) = count.get();
        count.set((taken.saturating_add(1), gave_way));
    });
}

/// The id of the isolate whose run this thread is in, if one is: what
/// `current()` would name, without taking a reference count.
pub(crate) fn current_id() -> Option<u64> {
    let target = CURRENT.try_with(std::cell::Cell::get).ok().flatten()?;
    // SAFETY: as in `current`: while `CURRENT` holds the pointer, the run
    // that set it holds the `Arc` it points into, so the allocation is alive.
    Some(unsafe { (*target).id() })
}

/// The isolate this code runs in (Dart's `Isolate.current`), or `None` on a
/// plain thread.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
/// use isolate_core::SpawnOptions;
///
/// async fn who_am_i(answer: SendPort<Option<String>>) {
///     let me = isolate_core::current().expect("inside an isolate");
///     answer.send(me.name().map(str::to_owned)).unwrap();
/// }
///
/// let group = IsolateGroup::new();
/// let mut inbox = ReceivePort::new();
/// group.spawn_fn_with(who_am_i, inbox.send_port(), SpawnOptions::new().name("alice"));
/// assert_eq!(inbox.recv(), Ok(Some("alice".to_owned())));
/// assert!(isolate_core::current().is_none());
/// ```
pub fn current() -> Option<IsolateHandle> {
    let target = CURRENT.try_with(std::cell::Cell::get).ok().flatten()?;
    // SAFETY: `target` was set by `enter` from the `Arc<Cell<I>>` that the
    // running `Task::run` holds, coerced to `*const dyn Target`, and it is
    // cleared when the run ends (the guard drops on unwind too). So the
    // allocation is alive with a strong count of at least one while we are
    // here. Taking one more count and rebuilding an `Arc` from the same
    // pointer is what `Arc::increment_strong_count` and `Arc::from_raw`
    // allow for a pointer of an `Arc<T>` unsized to `Arc<dyn Target>`.
    let target = unsafe {
        Arc::increment_strong_count(target);
        Arc::from_raw(target)
    };
    Some(IsolateHandle {
        target,
        rights: Rights::ALL,
    })
}

impl IsolateHandle {
    pub(crate) fn new<I: Isolate>(cell: Arc<Cell<I>>) -> Self {
        IsolateHandle {
            target: cell,
            rights: Rights::ALL,
        }
    }

    /// This handle without the right to kill the isolate or to change
    /// whether its errors are fatal (Dart's handle without a
    /// `terminateCapability`): [`kill`](Self::kill) and
    /// [`set_errors_fatal`](Self::set_errors_fatal) through it are ignored.
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
    /// let watcher = handle.without_terminate();
    /// assert!(!watcher.can_terminate() && watcher.can_pause());
    /// assert_ne!(watcher, handle); // same isolate, other rights
    /// watcher.kill(Priority::Immediate); // ignored
    /// let mut pongs = ReceivePort::new();
    /// watcher.ping(pongs.send_port(), "alive", Priority::Immediate);
    /// assert_eq!(pongs.recv(), Ok("alive"));
    /// handle.kill(Priority::Immediate);
    /// ```
    #[must_use]
    pub fn without_terminate(&self) -> IsolateHandle {
        IsolateHandle {
            target: self.target.clone(),
            rights: Rights {
                terminate: false,
                ..self.rights
            },
        }
    }

    /// This handle without the right to pause or resume the isolate (Dart's
    /// handle without a `pauseCapability`): [`pause`](Self::pause),
    /// [`pause_with`](Self::pause_with) and [`resume`](Self::resume)
    /// through it are ignored.
    #[must_use]
    pub fn without_pause(&self) -> IsolateHandle {
        IsolateHandle {
            target: self.target.clone(),
            rights: Rights {
                pause: false,
                ..self.rights
            },
        }
    }

    /// This handle with neither right (Dart's `Isolate(controlPort)`): it
    /// can ping the isolate, ask about it and listen for its exit and
    /// errors, and nothing more.
    #[must_use]
    pub fn control_only(&self) -> IsolateHandle {
        IsolateHandle {
            target: self.target.clone(),
            rights: Rights {
                terminate: false,
                pause: false,
            },
        }
    }

    /// Whether this handle may kill the isolate.
    pub fn can_terminate(&self) -> bool {
        self.rights.terminate
    }

    /// Whether this handle may pause and resume the isolate.
    pub fn can_pause(&self) -> bool {
        self.rights.pause
    }

    /// The isolate's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.target.id()
    }

    /// The name given at spawn (Dart's `debugName`), if any.
    pub fn name(&self) -> Option<&str> {
        self.target
            .existing_controls()
            .and_then(|controls| controls.name.as_deref())
    }

    /// The name of the group it runs in.
    pub fn group_name(&self) -> &str {
        self.target.group_name()
    }

    /// Whether the isolate has ended. A snapshot: `false` may be stale at once.
    pub fn is_finished(&self) -> bool {
        self.target.phase() == Phase::Stopped
    }

    /// Ends the isolate (Dart's `kill`).
    ///
    /// [`Priority::BeforeNextEvent`] (Dart's default) lets the message being
    /// handled, and its async handler, finish first;
    /// [`Priority::Immediate`] also cancels an async handler at its next
    /// `.await`. Either way no further message is handled: queued asks fail
    /// with [`ReplyError::Dropped`](crate::ReplyError::Dropped), the exit
    /// listeners are told, and the isolate's ports close. Killing an ended
    /// isolate does nothing.
    ///
    /// A receive from one of the isolate's own [`ReceivePort`]s is such an
    /// `.await` even when a message is waiting: an entry that loops on
    /// `recv_async` is stopped before it takes the next message, whatever
    /// is still queued.
    ///
    /// **Killing the current isolate with `Priority::Immediate` does not
    /// return** (as in Dart): the isolate ends by unwinding from the call to
    /// its run loop, as [`exit`](crate::exit) does, so destructors run and
    /// nothing after the call executes. A [`run`](crate::run) computation
    /// that kills itself so delivers no result: its caller gets "the
    /// computation ended without a result". With
    /// `Priority::BeforeNextEvent` the call returns, and the message in hand
    /// finishes first. (Called while the thread is already unwinding, from a
    /// destructor, it returns, rather than abort the process.) So an
    /// isolate that kills a list of isolates, itself among them, kills
    /// itself last. A long computation that must be killable calls
    /// [`checkpoint`](crate::checkpoint).
    ///
    /// [`ReceivePort`]: crate::ReceivePort
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
    /// let mut exits = ReceivePort::new();
    /// handle.add_on_exit_listener(exits.send_port(), ());
    /// handle.kill(Priority::Immediate);
    /// assert_eq!(exits.recv(), Ok(()));
    /// assert!(handle.is_finished());
    /// ```
    pub fn kill(&self, priority: Priority) {
        if !self.rights.terminate {
            return;
        }
        self.target.controls().kill(priority);
        if priority == Priority::Immediate
            && current_id() == Some(self.target.id())
            && !std::thread::panicking()
        {
            crate::scheduler::cell::unwind_exit();
        }
        self.target.clone().wake();
    }

    /// Pauses the isolate with a new capability and returns it (Dart's
    /// `pause()`): it keeps queuing messages but handles none (and an async
    /// handler in flight waits at its next `.await`) until every capability
    /// that paused it is resumed. Control requests (kill, ping) are still
    /// served.
    pub fn pause(&self) -> Capability {
        let capability = Capability::new();
        self.pause_with(&capability);
        capability
    }

    /// Pauses the isolate with `capability` (Dart's `pause(capability)`).
    /// Pausing twice with one capability needs one resume.
    pub fn pause_with(&self, capability: &Capability) {
        if self.rights.pause {
            self.target.controls().pause(capability);
        }
    }

    /// Lifts the pause that `capability` holds (Dart's `resume`). The
    /// isolate goes on once no capability holds it paused. A capability that
    /// does not hold it paused does nothing.
    pub fn resume(&self, capability: &Capability) {
        if self.rights.pause && self.target.controls().resume(capability) {
            self.target.clone().wake();
        }
    }

    /// Asks a supervised isolate to restart at its next message boundary.
    pub(crate) fn request_restart(&self) {
        self.target.controls().restart();
        self.target.clone().wake();
    }

    /// Whether some capability holds the isolate paused.
    pub fn is_paused(&self) -> bool {
        self.target
            .existing_controls()
            .is_some_and(Controls::is_paused)
    }

    /// The capability that [`SpawnOptions::paused`](crate::SpawnOptions::paused)
    /// pauses the isolate with (Dart's `pauseCapability`). Through a handle
    /// without the pause right it is a fresh capability that holds nothing:
    /// the right to resume a paused spawn is not given away with the
    /// handle.
    pub fn pause_capability(&self) -> Capability {
        if self.rights.pause {
            self.target.controls().pause_capability.clone()
        } else {
            Capability::new()
        }
    }

    /// Asks the isolate to send `response` to `port`: a liveness probe
    /// (Dart's `ping`). [`Priority::Immediate`] (Dart's default) is served
    /// at the next message boundary or `.await`, even while paused;
    /// [`Priority::BeforeNextEvent`] waits for the current message to finish.
    /// An isolate that has ended sends nothing.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    /// use isolate_core::prelude::*;
    ///
    /// async fn forever(_: ()) { std::future::pending::<()>().await }
    ///
    /// let group = IsolateGroup::new();
    /// let handle = group.spawn_fn(forever, ());
    /// let mut pongs = ReceivePort::new();
    /// handle.ping(pongs.send_port(), "alive", Priority::Immediate);
    /// assert_eq!(pongs.recv_timeout(Duration::from_secs(5)), Ok("alive"));
    /// ```
    pub fn ping<T: Sendable>(&self, port: SendPort<T>, response: T, priority: Priority) {
        self.target
            .controls()
            .ping(Listener::new(port, response), priority);
        self.target.clone().wake();
    }

    /// Sends `response` to `port` when the isolate ends, however it ends
    /// (Dart's `addOnExitListener`). One listener per port: adding the same
    /// port again replaces its response. Unlike Dart, a listener added after
    /// the isolate ended is told at once, so no exit is ever missed.
    pub fn add_on_exit_listener<T: Sendable>(&self, port: SendPort<T>, response: T) {
        self.target.add_exit_listener(Listener::new(port, response));
    }

    /// Removes the exit listener registered for `port`, if any.
    pub fn remove_on_exit_listener<T: Sendable>(&self, port: &SendPort<T>) {
        if let Some(controls) = self.target.existing_controls() {
            controls.remove_exit_listener(port.id());
        }
    }

    /// Sends every uncaught error of the isolate to `port` (Dart's
    /// `addErrorListener`): a panicking handler, with its message. Errors
    /// from before the call are not replayed; pass
    /// [`SpawnOptions::on_error`](crate::SpawnOptions::on_error) at spawn
    /// time to see them all.
    pub fn add_error_listener(&self, port: SendPort<RemoteError>) {
        self.target.controls().add_error_listener(port);
    }

    /// Removes the error listener `port`, if registered.
    pub fn remove_error_listener(&self, port: &SendPort<RemoteError>) {
        if let Some(controls) = self.target.existing_controls() {
            controls.remove_error_listener(port.id());
        }
    }

    /// Whether a panicking handler ends the isolate (`true`, the default) or
    /// is reported to the error listeners while the isolate goes on with its
    /// next message (Dart's `setErrorsFatal`). Its pending ask, if the failed
    /// message was one, fails either way.
    pub fn set_errors_fatal(&self, fatal: bool) {
        if self.rights.terminate {
            self.target.controls().set_errors_fatal(fatal);
        }
    }
}

impl PartialEq for IsolateHandle {
    /// Handles are equal when they control the same isolate with the same
    /// rights, as Dart's compare their control port and capabilities.
    fn eq(&self, other: &Self) -> bool {
        self.id() == other.id() && self.rights == other.rights
    }
}

impl Eq for IsolateHandle {}

impl std::hash::Hash for IsolateHandle {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.id().hash(state);
        (self.rights.terminate, self.rights.pause).hash(state);
    }
}

impl fmt::Debug for IsolateHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsolateHandle")
            .field("id", &self.id())
            .field("name", &self.name())
            .field("group", &self.group_name())
            .field("finished", &self.is_finished())
            .field("can_terminate", &self.rights.terminate)
            .field("can_pause", &self.rights.pause)
            .finish()
    }
}
