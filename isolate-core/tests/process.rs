//! Isolate groups in child processes. The child is this very test binary,
//! run again with `ISOLATE_TEST_CHILD` naming what to do (see `child`), so
//! every child is built by the test harness itself.
#![cfg(all(unix, feature = "process"))]

mod common;

use std::io::{BufRead, Read, Write};
use std::os::unix::net::UnixStream;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::process::frame::{Frame, FrameReader, Hello, Ids, PROTOCOL_VERSION};
use isolate_core::process::{
    self, Mismatch, ProcessExit, ProcessOptions, ServeError, SpawnUriError,
};
use isolate_core::{RecvTimeoutError, RemoteErrorKind, SendTimeoutError, SpawnOptions};
use serde::{Deserialize, Serialize};

const MODE: &str = "ISOLATE_TEST_CHILD";

/// The parent's initial message to a `calc` child.
#[message]
#[derive(Serialize, Deserialize)]
struct Init {
    hello: SendPort<String>,
    start: u64,
}

/// The isolate the `calc` child serves.
#[isolate]
struct Calc {
    total: u64,
}

#[isolate(remote)]
impl Calc {
    #[message]
    fn add(&mut self, n: u64) {
        self.total += n;
    }

    #[message]
    fn total(&self) -> u64 {
        self.total
    }

    #[message]
    fn square(&self, n: u64) -> u64 {
        n * n
    }

    /// A `Shared` crosses as a copy.
    #[message]
    fn sum(&self, numbers: Shared<Vec<u64>>) -> u64 {
        numbers.iter().sum()
    }

    /// A port of the parent's, used from the child.
    #[message]
    fn report_to(&self, port: SendPort<u64>) {
        port.send(self.total).unwrap();
    }

    /// A port goes back to the process it came from.
    #[message]
    fn echo_port(&self, port: SendPort<u64>) -> SendPort<u64> {
        port
    }

    /// A port to a new isolate in the child's group.
    #[message]
    fn spawn_helper(&self, total: u64) -> CalcPort {
        IsolateGroup::current()
            .expect("in an isolate")
            .spawn(Calc { total })
    }

    /// An ask from the child to an isolate in the parent.
    #[message]
    async fn ask_parent(&self, doubler: DoublerPort, n: u64) -> u64 {
        doubler.double(n).await.unwrap_or(0)
    }

    #[message]
    fn len(&self, bytes: Vec<u8>) -> usize {
        bytes.len()
    }

    #[message]
    fn panic_now(&self, why: String) {
        panic!("{why}");
    }

    #[message]
    fn exit_with(&self, code: i32) {
        std::process::exit(code);
    }

    /// A crash: the process ends by a signal (SIGABRT).
    #[message]
    fn abort(&self) {
        std::process::abort();
    }

    /// Never answers.
    #[message]
    async fn hang(&self, started: SendPort<()>) -> u64 {
        started.send(()).unwrap();
        std::future::pending::<u64>().await
    }
}

/// A number that refuses to decode when it is 0: a message whose body is
/// bad after the sender's checks.
#[message]
#[derive(Serialize, Deserialize, Clone, Copy)]
#[serde(try_from = "u8", into = "u8")]
struct Strict(u8);

impl TryFrom<u8> for Strict {
    type Error = &'static str;
    fn try_from(n: u8) -> Result<Self, Self::Error> {
        if n == 0 {
            Err("zero is refused")
        } else {
            Ok(Strict(n))
        }
    }
}

impl From<Strict> for u8 {
    fn from(strict: Strict) -> u8 {
        strict.0
    }
}

#[isolate]
struct Checker;

#[isolate(remote)]
impl Checker {
    #[message]
    fn check(&self, n: Strict) -> u64 {
        u64::from(n.0) * 10
    }

    /// Answers a `Strict` that the asker cannot decode when `n` is 0.
    #[message]
    fn strict(&self, n: u8) -> Strict {
        Strict(n)
    }
}

/// An isolate in the parent with a mailbox of one, stuck on its first
/// message: what a child floods.
#[isolate]
struct Stuck;

#[isolate(remote)]
impl Stuck {
    #[message]
    async fn hit(&mut self, n: u64) {
        if n == 0 {
            std::future::pending::<()>().await;
        }
    }
}

/// An isolate in the parent whose first message waits until the test
/// answers the ask it sends to `opener`: with a mailbox of one, what a
/// child's stream of tells backs up behind.
#[isolate]
struct Gate {
    opener: Option<SendPort<ReplySender<()>>>,
    seen: Vec<u64>,
}

#[isolate(remote)]
impl Gate {
    #[message]
    async fn put(&mut self, n: u64, bytes: Vec<u8>) {
        if let Some(opener) = self.opener.take() {
            let _ = opener.ask(|open| open).await;
        }
        assert_eq!(bytes.len(), 64 << 10);
        self.seen.push(n);
    }

    #[message]
    fn seen(&self) -> Vec<u64> {
        self.seen.clone()
    }
}

/// An isolate in the parent that records what reaches it, in order.
#[isolate]
#[derive(Default)]
struct Recorder {
    seen: Vec<u64>,
}

#[isolate(remote)]
impl Recorder {
    #[message]
    fn record(&mut self, n: u64) {
        self.seen.push(n);
    }

    #[message]
    fn seen(&self) -> Vec<u64> {
        self.seen.clone()
    }
}

/// An isolate in the parent that the child asks.
#[isolate]
struct Doubler;

#[isolate(remote)]
impl Doubler {
    #[message]
    fn double(&self, n: u64) -> u64 {
        2 * n
    }
}

