//! One connection between two isolate groups in different processes: the
//! ports each side exported to the other, the proxies it imported, and the
//! two threads that move frames.
//!
//! The protocol is symmetric. Serializing a [`SendPort`] or a
//! [`ReplySender`] *exports* it: the connection keeps it under a fresh id,
//! and the bytes carry only the id. Deserializing *imports* it: the other
//! side gets a `SendPort` whose mailbox is a proxy that encodes each message
//! into a `Message` frame for that id. When the last clone of a proxy is
//! dropped, a `Drop` frame lets the exporter forget the port; when the
//! connection ends, every export is dropped, so every ask waiting on one
//! resolves with an error.

use std::any::Any;
use std::collections::HashMap;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::net::Shutdown;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::frame::{self, Frame, FrameError, FrameReader, Ids};
use super::scope::{self, Scope};
use crate::error::{RemoteError, RemoteErrorKind, SendError, TrySendError};
use crate::port::{Inbox, SendPort};
use crate::reply::{RemoteReply, ReplySender, Route};
use crate::scheduler::mailbox::RoomListener;

/// Which end of the connection this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    /// The process that called `spawn_uri`: it ends the child when nothing
    /// of the child is left in use.
    Parent,
    /// The process that called `serve`.
    Child,
}

/// What the reader thread hands to whoever started the connection.
#[derive(Debug)]
pub(crate) enum Event {
    Init(Vec<u8>),
    Ready(Vec<u8>),
    Shutdown,
    /// The connection ended; with the reason, if it was not a clean close.
    Closed(Option<String>),
    /// A kill of the child, for the parent's reaper thread.
    Kill(crate::control::Priority),
}

/// Frames on their way to the writer thread.
enum Out {
    Frame(Vec<u8>),
    /// A message from one of this side's proxies: counted in
    /// `Queued::messages` until written.
    Message(Vec<u8>),
    /// A frame the reader sends in answer to the other side (a pong, a
    /// release): counted in `Peer::control`, so that a peer that sends
    /// without reading cannot grow this process without bound.
    Control(Vec<u8>),
    Close,
}

/// The most bytes of answers to the other side (pongs, releases, error
/// reports) that may wait for the writer. A peer that keeps sending while
/// it reads nothing fills it, and the connection is closed as broken
/// rather than let this process grow.
const CONTROL_LIMIT: usize = 1 << 20;

/// The most bytes of messages that may wait for the writer, all ports
/// together, before every proxy of the connection is full. Each port's
/// window bounds what it sends ahead of the receiver's credit; this bounds
/// what the other side can make this process hold by not reading its
/// socket, credit or no credit (a peer that grants credit it has not
/// earned would otherwise open the windows at will).
const QUEUED_LIMIT: usize = 4 * frame::WINDOW as usize;

/// What the connection and its writer thread count of the frames queued
/// and not yet written, and where senders wait for room.
#[derive(Default)]
struct Queued {
    /// Bytes of `Out::Control` frames.
    control: AtomicUsize,
    /// Bytes of `Out::Message` frames.
    messages: AtomicUsize,
    /// Where the senders of every proxy of the connection wait: woken by
    /// credit, by the writer falling below [`QUEUED_LIMIT`], and by a port
    /// or the connection closing.
    room: crate::transport::Room,
}

