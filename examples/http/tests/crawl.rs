//! The `crawl` example, its code included as a module, against its own
//! site: every page is found and fetched once, slow pages time out, broken
//! ones fail, the others arrive with their bodies, and the server never
//! sees more requests at once than there are fetchers.

#[path = "../examples/crawl.rs"]
mod crawl;

use std::collections::HashSet;
use std::time::Duration;

use crawl::{Options, Outcome, PageServer, Site, Summary};

/// How long a test may wait for anything before it fails instead.
const PATIENCE: Duration = Duration::from_secs(30);

/// Ordinary pages take up to 20 ms, far inside the timeout even on a
/// loaded machine; slow ones take five times the timeout, and the server's
/// end (or the client's going away) cuts their sleep short.
const TIMEOUT: Duration = Duration::from_millis(1000);

fn site(pages: usize) -> Site {
    Site {
        pages,
        latency: Duration::from_millis(20),
        slow: TIMEOUT * 5,
    }
}

fn options(urls: Vec<String>, concurrency: usize) -> Options {
    Options {
        urls,
        concurrency,
        timeout: TIMEOUT,
        pages: 0,
        max_pages: 1000,
        quiet: true,
    }
}

/// Runs the crawl on a thread of its own: one that does not end within
/// the patience fails the test rather than hanging it.
fn crawl_within_patience(options: Options) -> Summary {
    let (done, summary) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = done.send(crawl::crawl(&options).map_err(|error| error.to_string()));
    });
    summary
        .recv_timeout(PATIENCE)
        .expect("the crawl ends within the patience")
        .expect("the crawl finishes")
}

/// Each page's URL on `server`, by page number.
fn urls(server: &PageServer, site: &Site) -> Vec<String> {
    let base = server.url();
    let base = base.trim_end_matches('/');
    (0..site.pages)
        .map(|page| format!("{base}{}", site.path(page)))
        .collect()
}

#[test]
fn every_page_is_accounted_for_once_with_at_most_k_requests_in_flight() {
    const K: usize = 4;
    let site = site(100);
    let server = PageServer::start(site).unwrap();
    let summary = crawl_within_patience(options(vec![server.url()], K));

    let slow: Vec<usize> = (0..site.pages).filter(|&n| site.is_slow(n)).collect();
    let broken: Vec<usize> = (0..site.pages).filter(|&n| site.is_broken(n)).collect();
    assert!(
        slow.len() >= 2 && broken.len() >= 2,
        "the site has slow {slow:?} and broken {broken:?} pages"
    );

    // Found through links, each page once (most are linked more than once).
    let expected = urls(&server, &site);
    let fetched: Vec<&str> = summary.pages.iter().map(|page| page.url.as_str()).collect();
    let distinct: HashSet<&str> = fetched.iter().copied().collect();
    assert_eq!(fetched.len(), site.pages, "{fetched:?}");
    assert_eq!(
        distinct,
        expected.iter().map(String::as_str).collect(),
        "every page and nothing else"
    );
    assert_eq!(
        summary.fetched() + summary.failed() + summary.timed_out(),
        site.pages
    );
    assert_eq!(summary.timed_out(), slow.len());
    assert_eq!(summary.failed(), broken.len());

    for page in &summary.pages {
        let n = expected.iter().position(|url| *url == page.url).unwrap();
        if site.is_slow(n) {
            assert_eq!(page.outcome, Outcome::TimedOut, "slow page {n}");
            // Given up at the timeout, not when the server would answer.
            assert!(
                page.elapsed >= TIMEOUT && page.elapsed < site.slow,
                "page {n} timed out after {:?}",
                page.elapsed
            );
        } else if site.is_broken(n) {
            assert!(
                matches!(page.outcome, Outcome::Response { status: 500, .. }),
                "broken page {n}: {:?}",
                page.outcome
            );
        } else {
            assert_eq!(
                page.outcome,
                Outcome::Response {
                    status: 200,
                    body: site.body(n).into_bytes()
                },
                "page {n}"
            );
        }
    }
    assert!(summary.pages.iter().all(|page| page.fetcher < K));

    let report = server.report().unwrap();
    assert_eq!(report.answered, (site.pages - slow.len()) as u64);
    assert!(
        (2..=K).contains(&report.peak_in_flight),
        "the server saw at most {} requests at once, with {K} fetchers",
        report.peak_in_flight
    );
    // Kept alive: a fetcher connects once, and again only after a timeout
    // took its connection down.
    assert!(
        report.connections <= (K + slow.len()) as u64,
        "{} connections for {} requests",
        report.connections,
        site.pages
    );

    let printed = summary.to_string();
    assert!(printed.starts_with("crawl: 100 pages in "), "{printed}");
    assert!(
        printed.contains(&format!("timed out: {}\n", slow.len())),
        "{printed}"
    );
    assert!(
        printed.contains(&format!(
            "{} × HTTP 500 Internal Server Error",
            broken.len()
        )),
        "{printed}"
    );
}

