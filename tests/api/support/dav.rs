//! CalDAV from the outside: WebDAV requests with Basic authentication (sent over the raw client,
//! since ureq will not send PROPFIND and friends), multistatus answers parsed with quick-xml, and
//! iCalendar read line by line, unfolded.

use super::raw_client::request;
use super::{id_of, unique, Resp, TestApp, User};
use base64::Engine;
use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;
use quick_xml::XmlVersion;
use serde_json::{json, Value};
use std::time::Duration;

pub const DAV: &str = "DAV:";
pub const CALDAV: &str = "urn:ietf:params:xml:ns:caldav";
pub const CS: &str = "http://calendarserver.org/ns/";
pub const APPLE: &str = "http://apple.com/ns/ical/";

/// Every prefix the request bodies below use, declared once.
const PREFIXES: &str = r#"xmlns:d="DAV:" xmlns:c="urn:ietf:params:xml:ns:caldav" xmlns:cs="http://calendarserver.org/ns/" xmlns:a="http://apple.com/ns/ical/""#;

// ---------------------------------------------------------------------------------------------
// Who asks: a user with a personal access token, as a CalDAV app is set up.

#[derive(Clone)]
pub struct DavUser {
    pub user: User,
    /// The personal access token (`todo_...`), the Basic password.
    pub secret: String,
}

/// `POST /api/{user}/tokens` with `scope`, asserting 201; returns (id, secret).
pub fn personal_token(app: &TestApp, user: &User, scope: &str) -> (String, String) {
    let resp = app.send(
        "POST",
        &format!("/api/{}/tokens", user.id),
        Some(&user.token),
        Some(json!({ "name": format!("caldav {scope} {}", unique()), "scope": scope })),
    );
    assert_eq!(resp.status, 201, "{}", resp.body);
    let body = resp.json();
    (
        body["id"].as_str().expect("token id").to_string(),
        body["token"].as_str().expect("token secret").to_string(),
    )
}

/// A new user with a write token.
pub fn dav_user(app: &TestApp) -> DavUser {
    let user = app.user();
    dav_as(app, &user, "write")
}

/// `user` with a new token of `scope`.
pub fn dav_as(app: &TestApp, user: &User, scope: &str) -> DavUser {
    let (_, secret) = personal_token(app, user, scope);
    DavUser {
        user: user.clone(),
        secret,
    }
}

/// `Authorization: Basic` for `name:password`.
pub fn basic(name: &str, password: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!("{name}:{password}"));
    format!("Basic {encoded}")
}

/// Any request, with `auth` as the `Authorization` header when given, over a new connection.
pub fn dav_request(
    app: &TestApp,
    method: &str,
    path: &str,
    auth: Option<&str>,
    headers: &[(&str, &str)],
    body: &str,
) -> Resp {
    let mut all: Vec<(&str, &str)> = auth.iter().map(|a| ("Authorization", *a)).collect();
    all.extend_from_slice(headers);
    let raw = request(
        app.addr,
        method,
        path,
        &all,
        body.as_bytes(),
        Duration::from_secs(60),
    )
    .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let headers = raw
        .head
        .split("\r\n")
        .skip(1)
        .filter_map(|line| {
            let (name, value) = line.split_once(':')?;
            Some((name.trim().to_string(), value.trim().to_string()))
        })
        .collect();
    Resp {
        status: raw.status,
        headers,
        body: raw.body,
    }
}

impl DavUser {
    pub fn id(&self) -> &str {
        &self.user.id
    }

    pub fn basic(&self) -> String {
        basic(&self.user.email, &self.secret)
    }

    /// Any request with this user's Basic credentials.
    pub fn request(
        &self,
        app: &TestApp,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        dav_request(app, method, path, Some(&self.basic()), headers, body)
    }