pub(crate) struct Peer {
    role: Role,
    out: flume::Sender<Out>,
    /// The largest frame the other side accepts.
    max_frame: AtomicU32,
    closed: AtomicBool,
    next_id: AtomicU64,
    exports: Mutex<HashMap<u64, Arc<dyn Export>>>,
    /// The imports' windows, so that a `Closed` notice or a `Credit` from
    /// the exporter reaches the proxy.
    imports: Mutex<HashMap<u64, Arc<Window>>>,
    /// In a parent: the handle and the proxies into the child that are
    /// alive. At zero the child is asked to end.
    users: AtomicUsize,
    pings: Mutex<HashMap<u64, Notice>>,
    /// The backlog of each exported port, by receiver (`SendPort::id`):
    /// shared by every export of one port, so that messages through two
    /// proxies of it keep their order. Weak: the exports own them.
    backlogs: Mutex<HashMap<usize, Weak<dyn Any + Send + Sync>>>,
    errors: Mutex<Vec<SendPort<RemoteError>>>,
    events: flume::Sender<Event>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    /// Shared with the writer thread.
    queued: Arc<Queued>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

impl Peer {
    /// Starts the reader and writer threads over `stream`. Events (the
    /// handshake's bodies, a shutdown request, the end) go to `events`.
    pub(crate) fn start(
        role: Role,
        stream: UnixStream,
        max_in: u32,
        max_out: u32,
        events: flume::Sender<Event>,
    ) -> std::io::Result<Arc<Peer>> {
        let (out, queue) = flume::unbounded();
        let peer = Arc::new(Peer {
            role,
            out,
            max_frame: AtomicU32::new(max_out),
            closed: AtomicBool::new(false),
            next_id: AtomicU64::new(1),
            exports: Mutex::default(),
            imports: Mutex::default(),
            users: AtomicUsize::new(0),
            pings: Mutex::default(),
            backlogs: Mutex::default(),
            errors: Mutex::default(),
            events,
            writer: Mutex::default(),
            queued: Arc::default(),
        });
        let write_half = stream.try_clone()?;
        let name = match role {
            Role::Parent => "isolate-process-parent",
            Role::Child => "isolate-process-child",
        };
        let writer = std::thread::Builder::new()
            .name(format!("{name}-writer"))
            .spawn({
                let queued = peer.queued.clone();
                move || write_loop(write_half, queue, &queued)
            })?;
        *lock(&peer.writer) = Some(writer);
        let reader_peer = peer.clone();
        std::thread::Builder::new()
            .name(format!("{name}-reader"))
            .spawn(move || read_loop(reader_peer, FrameReader::new(stream, max_in)))?;
        Ok(peer)
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Queues an encoded frame; `false` when the connection is gone.
    pub(crate) fn write_frame(&self, frame: Vec<u8>) -> bool {
        !self.is_closed() && self.out.send(Out::Frame(frame)).is_ok()
    }

    pub(crate) fn send_frame(&self, frame: &Frame<'_>) -> bool {
        let mut bytes = Vec::new();
        frame.encode(&mut bytes);
        self.write_frame(bytes)
    }

    /// Queues an answer of the reader's to the other side; `false` when
    /// the connection is gone or the other side has left
    /// [`CONTROL_LIMIT`] bytes of answers unread (the caller then closes
    /// the connection).
    fn send_control(&self, frame: &Frame<'_>) -> bool {
        if self.queued.control.load(Ordering::Acquire) > CONTROL_LIMIT {
            return false;
        }
        let mut bytes = Vec::new();
        frame.encode(&mut bytes);
        self.queued.control.fetch_add(bytes.len(), Ordering::AcqRel);
        !self.is_closed() && self.out.send(Out::Control(bytes)).is_ok()
    }

    /// Returns `bytes` of credit for the export `port`. Counted with the
    /// other answers but never refused: credit is at most one small frame
    /// per [`frame::GRANT`] bytes the other side sent, so it cannot grow
    /// without the other side's messages growing first, and a sender
    /// refused its credit would wait for ever.
    fn send_credit(&self, port: u64, bytes: u64) {
        let mut frame = Vec::new();
        Frame::Credit { port, bytes }.encode(&mut frame);
        self.queued.control.fetch_add(frame.len(), Ordering::AcqRel);
        if !self.is_closed() {
            // Refused only when the writer has ended with the connection.
            let _ = self.out.send(Out::Control(frame));
        }
    }

    /// Flushes what is queued and closes the connection's writing side: the
    /// other process reads the end of the stream after the last frame.
    pub(crate) fn close(&self) {
        let _ = self.out.send(Out::Close);
    }

    /// Waits until the writer thread has written what was queued before a
    /// [`close`](Self::close), so that a process about to exit says its
    /// last words.
    pub(crate) fn wait_written(&self) {
        let writer = lock(&self.writer).take();
        if let Some(writer) = writer {
            let _ = writer.join();
        }
    }

    fn fresh_id(&self) -> u64 {
        self.next_id.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn add_user(&self) {
        self.users.fetch_add(1, Ordering::Relaxed);
    }

    /// In a parent, the last user going asks the child to end, through the
    /// reaper, which kills it if it has not ended after the grace period.
    pub(crate) fn release_user(&self) {
        if self.users.fetch_sub(1, Ordering::AcqRel) == 1 && self.role == Role::Parent {
            let _ = self
                .events
                .send(Event::Kill(crate::control::Priority::BeforeNextEvent));
        }
    }

    pub(crate) fn add_error_listener(&self, port: SendPort<RemoteError>) {
        lock(&self.errors).push(port);
    }

    pub(crate) fn remove_error_listener(&self, port: &SendPort<RemoteError>) {
        lock(&self.errors).retain(|listener| listener != port);
    }

    /// Tells the error listeners; with none, says it on stderr rather than
    /// losing it.
    pub(crate) fn report(&self, error: RemoteError) {
        let listeners = lock(&self.errors).clone();
        if listeners.is_empty() {
            eprintln!("isolate-core: {error}");
        }
        for listener in listeners {
            send_soon(&listener, error.clone());
        }
    }

    /// Sends a ping whose pong fires `listener`.
    pub(crate) fn ping(&self, listener: Notice) {
        let id = self.fresh_id();
        lock(&self.pings).insert(id, listener);
        if !self.send_frame(&Frame::Ping(id)) {
            lock(&self.pings).remove(&id);
        }
    }

    /// Encodes `value` as a frame of kind `body`, with this connection as
    /// the context for the ports inside it.
    pub(crate) fn encode<T: Serialize + ?Sized>(
        self: &Arc<Self>,
        value: &T,
        body: Body,
    ) -> Result<Encoded, String> {
        let mut bytes = Vec::new();
        let start = match body {
            Body::Init => frame::begin_body(&mut bytes, false),
            Body::Ready => frame::begin_body(&mut bytes, true),
            Body::Message(port) => frame::begin_message(&mut bytes, port),
        };
        let (encoded, exported) = within(self, || postcard::to_extend(value, bytes));
        let mut bytes = match encoded {
            Ok(bytes) => bytes,
            Err(error) => {
                self.unexport(&exported);
                return Err(format!(
                    "could not encode a `{}`: {error}",
                    short_name::<T>()
                ));
            }
        };
        if exported.len() > frame::MAX_PORTS_PER_MESSAGE {
            self.unexport(&exported);
            return Err(format!(
                "a `{}` carries {} ports and reply senders, more than the {} one message may \
                 carry: send them in parts",
                short_name::<T>(),
                exported.len(),
                frame::MAX_PORTS_PER_MESSAGE
            ));
        }
        if let Body::Message(_) = body {
            frame::end_message(&mut bytes, exported.iter().copied());
        }
        let max = self.max_frame.load(Ordering::Relaxed);
        let len = frame::len_of(&bytes, start);
        if len > max as usize {
            self.unexport(&exported);
            return Err(format!(
                "a `{}` of {len} bytes is larger than the {max} bytes the other process \
                 accepts: send it in parts, or raise `ProcessOptions::max_frame`",
                short_name::<T>()
            ));
        }
        frame::finish(&mut bytes, start);
        Ok(Encoded { bytes, exported })
    }

    /// Drops the ports and reply senders exported for a frame that never
    /// leaves, so that an ask inside it fails at once.
    fn unexport(&self, ids: &[u64]) {
        let mut exports = lock(&self.exports);
        let dropped: Vec<_> = ids.iter().filter_map(|id| exports.remove(id)).collect();
        drop(exports);
        drop(dropped);
    }

    /// Decodes a frame body, importing the ports inside it.
    pub(crate) fn decode<T: DeserializeOwned>(self: &Arc<Self>, body: &[u8]) -> Result<T, String> {
        within(self, || postcard::take_from_bytes::<T>(body))
            .0
            .map_err(|error| format!("could not decode a `{}`: {error}", short_name::<T>()))
            .and_then(|(value, rest)| {
                if rest.is_empty() {
                    Ok(value)
                } else {
                    Err(format!(
                        "could not decode a `{}`: {} bytes left over (do both programs \
                         define the type alike?)",
                        short_name::<T>(),
                        rest.len()
                    ))
                }
            })
    }

    /// Sends an encoded frame, then drops `message`: the ports inside it
    /// are released only after the frame that carries them is queued, so a
    /// `Drop` never overtakes the message that names the port.
    pub(crate) fn send_encoded<T>(&self, encoded: Encoded, message: T) -> Result<(), T> {
        let len = encoded.bytes.len();
        self.queued.messages.fetch_add(len, Ordering::AcqRel);
        if !self.is_closed() && self.out.send(Out::Message(encoded.bytes)).is_ok() {
            drop(message);
            Ok(())
        } else {
            self.queued.messages.fetch_sub(len, Ordering::AcqRel);
            self.unexport(&encoded.exported);
            Err(message)
        }
    }

    /// Whether the writer holds [`QUEUED_LIMIT`] bytes of messages or more:
    /// then every proxy of the connection is full.
    fn is_backed_up(&self) -> bool {
        self.queued.messages.load(Ordering::Acquire) >= QUEUED_LIMIT
    }

    /// Releases the exports named by a message that will not be decoded;
    /// `false` if the other side reads too little to take the releases.
    #[must_use]
    fn release(&self, ids: Ids<'_>) -> bool {
        ids.iter()
            .all(|port| self.send_control(&Frame::Drop { port }))
    }

    /// The port exported as `port` has closed: messages for it are dropped
    /// from now on, and the other side's proxies read closed.
    fn close_export(&self, port: u64) {
        self.send_frame(&Frame::Closed { port });
    }

    // --- exports --------------------------------------------------------

    fn export(&self, make: impl FnOnce(u64) -> Arc<dyn Export>) -> u64 {
        let id = self.fresh_id();
        let entry = make(id);
        let refused = {
            let mut exports = lock(&self.exports);
            // Checked under the lock that `shut` empties the table under:
            // an export after the end is dropped at once (failing its ask),
            // never stranded in a table nobody clears.
            if self.is_closed() {
                Some(entry)
            } else {
                exports.insert(id, entry);
                None
            }
        };
        drop(refused);
        scope::with_innermost(|scope| {
            if let Some(Scope::Peer { exported, .. }) = scope {
                exported.push(id);
            }
        });
        id
    }

    pub(crate) fn export_port<T>(&self, port: &SendPort<T>) -> WirePort
    where
        T: DeserializeOwned + Send + 'static,
    {
        let type_hash = type_hash::<T>();
        if let Some((peer, id)) = port.remote()
            && peer == self as *const Peer as usize
        {
            // A proxy to this very connection goes home as the id the other
            // side gave it: no second hop.
            return WirePort {
                id,
                home: true,
                type_hash,
            };
        }
        let backlog = self.backlog_of(port);
        let id = self.export(|id| {
            Arc::new(ExportedPort {
                port: port.clone(),
                backlog,
                owed: Arc::new(Owed {
                    port: id,
                    bytes: AtomicU64::new(0),
                    told_closed: AtomicBool::new(false),
                }),
            })
        });
        WirePort {
            id,
            home: false,
            type_hash,
        }
    }

    /// The backlog shared by every export of `port`.
    fn backlog_of<T: Send + 'static>(&self, port: &SendPort<T>) -> Arc<Mutex<Backlog<T>>> {
        let mut backlogs = lock(&self.backlogs);
        if let Some(shared) = backlogs.get(&port.id()).and_then(Weak::upgrade)
            && let Ok(backlog) = shared.downcast::<Mutex<Backlog<T>>>()
        {
            return backlog;
        }
        let backlog: Arc<Mutex<Backlog<T>>> = Arc::default();
        let erased: Arc<dyn Any + Send + Sync> = backlog.clone();
        backlogs.insert(port.id(), Arc::downgrade(&erased));
        // Forgets the ports no export holds any more, at doubling sizes:
        // amortized O(1) per export.
        if backlogs.len() >= 64 && backlogs.len().is_power_of_two() {
            backlogs.retain(|_, backlog| backlog.strong_count() > 0);
        }
        backlog
    }

    pub(crate) fn export_reply<T>(&self, route: Route<T>) -> WirePort
    where
        T: DeserializeOwned + Send + 'static,
    {
        let id = self.export(|_| {
            Arc::new(ExportedReply {
                sender: Mutex::new(Some(ReplySender::with_route(route))),
            })
        });
        WirePort {
            id,
            home: false,
            type_hash: type_hash::<T>(),
        }
    }

    // --- imports --------------------------------------------------------

    pub(crate) fn import_port<T>(self: &Arc<Self>, wire: WirePort) -> Result<SendPort<T>, String>
    where
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        if wire.home {
            let entry = lock(&self.exports).get(&wire.id).cloned();
            let entry = entry
                .ok_or_else(|| format!("no port {} was sent to the other process", wire.id))?;
            return entry
                .as_any()
                .downcast_ref::<ExportedPort<T>>()
                .map(|exported| exported.port.clone())
                .ok_or_else(|| {
                    format!(
                        "the other process returned a port of another type where a \
                         `SendPort<{}>` was expected",
                        short_name::<T>()
                    )
                });
        }
        if wire.type_hash != type_hash::<T>() {
            return Err(format!(
                "the other process sent a port of another type where a `SendPort<{}>` was \
                 expected: are both programs built from the same source?",
                short_name::<T>()
            ));
        }
        let window = Arc::new(Window::default());
        {
            let mut imports = lock(&self.imports);
            // Each port is sent under a fresh id: one id twice would give
            // two proxies one entry, and the first could never be closed.
            if imports.contains_key(&wire.id) {
                return Err(format!(
                    "the other process sent its port {} a second time under the same id \
                     (a protocol error)",
                    wire.id
                ));
            }
            imports.insert(wire.id, window.clone());
        }
        if self.role == Role::Parent {
            self.add_user();
        }
        Ok(SendPort::from_inbox(Arc::new(Import::<T> {
            peer: self.clone(),
            id: wire.id,
            senders: AtomicUsize::new(1),
            window,
            _message: PhantomData,
        })))
    }

