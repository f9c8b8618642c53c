//! The named-port registry: typed lookups, clear errors, names that go with
//! their isolate.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{LookupError, RegisterError};

#[isolate]
#[derive(Default)]
struct Store {
    items: Vec<String>,
}

#[isolate]
impl Store {
    #[message]
    fn put(&mut self, item: String) {
        self.items.push(item);
    }

    #[message]
    fn len(&self) -> usize {
        self.items.len()
    }
}

#[test]
fn a_registered_port_is_found_by_name_with_its_type() {
    let group = common::group(1);
    let store = group.spawn(Store::default());
    group.register("store", &store).unwrap();
    let found: StorePort = group.lookup("store").unwrap();
    assert_eq!(found, store);
    found.put("a".to_owned()).unwrap();
    assert_eq!(store.len().wait_timeout(PATIENCE), Ok(1));
    assert_eq!(group.registered(), ["store"]);
}

#[test]
fn a_lookup_with_the_wrong_type_is_an_error_that_names_both_types() {
    let group = common::group(1);
    let store = group.spawn(Store::default());
    group.register("store", &store).unwrap();
    let error = group.lookup::<SendPort<u64>>("store").unwrap_err();
    match &error {
        LookupError::WrongType {
            expected,
            registered,
            ..
        } => {
            assert!(expected.contains("SendPort<u64>"), "{expected}");
            assert!(registered.contains("StorePort"), "{registered}");
        }
        other => panic!("unexpected {other:?}"),
    }
    assert!(error.to_string().contains("look it up with that type"));
}

#[test]
fn a_duplicate_name_is_refused_while_its_port_lives() {
    let group = common::group(1);
    let first = group.spawn(Store::default());
    let second = group.spawn(Store::default());
    group.register("store", &first).unwrap();
    assert_eq!(
        group.register("store", &second),
        Err(RegisterError::Taken {
            name: "store".to_owned()
        })
    );
    assert!(group.unregister("store"));
    assert!(!group.unregister("store"));
    group.register("store", &second).unwrap();
    assert_eq!(group.lookup::<StorePort>("store").unwrap(), second);
}

#[test]
fn names_go_when_their_isolate_ends() {
    let group = common::group(1);
    let mut exits = ReceivePort::new();
    let (store, handle) = group.spawn_with(
        Store::default(),
        isolate_core::SpawnOptions::new().on_exit(exits.send_port(), ()),
    );
    group.register("store", &store).unwrap();
    group.register("also-store", &store).unwrap();
    handle.kill(Priority::Immediate);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(()));
    assert!(group.registered().is_empty());
    assert_eq!(
        group.lookup::<StorePort>("store"),
        Err(LookupError::NotFound {
            name: "store".to_owned()
        })
    );
    // The name is free again.
    let replacement = group.spawn(Store::default());
    group.register("store", &replacement).unwrap();
}

#[test]
fn plain_send_ports_can_be_registered_and_are_dropped_once_closed() {
    let group = common::group(1);
    let mut inbox = ReceivePort::<String>::new();
    group.register("inbox", &inbox.send_port()).unwrap();
    let port: SendPort<String> = group.lookup("inbox").unwrap();
    port.send("hello".to_owned()).unwrap();
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("hello".to_owned()));
    drop(inbox);
    assert!(matches!(
        group.lookup::<SendPort<String>>("inbox"),
        Err(LookupError::NotFound { .. })
    ));
}
