//! A TCP chat server on async IO: one isolate per connection, a room
//! isolate that knows the members and passes each line to all of them, and
//! no thread per connection. A client is anything that speaks lines
//! (`nc`), or this program in client mode.
//!
//! ```text
//! cargo run --example chat                               # a server on 127.0.0.1:7878
//! cargo run --example chat -- --client 127.0.0.1:7878    # a client (first line: your name)
//! ```
//!
//! The group runs in a tokio runtime's context (`.tokio()`), so the
//! isolates await tokio's sockets: an acceptor isolate hands each
//! connection's socket to a reader isolate, which moves the socket's
//! writing half into a writer isolate of its own. A thousand connections
//! are a thousand isolates waiting on sockets, and the process keeps its
//! worker threads plus a few (`tests/chat.rs` counts them). The server ends
//! when its stdin closes (Ctrl-D).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};

use isolate_core::prelude::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// One client's writing half: lines from the room go out through it.
#[isolate]
struct Connection {
    writer: OwnedWriteHalf,
}

#[isolate]
impl Connection {
    /// Writes a line to the client. A client that has gone away is
    /// noticed by its reader, which tells the room.
    #[message]
    async fn deliver(&mut self, line: String) {
        let _ = self.writer.write_all(format!("{line}\n").as_bytes()).await;
    }
}

/// The room: who is in it, by connection id.
#[isolate]
#[derive(Default)]
struct Room {
    members: HashMap<u64, (String, ConnectionPort)>,
}

#[isolate]
impl Room {
    #[message]
    fn join(&mut self, id: u64, name: String, connection: ConnectionPort) {
        self.broadcast(format!("* {name} joined"));
        let _ = connection.deliver(format!(
            "* welcome, {name}: {} here",
            self.members.len() + 1
        ));
        self.members.insert(id, (name, connection));
    }

    #[message]
    fn say(&mut self, id: u64, text: String) {
        if let Some((name, _)) = self.members.get(&id) {
            let line = format!("{name}: {text}");
            self.broadcast(line);
        }
    }

    #[message]
    fn leave(&mut self, id: u64) {
        if let Some((name, _)) = self.members.remove(&id) {
            self.broadcast(format!("* {name} left"));
        }
    }

    /// How many are in the room.
    #[message]
    fn count(&self) -> usize {
        self.members.len()
    }
}

impl Room {
    fn broadcast(&self, line: String) {
        for (_, connection) in self.members.values() {
            let _ = connection.deliver(line.clone());
        }
    }
}

/// Accepts connections for ever, each handed to a reader isolate: the
/// socket moves into it.
async fn acceptor(
    (address, room, bound): (String, RoomPort, SendPort<Result<SocketAddr, String>>),
) {
    let listener = match tokio::net::TcpListener::bind(&address).await {
        Ok(listener) => listener,
        Err(error) => {
            let _ = bound.send(Err(format!("cannot listen on {address}: {error}")));
            return;
        }
    };
    let _ = bound.send(listener.local_addr().map_err(|error| error.to_string()));
    for id in 1.. {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Looked up per connection, not held: an isolate that holds its
        // own group keeps it alive for ever.
        let Some(group) = IsolateGroup::current() else {
            return;
        };
        let (reader, writer) = stream.into_split();
        let connection = group.spawn(Connection { writer });
        group.spawn_fn(read_lines, (id, reader, connection, room.clone()));
    }
}

/// A connection's reading half: its first line is the member's name, each
/// later line is said in the room. Any end (a clean close, a reset, a
/// line cut off mid-way) is a leave; nothing here can take the server down.
async fn read_lines(
    (id, reader, connection, room): (u64, OwnedReadHalf, ConnectionPort, RoomPort),
) {
    let mut lines = tokio::io::BufReader::new(reader);
    let Some(name) = next_line(&mut lines).await else {
        return;
    };
    let name = name.trim().chars().take(32).collect::<String>();
    let name = if name.is_empty() {
        format!("guest{id}")
    } else {
        name
    };
    if room.join(id, name, connection).is_err() {
        return;
    }
    while let Some(line) = next_line(&mut lines).await {
        if room.say(id, line).is_err() {
            return;
        }
    }
    let _ = room.leave(id);
}

/// The next complete line. A line cut off by a disconnect is not one:
/// half a message is never said.
async fn next_line(reader: &mut tokio::io::BufReader<OwnedReadHalf>) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line).await {
        Ok(_) if line.ends_with('\n') => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        _ => None,
    }
}

fn serve(address: &str) -> Result<(), Box<dyn std::error::Error>> {
    let group = IsolateGroup::builder().tokio().build()?;
    let room = group.spawn(Room::default());
    let mut bound = ReceivePort::new();
    group.spawn_fn(acceptor, (address.to_owned(), room, bound.send_port()));
    println!("chat: listening on {}", bound.recv()??);
    std::io::stdout().flush()?;
    // The server ends when its stdin closes.
    let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
    Ok(())
}

fn client(address: &str) -> std::io::Result<()> {
    let stream = TcpStream::connect(address)?;
    eprintln!("connected to {address}; type your name, then your messages (Ctrl-D to leave)");
    let incoming = stream.try_clone()?;
    std::thread::spawn(move || {
        for line in BufReader::new(incoming).lines().map_while(Result::ok) {
            println!("{line}");
        }
        std::process::exit(0);
    });
    let mut outgoing = &stream;
    for line in std::io::stdin().lock().lines() {
        writeln!(outgoing, "{}", line?)?;
    }
    stream.shutdown(Shutdown::Both)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, address] if flag == "--client" => Ok(client(address)?),
        [flag, address] if flag == "--address" => serve(address),
        [] => serve("127.0.0.1:7878"),
        _ => {
            eprintln!("usage: chat [--address HOST:PORT] | chat --client HOST:PORT");
            std::process::exit(2);
        }
    }
}