/// This test binary as a child, in `mode`. Its output is dropped unless
/// `ISOLATE_TEST_VERBOSE` is set.
fn command(mode: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["child", "--exact", "--nocapture", "--test-threads=1", "-q"])
        .env(MODE, mode);
    if std::env::var_os("ISOLATE_TEST_VERBOSE").is_none() {
        command.stdout(Stdio::null()).stderr(Stdio::null());
    }
    command
}

fn options() -> ProcessOptions {
    ProcessOptions::new().handshake_timeout(PATIENCE)
}

/// A child that ignores every request to end, with 200 ms of grace.
fn stubborn(group: &IsolateGroup) -> ProcessIsolate<()> {
    let options = options().kill_grace(Duration::from_millis(200));
    let never = ReceivePort::<u64>::new();
    group
        .spawn_uri_with(command("stubborn"), never.send_port(), &options)
        .unwrap()
}

/// An initial message for a `calc` child, and the port its greeting comes to.
fn init(start: u64) -> (ReceivePort<String>, Init) {
    let hello = ReceivePort::new();
    let init = Init {
        hello: hello.send_port(),
        start,
    };
    (hello, init)
}

/// A `calc` child, and the greeting it sent.
fn calc(group: &IsolateGroup) -> (ProcessIsolate<CalcPort>, String) {
    let (mut hello, init) = init(10);
    let child = group
        .spawn_uri_with(command("calc"), init, &options())
        .unwrap();
    let greeting = hello.recv_timeout(PATIENCE).unwrap();
    (child, greeting)
}

fn errors_of<P>(child: &ProcessIsolate<P>) -> ReceivePort<RemoteError> {
    let errors = ReceivePort::new();
    child.add_error_listener(errors.send_port());
    errors
}

/// Whether process `pid` is gone (or a zombie waiting for a reaper that is
/// not us).
fn gone(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/status")) {
        Err(_) => true,
        Ok(status) => status.lines().any(|line| line.starts_with("State:\tZ")),
    }
}

/// The entry point of every child.
#[test]
fn child() {
    let Ok(mode) = std::env::var(MODE) else {
        // Run by hand, `serve` says it has no parent instead of waiting.
        let error = process::serve(|_: &IsolateGroup, (): ()| ()).unwrap_err();
        assert!(matches!(error, ServeError::NotSpawned), "{error}");
        assert!(error.to_string().contains("spawn_uri"));
        return;
    };
    match mode.as_str() {
        "calc" => {
            let served = process::serve(|group: &IsolateGroup, init: Init| {
                let pid = std::process::id();
                init.hello.send(format!("child {pid} ready")).unwrap();
                group.spawn(Calc { total: init.start })
            });
            match served {
                Ok(()) | Err(ServeError::ParentGone) => {}
                Err(error) => panic!("{error}"),
            }
        }
        "entry_panics" => {
            let _ = process::serve(|_: &IsolateGroup, _: Init| -> CalcPort {
                panic!("no config file")
            });
        }
        "wrong_type" => {
            let _ = process::serve(|group: &IsolateGroup, _: u32| group.spawn(Calc { total: 0 }));
        }
        "closed_port" => {
            let _ = process::serve(|_: &IsolateGroup, (): ()| {
                // The receive port is dropped at once: the port is closed.
                ReceivePort::<(u8, ReplySender<u64>)>::new().send_port()
            });
        }
        "checker" => {
            let _ = process::serve(|group: &IsolateGroup, (): ()| group.spawn(Checker));
        }
        "flood" => {
            let _ = process::serve(|_: &IsolateGroup, stuck: StuckPort| {
                for n in 0..5 {
                    stuck.hit(n).unwrap();
                }
            });
        }
        "two_proxies" => {
            let _ = process::serve(|_: &IsolateGroup, (a, b): (RecorderPort, RecorderPort)| {
                for n in 1..=5 {
                    a.record(n).unwrap();
                }
                b.record(6).unwrap();
                for n in 7..=8 {
                    a.record(n).unwrap();
                }
            });
        }
        "window_flood" => {
            let _ = process::serve(
                |_: &IsolateGroup, (gate, progress): (GatePort, SendPort<u64>)| {
                    // From a thread of its own: the entry must return for
                    // the start to complete, and these sends wait.
                    std::thread::spawn(move || {
                        for n in 0..200 {
                            gate.put(n, vec![0; 64 << 10]).unwrap();
                            progress.send(n).unwrap();
                        }
                    });
                },
            );
        }
        "deaf" => deaf(),
        "same_id_twice" => same_id_twice(),
        "credit_liar" => credit_liar(),
        "two_of_a_closed_port" => {
            let _ = process::serve(
                |_: &IsolateGroup,
                 (a, b, report): (SendPort<Vec<u8>>, SendPort<Vec<u8>>, SendPort<String>)| {
                    std::thread::spawn(move || {
                        a.send(vec![1]).unwrap();
                        common::wait_until("the parent's port reads closed", || a.is_closed());
                        // The other proxy of the same port: its messages are
                        // dropped, and it must hear that the port closed
                        // rather than fill its window and wait.
                        let mut sent = 0;
                        let outcome = loop {
                            match b.send_timeout(vec![0; 64 << 10], PATIENCE) {
                                Ok(()) => sent += 1,
                                Err(SendTimeoutError::Closed(_)) => break "closed".to_owned(),
                                Err(other) => break format!("{other:?} after {sent}"),
                            }
                        };
                        report.send(outcome).unwrap();
                    });
                },
            );
        }
        "job_v2" => {
            let _ = process::serve(|_: &IsolateGroup, job: v2::Job| job.id);
        }
        "job_elsewhere" => {
            let _ = process::serve(|_: &IsolateGroup, job: elsewhere::Job| job.id * 2);
        }
        "exit_3" => std::process::exit(3),
        "silent" => loop {
            std::thread::park();
        },
        "garbage" => {
            let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
            let mut stream = UnixStream::connect(path).unwrap();
            stream.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
            let _ = stream.read(&mut [0; 1]);
        }
        "old_version" => {
            // Greets as an isolate group of another protocol version.
            let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
            let stream = UnixStream::connect(path).unwrap();
            let mut reader = FrameReader::new(&stream, 1 << 20);
            let Some(Frame::Hello(hello)) = reader.next_frame().unwrap() else {
                panic!("no greeting")
            };
            let mut out = Vec::new();
            Frame::Hello(Hello {
                version: PROTOCOL_VERSION + 1,
                ..hello
            })
            .encode(&mut out);
            (&stream).write_all(&out).unwrap();
            let _ = reader.next_frame();
        }
        "rogue" => rogue(false),
        "ping_flood" => ping_flood(),
        "stubborn" => rogue(true),
        "orphaning_parent" => {
            let group = IsolateGroup::new();
            let (child, _) = calc(&group);
            println!("{}", child.pid());
            std::io::stdout().flush().unwrap();
            // Gone at once, without letting go of anything.
            std::process::exit(0);
        }
        other => panic!("unknown mode {other}"),
    }
}

