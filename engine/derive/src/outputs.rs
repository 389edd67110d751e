//! `#[action_outputs]`: the catalog's outputs from the struct an action
//! returns.

use proc_macro2::TokenStream;
use quote::quote;

use crate::field;

pub(crate) fn expand(mut input: syn::DeriveInput) -> syn::Result<TokenStream> {
    let fields = field::read(&mut input, "output")?;
    let name = &input.ident;
    let declared = fields.iter().map(|read| {
        if read.serde.flatten {
            let ty = &read.ty;
            return quote!(let spec = <#ty as ::shutter_core::catalog::Outputs>::declare(spec););
        }
        let output = &read.name;
        let description = &read.description;
        let kind = field::kind(read);
        quote!(let spec = spec.output(#output, #kind, #description);)
    });
    Ok(quote! {
        #input

        impl ::shutter_core::catalog::Outputs for #name {
            fn declare(spec: ::shutter_core::ActionSpec) -> ::shutter_core::ActionSpec {
                #(#declared)*
                spec
            }
        }
    })
}
