//! Which host files a step may read or write by path (image data to upload
//! or download, CA files), so that a served workflow cannot upload
//! `/etc/shadow` to a cloud or overwrite a system file with an image.
//! (WebAssembly module files have their own rule: the modules directory.)

use std::path::{Component, Path, PathBuf};

/// Where a step's file paths may point.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Files {
    /// Wherever the engine's user may: `shutter run`, where the workflow is
    /// run by the user whose files these are. Relative paths resolve from
    /// `base` (the workflow file's directory).
    Anywhere { base: Option<PathBuf> },
    /// Only inside this directory (`shutter serve --files DIR`).
    Within(PathBuf),
    /// Nowhere: a served workflow without `--files` moves data by URL only.
    Nowhere,
}

impl Default for Files {
    fn default() -> Self {
        Self::Anywhere { base: None }
    }
}

/// Whether a path is read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Use {
    Read,
    Write,
}

impl Files {
    /// The file `path` names, if a step may use it so. A written file may
    /// not exist yet; its directory must.
    pub fn resolve(&self, path: &str, to: Use) -> Result<PathBuf, String> {
        let given = Path::new(path);
        match self {
            Self::Anywhere { base } => Ok(match base {
                Some(base) if given.is_relative() => base.join(given),
                _ => given.to_path_buf(),
            }),
            Self::Nowhere => Err(format!(
                "`{path}` is a local file, but this server lets workflows use none: start it with --files DIR, or move the data by URL"
            )),
            Self::Within(root) => within(root, path, to),
        }
    }
}

fn within(root: &Path, path: &str, to: Use) -> Result<PathBuf, String> {
    let given = Path::new(path);
    if given.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "`{path}` goes up with `..`: name a file inside the files directory"
        ));
    }
    let root = root.canonicalize().map_err(|err| {
        format!(
            "the files directory {} cannot be read: {err}",
            root.display()
        )
    })?;
    let joined = if given.is_absolute() {
        given.to_path_buf()
    } else {
        root.join(given)
    };
    let outside = || format!("`{path}` is outside the files directory {}", root.display());
    let resolved = match to {
        Use::Read => joined.canonicalize().map_err(|_| {
            format!(
                "`{path}` does not exist in the files directory {}",
                root.display()
            )
        })?,
        Use::Write => {
            let name = joined.file_name().ok_or_else(outside)?;
            let dir = joined
                .parent()
                .and_then(|dir| dir.canonicalize().ok())
                .ok_or_else(|| format!("the directory of `{path}` does not exist"))?;
            dir.join(name)
        }
    };
    if !resolved.starts_with(&root) {
        return Err(outside());
    }
    // A written file is replaced, never followed: a symlink planted there
    // must not send the data elsewhere. A read one must be a regular file.
    let meta = std::fs::symlink_metadata(&resolved);
    let regular = match (to, &meta) {
        (Use::Write, Err(_)) => true,
        (_, Ok(meta)) => meta.file_type().is_file(),
        (Use::Read, Err(_)) => false,
    };
    if !regular {
        return Err(format!("`{path}` is not a regular file"));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_served_workflow_stays_inside_its_files_directory() {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = dir.path().join("files");
        std::fs::create_dir_all(root.join("images")).expect("dirs");
        std::fs::write(root.join("images/a.qcow2"), b"data").expect("write");
        std::os::unix::fs::symlink("/etc/passwd", root.join("link")).expect("symlink");
        let files = Files::Within(root.clone());
        assert!(files.resolve("images/a.qcow2", Use::Read).is_ok());
        assert!(files.resolve("images/new.qcow2", Use::Write).is_ok());
        for (path, to, says) in [
            ("/etc/shadow", Use::Read, "outside"),
            ("/etc/cron.d/x", Use::Write, "outside"),
            ("../x", Use::Write, "goes up"),
            ("link", Use::Read, "outside"),
            ("link", Use::Write, "not a regular file"),
            ("images", Use::Read, "not a regular file"),
            ("missing/x", Use::Write, "does not exist"),
        ] {
            let err = files.resolve(path, to).expect_err(path);
            assert!(err.contains(says), "{path}: {err}");
        }
        let err = Files::Nowhere
            .resolve("a.qcow2", Use::Read)
            .expect_err("none");
        assert!(err.contains("--files"), "{err}");
        assert_eq!(
            Files::Anywhere {
                base: Some(root.clone())
            }
            .resolve("x", Use::Write),
            Ok(root.join("x"))
        );
    }
}
