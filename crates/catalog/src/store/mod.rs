//! The catalog's only database code. Functions take a `DbConn` so callers compose them in one
//! transaction; most are written once in diesel's DSL and compiled for both backends through
//! `with_conn!`, and the few that differ (claims with `SKIP LOCKED`) match on the backend.

mod entities;
pub mod leases;
mod locations;
mod refresh;
mod search;

pub use entities::*;
pub use locations::*;
pub use refresh::*;
pub use search::*;
