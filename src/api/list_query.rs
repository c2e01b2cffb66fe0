//! `GET /api/{user_id}/tasks` query parameters, parsed into a filter, an order and a page, every
//! bad value reported against its parameter's name.

use super::cursor::{self, CursorError, Cursors};
use super::input::invalid;
use crate::db::task_list::{Assignee, Filter, Position, Search, Sort};
use crate::domain::{DueAt, Priority, Tag};
use crate::error::{ApiError, ApiResult, FieldError};
use crate::http::Request;
use chrono::SecondsFormat;
use uuid::Uuid;

pub const LIST_LIMIT_MAX: i64 = 1000;
/// `q`: each term is a LIKE on every candidate row, so their number and length are bounded.
pub const MAX_TERMS: usize = 20;
pub const MAX_TERM_CHARS: usize = 100;

pub struct ListQuery {
    pub filter: Filter,
    pub sort: Sort,
    pub limit: Option<i64>,
    pub after: Option<Position>,
    /// The sort and filters in one canonical query string (no `limit`, no `cursor`): the next
    /// page's link repeats it, and its digest binds the cursor to it.
    pub canonical: String,
}

impl ListQuery {
    /// The cursor is signed for `user`: another user's cursor is as invalid as a forged one.
    pub fn parse(req: &Request, cursors: &Cursors, user: Uuid) -> ApiResult<ListQuery> {
        let mut errors = Vec::new();
        let mut canonical = Canonical::default();
        let completed = match req.query_param("status").as_deref() {
            None => None,
            // Kept in the link as given, `all` too.
            Some(s @ ("all" | "pending" | "completed")) => {
                canonical.add("status", s);
                (s != "all").then_some(s == "completed")
            }
            Some(_) => {
                errors.push(invalid(
                    "status",
                    "status must be one of: all, pending, completed",
                ));
                None
            }
        };
        let mut filter = Filter {
            completed,
            ..Filter::default()
        };

        let priorities = priorities(req, &mut errors);
        if !priorities.is_empty() {
            let names: Vec<&str> = priorities.iter().map(|p| p.as_str()).collect();
            canonical.add("priority", &names.join(","));
            filter.priorities = priorities.iter().map(|p| p.rank()).collect();
        }

        for raw in req.query_values("tag") {
            match Tag::parse(&raw) {
                Ok(tag) => {
                    canonical.add("tag", &tag);
                    filter.tags.push(tag.to_string());
                }
                Err(problem) => errors.push(invalid("tag", &format!("tag: {problem}"))),
            }
        }

        if let Some(q) = req.query_param("q").filter(|q| {
            let clean = !q.contains('\0');
            if !clean {
                errors.push(invalid("q", "q must not contain NUL (U+0000) characters"));
            }
            clean
        }) {
            let terms: Vec<&str> = q.split_whitespace().collect();
            if terms.len() > MAX_TERMS {
                errors.push(invalid(
                    "q",
                    &format!("q may hold at most {MAX_TERMS} terms"),
                ));
            } else if terms.iter().any(|t| t.chars().count() > MAX_TERM_CHARS) {
                errors.push(invalid(
                    "q",
                    &format!("Each term of q may be at most {MAX_TERM_CHARS} characters"),
                ));
            } else if !terms.is_empty() {
                canonical.add("q", &terms.join(" "));
                filter.search = Search::new(terms.into_iter().map(like_escape).collect());
            }
        }

        for (name, bound) in [
            ("due_before", &mut filter.due_before),
            ("due_after", &mut filter.due_after),
        ] {
            if let Some(raw) = req.query_param(name) {
                match DueAt::parse(&raw, name) {
                    Ok(t) => {
                        canonical.add(name, &t.utc().to_rfc3339_opts(SecondsFormat::Micros, true));
                        *bound = Some(t.utc());
                    }
                    Err(problem) => errors.push(invalid(name, &problem)),
                }
            }
        }

        if let Some(raw) = req.query_param("list") {
            match Uuid::parse_str(&raw) {
                Ok(list) => {
                    canonical.add("list", &list.to_string());
                    filter.list = Some(list);
                }
                Err(_) => errors.push(invalid("list", "list must be a list's id (a UUID)")),
            }
        }
        if let Some(raw) = req.query_param("assignee") {
            let assignee = match raw.as_str() {
                "me" => Some(Assignee::Me),
                "none" => Some(Assignee::Nobody),
                other => Uuid::parse_str(other).ok().map(Assignee::Member),
            };
            match assignee {
                Some(a) => {
                    canonical.add("assignee", &raw);
                    filter.assignee = Some(a);
                }
                None => errors.push(invalid(
                    "assignee",
                    "assignee must be me, none or a member's id (a UUID)",
                )),
            }
        }

        if let Some(raw) = req.query_param("parent") {
            let parent = match raw.as_str() {
                "none" => Some(None),
                other => other.parse::<i64>().ok().filter(|n| *n > 0).map(Some),
            };
            match parent {
                Some(p) => {
                    canonical.add("parent", &raw);
                    filter.parent = Some(p);
                }
                None => errors.push(invalid(
                    "parent",
                    "parent must be none or a task id (a positive integer)",
                )),
            }
        }

        let sort_param = req.query_param("sort");
        let sort = match &sort_param {
            None => Sort::CreatedDesc,
            Some(raw) => Sort::parse(raw).unwrap_or_else(|| {
                let names: Vec<&str> = Sort::ALL.iter().map(|s| s.name()).collect();
                errors.push(invalid(
                    "sort",
                    &format!("sort must be one of: {}", names.join(", ")),
                ));
                Sort::CreatedDesc
            }),
        };
        if sort_param.is_some() {
            canonical.add("sort", sort.name());
        }

        let limit = req.query_param("limit").and_then(|raw| match raw.parse() {
            Ok(n @ 1..=LIST_LIMIT_MAX) => Some(n),
            _ => {
                errors.push(invalid(
                    "limit",
                    &format!("limit must be an integer from 1 to {LIST_LIMIT_MAX}"),
                ));
                None
            }
        });
        if !errors.is_empty() {
            return Err(ApiError::Validation(errors));
        }

        let canonical = canonical.0;
        let after = match req.query_param("cursor") {
            None => None,
            Some(raw) => match cursors.decode(user, cursor::digest(&canonical), &raw) {
                Ok(position) if position.sort() == sort => Some(position),
                Ok(_) | Err(CursorError::OtherQuery) => {
                    return Err(ApiError::Validation(vec![invalid(
                        "cursor",
                        "Cursor does not match this query",
                    )]))
                }
                Err(CursorError::Invalid) => {
                    return Err(ApiError::Validation(vec![invalid(
                        "cursor",
                        "cursor is not valid: use the Link header of the previous page",
                    )]))
                }
            },
        };
        Ok(ListQuery {
            filter,
            sort,
            limit,
            after,
            canonical,
        })
    }
}

