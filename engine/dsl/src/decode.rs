//! YAML text -> raw structs, collecting every shape error at once.
//!
//! serde stops at the first error, so decoding runs per unit (the workflow
//! keys, then each step on its own): on an error, the offending key is
//! reported, removed, and the unit decoded again. A valid file is decoded
//! exactly once per unit.
//!
//! What is left out for its shape is said in [`Dropped`], so the meaning of
//! the rest is still checked (a shape error never hides the mistakes of
//! other steps) without a cascade of false errors about what was left out.

use serde::de::DeserializeOwned;
use serde_yaml::Value;

use crate::diagnostic::Diagnostic;
use crate::limits::{MAX_DIAGNOSTICS, MAX_STEPS};
use crate::path::YamlPath;
use crate::raw::{RawStep, RawWorkflow};
use crate::source::Source;
use crate::stream_decode::{self, Refused};
use crate::suggest;

/// What decoding left out for its shape: a step or an input with a shape
/// error is dropped whole, and a top-level key removed or filled in. The
/// checks of meaning treat them as there (a reference to a dropped step is
/// not "unknown"), and check nothing about them.
#[derive(Debug, Default)]
pub(crate) struct Dropped {
    pub(crate) steps: Vec<String>,
    pub(crate) inputs: Vec<String>,
    /// Top-level keys (`name`, `secrets`, `schedule`, ...).
    pub(crate) keys: Vec<String>,
}

impl Dropped {
    pub(crate) fn key(&self, name: &str) -> bool {
        self.keys.iter().any(|key| key == name)
    }
}

/// Decodes the file into raw structs (with what was left out for its
/// shape, reported in `errs`), or `None` when there is nothing to check.
pub(crate) fn decode(
    source: &Source,
    errs: &mut Vec<Diagnostic>,
) -> Option<(RawWorkflow<RawStep>, Dropped)> {
    // Fast path: a well-formed file decodes straight into the typed structs
    // while it is parsed, holding neither a YAML tree nor its events. One
    // with anchors or tags is read by serde_yaml into the same structs.
    // Anything else (including merge keys `<<`, which need the tree) takes
    // the slow path, which says what is wrong.
    let fast = match stream_decode::from_str::<RawWorkflow<RawStep>>(source.text()) {
        Ok(workflow) => Some(workflow),
        Err(Refused::Uncovered(_)) => serde_yaml::from_str(source.text()).ok(),
        Err(Refused::Invalid(_)) => None,
    };
    if let Some(workflow) = fast
        && workflow.steps.len() <= MAX_STEPS
    {
        return Some((workflow, Dropped::default()));
    }
    decode_reporting(source, errs)
}

/// The slow path: decodes unit by unit, collecting every error.
fn decode_reporting(
    source: &Source,
    errs: &mut Vec<Diagnostic>,
) -> Option<(RawWorkflow<RawStep>, Dropped)> {
    let mut value: Value = match serde_yaml::from_str(source.text()) {
        Ok(value) => value,
        Err(err) => {
            errs.push(yaml_error(source, &err));
            return None;
        }
    };
    if let Err(err) = value.apply_merge() {
        errs.push(yaml_error(source, &err));
        return None;
    }
    let root = YamlPath::root();
    match &value {
        Value::Null => {
            errs.push(
                Diagnostic::error("empty", "workflow file is empty")
                    .at_offset(0)
                    .with_help("a workflow needs at least `version`, `name` and `steps`"),
            );
            return None;
        }
        Value::Mapping(_) => {}
        other => {
            errs.push(
                Diagnostic::error(
                    "wrong-type",
                    format!("expected a map of workflow keys, found {}", kind(other)),
                )
                .at(&root),
            );
            return None;
        }
    }
    let mut dropped = Dropped::default();
    let mut removed = Vec::new();
    let top: RawWorkflow<Value> = decode_unit(
        value,
        &root,
        errs,
        &mut removed,
        &mut |value, relative, missing| fill_in(value, relative, missing, &mut dropped),
    )?;
    for path in &removed {
        // A key of an input (`description: 5`) leaves the input usable; a
        // top-level key removed is checked no further.
        match path.first().and_then(Value::as_str) {
            Some("inputs") if path.len() > 1 => {}
            Some(key) if !dropped.key(key) => dropped.keys.push(key.to_owned()),
            _ => {}
        }
    }
    if top.steps.len() > MAX_STEPS {
        errs.push(
            Diagnostic::error(
                "too-many-steps",
                format!(
                    "workflow has {} steps, more than the limit of {MAX_STEPS}",
                    top.steps.len()
                ),
            )
            .at_key(&root.key("steps")),
        );
        return None;
    }
    let steps_path = root.key("steps");
    let mut steps = indexmap::IndexMap::with_capacity(top.steps.len());
    for (id, step) in top.steps {
        if errs.len() >= MAX_DIAGNOSTICS {
            break;
        }
        let before = errs.len();
        let step = decode_unit::<RawStep>(
            step,
            &steps_path.key(&id),
            errs,
            &mut Vec::new(),
            &mut |_, _, _| false,
        );
        match step {
            // A step with a shape error is left out whole: checking what is
            // left of it would report the removed key again, as a cascade.
            Some(step) if errs.len() == before => {
                steps.insert(id, step);
            }
            _ => dropped.steps.push(id),
        }
    }
    let workflow = RawWorkflow {
        version: top.version,
        name: top.name,
        description: top.description,
        inputs: top.inputs,
        outputs: top.outputs,
        defaults: top.defaults,
        secrets: top.secrets,
        schedule: top.schedule,
        concurrency: top.concurrency,
        timeout: top.timeout,
        notify: top.notify,
        steps,
    };
    Some((workflow, dropped))
}

