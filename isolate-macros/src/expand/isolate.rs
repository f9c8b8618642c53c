//! `#[isolate]`: on the struct, the typed port; on the impl, the message
//! enum, the dispatch, and one port method per handler.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Ident, ItemStruct};

use crate::ast::{Handler, IsolateImpl, IsolateItem};

pub(crate) fn isolate(item: &IsolateItem) -> TokenStream {
    match item {
        IsolateItem::Struct(item, _, true) => {
            // Not `Sendable`: only `spawn_pinned` takes it.
            let mut tokens = port_type(item);
            let name = &item.ident;
            tokens.extend(quote! {
                // A safe trait on purpose: were it `unsafe`, a crate that
                // rebinds `isolate_core` could point this impl at `Send`.
                impl ::isolate_core::__private::PinnedState for #name {}
            });
            tokens
        }
        IsolateItem::Struct(item, fields, false) => {
            let mut tokens = port_type(item);
            tokens.extend(super::message::marker_impl(
                &syn::DeriveInput::from(item.clone()),
                fields,
                super::message::Marker::Sendable,
            ));
            tokens
        }
        IsolateItem::Impl(item) => handlers(item),
        IsolateItem::Other(_) => unreachable!("validation accepts only structs and impls"),
    }
}

/// After a refused impl block: an `Isolate` impl that handles no message,
/// so that the only errors the user sees are the ones that explain the
/// refusal.
pub(crate) fn stand_in(item: &IsolateItem) -> TokenStream {
    let IsolateItem::Impl(IsolateImpl {
        name: Some(name), ..
    }) = item
    else {
        return TokenStream::new();
    };
    let port = port_name(name);
    quote! {
        impl ::isolate_core::Isolate for #name {
            type Message = ::isolate_core::__private::NoMessage;
            type Port = #port;
            fn handle(&mut self, message: Self::Message) -> ::isolate_core::Handled<'_> {
                match message {}
            }
        }
    }
}

fn port_name(isolate: &Ident) -> Ident {
    format_ident!("{}Port", isolate)
}

fn message_name(isolate: &Ident) -> Ident {
    format_ident!("{}Message", isolate)
}

/// The struct, and its port type with the struct's visibility.
fn port_type(item: &ItemStruct) -> TokenStream {
    let name = &item.ident;
    let vis = &item.vis;
    let port = port_name(name);
    let raw = quote!(::isolate_core::SendPort<<#name as ::isolate_core::Isolate>::Message>);
    let doc = format!(
        "The typed port of the [`{name}`] isolate: one method per `#[message]` handler.\n\n\
         Cheap to clone (a reference count) and `Sendable`, so it can be handed to other \
         isolates. Made by `group.spawn({name} {{ .. }})`."
    );
    quote! {
        #item

        #[doc = #doc]
        #vis struct #port {
            port: #raw,
        }

        impl ::core::clone::Clone for #port {
            fn clone(&self) -> Self {
                #port { port: ::core::clone::Clone::clone(&self.port) }
            }
        }

        impl ::core::cmp::PartialEq for #port {
            /// Equal when both reach the same isolate.
            fn eq(&self, other: &Self) -> bool {
                self.port == other.port
            }
        }

        impl ::core::cmp::Eq for #port {}

        impl ::core::fmt::Debug for #port {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                f.debug_struct(::core::stringify!(#port))
                    .field("closed", &self.port.is_closed())
                    .finish()
            }
        }

        impl ::core::convert::From<#raw> for #port {
            fn from(port: #raw) -> Self {
                #port { port }
            }
        }

        // SAFETY: its one field is checked to be `Sendable` below (a port
        // carries `Sendable` messages).
        unsafe impl ::isolate_core::Sendable for #port {
            #[doc(hidden)]
            const __FIELDS_CHECKED: () = {
                let () = <#raw as ::isolate_core::Sendable>::__FIELDS_CHECKED;
            };
        }

        impl ::isolate_core::Port for #port {
            type Message = <#name as ::isolate_core::Isolate>::Message;

            fn as_send_port(&self) -> &#raw {
                &self.port
            }
        }

        // A marker that `#[isolate]` is on the struct; it promises nothing,
        // so it is a safe trait (see `PinnedState` above).
        impl ::isolate_core::__private::IsolateStruct for #name {}


        impl #port {
            /// The untyped-by-handler port underneath: what `SendPort` APIs take.
            #[allow(dead_code)]
            pub fn send_port(&self) -> &#raw {
                &self.port
            }

            /// Turns this port into the `SendPort` underneath.
            #[allow(dead_code)]
            pub fn into_send_port(self) -> #raw {
                self.port
            }

            /// Whether the isolate is known to have ended, so that tells fail and
            /// asks resolve with an error. `false` is only a snapshot.
            #[allow(dead_code)]
            pub fn is_closed(&self) -> bool {
                self.port.is_closed()
            }
        }
    }
}

