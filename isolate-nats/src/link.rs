//! One member's connection: the NATS client, the group's names, the queue
//! of everything this member sends, and the asks waiting for answers.
//!
//! Every message this member sends goes through one queue, drained in
//! order by one task, so that NATS (which keeps the order of one
//! connection's messages to one subject) delivers a port's messages in the
//! order they were sent, tells and asks alike. An ask is published with a
//! reply subject of its own under this member's inbox, and one
//! subscription to the inbox routes every answer to its ask. An ask's
//! deadline starts when it is queued, and one timer task fails the asks
//! whose deadlines pass: an ask ends on time even while the queue waits
//! for a reconnect.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::{Duration, Instant};

use async_nats::jetstream::kv;
use async_nats::{Client, StatusCode, Subject};
use bytes::Bytes;
use futures::StreamExt;
use isolate_core::transport::{PendingReply, Room};
use isolate_core::{RemoteError, RemoteErrorKind, ReplyError, SendPort};
use tokio::sync::mpsc;

use crate::NATS;
use crate::envelope::{Code, Envelope};

/// What the send queue carries.
pub(crate) enum Out {
    /// A tell, or an answer to an ask from another member.
    Publish { subject: Subject, payload: Bytes },
    /// A message published with a reply subject of this member's: an ask,
    /// or a tell that asks for an acknowledgement to return its port's
    /// flow-control credit. Its [`Waiting`] entry is `id` in [`Requests`].
    Request {
        subject: Subject,
        payload: Bytes,
        id: u64,
    },
    /// Answered once everything queued before it is in the client's hands.
    Flush(tokio::sync::oneshot::Sender<()>),
}

/// A request waiting for its answer.
pub(crate) struct Waiting {
    /// The asker's end, for an ask; `None` for an acknowledgement, which
    /// carries the credit of tells instead.
    pub(crate) reply: Option<PendingReply>,
    /// The window of the port it went to, and the credit its end returns.
    pub(crate) window: Arc<Window>,
    pub(crate) credit: usize,
    /// For an acknowledgement: where to ask again when it times out or
    /// the connection drops.
    pub(crate) again: Option<Again>,
}

/// Where an acknowledgement is asked for again.
pub(crate) struct Again {
    pub(crate) subject: Subject,
    pub(crate) link: Weak<Link>,
}

impl Waiting {
    /// Fails the request. An ask's credit comes back and its asker hears
    /// `error`. An acknowledgement's credit does not come back on a
    /// timeout or a disconnect: its tells may still be on their way, so
    /// it is asked for again, behind them (a probe, which the receiver
    /// answers in order); only an answer, or nobody serving the port,
    /// returns it.
    pub(crate) fn fail(self, error: ReplyError) {
        if let (None, Some(again)) = (&self.reply, &self.again)
            && matches!(error, ReplyError::Timeout(_) | ReplyError::Disconnected)
            && let Some(link) = again.link.upgrade()
        {
            let subject = again.subject.clone();
            let id = link.request(self);
            let probe = Out::Request {
                subject,
                payload: Envelope::Probe.encode().into(),
                id,
            };
            if let Err(Out::Request { id, .. }) = link.send(probe)
                && let Some(waiting) = link.take_request(id)
            {
                waiting.window.release(waiting.credit);
            }
            return;
        }
        self.window.release(self.credit);
        if let Some(reply) = self.reply {
            reply.fail(error);
        }
    }
}

/// How many messages to one looked-up port may be on their way at once.
///
/// Core NATS has no flow control: a receiver that falls behind has
/// messages dropped for it (a "slow consumer"). So each looked-up port
/// counts what it has sent and not seen delivered, and is *full* at
/// [`WINDOW`]: its tells wait, as for a bounded mailbox. An ask is
/// counted until it is answered, and never waits (see `proxy.rs`); tells
/// are counted until an acknowledgement, which one tell in [`CHUNK`] asks
/// for.
pub(crate) struct Window {
    in_flight: AtomicUsize,
    /// Tells sent through this port, to pick the ones that ask for an
    /// acknowledgement.
    tells: AtomicU64,
    pub(crate) room: Room,
}

