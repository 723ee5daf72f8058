//! The auth crate's only database code: signing keys, refresh sessions and the audit log.
//! Functions take `&mut DbConn` so callers can compose them in one transaction.

pub mod audit;
pub mod keys;
pub mod sessions;

#[cfg(test)]
mod tests;
