//! Opaque page cursors: where the last page ended (its sort key) and a digest of the query that
//! produced it (sort and filters), signed with HMAC for one user. A changed cursor is refused; a
//! genuine one sent with another sort or other filters is told apart, so the client hears why.

use crate::db::changes::Mark;
use crate::db::task_list::Position;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;

type HmacSha256 = Hmac<Sha256>;

const VERSION: u8 = 2;
const TAG_LEN: usize = 16;
/// Of a sync cursor: a change cursor's first byte.
const CHANGE_VERSION: u8 = 3;

pub struct Cursors {
    key: Vec<u8>,
}

/// A sync cursor we gave.
#[derive(Debug, PartialEq, Eq)]
pub enum SyncCursor {
    At(Mark),
    /// It can no longer be served: the client reads everything again (410).
    Expired,
}

#[derive(Debug, PartialEq, Eq)]
pub enum CursorError {
    /// Not one of ours, changed, or another user's.
    Invalid,
    /// Ours, but for another sort or other filters.
    OtherQuery,
}

/// The first bytes of SHA-256 over the canonical text of a query's sort and filters.
pub fn digest(query: &str) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&Sha256::digest(query.as_bytes())[..8]);
    out
}

impl Cursors {
    pub fn new(secret: &[u8]) -> Cursors {
        let mut key = b"todo-api cursor ".to_vec();
        key.extend_from_slice(secret);
        Cursors { key }
    }

    fn mac(&self, user: Uuid, payload: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
        mac.update(user.as_bytes());
        mac.update(payload);
        mac
    }

    pub fn encode(&self, user: Uuid, query: [u8; 8], position: &Position) -> String {
        let mut bytes = Vec::with_capacity(64);
        bytes.push(VERSION);
        bytes.extend_from_slice(&query);
        write_position(&mut bytes, position);
        let tag = self.mac(user, &bytes).finalize().into_bytes();
        bytes.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(bytes)
    }

    /// A sync cursor: the member's number and each list's up to which a client has every change.
    /// Its MAC covers a different prefix than a page cursor's, so one can never pass for the
    /// other.
    pub fn encode_change(&self, user: Uuid, mark: &Mark) -> String {
        let mut payload = Vec::with_capacity(9 + mark.lists.len() * 24 + TAG_LEN);
        payload.push(CHANGE_VERSION);
        payload.extend_from_slice(&mark.user.to_be_bytes());
        for (list, n) in &mark.lists {
            payload.extend_from_slice(list.as_bytes());
            payload.extend_from_slice(&n.to_be_bytes());
        }
        let tag = self.change_mac(user, &payload).finalize().into_bytes();
        payload.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(payload)
    }

    pub fn decode_change(&self, user: Uuid, cursor: &str) -> Option<SyncCursor> {
        let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
        let split = bytes.len().checked_sub(TAG_LEN)?;
        let (payload, tag) = bytes.split_at(split);
        self.change_mac(user, payload)
            .verify_truncated_left(tag)
            .ok()?;
        // Ours from before lists were numbered each (one number per user): no longer servable.
        if payload.len() == 8 {
            return Some(SyncCursor::Expired);
        }
        let (&version, rest) = payload.split_first()?;
        if version != CHANGE_VERSION || rest.len() < 8 || (rest.len() - 8) % 24 != 0 {
            return None;
        }
        let number = |b: &[u8]| i64::from_be_bytes(b.try_into().unwrap_or_default());
        let lists = rest[8..].chunks_exact(24).map(|c| {
            (
                Uuid::from_slice(&c[..16]).unwrap_or_default(),
                number(&c[16..]),
            )
        });
        Some(SyncCursor::At(Mark::new(number(&rest[..8]), lists)))
    }

    fn change_mac(&self, user: Uuid, payload: &[u8]) -> HmacSha256 {
        self.mac(user, &[b"change:".as_slice(), payload].concat())
    }

    pub fn decode(
        &self,
        user: Uuid,
        query: [u8; 8],
        cursor: &str,
    ) -> Result<Position, CursorError> {
        let bytes = URL_SAFE_NO_PAD
            .decode(cursor)
            .map_err(|_| CursorError::Invalid)?;
        let split = bytes
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(CursorError::Invalid)?;
        let (payload, tag) = bytes.split_at(split);
        self.mac(user, payload)
            .verify_truncated_left(tag)
            .map_err(|_| CursorError::Invalid)?;
        let (&version, rest) = payload.split_first().ok_or(CursorError::Invalid)?;
        if version != VERSION || rest.len() < 8 {
            return Err(CursorError::Invalid);
        }
        let (digest, rest) = rest.split_at(8);
        if digest != query {
            return Err(CursorError::OtherQuery);
        }
        read_position(rest).ok_or(CursorError::Invalid)
    }
}

fn micros(t: &DateTime<Utc>) -> [u8; 8] {
    t.timestamp_micros().to_be_bytes()
}

