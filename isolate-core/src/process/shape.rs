//! The fingerprint of a type that crosses a process: a hash of its serde
//! shape, found by deserializing it from a tracer.
//!
//! Two members of a system (a `spawn_uri` parent and child, two
//! `isolate-nats` members) check, before they decode, that they mean the
//! same type by a port. A hash of `std::any::type_name` would be cheap but
//! the standard library promises neither that it is unique nor that it is
//! stable across compilers: two builds of one source by different
//! compilers could refuse each other, and two types of one name but other
//! fields could not be told apart. What has to match is what the bytes
//! mean, which is the type's shape in serde's data model: the names of its
//! structs, enums, variants and fields, and the kind and order of every
//! field. That is what this module hashes, and only that, so the module a
//! type lives in, its methods, its comments and the compiler do not count.
//!
//! The shape is read by running the type's own `Deserialize` against a
//! deserializer that hands out placeholder values (`1` for numbers, empty
//! strings) and writes down each call. One run sees one variant of each
//! enum, so the type is deserialized again until every variant of every
//! enum it reaches has been seen.
//!
//! **Which type is which.** Each struct, enum and sequence met is told
//! apart from the others by its serde name *and* the type of the visitor
//! its `Deserialize` hands over (`type_name` of it: only ever compared for
//! equality within one trace, never hashed, so it may differ between
//! compilers without changing the result). So `db::Error` inside `Error`,
//! `Result<u32, String>` beside `Result<String, u8>`, and
//! `Wrapper<Wrapper<u32>>` are each two types, while a type inside itself
//! is one. Each type gets a number in the order the runs first meet it,
//! the same in every build, and its shape (per variant, for an enum) is
//! kept once under that number.
//!
//! **Types that contain themselves** (through an `Option`, a `Vec`, a `Box`
//! in an enum, or a `#[serde(transparent)]` wrapper) are written as a
//! reference back, and from there the tracer builds the smallest value it
//! can: `None`, empty sequences and maps, and for each enum a variant that
//! does not lead back into itself, found by trying, one run each.
//!
//! **A field the tracer cannot read** (its `Deserialize` refuses every
//! placeholder, as a URL parser refuses an empty string, or calls
//! `deserialize_any`, which postcard, the codec, cannot carry either, or
//! panics) makes the part of the shape it is in *opaque* from that field
//! on: what came before it, and every other type and variant, still
//! counts. Only a type that asks for its own fingerprint while being traced
//! gets a fixed placeholder hash for the inner request.
//!
//! This is what serde-reflection does, reduced to a hash: that crate
//! builds a registry of formats and brings `thiserror` 1 and so a second
//! `syn` into every build of `isolate-core`, for a number computed once per
//! type (see docs/architecture.md).

use std::any::TypeId;
use std::cell::{Cell, RefCell};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, OnceLock};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// The fingerprint of `T`: the hash of its shape, computed once per type
/// and process.
pub(crate) fn fingerprint<T: DeserializeOwned + 'static>() -> u64 {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, u64>>> = OnceLock::new();
    thread_local! {
        /// The types being traced on this thread, innermost last.
        static TRACING_TYPES: RefCell<Vec<TypeId>> = const { RefCell::new(Vec::new()) };
    }
    let cache = CACHE.get_or_init(Mutex::default);
    let id = TypeId::of::<T>();
    if let Some(&known) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return known;
    }
    // A `Deserialize` that asks for its own type's fingerprint while it is
    // traced would recurse for ever: it gets a fixed stand-in instead.
    if TRACING_TYPES.with(|types| types.borrow().contains(&id)) {
        return fnv(
            FNV_START,
            b"a type asked for its own fingerprint while traced",
        );
    }
    TRACING_TYPES.with(|types| types.borrow_mut().push(id));
    struct Done;
    impl Drop for Done {
        fn drop(&mut self) {
            TRACING_TYPES.with(|types| types.borrow_mut().pop());
        }
    }
    let done = Done;
    // Traced outside the lock: a `Deserialize` impl may ask for another
    // type's fingerprint.
    let hash = trace::<T>();
    drop(done);
    cache
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .insert(id, hash);
    hash
}

/// FNV-1a, 64 bits: a fingerprint between builds of one source, not a
/// defence against anyone.
fn fnv(hash: u64, bytes: &[u8]) -> u64 {
    bytes.iter().fold(hash, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3)
    })
}

const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

thread_local! {
    static TRACING: Cell<bool> = const { Cell::new(false) };
}

/// Whether this thread is tracing a shape: ports and reply senders then
/// deserialize as placeholders, without a connection.
pub(crate) fn is_tracing() -> bool {
    TRACING.with(Cell::get)
}

/// Reads a port's or a reply sender's place in the shape: a marker, since
/// each port carries its own fingerprint when it crosses.
pub(crate) fn placeholder<'de, D: de::Deserializer<'de>>(
    deserializer: D,
    what: &'static str,
) -> Result<(), D::Error> {
    struct Unit;
    impl Visitor<'_> for Unit {
        type Value = ();
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a placeholder")
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
    }
    deserializer.deserialize_unit_struct(what, Unit)
}

/// How many runs a shape may take; past it, what was seen is hashed, marked
/// as partial (deterministically: the runs are the same in every build).
const MAX_RUNS: usize = 4096;
/// How deep one run may nest (structs, enums, sequences, options, maps)
/// before the rest is built small. (Lower in the unit tests, so that a
/// type deeper than it compiles within the recursion limit.)
#[cfg(not(test))]
const MAX_DEPTH: usize = 128;
#[cfg(test)]
const MAX_DEPTH: usize = 24;

