//! The examples that need an HTTP stack (hyper), in a package of their
//! own so that `cargo run --example tour` does not build it:
//! `http_counter` (a server, an isolate per connection, a graceful stop),
//! `crawl` (fetcher isolates on hyper's client, with timeouts and bounded
//! concurrency), and the test of hyper's client inside an async handler.
