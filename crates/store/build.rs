//! Rebuilds this crate when a migration is added or changed: `embed_migrations!` reads the
//! folders at compile time, and Cargo does not otherwise know about them.
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
