//! A crawler: K fetcher isolates GET pages with hyper's HTTP/1 client, each
//! request bounded by a timeout, while a coordinator hands out the URLs
//! (never more than K in flight), follows the links it finds and drives a
//! progress bar. With no URLs it crawls a site of its own, served by hyper
//! in another group: some pages link to others, some only have a body, a
//! few answer with an error and a few are too slow for the timeout.
//!
//! ```text
//! cargo run -p examples-http --example crawl                      # the local site, 200 pages
//! cargo run -p examples-http --example crawl -- --concurrency 32 --pages 2000 --timeout-ms 500
//! cargo run -p examples-http --example crawl -- http://example.com/   # http:// only, no TLS
//! ```
//!
//! Each fetcher owns its keep-alive socket, one per host: hyper borrows it
//! for one exchange and hands it back, so the connection is the isolate's
//! state like any other field, and a request that times out takes its
//! socket down with it. The coordinator is the main thread; a fetcher
//! answers on the coordinator's port rather than to an ask, so one
//! `recv` waits for whichever fetcher finishes first, and that fetcher is
//! the one given the next URL. Flags: `--concurrency K` (8),
//! `--timeout-ms T` (2000), `--pages N` (200, for the local site),
//! `--max-pages M` (every page of the local site, or 1000), `--quiet`.

use std::collections::{HashMap, HashSet, VecDeque};
use std::convert::Infallible;
use std::fmt;
use std::future::poll_fn;
use std::net::SocketAddr;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Empty, Full, Limited};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::TokioIo;
use indicatif::{ProgressBar, ProgressStyle};
use isolate_core::prelude::*;
use isolate_core::time::{self, Elapsed};
use tokio::net::TcpStream;

/// A body past this is refused: one page must not fill the coordinator's
/// memory.
const MAX_BODY: usize = 8 << 20;

/// How long the coordinator waits past the timeout for the next result.
/// Every fetch ends by its timeout, so a result that is later still means a
/// fetcher is gone (it panicked), and the crawl fails instead of hanging.
const GRACE: Duration = Duration::from_secs(10);

/// What the crawl is told, from the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Where the crawl starts; empty, the local site is served and crawled.
    pub urls: Vec<String>,
    /// Fetcher isolates: the most requests in flight at once.
    pub concurrency: usize,
    /// Per request, the connection included.
    pub timeout: Duration,
    /// The local site's size.
    pub pages: usize,
    /// The most pages fetched; links found past that are not followed.
    pub max_pages: usize,
    pub quiet: bool,
}

pub const USAGE: &str = "usage: crawl [--concurrency K] [--timeout-ms T] [--pages N] \
                         [--max-pages M] [--quiet] [http://URL ...]";

/// Parses the flags after the program's name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options {
        urls: Vec::new(),
        concurrency: 8,
        timeout: Duration::from_millis(2000),
        pages: 200,
        max_pages: 0,
        quiet: false,
    };
    let mut max_pages = None;
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let mut number = |max: usize| {
            let value = args.next().ok_or(format!("{arg} needs a value"))?;
            value
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or(format!(
                    "{arg} takes a number from 1 to {max}, not {value:?}"
                ))
        };
        match arg.as_str() {
            "--concurrency" => options.concurrency = number(1024)?,
            "--timeout-ms" => options.timeout = Duration::from_millis(number(600_000)? as u64),
            "--pages" => options.pages = number(1_000_000)?,
            "--max-pages" => max_pages = Some(number(1_000_000_000)?),
            "--quiet" => options.quiet = true,
            flag if flag.starts_with("--") => return Err(format!("unknown flag {flag}")),
            url => {
                Target::parse(url)?;
                options.urls.push(url.to_owned());
            }
        }
    }
    let default_max = if options.urls.is_empty() {
        options.pages
    } else {
        1000
    };
    options.max_pages = max_pages.unwrap_or(default_max);
    Ok(options)
}

