//! Values that may hold `${{ ... }}` expressions, and their evaluation.
//!
//! Expressions are minijinja expressions. A value that is exactly one
//! expression keeps the expression's type (a list stays a list); anything
//! else with expressions in it is string interpolation.
//!
//! The delimiters are found by a plain scan for `${{` and the next `}}`: an
//! expression cannot contain `}}`, even inside a string literal.

use indexmap::IndexMap;
use serde_json::Value as Json;

use crate::diagnostic::Diagnostic;
use crate::limits::MAX_EXPRESSION_BYTES;
use crate::path::YamlPath;

const OPEN: &str = "${{";
const CLOSE: &str = "}}";

/// The text between `${{` and `}}`, trimmed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Expression(pub String);

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(untagged)]
pub enum Part {
    Text(String),
    Expr(Expression),
}

/// A YAML value with its expressions found.
#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// No expression anywhere inside.
    Literal(Json),
    /// Exactly one expression: evaluates to a value of any type.
    Expr(Expression),
    /// A string mixing text and expressions: evaluates to a string.
    Interpolated(Vec<Part>),
    List(Vec<Template>),
    Map(IndexMap<String, Template>),
}

/// An expression and where it was written, for checking references.
#[derive(Debug, Clone)]
pub struct Found {
    pub path: YamlPath,
    pub expression: Expression,
}

impl Template {
    /// Splits `value` into literal parts and expressions. Every expression is
    /// appended to `found`; malformed delimiters are reported to `errs`.
    pub fn parse(
        value: &Json,
        path: &YamlPath,
        found: &mut Vec<Found>,
        errs: &mut Vec<Diagnostic>,
    ) -> Self {
        match value {
            Json::String(text) if text.contains(OPEN) => parse_string(text, path, found, errs),
            Json::Array(items) => {
                let parsed: Vec<Self> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::parse(item, &path.index(i), found, errs))
                    .collect();
                if parsed.iter().all(|t| matches!(t, Self::Literal(_))) {
                    Self::Literal(value.clone())
                } else {
                    Self::List(parsed)
                }
            }
            Json::Object(map) => {
                let parsed: IndexMap<String, Self> = map
                    .iter()
                    .map(|(k, v)| (k.clone(), Self::parse(v, &path.key(k), found, errs)))
                    .collect();
                if parsed.values().all(|t| matches!(t, Self::Literal(_))) {
                    Self::Literal(value.clone())
                } else {
                    Self::Map(parsed)
                }
            }
            _ => Self::Literal(value.clone()),
        }
    }

    /// The literal value, if this template holds no expression.
    pub fn as_literal(&self) -> Option<&Json> {
        match self {
            Self::Literal(value) => Some(value),
            _ => None,
        }
    }

    /// The template as written, with `${{ }}` restored; used for display and hashing.
    pub fn to_source(&self) -> Json {
        match self {
            Self::Literal(value) => value.clone(),
            Self::Expr(expr) => Json::String(format!("{OPEN} {} {CLOSE}", expr.0)),
            Self::Interpolated(parts) => Json::String(
                parts
                    .iter()
                    .map(|part| match part {
                        Part::Text(text) => text.clone(),
                        Part::Expr(expr) => format!("{OPEN} {} {CLOSE}", expr.0),
                    })
                    .collect(),
            ),
            Self::List(items) => Json::Array(items.iter().map(Self::to_source).collect()),
            Self::Map(map) => Json::Object(
                map.iter()
                    .map(|(k, v)| (k.clone(), v.to_source()))
                    .collect(),
            ),
        }
    }
}

fn parse_string(
    text: &str,
    path: &YamlPath,
    found: &mut Vec<Found>,
    errs: &mut Vec<Diagnostic>,
) -> Template {
    let mut parts = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        if start > 0 {
            parts.push(Part::Text(rest[..start].to_owned()));
        }
        let after = &rest[start + OPEN.len()..];
        let Some(end) = after.find(CLOSE) else {
            errs.push(
                Diagnostic::error("expression", "unclosed `${{`: expected `}}`")
                    .at(path)
                    .with_help("write an expression as `${{ inputs.name }}`"),
            );
            return Template::Literal(Json::String(text.to_owned()));
        };
        let inner = after[..end].trim();
        if inner.is_empty() {
            errs.push(Diagnostic::error("expression", "empty expression `${{ }}`").at(path));
        } else if inner.len() > MAX_EXPRESSION_BYTES {
            errs.push(
                Diagnostic::error(
                    "expression",
                    format!(
                        "expression is {} bytes, more than the limit of {MAX_EXPRESSION_BYTES}",
                        inner.len()
                    ),
                )
                .at(path),
            );
        } else {
            let expression = Expression(inner.to_owned());
            found.push(Found {
                path: path.clone(),
                expression: expression.clone(),
            });
            parts.push(Part::Expr(expression));
        }
        rest = &after[end + CLOSE.len()..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    match parts.as_slice() {
        [Part::Expr(expr)] => Template::Expr(expr.clone()),
        _ => Template::Interpolated(parts),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(value: Json) -> (Template, Vec<Found>, Vec<Diagnostic>) {
        let mut found = Vec::new();
        let mut errs = Vec::new();
        let template = Template::parse(&value, &YamlPath::root().key("v"), &mut found, &mut errs);
        (template, found, errs)
    }

    #[test]
    fn a_whole_value_expression_keeps_its_type() {
        let (template, found, _) = parse(json!("${{ inputs.ids }}"));
        assert_eq!(template, Template::Expr(Expression("inputs.ids".into())));
        assert_eq!(found.len(), 1);
    }

    #[test]
    fn mixed_text_is_interpolation() {
        let (template, found, _) = parse(json!("backup-${{ inputs.vm }}-${{ execution.id }}"));
        assert_eq!(
            template,
            Template::Interpolated(vec![
                Part::Text("backup-".into()),
                Part::Expr(Expression("inputs.vm".into())),
                Part::Text("-".into()),
                Part::Expr(Expression("execution.id".into())),
            ])
        );
        assert_eq!(found.len(), 2);
        assert_eq!(
            template.to_source(),
            json!("backup-${{ inputs.vm }}-${{ execution.id }}")
        );
    }

    #[test]
    fn nested_values_keep_literal_siblings() {
        let (template, found, _) = parse(json!({"a": 1, "b": ["x", "${{ item }}"]}));
        assert!(matches!(template, Template::Map(_)));
        assert_eq!(found[0].path.to_string(), "v.b[1]");
        let (literal, _, _) = parse(json!({"a": [1, 2]}));
        assert_eq!(literal.as_literal(), Some(&json!({"a": [1, 2]})));
    }

    #[test]
    fn reports_malformed_delimiters() {
        let (_, _, errs) = parse(json!("x ${{ inputs.vm"));
        assert_eq!(errs[0].message, "unclosed `${{`: expected `}}`");
        let (_, _, errs) = parse(json!("${{ }}"));
        assert_eq!(errs[0].message, "empty expression `${{ }}`");
    }
}
