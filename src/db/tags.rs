//! The caller's tags, with how many tasks carry each (`GET /api/{user_id}/tags`).

use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use serde::Serialize;

#[derive(Debug, Serialize)]
pub struct TagCount {
    pub tag: String,
    pub count: i64,
}

/// Each tag the user has, in its most used spelling, most used first, then by name; empty when
/// the caller's session is gone.
pub fn tag_counts(conn: &mut Conn, me: &Caller) -> DbResult<Vec<TagCount>> {
    let rows = conn.query(
        "SELECT mode() WITHIN GROUP (ORDER BY t.tag) AS tag, count(*) AS count
         FROM tasks, unnest(tags, tag_keys) AS t (tag, tag_key)
         WHERE list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)
           AND session_ok($1, $2)
         GROUP BY t.tag_key
         ORDER BY count DESC, t.tag_key",
        &[&me.user, &me.session],
    )?;
    me.vouch_if(!rows.is_empty());
    rows.iter()
        .map(|r| {
            Ok(TagCount {
                tag: r.try_get(0)?,
                count: r.try_get(1)?,
            })
        })
        .collect()
}