    pub fn propfind(&self, app: &TestApp, path: &str, depth: &str, body: &str) -> Resp {
        let headers = [("Depth", depth), ("Content-Type", XML_TYPE)];
        self.request(app, "PROPFIND", path, &headers, body)
    }

    /// PROPFIND of `props` (prefixed names: `d:`, `c:`, `cs:`, `a:`), answered 207, parsed.
    pub fn props(&self, app: &TestApp, path: &str, depth: &str, props: &[&str]) -> Multistatus {
        Multistatus::of(&self.propfind(app, path, depth, &propfind_body(props)))
    }

    pub fn report(&self, app: &TestApp, path: &str, depth: &str, body: &str) -> Resp {
        let headers = [("Depth", depth), ("Content-Type", XML_TYPE)];
        self.request(app, "REPORT", path, &headers, body)
    }

    pub fn get(&self, app: &TestApp, path: &str) -> Resp {
        self.request(app, "GET", path, &[], "")
    }

    /// PUT of iCalendar text with extra headers (`If-Match`, `If-None-Match`).
    pub fn put(&self, app: &TestApp, path: &str, ics: &str, headers: &[(&str, &str)]) -> Resp {
        let mut all = vec![("Content-Type", "text/calendar; charset=utf-8")];
        all.extend_from_slice(headers);
        self.request(app, "PUT", path, &all, ics)
    }

    /// PUT with `If-None-Match: *` (a new object), asserting 201; returns the ETag.
    pub fn create(&self, app: &TestApp, path: &str, ics: &str) -> String {
        let resp = self.put(app, path, ics, &[("If-None-Match", "*")]);
        assert_eq!(resp.status, 201, "PUT {path}: {}", resp.body);
        etag_of(&resp)
    }

    pub fn delete(&self, app: &TestApp, path: &str, headers: &[(&str, &str)]) -> Resp {
        self.request(app, "DELETE", path, headers, "")
    }

    pub fn mkcalendar(&self, app: &TestApp, path: &str, displayname: &str) -> Resp {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><c:mkcalendar {PREFIXES}><d:set><d:prop><d:displayname>{}</d:displayname><c:supported-calendar-component-set><c:comp name="VTODO"/></c:supported-calendar-component-set></d:prop></d:set></c:mkcalendar>"#,
            escape(displayname)
        );
        self.request(
            app,
            "MKCALENDAR",
            path,
            &[("Content-Type", XML_TYPE)],
            &body,
        )
    }

    /// PROPPATCH setting `props`, given as XML fragments with the usual prefixes.
    pub fn proppatch(&self, app: &TestApp, path: &str, props: &str) -> Resp {
        let body = format!(
            r#"<?xml version="1.0" encoding="utf-8"?><d:propertyupdate {PREFIXES}><d:set><d:prop>{props}</d:prop></d:set></d:propertyupdate>"#
        );
        self.request(app, "PROPPATCH", path, &[("Content-Type", XML_TYPE)], &body)
    }

    /// A sync-collection REPORT from `token` ("" for an initial sync), answered 207, parsed.
    pub fn sync(&self, app: &TestApp, path: &str, token: &str) -> Multistatus {
        Multistatus::of(&self.report(app, path, "0", &sync_collection(token)))
    }

    /// A calendar-query REPORT with `filter` inside the VTODO comp-filter, answered 207, parsed.
    pub fn query(&self, app: &TestApp, path: &str, filter: &str) -> Multistatus {
        Multistatus::of(&self.report(app, path, "1", &calendar_query(filter)))
    }

    pub fn principal(&self) -> String {
        format!("/dav/principals/{}/", self.id())
    }

    pub fn home(&self) -> String {
        format!("/dav/calendars/{}/", self.id())
    }

    pub fn collection(&self, name: &str) -> String {
        format!("/dav/calendars/{}/{name}/", self.id())
    }

    /// `name` with its `.ics`.
    pub fn object(&self, collection: &str, name: &str) -> String {
        format!("/dav/calendars/{}/{collection}/{name}", self.id())
    }

    /// The object of the task with `uid` under its REST-made name.
    pub fn object_of_uid(&self, collection: &str, uid: &str) -> String {
        self.object(collection, &format!("{uid}.ics"))
    }
}