/// Makes the top-level unit decode despite a missing required key: a
/// missing `version`, `name` or `steps` is filled in (and checked no
/// further), an input missing a key is left out, and any other key
/// missing one of its own is removed. False when nothing could be done.
fn fill_in(value: &mut Value, relative: &[Value], missing: &str, dropped: &mut Dropped) -> bool {
    let Value::Mapping(root) = value else {
        return false;
    };
    match relative {
        [] => {
            let placeholder = match missing {
                "version" => Value::Number(1.into()),
                "name" => Value::String(String::new()),
                "steps" => Value::Mapping(serde_yaml::Mapping::new()),
                _ => return false,
            };
            dropped.keys.push(missing.to_owned());
            root.insert(Value::String(missing.to_owned()), placeholder);
            true
        }
        [Value::String(section), Value::String(input), ..] if section == "inputs" => {
            dropped.inputs.push(input.clone());
            remove(value, &relative[..2])
        }
        [Value::String(key), ..] => {
            dropped.keys.push(key.clone());
            remove(value, &relative[..1])
        }
        _ => false,
    }
}

fn yaml_error(source: &Source, err: &serde_yaml::Error) -> Diagnostic {
    let message = err.to_string();
    // serde_yaml appends " at line L column C"; the location is shown anyway.
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    let diagnostic = Diagnostic::error("yaml-syntax", format!("invalid YAML: {message}"));
    match err.location() {
        Some(location) => diagnostic.at_offset(location.index()),
        // serde_yaml stops a document whose aliases expand into too many
        // nodes (a "billion laughs") without saying where: the first alias
        // is the likeliest place to look.
        None if message.contains("repetition limit") => diagnostic
            .at_offset(crate::span_index::first_alias(source).unwrap_or(0))
            .with_help(
                "aliases (`*name`) here expand into too many nodes; write the values out, or use fewer aliases of aliases",
            ),
        None => diagnostic.at_offset(0),
    }
}

