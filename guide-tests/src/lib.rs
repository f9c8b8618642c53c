//! The README and the guide's chapters (`docs/src`), compiled and run as
//! doctests by `cargo test --workspace`, so that neither can drift from the
//! code.
//!
//! They live in this unpublished crate rather than in `isolate-core` and
//! `isolate-nats`, whose packaged `.crate` files do not hold `docs/`: an
//! `include_str!` of `../../docs/src` there would break the doctests of the
//! published crates.
#![deny(missing_docs)]

/// The README's examples.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct Readme;

/// The guide's chapters (`docs/src`), compiled and run as doctests, so that
/// the book cannot drift from the code.
#[cfg(doctest)]
pub mod guide {
    /// Getting started.
    #[doc = include_str!("../../docs/src/getting-started.md")]
    pub struct GettingStarted;

    /// Isolates and groups.
    #[doc = include_str!("../../docs/src/isolates-and-groups.md")]
    pub struct IsolatesAndGroups;

    /// Ports and replies.
    #[doc = include_str!("../../docs/src/ports-and-replies.md")]
    pub struct PortsAndReplies;

    /// The macros.
    #[doc = include_str!("../../docs/src/macros.md")]
    pub struct Macros;

    /// What may cross an isolate, and why.
    #[doc = include_str!("../../docs/src/crossing.md")]
    pub struct Crossing;

    /// `Shared` and immutability.
    #[doc = include_str!("../../docs/src/shared.md")]
    pub struct SharedChapter;

    /// `run` and offloading.
    #[doc = include_str!("../../docs/src/offloading.md")]
    pub struct Offloading;

    /// Lifecycle, control and supervision.
    #[doc = include_str!("../../docs/src/lifecycle.md")]
    pub struct Lifecycle;

    /// Pinned isolates.
    #[doc = include_str!("../../docs/src/pinned.md")]
    pub struct Pinned;

    /// IO, time and servers.
    #[doc = include_str!("../../docs/src/io-time-servers.md")]
    pub struct IoTimeServers;

    /// Deterministic tests.
    #[doc = include_str!("../../docs/src/testing.md")]
    pub struct Testing;

    /// Processes.
    #[cfg(unix)]
    #[doc = include_str!("../../docs/src/processes.md")]
    pub struct Processes;

    /// Performance.
    #[doc = include_str!("../../docs/src/performance.md")]
    pub struct Performance;

    /// Coming from Dart.
    #[doc = include_str!("../../docs/src/coming-from-dart.md")]
    pub struct ComingFromDart;

    /// Coming from kameo, actix or ractor.
    #[doc = include_str!("../../docs/src/coming-from-actors.md")]
    pub struct ComingFromActors;

    /// Across machines: NATS.
    #[doc = include_str!("../../docs/src/nats.md")]
    pub struct Nats;
}
