//! libyaml's event parser, pulled one event at a time.
//!
//! It is the parser serde_yaml itself runs (unsafe-libyaml, a translation
//! of libyaml's C), so a file reads to the same events, and its scalars to
//! the same text, whichever reader reads it: yaml-rust2, tried first, reads
//! line breaks, control characters, directives and a block scalar at the
//! end of a file differently from libyaml. serde_yaml keeps its parser
//! private and collects all events first, hence this wrapper. It is the
//! only unsafe code of the crate; each block says what it relies on.
#![allow(unsafe_code)]

use std::marker::PhantomData;
use std::mem::MaybeUninit;

use super::{Refused, refused};

/// An event, as far as the reader needs it. Anchors, tags and aliases are
/// refused where they are met: the caller leaves such a file to serde_yaml.
#[derive(Debug)]
pub(super) enum Event {
    StreamStart,
    StreamEnd,
    DocumentStart,
    DocumentEnd,
    Scalar(String, Style),
    SequenceStart,
    SequenceEnd,
    MappingStart,
    MappingEnd,
}

/// Whether a scalar was written plain: only plain scalars are resolved to
/// null, booleans and numbers; quoted and block scalars are text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Style {
    Plain,
    Written,
}

/// A libyaml parser over a borrowed text.
pub(super) struct Parser<'input> {
    // Boxed: libyaml keeps a pointer to the parser in the parser (its
    // string reader's data), so it must not move once initialized.
    raw: Box<MaybeUninit<unsafe_libyaml::yaml_parser_t>>,
    /// Set once libyaml reported an error: it is not asked again.
    failed: bool,
    /// libyaml reads the text through a pointer until the parser is
    /// deleted (on drop).
    input: PhantomData<&'input str>,
}

impl<'input> Parser<'input> {
    pub(super) fn new(text: &'input str) -> Result<Self, Refused> {
        let mut raw = Box::new(MaybeUninit::<unsafe_libyaml::yaml_parser_t>::uninit());
        let parser = raw.as_mut_ptr();
        // SAFETY: `parser` points to memory the Box owns, which libyaml
        // initializes; the input pointer and length describe `text`, which
        // outlives the parser (`'input`), and libyaml only reads it.
        unsafe {
            if unsafe_libyaml::yaml_parser_initialize(parser).fail {
                return Err(Refused::Uncovered("libyaml could not start"));
            }
            unsafe_libyaml::yaml_parser_set_encoding(parser, unsafe_libyaml::YAML_UTF8_ENCODING);
            unsafe_libyaml::yaml_parser_set_input_string(parser, text.as_ptr(), text.len() as u64);
        }
        Ok(Self {
            raw,
            failed: false,
            input: PhantomData,
        })
    }

    pub(super) fn next(&mut self) -> Result<Event, Refused> {
        if self.failed {
            return Err(refused("invalid YAML"));
        }
        let mut event = MaybeUninit::<unsafe_libyaml::yaml_event_t>::uninit();
        // SAFETY: the parser was initialized in `new` and has not reported
        // an error; on success libyaml initializes `event`, which is read
        // (its union by its type tag, strings copied out) and then deleted
        // exactly once.
        unsafe {
            if unsafe_libyaml::yaml_parser_parse(self.raw.as_mut_ptr(), event.as_mut_ptr()).fail {
                self.failed = true;
                return Err(refused("invalid YAML"));
            }
            let converted = convert(&*event.as_ptr());
            unsafe_libyaml::yaml_event_delete(event.as_mut_ptr());
            converted
        }
    }
}

impl Drop for Parser<'_> {
    fn drop(&mut self) {
        // SAFETY: a `Parser` exists only once `yaml_parser_initialize`
        // succeeded; it is deleted once, here.
        unsafe { unsafe_libyaml::yaml_parser_delete(self.raw.as_mut_ptr()) }
    }
}

/// # Safety
/// `event` was filled in by `yaml_parser_parse` and not yet deleted.
unsafe fn convert(event: &unsafe_libyaml::yaml_event_t) -> Result<Event, Refused> {
    // SAFETY (each union read): the field read is the one `type_` says
    // libyaml filled in; its pointers are null or NUL-terminated strings
    // (anchors, tags), and a scalar's value has `length` bytes.
    Ok(match event.type_ {
        unsafe_libyaml::YAML_STREAM_START_EVENT => Event::StreamStart,
        unsafe_libyaml::YAML_STREAM_END_EVENT => Event::StreamEnd,
        unsafe_libyaml::YAML_DOCUMENT_START_EVENT => Event::DocumentStart,
        unsafe_libyaml::YAML_DOCUMENT_END_EVENT => Event::DocumentEnd,
        unsafe_libyaml::YAML_ALIAS_EVENT => return Err(Refused::Uncovered("an alias")),
        unsafe_libyaml::YAML_SCALAR_EVENT => {
            let scalar = unsafe { event.data.scalar };
            undecorated(scalar.anchor, scalar.tag)?;
            let text = if scalar.length == 0 {
                String::new()
            } else {
                let bytes =
                    unsafe { std::slice::from_raw_parts(scalar.value, scalar.length as usize) };
                String::from_utf8(bytes.to_vec()).map_err(|_| refused("not UTF-8"))?
            };
            let style = if scalar.style == unsafe_libyaml::YAML_PLAIN_SCALAR_STYLE {
                Style::Plain
            } else {
                Style::Written
            };
            Event::Scalar(text, style)
        }
        unsafe_libyaml::YAML_SEQUENCE_START_EVENT => {
            let start = unsafe { event.data.sequence_start };
            undecorated(start.anchor, start.tag)?;
            Event::SequenceStart
        }
        unsafe_libyaml::YAML_SEQUENCE_END_EVENT => Event::SequenceEnd,
        unsafe_libyaml::YAML_MAPPING_START_EVENT => {
            let start = unsafe { event.data.mapping_start };
            undecorated(start.anchor, start.tag)?;
            Event::MappingStart
        }
        unsafe_libyaml::YAML_MAPPING_END_EVENT => Event::MappingEnd,
        _ => return Err(refused("an event libyaml does not send")),
    })
}

/// Refuses an anchored or tagged collection.
fn undecorated(anchor: *const u8, tag: *const u8) -> Result<(), Refused> {
    if anchor.is_null() && tag.is_null() {
        Ok(())
    } else {
        Err(Refused::Uncovered("an anchor or a tag"))
    }
}
