//! The macros' input, parsed into this crate's own types. Parsing reports
//! only syntax errors; every rule about what is allowed lives in `valid.rs`.

use proc_macro2::{Group, Span, TokenStream, TokenTree};
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{
    Attribute, Data, DeriveInput, FnArg, Generics, Ident, ImplItem, ItemImpl, ItemStruct, Pat,
    ReturnType, Type,
};

use crate::attr::{self, MessageArgs};

/// What `#[message]` was put on.
pub(crate) struct Message {
    pub(crate) args: MessageArgs,
    pub(crate) target: MessageTarget,
}

pub(crate) enum MessageTarget {
    /// A struct or enum: a message type.
    Type(Box<MessageType>),
    /// A union: refused by validation.
    Union(Span),
    /// A function: `#[message]` on a method of an impl without `#[isolate]`,
    /// or on a free function.
    Function { span: Span, has_receiver: bool },
    /// Anything else.
    Other(Span),
}

/// A struct or enum under `#[message]`.
pub(crate) struct MessageType {
    pub(crate) item: DeriveInput,
    pub(crate) fields: Vec<Field>,
}

/// One field of a message type, wherever it sits (struct, tuple struct,
/// enum variant).
pub(crate) struct Field {
    /// `name`, `0`, or `Variant::name` for error messages.
    pub(crate) label: String,
    pub(crate) ty: Type,
    /// The `#[cfg(..)]` attributes of the field and of its variant: the
    /// field's check is compiled only where the field is.
    pub(crate) cfgs: Vec<Attribute>,
}

impl Message {
    pub(crate) fn parse(args: TokenStream, input: TokenStream) -> syn::Result<Self> {
        let args = MessageArgs::parse(args)?;
        let target = match syn::parse2::<DeriveInput>(input.clone()) {
            Ok(item) => match &item.data {
                Data::Union(data) => MessageTarget::Union(data.union_token.span),
                _ => {
                    let fields = fields_of(&item);
                    MessageTarget::Type(Box::new(MessageType { item, fields }))
                }
            },
            Err(_) => match syn::parse2::<syn::ItemFn>(input.clone()) {
                Ok(function) => MessageTarget::Function {
                    span: function.sig.ident.span(),
                    has_receiver: function.sig.receiver().is_some(),
                },
                Err(_) => MessageTarget::Other(input.span()),
            },
        };
        Ok(Message { args, target })
    }
}

fn fields_of(item: &DeriveInput) -> Vec<Field> {
    fn collect(prefix: &str, outer: &[Attribute], fields: &syn::Fields, into: &mut Vec<Field>) {
        for (index, field) in fields.iter().enumerate() {
            let name = match &field.ident {
                Some(ident) => ident.to_string(),
                None => index.to_string(),
            };
            into.push(Field {
                label: format!("{prefix}{name}"),
                ty: field.ty.clone(),
                cfgs: cfgs(outer).chain(cfgs(&field.attrs)).collect(),
            });
        }
    }
    let mut fields = Vec::new();
    match &item.data {
        Data::Struct(data) => collect("", &[], &data.fields, &mut fields),
        Data::Enum(data) => {
            for variant in &data.variants {
                collect(
                    &format!("{}::", variant.ident),
                    &variant.attrs,
                    &variant.fields,
                    &mut fields,
                );
            }
        }
        Data::Union(_) => {}
    }
    fields
}

/// The `#[cfg(..)]` attributes among `attrs`, and the `cfg`s inside their
/// `#[cfg_attr(..)]`s (`#[cfg_attr(unix, cfg(test))]` is kept as is; its
/// other attributes, such as `serde(..)`, are not: they mean nothing on a
/// check).
fn cfgs(attrs: &[Attribute]) -> impl Iterator<Item = Attribute> + '_ {
    attrs.iter().filter_map(|attr| {
        if attr.path().is_ident("cfg") {
            Some(attr.clone())
        } else if attr.path().is_ident("cfg_attr") {
            cfgs_of_cfg_attr(attr)
        } else {
            None
        }
    })
}