/// Decodes one unit, reporting and removing bad keys (into `removed`)
/// until it decodes or cannot: the unit itself of the wrong type, or a
/// missing required key that `fill_in` (given the path of the map missing
/// it and its name) cannot make up for.
fn decode_unit<T: DeserializeOwned>(
    mut value: Value,
    path: &YamlPath,
    errs: &mut Vec<Diagnostic>,
    removed: &mut Vec<Vec<Value>>,
    fill_in: &mut dyn FnMut(&mut Value, &[Value], &str) -> bool,
) -> Option<T> {
    // Keys removed for being wrong (serde then calls them missing, which
    // would say the same thing twice) are in `removed`.
    loop {
        let err = match serde_path_to_error::deserialize::<_, T>(&value) {
            Ok(decoded) => return Some(decoded),
            Err(err) => err,
        };
        let mut at = path.clone();
        let mut relative = Vec::new();
        for segment in err.path().iter() {
            match segment {
                serde_path_to_error::Segment::Map { key } => {
                    at = at.key(key);
                    relative.push(Value::String(key.clone()));
                }
                serde_path_to_error::Segment::Seq { index } => {
                    at = at.index(*index);
                    relative.push(Value::Number((*index).into()));
                }
                serde_path_to_error::Segment::Enum { .. }
                | serde_path_to_error::Segment::Unknown => {}
            }
        }
        let message = err.inner().to_string();
        let (diagnostic, removable) = explain(&message, &at, &relative);
        let already_reported = diagnostic.code == "missing-key"
            && removed.iter().any(|key| {
                key.len() == relative.len() + 1
                    && key.starts_with(&relative)
                    && key
                        .last()
                        .and_then(Value::as_str)
                        .is_some_and(|name| message.contains(&format!("`{name}`")))
            });
        let missing = (diagnostic.code == "missing-key")
            .then(|| message.strip_prefix("missing field `"))
            .flatten()
            .and_then(|rest| rest.split('`').next())
            .map(str::to_owned);
        if !already_reported {
            errs.push(diagnostic);
        }
        if errs.len() >= MAX_DIAGNOSTICS {
            return None;
        }
        match (removable, missing) {
            (Some(key), _) => {
                if !remove(&mut value, &key) {
                    return None;
                }
                removed.push(key);
            }
            // A missing required key cannot be removed: filled in, or this
            // unit is done.
            (None, Some(name)) => {
                if !fill_in(&mut value, &relative, &name) {
                    return None;
                }
            }
            (None, None) => return None,
        }
    }
}

/// Turns a serde message into a diagnostic, and says which key to remove
/// (relative to the unit) so decoding can go on.
fn explain(message: &str, at: &YamlPath, relative: &[Value]) -> (Diagnostic, Option<Vec<Value>>) {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let expected = backticked(rest.split_once("expected").map_or("", |(_, e)| e));
        // serde_path_to_error may or may not have the unknown key in the path.
        let (at, mut relative) = if relative.last().and_then(Value::as_str) == Some(name) {
            (at.clone(), relative.to_vec())
        } else {
            let mut r = relative.to_vec();
            r.push(Value::String(name.to_owned()));
            (at.key(name), r)
        };
        relative.truncate(relative.len());
        let mut diagnostic =
            Diagnostic::error("unknown-key", format!("unknown key `{name}`")).at_key(&at);
        if let Some(help) = suggest::help_for(name, &expected) {
            diagnostic = diagnostic.with_help(help);
        }
        return (diagnostic, Some(relative));
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        let name = rest.split('`').next().unwrap_or_default();
        let diagnostic =
            Diagnostic::error("missing-key", format!("missing required key `{name}`")).at_key(at);
        return (diagnostic, None);
    }
    let field = if at.is_root() {
        "the document".to_owned()
    } else {
        format!("`{at}`")
    };
    let text = if let Some(rest) = message.strip_prefix("invalid type: ") {
        match rest.split_once(", expected ") {
            Some((found, expected)) => format!("{field} expects {expected}, found {found}"),
            None => format!("{field}: invalid type: {rest}"),
        }
    } else if let Some(rest) = message.strip_prefix("unknown variant `") {
        let name = rest.split('`').next().unwrap_or_default();
        let expected = backticked(rest.split_once("expected").map_or("", |(_, e)| e));
        let mut diagnostic = Diagnostic::error(
            "unknown-value",
            format!("{field} has an unknown value `{name}`"),
        )
        .at(at);
        if let Some(help) = suggest::help_for(name, &expected) {
            diagnostic = diagnostic.with_help(help);
        }
        return (diagnostic, removable_key(relative));
    } else if message.contains("untagged enum OneOrMany") {
        format!("{field} expects a step id or a list of step ids")
    } else if message.contains("untagged enum RawSchedule") {
        format!("{field} expects a cron string or a map with `cron` and `timezone`")
    } else {
        format!("{field}: {message}")
    };
    (
        Diagnostic::error("wrong-type", text).at(at),
        removable_key(relative),
    )
}

/// The key to drop so the unit can decode: the innermost map key on the path.
fn removable_key(relative: &[Value]) -> Option<Vec<Value>> {
    let last_key = relative.iter().rposition(Value::is_string)?;
    Some(relative[..=last_key].to_vec())
}

