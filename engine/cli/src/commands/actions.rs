//! `shutter actions [NAME]`

use std::process::ExitCode;

use anyhow::bail;

use crate::load::catalog;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Describe this action only.
    name: Option<String>,
    /// `markdown` is what docs/actions.md is generated with.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Json,
    Markdown,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    let catalog = catalog();
    let specs: Vec<_> = match &args.name {
        Some(name) => match catalog.get(name) {
            Some(spec) => vec![spec],
            None => bail!("unknown action `{name}`; `shutter actions` lists them"),
        },
        None => catalog.actions().collect(),
    };
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&specs)?),
        Format::Markdown if args.name.is_none() => print!("{}", catalog.to_markdown()),
        Format::Markdown => {
            for spec in specs {
                print!("{}", spec.to_markdown());
            }
        }
        Format::Text if args.name.is_none() => {
            let width = specs.iter().map(|s| s.name.len()).max().unwrap_or(0);
            for spec in specs {
                println!("{:width$}  {}", spec.name, spec.description);
            }
        }
        Format::Text => {
            for spec in specs {
                println!("{}\n  {}\n", spec.name, spec.description);
                println!("parameters:");
                for p in &spec.params {
                    let required = if p.required { "required" } else { "optional" };
                    let default = p
                        .default
                        .as_ref()
                        .map_or(String::new(), |d| format!(", default {d}"));
                    println!(
                        "  {} ({}, {required}{default}): {}",
                        p.name, p.ty, p.description
                    );
                }
                if !spec.outputs.is_empty() {
                    println!("outputs:");
                    for o in &spec.outputs {
                        println!("  {} ({}): {}", o.name, o.ty, o.description);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
