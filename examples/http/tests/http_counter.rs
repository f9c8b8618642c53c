//! The `http_counter` server, run as a user runs it (`cargo run`), with
//! HTTP/1.1 clients on loopback: counts shared by every connection, the
//! introspection at `/stats`, and a graceful stop on `SIGTERM` (in-flight
//! requests finish, idle connections close, the grace period is kept, a
//! second signal ends the process). Unix only: it sends signals with
//! `kill`.
#![cfg(unix)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

const PATIENCE: Duration = Duration::from_secs(30);

/// A running server, killed if a test fails before it ends the server
/// itself (a failed assertion must not leave servers behind).
struct Server(Child);

impl std::ops::Deref for Server {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for Server {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Both fail harmlessly once the server has ended and been waited for.
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The server on a free port, its stdout (after the banner) and where it
/// listens.
fn start_server(args: &[&str]) -> (Server, BufReader<ChildStdout>, String) {
    let server = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--example", "http_counter", "--"])
        .args(["--address", "127.0.0.1:0"])
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(Stdio::piped())
        .spawn()
        .expect("cargo runs");
    let mut server = Server(server);
    let mut stdout = BufReader::new(server.stdout.take().unwrap());
    let banner = next_line(&mut stdout);
    let address = banner
        .strip_prefix("http_counter: listening on http://")
        .unwrap_or_else(|| panic!("the server says where it listens, not {banner:?}"))
        .to_owned();
    (server, stdout, address)
}

fn next_line(stdout: &mut BufReader<ChildStdout>) -> String {
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    line.trim_end().to_owned()
}

/// `cargo run` execs the example, so the child's pid is the server's.
fn signal(server: &Child, name: &str) {
    let status = Command::new("sh")
        .args(["-c", &format!("kill -{name} {}", server.id())])
        .status()
        .unwrap();
    assert!(status.success());
}

/// One keep-alive HTTP/1.1 connection.
struct Client {
    reader: BufReader<TcpStream>,
    stream: TcpStream,
}

/// An answer: status code, headers (names lowercased), body.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Client {
    fn connect(address: &str) -> Client {
        let stream = TcpStream::connect(address).expect("the server accepts");
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        }
    }

    fn send(&mut self, method: &str, path: &str) {
        write!(
            self.stream,
            "{method} {path} HTTP/1.1\r\nHost: test\r\nContent-Length: 0\r\n\r\n"
        )
        .unwrap();
    }

    fn ask(&mut self, method: &str, path: &str) -> Answer {
        self.send(method, path);
        self.answer()
    }

    /// The status line and headers of the next answer.
    fn head(&mut self) -> (u16, Vec<(String, String)>) {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("an answer");
        let status = line
            .split(' ')
            .nth(1)
            .and_then(|code| code.parse().ok())
            .unwrap_or_else(|| panic!("a status line, not {line:?}"));
        let mut headers = Vec::new();
        loop {
            line.clear();
            self.reader.read_line(&mut line).unwrap();
            let header = line.trim_end();
            if header.is_empty() {
                return (status, headers);
            }
            let (name, value) = header.split_once(':').expect("a header");
            headers.push((name.to_ascii_lowercase(), value.trim().to_owned()));
        }
    }

    /// The next chunk of a chunked body (empty at its end).
    fn chunk(&mut self) -> String {
        let mut size = String::new();
        self.reader.read_line(&mut size).unwrap();
        let size = usize::from_str_radix(size.trim(), 16).expect("a chunk size");
        let mut chunk = vec![0; size + 2];
        self.reader.read_exact(&mut chunk).unwrap();
        chunk.truncate(size);
        String::from_utf8(chunk).unwrap()
    }

    fn answer(&mut self) -> Answer {
        let (status, headers) = self.head();
        let length = header(&headers, "content-length").map(|n| n.parse::<usize>().unwrap());
        let body = match length {
            Some(length) => {
                let mut body = vec![0; length];
                self.reader.read_exact(&mut body).unwrap();
                String::from_utf8(body).unwrap()
            }
            None => {
                let mut body = String::new();
                loop {
                    let chunk = self.chunk();
                    if chunk.is_empty() {
                        break body;
                    }
                    body += &chunk;
                }
            }
        };
        Answer {
            status,
            headers,
            body,
        }
    }

    /// Whether the server closed the connection (a read finds its end).
    fn is_closed_by_server(&mut self) -> bool {
        let mut byte = [0];
        matches!(self.reader.read(&mut byte), Ok(0))
    }
}

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

fn json(answer: &Answer) -> serde_json::Value {
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        header(&answer.headers, "content-type"),
        Some("application/json")
    );
    serde_json::from_str(&answer.body).unwrap()
}

