//! Sync: entity tags on tasks and lists (`ETag`, `If-Match`, `If-None-Match`) and the changes
//! feed `GET /api/{user_id}/changes` for clients that were offline.

use super::cursor::SyncCursor;
use super::input::invalid;
use super::path::Path;
use super::App;
use crate::auth::caller::Caller;
use crate::db::changes::{self, Item, Reader};
use crate::db::tasks::TaskRow;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use chrono::{DateTime, Utc};
use serde_json::json;

pub const FEED_LIMIT_DEFAULT: i64 = 500;
pub const FEED_LIMIT_MAX: i64 = 1000;
pub const CURSOR_EXPIRED: &str = "Sync cursor expired; fetch the full list again";

/// A task's tag names its id and `updated_at`, which every write moves forward (by at least a
/// microsecond), so the tag changes whenever the task does, and a write can compare it in SQL.
pub fn task_etag(task: &TaskRow) -> ApiResult<String> {
    Ok(etag(task.id()?, task.updated_at()?))
}

/// The tag itself: CalDAV's `ETag` of a task is this very value.
pub fn etag(id: i64, updated_at: DateTime<Utc>) -> String {
    format!("\"{:x}-{:x}\"", id, updated_at.timestamp_micros() as u64)
}

/// The task's JSON with its `ETag`.
pub fn task_response(status: u16, task: &TaskRow) -> ApiResult<Response> {
    Ok(Response::json_bytes(status, task.to_json()?).with_header("ETag", task_etag(task)?))
}

/// The `updated_at` values that `If-Match` accepts for task `id`: `None` for no header or `*`
/// (any version), otherwise those of the listed tags that name this task (maybe none: then
/// nothing matches and the write is a 412).
pub fn if_match(req: &Request, id: i64) -> Option<Vec<DateTime<Utc>>> {
    // An empty header names no tag at all: read as no precondition rather than as one that fails.
    let header = req.header("if-match").filter(|h| !h.trim().is_empty())?;
    if header.trim() == "*" {
        return None;
    }
    let accepted = header
        .split(',')
        .filter_map(|tag| {
            let inner = tag.trim().strip_prefix('"')?.strip_suffix('"')?;
            let (tag_id, micros) = inner.split_once('-')?;
            let tag_id = i64::from_str_radix(tag_id, 16).ok()?;
            let micros = u64::from_str_radix(micros, 16).ok()? as i64;
            (tag_id == id).then(|| DateTime::from_timestamp_micros(micros))?
        })
        .collect();
    Some(accepted)
}

/// `resp` with its list tag (`list_cache::tag_of`), or a `304` when the client already holds it.
pub fn with_list_etag(req: &Request, resp: Response, tag: String) -> Response {
    let unchanged = req.header("if-none-match").is_some_and(|h| {
        h.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.strip_prefix("W/").unwrap_or(t) == tag
        })
    });
    if unchanged {
        return Response::empty(304).with_header("ETag", tag);
    }
    resp.with_header("ETag", tag)
}

struct FeedQuery {
    since: Option<SyncCursor>,
    limit: i64,
}

fn feed_query(app: &App, req: &Request, user: uuid::Uuid) -> ApiResult<FeedQuery> {
    let mut errors = Vec::new();
    let limit = match req.query_param("limit") {
        None => FEED_LIMIT_DEFAULT,
        Some(raw) => match raw.parse() {
            Ok(n @ 1..=FEED_LIMIT_MAX) => n,
            _ => {
                errors.push(invalid(
                    "limit",
                    &format!("limit must be an integer from 1 to {FEED_LIMIT_MAX}"),
                ));
                FEED_LIMIT_DEFAULT
            }
        },
    };
    let since = req.query_param("since").and_then(|raw| {
        let decoded = app.cursors.decode_change(user, &raw);
        if decoded.is_none() {
            errors.push(invalid(
                "since",
                "since is not valid: use the cursor of a previous answer",
            ));
        }
        decoded
    });
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    Ok(FeedQuery { since, limit })
}

/// `GET /api/{user_id}/changes?since=&limit=`.
pub fn changes(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    {
        let q = feed_query(app, req, me.user)?;
        let since = match q.since {
            Some(SyncCursor::Expired) => return Err(ApiError::Gone(CURSOR_EXPIRED)),
            Some(SyncCursor::At(mark)) => Some(mark),
            None => None,
        };
        let mut feed = changes::feed(conn, Reader::Caller(me), since.as_ref(), q.limit + 1)?
            .ok_or(ApiError::InvalidToken)?;
        if since.as_ref().is_some_and(|s| feed.expired(s)) {
            return Err(ApiError::Gone(CURSOR_EXPIRED));
        }
        let start = since.unwrap_or_default();
        let has_more = feed.stopped_short(q.limit + 1);
        let mut items = std::mem::take(&mut feed.items);
        items.truncate(q.limit as usize);
        let stop = items.last().filter(|_| has_more);
        let position = feed.position(&start, stop.map(|i| (i.list(), i.change_no())));
        let (mut tasks, mut deleted) = (Vec::new(), Vec::new());
        for item in items {
            match item {
                Item::Changed { task, .. } => tasks.push(task),
                Item::Deleted { id, .. } => deleted.push(id),
            }
        }
        let (mut lists, mut removed) = (Vec::new(), Vec::new());
        for list in feed.lists {
            match list.json {
                Some(json) => lists.push(json),
                None => removed.push(list.id),
            }
        }
        Ok(Response::json(
            200,
            &json!({
                "tasks": tasks,
                "deleted": deleted,
                "lists": lists,
                "removed_lists": removed,
                "cursor": app.cursors.encode_change(me.user, &position),
                "has_more": has_more,
            }),
        ))
    }
}
