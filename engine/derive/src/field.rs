//! What one field of a declaring struct says: its name as serde reads it,
//! its description (the doc comment), its type, and the options of the
//! macro's own attribute, which is taken off the field.

use syn::spanned::Spanned;
use syn::{Attribute, Expr, Fields, GenericArgument, Ident, Lit, PathArguments, Type};

/// One field, read.
pub(crate) struct Field {
    pub(crate) ident: Ident,
    /// The name serde reads and writes (after `#[serde(rename)]`).
    pub(crate) name: String,
    pub(crate) description: String,
    pub(crate) ty: Type,
    /// The type inside `Option<...>`, if the field is one.
    pub(crate) inner: Option<Type>,
    pub(crate) serde: SerdeAttrs,
    pub(crate) options: Options,
}

/// What the field's `#[serde(...)]` attributes say that matters here.
#[derive(Default)]
pub(crate) struct SerdeAttrs {
    /// Any `#[serde]` attribute at all: then the macro adds none.
    pub(crate) present: bool,
    pub(crate) default: bool,
    /// `#[serde(flatten)]`: the field's own type declares its fields.
    pub(crate) flatten: bool,
}

/// The macro's own attribute: `#[param(...)]` or `#[output(...)]`.
#[derive(Default)]
pub(crate) struct Options {
    pub(crate) default: Option<Lit>,
    pub(crate) required: bool,
    pub(crate) sensitive: bool,
    pub(crate) ty: Option<Ident>,
}

/// The fields of a struct with named fields, each read; `own` is the name of
/// the macro's attribute, which is removed from the fields.
pub(crate) fn read(input: &mut syn::DeriveInput, own: &str) -> syn::Result<Vec<Field>> {
    let syn::Data::Struct(data) = &mut input.data else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "declares a struct with named fields",
        ));
    };
    let Fields::Named(named) = &mut data.fields else {
        return Err(syn::Error::new_spanned(
            &input.ident,
            "declares a struct with named fields",
        ));
    };
    named
        .named
        .iter_mut()
        .map(|field| {
            let ident = field
                .ident
                .clone()
                .ok_or_else(|| syn::Error::new(field.span(), "a field needs a name"))?;
            let options = take_options(&mut field.attrs, own)?;
            let (serde, rename) = serde_attrs(&field.attrs)?;
            let description = doc(&field.attrs);
            if description.is_empty() && !serde.flatten {
                return Err(syn::Error::new_spanned(
                    &ident,
                    "document this field: its doc comment is its description in the catalog",
                ));
            }
            Ok(Field {
                name: rename.unwrap_or_else(|| ident.to_string()),
                description,
                inner: option_inner(&field.ty),
                ty: field.ty.clone(),
                ident,
                serde,
                options,
            })
        })
        .collect()
}

/// The doc comment's lines as one line of text.
pub(crate) fn doc(attrs: &[Attribute]) -> String {
    let lines: Vec<String> = attrs
        .iter()
        .filter(|attr| attr.path().is_ident("doc"))
        .filter_map(|attr| match &attr.meta {
            syn::Meta::NameValue(pair) => match &pair.value {
                Expr::Lit(syn::ExprLit {
                    lit: Lit::Str(text),
                    ..
                }) => Some(text.value().trim().to_owned()),
                _ => None,
            },
            _ => None,
        })
        .filter(|line| !line.is_empty())
        .collect();
    lines.join(" ")
}

fn take_options(attrs: &mut Vec<Attribute>, own: &str) -> syn::Result<Options> {
    let mut options = Options::default();
    let mut kept = Vec::with_capacity(attrs.len());
    for attr in attrs.drain(..) {
        if !attr.path().is_ident(own) {
            kept.push(attr);
            continue;
        }
        attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("default") {
                options.default = Some(meta.value()?.parse()?);
            } else if meta.path.is_ident("required") {
                options.required = true;
            } else if meta.path.is_ident("sensitive") {
                options.sensitive = true;
            } else if meta.path.is_ident("ty") {
                options.ty = Some(meta.value()?.parse()?);
            } else {
                return Err(meta.error("expected `default`, `required`, `sensitive` or `ty`"));
            }
            Ok(())
        })?;
    }
    *attrs = kept;
    Ok(options)
}

/// Whether serde attributes are there, whether one gives a default, and
/// the name they rename the field to.
fn serde_attrs(attrs: &[Attribute]) -> syn::Result<(SerdeAttrs, Option<String>)> {
    let mut found = SerdeAttrs::default();
    let mut rename = None;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("serde")) {
        found.present = true;
        attr.parse_nested_meta(|meta| {
            let value = if meta.input.peek(syn::Token![=]) {
                Some(meta.value()?.parse::<Lit>()?)
            } else {
                if meta.input.peek(syn::token::Paren) {
                    // `rename(deserialize = "..")` and the like: not read.
                    let content;
                    syn::parenthesized!(content in meta.input);
                    content.parse::<proc_macro2::TokenStream>()?;
                }
                None
            };
            if meta.path.is_ident("default") {
                found.default = true;
            } else if meta.path.is_ident("flatten") {
                found.flatten = true;
            } else if meta.path.is_ident("rename")
                && let Some(Lit::Str(name)) = value
            {
                rename = Some(name.value());
            }
            Ok(())
        })?;
    }
    Ok((found, rename))
}

/// `T` for a field of type `Option<T>`.
fn option_inner(ty: &Type) -> Option<Type> {
    let Type::Path(path) = ty else { return None };
    let last = path.path.segments.last()?;
    if last.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    match args.args.first()? {
        GenericArgument::Type(inner) => Some(inner.clone()),
        _ => None,
    }
}

/// Whether the type is `String` itself.
pub(crate) fn is_string(ty: &Type) -> bool {
    matches!(ty, Type::Path(path) if path.qself.is_none() && path.path.is_ident("String"))
}

/// The catalog type: the one named in the attribute, else the Rust type's
/// (`ParamKind`), looking through `Option`.
pub(crate) fn kind(field: &Field) -> proc_macro2::TokenStream {
    if let Some(named) = &field.options.ty {
        return quote::quote!(::shutter_core::ParamType::#named);
    }
    let ty = field.inner.as_ref().unwrap_or(&field.ty);
    quote::quote!(<#ty as ::shutter_core::catalog::ParamKind>::KIND)
}
