//! `Shared<T>`: immutable data crosses isolates by pointer, without a copy.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;

#[test]
fn shared_crosses_an_isolate_without_copying() {
    async fn entry(job: (Shared<Vec<u64>>, SendPort<(usize, u64)>)) {
        let (numbers, answer) = job;
        let address = Shared::as_ptr(&numbers) as usize;
        answer.send((address, numbers.iter().sum())).unwrap();
    }
    let group = common::group(2);
    let numbers = Shared::new((0..10_000u64).collect::<Vec<_>>());
    let address = Shared::as_ptr(&numbers) as usize;
    let mut inbox = ReceivePort::new();
    group.spawn_fn(entry, (numbers.clone(), inbox.send_port()));
    let (seen_at, sum) = inbox.recv_timeout(PATIENCE).unwrap();
    assert_eq!(
        seen_at, address,
        "the receiver reads the sender's allocation"
    );
    assert_eq!(sum, (0..10_000u64).sum());
}

#[test]
fn many_isolates_read_one_shared_object_at_once() {
    async fn reader(job: (Shared<str>, SendPort<usize>)) {
        let (text, answer) = job;
        answer
            .send(Shared::as_ptr(&text) as *const u8 as usize)
            .unwrap();
    }
    let group = common::group(2);
    let text: Shared<str> = Shared::from("the quick brown fox".to_owned());
    let address = Shared::as_ptr(&text) as *const u8 as usize;
    let mut inbox = ReceivePort::new();
    for _ in 0..100 {
        group.spawn_fn(reader, (text.clone(), inbox.send_port()));
    }
    for _ in 0..100 {
        assert_eq!(inbox.recv_timeout(PATIENCE), Ok(address));
    }
}

#[test]
fn shared_slices_and_strings_come_from_owned_data() {
    let words: Shared<[String]> = Shared::from(vec!["a".to_owned(), "b".to_owned()]);
    assert_eq!(&*words, ["a", "b"]);
    let text: Shared<str> = Shared::from(String::from("hello"));
    assert_eq!(&*text, "hello");
    let copy = text.clone();
    assert!(Shared::ptr_eq(&text, &copy));
    assert_eq!(Shared::handle_count(&text), 2);
    assert_eq!(text, copy);
}