pub const XML_TYPE: &str = "application/xml; charset=utf-8";

pub fn etag_of(resp: &Resp) -> String {
    resp.header("etag")
        .unwrap_or_else(|| panic!("no ETag: {:?} {}", resp.headers, resp.body))
        .to_string()
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

// ---------------------------------------------------------------------------------------------
// Request bodies.

/// A PROPFIND of prefixed property names (`d:displayname`, `c:calendar-home-set`, ...).
pub fn propfind_body(props: &[&str]) -> String {
    let props: String = props.iter().map(|p| format!("<{p}/>")).collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><d:propfind {PREFIXES}><d:prop>{props}</d:prop></d:propfind>"#
    )
}

/// A calendar-query asking for ETags and data, `filter` inside VCALENDAR > VTODO.
pub fn calendar_query(filter: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><c:calendar-query {PREFIXES}><d:prop><d:getetag/><c:calendar-data/></d:prop><c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VTODO">{filter}</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"#
    )
}

/// A calendar-multiget of `hrefs`, asking for ETags and data.
pub fn calendar_multiget(hrefs: &[&str]) -> String {
    let hrefs: String = hrefs
        .iter()
        .map(|h| format!("<d:href>{}</d:href>", escape(h)))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><c:calendar-multiget {PREFIXES}><d:prop><d:getetag/><c:calendar-data/></d:prop>{hrefs}</c:calendar-multiget>"#
    )
}

/// A sync-collection (RFC 6578) from `token`, level 1, asking for ETags.
pub fn sync_collection(token: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="utf-8"?><d:sync-collection {PREFIXES}><d:sync-token>{}</d:sync-token><d:sync-level>1</d:sync-level><d:prop><d:getetag/></d:prop></d:sync-collection>"#,
        escape(token)
    )
}

// ---------------------------------------------------------------------------------------------
// XML answers: a small tree with resolved namespaces.

#[derive(Debug, Clone, Default)]
pub struct Xml {
    /// The namespace URI ("" when unbound).
    pub ns: String,
    pub name: String,
    pub attrs: Vec<(String, String)>,
    /// The element's own text, entities resolved.
    pub text: String,
    pub children: Vec<Xml>,
}

impl Xml {
    /// The root element of `text`; panics (showing it) when it is not well-formed XML.
    pub fn parse(text: &str) -> Xml {
        let mut reader = NsReader::from_str(text);
        let mut stack = vec![Xml::default()];
        loop {
            let (resolved, event) = reader
                .read_resolved_event()
                .unwrap_or_else(|e| panic!("not XML ({e}): {text}"));
            let ns = match resolved {
                ResolveResult::Bound(ns) => ns.0.to_string(),
                _ => String::new(),
            };
            let top = stack.len() - 1;
            match event {
                Event::Start(e) => stack.push(element(ns, &e)),
                Event::Empty(e) => stack[top].children.push(element(ns, &e)),
                Event::End(_) => {
                    let done = stack.pop().expect("an open element");
                    stack
                        .last_mut()
                        .unwrap_or_else(|| panic!("unbalanced XML: {text}"))
                        .children
                        .push(done);
                }
                Event::Text(t) => stack[top].text.push_str(&t.xml10_content()),
                Event::CData(c) => stack[top].text.push_str(&c.xml10_content()),
                Event::GeneralRef(r) => {
                    let c = match r.resolve_char_ref().expect("a character reference") {
                        Some(c) => c,
                        None => match &*r.xml10_content() {
                            "amp" => '&',
                            "lt" => '<',
                            "gt" => '>',
                            "quot" => '"',
                            "apos" => '\'',
                            other => panic!("unknown entity &{other}; in {text}"),
                        },
                    };
                    stack[top].text.push(c);
                }
                Event::Eof => break,
                _ => {}
            }
        }
        assert_eq!(stack.len(), 1, "unclosed elements in {text}");
        let mut document = stack.pop().unwrap();
        assert_eq!(document.children.len(), 1, "one root element: {text}");
        document.children.pop().unwrap()
    }

