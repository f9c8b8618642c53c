//! Procedural macros for `isolate-core`. Use them through `isolate_core`
//! (feature `macros`, on by default), not directly.
//!
//! This release has `#[message]`; `#[isolate]` comes next.

use proc_macro::TokenStream;

mod message;

/// Derives `Sendable` for a struct or enum after checking every field.
///
/// Each field type gets its own compile-time check, carrying that field's
/// span, so an error points at the field that cannot cross an isolate.
/// Generic parameters get a `Sendable` bound.
///
/// ```text
/// use isolate_core::prelude::*;
///
/// #[message]
/// pub struct Chunk {
///     pub id: u64,
///     pub text: String,
///     pub stop_words: Shared<Vec<String>>,
/// }
/// ```
#[proc_macro_attribute]
pub fn message(args: TokenStream, input: TokenStream) -> TokenStream {
    message::expand(args.into(), input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
