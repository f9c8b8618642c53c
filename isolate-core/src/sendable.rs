//! [`Sendable`] and [`Immutable`]: what may cross an isolate boundary, and
//! what may be shared by many isolates at once, decided at compile time.
//!
//! Dart checks this at run time ("Illegal argument in isolate message"). Here
//! the compiler refuses the program, and the error names the type and the fix.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::num::Wrapping;
use std::ops::{Range, RangeInclusive};
use std::sync::Arc;

use crate::port::SendPort;
use crate::reply::ReplySender;
use crate::shared::Shared;

/// A value that may cross an isolate boundary: owned data that moves, or
/// immutable data that is shared.
///
/// Stricter than [`Send`]: a `Send` type may still carry shared mutable state
/// (`Arc<Mutex<_>>`, atomics) that would let two isolates touch the same
/// memory. `Sendable` holds for owned data (numbers, `String`, `Vec`, maps,
/// `Box`, tuples and arrays of `Sendable`), for [`Shared<T>`] and `Arc<T>` of
/// [`Immutable`] data, for [`SendPort`] and [`ReplySender`], for
/// [`StopSignal`](crate::StopSignal) (whose clones share one write-once bit,
/// a broadcast that nobody can take back), and for types that `#[message]`
/// checked field by field. It never holds for `Rc`, `Cell`,
/// `RefCell`, locks, atomics, `Arc` of mutable data, borrowed references,
/// raw pointers, or a [`ReceivePort`](crate::ReceivePort).
///
/// # Safety
///
/// Implement it (better: let `#[message]` implement it) only for a type that
/// reaches no mutable state that another isolate could also reach: every
/// field must itself be `Sendable`. The isolation guarantee that users rely
/// on, one isolate's state touched by one thread at a time, is only as good
/// as these impls.
///
/// # Examples
///
/// ```
/// use isolate_core::Sendable;
///
/// fn crosses<T: Sendable>(_: T) {}
/// crosses(vec![String::from("owned data moves")]);
/// crosses(isolate_core::Shared::new(vec![1, 2, 3]));
/// ```
///
/// ```compile_fail
/// use std::sync::{Arc, Mutex};
/// fn crosses<T: isolate_core::Sendable>(_: T) {}
/// crosses(Arc::new(Mutex::new(0))); // shared mutable state: refused
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent to another isolate",
    label = "`{Self}` is not `Sendable`",
    note = "for a struct or enum of your own, `#[message]` derives `Sendable` after checking every field",
    note = "shared mutable state (`Rc`, `Cell`, `RefCell`, locks, atomics, `Arc<Mutex<_>>`), borrows, \
            raw pointers and `ReceivePort`s never cross, not even inside a port's messages: move an \
            owned copy, wrap immutable data in `Shared<T>`, or make the mutable state one isolate's \
            own and send that isolate plain-data messages",
    note = "another crate's owned resource (a socket, a driver's connection) that holds no shared \
            state can be vouched for: `unsafe {{ AssertSendable::new(value) }}`"
)]
pub unsafe trait Sendable: Send + 'static {
    /// Where `#[message]` and `#[isolate]` check each field of the type
    /// they implement this trait for. Not part of the API.
    ///
    /// The checks live in the generated impl itself, naming the trait by
    /// the same path as the impl: a user who rebinds that path (say with
    /// `extern crate self as isolate_core;`) changes which trait both name,
    /// so no rebinding can keep the impl and drop its checks. (`where`
    /// clauses on the impl would do the same, but overflow on a recursive
    /// type such as `struct List { next: Option<Box<List>> }`.)
    #[doc(hidden)]
    const __FIELDS_CHECKED: () = ();
}

/// Deeply immutable data: nothing reachable from it can change, so many
/// isolates can read it at once through a [`Shared<T>`] pointer.
///
/// It holds for numbers, `str`, `String`, and slices, `Vec`s, `Box`es,
/// options, tuples, arrays and maps of `Immutable` values. It never holds for
/// anything with a `Cell`, `RefCell`, lock, atomic, `Rc` or raw pointer
/// inside, because those are exactly the ways to mutate through a shared
/// reference.
///
/// # Examples
///
/// ```
/// use isolate_core::{Immutable, Shared};
///
/// fn share<T: Immutable>(value: T) -> Shared<T> {
///     Shared::new(value)
/// }
/// let table = share(vec![("one".to_owned(), 1u32), ("two".to_owned(), 2)]);
/// assert_eq!(table[1].1, 2);
/// ```
///
/// ```compile_fail
/// use std::sync::atomic::AtomicU32;
/// let _ = isolate_core::Shared::new(AtomicU32::new(0)); // mutable through `&`: refused
/// ```
///
/// # Safety
///
/// Implement it (better: `#[message(immutable)]`) only for a type through
/// whose `&self` nothing can be mutated: no interior mutability anywhere
/// inside, and every field `Immutable`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not deeply immutable, so isolates cannot share it",
    label = "`{Self}` is not `Immutable`",
    note = "for a struct or enum of your own, `#[message(immutable)]` derives `Immutable` after checking every field",
    note = "data with `Cell`, `RefCell`, locks, atomics, `Rc` or raw pointers inside can change \
            through a shared reference, so it is never shared: send an owned copy instead, or \
            make the state one isolate's own and send that isolate plain-data messages"
)]
pub unsafe trait Immutable: Send + Sync + 'static {
    /// As [`Sendable::__FIELDS_CHECKED`], for `#[message(immutable)]`. Not
    /// part of the API.
    #[doc(hidden)]
    const __FIELDS_CHECKED: () = ();
}

