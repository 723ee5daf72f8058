//! Portico's database layer: one connection type over SQLite and PostgreSQL, pools, the
//! table schema and the embedded migrations. It owns no queries of its own; each crate keeps
//! its queries in its own `store` module and runs them through [`Db::read`] / [`Db::write`].

mod conn;
mod error;
mod migrate;
pub mod schema;
mod scratch;

pub use conn::{Backend, Db, DbConn, DbTarget};
pub use error::StoreError;
pub use migrate::{migration_names, run_migrations};
pub use scratch::{create_scratch_database, drop_scratch_database};

/// Current time in Unix milliseconds, the unit of every time column.
pub fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// Runs one body against whichever backend `conn` is, so a query written once in diesel's DSL
/// is type-checked and compiled for both SQLite and PostgreSQL.
#[macro_export]
macro_rules! with_conn {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::DbConn::Sqlite($c) => $body,
            $crate::DbConn::Postgres($c) => $body,
        }
    };
}
