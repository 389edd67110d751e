//! Checking what a step runs: `uses`, `with` against the catalog, and `wasm`.

use indexmap::IndexMap;
use serde_json::Value as Json;

use super::references::SecretUse;
use super::{Checker, Place, json_kind};
use crate::catalog::{ActionSpec, ParamType, WASM_ACTION};
use crate::diagnostic::Diagnostic;
use crate::model::{ActionCall, ActionRef, WasmModule};
use crate::path::YamlPath;
use crate::raw::RawWasm;
use crate::suggest;
use crate::units::parse_size;

impl Checker<'_> {
    /// Checks `uses` + `with` (+ `wasm`); step ids read by expressions go to `referenced`.
    pub(super) fn call(
        &mut self,
        uses: &str,
        with: &IndexMap<String, Json>,
        wasm: Option<&RawWasm>,
        path: &YamlPath,
        place: Place,
        referenced: &mut Vec<String>,
    ) -> Option<ActionCall> {
        let action = if uses == WASM_ACTION {
            match wasm {
                Some(wasm) => self
                    .wasm(wasm, &path.key("wasm"))
                    .map(|module| ActionRef::Wasm(Box::new(module))),
                None => {
                    self.error(
                        Diagnostic::error(
                            "missing-key",
                            "`uses: wasm` needs a `wasm:` map with `module` and `sha256`",
                        )
                        .at(&path.key("uses")),
                    );
                    None
                }
            }
        } else {
            if wasm.is_some() {
                self.error(
                    Diagnostic::error(
                        "unexpected-key",
                        format!("`wasm` is read only with `uses: wasm`, not with `{uses}`"),
                    )
                    .at_key(&path.key("wasm")),
                );
            }
            match self.catalog.get(uses) {
                Some(spec) => {
                    self.check_params(spec, with, path);
                    Some(ActionRef::Builtin(uses.to_owned()))
                }
                None => {
                    let mut candidates: Vec<&str> = self.catalog.names().collect();
                    candidates.push(WASM_ACTION);
                    let mut diagnostic =
                        Diagnostic::error("unknown-action", format!("unknown action `{uses}`"))
                            .at(&path.key("uses"));
                    if let Some(help) = suggest::closest(uses, candidates.iter().copied()) {
                        diagnostic = diagnostic.with_help(format!("did you mean `{help}`?"));
                    } else {
                        diagnostic =
                            diagnostic.with_help("`shutter actions` lists the built-in actions");
                    }
                    self.error(diagnostic);
                    None
                }
            }
        };
        let mut params = IndexMap::with_capacity(with.len());
        let with_path = path.key("with");
        let spec = self.catalog.get(uses);
        for (name, value) in with {
            let secrets = if uses == WASM_ACTION {
                SecretUse::NeverWasm
            } else if spec
                .and_then(|spec| spec.param_named(name))
                .is_some_and(|param| param.sensitive)
            {
                SecretUse::Any
            } else {
                SecretUse::Whole
            };
            let (template, refs) = self.template_using(value, &with_path.key(name), place, secrets);
            referenced.extend(refs);
            params.insert(name.clone(), template);
        }
        Some(ActionCall {
            action: action?,
            with: params,
        })
    }

    fn check_params(&mut self, spec: &ActionSpec, with: &IndexMap<String, Json>, path: &YamlPath) {
        for (name, value) in with {
            // Built only for a diagnostic: most parameters are fine.
            let ppath = || path.key("with").key(name);
            let Some(param) = spec.param_named(name) else {
                let names: Vec<&str> = spec.params.iter().map(|p| p.name.as_str()).collect();
                let mut diagnostic = Diagnostic::error(
                    "unknown-param",
                    format!("`{}` has no parameter `{name}`", spec.name),
                )
                .at_key(&ppath());
                if let Some(help) = suggest::help_for(name, &names) {
                    diagnostic = diagnostic.with_help(help);
                } else {
                    diagnostic =
                        diagnostic.with_help(format!("`{}` takes no parameters", spec.name));
                }
                self.error(diagnostic);
                continue;
            };
            let expression = |v: &Json| matches!(v, Json::String(s) if s.contains("${{"));
            // A list of status codes may compute some of them.
            let has_expression = expression(value)
                || param.ty == ParamType::StatusCodes
                    && value
                        .as_array()
                        .is_some_and(|items| items.iter().any(expression));
            // A duration that does not parse says why (too long, a typo).
            if let (false, ParamType::Duration, Json::String(text)) =
                (has_expression, param.ty, value)
                && let Err(message) = crate::units::parse_duration(text)
            {
                self.error(
                    Diagnostic::error(
                        "wrong-type",
                        format!("parameter `{name}` of `{}`: {message}", spec.name),
                    )
                    .at(&ppath()),
                );
                continue;
            }
            if !has_expression && !param.ty.accepts(value) {
                self.error(
                    Diagnostic::error(
                        "wrong-type",
                        format!(
                            "parameter `{name}` of `{}` expects {}, found {}",
                            spec.name,
                            article(param.ty),
                            json_kind(value)
                        ),
                    )
                    .at(&ppath()),
                );
            }
        }
        for param in spec.params.iter().filter(|p| p.required) {
            if !with.contains_key(&param.name) {
                let at = if with.is_empty() {
                    path.key("uses")
                } else {
                    path.key("with")
                };
                self.error(
                    Diagnostic::error(
                        "missing-param",
                        format!(
                            "`{}` needs parameter `{}` ({})",
                            spec.name, param.name, param.description
                        ),
                    )
                    .at_key(&at),
                );
            }
        }
    }

    fn wasm(&mut self, raw: &RawWasm, path: &YamlPath) -> Option<WasmModule> {
        let before = self.errs.len();
        let module = raw.module.trim();
        if module.is_empty() {
            self.error(Diagnostic::error("wasm", "`module` is empty").at(&path.key("module")));
        } else if module.starts_with("http://") && !is_loopback_url(module) {
            self.error(
                Diagnostic::error(
                    "wasm",
                    "a module URL must use https (plain http only to 127.0.0.1 or localhost)",
                )
                .at(&path.key("module")),
            );
        }
        let sha256 = raw.sha256.trim().to_ascii_lowercase();
        if sha256 == shutter_core::UNPINNED {
            if shutter_core::module::is_url(module) {
                self.error(
                    Diagnostic::error(
                        "wasm",
                        "a module named by URL must be pinned: `sha256: dev` is only for a local module under development",
                    )
                    .at(&path.key("sha256"))
                    .with_help("`sha256sum MODULE.wasm` prints the SHA-256 to pin"),
                );
            }
        } else if sha256.len() != 64 || !sha256.chars().all(|c| c.is_ascii_hexdigit()) {
            self.error(
                Diagnostic::error(
                    "wasm",
                    "`sha256` must be 64 hex digits (the SHA-256 of the module file), or `dev` for a local module under development",
                )
                .at(&path.key("sha256"))
                .with_help("`shutter step pin WORKFLOW` writes it; `sha256sum MODULE.wasm` prints it"),
            );
        }
        let memory = raw
            .memory
            .as_deref()
            .and_then(|text| match parse_size(text) {
                Ok(bytes) if bytes >= 64 * 1024 => Some(bytes),
                Ok(_) => {
                    self.error(
                        Diagnostic::error(
                            "wasm",
                            "`memory` must be at least 64KiB (one WebAssembly page)",
                        )
                        .at(&path.key("memory")),
                    );
                    None
                }
                Err(message) => {
                    self.error(Diagnostic::error("wasm", message).at(&path.key("memory")));
                    None
                }
            });
        let allow = raw.allow.clone().unwrap_or_default();
        for (i, pattern) in allow.http.iter().enumerate() {
            if let Err(message) = check_http_pattern(pattern) {
                self.error(
                    Diagnostic::error("wasm", message).at(&path.key("allow").key("http").index(i)),
                );
            }
        }
        for (i, secret) in allow.secrets.iter().enumerate() {
            if !self.secrets.contains(secret) {
                self.error(
                    Diagnostic::error(
                        "unknown-secret",
                        format!("secret `{secret}` is not listed in the workflow's `secrets`"),
                    )
                    .at(&path.key("allow").key("secrets").index(i)),
                );
            }
        }
        if self.errs.len() > before {
            return None;
        }
        Some(WasmModule {
            module: module.to_owned(),
            sha256,
            memory,
            allow_http: allow.http,
            allow_secrets: allow.secrets,
            allow_env: allow.env,
        })
    }
}

