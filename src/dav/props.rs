//! `PROPFIND` (RFC 4918 9.1) over the tree: the root, the caller's principal, their calendar home,
//! a collection (a list) and its objects (tasks), each with the properties clients ask for.

use super::href::{self, Target};
use super::multistatus::{href_value, prop, sync_token, text_prop, Multistatus, Name};
use super::xml::{self, Element, APPLE, CALDAV, CS, DAV};
use super::{collection, ical};
use crate::api::sync::etag;
use crate::api::App;
use crate::auth::caller::Caller;
use crate::db::dav::{self, Collection, Object, Tag};
use crate::db::users;
use crate::domain::Priority;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};

/// What a `PROPFIND` asks for: named properties, or all we have.
pub enum Wanted {
    All,
    Props(Vec<Name>),
}

impl Wanted {
    pub fn from_prop(prop: &Element) -> Wanted {
        Wanted::Props(
            prop.children
                .iter()
                .map(|c| (c.ns.clone(), c.name.clone()))
                .collect(),
        )
    }

    pub fn wants(&self, ns: &str, name: &str) -> bool {
        match self {
            Wanted::All => !(ns == CALDAV && name == "calendar-data"),
            Wanted::Props(names) => names.iter().any(|(n, l)| n == ns && l == name),
        }
    }
}

/// The properties of one kind of resource: the ones asked for that it has, and those it has not.
fn answer(
    out: &mut Multistatus,
    href: &str,
    wanted: &Wanted,
    all: &[(&str, &str)],
    value: impl Fn(&str, &str) -> Option<String>,
) {
    match wanted {
        Wanted::All => {
            let found: Vec<String> = all.iter().filter_map(|(ns, n)| value(ns, n)).collect();
            out.resource(href, &found, &[]);
        }
        Wanted::Props(names) => {
            let mut found = Vec::new();
            let mut missing = Vec::new();
            for name in names {
                match value(&name.0, &name.1) {
                    Some(v) => found.push(v),
                    None => missing.push(name),
                }
            }
            out.resource(href, &found, &missing);
        }
    }
}

pub fn propfind(app: &App, req: &Request, me: &Caller, target: &Target) -> ApiResult<Response> {
    let wanted = match req.body.iter().all(u8::is_ascii_whitespace) {
        true => Wanted::All,
        false => {
            let root = xml::parse(&req.body).map_err(ApiError::bad_request)?;
            if !root.is(DAV, "propfind") {
                return Err(ApiError::bad_request("Expected a DAV:propfind body"));
            }
            match root.child(DAV, "prop") {
                Some(p) => Wanted::from_prop(p),
                None => Wanted::All,
            }
        }
    };
    let deep = req.header("depth").map(str::trim) != Some("0");
    let mut conn = app.db()?;
    let account = users::find_alive(&mut conn, me)?.ok_or(ApiError::InvalidToken)?;
    let (name, email) = (account.name, account.email);
    let mut out = Multistatus::new();
    let user = me.user;
    let common = |ns: &str, n: &str| match (ns, n) {
        (DAV, "current-user-principal") => Some(prop(
            "d:current-user-principal",
            &href_value(&href::principal(user)),
        )),
        (DAV, "principal-URL") => {
            Some(prop("d:principal-URL", &href_value(&href::principal(user))))
        }
        (CALDAV, "calendar-home-set") => {
            Some(prop("c:calendar-home-set", &href_value(&href::home(user))))
        }
        (CALDAV, "calendar-user-address-set") => Some(prop(
            "c:calendar-user-address-set",
            &href_value(&format!("mailto:{email}")),
        )),
        _ => None,
    };
    match target {
        Target::Root => answer(&mut out, href::ROOT, &wanted, ROOT_PROPS, |ns, n| {
            common(ns, n).or_else(|| match (ns, n) {
                (DAV, "resourcetype") => Some(prop("d:resourcetype", "<d:collection/>")),
                (DAV, "displayname") => Some(text_prop("d:displayname", "todo-api")),
                _ => None,
            })
        }),
        Target::Principal(_) => answer(
            &mut out,
            &href::principal(user),
            &wanted,
            PRINCIPAL_PROPS,
            |ns, n| {
                common(ns, n).or_else(|| match (ns, n) {
                    (DAV, "resourcetype") => Some(prop("d:resourcetype", "<d:principal/>")),
                    (DAV, "displayname") => Some(text_prop("d:displayname", &name)),
                    _ => None,
                })
            },
        ),
        Target::Home(_) => {
            answer(&mut out, &href::home(user), &wanted, HOME_PROPS, |ns, n| {
                common(ns, n).or_else(|| match (ns, n) {
                    (DAV, "resourcetype") => Some(prop("d:resourcetype", "<d:collection/>")),
                    (DAV, "displayname") => Some(text_prop("d:displayname", &name)),
                    (DAV, "owner") => Some(prop("d:owner", &href_value(&href::principal(user)))),
                    (DAV, "current-user-privilege-set") => Some(privileges(true)),
                    _ => None,
                })
            });
            if deep {
                for c in dav::collections(&mut conn, me, None)? {
                    collection_props(&mut out, user, &c, &wanted);
                }
            }
        }
        Target::Collection(_, c) => {
            let c = collection(&mut conn, me, c)?;
            collection_props(&mut out, user, &c, &wanted);
            if deep {
                objects_props(&mut conn, me, &mut out, user, &c, &wanted)?;
            }
        }
        Target::Object(_, c, o) => {
            let c = collection(&mut conn, me, c)?;
            let names = [o.clone()];
            let object = dav::objects(&mut conn, me, c.list, Some(&names))?
                .into_iter()
                .next()
                .ok_or(ApiError::NotFound("Not Found"))?;
            object_props(
                &mut out,
                &href::object(user, &c.name, o),
                &object,
                None,
                &wanted,
            );
        }
    }
    Ok(out.finish())
}