/// A child that greets correctly, then, at the parent's first frame after
/// the start, sends bad frames: what a buggy or hostile peer does. The
/// parent's initial message is a `SendPort<u64>`, exported as port 1. A
/// `stubborn` one instead ignores everything, even a request to end.
fn rogue(stubborn: bool) {
    let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
    let stream = UnixStream::connect(path).unwrap();
    let mut reader = FrameReader::new(&stream, 1 << 20);
    greet(&stream, &mut reader, &[]); // `()`
    let mut out = Vec::new();
    if stubborn {
        loop {
            std::thread::park();
        }
    }
    let _ = reader.next_frame();
    // A body that is not a `u64`, a port that was never exported, then a
    // good message, which must still arrive.
    out.clear();
    Frame::Message {
        port: 1,
        body: &[0xff; 11],
        exports: Ids::NONE,
    }
    .encode(&mut out);
    Frame::Message {
        port: 99,
        body: &[1],
        exports: Ids::NONE,
    }
    .encode(&mut out);
    Frame::Message {
        port: 1,
        body: &[42],
        exports: Ids::NONE,
    }
    .encode(&mut out);
    (&stream).write_all(&out).unwrap();
    // At the parent's next frame, announce one far larger than it accepts.
    let _ = reader.next_frame();
    let _ = (&stream).write_all(&u32::MAX.to_le_bytes());
    let _ = reader.next_frame();
}

/// A child that greets correctly, answers with a `SendPort<Vec<u8>>` (its
/// port 1), and then reads nothing, and so never credits anything back.
fn deaf() {
    let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
    let stream = UnixStream::connect(path).unwrap();
    let mut reader = FrameReader::new(&stream, 1 << 20);
    greet(&stream, &mut reader, &port_one());
    loop {
        std::thread::park();
    }
}

/// Greets as a child of the parent's protocol and types, takes the
/// initial message, and answers `ready`: the entry's result, encoded.
fn greet(stream: &UnixStream, reader: &mut FrameReader<&UnixStream>, ready: &[u8]) {
    let Some(Frame::Hello(hello)) = reader.next_frame().unwrap() else {
        panic!("no greeting")
    };
    let (init_type, port_type) = (hello.init_type.to_owned(), hello.port_type.to_owned());
    let mut out = Vec::new();
    Frame::Hello(Hello {
        version: PROTOCOL_VERSION,
        max_frame: 1 << 20,
        init_fingerprint: hello.init_fingerprint,
        port_fingerprint: hello.port_fingerprint,
        init_type: &init_type,
        port_type: &port_type,
    })
    .encode(&mut out);
    let mut stream = stream;
    stream.write_all(&out).unwrap();
    assert!(matches!(reader.next_frame().unwrap(), Some(Frame::Init(_))));
    out.clear();
    Frame::Ready(ready).encode(&mut out);
    stream.write_all(&out).unwrap();
}

/// The child's port 1, a `SendPort<Vec<u8>>`, as postcard writes it: its
/// id and type hash as varints, around `home: false`.
fn port_one() -> Vec<u8> {
    let mut port = Vec::new();
    varint(&mut port, 1);
    port.push(0);
    varint(&mut port, isolate_core::transport::fingerprint::<Vec<u8>>());
    port
}

/// Sends the parent its port 1 a second time, under the same id, in a
/// message for the parent's port 1 (a `SendPort<SendPort<Vec<u8>>>`).
fn same_id_twice() {
    let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
    let stream = UnixStream::connect(path).unwrap();
    let mut reader = FrameReader::new(&stream, 1 << 20);
    let port = port_one();
    greet(&stream, &mut reader, &port);
    // Once the parent has its proxy (it sends through it), the same id
    // again.
    let _ = reader.next_frame();
    let mut out = Vec::new();
    Frame::Message {
        port: 1,
        body: &port,
        exports: Ids::NONE,
    }
    .encode(&mut out);
    (&stream).write_all(&out).unwrap();
    loop {
        std::thread::park();
    }
}

