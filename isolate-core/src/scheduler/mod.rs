//! The M:N scheduler: isolates multiplexed on a group's worker threads.
//!
//! - `state.rs`: the scheduling state machine of one isolate (loom-checked).
//! - `mailbox.rs`: an isolate's closable FIFO of messages.
//! - `cell.rs`: an isolate in memory and how one run of it goes.
//! - `pool.rs`: a group's queues, threads and shutdown.
//! - `worker.rs`: a worker thread's loop, LIFO slot and work stealing.
//! - `idle.rs`: parking and waking workers without lost wake-ups.
//! - `owned.rs`: every live isolate of a group, for shutdown.
//! - `reactor.rs`: a group's tokio runtime, driven by its parked workers.

pub(crate) mod cell;
pub(crate) mod idle;
pub(crate) mod mailbox;
pub(crate) mod owned;
pub(crate) mod pool;
pub(crate) mod reactor;
pub(crate) mod state;
pub(crate) mod task;
pub(crate) mod watch;
pub(crate) mod worker;
