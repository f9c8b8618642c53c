//! `run` (every server under wrk, interleaved, in fresh child processes)
//! and `idle` (the memory of idle keep-alive connections).

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::{Error, HELLO, SERVERS, WORKLOADS};

const WRK: &str = "/usr/bin/wrk";

/// How many distinct keys the `ask` workload's script cycles through.
const KEYS: u32 = 1000;

/// A server in a child process (`http-bench serve ...`), killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts `server` with `workload` on a free port of 127.0.0.1 and waits
    /// for its `listening on` line.
    fn start(server: &str, workload: &str) -> Result<Server, Error> {
        let mut child = Command::new(std::env::current_exe()?)
            .args(["serve", server, workload, "127.0.0.1:0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let addr = loop {
            match lines.next() {
                Some(line) => {
                    if let Some(addr) = line?.strip_prefix("listening on ") {
                        break addr.trim().parse::<SocketAddr>()?;
                    }
                }
                None => {
                    let _ = child.kill();
                    let status = child.wait()?;
                    return Err(
                        format!("{server} {workload} ended before listening: {status}").into(),
                    );
                }
            }
        };
        Ok(Server { child, addr })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The value of `--name` in `args`, or `default`.
fn flag<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> Result<T, Error> {
    match args.iter().position(|arg| arg == name) {
        None => Ok(default),
        Some(at) => {
            let value = args
                .get(at + 1)
                .ok_or_else(|| format!("{name} needs a value"))?;
            value
                .parse()
                .map_err(|_| format!("{name}: cannot read {value:?}").into())
        }
    }
}

/// The arguments that are neither flags nor their values.
fn positional(args: &[String]) -> Vec<&str> {
    let mut out = Vec::new();
    let mut arguments = args.iter();
    while let Some(arg) = arguments.next() {
        if arg.starts_with("--") {
            arguments.next();
        } else {
            out.push(arg.as_str());
        }
    }
    out
}

/// A comma-separated list flag, each item checked against `known`.
fn list(args: &[String], name: &str, known: &[&'static str]) -> Result<Vec<&'static str>, Error> {
    let given: String = flag(args, name, known.join(","))?;
    given
        .split(',')
        .map(|item| {
            known
                .iter()
                .find(|known| **known == item)
                .copied()
                .ok_or_else(|| format!("{name}: unknown {item:?} (one of {known:?})").into())
        })
        .collect()
}

/// What one wrk run measured. Latencies in microseconds.
#[derive(Debug, Clone, Copy)]
struct Measured {
    /// Requests completed in the measured run.
    requests: u64,
    rps: f64,
    p50: f64,
    p90: f64,
    p99: f64,
    /// Socket errors (connect, read, write, timeout) plus non-2xx answers.
    errors: u64,
    /// The server's CPU time per request, in microseconds (filled in by
    /// `run`, from `/proc`).
    cpu_per_request: f64,
    /// The server's context switches per request (likewise).
    switches_per_request: f64,
}

/// A wrk latency (`812.00us`, `1.25ms`, `2.00s`, `1.00m`) in microseconds.
fn latency(text: &str) -> Option<f64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1e3)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1e6)
    } else if let Some(n) = text.strip_suffix('m') {
        (n, 60e6)
    } else {
        return None;
    };
    number.parse::<f64>().ok().map(|n| n * scale)
}

/// Reads wrk's report (with `--latency`).
fn parse_wrk(output: &str) -> Result<Measured, Error> {
    let (mut rps, mut p50, mut p90, mut p99, mut errors) = (None, None, None, None, 0);
    let mut requests = None;
    for line in output.lines().map(str::trim) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["Requests/sec:", n] => rps = n.parse::<f64>().ok(),
            [n, "requests", "in", ..] => requests = n.parse::<u64>().ok(),
            ["50%", value] => p50 = latency(value),
            ["90%", value] => p90 = latency(value),
            ["99%", value] => p99 = latency(value),
            ["Socket", "errors:", ..] => {
                errors += line
                    .split(|c: char| !c.is_ascii_digit())
                    .filter_map(|n| n.parse::<u64>().ok())
                    .sum::<u64>();
            }
            ["Non-2xx", "or", "3xx", "responses:", n] => errors += n.parse::<u64>().unwrap_or(0),
            _ => {}
        }
    }
    match (rps, p50, p90, p99, requests) {
        (Some(rps), Some(p50), Some(p90), Some(p99), Some(requests)) => Ok(Measured {
            requests,
            rps,
            p50,
            p90,
            p99,
            errors,
            cpu_per_request: 0.0,
            switches_per_request: 0.0,
        }),
        _ => Err(format!("cannot read wrk's report:\n{output}").into()),
    }
}

