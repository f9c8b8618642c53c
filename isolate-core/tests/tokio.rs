//! The tokio ecosystem inside isolates (feature `tokio`): a group whose
//! workers run in a tokio runtime's context, so that tokio's sockets and
//! timers work in async handlers, and their wake-ups land in the group.
#![cfg(feature = "tokio")]

mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, SpawnOptions};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An echo server on a plain thread, for `connections` connections.
fn echo_server(connections: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let mut stream = stream.unwrap();
            std::thread::spawn(move || {
                let mut buffer = [0; 64];
                while let Ok(n @ 1..) = stream.read(&mut buffer) {
                    if stream.write_all(&buffer[..n]).is_err() {
                        break;
                    }
                }
            });
        }
    });
    address
}

/// A client isolate: each `call` opens a tokio `TcpStream`, inside the
/// handler, and waits for the echo.
#[isolate]
struct Client {
    server: SocketAddr,
}

#[isolate]
impl Client {
    #[message]
    async fn call(&mut self, text: String) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.server).await.unwrap();
        stream.write_all(text.as_bytes()).await.unwrap();
        let mut echoed = vec![0; text.len()];
        stream.read_exact(&mut echoed).await.unwrap();
        String::from_utf8(echoed).unwrap()
    }

    #[message]
    async fn nap(&mut self, millis: u64) -> u64 {
        tokio::time::sleep(Duration::from_millis(millis)).await;
        millis
    }
}

#[test]
fn a_tokio_socket_works_in_an_async_handler() {
    let group = IsolateGroup::builder().workers(2).tokio().build().unwrap();
    let client = group.spawn(Client {
        server: echo_server(10),
    });
    for n in 0..10 {
        let text = format!("hello {n}");
        assert_eq!(client.call(text.clone()).wait_timeout(PATIENCE), Ok(text));
    }
    assert_eq!(client.nap(5).wait_timeout(PATIENCE), Ok(5));
}

#[test]
fn many_isolates_wait_on_tokio_sockets_at_once() {
    let group = IsolateGroup::builder().workers(2).tokio().build().unwrap();
    let server = echo_server(100);
    let clients: Vec<_> = (0..100).map(|_| group.spawn(Client { server })).collect();
    let replies: Vec<_> = clients
        .iter()
        .enumerate()
        .map(|(n, client)| client.call(format!("{n}")))
        .collect();
    for (n, reply) in replies.into_iter().enumerate() {
        assert_eq!(reply.wait_timeout(PATIENCE), Ok(format!("{n}")));
    }
}

#[test]
fn a_runtime_of_the_users_own_can_be_passed_in() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let group = IsolateGroup::builder()
        .workers(1)
        .tokio_handle(runtime.handle().clone())
        .build()
        .unwrap();
    let client = group.spawn(Client {
        server: echo_server(1),
    });
    assert_eq!(
        client.call("own".into()).wait_timeout(PATIENCE),
        Ok("own".into())
    );
    drop(group);
}

/// A blocking call from an isolate of a tokio group runs in its context.
#[test]
fn a_blocking_call_from_a_tokio_group_runs_in_its_context() {
    #[isolate]
    struct Asker;

    #[isolate]
    impl Asker {
        #[message]
        async fn has_context(&self) -> bool {
            isolate_core::blocking(|| tokio::runtime::Handle::try_current().is_ok())
                .await
                .unwrap()
        }
    }
    let group = IsolateGroup::builder().workers(1).tokio().build().unwrap();
    let asker = group.spawn(Asker);
    assert_eq!(asker.has_context().wait_timeout(PATIENCE), Ok(true));
}

#[test]
fn a_tokio_resource_in_a_group_without_tokio_is_an_error_that_says_how() {
    let group = IsolateGroup::builder().workers(1).build().unwrap();
    let mut errors = ReceivePort::new();
    let (client, _) = group.spawn_with(
        Client {
            server: echo_server(1),
        },
        SpawnOptions::new().on_error(errors.send_port()),
    );
    let reply = client.nap(1);
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert!(error.message().contains(".tokio()"), "{error}");
    assert!(reply.wait_timeout(PATIENCE).is_err());
}