    pub fn is(&self, ns: &str, name: &str) -> bool {
        self.ns == ns && self.name == name
    }

    /// The first child `ns:name`.
    pub fn child(&self, ns: &str, name: &str) -> Option<&Xml> {
        self.children.iter().find(|c| c.is(ns, name))
    }

    pub fn children_named<'a>(
        &'a self,
        ns: &'a str,
        name: &'a str,
    ) -> impl Iterator<Item = &'a Xml> {
        self.children.iter().filter(move |c| c.is(ns, name))
    }

    /// Every descendant (or self) `ns:name`.
    pub fn find_all<'a>(&'a self, ns: &str, name: &str) -> Vec<&'a Xml> {
        let mut out = Vec::new();
        self.collect(ns, name, &mut out);
        out
    }

    fn collect<'a>(&'a self, ns: &str, name: &str, out: &mut Vec<&'a Xml>) {
        if self.is(ns, name) {
            out.push(self);
        }
        for c in &self.children {
            c.collect(ns, name, out);
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The text, trimmed.
    pub fn trimmed(&self) -> &str {
        self.text.trim()
    }

    /// The hrefs below this element (e.g. in `current-user-principal`), normalised to paths.
    pub fn hrefs(&self) -> Vec<String> {
        self.find_all(DAV, "href")
            .iter()
            .map(|h| path_of(h.trimmed()))
            .collect()
    }
}

fn element(ns: String, e: &quick_xml::events::BytesStart) -> Xml {
    let attrs = e
        .attributes()
        .map(|a| {
            let a = a.expect("an attribute");
            let name = AsRef::<str>::as_ref(&a.key.local_name()).to_string();
            let value = a
                .normalized_value(XmlVersion::Implicit1_0)
                .expect("an attribute value")
                .into_owned();
            (name, value)
        })
        .collect();
    Xml {
        ns,
        name: AsRef::<str>::as_ref(&e.local_name()).to_string(),
        attrs,
        text: String::new(),
        children: Vec::new(),
    }
}

