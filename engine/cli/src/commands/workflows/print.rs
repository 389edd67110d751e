//! What `shutter workflows` prints: the server's answers as JSON
//! (`--json`), or as tables and blocks for people.

use std::fmt::Write as _;
use std::path::Path;

use indexmap::IndexMap;
use serde::Serialize;
use serde_json::Value as Json;
use shutter_dsl::model::InputSpec;
use shutter_server::views::{WorkflowDetail, WorkflowList, WorkflowSummary};

use crate::table::{table, terminal_width};

/// How times are shown (UTC, to the minute: cron's own precision).
const TIME: &str = "%Y-%m-%d %H:%M";

/// An answer as the server wrote it.
pub(super) fn json<T: Serialize>(answer: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(answer)?);
    Ok(())
}

/// The workflows as a table under a header, or the server's JSON.
pub(super) fn list(list: &WorkflowList, json: bool) -> anyhow::Result<()> {
    if json {
        return self::json(list);
    }
    if list.items.is_empty() {
        eprintln!("no workflow");
        return Ok(());
    }
    print!("{}", list_table(&list.items, terminal_width()));
    Ok(())
}

fn list_table(items: &[WorkflowSummary], width: Option<usize>) -> String {
    let header = [
        "NAME",
        "VERSIONS",
        "STEPS",
        "SCHEDULE",
        "NEXT TICK (UTC)",
        "DESCRIPTION",
    ];
    let rows: Vec<Vec<String>> = items.iter().map(list_row).collect();
    table(&header, &rows, width)
}

/// One workflow's cells; `-` for what it has not (no schedule).
fn list_row(summary: &WorkflowSummary) -> Vec<String> {
    vec![
        summary.name.clone(),
        summary.versions.to_string(),
        summary.steps.to_string(),
        summary.schedule.clone().unwrap_or_else(|| "-".to_owned()),
        summary
            .next_ticks
            .first()
            .map_or_else(|| "-".to_owned(), |tick| tick.format(TIME).to_string()),
        first_line(summary.description.as_deref()).to_owned(),
    ]
}

/// A workflow: what it is, its schedule, its inputs, its YAML.
pub(super) fn detail(detail: &WorkflowDetail, inputs: &IndexMap<String, InputSpec>) {
    print!("{}", describe(detail, inputs, terminal_width()));
}