macro_rules! both {
    ($($ty:ty),* $(,)?) => {$(
        // SAFETY: plain owned data with no interior mutability.
        unsafe impl Sendable for $ty {}
        // SAFETY: as above: nothing inside can change through `&self`.
        unsafe impl Immutable for $ty {}
    )*};
}

both!(
    (),
    bool,
    char,
    u8,
    u16,
    u32,
    u64,
    u128,
    usize,
    i8,
    i16,
    i32,
    i64,
    i128,
    isize,
    f32,
    f64,
    str,
    String,
    std::convert::Infallible,
    std::time::Duration,
    std::time::Instant,
    std::time::SystemTime,
    std::path::PathBuf,
    std::path::Path,
    std::ffi::OsString,
    std::ffi::OsStr,
    std::ffi::CString,
    std::ffi::CStr,
    std::num::NonZeroU8,
    std::num::NonZeroU16,
    std::num::NonZeroU32,
    std::num::NonZeroU64,
    std::num::NonZeroU128,
    std::num::NonZeroUsize,
    std::num::NonZeroI8,
    std::num::NonZeroI16,
    std::num::NonZeroI32,
    std::num::NonZeroI64,
    std::num::NonZeroI128,
    std::num::NonZeroIsize,
    std::cmp::Ordering,
    std::net::IpAddr,
    std::net::Ipv4Addr,
    std::net::Ipv6Addr,
    std::net::SocketAddr,
    std::collections::hash_map::RandomState,
);

macro_rules! containers {
    ($($ty:ident < $($param:ident),+ >),* $(,)?) => {$(
        // SAFETY: owns its elements; `Sendable` if they all are.
        unsafe impl<$($param: Sendable),+> Sendable for $ty<$($param),+> {}
        // SAFETY: no interior mutability of its own; immutable if its elements are.
        unsafe impl<$($param: Immutable),+> Immutable for $ty<$($param),+> {}
    )*};
}

containers!(
    Vec<T>,
    VecDeque<T>,
    LinkedList<T>,
    BinaryHeap<T>,
    BTreeSet<T>,
    BTreeMap<K, V>,
    Option<T>,
    Result<T, E>,
    Wrapping<T>,
    Reverse<T>,
    Range<T>,
    RangeInclusive<T>,
);

// SAFETY: owns its keys, values and hasher builder.
unsafe impl<K: Sendable, V: Sendable, S: Sendable> Sendable for HashMap<K, V, S> {}
// SAFETY: no interior mutability of its own.
unsafe impl<K: Immutable, V: Immutable, S: Immutable> Immutable for HashMap<K, V, S> {}
// SAFETY: owns its elements and hasher builder.
unsafe impl<T: Sendable, S: Sendable> Sendable for HashSet<T, S> {}
// SAFETY: no interior mutability of its own.
unsafe impl<T: Immutable, S: Immutable> Immutable for HashSet<T, S> {}
// SAFETY: a zero-sized hasher builder with no state.
unsafe impl<H: 'static> Sendable for std::hash::BuildHasherDefault<H> {}
// SAFETY: as above.
unsafe impl<H: 'static> Immutable for std::hash::BuildHasherDefault<H> {}

// SAFETY: a box owns its contents.
unsafe impl<T: Sendable + ?Sized> Sendable for Box<T> {}
// SAFETY: no interior mutability of its own.
unsafe impl<T: Immutable + ?Sized> Immutable for Box<T> {}
// SAFETY: a slice of owned elements (inside a `Box<[T]>`).
unsafe impl<T: Sendable> Sendable for [T] {}
// SAFETY: as above.
unsafe impl<T: Immutable> Immutable for [T] {}
// SAFETY: an array owns its elements.
unsafe impl<T: Sendable, const N: usize> Sendable for [T; N] {}
// SAFETY: as above.
unsafe impl<T: Immutable, const N: usize> Immutable for [T; N] {}
// SAFETY: no data at all.
unsafe impl<T: Sendable + ?Sized> Sendable for std::marker::PhantomData<T> {}
// SAFETY: as above.
unsafe impl<T: Immutable + ?Sized> Immutable for std::marker::PhantomData<T> {}

