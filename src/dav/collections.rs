//! Calendar collections (lists): `MKCALENDAR` (RFC 4791 5.3.1) at a name the client chooses,
//! `PROPPATCH` of the name and colour, and `DELETE`, each through the list functions REST uses.

use super::multistatus::{Multistatus, Name};
use super::xml::{self, Element, APPLE, CALDAV, DAV};
use super::{collection, href, refused};
use crate::api::App;
use crate::auth::caller::Caller;
use crate::db::{dav, lists};
use crate::domain::{Color, ListName};
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};

/// What a client may set on a collection: its name and colour (`None` inside: remove it).
#[derive(Default)]
struct Settings {
    display: Option<ListName>,
    color: Option<Option<Color>>,
    /// Properties we do not keep, which a `PROPPATCH` refuses (403) and `MKCALENDAR` ignores.
    other: Vec<Name>,
    /// `MKCALENDAR` asked for a calendar without VTODO.
    no_todos: bool,
}

/// `#rrggbb`, or Apple's `#rrggbbaa` (the alpha is dropped).
fn color(raw: &str) -> Result<Color, String> {
    let raw = raw.trim();
    match raw.len() {
        9 => Color::parse(&raw[..7]),
        _ => Color::parse(raw),
    }
}

fn settings(update: &Element) -> Result<Settings, String> {
    let mut s = Settings::default();
    for (op, remove) in
        update
            .children
            .iter()
            .filter_map(|c| match (c.ns.as_str(), c.name.as_str()) {
                (DAV, "set") => Some((c, false)),
                (DAV, "remove") => Some((c, true)),
                _ => None,
            })
    {
        for prop in op.children_named(DAV, "prop").flat_map(|p| &p.children) {
            match (prop.ns.as_str(), prop.name.as_str(), remove) {
                (DAV, "displayname", false) => {
                    s.display = Some(ListName::parse(&prop.text)?);
                }
                (APPLE, "calendar-color", false) => s.color = Some(Some(color(&prop.text)?)),
                (APPLE, "calendar-color", true) => s.color = Some(None),
                (CALDAV, "supported-calendar-component-set", false) => {
                    s.no_todos = !prop.children.iter().any(|comp| {
                        comp.attr("name")
                            .is_some_and(|n| n.eq_ignore_ascii_case("VTODO"))
                    });
                }
                _ => s.other.push((prop.ns.clone(), prop.name.clone())),
            }
        }
    }
    Ok(s)
}

pub fn make(app: &App, req: &Request, me: &Caller, name: &str) -> ApiResult<Response> {
    let s = match req.body.iter().all(u8::is_ascii_whitespace) {
        true => Settings::default(),
        false => {
            let root = xml::parse(&req.body).map_err(ApiError::bad_request)?;
            if !root.is(CALDAV, "mkcalendar") {
                return Err(ApiError::bad_request("Expected a CALDAV:mkcalendar body"));
            }
            settings(&root).map_err(ApiError::bad_request)?
        }
    };
    if s.no_todos {
        return Err(refused(
            "c:supported-calendar-component",
            "Calendars here hold tasks (VTODO) only",
        ));
    }
    let mut conn = app.db()?;
    if dav::collection(&mut conn, me, name)?.is_some() {
        return Err(ApiError::MethodNotAllowed(super::ALLOW.to_string()));
    }
    let display = match &s.display {
        Some(d) => d.to_string(),
        None => ListName::parse(name)
            .map_err(|e| ApiError::bad_request(e.as_str()))?
            .to_string(),
    };
    let color = s.color.flatten().map(|c| c.to_string());
    match lists::create(&mut conn, me, &display, color.as_deref(), Some(name)) {
        Ok(Some(lists::Created::List(_))) => {
            app.tell(&[me.user]);
            Ok(Response::empty(201).with_header("Location", href::collection(me.user, name)))
        }
        Ok(Some(lists::Created::TooMany)) => Err(ApiError::Conflict("Too many lists")),
        Ok(None) => Err(ApiError::InvalidToken),
        // Another request made a collection of this name meanwhile.
        Err(e) if crate::db::constraint(&e) == Some("memberships_dav_name_idx") => {
            Err(ApiError::MethodNotAllowed(super::ALLOW.to_string()))
        }
        Err(e) => Err(e.into()),
    }
}

pub fn proppatch(app: &App, req: &Request, me: &Caller, name: &str) -> ApiResult<Response> {
    let root = xml::parse(&req.body).map_err(ApiError::bad_request)?;
    if !root.is(DAV, "propertyupdate") {
        return Err(ApiError::bad_request("Expected a DAV:propertyupdate body"));
    }
    let s = settings(&root).map_err(ApiError::bad_request)?;
    let mut conn = app.db()?;
    let c = collection(&mut conn, me, name)?;
    let href = href::collection(me.user, &c.name);
    let display: Name = (DAV.into(), "displayname".into());
    let colour: Name = (APPLE.into(), "calendar-color".into());
    let mut known: Vec<&Name> = Vec::new();
    if s.display.is_some() {
        known.push(&display);
    }
    if s.color.is_some() {
        known.push(&colour);
    }
    let other: Vec<&Name> = s.other.iter().collect();
    let mut out = Multistatus::new();
    // All or nothing (RFC 4918 9.2): one property we cannot set fails the others.
    if !other.is_empty() || !c.writable() {
        let (refused, failed) = match c.writable() {
            true => (other, known),
            false => (known.into_iter().chain(other).collect(), Vec::new()),
        };
        out.statuses(
            &href,
            &[
                (&refused, "403 Forbidden"),
                (&failed, "424 Failed Dependency"),
            ],
        );
        return Ok(out.finish());
    }
    if !known.is_empty() {
        let color = s.color.as_ref().map(|c| c.as_ref().map(|c| c.to_string()));
        let updated = lists::update(
            &mut conn,
            me,
            c.list,
            s.display.as_deref(),
            color.as_ref().map(|c| c.as_deref()),
        )?;
        let (_, members) = updated.ok_or(ApiError::NotFound("Calendar not found"))?;
        app.tell(&members);
    }
    out.statuses(&href, &[(&known, "200 OK")]);
    Ok(out.finish())
}

pub fn delete(app: &App, me: &Caller, name: &str) -> ApiResult<Response> {
    let mut conn = app.db()?;
    let c = collection(&mut conn, me, name)?;
    if c.role != "owner" {
        return Err(refused(
            "d:need-privileges",
            "Only the list's owner can delete it",
        ));
    }
    if c.is_default {
        return Err(refused(
            "d:need-privileges",
            "The default list cannot be deleted",
        ));
    }
    let members = lists::delete(&mut conn, me, c.list)?.ok_or(ApiError::InvalidToken)?;
    app.tell(&members);
    Ok(Response::empty(204))
}