/// An `http://` URL, split the way a request needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    /// `host:port`, to connect to; also the key of a kept connection.
    address: String,
    /// The `Host` header: the port only if the URL gave one.
    host: String,
    path: String,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let uri: hyper::Uri = url
            .parse()
            .map_err(|error| format!("{url:?} is not a URL: {error}"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => {
                return Err(format!(
                    "{url}: https needs TLS, which this example leaves out"
                ));
            }
            _ => return Err(format!("{url}: only http:// URLs")),
        }
        let authority = uri.authority().ok_or(format!("{url}: no host"))?;
        let host = match authority.port_u16() {
            Some(port) => format!("{}:{port}", authority.host()),
            None => authority.host().to_owned(),
        };
        Ok(Target {
            address: format!(
                "{}:{}",
                authority.host(),
                authority.port_u16().unwrap_or(80)
            ),
            host,
            path: uri
                .path_and_query()
                .map_or("/", |path| path.as_str())
                .to_owned(),
        })
    }

    /// The URL in one spelling, so that a page is known by one name:
    /// `http://host` and a link to `/` on it are the same page.
    fn url(&self) -> String {
        format!("http://{}{}", self.host, self.path)
    }
}

/// What became of one URL.
#[message]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// An answer, whatever its status.
    Response { status: u16, body: Vec<u8> },
    /// No answer: the connection, the protocol or the body failed. As text:
    /// an `io::Error` or a hyper error may hold anything, and cannot cross.
    Failed(String),
    /// No answer within the timeout.
    TimedOut,
}

/// A fetcher's report on one URL, sent to the coordinator's port.
#[message]
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Which fetcher is free again.
    pub fetcher: usize,
    pub url: String,
    pub outcome: Outcome,
    pub elapsed: Duration,
}

impl Fetched {
    /// A response below 400: the page is there.
    pub fn is_fetched(&self) -> bool {
        matches!(self.outcome, Outcome::Response { status, .. } if status < 400)
    }

    pub fn is_timed_out(&self) -> bool {
        self.outcome == Outcome::TimedOut
    }

    pub fn is_failed(&self) -> bool {
        !self.is_fetched() && !self.is_timed_out()
    }

    /// Why the page is not there, for a failed one.
    fn reason(&self) -> String {
        match &self.outcome {
            Outcome::Response { status, .. } => match StatusCode::from_u16(*status) {
                Ok(code) => format!("HTTP {code}"),
                Err(_) => format!("HTTP {status}"),
            },
            Outcome::Failed(error) => error.clone(),
            Outcome::TimedOut => "timed out".to_owned(),
        }
    }
}

/// Fetches one URL at a time: the coordinator never gives a fetcher a
/// second before its first is done, so K fetchers are K requests in flight.
#[isolate]
pub struct Fetcher {
    id: usize,
    timeout: Duration,
    /// An idle keep-alive connection per host. Owned sockets are
    /// `Sendable`; hyper's connection types are not, so what is kept
    /// between requests is the socket itself.
    idle: HashMap<String, TcpStream>,
}

#[isolate]
impl Fetcher {
    #[message]
    async fn fetch(&mut self, url: String, done: SendPort<Fetched>) {
        let start = Instant::now();
        // On a timeout the request's future is dropped, and the connection
        // it had taken out of `idle` with it: a half-read response is never
        // left on a socket that would be used again.
        let outcome = match time::timeout(self.timeout, self.get(&url)).await {
            Ok(Ok((status, body))) => Outcome::Response { status, body },
            Ok(Err(error)) => Outcome::Failed(error),
            Err(Elapsed) => Outcome::TimedOut,
        };
        let _ = done.send(Fetched {
            fetcher: self.id,
            url,
            outcome,
            elapsed: start.elapsed(),
        });
    }
}

impl Fetcher {
    pub fn new(id: usize, timeout: Duration) -> Fetcher {
        Fetcher {
            id,
            timeout,
            idle: HashMap::new(),
        }
    }

    /// GETs `url`, on the idle connection to its host if there is one.
    async fn get(&mut self, url: &str) -> Result<(u16, Vec<u8>), String> {
        let target = Target::parse(url)?;
        if let Some(stream) = self.idle.remove(&target.address) {
            // A server may close an idle connection at any time: a request
            // that fails on a kept one is made again on a fresh one (a GET
            // may be repeated).
            if let Ok(exchange) = exchange(stream, &target).await {
                return Ok(self.keep(&target, exchange));
            }
        }
        let stream = TcpStream::connect(&target.address)
            .await
            .map_err(|error| format!("cannot connect to {}: {error}", target.address))?;
        let _ = stream.set_nodelay(true);
        let exchange = exchange(stream, &target)
            .await
            .map_err(|error| describe(&*error))?;
        Ok(self.keep(&target, exchange))
    }

    fn keep(&mut self, target: &Target, exchange: Exchange) -> (u16, Vec<u8>) {
        if let Some(stream) = exchange.reusable {
            self.idle.insert(target.address.clone(), stream);
        }
        (exchange.status, exchange.body)
    }
}

