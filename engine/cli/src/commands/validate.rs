//! `shutter validate FILE...`

use std::path::PathBuf;
use std::process::ExitCode;

use crate::load::{catalog, compile_file, stderr_color};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Workflow files to check.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// `text` for people, `json` for tools (one object per file on stdout).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
}

/// The secrets a workflow declares that this environment does not set: an
/// execution of it here would fail before its first step.
fn unset_secrets(plan: &shutter_dsl::Plan) -> Vec<String> {
    plan.workflow
        .secrets
        .iter()
        .filter_map(|name| {
            let variable = shutter_core::Secrets::variable(name);
            let set = std::env::var_os(&variable).is_some_and(|value| !value.is_empty());
            (!set)
                .then(|| format!("secret `{name}` is not set here: set {variable} before running"))
        })
        .collect()
}

/// The pools that steps name literally (`limit: vcenter-prod`) and this
/// host's config file does not size: such a step would fail here.
fn unconfigured_limits(plan: &shutter_dsl::Plan) -> Vec<String> {
    use shutter_core::ConfigSource as _;
    let named: Vec<(&str, &str)> = plan
        .workflow
        .steps
        .values()
        .filter_map(|step| {
            let pool = step.limit.as_ref()?.as_literal()?.as_str()?;
            Some((step.id.as_str(), pool))
        })
        .collect();
    if named.is_empty() {
        return Vec::new();
    }
    let pools = crate::db::config_source()
        .load()
        .and_then(|file| match file {
            Some(file) => {
                file.section::<shutter_core::LimitPools>(shutter_core::limits::LIMITS_SECTION)
            }
            None => Ok(None),
        });
    let pools = match pools {
        Ok(pools) => pools.unwrap_or_default(),
        Err(err) => return vec![format!("reading the config file for `limit` pools: {err}")],
    };
    named
        .into_iter()
        .filter(|(_, pool)| pools.capacity(pool).is_none())
        .map(|(step, pool)| {
            format!(
                "step `{step}`: limit pool `{pool}` is not in this host's config file (`limits:`): the step would fail here"
            )
        })
        .collect()
}

/// The modules pinned `sha256: dev`: they run here, but a server refuses
/// them unless started with `--allow-unpinned`.
fn unpinned_modules(plan: &shutter_dsl::Plan) -> Vec<String> {
    plan.workflow
        .wasm_modules()
        .into_iter()
        .filter(|(_, module)| module.is_unpinned())
        .map(|(path, module)| {
            format!(
                "{}: module `{}` is unpinned (`sha256: dev`): `shutter step pin` pins it; `shutter serve` refuses it without --allow-unpinned",
                path.parent(),
                module.module
            )
        })
        .collect()
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let catalog = catalog();
    let mut failed = 0;
    for file in &args.files {
        // A file that cannot be read is one failure among the others:
        // the rest are still checked.
        let result = match compile_file(file, &catalog) {
            Ok(result) => result,
            Err(err) => {
                match args.format {
                    Format::Text => eprintln!("error: {err:#}"),
                    Format::Json => println!(
                        "{}",
                        serde_json::json!({
                            "file": file.display().to_string(),
                            "ok": false,
                            "error": format!("{err:#}"),
                        })
                    ),
                }
                failed += 1;
                continue;
            }
        };
        let unset: Vec<String> = result
            .as_ref()
            .map(|plan| {
                let mut warnings = unset_secrets(plan);
                warnings.extend(unconfigured_limits(plan));
                warnings.extend(unpinned_modules(plan));
                warnings
            })
            .unwrap_or_default();
        match (&result, args.format) {
            (Ok(plan), Format::Text) => {
                println!(
                    "ok: {}: workflow {}, {} steps, {} levels, hash {}",
                    file.display(),
                    plan.workflow.name,
                    plan.workflow.steps.len(),
                    plan.levels.len(),
                    plan.hash.short()
                );
                for warning in &unset {
                    eprintln!("warning: {}: {warning}", file.display());
                }
            }
            (Err(diagnostics), Format::Text) => {
                eprint!("{}", diagnostics.render(stderr_color()));
                eprintln!(
                    "error: {}: {} problem(s)",
                    file.display(),
                    diagnostics.len()
                );
            }
            (Ok(plan), Format::Json) => println!(
                "{}",
                serde_json::json!({
                    "file": file.display().to_string(),
                    "ok": true,
                    "workflow": plan.workflow.name.as_str(),
                    "steps": plan.workflow.steps.len(),
                    "levels": plan.levels.len(),
                    "hash": plan.hash.as_str(),
                    "warnings": unset,
                })
            ),
            (Err(diagnostics), Format::Json) => println!(
                "{}",
                serde_json::json!({
                    "file": file.display().to_string(),
                    "ok": false,
                    "diagnostics": diagnostics,
                })
            ),
        }
        if result.is_err() {
            failed += 1;
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
