//! Supervision: isolates restarted in place when they fail, with Erlang's
//! strategies and a restart intensity.
//!
//! A supervised isolate is restarted *in place*: its mailbox, its ports and
//! its id stay; only its value is replaced by a fresh one from its factory.
//! So callers keep their ports across restarts, and messages queued when it
//! failed are handled by the new instance. The message whose handler failed
//! is lost (its ask fails with [`ReplyError::Dropped`](crate::ReplyError)).
//!
//! A factory that panics while it restarts a child is that child failing
//! again: its panic reaches the child's error listeners, it counts towards
//! the restart intensity, and the factory is tried again while the
//! intensity allows. One that always panics so fails the supervisor, which
//! stops every child and tells its failure listeners; a child is never
//! left without a value, nor gone without a word.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use crate::control::{Capability, Listener, SpawnOptions};
use crate::group::IsolateGroup;
use crate::handle::IsolateHandle;
use crate::isolate::Isolate;
use crate::port::SendPort;
use crate::sendable::Sendable;

/// Which siblings restart with a failed child (Erlang's strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Strategy {
    /// Only the failed child restarts.
    OneForOne,
    /// Every child restarts.
    OneForAll,
    /// The failed child and those started after it restart.
    RestForOne,
}

/// Configures a [`Supervisor`]. Made by [`Supervisor::builder`].
#[derive(Debug, Clone)]
pub struct SupervisorBuilder {
    group: IsolateGroup,
    strategy: Strategy,
    max_restarts: u32,
    within: Duration,
    backoff: Option<Duration>,
}

impl SupervisorBuilder {
    /// The restart strategy. Default: [`Strategy::OneForOne`].
    pub fn strategy(mut self, strategy: Strategy) -> Self {
        self.strategy = strategy;
        self
    }

    /// The restart intensity: at most `max_restarts` restarts within
    /// `within`; one more and the supervisor fails (it stops every child and
    /// tells its failure listeners). Default: 3 within 5 seconds (Erlang's).
    pub fn intensity(mut self, max_restarts: u32, within: Duration) -> Self {
        self.max_restarts = max_restarts;
        self.within = within;
        self
    }

    /// Wait this long before a restarted child takes its next message (it
    /// is paused meanwhile; its messages queue). Default: none.
    pub fn backoff(mut self, delay: Duration) -> Self {
        self.backoff = Some(delay);
        self
    }

    /// Creates the supervisor. It is not an isolate of its own: its decisions
    /// are made, under one lock, by whichever child fails.
    pub fn build(self) -> Supervisor {
        Supervisor {
            group: self.group,
            core: Arc::new(Core {
                strategy: self.strategy,
                max_restarts: self.max_restarts,
                within: self.within,
                backoff: self.backoff,
                restarts: AtomicU64::new(0),
                state: Mutex::new(State::default()),
            }),
        }
    }
}

/// Supervises isolates: restarts the ones that fail, in place, with a
/// [`Strategy`] and a restart intensity.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
/// use isolate_core::{Strategy, Supervisor};
///
/// #[isolate]
/// #[derive(Default)]
/// struct Flaky { handled: u32 }
///
/// #[isolate]
/// impl Flaky {
///     #[message]
///     fn work(&mut self, fail: bool) -> u32 {
///         assert!(!fail, "failed on purpose");
///         self.handled += 1;
///         self.handled
///     }
/// }
///
/// let group = IsolateGroup::new();
/// let supervisor = Supervisor::builder(&group).strategy(Strategy::OneForOne).build();
/// let flaky: FlakyPort = supervisor.spawn(Flaky::default);
/// assert_eq!(flaky.work(false).wait(), Ok(1));
/// assert!(flaky.work(true).wait().is_err()); // the failing ask fails...
/// assert_eq!(flaky.work(false).wait(), Ok(1)); // ...the same port reaches a fresh instance
/// assert_eq!(supervisor.restarts(), 1);
/// ```
#[derive(Clone)]
pub struct Supervisor {
    group: IsolateGroup,
    core: Arc<Core>,
}

pub(crate) struct Core {
    strategy: Strategy,
    max_restarts: u32,
    within: Duration,
    backoff: Option<Duration>,
    restarts: AtomicU64,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Live children, in start order.
    children: Vec<IsolateHandle>,
    recent: VecDeque<Instant>,
    failed: bool,
    on_failure: Vec<Listener>,
}

/// What a failed child does next.
pub(crate) enum Decision {
    /// Restart in place; if `paused`, hold it paused with that capability
    /// for the backoff delay.
    Restart(Option<(Capability, Duration)>),
    /// The supervisor has failed: end.
    GiveUp,
}