/// See [`Window`]: with 16 members sending to one port at full speed, the
/// receiving client's buffer (65,536 messages) still does not overflow.
pub(crate) const WINDOW: usize = 4_096;

/// One tell in this many asks for an acknowledgement, which returns the
/// credit of this many.
pub(crate) const CHUNK: u64 = 1_024;

impl Window {
    pub(crate) fn new() -> Self {
        Window {
            in_flight: AtomicUsize::new(0),
            tells: AtomicU64::new(0),
            room: Room::new(),
        }
    }

    /// Takes the credit of one message; `false` when the window is full.
    /// A refusal changes nothing, so it wakes nobody: a sender that waits
    /// registers, tries again, and sleeps until a release.
    pub(crate) fn take(&self) -> bool {
        self.in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                (n < WINDOW).then_some(n + 1)
            })
            .is_ok()
    }

    /// Takes the credit of one message even when the window is full.
    pub(crate) fn take_anyway(&self) {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
    }

    /// Counts a tell: `Some(credit)` when this one is to ask for an
    /// acknowledgement that returns `credit`.
    pub(crate) fn count_tell(&self) -> Option<usize> {
        let n = self.tells.fetch_add(1, Ordering::Relaxed) + 1;
        n.is_multiple_of(CHUNK).then_some(CHUNK as usize)
    }

    /// Returns `credit`, and wakes the senders waiting for it.
    pub(crate) fn release(&self, credit: usize) {
        self.in_flight.fetch_sub(credit, Ordering::AcqRel);
        self.room.notify_all();
    }
}

/// The requests waiting for answers, by the id in their reply subject, and
/// their deadlines.
#[derive(Default)]
pub(crate) struct Requests {
    table: Mutex<Table>,
    /// Wakes the timer when a deadline is queued behind none.
    timer: tokio::sync::Notify,
}

#[derive(Default)]
struct Table {
    next: u64,
    waiting: HashMap<u64, Waiting>,
    /// In the order they were queued, which (with one timeout for all) is
    /// the order they pass. Ids already answered are skipped.
    deadlines: VecDeque<(Instant, u64)>,
}

impl Requests {
    /// Keeps `waiting` until its answer or `deadline`; returns its id.
    pub(crate) fn insert(&self, waiting: Waiting, deadline: Instant) -> u64 {
        let mut table = lock(&self.table);
        table.next += 1;
        let id = table.next;
        table.waiting.insert(id, waiting);
        let first = table.deadlines.is_empty();
        table.deadlines.push_back((deadline, id));
        drop(table);
        if first {
            self.timer.notify_one();
        }
        id
    }

    pub(crate) fn take(&self, id: u64) -> Option<Waiting> {
        lock(&self.table).waiting.remove(&id)
    }

    /// Fails every request waiting for an answer: the connection dropped,
    /// so their answers (or the requests themselves) are lost.
    pub(crate) fn fail_all(&self, error: ReplyError) {
        let waiting = std::mem::take(&mut lock(&self.table).waiting);
        for waiting in waiting.into_values() {
            waiting.fail(error);
        }
    }

    /// Takes the requests whose deadline has passed; returns them and the
    /// next deadline.
    fn expired(&self, now: Instant) -> (Vec<Waiting>, Option<Instant>) {
        let mut table = lock(&self.table);
        let mut expired = Vec::new();
        while let Some(&(deadline, id)) = table.deadlines.front() {
            if deadline > now {
                return (expired, Some(deadline));
            }
            table.deadlines.pop_front();
            if let Some(waiting) = table.waiting.remove(&id) {
                expired.push(waiting);
            }
        }
        (expired, None)
    }
}

/// Fails each request when its deadline passes.
async fn timer_loop(requests: Arc<Requests>, timeout: Duration) {
    loop {
        let (expired, next) = requests.expired(Instant::now());
        for waiting in expired {
            waiting.fail(ReplyError::Timeout(timeout));
        }
        match next {
            Some(deadline) => {
                tokio::select! {
                    _ = tokio::time::sleep_until(deadline.into()) => {}
                    _ = requests.timer.notified() => {}
                }
            }
            None => requests.timer.notified().await,
        }
    }
}

