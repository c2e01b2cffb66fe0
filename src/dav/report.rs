//! `REPORT` on a collection: `calendar-query` and `calendar-multiget` (RFC 4791 7.8, 7.9) and
//! `sync-collection` (RFC 6578) on the changes the feed already numbers. Any other report is a
//! 403 with `DAV:supported-report`, never an empty success.

use super::filter::{
    Collation, CompFilter, MatchType, ParamFilter, PropFilter, TextMatch, TimeRange,
};
use super::href::{self, Target};
use super::multistatus::{parse_sync_token, Multistatus};
use super::props::{object_props, render, tag_props, Wanted};
use super::xml::{self, Element, CALDAV, DAV};
use super::{collection, refused};
use crate::api::App;
use crate::auth::caller::Caller;
use crate::db::dav;
use crate::error::{ApiError, ApiResult};
use crate::http::{Request, Response};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub fn report(app: &App, req: &Request, me: &Caller, name: &str) -> ApiResult<Response> {
    let root = xml::parse(&req.body).map_err(ApiError::bad_request)?;
    let wanted = match root.child(DAV, "prop") {
        Some(prop) => Wanted::from_prop(prop),
        None => Wanted::Props(vec![(DAV.into(), "getetag".into())]),
    };
    let mut conn = app.db()?;
    let conn = &mut *conn;
    let c = collection(conn, me, name)?;
    let mut out = Multistatus::new();
    let object_href = |name: &str| href::object(me.user, &c.name, name);
    match (root.ns.as_str(), root.name.as_str()) {
        (CALDAV, "calendar-query") => {
            let filter = match root.child(CALDAV, "filter").map(comp_filter_of) {
                Some(Ok(filter)) => Some(filter),
                Some(Err(e)) => return Err(refused("c:valid-filter", &e)),
                None => None,
            };
            for object in dav::objects(conn, me, c.list, None)? {
                let ics = match &filter {
                    Some(filter) => {
                        let ics = render(&object);
                        if !super::filter::matches(filter, &ics) {
                            continue;
                        }
                        Some(ics)
                    }
                    None => None,
                };
                let href = object_href(&object.name);
                object_props(&mut out, &href, &object, ics.as_deref(), &wanted);
            }
        }
        (CALDAV, "calendar-multiget") => {
            let mut names = Vec::new();
            let mut elsewhere = Vec::new();
            for h in root.children_named(DAV, "href") {
                match Target::parse(href::path_of(&h.text)) {
                    Some(Target::Object(user, coll, object))
                        if user == me.user && coll == c.name =>
                    {
                        names.push(object)
                    }
                    _ => elsewhere.push(h.text.trim().to_string()),
                }
            }
            let objects = dav::objects(conn, me, c.list, Some(&names))?;
            for name in &names {
                match objects.iter().find(|o| &o.name == name) {
                    Some(object) => {
                        object_props(&mut out, &object_href(name), object, None, &wanted)
                    }
                    None => out.gone(&object_href(name)),
                }
            }
            for h in elsewhere {
                out.gone(&h);
            }
        }
        (DAV, "sync-collection") => {
            let token = root.child(DAV, "sync-token").map_or("", |t| t.text.trim());
            let since = match token {
                "" => None,
                t => match parse_sync_token(t) {
                    Some(n) => Some(n),
                    None => return Err(stale()),
                },
            };
            // Nothing since: the token is the list's change number now, read with the collection.
            if since == Some(c.seq) {
                out.sync_token(c.seq);
                return Ok(out.finish());
            }
            let changes = dav::changes(conn, me, c.list, since.unwrap_or(0))?
                .ok_or(ApiError::NotFound("Calendar not found"))?;
            if let Some(n) = since {
                if n > changes.now || n < changes.purged_through {
                    return Err(stale());
                }
            }
            let present: Vec<&str> = changes.changed.iter().map(|t| t.name.as_str()).collect();
            if wanted.wants(CALDAV, "calendar-data") {
                let ids: Vec<i64> = changes.changed.iter().map(|t| t.id).collect();
                for object in dav::objects_by_id(conn, me, &ids)? {
                    object_props(&mut out, &object_href(&object.name), &object, None, &wanted);
                }
            } else {
                for tag in &changes.changed {
                    tag_props(&mut out, &object_href(&tag.name), tag, &wanted);
                }
            }
            if since.is_some() {
                for gone in changes
                    .gone
                    .iter()
                    .filter(|g| !present.contains(&g.as_str()))
                {
                    out.gone(&object_href(gone));
                }
            }
            out.sync_token(changes.now);
        }
        _ => {
            return Err(refused(
                "d:supported-report",
                "This report is not supported",
            ))
        }
    }
    Ok(out.finish())
}

