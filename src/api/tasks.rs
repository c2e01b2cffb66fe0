//! The task routes under `/api/{user_id}/tasks`. The router has checked the token (401) and the
//! path's user (403); then the task id (400), the body (400), and one SQL statement filtered by the
//! caller's user, which also checks the caller's session (one round trip).

use super::input::{invalid, NewTask, TaskPatch};
use super::list_cache::{tag_of, Cached, Span};
use super::list_query::ListQuery;
use super::path::{Path, TaskId};
use super::schedule::{planned, replan};
use super::sync::{if_match, task_response, with_list_etag};
use super::task_writes::{change, insert, recached, remove, unchanged};
use super::{idempotent, App};
use crate::auth::caller::Caller;
use crate::db::task_list::{self, Position, Whole};
use crate::db::{self, lists, schedule, tasks};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use serde_json::json;

pub const NOT_FOUND: ApiError = ApiError::NotFound("Task not found");
pub const LIST_NOT_FOUND: ApiError = ApiError::NotFound("List not found");
pub const ROLE_FORBIDS: ApiError =
    ApiError::NotAllowed("Your role in this list does not allow this");

/// The path's task id.
fn task_id(path: &Path) -> ApiResult<i64> {
    match path.task {
        TaskId::Valid(id) => Ok(id),
        TaskId::Beyond => Err(NOT_FOUND),
        TaskId::Malformed => Err(ApiError::Validation(vec![invalid(
            "task_id",
            "Task id must be a positive integer",
        )])),
    }
}

pub fn list(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let user = me.user;
    let query = ListQuery::parse(req, &app.cursors, user)?;
    // One list: an empty answer must not hide that the caller is no member of it.
    if let Some(list) = query.filter.list {
        if lists::role(conn, me, Some(list))?.is_none() {
            return Err(LIST_NOT_FOUND);
        }
    }
    let Some(limit) = query.limit else {
        if query.canonical.is_empty() && query.after.is_none() {
            return every_task(app, conn, me, req);
        }
        return whole_list(conn, me, req, &query);
    };
    let mut rows = Vec::new();
    let after = query.after.as_ref();
    task_list::each(
        conn,
        me,
        &query.filter,
        query.sort,
        after,
        Some(limit + 1),
        |row| rows.push(row),
    )?;
    let mut link = None;
    if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        if let Some(last) = rows.last() {
            let position = Position::after(query.sort, last)?;
            let digest = super::cursor::digest(&query.canonical);
            let cursor = app.cursors.encode(user, digest, &position);
            let and = if query.canonical.is_empty() { "" } else { "&" };
            link = Some(format!(
                "</api/{user}/tasks?limit={limit}{and}{}&cursor={cursor}>; rel=\"next\"",
                query.canonical
            ));
        }
    }
    let mut array = JsonArray::new();
    rows.into_iter().for_each(|row| array.push(row));
    let (body, spans) = array.finish()?;
    let tag = tag_of(&spans, link.as_deref().unwrap_or_default());
    let resp = Response::json_bytes(200, body);
    let resp = match link {
        Some(link) => resp.with_header("Link", link),
        None => resp,
    };
    Ok(with_list_etag(req, resp, tag))
}

/// A JSON array written as rows arrive; the first row that cannot be written ends it.
struct JsonArray {
    body: Vec<u8>,
    spans: Vec<Span>,
    failed: Option<postgres::Error>,
}

impl JsonArray {
    fn new() -> JsonArray {
        let mut body = Vec::with_capacity(16 * 1024);
        body.push(b'[');
        JsonArray {
            body,
            spans: Vec::new(),
            failed: None,
        }
    }

    fn push(&mut self, row: tasks::TaskRow) {
        if self.failed.is_none() {
            if self.body.len() > 1 {
                self.body.push(b',');
            }
            let start = self.body.len();
            self.failed = row
                .id()
                .and_then(|id| {
                    row.write_json(&mut self.body)?;
                    let end = self.body.len();
                    self.spans.push(Span::of(&self.body, id, start, end));
                    Ok(())
                })
                .err();
        }
    }