const ROOT_PROPS: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "current-user-principal"),
];
const PRINCIPAL_PROPS: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "current-user-principal"),
    (DAV, "principal-URL"),
    (CALDAV, "calendar-home-set"),
    (CALDAV, "calendar-user-address-set"),
];
const HOME_PROPS: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "owner"),
    (DAV, "current-user-principal"),
    (DAV, "current-user-privilege-set"),
];
const COLLECTION_PROPS: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "displayname"),
    (DAV, "owner"),
    (DAV, "current-user-privilege-set"),
    (DAV, "supported-report-set"),
    (DAV, "sync-token"),
    (CS, "getctag"),
    (CALDAV, "supported-calendar-component-set"),
    (APPLE, "calendar-color"),
];
const OBJECT_PROPS: &[(&str, &str)] = &[
    (DAV, "resourcetype"),
    (DAV, "getetag"),
    (DAV, "getcontenttype"),
    (DAV, "getlastmodified"),
];

/// Viewers may read; owners and editors may change the list's tasks and properties.
fn privileges(writable: bool) -> String {
    let mut set = String::from(
        "<d:privilege><d:read/></d:privilege>\
         <d:privilege><d:read-current-user-privilege-set/></d:privilege>",
    );
    if writable {
        set.push_str(
            "<d:privilege><d:write/></d:privilege>\
             <d:privilege><d:write-content/></d:privilege>\
             <d:privilege><d:write-properties/></d:privilege>\
             <d:privilege><d:bind/></d:privilege>\
             <d:privilege><d:unbind/></d:privilege>",
        );
    }
    prop("d:current-user-privilege-set", &set)
}

