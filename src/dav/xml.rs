//! XML in and out: a request body read (with quick-xml, namespaces resolved) into a small tree of
//! elements, and the answers written with fixed prefixes for the namespaces we speak.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CS: &str = "http://calendarserver.org/ns/";
pub const APPLE: &str = "http://apple.com/ns/ical/";

/// An element of a request: its namespace and local name, attributes (unqualified ones only,
/// which is all CalDAV uses), text and children.
#[derive(Debug, Default)]
pub struct Element {
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

impl Element {
    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    pub fn child(&self, ns: &str, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Deeper than any CalDAV request goes (a filter is six levels).
const MAX_DEPTH: usize = 32;

/// The document element of `body`, or why it cannot be read.
pub fn parse(body: &[u8]) -> Result<Element, String> {
    let text = std::str::from_utf8(body).map_err(|_| "The body is not UTF-8".to_string())?;
    let mut reader = NsReader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    loop {
        let (ns, event) = reader
            .read_resolved_event()
            .map_err(|e| format!("The body is not well-formed XML: {e}"))?;
        let ns = match ns {
            ResolveResult::Bound(ns) => ns.as_ref().to_string(),
            _ => String::new(),
        };
        match event {
            Event::Start(_) if stack.len() >= MAX_DEPTH => {
                return Err("The body nests too deep".into());
            }
            Event::Start(e) => stack.push(element(ns, &e)?),
            Event::Empty(e) => {
                let done = element(ns, &e)?;
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::End(_) => {
                let Some(done) = stack.pop() else {
                    return Err("The body is not well-formed XML".into());
                };
                match stack.last_mut() {
                    Some(parent) => parent.children.push(done),
                    None => return Ok(done),
                }
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    let cdata: &str = t.as_ref();
                    top.text.push_str(cdata);
                }
            }
            Event::GeneralRef(r) => {
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match &*r.xml10_content() {
                        "amp" => "&".into(),
                        "lt" => "<".into(),
                        "gt" => ">".into(),
                        "quot" => "\"".into(),
                        "apos" => "'".into(),
                        other => return Err(format!("Unknown entity &{other};")),
                    },
                };
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&resolved);
                }
            }
            Event::Eof => return Err("The body has no document element".into()),
            _ => {}
        }
    }
}

fn element(ns: String, e: &quick_xml::events::BytesStart) -> Result<Element, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| format!("A malformed attribute: {e}"))?;
        let key = a.key.local_name().as_ref().to_string();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| format!("A malformed attribute: {e}"))?
            .into_owned();
        attrs.push((key, value));
    }
    Ok(Element {
        ns,
        name: e.local_name().as_ref().to_string(),
        attrs,
        text: String::new(),
        children: Vec::new(),
    })
}

/// Text for an element's content (quotes stay as they are: an `ETag` reads as one).
pub fn escape(text: &str) -> std::borrow::Cow<'_, str> {
    quick_xml::escape::partial_escape(text)
}

/// The prefix we write a namespace with, `None` for one we only echo back.
pub fn prefix(ns: &str) -> Option<&'static str> {
    match ns {
        DAV => Some("d"),
        CALDAV => Some("c"),
        CS => Some("cs"),
        APPLE => Some("a"),
        _ => None,
    }
}

/// The opening of every multistatus and error document, declaring our prefixes.
pub const NAMESPACES: &str = concat!(
    r#"xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" "#,
    r#"xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/""#
);

/// `<name/>` of a property the client asked for, in its own namespace (which may be none we know).
pub fn empty_element(out: &mut String, ns: &str, name: &str) {
    match prefix(ns) {
        Some(p) => {
            out.push('<');
            out.push_str(p);
            out.push(':');
            out.push_str(name);
            out.push_str("/>");
        }
        None if ns.is_empty() => {
            out.push('<');
            out.push_str(name);
            out.push_str(r#" xmlns="""#);
            out.push_str("/>");
        }
        None => {
            out.push_str("<x:");
            out.push_str(name);
            out.push_str(r#" xmlns:x=""#);
            out.push_str(&quick_xml::escape::escape(ns));
            out.push_str(r#""/>"#);
        }
    }
}

/// A WebDAV or CalDAV error body (RFC 4918 16): the precondition that failed, as `prefix:name`.
pub fn error_body(precondition: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:error {NAMESPACES}><{precondition}/></d:error>\n"
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_propfind_body_reads_with_namespaces_resolved_whatever_the_prefixes() {
        let body = br#"<?xml version="1.0"?>
            <A:propfind xmlns:A="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
              <A:prop><A:getetag/><C:calendar-data/><x:odd xmlns:x="urn:odd"/></A:prop>
            </A:propfind>"#;
        let root = parse(body).unwrap();
        assert!(root.is(DAV, "propfind"));
        let prop = root.child(DAV, "prop").unwrap();
        let names: Vec<_> = prop
            .children
            .iter()
            .map(|c| (c.ns.as_str(), c.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (DAV, "getetag"),
                (CALDAV, "calendar-data"),
                ("urn:odd", "odd")
            ]
        );
    }

    #[test]
    fn text_keeps_entities_and_character_references() {
        let root = parse(b"<a xmlns=\"DAV:\">x &amp; y &#x41;</a>").unwrap();
        assert_eq!(root.text, "x & y A");
    }

    #[test]
    fn broken_xml_is_an_error_not_a_panic() {
        assert!(parse(b"<a><b></a>").is_err());
        assert!(parse(b"").is_err());
        assert!(parse(&[0xff, 0xfe]).is_err());
    }

    #[test]
    fn unknown_namespaces_are_echoed_with_their_own_declaration() {
        let mut out = String::new();
        empty_element(&mut out, "urn:odd", "thing");
        empty_element(&mut out, DAV, "getetag");
        assert_eq!(out, r#"<x:thing xmlns:x="urn:odd"/><d:getetag/>"#);
    }
}
