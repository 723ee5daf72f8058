//! Scratch PostgreSQL databases, created on a server for one run (a test, the benchmark) and
//! dropped after it.

use crate::StoreError;
use diesel::connection::SimpleConnection;
use diesel::Connection;

/// A new, empty database on the server `admin_url` points at, named `<prefix>_<random>`.
/// Returns its name and URL. An unreachable server is [`StoreError::Connect`].
pub fn create_scratch_database(
    admin_url: &str,
    prefix: &str,
) -> Result<(String, String), StoreError> {
    let mut admin = diesel::pg::PgConnection::establish(admin_url)
        .map_err(|e| StoreError::Connect(format!("PostgreSQL at {admin_url}: {e}")))?;
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    admin.batch_execute(&format!("CREATE DATABASE {name}"))?;
    let base = admin_url.rsplit_once('/').map_or(admin_url, |(b, _)| b);
    let url = format!("{base}/{name}");
    Ok((name, url))
}

/// Drops a scratch database, ending the connections still open to it.
pub fn drop_scratch_database(admin_url: &str, name: &str) -> Result<(), StoreError> {
    let mut admin = diesel::pg::PgConnection::establish(admin_url)
        .map_err(|e| StoreError::Connect(format!("PostgreSQL at {admin_url}: {e}")))?;
    admin.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))?;
    Ok(())
}
