//! A workflow file read straight into typed structs while its YAML is
//! parsed: the decoder's fast path.
//!
//! serde_yaml collects every event of a document in a `Vec` before it
//! deserializes anything; at 100,000 steps that `Vec` was 302 MB of a
//! 346 MB peak, and growing it a third of the decoding time
//! (docs/benchmarks.md). This deserializer pulls the events of the same
//! parser, libyaml (`libyaml`), one at a time instead, so nothing of the
//! document is held but the structs it fills.
//!
//! Reading the same events, it reads them as serde_yaml does: a scalar
//! resolves by the same rules for each type asked for (`scalar`), which the
//! tests check against serde_yaml on a table of scalars, on odd documents
//! and on every workflow in the repository. What it does not cover
//! (anchors, aliases, tags) it leaves to serde_yaml ([`Refused::Uncovered`]);
//! anything else it refuses (a mistake, more than one document, an empty
//! file, nesting deeper than serde_yaml allows), serde_yaml refuses too,
//! and the decoder's slow path says where the mistake is.
//!
//! (yaml-rust2, which the span index uses to locate values, was tried
//! first and read some files differently from libyaml: a block scalar at
//! the end of a file with no final newline, U+2028 and U+0085 as line
//! breaks, control characters, directives; its tests keep those cases.)

mod access;
mod libyaml;
mod scalar;
#[cfg(test)]
mod tests;

use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};

use access::{Empty, Entries, UnitVariant};
use libyaml::{Event, Parser, Style};

/// serde_yaml's nesting limit; deeper is refused (serde_yaml refuses it too).
const MAX_DEPTH: usize = 128;

/// Why a file was not read here.
#[derive(Debug)]
pub(crate) enum Refused {
    /// YAML this reader does not cover (anchors, aliases, tags), which
    /// serde_yaml reads into the same structs.
    Uncovered(&'static str),
    /// Not a valid workflow: serde_yaml, reading the same events by the
    /// same rules, refuses it too, and its slow path says why.
    Invalid(String),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Uncovered(what) => write!(f, "left to serde_yaml: {what}"),
            Self::Invalid(why) => f.write_str(why),
        }
    }
}

impl std::error::Error for Refused {}

impl de::Error for Refused {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Self::Invalid(msg.to_string())
    }
}

fn refused(why: &str) -> Refused {
    Refused::Invalid(why.to_owned())
}

/// Reads one YAML document into `T`, or says why it was not read.
pub(crate) fn from_str<T: DeserializeOwned>(text: &str) -> Result<T, Refused> {
    let mut events = Events {
        parser: Parser::new(text)?,
        peeked: None,
        depth: 0,
    };
    if !matches!(events.next()?, Event::StreamStart) {
        return Err(refused("no stream start"));
    }
    if !matches!(events.next()?, Event::DocumentStart) {
        return Err(refused("an empty file"));
    }
    let value = T::deserialize(&mut events)?;
    if !matches!(events.next()?, Event::DocumentEnd) {
        return Err(refused("more after the document's value"));
    }
    if !matches!(events.next()?, Event::StreamEnd) {
        return Err(refused("more than one document"));
    }
    Ok(value)
}

/// The parser, one event of lookahead, and how deep the reader is.
struct Events<'a> {
    parser: Parser<'a>,
    peeked: Option<Event>,
    depth: usize,
}

impl Events<'_> {
    fn peek(&mut self) -> Result<&Event, Refused> {
        if self.peeked.is_none() {
            self.peeked = Some(self.parser.next()?);
        }
        Ok(self.peeked.as_ref().expect("filled above"))
    }

    fn next(&mut self) -> Result<Event, Refused> {
        match self.peeked.take() {
            Some(event) => Ok(event),
            None => self.parser.next(),
        }
    }

    /// Reads a sequence or mapping whose start event was taken, through to
    /// its end event, which the visitor must have reached.
    fn container<'de, V: Visitor<'de>>(
        &mut self,
        visitor: V,
        mapping: bool,
    ) -> Result<V::Value, Refused> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(refused("nesting deeper than serde_yaml reads"));
        }
        let value = if mapping {
            visitor.visit_map(Entries { events: self })?
        } else {
            visitor.visit_seq(Entries { events: self })?
        };
        match (self.next()?, mapping) {
            (Event::MappingEnd, true) | (Event::SequenceEnd, false) => {}
            _ => return Err(refused("entries left unread")),
        }
        self.depth -= 1;
        Ok(value)
    }

    /// Passes over one node, whatever it holds.
    fn skip(&mut self) -> Result<(), Refused> {
        let mut open = 0usize;
        loop {
            match self.next()? {
                Event::SequenceStart | Event::MappingStart => open += 1,
                Event::SequenceEnd | Event::MappingEnd => {
                    open = open
                        .checked_sub(1)
                        .ok_or_else(|| refused("an end where a node was expected"))?;
                }
                Event::Scalar(..) => {}
                _ => return Err(refused("a document ended inside a node")),
            }
            if open == 0 {
                return Ok(());
            }
        }
    }

    /// A plain scalar's text, for the types that read only plain scalars
    /// (as serde_yaml does: `"5"` quoted is no number).
    fn plain(&mut self, expected: &dyn de::Expected) -> Result<String, Refused> {
        match self.next()? {
            Event::Scalar(text, Style::Plain) => Ok(text),
            other => Err(unexpected(&other, expected)),
        }
    }

    /// A plain scalar read by `parse` (a boolean, a number).
    fn parsed<T>(
        &mut self,
        expected: &dyn de::Expected,
        parse: impl FnOnce(&str) -> Option<T>,
    ) -> Result<T, Refused> {
        let text = self.plain(expected)?;
        parse(&text).ok_or_else(|| invalid(&text, expected))
    }
}

