//! A `nats-server` of the benchmark's own, and an `Echo` served through
//! it: one member registers the isolate, another looks it up, and every
//! message between them crosses the server on loopback.

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use isolate_nats::RemoteGroup;

use crate::process::EchoPort;

/// What keeps an `Echo` reachable through NATS: the server and both
/// members. Dropped, the server is killed and its store removed.
pub struct Served {
    pub port: EchoPort,
    _members: (RemoteGroup, RemoteGroup),
    server: Child,
    dir: PathBuf,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.server.kill();
        let _ = self.server.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Starts a server, registers `echo` through one member and looks it up
/// through another.
pub fn serve(echo: EchoPort) -> Served {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let dir = std::env::temp_dir().join(format!("isolate-bench-nats-{}", std::process::id()));
    let binary = std::env::var("NATS_SERVER").unwrap_or_else(|_| "nats-server".into());
    let server = Command::new(&binary)
        .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
        .arg(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .or_else(|_| {
            Command::new("/usr/sbin/nats-server")
                .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
        })
        .expect("nats-server starts (apt-get install nats-server)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server listens");
        std::thread::sleep(Duration::from_millis(10));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let connect = || {
        RemoteGroup::builder()
            .ask_timeout(Duration::from_secs(60))
            .connect(&url, "bench")
            .wait()
            .expect("connects")
    };
    let serving = connect();
    serving.register("echo", &echo).wait().expect("registers");
    let asking = connect();
    let port: EchoPort = asking.lookup("echo").wait().expect("looks up");
    Served {
        port,
        _members: (serving, asking),
        server,
        dir,
    }
}
