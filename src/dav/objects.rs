//! Calendar objects (tasks): `GET`, `PUT` and `DELETE` with `ETag`, `If-Match` and
//! `If-None-Match: *`, at the names clients choose, through the task functions REST uses.

use super::ical::{self, Todo};
use super::props::render;
use super::{collection, refused, CALENDAR};
use crate::api::input::{NewTask, TaskPatch};
use crate::api::sync::{etag, if_match};
use crate::api::{task_writes, App};
use crate::auth::caller::Caller;
use crate::db::{self, dav, tasks};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};

const NOT_FOUND: ApiError = ApiError::NotFound("Not Found");

pub fn get(app: &App, me: &Caller, collection_name: &str, name: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let c = collection(&mut conn, me, collection_name)?;
    let names = [name.to_string()];
    let object = dav::objects(&mut conn, me, c.list, Some(&names))?
        .into_iter()
        .next()
        .ok_or(NOT_FOUND)?;
    let mut resp = Response::empty(200);
    resp.content_type = CALENDAR;
    resp.body = render(&object).into_bytes();
    Ok(resp.with_header("ETag", etag(object.id, object.updated_at)))
}

pub fn put(
    app: &App,
    req: &Request,
    me: &Caller,
    collection_name: &str,
    name: &str,
) -> ApiResult<Response> {
    let todo = match ical::parse(&req.body) {
        Ok(todo) => todo,
        Err(r) => return Err(refused(format!("c:{}", r.precondition), r.detail)),
    };
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let c = collection(conn, me, collection_name)?;
    read_only(&c)?;
    let found = dav::find(conn, me, c.list, name)?;
    let create_only = req.header("if-none-match").map(str::trim) == Some("*");
    let ical_text =
        std::str::from_utf8(&req.body).map_err(|_| ApiError::bad_request("Not UTF-8"))?;
    let parent = match &todo.parent_uid {
        Some(uid) => dav::by_uid(conn, me, c.list, uid)?,
        None => None,
    };
    // A parent not in the list yet is remembered by its UID until it is put there.
    let pending = todo.parent_uid.as_deref().filter(|_| parent.is_none());
    let existed = found.is_some();
    let task = match found {
        Some(_) if create_only => return Err(ApiError::PreconditionFailed),
        None if req.header("if-match").is_some() => return Err(ApiError::PreconditionFailed),
        Some(found) => {
            if found.uid != todo.uid {
                return Err(refused(
                    "c:no-uid-conflict",
                    "An object's UID cannot change",
                ));
            }
            let patch = patch(&todo, &found, parent);
            let expected = if_match(req, found.id);
            task_writes::change(
                app,
                conn,
                me,
                found.id,
                &patch,
                expected.as_deref(),
                Some(tasks::DavChange {
                    ical: ical_text,
                    completed_at: todo.completed_at,
                    pending_parent: pending,
                }),
            )?
        }
        None => {
            if dav::by_uid(conn, me, c.list, &todo.uid)?.is_some() {
                return Err(uid_taken());
            }
            let new = NewTask {
                title: todo.title.clone(),
                description: todo.description.clone(),
                completed: todo.completed,
                priority: todo.priority,
                due_at: todo.due_at,
                tags: todo.tags.clone(),
                list: Some(c.list),
                assignee: None,
                parent,
                recurrence: todo.recurrence.clone(),
                timezone: todo.timezone,
            };
            let dav = tasks::Dav {
                ical: ical_text,
                uid: &todo.uid,
                // `{uid}.ics` is every task's name already.
                name: (name != format!("{}.ics", todo.uid)).then_some(name),
                completed_at: todo.completed_at,
                pending_parent: pending,
            };
            match task_writes::insert(app, conn, me, &new, Some(dav)) {
                Ok(task) => {
                    adopted(app, conn, me, c.list, &task, &todo.uid)?;
                    task
                }
                // Another write took the UID or the name meanwhile.
                Err(ApiError::Internal(e)) if e.contains("tasks_list_uid_key") => {
                    return Err(uid_taken())
                }
                Err(ApiError::Internal(e)) if e.contains("tasks_list_dav_name_idx") => {
                    return Err(ApiError::PreconditionFailed)
                }
                Err(e) => return Err(e),
            }
        }
    };
    let status = if existed { 204 } else { 201 };
    Ok(Response::empty(status).with_header("ETag", etag(task.id()?, task.updated_at()?)))
}

/// Every field the model holds, from the client's object; those that would reschedule a
/// recurring task only when they differ from what is stored (a rule set again restarts).
fn patch(todo: &Todo, found: &dav::Found, parent: Option<i64>) -> TaskPatch {
    let due = todo.due_at.map(|d| d.utc());
    let rule = todo.recurrence.as_ref().map(|r| r.to_string());
    let zone = todo.timezone.map(|z| z.name().to_string());
    TaskPatch {
        title: Some(todo.title.clone()),
        description: Some(todo.description.clone()),
        completed: Some(todo.completed),
        priority: Some(todo.priority),
        due_at: (due != found.due_at).then_some(todo.due_at),
        tags: Some(todo.tags.clone()),
        list: None,
        assignee: None,
        parent: Some(parent),
        recurrence: (rule != found.recurrence).then(|| todo.recurrence.clone()),
        timezone: todo
            .timezone
            .filter(|_| zone.as_deref() != Some(found.timezone.as_str())),
    }
}

/// Tasks that named this one's UID as their parent before it was here take it as their parent.
/// One that cannot (it would go too deep, or make a cycle) keeps waiting: the write already
/// succeeded, and the rules are the trigger's.
fn adopted(
    app: &App,
    conn: &mut db::Conn,
    me: &Caller,
    list: uuid::Uuid,
    task: &tasks::TaskRow,
    uid: &str,
) -> ApiResult<()> {
    match dav::adopt(conn, me, list, task.id()?, uid) {
        Ok(0) => Ok(()),
        Ok(_) => {
            app.tell(&db::lists::members(conn, list)?);
            Ok(())
        }
        Err(e) if e.code().is_some_and(|c| c.code().starts_with("TD")) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// A viewer's write: 403 with the privilege it lacks.
fn read_only(c: &dav::Collection) -> ApiResult<()> {
    match c.writable() {
        true => Ok(()),
        false => Err(refused(
            "d:need-privileges",
            "Your role in this list does not allow this",
        )),
    }
}

fn uid_taken() -> ApiError {
    refused(
        "c:no-uid-conflict",
        "Another task in this list has this UID",
    )
}

pub fn delete(
    app: &App,
    req: &Request,
    me: &Caller,
    collection_name: &str,
    name: &str,
) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let conn: &mut db::Conn = &mut conn;
    let c = collection(conn, me, collection_name)?;
    read_only(&c)?;
    let found = dav::find(conn, me, c.list, name)?.ok_or(NOT_FOUND)?;
    let expected = if_match(req, found.id);
    task_writes::remove(app, conn, me, found.id, expected.as_deref())?;
    Ok(Response::empty(204))
}
