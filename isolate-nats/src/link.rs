//! One member's connection: the NATS client, the group's names, the queue
//! of everything this member sends, and the asks waiting for answers.
//!
//! Every message this member sends goes through one queue, drained in
//! order by one task, so that NATS (which keeps the order of one
//! connection's messages to one subject) delivers a port's messages in the
//! order they were sent, tells and asks alike. An ask is published with a
//! reply subject of its own under this member's inbox, and one
//! subscription to the inbox routes every answer to its ask.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use async_nats::jetstream::kv;
use async_nats::{Client, StatusCode, Subject};
use bytes::Bytes;
use futures::StreamExt;
use isolate_core::transport::PendingReply;
use isolate_core::{RemoteError, RemoteErrorKind, ReplyError, SendPort};
use tokio::sync::mpsc;

use crate::NATS;
use crate::envelope::{Code, Envelope};

/// What the send queue carries.
pub(crate) enum Out {
    /// A tell, or an answer to an ask from another member.
    Publish { subject: Subject, payload: Bytes },
    /// An ask: published with a reply subject, its pending reply kept
    /// until the answer, a failure or the timeout.
    Ask {
        subject: Subject,
        payload: Bytes,
        pending: PendingReply,
    },
}

/// The asks waiting for answers, by the id in their reply subject.
#[derive(Default)]
pub(crate) struct Asks {
    next: u64,
    waiting: HashMap<u64, PendingReply>,
}

pub(crate) type SharedAsks = Arc<Mutex<Asks>>;

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Fails every ask waiting for an answer: the connection dropped, so their
/// answers (or the requests themselves) are lost.
pub(crate) fn fail_all(asks: &Mutex<Asks>, error: ReplyError) {
    let waiting = std::mem::take(&mut lock(asks).waiting);
    for pending in waiting.into_values() {
        pending.fail(error);
    }
}

pub(crate) struct Link {
    pub(crate) client: Client,
    pub(crate) names: kv::Store,
    pub(crate) group: String,
    pub(crate) member: String,
    pub(crate) ask_timeout: Duration,
    pub(crate) probe_timeout: Duration,
    pub(crate) out: mpsc::UnboundedSender<Out>,
    inbox: String,
    asks: SharedAsks,
    errors: Mutex<Vec<SendPort<RemoteError>>>,
    /// The names this member serves.
    registrations: Mutex<HashMap<String, Registration>>,
    /// The last subject number handed out.
    subjects: AtomicU64,
}

/// A name this member serves: the bucket's revision it wrote, and the
/// task that serves the port.
pub(crate) struct Registration {
    pub(crate) revision: u64,
    pub(crate) task: tokio::task::AbortHandle,
}

/// What a new link needs besides its client.
pub(crate) struct Settings {
    pub(crate) group: String,
    pub(crate) member: String,
    pub(crate) ask_timeout: Duration,
    pub(crate) probe_timeout: Duration,
}

impl Link {
    /// Starts the send queue and the answer routing on the current
    /// runtime.
    pub(crate) async fn start(
        client: Client,
        names: kv::Store,
        settings: Settings,
        asks: SharedAsks,
    ) -> Result<Arc<Link>, async_nats::SubscribeError> {
        let inbox = client.new_inbox();
        let answers = client.subscribe(format!("{inbox}.*")).await?;
        let (out, queue) = mpsc::unbounded_channel();
        let link = Arc::new(Link {
            client,
            names,
            group: settings.group,
            member: settings.member,
            ask_timeout: settings.ask_timeout,
            probe_timeout: settings.probe_timeout,
            out,
            inbox,
            asks,
            errors: Mutex::default(),
            registrations: Mutex::default(),
            subjects: AtomicU64::new(0),
        });
        tokio::spawn(send_loop(link.clone(), queue));
        tokio::spawn(answer_loop(link.clone(), answers));
        Ok(link)
    }

    /// Queues `out`; gives it back if the link's tasks are gone.
    pub(crate) fn send(&self, out: Out) -> Result<(), Out> {
        self.out.send(out).map_err(|refused| refused.0)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.out.is_closed()
    }

    pub(crate) fn add_error_listener(&self, port: SendPort<RemoteError>) {
        lock(&self.errors).push(port);
    }

    pub(crate) fn remove_error_listener(&self, port: &SendPort<RemoteError>) {
        lock(&self.errors).retain(|listener| listener != port);
    }