/// An href as a path: `http://host:port/dav/x/` and `/dav/x/` are the same resource; `%40` is `@`.
pub fn path_of(href: &str) -> String {
    let path = match href.split_once("://") {
        Some((_, rest)) => rest.find('/').map_or("/", |i| &rest[i..]),
        None => href,
    };
    percent_decode(path)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap_or("");
            if let Ok(b) = u8::from_str_radix(hex, 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// `HTTP/1.1 404 Not Found` -> 404.
fn status_code(line: &str) -> u16 {
    line.split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a status line: {line}"))
}

/// One `DAV:response` of a multistatus.
#[derive(Debug, Clone)]
pub struct DavResponse {
    pub href: String,
    /// The response's own `DAV:status` (sync-collection 404s, multiget misses), when it has one.
    pub status: Option<u16>,
    /// The properties under a `200` propstat.
    pub found: Vec<Xml>,
    /// The properties under any other propstat, with that status.
    pub missing: Vec<(u16, Xml)>,
    pub xml: Xml,
}

impl DavResponse {
    fn of(xml: &Xml) -> DavResponse {
        let href = xml
            .child(DAV, "href")
            .unwrap_or_else(|| panic!("a response without href: {xml:?}"))
            .trimmed();
        let mut found = Vec::new();
        let mut missing = Vec::new();
        for propstat in xml.children_named(DAV, "propstat") {
            let status = status_code(
                propstat
                    .child(DAV, "status")
                    .unwrap_or_else(|| panic!("a propstat without status: {xml:?}"))
                    .trimmed(),
            );
            for prop in propstat.children_named(DAV, "prop") {
                for p in &prop.children {
                    if status == 200 {
                        found.push(p.clone());
                    } else {
                        missing.push((status, p.clone()));
                    }
                }
            }
        }
        DavResponse {
            href: path_of(href),
            status: xml.child(DAV, "status").map(|s| status_code(s.trimmed())),
            found,
            missing,
            xml: xml.clone(),
        }
    }

    /// The property `ns:name` found (200), if it was.
    pub fn prop(&self, ns: &str, name: &str) -> Option<&Xml> {
        self.found.iter().find(|p| p.is(ns, name))
    }

    /// The property `ns:name`, which must have been found.
    pub fn must(&self, ns: &str, name: &str) -> &Xml {
        self.prop(ns, name)
            .unwrap_or_else(|| panic!("{} has no {ns}{name}: {:?}", self.href, self.xml))
    }

    /// The trimmed text of a found property.
    pub fn text(&self, ns: &str, name: &str) -> String {
        self.must(ns, name).trimmed().to_string()
    }

    /// The status of a property that was asked for but not found, if it was reported so.
    pub fn missing_status(&self, ns: &str, name: &str) -> Option<u16> {
        self.missing
            .iter()
            .find(|(_, p)| p.is(ns, name))
            .map(|(s, _)| *s)
    }

    pub fn etag(&self) -> String {
        self.text(DAV, "getetag")
    }

    pub fn calendar_data(&self) -> String {
        self.must(CALDAV, "calendar-data").text.clone()
    }

    /// A collection that is a calendar (`resourcetype` holds `collection` and `calendar`).
    pub fn is_calendar(&self) -> bool {
        self.prop(DAV, "resourcetype").is_some_and(|r| {
            r.child(DAV, "collection").is_some() && r.child(CALDAV, "calendar").is_some()
        })
    }

    /// The local names of the privileges in `current-user-privilege-set`.
    pub fn privileges(&self) -> Vec<String> {
        self.must(DAV, "current-user-privilege-set")
            .children_named(DAV, "privilege")
            .flat_map(|p| p.children.iter().map(|c| c.name.clone()))
            .collect()
    }
}

#[derive(Debug)]
pub struct Multistatus {
    pub responses: Vec<DavResponse>,
    /// The multistatus's own `DAV:sync-token` (sync-collection).
    pub sync_token: Option<String>,
    pub body: String,
}

impl Multistatus {
    /// Asserts `207` and a `DAV:multistatus` root, and parses it.
    pub fn of(resp: &Resp) -> Multistatus {
        assert_eq!(resp.status, 207, "{:?}\n{}", resp.headers, resp.body);
        let root = Xml::parse(&resp.body);
        assert!(root.is(DAV, "multistatus"), "{}", resp.body);
        Multistatus {
            responses: root
                .children_named(DAV, "response")
                .map(DavResponse::of)
                .collect(),
            sync_token: root
                .child(DAV, "sync-token")
                .map(|t| t.trimmed().to_string()),
            body: resp.body.clone(),
        }
    }

    pub fn find(&self, href: &str) -> Option<&DavResponse> {
        let href = path_of(href);
        self.responses.iter().find(|r| r.href == href)
    }

    /// The response for `href`, which must be there.
    pub fn get(&self, href: &str) -> &DavResponse {
        self.find(href).unwrap_or_else(|| {
            panic!(
                "no response for {href} in {:?}: {}",
                self.hrefs(),
                self.body
            )
        })
    }

    /// The only response (a depth 0 PROPFIND).
    pub fn one(&self) -> &DavResponse {
        assert_eq!(self.responses.len(), 1, "{}", self.body);
        &self.responses[0]
    }

    /// Every href, sorted.
    pub fn hrefs(&self) -> Vec<String> {
        let mut hrefs: Vec<String> = self.responses.iter().map(|r| r.href.clone()).collect();
        hrefs.sort();
        hrefs
    }

    /// The hrefs of responses that are present (not a `404` response status), sorted.
    pub fn present(&self) -> Vec<String> {
        let mut hrefs: Vec<String> = self
            .responses
            .iter()
            .filter(|r| r.status.is_none_or(|s| s < 300))
            .map(|r| r.href.clone())
            .collect();
        hrefs.sort();
        hrefs
    }

    /// The hrefs answered with a `404` response status, sorted.
    pub fn gone(&self) -> Vec<String> {
        let mut hrefs: Vec<String> = self
            .responses
            .iter()
            .filter(|r| r.status == Some(404))
            .map(|r| r.href.clone())
            .collect();
        hrefs.sort();
        hrefs
    }

    pub fn token(&self) -> String {
        self.sync_token
            .clone()
            .unwrap_or_else(|| panic!("no sync-token: {}", self.body))
    }
}

/// `status`, and a `DAV:error` body holding the precondition `ns:name` (RFC 4918 16, RFC 4791 1.3).
pub fn assert_precondition(resp: &Resp, status: u16, ns: &str, name: &str) {
    assert_eq!(resp.status, status, "{}", resp.body);
    let root = Xml::parse(&resp.body);
    assert!(root.is(DAV, "error"), "not a DAV:error: {}", resp.body);
    assert!(
        root.child(ns, name).is_some(),
        "no {ns}{name} in {}",
        resp.body
    );
}

/// Sorted, for comparing sets of hrefs.
pub fn sorted(items: &[String]) -> Vec<String> {
    let mut items = items.to_vec();
    items.sort();
    items
}

// ---------------------------------------------------------------------------------------------
// iCalendar.

/// A fresh UID.
pub fn new_uid() -> String {
    format!("{}@tests.example.com", uuid::Uuid::new_v4())
}

/// A VCALENDAR holding one VTODO with `uid`, a DTSTAMP and `lines` (raw content lines, which may
/// open and close sub-components such as VALARM), CRLF-terminated.
pub fn vtodo(uid: &str, lines: &[&str]) -> String {
    let mut ics =
        String::from("BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//todo-api tests//EN\r\n");
    ics.push_str("BEGIN:VTODO\r\n");
    ics.push_str(&format!("UID:{uid}\r\nDTSTAMP:20260101T000000Z\r\n"));
    for line in lines {
        ics.push_str(line);
        ics.push_str("\r\n");
    }
    ics.push_str("END:VTODO\r\nEND:VCALENDAR\r\n");
    ics
}

/// Content lines, unfolded (RFC 5545 3.1), CRLF or LF.
pub fn unfold(ics: &str) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    for raw in ics.split('\n') {
        let raw = raw.strip_suffix('\r').unwrap_or(raw);
        if let Some(rest) = raw.strip_prefix([' ', '\t']) {
            if let Some(last) = lines.last_mut() {
                last.push_str(rest);
                continue;
            }
        }
        if !raw.is_empty() {
            lines.push(raw.to_string());
        }
    }
    lines
}

/// The name of a content line (before the first `;` or `:`), upper-cased.
fn line_name(line: &str) -> String {
    line.split([';', ':'])
        .next()
        .unwrap_or_default()
        .to_ascii_uppercase()
}

/// The value of a content line: after the first `:` outside a quoted parameter value.
pub fn line_value(line: &str) -> &str {
    let mut quoted = false;
    for (i, c) in line.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ':' if !quoted => return &line[i + 1..],
            _ => {}
        }
    }
    ""
}

