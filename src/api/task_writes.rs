//! A write of one task, whichever protocol asked for it: the REST routes and CalDAV call these,
//! so a task written either way is numbered, planned, cached and told alike. When a statement
//! changed nothing, the functions here say why, in the order the contract gives.

use super::input::{invalid, NewTask, TaskPatch};
use super::schedule::{plan, planned, reschedule};
use super::tasks::{LIST_NOT_FOUND, NOT_FOUND, ROLE_FORBIDS};
use super::App;
use crate::auth::caller::Caller;
use crate::db::{self, lists, tasks};
use crate::domain::{DueAt, Zone};
use crate::error::{ApiError, ApiResult};

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
    let lists = [task.moved_from().ok().flatten(), task.list_id().ok()];
    for list in lists.into_iter().flatten() {
        app.notifier.list_changed(list);
    }
}

/// A write of one task, committed: each cached list on this instance that holds the task's list
/// takes the task in place when this was the list's only change since (see `list_cache`), so a
/// write in a shared list does not send every member's next read to PostgreSQL; then every
/// member is told.
pub(super) fn recached(app: &App, task: &tasks::TaskRow) {
    // A list the task left is read afresh: its entries still show the task.
    if let (Ok((list, seq)), Ok(id), Ok(json)) = (task.change(), task.id(), task.to_json()) {
        app.lists.replace(list, seq, id, &json);
    }
    told(app, task);
}

/// A write that changed nothing: the caller cannot see the task (404), their role does not allow
/// the write (403), `If-Match` named another version (412); else the session is gone.
pub(super) fn unchanged(conn: &mut db::Conn, me: &Caller, id: i64) -> ApiResult<ApiError> {
    Ok(match tasks::role_in(conn, me, id)? {
        None => NOT_FOUND,
        Some((role, _)) if role == "viewer" && me.writes() => ROLE_FORBIDS,
        Some(_) => ApiError::PreconditionFailed,
    })
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
            dav,
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

/// Deletes one task (and its subtasks), over REST or CalDAV, and tells every member.
pub(crate) fn remove(
    app: &App,
    conn: &mut db::Conn,
    me: &Caller,
    id: i64,
    expected: tasks::Expected,
) -> ApiResult<()> {
    let Some(lists) = tasks::delete(conn, me, id, expected)? else {
        return Err(unchanged(conn, me, id)?);
    };
    for list in lists {
        app.notifier.list_changed(list);
    }
    Ok(())
}
