//! An HTTP server where each connection is an isolate: hyper serves the
//! connection inside it, the counts live in one store isolate that every
//! request asks, and `/stats` reports the group's own introspection as
//! JSON. Ctrl-C (or `SIGTERM`) stops it gracefully: no new connection is
//! accepted, requests in flight finish, and the group is shut down once
//! they have or a grace period ends.
//!
//! ```text
//! cargo run -p examples-http --example http_counter        # on 127.0.0.1:3000
//! curl -X POST localhost:3000/hit/apple                    # {"count":1,"key":"apple"}
//! curl localhost:3000/count/apple                          # {"count":1,"key":"apple"}
//! curl localhost:3000/stats                                # {"connections":1,"hits":1,...}
//! curl localhost:3000/sleep/3000                           # a slow answer: try Ctrl-C meanwhile
//! ```
//!
//! Flags: `--address HOST:PORT` (port 0 picks a free one) and
//! `--grace-ms N`, how long in-flight requests get after the signal
//! (default 10,000). A second signal during the grace period ends the
//! process at once.

use std::collections::HashMap;
use std::convert::Infallible;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Body, Bytes, Frame, Incoming};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use isolate_core::prelude::*;
use isolate_core::{SpawnOptions, StopSignal, time};
use serde_json::json;

/// The counts, by key: the one place they live. Every request that reads
/// or changes one asks this isolate, so no lock guards them.
#[isolate]
#[derive(Default)]
struct Store {
    counts: HashMap<String, u64>,
    hits: u64,
}

#[isolate]
impl Store {
    /// Counts one more `key`; returns its new count.
    #[message]
    fn hit(&mut self, key: String) -> u64 {
        self.hits += 1;
        let count = self.counts.entry(key).or_default();
        *count += 1;
        *count
    }

    #[message]
    fn count(&self, key: String) -> u64 {
        self.counts.get(&key).copied().unwrap_or(0)
    }

    /// How many keys, and how many hits in all.
    #[message]
    fn totals(&self) -> (usize, u64) {
        (self.counts.len(), self.hits)
    }
}

/// What the acceptor and each connection get: the store, and the signal
/// that says to stop. (`#[message]` checks that both may cross isolates.)
#[message]
#[derive(Clone)]
struct Shared {
    store: StorePort,
    stop: StopSignal,
}

/// Binds `address`, says where it listens (or why it cannot), and accepts
/// connections until told to stop; each one's socket moves into an isolate
/// of its own. Dropping the listener on the way out is what makes new
/// connections fail.
async fn accept((address, shared, bound): (String, Shared, SendPort<Result<String, String>>)) {
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(error) => {
            let _ = bound.send(Err(format!("cannot listen on {address}: {error}")));
            return;
        }
    };
    let _ = bound.send(
        listener
            .local_addr()
            .map(|address| address.to_string())
            .map_err(|error| error.to_string()),
    );
    drop(bound);
    let mut stopped = std::pin::pin!(shared.stop.stopped());
    loop {
        let accepted = std::future::poll_fn(|cx| {
            if stopped.as_mut().poll(cx).is_ready() {
                return Poll::Ready(None);
            }
            listener.poll_accept(cx).map(Some)
        })
        .await;
        let stream = match accepted {
            None => return,
            Some(Ok((stream, _))) => stream,
            // A connection reset before it was accepted, or out of file
            // descriptors for a moment: the next accept may well work, but
            // not at once (a full descriptor table stays full until some
            // connection closes, and retrying at once would spin).
            Some(Err(_)) => {
                time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        // Looked up per connection, not held: an isolate that holds its
        // own group keeps the group from ever ending.
        let Some(group) = IsolateGroup::current() else {
            return;
        };
        group.spawn_fn_with(
            connection,
            (stream, shared.clone()),
            SpawnOptions::new().name("connection"),
        );
    }
}

/// One connection, for its whole life: hyper reads requests from it and
/// answers each through [`route`]. On the stop signal the connection
/// finishes the request in flight (if any) and closes.
async fn connection((stream, shared): (tokio::net::TcpStream, Shared)) {
    let store = shared.store.clone();
    let service = hyper::service::service_fn(move |request| route(request, store.clone()));
    let mut serving = std::pin::pin!(
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service)
    );
    let mut stopped = std::pin::pin!(shared.stop.stopped());
    let finished = std::future::poll_fn(|cx| {
        if let Poll::Ready(result) = serving.as_mut().poll(cx) {
            return Poll::Ready(Some(result));
        }
        stopped.as_mut().poll(cx).map(|()| None)
    })
    .await;
    if finished.is_none() {
        // Told to stop: hyper finishes what it is handling and closes
        // (with `connection: close` if the headers have not gone yet),
        // and closes an idle keep-alive connection at once.
        serving.as_mut().graceful_shutdown();
        let _ = serving.await;
    }
}

/// The body of an answer: all at once, or (for `/sleep`) in two parts.
type Answer = Response<Reply>;

