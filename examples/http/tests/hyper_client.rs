//! A crate built on tokio inside an isolate: hyper's HTTP/1 client, in an
//! async handler of a group built with `.tokio()`, against a local server.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

use http_body_util::{BodyExt, Empty};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use isolate_core::prelude::*;

const PATIENCE: Duration = Duration::from_secs(30);

/// A tiny HTTP/1.1 server on a plain thread: answers each request with the
/// path it asked for.
fn server(requests: usize) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let mut stream = stream.unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request_line = String::new();
            reader.read_line(&mut request_line).unwrap();
            let path = request_line.split(' ').nth(1).unwrap_or("?").to_owned();
            // The headers, up to the blank line.
            let mut line = String::new();
            while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
                line.clear();
            }
            let body = format!("you asked for {path}");
            write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .unwrap();
        }
    });
    address
}

/// Fetches pages over HTTP/1 with hyper, one connection each.
#[isolate]
struct Fetcher {
    server: SocketAddr,
    fetched: u32,
}

#[isolate]
impl Fetcher {
    #[message]
    async fn get(&mut self, path: String) -> Result<(u16, String), String> {
        let result = fetch(self.server, &path)
            .await
            .map_err(|error| error.to_string());
        self.fetched += 1;
        result
    }

    #[message]
    fn fetched(&self) -> u32 {
        self.fetched
    }
}

async fn fetch(
    server: SocketAddr,
    path: &str,
) -> Result<(u16, String), Box<dyn std::error::Error + Send + Sync>> {
    let stream = tokio::net::TcpStream::connect(server).await?;
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    // The connection's own future runs as a tokio task, on the group's
    // runtime: `tokio::spawn` works inside an isolate of a tokio group.
    tokio::spawn(connection);
    let request = hyper::Request::get(path)
        .header(hyper::header::HOST, server.to_string())
        .body(Empty::<Bytes>::new())?;
    let response = sender.send_request(request).await?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await?.to_bytes();
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

#[test]
fn hyper_fetches_pages_from_inside_an_async_handler() {
    let group = IsolateGroup::builder().workers(2).tokio().build().unwrap();
    let fetcher = group.spawn(Fetcher {
        server: server(5),
        fetched: 0,
    });
    for n in 0..5 {
        let path = format!("/page/{n}");
        assert_eq!(
            fetcher.get(path.clone()).wait_timeout(PATIENCE),
            Ok(Ok((200, format!("you asked for {path}"))))
        );
    }
    assert_eq!(fetcher.fetched().wait_timeout(PATIENCE), Ok(5));
}
