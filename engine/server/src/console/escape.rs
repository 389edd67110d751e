//! Text made safe for HTML and for URLs. Every value the console did not
//! write itself (workflow names, step ids, errors, outputs, query text)
//! passes through [`escape`] before it reaches a page, whether it lands in
//! an element or in a quoted attribute: one function, so no template can
//! forget a character.

/// `text` with `&`, `<`, `>`, `"` and `'` replaced by entities: safe as
/// element content and inside attribute values quoted with either quote.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `text` cut to `max` characters, the last one `…` when cut (an id drawn
/// in a box of fixed width; the whole text goes in its title).
pub(crate) fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() > max {
        let head: String = text.chars().take(max.saturating_sub(1)).collect();
        format!("{head}…")
    } else {
        text.to_owned()
    }
}

/// `text` percent-encoded for a query value or a path segment: every byte
/// but the unreserved ones (RFC 3986) is encoded, so a filter value read
/// from one URL cannot add parameters to the next one. The result still
/// goes through [`escape`] when it is put in an attribute (it holds `%`
/// only, but the rule is "everything interpolated is escaped").
pub(crate) fn percent(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push('%');
            out.push(hex_digit(byte >> 4));
            out.push(hex_digit(byte & 0x0f));
        }
    }
    out
}

fn hex_digit(nibble: u8) -> char {
    char::from(b"0123456789ABCDEF"[usize::from(nibble & 0x0f)])
}

/// A query string (`?a=1&b=2`) of the pairs whose value is not empty;
/// empty when none is left. Keys are the console's own, values are encoded.
pub(crate) fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let mut out = String::new();
    for (key, value) in pairs {
        let Some(value) = value.filter(|v| !v.is_empty()) else {
            continue;
        };
        out.push(if out.is_empty() { '?' } else { '&' });
        out.push_str(key);
        out.push('=');
        out.push_str(&percent(value));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_characters_become_entities() {
        assert_eq!(
            escape(r#"<script>alert("x" & 'y')</script>"#),
            "&lt;script&gt;alert(&quot;x&quot; &amp; &#39;y&#39;)&lt;/script&gt;"
        );
    }

    #[test]
    fn other_text_is_kept_as_is() {
        assert_eq!(escape(""), "");
        assert_eq!(escape("snap[3] ✓ déjà"), "snap[3] ✓ déjà");
        // Already-escaped text is escaped again: the function never guesses.
        assert_eq!(escape("&amp;"), "&amp;amp;");
    }

    #[test]
    fn query_values_cannot_add_parameters() {
        assert_eq!(percent("a&state=failed"), "a%26state%3Dfailed");
        assert_eq!(percent("web-01_x.y~"), "web-01_x.y~");
        assert_eq!(percent("é"), "%C3%A9");
        assert_eq!(
            query(&[
                ("workflow", Some("a b")),
                ("state", None),
                ("cursor", Some(""))
            ]),
            "?workflow=a%20b"
        );
        assert_eq!(query(&[("state", None)]), "");
    }
}
