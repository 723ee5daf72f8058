//! Test databases: a migrated temporary SQLite file, or a fresh PostgreSQL database on the
//! local server (127.0.0.1:5432), dropped when the test ends.
//!
//! With no PostgreSQL answering, [`TestDb::postgres`] returns `None` after printing a loud
//! SKIP line, except under `CI=true`, where it panics: CI must never pass by skipping.

#![expect(
    clippy::expect_used,
    reason = "test set-up that fails should stop the test at once"
)]

use diesel::connection::SimpleConnection;
use diesel::Connection;
use portico_store::{run_migrations, Db, DbTarget};

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
    let mut admin = match diesel::pg::PgConnection::establish(&admin_url) {
        Ok(c) => c,
        Err(e) => {
            if std::env::var("CI").map(|v| v == "true").unwrap_or(false) {
                panic!("CI=true but PostgreSQL is not reachable at {admin_url}: {e}");
            }
            eprintln!(
                "\n*** SKIP: PostgreSQL is not reachable at {admin_url} ({e}); \
                 PostgreSQL tests are skipped. Under CI=true this is a failure. ***\n"
            );
            return None;
        }
    };
    let name = format!("portico_test_{}", uuid::Uuid::new_v4().simple());
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .expect("create test database");
    let base = admin_url
        .rsplit_once('/')
        .map(|(b, _)| b)
        .unwrap_or(&admin_url);
    let url = format!("{base}/{name}");
    Some((
        DbTarget::Postgres(url),
        Cleanup::DropDatabase { admin_url, name },
    ))
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::RemoveDir(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::DropDatabase { admin_url, name } => {
                if let Ok(mut admin) = diesel::pg::PgConnection::establish(admin_url) {
                    // FORCE ends the pools' connections that may still be open.
                    if let Err(e) =
                        admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    {
                        tracing::warn!(database = %name, "could not drop test database: {e}");
                    }
                }
            }
        }
    }
}
