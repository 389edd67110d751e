//! Where a step's module file may be, and reading it.
//!
//! A workflow names its module by a path relative to a modules directory:
//! the workflow file's own directory for `shutter run`, `--modules DIR` for
//! `shutter serve`. The path must stay inside that directory once symlinks
//! are resolved, and name a regular file no larger than [`MODULE_LIMIT`]:
//! a workflow must not read `/etc/shadow` (even only to learn its hash) or
//! make the server swallow `/dev/zero`.

use std::io::Read;
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::fetch::MODULE_LIMIT;

/// Why a module file cannot be used. Never says what the file holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ModuleError(pub String);

/// The file a module path names, checked against the modules directory
/// `root`: no `..`, inside `root` after resolving symlinks, a regular file.
pub fn locate(module: &str, root: Option<&Path>) -> Result<PathBuf, ModuleError> {
    let fail = |message: String| Err(ModuleError(message));
    let path = Path::new(module);
    if path.components().any(|c| c == Component::ParentDir) {
        return fail(format!(
            "module path `{module}` goes up with `..`: name a file inside the modules directory"
        ));
    }
    let Some(root) = root else {
        return fail(format!(
            "module `{module}` is a local file, but this engine has no modules directory: start `shutter serve` with --modules DIR, or name the module by https URL"
        ));
    };
    let root = root.canonicalize().map_err(|err| {
        ModuleError(format!(
            "the modules directory {} cannot be read: {err}",
            root.display()
        ))
    })?;
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        root.join(path)
    };
    let Ok(resolved) = joined.canonicalize() else {
        return fail(format!(
            "module `{module}` does not exist in the modules directory {}",
            root.display()
        ));
    };
    if !resolved.starts_with(&root) {
        return fail(format!(
            "module `{module}` is outside the modules directory {}",
            root.display()
        ));
    }
    let is_file = std::fs::metadata(&resolved).is_ok_and(|meta| meta.is_file());
    if !is_file {
        return fail(format!("module `{module}` is not a regular file"));
    }
    Ok(resolved)
}

/// Reads a located module, never more than [`MODULE_LIMIT`] bytes.
pub fn read(path: &Path, module: &str) -> Result<Vec<u8>, ModuleError> {
    let file = std::fs::File::open(path)
        .map_err(|err| ModuleError(format!("reading module `{module}`: {err}")))?;
    let mut bytes = Vec::new();
    file.take(MODULE_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(|err| ModuleError(format!("reading module `{module}`: {err}")))?;
    if bytes.len() > MODULE_LIMIT {
        return Err(ModuleError(format!(
            "module `{module}` is larger than the limit of {MODULE_LIMIT} bytes"
        )));
    }
    Ok(bytes)
}

/// Whether `bytes` are the module pinned by `sha256`. The message of a
/// mismatch never carries the hash found, so a workflow cannot learn the
/// hash of a file by pinning a wrong one.
pub fn check_pin(bytes: &[u8], sha256: &str, module: &str) -> Result<(), ModuleError> {
    if hex::encode(Sha256::digest(bytes)).eq_ignore_ascii_case(sha256) {
        Ok(())
    } else {
        Err(ModuleError(format!(
            "module `{module}` does not match its pin (sha256 {sha256}): rebuild it, or pin the module you mean to run"
        )))
    }
}

/// Whether modules pinned `sha256: dev` (under development) may run:
/// allowed where their author runs them (`shutter run`), refused by a
/// server unless its operator says otherwise (`--allow-unpinned`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unpinned {
    Allowed,
    Refused,
}

impl Unpinned {
    /// Whether `module` may run under this policy.
    pub fn check(self, module: &shutter_core::ModuleSpec) -> Result<(), ModuleError> {
        if self == Self::Refused && module.is_unpinned() {
            Err(ModuleError(format!(
                "module `{}` is unpinned (`sha256: dev`), which this server refuses: pin it with `shutter step pin WORKFLOW`, or start `shutter serve` with --allow-unpinned",
                module.module
            )))
        } else {
            Ok(())
        }
    }
}

/// Checks a module named by a local path: where it is, what it is, and its
/// pin (an unpinned one only if `unpinned` allows it). A module named by
/// URL is checked when it is fetched.
pub fn check_file(
    module: &shutter_core::ModuleSpec,
    root: Option<&Path>,
    unpinned: Unpinned,
) -> Result<(), ModuleError> {
    unpinned.check(module)?;
    let file = locate(&module.module, root)?;
    let bytes = read(&file, &module.module)?;
    if module.is_unpinned() {
        return Ok(());
    }
    check_pin(&bytes, &module.sha256, &module.module)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_modules_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("modules");
        std::fs::create_dir_all(root.join("sub")).expect("dirs");
        std::fs::write(root.join("sub/ok.wasm"), b"\0asm").expect("write");
        std::fs::write(dir.path().join("outside.wasm"), b"\0asm").expect("write");
        #[cfg(unix)]
        std::os::unix::fs::symlink(dir.path().join("outside.wasm"), root.join("link.wasm"))
            .expect("symlink");
        let root = Some(root.as_path());
        assert!(locate("sub/ok.wasm", root).is_ok());
        let inside = dir.path().join("modules/sub/ok.wasm");
        assert!(locate(inside.to_str().expect("utf-8"), root).is_ok());
        for (module, says) in [
            ("../outside.wasm", "goes up"),
            ("sub/../../outside.wasm", "goes up"),
            ("/etc/passwd", "outside the modules directory"),
            ("link.wasm", "outside the modules directory"),
            ("missing.wasm", "does not exist"),
            ("sub", "not a regular file"),
        ] {
            let err = locate(module, root).expect_err(module).0;
            assert!(err.contains(says), "{module}: {err}");
        }
        let err = locate("/dev/zero", Some(Path::new("/dev")))
            .expect_err("a device")
            .0;
        assert!(err.contains("not a regular file"), "{err}");
        let err = locate("ok.wasm", None).expect_err("no root").0;
        assert!(err.contains("--modules"), "{err}");
    }

    #[test]
    fn a_wrong_pin_never_tells_the_hash_found() {
        let bytes = b"secret file contents";
        let found = hex::encode(Sha256::digest(bytes));
        let err = check_pin(bytes, &"0".repeat(64), "m.wasm")
            .expect_err("mismatch")
            .0;
        assert!(err.contains("does not match its pin"), "{err}");
        assert!(!err.contains(&found), "{err}");
        assert!(check_pin(bytes, &found.to_uppercase(), "m.wasm").is_ok());
    }
}
