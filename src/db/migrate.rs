//! Applies `sql/*.sql` in order, each once, recorded in `schema_migrations`, under an advisory lock so
//! that several instances can start against one database at the same time.

use postgres::{Client, SimpleQueryMessage};

/// Version and SQL, in the order they apply.
pub const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../sql/0001_init.sql")),
    ("0002_organise", include_str!("../../sql/0002_organise.sql")),
    ("0003_sessions", include_str!("../../sql/0003_sessions.sql")),
    ("0004_sync", include_str!("../../sql/0004_sync.sql")),
    (
        "0005_quiet_writes",
        include_str!("../../sql/0005_quiet_writes.sql"),
    ),
    (
        "0006_hot_toggles",
        include_str!("../../sql/0006_hot_toggles.sql"),
    ),
    ("0007_lists", include_str!("../../sql/0007_lists.sql")),
    (
        "0008_subtasks_recurrence",
        include_str!("../../sql/0008_subtasks_recurrence.sql"),
    ),
    (
        "0009_access_tokens",
        include_str!("../../sql/0009_access_tokens.sql"),
    ),
    ("0010_caldav", include_str!("../../sql/0010_caldav.sql")),
    (
        "0011_per_list_numbering",
        include_str!("../../sql/0011_per_list_numbering.sql"),
    ),
    (
        "0012_citus_ready",
        include_str!("../../sql/0012_citus_ready.sql"),
    ),
];

/// Every migration's version, in the order they are applied.
pub fn versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(version, _)| *version).collect()
}

/// Any constant: all instances of this application agree on it.
const LOCK_KEY: i64 = 0x746f_646f_6170_6931;

/// Returns the versions applied by this call.
///
/// Everything runs in one transaction under a transaction-level advisory lock, in simple queries
/// only, so it works through PgBouncer's transaction pooling too (where a session lock or a named
/// statement could land on another server connection); a failed migration leaves the schema as
/// it was.
pub fn run(client: &mut Client) -> Result<Vec<&'static str>, postgres::Error> {
    let mut tx = client.transaction()?;
    tx.batch_execute(&format!(
        "SELECT pg_advisory_xact_lock({LOCK_KEY});
         CREATE TABLE IF NOT EXISTS schema_migrations (
             version    text PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )"
    ))?;
    let done: Vec<String> = tx
        .simple_query("SELECT version FROM schema_migrations")?
        .iter()
        .filter_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .collect();
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        if done.iter().any(|d| d == version) {
            continue;
        }
        tx.batch_execute(sql)?;
        // Versions are constants of this file, never input.
        tx.batch_execute(&format!(
            "INSERT INTO schema_migrations (version) VALUES ('{version}')"
        ))?;
        applied.push(*version);
    }
    if let Some(workers) = citus_workers_of_local_tables(&mut tx)? {
        tx.batch_execute(CITUS)?;
        crate::log::info("tables distributed on Citus", &[("workers", &workers)]);
    }
    tx.commit()?;
    Ok(applied)
}

/// Whether the tables are distributed by Citus.
pub fn distributed(client: &mut Client) -> Result<bool, postgres::Error> {
    let mut tx = client.transaction()?;
    if first(
        &mut tx,
        "SELECT count(*) FROM pg_extension WHERE extname = 'citus'",
    )? != "1"
    {
        return Ok(false);
    }
    Ok(first(
        &mut tx,
        "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'tasks'::regclass",
    )? != "0")
}

/// Distributes the schema (sql/citus.sql), once the numbered migrations have run.
const CITUS: &str = include_str!("../../sql/citus.sql");

/// The number of Citus workers when the database has the extension, at least one worker, and its
/// tables are not distributed yet; `None` otherwise (always on plain PostgreSQL).
fn citus_workers_of_local_tables(
    tx: &mut postgres::Transaction,
) -> Result<Option<String>, postgres::Error> {
    if first(
        tx,
        "SELECT count(*) FROM pg_extension WHERE extname = 'citus'",
    )? != "1"
    {
        return Ok(None);
    }
    let workers = first(
        tx,
        "SELECT count(*) FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary'",
    )?;
    let distributed = first(
        tx,
        "SELECT count(*) FROM pg_dist_partition WHERE logicalrelid = 'tasks'::regclass",
    )?;
    Ok((workers != "0" && distributed == "0").then_some(workers))
}

/// The first column of the first row of a simple query, as text ("" for none).
fn first(tx: &mut postgres::Transaction, sql: &str) -> Result<String, postgres::Error> {
    Ok(tx
        .simple_query(sql)?
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap_or_default())
}
