//! A group's named-port registry: `group.register(name, &port)` and a typed
//! `group.lookup::<CounterPort>(name)`.
//!
//! A name maps to one live port. An isolate's names go when it ends, so a
//! lookup never hands out a port to a dead isolate; a name whose port points
//! elsewhere (a `ReceivePort`) is dropped from the registry once that port is
//! found closed.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::port::SendPort;
use crate::sendable::Sendable;

/// A port the registry can hold: [`SendPort<T>`] of a [`Sendable`] `T`, and
/// every port that `#[isolate]` generates.
///
/// A registered port reaches every isolate of the group that looks it up,
/// so the port and what it carries must be able to cross an isolate: the
/// trait asks for [`Sendable`] of both. That is the whole of its contract,
/// so it is safe to implement for a wrapper of one's own (a `#[message]`
/// struct around a `SendPort`, say); a wrapper that also holds shared
/// mutable state is not `Sendable`, and so is no `Port`.
///
/// # Examples
///
/// ```compile_fail
/// use std::sync::{Arc, Mutex};
/// use isolate_core::prelude::*;
///
/// let group = IsolateGroup::new();
/// let inbox = ReceivePort::<Arc<Mutex<u64>>>::new();
/// // A port of shared mutable state cannot be published: refused.
/// group.register("back", &inbox.send_port())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a port that other isolates may look up",
    label = "not a `Port`",
    note = "a `Port` is a `SendPort<T>` of a `Sendable` `T`, or a port that `#[isolate]` generates; \
            a type of your own can be one if it is `Sendable` (`#[message]` derives it), `Clone` and \
            `Sync`, with an `impl Port` that returns its `SendPort`"
)]
pub trait Port: Sendable + Clone + Sync {
    /// What the port carries.
    type Message: Sendable;

    /// The `SendPort` underneath.
    fn as_send_port(&self) -> &SendPort<Self::Message>;
}

impl<T: Sendable> Port for SendPort<T> {
    type Message = T;

    fn as_send_port(&self) -> &SendPort<T> {
        self
    }
}

/// A registered port with its type erased.
trait Entry: Send + Sync {
    fn as_any(&self) -> &dyn Any;
    fn type_name(&self) -> &'static str;
    fn is_closed(&self) -> bool;
}

impl<P: Port> Entry for P {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn type_name(&self) -> &'static str {
        std::any::type_name::<P>()
    }

    fn is_closed(&self) -> bool {
        self.as_send_port().is_closed()
    }
}

struct Registered {
    /// The isolate the port reaches, if it reaches one: its names are
    /// removed when it ends.
    isolate: Option<u64>,
    port: Box<dyn Entry>,
}

/// The registry of one group.
#[derive(Default)]
pub(crate) struct Registry {
    names: Mutex<HashMap<Arc<str>, Registered>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, HashMap<Arc<str>, Registered>> {
        self.names.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn register<P: Port>(&self, name: &str, port: &P) -> Result<(), RegisterError> {
        let name: Arc<str> = Arc::from(name);
        let isolate = port.as_send_port().isolate_id();
        let replaced = {
            let mut names = self.lock();
            if let Some(existing) = names.get(&name)
                && !existing.port.is_closed()
            {
                return Err(RegisterError::Taken {
                    name: name.to_string(),
                });
            }
            names.insert(
                name.clone(),
                Registered {
                    isolate,
                    port: Box::new(port.clone()),
                },
            )
        };
        // Dropped outside the lock: it may be a port's last clone.
        drop(replaced);
        port.as_send_port().note_registered(name);
        Ok(())
    }

    pub(crate) fn lookup<P: Port>(&self, name: &str) -> Result<P, LookupError> {
        let removed = {
            let mut names = self.lock();
            match names.get(name) {
                None => None,
                Some(entry) if entry.port.is_closed() => names.remove(name),
                Some(entry) => {
                    return match entry.port.as_any().downcast_ref::<P>() {
                        Some(port) => Ok(port.clone()),
                        None => Err(LookupError::WrongType {
                            name: name.to_owned(),
                            expected: std::any::type_name::<P>(),
                            registered: entry.port.type_name(),
                        }),
                    };
                }
            }
        };
        drop(removed);
        Err(LookupError::NotFound {
            name: name.to_owned(),
        })
    }

    pub(crate) fn unregister(&self, name: &str) -> bool {
        let removed = self.lock().remove(name);
        removed.is_some()
    }

    /// Removes `name` if it still belongs to isolate `id` (which ended).
    pub(crate) fn forget(&self, name: &str, id: u64) {
        let removed = {
            let mut names = self.lock();
            match names.get(name) {
                Some(entry) if entry.isolate == Some(id) => names.remove(name),
                _ => None,
            }
        };
        drop(removed);
    }

    pub(crate) fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .lock()
            .iter()
            .filter(|(_, entry)| !entry.port.is_closed())
            .map(|(name, _)| name.to_string())
            .collect();
        names.sort();
        names
    }

    /// Drops every entry (group shutdown).
    pub(crate) fn clear(&self) {
        let all = std::mem::take(&mut *self.lock());
        drop(all);
    }
}

/// Why [`IsolateGroup::register`](crate::IsolateGroup::register) refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RegisterError {
    /// A live port is already registered under this name.
    Taken {
        /// The name.
        name: String,
    },
}

impl fmt::Display for RegisterError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegisterError::Taken { name } => write!(
                f,
                "the name `{name}` is taken by a live port: unregister it first, or pick another name"
            ),
        }
    }
}

impl std::error::Error for RegisterError {}

/// Why [`IsolateGroup::lookup`](crate::IsolateGroup::lookup) found no port.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LookupError {
    /// No live port is registered under this name (its isolate may have
    /// ended).
    NotFound {
        /// The name.
        name: String,
    },
    /// A port of another type is registered under this name.
    WrongType {
        /// The name.
        name: String,
        /// The type asked for.
        expected: &'static str,
        /// The type registered.
        registered: &'static str,
    },
}

impl fmt::Display for LookupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LookupError::NotFound { name } => write!(
                f,
                "no live port is registered as `{name}` (it was never registered, or its isolate has ended)"
            ),
            LookupError::WrongType {
                name,
                expected,
                registered,
            } => write!(
                f,
                "`{name}` is registered as a `{registered}`, not a `{expected}`: look it up with that type"
            ),
        }
    }
}

impl std::error::Error for LookupError {}
