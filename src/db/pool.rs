//! The r2d2 pool of blocking PostgreSQL clients, each with its own prepared-statement cache, and TLS.
//! With `DB_STATEMENTS=unnamed` statements go out unnamed instead, as PgBouncer's transaction
//! pooling needs: a named statement lives on one server connection, and the next transaction may
//! be given another.

use crate::config::DbStatements;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::{ToSql, Type};
use postgres::{Row, SimpleQueryMessage, Statement};
use postgres_native_tls::MakeTlsConnector;
use r2d2_postgres::PostgresConnectionManager;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

pub type Pool = r2d2::Pool<Manager>;
pub type Pooled = r2d2::PooledConnection<Manager>;
pub type Params<'a> = &'a [&'a (dyn postgres::types::ToSql + Sync)];

/// Parameter types of each statement, learned once per process for unnamed statements.
type Types = Arc<Mutex<HashMap<&'static str, Arc<[Type]>>>>;

pub struct Manager {
    inner: PostgresConnectionManager<MakeTlsConnector>,
    mode: DbStatements,
    types: Types,
    distributed: bool,
}

/// A client whose statements are prepared once per connection, so a query costs one round trip
/// (or, in unnamed mode, sent unnamed with their parameter types: also one round trip).
pub struct Conn {
    pub client: postgres::Client,
    statements: HashMap<&'static str, Statement>,
    /// Statements built per request (the list's filters and sorts), prepared by their text.
    built: HashMap<String, Statement>,
    mode: DbStatements,
    types: Types,
    /// When a statement last succeeded on this connection.
    last_ok: Instant,
    /// The database is distributed by Citus: see [`Conn::distributed`].
    distributed: bool,
}

const BUILT_MAX: usize = 64;

/// A connection that answered this recently is not pinged again at checkout.
const FRESH: Duration = Duration::from_secs(1);

impl Conn {
    /// A connection of its own, outside the pool (the event listener's): it prepares its statements.
    pub fn new(client: postgres::Client, distributed: bool) -> Conn {
        Conn {
            client,
            statements: HashMap::new(),
            built: HashMap::new(),
            mode: DbStatements::Prepared,
            types: Types::default(),
            last_ok: Instant::now(),
            distributed,
        }
    }

    /// Whether the tables are distributed by Citus (sql/citus.sql). A few statements have a second
    /// form for it, where Citus refuses the one plain PostgreSQL runs fastest (docs/scaling.md).
    pub fn distributed(&self) -> bool {
        self.distributed
    }

    fn statement(&mut self, sql: &'static str) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.statements.get(sql) {
            return Ok(st.clone());
        }
        let st = self.client.prepare(sql)?;
        self.statements.insert(sql, st.clone());
        Ok(st)
    }

    /// A built statement, prepared once per connection and text. Their number is bounded by the
    /// combinations of filters and sorts; past `BUILT_MAX` the cache starts again (a dropped
    /// statement is closed on the server).
    fn built(
        &mut self,
        sql: &str,
        types: &[postgres::types::Type],
    ) -> Result<Statement, postgres::Error> {
        if let Some(st) = self.built.get(sql) {
            return Ok(st.clone());
        }
        if self.built.len() >= BUILT_MAX {
            self.built.clear();
        }
        let st = self.client.prepare_typed(sql, types)?;
        self.built.insert(sql.to_string(), st.clone());
        Ok(st)
    }

    fn ran<T>(&mut self, result: Result<T, postgres::Error>) -> Result<T, postgres::Error> {
        if result.is_ok() {
            self.last_ok = Instant::now();
        }
        result
    }

    /// One empty round trip: is the server there?
    pub fn ping(&mut self) -> Result<(), postgres::Error> {
        let result = self.client.simple_query("").map(|_| ());
        self.ran(result)
    }

    /// The statement's parameter types, as PostgreSQL infers them for a prepared statement.
    fn parameter_types(&mut self, sql: &'static str) -> Result<Arc<[Type]>, postgres::Error> {
        let known = self
            .types
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(sql)
            .cloned();
        if let Some(types) = known {
            return Ok(types);
        }
        let types = learn_types(&mut self.client, sql)?;
        self.types
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(sql, Arc::clone(&types));
        Ok(types)
    }

    /// The parameters with their types, for an unnamed statement.
    fn typed<'a>(
        &mut self,
        sql: &'static str,
        params: Params<'a>,
    ) -> Result<Vec<(&'a (dyn ToSql + Sync), Type)>, postgres::Error> {
        let types = self.parameter_types(sql)?;
        Ok(params
            .iter()
            .enumerate()
            .map(|(i, p)| (*p, types.get(i).cloned().unwrap_or(Type::UNKNOWN)))
            .collect())
    }

    pub fn query(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Vec<Row>, postgres::Error> {
        let result = match self.mode {
            DbStatements::Prepared => {
                let st = self.statement(sql)?;
                self.client.query(&st, params)
            }
            DbStatements::Unnamed => {
                let typed = self.typed(sql, params)?;
                self.client.query_typed(sql, &typed)
            }
        };
        self.ran(result)
    }

    pub fn query_opt(
        &mut self,
        sql: &'static str,
        params: Params,
    ) -> Result<Option<Row>, postgres::Error> {
        let result = match self.mode {
            DbStatements::Prepared => {
                let st = self.statement(sql)?;
                self.client.query_opt(&st, params)
            }
            DbStatements::Unnamed => {
                let typed = self.typed(sql, params)?;
                self.client.query_typed_opt(sql, &typed)
            }
        };
        self.ran(result)
    }

    pub fn query_one(&mut self, sql: &'static str, params: Params) -> Result<Row, postgres::Error> {
        let result = match self.mode {
            DbStatements::Prepared => {
                let st = self.statement(sql)?;
                self.client.query_one(&st, params)
            }
            DbStatements::Unnamed => {
                let typed = self.typed(sql, params)?;
                self.client.query_typed_one(sql, &typed)
            }
        };
        self.ran(result)
    }

    /// A statement built per request (the list's filters): prepared once per connection and text
    /// (a re-planned unnamed statement cost the W1 list most of its database time), or, in unnamed
    /// mode, sent unnamed with its parameter types. One round trip either way; each row goes to
    /// `each` as it arrives, so the caller works while PostgreSQL is still sending.
    pub fn query_typed_each(
        &mut self,
        sql: &str,
        params: &[(&(dyn postgres::types::ToSql + Sync), postgres::types::Type)],
        mut each: impl FnMut(Row),
    ) -> Result<(), postgres::Error> {
        use postgres::fallible_iterator::FallibleIterator;
        let rows = match self.mode {
            DbStatements::Prepared => {
                let types: Vec<_> = params.iter().map(|(_, t)| t.clone()).collect();
                match self.built(sql, &types) {
                    Ok(st) => self.client.query_raw(&st, params.iter().map(|(v, _)| *v)),
                    Err(e) => Err(e),
                }
            }
            DbStatements::Unnamed => self
                .client
                .query_typed_raw(sql, params.iter().map(|(v, t)| (*v, t.clone()))),
        };
        let result = rows.and_then(|mut rows| {
            while let Some(row) = rows.next()? {
                each(row);
            }
            Ok(())
        });
        self.ran(result)
    }

    pub fn execute(&mut self, sql: &'static str, params: Params) -> Result<u64, postgres::Error> {
        let result = match self.mode {
            DbStatements::Prepared => {
                let st = self.statement(sql)?;
                self.client.execute(&st, params)
            }
            DbStatements::Unnamed => {
                let typed = self.typed(sql, params)?;
                count(&mut self.client, sql, typed)
            }
        };
        self.ran(result)
    }
}

