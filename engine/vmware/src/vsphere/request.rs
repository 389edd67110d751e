//! Building vim25 request bodies. Every value written goes through
//! [`escape`]; element names are this crate's own constants.

use super::moref::MoRef;
use super::xml::escape;

/// One SOAP request: a method on a managed object and its arguments, in
/// the order the WSDL declares them (vim25 is strict about order).
#[derive(Debug, Clone)]
pub struct Request {
    method: &'static str,
    /// The arguments, written as a [`Fragment`]'s members are.
    body: Fragment,
}

impl Request {
    pub fn new(method: &'static str, this: &MoRef) -> Self {
        Self {
            method,
            body: Fragment::default().moref("_this", this),
        }
    }

    pub fn method(&self) -> &'static str {
        self.method
    }

    /// The request with `add` applied to its arguments.
    fn with(mut self, add: impl FnOnce(Fragment) -> Fragment) -> Self {
        self.body = add(self.body);
        self
    }

    #[must_use]
    pub fn text(self, name: &'static str, value: &str) -> Self {
        self.with(|body| body.text(name, value))
    }

    #[must_use]
    pub fn bool(self, name: &'static str, value: bool) -> Self {
        self.with(|body| body.bool(name, value))
    }

    #[must_use]
    pub fn moref(self, name: &'static str, value: &MoRef) -> Self {
        self.with(|body| body.moref(name, value))
    }

    /// A fragment made with [`Fragment`], whose values are already escaped.
    #[must_use]
    pub fn fragment(mut self, fragment: &Fragment) -> Self {
        self.body.0.push_str(&fragment.0);
        self
    }

    /// The whole envelope.
    pub fn envelope(&self) -> String {
        format!(
            concat!(
                r#"<?xml version="1.0" encoding="UTF-8"?>"#,
                r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" "#,
                r#"xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">"#,
                r#"<soapenv:Body><{method} xmlns="urn:vim25">{body}</{method}></soapenv:Body></soapenv:Envelope>"#
            ),
            method = self.method,
            body = self.body.0
        )
    }
}

/// A nested structure (a property filter spec, a traversal spec), built
/// with the same escaping rules as [`Request`].
#[derive(Debug, Clone, Default)]
pub struct Fragment(String);

impl Fragment {
    /// `<name xsi:type="xsi_type">` ... `</name>`.
    pub fn open(name: &'static str, xsi_type: Option<&'static str>) -> Self {
        match xsi_type {
            Some(ty) => Self(format!("<{name} xsi:type=\"{ty}\">")),
            None => Self(format!("<{name}>")),
        }
    }

    #[must_use]
    pub fn text(mut self, name: &'static str, value: &str) -> Self {
        self.0
            .push_str(&format!("<{name}>{}</{name}>", escape(value)));
        self
    }

    #[must_use]
    pub fn bool(self, name: &'static str, value: bool) -> Self {
        self.text(name, if value { "true" } else { "false" })
    }

    #[must_use]
    pub fn moref(mut self, name: &'static str, value: &MoRef) -> Self {
        self.0.push_str(&format!(
            "<{name} type=\"{}\">{}</{name}>",
            escape(&value.kind),
            escape(&value.value)
        ));
        self
    }

    #[must_use]
    pub fn nest(mut self, inner: Fragment) -> Self {
        self.0.push_str(&inner.0);
        self
    }

    #[must_use]
    pub fn close(mut self, name: &'static str) -> Self {
        self.0.push_str(&format!("</{name}>"));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vsphere::xml;

    #[test]
    fn values_are_escaped_and_the_envelope_parses_back() {
        let vm = MoRef::new("VirtualMachine", "vm-1");
        let body = Request::new("CreateSnapshot_Task", &vm)
            .text("name", "a</name><evil>&")
            .bool("memory", false)
            .envelope();
        let root = xml::parse(&body).unwrap();
        let call = root.path(&["Body", "CreateSnapshot_Task"]).unwrap();
        assert_eq!(call.text_of("name"), Some("a</name><evil>&"));
        assert!(call.child("evil").is_none());
        assert_eq!(
            call.child("_this").unwrap().attr("type"),
            Some("VirtualMachine")
        );
    }
}
