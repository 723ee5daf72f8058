//! Embedded migrations for both backends, run at start and by `portico migrate`.

use crate::{Db, DbConn, StoreError};
use diesel::connection::SimpleConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/sqlite");
const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations/postgres");

/// An arbitrary constant: replicas starting together take this advisory lock so only one
/// of them migrates.
const MIGRATION_LOCK_ID: i64 = 0x0070_6f72_7469_636f;

/// Brings the schema up to date. Returns the names of the migrations applied now.
pub fn run_migrations(db: &Db) -> Result<Vec<String>, StoreError> {
    db.write_blocking(|conn| match conn {
        DbConn::Sqlite(c) => apply(*c, SQLITE_MIGRATIONS),
        DbConn::Postgres(c) => {
            c.batch_execute(&format!(
                "SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})"
            ))?;
            apply(*c, POSTGRES_MIGRATIONS)
        }
    })
}

fn apply<C>(conn: &mut C, migrations: EmbeddedMigrations) -> Result<Vec<String>, StoreError>
where
    C: MigrationHarness<C::Backend> + diesel::Connection,
{
    let applied = conn
        .run_pending_migrations(migrations)
        .map_err(|e| StoreError::Migration(e.to_string()))?;
    Ok(applied.iter().map(|v| v.to_string()).collect())
}

/// The migration names of one backend, for checking both stay in step.
pub fn migration_names(backend: crate::Backend) -> Vec<String> {
    use diesel::migration::MigrationSource;
    let source = match backend {
        crate::Backend::Sqlite => SQLITE_MIGRATIONS,
        crate::Backend::Postgres => POSTGRES_MIGRATIONS,
    };
    let names = match backend {
        crate::Backend::Sqlite => MigrationSource::<diesel::sqlite::Sqlite>::migrations(&source)
            .map(|ms| ms.iter().map(|m| m.name().to_string()).collect::<Vec<_>>()),
        crate::Backend::Postgres => MigrationSource::<diesel::pg::Pg>::migrations(&source)
            .map(|ms| ms.iter().map(|m| m.name().to_string()).collect::<Vec<_>>()),
    };
    names.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_backends_have_the_same_migrations() {
        let sqlite = migration_names(crate::Backend::Sqlite);
        assert!(!sqlite.is_empty());
        assert_eq!(sqlite, migration_names(crate::Backend::Postgres));
    }

    #[test]
    fn migrations_apply_to_a_fresh_sqlite_file() {
        let dir = std::env::temp_dir().join(format!("portico-store-{}", std::process::id()));
        let path = dir.join("m.db");
        let db = Db::connect(&crate::DbTarget::Sqlite(path.display().to_string())).unwrap();
        let applied = run_migrations(&db).unwrap();
        assert_eq!(applied.len(), migration_names(crate::Backend::Sqlite).len());
        // A second run applies nothing.
        assert!(run_migrations(&db).unwrap().is_empty());
        let _ = std::fs::remove_dir_all(dir);
    }
}
