//! Test databases: a migrated temporary SQLite file, or a fresh PostgreSQL database on the
//! local server (127.0.0.1:5432), dropped when the test ends.
//!
//! With no PostgreSQL answering, [`TestDb::postgres`] returns `None` after printing a loud
//! SKIP line, except under `CI=true`, where it panics: CI must never pass by skipping.

#![expect(
    clippy::expect_used,
    reason = "test set-up that fails should stop the test at once"
)]

use portico_store::{
    create_scratch_database, drop_scratch_database, run_migrations, Db, DbTarget, StoreError,
};

/// Defines a module `$name` of two tests, `sqlite` and `postgres`, that each run the
/// synchronous check `$check(&TestDb)` of the enclosing module on a fresh database of that
/// backend (the PostgreSQL one skips as [`TestDb::postgres`] does).
#[macro_export]
macro_rules! test_on_both_backends {
    ($name:ident, $check:ident) => {
        mod $name {
            #[test]
            fn sqlite() {
                super::$check(&$crate::TestDb::sqlite());
            }

            #[test]
            fn postgres() {
                if let Some(db) = $crate::TestDb::postgres() {
                    super::$check(&db);
                }
            }
        }
    };
}

/// Where the harness finds a PostgreSQL server it may create databases on.
pub fn postgres_admin_url() -> String {
    std::env::var("PORTICO_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

pub struct TestDb {
    pub db: Db,
    pub target: DbTarget,
    cleanup: Cleanup,
}

enum Cleanup {
    RemoveDir(std::path::PathBuf),
    DropDatabase { admin_url: String, name: String },
}

impl TestDb {
    /// A migrated SQLite file in a fresh temporary directory.
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("portico-test-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("create temp dir");
        let target = DbTarget::Sqlite(dir.join("portico.db").display().to_string());
        let db = Db::connect(&target).expect("open SQLite");
        run_migrations(&db).expect("migrate SQLite");
        TestDb {
            db,
            target,
            cleanup: Cleanup::RemoveDir(dir),
        }
    }

    /// A fresh, migrated PostgreSQL database, or `None` (loudly) when no server answers
    /// outside CI.
    pub fn postgres() -> Option<TestDb> {
        let (target, cleanup) = create_postgres_database()?;
        let db = Db::connect(&target).expect("open PostgreSQL");
        run_migrations(&db).expect("migrate PostgreSQL");
        Some(TestDb {
            db,
            target,
            cleanup,
        })
    }

    /// A fresh, empty (unmigrated) PostgreSQL database, for tests of start-up itself.
    pub fn postgres_unmigrated() -> Option<TestDb> {
        let (target, cleanup) = create_postgres_database()?;
        let db = Db::connect(&target).expect("open PostgreSQL");
        Some(TestDb {
            db,
            target,
            cleanup,
        })
    }

    /// The URL or path a separate process (the built binary) can use to reach this database.
    pub fn connection_string(&self) -> String {
        match &self.target {
            DbTarget::Sqlite(p) | DbTarget::Postgres(p) => p.clone(),
        }
    }
}

fn create_postgres_database() -> Option<(DbTarget, Cleanup)> {
    let admin_url = postgres_admin_url();
    match create_scratch_database(&admin_url, "portico_test") {
        Ok((name, url)) => Some((
            DbTarget::Postgres(url),
            Cleanup::DropDatabase { admin_url, name },
        )),
        Err(e @ StoreError::Connect(_)) => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("CI=true but PostgreSQL is not reachable: {e}");
            }
            eprintln!(
                "\n*** SKIP: {e}; PostgreSQL tests are skipped. Under CI=true this is a \
                 failure. ***\n"
            );
            None
        }
        Err(e) => panic!("cannot create a test database: {e}"),
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::RemoveDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::DropDatabase { admin_url, name } => {
                if let Err(e) = drop_scratch_database(admin_url, name) {
                    tracing::warn!(database = %name, "could not drop test database: {e}");
                }
            }
        }
    }
}
