//! How a state looks: a CSS class for its colour, plus an icon and a word,
//! so the meaning never rests on colour alone. The same table reaches the
//! script (as JSON on `<body>`), so live updates draw states as the server
//! does.

use super::escape::escape;

/// Every state of an execution or a step, with its icon. Icons are plain
/// characters (no image, no font): they survive copy and paste and screen
/// readers skip them (`aria-hidden`), reading the word instead.
const ICONS: [(&str, &str); 11] = [
    ("queued", "◷"),
    ("pending", "○"),
    ("waiting", "⏸"),
    ("running", "▶"),
    ("retrying", "↻"),
    ("succeeded", "✓"),
    ("succeeded_with_errors", "⚠"),
    ("failed", "✗"),
    ("skipped", "↷"),
    ("canceled", "⊘"),
    ("compensated", "↺"),
];

/// The icon of `state` (`?` for a state this table does not know).
pub(crate) fn icon(state: &str) -> &'static str {
    ICONS
        .iter()
        .find(|(name, _)| *name == state)
        .map_or("?", |(_, icon)| *icon)
}

/// `succeeded_with_errors` as words.
pub(crate) fn label(state: &str) -> String {
    state.replace('_', " ")
}

/// The class that colours `state`: `state-failed`. States are the engine's
/// own words, but the class is escaped like any other value.
pub(crate) fn class(state: &str) -> String {
    format!("state-{}", escape(state))
}

/// A badge: coloured, with its icon and its word.
pub(crate) fn badge(state: &str) -> String {
    format!(
        r#"<span class="badge {}" data-role="state"><span class="icon" aria-hidden="true">{}</span> <span class="label">{}</span></span>"#,
        class(state),
        icon(state),
        escape(&label(state))
    )
}

/// The icons as a JSON object, for the script.
pub(crate) fn icons_json() -> String {
    let map: serde_json::Map<String, serde_json::Value> = ICONS
        .iter()
        .map(|(name, icon)| ((*name).to_owned(), serde_json::Value::from(*icon)))
        .collect();
    serde_json::Value::Object(map).to_string()
}

#[cfg(test)]
mod tests {
    use shutter_core::{ExecutionState, StepState};

    use super::*;

    /// A state added to the engine must not be drawn as `?` unnoticed.
    #[test]
    fn every_state_has_an_icon() {
        for state in ExecutionState::ALL {
            assert_ne!(icon(state.as_str()), "?", "{state}");
        }
        for state in StepState::ALL {
            assert_ne!(icon(state.as_str()), "?", "{state}");
        }
    }

    #[test]
    fn a_badge_says_its_state_in_words() {
        let html = badge("succeeded_with_errors");
        assert!(html.contains("state-succeeded_with_errors"), "{html}");
        assert!(html.contains("succeeded with errors"), "{html}");
        assert!(icons_json().contains(r#""failed":"✗""#));
    }
}
