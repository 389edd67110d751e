//! `shutter step pin WORKFLOW...`: writes the SHA-256 of each local module
//! into its `sha256:` key, in place. Only that value changes: comments,
//! quotes, flow or block style and every other byte stay as written.

use std::ops::Range;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use shutter_dsl::Source;
use shutter_wasm::fetch::is_url;
use shutter_wasm::modules;

use crate::load::{catalog, modules_dir_of, read_source, stderr_color};

#[derive(Debug, clap::Args)]
pub(crate) struct PinArgs {
    /// Workflow files whose local modules to pin.
    #[arg(required = true)]
    files: Vec<std::path::PathBuf>,
    /// Change nothing; exit 1 if a pin is not the module's SHA-256 (`dev`
    /// included), for CI.
    #[arg(long)]
    check: bool,
}

/// One `sha256:` value to write.
struct Pin {
    /// The bytes of the value between its quotes, if any.
    range: Range<usize>,
    step: String,
    module: String,
    was: String,
    sha256: String,
}

pub(crate) fn run(args: &PinArgs) -> anyhow::Result<ExitCode> {
    let mut stale = 0;
    for file in &args.files {
        let (source, pins) = pins_of(file)?;
        let changes: Vec<&Pin> = pins.iter().filter(|pin| pin.was != pin.sha256).collect();
        if pins.is_empty() {
            println!("{}: no module file to pin", file.display());
        }
        for pin in &pins {
            let what = if pin.was == pin.sha256 {
                "pinned already".to_owned()
            } else if args.check {
                format!("not pinned (sha256: {})", pin.was)
            } else {
                format!("pinned (was {})", short(&pin.was))
            };
            println!(
                "{}: step `{}`: {} {} {what}",
                file.display(),
                pin.step,
                pin.module,
                short(&pin.sha256)
            );
        }
        if args.check {
            stale += changes.len();
        } else if !changes.is_empty() {
            write_in_place(file, &edited(source.text(), &changes))?;
        }
    }
    Ok(if stale > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads and compiles `file` and finds, for each module it names by a
/// local path, the `sha256:` value and the module file's SHA-256.
fn pins_of(file: &Path) -> anyhow::Result<(Source, Vec<Pin>)> {
    let source = match read_source(file)? {
        Ok(source) => source,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(stderr_color()));
            bail!("{} cannot be read as a workflow", file.display());
        }
    };
    let plan = match shutter_dsl::compile(&source, &catalog()) {
        Ok(plan) => plan,
        Err(diagnostics) => {
            eprint!("{}", diagnostics.render(stderr_color()));
            bail!(
                "{}: {} problem(s); fix them before pinning",
                file.display(),
                diagnostics.len()
            );
        }
    };
    let root = modules_dir_of(file);
    let local: Vec<_> = plan
        .workflow
        .wasm_modules()
        .into_iter()
        .filter(|(_, module)| !is_url(&module.module))
        .collect();
    let keys: Vec<_> = local
        .iter()
        .map(|(path, _)| path.parent().key("sha256"))
        .collect();
    let spans = shutter_dsl::value_spans(&source, &keys);
    let mut pins = Vec::new();
    for (((path, module), key), span) in local.iter().zip(&keys).zip(spans) {
        let located = modules::locate(&module.module, root.as_deref())
            .and_then(|found| modules::read(&found, &module.module))
            .map_err(|err| anyhow::anyhow!("{}: {path}: {}", file.display(), err.0))?;
        let step = match path.segments().get(1) {
            Some(shutter_dsl::path::Segment::Key(step)) => step.clone(),
            _ => String::new(),
        };
        let range = span
            .and_then(|span| unquoted(source.text(), span))
            .filter(|range| is_pin_text(&source.text()[range.clone()]))
            .with_context(|| {
                format!(
                    "{}: {key}: the value cannot be rewritten in place (write it plainly, e.g. `sha256: dev`)",
                    file.display()
                )
            })?;
        pins.push(Pin {
            was: source.text()[range.clone()].to_ascii_lowercase(),
            range,
            step,
            module: module.module.clone(),
            sha256: super::step::sha256_hex(&located),
        });
    }
    Ok((source, pins))
}

/// Whether a value's text is a whole pin (hex digits or `dev`): nothing
/// an escape or a line break could hide in, so replacing it is exact.
fn is_pin_text(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_alphanumeric())
}

/// The range inside a scalar's quotes (the whole range when plain).
fn unquoted(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let written = text.get(span.clone())?;
    let quoted = written.len() >= 2
        && (written.starts_with('"') && written.ends_with('"')
            || written.starts_with('\'') && written.ends_with('\''));
    Some(if quoted {
        span.start + 1..span.end - 1
    } else {
        span
    })
}

/// `text` with every change's range replaced by its SHA-256.
fn edited(text: &str, changes: &[&Pin]) -> String {
    let mut sorted: Vec<&&Pin> = changes.iter().collect();
    sorted.sort_by_key(|pin| pin.range.start);
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for pin in sorted {
        out.push_str(&text[at..pin.range.start]);
        out.push_str(&pin.sha256);
        at = pin.range.end;
    }
    out.push_str(&text[at..]);
    out
}

/// Replaces `file` by `text` whole or not at all (a new file beside it,
/// renamed over it), keeping its permissions. Through a symbolic link,
/// the file it points to is replaced and the link stays.
fn write_in_place(file: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let file =
        &std::fs::canonicalize(file).with_context(|| format!("resolving {}", file.display()))?;
    let name = file
        .file_name()
        .with_context(|| format!("{} is not a file", file.display()))?;
    let mut beside = name.to_os_string();
    beside.push(".pinning");
    let temporary = file.with_file_name(beside);
    let permissions = std::fs::metadata(file)
        .with_context(|| format!("reading {}", file.display()))?
        .permissions();
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&temporary)
        .and_then(|mut out| {
            out.write_all(text.as_bytes())?;
            out.set_permissions(permissions)?;
            out.sync_all()
        })
        .and_then(|()| std::fs::rename(&temporary, file));
    if let Err(err) = written {
        let _ = std::fs::remove_file(&temporary);
        return Err(err).with_context(|| format!("rewriting {}", file.display()));
    }
    Ok(())
}

fn short(sha256: &str) -> &str {
    &sha256[..12.min(sha256.len())]
}
