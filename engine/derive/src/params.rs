//! `#[action_params]`: the catalog's parameters from a struct, and the
//! serde attributes that read them by Shutter's rules.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{Lit, LitStr, parse_quote};

use crate::field::{self, Field};

/// What `#[action_params(...)]` says: the action's name, if these are
/// an action's own parameters, and whether it only reads.
pub(crate) struct Naming {
    action: Option<LitStr>,
    read_only: bool,
}

impl syn::parse::Parse for Naming {
    fn parse(input: syn::parse::ParseStream<'_>) -> syn::Result<Self> {
        let action: Option<LitStr> = input.parse()?;
        let mut read_only = false;
        if action.is_some() && input.peek(syn::Token![,]) {
            input.parse::<syn::Token![,]>()?;
            let flag: syn::Ident = input.parse()?;
            if flag != "read_only" {
                return Err(syn::Error::new_spanned(
                    flag,
                    "expected `read_only` after the action's name",
                ));
            }
            read_only = true;
        }
        if !input.is_empty() {
            return Err(input.error("expected `\"name\"` or `\"name\", read_only`"));
        }
        Ok(Self { action, read_only })
    }
}

pub(crate) fn expand(mut input: syn::DeriveInput, naming: Naming) -> syn::Result<TokenStream> {
    let named = match &naming.action {
        Some(action) => named(&input, action, naming.read_only)?,
        None => TokenStream::new(),
    };
    let fields = field::read(&mut input, "param")?;
    let name = input.ident.clone();
    let mut defaults = Vec::new();
    let mut declared = Vec::new();
    let syn::Data::Struct(data) = &mut input.data else {
        unreachable!("field::read accepts structs only")
    };
    for (read, field) in fields.iter().zip(data.fields.iter_mut()) {
        let serde_gives_default = add_serde_attrs(read, &name, field, &mut defaults)?;
        declared.push(if read.serde.flatten {
            let ty = &read.ty;
            quote!(let spec = <#ty as ::shutter_core::catalog::Params>::declare(spec);)
        } else {
            let param = declare(read, serde_gives_default);
            quote!(let spec = spec.with_param(#param);)
        });
    }
    Ok(quote! {
        #input

        impl #name {
            #(#defaults)*
        }

        #named

        impl ::shutter_core::catalog::Params for #name {
            fn declare(spec: ::shutter_core::ActionSpec) -> ::shutter_core::ActionSpec {
                #(#declared)*
                spec
            }
        }
    })
}

/// The action's name and description (the struct's doc comment).
fn named(input: &syn::DeriveInput, action: &LitStr, read_only: bool) -> syn::Result<TokenStream> {
    let description = field::doc(&input.attrs);
    if description.is_empty() {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "document the struct: its doc comment is the action's description in the catalog",
        ));
    }
    let name = &input.ident;
    Ok(quote! {
        impl ::shutter_core::catalog::Named for #name {
            const NAME: &'static str = #action;
            const DESCRIPTION: &'static str = #description;
            const READ_ONLY: bool = #read_only;
        }
    })
}

/// Adds the serde attributes Shutter's rules need, unless the field has its
/// own: an `Option` is read with `params::optional` (null and `""` are not
/// given), a required `String` with `params::required` (`""` is missing), a
/// literal default becomes serde's. Says whether serde gives a default.
fn add_serde_attrs(
    read: &Field,
    owner: &syn::Ident,
    field: &mut syn::Field,
    defaults: &mut Vec<TokenStream>,
) -> syn::Result<bool> {
    if read.serde.present {
        if read.options.default.is_some() && !read.serde.default && read.inner.is_none() {
            return Err(syn::Error::new_spanned(
                &read.ident,
                "a documented default needs serde to give it: `#[serde(default = ...)]`, or no serde attribute",
            ));
        }
        return Ok(read.serde.default);
    }
    if read.inner.is_some() {
        field.attrs.push(parse_quote!(
            #[serde(default, deserialize_with = "::shutter_core::params::optional")]
        ));
        return Ok(true);
    }
    if let Some(value) = &read.options.default {
        let ty = &read.ty;
        let body = match value {
            Lit::Str(text) if field::is_string(ty) => quote!(::std::string::String::from(#text)),
            Lit::Str(_) => {
                return Err(syn::Error::new_spanned(
                    value,
                    "a text default on a type that is not String: make the field an Option and apply the default where it is used, or give serde a default function",
                ));
            }
            other => quote!(#other),
        };
        // The default when the parameter is absent, and when it is null or
        // `""` (an expression that gave nothing), as for an `Option`.
        let function = format_ident!("__default_{}", read.ident);
        let reader = format_ident!("__read_{}", read.ident);
        let default_path = format!("{owner}::{function}");
        let reader_path = format!("{owner}::{reader}");
        field.attrs.push(parse_quote!(
            #[serde(default = #default_path, deserialize_with = #reader_path)]
        ));
        defaults.push(quote! {
            fn #function() -> #ty {
                #body
            }

            fn #reader<'de, D: ::serde::Deserializer<'de>>(deserializer: D) -> ::core::result::Result<#ty, D::Error> {
                ::shutter_core::params::optional_or(deserializer, Self::#function)
            }
        });
        return Ok(true);
    }
    if field::is_string(&read.ty) {
        field.attrs.push(parse_quote!(
            #[serde(deserialize_with = "::shutter_core::params::required")]
        ));
    }
    Ok(false)
}

/// The field's catalog entry.
fn declare(read: &Field, serde_gives_default: bool) -> TokenStream {
    let name = &read.name;
    let description = &read.description;
    let kind = field::kind(read);
    let required = read.options.required || !serde_gives_default;
    let sensitive = read.options.sensitive;
    let default = match &read.options.default {
        Some(value) => {
            quote!(::core::option::Option::Some(::shutter_core::catalog::Json::from(#value)))
        }
        None => quote!(::core::option::Option::None),
    };
    quote! {
        ::shutter_core::catalog::ParamSpec {
            name: ::std::string::String::from(#name),
            ty: #kind,
            required: #required,
            description: ::std::string::String::from(#description),
            default: #default,
            sensitive: #sensitive,
        }
    }
}
