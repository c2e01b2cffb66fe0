//! Applies `sql/*.sql` in order, each once, recorded in `schema_migrations`, under an advisory lock so
//! that several instances can start against one database at the same time.

use postgres::Client;

const MIGRATIONS: &[(&str, &str)] = &[
    ("0001_init", include_str!("../../sql/0001_init.sql")),
    ("0003_sessions", include_str!("../../sql/0003_sessions.sql")),
    ("0004_sync", include_str!("../../sql/0004_sync.sql")),
];

/// Every migration's version, in the order they are applied.
pub fn versions() -> Vec<&'static str> {
    MIGRATIONS.iter().map(|(version, _)| *version).collect()
}

/// Any constant: all instances of this application agree on it.
const LOCK_KEY: i64 = 0x746f_646f_6170_6931;

/// Returns the versions applied by this call.
pub fn run(client: &mut Client) -> Result<Vec<&'static str>, postgres::Error> {
    client.execute("SELECT pg_advisory_lock($1)", &[&LOCK_KEY])?;
    let result = apply_pending(client);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY]);
    let applied = result?;
    unlocked?;
    Ok(applied)
}

fn apply_pending(client: &mut Client) -> Result<Vec<&'static str>, postgres::Error> {
    client.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
             version    text PRIMARY KEY,
             applied_at timestamptz NOT NULL DEFAULT now()
         )",
    )?;
    let mut applied = Vec::new();
    for (version, sql) in MIGRATIONS {
        let done = client
            .query_opt(
                "SELECT 1 FROM schema_migrations WHERE version = $1",
                &[version],
            )?
            .is_some();
        if done {
            continue;
        }
        let mut tx = client.transaction()?;
        tx.batch_execute(sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES ($1)",
            &[version],
        )?;
        tx.commit()?;
        applied.push(*version);
    }
    Ok(applied)
}
