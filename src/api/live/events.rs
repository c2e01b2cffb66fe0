//! Live events: `POST /api/{user_id}/events/ticket` and `GET /api/{user_id}/events?ticket=`, a
//! `text/event-stream` of the user's task changes through any instance. The stream's first bytes
//! (the replay after `Last-Event-ID`) are this handler's answer; the rest comes from the
//! listener. An open stream is a parked connection: it holds no worker and no thread.

use super::hub::{self, Reservation};
use crate::api::cursor::SyncCursor;
use crate::api::path::Path;
use crate::api::sync::CURSOR_EXPIRED;
use crate::api::App;
use crate::auth::caller::Caller;
use crate::db;
use crate::db::changes::{self, Mark, Reader};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::json;
use sha2::{Digest, Sha256};
use uuid::Uuid;

pub const TICKET_SECONDS: i64 = 60;
const TOO_MANY: &str = "Too many event streams for this user";
/// Rows read per round trip while replaying.
const PAGE: i64 = 1000;

fn digest(ticket: &str) -> Vec<u8> {
    Sha256::digest(ticket.as_bytes()).to_vec()
}

/// `POST /api/{user_id}/events/ticket`: a one-use ticket, valid for 60 seconds.
pub fn ticket(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    {
        let mut raw = [0u8; 32];
        raw[..16].copy_from_slice(Uuid::new_v4().as_bytes());
        raw[16..].copy_from_slice(Uuid::new_v4().as_bytes());
        let ticket = URL_SAFE_NO_PAD.encode(raw);
        if !db::events::issue(conn, me, &digest(&ticket), TICKET_SECONDS)? {
            return Err(ApiError::InvalidToken);
        }
        Ok(Response::json(
            201,
            &json!({ "ticket": ticket, "expires_in": TICKET_SECONDS }),
        ))
    }
}

/// `GET /api/{user_id}/events?ticket=`.
pub fn stream(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let user = path.user.flatten().ok_or(ApiError::InvalidTicket)?;
    let ticket = req.query_param("ticket").ok_or(ApiError::InvalidTicket)?;
    let mut conn = app.db()?;
    let session =
        db::events::redeem(&mut conn, user, &digest(&ticket))?.ok_or(ApiError::InvalidTicket)?;
    let place: Reservation = app
        .hub
        .reserve(user, session)
        .ok_or(ApiError::TooMany(TOO_MANY, 5))?;
    let mut body = String::from("retry: 2000\n\n");
    let resume = req.header("last-event-id").filter(|id| !id.is_empty());
    let sent = match resume.map(|id| app.cursors.decode_change(user, id)) {
        Some(Some(SyncCursor::At(since))) => replay(app, &mut conn, user, since, &mut body)?,
        Some(_) => resync(app, &mut conn, user, &mut body)?,
        None => changes::latest(&mut conn, user)?.ok_or(ApiError::InvalidTicket)?,
    };
    let mut resp = Response::json_bytes(200, body.into_bytes());
    resp.content_type = "text/event-stream";
    resp.stream = Some(place.open(sent));
    Ok(resp.with_header("X-Accel-Buffering", "no"))
}

/// Appends every change after `since` to `body`; returns the position reached.
fn replay(
    app: &App,
    conn: &mut db::Conn,
    user: Uuid,
    since: Mark,
    body: &mut String,
) -> ApiResult<Mark> {
    let mut at = since.clone();
    loop {
        let from = at.clone();
        let feed = changes::feed(conn, Reader::Instance(user), Some(&from), PAGE)?
            .ok_or(ApiError::InvalidTicket)?;
        if feed.expired(&since) {
            return resync(app, conn, user, body);
        }
        let reach = feed.reach(&from, PAGE);
        body.push_str(&hub::events(
            &app.cursors,
            user,
            &feed,
            &since,
            &reach,
            &mut at,
        ));
        if !feed.stopped_short(PAGE) {
            return Ok(at);
        }
    }
}

/// The client's `Last-Event-ID` cannot be served (expired, or not ours): it must fetch the full
/// list again; the stream goes on from now.
fn resync(app: &App, conn: &mut db::Conn, user: Uuid, body: &mut String) -> ApiResult<Mark> {
    let latest = changes::latest(conn, user)?.ok_or(ApiError::InvalidTicket)?;
    let cursor = app.cursors.encode_change(user, &latest);
    let data = json!({ "detail": CURSOR_EXPIRED, "cursor": cursor });
    body.push_str(&format!("event: resync\nid: {cursor}\ndata: {data}\n\n"));
    Ok(latest)
}
