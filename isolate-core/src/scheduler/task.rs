//! What a run queue holds: a type-erased, reference-counted isolate.

use std::sync::Arc;

use super::state::Phase;

/// An isolate as the scheduler sees it.
pub(crate) trait Task: Send + Sync + 'static {
    /// Runs the isolate: handles its messages (up to a budget) and polls its
    /// async handler. Called by a worker that popped it from a queue.
    fn run(self: Arc<Self>);

    /// Group shutdown: stops the isolate unless a worker is running it (that
    /// worker then stops it when the run ends).
    fn shutdown(&self);

    /// The isolate's id, unique within the process.
    fn id(&self) -> u64;

    /// Its current scheduling phase.
    fn phase(&self) -> Phase;

    /// A snapshot for introspection.
    fn info(&self) -> crate::introspect::IsolateInfo;

    /// Where the isolate is registered in its group's table.
    fn key(&self) -> super::owned::Key;

    /// The worker a pinned isolate must run on; `None` when any will do.
    fn home(&self) -> Option<usize> {
        None
    }
}

pub(crate) type TaskRef = Arc<dyn Task>;