/// Reads nothing, and grants its port all the credit there is, again and
/// again: a peer that lies to open the window.
fn credit_liar() {
    let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
    let stream = UnixStream::connect(path).unwrap();
    let mut reader = FrameReader::new(&stream, 1 << 20);
    greet(&stream, &mut reader, &port_one());
    let mut out = Vec::new();
    Frame::Credit {
        port: 1,
        bytes: u64::MAX,
    }
    .encode(&mut out);
    while (&stream).write_all(&out).is_ok() {
        std::thread::yield_now();
    }
}

/// Appends `n` as postcard's variable-length integer.
fn varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push(n as u8 | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

/// A child that greets correctly, then sends pings and never reads: each
/// ping asks the parent for a pong, which waits for a reader that never
/// comes.
fn ping_flood() {
    let path = std::env::var("ISOLATE_CORE_SOCKET").unwrap();
    let stream = UnixStream::connect(path).unwrap();
    let mut reader = FrameReader::new(&stream, 1 << 20);
    greet(&stream, &mut reader, &[]); // `()`
    let mut out = Vec::new();
    // From here on nothing is read. The parent closes the connection once
    // its pongs back up, and the next write fails.
    out.clear();
    for id in 0..4096 {
        Frame::Ping(id).encode(&mut out);
    }
    while (&stream).write_all(&out).is_ok() {}
}

#[test]
fn sends_to_a_child_that_reads_nothing_stop_at_the_window() {
    use isolate_core::process::frame::WINDOW;

    let group = IsolateGroup::new();
    let child: ProcessIsolate<SendPort<Vec<u8>>> = group
        .spawn_uri_with(command("deaf"), (), &options())
        .unwrap();
    let port = child.port().clone();
    // Each message's frame: the bytes, their length (3 bytes of varint),
    // and 17 bytes of frame around them.
    let message = 64 << 10;
    let frame = message + 3 + 17;
    let mut sent = 0u64;
    loop {
        match port.try_send(vec![7; message as usize]) {
            Ok(()) => sent += 1,
            Err(TrySendError::Full(_)) => break,
            Err(other) => panic!("{other:?}"),
        }
        assert!(sent <= 1_000, "the window never filled");
    }
    // Messages go while less than the window is on its way: the last one
    // goes over it.
    assert_eq!(sent, WINDOW.div_ceil(frame), "{sent} messages went");
    // A sender that waits for room wakes when the connection ends, and
    // gets its message back.
    let (mut done, done_port) = {
        let done = ReceivePort::new();
        let port = done.send_port();
        (done, port)
    };
    let waiting = port.clone();
    std::thread::spawn(move || {
        let sent = waiting.send(vec![8; 16]);
        done_port.send(sent.map_err(|error| matches!(error, SendError::Closed(_))))
    });
    child.kill(Priority::Immediate);
    assert_eq!(done.recv_timeout(PATIENCE), Ok(Err(true)));
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Killed)
    );
}

#[test]
fn every_proxy_of_a_closed_port_hears_that_it_closed() {
    let group = IsolateGroup::new();
    let inbox = ReceivePort::<Vec<u8>>::new();
    let port = inbox.send_port();
    drop(inbox);
    let mut report = ReceivePort::<String>::new();
    let _child: ProcessIsolate<()> = group
        .spawn_uri_with(
            command("two_of_a_closed_port"),
            (port.clone(), port, report.send_port()),
            &options(),
        )
        .unwrap();
    assert_eq!(report.recv_timeout(PATIENCE).as_deref(), Ok("closed"));
}

#[test]
fn a_port_sent_twice_under_one_id_is_refused() {
    let group = IsolateGroup::new();
    let mut second = ReceivePort::<SendPort<Vec<u8>>>::new();
    let child: ProcessIsolate<SendPort<Vec<u8>>> = group
        .spawn_uri_with(command("same_id_twice"), second.send_port(), &options())
        .unwrap();
    let mut errors = errors_of(&child);
    child.port().send(vec![1]).unwrap();
    // (Postcard keeps no error's words: the report says only that the
    // port did not decode.)
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert!(
        error
            .message()
            .contains("could not decode a `isolate_core::port::SendPort"),
        "{error}"
    );
    assert_eq!(
        second.recv_timeout(Duration::ZERO),
        Err(RecvTimeoutError::Timeout)
    );
    child.kill(Priority::Immediate);
}

#[test]
fn credit_that_a_peer_did_not_earn_does_not_let_the_parent_grow() {
    use isolate_core::process::frame::WINDOW;

    let group = IsolateGroup::new();
    let child: ProcessIsolate<SendPort<Vec<u8>>> = group
        .spawn_uri_with(command("credit_liar"), (), &options())
        .unwrap();
    let port = child.port().clone();
    // The child reads nothing, so the writer's queue fills; past its bound
    // (four windows) every proxy is full, whatever credit says. Without
    // that bound, 4,000 sends (250 MiB) went at once.
    let message = 64 << 10;
    let mut sent = 0u64;
    let timeout = Duration::from_secs(2);
    while port.send_timeout(vec![7; message], timeout).is_ok() {
        sent += 1;
        assert!(sent < 1_000, "{sent} messages of 64 KiB queued");
    }
    // The bound, plus what the socket's buffers took.
    assert!(
        sent * message as u64 <= 5 * WINDOW,
        "{sent} messages of 64 KiB queued"
    );
    child.kill(Priority::Immediate);
}

