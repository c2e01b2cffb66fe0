//! A `207 Multi-Status` body (RFC 4918 13): one `response` per resource, its properties split by
//! status (found, not found, forbidden).

use super::xml::{self, escape, NAMESPACES};
use crate::http::Response;

/// A property the client named: its namespace and local name.
pub type Name = (String, String);

pub struct Multistatus {
    out: String,
}

impl Multistatus {
    pub fn new() -> Multistatus {
        let mut out = String::with_capacity(4096);
        out.push_str("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<d:multistatus ");
        out.push_str(NAMESPACES);
        out.push('>');
        Multistatus { out }
    }

    /// A resource: `found` holds each property's element with its value, already written;
    /// `missing` the ones it does not have (404); `forbidden` ones refused (403).
    pub fn resource(&mut self, href: &str, found: &[String], missing: &[&Name]) {
        self.out.push_str("<d:response><d:href>");
        self.out.push_str(&escape(href));
        self.out.push_str("</d:href>");
        if !found.is_empty() {
            self.out.push_str("<d:propstat><d:prop>");
            for prop in found {
                self.out.push_str(prop);
            }
            self.out
                .push_str("</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat>");
        }
        self.propstat(missing, "404 Not Found");
        self.out.push_str("</d:response>");
    }

    /// Properties with one status, for the resource being written.
    fn propstat(&mut self, names: &[&Name], status: &str) {
        if names.is_empty() {
            return;
        }
        self.out.push_str("<d:propstat><d:prop>");
        for (ns, name) in names {
            xml::empty_element(&mut self.out, ns, name);
        }
        self.out.push_str("</d:prop><d:status>HTTP/1.1 ");
        self.out.push_str(status);
        self.out.push_str("</d:status></d:propstat>");
    }

    /// A `PROPPATCH` answer: each property with its status.
    pub fn statuses(&mut self, href: &str, groups: &[(&[&Name], &str)]) {
        self.out.push_str("<d:response><d:href>");
        self.out.push_str(&escape(href));
        self.out.push_str("</d:href>");
        for (names, status) in groups {
            self.propstat(names, status);
        }
        self.out.push_str("</d:response>");
    }

    /// A resource that is not there (a multiget's unknown href, a sync's deleted object).
    pub fn gone(&mut self, href: &str) {
        self.out.push_str("<d:response><d:href>");
        self.out.push_str(&escape(href));
        self.out
            .push_str("</d:href><d:status>HTTP/1.1 404 Not Found</d:status></d:response>");
    }

    pub fn sync_token(&mut self, n: i64) {
        self.out.push_str("<d:sync-token>");
        self.out.push_str(&sync_token(n));
        self.out.push_str("</d:sync-token>");
    }

    pub fn finish(mut self) -> Response {
        self.out.push_str("</d:multistatus>\n");
        let mut resp = Response::empty(207);
        resp.content_type = super::XML;
        resp.body = self.out.into_bytes();
        resp
    }
}

/// `<prefix:name>value</prefix:name>`, the value already XML.
pub fn prop(qualified: &str, value: &str) -> String {
    if value.is_empty() {
        return format!("<{qualified}/>");
    }
    format!("<{qualified}>{value}</{qualified}>")
}

/// `<prefix:name>text</prefix:name>`, the text escaped.
pub fn text_prop(qualified: &str, text: &str) -> String {
    prop(qualified, &escape(text))
}

pub fn href_value(href: &str) -> String {
    format!("<d:href>{}</d:href>", escape(href))
}

/// A collection's sync token (RFC 6578 says a URI): the list's change number. (Tokens of the
/// member's numbers, before lists were numbered each, have another base: stale, 403.)
pub fn sync_token(n: i64) -> String {
    format!("{TOKEN_BASE}{n}")
}

const TOKEN_BASE: &str = "http://todo-api/sync/list/";

/// The change number of a token we gave; `None` for any other text.
pub fn parse_sync_token(token: &str) -> Option<i64> {
    token
        .trim()
        .strip_prefix(TOKEN_BASE)?
        .parse()
        .ok()
        .filter(|n| *n >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sync_tokens_read_back_and_nothing_else_reads() {
        assert_eq!(parse_sync_token(&sync_token(42)), Some(42));
        assert_eq!(parse_sync_token("http://todo-api/sync/-1"), None);
        assert_eq!(parse_sync_token("http://other/sync/4"), None);
        assert_eq!(parse_sync_token("http://todo-api/sync/4"), None);
        assert_eq!(parse_sync_token("garbage"), None);
    }

    #[test]
    fn a_multistatus_says_what_was_found_and_what_was_not() {
        let mut m = Multistatus::new();
        let missing: Name = ("urn:x".into(), "odd".into());
        m.resource("/a b", &[text_prop("d:displayname", "A & B")], &[&missing]);
        m.gone("/c");
        let body = String::from_utf8(m.finish().body).unwrap();
        assert!(body.contains("<d:href>/a b</d:href>"));
        assert!(body.contains("<d:displayname>A &amp; B</d:displayname>"));
        assert!(body.contains(r#"<x:odd xmlns:x="urn:x"/>"#));
        assert!(body.contains("<d:href>/c</d:href><d:status>HTTP/1.1 404 Not Found</d:status>"));
    }
}
