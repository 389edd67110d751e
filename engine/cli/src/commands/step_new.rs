//! `shutter step new NAME --lang c`: a step project that builds with
//! Debian's clang + wasi-libc and runs with `shutter step run`. The C
//! helpers are the ones the examples use, embedded in the binary.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

const JSON_C: &str = include_str!("../../../../wasm-steps/examples/c/json.c");
const JSON_H: &str = include_str!("../../../../wasm-steps/examples/c/json.h");
const STEP_C: &str = include_str!("../../../../wasm-steps/examples/c/step.c");
const STEP_H: &str = include_str!("../../../../wasm-steps/examples/c/step.h");

pub(crate) fn write(name: &str, lang: &str) -> anyhow::Result<ExitCode> {
    if lang != "c" {
        bail!(
            "no template for `{lang}` yet: use `--lang c` (docs/wasm-steps.md shows the other languages)"
        );
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        bail!("`{name}` is not a step name: use letters, digits, `-` and `_`");
    }
    let dir = Path::new(name);
    if dir.exists() {
        bail!("{} already exists", dir.display());
    }
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let main = format!(
        "/*\n * {name}: a Shutter step (WASI command ABI). Parameters arrive as one JSON\n * object on stdin; print one JSON object of outputs on stdout. Each stderr\n * line is a log line. Exit STEP_OK, STEP_RETRY (try again later) or\n * STEP_FATAL; step_fail() logs the reason as the last line.\n */\n#include \"step.h\"\n\nint main(void) {{\n    json_doc *doc;\n    const json *params = step_read_params(&doc, JSON_DEFAULT_MAX_DEPTH, 1);\n    step_log(\"{name} started\");\n    jbuf out = {{0}};\n    jb_cstr(&out, \"{{\\\"received\\\":\");\n    jb_value(&out, params);\n    jb_cstr(&out, \"}}\");\n    step_write(&out);\n    jb_free(&out);\n    json_doc_free(doc);\n    return STEP_OK;\n}}\n"
    );
    let build = format!(
        "#!/usr/bin/env bash\n# Builds {name}.wasm (needs: apt-get install clang lld wasi-libc libclang-rt-14-dev-wasm32).\nset -euo pipefail\ncd \"$(dirname \"$0\")\"\nclang --target=wasm32-wasi -O2 -Wl,--strip-all -Wl,--stack-first -o {name}.wasm main.c step.c json.c\necho \"built $(pwd)/{name}.wasm\"\n"
    );
    let readme = format!(
        "# {name}\n\nA Shutter WebAssembly step.\n\n    ./build.sh\n    shutter step run {name}.wasm --input '{{\"hello\": \"world\"}}'\n\nUse it in a workflow with its SHA-256 (`sha256sum {name}.wasm`):\n\n```yaml\nsteps:\n  {step}:\n    uses: wasm\n    wasm: {{module: path/to/{name}.wasm, sha256: ..., memory: 16MiB}}\n    with: {{hello: world}}\n```\n",
        step = name.replace('-', "_")
    );
    let files = [
        ("main.c", main.as_str()),
        ("json.c", JSON_C),
        ("json.h", JSON_H),
        ("step.c", STEP_C),
        ("step.h", STEP_H),
        ("build.sh", build.as_str()),
        ("README.md", readme.as_str()),
    ];
    for (file, text) in files {
        std::fs::write(dir.join(file), text)
            .with_context(|| format!("writing {}/{file}", dir.display()))?;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.join("build.sh"), std::fs::Permissions::from_mode(0o755))?;
    }
    println!(
        "wrote {}/ — build it with {}/build.sh",
        dir.display(),
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
