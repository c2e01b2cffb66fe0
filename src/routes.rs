//! THE route table: one row per method and path template, with the access rule that the router
//! applies before the handler runs (`api::access`). `Allow`, the CORS methods, 404 and 405 are
//! derived from it, and tests hold it to the OpenAPI document and walk it with a revoked session.
//! Nothing imports it back but the dispatch.

use crate::api::access::Access::{self, Account, Own, Public, Read, Write};
use crate::api::live::events;
use crate::api::path::Path;
use crate::api::{account, auth, lists, service, sync, tasks, tokens};
use crate::http::Method;
use std::sync::LazyLock;

pub struct Route {
    pub method: Method,
    pub template: &'static str,
    pub access: Access,
}

const fn row(method: Method, template: &'static str, access: Access) -> Route {
    Route {
        method,
        template,
        access,
    }
}

use Method::{Delete, Get, Patch, Post, Put};

/// `HEAD` is served wherever `GET` is, `OPTIONS` on every path.
pub static ROUTES: &[Route] = &[
    row(Get, "/", Public(|_, _, _| Ok(service::root()))),
    row(Get, "/health", Public(|app, _, _| Ok(service::health(app)))),
    row(
        Get,
        "/health/ready",
        Public(|app, _, _| Ok(service::ready(app))),
    ),
    row(
        Get,
        "/openapi.json",
        Public(|_, _, _| Ok(service::openapi())),
    ),
    row(Get, "/docs", Public(|app, _, _| Ok(app.docs.page()))),
    row(Post, "/api/auth/signup", Public(auth::signup)),
    row(Post, "/api/auth/signin", Public(auth::signin)),
    row(Get, "/api/auth/me", Read(auth::me)),
    row(Patch, "/api/auth/me", Account(account::rename)),
    row(Delete, "/api/auth/me", Account(account::delete)),
    row(Post, "/api/auth/signout", Account(account::signout)),
    row(Get, "/api/auth/sessions", Account(account::list)),
    row(Delete, "/api/auth/sessions", Account(account::revoke_all)),
    row(
        Delete,
        "/api/auth/sessions/{session_id}",
        Account(account::revoke),
    ),
    row(Put, "/api/auth/password", Account(account::change_password)),
    row(Get, "/api/{user_id}/tasks", Read(tasks::list)),
    row(Get, "/api/{user_id}/tags", Read(tasks::tags)),
    row(Post, "/api/{user_id}/tasks", Write(tasks::create)),
    row(Get, "/api/{user_id}/tasks/{task_id}", Read(tasks::get)),
    row(Put, "/api/{user_id}/tasks/{task_id}", Write(tasks::update)),
    row(
        Delete,
        "/api/{user_id}/tasks/{task_id}",
        Write(tasks::delete),
    ),
    row(
        Patch,
        "/api/{user_id}/tasks/{task_id}/complete",
        Write(tasks::toggle),
    ),
    row(Get, "/api/{user_id}/lists", Read(lists::all)),
    row(Post, "/api/{user_id}/lists", Write(lists::create)),
    row(Get, "/api/{user_id}/lists/{list_id}", Read(lists::get)),
    row(
        Patch,
        "/api/{user_id}/lists/{list_id}",
        Write(lists::update),
    ),
    row(Delete, "/api/{user_id}/lists/{list_id}", Own(lists::delete)),
    row(
        Post,
        "/api/{user_id}/lists/{list_id}/invitations",
        Own(lists::invite),
    ),
    row(
        Get,
        "/api/{user_id}/lists/{list_id}/invitations",
        Own(lists::invitations_of),
    ),
    row(
        Delete,
        "/api/{user_id}/lists/{list_id}/invitations/{invitation_id}",
        Own(lists::revoke_invitation),
    ),
    row(
        Get,
        "/api/{user_id}/lists/{list_id}/members",
        Read(lists::members),
    ),
    row(
        Patch,
        "/api/{user_id}/lists/{list_id}/members/{member_id}",
        Own(lists::set_role),
    ),
    // Any member may leave; removing another takes the owner (the statement's rule).
    row(
        Delete,
        "/api/{user_id}/lists/{list_id}/members/{member_id}",
        Write(lists::remove),
    ),
    row(
        Get,
        "/api/{user_id}/invitations",
        Read(lists::invitations_to),
    ),
    row(
        Post,
        "/api/{user_id}/invitations/{invitation_id}/accept",
        Write(lists::accept),
    ),
    row(
        Post,
        "/api/{user_id}/invitations/{invitation_id}/decline",
        Write(lists::decline),
    ),
    row(Get, "/api/{user_id}/changes", Read(sync::changes)),
    row(Post, "/api/{user_id}/tokens", Account(tokens::create)),
    row(Get, "/api/{user_id}/tokens", Account(tokens::list)),
    row(
        Delete,
        "/api/{user_id}/tokens/{token_id}",
        Account(tokens::delete),
    ),
    row(Post, "/api/{user_id}/events/ticket", Read(events::ticket)),
    // The ticket is the credential: an EventSource cannot send a token.
    row(Get, "/api/{user_id}/events", Public(events::stream)),
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
    let mut params = Path::NONE;
    let mut want = template.split('/');
    let mut have = path.split('/');
    loop {
        match (want.next(), have.next()) {
            (None, None) => return Some(params),
            (Some(w), Some(h)) if w.starts_with('{') => {
                if h.is_empty() {
                    return None;
                }
                params.set(w, h);
            }
            (Some(w), Some(h)) if w == h => {}
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::path::TaskId;
    use uuid::Uuid;

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
        assert_eq!(path.user, Some(Some(user)));
        assert_eq!(path.task, TaskId::Valid(7));
        let (_, path) = found("GET", "/api/nope/tasks/0").unwrap();
        assert_eq!((path.user, path.task), (Some(None), TaskId::Malformed));
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
                    Path::PARAMETERS.contains(&segment),
                    "{} has an unparsed parameter {segment}",
                    r.template
                );
            }
        }
    }
}
