//! The store's failures.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database query failed: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("could not connect to the database: {0}")]
    Connect(String),
    #[error("no database connection available: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database migrations failed: {0}")]
    Migration(String),
    #[error("database task failed: {0}")]
    Task(String),
}

impl StoreError {
    /// Whether this failure means the database is unreachable or overloaded right now
    /// (a 503 to callers), rather than a bug or bad data.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, StoreError::Pool(_) | StoreError::Connect(_))
    }
}
