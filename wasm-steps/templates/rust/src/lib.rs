//! {{name}}: a Shutter step as a WebAssembly component of the world
//! `shutter:step/workflow-step` (`wit/step.wit`, a copy of the one in the
//! Shutter repository's `wasm-steps/wit/`). The engine calls `run` with the
//! parameters, one JSON object as text; `Ok` must be one JSON object as
//! text; `Err(Failure { message, retryable })` fails the step, `retryable`
//! asking the engine to try again later (a busy peer, a lock held). The
//! host's `log`, `progress`, `secret` and `http::request` are functions in
//! `shutter::step::host` and `shutter::step::http`.
//!
//! To read the parameters, add `serde_json` to Cargo.toml and parse
//! `params`; this step needs no parsing: it wraps their text.

wit_bindgen::generate!({
    world: "workflow-step",
    path: "wit",
});

use exports::shutter::step::step::{Failure, Guest};
use shutter::step::host::{log, Level};

struct Step;

impl Guest for Step {
    fn run(params: String) -> Result<String, Failure> {
        log(Level::Info, "{{name}} started");
        Ok(["{\"received\":", &params, "}"].concat())
    }
}

export!(Step);
