//! A workaround for minijinja's name tracking, which does not look inside a
//! slice: for `steps.a.outputs.ids[1:]` it reports no name at all, so the
//! compiler saw no reference to step `a`, added no dependency on it, and
//! the step could run before `a` had ended. For finding names only, each
//! slice `x[a:b:c]` is written as an index by a tuple, `x[(a, b, c)]`
//! (empty bounds as `none`), which minijinja tracks like any index. The
//! expression that runs is never rewritten.

/// `expression` with its slices written as indexes, or `None` when it has
/// no slice (or its brackets do not balance: the parser reports that).
pub(crate) fn as_indexes(expression: &str) -> Option<String> {
    if !expression.contains(':') || !expression.contains('[') {
        return None;
    }
    let mut stack = vec![Group::new(' ')];
    let mut quote: Option<char> = None;
    let mut chars = expression.chars();
    let mut sliced = false;
    while let Some(c) = chars.next() {
        let nested = stack.len() > 1;
        let top = stack.last_mut()?;
        if let Some(q) = quote {
            top.text.push(c);
            if c == '\\' {
                top.text.extend(chars.next());
            } else if c == q {
                quote = None;
            }
            continue;
        }
        match c {
            '\'' | '"' => {
                quote = Some(c);
                top.text.push(c);
            }
            '[' | '(' | '{' => stack.push(Group::new(c)),
            ':' if top.open == '[' => {
                sliced = true;
                top.parts.push(std::mem::take(&mut top.text));
            }
            ']' | ')' | '}' if nested => {
                let group = stack.pop()?;
                let open = group.open;
                let inner = group.finish();
                let parent = stack.last_mut()?;
                parent.text.push(open);
                parent.text.push_str(&inner);
                parent.text.push(c);
            }
            _ => top.text.push(c),
        }
    }
    if stack.len() != 1 || quote.is_some() || !sliced {
        return None;
    }
    stack.pop().map(Group::finish)
}

/// An open bracket and what it holds so far.
struct Group {
    open: char,
    text: String,
    /// The bounds before each `:` of a slice.
    parts: Vec<String>,
}

impl Group {
    fn new(open: char) -> Self {
        Self {
            open,
            text: String::new(),
            parts: Vec::new(),
        }
    }

    fn finish(mut self) -> String {
        if self.parts.is_empty() {
            return self.text;
        }
        self.parts.push(self.text);
        let bounds: Vec<String> = self
            .parts
            .iter()
            .map(|part| {
                if part.trim().is_empty() {
                    "none".to_owned()
                } else {
                    part.clone()
                }
            })
            .collect();
        format!("({})", bounds.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::as_indexes;

    #[test]
    fn slices_become_indexes_and_nothing_else_changes() {
        let cases = [
            (
                "steps.a.outputs.ids[1:]",
                Some("steps.a.outputs.ids[(1, none)]"),
            ),
            ("x[:inputs.n]", Some("x[(none, inputs.n)]")),
            ("x[::2] | length", Some("x[(none, none, 2)] | length")),
            ("x[y[1:]][0]", Some("x[y[(1, none)]][0]")),
            ("{'a': x[0]}", None),
            ("'[1:2]' ~ x", None),
            ("x[0]", None),
            ("x[1:", None),
        ];
        for (text, expected) in cases {
            assert_eq!(as_indexes(text).as_deref(), expected, "{text}");
        }
    }
}
