//! [`RemoteGroup`]: one process's membership of a group spread over NATS.

use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_nats::jetstream::{self, kv};
use async_nats::{ConnectOptions, Event, RequestErrorKind};
use futures::TryStreamExt;
use isolate_core::transport::{self, fingerprint};
use isolate_core::{Port, RemoteError, ReplyError, SendPort};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::RemoteMessage;
use crate::call::Call;
use crate::envelope::{Code, Envelope};
use crate::error::Error;
use crate::link::{self, Link, Listeners, Registration, Requests, Settings, Window};
use crate::names::{self, Record};
use crate::proxy::RemotePort;
use crate::serve::{keep_names, serve};

/// One process's membership of an isolate group spread over several
/// processes and machines, through a NATS server.
///
/// A member publishes the ports of its own isolates under names
/// ([`register`](Self::register)); any member of the group looks a name up
/// ([`lookup`](Self::lookup)) and gets a port of the isolate's own port
/// type, whose tells and asks cross the network. The names live in a
/// JetStream key-value bucket (`isolates_<group>`), so a member that joins
/// late finds them.
///
/// Every operation returns a [`Call`]: `.await` it in async code, or
/// `.wait()` for it on a plain thread. The NATS client runs on an I/O
/// thread of the remote group's own, so neither form needs a tokio runtime
/// of the caller's. The connection stays open while the `RemoteGroup`, a
/// clone of it, or a port looked up through it is alive, and while it
/// serves a registered port whose isolate holds one of those: end such a
/// member with [`leave`](Self::leave), which stops serving and sends what
/// is queued.
///
/// # Examples
///
/// ```no_run
/// use isolate_core::prelude::*;
/// use isolate_nats::RemoteGroup;
///
/// #[isolate]
/// struct Counter {
///     total: u64,
/// }
///
/// #[isolate(remote)]
/// impl Counter {
///     #[message]
///     fn add(&mut self, n: u64) -> u64 {
///         self.total += n;
///         self.total
///     }
/// }
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// // In one process: serve a counter under a name.
/// let group = IsolateGroup::new();
/// let remote = RemoteGroup::connect("nats://127.0.0.1:4222", "shop").wait()?;
/// remote.register("counter", &group.spawn(Counter { total: 0 })).wait()?;
///
/// // In any process of the group: find it, and ask it.
/// let counter: CounterPort = remote.lookup("counter").wait()?;
/// assert_eq!(counter.add(5).wait()?, 5);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct RemoteGroup {
    inner: Arc<Inner>,
}

// SAFETY: a `RemoteGroup` is a handle, as an `IsolateGroup` is: what it
// reaches (a connection, a send queue, tables of names and pending asks) is
// internally synchronized and reached only through operations that pass
// messages; no memory it holds can be mutated by two isolates through it.
unsafe impl isolate_core::Sendable for RemoteGroup {}

/// What the handles and the looked-up ports share: the link, and the I/O
/// thread that runs it.
pub(crate) struct Inner {
    pub(crate) link: Arc<Link>,
    runtime: Runtime,
}

/// The I/O thread's runtime, shut down without waiting when dropped (which
/// may happen inside another runtime, where waiting is not allowed).
struct Runtime(Option<tokio::runtime::Runtime>);

