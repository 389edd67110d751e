//! A small namespace-aware XML tree for SOAP answers, and escaping for the
//! requests we write.
//!
//! vim25 answers are small enough to hold whole, and reading them as a tree
//! keeps the code that picks values out short. Element names are kept by
//! local name only: everything in a vim25 body lives in `urn:vim25`, except
//! the envelope. `xsi:type` is found by namespace, not by prefix, because
//! vcsim binds the schema-instance namespace to `XMLSchema-instance:`
//! rather than `xsi:`.

use std::borrow::Cow;

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::{Namespace, ResolveResult};
use quick_xml::reader::NsReader;

const XSI: Namespace<'static> = Namespace("http://www.w3.org/2001/XMLSchema-instance");

/// Deepest nesting accepted, so a hostile answer cannot exhaust the stack
/// of the code that walks the tree.
const MAX_DEPTH: usize = 128;

/// One element: its local name, its `xsi:type` (without prefix), its other
/// attributes by local name, its text and its children.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Element {
    pub name: String,
    pub xsi_type: Option<String>,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Every child named `name`.
    pub fn children_named<'a>(
        &'a self,
        name: &'a str,
    ) -> impl DoubleEndedIterator<Item = &'a Element> {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// The element at a path of child names.
    pub fn path(&self, names: &[&str]) -> Option<&Element> {
        names.iter().try_fold(self, |at, name| at.child(name))
    }

    /// The text of the child named `name`.
    pub fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.as_str())
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// The first element named `name` anywhere below (depth first).
    pub fn find(&self, name: &str) -> Option<&Element> {
        self.children.iter().find_map(|c| {
            if c.name == name {
                Some(c)
            } else {
                c.find(name)
            }
        })
    }
}

/// Parses a whole document into its root element.
pub fn parse(text: &str) -> Result<Element, String> {
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("at byte {}: {e}", reader.buffer_position()))?;
        match event {
            Event::Start(start) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(format!("nested deeper than {MAX_DEPTH} elements"));
                }
                stack.push(element(&reader, &start)?);
            }
            Event::Empty(start) => {
                let done = element(&reader, &start)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::End(_) => {
                let done = stack.pop().ok_or("unbalanced end tag")?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Text(text) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&text.xml10_content());
                }
            }
            Event::CData(data) => {
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&data.xml10_content());
                }
            }
            Event::GeneralRef(reference) => {
                let resolved = match reference.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(ch) => ch.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&reference)
                        .ok_or_else(|| format!("unknown entity &{};", &*reference))?
                        .to_owned(),
                };
                if let Some(open) = stack.last_mut() {
                    open.text.push_str(&resolved);
                }
            }
            Event::Eof => return Err("document ended before its root element closed".into()),
            _ => {}
        }
    }
}

fn element(reader: &NsReader<&[u8]>, start: &BytesStart<'_>) -> Result<Element, String> {
    let mut element = Element {
        name: start.local_name().as_ref().to_owned(),
        ..Element::default()
    };
    for attr in start.attributes() {
        let attr = attr.map_err(|e| e.to_string())?;
        let (namespace, local) = reader.resolver().resolve_attribute(attr.key);
        let local = local.as_ref();
        let value = attr
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?;
        match namespace {
            ResolveResult::Bound(ns) if ns == XSI && local == "type" => {
                // `xsd:string` -> `string`; `VirtualDisk` stays as is.
                let name = value.rsplit(':').next().unwrap_or_default();
                element.xsi_type = Some(name.to_owned());
            }
            ResolveResult::Unbound if !attr.key.as_ref().starts_with("xmlns") => {
                element.attrs.push((local.to_owned(), value.into_owned()));
            }
            _ => {}
        }
    }
    Ok(element)
}

/// Escapes text for an element's content or an attribute value.
pub fn escape(text: &str) -> Cow<'_, str> {
    quick_xml::escape::escape(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_xsi_type_under_any_prefix() {
        let doc = r#"<a xmlns="urn:vim25"><val xmlns:XMLSchema-instance="http://www.w3.org/2001/XMLSchema-instance" XMLSchema-instance:type="xsd:string">x &amp; y&#33;</val><obj type="VirtualMachine">vm-1</obj></a>"#;
        let root = parse(doc).unwrap();
        let val = root.child("val").unwrap();
        assert_eq!(val.xsi_type.as_deref(), Some("string"));
        assert_eq!(val.text, "x & y!");
        assert!(val.attrs.is_empty(), "{:?}", val.attrs);
        assert_eq!(
            root.child("obj").unwrap().attr("type"),
            Some("VirtualMachine")
        );
    }

    #[test]
    fn a_fake_prefix_named_xsi_is_not_trusted() {
        let doc = r#"<a xmlns:xsi="urn:other"><b xsi:type="Nope"/></a>"#;
        assert_eq!(parse(doc).unwrap().child("b").unwrap().xsi_type, None);
    }

    #[test]
    fn broken_documents_are_errors() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").is_err());
        assert!(parse(&"<a>".repeat(200)).is_err());
    }

    #[test]
    fn escapes_markup() {
        assert_eq!(escape("<x & 'y'>"), "&lt;x &amp; &apos;y&apos;&gt;");
    }
}
