//! Dart's isolate controls: kill priorities, capability-based pause and
//! resume, pings, exit and error listeners, and the options given at spawn.
//!
//! Control requests travel in their own lane: they overtake queued messages
//! and are served even while the isolate is paused. An isolate that never
//! receives one pays one atomic load per message for the lane, and 16 bytes
//! for the lazily allocated control state.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::error::RemoteError;
use crate::port::SendPort;
use crate::sendable::Sendable;

/// When a [`kill`](crate::IsolateHandle::kill) or
/// [`ping`](crate::IsolateHandle::ping) takes effect (Dart's `priority`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Priority {
    /// As soon as possible: before the next message, and also at the next
    /// `.await` of an async handler in flight (which a kill then cancels).
    /// A synchronous handler cannot be interrupted; it finishes first.
    Immediate,
    /// At the next message boundary: after the message being handled (and
    /// its async handler) completes, before the next one. Dart's default for
    /// `kill`.
    BeforeNextEvent,
}

/// An unforgeable token (Dart's `Capability`): only its holder can resume
/// what it paused. Capabilities compare equal only to their own clones.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
///
/// async fn idle(_: ()) { std::future::pending::<()>().await }
///
/// let group = IsolateGroup::new();
/// let handle = group.spawn_fn(idle, ());
/// let first = handle.pause();
/// let second = handle.pause();
/// assert_ne!(first, second);
/// handle.resume(&first);
/// assert!(handle.is_paused()); // still held by `second`
/// handle.resume(&second);
/// assert!(!handle.is_paused());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Capability {
    id: u64,
}

impl Capability {
    /// A fresh capability, unequal to every other (Dart's `Capability()`):
    /// to pause an isolate with a token made in advance
    /// ([`IsolateHandle::pause_with`](crate::IsolateHandle::pause_with)), or
    /// as an unforgeable token of one's own in messages.
    ///
    /// ```
    /// use isolate_core::Capability;
    ///
    /// let token = Capability::new();
    /// assert_eq!(token, token.clone());
    /// assert_ne!(token, Capability::new());
    /// ```
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        Capability {
            id: NEXT.fetch_add(1, Ordering::Relaxed),
        }
    }
}

impl fmt::Debug for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Capability({})", self.id)
    }
}

// SAFETY: an immutable token.
unsafe impl Sendable for Capability {}
// SAFETY: as above.
unsafe impl crate::sendable::Immutable for Capability {}

/// Options fixed at spawn time (Dart's `spawn` named arguments), so that no
/// listener can miss an early exit or error: listeners added after spawning
/// race the isolate (dart-lang/sdk#26626, #30425).
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
/// use isolate_core::SpawnOptions;
///
/// async fn fails(_: ()) { panic!("on its first step") }
///
/// let group = IsolateGroup::new();
/// let mut errors = ReceivePort::new();
/// let mut exits = ReceivePort::new();
/// let options = SpawnOptions::new()
///     .name("worker-1")
///     .on_error(errors.send_port())
///     .on_exit(exits.send_port(), "worker-1 ended");
/// let handle = group.spawn_fn_with(fails, (), options);
/// assert_eq!(handle.name(), Some("worker-1"));
/// assert_eq!(errors.recv().unwrap().message(), "on its first step");
/// assert_eq!(exits.recv(), Ok("worker-1 ended"));
/// ```
#[derive(Default)]
pub struct SpawnOptions {
    pub(crate) name: Option<Arc<str>>,
    pub(crate) paused: bool,
    pub(crate) errors_are_fatal: Option<bool>,
    pub(crate) on_exit: Option<Listener>,
    pub(crate) on_error: Option<SendPort<RemoteError>>,
    pub(crate) capacity: Option<usize>,
}

impl SpawnOptions {
    /// The defaults: unnamed, running, errors fatal, no listeners.
    pub fn new() -> Self {
        Self::default()
    }