/// One request and its response, and the socket if it can carry another.
struct Exchange {
    status: u16,
    body: Vec<u8>,
    reusable: Option<TcpStream>,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// GETs `target` over `stream` with hyper's HTTP/1 client.
async fn exchange(stream: TcpStream, target: &Target) -> Result<Exchange, BoxError> {
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    let request = Request::get(target.path.as_str())
        .header(header::HOST, target.host.as_str())
        .header(header::USER_AGENT, "isolate-core-crawl/0.1")
        .body(Empty::<Bytes>::new())?;
    let response = async move {
        let response = sender.send_request(request).await?;
        let keep_alive = response.version() == hyper::Version::HTTP_11
            && !response
                .headers()
                .get(header::CONNECTION)
                .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"close"));
        let status = response.status().as_u16();
        let body = Limited::new(response.into_body(), MAX_BODY)
            .collect()
            .await?
            .to_bytes();
        // `sender` is dropped here: the connection, now idle with nobody to
        // send on it, ends and hands its socket back.
        Ok::<_, BoxError>((status, Vec::from(body), keep_alive))
    };
    // The connection is driven here, beside the request, rather than in a
    // tokio task: it stays inside this isolate, and ends within the fetch's
    // timeout. `without_shutdown` gives the socket back instead of closing it.
    let mut connection = pin!(connection.without_shutdown());
    let mut response = pin!(response);
    let mut ended = None;
    let (status, body, keep_alive) = poll_fn(|cx| {
        if ended.is_none()
            && let Poll::Ready(parts) = connection.as_mut().poll(cx)
        {
            // It failed (the request then fails too), or it was done.
            ended = Some(parts);
        }
        response.as_mut().poll(cx)
    })
    .await?;
    let parts = match ended {
        Some(parts) => parts,
        None => connection.await,
    };
    let reusable = match parts {
        // Bytes read past the response would be the start of something
        // nobody asked for: such a socket is not used again.
        Ok(parts) if keep_alive && parts.read_buf.is_empty() => Some(parts.io.into_inner()),
        _ => None,
    };
    Ok(Exchange {
        status,
        body,
        reusable,
    })
}

