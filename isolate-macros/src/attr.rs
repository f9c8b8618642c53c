//! The arguments of `#[message(..)]` and `#[isolate(..)]`.

use proc_macro2::{Span, TokenStream};
use syn::parse::Parser;
use syn::spanned::Spanned;

/// `#[message]` or `#[message(immutable)]`.
#[derive(Debug, Default)]
pub(crate) struct MessageArgs {
    /// Where `immutable` was written, if it was.
    pub(crate) immutable: Option<Span>,
}

impl MessageArgs {
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut parsed = MessageArgs::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("immutable") {
                if parsed.immutable.is_some() {
                    return Err(meta.error("`immutable` is given twice"));
                }
                parsed.immutable = Some(meta.path.span());
                Ok(())
            } else {
                Err(meta.error(
                    "unknown argument: `#[message]` takes only `immutable`, as in `#[message(immutable)]`",
                ))
            }
        });
        parser.parse2(args)?;
        Ok(parsed)
    }
}

/// `#[isolate]`, `#[isolate(remote)]`, `#[isolate(pinned)]`, or both.
#[derive(Debug, Default)]
pub(crate) struct IsolateArgs {
    /// Where `remote` was written, if it was.
    pub(crate) remote: Option<Span>,
    /// Where `pinned` was written, if it was.
    pub(crate) pinned: Option<Span>,
}

impl IsolateArgs {
    pub(crate) fn parse(args: TokenStream) -> syn::Result<Self> {
        let mut parsed = IsolateArgs::default();
        let parser = syn::meta::parser(|meta| {
            if meta.path.is_ident("remote") {
                if parsed.remote.is_some() {
                    return Err(meta.error("`remote` is given twice"));
                }
                parsed.remote = Some(meta.path.span());
                Ok(())
            } else if meta.path.is_ident("pinned") {
                if parsed.pinned.is_some() {
                    return Err(meta.error("`pinned` is given twice"));
                }
                parsed.pinned = Some(meta.path.span());
                Ok(())
            } else {
                Err(meta.error(
                    "unknown argument: `#[isolate]` takes `remote` (on the impl block: its \
                     port can then cross into another process) and `pinned` (on the struct \
                     and the impl block: its state may hold `!Send` values and is spawned \
                     with `spawn_pinned`)",
                ))
            }
        });
        parser.parse2(args)?;
        Ok(parsed)
    }
}