    /// A name for logs and introspection (Dart's `debugName`); names need
    /// not be unique.
    pub fn name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(Arc::from(name.into()));
        self
    }

    /// Start paused, with the handle's
    /// [`pause_capability`](crate::IsolateHandle::pause_capability): nothing
    /// runs until `handle.resume(&handle.pause_capability())`.
    pub fn paused(mut self, paused: bool) -> Self {
        self.paused = paused;
        self
    }

    /// Whether a panicking handler ends the isolate (the default, as in
    /// Dart) or is reported to the error listeners while the isolate goes
    /// on with its next message.
    pub fn errors_are_fatal(mut self, fatal: bool) -> Self {
        self.errors_are_fatal = Some(fatal);
        self
    }

    /// Send `response` to `port` when the isolate ends, however it ends.
    pub fn on_exit<T: Sendable>(mut self, port: SendPort<T>, response: T) -> Self {
        self.on_exit = Some(Listener::new(port, response));
        self
    }

    /// Send every uncaught error of the isolate to `port`.
    pub fn on_error(mut self, port: SendPort<RemoteError>) -> Self {
        self.on_error = Some(port);
        self
    }

    /// Give the isolate a bounded mailbox that holds at most `capacity`
    /// messages (at least one; `0` is taken as `1`). The default is
    /// unbounded.
    ///
    /// A full mailbox pushes back on its senders:
    /// [`send`](crate::SendPort::send) (and a typed port's tell) waits for
    /// room on a plain thread, [`send_async`](crate::SendPort::send_async)
    /// (a port's `_async` method) waits without blocking, and
    /// [`try_send`](crate::SendPort::try_send) (a port's `try_` method)
    /// returns [`TrySendError::Full`](crate::TrySendError::Full) with the
    /// message. An ask never waits when it is made: its request goes out
    /// when the reply is waited for or awaited, within that wait's timeout.
    /// Control requests (kill, ping, pause) never count against the bound.
    ///
    /// As with any bounded channel, a cycle of waits can deadlock: an
    /// isolate that awaits room in its *own* full mailbox, or two isolates
    /// that each await room in the other's, wait for each other forever.
    /// Use the `try_` forms on such paths (or leave those mailboxes
    /// unbounded); `IsolateGroup::isolates()` shows `senders_waiting`.
    ///
    /// # Examples
    ///
    /// ```
    /// use isolate_core::prelude::*;
    /// use isolate_core::SpawnOptions;
    ///
    /// #[isolate]
    /// #[derive(Default)]
    /// struct Sink { got: u32 }
    ///
    /// #[isolate]
    /// impl Sink {
    ///     #[message]
    ///     fn put(&mut self, _n: u32) { self.got += 1 }
    ///     #[message]
    ///     fn got(&self) -> u32 { self.got }
    /// }
    ///
    /// let group = IsolateGroup::new();
    /// let (sink, _handle) = group.spawn_with(Sink::default(), SpawnOptions::new().bounded(8));
    /// for n in 0..1000 {
    ///     sink.put(n)?; // waits whenever 8 are queued
    /// }
    /// assert_eq!(sink.got().wait(), Ok(1000));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn bounded(mut self, capacity: usize) -> Self {
        self.capacity = Some(capacity);
        self
    }

    pub(crate) fn needs_controls(&self) -> bool {
        self.name.is_some()
            || self.paused
            || self.errors_are_fatal.is_some()
            || self.on_exit.is_some()
            || self.on_error.is_some()
    }
}

impl fmt::Debug for SpawnOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpawnOptions")
            .field("name", &self.name)
            .field("paused", &self.paused)
            .field("errors_are_fatal", &self.errors_are_fatal.unwrap_or(true))
            .field("on_exit", &self.on_exit.is_some())
            .field("on_error", &self.on_error.is_some())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// A response bound to a port, sent at most once.
pub(crate) struct Listener {
    port_id: usize,
    send: Box<dyn FnOnce() + Send>,
}

impl Listener {
    pub(crate) fn new<T: Sendable>(port: SendPort<T>, response: T) -> Self {
        Listener {
            port_id: port.id(),
            send: Box::new(move || {
                let _ = port.send(response);
            }),
        }
    }

    pub(crate) fn fire(self) {
        (self.send)();
    }
}

/// A control request waiting in the control lane.
pub(crate) enum Request {
    Kill,
    Ping(Listener),
    /// A supervisor restarts this isolate (a sibling failed).
    Restart,
}

/// Bits of `Controls::flags`, read without the lock on every message.
const PENDING: usize = 1;
const KILL_NOW: usize = 2;
const PAUSED: usize = 4;
/// The immediate queue has requests: served even with a handler in flight.
const URGENT: usize = 8;

/// An isolate's control state, allocated on first use.
pub(crate) struct Controls {
    pub(crate) name: Option<Arc<str>>,
    flags: AtomicUsize,
    state: Mutex<State>,
    pub(crate) pause_capability: Capability,
}

