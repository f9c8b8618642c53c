//! How ports, replies and shared objects cross into another process.
//!
//! A [`SendPort`] or [`ReplySender`] is serialized by exporting it on the
//! connection being written (see `peer.rs`), so these impls work only inside
//! a message that is on its way to another process; anywhere else they fail
//! with an error that says so. A [`Shared<T>`] is copied, as Dart copies
//! objects that leave their isolate group.

use serde::de::{DeserializeOwned, Error as _};
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::peer::{self, WirePort};
use super::shape;
use crate::port::SendPort;
use crate::reply::ReplySender;
use crate::sendable::Immutable;
use crate::shared::Shared;
use crate::transport;

/// What a [`ReplySender`] crossing a transport is on the wire.
const REPLY_MARK: u8 = 0xA5;

const NO_CONNECTION: &str = "ports and reply senders can be serialized only inside a message \
     sent to another process (through a port that `spawn_uri` or `serve` gave); to store or \
     print a message, leave its ports out";

/// The connection the value being (de)serialized crosses, or the error
/// that says this is not such a value.
fn connection<E>(error: impl FnOnce(&'static str) -> E) -> Result<std::sync::Arc<peer::Peer>, E> {
    peer::current().ok_or_else(|| error(NO_CONNECTION))
}

impl<T> Serialize for SendPort<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if transport::is_current() {
            return Err(S::Error::custom(transport::refuse_port()));
        }
        let peer = connection(S::Error::custom)?;
        peer.export_port(self).serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for SendPort<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if shape::is_tracing() {
            // Its message type is checked when a port crosses, by the
            // fingerprint the port carries.
            shape::placeholder(deserializer, "isolate_core::SendPort")?;
            return Ok(crate::port::ReceivePort::new().send_port());
        }
        if transport::is_current() {
            return Err(D::Error::custom(transport::refuse_port()));
        }
        let wire = WirePort::deserialize(deserializer)?;
        let peer = connection(D::Error::custom)?;
        peer.import_port(wire).map_err(D::Error::custom)
    }
}

impl<T> Serialize for ReplySender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    /// Moves the capability to answer into the connection: the sender left
    /// behind answers nobody (it is dropped with the message it was in).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if transport::is_current() {
            // The transport carries the answer its own way (NATS: a reply
            // subject); the bytes only say that there is one.
            transport::export_reply(self).map_err(S::Error::custom)?;
            return REPLY_MARK.serialize(serializer);
        }
        let peer = connection(S::Error::custom)?;
        let route = self
            .take_route()
            .ok_or_else(|| S::Error::custom("this ReplySender was already sent once"))?;
        peer.export_reply(route).serialize(serializer)
    }
}

impl<'de, T> Deserialize<'de> for ReplySender<T>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        if shape::is_tracing() {
            shape::placeholder(deserializer, "isolate_core::ReplySender")?;
            return Ok(crate::reply::Reply::channel().0);
        }
        if transport::is_current() {
            if u8::deserialize(deserializer)? != REPLY_MARK {
                return Err(D::Error::invalid_value(
                    serde::de::Unexpected::Other("a byte"),
                    &"the mark of a ReplySender",
                ));
            }
            return transport::import_reply().map_err(D::Error::custom);
        }
        let wire = WirePort::deserialize(deserializer)?;
        let peer = connection(D::Error::custom)?;
        peer::import_reply(&peer, wire).map_err(D::Error::custom)
    }
}

impl<T: Immutable + Serialize + ?Sized> Serialize for Shared<T> {
    /// Serializes the object itself: the other process gets its own copy.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        (**self).serialize(serializer)
    }
}

impl<'de, T: Immutable + DeserializeOwned> Deserialize<'de> for Shared<T> {
    /// A new shared object, from the copy that crossed.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::deserialize(deserializer).map(Shared::new)
    }
}

impl<'de> Deserialize<'de> for Shared<str> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Shared::from)
    }
}

impl<'de, T: Immutable + DeserializeOwned> Deserialize<'de> for Shared<[T]> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::<T>::deserialize(deserializer).map(Shared::from)
    }
}
