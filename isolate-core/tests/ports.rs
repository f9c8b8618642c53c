//! Ports: typed, FIFO, never silent about a lost message, never hanging.

mod common;

use std::time::Duration;

use common::PATIENCE;
use futures::StreamExt;
use isolate_core::prelude::*;
use isolate_core::{RecvError, RecvTimeoutError, TryRecvError};

#[test]
fn messages_from_one_sender_arrive_in_order() {
    let mut inbox = ReceivePort::new();
    let port = inbox.send_port();
    let producer = std::thread::spawn(move || {
        for i in 0..10_000u32 {
            port.send(i).unwrap();
        }
    });
    for expected in 0..10_000u32 {
        assert_eq!(inbox.recv_timeout(PATIENCE), Ok(expected));
    }
    producer.join().unwrap();
}

#[test]
fn send_gives_the_message_back_when_the_receive_port_is_gone() {
    let inbox = ReceivePort::new();
    let port = inbox.send_port();
    inbox.close();
    assert!(port.is_closed());
    let error = port.send(String::from("lost?")).unwrap_err();
    assert_eq!(error.into_inner(), "lost?");
}

#[test]
fn a_wait_returns_disconnected_once_every_send_port_is_dropped() {
    let mut inbox = ReceivePort::<u8>::new();
    let port = inbox.send_port();
    let dropper = std::thread::spawn(move || {
        port.send(1).unwrap();
        drop(port);
    });
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok(1));
    assert_eq!(
        inbox.recv_timeout(PATIENCE),
        Err(RecvTimeoutError::Disconnected)
    );
    dropper.join().unwrap();
    assert_eq!(inbox.recv(), Err(RecvError::Disconnected));
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Disconnected));
}

#[test]
fn a_receive_port_with_no_send_port_does_not_hang_a_wait() {
    let mut inbox = ReceivePort::<u8>::new();
    assert_eq!(inbox.try_recv(), Err(TryRecvError::Disconnected));
    assert_eq!(inbox.recv(), Err(RecvError::Disconnected));
    assert_eq!(
        futures::executor::block_on(inbox.recv_async()),
        Err(RecvError::Disconnected)
    );
}

#[test]
fn a_receive_port_can_be_reused_after_its_send_ports_are_gone() {
    let mut inbox = ReceivePort::<u8>::new();
    for round in 0..3 {
        let port = inbox.send_port();
        std::thread::spawn(move || port.send(round).unwrap());
        assert_eq!(inbox.recv_timeout(PATIENCE), Ok(round));
        assert_eq!(
            inbox.recv_timeout(PATIENCE),
            Err(RecvTimeoutError::Disconnected)
        );
    }
}

#[test]
fn queued_messages_are_received_before_disconnected() {
    let mut inbox = ReceivePort::new();
    let port = inbox.send_port();
    port.send(1u8).unwrap();
    port.send(2).unwrap();
    drop(port);
    assert_eq!(inbox.try_recv(), Ok(1));
    assert_eq!(inbox.recv(), Ok(2));
    assert_eq!(inbox.recv(), Err(RecvError::Disconnected));
}

#[test]
fn recv_timeout_times_out_while_a_sender_lives() {
    let mut inbox = ReceivePort::<u8>::new();
    let _port = inbox.send_port();
    assert_eq!(
        inbox.recv_timeout(Duration::from_millis(5)),
        Err(RecvTimeoutError::Timeout)
    );
}

#[test]
fn send_ports_are_equal_across_clones_and_differ_between_receivers() {
    let a = ReceivePort::<u8>::new();
    let b = ReceivePort::<u8>::new();
    let a1 = a.send_port();
    let a2 = a.send_port();
    assert_eq!(a1, a2);
    assert_eq!(a1, a1.clone());
    assert_ne!(a1, b.send_port());

    let group = common::group(1);
    let c1 = group.spawn(common::Counter::default());
    let c2 = c1.clone();
    let other = group.spawn(common::Counter::default());
    assert_eq!(c1, c2);
    assert_ne!(c1, other);
}

#[test]
fn a_receive_port_is_a_stream_and_ends_when_senders_are_gone() {
    let mut inbox = ReceivePort::new();
    let port = inbox.send_port();
    for i in 0..5u8 {
        port.send(i).unwrap();
    }
    drop(port);
    let got: Vec<u8> = futures::executor::block_on((&mut inbox).collect());
    assert_eq!(got, [0, 1, 2, 3, 4]);
}

#[test]
fn recv_async_works_in_tokio() {
    let mut inbox = ReceivePort::new();
    let port = inbox.send_port();
    std::thread::spawn(move || port.send("from a thread").unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let got = runtime.block_on(async {
        tokio::time::timeout(PATIENCE, inbox.recv_async())
            .await
            .expect("no hang")
    });
    assert_eq!(got, Ok("from a thread"));
}

#[test]
fn isolates_talk_through_ports_they_were_sent() {
    // Dart's handshake: the new isolate sends back a port of its own.
    async fn echo(reply_port: SendPort<SendPort<(String, SendPort<String>)>>) {
        let mut requests = ReceivePort::new();
        reply_port.send(requests.send_port()).unwrap();
        drop(reply_port);
        while let Ok((text, answer)) = requests.recv_async().await {
            let _ = answer.send(text.to_uppercase());
        }
    }
    let group = common::group(2);
    let mut handshake = ReceivePort::new();
    group.spawn_fn(echo, handshake.send_port());
    let requests = handshake.recv_timeout(PATIENCE).unwrap();
    let mut answers = ReceivePort::new();
    for word in ["ping", "pong"] {
        requests
            .send((word.to_owned(), answers.send_port()))
            .unwrap();
        assert_eq!(answers.recv_timeout(PATIENCE).unwrap(), word.to_uppercase());
    }
}

#[test]
fn closing_a_receive_port_fails_the_asks_queued_in_it() {
    let inbox = ReceivePort::<ReplySender<u8>>::new();
    let port = inbox.send_port();
    let reply = port.ask(|reply_to| reply_to);
    inbox.close();
    // Another SendPort is still alive, yet the queued request was dropped.
    assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    assert!(port.send(isolate_core::Reply::channel().0).is_err());
}