/// Deserializes `T` from the tracer until its whole shape is seen, and
/// hashes it.
fn trace<T: DeserializeOwned>() -> u64 {
    let (explorer, complete, _) = explore::<T>();
    explorer.hash(complete)
}

/// The runs behind [`trace`]: what they found, whether it is all, and how
/// many runs it took.
fn explore<T: DeserializeOwned>() -> (Explorer, bool, usize) {
    struct Tracing(bool);
    impl Drop for Tracing {
        fn drop(&mut self) {
            TRACING.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Tracing(TRACING.with(|flag| flag.replace(true)));

    let mut explorer = Explorer::default();
    for runs in 1..=MAX_RUNS {
        let mut run = Run::new(&mut explorer);
        // A `Deserialize` that panics on a placeholder is a field the tracer
        // cannot read, like one that returns an error.
        let result = catch_unwind(AssertUnwindSafe(|| T::deserialize(&mut run).map(drop)));
        match result {
            Ok(Ok(())) => run.close(),
            Ok(Err(_)) | Err(_) => run.close_failed(),
        }
        let retry = run.retry;
        if !retry && explorer.complete(ROOT) {
            return (explorer, true, runs);
        }
    }
    (explorer, false, MAX_RUNS)
}

/// What tells one type from another within a trace: what kind of
/// container it is, its serde name, and its visitor's type (compared for
/// equality only).
type Key = (u8, &'static str, &'static str);

/// A type's number: the order in which the runs first met it.
type Id = u32;

/// Where a part of the shape is kept: a type's number and, for an enum,
/// the variant.
type PartKey = (Id, u32);

/// The part that is not a type's: what the root is, before any container.
const ROOT: PartKey = (Id::MAX, u32::MAX);
/// The `variant` of a part that is a struct's, not an enum variant's.
const WHOLE: u32 = u32::MAX;

/// The shape of one type (or enum variant).
#[derive(Debug)]
struct Part {
    tokens: Vec<u8>,
    /// The named containers entered directly from it, in order.
    refs: Vec<Id>,
    /// Whether a field it could not read ended it: what followed is unseen.
    opaque: bool,
}

/// What the runs so far have found.
#[derive(Default)]
struct Explorer {
    ids: HashMap<Key, Id>,
    parts: BTreeMap<PartKey, Part>,
    /// The number of variants of each enum met.
    variants: HashMap<Id, u32>,
    /// For an enum met again inside itself: the variant to build there.
    smallest: HashMap<Id, u32>,
    /// Parts known to be complete (only ever grows).
    done: HashSet<PartKey>,
}

impl Explorer {
    fn id(&mut self, key: Key) -> Id {
        let next = self.ids.len() as Id;
        *self.ids.entry(key).or_insert(next)
    }

    /// Whether the part at `key` and everything it reaches has been seen.
    fn complete(&mut self, key: PartKey) -> bool {
        let mut visiting = HashSet::new();
        self.complete_part(key, &mut visiting).0
    }

    /// `(complete, exact)`: `exact` is false when a cycle was taken for
    /// complete, so the answer is not remembered.
    fn complete_part(&mut self, key: PartKey, visiting: &mut HashSet<PartKey>) -> (bool, bool) {
        if self.done.contains(&key) {
            return (true, true);
        }
        if !visiting.insert(key) {
            return (true, false);
        }
        let refs = match self.parts.get(&key) {
            None => return (false, true),
            Some(part) => part.refs.clone(),
        };
        let mut exact = true;
        let mut complete = true;
        for id in refs {
            let (yes, is_exact) = self.complete_id(id, visiting);
            exact &= is_exact;
            if !yes {
                complete = false;
                break;
            }
        }
        visiting.remove(&key);
        if complete && exact {
            self.done.insert(key);
        }
        (complete, exact)
    }

    fn complete_id(&mut self, id: Id, visiting: &mut HashSet<PartKey>) -> (bool, bool) {
        match self.variants.get(&id).copied() {
            Some(count) => {
                let mut exact = true;
                for variant in 0..count {
                    let (yes, is_exact) = self.complete_part((id, variant), visiting);
                    exact &= is_exact;
                    if !yes {
                        return (false, exact);
                    }
                }
                (true, exact)
            }
            None => self.complete_part((id, WHOLE), visiting),
        }
    }

    /// The hash of every part, in the order of their numbers.
    fn hash(&self, complete: bool) -> u64 {
        let mut hash = fnv(
            FNV_START,
            if complete {
                b"shape v2\0"
            } else {
                b"partial shape v2\0"
            },
        );
        for ((id, variant), part) in &self.parts {
            hash = fnv(hash, &id.to_le_bytes());
            hash = fnv(hash, &variant.to_le_bytes());
            hash = fnv(hash, &[u8::from(part.opaque)]);
            hash = fnv(hash, &(part.tokens.len() as u32).to_le_bytes());
            hash = fnv(hash, &part.tokens);
        }
        hash
    }
}

/// A part being read in this run.
struct Open {
    key: PartKey,
    /// Whether its tokens are new: a part seen in an earlier run is walked
    /// again only to reach the types inside it.
    writing: bool,
    tokens: Vec<u8>,
    refs: Vec<Id>,
    /// Where a read in it failed (tokens and refs so far): if the failure
    /// leaves the part, the part is kept as opaque from there; if a
    /// `Deserialize` inside swallows it, the part goes on and is kept whole.
    failed_at: Option<(usize, usize)>,
}

impl Open {
    fn new(key: PartKey, writing: bool) -> Self {
        Open {
            key,
            writing,
            tokens: Vec::new(),
            refs: Vec::new(),
            failed_at: None,
        }
    }
}

/// A container being deserialized.
struct Frame {
    id: Id,
    /// Whether values were being built small outside it.
    was_small: bool,
    /// Whether it is being built small.
    small: bool,
    /// For an enum built small: its variant count, to try the next one.
    small_enum: Option<u32>,
    /// Whether it opened a part (to close when it ends).
    opened: bool,
    /// Whether it is a struct (whose failure, once its part is opaque, is
    /// its enclosing part's too; an enum's is not, as another variant may
    /// read).
    is_struct: bool,
}

/// One run of the tracer.
struct Run<'e> {
    explorer: &'e mut Explorer,
    open: Vec<Open>,
    frames: Vec<Frame>,
    /// Whether values are being built small, and nothing written.
    small: bool,
    /// Set when the run must be made again (a variant to try).
    retry: bool,
    /// Set while an error travels out from where it began, so that only the
    /// part it began in is marked opaque; cleared if a `Deserialize` impl
    /// swallows the error and goes on.
    unwinding: bool,
}

/// Why a run ended early. The tracer looks at the run's flags, not at
/// this, since a `Deserialize` impl may rewrap or swallow errors.
#[derive(Debug)]
struct Stop(String);

impl fmt::Display for Stop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Stop {}

impl de::Error for Stop {
    fn custom<T: fmt::Display>(message: T) -> Self {
        Stop(message.to_string())
    }
}

// The tokens. A shape is a stream of them, in the order serde asks.
const BOOL: u8 = 1;
const I8: u8 = 2;
const I16: u8 = 3;
const I32: u8 = 4;
const I64: u8 = 5;
const I128: u8 = 6;
const U8: u8 = 7;
const U16: u8 = 8;
const U32: u8 = 9;
const U64: u8 = 10;
const U128: u8 = 11;
const F32: u8 = 12;
const F64: u8 = 13;
const CHAR: u8 = 14;
/// `str` and `String`: one token, as postcard writes them alike.
const STR: u8 = 15;
/// `bytes` and `byte_buf`, likewise.
const BYTES: u8 = 16;
const OPTION: u8 = 17;
const UNIT: u8 = 18;
const UNIT_STRUCT: u8 = 19;
const NEWTYPE: u8 = 20;
const SEQ: u8 = 21;
const TUPLE: u8 = 22;
const TUPLE_STRUCT: u8 = 23;
const MAP: u8 = 24;
const STRUCT: u8 = 25;
const ENUM: u8 = 26;
const VARIANT: u8 = 27;
const IDENTIFIER: u8 = 28;
const IGNORED: u8 = 29;
/// A container met inside itself, by its number.
const BACK: u8 = 30;
/// A named container, by its number; its shape is its own part.
const REF: u8 = 31;
/// What follows was too deep to read.
const DEEP: u8 = 32;
/// A field the tracer could not read ends the part here.
const OPAQUE: u8 = 33;

// The kinds of container, in a `Key`.
const K_SEQ: u8 = 1;
const K_TUPLE: u8 = 2;
const K_MAP: u8 = 3;
const K_OPTION: u8 = 4;
const K_STRUCT: u8 = 5;
const K_ENUM: u8 = 6;

impl<'e> Run<'e> {
    fn new(explorer: &'e mut Explorer) -> Self {
        let writing = !explorer.parts.contains_key(&ROOT);
        Run {
            explorer,
            open: vec![Open::new(ROOT, writing)],
            frames: Vec::new(),
            small: false,
            retry: false,
            unwinding: false,
        }
    }

    fn write(&mut self, bytes: &[u8]) {
        if self.small {
            return;
        }
        if let Some(open) = self.open.last_mut()
            && open.writing
        {
            open.tokens.extend_from_slice(bytes);
        }
    }

    fn token(&mut self, token: u8) {
        self.write(&[token]);
    }

    fn text(&mut self, text: &str) {
        self.write(&(text.len() as u32).to_le_bytes());
        self.write(text.as_bytes());
    }

    fn number(&mut self, n: usize) {
        self.write(&(n as u32).to_le_bytes());
    }

    /// Notes, in the part being written, that it reaches named type `id`;
    /// `track` when the type's own part will be read (not cut off deep).
    fn reference(&mut self, id: Id, track: bool) {
        self.token(REF);
        self.number(id as usize);
        if track
            && !self.small
            && let Some(open) = self.open.last_mut()
            && open.writing
        {
            open.refs.push(id);
        }
    }

    /// Runs `body` inside a container of kind `kind`, named `name`, read by
    /// visitor `V`. Structs and enums have a part of their own: `head`
    /// writes its first tokens. For an enum, `variants` is its count, and
    /// `body` gets the variant chosen.
    fn container<V, T>(
        &mut self,
        kind: u8,
        name: &'static str,
        variants: Option<usize>,
        head: impl FnOnce(&mut Self),
        body: impl FnOnce(&mut Self, Option<u32>) -> Result<T, Stop>,
    ) -> Result<T, Stop> {
        let id = self.explorer.id((kind, name, std::any::type_name::<V>()));
        let named = kind == K_STRUCT || kind == K_ENUM;
        let was_small = self.small;
        let earlier = self.frames.iter().rposition(|frame| frame.id == id);
        if let Some(at) = earlier
            && self.frames[at].small
        {
            // Built small and back inside itself: the enum chosen on the
            // way leads here. The next run tries its next variant.
            self.unwinding = true;
            return Err(self.try_next_variant(at));
        }
        let deep = earlier.is_none() && self.frames.len() >= MAX_DEPTH && !self.small;
        if named {
            self.reference(id, !deep);
        }
        let mut opened = false;
        let mut chosen = None;
        if earlier.is_some() {
            // Inside itself: a reference back, then the smallest value.
            self.token(BACK);
            self.number(id as usize);
            self.small = true;
        } else if deep {
            self.token(DEEP);
            self.small = true;
        } else if !self.small && named {
            let key = match variants {
                None => (id, WHOLE),
                Some(count) => match self.choose(id, name, count) {
                    Ok(variant) => {
                        chosen = Some(variant);
                        (id, variant)
                    }
                    Err(stop) => {
                        self.failed();
                        return Err(stop);
                    }
                },
            };
            let writing = !self.explorer.parts.contains_key(&key);
            self.open.push(Open::new(key, writing));
            opened = true;
        }
        let mut small_enum = None;
        if self.small
            && let Some(count) = variants
        {
            let count = count as u32;
            let smallest = self.explorer.smallest.get(&id).copied().unwrap_or(0);
            if smallest >= count {
                let stop = Stop(format!("no variant of `{name}` can be built small"));
                self.failed();
                self.small = was_small;
                return Err(stop);
            }
            small_enum = Some(count);
            chosen = Some(smallest);
        }
        self.frames.push(Frame {
            id,
            was_small,
            small: self.small,
            small_enum,
            opened,
            is_struct: kind == K_STRUCT,
        });
        let depth = self.frames.len();
        if opened {
            head(self);
        }
        let result = body(self, chosen);
        // A panic that a `Deserialize` below caught left frames behind.
        self.restore(depth);
        match result {
            Ok(value) => {
                // An error below that a `Deserialize` impl swallowed is over.
                self.unwinding = false;
                self.exit(true);
                Ok(value)
            }
            Err(stop) => {
                if !self.unwinding {
                    self.failed();
                }
                self.exit(false);
                Err(stop)
            }
        }
    }

    /// Leaves the innermost container, closing its part: kept whole after a
    /// read that ended well (`ok`), kept as opaque after one that failed in
    /// it, dropped after one that failed deeper (a later run reads it).
    fn exit(&mut self, ok: bool) {
        let Some(frame) = self.frames.pop() else {
            return;
        };
        self.small = frame.was_small;
        if !frame.opened {
            return;
        }
        let Some(open) = self.open.pop() else {
            return;
        };
        let key = open.key;
        if open.writing && !self.explorer.parts.contains_key(&key) {
            match (ok, open.failed_at) {
                (true, _) => {
                    self.explorer.parts.insert(
                        key,
                        Part {
                            tokens: open.tokens,
                            refs: open.refs,
                            opaque: false,
                        },
                    );
                }
                (false, Some((tokens, refs))) => {
                    let mut kept = open.tokens;
                    kept.truncate(tokens);
                    kept.push(OPAQUE);
                    let mut reached = open.refs;
                    reached.truncate(refs);
                    self.explorer.parts.insert(
                        key,
                        Part {
                            tokens: kept,
                            refs: reached,
                            opaque: true,
                        },
                    );
                }
                (false, None) => {}
            }
        }
        // A struct that cannot be read makes the part that holds it fail
        // there too, for good; an enum may still read through another
        // variant.
        if !ok
            && frame.is_struct
            && self
                .explorer
                .parts
                .get(&key)
                .is_some_and(|part| part.opaque)
        {
            self.mark_failed();
        }
    }

    /// Marks where the innermost part failed, if it is being written.
    fn mark_failed(&mut self) {
        if let Some(open) = self.open.last_mut()
            && open.writing
            && open.failed_at.is_none()
        {
            open.failed_at = Some((open.tokens.len(), open.refs.len()));
        }
    }

    /// Leaves the frames above `depth` that a panic caught by a
    /// `Deserialize` impl left behind, as if each had failed.
    fn restore(&mut self, depth: usize) {
        if self.frames.len() <= depth {
            return;
        }
        if !self.unwinding {
            self.failed();
        }
        while self.frames.len() > depth {
            self.exit(false);
        }
        self.unwinding = false;
    }

    /// Where an error began: if it is in a value built small, the next run
    /// tries another variant there; otherwise the part it is in is marked
    /// as failed from here.
    fn failed(&mut self) {
        self.unwinding = true;
        if self.retry {
            return;
        }
        if self.small {
            let next = self.frames.iter().rposition(|frame| {
                frame.small_enum.is_some_and(|count| {
                    self.explorer.smallest.get(&frame.id).copied().unwrap_or(0) + 1 < count
                })
            });
            if let Some(at) = next {
                self.advance(at);
                return;
            }
        }
        self.mark_failed();
    }

    /// Gives the enum built small at frame `at` its next variant for the
    /// next run. Like an odometer: the enums built small outside it keep
    /// their choice, every other enum starts again from its first variant
    /// (a choice that failed in one place may be right in another).
    fn advance(&mut self, at: usize) {
        let id = self.frames[at].id;
        let outer: HashSet<Id> = self.frames[..at]
            .iter()
            .filter(|frame| frame.small_enum.is_some())
            .map(|frame| frame.id)
            .collect();
        self.explorer
            .smallest
            .retain(|kept, _| *kept == id || outer.contains(kept));
        *self.explorer.smallest.entry(id).or_default() += 1;
        self.retry = true;
    }

    /// Ends the run so that the innermost enum built small since frame
    /// `since` gets its next variant.
    fn try_next_variant(&mut self, since: usize) -> Stop {
        match self.frames[since..]
            .iter()
            .rposition(|frame| frame.small_enum.is_some())
        {
            Some(offset) => {
                self.advance(since + offset);
                Stop("trying another variant".into())
            }
            None => {
                // No enum on the way: no value can be built from here.
                self.unwinding = false;
                self.failed();
                Stop("the type contains itself with no way out".into())
            }
        }
    }

    /// Picks the variant of enum `id` (with `count` variants) to read: one
    /// not seen yet; else one that reaches something not seen yet; else one
    /// that reads to its end.
    fn choose(&mut self, id: Id, name: &str, count: usize) -> Result<u32, Stop> {
        let count = count as u32;
        if count == 0 {
            return Err(Stop(format!("the enum `{name}` has no variants")));
        }
        self.explorer.variants.insert(id, count);
        if let Some(unseen) = (0..count).find(|&v| !self.explorer.parts.contains_key(&(id, v))) {
            return Ok(unseen);
        }
        if let Some(unfinished) = (0..count).find(|&v| !self.explorer.complete((id, v))) {
            return Ok(unfinished);
        }
        (0..count)
            .find(|&v| self.explorer.parts.get(&(id, v)).is_some_and(|p| !p.opaque))
            .ok_or_else(|| Stop(format!("no variant of `{name}` can be read")))
    }

    /// Closes the root part after a run that read to its end.
    fn close(&mut self) {
        self.restore(0);
        let Some(open) = self.open.pop() else {
            return;
        };
        if open.writing && !self.explorer.parts.contains_key(&open.key) {
            self.explorer.parts.insert(
                open.key,
                Part {
                    tokens: open.tokens,
                    refs: open.refs,
                    opaque: false,
                },
            );
        }
    }

    /// Closes the root part after a run that failed: every frame left (a
    /// panic) fails, and the root is kept as opaque if it failed in itself.
    fn close_failed(&mut self) {
        if !self.unwinding {
            self.failed();
        }
        while !self.frames.is_empty() {
            self.exit(false);
        }
        let Some(open) = self.open.pop() else {
            return;
        };
        if let (true, Some((tokens, refs))) = (open.writing, open.failed_at)
            && !self.explorer.parts.contains_key(&open.key)
        {
            let mut kept = open.tokens;
            kept.truncate(tokens);
            kept.push(OPAQUE);
            let mut reached = open.refs;
            reached.truncate(refs);
            self.explorer.parts.insert(
                open.key,
                Part {
                    tokens: kept,
                    refs: reached,
                    opaque: true,
                },
            );
        }
    }
}

/// The placeholder for every number: `1` passes `NonZero` and most ranges.
macro_rules! number {
    ($($method:ident $visit:ident $ty:ty = $token:ident;)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
            self.token($token);
            visitor.$visit(1 as $ty)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for &mut Run<'_> {
    type Error = Stop;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Stop> {
        Err(Stop(
            "`deserialize_any` has no shape (postcard cannot carry it either)".into(),
        ))
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(BOOL);
        visitor.visit_bool(false)
    }

    number! {
        deserialize_i8 visit_i8 i8 = I8;
        deserialize_i16 visit_i16 i16 = I16;
        deserialize_i32 visit_i32 i32 = I32;
        deserialize_i64 visit_i64 i64 = I64;
        deserialize_i128 visit_i128 i128 = I128;
        deserialize_u8 visit_u8 u8 = U8;
        deserialize_u16 visit_u16 u16 = U16;
        deserialize_u32 visit_u32 u32 = U32;
        deserialize_u64 visit_u64 u64 = U64;
        deserialize_u128 visit_u128 u128 = U128;
        deserialize_f32 visit_f32 f32 = F32;
        deserialize_f64 visit_f64 f64 = F64;
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(CHAR);
        visitor.visit_char('a')
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(STR);
        visitor.visit_str("")
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(STR);
        visitor.visit_string(String::new())
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(BYTES);
        visitor.visit_bytes(&[])
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(BYTES);
        visitor.visit_byte_buf(Vec::new())
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(OPTION);
        self.container::<V, _>(
            K_OPTION,
            "",
            None,
            |_| {},
            |run, _| {
                if run.small {
                    visitor.visit_none()
                } else {
                    visitor.visit_some(run)
                }
            },
        )
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(UNIT);
        visitor.visit_unit()
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.token(UNIT_STRUCT);
        self.text(name);
        visitor.visit_unit()
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container::<V, _>(
            K_STRUCT,
            name,
            None,
            |run| {
                run.token(NEWTYPE);
                run.text(name);
            },
            |run, _| visitor.visit_newtype_struct(run),
        )
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(SEQ);
        self.container::<V, _>(
            K_SEQ,
            "",
            None,
            |_| {},
            |run, _| {
                let len = usize::from(!run.small);
                visitor.visit_seq(Elements::new(run, len))
            },
        )
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.token(TUPLE);
        self.number(len);
        self.container::<V, _>(
            K_TUPLE,
            "",
            None,
            |_| {},
            |run, _| visitor.visit_seq(Elements::new(run, len)),
        )
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container::<V, _>(
            K_STRUCT,
            name,
            None,
            |run| {
                run.token(TUPLE_STRUCT);
                run.text(name);
                run.number(len);
            },
            |run, _| visitor.visit_seq(Elements::new(run, len)),
        )
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(MAP);
        self.container::<V, _>(
            K_MAP,
            "",
            None,
            |_| {},
            |run, _| {
                let len = usize::from(!run.small);
                visitor.visit_map(Entries::new(run, len))
            },
        )
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container::<V, _>(
            K_STRUCT,
            name,
            None,
            |run| {
                run.token(STRUCT);
                run.text(name);
                run.number(fields.len());
                for field in fields {
                    run.text(field);
                }
            },
            |run, _| visitor.visit_seq(Elements::new(run, fields.len())),
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container::<V, _>(
            K_ENUM,
            name,
            Some(variants.len()),
            |run| {
                run.token(ENUM);
                run.text(name);
                run.number(variants.len());
                for variant in variants {
                    run.text(variant);
                }
            },
            |run, chosen| {
                let variant = chosen.unwrap_or(0);
                run.token(VARIANT);
                run.number(variant as usize);
                visitor.visit_enum(Variant { run, variant })
            },
        )
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        // As postcard reads one: the index.
        self.token(IDENTIFIER);
        visitor.visit_u32(0)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(IGNORED);
        visitor.visit_unit()
    }

    fn is_human_readable(&self) -> bool {
        // As postcard: std's addresses and times take their compact forms.
        false
    }
}

/// A sequence, tuple or struct body of `len` elements.
struct Elements<'r, 'e> {
    run: &'r mut Run<'e>,
    len: usize,
    /// The frames of the container it belongs to: any above, at the next
    /// element, were left by a panic a `Deserialize` caught.
    depth: usize,
}

impl<'r, 'e> Elements<'r, 'e> {
    fn new(run: &'r mut Run<'e>, len: usize) -> Self {
        let depth = run.frames.len();
        Elements { run, len, depth }
    }
}

impl<'de> SeqAccess<'de> for Elements<'_, '_> {
    type Error = Stop;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Stop> {
        self.run.restore(self.depth);
        if self.len == 0 {
            return Ok(None);
        }
        self.len -= 1;
        seed.deserialize(&mut *self.run).map(Some)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len)
    }
}

/// A map of `len` entries (one, or none when built small).
struct Entries<'r, 'e> {
    run: &'r mut Run<'e>,
    len: usize,
    depth: usize,
}

impl<'r, 'e> Entries<'r, 'e> {
    fn new(run: &'r mut Run<'e>, len: usize) -> Self {
        let depth = run.frames.len();
        Entries { run, len, depth }
    }
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        self.run.restore(self.depth);
        if self.len == 0 {
            return Ok(None);
        }
        self.len -= 1;
        seed.deserialize(&mut *self.run).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Stop> {
        self.run.restore(self.depth);
        seed.deserialize(&mut *self.run)
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.len)
    }
}

/// The variant a run chose.
struct Variant<'r, 'e> {
    run: &'r mut Run<'e>,
    variant: u32,
}

impl<'de, 'r, 'e> EnumAccess<'de> for Variant<'r, 'e> {
    type Error = Stop;
    type Variant = Self;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Self), Stop> {
        let index: de::value::U32Deserializer<Stop> = self.variant.into_deserializer();
        Ok((seed.deserialize(index)?, self))
    }
}

