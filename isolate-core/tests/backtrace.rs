//! A panic's backtrace reaches the error listeners and `run`'s caller when
//! the process asks for backtraces. Its own test binary: whether the
//! runtime takes backtraces is decided once per process, when the first
//! group starts.

mod common;

use common::PATIENCE;
use isolate_core::prelude::*;
use isolate_core::{RemoteErrorKind, SpawnOptions};

#[inline(never)]
fn a_function_that_panics() -> u32 {
    panic!("deep down")
}

async fn fails(_: ()) {
    a_function_that_panics();
}

#[test]
fn with_rust_backtrace_set_a_panic_carries_where_it_happened() {
    // SAFETY: the first thing this process does, before any other thread
    // exists (one test in this binary).
    unsafe { std::env::set_var("RUST_BACKTRACE", "1") };
    let group = common::group(1);
    let mut errors = ReceivePort::new();
    group.spawn_fn_with(fails, (), SpawnOptions::new().on_error(errors.send_port()));
    let error = errors.recv_timeout(PATIENCE).unwrap();
    assert_eq!(error.kind(), RemoteErrorKind::Panicked);
    assert_eq!(error.message(), "deep down");
    let backtrace = error.backtrace().expect("a backtrace").to_string();
    assert!(backtrace.contains("a_function_that_panics"), "{backtrace}");

    // `run`'s caller gets it too; errors that are not panics have none.
    let error = isolate_core::run(a_function_that_panics).unwrap_err();
    let backtrace = error.backtrace().expect("a backtrace").to_string();
    assert!(backtrace.contains("a_function_that_panics"), "{backtrace}");
    let error = isolate_core::RemoteError::new(RemoteErrorKind::Stopped, "gone");
    assert!(error.backtrace().is_none());
    // A blocking call's panic too.
    let error =
        futures::executor::block_on(isolate_core::blocking(a_function_that_panics)).unwrap_err();
    assert!(error.backtrace().is_some());
}
