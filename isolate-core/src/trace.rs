//! `tracing` instrumentation, behind the opt-in `tracing` feature.
//!
//! A span per isolate run (`isolate`, at `DEBUG`: id, group, name) and per
//! message (`message`, at `TRACE`: the isolate's message count), and events
//! for spawns, panics and kills. Until a subscriber is installed, the run
//! loop runs a copy of itself without any of this (one load per run picks
//! the copy); without the feature, nothing at all.

#[cfg(feature = "tracing")]
mod enabled {
    use tracing::Level;
    use tracing::span::EnteredSpan;

    /// Whether spans at `level` could be recorded: a subscriber was ever
    /// installed (one relaxed load) and the level passes the max-level
    /// filters. Without a subscriber, no span, not even a disabled one, is
    /// built or dropped: tracing's own macros would still build and drop
    /// disabled spans, about 80 instructions per message (measured).
    #[inline]
    fn on(level: Level) -> bool {
        tracing::dispatcher::has_been_set() && tracing::level_enabled!(level)
    }

    /// Whether any span could be recorded: checked once per run.
    #[inline]
    pub(crate) fn active() -> bool {
        tracing::dispatcher::has_been_set()
    }

    /// Runs `body` inside the span `make` builds when `on`. When off, `body`
    /// is inlined on its own and the span code is out of the way (no guard
    /// to drop); measured in docs/benchmarks.md.
    #[inline(always)]
    pub(crate) fn within<S, R>(on: bool, make: impl FnOnce() -> S, body: impl FnOnce() -> R) -> R {
        if on { within_span(make, body) } else { body() }
    }

    #[cold]
    #[inline(never)]
    fn within_span<S, R>(make: impl FnOnce() -> S, body: impl FnOnce() -> R) -> R {
        let _span = make();
        body()
    }

    /// The span of one run of an isolate.
    #[cold]
    pub(crate) fn run_span(id: u64, group: &str, name: Option<&str>) -> Option<EnteredSpan> {
        on(Level::DEBUG).then(|| {
            tracing::debug_span!("isolate", id, group, name = name.unwrap_or("")).entered()
        })
    }

    /// The span of one message.
    #[cold]
    pub(crate) fn message_span(seq: u64) -> Option<EnteredSpan> {
        on(Level::TRACE).then(|| tracing::trace_span!("message", seq).entered())
    }

    // The events below are out of line: a `tracing` macro expands to a
    // callsite and its registration, and inlined into the run loop that
    // code made the compiler stop inlining the user's `handle` there.

    #[cold]
    #[inline(never)]
    pub(crate) fn spawned(id: u64, group: &str) {
        tracing::trace!(id, group, "isolate spawned");
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn panicked(id: u64, message: &str, fatal: bool) {
        tracing::error!(id, fatal, "isolate handler panicked: {message}");
    }

    #[cold]
    #[inline(never)]
    pub(crate) fn killed(id: u64) {
        tracing::debug!(id, "isolate killed");
    }
}

#[cfg(not(feature = "tracing"))]
mod enabled {
    /// Nothing to hold.
    pub(crate) struct Nothing;

    impl Drop for Nothing {
        fn drop(&mut self) {}
    }

    #[inline]
    pub(crate) fn active() -> bool {
        false
    }

    #[inline]
    pub(crate) fn within<S, R>(_: bool, _: impl FnOnce() -> S, body: impl FnOnce() -> R) -> R {
        body()
    }

    pub(crate) fn run_span(_: u64, _: &str, _: Option<&str>) -> Nothing {
        Nothing
    }

    pub(crate) fn message_span(_: u64) -> Nothing {
        Nothing
    }

    pub(crate) fn spawned(_: u64, _: &str) {}

    pub(crate) fn panicked(_: u64, _: &str, _: bool) {}

    pub(crate) fn killed(_: u64) {}
}

pub(crate) use enabled::*;