// SAFETY: an `Arc` shares its contents; that is harmless exactly when the
// contents cannot change, which is what `Immutable` says.
unsafe impl<T: Immutable + ?Sized> Sendable for Arc<T> {}
// SAFETY: as above.
unsafe impl<T: Immutable + ?Sized> Immutable for Arc<T> {}
// SAFETY: a `'static` shared reference to immutable data is a pointer to
// data that never changes and never goes away.
unsafe impl<T: Immutable + ?Sized> Sendable for &'static T {}
// SAFETY: as above.
unsafe impl<T: Immutable + ?Sized> Immutable for &'static T {}
// SAFETY: the copy-on-write string or slice of `'static` immutable data.
unsafe impl<B> Sendable for std::borrow::Cow<'static, B>
where
    B: Immutable + ToOwned + ?Sized,
    B::Owned: Sendable,
{
}

// SAFETY: a group-shared object is `Immutable` by its bound.
unsafe impl<T: Immutable + ?Sized> Sendable for Shared<T> {}
// SAFETY: as above.
unsafe impl<T: Immutable + ?Sized> Immutable for Shared<T> {}
// SAFETY: a port carries messages that are themselves `Sendable`; sending
// through it is how isolates are meant to reach each other's state.
unsafe impl<T: Sendable> Sendable for SendPort<T> {}
// SAFETY: the capability to answer one ask with a `Sendable` value.
unsafe impl<T: Sendable> Sendable for ReplySender<T> {}
// SAFETY: a handle to a worker pool: the capability to spawn isolates in it.
// It exposes no mutable state; everything behind it is synchronized.
unsafe impl Sendable for crate::group::IsolateGroup {}

// Owned OS resources move like any owned value: the receiving isolate is
// then their only user. (Shared through an `Arc`, they are refused.)
// SAFETY: owned handles with no shared state of their own.
unsafe impl Sendable for std::fs::File {}
// SAFETY: as above.
unsafe impl Sendable for std::net::TcpStream {}
// SAFETY: as above.
unsafe impl Sendable for std::net::TcpListener {}
// SAFETY: as above.
unsafe impl Sendable for std::net::UdpSocket {}
// SAFETY: as above.
unsafe impl Sendable for std::process::Child {}
// SAFETY: as above.
unsafe impl Sendable for std::process::ChildStdin {}
// SAFETY: as above.
unsafe impl Sendable for std::process::ChildStdout {}
// SAFETY: as above.
unsafe impl Sendable for std::process::ChildStderr {}

// tokio's owned sockets move between isolates like std's: an acceptor hands
// a connection to the isolate that serves it. Each stays registered with
// the runtime it was made in, which must outlive it.
// SAFETY: owned handles with no shared state of their own (their reactor
// registration is tokio's, synchronized).
#[cfg(feature = "tokio")]
unsafe impl Sendable for tokio::net::TcpStream {}
// SAFETY: as above.
#[cfg(feature = "tokio")]
unsafe impl Sendable for tokio::net::TcpListener {}
// SAFETY: as above.
#[cfg(feature = "tokio")]
unsafe impl Sendable for tokio::net::UdpSocket {}
// SAFETY: as above.
#[cfg(all(feature = "tokio", unix))]
unsafe impl Sendable for tokio::net::UnixStream {}
// SAFETY: as above.
#[cfg(all(feature = "tokio", unix))]
unsafe impl Sendable for tokio::net::UnixListener {}
// A socket's two halves may live in two isolates, one reading and one
// writing, as std's `TcpStream::try_clone` allows.
// SAFETY: each half owns its direction; the socket they share is tokio's,
// synchronized, and reading and writing it need no coordination.
#[cfg(feature = "tokio")]
unsafe impl Sendable for tokio::net::tcp::OwnedReadHalf {}
// SAFETY: as above.
#[cfg(feature = "tokio")]
unsafe impl Sendable for tokio::net::tcp::OwnedWriteHalf {}
// SAFETY: as above.
#[cfg(all(feature = "tokio", unix))]
unsafe impl Sendable for tokio::net::unix::OwnedReadHalf {}
// SAFETY: as above.
#[cfg(all(feature = "tokio", unix))]
unsafe impl Sendable for tokio::net::unix::OwnedWriteHalf {}