    /// Ends the connection's state: every export is dropped (failing the
    /// asks that wait on them), every proxy reads as closed, pending pings
    /// are dropped unanswered.
    fn shut(&self) {
        let exports = {
            let mut exports = lock(&self.exports);
            self.closed.store(true, Ordering::Release);
            std::mem::take(&mut *exports)
        };
        let imports = std::mem::take(&mut *lock(&self.imports));
        for window in imports.values() {
            window.close();
        }
        self.queued.room.notify_all();
        let pings = std::mem::take(&mut *lock(&self.pings));
        // Dropped outside the locks: a port's drop may come back here.
        drop((exports, imports, pings));
    }

    /// Handles one frame after the handshake; `false` to stop reading.
    fn dispatch(self: &Arc<Self>, frame: Frame<'_>) -> bool {
        match frame {
            Frame::Message {
                port,
                body,
                exports,
            } => {
                let cost = frame::message_cost(body, exports);
                let entry = lock(&self.exports).get(&port).cloned();
                let Some(entry) = entry else {
                    if !self.release(exports) {
                        return self.not_reading();
                    }
                    self.protocol_error(format!(
                        "a message came for port {port}, which is not exported"
                    ));
                    return true;
                };
                if entry.is_closed() {
                    // Quietly, without decoding: the port has closed. The
                    // proxy this came through hears so (once), and gets its
                    // credit back, so that its senders never wait on it.
                    entry.dropped_closed(self, cost);
                    return self.release(exports) || self.not_reading();
                }
                match entry.deliver(self, body, cost) {
                    Ok(Delivered::Kept) => {}
                    Ok(Delivered::Done) => {
                        let used = lock(&self.exports).remove(&port);
                        drop(used);
                    }
                    Err(Undelivered::Closed) => {
                        if !self.release(exports) {
                            return self.not_reading();
                        }
                    }
                    Err(Undelivered::Decode { error, done }) => {
                        if !self.release(exports) {
                            return self.not_reading();
                        }
                        if done {
                            let used = lock(&self.exports).remove(&port);
                            drop(used);
                        }
                        let error = RemoteError::new(RemoteErrorKind::Undeliverable, error);
                        // Both sides hear of it: the receiver here, and the
                        // sender, whose message never arrived.
                        let told = self.send_control(&Frame::Error {
                            code: ErrorCode::Undeliverable as u8,
                            text: error.message(),
                        });
                        self.report(error);
                        if !told {
                            return self.not_reading();
                        }
                    }
                }
            }
            Frame::Drop { port } => {
                let removed = lock(&self.exports).remove(&port);
                drop(removed);
            }
            Frame::Closed { port } => {
                if let Some(window) = lock(&self.imports).get(&port) {
                    window.close();
                    self.queued.room.notify_all();
                }
            }
            Frame::Credit { port, bytes } => {
                // Credit for a proxy dropped since is nobody's.
                if let Some(window) = lock(&self.imports).get(&port) {
                    window.release(bytes);
                    self.queued.room.notify_all();
                }
            }
            Frame::Ping(id) => {
                if !self.send_control(&Frame::Pong(id)) {
                    return self.not_reading();
                }
            }
            Frame::Pong(id) => {
                let listener = lock(&self.pings).remove(&id);
                if let Some(listener) = listener {
                    listener();
                }
            }
            Frame::Error { code, text } => {
                let kind = match code {
                    c if c == ErrorCode::Panicked as u8 => RemoteErrorKind::Panicked,
                    _ => RemoteErrorKind::Undeliverable,
                };
                self.report(RemoteError::new(kind, text));
            }
            Frame::Init(body) => {
                let _ = self.events.send(Event::Init(body.to_vec()));
            }
            Frame::Ready(body) => {
                let _ = self.events.send(Event::Ready(body.to_vec()));
            }
            Frame::Shutdown => {
                let _ = self.events.send(Event::Shutdown);
            }
            Frame::Hello(_) => {
                self.protocol_error("a second greeting arrived".into());
                return false;
            }
        }
        true
    }

