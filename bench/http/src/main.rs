//! The HTTP benchmark of issue 18: an isolate-core server (hyper inside
//! isolates of a tokio group) next to axum and actix-web, under `wrk`, and
//! the memory of idle keep-alive connections.
//!
//! ```text
//! http-bench serve <server> <workload> <addr>   # one server, until stdin closes
//! http-bench run [--duration S] [--connections C] [--threads T] [--rounds R] ...
//! http-bench idle [<server>...] [--connections N]
//! ```
//!
//! See README.md beside Cargo.toml.

mod driver;
mod peers;
mod servers;

use std::process::ExitCode;

/// The servers `serve` knows, in the order `run` measures them.
pub const SERVERS: [&str; 4] = ["isolates", "isolates-reuseport", "axum", "actix"];

/// The workloads, in the order `run` measures them.
pub const WORKLOADS: [&str; 2] = ["plaintext", "ask"];

/// What `GET /` answers.
pub const HELLO: &str = "Hello, World!";

const USAGE: &str = "\
usage:
  http-bench serve <isolates|isolates-reuseport|axum|actix> <plaintext|ask> <addr>
  http-bench run [--duration S] [--connections C] [--threads T] [--rounds R]
                 [--warmup S] [--servers a,b] [--workloads a,b]
  http-bench idle [<server>...] [--connections N]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("serve") => match &args[1..] {
            [server, workload, addr] => servers::serve(server, workload, addr),
            _ => Err(USAGE.into()),
        },
        Some("run") => driver::run(&args[1..]),
        Some("idle") => driver::idle(&args[1..]),
        _ => Err(USAGE.into()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("http-bench: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The error type of the whole binary: a message is enough.
pub type Error = Box<dyn std::error::Error + Send + Sync>;
