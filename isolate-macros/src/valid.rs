//! Every rule the macros' input must obey. Each rule reports a `syn::Error`
//! at the offending span, in words that say what to do; all errors are
//! reported at once. Nothing here generates code.

use std::collections::HashMap;

use syn::spanned::Spanned;
use syn::{GenericParam, Type};

use crate::ast::{Handler, IsolateImpl, IsolateItem, Message, MessageTarget, Receiver};
use crate::types;

/// Port methods that `#[isolate]` generates itself: a handler cannot take
/// these names.
const RESERVED: &[&str] = &["send_port", "is_closed", "into_send_port"];

/// Collects errors so that one compile shows them all.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, span: proc_macro2::Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    /// An error that underlines all of `tokens`, not just their first token.
    fn push_spanned(&mut self, tokens: &proc_macro2::TokenStream, message: impl std::fmt::Display) {
        self.add(syn::Error::new_spanned(tokens, message));
    }

    fn add(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(error),
            None => self.0 = Some(error),
        }
    }

    fn finish(self) -> syn::Result<()> {
        self.0.map_or(Ok(()), Err)
    }
}

pub(crate) fn message(message: &Message) -> syn::Result<()> {
    let mut errors = Errors::default();
    match &message.target {
        MessageTarget::Type(ty) => {
            let name = &ty.item.ident;
            for param in &ty.item.generics.params {
                if let GenericParam::Lifetime(lifetime) = param {
                    errors.push(
                        lifetime.span(),
                        format_args!(
                            "a message cannot borrow: `{name}` would outlive the data behind `{}`. \
                             Own the data (`String`, `Vec<T>`) or share it immutably with `Shared<T>`",
                            lifetime.lifetime
                        ),
                    );
                }
            }
            // A field under `#[cfg]` may not exist: its refusal by name is
            // left to its `Sendable` check, which carries the same `#[cfg]`.
            for field in ty.fields.iter().filter(|field| field.cfgs.is_empty()) {
                check_crossing(
                    &mut errors,
                    &field.ty,
                    &format!("field `{}` of `{name}`", field.label),
                );
            }
        }
        MessageTarget::Union(span) => errors.push(
            *span,
            "`#[message]` does not support unions: the compiler cannot tell which field holds a value, \
             so it cannot check what crosses. Use an enum",
        ),
        MessageTarget::Function {
            span,
            has_receiver: true,
        } => errors.push(
            *span,
            "this `#[message]` handler is in an impl block without `#[isolate]`: \
             write `#[isolate]` on the impl block (and on the struct)",
        ),
        MessageTarget::Function { span, .. } => errors.push(
            *span,
            "`#[message]` goes on a struct or enum (a message type) or on a method of an \
             `#[isolate]` impl, not on a free function: to start an isolate from a function, \
             use `group.spawn_fn(entry, message)`",
        ),
        MessageTarget::Other(span) => errors.push(
            *span,
            "`#[message]` goes on a struct or enum (a message type) or on a method of an `#[isolate]` impl",
        ),
    }
    errors.finish()
}

pub(crate) fn isolate(item: &IsolateItem) -> syn::Result<()> {
    let mut errors = Errors::default();
    match item {
        IsolateItem::Struct(item, fields, pinned) => {
            if !item.generics.params.is_empty() {
                errors.push(
                    item.generics.span(),
                    "generic isolates are not supported yet: give the isolate's state concrete types",
                );
            }
            let name = &item.ident;
            // A pinned isolate's state never moves: `Rc` and friends are fine.
            let fields = if *pinned { &[][..] } else { &fields[..] };
            for field in fields.iter().filter(|field| field.cfgs.is_empty()) {
                check_crossing_or(
                    &mut errors,
                    &field.ty,
                    &format!(
                        "field `{}` of isolate `{name}` moves into the isolate when it is spawned, so it",
                        field.label
                    ),
                    "; or, if the state is never to leave one thread, write \
                     `#[isolate(pinned)]` on the struct and the impl block and spawn it with \
                     `group.spawn_pinned(|data| .., data)`",
                );
            }
        }
        IsolateItem::Impl(item) => isolate_impl(item, &mut errors),
        IsolateItem::Other(span) => errors.push(
            *span,
            "`#[isolate]` goes on a struct (the isolate's state) and on its inherent impl block (its handlers)",
        ),
    }
    errors.finish()
}