    /// The other side sends but does not read what it is sent: reported,
    /// and `false`, so that the reader ends the connection.
    fn not_reading(&self) -> bool {
        if !self.is_closed() {
            self.protocol_error(format!(
                "it keeps sending but does not read what it is sent ({CONTROL_LIMIT} bytes of \
                 answers wait for it); the connection is closed"
            ));
        }
        false
    }

    fn protocol_error(&self, what: String) {
        self.report(RemoteError::new(
            RemoteErrorKind::Undeliverable,
            format!("protocol error from the other process: {what}"),
        ));
    }
}

/// A response to send when something happens (a pong, an exit).
pub(crate) type Notice = Box<dyn FnOnce() + Send>;

/// A notice that sends `response` to `port` with [`send_soon`].
pub(crate) fn notice<T: Send + 'static>(port: SendPort<T>, response: T) -> Notice {
    Box::new(move || send_soon(&port, response))
}

/// Sends without ever blocking the calling thread (a connection's reader,
/// a reaper): a message for a full bounded mailbox goes from a short-lived
/// thread of its own instead.
pub(crate) fn send_soon<T: Send + 'static>(port: &SendPort<T>, message: T) {
    if let Err(TrySendError::Full(message)) = port.try_send(message) {
        let port = port.clone();
        // With no thread to spare, the message is dropped, as if the port
        // were closed.
        let _ = std::thread::Builder::new()
            .name("isolate-process-notify".into())
            .spawn(move || {
                let _ = port.send(message);
            });
    }
}