/// `priority=high,medium` (also repeated): any of them, listed high first, once each.
fn priorities(req: &Request, errors: &mut Vec<FieldError>) -> Vec<Priority> {
    let mut wanted = Vec::new();
    for raw in req.query_values("priority") {
        for name in raw.split(',') {
            match Priority::parse(name.trim()) {
                Ok(p) => wanted.push(p),
                Err(_) => {
                    errors.push(invalid(
                        "priority",
                        "priority must be a comma-separated list of: none, low, medium, high",
                    ));
                    return Vec::new();
                }
            }
        }
    }
    wanted.sort_by(|a, b| b.cmp(a));
    wanted.dedup();
    wanted
}

/// A search term as a `LIKE` operand that matches only itself: `%`, `_` and `\` lose their meaning.
fn like_escape(term: &str) -> String {
    let mut out = String::with_capacity(term.len() + 2);
    for c in term.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// `name=value&...`, each value percent-encoded.
#[derive(Default)]
struct Canonical(String);

impl Canonical {
    fn add(&mut self, name: &str, value: &str) {
        if !self.0.is_empty() {
            self.0.push('&');
        }
        self.0.push_str(name);
        self.0.push('=');
        for b in value.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~,".contains(&b) {
                self.0.push(b as char);
            } else {
                self.0.push_str(&format!("%{b:02X}"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_in_a_term_match_only_themselves() {
        assert_eq!(like_escape(r"50%_off\now"), r"50\%\_off\\now");
    }

    #[test]
    fn canonical_values_are_percent_encoded() {
        let mut c = Canonical::default();
        c.add("q", "milk & bread");
        c.add("priority", "high,low");
        assert_eq!(c.0, "q=milk%20%26%20bread&priority=high,low");
    }
}