fn unexpected(event: &Event, expected: &dyn de::Expected) -> Refused {
    let found = match event {
        Event::Scalar(text, _) => de::Unexpected::Str(text),
        Event::SequenceStart => de::Unexpected::Seq,
        Event::MappingStart => de::Unexpected::Map,
        _ => de::Unexpected::Other("the end of a node"),
    };
    de::Error::invalid_type(found, expected)
}

fn invalid(text: &str, expected: &dyn de::Expected) -> Refused {
    de::Error::invalid_value(de::Unexpected::Str(text), expected)
}

/// An empty plain scalar (`key:` with nothing after it), which serde_yaml
/// reads as an empty sequence or mapping where one is asked for.
fn is_empty_plain(event: &Event) -> bool {
    matches!(event, Event::Scalar(text, Style::Plain) if text.is_empty())
}

impl<'de> de::Deserializer<'de> for &mut Events<'_> {
    type Error = Refused;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Event::Scalar(text, Style::Plain) => scalar::visit_plain(visitor, text),
            Event::Scalar(text, _) => visitor.visit_string(text),
            Event::SequenceStart => self.container(visitor, false),
            Event::MappingStart => self.container(visitor, true),
            other => Err(unexpected(&other, &visitor)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let value = self.parsed(&visitor, scalar::boolean)?;
        visitor.visit_bool(value)
    }

    fn deserialize_i8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_i64(visitor)
    }

    fn deserialize_i64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let value = self.parsed(&visitor, |text| scalar::signed(text, i64::from_str_radix))?;
        visitor.visit_i64(value)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let value = self.parsed(&visitor, |text| scalar::signed(text, i128::from_str_radix))?;
        visitor.visit_i128(value)
    }

    fn deserialize_u8<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u16<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_u64(visitor)
    }

    fn deserialize_u64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let value = self.parsed(&visitor, |text| scalar::unsigned(text, u64::from_str_radix))?;
        visitor.visit_u64(value)
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let value = self.parsed(&visitor, |text| {
            scalar::unsigned(text, u128::from_str_radix)
        })?;
        visitor.visit_u128(value)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_f64(visitor)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let value = self.parsed(&visitor, scalar::float)?;
        visitor.visit_f64(value)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    /// Any scalar, in any style, is its text.
    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Event::Scalar(text, _) => visitor.visit_string(text),
            other => Err(unexpected(&other, &visitor)),
        }
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Refused> {
        Err(refused("bytes"))
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Refused> {
        Err(refused("bytes"))
    }

    /// `~`, `null` and nothing at all are none, when plain; all else is some.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let none = match self.peek()? {
            Event::Scalar(text, Style::Plain) => scalar::is_null_or_empty(text),
            _ => false,
        };
        if none {
            self.next()?;
            visitor.visit_none()
        } else {
            visitor.visit_some(self)
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        let text = self.plain(&visitor)?;
        if scalar::is_null_or_empty(&text) {
            visitor.visit_unit()
        } else {
            Err(invalid(&text, &"null"))
        }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Event::SequenceStart => self.container(visitor, false),
            other if is_empty_plain(&other) => visitor.visit_seq(Empty),
            other => Err(unexpected(&other, &visitor)),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        match self.next()? {
            Event::MappingStart => self.container(visitor, true),
            other if is_empty_plain(&other) => visitor.visit_map(Empty),
            other => Err(unexpected(&other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        self.deserialize_map(visitor)
    }

    /// An enum is a scalar naming a unit variant; variants with content are
    /// written with tags in serde_yaml, which this reader refuses.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Refused> {
        match self.peek()? {
            Event::Scalar(..) => visitor.visit_enum(UnitVariant { events: self }),
            _ => Err(refused("an enum written as a sequence or a mapping")),
        }
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Refused> {
        self.skip()?;
        visitor.visit_unit()
    }
}
