//! The task routes under `/api/{user_id}/tasks`. Order of checks: token (401), path user (403),
//! task id (400), body (400), then one SQL statement filtered by the token's user.

use super::input::{invalid, NewTask, TaskPatch};
use super::list_query::ListQuery;
use super::App;
use crate::db::task_list::{self, Position};
use crate::db::{self, task_json, tasks};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::routes::{Path, TaskId};
use serde_json::json;
use uuid::Uuid;

const NOT_FOUND: ApiError = ApiError::NotFound("Task not found");

/// The token's user, who must be the one in the path.
fn owner(app: &App, req: &Request, conn: &mut db::Conn, path: &Path) -> ApiResult<Uuid> {
    let user = app.authenticate(req, conn)?;
    match path.user {
        Some(id) if id == user.id => Ok(id),
        _ => Err(ApiError::Forbidden),
    }
}

/// The owner and the task id, checked in that order.
fn owner_and_task(
    app: &App,
    req: &Request,
    conn: &mut db::Conn,
    path: &Path,
) -> ApiResult<(Uuid, i64)> {
    let user = owner(app, req, conn, path)?;
    match path.task {
        TaskId::Valid(id) => Ok((user, id)),
        TaskId::Beyond => Err(NOT_FOUND),
        TaskId::Malformed => Err(ApiError::Validation(vec![invalid(
            "task_id",
            "Task id must be a positive integer",
        )])),
    }
}

pub fn list(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path)?;
    let query = ListQuery::parse(req, &app.cursors, user)?;
    let Some(limit) = query.limit else {
        return whole_list(&mut conn, user, &query);
    };
    let mut rows = Vec::new();
    task_list::each(
        &mut conn,
        &user,
        &query.filter,
        query.sort,
        query.after.as_ref(),
        Some(&(limit + 1)),
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
    Ok(match link {
        Some(link) => resp.with_header("Link", link),
        None => resp,
    })
}

/// Every task (a user may own 10,000): each row is written into the body as PostgreSQL sends it,
/// so serialising overlaps the query and no row is held twice.
fn whole_list(conn: &mut db::Conn, user: Uuid, query: &ListQuery) -> ApiResult<Response> {
    let mut body = Vec::with_capacity(64 * 1024);
    body.push(b'[');
    let mut failed = None;
    let after = query.after.as_ref();
    task_list::each(conn, &user, &query.filter, query.sort, after, None, |row| {
        if failed.is_some() {
            return;
        }
        if body.len() > 1 {
            body.push(b',');
        }
        if let Err(e) = row.write_json(&mut body) {
            failed = Some(e);
        }
    })?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    body.push(b']');
    Ok(Response::json_bytes(200, body))
}

/// `GET /api/{user_id}/tags`: the user's tags with how many tasks carry each.
pub fn tags(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path)?;
    Ok(Response::json(
        200,
        &task_list::tag_counts(&mut conn, user)?,
    ))
}

pub fn create(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path)?;
    let new = NewTask::parse(req)?;
    let task = tasks::create(
        &mut conn,
        user,
        &tasks::NewTask {
            title: &new.title,
            description: new.description.as_ref(),
            completed: new.completed,
            priority: new.priority,
            due_at: new.due_at,
            tags: &new.tags,
        },
    )?;
    Ok(Response::json_bytes(201, task.to_json()?))
}

pub fn get(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (user, id) = owner_and_task(app, req, &mut conn, path)?;
    let task = tasks::get(&mut conn, user, id)?.ok_or(NOT_FOUND)?;
    Ok(Response::json_bytes(200, task.to_json()?))
}

pub fn update(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (user, id) = owner_and_task(app, req, &mut conn, path)?;
    let patch = TaskPatch::parse(req)?;
    let change = tasks::TaskChange {
        title: patch.title.as_ref(),
        description: patch.description.as_ref().map(Option::as_ref),
        completed: patch.completed,
        priority: patch.priority,
        due_at: patch.due_at,
        tags: patch.tags.as_ref(),
    };
    let task = tasks::update(&mut conn, user, id, &change)?.ok_or(NOT_FOUND)?;
    Ok(Response::json_bytes(200, task.to_json()?))
}

pub fn delete(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (user, id) = owner_and_task(app, req, &mut conn, path)?;
    if !tasks::delete(&mut conn, user, id)? {
        return Err(NOT_FOUND);
    }
    Ok(Response::json(
        200,
        &json!({ "message": "Task deleted successfully" }),
    ))
}

pub fn toggle(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (user, id) = owner_and_task(app, req, &mut conn, path)?;
    let task = tasks::toggle(&mut conn, user, id)?.ok_or(NOT_FOUND)?;
    Ok(Response::json_bytes(200, task.to_json()?))
}
