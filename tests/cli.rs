//! The built binary: `portico validate` for CI use, and `portico migrate`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests stop at the first failure"
)]

use std::process::Command;

fn portico() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portico"))
}

/// A fresh directory under the system's temporary directory, removed when dropped.
struct ScratchDir(std::path::PathBuf);

impl ScratchDir {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("portico-cli-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        Self(dir)
    }

    /// Writes a file into the directory; returns its path.
    fn file(&self, name: &str, content: &str) -> std::path::PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, content).unwrap();
        path
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn validate_accepts_good_files() {
    let scratch = ScratchDir::new();
    let good = scratch.file(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ok\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    );
    let out = portico().arg("validate").arg(&good).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(stdout.contains("1 document(s): valid"), "{stdout}");
}

#[test]
fn validate_names_file_document_and_field() {
    let scratch = ScratchDir::new();
    let bad = scratch.file(
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: ok\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n---\napiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: Not Valid\nspec:\n  type: service\n  lifecycle: production\n  owner: team-a\n",
    );
    let out = portico().arg("validate").arg(&bad).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("catalog-info.yaml: document 1"), "{stdout}");
    assert!(stdout.contains("metadata.name"), "{stdout}");
    assert!(!stdout.contains("document 0"), "{stdout}");
}

#[test]
fn validate_reports_unparseable_yaml_and_missing_files() {
    let scratch = ScratchDir::new();
    let broken = scratch.file("broken.yaml", "kind: [unclosed\n");
    let out = portico()
        .arg("validate")
        .arg(&broken)
        .arg("/nonexistent/catalog.yaml")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1));
    assert!(stdout.contains("broken.yaml: document 0"), "{stdout}");
    assert!(
        stdout.contains("/nonexistent/catalog.yaml: cannot read file"),
        "{stdout}"
    );
}

#[test]
fn migrate_creates_a_sqlite_database() {
    let scratch = ScratchDir::new();
    let db = scratch.0.join("m.db");
    let config = scratch.file(
        "config.yaml",
        &format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection: {}\n",
            db.display()
        ),
    );
    let out = portico()
        .arg("migrate")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(db.exists());
    let again = portico()
        .arg("migrate")
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&again.stdout).contains("applied 0 migration(s)"));
}
