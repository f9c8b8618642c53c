//! What a user of isolates needs, in one import: `use isolate_core::prelude::*;`.

pub use crate::control::{Capability, Priority};
pub use crate::error::{RemoteError, ReplyError, SendError, TrySendError};
pub use crate::group::IsolateGroup;
pub use crate::handle::IsolateHandle;
pub use crate::isolate::{Handled, Isolate};
pub use crate::port::{ReceivePort, SendPort};
#[cfg(all(unix, feature = "process"))]
pub use crate::process::ProcessIsolate;
pub use crate::registry::Port;
pub use crate::reply::{Reply, ReplySender};
pub use crate::sendable::{Immutable, Sendable};
pub use crate::shared::Shared;
#[cfg(feature = "macros")]
pub use isolate_macros::{isolate, message};
