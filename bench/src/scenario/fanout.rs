//! Fan-out (issue "Lists and sharing"): one list with 100 members (made through the HTTP API: the
//! owner invites 99 editors, each accepts), written through instance A, each member with an event
//! stream open on instance B.
//!
//! 1. The writer's cost, no stream open: one connection toggling tasks of the list through A (each
//!    toggle by a random member) for a while, then the same in an unshared list of the owner's:
//!    statements (pg_stat_statements calls), PostgreSQL CPU and A's CPU per write, and the write's
//!    own latency. The design promises O(1) statements whatever the member count; since per-list
//!    numbering (sql/0011) the rows it writes are O(1) too (the list's number, one change row).
//! 2. Delivery: with the 100 streams open on B, 100 tasks created in the list through A, one at a
//!    time (the next is sent once the last reached every stream, 10 ms later): the time from
//!    sending each to its event's arrival on all 100 streams, p50/p99, next to the 100 ms target
//!    and to 100 creates in the unshared list reaching the owner's one stream. Statements and CPU
//!    per write meanwhile include B's reads of each member's changes.

use super::events::{open_stream, watch_with};
use super::{measure, quantile, Measured};
use crate::postgres::{vacuum_analyze, LIST_TABLES};
use crate::procstat;
use crate::report::{ms, ratio, us, Report};
use crate::server::{Kind, Launch, Proc};
use crate::sharing::{self, Member};
use crate::wrk::Load;
use crate::{settle, Ctx};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use uuid::Uuid;

const MEMBERS: usize = 100;
const LIST_TASKS: usize = 20;
const WRITES: usize = 100;
const TIMEOUT: Duration = Duration::from_secs(10);

/// What a phase of single writes cost and how long their events took.
struct Delivery {
    /// Per write: from sending it to its event on the last (every) stream, microseconds.
    all: Vec<f64>,
    /// Per write and stream: from sending it to its event on that stream, microseconds.
    each: Vec<f64>,
    pg_cpu_us: u64,
    statements: i64,
    a_cpu_us: u64,
    b_cpu_us: u64,
}

fn per_write(x: f64) -> f64 {
    x / WRITES as f64
}

/// `WRITES` tasks created one at a time in `list` through A by `writers` in turn, each awaited on
/// the streams `expect` (indices into the `MEMBERS` open streams).
fn deliver(
    ctx: &Ctx,
    (a, b): (&Proc, &Proc),
    arrivals: &mpsc::Receiver<(usize, String, Instant)>,
    list: Uuid,
    writers: &[Member],
    expect: &[usize],
    tag: &str,
) -> Result<Delivery, String> {
    let pg0 = ctx.pg.mark(Kind::TodoApi.database())?;
    let (a0, b0) = (procstat::cpu_us(a.pid())?, procstat::cpu_us(b.pid())?);
    let mut all = Vec::with_capacity(WRITES);
    let mut each = Vec::with_capacity(WRITES * expect.len());
    for w in 0..WRITES {
        let title = format!("{tag} {w}");
        let writer = &writers[w % writers.len()];
        let mut seen = [false; MEMBERS];
        let mut left = expect.len();
        let sent = Instant::now();
        sharing::create_task(a.addr, writer, list, &title)?;
        let mut last = sent;
        while left > 0 {
            let wait = TIMEOUT.saturating_sub(sent.elapsed());
            let (stream, got, at) = arrivals.recv_timeout(wait).map_err(|_| {
                format!(
                    "write {w} ({tag}) reached {} of {} streams within {TIMEOUT:?}",
                    expect.len() - left,
                    expect.len()
                )
            })?;
            // Earlier writes' events were all awaited; anything else would be a stray.
            if got != title || seen[stream] {
                continue;
            }
            if !expect.contains(&stream) {
                return Err(format!(
                    "write {w} ({tag}) reached stream {stream}, not a member"
                ));
            }
            seen[stream] = true;
            left -= 1;
            each.push(at.duration_since(sent).as_secs_f64() * 1e6);
            last = last.max(at);
        }
        all.push(last.duration_since(sent).as_secs_f64() * 1e6);
        std::thread::sleep(Duration::from_millis(10));
    }
    let (a1, b1) = (procstat::cpu_us(a.pid())?, procstat::cpu_us(b.pid())?);
    let (pg_cpu_us, statements) = ctx.pg.mark(Kind::TodoApi.database())?.since(&pg0);
    Ok(Delivery {
        all,
        each,
        pg_cpu_us,
        statements,
        a_cpu_us: a1.saturating_sub(a0),
        b_cpu_us: b1.saturating_sub(b0),
    })
}

