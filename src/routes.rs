//! THE route table: one row per method and path template, with its handler. `Allow`, the CORS
//! methods, 404 and 405 are derived from it, and a test holds it to the OpenAPI document.

use crate::api::{account, auth, events, service, sync, tasks, App};
use crate::error::ApiResult;
use crate::http::{Request, Response};
use std::sync::LazyLock;
use uuid::Uuid;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Patch,
    Delete,
    Options,
}

impl Method {
    pub const ALL: [Method; 7] = [
        Method::Get,
        Method::Head,
        Method::Post,
        Method::Put,
        Method::Patch,
        Method::Delete,
        Method::Options,
    ];

    pub fn parse(name: &str) -> Option<Method> {
        Method::ALL.into_iter().find(|m| m.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
        }
    }
}

/// A `{task_id}` segment: a positive integer, or why not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TaskId {
    Valid(i64),
    /// Not a positive integer: 400.
    Malformed,
    /// A positive integer too large for a bigint names no task: 404, not 400.
    Beyond,
}

impl TaskId {
    fn parse(raw: &str) -> TaskId {
        if raw.is_empty()
            || !raw.bytes().all(|b| b.is_ascii_digit())
            || raw.bytes().all(|b| b == b'0')
        {
            return TaskId::Malformed;
        }
        raw.parse().map_or(TaskId::Beyond, TaskId::Valid)
    }
}

/// Path parameters, parsed once by the router. Each handler reads the ones its template has; the
/// order of checks (token, then path user, then task id) stays with the handler.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Path {
    /// `{user_id}`; `None` when it is not a UUID (403 once the token is checked).
    pub user: Option<Uuid>,
    pub task: TaskId,
    /// `{session_id}`; `None` when it is not a UUID (it names no session: 404).
    pub session: Option<Uuid>,
}

const NO_PARAMS: Path = Path {
    user: None,
    task: TaskId::Malformed,
    session: None,
};

pub type Handler = fn(&App, &Request, &Path) -> ApiResult<Response>;

pub struct Route {
    pub method: Method,
    pub template: &'static str,
    pub handler: Handler,
}

const fn row(method: Method, template: &'static str, handler: Handler) -> Route {
    Route {
        method,
        template,
        handler,
    }
}

use Method::{Delete, Get, Patch, Post, Put};

/// `HEAD` is served wherever `GET` is, `OPTIONS` on every path.
pub static ROUTES: &[Route] = &[
    row(Get, "/", |_, _, _| Ok(service::root())),
    row(Get, "/health", |app, _, _| Ok(service::health(app))),
    row(Get, "/health/ready", |app, _, _| Ok(service::ready(app))),
    row(Get, "/openapi.json", |_, _, _| Ok(service::openapi())),
    row(Get, "/docs", |app, _, _| Ok(app.docs.page())),
    row(Post, "/api/auth/signup", auth::signup),
    row(Post, "/api/auth/signin", auth::signin),
    row(Get, "/api/auth/me", auth::me),
    row(Patch, "/api/auth/me", account::rename),
    row(Delete, "/api/auth/me", account::delete),
    row(Post, "/api/auth/signout", account::signout),
    row(Get, "/api/auth/sessions", account::list),
    row(Delete, "/api/auth/sessions", account::revoke_all),
    row(Delete, "/api/auth/sessions/{session_id}", account::revoke),
    row(Put, "/api/auth/password", account::change_password),
    row(Get, "/api/{user_id}/tasks", tasks::list),
    row(Get, "/api/{user_id}/tags", tasks::tags),
    row(Post, "/api/{user_id}/tasks", tasks::create),
    row(Get, "/api/{user_id}/tasks/{task_id}", tasks::get),
    row(Put, "/api/{user_id}/tasks/{task_id}", tasks::update),
    row(Delete, "/api/{user_id}/tasks/{task_id}", tasks::delete),
    row(
        Patch,
        "/api/{user_id}/tasks/{task_id}/complete",
        tasks::toggle,
    ),
    row(Get, "/api/{user_id}/changes", sync::changes),
    row(Post, "/api/{user_id}/events/ticket", events::ticket),
    row(Get, "/api/{user_id}/events", events::stream),
];

