//! HTTP in isolates: the tests of a crate built on tokio (hyper) inside
//! async handlers. The HTTP examples of issue 18 (`http_counter`,
//! `crawl`) will live here, away from the light build of the others.
