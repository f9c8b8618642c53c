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
//! enum it reaches has been seen. The shape of each part is kept under its
//! *path* (which enum occurrence, which variant), not under its name, so
//! that `Result<u32, String>` and `Result<String, u8>` in one message are
//! two shapes. A type that contains itself (through an `Option`, a `Vec`,
//! a `Box` in an enum) is written as a reference back to the enclosing
//! occurrence, and from there on the tracer builds the smallest value it
//! can: `None`, empty sequences, and for each enum a variant that does not
//! lead back into itself (found by trying, one run each).
//!
//! This is what serde-reflection does, reduced to a hash: that crate
//! builds a registry of formats and brings `thiserror` 1 and so a second
//! `syn` into every build of `isolate-core`, for a number computed once per
//! type (see docs/architecture.md).
//!
//! A type the tracer cannot read falls back to the hash of its name: one
//! whose `Deserialize` calls `deserialize_any` (which postcard, the codec,
//! cannot carry either) or refuses every placeholder value (a newtype that
//! validates its string). Its members must then be built by one compiler.

use std::any::TypeId;
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Mutex, OnceLock};

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, EnumAccess, IntoDeserializer, MapAccess, SeqAccess,
    VariantAccess, Visitor,
};

/// The fingerprint of `T`: the hash of its shape, computed once per type
/// and process.
pub(crate) fn fingerprint<T: DeserializeOwned + 'static>() -> u64 {
    static CACHE: OnceLock<Mutex<HashMap<TypeId, u64>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    let id = TypeId::of::<T>();
    if let Some(&known) = cache.lock().unwrap_or_else(|e| e.into_inner()).get(&id) {
        return known;
    }
    // Traced outside the lock: a `Deserialize` impl may ask for another
    // type's fingerprint.
    let hash = trace::<T>().unwrap_or_else(|| name_hash(std::any::type_name::<T>()));
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

/// The fallback: the hash of a name, marked apart from every shape's.
fn name_hash(name: &str) -> u64 {
    fnv(fnv(FNV_START, b"name\0"), name.as_bytes())
}

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

/// How many runs a shape may take before the tracer gives up on it.
const MAX_RUNS: usize = 4096;
/// How deep one run may nest before it is taken for endless recursion.
const MAX_DEPTH: usize = 256;

/// Deserializes `T` from the tracer until its whole shape is seen; `None`
/// if it cannot be.
fn trace<T: DeserializeOwned>() -> Option<u64> {
    struct Tracing(bool);
    impl Drop for Tracing {
        fn drop(&mut self) {
            TRACING.with(|flag| flag.set(self.0));
        }
    }
    let _restore = Tracing(TRACING.with(|flag| flag.replace(true)));

    let mut explorer = Explorer::default();
    for _ in 0..MAX_RUNS {
        let mut run = Run::new(&mut explorer);
        let result = T::deserialize(&mut run).map(drop);
        if result.is_ok() {
            run.close();
        }
        let retry = run.retry;
        match result {
            Ok(()) => {}
            Err(_) if retry => continue,
            Err(_) => return None,
        }
        if explorer.complete(&[]) {
            return Some(explorer.hash());
        }
    }
    None
}

/// A path: for each enum on the way from the root, which occurrence of an
/// enum in its part, then which variant.
type Path = Vec<u32>;

/// The shape of one part: the tokens between the root or an enum variant
/// and the enums inside it.
#[derive(Debug)]
struct Part {
    tokens: Vec<u8>,
    /// The number of variants of each enum occurrence in this part, in
    /// order: occurrence `k`'s variant `v` is the part at `path ++ [k, v]`.
    enums: Vec<u32>,
}

/// What the runs so far have found.
#[derive(Default)]
struct Explorer {
    parts: BTreeMap<Path, Part>,
    /// For an enum met again inside itself: the variant to build there.
    smallest: HashMap<&'static str, u32>,
}

impl Explorer {
    /// Whether the part at `path` and everything it reaches has been seen.
    fn complete(&self, path: &[u32]) -> bool {
        let Some(part) = self.parts.get(path) else {
            return false;
        };
        part.enums
            .iter()
            .enumerate()
            .all(|(k, &variants)| (0..variants).all(|v| self.complete(&extend(path, k as u32, v))))
    }

    /// The hash of every part, in path order.
    fn hash(&self) -> u64 {
        let mut hash = fnv(FNV_START, b"shape v1\0");
        for (path, part) in &self.parts {
            hash = fnv(hash, &(path.len() as u32).to_le_bytes());
            for step in path {
                hash = fnv(hash, &step.to_le_bytes());
            }
            hash = fnv(hash, &(part.tokens.len() as u32).to_le_bytes());
            hash = fnv(hash, &part.tokens);
        }
        hash
    }
}

fn extend(path: &[u32], occurrence: u32, variant: u32) -> Path {
    let mut path = path.to_vec();
    path.extend([occurrence, variant]);
    path
}