#[test]
fn one_fetcher_makes_one_request_at_a_time() {
    let site = site(20);
    let server = PageServer::start(site).unwrap();
    let summary = crawl_within_patience(options(vec![server.url()], 1));
    assert_eq!(summary.pages.len(), site.pages);
    let slow = (0..site.pages).filter(|&n| site.is_slow(n)).count();
    assert_eq!(summary.timed_out(), slow);
    let report = server.report().unwrap();
    assert_eq!(report.peak_in_flight, 1);
    assert!(report.connections <= 1 + slow as u64, "{report:?}");
}

#[test]
fn max_pages_bounds_the_crawl() {
    let site = site(100);
    let server = PageServer::start(site).unwrap();
    let summary = crawl_within_patience(Options {
        max_pages: 10,
        ..options(vec![server.url()], 4)
    });
    let distinct: HashSet<&str> = summary.pages.iter().map(|page| page.url.as_str()).collect();
    assert_eq!(summary.pages.len(), 10);
    assert_eq!(distinct.len(), 10);
    assert!(distinct.contains(server.url().as_str()));
}

#[test]
fn a_refused_connection_fails_and_a_silent_server_times_out() {
    // Connections complete in the kernel's backlog, and nobody answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let refused = closed.local_addr().unwrap();
    drop(closed);
    let silent_url = format!("http://{}", silent.local_addr().unwrap());
    let refused_url = format!("http://{refused}/");

    let summary = crawl_within_patience(options(vec![silent_url.clone(), refused_url.clone()], 2));
    assert_eq!(summary.pages.len(), 2);
    // Known by one spelling: `http://host` is `http://host/`.
    let silent_url = format!("{silent_url}/");
    for page in &summary.pages {
        if page.url == silent_url {
            assert_eq!(page.outcome, Outcome::TimedOut);
        } else {
            assert_eq!(page.url, refused_url);
            assert!(
                matches!(&page.outcome, Outcome::Failed(error) if error.starts_with("cannot connect")),
                "{:?}",
                page.outcome
            );
        }
    }
    drop(silent);
}

#[test]
fn flags_have_defaults_and_refuse_what_cannot_be_crawled() {
    let parse = |args: &[&str]| crawl::parse_args(args.iter().map(|arg| arg.to_string()));
    let defaults = parse(&[]).unwrap();
    assert_eq!(defaults.concurrency, 8);
    assert_eq!(defaults.timeout, Duration::from_millis(2000));
    assert_eq!(defaults.pages, 200);
    assert_eq!(defaults.max_pages, 200, "the whole local site");
    assert!(defaults.urls.is_empty() && !defaults.quiet);

    let given = parse(&[
        "--concurrency",
        "3",
        "--timeout-ms",
        "250",
        "--quiet",
        "http://127.0.0.1:8080/a?b=c",
    ])
    .unwrap();
    assert_eq!(given.concurrency, 3);
    assert_eq!(given.timeout, Duration::from_millis(250));
    assert_eq!(given.max_pages, 1000);
    assert!(given.quiet);
    assert_eq!(given.urls, ["http://127.0.0.1:8080/a?b=c"]);

    for (args, error) in [
        (&["https://example.com/"][..], "https needs TLS"),
        (&["ftp://example.com/"], "only http://"),
        (&["--concurrency", "0"], "from 1 to 1024"),
        (&["--timeout-ms"], "needs a value"),
        (&["--verbose"], "unknown flag"),
    ] {
        let refused = parse(args).unwrap_err();
        assert!(refused.contains(error), "{args:?}: {refused}");
    }
}