/// An error and its sources, as one line: hyper's own messages are short
/// ("connection closed before message completed"), the cause is below.
fn describe(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The links of an HTML body that stay on one of `hosts`, as absolute
/// URLs in their one spelling:
/// `href="http://..."` and `href="/..."`; relative paths and other schemes
/// are left out, and fragments cut off.
fn links(base: &Target, body: &[u8], hosts: &HashSet<String>) -> Vec<String> {
    let body = String::from_utf8_lossy(body);
    let mut found = Vec::new();
    for piece in body.split("href=\"").skip(1) {
        let Some((link, _)) = piece.split_once('"') else {
            continue;
        };
        let link = link.split('#').next().unwrap_or_default();
        let url = if link.starts_with("http://") {
            link.to_owned()
        } else if link.starts_with('/') && !link.starts_with("//") {
            format!("http://{}{link}", base.host)
        } else {
            continue;
        };
        if let Ok(target) = Target::parse(&url)
            && hosts.contains(&target.address)
        {
            found.push(target.url());
        }
    }
    found
}

/// The end of a crawl: every URL it fetched, in the order they finished.
#[derive(Debug, Clone)]
pub struct Summary {
    pub pages: Vec<Fetched>,
    pub elapsed: Duration,
    pub concurrency: usize,
    pub timeout: Duration,
}

impl Summary {
    pub fn fetched(&self) -> usize {
        self.pages.iter().filter(|page| page.is_fetched()).count()
    }

    pub fn failed(&self) -> usize {
        self.pages.iter().filter(|page| page.is_failed()).count()
    }

    pub fn timed_out(&self) -> usize {
        self.pages.iter().filter(|page| page.is_timed_out()).count()
    }

    /// Body bytes received, error pages included.
    pub fn bytes(&self) -> usize {
        self.pages
            .iter()
            .map(|page| match &page.outcome {
                Outcome::Response { body, .. } => body.len(),
                _ => 0,
            })
            .sum()
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.elapsed.as_secs_f64();
        writeln!(
            f,
            "crawl: {} pages in {seconds:.2} s ({:.1} requests/s), {} fetcher{}, {} ms timeout",
            self.pages.len(),
            self.pages.len() as f64 / seconds.max(1e-9),
            self.concurrency,
            if self.concurrency == 1 { "" } else { "s" },
            self.timeout.as_millis()
        )?;
        let fetched: Vec<_> = self.pages.iter().filter(|page| page.is_fetched()).collect();
        let mean = fetched.iter().map(|page| page.elapsed).sum::<Duration>()
            / u32::try_from(fetched.len().max(1)).unwrap_or(u32::MAX);
        writeln!(
            f,
            "  fetched:   {} (mean {:.1} ms)",
            fetched.len(),
            mean.as_secs_f64() * 1e3
        )?;
        writeln!(f, "  failed:    {}", self.failed())?;
        // By reason, most frequent first, each with the first URL it hit.
        let mut reasons: Vec<(String, usize, &str)> = Vec::new();
        for page in self.pages.iter().filter(|page| page.is_failed()) {
            let reason = page.reason();
            match reasons.iter_mut().find(|(known, ..)| *known == reason) {
                Some((_, count, _)) => *count += 1,
                None => reasons.push((reason, 1, &page.url)),
            }
        }
        reasons.sort_by_key(|&(_, count, _)| std::cmp::Reverse(count));
        for (reason, count, url) in reasons.iter().take(5) {
            writeln!(f, "    {count} × {reason} (first: {url})")?;
        }
        if reasons.len() > 5 {
            writeln!(f, "    and {} more reasons", reasons.len() - 5)?;
        }
        writeln!(f, "  timed out: {}", self.timed_out())?;
        writeln!(f, "  bytes:     {}", self.bytes())
    }
}

/// Why a crawl could not finish.
#[derive(Debug)]
pub enum CrawlError {
    /// The fetchers' group could not start.
    Group(isolate_core::BuildError),
    /// A fetcher's port is closed: its isolate is gone (it panicked).
    FetcherGone(usize),
    /// No result for longer than any fetch can take: a fetcher is gone.
    Stalled(Duration),
}

impl fmt::Display for CrawlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CrawlError::Group(error) => write!(f, "cannot start the fetchers: {error}"),
            CrawlError::FetcherGone(id) => write!(f, "fetcher {id} is gone (it panicked)"),
            CrawlError::Stalled(waited) => write!(
                f,
                "no fetcher answered for {} ms, though each request ends by its timeout",
                waited.as_millis()
            ),
        }
    }
}

impl std::error::Error for CrawlError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            CrawlError::Group(error) => Some(error),
            CrawlError::FetcherGone(_) | CrawlError::Stalled(_) => None,
        }
    }
}

/// Crawls from `options.urls` (those `parse_args` would refuse are left
/// out), following links on their hosts, with `options.concurrency`
/// fetchers, until no page is left or `options.max_pages` are done.
pub fn crawl(options: &Options) -> Result<Summary, CrawlError> {
    let start = Instant::now();
    let group = IsolateGroup::builder()
        .name("crawl")
        .tokio()
        .build()
        .map_err(CrawlError::Group)?;
    let fetchers: Vec<FetcherPort> = (0..options.concurrency)
        .map(|id| group.spawn(Fetcher::new(id, options.timeout)))
        .collect();
    let seeds: Vec<Target> = options
        .urls
        .iter()
        .filter_map(|url| Target::parse(url).ok())
        .collect();
    let hosts: HashSet<String> = seeds.iter().map(|seed| seed.address.clone()).collect();
    let mut seen = HashSet::new();
    let mut queue = VecDeque::new();
    for url in seeds.iter().map(Target::url) {
        if seen.len() < options.max_pages && seen.insert(url.clone()) {
            queue.push_back(url);
        }
    }
    let progress = if options.quiet {
        ProgressBar::hidden()
    } else {
        // Draws on stderr, and only if it is a terminal.
        ProgressBar::new(queue.len() as u64).with_style(
            ProgressStyle::with_template("{bar:40} {pos}/{len} pages {msg} [{elapsed}]")
                .expect("a valid template"),
        )
    };

    let mut done = ReceivePort::new();
    let mut free: Vec<usize> = (0..fetchers.len()).rev().collect();
    let mut in_flight = 0;
    let mut pages = Vec::new();
    let (mut failed, mut timed_out) = (0, 0);
    loop {
        while let Some(url) = queue.front()
            && let Some(&id) = free.last()
        {
            // Sent, never queued behind another: a fetcher has at most one
            // URL, so a slow page holds up its own fetcher only.
            if fetchers[id].fetch(url.clone(), done.send_port()).is_err() {
                return Err(CrawlError::FetcherGone(id));
            }
            queue.pop_front();
            free.pop();
            in_flight += 1;
        }
        if in_flight == 0 {
            break;
        }
        let patience = options.timeout + GRACE;
        let fetched = done
            .recv_timeout(patience)
            .map_err(|_| CrawlError::Stalled(patience))?;
        in_flight -= 1;
        free.push(fetched.fetcher);
        if let (Outcome::Response { body, .. }, Ok(base)) =
            (&fetched.outcome, Target::parse(&fetched.url))
        {
            for link in links(&base, body, &hosts) {
                if seen.len() < options.max_pages && seen.insert(link.clone()) {
                    queue.push_back(link);
                    progress.inc_length(1);
                }
            }
        }
        failed += usize::from(fetched.is_failed());
        timed_out += usize::from(fetched.is_timed_out());
        progress.set_message(format!("({failed} failed, {timed_out} timed out)"));
        progress.inc(1);
        pages.push(fetched);
    }
    progress.finish_and_clear();
    Ok(Summary {
        pages,
        elapsed: start.elapsed(),
        concurrency: options.concurrency,
        timeout: options.timeout,
    })
}