fn isolate_impl(item: &IsolateImpl, errors: &mut Errors) {
    let impl_block = &item.item;
    if let Some((path, _)) = &impl_block.trait_ {
        errors.push(
            path.span(),
            "`#[isolate]` goes on the isolate's own impl block (`impl Counter { .. }`), not on a trait impl",
        );
        return;
    }
    if !impl_block.generics.params.is_empty() {
        errors.push(
            impl_block.generics.span(),
            "generic isolates are not supported yet: implement the handlers for a concrete type",
        );
    }
    if item.name.is_none() {
        errors.push(
            impl_block.self_ty.span(),
            "`#[isolate]` needs the isolate's type by name, as in `impl Counter { .. }`",
        );
    }
    if item.handlers.is_empty() {
        errors.push(
            impl_block.self_ty.span(),
            "this `#[isolate]` impl has no handlers: mark the methods that handle messages with `#[message]`",
        );
    }
    let mut seen: HashMap<String, &Handler> = HashMap::new();
    for handler in &item.handlers {
        let variant = handler.variant.to_string();
        if let Some(first) = seen.get(&variant) {
            errors.push(
                handler.method.span(),
                format_args!(
                    "handlers `{}` and `{}` would both be the message `{variant}`: rename one of them",
                    first.method, handler.method
                ),
            );
        } else {
            seen.insert(variant, handler);
        }
        validate_handler(handler, errors);
    }
    // A tell `x` also makes `try_x` and `x_async` on the port.
    for tell in item
        .handlers
        .iter()
        .filter(|handler| handler.output.is_none())
    {
        for generated in crate::expand::tell_companions(&tell.method) {
            if let Some(clash) = item
                .handlers
                .iter()
                .find(|handler| handler.method == generated)
            {
                errors.push(
                    clash.method.span(),
                    format_args!(
                        "handler `{generated}` has the name of the port method that `#[isolate]` \
                         makes for the tell `{}`: rename one of them",
                        tell.method
                    ),
                );
            }
        }
    }
}

fn validate_handler(handler: &Handler, errors: &mut Errors) {
    let name = &handler.method;
    if !handler.attr_args.is_empty() {
        errors.push(
            handler.attr_args.span(),
            "`#[message]` on a handler takes no arguments",
        );
    }
    if handler.method == handler.variant {
        errors.push(
            name.span(),
            format_args!(
                "handler `{name}` is named as its message's variant would be: name handlers in \
                 snake_case (`fn {}`), since `#[isolate]` makes both the variant `{name}` and \
                 the constructor `fn {name}` of the message enum",
                snake_case(&name.to_string())
            ),
        );
    }
    if RESERVED.contains(&name.to_string().as_str()) {
        errors.push(
            name.span(),
            format_args!("`{name}` is a method of every generated port: rename the handler"),
        );
    }
    if let Some((span, what)) = handler.unsupported {
        errors.push(
            span,
            format_args!("a handler cannot be {what}: make `{name}` a plain `fn` or `async fn`"),
        );
    }
    match handler.receiver {
        Receiver::Borrowed => {}
        Receiver::Owned(span) => errors.push(
            span,
            format_args!(
                "handler `{name}` takes `self` by value, but the isolate keeps its state between \
                 messages: take `&self` or `&mut self`"
            ),
        ),
        Receiver::Missing => errors.push(
            name.span(),
            format_args!(
                "handler `{name}` has no `self`: a `#[message]` handler is a method that runs on the \
                 isolate's state, so take `&self` or `&mut self` (remove `#[message]` from helper functions)"
            ),
        ),
    }
    if !handler.generics.params.is_empty() || handler.generics.where_clause.is_some() {
        errors.push(
            handler.generics.span(),
            format_args!(
                "handler `{name}` is generic, but each handler becomes one message with concrete \
                 types: use concrete types (or a generic `#[message]` enum as one argument)"
            ),
        );
    }
    for arg in &handler.args {
        check_crossing(
            errors,
            &arg.ty,
            &format!("argument `{}` of handler `{name}`", arg.name),
        );
    }
    if let Some(output) = &handler.output {
        check_crossing(
            errors,
            output,
            &format!("the return type of handler `{name}`"),
        );
    }
}

