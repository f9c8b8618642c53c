//! `Sendable` and `Immutable` hold for exactly what the design table says.
//! (What they refuse is in `ui-tests/`, one compile-fail case per rule.)

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use isolate_core::prelude::*;

fn sendable<T: Sendable + ?Sized>() {}
fn immutable<T: Immutable + ?Sized>() {}

#[test]
fn owned_data_is_sendable() {
    sendable::<()>();
    sendable::<u64>();
    sendable::<f64>();
    sendable::<char>();
    sendable::<String>();
    sendable::<Box<str>>();
    sendable::<Box<[u8]>>();
    sendable::<Vec<String>>();
    sendable::<VecDeque<u8>>();
    sendable::<HashMap<String, Vec<u8>>>();
    sendable::<BTreeMap<u32, String>>();
    sendable::<Option<Result<String, u8>>>();
    sendable::<(u8, String, [u16; 4])>();
    sendable::<&'static str>();
    sendable::<std::time::Duration>();
}

#[test]
fn ports_replies_and_shared_immutable_data_are_sendable() {
    sendable::<SendPort<String>>();
    sendable::<ReplySender<Vec<u8>>>();
    sendable::<Shared<Vec<String>>>();
    sendable::<Shared<str>>();
    sendable::<Shared<[u8]>>();
    sendable::<Arc<String>>();
    sendable::<Arc<[u8]>>();
    sendable::<isolate_core::RemoteError>();
}

#[test]
fn deeply_immutable_data_is_immutable() {
    immutable::<u64>();
    immutable::<str>();
    immutable::<String>();
    immutable::<[String]>();
    immutable::<Vec<Option<String>>>();
    immutable::<HashMap<String, (u8, Box<str>)>>();
    immutable::<Shared<Vec<u8>>>();
    immutable::<Arc<str>>();
}
