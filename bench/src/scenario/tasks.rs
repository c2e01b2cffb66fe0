//! One user with 10,000 tasks: the whole list (no limit) and a `limit=50` page, one client, next to
//! the same statements run directly from the bench (what the server's PostgreSQL work costs) and,
//! for the whole list, next to axum-ref serving the same rows.

use super::{get, load, quantile};
use crate::postgres::seed;
use crate::report::{ms, ratio};
use crate::server::{Kind, Launch};
use crate::{http, Ctx, PASSWORD};
use std::time::{Duration, Instant};
use todo_api::db::task_list::first_page_sql;
use uuid::Uuid;

const TASKS: i32 = 10_000;
const PAGE: i64 = 50;
/// Direct runs of the whole list (about 10 ms each) and of a page (well under 1 ms each).
const DIRECT_RUNS: [usize; 2] = [50, 500];

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let todo = ctx.start(Kind::TodoApi, Launch::plain())?;
    let axum = ctx.start(Kind::AxumRef, Launch::plain())?;
    let id = Uuid::new_v4();
    let email = "tasks-10k@bench.example.com".to_string();
    let t = Instant::now();
    let mut tokens = Vec::new();
    for (kind, server) in [(Kind::TodoApi, &todo), (Kind::AxumRef, &axum)] {
        let mut db = ctx.pg.connect(kind.database())?;
        seed(&mut db, &[(id, email.clone())], &ctx.cheap_hash, TASKS)?;
        tokens.push(http::sign_in(server.addr, &email, PASSWORD)?);
    }
    let (soon, now) = organise(ctx, id)?;
    println!(
        "seeded a user with {TASKS} tasks in both databases in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let path = format!("/api/{id}/tasks");
    let check = http::request(
        todo.addr,
        "GET",
        &path,
        Some(&tokens[0]),
        None,
        Duration::from_secs(10),
    )
    .map_err(|e| format!("GET {path}: {e}"))?;
    let n = http::json(&check)?.as_array().map_or(0, Vec::len);
    if n != TASKS as usize {
        return Err(format!("the list returned {n} tasks, expected {TASKS}"));
    }
    println!("whole list: {} bytes", check.body.len());

    let secs = ctx.short_secs();
    let whole = load(
        ctx,
        "todo-api whole list",
        &get(&todo, &path, Some(&tokens[0]), 1, secs),
    )?;
    // `status=all` keeps every task but is not the default list, so it is read afresh each time.
    let afresh = load(
        ctx,
        "todo-api whole list, ?status=all (not cached)",
        &get(
            &todo,
            &format!("{path}?status=all"),
            Some(&tokens[0]),
            1,
            secs,
        ),
    )?;
    let whole_axum = load(
        ctx,
        "axum-ref whole list",
        &get(&axum, &path, Some(&tokens[1]), 1, secs),
    )?;
    let page_path = format!("{path}?limit={PAGE}");
    let page = load(
        ctx,
        "todo-api limit=50 page",
        &get(&todo, &page_path, Some(&tokens[0]), 1, secs),
    )?;
    let (d50, d95) = direct(ctx, id, None)?;
    // The server asks for one row more than the page, to know whether a next page exists.
    let (_, p95) = direct(ctx, id, Some(PAGE + 1))?;
    println!(
        "same SQL direct (user lookup + list), {} and {} runs: whole list p50 {} p95 {}; page p95 {}",
        DIRECT_RUNS[0],
        DIRECT_RUNS[1],
        ms(d50),
        ms(d95),
        ms(p95)
    );

    let r = &mut ctx.report;
    r.add(
        "tasks",
        "whole list of 10,000 tasks read afresh (?status=all) p50, 1 client",
        ms(afresh.p50),
        format!("{} same SQL direct", ms(d50)),
        ratio(afresh.p50, d50),
    );
    r.add(
        "tasks",
        "whole list of 10,000 tasks read afresh (?status=all) p95, 1 client",
        ms(afresh.p95),
        format!("{} same SQL direct", ms(d95)),
        ratio(afresh.p95, d95),
    );
    r.add(
        "tasks",
        "whole list of 10,000 tasks unchanged since last read p50, 1 client",
        ms(whole.p50),
        format!("{} same SQL direct", ms(d50)),
        ratio(whole.p50, d50),
    );
    r.add(
        "tasks",
        "whole list of 10,000 tasks unchanged since last read p95, 1 client",
        ms(whole.p95),
        format!("{} same SQL direct", ms(d95)),
        ratio(whole.p95, d95),
    );
    r.add(
        "tasks",
        "whole list of 10,000 tasks p50 vs axum-ref",
        ms(whole.p50),
        format!("{} axum-ref", ms(whole_axum.p50)),
        ratio(whole.p50, whole_axum.p50),
    );
    r.add(
        "tasks",
        "whole list of 10,000 tasks p95 vs axum-ref",
        ms(whole.p95),
        format!("{} axum-ref", ms(whole_axum.p95)),
        ratio(whole.p95, whole_axum.p95),
    );
    r.add(
        "tasks",
        format!("limit={PAGE} page p95, 1 client"),
        ms(page.p95),
        format!("{} same SQL direct", ms(p95)),
        ratio(page.p95, p95),
    );
    filtered(ctx, &todo, &path, &tokens[0], &soon, &now)
}

