//! The workflows this server serves: loaded from a directory at start and
//! posted over HTTP, each version kept by its plan hash.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use shutter_core::record::Timestamp;
use shutter_dsl::{Catalog, Diagnostic, Diagnostics, Plan, Source, Workflow};

/// One compiled version of a workflow.
#[derive(Debug)]
pub struct Version {
    pub plan: Arc<Plan>,
    pub source: String,
    /// The file it came from, when loaded from the directory; relative paths
    /// in the workflow (WASM modules) resolve from it.
    pub path: Option<String>,
    pub registered_at: Timestamp,
}

/// What registering a workflow did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Registered {
    /// A name not seen before, or a new version of a known one.
    New,
    /// The same content as a version already known (same plan hash).
    Unchanged,
}

/// A check a workflow must pass to be served, besides compiling: what
/// the compiler cannot see (module files, say). Its problems point at the
/// YAML, like the compiler's.
pub type WorkflowCheck = Arc<dyn Fn(&Workflow) -> Vec<Diagnostic> + Send + Sync>;

pub struct Workflows {
    /// Name -> versions, oldest first; the last is the one new executions run.
    by_name: RwLock<BTreeMap<String, Vec<Arc<Version>>>>,
    check: Option<WorkflowCheck>,
    /// Most versions kept per workflow; older ones are forgotten (their
    /// executions keep their own YAML in the store).
    max_versions: usize,
}

/// Versions kept per workflow unless configured otherwise.
pub(crate) const MAX_VERSIONS: usize = 10;

impl Default for Workflows {
    fn default() -> Self {
        Self::new(None, MAX_VERSIONS)
    }
}

impl std::fmt::Debug for Workflows {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Workflows")
            .field("by_name", &self.by_name)
            .finish_non_exhaustive()
    }
}

impl Workflows {
    /// Served workflows must also pass `check`; at most `max_versions`
    /// versions of each are kept.
    pub fn new(check: Option<WorkflowCheck>, max_versions: usize) -> Self {
        Self {
            by_name: RwLock::default(),
            check,
            max_versions: max_versions.max(1),
        }
    }

    /// Compiles and adds a workflow. Its problems are returned, not added.
    pub fn register(
        &self,
        source: &Source,
        path: Option<String>,
        catalog: &Catalog,
        now: Timestamp,
    ) -> Result<(Arc<Version>, Registered), Diagnostics> {
        let plan = shutter_dsl::compile(source, catalog)?;
        if let Some(check) = &self.check {
            let problems = check(&plan.workflow);
            if !problems.is_empty() {
                return Err(Diagnostics::locate(source, problems));
            }
        }
        let name = plan.workflow.name.to_string();
        let mut by_name = self
            .by_name
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let versions = by_name.entry(name).or_default();
        if let Some(existing) = versions.iter().find(|v| v.plan.hash == plan.hash) {
            return Ok((existing.clone(), Registered::Unchanged));
        }
        let version = Arc::new(Version {
            plan: Arc::new(plan),
            source: source.text().to_owned(),
            path,
            registered_at: now,
        });
        versions.push(version.clone());
        // Oldest first by registration: a version kept in the store since
        // before this start sorts before what this start loaded.
        versions.sort_by_key(|v| v.registered_at);
        let excess = versions.len().saturating_sub(self.max_versions);
        versions.drain(..excess);
        Ok((version, Registered::New))
    }

    /// Loads every `*.yaml` / `*.yml` file of `dir`. Returns the problems of
    /// the files that did not load; the others are served.
    pub fn load_dir(
        &self,
        dir: &Path,
        catalog: &Catalog,
        now: Timestamp,
    ) -> std::io::Result<Vec<(String, String)>> {
        let mut problems = Vec::new();
        let mut files: Vec<_> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|entry| entry.path())
            .filter(|path| {
                path.extension()
                    .is_some_and(|ext| ext == "yaml" || ext == "yml")
            })
            .collect();
        files.sort();
        for file in files {
            let name = file.display().to_string();
            let loaded = std::fs::read(&file)
                .map_err(|err| format!("reading {name}: {err}"))
                .and_then(|bytes| {
                    Source::from_bytes(name.clone(), bytes).map_err(|d| d.message.clone())
                })
                .and_then(|source| {
                    self.register(&source, Some(name.clone()), catalog, now)
                        .map_err(|diagnostics| diagnostics.render(false))
                });
            if let Err(problem) = loaded {
                problems.push((name, problem));
            }
        }
        Ok(problems)
    }

    /// Whether this version (by plan hash) of `name` is served here.
    pub fn knows(&self, name: &str, plan_hash: &str) -> bool {
        self.read().get(name).is_some_and(|versions| {
            versions
                .iter()
                .any(|v| v.plan.hash.to_string() == plan_hash)
        })
    }

    /// The version new executions of `name` run.
    pub fn latest(&self, name: &str) -> Option<Arc<Version>> {
        self.read()
            .get(name)
            .and_then(|versions| versions.last().cloned())
    }

    /// Every version of `name`, oldest first.
    pub fn versions(&self, name: &str) -> Vec<Arc<Version>> {
        self.read().get(name).cloned().unwrap_or_default()
    }

    /// Every version of every workflow, by name, oldest first.
    pub fn all_versions(&self) -> Vec<Arc<Version>> {
        self.read().values().flatten().cloned().collect()
    }

    /// The latest version of every workflow, by name.
    pub fn all_latest(&self) -> Vec<Arc<Version>> {
        self.read()
            .values()
            .filter_map(|versions| versions.last().cloned())
            .collect()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, Vec<Arc<Version>>>> {
        self.by_name
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