impl Runtime {
    fn new() -> std::io::Result<Self> {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("isolate-nats")
            .enable_all()
            .build()
            .map(|runtime| Runtime(Some(runtime)))
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.0
            .as_ref()
            .expect("the runtime is taken only when dropped")
            .handle()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// How a [`RemoteGroup`] connects and how long it waits.
///
/// # Examples
///
/// ```no_run
/// use std::time::Duration;
/// use isolate_nats::RemoteGroup;
///
/// let remote = RemoteGroup::builder()
///     .ask_timeout(Duration::from_secs(2))
///     .replicas(3)
///     .connect("nats://10.0.0.1:4222,nats://10.0.0.2:4222", "shop")
///     .wait();
/// ```
#[derive(Debug, Clone)]
pub struct RemoteGroupBuilder {
    ask_timeout: Duration,
    probe_timeout: Duration,
    operation_timeout: Duration,
    connect_timeout: Duration,
    replicas: usize,
}

impl Default for RemoteGroupBuilder {
    fn default() -> Self {
        RemoteGroupBuilder {
            ask_timeout: Duration::from_secs(10),
            probe_timeout: Duration::from_secs(2),
            operation_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            replicas: 1,
        }
    }
}

impl RemoteGroupBuilder {
    /// How long an ask through a looked-up port waits for its answer before
    /// it fails with [`ReplyError::Timeout`]. 10 s unless set.
    pub fn ask_timeout(mut self, timeout: Duration) -> Self {
        self.ask_timeout = timeout;
        self
    }

    /// How long [`register`](RemoteGroup::register) and
    /// [`lookup`](RemoteGroup::lookup) wait for the member that holds a
    /// name to say it is alive, and how long each attempt to open the
    /// names bucket may take while connecting (a cluster electing its
    /// JetStream leader is asked again rather than waited on). 2 s unless
    /// set.
    pub fn probe_timeout(mut self, timeout: Duration) -> Self {
        self.probe_timeout = timeout;
        self
    }

    /// How long an operation on the group's names ([`register`],
    /// [`lookup`], [`unregister`], [`names`], [`leave`]) may take before it
    /// fails with [`Error::Timeout`]: while the server is away they fail
    /// rather than wait for it. 10 s unless set. An operation that times
    /// out may still have partly happened (a name written, then found
    /// unserved and removed by the next lookup).
    ///
    /// [`register`]: RemoteGroup::register
    /// [`lookup`]: RemoteGroup::lookup
    /// [`unregister`]: RemoteGroup::unregister
    /// [`names`]: RemoteGroup::names
    /// [`leave`]: RemoteGroup::leave
    pub fn operation_timeout(mut self, timeout: Duration) -> Self {
        self.operation_timeout = timeout;
        self
    }

    /// How long the first connection to the server may take. 5 s unless
    /// set.
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How many servers of a NATS cluster keep a copy of the group's names,
    /// when this member is the one that creates the bucket: 3 in a cluster
    /// of three survives the loss of one server. 1 unless set.
    pub fn replicas(mut self, replicas: usize) -> Self {
        self.replicas = replicas.max(1);
        self
    }

    /// Connects to the server(s) at `url` (comma-separated for several) and
    /// joins the group `group`, creating its names bucket if it is the
    /// first member.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`] for a group name NATS cannot carry,
    /// [`Error::Connect`] when no server answers, [`Error::NoJetStream`]
    /// when the server has no JetStream.
    pub fn connect(self, url: &str, group: &str) -> Call<RemoteGroup> {
        if let Err(error) = names::check_group(group) {
            return Call::failed(error);
        }
        let runtime = match Runtime::new() {
            Ok(runtime) => runtime,
            Err(error) => {
                return Call::failed(Error::Connect(format!(
                    "could not start the I/O thread: {error}"
                )));
            }
        };
        let handle = runtime.handle().clone();
        let connecting = join(self, url.to_owned(), group.to_owned());
        Call::spawn_then(&handle, connecting, move |link| RemoteGroup {
            inner: Arc::new(Inner { link, runtime }),
        })
    }
}

/// Connects, opens or creates the names bucket, and starts the link.
async fn join(
    settings: RemoteGroupBuilder,
    url: String,
    group: String,
) -> Result<Arc<Link>, Error> {
    let member = nuid::next().to_string();
    let requests = Arc::new(Requests::default());
    let errors = Listeners::default();
    let on_event = (
        requests.clone(),
        errors.clone(),
        Arc::new(Throttle::default()),
    );
    let client = ConnectOptions::new()
        .name(format!("isolates {group} {member}"))
        .connection_timeout(settings.connect_timeout)
        .event_callback(move |event| {
            let (requests, errors, throttle) = on_event.clone();
            async move {
                match event {
                    // The answers to asks already sent are lost with the
                    // connection (NATS keeps nothing for a client that is
                    // away): they fail now rather than at their timeout.
                    Event::Disconnected => requests.fail_all(ReplyError::Disconnected),
                    // Messages for this member were dropped because it
                    // fell behind (senders that are not isolate-nats
                    // ports, or more of them than the windows allow for):
                    // said, not kept quiet, once a second at most.
                    Event::SlowConsumer(_) => {
                        if let Some(dropped) = throttle.count() {
                            link::report(
                                &errors,
                                format!(
                                    "{dropped} message(s) for this member were dropped: it \
                                     fell behind the server (a NATS slow consumer)"
                                ),
                            );
                        }
                    }
                    _ => {}
                }
            }
        })
        .connect(url.as_str())
        .await
        .map_err(|error| Error::Connect(format!("{url}: {error}")))?;
    let mut jetstream = jetstream::new(client.clone());
    // Short requests, retried: in a cluster that has just lost its
    // JetStream leader, a request waits for the election and is better
    // sent again than waited on for the client's default 10 s.
    jetstream.set_timeout(settings.probe_timeout);
    let bucket = names::bucket(&group);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let opened = match jetstream.get_key_value(&bucket).await {
            Ok(names) => Ok(names),
            Err(_) => create_bucket(&jetstream, &bucket, &group, settings.replicas).await,
        };
        match opened {
            Ok(_) => break,
            Err(Error::Names(_)) if attempt < 5 => continue,
            Err(error) => return Err(error),
        }
    }
    // Opened again for the member's operations, whose requests may take
    // as long as the operation timeout allows (which then fires first, as
    // `Error::Timeout`).
    let mut patient = jetstream::new(client.clone());
    patient.set_timeout(settings.operation_timeout + Duration::from_secs(1));
    let names = patient
        .get_key_value(&bucket)
        .await
        .map_err(|error| Error::Names(format!("could not open the bucket `{bucket}`: {error}")))?;
    let settings = Settings {
        group,
        member,
        ask_timeout: settings.ask_timeout,
        probe_timeout: settings.probe_timeout,
        operation_timeout: settings.operation_timeout,
    };
    let link = Link::start(client, names, settings, requests, errors)
        .await
        .map_err(|error| Error::Connect(error.to_string()))?;
    tokio::spawn(keep_names(Arc::downgrade(&link)));
    Ok(link)
}

/// Counts slow-consumer events, and lets one report through a second.
#[derive(Default)]
struct Throttle {
    state: std::sync::Mutex<(u64, Option<std::time::Instant>)>,
}

impl Throttle {
    /// Counts one drop; `Some(count)` when it is time to report the drops
    /// counted since the last report.
    fn count(&self) -> Option<u64> {
        let mut state = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        state.0 += 1;
        let due = state
            .1
            .is_none_or(|last| last.elapsed() >= Duration::from_secs(1));
        if !due {
            return None;
        }
        state.1 = Some(std::time::Instant::now());
        Some(std::mem::take(&mut state.0))
    }
}

/// Creates the names bucket: the stream a key-value bucket is, made
/// directly, because the client's own `create_key_value` first reads
/// account fields that servers before 2.10 (Debian's 2.9 among them) do not
/// send. Two members creating it at once is fine: JetStream accepts a
/// second creation with the same settings.
async fn create_bucket(
    jetstream: &jetstream::Context,
    bucket: &str,
    group: &str,
    replicas: usize,
) -> Result<kv::Store, Error> {
    let config = jetstream::stream::Config {
        name: format!("KV_{bucket}"),
        description: Some(format!("the named ports of the isolate group `{group}`")),
        subjects: vec![format!("$KV.{bucket}.>")],
        max_messages_per_subject: 1,
        max_messages: -1,
        max_bytes: -1,
        max_message_size: -1,
        max_consumers: -1,
        storage: jetstream::stream::StorageType::File,
        num_replicas: replicas,
        discard: jetstream::stream::DiscardPolicy::New,
        allow_rollup: true,
        deny_delete: true,
        allow_direct: true,
        ..Default::default()
    };
    jetstream.create_stream(config).await.map_err(|error| {
        let text = error.to_string();
        if ["no responders", "not enabled", "jetstream unavailable"]
            .iter()
            .any(|sign| text.contains(sign))
        {
            Error::NoJetStream(text)
        } else {
            Error::Names(format!("could not create the bucket `{bucket}`: {text}"))
        }
    })?;
    jetstream
        .get_key_value(bucket)
        .await
        .map_err(|error| Error::Names(format!("could not open the bucket `{bucket}`: {error}")))
}

impl RemoteGroup {
    /// Connects to the NATS server(s) at `url` and joins the group `group`,
    /// with the [defaults](RemoteGroupBuilder).
    ///
    /// `.await` the result in async code, or `.wait()` for it on a plain
    /// thread.
    ///
    /// # Errors
    ///
    /// As [`RemoteGroupBuilder::connect`].
    pub fn connect(url: &str, group: &str) -> Call<RemoteGroup> {
        RemoteGroupBuilder::default().connect(url, group)
    }

