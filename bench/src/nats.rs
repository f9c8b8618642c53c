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

/// A `nats-server` on a free loopback port: its URL, the child, and its
/// store directory.
fn start_server() -> (String, Child, PathBuf) {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free port")
        .port();
    let dir = std::env::temp_dir().join(format!("isolate-bench-nats-{}", std::process::id()));
    // `NATS_SERVER`, else the PATH, else Debian's place for it.
    let candidates = std::env::var("NATS_SERVER")
        .into_iter()
        .chain(["nats-server".to_owned(), "/usr/sbin/nats-server".to_owned()]);
    let server = candidates
        .into_iter()
        .find_map(|binary| {
            Command::new(binary)
                .args(["-a", "127.0.0.1", "-p", &port.to_string(), "-js", "-sd"])
                .arg(&dir)
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .ok()
        })
        .expect("nats-server starts (apt-get install nats-server)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "nats-server listens");
        std::thread::sleep(Duration::from_millis(10));
    }
    (format!("nats://127.0.0.1:{port}"), server, dir)
}

/// Starts a server, registers `echo` through one member and looks it up
/// through another.
pub fn serve(echo: EchoPort) -> Served {
    let (url, server, dir) = start_server();
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

/// Calibration: ns per request/reply of 8 bytes through the server with
/// `async-nats` alone, from a plain thread (`block_on` per request) to a
/// responder task in this process: the floor under `round-trip` for
/// `nats`.
pub fn raw_round_trip() -> f64 {
    use futures::StreamExt;

    let (url, mut server, dir) = start_server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a runtime");
    let client = runtime
        .block_on(async_nats::connect(url.as_str()))
        .expect("connects");
    let mut requests = runtime
        .block_on(client.subscribe("echo"))
        .expect("subscribes");
    let responder = client.clone();
    runtime.spawn(async move {
        while let Some(request) = requests.next().await {
            if let Some(reply) = request.reply {
                let _ = responder.publish(reply, request.payload).await;
            }
        }
    });
    runtime.block_on(client.flush()).expect("flushes");
    let ask = |n: u64| {
        let answer = runtime
            .block_on(client.request("echo", n.to_le_bytes().to_vec().into()))
            .expect("answered");
        assert_eq!(answer.payload.as_ref(), n.to_le_bytes());
    };
    for n in 0..1_000 {
        ask(n);
    }
    let trips = 20_000u64;
    let start = Instant::now();
    for n in 0..trips {
        ask(n);
    }
    let elapsed = start.elapsed();
    drop(runtime);
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&dir);
    elapsed.as_nanos() as f64 / trips as f64
}