/// The knobs of one wrk run.
struct Load<'a> {
    threads: u32,
    connections: u32,
    script: Option<&'a Path>,
}

/// Runs wrk against `url` for `seconds`; its report.
fn wrk(load: &Load<'_>, url: &str, seconds: u32) -> Result<String, Error> {
    let mut command = Command::new(WRK);
    command.args([
        "--latency",
        "-t",
        &load.threads.to_string(),
        "-c",
        &load.connections.to_string(),
        "-d",
        &format!("{seconds}s"),
    ]);
    if let Some(script) = load.script {
        command.arg("-s").arg(script);
    }
    let output = command.arg(url).stderr(Stdio::inherit()).output()?;
    let report = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(format!("wrk failed ({}):\n{report}", output.status).into());
    }
    Ok(report)
}

/// The `ask` workload's wrk script: each request hits one of `KEYS` keys,
/// in turn (each wrk thread counts on its own).
fn write_script() -> Result<PathBuf, Error> {
    let path = std::env::temp_dir().join(format!("http-bench-ask-{}.lua", std::process::id()));
    std::fs::write(
        &path,
        format!(
            "local n = 0\n\
             request = function()\n  \
               n = n + 1\n  \
               return wrk.format(\"GET\", \"/hit/k\" .. (n % {KEYS}))\n\
             end\n"
        ),
    )?;
    Ok(path)
}

/// Microseconds, the way a person reads them.
fn show(micros: f64) -> String {
    if micros >= 1e6 {
        format!("{:.2}s", micros / 1e6)
    } else if micros >= 1e3 {
        format!("{:.2}ms", micros / 1e3)
    } else {
        format!("{micros:.0}us")
    }
}

fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// `run`: every server × workload under wrk, `--rounds` times, each round
/// going through the servers in a rotated order; prints each run and the
/// medians as markdown tables.
pub fn run(args: &[String]) -> Result<(), Error> {
    let seconds: u32 = flag(args, "--duration", 10)?;
    let connections: u32 = flag(args, "--connections", 64)?;
    let threads: u32 = flag(args, "--threads", 1)?;
    let rounds: usize = flag(args, "--rounds", 2)?;
    let warmup: u32 = flag(args, "--warmup", 2)?;
    let servers = list(args, "--servers", &SERVERS)?;
    let workloads = list(args, "--workloads", &WORKLOADS)?;
    let script = write_script()?;
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!(
        "wrk --latency -t {threads} -c {connections} -d {seconds}s (after a {warmup} s warm-up), \
         {rounds} rounds, {cores} cores; `ask` cycles over {KEYS} keys with a wrk script\n"
    );
    // (server, workload, round, measured)
    let mut results: Vec<(&str, &str, usize, Measured)> = Vec::new();
    for round in 0..rounds {
        for &workload in &workloads {
            for at in 0..servers.len() {
                let server = servers[(at + round) % servers.len()];
                eprintln!("round {}: {server} {workload}", round + 1);
                let child = Server::start(server, workload)?;
                let path = if workload == "ask" { "/hit/k0" } else { "/" };
                let url = format!("http://{}{path}", child.addr);
                let load = Load {
                    threads,
                    connections,
                    script: (workload == "ask").then_some(script.as_path()),
                };
                if warmup > 0 {
                    wrk(&load, &url, warmup)?;
                }
                let before = usage(child.pid())?;
                let report = wrk(&load, &url, seconds)?;
                let after = usage(child.pid())?;
                let mut measured = parse_wrk(&report)?;
                let requests = measured.requests.max(1) as f64;
                measured.cpu_per_request = (after.cpu - before.cpu).as_secs_f64() * 1e6 / requests;
                measured.switches_per_request =
                    after.switches.saturating_sub(before.switches) as f64 / requests;
                drop(child);
                results.push((server, workload, round + 1, measured));
            }
        }
    }
    let _ = std::fs::remove_file(&script);

    let axum_of = |workload: &str, round: usize| {
        results
            .iter()
            .find(|(s, w, r, _)| *s == "axum" && *w == workload && *r == round)
            .map(|(.., m)| *m)
    };
    println!("### Each run\n");
    println!(
        "| server | workload | run | req/s | p50 | p90 | p99 | req/s vs axum | p99 vs axum | server CPU/req | switches/req | errors |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for &workload in &workloads {
        for &server in &servers {
            for (_, _, round, m) in results
                .iter()
                .filter(|(s, w, ..)| *s == server && *w == workload)
            {
                let (rps_ratio, p99_ratio) = match axum_of(workload, *round) {
                    Some(axum) => (
                        format!("{:.2}", m.rps / axum.rps),
                        format!("{:.2}", m.p99 / axum.p99),
                    ),
                    None => ("-".into(), "-".into()),
                };
                println!(
                    "| {server} | {workload} | {round} | {:.0} | {} | {} | {} | {rps_ratio} | {p99_ratio} | {:.1}us | {:.2} | {} |",
                    m.rps,
                    show(m.p50),
                    show(m.p90),
                    show(m.p99),
                    m.cpu_per_request,
                    m.switches_per_request,
                    m.errors
                );
            }
        }
    }

    let medians = |server: &str, workload: &str| {
        let runs: Vec<Measured> = results
            .iter()
            .filter(|(s, w, ..)| *s == server && *w == workload)
            .map(|(.., m)| *m)
            .collect();
        let pick = |f: fn(&Measured) -> f64| median(&mut runs.iter().map(f).collect::<Vec<_>>());
        (
            pick(|m| m.rps),
            pick(|m| m.p50),
            pick(|m| m.p99),
            pick(|m| m.cpu_per_request),
        )
    };
    println!("\n### Median of {rounds} runs\n");
    println!(
        "| server | workload | req/s | p50 | p99 | req/s vs axum | p99 vs axum | server CPU/req | CPU/req vs axum |"
    );
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for &workload in &workloads {
        let axum = servers.contains(&"axum").then(|| medians("axum", workload));
        for &server in &servers {
            let (rps, p50, p99, cpu) = medians(server, workload);
            let (rps_ratio, p99_ratio, cpu_ratio) = match axum {
                Some((axum_rps, _, axum_p99, axum_cpu)) => (
                    format!("{:.2}", rps / axum_rps),
                    format!("{:.2}", p99 / axum_p99),
                    format!("{:.2}", cpu / axum_cpu),
                ),
                None => ("-".into(), "-".into(), "-".into()),
            };
            println!(
                "| {server} | {workload} | {rps:.0} | {} | {} | {rps_ratio} | {p99_ratio} | {cpu:.1}us | {cpu_ratio} |",
                show(p50),
                show(p99)
            );
        }
    }
    Ok(())
}

/// `VmRSS` (in bytes) and `Threads` of process `pid`.
fn status(pid: u32) -> Result<(u64, u64), Error> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let field = |name: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| format!("no {name} in /proc/{pid}/status"))
    };
    Ok((field("VmRSS:")? * 1024, field("Threads:")?))
}

/// What process `pid` has used so far: CPU time (user + system, all its
/// threads, from `/proc/<pid>/stat`, in clock ticks of 10 ms) and context
/// switches (voluntary + involuntary, summed over `/proc/<pid>/task/*`).
#[derive(Debug, Clone, Copy)]
struct Usage {
    cpu: Duration,
    switches: u64,
}

/// The clock tick of `/proc/<pid>/stat` (`getconf CLK_TCK`: 100 on Linux).
const TICK: Duration = Duration::from_millis(10);