/// An `allow.http` entry: `host`, `host:port` or `*.domain[:port]`.
fn check_http_pattern(pattern: &str) -> Result<(), String> {
    let trimmed = pattern.trim();
    if trimmed.is_empty() || trimmed.contains("://") || trimmed.contains('/') {
        return Err(format!(
            "`allow.http` entry `{pattern}` is not a host: write `api.example.com`, `api.example.com:8443` or `*.example.com`"
        ));
    }
    let name = trimmed.strip_prefix("*.").unwrap_or(trimmed);
    if name.is_empty() || name.contains('*') {
        return Err(format!(
            "`allow.http` entry `{pattern}`: a wildcard may only start the name (`*.example.com`)"
        ));
    }
    Ok(())
}

fn is_loopback_url(url: &str) -> bool {
    let rest = url.trim_start_matches("http://");
    ["127.0.0.1", "localhost", "[::1]"]
        .iter()
        .any(|host| rest.starts_with(host) && rest[host.len()..].starts_with([':', '/']))
}

fn article(ty: ParamType) -> String {
    match ty {
        ParamType::Integer | ParamType::Array | ParamType::Object => format!("an {ty}"),
        ParamType::Duration => "a duration like `30s`".to_owned(),
        ParamType::StatusCodes => {
            "a status code (100 to 599) or a list of them, like `200` or `[200, 204]`".to_owned()
        }
        ParamType::Any => "any value".to_owned(),
        _ => format!("a {ty}"),
    }
}
