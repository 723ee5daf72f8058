//! End-to-end tests: the real server on a random port, real HTTP, on SQLite and PostgreSQL.

mod helpers;

mod entities;
mod locations;
mod reference;
mod replicas;