    /// Settings for the connection, then [`connect`](RemoteGroupBuilder::connect).
    pub fn builder() -> RemoteGroupBuilder {
        RemoteGroupBuilder::default()
    }

    /// The group's name.
    pub fn group_name(&self) -> &str {
        &self.inner.link.group
    }

    /// This member's id, unique in the group (and on the server).
    pub fn member_id(&self) -> &str {
        &self.inner.link.member
    }

    fn handle(&self) -> &tokio::runtime::Handle {
        self.inner.runtime.handle()
    }

    /// Runs `operation` on the I/O thread, failing it after the operation
    /// timeout.
    fn call<T: Send + 'static>(
        &self,
        operation: impl Future<Output = Result<T, Error>> + Send + 'static,
    ) -> Call<T> {
        Call::spawn(
            self.handle(),
            bounded(self.inner.link.operation_timeout, operation),
        )
    }

    /// Publishes `port` under `name`: from now on, any member of the group
    /// can look it up and send to it. The name goes when the port's isolate
    /// ends (within half a second), when this member
    /// [unregisters](Self::unregister) it or [leaves](Self::leave), and when
    /// this process is found gone by a member that looks the name up (two
    /// probes half a second apart find nobody serving it). A member cut off
    /// for longer than that writes its names again when it is back, unless
    /// another member has taken one meanwhile: then it stops serving that
    /// one and tells its error listeners.
    ///
    /// A port that may be registered here is one that may be registered in
    /// an [`IsolateGroup`](isolate_core::IsolateGroup): a
    /// [`Port`](isolate_core::Port), which is `Sendable` and carries
    /// `Sendable` messages, and whose messages are serde types. A port of
    /// interior mutability is refused at compile time, even though its
    /// messages would be copied on the way (`Cell<u64>` is serde):
    ///
    /// ```compile_fail
    /// use std::cell::Cell;
    /// use isolate_core::ReceivePort;
    ///
    /// fn publish(remote: &isolate_nats::RemoteGroup) {
    ///     let inbox = ReceivePort::<Cell<u64>>::new();
    ///     let _ = remote.register("back", &inbox.send_port()).wait();
    /// }
    /// ```
    ///
    /// # Errors
    ///
    /// [`Error::Taken`] when a live port is registered under `name`, by any
    /// member; [`Error::InvalidName`] for a name NATS cannot carry;
    /// [`Error::Names`] when the server fails.
    pub fn register<P>(&self, name: &str, port: &P) -> Call<()>
    where
        P: Port,
        P::Message: RemoteMessage,
    {
        if let Err(error) = names::check_port(name) {
            return Call::failed(error);
        }
        let link = self.inner.link.clone();
        let port = port.as_send_port().clone();
        self.call(register(link, name.to_owned(), port))
    }

