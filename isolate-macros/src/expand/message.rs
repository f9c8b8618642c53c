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
///
/// The checks are the impl's own associated constant: each names the trait
/// by the same path as the impl, so no rebinding of `isolate_core` can keep
/// the impl and drop them, and inside the impl `Self` means the type, so a
/// recursive field (`Option<Box<Self>>`) is checked like any other. A
/// field's `#[cfg]` goes on its check.
pub(crate) fn marker_impl(
    item: &syn::DeriveInput,
    fields: &[Field],
    marker: Marker,
) -> TokenStream {
    let trait_path = match marker {
        Marker::Sendable => quote!(::isolate_core::Sendable),
        Marker::Immutable => quote!(::isolate_core::Immutable),
    };
    let name = &item.ident;
    let mut generics = item.generics.clone();
    for param in &mut generics.params {
        if let GenericParam::Type(param) = param {
            param.bounds.push(parse_quote!(#trait_path));
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let checks = fields
        .iter()
        .map(|field| field_check(&field.ty, &field.cfgs, &trait_path));
    // SAFETY (of the generated impl): every field is checked to implement
    // the trait by the constant below, which compiles only if each check
    // holds; type parameters are bounded by it.
    quote! {
        unsafe impl #impl_generics #trait_path for #name #ty_generics #where_clause {
            #[doc(hidden)]
            const __FIELDS_CHECKED: () = {
                #(#checks)*
            };
        }
    }
}

/// The check that `ty` implements `trait_path`, at `ty`'s span, inside a
/// generated impl's `__FIELDS_CHECKED`.
pub(crate) fn field_check(
    ty: &syn::Type,
    cfgs: &[syn::Attribute],
    trait_path: &TokenStream,
) -> TokenStream {
    quote_spanned! {ty.span()=>
        #(#cfgs)*
        let () = <#ty as #trait_path>::__FIELDS_CHECKED;
    }
}
