//! Helpers for the end-to-end tests: finding and running the `shutter`
//! binary, paths into the repository, and local test servers.

pub mod recorder;
pub mod served;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the parent of `tests/`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ lives inside the repository")
        .to_path_buf()
}

/// The `shutter` binary built beside this test binary (`tests/run` builds it
/// first; `cargo test` alone does not build other packages' binaries).
pub fn shutter_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test binary knows its path");
    // target/debug/deps/e2e-HASH -> target/debug/shutter
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test binaries live in target/PROFILE/deps");
    let bin = dir.join(format!("shutter{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run the tests with tests/run, which builds it",
        bin.display()
    );
    bin
}

/// What a `shutter` run printed, and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

/// Runs `shutter` with `args` from the repository root.
pub fn shutter<I, S>(args: I) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    shutter_with(args, &[])
}

/// [`shutter`] with these environment variables set (and `SHUTTER_DB`
/// and `SHUTTER_CONFIG` unset unless given).
pub fn shutter_with<I, S>(args: I, env: &[(&str, &str)]) -> Run
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let mut command = Command::new(shutter_bin());
    if !env.is_empty() {
        command
            .env_remove("SHUTTER_DB")
            .env_remove("SHUTTER_CONFIG");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = command
        .args(args)
        .envs(env.iter().copied())
        .current_dir(repo_root())
        .env("NO_COLOR", "1")
        .output()
        .expect("shutter starts");
    Run {
        code: status.code(),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

/// Every `*.yaml` file in `workflows/`, sorted.
pub fn shipped_workflows() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("workflows"))
        .expect("workflows/ exists")
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.extension()
                .is_some_and(|ext| ext == "yaml" || ext == "yml")
        })
        .collect();
    files.sort();
    files
}