/// The kinds of frame that carry an encoded value.
#[derive(Clone, Copy)]
pub(crate) enum Body {
    Init,
    Ready,
    /// A message for the other side's port.
    Message(u64),
}

/// An encoded frame, and the ids exported into it.
pub(crate) struct Encoded {
    pub(crate) bytes: Vec<u8>,
    exported: Vec<u64>,
}

/// The codes of `Error` frames.
#[repr(u8)]
pub(crate) enum ErrorCode {
    Panicked = 0,
    Undeliverable = 1,
}

fn write_loop(stream: UnixStream, queue: flume::Receiver<Out>, queued: &Queued) {
    let mut writer = BufWriter::with_capacity(64 << 10, &stream);
    'serve: while let Ok(first) = queue.recv() {
        let mut next = Some(first);
        // Writes everything queued, then flushes once: one system call for
        // a burst of small messages.
        while let Some(out) = next.take() {
            match out {
                Out::Frame(bytes) => {
                    if writer.write_all(&bytes).is_err() {
                        break 'serve;
                    }
                }
                Out::Control(bytes) => {
                    let written = writer.write_all(&bytes);
                    queued.control.fetch_sub(bytes.len(), Ordering::AcqRel);
                    if written.is_err() {
                        break 'serve;
                    }
                }
                Out::Message(bytes) => {
                    let written = writer.write_all(&bytes);
                    let before = queued.messages.fetch_sub(bytes.len(), Ordering::AcqRel);
                    if before >= QUEUED_LIMIT && before - bytes.len() < QUEUED_LIMIT {
                        queued.room.notify_all();
                    }
                    if written.is_err() {
                        break 'serve;
                    }
                }
                Out::Close => break 'serve,
            }
            next = queue.try_recv().ok();
        }
        if writer.flush().is_err() {
            break;
        }
    }
    let _ = writer.flush();
    drop(writer);
    let _ = stream.shutdown(Shutdown::Write);
}