#[test]
fn a_full_mailbox_in_the_parent_holds_the_child_back_and_loses_nothing() {
    let group = IsolateGroup::new();
    let mut opener = ReceivePort::<ReplySender<()>>::new();
    let (gate, _) = group.spawn_with(
        Gate {
            opener: Some(opener.send_port()),
            seen: Vec::new(),
        },
        SpawnOptions::new().bounded(1),
    );
    let mut progress = ReceivePort::<u64>::new();
    let _child: ProcessIsolate<()> = group
        .spawn_uri_with(
            command("window_flood"),
            (gate.clone(), progress.send_port()),
            &options(),
        )
        .unwrap();
    // The child gets as far as its window (64 messages of 64 KiB) allows:
    // the two in the handler and the mailbox are taken, but not yet
    // credited back (credit comes a megabyte at a time)...
    let mut last = 0;
    while last < 63 {
        last = progress.recv_timeout(PATIENCE).unwrap();
    }
    // ...and then no further: without a window it sent all 200 at once.
    while let Ok(n) = progress.recv_timeout(Duration::from_millis(500)) {
        last = n;
    }
    assert!(last < 80, "the child sent {} messages", last + 1);
    opener.recv_timeout(PATIENCE).unwrap().send(());
    while last < 199 {
        last = progress.recv_timeout(PATIENCE).unwrap();
    }
    assert_eq!(
        gate.seen().wait_timeout(PATIENCE),
        Ok((0..200).collect::<Vec<_>>())
    );
}

#[test]
fn a_child_that_sends_without_reading_is_cut_off_not_buffered_for() {
    let group = IsolateGroup::new();
    let child = group
        .spawn_uri_with::<(), ()>(command("ping_flood"), (), &options())
        .unwrap();
    let mut errors = ReceivePort::new();
    child.add_error_listener(errors.send_port());
    // The parent gives up on the connection when a megabyte of pongs waits
    // for a reader, instead of queueing one per ping for ever.
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert!(
        error.message().contains("does not read what it is sent"),
        "{error}"
    );
    let exit = child.exited().wait_timeout(PATIENCE).unwrap();
    assert!(
        matches!(exit, ProcessExit::Code(0) | ProcessExit::Killed),
        "{exit:?}"
    );
}

#[test]
fn a_child_process_answers_tells_and_asks() {
    let group = IsolateGroup::new();
    let (child, greeting) = calc(&group);
    assert_eq!(greeting, format!("child {} ready", child.pid()));
    assert_ne!(child.pid(), std::process::id());
    let calc = child.port();
    calc.add(2).unwrap();
    calc.add(3).unwrap();
    assert_eq!(calc.total().wait_timeout(PATIENCE), Ok(15));
    assert_eq!(calc.square(12).wait_timeout(PATIENCE), Ok(144));
    let numbers = Shared::new((1..=100).collect::<Vec<u64>>());
    assert_eq!(calc.sum(numbers).wait_timeout(PATIENCE), Ok(5050));
    let megabyte = vec![7u8; 1 << 20];
    assert_eq!(calc.len(megabyte).wait_timeout(PATIENCE), Ok(1 << 20));
}

#[test]
fn ports_cross_in_both_directions() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    let calc = child.port();

    let mut totals = ReceivePort::new();
    calc.report_to(totals.send_port()).unwrap();
    assert_eq!(totals.recv_timeout(PATIENCE), Ok(10));

    // Home again, a port is the original, not a proxy of a proxy.
    let port = totals.send_port();
    let back = calc.echo_port(port.clone()).wait_timeout(PATIENCE).unwrap();
    assert_eq!(back, port);

    // A port made in the child, and asks both ways.
    let helper = calc.spawn_helper(7).wait_timeout(PATIENCE).unwrap();
    helper.add(1).unwrap();
    assert_eq!(helper.total().wait_timeout(PATIENCE), Ok(8));
    let doubler = group.spawn(Doubler);
    assert_eq!(calc.ask_parent(doubler, 21).wait_timeout(PATIENCE), Ok(42));
}

#[test]
fn a_killed_child_fails_pending_asks_and_is_reaped() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    let mut started = ReceivePort::new();
    let pending = child.port().hang(started.send_port());
    // Awaited on another thread, so that the request goes out now.
    let waiter = std::thread::spawn(move || pending.wait_timeout(PATIENCE));
    started.recv_timeout(PATIENCE).unwrap();
    let mut exits = ReceivePort::new();
    child.add_on_exit_listener(exits.send_port(), "ended");

    child.kill(Priority::Immediate);

    assert_eq!(waiter.join().unwrap(), Err(ReplyError::Dropped));
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Killed)
    );
    assert_eq!(exits.recv_timeout(PATIENCE), Ok("ended"));
    assert!(gone(child.pid()), "the child is not reaped");
    assert!(child.port().is_closed());
    assert_eq!(
        child.port().total().wait_timeout(PATIENCE),
        Err(ReplyError::Dropped)
    );
}

#[test]
fn a_graceful_kill_lets_the_child_end_cleanly() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    child.kill(Priority::BeforeNextEvent);
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Code(0))
    );
}

#[test]
fn a_graceful_kill_of_a_child_that_does_not_end_kills_it() {
    let group = IsolateGroup::new();
    let child = stubborn(&group);
    child.kill(Priority::BeforeNextEvent);
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Killed)
    );
    assert!(gone(child.pid()));
}