/// The impl block, the message enum, the dispatch and the port methods.
fn handlers(item: &IsolateImpl) -> TokenStream {
    let impl_block = &item.item;
    let Some(name) = &item.name else {
        unreachable!("validation requires a named self type")
    };
    let self_ty = &impl_block.self_ty;
    let port = port_name(name);
    let message = message_name(name);

    let variants = item.handlers.iter().map(|handler| {
        let variant = &handler.variant;
        let fields = variant_fields(handler);
        quote!(#variant(#(#fields),*))
    });
    // The enum's `Sendable` impl checks its fields, as any other's does;
    // each is a `Checked<_>`, made only from a `Sendable` value (by the
    // constructors below), which is what the check reads.
    let field_checks = item.handlers.iter().flat_map(|handler| {
        variant_fields(handler)
            .into_iter()
            .map(|field| quote!(let () = <#field as ::isolate_core::Sendable>::__FIELDS_CHECKED;))
    });
    let constructors = item
        .handlers
        .iter()
        .map(|handler| constructor(&message, handler));

    let arms = item
        .handlers
        .iter()
        .map(|handler| dispatch_arm(&message, handler, item.pinned));
    let methods = item
        .handlers
        .iter()
        .map(|handler| port_method(&message, handler));

    let marker_check = if item.pinned {
        quote_spanned! {self_ty.span()=>
            ::isolate_core::__private::assert_isolate_struct::<#self_ty>();
            ::isolate_core::__private::assert_pinned_state::<#self_ty>();
        }
    } else {
        quote_spanned! {self_ty.span()=>
            ::isolate_core::__private::assert_isolate_struct::<#self_ty>();
        }
    };
    let enum_doc = format!("The messages of the [`{name}`] isolate, one variant per handler.");

    let message_enum = quote! {
        #[doc = #enum_doc]
        #[doc(hidden)]
        #[allow(private_interfaces, dead_code, clippy::type_complexity)]
        pub enum #message {
            #(#variants,)*
        }
    };
    let (message_enum, remote) = if item.remote {
        (
            quote!(::isolate_core::__private::remote_message! { #message_enum }),
            remote_parts(item, &port, name),
        )
    } else {
        (message_enum, TokenStream::new())
    };

    quote! {
        #impl_block

        #message_enum

        #remote

        impl #message {
            #(#constructors)*
        }

        // SAFETY: every field is checked to be `Sendable` below.
        unsafe impl ::isolate_core::Sendable for #message {
            #[doc(hidden)]
            const __FIELDS_CHECKED: () = {
                #(#field_checks)*
            };
        }

        impl ::isolate_core::Isolate for #self_ty {
            type Message = #message;
            type Port = #port;

            fn handle(&mut self, message: #message) -> ::isolate_core::Handled<'_> {
                match message {
                    #(#arms)*
                }
            }
        }

        impl #port {
            #(#methods)*
        }

        const _: () = {
            #[allow(dead_code)]
            fn __assert_handlers() {
                #marker_check
            }
        };
    }
}