fn read_loop(peer: Arc<Peer>, mut reader: FrameReader<UnixStream>) {
    let end = loop {
        match reader.next_frame() {
            Ok(Some(frame)) => {
                if !peer.dispatch(frame) {
                    break Some("the other process broke the protocol".to_owned());
                }
            }
            Ok(None) => break None,
            Err(FrameError::Io(error)) if error.kind() == std::io::ErrorKind::ConnectionReset => {
                break None;
            }
            Err(error) => {
                let text = error.to_string();
                peer.protocol_error(text.clone());
                break Some(text);
            }
        }
    };
    let _ = reader.get_ref().shutdown(Shutdown::Both);
    peer.shut();
    let _ = peer.events.send(Event::Closed(end));
}

// --- the serde context ----------------------------------------------------

/// Runs `f` with `peer` as the connection that ports are exported to and
/// imported from; returns what it exported too.
fn within<R>(peer: &Arc<Peer>, f: impl FnOnce() -> R) -> (R, Vec<u64>) {
    let scope = Scope::Peer {
        peer: peer.clone(),
        exported: Vec::new(),
    };
    match scope::within(scope, f) {
        (result, Scope::Peer { exported, .. }) => (result, exported),
        (result, Scope::Transport(_)) => (result, Vec::new()),
    }
}

/// The connection a port being (de)serialized crosses, if any.
pub(crate) fn current() -> Option<Arc<Peer>> {
    scope::with_innermost(|scope| match scope {
        Some(Scope::Peer { peer, .. }) => Some(peer.clone()),
        _ => None,
    })
}

/// A port as it crosses: the id its exporter gave it, and whether it is
/// going back to the process that exported it.
#[derive(Debug, Clone, Copy, serde::Serialize, serde::Deserialize)]
pub(crate) struct WirePort {
    id: u64,
    home: bool,
    type_hash: u64,
}

/// The fingerprint a port of `T` carries: the hash of `T`'s serde shape
/// (see `shape.rs`).
fn type_hash<T: DeserializeOwned + 'static>() -> u64 {
    super::shape::fingerprint::<T>()
}

fn short_name<T: ?Sized>() -> &'static str {
    std::any::type_name::<T>()
}

// --- exports ----------------------------------------------------------------

enum Delivered {
    /// The export stays (a port).
    Kept,
    /// The export was used up (a reply).
    Done,
}

enum Undelivered {
    /// The port's receiver is gone: the message is dropped.
    Closed,
    /// The body is not a message of the port's type; `done` when the
    /// export is used up all the same (a reply, which answers once).
    Decode { error: String, done: bool },
}

trait Export: Send + Sync {
    /// Delivers a message of `cost` bytes (its frame's, for the credit it
    /// returns) that came for this export.
    fn deliver(&self, peer: &Arc<Peer>, body: &[u8], cost: u64) -> Result<Delivered, Undelivered>;
    fn as_any(&self) -> &dyn Any;
    /// Whether the export's receiver is gone.
    fn is_closed(&self) -> bool {
        false
    }

    /// A message of `cost` bytes came for a closed export and was dropped.
    fn dropped_closed(&self, _peer: &Peer, _cost: u64) {}
}

struct ExportedPort<T: Send + 'static> {
    port: SendPort<T>,
    backlog: Arc<Mutex<Backlog<T>>>,
    /// The credit this export owes the other side's proxy.
    owed: Arc<Owed>,
}

/// The bytes of messages one export has taken (delivered or dropped) and
/// not yet credited back: returned in a `Credit` frame once they reach
/// [`frame::GRANT`]. Shared with the backlog, whose thread takes messages
/// too.
struct Owed {
    /// The export's id, which names its proxy on the other side.
    port: u64,
    bytes: AtomicU64,
    /// Whether the other side has been told that the port closed.
    told_closed: AtomicBool,
}

impl Owed {
    /// Counts `cost` bytes taken; credits them back once enough are owed.
    /// The reader and a backlog's thread may both call it: whichever
    /// empties the count sends what it took, the other sends nothing.
    fn took(&self, peer: &Peer, cost: u64) {
        if self.bytes.fetch_add(cost, Ordering::AcqRel) + cost >= frame::GRANT {
            let bytes = self.bytes.swap(0, Ordering::AcqRel);
            if bytes > 0 {
                peer.send_credit(self.port, bytes);
            }
        }
    }

    /// A message of `cost` bytes was dropped because the port's receiver is
    /// gone: credited, and this export's proxy is told the port closed
    /// (once). Every export of a port shares its backlog, so each one that
    /// a message comes through is told in its turn: a proxy that is never
    /// told would fill its window and wait for credit that cannot come.
    fn closed(&self, peer: &Peer, cost: u64) {
        self.took(peer, cost);
        if !self.told_closed.swap(true, Ordering::AcqRel) {
            peer.close_export(self.port);
        }
    }
}

