//! `#[message]` on a type: the item, `unsafe impl Sendable` (and `Immutable`)
//! with bounds on its type parameters, and one check per field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, parse_quote};

use crate::ast::{Field, Message, MessageTarget};

pub(crate) fn message(message: &Message) -> TokenStream {
    let MessageTarget::Type(ty) = &message.target else {
        unreachable!("validation accepts only message types")
    };
    let item = &ty.item;
    let sendable = marker_impl(item, &ty.fields, Marker::Sendable);
    let immutable = message
        .args
        .immutable
        .map(|_| marker_impl(item, &ty.fields, Marker::Immutable));
    quote! {
        #item
        #sendable
        #immutable
    }
}

/// One of the two marker traits a message type can derive.
#[derive(Clone, Copy)]
pub(crate) enum Marker {
    Sendable,
    Immutable,
}

/// `unsafe impl Sendable` (or `Immutable`) for `item`, with that bound on
/// each type parameter and one check per field, at the field's span, so that
/// an error points at the field.
pub(crate) fn marker_impl(
    item: &syn::DeriveInput,
    fields: &[Field],
    marker: Marker,
) -> TokenStream {
    let (word, assert) = match marker {
        Marker::Sendable => ("Sendable", "assert_sendable"),
        Marker::Immutable => ("Immutable", "assert_immutable"),
    };
    let trait_ident = format_ident!("{}", word);
    let assert = format_ident!("{}", assert);
    let check_fn = format_ident!("__assert_fields_{}", word.to_lowercase());
    let name = &item.ident;
    let mut generics = item.generics.clone();
    for param in &mut generics.params {
        if let GenericParam::Type(param) = param {
            param
                .bounds
                .push(parse_quote!(::isolate_core::#trait_ident));
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let checks = fields.iter().map(|field| {
        let field_ty = &field.ty;
        quote_spanned! {field_ty.span()=>
            ::isolate_core::__private::#assert::<#field_ty>();
        }
    });
    // SAFETY (of the generated impl): every field is checked to be `word`
    // by the function below, which compiles only if each check holds.
    quote! {
        unsafe impl #impl_generics ::isolate_core::#trait_ident for #name #ty_generics #where_clause {}

        const _: () = {
            #[allow(dead_code, clippy::extra_unused_type_parameters)]
            fn #check_fn #impl_generics () #where_clause {
                #(#checks)*
            }
        };
    }
}
