//! `#[message]` on a type: the item, `unsafe impl Sendable` (and `Immutable`)
//! with bounds on its type parameters, and one check per field.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, parse_quote};

use crate::ast::{Field, Message, MessageTarget};

pub(crate) fn message(message: &Message) -> TokenStream {
    let MessageTarget::Type(ty) = &message.target else {
        unreachable!("validation accepts only message types")
    };
    let item = &ty.item;
    let name = &item.ident;
    let immutable = message.args.immutable.is_some();

    let with_bound = |bound: syn::Path| {
        let mut generics = item.generics.clone();
        for param in &mut generics.params {
            if let GenericParam::Type(param) = param {
                param.bounds.push(parse_quote!(#bound));
            }
        }
        generics
    };
    let immutable_items = immutable.then(|| {
        let immutable_generics = with_bound(parse_quote!(::isolate_core::Immutable));
        let (impl_generics, ty_generics, where_clause) = immutable_generics.split_for_impl();
        let checks = ty.fields.iter().map(|field| {
            let field_ty = &field.ty;
            quote_spanned! {field_ty.span()=>
                ::isolate_core::__private::assert_immutable::<#field_ty>();
            }
        });
        quote! {
            // SAFETY: every field is checked to be `Immutable` below.
            unsafe impl #impl_generics ::isolate_core::Immutable for #name #ty_generics #where_clause {}

            const _: () = {
                #[allow(dead_code, clippy::extra_unused_type_parameters)]
                fn __assert_fields_immutable #impl_generics () #where_clause {
                    #(#checks)*
                }
            };
        }
    });

    let sendable = sendable_checks(item, &ty.fields);
    quote! {
        #item
        #sendable
        #immutable_items
    }
}

/// `unsafe impl Sendable` for `item`, with a `Sendable` bound on each type
/// parameter and one check per field, at the field's span.
pub(crate) fn sendable_checks(item: &syn::DeriveInput, fields: &[Field]) -> TokenStream {
    let name = &item.ident;
    let mut generics = item.generics.clone();
    for param in &mut generics.params {
        if let GenericParam::Type(param) = param {
            param.bounds.push(parse_quote!(::isolate_core::Sendable));
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let checks = fields.iter().map(|field| {
        let field_ty = &field.ty;
        quote_spanned! {field_ty.span()=>
            ::isolate_core::__private::assert_sendable::<#field_ty>();
        }
    });
    quote! {
        // SAFETY: every field is checked to be `Sendable` below.
        unsafe impl #impl_generics ::isolate_core::Sendable for #name #ty_generics #where_clause {}

        const _: () = {
            #[allow(dead_code, clippy::extra_unused_type_parameters)]
            fn __assert_fields_sendable #impl_generics () #where_clause {
                #(#checks)*
            }
        };
    }
}
