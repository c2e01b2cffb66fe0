//! What a `/dav/...` path names, and the paths we write back (percent-encoded).

use uuid::Uuid;

/// A resource of the CalDAV tree.
#[derive(Debug, PartialEq, Eq)]
pub enum Target {
    /// `/dav/`: where discovery starts.
    Root,
    Principal(Uuid),
    /// `/dav/calendars/{user}/`: one collection per list.
    Home(Uuid),
    /// `/dav/calendars/{user}/{collection}/`.
    Collection(Uuid, String),
    /// `/dav/calendars/{user}/{collection}/{object}`.
    Object(Uuid, String, String),
}

impl Target {
    /// `None` for a path outside the tree (a 404); a user segment that is no UUID is one too.
    pub fn parse(path: &str) -> Option<Target> {
        // Clients given the server's bare address ask its root for the principal.
        if path == "/" {
            return Some(Target::Root);
        }
        let rest = path.strip_prefix("/dav")?;
        let segments: Vec<String> = rest
            .split('/')
            .filter(|s| !s.is_empty())
            .map(decode)
            .collect::<Option<_>>()?;
        let user = |s: &str| Uuid::parse_str(s).ok();
        let names: Vec<&str> = segments.iter().map(String::as_str).collect();
        Some(match names.as_slice() {
            [] => Target::Root,
            ["principals", u] => Target::Principal(user(u)?),
            ["calendars", u] => Target::Home(user(u)?),
            ["calendars", u, c] => Target::Collection(user(u)?, c.to_string()),
            ["calendars", u, c, o] => Target::Object(user(u)?, c.to_string(), o.to_string()),
            _ => return None,
        })
    }

    /// The user the path belongs to (none for the root).
    pub fn user(&self) -> Option<Uuid> {
        match self {
            Target::Root => None,
            Target::Principal(u) | Target::Home(u) => Some(*u),
            Target::Collection(u, _) | Target::Object(u, _, _) => Some(*u),
        }
    }
}

pub const ROOT: &str = "/dav/";

pub fn principal(user: Uuid) -> String {
    format!("/dav/principals/{user}/")
}

pub fn home(user: Uuid) -> String {
    format!("/dav/calendars/{user}/")
}

pub fn collection(user: Uuid, name: &str) -> String {
    format!("/dav/calendars/{user}/{}/", encode(name))
}

pub fn object(user: Uuid, collection_name: &str, name: &str) -> String {
    format!(
        "/dav/calendars/{user}/{}/{}",
        encode(collection_name),
        encode(name)
    )
}

/// The path of an `href` a client sent (maybe a whole URL), for [`Target::parse`].
pub fn path_of(href: &str) -> &str {
    let href = href.trim();
    match href.find("://") {
        Some(scheme) => {
            let after = &href[scheme + 3..];
            after.find('/').map_or("/", |slash| &after[slash..])
        }
        None => href,
    }
}

/// Percent-decoding of one path segment; `None` for a malformed escape or a name that is not
/// UTF-8, or one with a slash or a control character in it.
fn decode(segment: &str) -> Option<String> {
    let bytes = segment.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = segment.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    let name = String::from_utf8(out).ok()?;
    (!name.contains('/') && !name.chars().any(char::is_control)).then_some(name)
}

/// Percent-encoding of a name for a path segment: everything but RFC 3986's unreserved
/// characters and a few sub-delimiters clients write unencoded.
fn encode(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for b in name.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' | b'+' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_the_tree_with_names_decoded() {
        let u = Uuid::new_v4();
        assert_eq!(Target::parse("/dav"), Some(Target::Root));
        assert_eq!(Target::parse("/dav/"), Some(Target::Root));
        assert_eq!(
            Target::parse(&format!("/dav/principals/{u}/")),
            Some(Target::Principal(u))
        );
        assert_eq!(
            Target::parse(&format!("/dav/calendars/{u}/my%20list/a%40b.ics")),
            Some(Target::Object(u, "my list".into(), "a@b.ics".into()))
        );
        assert_eq!(Target::parse("/dav/calendars/not-a-user/"), None);
        assert_eq!(Target::parse(&format!("/dav/calendars/{u}/a%2Fb/")), None);
        assert_eq!(Target::parse(&format!("/dav/calendars/{u}/a%zz/")), None);
        assert_eq!(Target::parse("/davx"), None);
    }

    #[test]
    fn names_written_back_read_back_the_same() {
        let u = Uuid::new_v4();
        let href = object(u, "Home & work", "ä b/c.ics");
        assert!(href.is_ascii());
        assert_eq!(Target::parse(&href), None, "a slash in a name is refused");
        let href = object(u, "Home & work", "ä b.ics");
        assert_eq!(
            Target::parse(&href),
            Some(Target::Object(u, "Home & work".into(), "ä b.ics".into()))
        );
    }

    #[test]
    fn an_href_may_be_a_whole_url() {
        assert_eq!(path_of("https://h:1/dav/x/"), "/dav/x/");
        assert_eq!(path_of(" /dav/x "), "/dav/x");
    }
}
