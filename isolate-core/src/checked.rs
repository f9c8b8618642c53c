//! [`Checked<T>`]: a handler's argument inside the message enum that
//! `#[isolate]` generates.

use std::marker::PhantomData;

use crate::reply::ReplySender;
use crate::sendable::Sendable;

/// A value known to be [`Sendable`]: the only way to make one is
/// [`Checked::new`] (or [`Checked::reply`], or deserializing one), which
/// asks `T: Sendable` of the caller. Not part of the API.
///
/// The message enum of an `#[isolate]` holds each argument in one, so that
/// the enum is `Send` and `Sendable` whatever its arguments' types are. An
/// argument type that is not `Sendable` is then refused once, by the
/// constructor the port methods call, at the type as the user wrote it,
/// instead of once by every use of the enum (its channel, its port, its
/// `Isolate` impl), which buried the useful error under a dozen others.
#[doc(hidden)]
pub struct Checked<T>(T, PhantomData<fn(T) -> T>);

// The bounds are on the functions, not the impls: an unmet bound on a
// function is reported with `Sendable`'s own message ("`T` cannot be sent
// to another isolate"), an unmet bound on an impl as "no function `new`".
impl<T> Checked<T> {
    /// Wraps a value whose type may cross an isolate.
    #[inline]
    pub fn new(value: T) -> Self
    where
        T: Sendable,
    {
        Checked(value, PhantomData)
    }

    /// The value.
    #[inline]
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<R> Checked<ReplySender<R>> {
    /// Wraps the reply sender of an ask whose answer may cross an isolate:
    /// the check names `R`, the handler's return type, not the sender.
    #[inline]
    pub fn reply(sender: ReplySender<R>) -> Self
    where
        R: Sendable,
    {
        Checked(sender, PhantomData)
    }
}

// SAFETY: a `Checked<T>` exists only for a `T: Sendable` (the constructors
// above and `Deserialize` below ask for it; the fields are private, and the
// `PhantomData` makes `T` invariant, so no lifetime inside it can shrink
// after the check), and `Sendable` implies `Send`.
unsafe impl<T> Send for Checked<T> {}

// SAFETY: as above: every value of this type holds a `Sendable` value.
unsafe impl<T: 'static> Sendable for Checked<T> {}

#[cfg(all(unix, feature = "process"))]
impl<T: serde::Serialize> serde::Serialize for Checked<T> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

#[cfg(all(unix, feature = "process"))]
impl<'de, T: serde::Deserialize<'de> + Sendable> serde::Deserialize<'de> for Checked<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(|value| Checked(value, PhantomData))
    }
}
