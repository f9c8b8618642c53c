//! The receiving side: a registered port's subscription, delivering what
//! arrives to the port, and the way back for asks.

use std::sync::Arc;
use std::time::Duration;

use async_nats::{Subject, Subscriber};
use futures::StreamExt;
use isolate_core::SendPort;
use isolate_core::transport::{self, Answer, AnswerFailure};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::NATS;
use crate::envelope::{Code, Envelope};
use crate::link::{Link, Out};

/// How often a registration checks whether its port has closed when no
/// message comes to tell it.
const CLOSED_CHECK: Duration = Duration::from_millis(500);

/// The way back to the member that asked: the answer is published to the
/// ask's reply subject, in order with everything else this member sends.
struct NatsAnswer {
    link: Arc<Link>,
    reply: Subject,
}

impl NatsAnswer {
    fn publish(&self, envelope: Envelope<'_>) {
        let _ = self.link.send(Out::Publish {
            subject: self.reply.clone(),
            payload: envelope.encode().into(),
        });
    }
}

impl Answer for NatsAnswer {
    fn answer(self: Box<Self>, bytes: Vec<u8>) {
        self.publish(Envelope::Answer(&bytes));
    }

    fn fail(self: Box<Self>, failure: AnswerFailure) {
        match failure {
            AnswerFailure::Undeliverable(text) => self.publish(Envelope::Failed {
                code: Code::Undeliverable,
                text: &text,
            }),
            _ => self.publish(Envelope::Failed {
                code: Code::Dropped,
                text: "",
            }),
        }
    }
}

/// Delivers what arrives on `subscriber` to `port` until the port closes
/// or the registration is ended; then takes the name out of the group if
/// it is still this registration's.
pub(crate) async fn serve<T>(
    link: Arc<Link>,
    name: String,
    revision: u64,
    port: SendPort<T>,
    mut subscriber: Subscriber,
) where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let fingerprint = transport::fingerprint::<T>();
    let mut check = tokio::time::interval(CLOSED_CHECK);
    loop {
        let message = tokio::select! {
            message = subscriber.next() => match message {
                Some(message) => message,
                None => return,
            },
            _ = check.tick() => {
                if port.is_closed() {
                    break;
                }
                continue;
            }
        };
        if !deliver(&link, &name, fingerprint, &port, message).await {
            break;
        }
    }
    let _ = subscriber.unsubscribe().await;
    let _ = link
        .names
        .delete_expect_revision(&name, Some(revision))
        .await;
    link.forget(&name, revision);
}

/// Handles one message for the port; `false` once the port has closed.
async fn deliver<T>(
    link: &Arc<Link>,
    name: &str,
    fingerprint: u64,
    port: &SendPort<T>,
    message: async_nats::Message,
) -> bool
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let answer = message.reply.map(|reply| NatsAnswer {
        link: link.clone(),
        reply,
    });
    let envelope = match Envelope::decode(&message.payload) {
        Ok(envelope) => envelope,
        Err(error) => {
            let why = format!("a message for `{name}` was dropped: {error}");
            link.report(why.clone());
            if let Some(answer) = answer {
                Box::new(answer).fail(AnswerFailure::Undeliverable(why));
            }
            return true;
        }
    };
    let (sent, body) = match envelope {
        Envelope::Probe => {
            if let Some(answer) = answer {
                answer.publish(if port.is_closed() {
                    Envelope::Failed {
                        code: Code::Closed,
                        text: "",
                    }
                } else {
                    Envelope::Alive
                });
            }
            return !port.is_closed();
        }
        Envelope::Tell {
            fingerprint: sent,
            body,
        }
        | Envelope::Ask {
            fingerprint: sent,
            body,
        } => (sent, body),
        other => {
            link.report(format!(
                "a message for `{name}` was dropped: {other:?} is not a message for a port"
            ));
            return true;
        }
    };
    let is_ask = matches!(envelope, Envelope::Ask { .. });
    let answer: Option<Box<dyn Answer>> = match answer {
        Some(answer) if is_ask => Some(Box::new(answer)),
        _ => None,
    };
    if sent != fingerprint {
        let why = format!(
            "a message for `{name}` was dropped: it is not a `{}` (its type's fingerprint is \
             {sent:#018x}, this port's is {fingerprint:#018x}); are both programs built from \
             the same source?",
            std::any::type_name::<T>()
        );
        link.report(why.clone());
        if let Some(answer) = answer {
            answer.fail(AnswerFailure::Undeliverable(why));
        }
        return true;
    }
    if is_ask && answer.is_none() {
        link.report(format!(
            "an ask for `{name}` was dropped: it came without a reply subject"
        ));
        return true;
    }
    // A decode failure has told the asker already (isolate-core fails the
    // answer); here the receiver hears of it too.
    let decoded = match transport::decode::<T>(NATS, body, answer) {
        Ok(decoded) => decoded,
        Err(error) => {
            link.report(format!("a message for `{name}` was dropped: {error}"));
            return true;
        }
    };
    let (value, unused) = decoded.into_parts();
    if let Some(unused) = unused {
        unused.fail(AnswerFailure::Dropped);
    }
    // Waits for room in a full bounded mailbox: this port's messages queue
    // behind it, and no other port's do.
    port.send_async(value).await.is_ok() || !port.is_closed()
}
