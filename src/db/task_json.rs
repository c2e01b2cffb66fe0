//! A task's JSON, written straight from the row PostgreSQL sent: field names as literal bytes,
//! strings escaped once into the output, timestamps formatted without chrono. A list of 10,000
//! tasks is written this way as its rows arrive, with no struct or `serde` tree in between.

use super::tasks::TaskRow;
use super::{DbResult, PgMicros};
use crate::domain::Priority;
use std::io::Write;
use uuid::Uuid;

impl TaskRow {
    /// Appends `{"id":..,"user_id":..,...}` to `out`.
    pub fn write_json(&self, out: &mut Vec<u8>) -> DbResult<()> {
        let r = self.row();
        out.extend_from_slice(b"{\"id\":");
        let _ = write!(out, "{}", r.try_get::<_, i64>(0)?);
        out.extend_from_slice(b",\"user_id\":");
        uuid(out, Some(r.try_get(1)?));
        out.extend_from_slice(b",\"title\":");
        string(out, r.try_get(2)?);
        out.extend_from_slice(b",\"description\":");
        match r.try_get::<_, Option<&str>>(3)? {
            Some(d) => string(out, d),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(if r.try_get(4)? {
            b",\"completed\":true"
        } else {
            b",\"completed\":false"
        });
        out.extend_from_slice(b",\"created_at\":");
        timestamp(out, Some(r.try_get(5)?));
        out.extend_from_slice(b",\"updated_at\":");
        timestamp(out, Some(r.try_get(6)?));
        // The table's CHECK holds the rank to 0..=3.
        let priority = Priority::from_rank(r.try_get(7)?).unwrap_or(Priority::None);
        out.extend_from_slice(b",\"priority\":\"");
        out.extend_from_slice(priority.as_str().as_bytes());
        out.extend_from_slice(b"\",\"due_at\":");
        timestamp(out, r.try_get(8)?);
        out.extend_from_slice(b",\"tags\":[");
        for (i, tag) in r.try_get::<_, Vec<&str>>(9)?.into_iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            string(out, tag);
        }
        out.extend_from_slice(b"],\"completed_at\":");
        timestamp(out, r.try_get(10)?);
        out.extend_from_slice(b",\"list_id\":");
        uuid(out, Some(r.try_get(11)?));
        // The creator: what part 1 calls `user_id`.
        out.extend_from_slice(b",\"created_by\":");
        uuid(out, Some(r.try_get(1)?));
        out.extend_from_slice(b",\"assignee_id\":");
        uuid(out, r.try_get(12)?);
        out.extend_from_slice(b",\"uid\":");
        string(out, r.try_get(13)?);
        out.extend_from_slice(b",\"parent_id\":");
        match r.try_get::<_, Option<i64>>(14)? {
            Some(id) => {
                let _ = write!(out, "{id}");
            }
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"recurrence\":");
        match r.try_get::<_, Option<&str>>(15)? {
            Some(rule) => string(out, rule),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"timezone\":");
        string(out, r.try_get(16)?);
        out.extend_from_slice(b",\"last_completed_at\":");
        timestamp(out, r.try_get(17)?);
        out.push(b'}');
        Ok(())
    }

    pub fn to_json(&self) -> DbResult<Vec<u8>> {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out)?;
        Ok(out)
    }
}

/// For the few places that build a task into a larger JSON value (the changes feed, events): the
/// same bytes as `write_json`, read back as a value.
impl serde::Serialize for TaskRow {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error;
        let bytes = self.to_json().map_err(S::Error::custom)?;
        let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(S::Error::custom)?;
        value.serialize(s)
    }
}

fn uuid(out: &mut Vec<u8>, id: Option<Uuid>) {
    match id {
        Some(id) => {
            let mut buf = Uuid::encode_buffer();
            out.push(b'"');
            out.extend_from_slice(id.hyphenated().encode_lower(&mut buf).as_bytes());
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

fn timestamp(out: &mut Vec<u8>, t: Option<PgMicros>) {
    match t {
        Some(t) => {
            out.push(b'"');
            t.write(out);
            out.push(b'"');
        }
        None => out.extend_from_slice(b"null"),
    }
}

/// A JSON string: `"` and `\` escaped, control characters as `\u00XX` (or their short forms).
fn string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0..=0x1f => b"",
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        if escape.is_empty() {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 0xf)]);
        } else {
            out.extend_from_slice(escape);
        }
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::string;

    #[test]
    fn strings_are_escaped_as_serde_json_reads_them_back() {
        for s in [
            "plain",
            "quote \" and \\ slash",
            "line\nfeed\r\ttab",
            "\u{1}\u{1f}\u{7f}",
            "ärger ✓ 🦀",
            "",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            let back: String = serde_json::from_slice(&out).unwrap();
            assert_eq!(back, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap());
        }
    }
}