/// A part being read in this run.
struct Open {
    path: Path,
    /// Whether its tokens are new: a part seen in an earlier run is walked
    /// again only to reach the enums inside it.
    writing: bool,
    tokens: Vec<u8>,
    enums: Vec<u32>,
}

/// A named container being deserialized.
struct Frame {
    name: &'static str,
    /// Whether values were being built small outside it.
    was_small: bool,
    /// Whether it is being built small.
    small: bool,
    /// For an enum built small: the variant it was given.
    small_enum: bool,
}

/// One run of the tracer.
struct Run<'e> {
    explorer: &'e mut Explorer,
    open: Vec<Open>,
    frames: Vec<Frame>,
    /// Whether values are being built small, and nothing written.
    small: bool,
    /// Set when a run ends early to try another variant.
    retry: bool,
}

/// Why a run ended early; the tracer looks at `Run::retry`, not at this,
/// since a `Deserialize` impl may rewrap errors.
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
/// A container met inside itself: the distance back to its occurrence.
const BACK: u8 = 30;

impl<'e> Run<'e> {
    fn new(explorer: &'e mut Explorer) -> Self {
        let writing = !explorer.parts.contains_key(&Path::new());
        Run {
            explorer,
            open: vec![Open {
                path: Path::new(),
                writing,
                tokens: Vec::new(),
                enums: Vec::new(),
            }],
            frames: Vec::new(),
            small: false,
            retry: false,
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

    /// Enters a named container: `Ok(true)` if it is built small from
    /// here (it is inside itself).
    fn enter(&mut self, name: &'static str) -> Result<bool, Stop> {
        if self.frames.len() >= MAX_DEPTH {
            return Err(Stop("the type nests too deep to trace".into()));
        }
        let earlier = self.frames.iter().rposition(|frame| frame.name == name);
        let was_small = self.small;
        let starts_small = match earlier {
            Some(at) if self.frames[at].small => {
                // Built small and still back inside itself: the enum chosen
                // on the way leads here. The next run tries its next variant.
                return Err(self.try_next_variant(at));
            }
            Some(at) if !self.small => {
                self.token(BACK);
                self.number(self.frames.len() - at);
                true
            }
            _ => false,
        };
        if starts_small {
            self.small = true;
        }
        self.frames.push(Frame {
            name,
            was_small,
            small: self.small,
            small_enum: false,
        });
        Ok(starts_small)
    }

    fn leave(&mut self) {
        if let Some(frame) = self.frames.pop() {
            self.small = frame.was_small;
        }
    }

    /// Ends the run so that the innermost enum built small since frame
    /// `since` gets its next variant.
    fn try_next_variant(&mut self, since: usize) -> Stop {
        let Some(frame) = self.frames[since..]
            .iter()
            .rev()
            .find(|frame| frame.small_enum)
        else {
            return Stop("the type contains itself with no way out".into());
        };
        *self.explorer.smallest.entry(frame.name).or_default() += 1;
        self.retry = true;
        Stop("trying another variant".into())
    }

    /// Runs `body` inside the named container `name`.
    fn container<T>(
        &mut self,
        name: &'static str,
        head: impl FnOnce(&mut Self),
        body: impl FnOnce(&mut Self) -> Result<T, Stop>,
    ) -> Result<T, Stop> {
        let started_small = self.enter(name)?;
        if !started_small {
            head(self);
        }
        let value = body(self)?;
        self.leave();
        Ok(value)
    }

    /// Picks the variant of an enum with `variants` variants, opening the
    /// part it is read into; returns the variant and whether a part was
    /// opened.
    fn choose(&mut self, name: &'static str, variants: usize) -> Result<(u32, bool), Stop> {
        let count = variants as u32;
        if count == 0 {
            return Err(Stop(format!("the enum `{name}` has no variants")));
        }
        if self.small {
            let smallest = self.explorer.smallest.get(name).copied().unwrap_or(0);
            if smallest >= count {
                return Err(Stop(format!(
                    "every variant of `{name}` contains `{name}`: no value can be built"
                )));
            }
            if let Some(frame) = self.frames.last_mut() {
                frame.small_enum = true;
            }
            return Ok((smallest, false));
        }
        let open = self.open.last_mut().expect("the root part is open");
        let occurrence = open.enums.len() as u32;
        open.enums.push(count);
        let base = open.path.clone();
        let parts = &self.explorer.parts;
        let path_of = |v| extend(&base, occurrence, v);
        // A variant not seen yet; else one that reaches something not seen
        // yet; else all is seen and the value may as well be small.
        let unseen = (0..count).find(|&v| !parts.contains_key(&path_of(v)));
        let unfinished = || (0..count).find(|&v| !self.explorer.complete(&path_of(v)));
        let Some(variant) = unseen.or_else(unfinished) else {
            self.small = true;
            if let Some(frame) = self.frames.last_mut() {
                frame.small = true;
                frame.small_enum = true;
            }
            let smallest = self.explorer.smallest.get(name).copied().unwrap_or(0);
            if smallest >= count {
                return Err(Stop(format!(
                    "every variant of `{name}` contains `{name}`: no value can be built"
                )));
            }
            return Ok((smallest, false));
        };
        let path = path_of(variant);
        let writing = !self.explorer.parts.contains_key(&path);
        self.open.push(Open {
            path,
            writing,
            tokens: Vec::new(),
            enums: Vec::new(),
        });
        Ok((variant, true))
    }

    /// Closes the innermost part, keeping it if it is new.
    fn close(&mut self) {
        let open = self.open.pop().expect("a part was opened");
        if open.writing {
            self.explorer.parts.insert(
                open.path,
                Part {
                    tokens: open.tokens,
                    enums: open.enums,
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
        if self.small {
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
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
        self.container(
            name,
            |run| {
                run.token(NEWTYPE);
                run.text(name);
            },
            |run| visitor.visit_newtype_struct(run),
        )
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(SEQ);
        let len = usize::from(!self.small);
        visitor.visit_seq(Elements { run: self, len })
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Stop> {
        self.token(TUPLE);
        self.number(len);
        visitor.visit_seq(Elements { run: self, len })
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container(
            name,
            |run| {
                run.token(TUPLE_STRUCT);
                run.text(name);
                run.number(len);
            },
            |run| visitor.visit_seq(Elements { run, len }),
        )
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Stop> {
        self.token(MAP);
        let len = usize::from(!self.small);
        visitor.visit_map(Entries { run: self, len })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container(
            name,
            |run| {
                run.token(STRUCT);
                run.text(name);
                run.number(fields.len());
                for field in fields {
                    run.text(field);
                }
            },
            |run| {
                visitor.visit_seq(Elements {
                    run,
                    len: fields.len(),
                })
            },
        )
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Stop> {
        self.container(
            name,
            |run| {
                run.token(ENUM);
                run.text(name);
                run.number(variants.len());
                for variant in variants {
                    run.text(variant);
                }
            },
            |run| {
                let (variant, opened) = run.choose(name, variants.len())?;
                if opened {
                    run.token(VARIANT);
                    run.number(variant as usize);
                }
                let value = visitor.visit_enum(Variant {
                    run: &mut *run,
                    variant,
                })?;
                if opened {
                    run.close();
                }
                Ok(value)
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
}

impl<'de> SeqAccess<'de> for Elements<'_, '_> {
    type Error = Stop;

    fn next_element_seed<S: DeserializeSeed<'de>>(
        &mut self,
        seed: S,
    ) -> Result<Option<S::Value>, Stop> {
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
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = Stop;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Stop> {
        if self.len == 0 {
            return Ok(None);
        }
        self.len -= 1;
        seed.deserialize(&mut *self.run).map(Some)
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, Stop> {
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
        visitor.visit_seq(Elements { run: self.run, len })
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
        visitor.visit_seq(Elements {
            run: self.run,
            len: fields.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    fn traced<T: DeserializeOwned>() -> u64 {
        trace::<T>().expect("the tracer reads this type")
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
        let all = [
            traced::<a::Job>(),
            traced::<b::Job>(),
            traced::<c::Job>(),
            traced::<d::Job>(),
        ];
        for (i, x) in all.iter().enumerate() {
            for y in &all[i + 1..] {
                assert_ne!(x, y);
            }
        }
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
    fn nested_enums_are_explored_at_every_occurrence() {
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
        let node = traced::<Node>();
        let list = traced::<List>();
        let expr = traced::<Expr>();
        assert_ne!(node, list);
        assert_ne!(list, expr);
        // The same twice: the runs are deterministic.
        assert_eq!(expr, traced::<Expr>());
    }

    #[test]
    fn a_type_with_no_value_is_not_traced() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Endless {
            More(Box<Endless>),
        }
        assert_eq!(trace::<Endless>(), None);
        // ...and falls back to its name.
        assert_eq!(
            fingerprint::<Endless>(),
            name_hash(std::any::type_name::<Endless>())
        );
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

    #[test]
    fn many_variants_stay_within_the_budget() {
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Small {
            A,
            B(u8),
            C(String),
            D { x: u32 },
        }
        #[derive(Deserialize)]
        #[allow(dead_code)]
        enum Big {
            A(Small, Small),
            B(Option<Small>),
            C(Vec<(Small, Result<Small, String>)>),
            D,
        }
        traced::<(Big, Big, Result<Big, Small>)>();
    }

    #[test]
    fn deserialize_any_falls_back() {
        #[derive(Deserialize)]
        #[serde(untagged)]
        #[allow(dead_code)]
        enum Loose {
            N(u32),
            S(String),
        }
        assert_eq!(trace::<Loose>(), None);
    }

    #[test]
    fn the_tracing_flag_is_restored() {
        assert!(!is_tracing());
        let _ = trace::<u32>();
        assert!(!is_tracing());
    }
}
