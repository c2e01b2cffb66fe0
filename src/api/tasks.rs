//! The task routes under `/api/{user_id}/tasks`. The router has checked the token (401) and the
//! path's user (403); then the task id (400), the body (400), and one SQL statement filtered by the
//! caller's user, which also checks the caller's session (one round trip).

use super::input::{invalid, NewTask, TaskPatch};
use super::list_cache::{Cached, Span};
use super::list_query::ListQuery;
use super::path::{Path, TaskId};
use super::schedule::{plan, planned, replan, reschedule};
use super::sync::{if_match, list_etag, list_tag, task_response, with_list_etag};
use super::{idempotent, App};
use crate::auth::caller::Caller;
use crate::db::task_list::{self, Position, Whole};
use crate::db::{self, lists, schedule, task_json, tasks};
use crate::domain::{DueAt, Zone};
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
        return whole_list(conn, me, &query).map(|resp| list_etag(req, resp));
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
    let resp = Response::json_bytes(200, task_json::array(&rows)?);
    let resp = match link {
        Some(link) => resp.with_header("Link", link),
        None => resp,
    };
    Ok(list_etag(req, resp))
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
                    self.spans.push(Span { id, start, end });
                    Ok(())
                })
                .err();
        }
    }

    fn finish(self) -> ApiResult<Vec<u8>> {
        Ok(self.finish_with_spans()?.0)
    }

    fn finish_with_spans(mut self) -> ApiResult<(Vec<u8>, Vec<Span>)> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        self.body.push(b']');
        Ok((self.body, self.spans))
    }
}