impl<'de> VariantAccess<'de> for Variant<'_, '_> {
    type Error = Stop;

    fn unit_variant(self) -> Result<(), Stop> {
        Ok(())
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<S::Value, Stop> {
        seed.deserialize(&mut *self.run)
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.run.token(TUPLE);
        self.run.number(len);
        visitor.visit_seq(Elements::new(self.run, len))
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.run.token(STRUCT);
        self.run.number(fields.len());
        for field in fields {
            self.run.text(field);
        }
        visitor.visit_seq(Elements::new(self.run, fields.len()))
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    /// The fingerprint, after checking that the whole shape was seen.
    fn traced<T: DeserializeOwned>() -> u64 {
        let (explorer, complete, runs) = explore::<T>();
        assert!(complete, "not all seen after {runs} runs");
        explorer.hash(true)
    }

    /// Whether some part of `T`'s shape is opaque.
    fn has_opaque<T: DeserializeOwned>() -> bool {
        explore::<T>().0.parts.values().any(|part| part.opaque)
    }

    fn all_differ(all: &[u64]) {
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
    }

    #[test]
    fn same_shape_same_fingerprint_wherever_the_type_lives() {
        mod a {
            #[derive(serde::Deserialize)]
            pub struct Job {
                pub _id: u32,
            }
        }
        mod b {
            #[derive(serde::Deserialize)]
            pub struct Job {
                pub _id: u32,
            }
        }
        assert_eq!(traced::<a::Job>(), traced::<b::Job>());
    }

    #[test]
    fn one_name_two_shapes() {
        mod a {
            #[derive(serde::Deserialize)]
            pub struct Job {
                pub _id: u32,
            }
        }
        mod b {
            #[derive(serde::Deserialize)]
            pub struct Job {
                pub _id: u64,
            }
        }
        mod c {
            #[derive(serde::Deserialize)]
            pub struct Job {
                pub _id: u32,
                pub _name: String,
            }
        }
        mod d {
            #[derive(serde::Deserialize)]
            pub struct Job {
                pub _ident: u32,
            }
        }
        all_differ(&[
            traced::<a::Job>(),
            traced::<b::Job>(),
            traced::<c::Job>(),
            traced::<d::Job>(),
        ]);
    }

    #[test]
    fn every_variant_counts() {
        mod a {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub enum Op {
                _Add(u32),
                _Clear,
                _Rename { _to: String },
            }
        }
        mod b {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub enum Op {
                _Add(u32),
                _Clear,
                _Rename { _to: Vec<u8> },
            }
        }
        assert_ne!(traced::<a::Op>(), traced::<b::Op>());
    }

    #[test]
    fn two_instances_of_one_generic_enum_are_two_shapes() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Message {
            A(Result<u32, String>),
            B(Result<String, u8>),
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Other {
            A(Result<u32, String>),
            B(Result<String, u16>),
        }
        assert_ne!(traced::<Message>(), traced::<Other>());
    }

    #[test]
    fn a_type_inside_another_of_the_same_name_is_seen() {
        mod v1 {
            pub mod db {
                #[derive(serde::Deserialize)]
                #[allow(dead_code)]
                pub enum Error {
                    Timeout,
                    Io(String),
                }
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub enum Error {
                Db(db::Error),
                Other(u32),
            }
            pub mod inner {
                #[derive(serde::Deserialize)]
                #[allow(dead_code)]
                pub struct Msg {
                    pub x: u32,
                }
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub struct Msg {
                pub inner: inner::Msg,
            }
        }
        mod v2 {
            pub mod db {
                #[derive(serde::Deserialize)]
                #[allow(dead_code)]
                pub enum Error {
                    Timeout(u64, i8, String),
                }
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub enum Error {
                Db(db::Error),
                Other(u32),
            }
            pub mod inner {
                #[derive(serde::Deserialize)]
                #[allow(dead_code)]
                pub struct Msg {
                    pub x: String,
                    pub y: u64,
                }
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub struct Msg {
                pub inner: inner::Msg,
            }
        }
        assert_ne!(traced::<v1::Error>(), traced::<v2::Error>());
        assert_ne!(traced::<v1::Msg>(), traced::<v2::Msg>());
        assert_ne!(
            traced::<Result<Result<u32, String>, ()>>(),
            traced::<Result<Result<(u64, String), Vec<u8>>, ()>>()
        );
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Wrapper<T>(T);
        assert_ne!(
            traced::<Wrapper<Wrapper<u32>>>(),
            traced::<Wrapper<Wrapper<String>>>()
        );
    }

    #[test]
    fn types_that_contain_themselves() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Node {
            value: u32,
            next: Option<Box<Node>>,
            children: Vec<Node>,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum List {
            Cons(u32, Box<List>),
            Nil,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Expr {
            Add(Box<Expr>, Box<Expr>),
            Neg(Box<Expr>),
            Lit(i64),
        }
        #[derive(Deserialize)]
        #[serde(transparent)]
        #[allow(dead_code)]
        struct Tree {
            children: Vec<Tree>,
        }
        let all = [
            traced::<Node>(),
            traced::<List>(),
            traced::<Expr>(),
            traced::<Tree>(),
        ];
        all_differ(&all);
        // The same twice: the runs are deterministic.
        assert_eq!(all[2], traced::<Expr>());
    }

    #[test]
    fn a_generic_enum_built_small_is_chosen_per_instance() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Either<L, R> {
            Left(L),
            Right(R),
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Tree {
            l: Either<Box<Tree>, u8>,
            r: Either<u8, Box<Tree>>,
        }
        traced::<Tree>();
    }

    #[test]
    fn a_type_with_no_value_is_opaque_not_endless() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Endless {
            More(Box<Endless>),
        }
        traced::<Endless>();
        assert!(has_opaque::<Endless>());
    }

    /// A type that refuses the tracer's placeholder, as a URL parser
    /// refuses an empty string.
    struct NonEmpty;

    impl<'de> Deserialize<'de> for NonEmpty {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            if text.is_empty() {
                return Err(de::Error::custom("empty"));
            }
            Ok(NonEmpty)
        }
    }

    #[test]
    fn a_field_the_tracer_cannot_read_hides_only_what_follows_it() {
        mod v1 {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub struct Job {
                pub id: u32,
                pub link: super::NonEmpty,
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub enum Op {
                Fetch(super::NonEmpty),
                Count(u32),
            }
        }
        mod v2 {
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub struct Job {
                pub id: u64,
                pub link: super::NonEmpty,
            }
            #[derive(serde::Deserialize)]
            #[allow(dead_code)]
            pub enum Op {
                Fetch(super::NonEmpty),
                Count(String),
            }
        }
        assert!(has_opaque::<v1::Job>());
        // What comes before the field, and the other variants, still count.
        assert_ne!(traced::<v1::Job>(), traced::<v2::Job>());
        assert_ne!(traced::<v1::Op>(), traced::<v2::Op>());
    }

    #[test]
    fn a_deserialize_that_panics_or_swallows_errors_is_traced_without_harm() {
        struct Panics;
        impl<'de> Deserialize<'de> for Panics {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                assert!(!text.is_empty(), "empty");
                Ok(Panics)
            }
        }
        struct Lenient<T>(#[allow(dead_code)] Option<T>);
        impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok(Lenient(T::deserialize(d).ok()))
            }
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct A {
            x: Lenient<NonEmpty>,
            y: u32,
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct B {
            x: Lenient<NonEmpty>,
            y: String,
        }
        // The panic is contained (its message still goes to the panic hook).
        traced::<(u8, Panics)>();
        assert_ne!(traced::<A>(), traced::<B>());
    }

    #[test]
    fn a_type_that_asks_for_its_own_fingerprint_ends() {
        struct Curious;
        impl<'de> Deserialize<'de> for Curious {
            fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let _ = fingerprint::<Curious>();
                u32::deserialize(d).map(|_| Curious)
            }
        }
        assert_eq!(fingerprint::<Curious>(), fingerprint::<Curious>());
    }

    #[test]
    fn std_types_trace() {
        use std::collections::BTreeMap;
        use std::net::IpAddr;
        use std::num::NonZeroU32;
        use std::time::Duration;
        traced::<(u8, i128, f64, char, bool, ())>();
        traced::<BTreeMap<String, Vec<Option<u8>>>>();
        traced::<(IpAddr, Duration, NonZeroU32, Box<str>)>();
        assert_ne!(traced::<u32>(), traced::<i32>());
        assert_ne!(traced::<Vec<u32>>(), traced::<Option<u32>>());
        assert_ne!(traced::<Option<Option<u8>>>(), traced::<Option<u8>>());
        // `String` and `Box<str>` are the same bytes on the wire.
        assert_eq!(traced::<String>(), traced::<Box<str>>());
    }

    #[test]
    fn generic_instances_differ() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        struct Wrapper<T>(T);
        assert_ne!(traced::<Wrapper<u32>>(), traced::<Wrapper<String>>());
        assert_ne!(
            traced::<(Wrapper<u32>, Wrapper<String>)>(),
            traced::<(Wrapper<u32>, Wrapper<u32>)>()
        );
    }

    macro_rules! wide_enum {
        ($name:ident($inner:ty)) => {
            #[derive(Deserialize)]
            #[allow(dead_code)]
            enum $name {
                A0($inner),
                A1($inner),
                A2($inner),
                A3($inner),
                A4($inner),
                A5($inner),
                A6($inner),
                A7($inner),
                A8($inner),
                A9($inner),
                A10($inner),
                A11($inner),
                A12($inner),
                A13($inner),
                A14($inner),
                A15($inner),
            }
        };
    }

    #[test]
    fn nested_wide_enums_take_runs_per_type_not_per_path() {
        wide_enum!(Leaf(u8));
        wide_enum!(Middle(Leaf));
        wide_enum!(Top(Middle));
        let (_, complete, runs) = explore::<(Top, Result<Top, Middle>)>();
        assert!(complete);
        assert!(runs < 100, "{runs} runs");
    }

    struct Lenient<T>(#[allow(dead_code)] Option<T>);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Lenient<T> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            Ok(Lenient(T::deserialize(d).ok()))
        }
    }

    /// A `Deserialize` that catches the panic of what it reads.
    struct Catch<T>(#[allow(dead_code)] Option<T>);
    impl<'de, T: Deserialize<'de>> Deserialize<'de> for Catch<T> {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let read = catch_unwind(AssertUnwindSafe(|| T::deserialize(d)));
            Ok(Catch(read.ok().and_then(Result::ok)))
        }
    }

    struct Panics;
    impl<'de> Deserialize<'de> for Panics {
        fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            let text = String::deserialize(d)?;
            assert!(!text.is_empty(), "empty");
            Ok(Panics)
        }
    }

    /// Two versions of one set of types, differing only in `$t`.
    macro_rules! versions {
        ($($m:ident: $t:ty),*; $body:tt) => {$( versions!(@one $m $t $body); )*};
        (@one $m:ident $t:ty { $($body:tt)* }) => {
            #[allow(dead_code)]
            mod $m {
                use super::*;
                type T = $t;
                $($body)*
            }
        };
    }

    versions! { before_url_1: u32, before_url_2: String; {
        #[derive(Deserialize)]
        pub enum Kind { Get, Post(T) }
        #[derive(Deserialize)]
        pub struct Job { pub kind: Kind, pub link: NonEmpty }
    } }

    #[test]
    fn an_enum_before_an_unreadable_field_is_still_explored() {
        assert_ne!(traced::<before_url_1::Job>(), traced::<before_url_2::Job>());
        let (_, _, runs) = explore::<before_url_1::Job>();
        assert!(runs < 10, "{runs} runs");
    }

    versions! { small_1: u32, small_2: String; {
        #[derive(Deserialize)]
        pub enum E { A(H), B }
        #[derive(Deserialize)]
        pub enum H { H0(Box<E>), H1(Box<E>) }
        #[derive(Deserialize)]
        pub struct S { pub v: Vec<S>, pub h: H, pub tail: T }
        #[derive(Deserialize)]
        pub struct M { pub e: E, pub s: S }
    } }

    #[test]
    fn a_value_built_small_in_one_place_does_not_spoil_another() {
        assert_ne!(traced::<small_1::M>(), traced::<small_2::M>());
    }

    versions! { caught_1: u32, caught_2: String; {
        #[derive(Deserialize)]
        pub struct B { pub p: Panics }
        #[derive(Deserialize)]
        pub struct A { pub x: Catch<B>, pub y: T }
    } }

    versions! { lenient_1: u32, lenient_2: String; {
        #[derive(Deserialize)]
        pub struct LT { pub x: Lenient<Box<LT>>, pub y: T }
    } }

    #[test]
    fn a_caught_panic_or_a_swallowed_recursion_leaves_the_rest_seen() {
        std::panic::set_hook(Box::new(|_| {}));
        let caught = (traced::<caught_1::A>(), traced::<caught_2::A>());
        let _ = std::panic::take_hook();
        assert_ne!(caught.0, caught.1);
        assert_ne!(traced::<lenient_1::LT>(), traced::<lenient_2::LT>());
    }

    #[derive(Deserialize)]
    #[allow(dead_code)]
    struct W<T>(Option<Box<T>>);

    macro_rules! nest {
        ($t:ty; ) => { $t };
        ($t:ty; $_x:tt $($rest:tt)*) => { W<nest!($t; $($rest)*)> };
    }

    #[test]
    fn a_type_nested_past_the_depth_limit_ends_at_once() {
        // Two frames a level (the struct, its option): past `MAX_DEPTH`.
        type Deep = nest!(u8; x x x x x x x x x x x x x x x x);
        let (_, complete, runs) = explore::<Deep>();
        assert!(
            complete && runs == 1,
            "complete {complete} after {runs} runs"
        );
    }

    #[test]
    fn the_tracing_flag_is_restored() {
        assert!(!is_tracing());
        let _ = trace::<u32>();
        assert!(!is_tracing());
    }
}
