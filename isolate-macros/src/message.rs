//! `#[message]`: parse the item, check what can be checked syntactically,
//! and emit one `Sendable` assertion per field plus the impl.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericParam, parse_quote};

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    if !args.is_empty() {
        return Err(syn::Error::new(
            args.span(),
            "`#[message]` takes no arguments in this release",
        ));
    }
    let item: DeriveInput = syn::parse2(input)?;
    if let Some(lifetime) = item.generics.lifetimes().next() {
        return Err(syn::Error::new(
            lifetime.span(),
            "a message cannot borrow: it outlives the sender's stack frame. \
             Own the data (`String`, `Vec<T>`) or share it immutably with `Shared<T>`",
        ));
    }
    let fields: Vec<&syn::Field> = match &item.data {
        Data::Struct(data) => fields_of(&data.fields).collect(),
        Data::Enum(data) => data
            .variants
            .iter()
            .flat_map(|variant| fields_of(&variant.fields))
            .collect(),
        Data::Union(data) => {
            return Err(syn::Error::new(
                data.union_token.span(),
                "`#[message]` does not support unions: the compiler cannot tell which field is live. Use an enum",
            ));
        }
    };

    let checks = fields.iter().map(|field| {
        let ty = &field.ty;
        quote_spanned! {ty.span()=>
            ::isolate_core::__private::assert_sendable::<#ty>();
        }
    });

    let mut generics = item.generics.clone();
    for param in generics.params.iter_mut() {
        if let GenericParam::Type(param) = param {
            param.bounds.push(parse_quote!(::isolate_core::Sendable));
        }
    }
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let name = &item.ident;

    Ok(quote! {
        #item

        // SAFETY: every field's type is checked to be `Sendable` below.
        unsafe impl #impl_generics ::isolate_core::Sendable for #name #ty_generics #where_clause {}

        const _: () = {
            #[allow(dead_code, clippy::extra_unused_type_parameters)]
            fn __check_fields #impl_generics () #where_clause {
                #(#checks)*
            }
        };
    })
}

fn fields_of(fields: &Fields) -> impl Iterator<Item = &syn::Field> {
    fields.iter()
}
