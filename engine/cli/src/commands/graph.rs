//! `shutter graph FILE --format text|dot|mermaid`

use std::path::PathBuf;
use std::process::ExitCode;

use shutter_dsl::render::{GraphFormat, render};

use crate::load::{catalog, compile_file, stderr_color};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    file: PathBuf,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum Format {
    Text,
    Dot,
    Mermaid,
}

pub(crate) fn run(args: &Args) -> anyhow::Result<ExitCode> {
    match compile_file(&args.file, &catalog())? {
        Ok(plan) => {
            let format = match args.format {
                Format::Text => GraphFormat::Text,
                Format::Dot => GraphFormat::Dot,
                Format::Mermaid => GraphFormat::Mermaid,
            };
            print!("{}", render(&plan, format));
            Ok(ExitCode::SUCCESS)
        }
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(stderr_color()));
            Ok(ExitCode::FAILURE)
        }
    }
}