fn cfgs_of_cfg_attr(attr: &Attribute) -> Option<Attribute> {
    let (predicate, inner) = attr
        .parse_args_with(|input: syn::parse::ParseStream<'_>| {
            let predicate: syn::Meta = input.parse()?;
            input.parse::<syn::Token![,]>()?;
            let inner =
                syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated(input)?;
            Ok((predicate, inner))
        })
        .ok()?;
    let kept: Vec<&syn::Meta> = inner
        .iter()
        .filter(|meta| meta.path().is_ident("cfg"))
        .collect();
    if kept.is_empty() {
        return None;
    }
    Some(syn::parse_quote!(#[cfg_attr(#predicate, #(#kept),*)]))
}

/// Replaces `Self` in a handler's argument or return type with the
/// isolate's type: the type is copied into the message enum, the port and
/// the dispatch, where `Self` would name three different types.
///
/// Done on the tokens, not the syntax tree, so that `Self` inside a macro
/// (`id!(Self)`) or a constant (`[u8; Self::N]`) is replaced too: the
/// isolate's type is a plain path (validation refuses anything else), so
/// `Self::N` becomes `Counter::N`.
fn replace_self(ty: &mut Type, self_ty: &Type) {
    fn replace(tokens: TokenStream, with: &TokenStream) -> TokenStream {
        tokens
            .into_iter()
            .flat_map(|token| match token {
                TokenTree::Ident(ident) if ident == "Self" => with.clone(),
                TokenTree::Group(group) => {
                    let mut replaced = Group::new(group.delimiter(), replace(group.stream(), with));
                    replaced.set_span(group.span());
                    TokenStream::from(TokenTree::Group(replaced))
                }
                other => TokenStream::from(other),
            })
            .collect()
    }
    let with = quote::quote!(#self_ty);
    if let Ok(replaced) = syn::parse2(replace(quote::quote!(#ty), &with)) {
        *ty = replaced;
    }
}

/// What `#[isolate]` was put on.
pub(crate) enum IsolateItem {
    /// The isolate's state, with its fields (checked: the state moves into
    /// the isolate when it is spawned), and whether it is `pinned` (then it
    /// never moves, and its fields are not checked).
    Struct(ItemStruct, Vec<Field>, bool),
    Impl(IsolateImpl),
    Other(Span),
}

/// An `#[isolate]` impl block and its handlers.
pub(crate) struct IsolateImpl {
    /// The impl block as written, minus the `#[message]` attributes.
    pub(crate) item: ItemImpl,
    /// The isolate's type name (`Counter` in `impl Counter`), if the self
    /// type is a plain path.
    pub(crate) name: Option<Ident>,
    pub(crate) handlers: Vec<Handler>,
    /// `#[isolate(remote)]`: the port and messages get serde impls.
    pub(crate) remote: bool,
    /// `#[isolate(pinned)]`: async handlers may hold `!Send` values.
    pub(crate) pinned: bool,
}

/// One `#[message]` method.
pub(crate) struct Handler {
    pub(crate) method: Ident,
    /// The message enum's variant: `add` → `Add`.
    pub(crate) variant: Ident,
    pub(crate) docs: Vec<Attribute>,
    /// The tokens inside `#[message(..)]`; must be empty.
    pub(crate) attr_args: TokenStream,
    pub(crate) receiver: Receiver,
    pub(crate) args: Vec<Arg>,
    pub(crate) output: Option<Type>,
    pub(crate) is_async: bool,
    pub(crate) generics: Generics,
    /// `const`, `unsafe`, `extern`, or variadic: refused.
    pub(crate) unsupported: Option<(Span, &'static str)>,
}

pub(crate) enum Receiver {
    /// `&self` or `&mut self` (or `self: &Self`, `self: &mut Self`).
    Borrowed,
    /// `self` by value, `self: Box<Self>` and the like.
    Owned(Span),
    /// No receiver: an associated function.
    Missing,
}

pub(crate) struct Arg {
    /// The name the port method uses (the pattern's ident, or `argN`).
    pub(crate) name: Ident,
    pub(crate) ty: Type,
}

impl IsolateItem {
    /// The item without `#[message]` attributes on its methods.
    pub(crate) fn to_tokens_as_written(&self) -> TokenStream {
        match self {
            IsolateItem::Struct(item, ..) => quote::quote!(#item),
            IsolateItem::Impl(item) => {
                let item = &item.item;
                quote::quote!(#item)
            }
            IsolateItem::Other(_) => TokenStream::new(),
        }
    }

    pub(crate) fn parse(args: TokenStream, input: TokenStream) -> syn::Result<Self> {
        let args = attr::IsolateArgs::parse(args)?;
        let item: syn::Item = syn::parse2(input)?;
        Ok(match item {
            syn::Item::Struct(item) => {
                if let Some(remote) = args.remote {
                    return Err(syn::Error::new(
                        remote,
                        "`remote` goes on the impl block, where the messages are: \
                         `#[isolate(remote)] impl ..`",
                    ));
                }
                let fields = fields_of(&DeriveInput::from(item.clone()));
                IsolateItem::Struct(item, fields, args.pinned.is_some())
            }
            syn::Item::Impl(item) => {
                let mut parsed = IsolateImpl::parse(item);
                parsed.remote = args.remote.is_some();
                parsed.pinned = args.pinned.is_some();
                IsolateItem::Impl(parsed)
            }
            other => IsolateItem::Other(other.span()),
        })
    }
}

impl IsolateImpl {
    fn parse(mut item: ItemImpl) -> Self {
        let name = match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() => {
                path.path.segments.last().map(|s| s.ident.clone())
            }
            _ => None,
        };
        let mut handlers = Vec::new();
        for impl_item in &mut item.items {
            let ImplItem::Fn(method) = impl_item else {
                continue;
            };
            let Some(position) = method.attrs.iter().position(is_message_attr) else {
                continue;
            };
            let attr = method.attrs.remove(position);
            let mut handler = Handler::parse(attr, method);
            for ty in handler
                .args
                .iter_mut()
                .map(|arg| &mut arg.ty)
                .chain(&mut handler.output)
            {
                replace_self(ty, &item.self_ty);
            }
            handlers.push(handler);
        }
        IsolateImpl {
            item,
            name,
            handlers,
            remote: false,
            pinned: false,
        }
    }
}

fn is_message_attr(attr: &Attribute) -> bool {
    attr.path()
        .segments
        .last()
        .is_some_and(|segment| segment.ident == "message")
}

impl Handler {
    fn parse(attr: Attribute, method: &syn::ImplItemFn) -> Self {
        let sig = &method.sig;
        let attr_args = match &attr.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            _ => TokenStream::new(),
        };
        let receiver = match sig.receiver() {
            None => Receiver::Missing,
            Some(receiver) => match &receiver.kind {
                syn::ReceiverKind::Reference(..) => Receiver::Borrowed,
                syn::ReceiverKind::Typed(_, ty) if matches!(**ty, Type::Reference(_)) => {
                    Receiver::Borrowed
                }
                _ => Receiver::Owned(receiver.span()),
            },
        };
        let args = sig
            .inputs
            .iter()
            .filter_map(|input| match input {
                FnArg::Typed(typed) => Some(typed),
                FnArg::Receiver(_) => None,
            })
            .enumerate()
            .map(|(index, typed)| Arg {
                name: match &*typed.pat {
                    // The ident itself: a raw one (`r#in`) stays raw.
                    Pat::Ident(pat) if pat.subpat.is_none() => pat.ident.clone(),
                    _ => format_ident!("arg{}", index),
                },
                ty: (*typed.ty).clone(),
            })
            .collect();
        let output = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => match &**ty {
                Type::Tuple(tuple) if tuple.elems.is_empty() => None,
                ty => Some(ty.clone()),
            },
        };
        let unsupported = if let Some(token) = &sig.constness {
            Some((token.span, "a `const fn`"))
        } else if let syn::Safety::Unsafe(token) = &sig.safety {
            Some((token.span, "an `unsafe fn`"))
        } else if let Some(abi) = &sig.abi {
            Some((abi.span(), "an `extern fn`"))
        } else {
            sig.variadic
                .as_ref()
                .map(|variadic| (variadic.span(), "a variadic function"))
        };
        Handler {
            method: sig.ident.clone(),
            variant: Ident::new(&upper_camel(&sig.ident.to_string()), sig.ident.span()),
            docs: method
                .attrs
                .iter()
                .filter(|a| a.path().is_ident("doc"))
                .cloned()
                .collect(),
            attr_args,
            receiver,
            args,
            output,
            is_async: sig.asyncness.is_some(),
            generics: sig.generics.clone(),
            unsupported,
        }
    }
}

/// `add_words` → `AddWords`; a raw identifier loses its `r#`.
fn upper_camel(name: &str) -> String {
    name.trim_start_matches("r#")
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            match chars.next() {
                Some(first) => first.to_uppercase().chain(chars).collect::<String>(),
                None => String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    fn parse_impl(tokens: TokenStream) -> IsolateImpl {
        match IsolateItem::parse(TokenStream::new(), tokens).unwrap() {
            IsolateItem::Impl(item) => item,
            _ => panic!("expected an impl"),
        }
    }

    #[test]
    fn handler_names_become_upper_camel_variants() {
        assert_eq!(upper_camel("add"), "Add");
        assert_eq!(upper_camel("add_words_now"), "AddWordsNow");
        assert_eq!(upper_camel("r#type"), "Type");
        assert_eq!(upper_camel("_private"), "Private");
    }

    #[test]
    fn only_message_methods_are_handlers_and_their_attribute_is_removed() {
        let parsed = parse_impl(quote! {
            impl Counter {
                /// Adds.
                #[message]
                fn add(&mut self, n: u64, (a, b): (u8, u8)) {}
                #[message]
                async fn top(&self) -> Vec<u8> { vec![] }
                fn helper(&self) {}
            }
        });
        assert_eq!(parsed.name.unwrap(), "Counter");
        assert_eq!(parsed.handlers.len(), 2);
        let add = &parsed.handlers[0];
        assert_eq!(add.variant, "Add");
        assert_eq!(add.args[0].name, "n");
        assert_eq!(add.args[1].name, "arg1");
        assert!(add.output.is_none());
        assert_eq!(add.docs.len(), 1);
        assert!(parsed.handlers[1].is_async && parsed.handlers[1].output.is_some());
        let item = &parsed.item;
        let remaining = quote!(#item).to_string();
        assert!(!remaining.contains("message"));
    }

    #[test]
    fn receivers_are_classified() {
        let parsed = parse_impl(quote! {
            impl Counter {
                #[message] fn a(&self) {}
                #[message] fn b(self: &mut Self) {}
                #[message] fn c(self) {}
                #[message] fn d(self: Box<Self>) {}
                #[message] fn e() {}
            }
        });
        let kinds: Vec<&str> = parsed
            .handlers
            .iter()
            .map(|h| match h.receiver {
                Receiver::Borrowed => "borrowed",
                Receiver::Owned(_) => "owned",
                Receiver::Missing => "missing",
            })
            .collect();
        assert_eq!(kinds, ["borrowed", "borrowed", "owned", "owned", "missing"]);
    }

    #[test]
    fn message_fields_are_collected_from_structs_and_enums() {
        let message = Message::parse(
            TokenStream::new(),
            quote! { enum E { A(u8, String), B { x: u16 }, C } },
        )
        .unwrap();
        let MessageTarget::Type(ty) = message.target else {
            panic!("expected a type")
        };
        let labels: Vec<_> = ty.fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(labels, ["A::0", "A::1", "B::x"]);
    }

    #[test]
    fn message_on_a_method_is_recognised() {
        let message = Message::parse(TokenStream::new(), quote! { fn add(&mut self) {} }).unwrap();
        assert!(matches!(
            message.target,
            MessageTarget::Function {
                has_receiver: true,
                ..
            }
        ));
    }
}