    /// Takes `name` out of the group if this member registered it: `true`
    /// if it did.
    ///
    /// # Errors
    ///
    /// [`Error::Names`] when the server fails.
    pub fn unregister(&self, name: &str) -> Call<bool> {
        let link = self.inner.link.clone();
        let name = name.to_owned();
        self.call(async move {
            let Some(registration) = link.take_registration(&name) else {
                return Ok(false);
            };
            let revision = registration.revision.load(Ordering::Acquire);
            // The serving task answers what is still buffered first.
            let _ = tokio::time::timeout(link.probe_timeout, registration.stop()).await;
            link.names
                .delete_expect_revision(&name, Some(revision))
                .await
                .map_err(|error| Error::Names(error.to_string()))?;
            Ok(true)
        })
    }

    /// The port registered under `name`, as the isolate's own port type:
    /// `remote.lookup::<CounterPort>("counter")`.
    ///
    /// Before it answers, the lookup asks the member that registered the
    /// name whether the port is still served, so a name whose process has
    /// crashed is not handed out (and is removed).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`] when no live port has the name;
    /// [`Error::WrongType`] when the name's port takes other messages;
    /// [`Error::Names`] when the server fails.
    pub fn lookup<P>(&self, name: &str) -> Call<P>
    where
        P: Port + From<SendPort<P::Message>>,
        P::Message: RemoteMessage,
    {
        if let Err(error) = names::check_port(name) {
            return Call::failed(error);
        }
        let inner = self.inner.clone();
        let link = &self.inner.link;
        let lookup = bounded(
            link.operation_timeout,
            lookup::<P::Message>(link.clone(), name.to_owned()),
        );
        Call::spawn_then(self.handle(), lookup, move |subject: String| {
            P::from(transport::proxy_port(RemotePort::<P::Message> {
                inner,
                subject: subject.into(),
                fingerprint: fingerprint::<P::Message>(),
                window: Arc::new(Window::new()),
                _message: PhantomData,
            }))
        })
    }

