//! `shutter step new NAME --lang LANG`: a step project that builds with one
//! command (`NAME/build.sh`) and runs with `shutter step run`. The
//! templates are the files under `wasm-steps/templates/<lang>/`, embedded in
//! the binary by `templates.rs`. Every template's step does the same: reads
//! its parameters, logs "NAME started" and returns `{"received": <params>}`.

mod templates;

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

/// The languages `step new` has a template for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Lang {
    /// C, a WASI command (Debian's clang + wasi-libc)
    C,
    /// Go >= 1.21, a WASI command (GOOS=wasip1)
    Go,
    /// Rust, a component (wit-bindgen, target wasm32-wasip2)
    Rust,
    /// WebAssembly text, a component: runs as it is, no build
    Wat,
    #[value(alias = "as", help = "AssemblyScript, a WASI command (npm)")]
    Assemblyscript,
}

impl Lang {
    fn describe(self) -> &'static str {
        match self {
            Self::C => "C, a WASI command",
            Self::Go => "Go, a WASI command",
            Self::Rust => "Rust, a component",
            Self::Wat => "WebAssembly text, a component",
            Self::Assemblyscript => "AssemblyScript, a WASI command",
        }
    }
}

/// Longest step name: the WAT template keeps "NAME started" in the static
/// data below its heap, which has room for this and more.
const MAX_NAME: usize = 64;

pub(crate) fn write(name: &str, lang: Lang) -> anyhow::Result<ExitCode> {
    // A letter first: a Rust package name cannot start with a digit, and a
    // name starting with `-` would read as an option.
    let mut chars = name.chars();
    let well_formed = chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !well_formed || name.len() > MAX_NAME {
        bail!(
            "`{name}` is not a step name: use a letter, then letters, digits, `-` and `_` (at most {MAX_NAME})"
        );
    }
    let dir = Path::new(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    for &(path, text) in templates::files(lang) {
        let path = dir.join(fill(path, name));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&path, fill(text, name))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("build.sh"), std::fs::Permissions::from_mode(0o755))?;
    }
    let shown = dir.display();
    println!("wrote {shown}/ ({})", lang.describe());
    let input = r#"--input '{"hello": "world"}'"#;
    if lang == Lang::Wat {
        println!("run it as it is (no build needed):");
        println!("    shutter step run {shown}/{name}.wat {input}");
        println!("or, for a binary to pin in a workflow: {shown}/build.sh");
    } else {
        println!("next:");
        println!("    {shown}/build.sh");
        println!("    shutter step run {shown}/{name}.wasm {input}");
    }
    Ok(ExitCode::SUCCESS)
}

/// Fills in a template's placeholders: `{{name}}`, `{{crate}}` (the name
/// with `_` for `-`: a Rust crate's, a workflow step's) and
/// `{{started_len}}` (the length in bytes of "NAME started", for the WAT
/// template). The name holds no braces, so nothing filled in is read again.
fn fill(text: &str, name: &str) -> String {
    text.replace("{{name}}", name)
        .replace("{{crate}}", &name.replace('-', "_"))
        .replace(
            "{{started_len}}",
            &format!("{name} started").len().to_string(),
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_filled_in() {
        for &lang in <Lang as clap::ValueEnum>::value_variants() {
            let files = templates::files(lang);
            assert!(
                files.iter().any(|&(path, _)| path == "build.sh"),
                "{lang:?}"
            );
            for &(path, text) in files {
                let filled = fill(&format!("{path}\n{text}"), "my-step");
                assert!(
                    !filled.contains("{{"),
                    "{lang:?} {path}: a placeholder left"
                );
            }
        }
    }

    /// The template's `build.sh` uses the toolchain wasm-steps/build.sh
    /// installs for the example when there is one, so both pin the same.
    #[test]
    fn the_assemblyscript_template_pins_what_the_example_does() {
        let lock = |text: &str| {
            let mut lock: serde_json::Value = serde_json::from_str(text).expect("json");
            lock.as_object_mut().expect("an object").remove("name");
            lock["packages"][""]
                .as_object_mut()
                .expect("the root package")
                .remove("name");
            lock
        };
        let template = templates::files(Lang::Assemblyscript)
            .iter()
            .find(|&&(path, _)| path == "package-lock.json")
            .map(|&(_, text)| text)
            .expect("a lock file");
        let example =
            include_str!("../../../../wasm-steps/examples/assemblyscript/spiral/package-lock.json");
        assert_eq!(
            lock(template),
            lock(example),
            "copy the example's package-lock.json (without its names) to wasm-steps/templates/assemblyscript/"
        );
    }

    #[test]
    fn the_wat_log_line_has_its_length() {
        let filled = fill("\"{{name}} started\" {{started_len}} {{crate}}", "my-step");
        assert_eq!(filled, "\"my-step started\" 15 my_step");
    }
}
