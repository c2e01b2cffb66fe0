//! CalDAV (RFC 4791) for the task apps people already use: WebDAV methods and XML in, the same
//! data functions the REST handlers call, XML and iCalendar out. A calendar is a list, an object
//! is a task; one task is one row whichever protocol wrote it.

mod collections;
pub mod filter;
pub mod href;
pub mod ical;
mod multistatus;
mod objects;
mod props;
mod report;
pub mod xml;

use crate::api::{access, App};
use crate::auth::caller::{Caller, Need};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use href::Target;

pub const XML: &str = "application/xml; charset=utf-8";
pub const CALENDAR: &str = "text/calendar; charset=utf-8";

/// Is this request for the CalDAV tree (or its discovery address)? A `PROPFIND` of the server's
/// root is discovery too: clients given the bare address start there.
pub fn owns(method: &str, path: &str) -> bool {
    path == "/dav"
        || path.starts_with("/dav/")
        || path.starts_with("/.well-known/caldav")
        || (path == "/" && method == "PROPFIND")
}

pub fn handle(app: &App, req: &Request) -> Response {
    match serve(app, req) {
        Ok(resp) => resp,
        Err(ApiError::InvalidToken) => Response::error(
            401,
            "Sign in with the account's e-mail and a personal access token",
        )
        .with_header("WWW-Authenticate", "Basic realm=\"todo-api\""),
        Err(e) => e.into_response(),
    }
}

const ALLOW: &str = "OPTIONS, GET, HEAD, PUT, DELETE, PROPFIND, PROPPATCH, REPORT, MKCALENDAR";

fn serve(app: &App, req: &Request) -> ApiResult<Response> {
    if req.path.starts_with("/.well-known/") {
        return Ok(Response::empty(301).with_header("Location", href::ROOT));
    }
    let method = req.method.as_str();
    if method == "OPTIONS" {
        return Ok(Response::empty(200)
            .with_header("DAV", "1, 3, calendar-access")
            .with_header("Allow", ALLOW));
    }
    let need = match method {
        "GET" | "HEAD" | "PROPFIND" | "REPORT" => Need::Read,
        _ => Need::Write,
    };
    let me = access::dav_caller(app, req, need)?;
    let target = Target::parse(&req.path).ok_or(ApiError::NotFound("Not Found"))?;
    // Another user's part of the tree does not exist for the caller.
    if target.user().is_some_and(|user| user != me.user) {
        return Err(ApiError::NotFound("Not Found"));
    }
    match (method, &target) {
        ("PROPFIND", _) => props::propfind(app, req, &me, &target),
        ("PROPPATCH", Target::Collection(_, name)) => collections::proppatch(app, req, &me, name),
        ("MKCALENDAR", Target::Collection(_, name)) => collections::make(app, req, &me, name),
        ("DELETE", Target::Collection(_, name)) => collections::delete(app, &me, name),
        ("REPORT", Target::Collection(_, name)) => report::report(app, req, &me, name),
        ("GET" | "HEAD", Target::Object(_, c, o)) => objects::get(app, &me, c, o),
        ("PUT", Target::Object(_, c, o)) => objects::put(app, req, &me, c, o),
        ("DELETE", Target::Object(_, c, o)) => objects::delete(app, req, &me, c, o),
        _ => Err(ApiError::MethodNotAllowed(ALLOW.to_string())),
    }
}

/// A 403 naming the WebDAV/CalDAV precondition that failed (`c:supported-calendar-component`).
pub fn refused(precondition: impl Into<String>, detail: impl Into<String>) -> ApiError {
    ApiError::Precondition(precondition.into(), detail.into())
}

/// The caller's collection of this name, or 404.
fn collection(
    conn: &mut crate::db::Conn,
    me: &Caller,
    name: &str,
) -> ApiResult<crate::db::dav::Collection> {
    crate::db::dav::collection(conn, me, name)?.ok_or(ApiError::NotFound("Calendar not found"))
}