/// Messages for a full bounded mailbox, waiting their turn in order.
///
/// The reader thread never waits for room: it serves every port of the
/// connection, and replies and pongs must not queue behind a busy isolate.
/// A full mailbox gets a backlog and a thread that feeds it in order, for
/// as long as the backlog lasts.
struct Backlog<T> {
    /// Each message with its cost and the export it came through, which is
    /// owed its credit once the message is in the mailbox.
    queue: std::collections::VecDeque<(T, u64, Arc<Owed>)>,
    draining: bool,
    /// The port's receiver is gone: messages are dropped.
    closed: bool,
}

impl<T> Default for Backlog<T> {
    fn default() -> Self {
        Backlog {
            queue: std::collections::VecDeque::new(),
            draining: false,
            closed: false,
        }
    }
}

impl<T: DeserializeOwned + Send + 'static> Export for ExportedPort<T> {
    fn is_closed(&self) -> bool {
        lock(&self.backlog).closed
    }

    fn dropped_closed(&self, peer: &Peer, cost: u64) {
        self.owed.closed(peer, cost);
    }

    fn deliver(&self, peer: &Arc<Peer>, body: &[u8], cost: u64) -> Result<Delivered, Undelivered> {
        let message = match peer.decode::<T>(body) {
            Ok(message) => message,
            Err(error) => {
                // Taken, if not delivered: the sender's window must not
                // shrink by what could never be delivered.
                self.owed.took(peer, cost);
                return Err(Undelivered::Decode { error, done: false });
            }
        };
        {
            let mut backlog = lock(&self.backlog);
            if backlog.closed {
                drop(backlog);
                drop(message);
                self.owed.closed(peer, cost);
                return Err(Undelivered::Closed);
            }
            if backlog.draining {
                backlog.queue.push_back((message, cost, self.owed.clone()));
                return Ok(Delivered::Kept);
            }
        }
        // Only this (the reader) thread starts a drain, so the backlog is
        // still empty here.
        match self.port.try_send(message) {
            Ok(()) => {
                self.owed.took(peer, cost);
                Ok(Delivered::Kept)
            }
            Err(TrySendError::Closed(message)) => {
                lock(&self.backlog).closed = true;
                drop(message);
                self.owed.closed(peer, cost);
                Err(Undelivered::Closed)
            }
            Err(TrySendError::Undeliverable(message)) => {
                // A port to a third process that could not encode it: that
                // connection has reported why.
                drop(message);
                self.owed.took(peer, cost);
                Ok(Delivered::Kept)
            }
            Err(TrySendError::Full(message)) => {
                {
                    let mut backlog = lock(&self.backlog);
                    backlog.queue.push_back((message, cost, self.owed.clone()));
                    backlog.draining = true;
                }
                let (port, backlog, drainer_peer) =
                    (self.port.clone(), self.backlog.clone(), peer.clone());
                let spawned = std::thread::Builder::new()
                    .name("isolate-process-backlog".into())
                    .spawn(move || drain(&port, &backlog, &drainer_peer));
                if spawned.is_err() {
                    // No thread to spare: drain here, stalling the reader.
                    drain(&self.port, &self.backlog, peer);
                }
                Ok(Delivered::Kept)
            }
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// Feeds a backlog to its full mailbox, waiting for room, in order; each
/// message's credit goes back once it is in.
fn drain<T: Send + 'static>(port: &SendPort<T>, backlog: &Mutex<Backlog<T>>, peer: &Arc<Peer>) {
    loop {
        let (next, cost, owed) = {
            let mut backlog = lock(backlog);
            match backlog.queue.pop_front() {
                Some(next) => next,
                None => {
                    backlog.draining = false;
                    return;
                }
            }
        };
        let sent = port.send(next);
        if let Err(error) = sent {
            if let SendError::Undeliverable(_) = error {
                owed.took(peer, cost);
                continue;
            }
            let dropped = {
                let mut backlog = lock(backlog);
                backlog.closed = true;
                backlog.draining = false;
                std::mem::take(&mut backlog.queue)
            };
            drop(error);
            owed.closed(peer, cost);
            // What waited behind it is dropped too; each proxy it came
            // through gets its credit and hears that the port closed.
            for (message, cost, owed) in dropped {
                drop(message);
                owed.closed(peer, cost);
            }
            return;
        }
        owed.took(peer, cost);
    }
}

struct ExportedReply<T> {
    sender: Mutex<Option<ReplySender<T>>>,
}

impl<T: DeserializeOwned + Send + 'static> Export for ExportedReply<T> {
    fn deliver(&self, peer: &Arc<Peer>, body: &[u8], _cost: u64) -> Result<Delivered, Undelivered> {
        // No credit: a reply is one message, and its proxy goes with it.
        let value = match peer.decode::<T>(body) {
            Ok(value) => value,
            Err(error) => {
                // The asker hears it now, not at its wait's timeout: no
                // other answer will come.
                if let Some(sender) = lock(&self.sender).take() {
                    sender.fail(crate::ReplyError::Undeliverable);
                }
                return Err(Undelivered::Decode { error, done: true });
            }
        };
        if let Some(sender) = lock(&self.sender).take() {
            sender.send(value);
        }
        Ok(Delivered::Done)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

// --- imports ----------------------------------------------------------------

/// What an imported port's proxy shares with the connection's reader:
/// whether the exporter closed the port, and its flow-control window.
///
/// Every message to the port (tell or ask) counts its frame's bytes here
/// until the receiver has taken it (put it in the mailbox, or dropped it)
/// and said so with a `Credit`. While [`frame::WINDOW`] bytes or more are
/// on their way, the port is full: senders wait as for a full bounded
/// mailbox. So a receiver that reads nothing, or whose bounded mailbox
/// stays full, holds its senders back instead of growing either process.
///
/// Its senders wait in the connection's room (`Queued::room`), which its
/// credit and its closing wake.
#[derive(Default)]
struct Window {
    closed: AtomicBool,
    /// Bytes sent and not yet credited back.
    in_flight: AtomicU64,
}

impl Window {
    fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    fn is_full(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) >= frame::WINDOW
    }

    /// Counts a message on its way. Checked against the window before the
    /// message is encoded, and counted after: senders racing past a check
    /// overshoot the window by at most one message each, and no encoding is
    /// wasted on a full port.
    fn sent(&self, bytes: u64) {
        self.in_flight.fetch_add(bytes, Ordering::AcqRel);
    }

    /// Credit from the receiver (or a message that never left); the
    /// caller wakes the senders. More credit than was taken is the other
    /// side's mistake, and is capped rather than wrapped (and the writer's
    /// own bound, `QUEUED_LIMIT`, still holds).
    fn release(&self, bytes: u64) {
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
                Some(n.saturating_sub(bytes))
            });
    }

    /// The port has closed, or the connection; the caller wakes the
    /// senders, to find it so.
    fn close(&self) {
        self.closed.store(true, Ordering::Release);
    }
}