/// A value its owner vouches for as [`Sendable`]: the way to move a foreign
/// owned type that this crate cannot know (a database driver's connection,
/// another crate's socket), which the orphan rule keeps you from
/// implementing `Sendable` for. As `std::panic::AssertUnwindSafe` does for
/// unwind safety, the wrapper carries the promise, and only an `unsafe`
/// constructor makes one.
///
/// # Examples
///
/// ```
/// use isolate_core::prelude::*;
/// use isolate_core::AssertSendable;
///
/// /// Another crate's connection: owned, no shared state, but not ours to
/// /// implement `Sendable` for.
/// struct Connection { open: bool }
///
/// async fn serve((connection, done): (AssertSendable<Connection>, SendPort<bool>)) {
///     let connection = connection.into_inner();
///     done.send(connection.open).unwrap();
/// }
///
/// let group = IsolateGroup::new();
/// let mut done = ReceivePort::new();
/// // SAFETY: a `Connection` owns everything it reaches; no other isolate
/// // or thread holds a share of it.
/// let connection = unsafe { AssertSendable::new(Connection { open: true }) };
/// group.spawn_fn(serve, (connection, done.send_port()));
/// assert_eq!(done.recv(), Ok(true));
/// ```
///
/// The wrapper gives the value back only by [`into_inner`](Self::into_inner):
/// it has no `Deref`, `Clone` or `Default`, because each would let safe
/// code break the promise after it was made (clone the `Arc` inside, or
/// make a wrapper that nobody vouched for).
#[derive(Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AssertSendable<T>(T);

impl<T: Send + 'static> AssertSendable<T> {
    /// Wraps `value`, vouching for it.
    ///
    /// # Safety
    ///
    /// `value` must own what it reaches: no other isolate or thread may
    /// hold a share of any mutable state inside it (no `Rc`, `Cell`,
    /// `RefCell`, lock or atomic that something outside the value also
    /// reaches, no `Arc<Mutex<_>>` clone kept elsewhere, no raw pointer
    /// into memory another owner uses). An owned OS resource (a socket, a
    /// file, a connection that is used by one owner at a time) qualifies.
    /// Anything else breaks the isolation that [`Sendable`] promises, as an
    /// `unsafe impl Sendable` would.
    pub unsafe fn new(value: T) -> Self {
        AssertSendable(value)
    }

    /// The value, out of the wrapper.
    pub fn into_inner(self) -> T {
        self.0
    }
}

// SAFETY: the only constructor is `unsafe`, and its caller promises what
// `Sendable` requires of the value inside.
unsafe impl<T: Send + 'static> Sendable for AssertSendable<T> {}

macro_rules! tuples {
    ($(($($name:ident),+)),* $(,)?) => {$(
        // SAFETY: a tuple owns its fields.
        unsafe impl<$($name: Sendable),+> Sendable for ($($name,)+) {}
        // SAFETY: no interior mutability of its own.
        unsafe impl<$($name: Immutable),+> Immutable for ($($name,)+) {}
    )*};
}

tuples!(
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
    (A, B, C, D, E, F, G),
    (A, B, C, D, E, F, G, H),
    (A, B, C, D, E, F, G, H, I),
    (A, B, C, D, E, F, G, H, I, J),
    (A, B, C, D, E, F, G, H, I, J, K),
    (A, B, C, D, E, F, G, H, I, J, K, L),
);

macro_rules! fn_pointers {
    ($(($($arg:ident),*)),* $(,)?) => {$(
        // SAFETY: a function pointer is code, which never changes and
        // captures nothing (a closure that captures is not a `fn`); calling
        // it reaches only its arguments and what any code reaches. Dart
        // sends top-level functions between isolates the same way.
        unsafe impl<R: 'static, $($arg: 'static),*> Sendable for fn($($arg),*) -> R {}
        // SAFETY: as above.
        unsafe impl<R: 'static, $($arg: 'static),*> Immutable for fn($($arg),*) -> R {}
    )*};
}

// Function pointers of up to six arguments, so that a message may carry a
// callback its sender chose. (A pointer with a borrowed argument,
// `for<'a> fn(&'a T)`, is another type: pass owned arguments.)
fn_pointers!(
    (),
    (A),
    (A, B),
    (A, B, C),
    (A, B, C, D),
    (A, B, C, D, E),
    (A, B, C, D, E, F),
);

// The runtime's own errors are plain data, so isolates can report them.
both!(
    crate::error::RecvError,
    crate::error::RecvTimeoutError,
    crate::error::TryRecvError,
    crate::error::ReplyError,
    crate::error::RemoteError,
    crate::error::RemoteErrorKind,
);
// SAFETY: owns the undelivered message.
unsafe impl<T: Sendable> Sendable for crate::error::SendError<T> {}
