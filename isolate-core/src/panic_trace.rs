//! Backtraces of panics in isolates, for [`RemoteError::backtrace`]: Dart's
//! uncaught errors come with their stack, and a Rust user debugging a
//! panicking handler wants the same.
//!
//! By the time the run loop catches a panic, the stack is unwound, so the
//! backtrace must be taken while the panic is still on it: in a panic
//! hook. The hook is installed only when the process asked for backtraces
//! (as std's own printing does), in front of the hook already in place,
//! which it calls, so the panic is still printed as before.
//!
//! [`RemoteError::backtrace`]: crate::RemoteError::backtrace

use std::backtrace::{Backtrace, BacktraceStatus};
use std::cell::RefCell;
use std::sync::Once;

thread_local! {
    /// The backtrace of this thread's last panic, until a report takes it.
    /// Unresolved: symbols are looked up only if someone prints it.
    static LAST: RefCell<Option<Backtrace>> = const { RefCell::new(None) };
    /// Whether this is a blocking pool's thread, whose panics are reported
    /// as isolates' are.
    static BLOCKING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Marks this thread as a blocking pool's: its panics' backtraces are kept.
pub(crate) fn mark_blocking_thread() {
    let _ = BLOCKING.try_with(|flag| flag.set(true));
}

/// Whether a panic on this thread is one the runtime reports: in an
/// isolate's run, or in a blocking call. Others (the user's own threads)
/// are left to the previous hook alone.
fn reported_here() -> bool {
    crate::scheduler::cell::in_isolate() || BLOCKING.try_with(std::cell::Cell::get).unwrap_or(false)
}

/// Installs the hook, once per process, if `RUST_LIB_BACKTRACE` or
/// `RUST_BACKTRACE` asks for backtraces (the first one set decides, and
/// `0` means no, as for `std::backtrace::Backtrace::capture`).
pub(crate) fn install() {
    static ONCE: Once = Once::new();
    // `take_hook` and `set_hook` panic on a thread that is unwinding (a
    // group made in a destructor): leave it to the next group then.
    if std::thread::panicking() {
        return;
    }
    ONCE.call_once(|| {
        if !wanted() {
            return;
        }
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if reported_here() {
                let backtrace = Backtrace::capture();
                if backtrace.status() == BacktraceStatus::Captured {
                    let _ = LAST.try_with(|last| {
                        if let Ok(mut last) = last.try_borrow_mut() {
                            *last = Some(backtrace);
                        }
                    });
                }
            }
            previous(info);
        }));
    });
}

fn wanted() -> bool {
    let asks = |name| std::env::var_os(name).map(|value| value != "0");
    asks("RUST_LIB_BACKTRACE")
        .or_else(|| asks("RUST_BACKTRACE"))
        .unwrap_or(false)
}

/// The backtrace of this thread's last panic, if one was taken: called
/// where the panic is caught, on the thread it happened on.
pub(crate) fn take() -> Option<Backtrace> {
    LAST.try_with(|last| last.try_borrow_mut().ok().and_then(|mut last| last.take()))
        .ok()
        .flatten()
}

/// Forgets a backtrace no report took (a panic that the isolate's own code
/// caught): called as each run starts, so that one isolate's caught panic
/// is never reported as another's.
pub(crate) fn forget() {
    let _ = LAST.try_with(|last| {
        if let Ok(mut last) = last.try_borrow_mut() {
            *last = None;
        }
    });
}