/// A users file for lua/w1.lua: every writer toggles the tasks `ids` (its own range is unused).
fn toggles_file(ctx: &Ctx, name: &str, writers: &[Member], ids: &[i64]) -> Result<String, String> {
    let ids: Vec<String> = ids.iter().map(i64::to_string).collect();
    let ids = ids.join(",");
    let lines: String = writers
        .iter()
        .map(|m| format!("{} {} 0 0 {ids}\n", m.id, m.token))
        .collect();
    let path = ctx.work.join(name);
    std::fs::write(&path, lines).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path.display().to_string())
}

pub fn run(ctx: &mut Ctx) -> Result<(), String> {
    let a = ctx.start(Kind::TodoApi, Launch::plain())?;
    let b = ctx.start(Kind::TodoApi, Launch::plain())?;
    let t = Instant::now();
    let members: Vec<Member> = ctx
        .seed_members(&a, "fanout", MEMBERS, 0)?
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    let owner = &members[0];
    let big = sharing::create_list(a.addr, owner, "Fan-out")?;
    sharing::share(a.addr, owner, big, &members[1..])?;
    let solo = sharing::create_list(a.addr, owner, "Unshared")?;
    let mut big_tasks = Vec::with_capacity(LIST_TASKS);
    let mut solo_tasks = Vec::with_capacity(LIST_TASKS);
    for k in 0..LIST_TASKS {
        let title = format!("Task {k}");
        big_tasks.push(sharing::create_task(
            a.addr,
            &members[k % MEMBERS],
            big,
            &title,
        )?);
        solo_tasks.push(sharing::create_task(a.addr, owner, solo, &title)?);
    }
    let joined = sharing::count(
        a.addr,
        owner,
        &format!("/api/{}/lists/{big}/members", owner.id),
    )?;
    if joined != MEMBERS {
        return Err(format!(
            "the shared list has {joined} members, not {MEMBERS}"
        ));
    }
    vacuum_analyze(&mut ctx.pg.connect(Kind::TodoApi.database())?, LIST_TABLES)?;
    println!(
        "a list of {MEMBERS} members (99 invited and accepted through the API) and an unshared \
         one, {LIST_TASKS} tasks each, in {:.1} s",
        t.elapsed().as_secs_f64()
    );

    // 1. The writer's cost, no stream open.
    let toggles = |users: String, secs: u64| Load {
        url: Ctx::url(&a),
        conns: 1,
        secs,
        script: "w1",
        args: vec![users, "100".into(), "shared".into()],
    };
    let big_file = toggles_file(ctx, "fanout-shared.txt", &members, &big_tasks)?;
    let solo_file = toggles_file(ctx, "fanout-unshared.txt", &members[..1], &solo_tasks)?;
    for file in [&big_file, &solo_file] {
        toggles(file.clone(), 2).run(&ctx.work)?;
    }
    let secs = ctx.secs;
    let db = Kind::TodoApi.database();
    // Each run's statements one by one: the write's own and the notifier's (`pg_notify` of every
    // member, one statement for what piled up in 5 ms, whatever the count).
    let writes = |what: &str, file: String| -> Result<(Measured, f64), String> {
        print!("toggles in the {what}: ");
        let calls = ctx.pg.calls(db)?;
        let m = measure(ctx, &a, Kind::TodoApi, &toggles(file, secs))?;
        let n = m.wrk.requests.max(1) as f64;
        let mut notifies = 0.0;
        for (calls, query) in ctx.pg.calls(db)?.since(&calls) {
            let per = calls as f64 / n;
            println!("  {per:.3} per write: {query}");
            if query.contains("pg_notify") {
                notifies += per;
            }
        }
        Ok((m, notifies))
    };
    let (shared, shared_notifies) = writes(&format!("{MEMBERS}-member list"), big_file)?;
    let (unshared, unshared_notifies) = writes("unshared list", solo_file)?;

    // 2. Delivery to the members' streams on B.
    let t = Instant::now();
    let mut closers: Vec<TcpStream> = Vec::with_capacity(MEMBERS);
    let (tx, arrivals) = mpsc::channel();
    for (i, m) in members.iter().enumerate() {
        let stream = open_stream(b.addr, m.id, &m.token)?;
        closers.push(stream.try_clone().map_err(|e| e.to_string())?);
        let tx = tx.clone();
        watch_with(stream, true, move |title, at| {
            tx.send((i, title, at)).is_ok()
        });
    }
    drop(tx);
    println!(
        "{MEMBERS} streams open on B in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    settle();
    let everyone: Vec<usize> = (0..MEMBERS).collect();
    let servers = (&a, &b);
    let fan = deliver(ctx, servers, &arrivals, big, &members, &everyone, "fanout")?;
    let one = deliver(
        ctx,
        servers,
        &arrivals,
        solo,
        &members[..1],
        &[0],
        "unshared",
    )?;
    for s in &closers {
        let _ = s.shutdown(Shutdown::Both);
    }

    let (mut fan_all, mut fan_each, mut one_all) =
        (fan.all.clone(), fan.each.clone(), one.all.clone());
    let (all50, all99) = (quantile(&mut fan_all, 0.50), quantile(&mut fan_all, 0.99));
    let (each50, each99) = (quantile(&mut fan_each, 0.50), quantile(&mut fan_each, 0.99));
    let (one50, one99) = (quantile(&mut one_all, 0.50), quantile(&mut one_all, 0.99));
    println!(
        "{WRITES} creates through A: to all {MEMBERS} streams on B p50 {} p99 {} (each stream \
         p50 {} p99 {}); in the unshared list to its one stream p50 {} p99 {}",
        ms(all50),
        ms(all99),
        ms(each50),
        ms(each99),
        ms(one50),
        ms(one99)
    );

    let r = &mut ctx.report;
    let s = "fanout";
    r.add(
        s,
        format!(
            "write through A -> its event on all {MEMBERS} members' streams on B, p99 ({WRITES} \
             creates, one at a time)"
        ),
        ms(all99),
        format!("100 ms target; {} unshared list, its 1 stream", ms(one99)),
        format!("{}; {}", ratio(all99, 100_000.0), ratio(all99, one99)),
    );
    r.add(
        s,
        format!(
            "same, p50 (each stream's own arrival: p50 {}, p99 {})",
            ms(each50),
            ms(each99)
        ),
        ms(all50),
        format!("{} unshared list, its 1 stream", ms(one50)),
        ratio(all50, one50),
    );
    let toggling = format!("toggles in the {MEMBERS}-member list, 1 conn, no stream open");
    let cost = |r: &mut Report, what: &str, x: f64, y: f64, show: &dyn Fn(f64) -> String| {
        r.add(
            s,
            format!("{what}, {toggling}"),
            show(x),
            format!("{} unshared list", show(y)),
            ratio(x, y),
        );
    };
    let two = |x: f64| format!("{x:.2}");
    let (x, y) = (
        shared.statements_per_request(),
        unshared.statements_per_request(),
    );
    cost(
        r,
        "writer's statements per write (pg_stat_statements calls)",
        x,
        y,
        &two,
    );
    let (xn, yn) = (shared_notifies, unshared_notifies);
    r.add(
        s,
        "same, the write's own / the notifier's (pg_notify of every member it changed, one \
         statement for what piles up in 5 ms)",
        format!("{} / {}", two(x - xn), two(xn)),
        format!("{} / {} unshared list", two(y - yn), two(yn)),
        ratio(x - xn, y - yn),
    );
    let (x, y) = (shared.pg_cpu_per_request(), unshared.pg_cpu_per_request());
    cost(r, "PostgreSQL CPU per write", x, y, &us);
    let (x, y) = (
        shared.server_cpu_per_request(),
        unshared.server_cpu_per_request(),
    );
    cost(r, "server (A) CPU per write", x, y, &us);
    cost(r, "write p50", shared.wrk.p50, unshared.wrk.p50, &ms);
    cost(r, "write p99", shared.wrk.p99, unshared.wrk.p99, &ms);
    let delivered = |r: &mut Report, what: &str, x: f64, y: f64, show: &dyn Fn(f64) -> String| {
        let (x, y) = (per_write(x), per_write(y));
        r.add(
            s,
            format!(
                "{what} per create in the {MEMBERS}-member list, its {MEMBERS} streams open on B \
                 (delivery included)"
            ),
            show(x),
            format!("{} unshared list, 1 stream", show(y)),
            ratio(x, y),
        );
    };
    let (x, y) = (fan.statements as f64, one.statements as f64);
    delivered(r, "statements", x, y, &|x| format!("{x:.1}"));
    let (x, y) = (fan.pg_cpu_us as f64, one.pg_cpu_us as f64);
    delivered(r, "PostgreSQL CPU", x, y, &us);
    let (x, y) = (fan.b_cpu_us as f64, one.b_cpu_us as f64);
    delivered(r, "instance B CPU", x, y, &us);
    let (x, y) = (fan.a_cpu_us as f64, one.a_cpu_us as f64);
    delivered(r, "instance A CPU", x, y, &us);
    Ok(())
}
