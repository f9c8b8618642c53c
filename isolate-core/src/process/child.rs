//! The parent's side: starting a child, and the [`ProcessIsolate`] that
//! controls it.

use std::fmt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::frame::{Frame, FrameError};
use super::peer::{Body, Event, Notice, Peer, Role, notice};
use super::{Greeting, ProcessExit, ProcessOptions, SOCKET_ENV, SpawnUriError};
use crate::control::Priority;
use crate::error::{RemoteError, RemoteErrorKind};
use crate::port::SendPort;
use crate::reply::{Reply, ReplySender};
use crate::sendable::Sendable;

/// An isolate group in a child process, from
/// [`IsolateGroup::spawn_uri`](crate::IsolateGroup::spawn_uri): what the
/// child's entry function returned ([`port`](Self::port)), and the child's
/// controls.
///
/// The child serves while this handle or any port into the child is alive;
/// when the last goes, the child is asked to end (and killed after
/// [`ProcessOptions::kill_grace`] if it does not). Unlike an in-process
/// isolate, it cannot be paused: a process is one unit.
pub struct ProcessIsolate<P> {
    port: P,
    child: Arc<ChildProcess>,
}

/// The child as the reaper thread and every handle see it.
struct ChildProcess {
    program: String,
    pid: u32,
    peer: Arc<Peer>,
    process: Mutex<Child>,
    /// Set once the parent kills it, so that a SIGKILL reads as `Killed`.
    killed: AtomicBool,
    exit: Mutex<Exit>,
    /// Wakes the reaper for a kill.
    kills: flume::Sender<Event>,
}

