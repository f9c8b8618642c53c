//! `serve`: binding the listeners, the isolate servers, and the loop that
//! ends a server when its stdin closes.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Write;
use std::net::SocketAddr;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use isolate_core::prelude::*;
use socket2::{Domain, Protocol, Socket, Type};

use crate::{Error, HELLO, SERVERS, WORKLOADS};

/// The listen backlog of every server's socket.
const BACKLOG: i32 = 4096;

/// Runs `server` with `workload` on `addr` until stdin closes.
pub fn serve(server: &str, workload: &str, addr: &str) -> Result<(), Error> {
    if !SERVERS.contains(&server) {
        return Err(format!("unknown server {server:?} (one of {SERVERS:?})").into());
    }
    let ask = match workload {
        "plaintext" => false,
        "ask" => true,
        _ => return Err(format!("unknown workload {workload:?} (one of {WORKLOADS:?})").into()),
    };
    let addr: SocketAddr = addr.parse()?;
    // The server ends when its stdin closes (or when it is killed).
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    match server {
        "isolates" => isolates(addr, ask, false),
        "isolates-reuseport" => isolates(addr, ask, true),
        "axum" => crate::peers::axum(bind(addr, false)?, ask, cores),
        _ => crate::peers::actix(bind(addr, false)?, ask, cores),
    }
}

/// A listening socket on `addr`, non-blocking (as tokio's `from_std` and
/// actix want it), with `SO_REUSEPORT` when `reuse_port`.
pub fn bind(addr: SocketAddr, reuse_port: bool) -> Result<std::net::TcpListener, Error> {
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    socket.bind(&addr.into())?;
    socket.listen(BACKLOG)?;
    socket.set_nonblocking(true)?;
    Ok(socket.into())
}

/// Tells the driver where the server listens.
pub fn announce(addr: SocketAddr) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on {addr}")?;
    stdout.flush()?;
    Ok(())
}

/// The counters of the `ask` workload: one isolate owns them all.
#[isolate]
#[derive(Default)]
struct Store {
    counts: HashMap<String, u64>,
}

#[isolate]
impl Store {
    /// Counts one more hit of `key`; the new count.
    #[message]
    fn hit(&mut self, key: String) -> u64 {
        let count = self.counts.entry(key).or_insert(0);
        *count += 1;
        *count
    }
}

/// The isolate servers: a tokio group, the store isolate (for `ask`), and
/// one acceptor isolate, or one per worker each on a listener of its own
/// bound with `SO_REUSEPORT` (the kernel spreads the connections).
fn isolates(addr: SocketAddr, ask: bool, reuse_port: bool) -> Result<(), Error> {
    let group = IsolateGroup::builder().tokio().build()?;
    let store = ask.then(|| group.spawn(Store::default()));
    let first = bind(addr, reuse_port)?;
    let bound = first.local_addr()?;
    let mut listeners = vec![first];
    if reuse_port {
        // The others on the port the first one got (`addr` may say port 0).
        for _ in 1..group.workers() {
            listeners.push(bind(bound, true)?);
        }
    }
    for listener in listeners {
        group.spawn_fn(acceptor, (listener, store.clone()));
    }
    announce(bound)?;
    // The group lives as long as this thread; the stdin thread ends the
    // process.
    loop {
        std::thread::park();
    }
}

/// Accepts connections for ever, each served by an isolate of its own.
async fn acceptor((listener, store): (std::net::TcpListener, Option<StorePort>)) {
    // Registered with the group's tokio runtime here, inside the isolate.
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("http-bench: acceptor: {error}");
            return;
        }
    };
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // EMFILE and the like: wait a little rather than spin.
                eprintln!("http-bench: accept: {error}");
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        // Looked up per connection, not held: an isolate that holds its
        // own group keeps it alive for ever.
        let Some(group) = IsolateGroup::current() else {
            return;
        };
        group.spawn_fn(connection, (stream, store.clone()));
    }
}

/// One connection, kept alive for as many requests as the client sends:
/// hyper's HTTP/1 server runs in this isolate to the connection's end.
async fn connection((stream, store): (tokio::net::TcpStream, Option<StorePort>)) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request: Request<Incoming>| {
        let store = store.clone();
        async move {
            let path = request.uri().path();
            Ok::<_, Infallible>(respond(request.method() == Method::GET, path, store).await)
        }
    });
    let _ = http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

/// The routes: `GET /` always, `GET /hit/{key}` with a store.
async fn respond(get: bool, path: &str, store: Option<StorePort>) -> Response<Full<Bytes>> {
    if !get {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    if path == "/" {
        return text(Bytes::from_static(HELLO.as_bytes()));
    }
    match (path.strip_prefix("/hit/"), store) {
        (Some(key), Some(store)) if !key.is_empty() && !key.contains('/') => {
            match store.hit(key.to_owned()).await {
                Ok(count) => text(Bytes::from(count.to_string())),
                Err(_) => status(StatusCode::INTERNAL_SERVER_ERROR),
            }
        }
        _ => status(StatusCode::NOT_FOUND),
    }
}

fn text(body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("text/plain"),
    );
    response
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
