//! Bounds on what the compiler accepts, so that hostile input fails fast
//! with a clear error instead of exhausting memory or time.
//! Documented for users in docs/workflow-language.md ("Limits").

/// Largest workflow file accepted. A 100,000-step workflow is ~6 MB.
pub const MAX_SOURCE_BYTES: usize = 16 * 1024 * 1024;

/// Most steps in one workflow.
pub const MAX_STEPS: usize = 100_000;

/// Nesting depth of YAML collections. `serde_yaml` enforces its own limit of
/// 128 while parsing; this one guards the span pass and value conversion.
pub const MAX_DEPTH: usize = 128;

/// Diagnostics reported for one file; the rest are counted, not listed.
pub const MAX_DIAGNOSTICS: usize = 200;

/// Longest single expression `${{ ... }}`, in bytes.
pub const MAX_EXPRESSION_BYTES: usize = 4096;