/// The local site: pages `0..pages`, page 0 at `/`, the others at
/// `/page/{n}`. Page `n` links to pages `2n + 1` and `2n + 2`, its parent and
/// one more, so a crawl from `/` finds them all (and most more than once);
/// pages without children only have a body. A few of those answer with an
/// error, and a few take `slow` to answer.
#[message]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Site {
    pub pages: usize,
    /// How long the slowest of the ordinary pages takes, as over a
    /// network; the others take a quarter, a half or three quarters of it.
    pub latency: Duration,
    pub slow: Duration,
}

impl Site {
    /// How long `page` takes to answer.
    pub fn delay(&self, page: usize) -> Duration {
        if self.is_slow(page) {
            self.slow
        } else {
            self.latency * (page % 4 + 1) as u32 / 4
        }
    }

    pub fn path(&self, page: usize) -> String {
        match page {
            0 => "/".to_owned(),
            n => format!("/page/{n}"),
        }
    }

    /// The page at `path`, if there is one (`/page/0` is not: page 0 has one
    /// address, so a crawl cannot fetch it twice).
    pub fn page_at(&self, path: &str) -> Option<usize> {
        let page = match path {
            "/" => 0,
            path => path
                .strip_prefix("/page/")?
                .parse::<usize>()
                .ok()
                .filter(|&n| n > 0)?,
        };
        (page < self.pages).then_some(page)
    }

    fn is_leaf(&self, page: usize) -> bool {
        2 * page + 1 >= self.pages
    }

    /// Slow and broken pages are leaves, so no page is found only through
    /// one of them.
    pub fn is_slow(&self, page: usize) -> bool {
        self.is_leaf(page) && page % 20 == 7
    }

    /// Answers 500.
    pub fn is_broken(&self, page: usize) -> bool {
        self.is_leaf(page) && page % 20 == 13
    }

    pub fn body(&self, page: usize) -> String {
        let mut body = format!(
            "<!doctype html>\n<title>page {page}</title>\n<h1>page {page} of {}</h1>\n",
            self.pages
        );
        for _ in 0..=page % 7 {
            body.push_str("<p>An isolate owns its state and talks through ports.</p>\n");
        }
        if !self.is_leaf(page) {
            let parent = page.saturating_sub(1) / 2;
            let other = (page * 7 + 3) % self.pages;
            for link in [2 * page + 1, 2 * page + 2, parent, other] {
                if link < self.pages {
                    body.push_str(&format!(
                        "<a href=\"{}\">page {link}</a>\n",
                        self.path(link)
                    ));
                }
            }
        }
        body
    }
}

/// What the server saw.
#[message]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ServerReport {
    pub connections: u64,
    /// Requests answered at once (every page but the slow ones).
    pub answered: u64,
    /// The most answered-at-once requests in progress at one time.
    pub peak_in_flight: usize,
}

/// The server's counts, in an isolate of their own: connection isolates
/// report to it, as they share nothing.
#[isolate]
#[derive(Default)]
struct Counts {
    in_flight: usize,
    report: ServerReport,
}

#[isolate]
impl Counts {
    #[message]
    fn connected(&mut self) {
        self.report.connections += 1;
    }

