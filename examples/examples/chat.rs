//! A TCP chat server: one isolate per connection, which owns the socket's
//! writing half, and a room isolate, which knows the members and passes
//! each line to all of them. A client is anything that speaks lines (`nc`),
//! or this program in client mode.
//!
//! ```text
//! cargo run --example chat                               # a server on 127.0.0.1:7878
//! cargo run --example chat -- --client 127.0.0.1:7878    # a client (first line: your name)
//! ```
//!
//! Reading a socket blocks, so each connection's reading half has a plain
//! thread that turns lines into messages for the room: the isolates never
//! block on the network waiting for input. The server ends when its stdin
//! closes (Ctrl-D).

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, TcpListener, TcpStream};

use isolate_core::prelude::*;

/// One client: the writing half of its socket.
#[isolate]
struct Connection {
    stream: TcpStream,
}

#[isolate]
impl Connection {
    /// Writes a line to the client. A client that has gone away is
    /// noticed by its reading thread, which tells the room.
    #[message]
    fn deliver(&mut self, line: String) {
        let _ = writeln!(self.stream, "{line}");
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

/// A connection's reading half: its first line is the member's name, each
/// later line is said in the room. Any end (a clean close, a reset, a
/// line cut off mid-way) is a leave; nothing here can take the server down.
fn read_lines(id: u64, stream: TcpStream, group: &IsolateGroup, room: &RoomPort) {
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let mut lines = BufReader::new(stream);
    let Some(name) = next_line(&mut lines) else {
        return;
    };
    let name = name.trim().chars().take(32).collect::<String>();
    let name = if name.is_empty() {
        format!("guest{id}")
    } else {
        name
    };
    let connection = group.spawn(Connection { stream: writer });
    if room.join(id, name, connection).is_err() {
        return;
    }
    while let Some(line) = next_line(&mut lines) {
        if room.say(id, line).is_err() {
            return;
        }
    }
    let _ = room.leave(id);
}

/// The next complete line. A line cut off by a disconnect is not one:
/// half a message is never said.
fn next_line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(_) if line.ends_with('\n') => Some(line.trim_end_matches(['\r', '\n']).to_owned()),
        _ => None,
    }
}

fn serve(address: &str) -> std::io::Result<()> {
    let listener = TcpListener::bind(address)?;
    println!("chat: listening on {}", listener.local_addr()?);
    std::io::stdout().flush()?;
    let group = IsolateGroup::new();
    let room = group.spawn(Room::default());

    // The server ends when its stdin closes.
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });

    for (id, stream) in (1..).zip(listener.incoming()) {
        let Ok(stream) = stream else { continue };
        let (group, room) = (group.clone(), room.clone());
        std::thread::spawn(move || read_lines(id, stream, &group, &room));
    }
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

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [flag, address] if flag == "--client" => client(address),
        [flag, address] if flag == "--address" => serve(address),
        [] => serve("127.0.0.1:7878"),
        _ => {
            eprintln!("usage: chat [--address HOST:PORT] | chat --client HOST:PORT");
            std::process::exit(2);
        }
    }
}
