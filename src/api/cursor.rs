//! Opaque page cursors: the keyset `(created_at, id)` of the last task returned, signed with HMAC so a
//! changed cursor is a 400, and bound to its user.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

pub struct Cursors {
    key: Vec<u8>,
}

impl Cursors {
    pub fn new(secret: &[u8]) -> Cursors {
        let mut key = b"todo-api cursor ".to_vec();
        key.extend_from_slice(secret);
        Cursors { key }
    }

    fn tag(&self, user: Uuid, payload: &[u8]) -> [u8; 16] {
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(user.as_bytes());
        mac.update(payload);
        let mut tag = [0u8; 16];
        tag.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        tag
    }

    pub fn encode(&self, user: Uuid, created_at: DateTime<Utc>, id: i64) -> String {
        let mut bytes = Vec::with_capacity(32);
        bytes.extend_from_slice(&created_at.timestamp_micros().to_be_bytes());
        bytes.extend_from_slice(&id.to_be_bytes());
        let tag = self.tag(user, &bytes);
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A sync cursor: the change number a client has every change up to. Its MAC covers a
    /// different prefix than a page cursor's, so one can never pass for the other.
    pub fn encode_change(&self, user: Uuid, change_no: i64) -> String {
        let mut bytes = Vec::with_capacity(24);
        bytes.extend_from_slice(&change_no.to_be_bytes());
        let tag = self.tag(user, &[b"change:".as_slice(), &bytes].concat());
        bytes.extend_from_slice(&tag);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    pub fn decode_change(&self, user: Uuid, cursor: &str) -> Option<i64> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        if bytes.len() != 24 {
            return None;
        }
        let (payload, tag) = bytes.split_at(8);
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(user.as_bytes());
        mac.update(b"change:");
        mac.update(payload);
        mac.verify_truncated_left(tag).ok()?;
        Some(i64::from_be_bytes(payload.try_into().ok()?)).filter(|n| *n >= 0)
    }

    pub fn decode(&self, user: Uuid, cursor: &str) -> Option<(DateTime<Utc>, i64)> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        if bytes.len() != 32 {
            return None;
        }
        let (payload, tag) = bytes.split_at(16);
        let mut mac = HmacSha256::new_from_slice(&self.key).ok()?;
        mac.update(user.as_bytes());
        mac.update(payload);
        mac.verify_truncated_left(tag).ok()?;
        let micros = i64::from_be_bytes(payload[..8].try_into().ok()?);
        let id = i64::from_be_bytes(payload[8..].try_into().ok()?);
        Some((DateTime::from_timestamp_micros(micros)?, id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_changed_one_is_refused() {
        let cursors = Cursors::new(b"secret");
        let user = Uuid::new_v4();
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let c = cursors.encode(user, at, 42);
        assert_eq!(cursors.decode(user, &c), Some((at, 42)));
        assert_eq!(cursors.decode(Uuid::new_v4(), &c), None);
        let mut changed = c.clone().into_bytes();
        changed[3] = if changed[3] == b'A' { b'B' } else { b'A' };
        assert_eq!(
            cursors.decode(user, std::str::from_utf8(&changed).unwrap()),
            None
        );
    }

    #[test]
    fn a_sync_cursor_round_trips_for_its_user_only() {
        let cursors = Cursors::new(b"secret");
        let user = Uuid::new_v4();
        let c = cursors.encode_change(user, 7);
        assert_eq!(cursors.decode_change(user, &c), Some(7));
        assert_eq!(cursors.decode_change(Uuid::new_v4(), &c), None);
        assert_eq!(cursors.decode(user, &c), None);
        let page = cursors.encode(user, DateTime::from_timestamp_micros(1).unwrap(), 1);
        assert_eq!(cursors.decode_change(user, &page), None);
    }
}
