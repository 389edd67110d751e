//! URLs built from path segments: a user-given id is one segment, encoded,
//! so it can never change the path (`..`, `/`), the query or the host.

use reqwest::Url;
use shutter_core::ActionError;

/// `base` with `segments` appended. An empty, `.` or `..` segment is
/// refused: no id is one of those.
pub fn join(base: &Url, segments: &[&str]) -> Result<Url, ActionError> {
    // The url crate drops tabs and newlines from a path, so `.\t.` would
    // become `..`: control characters are refused outright.
    if let Some(bad) = segments.iter().find(|s| {
        s.is_empty() || **s == "." || **s == ".." || s.chars().any(|c| c.is_ascii_control())
    }) {
        return Err(ActionError::fatal(format!(
            "{bad:?} cannot be part of a URL path"
        )));
    }
    let mut url = base.clone();
    url.path_segments_mut()
        .map_err(|()| ActionError::fatal(format!("{base} cannot have a path")))?
        .pop_if_empty()
        .extend(segments);
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_stays_one_segment() {
        let base = Url::parse("http://glance:9292/v2/images/").expect("a URL");
        let url = join(&base, &["a/b?x=1#f", "file"]).expect("joined");
        assert_eq!(
            url.as_str(),
            "http://glance:9292/v2/images/a%2Fb%3Fx=1%23f/file"
        );
        assert!(join(&base, &[".."]).is_err());
        for sneaky in [".\t.", "..\n", "\r..", "a\u{0}"] {
            assert!(join(&base, &[sneaky, "action"]).is_err(), "{sneaky:?}");
        }
        assert!(join(&base, &[""]).is_err());
        let bare = Url::parse("http://nova:8774/v2.1").expect("a URL");
        assert_eq!(
            join(&bare, &["servers", "s1", "action"])
                .expect("joined")
                .as_str(),
            "http://nova:8774/v2.1/servers/s1/action"
        );
    }
}
