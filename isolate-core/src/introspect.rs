//! What a group can tell about itself: [`IsolateGroup::isolates`] and
//! [`IsolateGroup::stats`](crate::IsolateGroup::stats).

use std::sync::Arc;

/// One isolate, as [`IsolateGroup::isolates`](crate::IsolateGroup::isolates)
/// saw it. A snapshot: the isolate goes on meanwhile.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IsolateInfo {
    /// The isolate's id, unique in the process.
    pub id: u64,
    /// Its name, if it was given one at spawn.
    pub name: Option<Arc<str>>,
    /// What it was doing.
    pub state: IsolateState,
    /// Messages waiting in its mailbox.
    pub mailbox_len: usize,
    /// Its mailbox's bound ([`SpawnOptions::bounded`](crate::SpawnOptions::bounded)),
    /// or `None` when unbounded.
    pub mailbox_capacity: Option<usize>,
    /// Senders waiting for room in its full bounded mailbox.
    pub senders_waiting: usize,
    /// Messages it has handled so far.
    pub messages_handled: u64,
}

/// What an isolate was doing when it was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IsolateState {
    /// Waiting for a message (or for an async handler's wake-up).
    Idle,
    /// In a run queue, waiting for a worker.
    Scheduled,
    /// A worker is running it.
    Running,
    /// Held by a pause capability: messages queue, none is handled.
    Paused,
    /// Ended.
    Stopped,
}

/// Counters of a whole group, from
/// [`IsolateGroup::stats`](crate::IsolateGroup::stats).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GroupStats {
    /// Worker threads.
    pub workers: usize,
    /// Isolates alive now.
    pub live_isolates: usize,
    /// Isolates spawned since the group started.
    pub spawned: u64,
    /// Messages handled since the group started, by live and ended isolates.
    pub messages_handled: u64,
}

/// What [`IsolateGroup::shutdown`](crate::IsolateGroup::shutdown) found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ShutdownReport {
    /// Isolates whose handler had not returned when the wait ended (only
    /// with [`shutdown_timeout`](crate::IsolateGroup::shutdown_timeout)).
    /// They are stopped as soon as their handler returns.
    pub still_running: Vec<IsolateInfo>,
    /// Worker threads not joined because they were still in such a
    /// handler; each exits on its own afterwards.
    pub workers_left_running: Vec<String>,
    /// Isolates still alive when the shutdown began, which it stopped (the
    /// others had ended by themselves). After
    /// [`drain`](crate::IsolateGroup::drain), the ones that did not finish
    /// within the grace period.
    pub stopped: usize,
}

impl ShutdownReport {
    /// Whether every worker finished in time and was joined.
    pub fn is_clean(&self) -> bool {
        self.still_running.is_empty() && self.workers_left_running.is_empty()
    }
}