pub enum Matched {
    Found(&'static Route, Path),
    NotFound,
    /// The `Allow` value of a known path.
    MethodNotAllowed(String),
    /// `OPTIONS` on a known path, with its `Allow` value.
    Options(String),
}

/// `method` is `None` for a method we do not know at all (405 on a known path).
pub fn route(method: Option<Method>, path: &str) -> Matched {
    let Some((template, params)) = ROUTES
        .iter()
        .find_map(|r| match_template(r.template, path).map(|p| (r.template, p)))
    else {
        return Matched::NotFound;
    };
    let wanted = match method {
        Some(Method::Options) => return Matched::Options(allow(template)),
        Some(Method::Head) => Some(Method::Get),
        other => other,
    };
    match ROUTES
        .iter()
        .find(|r| r.template == template && Some(r.method) == wanted)
    {
        Some(route) => Matched::Found(route, params),
        None => Matched::MethodNotAllowed(allow(template)),
    }
}

/// `GET, HEAD, PUT, DELETE, OPTIONS`: the template's methods in `Method` order.
fn allow(template: &str) -> String {
    let mut methods: Vec<Method> = ROUTES
        .iter()
        .filter(|r| r.template == template)
        .map(|r| r.method)
        .collect();
    if methods.contains(&Method::Get) {
        methods.push(Method::Head);
    }
    methods.push(Method::Options);
    join(methods)
}

/// Every method some route answers, for CORS preflights.
pub static CORS_METHODS: LazyLock<String> = LazyLock::new(|| {
    join(
        ROUTES
            .iter()
            .map(|r| r.method)
            .chain([Method::Options])
            .collect(),
    )
});

fn join(mut methods: Vec<Method>) -> String {
    methods.sort();
    methods.dedup();
    methods
        .iter()
        .map(|m| m.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn match_template(template: &str, path: &str) -> Option<Path> {
    let mut params = NO_PARAMS;
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') => {
                if h.is_empty() {
                    return None;
                }
                match w {
                    "{user_id}" => params.user = Uuid::parse_str(h).ok(),
                    "{task_id}" => params.task = TaskId::parse(h),
                    "{session_id}" => params.session = Uuid::parse_str(h).ok(),
                    _ => {}
                }
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(method: &str, path: &str) -> Option<(&'static str, Path)> {
        match route(Method::parse(method), path) {
            Matched::Found(r, p) => Some((r.template, p)),
            _ => None,
        }
    }

    #[test]
    fn paths_match_templates_with_typed_parameters() {
        let user = Uuid::new_v4();
        let (template, path) = found("PATCH", &format!("/api/{user}/tasks/7/complete")).unwrap();
        assert_eq!(template, "/api/{user_id}/tasks/{task_id}/complete");
        assert_eq!(path.user, Some(user));
        assert_eq!(path.task, TaskId::Valid(7));
        let (_, path) = found("GET", "/api/nope/tasks/0").unwrap();
        assert_eq!((path.user, path.task), (None, TaskId::Malformed));
        let (_, path) = found("GET", "/api/x/tasks/99999999999999999999").unwrap();
        assert_eq!(path.task, TaskId::Beyond);
        assert!(matches!(
            route(Some(Method::Get), "/api/u1/tasks/"),
            Matched::NotFound
        ));
        assert!(matches!(
            route(Some(Method::Get), "/api//tasks"),
            Matched::NotFound
        ));
        assert!(found("HEAD", "/health").is_some());
    }

    #[test]
    fn allow_and_cors_methods_derive_from_the_table() {
        match route(None, "/") {
            Matched::MethodNotAllowed(allow) => assert_eq!(allow, "GET, HEAD, OPTIONS"),
            _ => panic!("TRACE / is a 405"),
        }
        match route(Some(Method::Options), "/api/x/tasks/1") {
            Matched::Options(allow) => assert_eq!(allow, "GET, HEAD, PUT, DELETE, OPTIONS"),
            _ => panic!("OPTIONS is answered on every known path"),
        }
        match route(Some(Method::Get), "/api/x/tasks/1/complete") {
            Matched::MethodNotAllowed(allow) => assert_eq!(allow, "PATCH, OPTIONS"),
            _ => panic!("GET on the toggle is a 405"),
        }
        assert_eq!(*CORS_METHODS, "GET, POST, PUT, PATCH, DELETE, OPTIONS");
    }

    #[test]
    fn every_template_parameter_is_one_the_router_parses() {
        for r in ROUTES {
            for segment in r.template.split('/').filter(|s| s.starts_with('{')) {
                assert!(
                    ["{user_id}", "{task_id}", "{session_id}"].contains(&segment),
                    "{} has an unparsed parameter {segment}",
                    r.template
                );
            }
        }
    }
}