#[test]
fn a_child_that_exits_is_an_exit_event_with_its_code() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    let mut errors = errors_of(&child);
    // An ask left hanging by another isolate of the child's group.
    let helper = child.port().spawn_helper(0).wait_timeout(PATIENCE).unwrap();
    let mut started = ReceivePort::new();
    let pending = helper.hang(started.send_port());
    let waiter = std::thread::spawn(move || pending.wait_timeout(PATIENCE));
    started.recv_timeout(PATIENCE).unwrap();

    child.port().exit_with(7).unwrap();

    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Code(7))
    );
    assert_eq!(waiter.join().unwrap(), Err(ReplyError::Dropped));
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Exited);
    assert!(error.message().contains("exited with code 7"), "{error}");
}

#[test]
fn a_panic_in_the_child_reaches_the_error_listener() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    let mut errors = errors_of(&child);
    child.port().panic_now("disk on fire".into()).unwrap();
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert!(error.message().contains("disk on fire"), "{error}");
    // The isolate died of it: its asks fail, the process goes on.
    assert_eq!(
        child.port().total().wait_timeout(PATIENCE),
        Err(ReplyError::Dropped)
    );
    assert_eq!(child.exit_status(), None);
    let mut pongs = ReceivePort::new();
    child.ping(pongs.send_port(), "pong");
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok("pong"));
}

#[test]
fn the_parent_and_its_other_children_outlive_a_crash() {
    let group = IsolateGroup::new();
    let (doomed, _) = calc(&group);
    let (healthy, _) = calc(&group);
    doomed.port().exit_with(1).unwrap();
    assert_eq!(
        doomed.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Code(1))
    );
    assert_eq!(healthy.port().square(9).wait_timeout(PATIENCE), Ok(81));
    let local = group.spawn(Doubler);
    assert_eq!(local.double(4).wait_timeout(PATIENCE), Ok(8));
}

#[test]
fn letting_go_of_a_child_ends_it() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    let pid = child.pid();
    let mut exits = ReceivePort::new();
    child.add_on_exit_listener(exits.send_port(), pid);
    let port = child.port().clone();
    drop(child);
    // A port into the child keeps it serving.
    assert_eq!(port.square(3).wait_timeout(PATIENCE), Ok(9));
    drop(port);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(pid));
    assert!(gone(pid));
}

#[cfg(target_os = "linux")]
#[test]
fn a_parent_that_exits_takes_its_children_with_it() {
    let mut parent = command("orphaning_parent")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // The test harness prints a line or two of its own first.
    let grandchild: u32 = std::io::BufReader::new(parent.stdout.take().unwrap())
        .lines()
        .find_map(|line| line.ok()?.trim().parse().ok())
        .expect("the parent printed a pid");
    parent.wait().unwrap();
    common::wait_until("the orphaned child to end", || gone(grandchild));
}