    /// Tells the error listeners that a message was lost, and why; with
    /// none, says it on stderr rather than losing it.
    pub(crate) fn report(&self, message: String) {
        let error = RemoteError::new(RemoteErrorKind::Undeliverable, message);
        let listeners = lock(&self.errors).clone();
        if listeners.is_empty() {
            eprintln!("isolate-nats: {error}");
        }
        for listener in listeners {
            // Never waits: a full listener loses the report.
            let _ = listener.try_send(error.clone());
        }
    }

    /// A subject no other port of the group uses.
    pub(crate) fn fresh_subject(&self) -> String {
        let n = self.subjects.fetch_add(1, Ordering::Relaxed) + 1;
        format!("isolates.{}.{}.{n}", self.group, self.member)
    }

    pub(crate) fn remember(&self, name: String, registration: Registration) {
        lock(&self.registrations).insert(name, registration);
    }

    /// Forgets `name` if it is still the registration of `revision` (its
    /// port closed).
    pub(crate) fn forget(&self, name: &str, revision: u64) {
        let mut registrations = lock(&self.registrations);
        if registrations
            .get(name)
            .is_some_and(|registration| registration.revision == revision)
        {
            registrations.remove(name);
        }
    }

    pub(crate) fn take_registration(&self, name: &str) -> Option<Registration> {
        lock(&self.registrations).remove(name)
    }

    pub(crate) fn take_registrations(&self) -> Vec<(String, Registration)> {
        lock(&self.registrations).drain().collect()
    }

    fn take_ask(&self, id: u64) -> Option<PendingReply> {
        lock(&self.asks).waiting.remove(&id)
    }
}

async fn send_loop(link: Arc<Link>, mut queue: mpsc::UnboundedReceiver<Out>) {
    while let Some(out) = queue.recv().await {
        match out {
            Out::Publish { subject, payload } => {
                if let Err(error) = link.client.publish(subject.clone(), payload).await {
                    link.report(format!("a message to `{subject}` was not sent: {error}"));
                }
            }
            Out::Ask {
                subject,
                payload,
                pending,
            } => {
                let id = {
                    let mut asks = lock(&link.asks);
                    asks.next += 1;
                    let id = asks.next;
                    asks.waiting.insert(id, pending);
                    id
                };
                let timeout = link.ask_timeout;
                let timer = Arc::downgrade(&link);
                tokio::spawn(async move {
                    tokio::time::sleep(timeout).await;
                    if let Some(pending) = timer.upgrade().and_then(|link| link.take_ask(id)) {
                        pending.fail(ReplyError::Timeout(timeout));
                    }
                });
                let reply = format!("{}.{id}", link.inbox);
                if link
                    .client
                    .publish_with_reply(subject, reply, payload)
                    .await
                    .is_err()
                    && let Some(pending) = link.take_ask(id)
                {
                    pending.fail(ReplyError::Disconnected);
                }
            }
        }
    }
}

async fn answer_loop(link: Arc<Link>, mut answers: async_nats::Subscriber) {
    while let Some(message) = answers.next().await {
        let Some(id) = message
            .subject
            .rsplit('.')
            .next()
            .and_then(|id| id.parse::<u64>().ok())
        else {
            continue;
        };
        // An answer after the timeout, or after a disconnect failed the
        // ask, finds nobody waiting: dropped.
        let Some(pending) = link.take_ask(id) else {
            continue;
        };
        if message.status == Some(StatusCode::NO_RESPONDERS) {
            pending.fail(ReplyError::NoResponder);
            continue;
        }
        match Envelope::decode(&message.payload) {
            Ok(Envelope::Answer(body)) => {
                if let Err(error) = pending.answer(NATS, body) {
                    link.report(error.to_string());
                }
            }
            Ok(Envelope::Failed { code, text }) => match code {
                Code::Dropped => pending.fail(ReplyError::Dropped),
                Code::Closed => pending.fail(ReplyError::NoResponder),
                Code::Undeliverable => {
                    link.report(format!("the other member could not deliver an ask: {text}"));
                    pending.fail(ReplyError::Undeliverable);
                }
            },
            Ok(other) => {
                link.report(format!("an ask was answered with {other:?}"));
                pending.fail(ReplyError::Undeliverable);
            }
            Err(error) => {
                link.report(format!("an ask's answer was unreadable: {error}"));
                pending.fail(ReplyError::Undeliverable);
            }
        }
    }
}
