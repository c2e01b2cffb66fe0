//! The task list: filters, six orders and keyset pages, built as one statement per request from
//! fixed fragments. Values only ever travel as parameters; `user_id = $1` is always the first
//! condition. What a list asks for (filters, orders, positions) is in `task_query`; the tag counts
//! in `tags`.

use super::changes::{held_numbers, Mark};
pub use super::task_query::{Assignee, Filter, Position, Search, Sort};
use super::tasks::{task_columns, TaskRow};
use super::{Conn, DbResult};
use crate::auth::caller::Caller;
use postgres::types::{ToSql, Type};
use std::sync::OnceLock;
use uuid::Uuid;

/// A statement under construction: fixed SQL text, and the values in the order of their `$n`.
struct Statement<'a> {
    sql: String,
    params: Vec<(&'a (dyn ToSql + Sync), Type)>,
}

impl<'a> Statement<'a> {
    fn bind(&mut self, value: &'a (dyn ToSql + Sync), ty: Type) -> String {
        self.params.push((value, ty));
        format!("${}", self.params.len())
    }

    fn and(&mut self, condition: &str) {
        self.sql.push_str("\n  AND ");
        self.sql.push_str(condition);
    }
}

/// The user's tasks in `sort` order, starting after `after` when given (its order then wins over
/// `sort`, which the caller has checked to be the same), handed to `each` as they arrive. `limit`
/// of `None`: every task. Nothing arrives when the caller's session is gone (`session_ok`).
pub fn each(
    conn: &mut Conn,
    me: &Caller,
    filter: &Filter,
    sort: Sort,
    after: Option<&Position>,
    limit: Option<i64>,
    mut each: impl FnMut(TaskRow),
) -> DbResult<()> {
    let distributed = conn.distributed();
    let st = statement(
        &me.user,
        &me.session,
        filter,
        sort,
        after,
        &limit,
        distributed,
    );
    let mut found = false;
    conn.query_typed_each(&st.sql, &st.params, |row| {
        found = true;
        each(TaskRow::from(row))
    })?;
    me.vouch_if(found);
    Ok(())
}

/// The caller's session check, written out (a PL/pgSQL `session_ok` call starts an executor of
/// its own: measured under W1, a fifth of PostgreSQL's time went to it). `$1` user, `$2` session.
macro_rules! session_alive {
    () => {
        "CASE WHEN $2::uuid IS NULL THEN NOT u.legacy_tokens_revoked
           ELSE EXISTS (
               SELECT FROM sessions s WHERE s.user_id = $1 AND s.id = $2 AND s.expires_at > now()
           ) OR EXISTS (
               SELECT FROM access_tokens a
               WHERE a.user_id = $1 AND a.id = $2 AND coalesce(a.expires_at > now(), true)
           ) END"
    };
}

/// [`whole_unless_at`]'s list: `$1` user, `$2` session. A row per task with the user's number
/// and their lists' ids and numbers last; one row of NULL task columns when the list is empty; no
/// row when the session is gone. Every write to a task bumps its list's number in its own
/// transaction (`task_change`), and this reads both in one snapshot, so the rows are the list as
/// of those numbers.
pub const WHOLE_LIST_SQL: &str = concat!(
    "SELECT t.*, u.change_seq, h.ids, h.seqs
     FROM users u
     CROSS JOIN LATERAL (",
    held_numbers!(),
    ") h
     LEFT JOIN LATERAL (
         SELECT ",
    task_columns!(),
    " FROM tasks t
         WHERE t.list_id IN (SELECT list_id FROM memberships WHERE user_id = u.id)
         ORDER BY t.created_at DESC, t.id DESC
     ) t ON true
     WHERE u.id = $1 AND ",
    session_alive!()
);

/// On Citus, [`WHOLE_LIST_SQL`] in two statements: it refuses an outer join of a distributed table
/// with a condition on no table, and a lateral subquery of a reference table's row. First the
/// numbers (a user is always in one list at least, their Inbox), then the tasks: what the tasks show is at least as new as the numbers, so a later
/// write's cached edit or check can only read the list again, never miss a change.
const WHOLE_HEAD_SQL: &str = concat!(
    "SELECT u.change_seq, array_agg(l.id ORDER BY l.id), array_agg(l.change_seq ORDER BY l.id)
     FROM users u JOIN memberships m ON m.user_id = u.id JOIN lists l ON l.id = m.list_id
     WHERE u.id = $1 AND ",
    session_alive!(),
    " GROUP BY u.id"
);
const WHOLE_TASKS_SQL: &str = concat!(
    "SELECT ",
    task_columns!(),
    " FROM tasks t
     WHERE t.list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)
     ORDER BY t.created_at DESC, t.id DESC"
);

