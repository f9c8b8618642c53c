//! The receiving side: a registered port's subscription, delivering what
//! arrives to the port, and the way back for asks.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::kv;
use tokio::sync::oneshot;

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

impl NatsAnswer {
    fn fail_with(&self, why: &str) {
        self.publish(Envelope::Failed {
            code: Code::Undeliverable,
            text: why,
        });
    }
}

// SAFETY: it reaches only the link's queue to the I/O task, which carries
// the answer's bytes to NATS, and the link's error listeners (ports).
unsafe impl Answer for NatsAnswer {
    fn answer(self: Box<Self>, bytes: Vec<u8>) {
        let max = self.link.client.max_payload();
        if bytes.len() + 4 > max {
            let why = format!(
                "an answer of {} bytes is larger than the {max} bytes the NATS server accepts \
                 in one message (its `max_payload`)",
                bytes.len()
            );
            self.link.report(why.clone());
            self.fail_with(&why);
            return;
        }
        self.publish(Envelope::Answer(&bytes));
    }

    fn fail(self: Box<Self>, failure: AnswerFailure) {
        match failure {
            AnswerFailure::Undeliverable(text) => self.fail_with(&text),
            _ => self.publish(Envelope::Failed {
                code: Code::Dropped,
                text: "",
            }),
        }
    }
}

/// Delivers what arrives on `subscriber` to `port` until the port closes
/// or the registration is stopped. Then what is still buffered for the
/// port is answered "closed" (an asker hears `NoResponder` at once, not a
/// timeout), and, if the port closed, the name is taken out of the group
/// if it is still this registration's.
pub(crate) async fn serve<T>(
    link: Arc<Link>,
    name: String,
    revision: Arc<AtomicU64>,
    port: SendPort<T>,
    mut subscriber: Subscriber,
    mut stop: oneshot::Receiver<()>,
    done: oneshot::Sender<()>,
) where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let fingerprint = transport::fingerprint::<T>();
    let mut check = tokio::time::interval(CLOSED_CHECK);
    let port_closed = loop {
        let message = tokio::select! {
            message = subscriber.next() => match message {
                Some(message) => message,
                // The client is gone: nothing more will come.
                None => return,
            },
            _ = check.tick() => {
                if port.is_closed() {
                    break true;
                }
                continue;
            }
            // Sent, or its sender dropped: unregistered, or the member left.
            _ = &mut stop => break false,
        };
        match deliver(&link, &name, fingerprint, &port, message, &mut stop).await {
            Next::Continue => {}
            Next::PortClosed => break true,
            Next::Stopped => break false,
        }
    };
    let within = link.probe_timeout;
    let _ = tokio::time::timeout(within, subscriber.unsubscribe()).await;
    // The unsubscription ends the stream after what was already buffered.
    let deadline = tokio::time::Instant::now() + within;
    while let Ok(Some(message)) = tokio::time::timeout_at(deadline, subscriber.next()).await {
        if let Some(reply) = message.reply {
            let _ = link.send(Out::Publish {
                subject: reply,
                payload: Envelope::Failed {
                    code: Code::Closed,
                    text: "",
                }
                .encode()
                .into(),
            });
        }
    }
    // Taken out of the member's registrations first (if it is still this
    // one), so that nothing writes the name again after it is deleted.
    if port_closed && let Some(registration) = link.take_registration_of(&name, &revision) {
        let revision = registration.revision.load(Ordering::Acquire);
        drop(registration);
        let _ = link
            .names
            .delete_expect_revision(&name, Some(revision))
            .await;
    }
    drop(done);
}

/// What the serving loop does after a message.
enum Next {
    Continue,
    PortClosed,
    Stopped,
}

/// How often a member checks that the names it serves still hold its
/// records.
const KEEP_EVERY: Duration = Duration::from_secs(2);

/// Keeps this member's names in the bucket while it serves them.
///
/// A lookup that finds nobody serving a name removes it: right after a
/// crash, and also while the serving member is cut off for a moment. Once
/// back, the member writes the name again; if another member has taken it
/// meanwhile, this one stops serving it (and says so), so that a name is
/// served by one port again within [`KEEP_EVERY`].
pub(crate) async fn keep_names(link: std::sync::Weak<Link>) {
    let mut every = tokio::time::interval(KEEP_EVERY);
    every.tick().await;
    loop {
        every.tick().await;
        let Some(link) = link.upgrade() else {
            return;
        };
        for (name, revision, record) in link.registered() {
            let entry = match link.names.entry(&name).await {
                Ok(entry) => entry,
                // The server is away: the next round decides.
                Err(_) => continue,
            };
            match entry {
                Some(entry) if entry.operation == kv::Operation::Put => {
                    // Only if the registration is still the one read: this
                    // member may have registered the name again meanwhile.
                    if entry.revision != revision
                        && let Some(lost) = link.take_registration_at(&name, revision)
                    {
                        drop(lost.stop());
                        link.report_transport(format!(
                            "the name `{name}` was taken by another member while this one \
                             was unreachable: this member no longer serves it"
                        ));
                    }
                }
                _ => {
                    if let Ok(written) = link.names.create(&name, record).await
                        && !link.rewritten(&name, revision, written)
                    {
                        // Unregistered while it was written: undone.
                        let _ = link
                            .names
                            .delete_expect_revision(&name, Some(written))
                            .await;
                    }
                }
            }
        }
    }
}

/// Handles one message for the port; `false` once the port has closed.
async fn deliver<T>(
    link: &Arc<Link>,
    name: &str,
    fingerprint: u64,
    port: &SendPort<T>,
    message: async_nats::Message,
    stop: &mut oneshot::Receiver<()>,
) -> Next
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
            return Next::Continue;
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
            return if port.is_closed() {
                Next::PortClosed
            } else {
                Next::Continue
            };
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
            return Next::Continue;
        }
    };
    let is_ask = matches!(envelope, Envelope::Ask { .. });
    // An ask's way back goes into its `ReplySender`; a tell with a reply
    // subject wants an acknowledgement once delivered (it returns its
    // sender's flow-control credit), whatever becomes of it.
    let (answer, ack): (Option<Box<dyn Answer>>, _) = match answer {
        Some(answer) if is_ask => (Some(Box::new(answer)), None),
        other => (None, other),
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
        } else if let Some(ack) = ack {
            ack.fail_with(&why);
        }
        return Next::Continue;
    }
    if is_ask && answer.is_none() {
        link.report(format!(
            "an ask for `{name}` was dropped: it came without a reply subject"
        ));
        return Next::Continue;
    }
    // A decode failure has told the asker already (isolate-core fails the
    // answer); here the receiver hears of it too.
    let decoded = match transport::decode::<T>(NATS, body, answer) {
        Ok(decoded) => decoded,
        Err(error) => {
            let why = format!("a message for `{name}` was dropped: {error}");
            link.report(why.clone());
            if let Some(ack) = ack {
                ack.fail_with(&why);
            }
            return Next::Continue;
        }
    };
    let (value, unused) = decoded.into_parts();
    if let Some(unused) = unused {
        unused.fail(AnswerFailure::Dropped);
    }
    // Waits for room in a full bounded mailbox: this port's messages queue
    // behind it, and no other port's do. A stop is heeded meanwhile (the
    // message is then dropped, and an ask in it answered "dropped").
    let next = tokio::select! {
        sent = port.send_async(value) => {
            if sent.is_ok() || !port.is_closed() {
                Next::Continue
            } else {
                Next::PortClosed
            }
        }
        _ = &mut *stop => Next::Stopped,
    };
    if let Some(ack) = ack {
        ack.publish(Envelope::Alive);
    }
    next
}