fn stale() -> ApiError {
    refused(
        "d:valid-sync-token",
        "The sync token is unknown or too old; sync again from the start",
    )
}

/// The `filter` element's one `comp-filter` (for `VCALENDAR`).
fn comp_filter_of(filter: &Element) -> Result<CompFilter, String> {
    let top = filter
        .child(CALDAV, "comp-filter")
        .ok_or("A filter needs a comp-filter")?;
    comp_filter(top)
}

fn comp_filter(e: &Element) -> Result<CompFilter, String> {
    Ok(CompFilter {
        name: name_attr(e)?,
        is_not_defined: e.child(CALDAV, "is-not-defined").is_some(),
        time_range: e.child(CALDAV, "time-range").map(time_range).transpose()?,
        props: e
            .children_named(CALDAV, "prop-filter")
            .map(prop_filter)
            .collect::<Result<_, _>>()?,
        comps: e
            .children_named(CALDAV, "comp-filter")
            .map(comp_filter)
            .collect::<Result<_, _>>()?,
    })
}

fn prop_filter(e: &Element) -> Result<PropFilter, String> {
    Ok(PropFilter {
        name: name_attr(e)?,
        is_not_defined: e.child(CALDAV, "is-not-defined").is_some(),
        time_range: e.child(CALDAV, "time-range").map(time_range).transpose()?,
        text_match: e.child(CALDAV, "text-match").map(text_match).transpose()?,
        params: e
            .children_named(CALDAV, "param-filter")
            .map(|p| {
                Ok(ParamFilter {
                    name: name_attr(p)?,
                    is_not_defined: p.child(CALDAV, "is-not-defined").is_some(),
                    text_match: p.child(CALDAV, "text-match").map(text_match).transpose()?,
                })
            })
            .collect::<Result<_, String>>()?,
    })
}

fn name_attr(e: &Element) -> Result<String, String> {
    e.attr("name")
        .map(|n| n.trim().to_ascii_uppercase())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| format!("A {} needs a name", e.name))
}

fn text_match(e: &Element) -> Result<TextMatch, String> {
    let collation = match e.attr("collation").unwrap_or("i;ascii-casemap") {
        "i;ascii-casemap" => Collation::AsciiCasemap,
        "i;octet" => Collation::Octet,
        "i;unicode-casemap" => Collation::UnicodeCasemap,
        other => return Err(format!("Collation {other} is not supported")),
    };
    let match_type = match e.attr("match-type").unwrap_or("contains") {
        "equals" => MatchType::Equals,
        "starts-with" => MatchType::StartsWith,
        "ends-with" => MatchType::EndsWith,
        _ => MatchType::Contains,
    };
    Ok(TextMatch {
        text: e.text.clone(),
        negate: e.attr("negate-condition") == Some("yes"),
        collation,
        match_type,
    })
}

fn time_range(e: &Element) -> Result<TimeRange, String> {
    let at = |name: &str| e.attr(name).map(utc).transpose();
    let range = TimeRange {
        start: at("start")?,
        end: at("end")?,
    };
    if range.start.is_none() && range.end.is_none() {
        return Err("A time-range needs a start or an end".into());
    }
    Ok(range)
}

/// `20270105T120000Z` (or a date, `20270105`).
fn utc(raw: &str) -> Result<DateTime<Utc>, String> {
    let raw = raw.trim();
    NaiveDateTime::parse_from_str(raw, "%Y%m%dT%H%M%SZ")
        .or_else(|_| {
            NaiveDate::parse_from_str(raw, "%Y%m%d")
                .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
        })
        .map(|t| t.and_utc())
        .map_err(|_| format!("{raw} is not a UTC date-time such as 20270105T120000Z"))
}