/// Every task in the default order: the most asked-for list, answered from the list cache while
/// the user's change number has not moved.
fn every_task(app: &App, conn: &mut db::Conn, me: &Caller, req: &Request) -> ApiResult<Response> {
    let known = app.lists.get(me.user).map(|c| (c.seq, c));
    let mut array = JsonArray::new();
    let (body, etag) = match task_list::whole_unless_at(conn, me, known, |row| array.push(row))? {
        Whole::Gone => return Err(ApiError::InvalidToken),
        Whole::Unchanged(held) => (held.body.clone(), held.etag.clone()),
        Whole::At(seq) => {
            let (body, spans) = array.finish_with_spans()?;
            let etag = list_tag(&body, "");
            let cached = Cached {
                seq,
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
fn whole_list(conn: &mut db::Conn, me: &Caller, query: &ListQuery) -> ApiResult<Response> {
    let mut array = JsonArray::new();
    let after = query.after.as_ref();
    task_list::each(conn, me, &query.filter, query.sort, after, None, |row| {
        array.push(row)
    })?;
    Ok(Response::json_bytes(200, array.finish()?))
}

/// `GET /api/{user_id}/tags`: the user's tags with how many tasks carry each.
pub fn tags(app: &App, _: &Request, _: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let counts = task_list::tag_counts(conn, me)?;
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

/// A new task, over REST or CalDAV (`dav`), committed and told to every member.
pub(crate) fn insert(
    app: &App,
    conn: &mut db::Conn,
    me: &Caller,
    new: &NewTask,
    dav: Option<tasks::Dav>,
) -> ApiResult<tasks::TaskRow> {
    let due = new.due_at.map(DueAt::utc);
    let zone = new.timezone.unwrap_or(Zone::UTC);
    let schedule = plan(new.recurrence.as_ref(), zone, due, due)?;
    let task = tasks::create(
        conn,
        me,
        &tasks::NewTask {
            title: &new.title,
            description: new.description.as_ref(),
            completed: new.completed,
            priority: new.priority,
            due_at: new.due_at,
            tags: &new.tags,
            list: new.list,
            assignee: new.assignee,
            parent: new.parent,
            schedule: &schedule,
            dav,
        },
    )
    .map_err(parent_refused)?;
    match task {
        Some(task) => {
            planned(conn, &task)?;
            told(app, &task);
            Ok(task)
        }
        None => Err(not_created(conn, me, new)?),
    }
}

/// The parent rules broken by a write (the `task_tree` trigger's own SQLSTATEs), as a 400.
fn parent_refused(e: postgres::Error) -> ApiError {
    let message = match e.code().map(|c| c.code()) {
        Some("TD001") => "The parent must be a task in the same list",
        // The parent was deleted while this write waited for it.
        Some("23503") if db::constraint(&e) == Some("tasks_parent_id_fkey") => {
            "The parent must be a task in the same list"
        }
        Some("TD002") => "A task cannot be its own ancestor",
        Some("TD003") => "Subtasks go at most 4 levels below a top-level task",
        _ => return e.into(),
    };
    ApiError::Validation(vec![invalid("parent_id", message)])
}

/// Why a create made nothing: the list (404, 403) or the assignee (400); else the session is gone.
fn not_created(conn: &mut db::Conn, me: &Caller, new: &NewTask) -> ApiResult<ApiError> {
    Ok(match lists::role(conn, me, new.list)?.as_deref() {
        None => LIST_NOT_FOUND,
        Some("viewer") => ROLE_FORBIDS,
        Some(_) => not_a_member("assignee_id"),
    })
}

fn not_a_member(field: &'static str) -> ApiError {
    ApiError::Validation(vec![invalid(
        field,
        "The assignee must be a member of the task's list",
    )])
}

/// A write's change, committed: every member's streams, on every instance, are told to look.
fn told(app: &App, task: &tasks::TaskRow) {
    for (member, _) in task.numbers().unwrap_or_default() {
        app.notifier.changed(member);
    }
}

/// A write of one task, committed: each member's cached list on this instance takes the task in
/// place when this was the only change since the list was read (see `list_cache`), so a write in
/// a shared list does not send every member's next read to PostgreSQL; then every member is told.
fn recached(app: &App, task: &tasks::TaskRow) {
    if let (Ok(numbers), Ok(id), Ok(json)) = (task.numbers(), task.id(), task.to_json()) {
        for (member, seq) in numbers {
            app.lists
                .replace(member, seq, id, &json, |body| list_tag(body, ""));
        }
    }
    told(app, task);
}

/// A write that changed nothing: the caller cannot see the task (404), their role does not allow
/// the write (403), `If-Match` named another version (412); else the session is gone.
fn unchanged(conn: &mut db::Conn, me: &Caller, id: i64) -> ApiResult<ApiError> {
    Ok(match tasks::role_in(conn, me, id)? {
        None => NOT_FOUND,
        Some((role, _)) if role == "viewer" && me.writes() => ROLE_FORBIDS,
        Some(_) => ApiError::PreconditionFailed,
    })
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

/// A change of one task, over REST or CalDAV (`dav`: the calendar object the client sent, and
/// the completion time it names),
/// committed, and told to every member.
pub(crate) fn change(
    app: &App,
    conn: &mut db::Conn,
    me: &Caller,
    id: i64,
    patch: &TaskPatch,
    expected: tasks::Expected,
    dav: Option<tasks::DavChange>,
) -> ApiResult<tasks::TaskRow> {
    // A schedule is computed from the stored one, which a concurrent completion may move on: the
    // write then matches nothing, and the schedule is computed again.
    for _ in 0..RESCHEDULE_TRIES {
        let rescheduled = match patch.reschedules() || patch.completed == Some(true) {
            true => reschedule(conn, me, id, patch)?,
            false => None,
        };
        let change = tasks::TaskChange {
            title: patch.title.as_ref(),
            description: patch.description.as_ref().map(Option::as_ref),
            completed: patch.completed,
            priority: patch.priority,
            due_at: patch.due_at,
            tags: patch.tags.as_ref(),
            list: patch.list,
            assignee: patch.assignee,
            parent: patch.parent,
            schedule: rescheduled.as_ref().map(|(new, seen)| (new, seen)),
            ical: dav.map(|d| d.ical),
            completed_at: dav.and_then(|d| d.completed_at),
            pending_parent: dav.and_then(|d| d.pending_parent),
        };
        let updated = tasks::update(conn, me, id, &change, expected).map_err(parent_refused)?;
        if let Some(task) = updated {
            planned(conn, &task)?;
            recached(app, &task);
            return Ok(task);
        }
        let refusal = not_updated(conn, me, id, &change)?;
        let moved_on = rescheduled.is_some()
            && matches!(refusal, ApiError::PreconditionFailed)
            && expected.is_none();
        if !moved_on {
            return Err(refusal);
        }
    }
    Err(ApiError::Conflict(
        "The task kept changing while this was written; try again",
    ))
}

const RESCHEDULE_TRIES: usize = 5;

/// Why a `PUT` changed nothing, in the order a reader of the contract expects: the task (404,
/// 403), the list it moves to (404, 403), the assignee (400), then `If-Match` (412).
fn not_updated(
    conn: &mut db::Conn,
    me: &Caller,
    id: i64,
    change: &tasks::TaskChange,
) -> ApiResult<ApiError> {
    let Some((role, list)) = tasks::role_in(conn, me, id)? else {
        return Ok(NOT_FOUND);
    };
    if role == "viewer" {
        return Ok(ROLE_FORBIDS);
    }
    if let Some(target) = change.list {
        match lists::role(conn, me, Some(target))?.as_deref() {
            None => return Ok(LIST_NOT_FOUND),
            Some("viewer") => return Ok(ROLE_FORBIDS),
            Some(_) => {}
        }
    }
    if let Some(Some(assignee)) = change.assignee {
        if !lists::is_member(conn, change.list.unwrap_or(list), assignee)? {
            return Ok(not_a_member("assignee_id"));
        }
    }
    Ok(ApiError::PreconditionFailed)
}

pub fn delete(app: &App, req: &Request, path: &Path, me: &Caller) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let id = task_id(path)?;
    remove(app, conn, me, id, if_match(req, id).as_deref())?;
    let deleted = json!({ "message": "Task deleted successfully" });
    Ok(Response::json(200, &deleted))
}

/// Deletes one task (and its subtasks), over REST or CalDAV, and tells every member.
pub(crate) fn remove(
    app: &App,
    conn: &mut db::Conn,
    me: &Caller,
    id: i64,
    expected: tasks::Expected,
) -> ApiResult<()> {
    let Some(members) = tasks::delete(conn, me, id, expected)? else {
        return Err(unchanged(conn, me, id)?);
    };
    for member in members {
        app.notifier.changed(member);
    }
    Ok(())
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