/// [`whole_unless_at`]'s check of a list the caller holds: the user's number plus the numbers of
/// the lists it was read with, no row when the session is gone. The list statement answers the
/// same question, but PostgreSQL sets up its join, sort and scans before it can skip them: this
/// alone costs it about a third less, and most reads of a held list end here (README, "Speed
/// over TCP"). `$1` user, `$2` session, then each list's id: one statement per number of lists,
/// each list one index lookup. Not an array of ids: PostgreSQL planned `id = ANY($3)` afresh on
/// every call (84 us a read, measured with `track_planning`); not the memberships joined to the
/// lists either (+14 us a read, docs/scaling.md). A list joined or left moves the user's number.
fn list_seq_sql(lists: usize) -> &'static str {
    static TEXTS: OnceLock<Vec<String>> = OnceLock::new();
    let texts = TEXTS.get_or_init(|| {
        (0..=NAMED_MAX)
            .map(|k| {
                let terms: String = (3..k + 3)
                    .map(|p| {
                        format!(" + coalesce((SELECT change_seq FROM lists WHERE id = ${p}), 0)")
                    })
                    .collect();
                format!(
                    "SELECT u.change_seq{terms} FROM users u WHERE u.id = $1 AND {}",
                    session_alive!()
                )
            })
            .collect()
    });
    texts.get(lists).map_or(HELD_SEQ_SQL, String::as_str)
}

/// Up to this many lists, [`list_seq_sql`] names them; past it, they are summed through the
/// memberships (the user's lists now, rather than those read: as good a version, see `sql/0011`).
const NAMED_MAX: usize = 8;

const HELD_SEQ_SQL: &str = concat!(
    "SELECT u.change_seq + coalesce((
         SELECT sum(l.change_seq) FROM memberships m JOIN lists l ON l.id = m.list_id
         WHERE m.user_id = $1), 0)::bigint
     FROM users u WHERE u.id = $1 AND ",
    session_alive!()
);

pub enum Whole<T> {
    /// The caller's session is gone.
    Gone,
    /// Still at the position the caller gave with `known`, handed back; no task was sent.
    Unchanged(T),
    /// Every task was handed over; the list as of this position.
    At(Mark),
}

