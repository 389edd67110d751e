//! "Did you mean" for misspelt keys, actions, steps and parameters.

/// The candidate closest to `word`, if it is close enough to be a likely typo.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|candidate| (strsim::damerau_levenshtein(word, candidate), candidate))
        .filter(|(distance, candidate)| {
            // Allow about one edit per three characters, at least one.
            *distance <= (word.len().max(candidate.len()) / 3).max(1)
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, candidate)| candidate)
}

/// `help` text for an unknown name: a suggestion, else the accepted names.
pub fn help_for(word: &str, candidates: &[&str]) -> Option<String> {
    if let Some(best) = closest(word, candidates.iter().copied()) {
        return Some(format!("did you mean `{best}`?"));
    }
    if candidates.is_empty() {
        return None;
    }
    let listed: Vec<String> = candidates
        .iter()
        .take(12)
        .map(|c| format!("`{c}`"))
        .collect();
    let more = if candidates.len() > 12 { ", ..." } else { "" };
    Some(format!("expected one of {}{more}", listed.join(", ")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_misses_only() {
        let keys = ["uses", "with", "needs", "timeout"];
        assert_eq!(closest("usse", keys), Some("uses"));
        assert_eq!(closest("neds", keys), Some("needs"));
        assert_eq!(closest("timout", keys), Some("timeout"));
        assert_eq!(closest("banana", keys), None);
    }

    #[test]
    fn lists_candidates_when_nothing_is_close() {
        let help = help_for("zzz", &["a", "b"]).unwrap();
        assert_eq!(help, "expected one of `a`, `b`");
    }
}
