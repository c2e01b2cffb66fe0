//! The task routes under `/api/{user_id}/tasks`. Order of checks: token (401), path user (403),
//! task id (400), body (400), then one SQL statement filtered by the token's user.

use super::body::{self, Fields};
use super::App;
use crate::db::{self, tasks};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::{Request, Response};
use serde_json::json;
use uuid::Uuid;

/// The token's user, who must be the one in the path.
fn owner(app: &App, req: &Request, conn: &mut db::Conn, path_user: &str) -> ApiResult<Uuid> {
    let user = app.authenticate(req, conn)?;
    match Uuid::parse_str(path_user) {
        Ok(id) if id == user.id => Ok(id),
        _ => Err(ApiError::Forbidden),
    }
}

/// A 400 about one named input (a query or path parameter), listed in `errors` like a body field.
fn invalid(field: &'static str, message: &str) -> FieldError {
    FieldError {
        field,
        message: message.into(),
    }
}

fn task_id(raw: &str) -> ApiResult<i64> {
    if raw.is_empty() || !raw.bytes().all(|b| b.is_ascii_digit()) || raw.bytes().all(|b| b == b'0')
    {
        return Err(ApiError::Validation(vec![invalid(
            "task_id",
            "Task id must be a positive integer",
        )]));
    }
    // A positive integer too large for a bigint names no task: it is missing, not malformed.
    raw.parse::<i64>().map_err(|_| NOT_FOUND)
}

const NOT_FOUND: ApiError = ApiError::NotFound("Task not found");

fn title<'a>(f: &mut Fields<'a>, required: bool) -> Option<&'a str> {
    let title = f.string("title", "Title", required)?.trim();
    match title.chars().count() {
        0 => f.fail("title", "Title must not be empty"),
        201.. => f.fail("title", "Title must be at most 200 characters long"),
        _ => return Some(title),
    }
    None
}

fn description<'a>(f: &mut Fields<'a>) -> Option<Option<&'a str>> {
    let description = f.nullable_string("description", "Description")?;
    if description.is_some_and(|d| d.chars().count() > 1000) {
        f.fail(
            "description",
            "Description must be at most 1000 characters long",
        );
        return None;
    }
    Some(description)
}

pub fn list(app: &App, req: &Request, path_user: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path_user)?;
    let mut errors = Vec::new();
    let status = req.query_param("status");
    let completed = match status.as_deref() {
        None | Some("all") => None,
        Some("pending") => Some(false),
        Some("completed") => Some(true),
        Some(_) => {
            errors.push(invalid(
                "status",
                "status must be one of: all, pending, completed",
            ));
            None
        }
    };
    let limit = match req.query_param("limit") {
        None => None,
        Some(raw) => match raw.parse::<i64>() {
            Ok(n @ 1..=1000) => Some(n),
            _ => {
                errors.push(invalid("limit", "limit must be an integer from 1 to 1000"));
                None
            }
        },
    };
    let after = match req.query_param("cursor") {
        None => None,
        Some(raw) => {
            let decoded = app.cursors.decode(user, &raw);
            if decoded.is_none() {
                errors.push(invalid(
                    "cursor",
                    "cursor is not valid: use the Link header of the previous page",
                ));
            }
            decoded
        }
    };
    if !errors.is_empty() {
        return Err(ApiError::Validation(errors));
    }
    let mut rows = tasks::list(&mut conn, user, completed, after, limit.map(|n| n + 1))?;
    let mut resp_link = None;
    if let Some(limit) = limit {
        if rows.len() as i64 > limit {
            rows.truncate(limit as usize);
            if let Some(last) = rows.last() {
                let cursor = app.cursors.encode(user, last.created_at, last.id);
                let status = status.map(|s| format!("&status={s}")).unwrap_or_default();
                resp_link = Some(format!(
                    "</api/{user}/tasks?limit={limit}{status}&cursor={cursor}>; rel=\"next\""
                ));
            }
        }
    }
    let resp = Response::json(200, &rows);
    Ok(match resp_link {
        Some(link) => resp.with_header("Link", link),
        None => resp,
    })
}

pub fn create(app: &App, req: &Request, path_user: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path_user)?;
    let map = body::object(req)?;
    let mut f = Fields::new(&map);
    let title = title(&mut f, true);
    let description = description(&mut f).flatten();
    let completed = f.boolean("completed", "Completed");
    f.finish()?;
    let title = title.ok_or_else(|| ApiError::Internal("validated title missing".into()))?;
    let task = tasks::create(
        &mut conn,
        user,
        title,
        description,
        completed.unwrap_or(false),
    )?;
    Ok(Response::json(201, &task))
}

pub fn get(app: &App, req: &Request, path_user: &str, raw_id: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path_user)?;
    let id = task_id(raw_id)?;
    let task = tasks::get(&mut conn, user, id)?.ok_or(NOT_FOUND)?;
    Ok(Response::json(200, &task))
}

pub fn update(app: &App, req: &Request, path_user: &str, raw_id: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path_user)?;
    let id = task_id(raw_id)?;
    let map = body::object(req)?;
    let mut f = Fields::new(&map);
    let title = title(&mut f, false);
    let description = description(&mut f);
    let completed = f.boolean("completed", "Completed");
    if f.errors.is_empty() && title.is_none() && description.is_none() && completed.is_none() {
        return Err(ApiError::bad_request(
            "Send at least one of title, description or completed",
        ));
    }
    f.finish()?;
    let task =
        tasks::update(&mut conn, user, id, title, description, completed)?.ok_or(NOT_FOUND)?;
    Ok(Response::json(200, &task))
}

pub fn delete(app: &App, req: &Request, path_user: &str, raw_id: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path_user)?;
    let id = task_id(raw_id)?;
    if !tasks::delete(&mut conn, user, id)? {
        return Err(NOT_FOUND);
    }
    Ok(Response::json(
        200,
        &json!({ "message": "Task deleted successfully" }),
    ))
}

pub fn toggle(app: &App, req: &Request, path_user: &str, raw_id: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let user = owner(app, req, &mut conn, path_user)?;
    let id = task_id(raw_id)?;
    let task = tasks::toggle(&mut conn, user, id)?.ok_or(NOT_FOUND)?;
    Ok(Response::json(200, &task))
}
