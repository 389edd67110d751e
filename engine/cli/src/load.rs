//! Reading and compiling workflow files.

use std::fs::File;
use std::io::{IsTerminal, Read};
use std::path::Path;

use anyhow::{Context, bail};
use serde_json::{Map, Value as Json};
use shutter_dsl::limits::MAX_SOURCE_BYTES;
use shutter_dsl::{Catalog, Diagnostics, Plan, Source};

/// The catalog of every built-in action this binary can run.
pub(crate) fn catalog() -> Catalog {
    shutter_providers::catalog()
}

/// Reads a file, never more than the size limit plus one byte, so a huge
/// file is refused without being loaded.
pub(crate) fn read_source(path: &Path) -> anyhow::Result<Result<Source, Diagnostics>> {
    let file = File::open(path).with_context(|| format!("opening workflow {}", path.display()))?;
    let mut bytes = Vec::new();
    file.take(MAX_SOURCE_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("reading workflow {}", path.display()))?;
    let name = path.display().to_string();
    Ok(Source::from_bytes(name.clone(), bytes)
        .map_err(|diagnostic| Diagnostics::locate(&Source::new(name, ""), vec![*diagnostic])))
}

/// Reads and compiles a file and checks its module files: Ok(Err(..))
/// carries the workflow's problems.
pub(crate) fn compile_file(
    path: &Path,
    catalog: &Catalog,
) -> anyhow::Result<Result<Plan, Diagnostics>> {
    Ok(read_source(path)?.and_then(|source| {
        let plan = shutter_dsl::compile(&source, catalog)?;
        check_modules(&source, &plan, modules_dir_of(path).as_deref())?;
        Ok(plan)
    }))
}

/// The modules directory of a workflow file run here: its own directory.
pub(crate) fn modules_dir_of(file: &Path) -> Option<std::path::PathBuf> {
    std::fs::canonicalize(file)
        .ok()
        .and_then(|path| path.parent().map(Path::to_path_buf))
}

/// Checks what the compiler cannot: the workflow's module files are
/// inside `modules_dir`, regular files, and the pinned ones. Here, where
/// the workflow's author runs it, `sha256: dev` is allowed.
pub(crate) fn check_modules(
    source: &Source,
    plan: &Plan,
    modules_dir: Option<&Path>,
) -> Result<(), Diagnostics> {
    let problems =
        crate::modules::check_local(&plan.workflow, modules_dir, shutter_wasm::Unpinned::Allowed);
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Diagnostics::locate(source, problems))
    }
}

/// Whether diagnostics and logs on stderr should be coloured: on a
/// terminal, unless the user asked for none.
pub(crate) fn stderr_color() -> bool {
    std::io::stderr().is_terminal() && !no_color()
}

/// `NO_COLOR` set to anything but the empty string (no-color.org).
pub(crate) fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|value| !value.is_empty())
}

/// An inputs file: an object of `name: value`, in YAML or in JSON (which
/// is YAML), its values typed as written (`keep: 3`, `note: "5"`).
pub(crate) fn read_inputs(path: &Path) -> anyhow::Result<Map<String, Json>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading inputs {}", path.display()))?;
    let yaml = shutter_dsl::config_file::yaml_reader();
    match yaml(&text)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("parsing inputs {}", path.display()))?
    {
        Json::Object(inputs) => Ok(inputs),
        _ => bail!(
            "inputs {} must hold an object of `name: value`",
            path.display()
        ),
    }
}