fn usage(pid: u32) -> Result<Usage, Error> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The fields after the command's closing parenthesis, from `state` on:
    // utime and stime are the 14th and 15th of the whole line.
    let after = stat.rsplit_once(')').ok_or("odd /proc/<pid>/stat")?.1;
    let fields: Vec<u64> = after
        .split_whitespace()
        .skip(1)
        .map(|field| field.parse().unwrap_or(0))
        .collect();
    let ticks = fields.get(10).copied().unwrap_or(0) + fields.get(11).copied().unwrap_or(0);
    let mut switches = 0;
    for task in std::fs::read_dir(format!("/proc/{pid}/task"))? {
        let Ok(text) = std::fs::read_to_string(task?.path().join("status")) else {
            continue; // a thread that ended meanwhile
        };
        switches += text
            .lines()
            .filter(|line| line.contains("ctxt_switches:"))
            .filter_map(|line| line.split_whitespace().nth(1)?.parse::<u64>().ok())
            .sum::<u64>();
    }
    Ok(Usage {
        cpu: TICK * u32::try_from(ticks).unwrap_or(u32::MAX),
        switches,
    })
}

/// Sends one `GET /` on `stream` and reads the whole answer.
async fn request(stream: &mut TcpStream) -> std::io::Result<()> {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut answer = Vec::with_capacity(256);
    let mut buffer = [0; 512];
    while !answer.ends_with(HELLO.as_bytes()) {
        let n = stream.read(&mut buffer).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        answer.extend_from_slice(&buffer[..n]);
    }
    if !answer.starts_with(b"HTTP/1.1 200") {
        return Err(std::io::Error::other("not a 200"));
    }
    Ok(())
}

/// A new connection to `addr` that has had one request answered.
async fn open(addr: SocketAddr) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    tokio::time::timeout(Duration::from_secs(30), request(&mut stream))
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    Ok(stream)
}

/// How many connections are opened at once.
const OPENING: usize = 256;

/// `idle`: the memory and threads that N idle keep-alive connections cost
/// each server.
pub fn idle(args: &[String]) -> Result<(), Error> {
    let n: usize = flag(args, "--connections", 10_000)?;
    let mut servers = positional(args);
    if servers.is_empty() {
        servers = vec!["isolates", "axum", "actix"];
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    println!("{n} idle keep-alive connections, each after one `GET /` answered\n");
    println!(
        "| server | connections | still alive | VmRSS before | VmRSS after | bytes/connection | threads before | threads after |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    for server in servers {
        eprintln!("idle: {server}");
        let child = Server::start(server, "plaintext")?;
        // The warm-up: every worker has served, every lazy allocation is made.
        wrk(
            &Load {
                threads: 1,
                connections: 64,
                script: None,
            },
            &format!("http://{}/", child.addr),
            1,
        )?;
        std::thread::sleep(Duration::from_secs(1));
        let (rss_before, threads_before) = status(child.pid())?;
        let addr = child.addr;
        let (opened, alive, rss_after, threads_after) = runtime.block_on(async {
            let mut streams = Vec::with_capacity(n);
            while streams.len() < n {
                let mut opening = tokio::task::JoinSet::new();
                for _ in 0..OPENING.min(n - streams.len()) {
                    opening.spawn(open(addr));
                }
                while let Some(opened) = opening.join_next().await {
                    streams.push(opened??);
                }
            }
            // Let the server settle (an acceptor's backlog, lazy frees).
            tokio::time::sleep(Duration::from_secs(2)).await;
            let (rss, threads) = status(child.pid())?;
            // Still served: a second request on every connection (closed
            // after it: the memory is measured).
            let opened = streams.len();
            let mut alive = 0;
            let mut streams = streams.into_iter();
            loop {
                let mut asking = tokio::task::JoinSet::new();
                for mut stream in streams.by_ref().take(OPENING) {
                    asking.spawn(async move {
                        tokio::time::timeout(Duration::from_secs(30), request(&mut stream))
                            .await
                            .is_ok_and(|answered| answered.is_ok())
                    });
                }
                if asking.is_empty() {
                    break;
                }
                while let Some(ok) = asking.join_next().await {
                    alive += usize::from(ok?);
                }
            }
            Ok::<_, Error>((opened, alive, rss, threads))
        })?;
        drop(child);
        let per = (rss_after as f64 - rss_before as f64) / opened as f64;
        println!(
            "| {server} | {opened} | {alive} | {:.1} MiB | {:.1} MiB | {per:.0} | {threads_before} | {threads_after} |",
            rss_before as f64 / 1048576.0,
            rss_after as f64 / 1048576.0,
        );
    }
    Ok(())
}
