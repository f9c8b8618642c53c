//! Procedural macros for `isolate-core`: `#[message]` and `#[isolate]`.
//!
//! Use them through `isolate_core` (feature `macros`, on by default), not
//! directly. Each macro runs three stages that never mix, as thiserror's
//! derive does: `ast` parses the input into this crate's own types,
//! `valid` checks every rule and reports a `syn::Error` at the offending
//! span, and `expand` generates code from an input already known to be
//! valid.

mod ast;
mod attr;
mod expand;
mod types;
mod valid;

use proc_macro::TokenStream;

/// Marks a message type, or a handler method inside an `#[isolate]` impl.
///
/// On a struct or enum, it derives `Sendable` after checking every field:
/// each field type gets its own compile-time check carrying that field's
/// span, so an error points at the field that cannot cross an isolate and
/// says why. Generic parameters get a `Sendable` bound.
/// `#[message(immutable)]` also derives `Immutable`, so the type can live in
/// a `Shared<T>`.
///
/// On a method of an `#[isolate]` impl, it makes the method a handler; see
/// `#[isolate]`.
///
/// See the `isolate_core` documentation for examples.
#[proc_macro_attribute]
pub fn message(args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    ast::Message::parse(args.into(), input.clone())
        .and_then(|message| {
            valid::message(&message)?;
            Ok(expand::message(&message))
        })
        .unwrap_or_else(|error| with_item(error, input))
        .into()
}

/// Makes a struct an isolate, and its impl block's `#[message]` methods its
/// handlers.
///
/// On the struct, it declares the typed port `<Name>Port`. On the impl, it
/// generates the message enum `<Name>Message`, the dispatch (`impl Isolate`),
/// and one port method per handler: a handler without a return value is a
/// tell (`Result<(), SendError<args>>`), one with a return value is an ask
/// (`Reply<R>`), and `async fn` handlers are awaited inside the isolate.
///
/// See the `isolate_core` documentation for examples.
#[proc_macro_attribute]
pub fn isolate(args: TokenStream, input: TokenStream) -> TokenStream {
    let input = proc_macro2::TokenStream::from(input);
    let item = match ast::IsolateItem::parse(args.into(), input.clone()) {
        Ok(item) => item,
        Err(error) => return with_item(error, input).into(),
    };
    match valid::isolate(&item) {
        Ok(()) => expand::isolate(&item),
        // The item as parsed: an impl block loses its `#[message]`
        // attributes, which would otherwise each report a second error, and
        // gets a stand-in `Isolate` impl, so that the struct's port type does
        // not report a third.
        Err(error) => {
            let mut tokens = with_item(error, item.to_tokens_as_written());
            tokens.extend(expand::stand_in(&item));
            tokens
        }
    }
    .into()
}

/// The errors, followed by the item as written: without the item, every use
/// of it elsewhere would add an unrelated "cannot find" error.
fn with_item(error: syn::Error, item: proc_macro2::TokenStream) -> proc_macro2::TokenStream {
    let mut tokens = error.into_compile_error();
    // `#[message]` on a method is refused; the method's own tokens cannot
    // stand alone outside its impl block, so only the error is kept there.
    if syn::parse2::<syn::Item>(item.clone()).is_ok_and(|item| !matches!(item, syn::Item::Fn(_))) {
        tokens.extend(item);
    }
    tokens
}