#[test]
fn every_connection_counts_in_the_one_store_and_stats_see_them() {
    let (mut server, _stdout, address) = start_server(&[]);
    let mut one = Client::connect(&address);
    let mut two = Client::connect(&address);

    for (on_two, expected) in [(false, 1), (true, 2), (false, 3)] {
        let client = if on_two { &mut two } else { &mut one };
        let count = json(&client.ask("POST", "/hit/apple"));
        assert_eq!(
            count,
            serde_json::json!({ "key": "apple", "count": expected })
        );
    }
    json(&two.ask("POST", "/hit/pear"));
    assert_eq!(json(&two.ask("GET", "/count/apple"))["count"], 3);
    assert_eq!(json(&one.ask("GET", "/count/plum"))["count"], 0);

    let stats = json(&one.ask("GET", "/stats"));
    assert_eq!(stats["connections"], 2, "{stats}");
    assert_eq!(stats["hits"], 4, "{stats}");
    assert_eq!(stats["keys"], 2, "{stats}");
    // The two connections, the store and the acceptor.
    assert_eq!(stats["live_isolates"], 4, "{stats}");
    assert!(stats["workers"].as_u64().unwrap() >= 1, "{stats}");
    assert!(stats["messages_handled"].as_u64().unwrap() >= 7, "{stats}");

    assert_eq!(one.ask("GET", "/nowhere").status, 404);
    assert_eq!(one.ask("DELETE", "/stats").status, 405);
    assert_eq!(one.ask("GET", "/hit/apple").status, 405);
    assert_eq!(one.ask("GET", "/sleep/soon").status, 400);
    let usage = one.ask("GET", "/");
    assert!(usage.body.contains("POST /hit/KEY"), "{usage:?}");

    signal(&server, "TERM");
    assert!(server.wait().unwrap().success());
}

#[test]
fn a_signal_lets_the_request_in_flight_finish_and_closes_idle_connections() {
    let (mut server, mut stdout, address) = start_server(&[]);
    let mut idle = Client::connect(&address);
    json(&idle.ask("POST", "/hit/apple"));

    let mut slow = Client::connect(&address);
    slow.send("GET", "/sleep/500");
    let (status, _) = slow.head();
    assert_eq!(status, 200);
    // The first part came: the request is in flight now.
    assert_eq!(slow.chunk(), "sleeping 500 ms\n");

    signal(&server, "TERM");
    assert_eq!(
        next_line(&mut stdout),
        "http_counter: stopping; in-flight requests have 10s"
    );
    assert!(idle.is_closed_by_server(), "an idle connection is closed");
    // The request in flight is answered whole, then its connection closed.
    assert_eq!(slow.chunk(), "done\n");
    assert_eq!(slow.chunk(), "");
    assert!(slow.is_closed_by_server());

    assert_eq!(
        next_line(&mut stdout),
        "http_counter: stopped; 0 isolate(s) still busy at the deadline"
    );
    assert!(server.wait().unwrap().success());
    assert!(
        TcpStream::connect(&address).is_err(),
        "nothing listens after the stop"
    );
}

#[test]
fn a_request_longer_than_the_grace_period_is_cut_off_at_its_end() {
    let (mut server, mut stdout, address) = start_server(&["--grace-ms", "200"]);
    let mut slow = Client::connect(&address);
    slow.send("GET", "/sleep/60000");
    slow.head();
    assert_eq!(slow.chunk(), "sleeping 60000 ms\n");

    signal(&server, "TERM");
    assert_eq!(
        next_line(&mut stdout),
        "http_counter: stopping; in-flight requests have 200ms"
    );
    // The connection, and the store it kept alive.
    assert_eq!(
        next_line(&mut stdout),
        "http_counter: stopped; 2 isolate(s) still busy at the deadline"
    );
    assert!(server.wait().unwrap().success());
    assert!(slow.is_closed_by_server(), "cut off, not answered");
}

#[test]
fn a_second_signal_ends_a_shutdown_that_waits() {
    let (mut server, mut stdout, address) = start_server(&["--grace-ms", "60000"]);
    let mut slow = Client::connect(&address);
    slow.send("GET", "/sleep/60000");
    slow.head();
    assert_eq!(slow.chunk(), "sleeping 60000 ms\n");

    signal(&server, "INT");
    assert_eq!(
        next_line(&mut stdout),
        "http_counter: stopping; in-flight requests have 60s"
    );
    signal(&server, "TERM");
    let status = server.wait().unwrap();
    assert_eq!(status.code(), Some(143), "{status}");
}