/// The fields of a handler's variant: each argument, then the reply sender
/// of an ask, each in a `Checked`.
fn variant_fields(handler: &Handler) -> Vec<TokenStream> {
    // At the type's span: an error about a field (a missing serde impl of
    // an `#[isolate(remote)]` argument, say) points at the type.
    let reply = handler.output.as_ref().map(|output| {
        quote_spanned!(output.span()=> ::isolate_core::__private::Checked<::isolate_core::ReplySender<#output>>)
    });
    handler
        .args
        .iter()
        .map(|arg| {
            let ty = &arg.ty;
            quote_spanned!(ty.span()=> ::isolate_core::__private::Checked<#ty>)
        })
        .chain(reply)
        .collect()
}

/// `CounterMessage::add(n)`: builds the handler's message, checking at
/// each argument's (and the return type's) span that it is `Sendable`.
/// Every port method builds its message here, so a type that cannot cross
/// is reported once, where it is written, and nowhere else: the enum holds
/// it in a `Checked`, so the enum, the port and the dispatch still compile.
fn constructor(message: &Ident, handler: &Handler) -> TokenStream {
    let variant = &handler.variant;
    let method = &handler.method;
    let names: Vec<&Ident> = handler.args.iter().map(|arg| &arg.name).collect();
    let types: Vec<&syn::Type> = handler.args.iter().map(|arg| &arg.ty).collect();
    let checked = handler.args.iter().map(|arg| {
        let ty = &arg.ty;
        // The argument, located at its type so that an error points there,
        // with the hygiene of its own name (which a `macro_rules!` caller
        // may have written apart from the type).
        let mut name = arg.name.clone();
        name.set_span(arg.name.span().located_at(ty.span()));
        let new = quote_spanned!(ty.span()=> ::isolate_core::__private::Checked::<#ty>::new);
        quote!(#new(#name))
    });
    let (reply_param, reply) = match &handler.output {
        Some(output) => {
            let new = quote_spanned!(output.span()=> ::isolate_core::__private::Checked::<::isolate_core::ReplySender<#output>>::reply);
            // The macro's own name: no argument of the user's can clash.
            let sender = Ident::new(
                "__isolate_reply",
                proc_macro2::Span::mixed_site().located_at(output.span()),
            );
            (
                Some(quote!(#sender: ::isolate_core::ReplySender<#output>)),
                Some(quote!(#new(#sender))),
            )
        }
        None => (None, None),
    };
    let params = names
        .iter()
        .zip(&types)
        .map(|(name, ty)| quote!(#name: #ty))
        .chain(reply_param);
    let doc = match &handler.output {
        None => format!("The message of the tell `{method}`."),
        Some(_) => {
            format!("The message of the ask `{method}`, answered through the `ReplySender`.")
        }
    };
    quote! {
        #[doc = #doc]
        #[allow(private_interfaces, clippy::too_many_arguments, clippy::type_complexity, dead_code)]
        pub fn #method(#(#params),*) -> Self {
            #message::#variant(#(#checked,)* #reply)
        }
    }
}

/// `__private::<assert>::<T>()` for every argument and return type of every
/// handler, each with the type's span, so that an error points at the type.
/// (A diagnostic only: serde's own bounds are the guarantee.)
fn type_checks(item: &IsolateImpl, assert: &Ident) -> Vec<TokenStream> {
    item.handlers
        .iter()
        .flat_map(|handler| {
            handler
                .args
                .iter()
                .map(|arg| &arg.ty)
                .chain(&handler.output)
        })
        .map(|ty| {
            quote_spanned! {ty.span()=>
                ::isolate_core::__private::#assert::<#ty>();
            }
        })
        .collect()
}

/// For `#[isolate(remote)]`: a check per handler type, with its span, that
/// it is serde (so an error points at the type), and the port's serde impls.
fn remote_parts(item: &IsolateImpl, port: &Ident, name: &Ident) -> TokenStream {
    let checks = type_checks(item, &format_ident!("assert_remote"));
    quote! {
        ::isolate_core::__private::remote_port!(#port, #name);

        const _: () = {
            #[allow(dead_code)]
            fn __assert_remote() {
                #(#checks)*
            }
        };
    }
}

fn bindings(handler: &Handler) -> Vec<Ident> {
    (0..handler.args.len())
        .map(|index| format_ident!("__isolate_arg{}", index))
        .collect()
}

fn dispatch_arm(message: &Ident, handler: &Handler, pinned: bool) -> TokenStream {
    // A pinned isolate's futures may hold its `!Send` state across awaits.
    let wrap = if pinned {
        quote!(::isolate_core::Handled::local)
    } else {
        quote!(::isolate_core::Handled::future)
    };
    let variant = &handler.variant;
    let method = &handler.method;
    let args = bindings(handler);
    let call = quote_spanned!(method.span()=> self.#method(#(#args.into_inner()),*));
    match (&handler.output, handler.is_async) {
        (None, false) => quote! {
            #message::#variant(#(#args),*) => {
                #call;
                ::isolate_core::Handled::Done
            }
        },
        (Some(_), false) => quote! {
            #message::#variant(#(#args,)* __isolate_reply) => {
                __isolate_reply.into_inner().send(#call);
                ::isolate_core::Handled::Done
            }
        },
        (None, true) => quote! {
            #message::#variant(#(#args),*) => #wrap(#call),
        },
        (Some(_), true) => quote! {
            #message::#variant(#(#args,)* __isolate_reply) => {
                let __isolate_reply = __isolate_reply.into_inner();
                #wrap(async move {
                    __isolate_reply.send(#call.await);
                })
            }
        },
    }
}

/// The port methods a tell `method` gets besides its own: `try_method`
/// (never waits) and `method_async` (waits without blocking).
pub(crate) fn tell_companions(method: &Ident) -> [Ident; 2] {
    let name = method.to_string();
    let name = name.strip_prefix("r#").unwrap_or(&name);
    [
        format_ident!("try_{}", name, span = method.span()),
        format_ident!("{}_async", name, span = method.span()),
    ]
}

fn port_method(message: &Ident, handler: &Handler) -> TokenStream {
    let variant = &handler.variant;
    let method = &handler.method;
    let docs = &handler.docs;
    let names: Vec<&Ident> = handler.args.iter().map(|arg| &arg.name).collect();
    let types: Vec<&syn::Type> = handler.args.iter().map(|arg| &arg.ty).collect();
    let params = quote!(#(#names: #types),*);
    let blank = (!docs.is_empty()).then(|| quote!(#[doc = ""]));
    match &handler.output {
        None => {
            let (given_back_ty, given_back) = match names.len() {
                1 => (quote!(#(#types)*), quote!(#(#names.into_inner())*)),
                _ => (quote!((#(#types,)*)), quote!((#(#names.into_inner(),)*))),
            };
            let message_value = quote!(#message::#method(#(#names),*));
            // Gives back the handler's arguments rather than the message.
            let give_back = quote! {
                |message| {
                    #[allow(unreachable_patterns)]
                    match message {
                        #message::#variant(#(#names),*) => #given_back,
                        _ => ::core::unreachable!("a send gives back the message it was given"),
                    }
                }
            };
            let [try_method, async_method] = tell_companions(method);
            let try_doc = format!(
                "[`{method}`](Self::{method}), but never waits: the form for a bounded mailbox that may be full."
            );
            let async_doc = format!(
                "[`{method}`](Self::{method}), waiting for room in a full bounded mailbox without blocking the thread: the form to use inside an isolate."
            );
            quote! {
                #(#docs)*
                #blank
                #[doc = "A tell: the isolate handles the message after those sent before it. Returns at once, unless the isolate's mailbox is bounded and full: then it waits for room (see `try_` and `_async` forms)."]
                #[doc = ""]
                #[doc = "# Errors"]
                #[doc = ""]
                #[doc = "Gives the arguments back in a `SendError`: `Closed` when the isolate has ended, `BlockingInIsolate` when its bounded mailbox is full and this thread must not block, `Undeliverable` when the isolate is in another process and the arguments could not be encoded."]
                #[allow(private_interfaces, clippy::too_many_arguments, dead_code)]
                pub fn #method(&self, #params) -> ::core::result::Result<(), ::isolate_core::SendError<#given_back_ty>> {
                    self.port.send(#message_value).map_err(|error| error.map(#give_back))
                }

                #[doc = #try_doc]
                #[doc = ""]
                #[doc = "# Errors"]
                #[doc = ""]
                #[doc = "Gives the arguments back in a `TrySendError`: `Full` when the bounded mailbox is full, `Closed` when the isolate has ended, `Undeliverable` when the isolate is in another process and the arguments could not be encoded."]
                #[allow(private_interfaces, clippy::too_many_arguments, dead_code)]
                pub fn #try_method(&self, #params) -> ::core::result::Result<(), ::isolate_core::TrySendError<#given_back_ty>> {
                    self.port.try_send(#message_value).map_err(|error| error.map(#give_back))
                }

                #[doc = #async_doc]
                #[doc = ""]
                #[doc = "# Errors"]
                #[doc = ""]
                #[doc = "Gives the arguments back in a `SendError`: `Closed` when the isolate has ended, `Undeliverable` when the isolate is in another process and the arguments could not be encoded."]
                #[allow(private_interfaces, clippy::too_many_arguments, dead_code)]
                pub async fn #async_method(&self, #params) -> ::core::result::Result<(), ::isolate_core::SendError<#given_back_ty>> {
                    self.port.send_async(#message_value).await.map_err(|error| error.map(#give_back))
                }
            }
        }
        Some(output) => {
            let reply = Ident::new("__isolate_reply", proc_macro2::Span::mixed_site());
            quote! {
            #(#docs)*
            #blank
            #[doc = "An ask: `.wait()` for the answer on a plain thread, or `.await` it in async code. The reply resolves with an error if the isolate ends first, and at once if the isolate asks itself. The request is sent even if the reply is dropped."]
            #[allow(private_interfaces, clippy::too_many_arguments, dead_code)]
            pub fn #method(&self, #params) -> ::isolate_core::Reply<#output> {
                self.port.ask(|#reply| #message::#method(#(#names,)* #reply))
            }
            }
        }
    }
}