/// The error listeners, shared with the client's event callback (which
/// exists before the link does).
pub(crate) type Listeners = Arc<Mutex<Vec<SendPort<RemoteError>>>>;

/// Tells `listeners` that a message was lost, and why; with none, says it
/// on stderr rather than losing it.
pub(crate) fn report(listeners: &Mutex<Vec<SendPort<RemoteError>>>, message: String) {
    tell(
        listeners,
        RemoteError::new(RemoteErrorKind::Undeliverable, message),
    );
}

/// Tells `listeners` `error`; with none, says it on stderr.
fn tell(listeners: &Mutex<Vec<SendPort<RemoteError>>>, error: RemoteError) {
    let listeners = lock(listeners).clone();
    if listeners.is_empty() {
        eprintln!("isolate-nats: {error}");
    }
    for listener in listeners {
        // Never waits: a full listener loses the report.
        let _ = listener.try_send(error.clone());
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

pub(crate) struct Link {
    pub(crate) client: Client,
    pub(crate) names: kv::Store,
    pub(crate) group: String,
    pub(crate) member: String,
    pub(crate) ask_timeout: Duration,
    pub(crate) probe_timeout: Duration,
    pub(crate) operation_timeout: Duration,
    pub(crate) out: mpsc::UnboundedSender<Out>,
    inbox: String,
    requests: Arc<Requests>,
    errors: Listeners,
    /// The names this member serves.
    registrations: Mutex<HashMap<String, Registration>>,
    /// The last subject number handed out.
    subjects: AtomicU64,
    /// Set by `leave`: a registration that lands after it is undone.
    pub(crate) left: AtomicBool,
}

/// A name this member serves.
pub(crate) struct Registration {
    /// The bucket's revision of the name this member wrote: shared with
    /// the serving task, and moved on when the name is written again.
    pub(crate) revision: Arc<AtomicU64>,
    /// What the name holds, to write it again if it is deleted while this
    /// member still serves it.
    pub(crate) record: Bytes,
    /// Dropped (or sent), it stops the serving task, which answers what is
    /// still buffered for the port with "closed".
    pub(crate) stop: tokio::sync::oneshot::Sender<()>,
    /// Ends (with an error) when the serving task has ended.
    pub(crate) done: tokio::sync::oneshot::Receiver<()>,
}

impl Registration {
    /// Stops serving the port (dropping the registration does too); what
    /// it returns ends when the serving task has answered what was
    /// buffered for the port.
    pub(crate) fn stop(self) -> tokio::sync::oneshot::Receiver<()> {
        let _ = self.stop.send(());
        self.done
    }
}

/// What a new link needs besides its client.
pub(crate) struct Settings {
    pub(crate) group: String,
    pub(crate) member: String,
    pub(crate) ask_timeout: Duration,
    pub(crate) probe_timeout: Duration,
    pub(crate) operation_timeout: Duration,
}

impl Link {
    /// Starts the send queue and the answer routing on the current
    /// runtime.
    pub(crate) async fn start(
        client: Client,
        names: kv::Store,
        settings: Settings,
        requests: Arc<Requests>,
        errors: Listeners,
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
            operation_timeout: settings.operation_timeout,
            out,
            inbox,
            requests: requests.clone(),
            errors,
            registrations: Mutex::default(),
            subjects: AtomicU64::new(0),
            left: AtomicBool::new(false),
        });
        tokio::spawn(send_loop(link.clone(), queue));
        tokio::spawn(answer_loop(link.clone(), answers));
        tokio::spawn(timer_loop(requests, link.ask_timeout));
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

    /// Tells the error listeners that a message was lost, and why.
    pub(crate) fn report(&self, message: String) {
        report(&self.errors, message);
    }

    /// Tells the error listeners something about the member that is not a
    /// lost message.
    pub(crate) fn report_transport(&self, message: String) {
        tell(
            &self.errors,
            RemoteError::new(RemoteErrorKind::Transport, message),
        );
    }

    /// A subject no other port of the group uses.
    pub(crate) fn fresh_subject(&self) -> String {
        let n = self.subjects.fetch_add(1, Ordering::Relaxed) + 1;
        format!("isolates.{}.{}.{n}", self.group, self.member)
    }

    /// Keeps `waiting` until its answer, a failure or the ask timeout,
    /// which starts now; returns the id its reply subject carries.
    pub(crate) fn request(&self, waiting: Waiting) -> u64 {
        self.requests
            .insert(waiting, Instant::now() + self.ask_timeout)
    }

    pub(crate) fn take_request(&self, id: u64) -> Option<Waiting> {
        self.requests.take(id)
    }

    /// Waits until everything queued so far is in the client's hands;
    /// `false` if that took longer than `within`.
    pub(crate) async fn drain_queue(&self, within: Duration) -> bool {
        let (done, drained) = tokio::sync::oneshot::channel();
        if self.out.send(Out::Flush(done)).is_err() {
            return true;
        }
        matches!(tokio::time::timeout(within, drained).await, Ok(Ok(())))
    }

    pub(crate) fn remember(&self, name: String, registration: Registration) {
        lock(&self.registrations).insert(name, registration);
    }

    pub(crate) fn take_registration(&self, name: &str) -> Option<Registration> {
        lock(&self.registrations).remove(name)
    }

    /// Takes `name`'s registration if it is still the one at `revision`.
    pub(crate) fn take_registration_at(&self, name: &str, revision: u64) -> Option<Registration> {
        let mut registrations = lock(&self.registrations);
        match registrations.get(name) {
            Some(held) if held.revision.load(Ordering::Acquire) == revision => {
                registrations.remove(name)
            }
            _ => None,
        }
    }

    /// Takes `name`'s registration if it is still the one whose revision
    /// cell is `revision` (whatever revision that holds now).
    pub(crate) fn take_registration_of(
        &self,
        name: &str,
        revision: &Arc<AtomicU64>,
    ) -> Option<Registration> {
        let mut registrations = lock(&self.registrations);
        match registrations.get(name) {
            Some(held) if Arc::ptr_eq(&held.revision, revision) => registrations.remove(name),
            _ => None,
        }
    }

    pub(crate) fn take_registrations(&self) -> Vec<(String, Registration)> {
        lock(&self.registrations).drain().collect()
    }

    /// The names this member serves: each with its revision and record.
    pub(crate) fn registered(&self) -> Vec<(String, u64, Bytes)> {
        lock(&self.registrations)
            .iter()
            .map(|(name, held)| {
                (
                    name.clone(),
                    held.revision.load(Ordering::Acquire),
                    held.record.clone(),
                )
            })
            .collect()
    }

    /// Moves `name` from revision `from` to `to`; `false` if it is no
    /// longer served as `from` (unregistered meanwhile).
    pub(crate) fn rewritten(&self, name: &str, from: u64, to: u64) -> bool {
        match lock(&self.registrations).get(name) {
            Some(held) => held
                .revision
                .compare_exchange(from, to, Ordering::AcqRel, Ordering::Acquire)
                .is_ok(),
            None => false,
        }
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
            Out::Request {
                subject,
                payload,
                id,
            } => {
                let reply = format!("{}.{id}", link.inbox);
                if link
                    .client
                    .publish_with_reply(subject, reply, payload)
                    .await
                    .is_err()
                    && let Some(waiting) = link.take_request(id)
                {
                    waiting.fail(ReplyError::Disconnected);
                }
            }
            Out::Flush(done) => {
                let _ = done.send(());
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
        // request, finds nobody waiting: dropped.
        let Some(waiting) = link.take_request(id) else {
            continue;
        };
        // Whatever the answer says, the message is no longer on its way.
        waiting.window.release(waiting.credit);
        let Some(pending) = waiting.reply else {
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