#[derive(Default)]
struct Exit {
    status: Option<ProcessExit>,
    listeners: Vec<Notice>,
    waiters: Vec<ReplySender<ProcessExit>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Starts `command` as a child that serves an isolate group, and hands it
/// `message`.
pub(crate) fn spawn<M, P>(
    mut command: Command,
    message: M,
    options: &ProcessOptions,
) -> Result<ProcessIsolate<P>, SpawnUriError>
where
    M: Sendable + Serialize + DeserializeOwned,
    P: DeserializeOwned + Send + 'static,
{
    let program = command.get_program().to_string_lossy().into_owned();
    let deadline = Instant::now() + options.handshake_timeout;
    let socket = Socket::bind().map_err(SpawnUriError::Io)?;
    command.env(SOCKET_ENV, &socket.path).stdin(Stdio::null());
    let process = command.spawn().map_err(|source| SpawnUriError::Start {
        program: program.clone(),
        source,
    })?;
    let mut starting = Starting {
        program,
        process: Some(process),
        timeout: options.handshake_timeout,
    };

    let stream = starting.accept(&socket, deadline)?;
    drop(socket);
    let ours = Greeting::ours::<M, P>(options.max_frame);
    let theirs = starting.greet(&stream, &ours, deadline)?;
    if let Err(mismatch) = ours.check(&theirs) {
        return Err(starting.fail(SpawnUriError::Mismatch(mismatch)));
    }

    let (events, events_rx) = flume::unbounded();
    let peer = Peer::start(
        Role::Parent,
        stream,
        options.max_frame,
        theirs.max_frame,
        events.clone(),
    )
    .map_err(|error| starting.fail(SpawnUriError::Io(error)))?;
    // The handle counts as a user from the start, so that dropping the
    // proxies in a failed start does not end a child still starting.
    peer.add_user();
    let mut errors = StartErrors::listen(&peer);

    let init = peer
        .encode(&message, Body::Init)
        .map_err(|error| starting.fail(SpawnUriError::Encode(error)))?;
    let _ = peer.send_encoded(init, message);

    let ready = loop {
        let now = Instant::now();
        match events_rx.recv_timeout(deadline.saturating_duration_since(now)) {
            Ok(Event::Ready(body)) => break body,
            Ok(Event::Closed(reason)) => {
                let error = errors.last().or(reason);
                let exit = starting.reap();
                return Err(SpawnUriError::Exited {
                    program: starting.program.clone(),
                    exit,
                    error,
                });
            }
            Ok(_) => continue,
            Err(_) => {
                peer.close();
                return Err(starting.fail(SpawnUriError::Timeout {
                    program: starting.program.clone(),
                    after: options.handshake_timeout,
                }));
            }
        }
    };
    let port = match peer.decode::<P>(&ready) {
        Ok(port) => port,
        Err(error) => {
            peer.close();
            return Err(starting.fail(SpawnUriError::Decode(error)));
        }
    };
    errors.stop(&peer);

    let process = starting.process.take().expect("the child is still ours");
    let child = Arc::new(ChildProcess {
        program: starting.program.clone(),
        pid: process.id(),
        peer,
        process: Mutex::new(process),
        killed: AtomicBool::new(false),
        exit: Mutex::default(),
        kills: events,
    });
    let reaper = child.clone();
    let grace = options.kill_grace;
    if let Err(error) = std::thread::Builder::new()
        .name("isolate-process-reaper".into())
        .spawn(move || reaper.reap(events_rx, grace))
    {
        // Nobody would reap the child: end it here.
        child.kill_now();
        let _ = lock(&child.process).wait();
        return Err(SpawnUriError::Io(error));
    }
    Ok(ProcessIsolate { port, child })
}

/// A listening socket in the temporary directory, removed when dropped.
struct Socket {
    listener: UnixListener,
    path: PathBuf,
}

impl Socket {
    fn bind() -> std::io::Result<Socket> {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.subsec_nanos());
        let name = format!(
            "isolate-{}-{}-{nanos}.sock",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        let listener = UnixListener::bind(&path)?;
        listener.set_nonblocking(true)?;
        Ok(Socket { listener, path })
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// A child not yet handed to a `ProcessIsolate`: on any failure it is
/// killed and reaped.
struct Starting {
    program: String,
    process: Option<Child>,
    timeout: Duration,
}

impl Starting {
    /// Waits for the child to connect, watching for it to exit instead.
    fn accept(&mut self, socket: &Socket, deadline: Instant) -> Result<UnixStream, SpawnUriError> {
        let mut pause = Duration::from_micros(100);
        loop {
            match socket.listener.accept() {
                Ok((stream, _)) => {
                    stream.set_nonblocking(false).map_err(SpawnUriError::Io)?;
                    return Ok(stream);
                }
                Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(self.fail(SpawnUriError::Io(error))),
            }
            if let Some(process) = &mut self.process
                && let Ok(Some(status)) = process.try_wait()
            {
                self.process = None;
                return Err(SpawnUriError::Exited {
                    program: self.program.clone(),
                    exit: ProcessExit::from_status(status, false),
                    error: None,
                });
            }
            if Instant::now() >= deadline {
                return Err(self.fail(SpawnUriError::Timeout {
                    program: self.program.clone(),
                    after: self.timeout,
                }));
            }
            // Polling, since a listener cannot wait for a child's exit too;
            // a start takes milliseconds, so the pauses stay short.
            std::thread::sleep(pause);
            pause = (pause * 2).min(Duration::from_millis(10));
        }
    }

    /// Exchanges greetings: ours first, then theirs.
    fn greet(
        &mut self,
        stream: &UnixStream,
        ours: &Greeting,
        deadline: Instant,
    ) -> Result<Greeting, SpawnUriError> {
        use std::io::Write;
        let left = deadline.saturating_duration_since(Instant::now());
        let result = (|| {
            stream
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .map_err(FrameError::Io)?;
            (&*stream)
                .write_all(&ours.encode())
                .map_err(FrameError::Io)?;
            let theirs = Greeting::read(stream)?;
            stream.set_read_timeout(None).map_err(FrameError::Io)?;
            Ok(theirs)
        })();
        result.map_err(|error| match error {
            FrameError::Io(error)
                if matches!(
                    error.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                self.fail(SpawnUriError::Timeout {
                    program: self.program.clone(),
                    after: self.timeout,
                })
            }
            error => self.fail(SpawnUriError::Protocol(error)),
        })
    }

    /// Kills and reaps the child, and returns `error`.
    fn fail(&mut self, error: SpawnUriError) -> SpawnUriError {
        self.abandon();
        error
    }

    fn abandon(&mut self) {
        if let Some(mut process) = self.process.take() {
            let _ = process.kill();
            let _ = process.wait();
        }
    }

    /// Reaps a child that closed the connection during the start: it is
    /// exiting; give it a moment, then make sure.
    fn reap(&mut self) -> ProcessExit {
        let Some(mut process) = self.process.take() else {
            return ProcessExit::Killed;
        };
        match wait_until(&mut process, Instant::now() + Duration::from_secs(2)) {
            Some(status) => ProcessExit::from_status(status, false),
            None => {
                let _ = process.kill();
                let _ = process.wait();
                ProcessExit::Killed
            }
        }
    }
}

impl Drop for Starting {
    /// On every early return (and a panic), no child is left behind.
    fn drop(&mut self) {
        self.abandon();
    }
}

/// Polls a child for its exit until `deadline`.
fn wait_until(process: &mut Child, deadline: Instant) -> Option<std::process::ExitStatus> {
    let mut pause = Duration::from_micros(100);
    loop {
        if let Ok(Some(status)) = process.try_wait() {
            return Some(status);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    }
}

/// Collects the errors the child reports while it starts, to explain a
/// failed start.
struct StartErrors {
    port: crate::port::ReceivePort<RemoteError>,
    send_port: SendPort<RemoteError>,
}

impl StartErrors {
    fn listen(peer: &Peer) -> Self {
        let port = crate::port::ReceivePort::new();
        let send_port = port.send_port();
        peer.add_error_listener(send_port.clone());
        StartErrors { port, send_port }
    }

    fn last(&mut self) -> Option<String> {
        let mut last = None;
        while let Ok(error) = self.port.try_recv() {
            last = Some(error.message().to_owned());
        }
        last
    }

    fn stop(self, peer: &Peer) {
        peer.remove_error_listener(&self.send_port);
    }
}

impl ChildProcess {
    /// The reaper thread: waits for the connection to close (or a kill),
    /// makes sure the process ends, reaps it, and tells the listeners.
    fn reap(self: Arc<Self>, events: flume::Receiver<Event>, grace: Duration) {
        /// How often a quiet reaper looks at the process itself, so that an
        /// exit is seen even if the connection's end is not.
        const LOOK: Duration = Duration::from_millis(250);
        let mut kill_at: Option<Instant> = None;
        let mut exited = None;
        loop {
            let wake = kill_at.map_or(Instant::now() + LOOK, |at| at.min(Instant::now() + LOOK));
            let event = match events.recv_deadline(wake) {
                Ok(event) => Some(event),
                Err(flume::RecvTimeoutError::Disconnected) => None,
                Err(flume::RecvTimeoutError::Timeout) => {
                    if let Ok(Some(status)) = lock(&self.process).try_wait() {
                        exited = Some(status);
                        break;
                    }
                    match kill_at {
                        Some(at) if Instant::now() >= at => Some(Event::Kill(Priority::Immediate)),
                        _ => continue,
                    }
                }
            };
            match event {
                Some(Event::Kill(Priority::Immediate)) => {
                    // Reaped at once: the end of the connection may come
                    // later than the end of the process.
                    self.kill_now();
                    break;
                }
                Some(Event::Kill(Priority::BeforeNextEvent)) => {
                    self.peer.send_frame(&Frame::Shutdown);
                    self.peer.close();
                    kill_at.get_or_insert(Instant::now() + grace);
                }
                Some(Event::Closed(_)) | None => break,
                Some(_) => {}
            }
        }
        // The connection is closed (or the process is gone): the child is
        // exiting, or must.
        let status = exited.or_else(|| {
            let mut process = lock(&self.process);
            match wait_until(&mut process, Instant::now() + grace) {
                Some(status) => Some(status),
                None => {
                    self.killed.store(true, Ordering::Release);
                    let _ = process.kill();
                    process.wait().ok()
                }
            }
        });
        let exit = status.map_or(ProcessExit::Killed, |status| {
            ProcessExit::from_status(status, self.killed.load(Ordering::Acquire))
        });
        if !exit.is_clean() {
            self.peer.report(RemoteError::new(
                RemoteErrorKind::Exited,
                format!("`{}` (pid {}) {exit}", self.program, self.pid),
            ));
        }
        let (listeners, waiters) = {
            let mut state = lock(&self.exit);
            state.status = Some(exit);
            (
                std::mem::take(&mut state.listeners),
                std::mem::take(&mut state.waiters),
            )
        };
        for waiter in waiters {
            waiter.send(exit);
        }
        for listener in listeners {
            listener();
        }
    }

    fn kill_now(&self) {
        self.killed.store(true, Ordering::Release);
        let _ = lock(&self.process).kill();
    }
}

impl<P> ProcessIsolate<P> {
    /// What the child's entry function returned: usually a port into the
    /// child.
    pub fn port(&self) -> &P {
        &self.port
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.pid
    }

    /// Ends the child. [`Priority::Immediate`] kills the process at once
    /// (SIGKILL); [`Priority::BeforeNextEvent`] asks it to end (its `serve`
    /// returns after the message in hand) and kills it if it has not ended
    /// after [`ProcessOptions::kill_grace`]. Either way the child is reaped,
    /// its pending asks fail, and its exit listeners are told. Returns at
    /// once; [`exited`](Self::exited) waits for the end.
    pub fn kill(&self, priority: Priority) {
        let _ = self.child.kills.send(Event::Kill(priority));
    }

    /// Asks the child to send `response` to `port` (Dart's `ping`): a probe
    /// of the child process and its connection. A child that has ended
    /// sends nothing.
    pub fn ping<T: Sendable>(&self, port: SendPort<T>, response: T) {
        self.child.peer.ping(notice(port, response));
    }

    /// Sends `response` to `port` when the child ends, however it ends. A
    /// listener added after the end is told at once.
    pub fn add_on_exit_listener<T: Sendable>(&self, port: SendPort<T>, response: T) {
        let listener = notice(port, response);
        let mut state = lock(&self.child.exit);
        if state.status.is_some() {
            drop(state);
            listener();
        } else {
            state.listeners.push(listener);
        }
    }

    /// Sends the child's errors to `port`: its panics (with their
    /// messages), messages lost between the processes, and an exit other
    /// than a clean one ([`RemoteErrorKind::Exited`]). Without a listener,
    /// they are printed on stderr.
    pub fn add_error_listener(&self, port: SendPort<RemoteError>) {
        self.child.peer.add_error_listener(port);
    }

    /// Removes the error listener `port`, if registered.
    pub fn remove_error_listener(&self, port: &SendPort<RemoteError>) {
        self.child.peer.remove_error_listener(port);
    }

    /// How the child ended, if it has.
    pub fn exit_status(&self) -> Option<ProcessExit> {
        lock(&self.child.exit).status
    }

    /// The child's end, to [`wait`](Reply::wait) for or `.await`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # use isolate_core::prelude::*;
    /// # let group = IsolateGroup::new();
    /// let child: ProcessIsolate<SendPort<String>> = group.spawn_uri("./worker", [""; 0], ())?;
    /// child.kill(Priority::Immediate);
    /// assert_eq!(child.exited().wait()?, isolate_core::process::ProcessExit::Killed);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn exited(&self) -> Reply<ProcessExit> {
        let (sender, reply) = Reply::channel();
        let mut state = lock(&self.child.exit);
        match state.status {
            Some(exit) => sender.send(exit),
            None => state.waiters.push(sender),
        }
        reply
    }
}

impl<P> Drop for ProcessIsolate<P> {
    fn drop(&mut self) {
        self.child.peer.release_user();
    }
}

impl<P> fmt::Debug for ProcessIsolate<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessIsolate")
            .field("program", &self.child.program)
            .field("pid", &self.child.pid)
            .field("exit", &self.exit_status())
            .finish()
    }
}