    #[message]
    fn started(&mut self) {
        self.in_flight += 1;
        self.report.peak_in_flight = self.report.peak_in_flight.max(self.in_flight);
    }

    #[message]
    fn answered(&mut self) {
        self.in_flight -= 1;
        self.report.answered += 1;
    }

    #[message]
    fn report(&self) -> ServerReport {
        self.report
    }
}

/// The local site, served by hyper in a group of its own: an acceptor
/// isolate and an isolate per connection. Dropping it stops the server,
/// slow pages still asleep included.
pub struct PageServer {
    address: SocketAddr,
    counts: CountsPort,
    _group: IsolateGroup,
}

impl PageServer {
    pub fn start(site: Site) -> Result<PageServer, Box<dyn std::error::Error>> {
        let group = IsolateGroup::builder().name("site").tokio().build()?;
        // Bound here, so that the address is known before anything runs.
        let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
        listener.set_nonblocking(true)?;
        let address = listener.local_addr()?;
        let counts = group.spawn(Counts::default());
        group.spawn_fn(accept, (listener, site, counts.clone()));
        Ok(PageServer {
            address,
            counts,
            _group: group,
        })
    }

    /// The site's first page, where a crawl starts.
    pub fn url(&self) -> String {
        format!("http://{}/", self.address)
    }

    pub fn report(&self) -> Result<ServerReport, ReplyError> {
        self.counts.report().wait_timeout(Duration::from_secs(10))
    }
}

async fn accept((listener, site, counts): (std::net::TcpListener, Site, CountsPort)) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        // Looked up per connection, not held: an isolate that holds its
        // own group keeps it alive for ever.
        let Some(group) = IsolateGroup::current() else {
            return;
        };
        let _ = counts.connected();
        let _ = stream.set_nodelay(true);
        group.spawn_fn(serve, (stream, site, counts.clone()));
    }
}

/// One connection, for as long as its client keeps it.
async fn serve((stream, site, counts): (TcpStream, Site, CountsPort)) {
    let service = hyper::service::service_fn(move |request| respond(request, site, counts.clone()));
    // An error is the client's going away, mid-request for a slow page it
    // gave up on: the connection ends, and its sleeping request with it.
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .await;
}

async fn respond(
    request: Request<Incoming>,
    site: Site,
    counts: CountsPort,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let page = site.page_at(request.uri().path());
    let answer = |status: StatusCode, body: String| {
        let mut response = Response::new(Full::new(Bytes::from(body)));
        *response.status_mut() = status;
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            header::HeaderValue::from_static("text/html; charset=utf-8"),
        );
        Ok(response)
    };
    match page {
        Some(page) if site.is_slow(page) => {
            // Not counted in flight: once its client gives up, the request
            // lingers until hyper notices the closed socket, and counting it
            // would show K + 1 at a moment when the client has K.
            time::sleep(site.delay(page)).await;
            answer(StatusCode::OK, site.body(page))
        }
        Some(page) => {
            let _ = counts.started();
            time::sleep(site.delay(page)).await;
            let status = if site.is_broken(page) {
                StatusCode::INTERNAL_SERVER_ERROR
            } else {
                StatusCode::OK
            };
            let body = if status == StatusCode::OK {
                site.body(page)
            } else {
                format!("page {page} is broken on purpose\n")
            };
            // Counted before the response is written: the client cannot
            // see the answer, and ask for more, before it is counted.
            let _ = counts.answered();
            answer(status, body)
        }
        None => answer(StatusCode::NOT_FOUND, "no such page\n".to_owned()),
    }
}

// Unused where `tests/crawl.rs` includes this file as a module.
#[allow(dead_code)]
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut options = parse_args(std::env::args().skip(1)).unwrap_or_else(|error| {
        eprintln!("crawl: {error}\n{USAGE}");
        std::process::exit(2);
    });
    let server = if options.urls.is_empty() {
        // Slow pages sleep well past the timeout, whatever it is.
        let server = PageServer::start(Site {
            pages: options.pages,
            latency: Duration::from_millis(8),
            slow: options.timeout * 5,
        })?;
        options.urls.push(server.url());
        Some(server)
    } else {
        None
    };
    let summary = crawl(&options)?;
    print!("{summary}");
    if let Some(server) = server {
        let report = server.report()?;
        println!(
            "  server:    {} answered on {} connections, at most {} at once",
            report.answered, report.connections, report.peak_in_flight
        );
    }
    Ok(())
}