fn remove(value: &mut Value, path: &[Value]) -> bool {
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut current = value;
    for segment in parents {
        let next = match (current, segment) {
            (Value::Mapping(map), key) => map.get_mut(key),
            (Value::Sequence(items), Value::Number(n)) => n
                .as_u64()
                .and_then(|i| items.get_mut(usize::try_from(i).ok()?)),
            _ => None,
        };
        match next {
            Some(next) => current = next,
            None => return false,
        }
    }
    match current {
        Value::Mapping(map) => map.remove(last).is_some(),
        _ => false,
    }
}

fn backticked(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

pub(crate) fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Sequence(_) => "a list",
        Value::Mapping(_) => "a map",
        Value::Tagged(_) => "a tagged value",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(text: &str) -> Vec<Diagnostic> {
        let mut errs = Vec::new();
        decode(&Source::new("w.yaml", text), &mut errs);
        errs
    }

    #[test]
    fn reports_every_bad_key_of_a_step() {
        let errs = errors(
            "version: 1\nname: w\nsteps:\n  a:\n    usse: core.noop\n    uses: core.noop\n    timeout: [1]\n    finaly: true\n",
        );
        let mut messages: Vec<_> = errs
            .iter()
            .map(|d| (d.code, d.message.as_str(), d.help.as_deref()))
            .collect();
        messages.sort_unstable();
        assert_eq!(
            messages,
            vec![
                (
                    "unknown-key",
                    "unknown key `finaly`",
                    Some("did you mean `finally`?")
                ),
                (
                    "unknown-key",
                    "unknown key `usse`",
                    Some("did you mean `uses`?")
                ),
                (
                    "wrong-type",
                    "`steps.a.timeout` expects a string, found sequence",
                    None
                ),
            ]
        );
    }

    #[test]
    fn reports_errors_across_steps_and_top_level() {
        let errs = errors(
            "version: 1\nname: w\ndescrption: x\nsteps:\n  a: {uses: core.noop, retry: {backoff: exponentail}}\n  b: {with: {}}\n",
        );
        let codes: Vec<_> = errs.iter().map(|d| d.code).collect();
        assert_eq!(codes, vec!["unknown-key", "unknown-value", "missing-key"]);
        assert_eq!(errs[1].help.as_deref(), Some("did you mean `exponential`?"));
        assert_eq!(errs[2].path.as_ref().unwrap().to_string(), "steps.b");
    }

    #[test]
    fn rejects_non_map_documents_and_empty_files() {
        assert_eq!(errors("")[0].code, "empty");
        assert_eq!(errors("# only a comment\n")[0].code, "empty");
        assert_eq!(
            errors("- a\n- b\n")[0].message,
            "expected a map of workflow keys, found a list"
        );
    }

    #[test]
    fn reports_syntax_errors_with_their_offset() {
        let errs = errors("version: 1\nname: [unclosed\n");
        assert_eq!(errs[0].code, "yaml-syntax");
        assert!(errs[0].offset.is_some());
    }

    #[test]
    fn points_at_the_first_alias_when_aliases_expand_too_far() {
        // Nine to the eighth strings: past serde_yaml's repetition limit.
        let mut text = String::from(
            "version: 1\nname: bomb\nsteps:\n  s:\n    uses: core.log\n    with:\n      a: &a [x, x, x, x, x, x, x, x, x]\n",
        );
        for (name, from) in ["ba", "cb", "dc", "ed", "fe", "gf", "hg"]
            .iter()
            .map(|pair| (&pair[..1], &pair[1..]))
        {
            let aliases = vec![format!("*{from}"); 9].join(", ");
            text.push_str(&format!("      {name}: &{name} [{aliases}]\n"));
        }
        let errs = errors(&text);
        assert_eq!(errs[0].code, "yaml-syntax");
        assert!(
            errs[0].message.contains("repetition limit"),
            "{}",
            errs[0].message
        );
        let first_alias = text.find("*a").expect("an alias");
        assert_eq!(errs[0].offset, Some(first_alias));
        assert!(
            errs[0]
                .help
                .as_deref()
                .is_some_and(|help| help.contains("aliases"))
        );
    }

    #[test]
    fn reports_duplicate_step_ids() {
        let errs =
            errors("version: 1\nname: w\nsteps:\n  a: {uses: core.noop}\n  a: {uses: core.noop}\n");
        assert_eq!(errs[0].code, "yaml-syntax");
        assert!(errs[0].message.contains("duplicate"), "{}", errs[0].message);
    }
}
