//! `spawn_fn`: Dart's `Isolate.spawn`, an entry function and a message.

mod common;

use common::PATIENCE;
use isolate_core::ExitError;
use isolate_core::prelude::*;

#[test]
fn the_entry_runs_with_its_message_in_a_new_isolate() {
    async fn entry(job: (Vec<u32>, SendPort<u32>)) {
        let (numbers, answer) = job;
        answer.send(numbers.iter().sum()).unwrap();
    }
    let group = common::group(2);
    let mut inbox = ReceivePort::new();
    let handle = group.spawn_fn(entry, (vec![1, 2, 3], inbox.send_port()));
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok(6));
    assert_eq!(handle.group_name(), "test");
}

#[test]
fn a_non_capturing_closure_is_an_entry_too() {
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(
        |answer: SendPort<&'static str>| async move {
            answer.send("closure").unwrap();
        },
        inbox.send_port(),
    );
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok("closure"));
}

#[test]
fn the_isolate_ends_when_its_entry_returns() {
    async fn entry(answer: SendPort<()>) {
        answer.send(()).unwrap();
    }
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    let handle = group.spawn_fn(entry, inbox.send_port());
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok(()));
    // The entry dropped its SendPort on return: the port disconnects, which
    // happens only after the isolate's future was dropped.
    assert_eq!(
        inbox.recv_timeout(PATIENCE),
        Err(isolate_core::RecvTimeoutError::Disconnected)
    );
    common::wait_until("the isolate is finished", || handle.is_finished());
}

#[test]
fn exit_sends_a_last_message_by_move_and_ends_the_isolate() {
    async fn entry(answer: SendPort<(Vec<u8>, usize)>) {
        let data = vec![9u8; 4096];
        let address = data.as_ptr() as usize;
        let _ = isolate_core::exit(&answer, (data, address));
        // Never reached: `exit` unwinds out of the isolate.
        answer.send((Vec::new(), 0)).unwrap();
    }
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(entry, inbox.send_port());
    let (data, address) = inbox.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        data.as_ptr() as usize,
        address,
        "the buffer moved, not copied"
    );
    assert_eq!(
        inbox.recv_timeout(PATIENCE),
        Err(isolate_core::RecvTimeoutError::Disconnected)
    );
}

#[test]
fn exit_outside_an_isolate_returns_the_message() {
    let inbox = ReceivePort::<u8>::new();
    let port = inbox.send_port();
    match isolate_core::exit(&port, 3) {
        ExitError::NotInIsolate(message) => assert_eq!(message, 3),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn a_panicking_entry_drops_its_ports_so_waiters_do_not_hang() {
    async fn entry(answer: SendPort<u8>) {
        let _keep = answer;
        panic!("entry failed");
    }
    let group = common::group(1);
    let mut inbox = ReceivePort::new();
    group.spawn_fn(entry, inbox.send_port());
    assert_eq!(
        inbox.recv_timeout(PATIENCE),
        Err(isolate_core::RecvTimeoutError::Disconnected)
    );
}

/// Does its work before returning a ready future: the work must still run
/// in the isolate.
fn where_am_i(port: SendPort<Option<String>>) -> std::future::Ready<()> {
    let _ = port.send(std::thread::current().name().map(str::to_owned));
    std::future::ready(())
}

#[test]
fn a_plain_fn_entry_runs_in_the_isolate_not_on_the_caller() {
    let group = IsolateGroup::builder().name("where").build().unwrap();
    let mut inbox = ReceivePort::new();
    group.spawn_fn(where_am_i, inbox.send_port());
    let name = inbox.recv_timeout(PATIENCE).unwrap();
    assert!(
        name.as_deref()
            .is_some_and(|name| name.starts_with("where-")),
        "ran on {name:?}"
    );
}
