//! The task routes under `/api/{user_id}/tasks`. Order of checks: token (401), path user (403),
//! task id (400), body (400), then one SQL statement filtered by the token's user.

use super::input::{invalid, ListQuery, NewTask, TaskPatch};
use super::App;
use crate::auth::token::Bearer;
use crate::db::{self, tasks};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::routes::{Path, TaskId};
use serde_json::json;

const NOT_FOUND: ApiError = ApiError::NotFound("Task not found");

/// The token's user, who must be the one in the path. Whether the token's session still lives is
/// checked inside each task statement (one round trip); see `App::gone_or` for an empty answer.
fn owner(app: &App, req: &Request, conn: &mut db::Conn, path: &Path) -> ApiResult<Bearer> {
    let me = app.bearer(req, conn)?;
    match path.user {
        Some(id) if id == me.user => Ok(me),
        _ => Err(ApiError::Forbidden),
    }
}

/// The owner and the task id, checked in that order.
fn owner_and_task(
    app: &App,
    req: &Request,
    conn: &mut db::Conn,
    path: &Path,
) -> ApiResult<(Bearer, i64)> {
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
    let me = owner(app, req, &mut conn, path)?;
    let user = me.user;
    let query = ListQuery::parse(req, &app.cursors, user)?;
    let mut rows = tasks::list(
        &mut conn,
        &me,
        query.completed,
        query.after,
        query.limit.map(|n| n + 1),
    )?;
    if rows.is_empty() && !db::sessions::alive(&mut conn, &me)? {
        return Err(ApiError::InvalidToken);
    }
    let mut link = None;
    if let Some(limit) = query.limit {
        if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            if let Some(last) = rows.last() {
                let cursor = app.cursors.encode(user, last.created_at, last.id);
                let status = query
                    .status
                    .map(|s| format!("&status={s}"))
                    .unwrap_or_default();
                link = Some(format!(
                    "</api/{user}/tasks?limit={limit}{status}&cursor={cursor}>; rel=\"next\""
                ));
            }
        }
    }
    let resp = Response::json(200, &rows);
    Ok(match link {
        Some(link) => resp.with_header("Link", link),
        None => resp,
    })
}

pub fn create(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let me = owner(app, req, &mut conn, path)?;
    let new = NewTask::parse(req)?;
    let task = tasks::create(
        &mut conn,
        &me,
        &new.title,
        new.description.as_ref(),
        new.completed,
    )?
    .ok_or(ApiError::InvalidToken)?;
    Ok(Response::json(201, &task))
}

pub fn get(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (me, id) = owner_and_task(app, req, &mut conn, path)?;
    let task = tasks::get(&mut conn, &me, id)?;
    let task = task.ok_or_else(|| app.gone_or(&mut conn, &me, NOT_FOUND))?;
    Ok(Response::json(200, &task))
}

pub fn update(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (me, id) = owner_and_task(app, req, &mut conn, path)?;
    let patch = TaskPatch::parse(req)?;
    let task = tasks::update(
        &mut conn,
        &me,
        id,
        patch.title.as_ref(),
        patch.description.as_ref().map(Option::as_ref),
        patch.completed,
    )?;
    let task = task.ok_or_else(|| app.gone_or(&mut conn, &me, NOT_FOUND))?;
    Ok(Response::json(200, &task))
}

pub fn delete(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (me, id) = owner_and_task(app, req, &mut conn, path)?;
    if !tasks::delete(&mut conn, &me, id)? {
        return Err(app.gone_or(&mut conn, &me, NOT_FOUND));
    }
    Ok(Response::json(
        200,
        &json!({ "message": "Task deleted successfully" }),
    ))
}

pub fn toggle(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let (me, id) = owner_and_task(app, req, &mut conn, path)?;
    let task = tasks::toggle(&mut conn, &me, id)?;
    let task = task.ok_or_else(|| app.gone_or(&mut conn, &me, NOT_FOUND))?;
    Ok(Response::json(200, &task))
}
