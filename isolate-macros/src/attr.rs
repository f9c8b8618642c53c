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

/// `#[isolate]` takes no arguments in this release.
pub(crate) fn isolate_args(args: TokenStream) -> syn::Result<()> {
    if args.is_empty() {
        Ok(())
    } else {
        Err(syn::Error::new(
            args.span(),
            "`#[isolate]` takes no arguments: write `#[isolate]` on the struct and on its impl block",
        ))
    }
}
