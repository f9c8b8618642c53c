//! The child's side: [`serve`].

use std::os::unix::net::UnixStream;
use std::panic::{AssertUnwindSafe, PanicHookInfo};
use std::sync::{Arc, Mutex, Once, PoisonError, Weak};
use std::time::Duration;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::frame::Frame;
use super::peer::{Body, ErrorCode, Event, Peer, Role};
use super::{Greeting, SOCKET_ENV, ServeError};
use crate::group::IsolateGroup;
use crate::sendable::Sendable;

/// Serves an isolate group to the parent process that started this program
/// with [`IsolateGroup::spawn_uri`]: the child's half of Dart's `spawnUri`.
/// Call it from `main`.
///
/// It connects to the parent, checks that both programs agree on the types
/// they exchange, runs `entry` with a new isolate group and the parent's
/// initial message, and sends back what `entry` returns (typically a port
/// to an isolate it spawned). Then it serves: messages from the parent reach
/// the ports they are for, until the parent lets go of the child, kills it,
/// or exits. Panics in this process are reported to the parent's error
/// listeners as they happen.
///
/// # Errors
///
/// [`ServeError::NotSpawned`] when the program was not started by
/// `spawn_uri` (so a user running it by hand gets a clear message),
/// [`ServeError::ParentGone`] when the parent exited without asking this
/// process to end, and the errors of a start that failed. On a clean end
/// (the parent asked), `Ok(())`.
///
/// # Examples
///
/// ```no_run
/// use isolate_core::prelude::*;
///
/// #[isolate]
/// struct Squarer;
///
/// #[isolate(remote)]
/// impl Squarer {
///     #[message]
///     fn square(&self, n: u64) -> u64 { n * n }
/// }
///
/// fn main() -> Result<(), isolate_core::process::ServeError> {
///     // The parent: `group.spawn_uri::<(), SquarerPort>("squarer", [""; 0], ())`.
///     isolate_core::process::serve(|group: &IsolateGroup, (): ()| group.spawn(Squarer))
/// }
/// ```
pub fn serve<M, P, F>(entry: F) -> Result<(), ServeError>
where
    M: Sendable + DeserializeOwned,
    P: Serialize + DeserializeOwned + 'static,
    F: FnOnce(&IsolateGroup, M) -> P,
{
    let path = std::env::var_os(SOCKET_ENV).ok_or(ServeError::NotSpawned)?;
    let stream = UnixStream::connect(path).map_err(|error| match error.kind() {
        // A socket that is gone: the variable was inherited from a parent
        // that spawned this program's parent.
        std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused => {
            ServeError::NotSpawned
        }
        _ => ServeError::Io(error),
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(ServeError::Io)?;
    let theirs = Greeting::read(&stream).map_err(ServeError::Protocol)?;
    let ours = Greeting::ours::<M, P>(theirs.max_frame);
    {
        use std::io::Write;
        (&stream)
            .write_all(&ours.encode())
            .map_err(ServeError::Io)?;
    }
    ours.check(&theirs).map_err(ServeError::Mismatch)?;
    stream.set_read_timeout(None).map_err(ServeError::Io)?;

    let (events, events_rx) = flume::unbounded();
    let peer = Peer::start(
        Role::Child,
        stream,
        theirs.max_frame,
        theirs.max_frame,
        events,
    )
    .map_err(ServeError::Io)?;
    let _reporting = report_panics_to(&peer);
    let result = serve_on(&peer, &events_rx, entry);
    peer.close();
    peer.wait_written();
    result
}

fn serve_on<M, P, F>(
    peer: &Arc<Peer>,
    events: &flume::Receiver<Event>,
    entry: F,
) -> Result<(), ServeError>
where
    M: Sendable + DeserializeOwned,
    P: Serialize,
    F: FnOnce(&IsolateGroup, M) -> P,
{
    let init = loop {
        match events.recv() {
            Ok(Event::Init(body)) => break body,
            Ok(Event::Shutdown) => return Ok(()),
            Ok(Event::Closed(_)) | Err(_) => return Err(ServeError::ParentGone),
            Ok(_) => {}
        }
    };
    let message = peer.decode::<M>(&init).map_err(ServeError::Decode)?;
    let group = IsolateGroup::new();
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| entry(&group, message))).map_err(
        |payload| ServeError::EntryPanicked(crate::scheduler::cell::panic_message(&*payload)),
    )?;
    let ready = peer.encode(&result, Body::Ready).map_err(|error| {
        peer.send_frame(&Frame::Error {
            code: ErrorCode::Undeliverable as u8,
            text: &error,
        });
        ServeError::Encode(error)
    })?;
    let _ = peer.send_encoded(ready, result);
    let end = loop {
        match events.recv() {
            Ok(Event::Shutdown) => break Ok(()),
            Ok(Event::Closed(_)) | Err(_) => break Err(ServeError::ParentGone),
            Ok(_) => {}
        }
    };
    // The parent is gone or wants the end: nobody waits for the isolates.
    group.shutdown_timeout(Duration::from_millis(100));
    end
}

/// The connections to parents that this process's panics are reported to.
static REPORT_TO: Mutex<Vec<Weak<Peer>>> = Mutex::new(Vec::new());

/// Reports every panic in this process to the parent over `peer`, until the
/// guard is dropped. The previous panic hook still runs.
fn report_panics_to(peer: &Arc<Peer>) -> impl Drop {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            report_panic(info);
            previous(info);
        }));
    });
    REPORT_TO
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .push(Arc::downgrade(peer));
    struct Stop(Weak<Peer>);
    impl Drop for Stop {
        fn drop(&mut self) {
            REPORT_TO
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .retain(|peer| !peer.ptr_eq(&self.0));
        }
    }
    Stop(Arc::downgrade(peer))
}

fn report_panic(info: &PanicHookInfo<'_>) {
    let message = crate::scheduler::cell::panic_message(info.payload());
    let text = match info.location() {
        Some(location) => format!("{message} (at {location})"),
        None => message,
    };
    // `try_lock`: a panic while the list is locked must not deadlock.
    let Ok(peers) = REPORT_TO.try_lock() else {
        return;
    };
    for peer in peers.iter().filter_map(Weak::upgrade) {
        peer.send_frame(&Frame::Error {
            code: ErrorCode::Panicked as u8,
            text: &text,
        });
    }
}