fn count(
    client: &mut postgres::Client,
    sql: &str,
    typed: Vec<(&(dyn ToSql + Sync), Type)>,
) -> Result<u64, postgres::Error> {
    let mut rows = client.query_typed_raw(sql, typed)?;
    while rows.next()?.is_some() {}
    Ok(rows.rows_affected().unwrap_or(0))
}

/// Asks PostgreSQL for a statement's parameter types without leaving a named statement behind
/// on a pooled server connection: `PREPARE`, read, `DEALLOCATE` travel as one simple query, which
/// PgBouncer runs on one server connection. The name is unique, so a statement left behind by a
/// failure halfway cannot block a later probe. A type this client does not know is sent as
/// `unknown`: PostgreSQL then infers it, as it does for text.
fn learn_types(
    client: &mut postgres::Client,
    sql: &'static str,
) -> Result<Arc<[Type]>, postgres::Error> {
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let name = format!(
        "todo_api_probe_{}_{}",
        std::process::id(),
        PROBES.fetch_add(1, Ordering::Relaxed)
    );
    let messages = client.simple_query(&format!(
        "PREPARE {name} AS {sql};
         SELECT parameter_types::oid[]::text FROM pg_prepared_statements WHERE name = '{name}';
         DEALLOCATE {name}"
    ))?;
    let oids = messages
        .iter()
        .find_map(|m| match m {
            SimpleQueryMessage::Row(row) => row.get(0).map(str::to_string),
            _ => None,
        })
        .unwrap_or_default();
    Ok(oids
        .trim_matches(['{', '}'])
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|oid| {
            oid.trim()
                .parse()
                .ok()
                .and_then(Type::from_oid)
                .unwrap_or(Type::UNKNOWN)
        })
        .collect())
}

impl Manager {
    pub(super) fn new(
        inner: PostgresConnectionManager<MakeTlsConnector>,
        mode: DbStatements,
        distributed: bool,
    ) -> Manager {
        Manager {
            inner,
            mode,
            distributed,
            types: Types::default(),
        }
    }
}

impl Manager {
    /// Whether the tables are distributed by Citus, as the pool's connections say.
    pub fn distributed(&self) -> bool {
        self.distributed
    }
}

impl r2d2::ManageConnection for Manager {
    type Connection = Conn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Conn, postgres::Error> {
        Ok(Conn {
            client: self.inner.connect()?,
            statements: HashMap::new(),
            built: HashMap::new(),
            mode: self.mode,
            types: Arc::clone(&self.types),
            last_ok: Instant::now(),
            distributed: self.distributed,
        })
    }

    // A connection idle for a while is pinged at checkout, so one left dead by a PostgreSQL restart
    // is replaced instead of failing the request that drew it. One in steady use is not: the ping
    // would be a third of the round trips of a task request. If it died all the same, its request
    // gets a 503 and `has_broken` drops it.
    fn is_valid(&self, conn: &mut Conn) -> Result<(), postgres::Error> {
        if conn.last_ok.elapsed() < FRESH {
            return Ok(());
        }
        conn.ping()
    }

    fn has_broken(&self, conn: &mut Conn) -> bool {
        conn.client.is_closed()
    }
}