    /// The names registered in the group, sorted (including names whose
    /// member has gone without a word, until a lookup finds them gone).
    ///
    /// # Errors
    ///
    /// [`Error::Names`] when the server fails.
    pub fn names(&self) -> Call<Vec<String>> {
        let link = self.inner.link.clone();
        self.call(async move {
            let fail = |error: &dyn std::fmt::Display| Error::Names(error.to_string());
            let mut names: Vec<String> = match link.names.keys().await {
                Ok(keys) => keys.try_collect().await.map_err(|e| fail(&e))?,
                Err(error) => return Err(fail(&error)),
            };
            names.sort();
            Ok(names)
        })
    }

    /// Takes every name this member registered out of the group, stops
    /// serving them (asks still buffered for them fail with
    /// `NoResponder`), and sends what is queued before it returns, so that
    /// the process may end right after. Ports looked up through this member
    /// keep working while they are alive.
    ///
    /// A member that ends without leaving (it crashed, or was dropped)
    /// leaves its names behind until a lookup or a registration of one of
    /// them finds nobody serving it.
    ///
    /// # Errors
    ///
    /// [`Error::Names`] when the server fails, [`Error::Timeout`] when it
    /// does not answer (or what is queued cannot be sent) in time.
    pub fn leave(self) -> Call<()> {
        let link = self.inner.link.clone();
        let handle = self.handle().clone();
        // The handle lives until the caller has the result: dropped earlier,
        // the last one would stop the I/O thread under the operation.
        let keep = self.inner;
        let leaving = async move {
            link.left.store(true, Ordering::Release);
            let mut failed = None;
            let mut stopping = Vec::new();
            for (name, registration) in link.take_registrations() {
                let revision = registration.revision.load(Ordering::Acquire);
                stopping.push(registration.stop());
                if let Err(error) = link
                    .names
                    .delete_expect_revision(&name, Some(revision))
                    .await
                {
                    failed.get_or_insert(Error::Names(error.to_string()));
                }
            }
            // The serving tasks' last answers ("closed") are queued first.
            let _ =
                tokio::time::timeout(link.probe_timeout, futures::future::join_all(stopping)).await;
            // What this member queued (tells, answers) goes out before the
            // call returns; so that a process may end right after.
            if !link.drain_queue(link.ask_timeout).await {
                failed.get_or_insert(Error::Timeout(link.ask_timeout));
            }
            if !matches!(
                tokio::time::timeout(link.probe_timeout, link.client.flush()).await,
                Ok(Ok(()))
            ) {
                failed.get_or_insert(Error::Timeout(link.probe_timeout));
            }
            failed.map_or(Ok(()), Err)
        };
        let leaving = bounded(keep.link.operation_timeout, leaving);
        Call::spawn_then(&handle, leaving, move |()| drop(keep))
    }