/// The unfolded lines that belong to the first VTODO itself (not to its VALARMs).
pub fn vtodo_lines(ics: &str) -> Vec<String> {
    let mut depth = Vec::new();
    let mut out = Vec::new();
    let mut seen = false;
    for line in unfold(ics) {
        let name = line_name(&line);
        if name == "BEGIN" {
            depth.push(line_value(&line).to_ascii_uppercase());
            continue;
        }
        if name == "END" {
            if depth.last().map(String::as_str) == Some("VTODO") {
                seen = true;
            }
            depth.pop();
            continue;
        }
        if !seen && depth == ["VCALENDAR", "VTODO"] {
            out.push(line);
        }
    }
    assert!(seen, "no VTODO in {ics}");
    out
}

/// The whole unfolded line of the VTODO's property `name` (parameters included), if it has one.
pub fn vtodo_line(ics: &str, name: &str) -> Option<String> {
    let name = name.to_ascii_uppercase();
    vtodo_lines(ics).into_iter().find(|l| line_name(l) == name)
}

/// The raw (still escaped) value of the VTODO's property `name`.
pub fn vtodo_value(ics: &str, name: &str) -> Option<String> {
    vtodo_line(ics, name).map(|l| line_value(&l).to_string())
}

/// Does the unfolded text have `line` exactly, as one content line?
pub fn has_line(ics: &str, line: &str) -> bool {
    unfold(ics).iter().any(|l| l == line)
}

