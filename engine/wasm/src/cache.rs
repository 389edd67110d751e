//! Compiled modules on disk, so a module is compiled once per machine:
//! keyed by the module's SHA-256 and by wasmtime's compatibility hash
//! (version + engine settings), written atomically, and checked against a
//! digest of the artifact before it is loaded.

#![allow(
    unsafe_code,
    reason = "loading precompiled code is unsafe in wasmtime's API; see SAFETY below"
)]

use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;
use wasmtime::{Engine, Module};

use crate::abi::Abi;

/// A compiled module or component.
pub(crate) enum Compiled {
    Module(Module),
    Component(Component),
}

#[derive(Debug, Clone)]
pub(crate) struct DiskCache {
    dir: PathBuf,
}

impl DiskCache {
    pub(crate) fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    fn paths(&self, engine: &Engine, sha256: &str) -> (PathBuf, PathBuf) {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let key = format!("{sha256}-{:016x}", hasher.finish());
        (
            self.dir.join(format!("{key}.cwasm")),
            self.dir.join(format!("{key}.sha256")),
        )
    }

    /// The cached artifact, if a valid one exists.
    pub(crate) fn load(&self, engine: &Engine, sha256: &str, abi: Abi) -> Option<Compiled> {
        let (artifact, digest) = self.paths(engine, sha256);
        let bytes = std::fs::read(&artifact).ok()?;
        let expected = std::fs::read_to_string(&digest).ok()?;
        if hex::encode(Sha256::digest(&bytes)) != expected.trim() {
            tracing::warn!("ignoring corrupt compiled module {}", artifact.display());
            return None;
        }
        // SAFETY: the bytes were produced by `Engine::precompile_*` of an
        // engine with the same compatibility hash (it is in the file name),
        // written by this cache into its own directory, and match the digest
        // written beside them, so they are what wasmtime produced.
        let compiled = match abi {
            Abi::Command => unsafe { Module::deserialize(engine, &bytes) }.map(Compiled::Module),
            Abi::Component => {
                unsafe { Component::deserialize(engine, &bytes) }.map(Compiled::Component)
            }
        };
        compiled
            .map_err(|e| tracing::warn!("ignoring unusable compiled module: {e}"))
            .ok()
    }

    /// Stores a compiled artifact; failures only cost a recompile later.
    pub(crate) fn store(&self, engine: &Engine, sha256: &str, serialized: &[u8]) {
        let (artifact, digest) = self.paths(engine, sha256);
        let write = || -> std::io::Result<()> {
            std::fs::create_dir_all(&self.dir)?;
            write_atomically(&digest, hex::encode(Sha256::digest(serialized)).as_bytes())?;
            write_atomically(&artifact, serialized)
        };
        if let Err(err) = write() {
            tracing::warn!(
                "could not cache a compiled module in {}: {err}",
                self.dir.display()
            );
        }
    }
}

fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
