//! Connections and pools for both backends, and the async entry points that run blocking
//! database work off the async executor threads.

use crate::StoreError;
use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel::Connection;
use std::time::Duration;

/// Where the database is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// A file path, or `:memory:`.
    Sqlite(String),
    /// A `postgres://` URL.
    Postgres(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A checked-out connection to either backend. Queries match on it through
/// [`with_conn!`](crate::with_conn).
pub enum DbConn<'a> {
    Sqlite(&'a mut SqliteConnection),
    Postgres(&'a mut PgConnection),
}

impl DbConn<'_> {
    pub fn backend(&self) -> Backend {
        match self {
            DbConn::Sqlite(_) => Backend::Sqlite,
            DbConn::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs `f` in a transaction; rolls back when it returns an error.
    pub fn transaction<T, E, F>(&mut self, f: F) -> Result<T, E>
    where
        F: FnOnce(&mut DbConn<'_>) -> Result<T, E>,
        E: From<diesel::result::Error>,
    {
        match self {
            DbConn::Sqlite(c) => c.transaction(|c| f(&mut DbConn::Sqlite(c))),
            DbConn::Postgres(c) => c.transaction(|c| f(&mut DbConn::Postgres(c))),
        }
    }
}

type SqlitePool = Pool<ConnectionManager<SqliteConnection>>;
type PgPool = Pool<ConnectionManager<PgConnection>>;

#[derive(Clone)]
enum Pools {
    /// Writes queue on a one-connection pool instead of failing with SQLITE_BUSY; reads run
    /// concurrently under WAL.
    Sqlite {
        read: SqlitePool,
        write: SqlitePool,
    },
    Postgres(PgPool),
}

/// The database handle shared by the whole process. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pools: Pools,
}

#[derive(Debug)]
struct SqlitePragmas {
    /// Page cache per connection, in KiB. The writer gets a large one (ingestion rewrites
    /// index pages all over the file); readers a small one each, as the operating system's
    /// file cache serves them nearly as well and each reader's cache adds to the memory used.
    cache_kib: u32,
}

impl CustomizeConnection<SqliteConnection, diesel::r2d2::Error> for SqlitePragmas {
    /// The write-ahead log may grow to 20,000 pages (about 80 MB) before it is copied into
    /// the database file, where SQLite's default is 1,000: an ingest rewrites the same index
    /// pages many times over, and each copy wrote them all again (ingest of 100,000 entities
    /// went from about 1,900 to about 2,100 per second).
    fn on_acquire(&self, conn: &mut SqliteConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 10000; \
             PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -{}; \
             PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = 20000;",
            self.cache_kib
        ))
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// PostgreSQL sessions plan every statement with its bound values. Diesel prepares its
/// statements, and after a few runs PostgreSQL may switch to a plan made without the values:
/// for `key = ANY($1)` over a large table that plan could be a sequential scan testing each
/// row against the whole array (half a second per chunk of a bulk write), where the value's
/// own plan is an index probe.
#[derive(Debug)]
struct PostgresSettings;

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for PostgresSettings {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute("SET plan_cache_mode = force_custom_plan")
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

const POOL_TIMEOUT: Duration = Duration::from_secs(30);

impl Db {
    /// Opens pools for the target. A SQLite file's parent directory is created; the file
    /// itself is created by SQLite on first open.
    pub fn connect(target: &DbTarget) -> Result<Self, StoreError> {
        let pools = match target {
            DbTarget::Sqlite(path) => {
                let in_memory = path == ":memory:";
                if !in_memory {
                    if let Some(parent) = std::path::Path::new(path).parent() {
                        if !parent.as_os_str().is_empty() {
                            std::fs::create_dir_all(parent).map_err(|e| {
                                StoreError::Connect(format!(
                                    "cannot create directory {}: {e}",
                                    parent.display()
                                ))
                            })?;
                        }
                    }
                }
                let build = |size: u32, cache_kib: u32| {
                    Pool::builder()
                        .max_size(size)
                        .connection_timeout(POOL_TIMEOUT)
                        .connection_customizer(Box::new(SqlitePragmas { cache_kib }))
                        .build(ConnectionManager::<SqliteConnection>::new(path.as_str()))
                        .map_err(|e| StoreError::Connect(format!("SQLite {path}: {e}")))
                };
                let write = build(1, 32_000)?;
                // An in-memory database exists once per connection: share the single one.
                let read = if in_memory {
                    write.clone()
                } else {
                    build(4, 4_000)?
                };
                Pools::Sqlite { read, write }
            }
            DbTarget::Postgres(url) => {
                let pool = Pool::builder()
                    .max_size(10)
                    .connection_timeout(POOL_TIMEOUT)
                    .connection_customizer(Box::new(PostgresSettings))
                    .build(ConnectionManager::<PgConnection>::new(url.as_str()))
                    .map_err(|e| StoreError::Connect(format!("PostgreSQL: {e}")))?;
                Pools::Postgres(pool)
            }
        };
        Ok(Self { pools })
    }

    pub fn backend(&self) -> Backend {
        match self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// Runs read-only work on a pooled connection, on the blocking thread pool.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + Send + 'static,
        F: FnOnce(&mut DbConn<'_>) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| db.read_blocking(f)))
            .await
            .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// Runs work in one transaction on the write connection, on the blocking thread pool.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut DbConn<'_>) -> Result<T, E> + Send + 'static,
    {
        let db = self.clone();
        let span = tracing::Span::current();
        tokio::task::spawn_blocking(move || span.in_scope(|| db.write_blocking(f)))
            .await
            .map_err(|e| E::from(StoreError::Task(e.to_string())))?
    }

    /// Like [`Db::write`], for batch work that finds its rows by key, a chunk of keys per
    /// statement (the catalog's processing and stitching). On PostgreSQL the transaction is
    /// planned without sequential scans where an index answers: a table that is new, or has
    /// grown since it was last analyzed (autovacuum lags a bulk ingest by minutes), has no
    /// statistics to say that 500 keys match 500 rows, and PostgreSQL's default guess (half a
    /// percent of the table per key) makes a chunk match the whole table. Those scans read the
    /// whole of each table once per chunk: some 80 million rows over a 100,000-entity ingest.
    pub async fn write_batch<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<StoreError> + From<diesel::result::Error> + Send + 'static,
        F: FnOnce(&mut DbConn<'_>) -> Result<T, E> + Send + 'static,
    {
        self.write(move |conn| {
            if let DbConn::Postgres(c) = conn {
                // Until the transaction ends. A query no index answers still scans.
                c.batch_execute("SET LOCAL enable_seqscan = off")?;
            }
            f(conn)
        })
        .await
    }

    /// The synchronous form of [`Db::read`], for the CLI and for code already off the executor.
    pub fn read_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError>,
        F: FnOnce(&mut DbConn<'_>) -> Result<T, E>,
    {
        match &self.pools {
            Pools::Sqlite { read, .. } => {
                let mut c = checkout(read)?;
                f(&mut DbConn::Sqlite(&mut c))
            }
            Pools::Postgres(pool) => {
                let mut c = checkout(pool)?;
                f(&mut DbConn::Postgres(&mut c))
            }
        }
    }

    /// The synchronous form of [`Db::write`].
    pub fn write_blocking<T, E, F>(&self, f: F) -> Result<T, E>
    where
        E: From<StoreError> + From<diesel::result::Error>,
        F: FnOnce(&mut DbConn<'_>) -> Result<T, E>,
    {
        match &self.pools {
            Pools::Sqlite { write, .. } => {
                let mut c = checkout(write)?;
                DbConn::Sqlite(&mut c).transaction(f)
            }
            Pools::Postgres(pool) => {
                let mut c = checkout(pool)?;
                DbConn::Postgres(&mut c).transaction(f)
            }
        }
    }

    /// Whether the database answers a trivial query (readiness).
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.read(|conn| {
            crate::with_conn!(conn, c => c.batch_execute("SELECT 1")).map_err(StoreError::from)
        })
        .await
    }
}

fn checkout<C>(
    pool: &Pool<ConnectionManager<C>>,
) -> Result<PooledConnection<ConnectionManager<C>>, StoreError>
where
    C: diesel::r2d2::R2D2Connection + 'static,
{
    Ok(pool.get()?)
}