/// An acceptor isolate hands each tokio `TcpStream` it accepts to an
/// isolate of its own: owned sockets move between isolates.
#[test]
fn an_acceptor_hands_each_connection_to_an_isolate_of_its_own() {
    async fn connection(mut stream: tokio::net::TcpStream) {
        let mut buffer = [0; 64];
        while let Ok(n @ 1..) = stream.read(&mut buffer).await {
            if stream.write_all(&buffer[..n]).await.is_err() {
                break;
            }
        }
    }
    async fn acceptor(address: SendPort<SocketAddr>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        address.send(listener.local_addr().unwrap()).unwrap();
        while let Ok((stream, _)) = listener.accept().await {
            // Looked up per connection, not held (which would keep the
            // group alive for ever).
            let Some(group) = IsolateGroup::current() else {
                break;
            };
            group.spawn_fn(connection, stream);
        }
    }
    let group = IsolateGroup::builder().workers(2).tokio().build().unwrap();
    let mut address = ReceivePort::new();
    group.spawn_fn(acceptor, address.send_port());
    let address = address.recv_timeout(PATIENCE).unwrap();
    for n in 0..20 {
        let mut stream = std::net::TcpStream::connect(address).unwrap();
        stream.set_read_timeout(Some(PATIENCE)).unwrap();
        let text = format!("connection {n}");
        stream.write_all(text.as_bytes()).unwrap();
        let mut back = vec![0; text.len()];
        stream.read_exact(&mut back).unwrap();
        assert_eq!(back, text.as_bytes());
    }
    // The acceptor and one isolate per connection, each spawned for it.
    assert!(group.stats().spawned >= 21);
}

/// The signals are heard by the library's own thread: with no group left
/// (and none ever built with tokio), a `SIGTERM` still gives the stop. The
/// only test in this binary that signals it: a second `SIGTERM` would end
/// it.
#[cfg(unix)]
#[test]
fn a_sigterm_gives_the_stop_with_no_group_left() {
    let stop = isolate_core::StopSignal::new();
    let group = IsolateGroup::new();
    stop.stop_on_signals().unwrap();
    drop(group);
    assert!(!stop.is_stopped());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &std::process::id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        stop.wait_timeout(PATIENCE),
        Ok(true),
        "SIGTERM did not give the stop"
    );
}

/// A drained group waits for the isolates that finish on the stop signal,
/// and stops only the ones that do not.
#[test]
fn a_drain_waits_for_isolates_that_end_on_the_stop_and_stops_the_rest() {
    use isolate_core::StopSignal;

    async fn finishes_on_stop((stop, done): (StopSignal, SendPort<u32>)) {
        stop.stopped().await;
        // Work after the signal, as a connection finishing its request.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let _ = done.send(1);
    }
    async fn ignores_stop(_: ()) {
        std::future::pending::<()>().await;
    }

    let group = IsolateGroup::builder().workers(2).tokio().build().unwrap();
    let stop = StopSignal::new();
    let mut done = ReceivePort::new();
    for _ in 0..10 {
        group.spawn_fn(finishes_on_stop, (stop.clone(), done.send_port()));
    }
    let stuck = group.spawn_fn(ignores_stop, ());
    stop.stop();
    let report = group.drain(Duration::from_secs(2));
    assert_eq!(report.stopped, 1, "{report:?}");
    assert!(report.is_clean(), "{report:?}");
    assert!(stuck.is_finished());
    let finished: u32 = (0..10).map(|_| done.recv_timeout(PATIENCE).unwrap()).sum();
    assert_eq!(finished, 10);
}

/// A pinned isolate that waits on tokio's timer and a tokio socket: its
/// wake-up comes from inside the reactor, on its own home worker.
#[isolate(pinned)]
struct PinnedClient {
    server: SocketAddr,
    calls: std::rc::Rc<std::cell::Cell<u32>>,
}

#[isolate(pinned)]
impl PinnedClient {
    #[message]
    async fn nap_and_call(&mut self, millis: u64) -> String {
        let calls = std::rc::Rc::clone(&self.calls);
        tokio::time::sleep(Duration::from_millis(millis)).await;
        let mut stream = tokio::net::TcpStream::connect(self.server).await.unwrap();
        stream.write_all(b"pinned").await.unwrap();
        let mut echoed = [0; 6];
        stream.read_exact(&mut echoed).await.unwrap();
        calls.set(calls.get() + 1);
        format!("{} {}", String::from_utf8_lossy(&echoed), calls.get())
    }
}

#[test]
fn a_pinned_isolate_woken_inside_the_reactor_on_its_own_worker_runs() {
    // One worker: it is both the pinned isolate's home and the one that
    // parks in the reactor, where the timer and the socket wake the isolate.
    let group = IsolateGroup::builder().workers(1).tokio().build().unwrap();
    let server = echo_server(5);
    let client = group.spawn_pinned(
        |server| PinnedClient {
            server,
            calls: std::rc::Rc::default(),
        },
        server,
    );
    for n in 1..=5 {
        assert_eq!(
            client.nap_and_call(10).wait_timeout(PATIENCE),
            Ok(format!("pinned {n}"))
        );
    }
}
