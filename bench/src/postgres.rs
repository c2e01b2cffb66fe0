//! The throwaway PostgreSQL both servers share: one cluster (default durability) with
//! pg_stat_statements preloaded, a database per server, and the figures taken from it: the CPU of
//! the postmaster and its children, and the statements each database executed.

use crate::procstat;
use postgres::{Client, NoTls};
use std::path::{Path, PathBuf};
use todo_api::db::embedded::Cluster;
use uuid::Uuid;

pub struct Pg {
    cluster: Cluster,
}

/// CPU and statements counted up to one moment.
#[derive(Clone, Copy)]
pub struct PgMark {
    cpu_us: u64,
    statements: i64,
}

impl Pg {
    pub fn start(dir: &Path, databases: &[&str]) -> Result<Pg, String> {
        // The cluster listens on its Unix socket and on 127.0.0.1 (W1 runs over both), at a port
        // that was free a moment ago (another run's cluster may hold a fixed one).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let cluster = Cluster::start(
            dir,
            port,
            &[
                ("listen_addresses", "127.0.0.1"),
                ("max_connections", "300"),
                ("shared_preload_libraries", "pg_stat_statements"),
                ("pg_stat_statements.track", "top"),
            ],
        )
        .map_err(|e| format!("cannot start PostgreSQL: {e}"))?;
        let pg = Pg { cluster };
        let mut admin = pg.connect("postgres")?;
        admin
            .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            .map_err(|e| {
                format!(
                    "CREATE EXTENSION pg_stat_statements: {} (Debian ships it with the server \
                     package; elsewhere install postgresql-contrib)",
                    why(&e)
                )
            })?;
        for db in databases {
            admin
                .batch_execute(&format!("CREATE DATABASE {db}"))
                .map_err(|e| format!("CREATE DATABASE {db}: {}", why(&e)))?;
        }
        Ok(pg)
    }

    pub fn socket_dir(&self) -> &Path {
        &self.cluster.pgdata
    }

    pub fn port(&self) -> u16 {
        self.cluster.port
    }

    pub fn connect(&self, database: &str) -> Result<Client, String> {
        let mut config = self.cluster.config();
        config.dbname(database).application_name("todo-bench");
        config
            .connect(NoTls)
            .map_err(|e| format!("cannot connect to database {database}: {e}"))
    }

    fn postmaster_pid(&self) -> Result<u32, String> {
        let path: PathBuf = self.cluster.pgdata.join("postmaster.pid");
        std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| t.lines().next()?.trim().parse().ok())
            .ok_or_else(|| format!("no PID in {}", path.display()))
    }

    /// CPU of the whole cluster so far and statements executed in `database` so far.
    pub fn mark(&self, database: &str) -> Result<PgMark, String> {
        let statements = self
            .connect("postgres")?
            .query_one(
                "SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s
                 JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1",
                &[&database],
            )
            .map_err(|e| format!("reading pg_stat_statements: {}", why(&e)))?
            .get(0);
        Ok(PgMark {
            cpu_us: procstat::family_cpu_us(self.postmaster_pid()?)?,
            statements,
        })
    }
}

/// Calls of each statement (pg_stat_statements, top-level statements) in one database up to one
/// moment, by query id: what a measured run's statements were.
pub struct Calls(std::collections::HashMap<i64, (String, i64)>);

impl Pg {
    pub fn calls(&self, database: &str) -> Result<Calls, String> {
        let rows = self
            .connect("postgres")?
            .query(
                "SELECT s.queryid, min(s.query), sum(s.calls)::bigint FROM pg_stat_statements s
                 JOIN pg_database d ON d.oid = s.dbid
                 WHERE d.datname = $1 AND s.queryid IS NOT NULL GROUP BY s.queryid",
                &[&database],
            )
            .map_err(|e| format!("reading pg_stat_statements: {}", why(&e)))?;
        Ok(Calls(
            rows.iter()
                .map(|r| (r.get(0), (r.get(1), r.get(2))))
                .collect(),
        ))
    }
}

impl Calls {
    /// Statements called since `earlier`, most called first: (calls, the query's first words).
    pub fn since(&self, earlier: &Calls) -> Vec<(i64, String)> {
        let mut out: Vec<(i64, String)> = self
            .0
            .iter()
            .filter_map(|(id, (query, calls))| {
                let before = earlier.0.get(id).map_or(0, |(_, c)| *c);
                let words: Vec<&str> = query.split_whitespace().take(8).collect();
                (calls > &before).then(|| (calls - before, words.join(" ")))
            })
            .collect();
        out.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        out
    }
}

