//! `Idempotency-Key` on `POST /api/{user_id}/tasks`: the first answer is kept (in PostgreSQL, so
//! every instance sees it) and a retry gets it again instead of a second task.

use crate::auth::caller::Caller;
use crate::db::{self, idempotency, idempotency::Stored};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use sha2::{Digest, Sha256};

const KEY_INVALID: &str = "Idempotency-Key must be 1 to 255 visible ASCII characters";
const IN_FLIGHT: &str = "A request with this Idempotency-Key is still being processed";
const REUSED: &str = "Idempotency-Key was used with a different request";

/// The header's key, if sent: 1 to 255 visible ASCII characters, else 400.
pub fn key(req: &Request) -> ApiResult<Option<&str>> {
    let Some(key) = req.header("idempotency-key") else {
        return Ok(None);
    };
    if key.is_empty() || key.len() > 255 || !key.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(KEY_INVALID));
    }
    Ok(Some(key))
}

/// The request as far as "the same request" goes: its JSON, whatever the spacing or key order.
fn fingerprint(req: &Request) -> Vec<u8> {
    let canonical = serde_json::from_slice::<serde_json::Value>(&req.body)
        .ok()
        .and_then(|v| serde_json::to_vec(&v).ok())
        .unwrap_or_else(|| req.body.clone());
    Sha256::digest(canonical).to_vec()
}

/// Runs `work` once per key. The key's advisory lock is held for the transaction that runs it and
/// keeps its answer, so a concurrent retry is a 409, a later one a replay, and an answer that
/// was never kept means that nothing was created (they commit together).
pub fn once(
    conn: &mut db::Conn,
    me: &Caller,
    key: &str,
    req: &Request,
    work: impl FnOnce(&mut db::Conn) -> ApiResult<Response>,
) -> ApiResult<Response> {
    db::transaction(conn, |conn| {
        if !idempotency::lock(conn, me.user, key)? {
            return Err(ApiError::Conflict(IN_FLIGHT));
        }
        let request_hash = fingerprint(req);
        if let Some(kept) = idempotency::find(conn, me, key)? {
            if kept.request_hash != request_hash {
                return Err(ApiError::Unprocessable(REUSED));
            }
            let mut resp = Response::json_bytes(kept.status as u16, kept.body);
            if let Some(etag) = kept.etag {
                resp = resp.with_header("ETag", etag);
            }
            return Ok(resp.with_header("Idempotent-Replayed", "true"));
        }
        let resp = work(conn)?;
        let answer = Stored {
            request_hash,
            status: resp.status as i16,
            body: resp.body.clone(),
            etag: resp.header("etag").map(str::to_string),
        };
        idempotency::store(conn, me.user, key, &answer)?;
        Ok(resp)
    })
}