#[test]
fn a_missing_program_is_a_start_error() {
    let group = IsolateGroup::new();
    let error = group
        .spawn_uri::<(), ()>("/nonexistent/isolate-child", [""; 0], ())
        .unwrap_err();
    let SpawnUriError::Start { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(error.to_string().contains("/nonexistent/isolate-child"));
}

#[test]
fn a_file_that_is_not_executable_is_a_start_error() {
    let path = std::env::temp_dir().join(format!("isolate-not-exec-{}", std::process::id()));
    std::fs::write(&path, b"not a program").unwrap();
    let group = IsolateGroup::new();
    let error = group.spawn_uri::<(), ()>(&path, [""; 0], ()).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    let SpawnUriError::Start { source, .. } = &error else {
        panic!("{error:?}")
    };
    assert_eq!(source.kind(), std::io::ErrorKind::PermissionDenied);
}

#[test]
fn a_program_that_does_not_serve_is_an_exit_error() {
    let group = IsolateGroup::new();
    let error = group
        .spawn_uri_with::<(), ()>(command("exit_3"), (), &options())
        .unwrap_err();
    assert!(
        matches!(
            error,
            SpawnUriError::Exited {
                exit: ProcessExit::Code(3),
                ..
            }
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("serve"), "{error}");
}

#[test]
fn an_entry_that_panics_is_an_error_with_the_panic_message() {
    let group = IsolateGroup::new();
    let (_hello, init) = init(0);
    let error = group
        .spawn_uri_with::<Init, CalcPort>(command("entry_panics"), init, &options())
        .unwrap_err();
    let SpawnUriError::Exited { error: reason, .. } = &error else {
        panic!("{error:?}")
    };
    let reason = reason.as_deref().unwrap_or_default();
    assert!(reason.contains("no config file"), "{error}");
}

#[test]
fn a_child_with_other_types_is_refused_at_the_handshake() {
    let group = IsolateGroup::new();
    let (_hello, init) = init(0);
    let error = group
        .spawn_uri_with::<Init, CalcPort>(command("wrong_type"), init, &options())
        .unwrap_err();
    let SpawnUriError::Mismatch(Mismatch::Type { what, ours, theirs }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*what, "initial message");
    assert!(ours.ends_with("Init"), "{ours}");
    assert_eq!(theirs, "u32");
    assert!(error.to_string().contains("`u32`"), "{error}");
}

/// Two versions of one type: what two builds of a program meet as when one
/// of them changed the type's fields.
mod v1 {
    #[isolate_core::message]
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Job {
        pub id: u32,
    }
}

mod v2 {
    #[isolate_core::message]
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Job {
        pub id: u32,
        pub label: String,
    }
}

/// The first version again, in another module: other name, same shape.
mod elsewhere {
    #[isolate_core::message]
    #[derive(serde::Serialize, serde::Deserialize)]
    pub struct Job {
        pub id: u32,
    }
}

#[test]
fn a_child_whose_type_of_the_same_name_has_another_shape_is_refused() {
    let group = IsolateGroup::new();
    let error = group
        .spawn_uri_with::<v1::Job, u32>(command("job_v2"), v1::Job { id: 7 }, &options())
        .unwrap_err();
    let SpawnUriError::Mismatch(Mismatch::Type { what, ours, theirs }) = &error else {
        panic!("{error:?}")
    };
    assert_eq!(*what, "initial message");
    assert!(
        ours.ends_with("v1::Job") && theirs.ends_with("v2::Job"),
        "{error}"
    );
    // Two builds of one program name the type alike; the error says that
    // its shape is what differs.
    let same_name = Mismatch::Type {
        what: "initial message",
        ours: "app::Job".into(),
        theirs: "app::Job".into(),
    };
    assert!(
        same_name.to_string().contains("another shape"),
        "{same_name}"
    );
}

#[test]
fn a_child_whose_type_has_the_same_shape_elsewhere_is_accepted() {
    // The fingerprint is the shape's, not the path's: the bytes mean the
    // same on both sides, so the child starts and reads them.
    let group = IsolateGroup::new();
    let child = group
        .spawn_uri_with::<v1::Job, u32>(command("job_elsewhere"), v1::Job { id: 7 }, &options())
        .unwrap();
    assert_eq!(*child.port(), 14);
}

#[test]
fn a_child_of_another_protocol_version_is_refused_at_the_handshake() {
    let group = IsolateGroup::new();
    let error = group
        .spawn_uri_with::<(), ()>(command("old_version"), (), &options())
        .unwrap_err();
    assert!(
        matches!(
            error,
            SpawnUriError::Mismatch(Mismatch::Version { ours, theirs })
                if theirs == ours + 1
        ),
        "{error:?}"
    );
    assert!(error.to_string().contains("protocol version"), "{error}");
}

#[test]
fn a_child_that_never_serves_times_out_and_is_reaped() {
    let group = IsolateGroup::new();
    let options = ProcessOptions::new().handshake_timeout(Duration::from_millis(300));
    let error = group
        .spawn_uri_with::<(), ()>(command("silent"), (), &options)
        .unwrap_err();
    assert!(matches!(error, SpawnUriError::Timeout { .. }), "{error:?}");
}

#[test]
fn a_garbage_greeting_is_a_protocol_error() {
    let group = IsolateGroup::new();
    let error = group
        .spawn_uri_with::<(), ()>(command("garbage"), (), &options())
        .unwrap_err();
    assert!(matches!(error, SpawnUriError::Protocol(_)), "{error:?}");
}

#[test]
fn bad_frames_are_errors_never_panics_and_good_ones_still_arrive() {
    let group = IsolateGroup::new();
    let mut inbox = ReceivePort::<u64>::new();
    let child: ProcessIsolate<()> = group
        .spawn_uri_with(command("rogue"), inbox.send_port(), &options())
        .unwrap();
    let mut errors = errors_of(&child);
    let pongs = ReceivePort::new();
    // The rogue's cue.
    child.ping(pongs.send_port(), ());
    // The good message arrives, and only it: the bad body never reaches
    // the port.
    assert_eq!(inbox.recv_timeout(PATIENCE), Ok(42));
    let first = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(first.kind(), RemoteErrorKind::Undeliverable);
    assert!(first.message().contains("could not decode"), "{first}");
    let second = errors.recv_timeout(PATIENCE).unwrap();
    assert!(second.message().contains("not exported"), "{second}");
    // Then the rogue announces a frame of 4 GiB: the connection ends with
    // an error, the child is reaped, the parent goes on.
    child.ping(pongs.send_port(), ());
    let exit = child.exited().wait_timeout(PATIENCE).unwrap();
    assert!(gone(child.pid()), "{exit:?}");
    let mut saw_too_large = false;
    while let Ok(error) = errors.recv_timeout(Duration::from_millis(100)) {
        saw_too_large |= error.message().contains("larger than");
    }
    assert!(saw_too_large);
    assert!(inbox.try_recv().is_err());
}

#[test]
fn asks_to_a_closed_port_in_the_child_all_fail() {
    let group = IsolateGroup::new();
    let child: ProcessIsolate<SendPort<(u8, ReplySender<u64>)>> = group
        .spawn_uri_with(command("closed_port"), (), &options())
        .unwrap();
    // The first finds the port closed; the later ones find it marked so.
    for n in 0..4 {
        let reply = child.port().ask(|reply_to| (n, reply_to));
        assert_eq!(
            reply.wait_timeout(PATIENCE),
            Err(ReplyError::Dropped),
            "ask {n}"
        );
    }
    common::wait_until("the proxy to read closed", || child.port().is_closed());
}

/// A child serving `Checker`, and its error listener.
fn checker(group: &IsolateGroup) -> (ProcessIsolate<CheckerPort>, ReceivePort<RemoteError>) {
    let child = group
        .spawn_uri_with(command("checker"), (), &options())
        .unwrap();
    let errors = errors_of(&child);
    (child, errors)
}

#[test]
fn an_ask_whose_body_cannot_be_decoded_fails_and_is_reported() {
    let group = IsolateGroup::new();
    let (child, mut errors) = checker(&group);
    assert_eq!(
        child.port().check(Strict(0)).wait_timeout(PATIENCE),
        Err(ReplyError::Dropped)
    );
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Undeliverable);
    assert!(error.message().contains("could not decode"), "{error}");
    // The connection is fine: the next good message is answered.
    assert_eq!(child.port().check(Strict(4)).wait_timeout(PATIENCE), Ok(40));
}

#[test]
fn an_answer_that_cannot_be_decoded_fails_its_ask_at_once() {
    let group = IsolateGroup::new();
    let (child, mut errors) = checker(&group);
    // Not after the wait's timeout: `Undeliverable` as soon as the answer
    // arrives and fails to decode.
    assert_eq!(
        child.port().strict(0).wait_timeout(PATIENCE).map(|s| s.0),
        Err(ReplyError::Undeliverable)
    );
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Undeliverable);
    assert_eq!(
        child.port().strict(3).wait_timeout(PATIENCE).map(|s| s.0),
        Ok(3)
    );
}