/// Organising tasks' mix for todo-api's user: a quarter of each priority, half with a due date
/// within 30 days either side of now, one tag from a set of 30. Returns (now + 7 days, now) in
/// RFC 3339 for the due-date filters.
fn organise(ctx: &Ctx, user: Uuid) -> Result<(String, String), String> {
    let mut db = ctx.pg.connect(Kind::TodoApi.database())?;
    let why = |e: postgres::Error| crate::postgres::why(&e);
    db.execute(
        "UPDATE tasks SET priority = (id % 4)::smallint,
             due_at = CASE WHEN id % 2 = 0 THEN now() + make_interval(hours => (id % 1440)::int - 720) END,
             tags = ARRAY['tag' || (id % 30)]
         WHERE user_id = $1",
        &[&user],
    )
    .map_err(why)?;
    db.batch_execute("VACUUM ANALYZE tasks").map_err(why)?;
    let row = db
        .query_one(
            "SELECT to_char((now() + interval '7 days') AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),
                    to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')",
            &[],
        )
        .map_err(why)?;
    Ok((row.get(0), row.get(1)))
}

/// Every filter, search and sort of "Organising tasks" with `limit=50`, one client: p95 against
/// the 10 ms.
fn filtered(
    ctx: &mut Ctx,
    todo: &crate::server::Proc,
    path: &str,
    token: &str,
    soon: &str,
    now: &str,
) -> Result<(), String> {
    let queries = [
        "status=pending".to_string(),
        "priority=high".into(),
        "priority=high,medium&status=pending".into(),
        "tag=tag7".into(),
        "q=task".into(),
        "q=number%201234".into(),
        "q=xy".into(),
        format!("due_before={soon}"),
        format!("due_after={now}&due_before={soon}"),
        "sort=created_asc".into(),
        "sort=due_asc".into(),
        "sort=priority_desc".into(),
        "sort=title_asc".into(),
        "sort=updated_desc".into(),
        "q=task&tag=tag3&sort=title_asc&priority=low".into(),
    ];
    let secs = ctx.short_secs().min(3);
    for query in queries {
        let url = format!("{path}?limit={PAGE}&{query}");
        let f = load(
            ctx,
            &format!("todo-api {query}"),
            &get(todo, &url, Some(token), 1, secs),
        )?;
        ctx.report.add(
            "tasks",
            format!("limit={PAGE}, {query}: p95"),
            ms(f.p95),
            "10 ms target".to_string(),
            ratio(f.p95, 10_000.0),
        );
    }
    Ok(())
}

/// p50 and p95 (microseconds) of the statement one list request runs (the list, with its session
/// check), executed here directly, rows fetched and decoded.
fn direct(ctx: &Ctx, user: Uuid, limit: Option<i64>) -> Result<(f64, f64), String> {
    let runs = DIRECT_RUNS[usize::from(limit.is_some())];
    let mut db = ctx.pg.connect(Kind::TodoApi.database())?;
    let session = crate::postgres::session_of(&mut db, user)?;
    let list = db
        .prepare(&first_page_sql())
        .map_err(|e| crate::postgres::why(&e))?;
    let mut took = Vec::with_capacity(runs);
    for i in 0..runs + 3 {
        let t = Instant::now();
        let rows = db
            .query(&list, &[&user, &session, &limit])
            .map_err(|e| crate::postgres::why(&e))?;
        for row in &rows {
            let _: (i64, Uuid, String, Option<String>, bool) =
                (row.get(0), row.get(1), row.get(2), row.get(3), row.get(4));
        }
        if i >= 3 {
            took.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    Ok((quantile(&mut took, 0.5), quantile(&mut took, 0.95)))
}
