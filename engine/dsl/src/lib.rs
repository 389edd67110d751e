//! Shutter's workflow language: YAML in, a validated [`Workflow`] compiled
//! into a [`Plan`] (a petgraph DAG) out — or every problem at once, each
//! with <file:line:col> and its snippet.
//!
//! No I/O and no async here: the CLI, the server and the runtime all
//! compile workflows through [`compile`].
//!
//! ```
//! use shutter_dsl::{compile, Catalog, Source};
//!
//! let source = Source::new("hello.yaml", "version: 1\nname: hello\nsteps:\n  say:\n    uses: core.log\n    with: {message: hi}\n");
//! let plan = compile(&source, &Catalog::with_core()).expect("valid workflow");
//! assert_eq!(plan.levels.len(), 1);
//! ```
//!
//! # Layout
//! - `source`: the text, UTF-8 and size checks, offsets to line:col.
//! - `decode`: YAML -> `raw` structs, every shape error at once; a
//!   well-formed file is read while it is parsed (`stream_decode`), the rest
//!   through `serde_yaml`.
//! - `raw`: the file as written; also the source of the JSON Schema (`schema`).
//! - `validate`: raw -> `model` (the validated workflow): names, references,
//!   actions and parameters (`catalog`), durations (`units`), cron.
//! - `template`, `expr`: `${{ ... }}` values; references and evaluation (minijinja).
//! - `plan`: the DAG, cycle reports, levels, content hash; `render` draws it.
//! - `diagnostic`, `span_index`, `path`, `suggest`: how problems are located and shown.
//! - `inputs`: checking the inputs given to an execution.
//! - `limits`: bounds that keep hostile input cheap.
//! - `config_file`: Shutter's own YAML config file read into a located
//!   [`shutter_core::config::ConfigFile`]; each crate reads its section.
//!
//! The catalog types, durations (`units`) and suggestions live in
//! `shutter-core`, so providers describe their actions without this crate.

pub use shutter_core::catalog;
pub mod config_file;
mod decode;
pub mod diagnostic;
pub mod expr;
pub mod inputs;
pub mod limits;
pub mod model;
pub mod path;
pub mod plan;
pub mod raw;
mod raw_map;
pub mod render;
pub mod schema;
mod slices;
mod source;
mod span_index;
mod stream_decode;
use shutter_core::suggest;
pub mod template;
pub use shutter_core::units;
mod validate;

pub use catalog::{ActionSpec, Catalog, ParamType};
pub use diagnostic::{Diagnostic, Diagnostics, Located, Severity};
pub use expr::{EvalError, ExprEngine};
pub use model::{StepId, Workflow, WorkflowName};
pub use plan::{EdgeKind, Plan, PlanHash};
pub use shutter_core::suggest::closest;
pub use source::Source;
pub use span_index::value_spans;
pub use template::Template;

/// Compiles a workflow: parse, validate, build the DAG.
pub fn compile(source: &Source, catalog: &Catalog) -> Result<Plan, Diagnostics> {
    compile_with(source, catalog, &ExprEngine::new())
}

/// As [`compile`], reusing an expression engine (cheaper when compiling many files).
pub fn compile_with(
    source: &Source,
    catalog: &Catalog,
    engine: &ExprEngine,
) -> Result<Plan, Diagnostics> {
    let mut errs = Vec::new();
    // Meaning is checked even after shape errors, so every mistake is said
    // at once; what was left out for its shape is not checked again.
    let plan = decode::decode(source, &mut errs).and_then(|(raw, dropped)| {
        let workflow = validate::validate(&raw, &dropped, catalog, engine, &mut errs)?;
        if !errs.is_empty() {
            return None;
        }
        plan::Plan::build(workflow, plan::content_hash(&raw), &mut errs)
    });
    match plan {
        Some(plan) if errs.is_empty() => Ok(plan),
        _ => Err(Diagnostics::locate(source, errs)),
    }
}