fn write_position(out: &mut Vec<u8>, position: &Position) {
    match position {
        Position::CreatedDesc(at, id) => {
            out.push(0);
            out.extend(id.to_be_bytes().into_iter().chain(micros(at)));
        }
        Position::CreatedAsc(at, id) => {
            out.push(1);
            out.extend(id.to_be_bytes().into_iter().chain(micros(at)));
        }
        Position::DueAsc(due, id) => {
            out.push(2);
            out.extend(id.to_be_bytes());
            if let Some(due) = due {
                out.extend(micros(due));
            }
        }
        Position::PriorityDesc(rank, at, id) => {
            out.push(3);
            out.extend(id.to_be_bytes().into_iter().chain(micros(at)));
            out.extend(rank.to_be_bytes());
        }
        Position::TitleAsc(key, id) => {
            out.push(4);
            out.extend(id.to_be_bytes());
            out.extend_from_slice(key.as_bytes());
        }
        Position::UpdatedDesc(at, id) => {
            out.push(5);
            out.extend(id.to_be_bytes().into_iter().chain(micros(at)));
        }
    }
}

/// Only ever reads what `write_position` wrote (the signature was checked first), but still never
/// trusts a length.
fn read_position(bytes: &[u8]) -> Option<Position> {
    let (&kind, rest) = bytes.split_first()?;
    let id = i64::from_be_bytes(rest.get(..8)?.try_into().ok()?);
    let rest = &rest[8..];
    let time = |b: &[u8]| -> Option<DateTime<Utc>> {
        DateTime::from_timestamp_micros(i64::from_be_bytes(b.get(..8)?.try_into().ok()?))
    };
    let exact = |n: usize| (rest.len() == n).then_some(());
    Some(match kind {
        0 => exact(8)
            .and(time(rest))
            .map(|at| Position::CreatedDesc(at, id))?,
        1 => exact(8)
            .and(time(rest))
            .map(|at| Position::CreatedAsc(at, id))?,
        2 if rest.is_empty() => Position::DueAsc(None, id),
        2 => exact(8)
            .and(time(rest))
            .map(|at| Position::DueAsc(Some(at), id))?,
        3 => {
            exact(10)?;
            let rank = i16::from_be_bytes(rest.get(8..10)?.try_into().ok()?);
            Position::PriorityDesc(rank, time(rest)?, id)
        }
        4 => Position::TitleAsc(String::from_utf8(rest.to_vec()).ok()?, id),
        5 => exact(8)
            .and(time(rest))
            .map(|at| Position::UpdatedDesc(at, id))?,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_and_a_changed_one_is_refused() {
        let cursors = Cursors::new(b"secret");
        let user = Uuid::new_v4();
        let at = DateTime::from_timestamp_micros(1_700_000_000_123_456).unwrap();
        let query = digest("sort=created_desc");
        for position in [
            Position::CreatedDesc(at, 42),
            Position::CreatedAsc(at, 1),
            Position::DueAsc(None, 7),
            Position::DueAsc(Some(at), 7),
            Position::PriorityDesc(3, at, 9),
            Position::TitleAsc("ärger mit dem amt".into(), 11),
            Position::TitleAsc(String::new(), 12),
            Position::UpdatedDesc(at, i64::MAX),
        ] {
            let c = cursors.encode(user, query, &position);
            assert_eq!(cursors.decode(user, query, &c), Ok(position));
            assert_eq!(
                cursors.decode(Uuid::new_v4(), query, &c),
                Err(CursorError::Invalid)
            );
            assert_eq!(
                cursors.decode(user, digest("sort=title_asc"), &c),
                Err(CursorError::OtherQuery)
            );
        }
        let c = cursors.encode(user, query, &Position::CreatedDesc(at, 42));
        let mut changed = c.clone().into_bytes();
        changed[3] = if changed[3] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        assert_eq!(
            cursors.decode(user, query, &changed),
            Err(CursorError::Invalid)
        );
        assert_eq!(cursors.decode(user, query, ""), Err(CursorError::Invalid));
        assert_eq!(cursors.decode(user, query, "%%"), Err(CursorError::Invalid));
    }

    #[test]
    fn a_sync_cursor_round_trips_its_lists_and_one_of_the_old_one_number_form_is_expired() {
        let cursors = Cursors::new(b"secret");
        let user = Uuid::new_v4();
        let lists = [
            (Uuid::new_v4(), 7),
            (Uuid::new_v4(), 0),
            (Uuid::new_v4(), i64::MAX),
        ];
        for mark in [Mark::new(3, []), Mark::new(0, lists)] {
            let c = cursors.encode_change(user, &mark);
            assert_eq!(cursors.decode_change(user, &c), Some(SyncCursor::At(mark)));
            assert_eq!(cursors.decode_change(Uuid::new_v4(), &c), None);
            let mut changed = c.into_bytes();
            changed[4] = if changed[4] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(changed).unwrap();
            assert_eq!(cursors.decode_change(user, &changed), None);
        }
        // As the version before per-list numbers wrote it: the number, then the tag.
        let payload = 42i64.to_be_bytes();
        let mut old = payload.to_vec();
        old.extend_from_slice(&cursors.change_mac(user, &payload).finalize().into_bytes()[..16]);
        let old = URL_SAFE_NO_PAD.encode(old);
        assert_eq!(cursors.decode_change(user, &old), Some(SyncCursor::Expired));
        assert_eq!(cursors.decode_change(user, ""), None);
    }
}
