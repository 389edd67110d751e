//! Any bytes through the whole front end: decode, validate, compile, and
//! rendering of whatever diagnostics come out. Must never panic or hang.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shutter_dsl::render::{GraphFormat, render};
use shutter_dsl::{Catalog, Source, compile};

fuzz_target!(|data: &[u8]| {
    let Ok(source) = Source::from_bytes("fuzz.yaml", data.to_vec()) else {
        return;
    };
    match compile(&source, &Catalog::with_core()) {
        Ok(plan) => {
            for format in [GraphFormat::Text, GraphFormat::Dot, GraphFormat::Mermaid] {
                let _ = render(&plan, format);
            }
        }
        Err(diagnostics) => {
            let _ = diagnostics.render(false);
            for item in &diagnostics.items {
                let _ = item.to_string();
            }
        }
    }
});