/// One request's answer.
async fn route(request: Request<Incoming>, store: StorePort) -> Result<Answer, Infallible> {
    let path = request.uri().path().to_owned();
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let answer = match (request.method(), parts.as_slice()) {
        (&Method::GET, [""]) => answer_text(StatusCode::OK, USAGE),
        (&Method::POST, ["hit", key]) if !key.is_empty() => {
            match store.hit(key.to_string()).await {
                Ok(count) => answer_json(StatusCode::OK, json!({ "key": key, "count": count })),
                Err(error) => unavailable(error),
            }
        }
        (&Method::GET, ["count", key]) if !key.is_empty() => {
            match store.count(key.to_string()).await {
                Ok(count) => answer_json(StatusCode::OK, json!({ "key": key, "count": count })),
                Err(error) => unavailable(error),
            }
        }
        (&Method::GET, ["stats"]) => stats(&store).await,
        (&Method::GET, ["sleep", ms]) => match ms.parse::<u64>() {
            Ok(ms) if ms <= 60_000 => Response::new(Reply::slow(Duration::from_millis(ms))),
            _ => answer_text(StatusCode::BAD_REQUEST, "sleep takes 0 to 60000 ms\n"),
        },
        (_, ["hit" | "count" | "sleep", _] | ["stats"] | [""]) => {
            answer_text(StatusCode::METHOD_NOT_ALLOWED, "wrong method; see GET /\n")
        }
        _ => answer_text(StatusCode::NOT_FOUND, "no such page; see GET /\n"),
    };
    Ok(answer)
}

const USAGE: &str = "\
POST /hit/KEY     counts one more KEY, answers its count
GET  /count/KEY   answers KEY's count
GET  /stats       the group's introspection, as JSON
GET  /sleep/MS    answers after MS milliseconds (to watch a graceful shutdown)
";

/// `/stats`: what the group knows of itself, and the store's totals.
async fn stats(store: &StorePort) -> Answer {
    let totals = store.totals().await;
    // Looked up after the await, not held across it: see `accept`.
    let Some(group) = IsolateGroup::current() else {
        return answer_text(StatusCode::SERVICE_UNAVAILABLE, "the server is stopping\n");
    };
    let stats = group.stats();
    // Every live isolate but the store and the acceptor is a connection
    // (counted without `group.isolates()`, which lists all of them: with
    // 10,000 connections, 10,000 entries per request to `/stats`).
    let connections = stats.live_isolates.saturating_sub(2);
    match totals {
        Ok((keys, hits)) => answer_json(
            StatusCode::OK,
            json!({
                "workers": stats.workers,
                "connections": connections,
                "live_isolates": stats.live_isolates,
                "spawned": stats.spawned,
                "messages_handled": stats.messages_handled,
                "keys": keys,
                "hits": hits,
            }),
        ),
        Err(error) => unavailable(error),
    }
}

fn answer_text(status: StatusCode, body: &'static str) -> Answer {
    let mut response = Response::new(Reply::Now(Full::new(Bytes::from_static(body.as_bytes()))));
    *response.status_mut() = status;
    response
}

fn answer_json(status: StatusCode, value: serde_json::Value) -> Answer {
    let mut response = Response::new(Reply::Now(Full::new(Bytes::from(format!("{value}\n")))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

/// The store is gone: only while the server stops. (The error's text is
/// for the server's log, not for clients.)
fn unavailable(error: ReplyError) -> Answer {
    eprintln!("http_counter: the store did not answer: {error}");
    answer_text(StatusCode::SERVICE_UNAVAILABLE, "the store is gone\n")
}

/// An answer's body. `Slow` sends its first line at once and the rest
/// after a sleep, so a client sees a request that is in flight (and a test
/// can stop the server in the middle of one).
enum Reply {
    Now(Full<Bytes>),
    Slow {
        first: Option<Bytes>,
        sleep: Pin<Box<time::Sleep>>,
        last: Option<Bytes>,
    },
}

impl Reply {
    fn slow(duration: Duration) -> Reply {
        Reply::Slow {
            first: Some(Bytes::from(format!(
                "sleeping {} ms\n",
                duration.as_millis()
            ))),
            sleep: Box::pin(time::sleep(duration)),
            last: Some(Bytes::from_static(b"done\n")),
        }
    }
}

impl Body for Reply {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        match self.get_mut() {
            Reply::Now(full) => Pin::new(full).poll_frame(cx),
            Reply::Slow { first, sleep, last } => {
                if let Some(first) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(first))));
                }
                if last.is_some() {
                    std::task::ready!(sleep.as_mut().poll(cx));
                }
                Poll::Ready(last.take().map(|last| Ok(Frame::data(last))))
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Reply::Now(full) => full.is_end_stream(),
            Reply::Slow { last, .. } => last.is_none(),
        }
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut address = "127.0.0.1:3000".to_owned();
    let mut grace = Duration::from_secs(10);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        match (flag.as_str(), args.next()) {
            ("--address", Some(value)) => address = value,
            ("--grace-ms", Some(value)) => grace = Duration::from_millis(value.parse()?),
            _ => {
                eprintln!("usage: http_counter [--address HOST:PORT] [--grace-ms N]");
                std::process::exit(2);
            }
        }
    }

    let group = IsolateGroup::builder().tokio().build()?;
    let stop = StopSignal::new();
    stop.stop_on_signals()?;
    let shared = Shared {
        store: group.spawn(Store::default()),
        stop: stop.clone(),
    };
    let mut bound = ReceivePort::new();
    group.spawn_fn_with(
        accept,
        (address, shared, bound.send_port()),
        SpawnOptions::new().name("acceptor"),
    );
    println!("http_counter: listening on http://{}", bound.recv()??);

    stop.wait()?;
    println!("http_counter: stopping; in-flight requests have {grace:?}");
    let report = group.drain(grace);
    // Counted by isolates: a connection cut off, and the store it held.
    println!(
        "http_counter: stopped; {} isolate(s) still busy at the deadline",
        report.stopped
    );
    Ok(())
}