    fn finish(mut self) -> ApiResult<(Vec<u8>, Vec<Span>)> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        self.body.push(b']');
        Ok((self.body, self.spans))
    }
}

/// Every task in the default order: the most asked-for list, answered from the list cache while
/// the user's numbers have not moved.
fn every_task(app: &App, conn: &mut db::Conn, me: &Caller, req: &Request) -> ApiResult<Response> {
    let held = app.lists.get(me.user);
    let known = held.as_ref().map(|c| (&c.at, c));
    let mut array = JsonArray::new();
    let (body, etag) = match task_list::whole_unless_at(conn, me, known, |row| array.push(row))? {
        Whole::Gone => return Err(ApiError::InvalidToken),
        Whole::Unchanged(held) => (held.body.clone(), held.etag.clone()),
        Whole::At(at) => {
            let (body, spans) = array.finish()?;
            let etag = tag_of(&spans, "");
            let cached = Cached {
                at,
                body: body.clone(),
                etag: etag.clone(),
                spans,
            };
            app.lists.put(me.user, cached);
            (body, etag)
        }
    };
    Ok(with_list_etag(req, Response::json_bytes(200, body), etag))
}

/// Every task (a user may own 10,000): each row is written into the body as PostgreSQL sends it,
/// so serialising overlaps the query and no row is held twice.
fn whole_list(
    conn: &mut db::Conn,
    me: &Caller,
    req: &Request,
    query: &ListQuery,
) -> ApiResult<Response> {
    let mut array = JsonArray::new();
    let after = query.after.as_ref();
    task_list::each(conn, me, &query.filter, query.sort, after, None, |row| {
        array.push(row)
    })?;
    let (body, spans) = array.finish()?;
    let tag = tag_of(&spans, "");
    Ok(with_list_etag(req, Response::json_bytes(200, body), tag))
}

/// `GET /api/{user_id}/tags`: the user's tags with how many tasks carry each.
pub fn tags(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let counts = db::tags::tag_counts(conn, me)?;
    Ok(Response::json(200, &counts))
}

pub fn create(app: &App, req: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let key = idempotent::key(req)?;
    let new = NewTask::parse(req)?;
    let write = |conn: &mut db::Conn| task_response(201, &insert(app, conn, me, &new, None)?);
    match key {
        Some(key) => idempotent::once(conn, me, key, req, write),
        None => write(conn),
    }
}

pub fn get(app: &App, _: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let id = task_id(path)?;
    task_response(200, &tasks::get(conn, me, id)?.ok_or(NOT_FOUND)?)
}

pub fn update(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let id = task_id(path)?;
    let patch = TaskPatch::parse(req)?;
    let task = change(
        app,
        conn,
        me,
        id,
        &patch,
        if_match(req, id).as_deref(),
        None,
    )?;
    task_response(200, &task)
}

pub fn delete(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let id = task_id(path)?;
    remove(app, conn, me, id, if_match(req, id).as_deref())?;
    let deleted = json!({ "message": "Task deleted successfully" });
    Ok(Response::json(200, &deleted))
}

pub fn toggle(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let id = task_id(path)?;
    let expected = if_match(req, id);
    let mut toggled = tasks::toggle(conn, me, id, expected.as_deref())?;
    // An open recurring task whose next occurrences were never computed: compute them, once.
    if toggled.is_none() {
        if let Some(stored) = schedule::unplanned(conn, me, id)? {
            replan(conn, id, &stored)?;
            toggled = tasks::toggle(conn, me, id, expected.as_deref())?;
        }
    }
    match toggled {
        Some(task) => {
            planned(conn, &task)?;
            recached(app, &task);
            task_response(200, &task)
        }
        None => Err(unchanged(conn, me, id)?),
    }
}