/// Every task in the default order, handed to `each`, unless the list is still as it was at the
/// position given with `known`. One round trip, unless a held list has changed: then the check
/// and the list.
pub fn whole_unless_at<T>(
    conn: &mut Conn,
    me: &Caller,
    known: Option<(&Mark, T)>,
    mut each: impl FnMut(TaskRow),
) -> DbResult<Whole<T>> {
    if conn.distributed() {
        return whole_in_two(conn, me, known, each);
    }
    if let Some((at, held)) = known {
        let mut params: Vec<&(dyn ToSql + Sync)> = vec![&me.user, &me.session];
        if at.lists.len() <= NAMED_MAX {
            params.extend(at.lists.iter().map(|(l, _)| l as &(dyn ToSql + Sync)));
        }
        let row = conn.query_opt(list_seq_sql(at.lists.len()), &params)?;
        match me.vouch(row).map(|r| r.try_get::<_, i64>(0)).transpose()? {
            None => return Ok(Whole::Gone),
            Some(n) if n == at.sum() => return Ok(Whole::Unchanged(held)),
            Some(_) => {}
        }
    }
    let params: [(&(dyn ToSql + Sync), Type); 2] =
        [(&me.user, Type::UUID), (&me.session, Type::UUID)];
    let mut seq = None;
    let mut failed = None;
    conn.query_typed_each(WHOLE_LIST_SQL, &params, |row| {
        if seq.is_none() {
            let numbers = (row.try_get(18), row.try_get(19), row.try_get(20));
            match numbers {
                (Ok(user), Ok(ids), Ok(seqs)) => {
                    let (ids, seqs): (Vec<Uuid>, Vec<i64>) = (ids, seqs);
                    seq = Some(Mark::new(user, ids.into_iter().zip(seqs)));
                }
                (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => failed = Some(e),
            }
        }
        match row.try_get::<_, Option<i64>>(0) {
            Ok(Some(_)) => each(TaskRow::from(row)),
            Ok(None) => {}
            Err(e) => failed = Some(e),
        }
    })?;
    if let Some(e) = failed {
        return Err(e);
    }
    me.vouch_if(seq.is_some());
    Ok(seq.map_or(Whole::Gone, Whole::At))
}

/// The numbers double as the check of a held list (Citus cannot plan [`list_seq_sql`]'s scalar
/// subqueries beside a reference table).
fn whole_in_two<T>(
    conn: &mut Conn,
    me: &Caller,
    known: Option<(&Mark, T)>,
    mut each: impl FnMut(TaskRow),
) -> DbResult<Whole<T>> {
    let head = conn.query_opt(WHOLE_HEAD_SQL, &[&me.user, &me.session])?;
    let Some(head) = me.vouch(head) else {
        return Ok(Whole::Gone);
    };
    let (ids, seqs): (Vec<Uuid>, Vec<i64>) = (head.try_get(1)?, head.try_get(2)?);
    let mark = Mark::new(head.try_get(0)?, ids.into_iter().zip(seqs));
    if let Some((_, held)) = known.filter(|(at, _)| at.sum() == mark.sum()) {
        return Ok(Whole::Unchanged(held));
    }
    let params: [(&(dyn ToSql + Sync), Type); 1] = [(&me.user, Type::UUID)];
    conn.query_typed_each(WHOLE_TASKS_SQL, &params, |row| each(TaskRow::from(row)))?;
    Ok(Whole::At(mark))
}

/// The statement of a first page with no filter in the default order: `$1` user, `$2` session,
/// `$3` limit (NULL: every task). The bench runs it as it stands.
pub fn first_page_sql() -> String {
    let (user, session) = (Uuid::nil(), None);
    statement(
        &user,
        &session,
        &Filter::default(),
        Sort::CreatedDesc,
        None,
        &None,
        false,
    )
    .sql
}

fn statement<'a>(
    user: &'a Uuid,
    session: &'a Option<Uuid>,
    filter: &'a Filter,
    sort: Sort,
    after: Option<&'a Position>,
    limit: &'a Option<i64>,
    distributed: bool,
) -> Statement<'a> {
    let sort = after.map_or(sort, Position::sort);
    // Citus cannot push the lateral read of each list down: there, one read of the lists'
    // changes, which it merges from the shards.
    let merged = sort == Sort::UpdatedDesc && !distributed;
    let mut st = Statement {
        sql: concat!("SELECT ", task_columns!()).into(),
        params: vec![(user, Type::UUID)],
    };
    if sort == Sort::TitleAsc {
        st.sql.push_str(", title_key");
    }
    st.sql.push_str(match sort {
        // In the order of last change: each of the caller's lists read from its own index of
        // changes, filtered and cut to the page there, then merged (one index for every list at
        // once would be a sort of all of them: 9.6 ms against 1 ms for a page of 10,000 tasks).
        Sort::UpdatedDesc if distributed => {
            "\nFROM list_changes o JOIN tasks t ON t.list_id = o.list_id AND t.id = o.task_id\nWHERE true"
        }
        Sort::UpdatedDesc => {
            "\nFROM memberships m CROSS JOIN LATERAL (\nSELECT t.*, o.touched_at AS touched_at_, o.task_id AS task_id_\nFROM list_changes o JOIN tasks t ON t.list_id = o.list_id AND t.id = o.task_id\nWHERE o.list_id = m.list_id"
        }
        _ => "\nFROM tasks t\nWHERE true",
    });
    st.and("t.list_id IN (SELECT list_id FROM memberships WHERE user_id = $1)");
    let p = st.bind(session, Type::UUID);
    st.and(&format!("session_ok($1, {p})"));
    if let Some(list) = &filter.list {
        let p = st.bind(list, Type::UUID);
        st.and(&format!("t.list_id = {p}"));
    }
    match &filter.assignee {
        None => {}
        Some(Assignee::Me) => st.and("t.assignee_id = $1"),
        Some(Assignee::Nobody) => st.and("t.assignee_id IS NULL"),
        Some(Assignee::Member(id)) => {
            let p = st.bind(id, Type::UUID);
            st.and(&format!("t.assignee_id = {p}"));
        }
    }
    match &filter.parent {
        None => {}
        Some(None) => st.and("t.parent_id IS NULL"),
        Some(Some(id)) => {
            let p = st.bind(id, Type::INT8);
            st.and(&format!("t.parent_id = {p}"));
        }
    }
    if let Some(completed) = &filter.completed {
        let p = st.bind(completed, Type::BOOL);
        st.and(&format!("completed = {p}"));
    }
    if !filter.priorities.is_empty() {
        let p = st.bind(&filter.priorities, Type::INT2_ARRAY);
        st.and(&format!("priority = ANY ({p})"));
    }
    if !filter.tags.is_empty() {
        let p = st.bind(&filter.tags, Type::TEXT_ARRAY);
        st.and(&format!("tag_keys @> task_fold({p}::text[])"));
    }
    // The longest term of three or more characters (the most selective, likely) is found through
    // the trigram index; the others check the rows it hands back. The statement has one of three
    // shapes whatever the terms, so searches cannot crowd the prepared statements out.
    if let Some(lead) = &filter.search.lead {
        let p = st.bind(lead, Type::TEXT);
        st.and(&format!("search_key LIKE '%' || task_fold({p}) || '%'"));
    }
    if !filter.search.rest.is_empty() {
        // `|| ''` keeps the planner off the trigram index, which a term of one or two characters
        // (no trigram) would make hand back every task to be checked again (measured, 10,000
        // tasks: 5 ms instead of 8).
        let p = st.bind(&filter.search.rest, Type::TEXT_ARRAY);
        st.and(&format!(
            "(search_key || '') LIKE ALL (SELECT '%' || task_fold(t) || '%' FROM unnest({p}::text[]) t)"
        ));
    }
    // Written on the expression of the due-date index, so a narrow window is a range scan of it
    // ('infinity', a task without a due date, is never before a bound).
    if let Some(before) = &filter.due_before {
        let p = st.bind(before, Type::TIMESTAMPTZ);
        st.and(&format!("coalesce(due_at, 'infinity') < {p}"));
    }
    if let Some(after) = &filter.due_after {
        let p = st.bind(after, Type::TIMESTAMPTZ);
        st.and(&format!(
            "coalesce(due_at, 'infinity') >= {p} AND due_at IS NOT NULL"
        ));
    }
    if let Some(position) = after {
        let condition = keyset(&mut st, position);
        st.and(&condition);
    }
    let p = st.bind(limit, Type::INT8);
    st.sql
        .push_str(&format!("\nORDER BY {}\nLIMIT {p}", sort.order_by()));
    if merged {
        st.sql.push_str(&format!(
            ") t\nWHERE m.user_id = $1\nORDER BY t.touched_at_ DESC, t.task_id_ DESC\nLIMIT {p}"
        ));
    }
    st
}