/// The mailbox of a port in another process, as a `SendPort` here sees it.
struct Import<T> {
    peer: Arc<Peer>,
    id: u64,
    senders: AtomicUsize,
    window: Arc<Window>,
    _message: PhantomData<fn(T)>,
}

impl<T: Serialize + Send + 'static> Import<T> {
    fn push_message(&self, message: T) -> Result<(), TrySendError<T>> {
        if self.window.is_closed() || self.peer.is_closed() {
            return Err(TrySendError::Closed(message));
        }
        if self.window.is_full() || self.peer.is_backed_up() {
            return Err(TrySendError::Full(message));
        }
        match self.peer.encode(&message, Body::Message(self.id)) {
            Ok(encoded) => {
                let cost = encoded.bytes.len() as u64;
                self.window.sent(cost);
                self.peer.send_encoded(encoded, message).map_err(|message| {
                    self.window.release(cost);
                    self.peer.queued.room.notify_all();
                    TrySendError::Closed(message)
                })
            }
            Err(error) => {
                self.peer
                    .report(RemoteError::new(RemoteErrorKind::Undeliverable, error));
                Err(TrySendError::Undeliverable(message))
            }
        }
    }
}

impl<T: Serialize + Send + 'static> Inbox<T> for Import<T> {
    fn push(&self, message: T) -> Result<bool, TrySendError<T>> {
        self.push_message(message).map(|()| false)
    }

    fn listen(&self) -> Option<RoomListener<'_, T>> {
        Some(RoomListener::detached(self.peer.queued.room.listen()))
    }

    fn schedule(self: Arc<Self>) {}

    fn add_sender(&self) {
        self.senders.fetch_add(1, Ordering::Relaxed);
    }

    fn remove_sender(&self) -> bool {
        if self.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            lock(&self.peer.imports).remove(&self.id);
            self.peer.send_frame(&Frame::Drop { port: self.id });
            if self.peer.role == Role::Parent {
                self.peer.release_user();
            }
        }
        false
    }

    fn is_closed(&self) -> bool {
        self.window.is_closed() || self.peer.is_closed()
    }

    fn isolate_id(&self) -> Option<u64> {
        None
    }

    fn note_registered(&self, _name: Arc<str>) {}

    fn remote(&self) -> Option<(usize, u64)> {
        Some((Arc::as_ptr(&self.peer) as usize, self.id))
    }
}

/// The far end of an ask from another process: a one-shot proxy, answered
/// on the handler's own thread (no extra hop).
struct ImportedReply<T: Send + 'static> {
    port: SendPort<T>,
}

impl<T: Send + 'static> RemoteReply<T> for ImportedReply<T> {
    fn send(self: Box<Self>, value: T) {
        let _ = self.port.send(value);
    }

    fn is_closed(&self) -> bool {
        self.port.is_closed()
    }
}

pub(crate) fn import_reply<T>(peer: &Arc<Peer>, wire: WirePort) -> Result<ReplySender<T>, String>
where
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let port = peer.import_port::<T>(wire)?;
    Ok(ReplySender::with_route(Route::Remote(Box::new(Box::new(
        ImportedReply { port },
    )))))
}
