//! The task routes under `/api/{user_id}/tasks`. Order of checks: token (401), path user (403),
//! task id (400), body (400), then one SQL statement filtered by the token's user, which also checks
//! the token's session (one round trip). 401 wins over the rest: see `App::as_caller`.

use super::input::{invalid, ListQuery, NewTask, TaskPatch};
use super::sync::{if_match, list_etag, with_etag};
use super::{idempotent, App};
use crate::auth::token::Bearer;
use crate::db::{sessions, tasks};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use crate::routes::{Path, TaskId};
use serde_json::json;

const NOT_FOUND: ApiError = ApiError::NotFound("Task not found");

/// The token's user must be the one in the path.
fn owner(me: &Bearer, path: &Path) -> ApiResult<()> {
    match path.user {
        Some(id) if id == me.user => Ok(()),
        _ => Err(ApiError::Forbidden),
    }
}

/// The path's task id, once the path's user is checked.
fn task_id(me: &Bearer, path: &Path) -> ApiResult<i64> {
    owner(me, path)?;
    match path.task {
        TaskId::Valid(id) => Ok(id),
        TaskId::Beyond => Err(NOT_FOUND),
        TaskId::Malformed => Err(ApiError::Validation(vec![invalid(
            "task_id",
            "Task id must be a positive integer",
        )])),
    }
}

pub fn list(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    app.as_caller(req, |conn, me| {
        owner(me, path)?;
        let user = me.user;
        let query = ListQuery::parse(req, &app.cursors, user)?;
        let limit = query.limit.map(|n| n + 1);
        let mut rows = tasks::list(conn, me, query.completed, query.after, limit)?;
        // No row: no task, or a session that is gone (the statement checked it).
        if rows.is_empty() && !sessions::alive(conn, me)? {
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
        let resp = match link {
            Some(link) => resp.with_header("Link", link),
            None => resp,
        };
        Ok(list_etag(req, resp))
    })
}

pub fn create(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    app.as_caller(req, |conn, me| {
        owner(me, path)?;
        let key = idempotent::key(req)?;
        let new = NewTask::parse(req)?;
        let insert = |conn: &mut crate::db::Conn| {
            let task = tasks::create(
                conn,
                me,
                &new.title,
                new.description.as_ref(),
                new.completed,
            )?
            .ok_or(ApiError::InvalidToken)?;
            Ok(with_etag(Response::json(201, &task), &task))
        };
        match key {
            Some(key) => idempotent::once(conn, me, key, req, insert),
            None => insert(conn),
        }
    })
}

/// A write with `If-Match` that changed nothing: the task moved on (412) or is not there (404).
fn unchanged(conn: &mut crate::db::Conn, me: &Bearer, id: i64, checked: bool) -> ApiError {
    if !checked {
        return NOT_FOUND;
    }
    match tasks::exists(conn, me, id) {
        Ok(true) => ApiError::PreconditionFailed,
        Ok(false) => NOT_FOUND,
        Err(e) => e.into(),
    }
}

pub fn get(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    app.as_caller(req, |conn, me| {
        let id = task_id(me, path)?;
        let task = tasks::get(conn, me, id)?.ok_or(NOT_FOUND)?;
        Ok(with_etag(Response::json(200, &task), &task))
    })
}

pub fn update(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    app.as_caller(req, |conn, me| {
        let id = task_id(me, path)?;
        let patch = TaskPatch::parse(req)?;
        let expected = if_match(req, id);
        let task = tasks::update(
            conn,
            me,
            id,
            patch.title.as_ref(),
            patch.description.as_ref().map(Option::as_ref),
            patch.completed,
            expected.as_deref(),
        )?;
        match task {
            Some(task) => Ok(with_etag(Response::json(200, &task), &task)),
            None => Err(unchanged(conn, me, id, expected.is_some())),
        }
    })
}

pub fn delete(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    app.as_caller(req, |conn, me| {
        let id = task_id(me, path)?;
        let expected = if_match(req, id);
        if !tasks::delete(conn, me, id, expected.as_deref())? {
            return Err(unchanged(conn, me, id, expected.is_some()));
        }
        Ok(Response::json(
            200,
            &json!({ "message": "Task deleted successfully" }),
        ))
    })
}

pub fn toggle(app: &App, req: &Request, path: &Path) -> ApiResult<Response> {
    app.as_caller(req, |conn, me| {
        let id = task_id(me, path)?;
        let expected = if_match(req, id);
        match tasks::toggle(conn, me, id, expected.as_deref())? {
            Some(task) => Ok(with_etag(Response::json(200, &task), &task)),
            None => Err(unchanged(conn, me, id, expected.is_some())),
        }
    })
}