// ---------------------------------------------------------------------------------------------
// The same data over REST.

/// The REST task with `uid`, if `user` sees one.
pub fn rest_task_by_uid(app: &TestApp, user: &User, uid: &str) -> Option<Value> {
    let resp = app.get(&format!("/api/{}/tasks", user.id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    let all = resp.json();
    let found: Vec<Value> = all
        .as_array()
        .expect("an array")
        .iter()
        .filter(|t| t["uid"] == uid)
        .cloned()
        .collect();
    assert!(found.len() <= 1, "two tasks with one uid: {found:?}");
    found.into_iter().next()
}

/// The REST task with `uid`, which must exist.
pub fn rest_task(app: &TestApp, user: &User, uid: &str) -> Value {
    rest_task_by_uid(app, user, uid).unwrap_or_else(|| panic!("no REST task with uid {uid}"))
}

/// `GET /api/{user}/tasks/{id}`: (status, task JSON or null, ETag header or "").
pub fn rest_get(app: &TestApp, user: &User, id: i64) -> (u16, Value, String) {
    let resp = app.get(&format!("/api/{}/tasks/{id}", user.id), Some(&user.token));
    let etag = resp.header("etag").unwrap_or_default().to_string();
    let body = if resp.status == 200 {
        resp.json()
    } else {
        Value::Null
    };
    (resp.status, body, etag)
}

/// `PUT /api/{user}/tasks/{id}` with `body`, asserting 200.
pub fn rest_put(app: &TestApp, user: &User, task: &Value, body: Value) -> Value {
    let resp = app.send(
        "PUT",
        &format!("/api/{}/tasks/{}", user.id, id_of(task)),
        Some(&user.token),
        Some(body),
    );
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json()
}

/// How many tasks `user` sees over REST.
pub fn rest_count(app: &TestApp, user: &User) -> usize {
    let resp = app.get(&format!("/api/{}/tasks", user.id), Some(&user.token));
    assert_eq!(resp.status, 200, "{}", resp.body);
    resp.json().as_array().expect("an array").len()
}

/// A refused PROPPATCH: `403` outright, or (RFC 4918 9.2) a `207` whose every property failed
/// with `403` and none was set.
pub fn assert_proppatch_refused(resp: &Resp, what: &str) {
    if resp.status == 207 {
        let answer = Multistatus::of(resp);
        let r = answer.one();
        assert!(
            r.found.is_empty(),
            "{what}: a property was set: {}",
            resp.body
        );
        assert!(
            !r.missing.is_empty() && r.missing.iter().all(|(s, _)| *s == 403),
            "{what}: {}",
            resp.body
        );
    } else {
        assert_eq!(resp.status, 403, "{what}: {}", resp.body);
    }
}