    /// Sends every [`RemoteError`] of this member to `port` as well: a
    /// message that could not be encoded, decoded or delivered, on either
    /// side. With no listener, they are printed to stderr.
    pub fn add_error_listener(&self, port: SendPort<RemoteError>) {
        self.inner.link.add_error_listener(port);
    }

    /// Stops sending errors to `port`.
    pub fn remove_error_listener(&self, port: &SendPort<RemoteError>) {
        self.inner.link.remove_error_listener(port);
    }
}

impl std::fmt::Debug for RemoteGroup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteGroup")
            .field("group", &self.group_name())
            .field("member", &self.member_id())
            .finish()
    }
}

/// `operation`, failed with [`Error::Timeout`] after `timeout`.
async fn bounded<T>(
    timeout: Duration,
    operation: impl Future<Output = Result<T, Error>>,
) -> Result<T, Error> {
    tokio::time::timeout(timeout, operation)
        .await
        .unwrap_or(Err(Error::Timeout(timeout)))
}

/// Serves `port` under `name`.
async fn register<T>(link: Arc<Link>, name: String, port: SendPort<T>) -> Result<(), Error>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let failed = |error: &dyn std::fmt::Display| Error::Names(error.to_string());
    if link.left.load(Ordering::Acquire) {
        return Err(Error::Closed);
    }
    let subject = link.fresh_subject();
    // Subscribed, and known to the server, before the name is visible: a
    // lookup that finds the name finds it served.
    // Bounded: while the server is away, the client's buffer fills and
    // its commands wait for the reconnect.
    let within = link.probe_timeout;
    let subscriber =
        match tokio::time::timeout(within, link.client.subscribe(subject.clone())).await {
            Ok(Ok(subscriber)) => subscriber,
            Ok(Err(error)) => return Err(failed(&error)),
            Err(_) => return Err(Error::Timeout(within)),
        };
    match tokio::time::timeout(within, link.client.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return Err(failed(&error)),
        Err(_) => return Err(Error::Timeout(within)),
    }
    let record = Record::new(
        &link.member,
        &subject,
        fingerprint::<T>(),
        std::any::type_name::<T>(),
    )
    .to_bytes();
    let written = claim(&link, &name, record.clone()).await?;
    if link.left.load(Ordering::Acquire) {
        // `leave` ran meanwhile, and did not see this one: undone.
        let _ = link
            .names
            .delete_expect_revision(&name, Some(written))
            .await;
        return Err(Error::Closed);
    }
    let revision = Arc::new(AtomicU64::new(written));
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let (ended, done) = tokio::sync::oneshot::channel();
    link.remember(
        name.clone(),
        Registration {
            revision: revision.clone(),
            record,
            stop,
            done,
        },
    );
    tokio::spawn(serve(
        link.clone(),
        name,
        revision,
        port,
        subscriber,
        stopped,
        ended,
    ));
    Ok(())
}

