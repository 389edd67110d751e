//! The files of each `step new` template: `wasm-steps/templates/<lang>/`,
//! plus the C helpers of `wasm-steps/examples/c/` and the WIT of
//! `wasm-steps/wit/`, so that each exists once in the repository. Paths and
//! texts may hold the placeholders `super::fill` fills in.

use super::Lang;

/// The text of a file under the repository's `wasm-steps/`.
macro_rules! wasm_steps {
    ($path:literal) => {
        include_str!(concat!("../../../../../wasm-steps/", $path))
    };
}

/// The text of a file under `wasm-steps/templates/`.
macro_rules! template {
    ($path:literal) => {
        include_str!(concat!("../../../../../wasm-steps/templates/", $path))
    };
}

/// `(path in the project, text)`; every template has a `build.sh`.
pub(super) type Files = &'static [(&'static str, &'static str)];

const C: Files = &[
    ("main.c", template!("c/main.c")),
    ("step.c", wasm_steps!("examples/c/step.c")),
    ("step.h", wasm_steps!("examples/c/step.h")),
    ("json.c", wasm_steps!("examples/c/json.c")),
    ("json.h", wasm_steps!("examples/c/json.h")),
    ("build.sh", template!("c/build.sh.tmpl")),
    ("README.md", template!("c/README.md.tmpl")),
];

const GO: Files = &[
    ("main.go", template!("go/main.go")),
    ("go.mod", template!("go/go.mod.tmpl")),
    ("build.sh", template!("go/build.sh.tmpl")),
    ("README.md", template!("go/README.md.tmpl")),
];

const RUST: Files = &[
    ("Cargo.toml", template!("rust/Cargo.toml.tmpl")),
    // wit-bindgen and what it needs, pinned: a new release upstream does
    // not change what a template builds.
    ("Cargo.lock", template!("rust/Cargo.lock.tmpl")),
    ("src/lib.rs", template!("rust/src/lib.rs")),
    ("wit/step.wit", wasm_steps!("wit/step.wit")),
    ("build.sh", template!("rust/build.sh.tmpl")),
    ("README.md", template!("rust/README.md.tmpl")),
];

const WAT: Files = &[
    ("{{name}}.wat", template!("wat/step.component.wat")),
    ("build.sh", template!("wat/build.sh.tmpl")),
    ("README.md", template!("wat/README.md.tmpl")),
];

const ASSEMBLYSCRIPT: Files = &[
    (
        "assembly/index.ts",
        template!("assemblyscript/assembly/index.ts"),
    ),
    (
        "package.json",
        template!("assemblyscript/package.json.tmpl"),
    ),
    (
        "package-lock.json",
        template!("assemblyscript/package-lock.json"),
    ),
    ("build.sh", template!("assemblyscript/build.sh.tmpl")),
    ("README.md", template!("assemblyscript/README.md.tmpl")),
];

pub(super) fn files(lang: Lang) -> Files {
    match lang {
        Lang::C => C,
        Lang::Go => GO,
        Lang::Rust => RUST,
        Lang::Wat => WAT,
        Lang::Assemblyscript => ASSEMBLYSCRIPT,
    }
}
