//! The hooks for other transports (`isolate_core::transport`), with an
//! in-memory stand-in for the network: messages and answers go through
//! bytes, as they would through NATS.
#![cfg(all(unix, feature = "process"))]

mod common;

use std::sync::mpsc;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::transport::{self, Answer, AnswerFailure, PendingReply, Proxy};
use isolate_core::{ReplyError, TrySendError};
use serde::{Deserialize, Serialize};

const NAME: &str = "the test transport";

#[isolate]
struct Doubler {
    calls: u32,
}

#[isolate(remote)]
impl Doubler {
    #[message]
    fn double(&mut self, n: u32) -> u32 {
        self.calls += 1;
        n * 2
    }

    #[message]
    fn note(&mut self, _text: String) {
        self.calls += 1;
    }

    #[message]
    fn calls(&self) -> u32 {
        self.calls
    }
}

/// The way back of a request: a channel of what the answer became.
struct Back(mpsc::Sender<Result<Vec<u8>, AnswerFailure>>);

// SAFETY: it reaches only a channel that carries the answer's bytes.
unsafe impl Answer for Back {
    fn answer(self: Box<Self>, bytes: Vec<u8>) {
        let _ = self.0.send(Ok(bytes));
    }

    fn fail(self: Box<Self>, failure: AnswerFailure) {
        let _ = self.0.send(Err(failure));
    }
}

/// A network in miniature: each message is encoded, decoded on "the other
/// side" and sent to the real port; an ask's answer comes back as bytes.
struct Loopback<T: Send + 'static> {
    port: SendPort<T>,
}

// SAFETY: it reaches only a `SendPort`, which carries the decoded messages.
unsafe impl<T> Proxy<T> for Loopback<T>
where
    T: Serialize + serde::de::DeserializeOwned + Send + 'static,
{
    fn send(&self, message: T) -> Result<(), TrySendError<T>> {
        let (bytes, pending) = match transport::encode(NAME, &message) {
            Ok(encoded) => encoded.into_parts(),
            Err(_) => return Err(TrySendError::Undeliverable(message)),
        };
        drop(message);
        let (tx, rx) = mpsc::channel();
        let answer: Option<Box<dyn Answer>> = pending.as_ref().map(|_| Box::new(Back(tx)) as _);
        let decoded = transport::decode::<T>(NAME, &bytes, answer).expect("decodes");
        let _ = self.port.send(decoded.into_value());
        if let Some(pending) = pending {
            std::thread::spawn(move || deliver(pending, rx));
        }
        Ok(())
    }
}

fn deliver(pending: PendingReply, rx: mpsc::Receiver<Result<Vec<u8>, AnswerFailure>>) {
    match rx.recv_timeout(PATIENCE) {
        Ok(Ok(bytes)) => pending.answer(NAME, &bytes).expect("the answer decodes"),
        Ok(Err(AnswerFailure::Dropped)) => pending.fail(ReplyError::Dropped),
        Ok(Err(_)) => pending.fail(ReplyError::Undeliverable),
        Err(_) => pending.fail(ReplyError::Timeout(PATIENCE)),
    }
}

fn remote_doubler(group: &IsolateGroup) -> DoublerPort {
    let port = group.spawn(Doubler { calls: 0 });
    DoublerPort::from(transport::proxy_port(Loopback {
        port: port.send_port().clone(),
    }))
}

#[test]
fn tells_and_asks_cross_as_bytes_through_a_proxy_port() {
    let group = IsolateGroup::new();
    let doubler = remote_doubler(&group);
    doubler.note("hello".into()).unwrap();
    assert_eq!(doubler.double(21).wait_timeout(PATIENCE), Ok(42));
    assert_eq!(doubler.calls().wait_timeout(PATIENCE), Ok(2));
}

#[test]
fn a_handler_that_drops_its_reply_sender_fails_the_answer_at_once() {
    #[derive(Serialize, Deserialize)]
    struct Ask(ReplySender<u8>);

    let (reply_to, reply) = Reply::channel();
    let (bytes, pending) = transport::encode(NAME, &Ask(reply_to))
        .unwrap()
        .into_parts();
    let (tx, rx) = mpsc::channel();
    let (Ask(sender), unused) = transport::decode::<Ask>(NAME, &bytes, Some(Box::new(Back(tx))))
        .expect("decodes")
        .into_parts();
    assert!(unused.is_none(), "the way back went into the ReplySender");
    drop(sender);
    assert_eq!(
        rx.recv_timeout(PATIENCE).unwrap(),
        Err(AnswerFailure::Dropped)
    );
    pending.unwrap().fail(ReplyError::Dropped);
    assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
}

#[test]
fn a_transport_failure_reaches_the_asker_with_its_reason() {
    for error in [
        ReplyError::NoResponder,
        ReplyError::Disconnected,
        ReplyError::Undeliverable,
    ] {
        let (reply_to, reply) = Reply::<u8>::channel();
        let encoded = transport::encode(NAME, &reply_to).unwrap();
        assert!(encoded.is_ask());
        let (_, pending) = encoded.into_parts();
        pending.unwrap().fail(error);
        assert_eq!(reply.wait_timeout(PATIENCE), Err(error));
    }
}

