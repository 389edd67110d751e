//! What a plain scalar means, by the rules serde_yaml applies (YAML 1.2's
//! core schema with its own edges), so a file reads the same through either
//! reader. Quoted and block scalars are always text; only plain ones are
//! resolved. The tests compare each rule with serde_yaml.

use std::num::ParseIntError;

use serde::de::Visitor;

use super::Refused;

type FromStrRadix<T> = fn(&str, u32) -> Result<T, ParseIntError>;

/// `~`, `null`, `Null`, `NULL`.
pub(super) fn is_null(text: &str) -> bool {
    matches!(text, "~" | "null" | "Null" | "NULL")
}

/// A null word, or nothing at all (`key:` with no value).
pub(super) fn is_null_or_empty(text: &str) -> bool {
    text.is_empty() || is_null(text)
}

pub(super) fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" | "True" | "TRUE" => Some(true),
        "false" | "False" | "FALSE" => Some(false),
        _ => None,
    }
}

/// `0123` (or `-0123`): digits after a leading zero are text in YAML 1.2,
/// not an octal or decimal number.
fn zero_padded(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits.bytes().all(|b| b.is_ascii_digit())
}

/// `0x`, `0o` or `0b` and the digits after it, with their radix.
fn radix_prefixed(text: &str) -> Option<(u32, &str)> {
    [("0x", 16), ("0o", 8), ("0b", 2)]
        .into_iter()
        .find_map(|(prefix, radix)| text.strip_prefix(prefix).map(|digits| (radix, digits)))
}

fn signed_digits(digits: &str) -> bool {
    digits.starts_with(['+', '-'])
}

/// A number with no minus sign: an optional `+`, then decimal digits or a
/// radix prefix and its digits.
pub(super) fn unsigned<T>(text: &str, parse: FromStrRadix<T>) -> Option<T> {
    let body = text.strip_prefix('+').unwrap_or(text);
    if let Some((radix, digits)) = radix_prefixed(body) {
        if signed_digits(digits) {
            return None;
        }
        if let Ok(value) = parse(digits, radix) {
            return Some(value);
        }
    }
    if signed_digits(body) || zero_padded(text) {
        return None;
    }
    parse(body, 10).ok()
}

/// A number below zero: `-0x1f`, `-0o17`, `-0b101` or decimal (a `+` sign
/// or none also parses, but the callers have tried [`unsigned`] first).
fn negative<T>(text: &str, parse: FromStrRadix<T>) -> Option<T> {
    if let Some((radix, digits)) = text.strip_prefix('-').and_then(radix_prefixed)
        && let Ok(value) = parse(&format!("-{digits}"), radix)
    {
        return Some(value);
    }
    if zero_padded(text) {
        return None;
    }
    parse(text, 10).ok()
}

/// A number of a signed type, with either sign: what [`unsigned`] reads,
/// else what [`negative`] reads.
pub(super) fn signed<T>(text: &str, parse: FromStrRadix<T>) -> Option<T> {
    unsigned(text, parse).or_else(|| negative(text, parse))
}

/// A finite decimal number, or `.inf`, `-.inf`, `.nan` in their three
/// spellings each.
pub(super) fn float(text: &str) -> Option<f64> {
    let body = match text.strip_prefix('+') {
        Some(body) if signed_digits(body) => return None,
        Some(body) => body,
        None => text,
    };
    if matches!(body, ".inf" | ".Inf" | ".INF") {
        return Some(f64::INFINITY);
    }
    if matches!(text, "-.inf" | "-.Inf" | "-.INF") {
        return Some(f64::NEG_INFINITY);
    }
    if matches!(text, ".nan" | ".NaN" | ".NAN") {
        return Some(f64::NAN.copysign(1.0));
    }
    body.parse::<f64>().ok().filter(|value| value.is_finite())
}

/// An untyped plain scalar (a parameter's value, read into JSON): null,
/// then a boolean, an integer (the widest it needs), a float, else text.
pub(super) fn visit_plain<'de, V: Visitor<'de>>(
    visitor: V,
    text: String,
) -> Result<V::Value, Refused> {
    if is_null_or_empty(&text) {
        return visitor.visit_unit();
    }
    if let Some(value) = boolean(&text) {
        return visitor.visit_bool(value);
    }
    if let Some(value) = unsigned(&text, u64::from_str_radix) {
        return visitor.visit_u64(value);
    }
    if let Some(value) = negative(&text, i64::from_str_radix) {
        return visitor.visit_i64(value);
    }
    if let Some(value) = unsigned(&text, u128::from_str_radix) {
        return visitor.visit_u128(value);
    }
    if let Some(value) = negative(&text, i128::from_str_radix) {
        return visitor.visit_i128(value);
    }
    if !zero_padded(&text)
        && let Some(value) = float(&text)
    {
        return visitor.visit_f64(value);
    }
    visitor.visit_string(text)
}