/// "Comes after `position`" as one row comparison in the order's own direction, which the
/// order's index can start from.
fn keyset<'a>(st: &mut Statement<'a>, position: &'a Position) -> String {
    match position {
        Position::CreatedDesc(at, id) => {
            let (a, i) = (st.bind(at, Type::TIMESTAMPTZ), st.bind(id, Type::INT8));
            format!("(created_at, id) < ({a}, {i})")
        }
        Position::CreatedAsc(at, id) => {
            let (a, i) = (st.bind(at, Type::TIMESTAMPTZ), st.bind(id, Type::INT8));
            format!("(created_at, id) > ({a}, {i})")
        }
        Position::DueAsc(due, id) => {
            let (d, i) = (st.bind(due, Type::TIMESTAMPTZ), st.bind(id, Type::INT8));
            format!("(coalesce(due_at, 'infinity'), id) > (coalesce({d}, 'infinity'), {i})")
        }
        Position::PriorityDesc(rank, at, id) => {
            let r = st.bind(rank, Type::INT2);
            let (a, i) = (st.bind(at, Type::TIMESTAMPTZ), st.bind(id, Type::INT8));
            format!("(priority, created_at, id) < ({r}, {a}, {i})")
        }
        Position::TitleAsc(key, id) => {
            let (k, i) = (st.bind(key, Type::TEXT), st.bind(id, Type::INT8));
            format!("(title_key, id) > ({k}, {i})")
        }
        Position::UpdatedDesc(at, id) => {
            let (a, i) = (st.bind(at, Type::TIMESTAMPTZ), st.bind(id, Type::INT8));
            format!("(o.touched_at, o.task_id) < ({a}, {i})")
        }
    }
}
