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

/// Inserts rows (a `&Vec` of `insert_into(…).values(…)`-style tuples) into a table and
/// returns how many: on PostgreSQL by one binary `COPY`, on SQLite by multi-row `INSERT`s of
/// `$chunk` rows each. A bulk write adds thousands of rows per batch, and PostgreSQL parsed
/// and planned each multi-row `INSERT` (some 2,500 parameters) anew; `COPY` has no statement
/// to plan. 100,000-entity ingest on PostgreSQL went from about 1,900 to about 2,200 per
/// second.
#[macro_export]
macro_rules! bulk_insert {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let rows = $rows;
        let inserted: diesel::QueryResult<usize> = if rows.is_empty() {
            Ok(0)
        } else {
            match $conn {
                $crate::DbConn::Postgres(c) => diesel::ExecuteCopyFromDsl::execute(
                    diesel::copy_from($table).from_insertable(rows),
                    &mut **c,
                ),
                $crate::DbConn::Sqlite(c) => rows.chunks($chunk).try_fold(0, |n, chunk| {
                    diesel::RunQueryDsl::execute(
                        diesel::insert_into($table).values(chunk),
                        &mut **c,
                    )
                    .map(|added| n + added)
                }),
            }
        };
        inserted
    }};
}