impl Core {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Child `id` failed. Decides its fate, and restarts or stops its
    /// siblings as the strategy says.
    pub(crate) fn child_failed(&self, id: u64) -> Decision {
        let now = Instant::now();
        let (decision, siblings_restart, stop_all, listeners) = {
            let mut state = self.lock();
            if state.failed {
                return Decision::GiveUp;
            }
            while state
                .recent
                .front()
                .is_some_and(|at| now.duration_since(*at) > self.within)
            {
                state.recent.pop_front();
            }
            if state.recent.len() as u32 >= self.max_restarts {
                state.failed = true;
                let all: Vec<IsolateHandle> = state.children.drain(..).collect();
                let listeners = std::mem::take(&mut state.on_failure);
                (Decision::GiveUp, Vec::new(), all, listeners)
            } else {
                state.recent.push_back(now);
                self.restarts.fetch_add(1, Ordering::Relaxed);
                let position = state.children.iter().position(|child| child.id() == id);
                let siblings: Vec<IsolateHandle> = match (self.strategy, position) {
                    (Strategy::OneForOne, _) | (_, None) => Vec::new(),
                    (Strategy::OneForAll, Some(_)) => state
                        .children
                        .iter()
                        .filter(|child| child.id() != id)
                        .cloned()
                        .collect(),
                    (Strategy::RestForOne, Some(at)) => state.children[at + 1..].to_vec(),
                };
                let pause = self.backoff.map(|delay| (Capability::new(), delay));
                (Decision::Restart(pause), siblings, Vec::new(), Vec::new())
            }
        };
        // Outside the lock: these reach other isolates.
        for sibling in siblings_restart {
            sibling.request_restart();
        }
        for child in stop_all {
            if child.id() != id {
                child.kill(crate::control::Priority::Immediate);
            }
        }
        for listener in listeners {
            listener.fire();
        }
        decision
    }

    /// Child `id` ended for good (killed, stopped, or its group shut down).
    pub(crate) fn child_ended(&self, id: u64) {
        let removed: Vec<IsolateHandle> = {
            let mut state = self.lock();
            let (gone, kept) = std::mem::take(&mut state.children)
                .into_iter()
                .partition(|child| child.id() == id);
            state.children = kept;
            gone
        };
        drop(removed);
    }
}

impl Supervisor {
    /// Configures a supervisor of isolates in `group`.
    pub fn builder(group: &IsolateGroup) -> SupervisorBuilder {
        SupervisorBuilder {
            group: group.clone(),
            strategy: Strategy::OneForOne,
            max_restarts: 3,
            within: Duration::from_secs(5),
            backoff: None,
        }
    }

    /// Spawns a supervised isolate built by `factory`, which builds it again
    /// for each restart. Returns its port, which stays valid across
    /// restarts.
    pub fn spawn<I: Isolate + Sendable>(&self, factory: fn() -> I) -> I::Port {
        self.spawn_with(factory, SpawnOptions::new()).0
    }

    /// [`spawn`](Self::spawn) with [`SpawnOptions`], returning the port and
    /// the child's handle.
    pub fn spawn_with<I: Isolate + Sendable>(
        &self,
        factory: fn() -> I,
        options: SpawnOptions,
    ) -> (I::Port, IsolateHandle) {
        let (port, handle) = self
            .group
            .spawn_supervised(factory, self.core.clone(), options);
        let failed = {
            let mut state = self.core.lock();
            if !state.failed {
                state.children.push(handle.clone());
            }
            state.failed
        };
        if failed {
            handle.kill(crate::control::Priority::Immediate);
        }
        (port, handle)
    }

    /// Restarts performed so far, counting those whose factory panicked.
    pub fn restarts(&self) -> u64 {
        self.core.restarts.load(Ordering::Relaxed)
    }

    /// Whether the restart intensity was exceeded: every child was stopped
    /// and no restart happens any more.
    pub fn has_failed(&self) -> bool {
        self.core.lock().failed
    }

    /// Sends `response` to `port` when the supervisor fails. If it has
    /// failed already, at once.
    pub fn on_failure<T: Sendable>(&self, port: SendPort<T>, response: T) {
        let listener = Listener::new(port, response);
        let mut state = self.core.lock();
        if state.failed {
            drop(state);
            listener.fire();
        } else {
            state.on_failure.push(listener);
        }
    }

    /// Handles of the live children, in start order.
    pub fn children(&self) -> Vec<IsolateHandle> {
        self.core.lock().children.clone()
    }
}

impl fmt::Debug for Supervisor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Supervisor")
            .field("strategy", &self.core.strategy)
            .field("restarts", &self.restarts())
            .field("failed", &self.has_failed())
            .finish_non_exhaustive()
    }
}
