//! [`IsolateHandle`]: Dart's `Isolate` object, the handle to a running
//! isolate.

use std::fmt;
use std::sync::Arc;

use crate::isolate::Isolate;
use crate::scheduler::cell::Cell;
use crate::scheduler::state::Phase;
use crate::scheduler::task::Task;

/// A handle to a spawned isolate (Dart's `Isolate` object): what
/// [`IsolateGroup::spawn_fn`](crate::IsolateGroup::spawn_fn) returns.
///
/// Holding a handle does not keep the isolate alive, and grants no way to
/// send to it: that takes a [`SendPort`](crate::SendPort).
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
    task: Arc<dyn Control>,
}

/// What a handle needs of an isolate, with its type erased.
trait Control: Send + Sync {
    fn id(&self) -> u64;
    fn phase(&self) -> Phase;
    fn group_name(&self) -> &str;
}

impl<I: Isolate> Control for Cell<I> {
    fn id(&self) -> u64 {
        Task::id(self)
    }

    fn phase(&self) -> Phase {
        Task::phase(self)
    }

    fn group_name(&self) -> &str {
        &self.pool().name
    }
}

impl IsolateHandle {
    pub(crate) fn new<I: Isolate>(cell: Arc<Cell<I>>) -> Self {
        IsolateHandle { task: cell }
    }

    /// The isolate's id, unique in the process.
    pub fn id(&self) -> u64 {
        self.task.id()
    }

    /// The name of the group it runs in.
    pub fn group_name(&self) -> &str {
        self.task.group_name()
    }

    /// Whether the isolate has ended. A snapshot: `false` may be stale at once.
    pub fn is_finished(&self) -> bool {
        self.task.phase() == Phase::Stopped
    }
}

impl fmt::Debug for IsolateHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsolateHandle")
            .field("id", &self.id())
            .field("group", &self.group_name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
