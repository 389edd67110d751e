//! An action's parameters and outputs, declared once.
//!
//! A provider writes its parameters as a struct, each field documented;
//! `#[action_params]` reads the catalog entry from it (name, type,
//! required, default, description) and adds the serde attributes that make
//! Shutter's reading rules hold (an empty optional value is not given, an
//! empty required string is missing). `#[action_outputs]` does the same for
//! what the action returns. The struct and the catalog can then not drift:
//! there is no second list to forget.
//!
//! The macros are re-exported by `shutter-core`; their documentation, with
//! an example, is on `shutter_core::catalog::Params`.

mod field;
mod outputs;
mod params;

use proc_macro::TokenStream;

/// Declares an action's parameters by a struct (see the crate docs).
///
/// `#[action_params("acme.snapshot.create")]` names the action these are
/// the parameters of: the struct's doc comment is then its description,
/// and `Run::entry` builds its catalog entry from them.
/// `#[action_params("acme.snapshot.list", read_only)]` also says the action
/// only reads (a plan runs it).
///
/// Field attribute `#[param(...)]`: `default = LITERAL` (documented; on a
/// field that is not an `Option` it is also the value serde gives),
/// `required` (required although serde has a default), `sensitive` (takes
/// credentials), `ty = Duration` (the catalog type, when the Rust type
/// does not say it).
#[proc_macro_attribute]
pub fn action_params(attr: TokenStream, item: TokenStream) -> TokenStream {
    let named = match syn::parse::<params::Naming>(attr) {
        Ok(named) => named,
        Err(err) => return err.to_compile_error().into(),
    };
    match syn::parse::<syn::DeriveInput>(item).and_then(|input| params::expand(input, named)) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}

/// Declares an action's outputs by the struct it returns. Field attribute
/// `#[output(ty = Array)]` sets the catalog type when the Rust type does not
/// say it.
#[proc_macro_attribute]
pub fn action_outputs(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand(attr, item, outputs::expand)
}

fn expand(
    attr: TokenStream,
    item: TokenStream,
    with: fn(syn::DeriveInput) -> syn::Result<proc_macro2::TokenStream>,
) -> TokenStream {
    let attr = proc_macro2::TokenStream::from(attr);
    if !attr.is_empty() {
        return syn::Error::new_spanned(attr, "takes no arguments")
            .to_compile_error()
            .into();
    }
    match syn::parse::<syn::DeriveInput>(item).and_then(with) {
        Ok(tokens) => tokens.into(),
        Err(err) => err.to_compile_error().into(),
    }
}