fn describe(
    detail: &WorkflowDetail,
    inputs: &IndexMap<String, InputSpec>,
    width: Option<usize>,
) -> String {
    let summary = &detail.summary;
    let mut out = String::new();
    let _ = writeln!(out, "name:        {}", summary.name);
    if let Some(description) = &summary.description {
        for (index, line) in description.lines().enumerate() {
            let label = if index == 0 { "description:" } else { "" };
            let _ = writeln!(out, "{label:12} {line}");
        }
    }
    let _ = writeln!(out, "version:     {}", version(detail));
    let _ = writeln!(out, "steps:       {}", summary.steps);
    match &summary.schedule {
        Some(schedule) => {
            let _ = writeln!(out, "schedule:    {schedule}");
            let ticks: Vec<String> = summary
                .next_ticks
                .iter()
                .map(|tick| tick.format(TIME).to_string())
                .collect();
            if !ticks.is_empty() {
                let _ = writeln!(out, "next ticks:  {} (UTC)", ticks.join(", "));
            }
        }
        None => out.push_str("schedule:    none\n"),
    }
    if inputs.is_empty() {
        out.push_str("inputs:      none\n");
    } else {
        out.push_str("inputs:\n");
        let header = ["NAME", "TYPE", "DEFAULT", "DESCRIPTION"];
        let rows: Vec<Vec<String>> = inputs
            .iter()
            .map(|(name, spec)| input_row(name, spec))
            .collect();
        let width = width.map(|width| width.saturating_sub(2));
        for line in table(&header, &rows, width).lines() {
            let _ = writeln!(out, "  {line}");
        }
    }
    out.push_str("source:\n");
    out.push_str(&detail.definition);
    if !detail.definition.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// One input's cells: its default as JSON (`"web-01"`, `7`), or whether
/// it must be given; the values it is limited to after its description.
fn input_row(name: &str, spec: &InputSpec) -> Vec<String> {
    let default = match (&spec.default, spec.required) {
        (Some(value), _) => value.to_string(),
        (None, true) => "(required)".to_owned(),
        (None, false) => "-".to_owned(),
    };
    let mut about = spec
        .description
        .as_deref()
        .and_then(|text| text.lines().next())
        .unwrap_or_default()
        .to_owned();
    if let Some(allowed) = &spec.allowed {
        let listed: Vec<String> = allowed.iter().map(Json::to_string).collect();
        if !about.is_empty() {
            about.push(' ');
        }
        let _ = write!(about, "(one of {})", listed.join(", "));
    }
    vec![name.to_owned(), spec.ty.as_str().to_owned(), default, about]
}

/// What `workflows push` registered from `file`: one line.
pub(super) fn pushed(file: &Path, detail: &WorkflowDetail) {
    println!("{}", pushed_line(file, detail));
}

/// `FILE: NAME version N of M (HASH)`, and which version new executions
/// run when the file's content is an older version's (registering it
/// again does not make it the latest).
fn pushed_line(file: &Path, detail: &WorkflowDetail) -> String {
    let mut line = format!(
        "{}: {} version {}",
        file.display(),
        detail.summary.name,
        version(detail)
    );
    let count = detail.version_hashes.len();
    if let Some(latest) = detail.version_hashes.last()
        && *latest != detail.summary.plan_hash
    {
        let _ = write!(
            line,
            "; new executions run version {count} ({})",
            short(latest)
        );
    }
    line
}

/// `N of M (HASH)`: where the answer's version is among those kept,
/// oldest first.
fn version(detail: &WorkflowDetail) -> String {
    let hash = short(&detail.summary.plan_hash);
    match detail
        .version_hashes
        .iter()
        .position(|kept| *kept == detail.summary.plan_hash)
    {
        Some(index) => format!("{} of {} ({hash})", index + 1, detail.version_hashes.len()),
        None => format!("({hash})"),
    }
}

/// A plan hash's first twelve characters, as `shutter run --plan` shows it.
fn short(hash: &str) -> &str {
    hash.get(..12).unwrap_or(hash)
}

/// A free text's first line, `-` when there is none.
fn first_line(text: Option<&str>) -> &str {
    text.and_then(|text| text.lines().next())
        .filter(|line| !line.trim().is_empty())
        .unwrap_or("-")
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use shutter_dsl::model::InputType;

    use super::*;

    fn summary(description: Option<&str>) -> WorkflowSummary {
        WorkflowSummary {
            name: "nightly".to_owned(),
            description: description.map(str::to_owned),
            plan_hash: "0123456789abcdef".to_owned(),
            versions: 2,
            steps: 3,
            schedule: Some("0 2 * * * (UTC)".to_owned()),
            next_ticks: vec!["2026-12-01T02:00:00Z".parse().unwrap()],
        }
    }

    fn detail(plan_hash: &str, kept: &[&str]) -> WorkflowDetail {
        let mut summary = summary(Some("Backs up\nevery night"));
        plan_hash.clone_into(&mut summary.plan_hash);
        WorkflowDetail {
            summary,
            inputs: json!({}),
            definition: "version: 1\nname: nightly".to_owned(),
            graph: shutter_server::views::GraphView {
                nodes: Vec::new(),
                edges: Vec::new(),
            },
            version_hashes: kept.iter().map(|hash| (*hash).to_owned()).collect(),
        }
    }

    #[test]
    fn the_list_aligns_its_columns_and_cuts_only_the_description() {
        let long = "a description far longer than any terminal would show in full";
        let items = [summary(Some(long)), summary(None)];
        let text = list_table(&items, Some(100));
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        let at = lines[0].find("DESCRIPTION").unwrap();
        assert!(lines[1][at..].starts_with("a description"), "{text}");
        assert!(lines[1].ends_with('…'), "{text}");
        assert!(console::measure_text_width(lines[1]) < 100, "{text}");
        assert!(
            lines[1].contains("0 2 * * * (UTC)  2026-12-01 02:00"),
            "{text}"
        );
        assert!(lines[2].ends_with("  -"), "{text}");
        // On a pipe nothing is cut.
        assert!(list_table(&items, None).contains(long));
    }

    #[test]
    fn a_workflow_shows_its_versions_inputs_and_source() {
        let inputs: IndexMap<String, InputSpec> = serde_json::from_value(json!({
            "vm": {"type": "string", "description": "The VM", "default": null,
                   "required": true, "enum": null},
            "mode": {"type": "string", "description": null, "default": "crash",
                     "required": false, "enum": ["crash", "quiesced"]},
        }))
        .unwrap();
        let text = describe(
            &detail("bbbbbbbbbbbbbbbb", &["aaaa", "bbbbbbbbbbbbbbbb"]),
            &inputs,
            None,
        );
        assert!(
            text.contains("description: Backs up\n             every night\n"),
            "{text}"
        );
        assert!(
            text.contains("version:     2 of 2 (bbbbbbbbbbbb)\n"),
            "{text}"
        );
        assert!(
            text.contains("next ticks:  2026-12-01 02:00 (UTC)\n"),
            "{text}"
        );
        assert!(
            text.contains("  vm    string  (required)  The VM\n"),
            "{text}"
        );
        assert!(
            text.contains("  mode  string  \"crash\"     (one of \"crash\", \"quiesced\")\n"),
            "{text}"
        );
        assert!(
            text.ends_with("source:\nversion: 1\nname: nightly\n"),
            "{text}"
        );
    }

    #[test]
    fn a_push_of_an_older_content_says_which_version_runs() {
        let file = Path::new("nightly.yaml");
        assert_eq!(
            pushed_line(
                file,
                &detail("bbbbbbbbbbbbbbbb", &["aaaa", "bbbbbbbbbbbbbbbb"])
            ),
            "nightly.yaml: nightly version 2 of 2 (bbbbbbbbbbbb)"
        );
        assert_eq!(
            pushed_line(file, &detail("aaaa", &["aaaa", "bbbbbbbbbbbbbbbb"])),
            "nightly.yaml: nightly version 1 of 2 (aaaa); new executions run version 2 (bbbbbbbbbbbb)"
        );
    }

    #[test]
    fn type_names_are_the_languages() {
        for ty in [
            InputType::String,
            InputType::Integer,
            InputType::Number,
            InputType::Boolean,
            InputType::Array,
            InputType::Object,
        ] {
            assert_eq!(json!(ty.as_str()), serde_json::to_value(ty).unwrap());
        }
    }
}