#[test]
fn letting_go_of_a_child_that_does_not_end_kills_it() {
    let group = IsolateGroup::new();
    let child = stubborn(&group);
    let pid = child.pid();
    let mut exits = ReceivePort::new();
    child.add_on_exit_listener(exits.send_port(), ());
    drop(child);
    assert_eq!(exits.recv_timeout(PATIENCE), Ok(()));
    assert!(gone(pid));
}

#[test]
fn a_full_mailbox_in_the_parent_does_not_stall_the_connection() {
    let group = IsolateGroup::new();
    let (stuck, handle) = group.spawn_with(Stuck, SpawnOptions::new().bounded(1));
    // The child sends five tells; the first never finishes, so the rest
    // wait for room.
    let child: ProcessIsolate<()> = group
        .spawn_uri_with(command("flood"), stuck.clone(), &options())
        .unwrap();
    common::wait_until("the mailbox to fill", || {
        common::info(&group, &handle).mailbox_len >= 1
    });
    // Pongs and the end of the child still get through.
    let mut pongs = ReceivePort::new();
    child.ping(pongs.send_port(), "pong");
    assert_eq!(pongs.recv_timeout(PATIENCE), Ok("pong"));
    child.kill(Priority::Immediate);
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Killed)
    );
    assert!(gone(child.pid()));
}

#[test]
fn a_message_too_large_for_the_connection_is_undeliverable_and_the_port_goes_on() {
    let group = IsolateGroup::new();
    let (mut hello, init) = init(0);
    let options = options().max_frame(64 << 10);
    let child: ProcessIsolate<CalcPort> = group
        .spawn_uri_with(command("calc"), init, &options)
        .unwrap();
    hello.recv_timeout(PATIENCE).unwrap();
    let mut errors = errors_of(&child);
    let big = vec![1u8; 100 << 10];

    let (reply_to, reply) = Reply::channel();
    let error = child
        .port()
        .send_port()
        .send(CalcMessage::len(big.clone(), reply_to))
        .unwrap_err();
    assert!(matches!(error, SendError::Undeliverable(_)), "{error:?}");
    assert!(
        error.to_string().contains("could not be encoded"),
        "{error}"
    );
    // The ask inside fails at once rather than waiting.
    assert_eq!(reply.wait_timeout(PATIENCE), Err(ReplyError::Dropped));
    let reported = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(reported.kind(), RemoteErrorKind::Undeliverable);
    assert!(reported.message().contains("larger than"), "{reported}");

    assert_eq!(
        child.port().len(big).wait_timeout(PATIENCE),
        Err(ReplyError::Dropped)
    );
    assert!(!child.port().is_closed());
    assert_eq!(child.port().square(5).wait_timeout(PATIENCE), Ok(25));
}

#[test]
fn a_pong_for_a_full_mailbox_does_not_stall_the_connection() {
    let group = IsolateGroup::new();
    let (stuck, handle) = group.spawn_with(Stuck, SpawnOptions::new().bounded(1));
    stuck.hit(0).unwrap(); // never finishes
    common::wait_until("the first message to be taken", || {
        common::info(&group, &handle).mailbox_len == 0
    });
    stuck.hit(1).unwrap(); // fills the mailbox
    let (child, _) = calc(&group);
    child.ping(stuck.send_port().clone(), StuckMessage::hit(2));
    assert_eq!(child.port().square(3).wait_timeout(PATIENCE), Ok(9));
    child.port().exit_with(0).unwrap();
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Code(0))
    );
}

#[test]
fn messages_through_two_proxies_of_one_port_keep_their_order() {
    let group = IsolateGroup::new();
    // Paused with room for one: all but the first wait in a backlog.
    let (recorder, handle) = group.spawn_with(
        Recorder::default(),
        SpawnOptions::new().bounded(1).paused(true),
    );
    let _child: ProcessIsolate<()> = group
        .spawn_uri_with(
            command("two_proxies"),
            (recorder.clone(), recorder.clone()),
            &options(),
        )
        .unwrap();
    handle.resume(&handle.pause_capability());
    common::wait_until("all eight to arrive", || {
        recorder.seen().wait_timeout(PATIENCE).unwrap().len() == 8
    });
    assert_eq!(
        recorder.seen().wait_timeout(PATIENCE),
        Ok((1..=8).collect())
    );
}

#[test]
fn a_child_that_crashes_is_an_exit_event_with_its_signal() {
    let group = IsolateGroup::new();
    let (child, _) = calc(&group);
    let mut errors = errors_of(&child);
    child.port().abort().unwrap();
    assert_eq!(
        child.exited().wait_timeout(PATIENCE),
        Ok(ProcessExit::Signal(6))
    );
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Exited);
    assert!(error.message().contains("signal 6 (SIGABRT)"), "{error}");
    assert!(gone(child.pid()));
}
