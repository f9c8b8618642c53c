//! A real `nats-server` for the tests: started on free loopback ports with
//! JetStream on, in a store directory of its own, and killed (its directory
//! removed) when dropped.
//!
//! Without a `nats-server` binary (the Debian package `nats-server`, or
//! `NATS_SERVER=/path/to/nats-server`) the tests say so on stderr and pass
//! without running, so that `cargo test --workspace` works on a machine
//! with only the Rust toolchain. CI installs the server and sets
//! `ISOLATE_NATS_REQUIRE_SERVER=1`, which turns a missing server into a
//! failure.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long anything in these tests may take before it counts as a hang.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// The server binary, if this machine has one.
fn binary() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("NATS_SERVER") {
        return Some(path.into());
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([
            "/usr/sbin".into(),
            "/usr/local/bin".into(),
            "/usr/bin".into(),
        ])
        .map(|dir| dir.join("nats-server"))
        .find(|candidate| candidate.is_file())
}

/// The binary, or `None` (with a note) when the tests may go without.
fn binary_or_skip() -> Option<PathBuf> {
    let found = binary();
    if found.is_none() {
        if std::env::var_os("ISOLATE_NATS_REQUIRE_SERVER").is_some() {
            panic!(
                "ISOLATE_NATS_REQUIRE_SERVER is set and no nats-server was found: install it \
                 (`apt-get install nats-server`) or point NATS_SERVER at it"
            );
        }
        eprintln!(
            "note: no nats-server on this machine, so this test did not run; install it \
             (`apt-get install nats-server`) to run the isolate-nats tests"
        );
    }
    found
}

/// A loopback port nobody listens on (at the time of asking).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("a free loopback port")
}

fn fresh_dir(what: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "isolate-nats-{what}-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a store directory");
    dir
}

/// One running `nats-server`.
pub struct NatsServer {
    binary: PathBuf,
    args: Vec<String>,
    child: Option<Child>,
    port: u16,
    monitor: u16,
    dir: PathBuf,
}

impl NatsServer {
    /// A single server with JetStream; `None` when there is no binary and
    /// none is required.
    pub fn start() -> Option<NatsServer> {
        NatsServer::start_with(true)
    }

    /// A single server, with or without JetStream.
    pub fn start_with(jetstream: bool) -> Option<NatsServer> {
        let binary = binary_or_skip()?;
        let (port, monitor, dir) = (free_port(), free_port(), fresh_dir("single"));
        let mut args = base_args(port, monitor, &dir);
        if !jetstream {
            args.retain(|arg| arg != "-js" && arg != "-sd" && *arg != dir.display().to_string());
        }
        let mut server = NatsServer {
            binary,
            args,
            child: None,
            port,
            monitor,
            dir,
        };
        server.restart();
        Some(server)
    }

    /// `nats://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// Kills the server at once (SIGKILL: no goodbye to its clients).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again, on the same ports and store, and waits
    /// until it is healthy.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_healthy();
    }

    /// Starts the process, without waiting for it.
    fn spawn(&mut self) {
        let child = Command::new(&self.binary)
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nats-server starts");
        self.child = Some(child);
    }

    /// The group's names bucket, read with a plain client (and the runtime
    /// it needs), as something other than isolate-nats would.
    pub fn bucket(
        &self,
        group: &str,
    ) -> (tokio::runtime::Runtime, async_nats::jetstream::kv::Store) {
        let io = tokio::runtime::Runtime::new().expect("a runtime");
        let bucket = io.block_on(async {
            let client = async_nats::connect(self.url()).await.expect("connects");
            async_nats::jetstream::new(client)
                .get_key_value(format!("isolates_{group}"))
                .await
                .expect("the group's bucket")
        });
        (io, bucket)
    }

    /// Waits until the server's monitoring endpoint says it (and its
    /// JetStream) is healthy.
    fn wait_healthy(&mut self) {
        let deadline = Instant::now() + PATIENCE;
        loop {
            if healthy(self.monitor) {
                return;
            }
            if let Some(child) = &mut self.child
                && let Ok(Some(status)) = child.try_wait()
            {
                panic!("nats-server {:?} exited at start: {status}", self.args);
            }
            assert!(
                Instant::now() < deadline,
                "nats-server on port {} was not healthy within {PATIENCE:?}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Loopback, the client and monitoring ports, JetStream in `dir`.
fn base_args(port: u16, monitor: u16, dir: &std::path::Path) -> Vec<String> {
    vec![
        "-a".into(),
        "127.0.0.1".into(),
        "-p".into(),
        port.to_string(),
        "-m".into(),
        monitor.to_string(),
        "-js".into(),
        "-sd".into(),
        dir.display().to_string(),
    ]
}

/// Whether `GET /healthz` on the monitoring port answers "ok".
fn healthy(monitor: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", monitor)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    if stream
        .write_all(b"GET /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut response = String::new();
    let _ = stream.read_to_string(&mut response);
    response.starts_with("HTTP/1.0 200") || response.starts_with("HTTP/1.1 200")
}

/// Three servers clustered on loopback, each with JetStream.
pub struct Cluster {
    pub nodes: Vec<NatsServer>,
}

impl Cluster {
    /// Starts the three, and waits until each is healthy (which, with
    /// JetStream clustered, means a meta leader is elected).
    pub fn start() -> Option<Cluster> {
        let binary = binary_or_skip()?;
        let ports: Vec<(u16, u16, u16)> = (0..3)
            .map(|_| (free_port(), free_port(), free_port()))
            .collect();
        let routes = ports
            .iter()
            .map(|(_, route, _)| format!("nats-route://127.0.0.1:{route}"))
            .collect::<Vec<_>>()
            .join(",");
        let mut nodes: Vec<NatsServer> = ports
            .iter()
            .enumerate()
            .map(|(i, &(port, route, monitor))| {
                let dir = fresh_dir(&format!("node{i}"));
                let mut args = base_args(port, monitor, &dir);
                args.extend([
                    "-n".into(),
                    format!("node{i}"),
                    "--cluster_name".into(),
                    "isolates-test".into(),
                    "--cluster".into(),
                    format!("nats://127.0.0.1:{route}"),
                    "--routes".into(),
                    routes.clone(),
                ]);
                NatsServer {
                    binary: binary.clone(),
                    args,
                    child: None,
                    port,
                    monitor,
                    dir,
                }
            })
            .collect();
        // All three first, then the waits: JetStream is healthy only once a
        // quorum is up.
        for node in &mut nodes {
            node.spawn();
        }
        for node in &mut nodes {
            node.wait_healthy();
        }
        Some(Cluster { nodes })
    }
}