struct State {
    /// Immediate requests, served at the next boundary or `.await`.
    immediate: VecDeque<Request>,
    /// Requests served at the next message boundary.
    next_event: VecDeque<Request>,
    pauses: Vec<Capability>,
    exit_listeners: Vec<Listener>,
    error_listeners: Vec<SendPort<RemoteError>>,
    errors_fatal: bool,
    exited: bool,
    /// Names this isolate is registered under in its group's registry.
    registered: Vec<Arc<str>>,
}

/// What the run loop must do after serving the control lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    Go,
    Paused,
    Kill,
    /// Replace the isolate's value with a fresh one (supervision).
    Restart,
}

impl Controls {
    pub(crate) fn new(options: SpawnOptions) -> Self {
        let pause_capability = Capability::new();
        let mut state = State {
            immediate: VecDeque::new(),
            next_event: VecDeque::new(),
            pauses: Vec::new(),
            exit_listeners: Vec::new(),
            error_listeners: Vec::new(),
            errors_fatal: options.errors_are_fatal.unwrap_or(true),
            exited: false,
            registered: Vec::new(),
        };
        let mut flags = 0;
        if options.paused {
            state.pauses.push(pause_capability.clone());
            flags |= PAUSED;
        }
        state.exit_listeners.extend(options.on_exit);
        state.error_listeners.extend(options.on_error);
        Controls {
            name: options.name,
            flags: AtomicUsize::new(flags),
            state: Mutex::new(state),
            pause_capability,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a kill. Returns `true`: the isolate must be woken.
    pub(crate) fn kill(&self, priority: Priority) {
        match priority {
            Priority::Immediate => {
                self.flags.fetch_or(KILL_NOW | PENDING, Ordering::AcqRel);
            }
            Priority::BeforeNextEvent => {
                self.lock().next_event.push_back(Request::Kill);
                self.flags.fetch_or(PENDING, Ordering::AcqRel);
            }
        }
    }

    /// Queues a restart, served at the next message boundary.
    pub(crate) fn restart(&self) {
        let mut state = self.lock();
        if state.exited {
            return;
        }
        state.next_event.push_back(Request::Restart);
        self.flags.fetch_or(PENDING, Ordering::AcqRel);
    }

    pub(crate) fn ping(&self, listener: Listener, priority: Priority) {
        let mut state = self.lock();
        if state.exited {
            return;
        }
        match priority {
            Priority::Immediate => {
                state.immediate.push_back(Request::Ping(listener));
                self.flags.fetch_or(PENDING | URGENT, Ordering::AcqRel);
            }
            Priority::BeforeNextEvent => {
                state.next_event.push_back(Request::Ping(listener));
                self.flags.fetch_or(PENDING, Ordering::AcqRel);
            }
        }
    }

    pub(crate) fn pause(&self, capability: &Capability) {
        let mut state = self.lock();
        if !state.pauses.contains(capability) {
            state.pauses.push(capability.clone());
        }
        self.flags.fetch_or(PAUSED, Ordering::AcqRel);
    }

    /// Returns `true` when the isolate is no longer paused and must be woken.
    pub(crate) fn resume(&self, capability: &Capability) -> bool {
        let mut state = self.lock();
        let before = state.pauses.len();
        state.pauses.retain(|held| held != capability);
        if state.pauses.is_empty() && before > 0 {
            self.flags.fetch_and(!PAUSED, Ordering::AcqRel);
            true
        } else {
            false
        }
    }

    pub(crate) fn is_paused(&self) -> bool {
        self.flags.load(Ordering::Acquire) & PAUSED != 0
    }

    /// Registers an exit listener; one per port, the last response wins. If
    /// the isolate has already ended, the response is sent at once (Dart
    /// sends nothing then, and users lose exits to that race).
    pub(crate) fn add_exit_listener(&self, listener: Listener) {
        let mut state = self.lock();
        if state.exited {
            drop(state);
            listener.fire();
            return;
        }
        state
            .exit_listeners
            .retain(|l| l.port_id != listener.port_id);
        state.exit_listeners.push(listener);
    }

    pub(crate) fn remove_exit_listener(&self, port_id: usize) {
        let removed: Vec<Listener> = {
            let mut state = self.lock();
            let (removed, kept) = std::mem::take(&mut state.exit_listeners)
                .into_iter()
                .partition(|l| l.port_id == port_id);
            state.exit_listeners = kept;
            removed
        };
        drop(removed);
    }

    pub(crate) fn add_error_listener(&self, port: SendPort<RemoteError>) {
        let mut state = self.lock();
        if !state.error_listeners.iter().any(|p| p.id() == port.id()) {
            state.error_listeners.push(port);
        }
    }

    pub(crate) fn remove_error_listener(&self, port_id: usize) {
        let removed: Vec<SendPort<RemoteError>> = {
            let mut state = self.lock();
            let (removed, kept) = std::mem::take(&mut state.error_listeners)
                .into_iter()
                .partition(|p| p.id() == port_id);
            state.error_listeners = kept;
            removed
        };
        drop(removed);
    }

    pub(crate) fn set_errors_fatal(&self, fatal: bool) {
        self.lock().errors_fatal = fatal;
    }

    /// Reports an uncaught error to the listeners. Returns whether it is
    /// fatal.
    pub(crate) fn report_error(&self, error: &RemoteError) -> bool {
        let (listeners, fatal) = {
            let state = self.lock();
            (state.error_listeners.clone(), state.errors_fatal)
        };
        for port in listeners {
            let _ = port.send(error.clone());
        }
        fatal
    }

    /// Serves the control lane. `boundary` says whether the isolate is
    /// between messages (no async handler in flight).
    pub(crate) fn serve(&self, boundary: bool) -> Verdict {
        let flags = self.flags.load(Ordering::Acquire);
        if flags & KILL_NOW != 0 {
            return Verdict::Kill;
        }
        if flags & PENDING != 0 {
            let mut fired = Vec::new();
            let mut restart = false;
            let kill = {
                let mut state = self.lock();
                let mut kill = take(&mut state.immediate, &mut fired, &mut restart);
                if state.immediate.is_empty() {
                    self.flags.fetch_and(!URGENT, Ordering::AcqRel);
                }
                if boundary && !kill {
                    kill = take(&mut state.next_event, &mut fired, &mut restart);
                }
                if state.immediate.is_empty() && state.next_event.is_empty() {
                    self.flags.fetch_and(!PENDING, Ordering::AcqRel);
                }
                kill
            };
            // Outside the lock: a response's port may lead anywhere.
            for listener in fired {
                listener.fire();
            }
            if kill {
                return Verdict::Kill;
            }
            if restart {
                return Verdict::Restart;
            }
        }
        if self.flags.load(Ordering::Acquire) & PAUSED != 0 {
            Verdict::Paused
        } else {
            Verdict::Go
        }
    }

    /// Whether `serve(boundary)` would do something now (one atomic load):
    /// what makes a receive inside the isolate give way. Requests for the
    /// next message boundary do not count inside an async handler, which
    /// they wait for (the receive would give way for ever).
    pub(crate) fn has_work_now(&self, boundary: bool) -> bool {
        let flags = self.flags.load(Ordering::Acquire);
        flags & (KILL_NOW | PAUSED | URGENT) != 0 || (boundary && flags & PENDING != 0)
    }

    /// Whether a kill with [`Priority::Immediate`] is waiting.
    pub(crate) fn is_killed_now(&self) -> bool {
        self.flags.load(Ordering::Acquire) & KILL_NOW != 0
    }

    /// Whether the lane has anything for `serve` (one atomic load).
    pub(crate) fn has_work(&self) -> bool {
        self.flags.load(Ordering::Acquire) & (PENDING | KILL_NOW | PAUSED) != 0
    }

    /// Records a registered name. Returns `false` if the isolate has already
    /// ended (the caller then removes the name itself).
    pub(crate) fn note_registered(&self, name: Arc<str>) -> bool {
        let mut state = self.lock();
        if state.exited {
            return false;
        }
        state.registered.push(name);
        true
    }

    /// The names to remove from the registry now that the isolate ended.
    pub(crate) fn take_registered(&self) -> Vec<Arc<str>> {
        std::mem::take(&mut self.lock().registered)
    }

    /// The isolate ended: fires the exit listeners, once.
    pub(crate) fn exited(&self) {
        let listeners = {
            let mut state = self.lock();
            state.exited = true;
            state.immediate.clear();
            state.next_event.clear();
            std::mem::take(&mut state.exit_listeners)
        };
        for listener in listeners {
            listener.fire();
        }
    }
}

/// Moves the pings of `queue` into `fired`, up to a kill. Returns whether it
/// met a kill (which stays served: the isolate ends).
fn take(queue: &mut VecDeque<Request>, fired: &mut Vec<Listener>, restart: &mut bool) -> bool {
    while let Some(request) = queue.pop_front() {
        match request {
            Request::Ping(listener) => fired.push(listener),
            Request::Restart => *restart = true,
            Request::Kill => return true,
        }
    }
    false
}

/// Lazily allocated control state: 16 bytes per isolate until used.
pub(crate) type LazyControls = OnceLock<Box<Controls>>;