impl PgMark {
    /// (CPU in microseconds, statements) since `earlier`.
    pub fn since(&self, earlier: &PgMark) -> (u64, i64) {
        (
            self.cpu_us.saturating_sub(earlier.cpu_us),
            self.statements - earlier.statements,
        )
    }
}

/// A PostgreSQL error with the server's message (its Display says only "db error").
/// The newest session of `user` (opened by the bench's sign-in), for statements that check it.
pub fn session_of(db: &mut Client, user: Uuid) -> Result<Uuid, String> {
    db.query_one(
        "SELECT id FROM sessions WHERE user_id = $1 ORDER BY created_at DESC LIMIT 1",
        &[&user],
    )
    .map(|row| row.get(0))
    .map_err(|e| format!("finding the bench user's session: {}", why(&e)))
}

pub fn why(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => format!("{}: {}", db.code().code(), db.message()),
        None => e.to_string(),
    }
}

/// A seeded user: its tasks have the consecutive ids `first..=last`.
pub struct Seeded {
    pub id: Uuid,
    pub email: String,
    pub first: i64,
    pub last: i64,
}

/// Inserts users (ids, e-mail addresses and password hash given) with `tasks` tasks each, newest
/// last; the same SQL fits todo-api's schema and axum-ref's. Where the schema has lists
/// (todo-api since sql/0007_lists.sql), each user gets their default list, `Inbox`, as sign-up
/// makes it, and the tasks go into it (the numbering trigger finds it).
pub fn seed(
    db: &mut Client,
    users: &[(Uuid, String)],
    hash: &str,
    tasks: i32,
) -> Result<Vec<Seeded>, String> {
    let mut out = Vec::with_capacity(users.len());
    let mut tx = db.transaction().map_err(|e| why(&e))?;
    let lists: bool = tx
        .query_one("SELECT to_regclass('lists') IS NOT NULL", &[])
        .map_err(|e| format!("seeding users: {}", why(&e)))?
        .get(0);
    for (id, email) in users {
        tx.execute(
            "INSERT INTO users (id, email, name, password_hash) VALUES ($1, $2, 'Bench User', $3)",
            &[id, email, &hash],
        )
        .map_err(|e| format!("seeding users: {}", why(&e)))?;
        if lists {
            tx.execute(
                "WITH l AS (
                   INSERT INTO lists (id, owner_id, name, is_default) VALUES ($2, $1, 'Inbox', true)
                 )
                 INSERT INTO memberships (user_id, list_id, role) VALUES ($1, $2, 'owner')",
                &[id, &Uuid::new_v4()],
            )
            .map_err(|e| format!("seeding default lists: {}", why(&e)))?;
        }
        let row = tx
            .query_one(
                "WITH t AS (
                   INSERT INTO tasks (user_id, title, description, completed, created_at, updated_at)
                   SELECT $1, 'Task number ' || g,
                          CASE WHEN g % 2 = 0 THEN 'Description of task ' || g || ', about as long as a real one' END,
                          g % 3 = 0, now() - make_interval(secs => g), now() - make_interval(secs => g)
                   FROM generate_series(1, $2::integer) AS g
                   RETURNING id)
                 SELECT min(id), max(id) FROM t",
                &[id, &tasks],
            )
            .map_err(|e| format!("seeding tasks: {}", why(&e)))?;
        let (first, last): (Option<i64>, Option<i64>) = (row.get(0), row.get(1));
        out.push(Seeded {
            id: *id,
            email: email.clone(),
            first: first.unwrap_or(0),
            last: last.unwrap_or(0),
        });
    }
    tx.commit().map_err(|e| why(&e))?;
    let tables: &[&str] = if lists {
        LIST_TABLES
    } else {
        &["users", "tasks"]
    };
    vacuum_analyze(db, tables)?;
    Ok(out)
}

/// `VACUUM ANALYZE` of each table: fresh statistics and visibility maps after a set-up, so a
/// measurement does not start with the planner guessing or autovacuum catching up.
pub fn vacuum_analyze(db: &mut Client, tables: &[&str]) -> Result<(), String> {
    for table in tables {
        db.batch_execute(&format!("VACUUM ANALYZE {table}"))
            .map_err(|e| format!("VACUUM ANALYZE {table}: {}", why(&e)))?;
    }
    Ok(())
}

/// The tables a set-up of lists and sharing writes to (todo-api's schema).
pub const LIST_TABLES: &[&str] = &[
    "users",
    "tasks",
    "lists",
    "memberships",
    "list_changes",
    "list_feed",
    "invitations",
];