#[test]
fn a_port_inside_a_message_is_refused_with_what_to_do() {
    let inbox = ReceivePort::<u8>::new();
    let error = transport::encode(NAME, &inbox.send_port()).unwrap_err();
    assert!(
        error.to_string().contains("register the port under a name"),
        "{error}"
    );
}

#[test]
fn two_reply_senders_in_one_message_are_refused_and_the_ask_fails() {
    let (first, first_reply) = Reply::<u8>::channel();
    let (second, second_reply) = Reply::<u8>::channel();
    let error = transport::encode(NAME, &(first, second)).unwrap_err();
    assert!(error.to_string().contains("one ReplySender"), "{error}");
    assert_eq!(
        first_reply.wait_timeout(PATIENCE),
        Err(ReplyError::Undeliverable)
    );
    assert_eq!(
        second_reply.wait_timeout(PATIENCE),
        Err(ReplyError::Dropped)
    );
}

#[test]
fn an_ask_decoded_without_a_way_back_is_an_error_not_a_silent_drop() {
    let (reply_to, _reply) = Reply::<u8>::channel();
    let (bytes, _pending) = transport::encode(NAME, &reply_to).unwrap().into_parts();
    let error = transport::decode::<ReplySender<u8>>(NAME, &bytes, None).unwrap_err();
    assert!(error.to_string().contains("no way to answer"), "{error}");
}

#[test]
fn an_answer_of_the_wrong_shape_fails_the_ask_as_undeliverable() {
    let (reply_to, reply) = Reply::<String>::channel();
    let (_, pending) = transport::encode(NAME, &reply_to).unwrap().into_parts();
    // A varint length of 200 with no bytes after it.
    assert!(pending.unwrap().answer(NAME, &[200, 1]).is_err());
    assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Undeliverable));
}

#[test]
fn garbage_never_decodes_into_a_message_and_never_panics() {
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut decoded = 0;
    for len in 0..2_000usize {
        let bytes: Vec<u8> = (0..len % 64)
            .map(|_| {
                rng ^= rng << 13;
                rng ^= rng >> 7;
                rng ^= rng << 17;
                rng as u8
            })
            .collect();
        let (tx, _rx) = mpsc::channel();
        if transport::decode::<<Doubler as Isolate>::Message>(
            NAME,
            &bytes,
            Some(Box::new(Back(tx))),
        )
        .is_ok()
        {
            decoded += 1;
        }
    }
    // Some short inputs are valid messages by chance; most are not, and
    // none panicked.
    assert!(decoded < 2_000);
}

#[test]
fn the_fingerprint_tells_types_apart() {
    assert_eq!(
        transport::fingerprint::<<Doubler as Isolate>::Message>(),
        transport::fingerprint::<<Doubler as Isolate>::Message>()
    );
    assert_ne!(
        transport::fingerprint::<<Doubler as Isolate>::Message>(),
        transport::fingerprint::<String>()
    );
}

#[test]
fn an_ask_that_fails_to_decode_is_answered_undeliverable_not_dropped() {
    #[derive(Debug, Serialize, Deserialize)]
    struct Ask(ReplySender<u8>, String);

    let (reply_to, _reply) = Reply::channel();
    let (mut bytes, _pending) = transport::encode(NAME, &Ask(reply_to, "text".into()))
        .unwrap()
        .into_parts();
    // The string's length now claims more bytes than there are: the reply
    // sender decodes, then the field after it fails.
    let len_at = bytes.len() - 5;
    bytes[len_at] = 100;
    let (tx, rx) = mpsc::channel();
    let error = transport::decode::<Ask>(NAME, &bytes, Some(Box::new(Back(tx)))).unwrap_err();
    match rx.recv_timeout(PATIENCE).unwrap() {
        Err(AnswerFailure::Undeliverable(why)) => assert_eq!(why, error.to_string()),
        other => panic!("the asker heard {other:?}"),
    }
    assert!(rx.try_recv().is_err(), "the asker is told once");
}

#[test]
fn an_ask_with_bytes_left_over_is_answered_undeliverable_not_dropped() {
    let (reply_to, _reply) = Reply::<u8>::channel();
    let (mut bytes, _pending) = transport::encode(NAME, &reply_to).unwrap().into_parts();
    bytes.push(0);
    let (tx, rx) = mpsc::channel();
    let error =
        transport::decode::<ReplySender<u8>>(NAME, &bytes, Some(Box::new(Back(tx)))).unwrap_err();
    assert!(error.to_string().contains("left over"), "{error}");
    match rx.recv_timeout(PATIENCE).unwrap() {
        Err(AnswerFailure::Undeliverable(why)) => assert_eq!(why, error.to_string()),
        other => panic!("the asker heard {other:?}"),
    }
}