/// Writes `record` under `name` if the name is free, or held by a member
/// that no longer serves it; returns the revision written.
async fn claim(link: &Link, name: &str, record: bytes::Bytes) -> Result<u64, Error> {
    let failed = |error: &dyn std::fmt::Display| Error::Names(error.to_string());
    let taken = || Error::Taken {
        name: name.to_owned(),
    };
    // Another member may write between the read and the update: a few
    // rounds settle who wins.
    for _ in 0..4 {
        match link.names.create(name, record.clone()).await {
            Ok(revision) => return Ok(revision),
            Err(error) if error.kind() == kv::CreateErrorKind::AlreadyExists => {}
            Err(error) => return Err(failed(&error)),
        }
        let Some(entry) = link.names.entry(name).await.map_err(|e| failed(&e))? else {
            continue;
        };
        if entry.operation != kv::Operation::Put {
            continue;
        }
        if let Some(held) = Record::from_bytes(&entry.value)
            && !is_gone(link, &held.subject).await
        {
            return Err(taken());
        }
        match link
            .names
            .update(name, record.clone(), entry.revision)
            .await
        {
            Ok(revision) => return Ok(revision),
            Err(error) if error.kind() == kv::UpdateErrorKind::WrongLastRevision => {}
            Err(error) => return Err(failed(&error)),
        }
    }
    Err(taken())
}

/// Finds `name`'s subject, if its port is served and takes `T`.
async fn lookup<T: serde::de::DeserializeOwned + 'static>(
    link: Arc<Link>,
    name: String,
) -> Result<String, Error> {
    let failed = |error: &dyn std::fmt::Display| Error::Names(error.to_string());
    let not_found = || Error::NotFound { name: name.clone() };
    let entry = link.names.entry(&name).await.map_err(|e| failed(&e))?;
    let Some(entry) = entry.filter(|entry| entry.operation == kv::Operation::Put) else {
        return Err(not_found());
    };
    let Some(record) = Record::from_bytes(&entry.value) else {
        return Err(Error::Names(format!(
            "`{name}` holds a record that isolate-nats did not write"
        )));
    };
    if record.fingerprint != fingerprint::<T>() {
        return Err(Error::WrongType {
            name,
            expected: std::any::type_name::<T>(),
            registered: record.message_type,
        });
    }
    if is_gone(&link, &record.subject).await {
        // Nobody serves it: the member crashed or the isolate ended. Only
        // this revision goes; a fresh registration under the name stays.
        let _ = link
            .names
            .delete_expect_revision(&name, Some(entry.revision))
            .await;
        return Err(not_found());
    }
    Ok(record.subject)
}

#[derive(Debug, PartialEq, Eq)]
enum Probe {
    Alive,
    Gone,
    /// No answer in time: the member may be busy or cut off.
    Unknown,
}

/// Whether nobody serves `subject`: two probes a moment apart say so. One
/// is not enough: it also says so while the serving member reconnects.
async fn is_gone(link: &Link, subject: &str) -> bool {
    if probe(link, subject).await != Probe::Gone {
        return false;
    }
    tokio::time::sleep(REPROBE).await;
    probe(link, subject).await == Probe::Gone
}

/// How long a name's member may take to come back before a second probe
/// finds it gone.
const REPROBE: Duration = Duration::from_millis(500);

/// Asks whoever serves `subject` whether its port is alive.
async fn probe(link: &Link, subject: &str) -> Probe {
    let request = async_nats::Request::new()
        .payload(Envelope::Probe.encode().into())
        .timeout(Some(link.probe_timeout));
    match link.client.send_request(subject.to_owned(), request).await {
        Ok(message) => match Envelope::decode(&message.payload) {
            Ok(Envelope::Alive) => Probe::Alive,
            Ok(Envelope::Failed {
                code: Code::Closed, ..
            }) => Probe::Gone,
            _ => Probe::Unknown,
        },
        Err(error) if error.kind() == RequestErrorKind::NoResponders => Probe::Gone,
        Err(_) => Probe::Unknown,
    }
}