pub fn collection_props(out: &mut Multistatus, user: uuid::Uuid, c: &Collection, wanted: &Wanted) {
    let href = href::collection(user, &c.name);
    answer(out, &href, wanted, COLLECTION_PROPS, |ns, n| {
        match (ns, n) {
            (DAV, "resourcetype") => Some(prop("d:resourcetype", "<d:collection/><c:calendar/>")),
            (DAV, "displayname") => Some(text_prop("d:displayname", &c.display)),
            (DAV, "owner") => Some(prop("d:owner", &href_value(&href::principal(c.owner)))),
            (DAV, "current-user-principal") => Some(prop(
                "d:current-user-principal",
                &href_value(&href::principal(user)),
            )),
            (DAV, "current-user-privilege-set") => Some(privileges(c.writable())),
            (DAV, "supported-report-set") => Some(prop(
                "d:supported-report-set",
                "<d:supported-report><d:report><c:calendar-query/></d:report></d:supported-report>\
             <d:supported-report><d:report><c:calendar-multiget/></d:report></d:supported-report>\
             <d:supported-report><d:report><d:sync-collection/></d:report></d:supported-report>",
            )),
            (DAV, "sync-token") => Some(text_prop("d:sync-token", &sync_token(c.seq))),
            (CS, "getctag") => Some(text_prop("cs:getctag", &sync_token(c.seq))),
            (CALDAV, "supported-calendar-component-set") => Some(prop(
                "c:supported-calendar-component-set",
                "<c:comp name=\"VTODO\"/>",
            )),
            (APPLE, "calendar-color") => c
                .color
                .as_deref()
                .map(|color| text_prop("a:calendar-color", color)),
            (DAV, "getcontenttype") => Some(text_prop("d:getcontenttype", "text/calendar")),
            _ => None,
        }
    });
}

/// A collection's objects without their data, straight from the index (a sync's first step).
fn objects_props(
    conn: &mut crate::db::Conn,
    me: &Caller,
    out: &mut Multistatus,
    user: uuid::Uuid,
    c: &Collection,
    wanted: &Wanted,
) -> ApiResult<()> {
    if wanted.wants(CALDAV, "calendar-data") {
        for object in dav::objects(conn, me, c.list, None)? {
            object_props(
                out,
                &href::object(user, &c.name, &object.name),
                &object,
                None,
                wanted,
            );
        }
        return Ok(());
    }
    for tag in dav::tags(conn, me, c.list)? {
        tag_props(out, &href::object(user, &c.name, &tag.name), &tag, wanted);
    }
    Ok(())
}

fn tag_value(tag: &Tag, ns: &str, n: &str) -> Option<String> {
    match (ns, n) {
        (DAV, "resourcetype") => Some(prop("d:resourcetype", "")),
        (DAV, "getetag") => Some(text_prop("d:getetag", &etag(tag.id, tag.updated_at))),
        (DAV, "getcontenttype") => Some(text_prop(
            "d:getcontenttype",
            "text/calendar; charset=utf-8; component=VTODO",
        )),
        (DAV, "getlastmodified") => Some(text_prop(
            "d:getlastmodified",
            &tag.updated_at
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string(),
        )),
        _ => None,
    }
}

pub fn tag_props(out: &mut Multistatus, href: &str, tag: &Tag, wanted: &Wanted) {
    answer(out, href, wanted, OBJECT_PROPS, |ns, n| {
        tag_value(tag, ns, n)
    });
}

/// `ics`: the object as [`render`] gives it, when the caller has rendered it already.
pub fn object_props(
    out: &mut Multistatus,
    href: &str,
    object: &Object,
    ics: Option<&str>,
    wanted: &Wanted,
) {
    let tag = Tag {
        id: object.id,
        updated_at: object.updated_at,
        name: String::new(),
    };
    answer(out, href, wanted, OBJECT_PROPS, |ns, n| match (ns, n) {
        (CALDAV, "calendar-data") => Some(match ics {
            Some(ics) => text_prop("c:calendar-data", ics),
            None => text_prop("c:calendar-data", &render(object)),
        }),
        _ => tag_value(&tag, ns, n),
    });
}

/// The calendar object of a task: what its client stored, with the model's fields merged in.
pub fn render(o: &Object) -> String {
    ical::render(
        o.ical.as_deref(),
        &ical::Fields {
            uid: &o.uid,
            title: &o.title,
            description: o.description.as_deref(),
            completed: o.completed,
            completed_at: o.completed_at,
            priority: Priority::from_rank(o.priority).unwrap_or(Priority::None),
            due_at: o.due_at,
            timezone: &o.timezone,
            tags: &o.tags,
            parent_uid: o.parent_uid.as_deref(),
            recurrence: o.recurrence.as_deref(),
            created_at: o.created_at,
            updated_at: o.updated_at,
        },
    )
}