/// `AddWords` → `add_words`, for advice.
fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for (index, c) in name.trim_start_matches("r#").chars().enumerate() {
        if c.is_uppercase() && index > 0 {
            out.push('_');
        }
        out.extend(c.to_lowercase());
    }
    out
}

/// Refuses, with a reason and a fix, a type that can never cross an
/// isolate. Everything else is left to the `Sendable` bound.
fn check_crossing(errors: &mut Errors, ty: &Type, what: &str) {
    check_crossing_or(errors, ty, what, "");
}

/// As `check_crossing`, with `alternative` appended to a refusal's help.
fn check_crossing_or(errors: &mut Errors, ty: &Type, what: &str, alternative: &str) {
    if let Some(refusal) = types::refusal(ty) {
        let found = if refusal.found.is_empty() {
            String::new()
        } else {
            format!("`{}` ", refusal.found)
        };
        errors.push_spanned(
            &refusal.tokens,
            format_args!(
                "{what} cannot cross an isolate: {found}is refused because {}.\n\
                 help: {}{alternative}",
                refusal.why, refusal.fix
            ),
        );
    } else if types::borrows(ty) {
        errors.push_spanned(
            &quote::quote!(#ty),
            format_args!(
                "{what} cannot cross an isolate: it borrows data (a lifetime other than `'static`), \
                 and a message outlives the sender's stack frame.\n\
                 help: send owned data, or `Shared<T>` to share immutable data"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proc_macro2::TokenStream;
    use quote::quote;

    fn message_error(args: TokenStream, item: TokenStream) -> Option<String> {
        let parsed = Message::parse(args, item).unwrap();
        message(&parsed).err().map(|e| e.to_string())
    }

    fn isolate_error(item: TokenStream) -> Option<String> {
        let parsed = IsolateItem::parse(TokenStream::new(), item).unwrap();
        isolate(&parsed).err().map(|e| {
            e.into_iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join(" | ")
        })
    }

    #[test]
    fn plain_messages_pass() {
        assert_eq!(
            message_error(
                quote!(),
                quote!(
                    struct Job {
                        id: u64,
                        text: String,
                    }
                )
            ),
            None
        );
        assert_eq!(
            message_error(
                quote!(immutable),
                quote!(
                    enum E<T> {
                        A(T),
                        B,
                    }
                )
            ),
            None
        );
    }

    #[test]
    fn a_refused_field_names_the_field_and_the_fix() {
        let error = message_error(
            quote!(),
            quote!(
                struct Job {
                    scratch: RefCell<Vec<u8>>,
                }
            ),
        )
        .unwrap();
        assert!(error.contains("field `scratch` of `Job`"), "{error}");
        assert!(error.contains("shared mutable state"), "{error}");
        assert!(error.contains("help: send an owned copy"), "{error}");
    }

    #[test]
    fn borrowing_messages_and_unions_are_refused() {
        assert!(
            message_error(
                quote!(),
                quote!(
                    struct Job<'a> {
                        text: &'a str,
                    }
                )
            )
            .unwrap()
            .contains("cannot borrow")
        );
        assert!(
            message_error(quote!(), quote!(union U { a: u8 }))
                .unwrap()
                .contains("unions")
        );
    }

    #[test]
    fn handler_misuse_is_refused_with_every_error_at_once() {
        let error = isolate_error(quote! {
            impl Counter {
                #[message] fn add(self, n: u64) {}
                #[message] fn Add(&self) {}
                #[message] fn get<T>(&self, t: T) {}
                #[message] fn helper() {}
                #[message] fn borrow(&self, s: &str) {}
                #[message] fn is_closed(&self) {}
            }
        })
        .unwrap();
        for expected in [
            "takes `self` by value",
            "would both be the message `Add`",
            "is generic",
            "has no `self`",
            "argument `s` of handler `borrow`",
            "`is_closed` is a method of every generated port",
        ] {
            assert!(error.contains(expected), "missing {expected:?} in {error}");
        }
    }

    #[test]
    fn an_impl_without_handlers_or_of_a_trait_is_refused() {
        assert!(
            isolate_error(quote!(impl Counter { fn helper(&self) {} }))
                .unwrap()
                .contains("no handlers")
        );
        assert!(
            isolate_error(quote!(impl Default for Counter { fn default() -> Self { Counter } }))
                .unwrap()
                .contains("not on a trait impl")
        );
    }
}
