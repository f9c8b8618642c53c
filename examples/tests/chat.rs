//! The chat server with real TCP clients on loopback: every member gets
//! every line, a client that disconnects mid-message does not take the
//! server down, and a thousand clients cost no thread each.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);

struct Client {
    lines: BufReader<TcpStream>,
    stream: TcpStream,
}

impl Client {
    fn join(address: &str, name: &str) -> Client {
        let stream = TcpStream::connect(address).expect("the server accepts");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let mut client = Client {
            lines: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        client.say(name);
        assert!(
            client
                .next_line()
                .starts_with(&format!("* welcome, {name}"))
        );
        client
    }

    fn say(&mut self, text: &str) {
        writeln!(self.stream, "{text}").unwrap();
    }

    /// The next line the server sent (a timeout fails the test).
    fn next_line(&mut self) -> String {
        let mut line = String::new();
        self.lines
            .read_line(&mut line)
            .expect("a line within the patience");
        line.trim_end().to_owned()
    }

    /// Skips lines until `expected` arrives; returns the lines skipped.
    fn expect(&mut self, expected: &str) -> Vec<String> {
        let mut skipped = Vec::new();
        loop {
            let line = self.next_line();
            assert!(!line.is_empty(), "the server closed before {expected:?}");
            if line == expected {
                return skipped;
            }
            skipped.push(line);
        }
    }
}

/// The server on a free port, and where it listens; it ends when its
/// stdin closes.
fn start_server() -> (std::process::Child, String) {
    let mut server = Command::new(env!("CARGO"))
        .args([
            "run",
            "--quiet",
            "--example",
            "chat",
            "--",
            "--address",
            "127.0.0.1:0",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let mut banner = String::new();
    BufReader::new(server.stdout.take().unwrap())
        .read_line(&mut banner)
        .unwrap();
    let address = banner
        .trim()
        .strip_prefix("chat: listening on ")
        .expect("the server says where it listens")
        .to_owned();
    (server, address)
}

/// The threads of process `pid`, as Linux counts them.
fn threads_of(pid: u32) -> usize {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("Threads:"))
        .and_then(|count| count.trim().parse().ok())
        .expect("a thread count")
}

#[test]
fn every_member_hears_every_line_and_a_broken_client_is_harmless() {
    let (mut server, address) = start_server();

    let mut alice = Client::join(&address, "alice");
    let mut bob = Client::join(&address, "bob");
    alice.expect("* bob joined");
    let mut carol = Client::join(&address, "carol");
    alice.expect("* carol joined");
    bob.expect("* carol joined");

    alice.say("hello, room");
    for member in [&mut alice, &mut bob, &mut carol] {
        member.expect("alice: hello, room");
    }

    // Dave joins, starts a message and vanishes before its end.
    let mut dave = Client::join(&address, "dave");
    write!(dave.stream, "this message never ends").unwrap();
    dave.stream.flush().unwrap();
    drop(dave);
    for member in [&mut alice, &mut bob, &mut carol] {
        let skipped = member.expect("* dave left");
        assert!(
            !skipped.iter().any(|line| line.contains("never ends")),
            "half a message was said: {skipped:?}"
        );
    }

    // The server is still serving everyone else.
    bob.say("still here");
    for member in [&mut alice, &mut bob, &mut carol] {
        member.expect("bob: still here");
    }
    let late = Client::join(&address, "erin");
    drop(late);

    drop(server.stdin.take());
    let status = server.wait().unwrap();
    assert!(status.success(), "the server ended with {status}");
}

/// A thousand clients connected at once: the server's thread count stays
/// what it was with one (main, its workers, which also drive tokio, and
/// the timer), where a thread per connection would add a thousand.
#[test]
#[cfg(target_os = "linux")]
fn a_thousand_clients_at_once_add_no_thread_each() {
    let (mut server, address) = start_server();
    let pid = server.id();
    let mut first = Client::join(&address, "first");
    let before = threads_of(pid);
    let mut clients = Vec::with_capacity(1000);
    for n in 1..1000 {
        clients.push(Client::join(&address, &format!("client{n}")));
    }
    // Everyone is in: the first member heard each join, in order.
    first.expect("* client999 joined");
    let during = threads_of(pid);
    eprintln!("threads: {before} with one client, {during} with 1,000");
    assert!(
        during <= before + 2,
        "{} threads with 1,000 clients, {before} with one",
        during
    );
    clients.last_mut().unwrap().say("hello, all");
    first.expect("client999: hello, all");
    drop(clients);
    drop(server.stdin.take());
    let status = server.wait().unwrap();
    assert!(status.success(), "the server ended with {status}");
}
