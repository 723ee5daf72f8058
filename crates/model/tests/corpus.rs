//! Every catalog file of the shared corpus (real files from public repositories) goes through
//! parsing, preparation, validation and relation derivation without a panic, and every
//! rejection says why.

use portico_model::{derive_relations, parse_yaml_documents, prepare_entity, validate_entity};
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;

fn corpus_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
}

#[derive(Default)]
struct Summary {
    files: usize,
    documents: usize,
    valid: usize,
    rejected: usize,
    parse_errors: usize,
    relations: usize,
    relation_errors: usize,
    /// Rejection reasons with quoted values blanked, for a readable top list.
    reasons: BTreeMap<String, usize>,
}

fn reason_key(field: &str, message: &str) -> String {
    if let Some((_, kind_and_version)) = message.split_once("(no processor is able to handle ") {
        return format!(
            "{field}: no processor for {}",
            kind_and_version.trim_end_matches(')')
        );
    }
    let mut out = String::new();
    let mut in_quotes = false;
    for c in message.chars() {
        if c == '"' {
            in_quotes = !in_quotes;
            if in_quotes {
                out.push_str("\"…\"");
            }
        } else if !in_quotes {
            out.push(c);
        }
    }
    // Per-item paths (`[3]`, annotation keys) would split one reason into many.
    let field: String = field.split('[').next().unwrap_or_default().to_owned();
    let field =
        if field.starts_with("metadata.annotations.") || field.starts_with("metadata.labels.") {
            field.rsplitn(2, '.').last().unwrap_or_default().to_owned() + ".*"
        } else {
            field
        };
    let message: String = out.chars().take(110).collect();
    format!("{field}: {message}")
}

/// `PORTICO_CORPUS_VERBOSE=1` lists every rejected document with all its problems.
fn verbose() -> bool {
    std::env::var("PORTICO_CORPUS_VERBOSE").is_ok_and(|v| v == "1")
}

fn check_file(text: &str, summary: &mut Summary, location: &str) {
    for document in parse_yaml_documents(text) {
        summary.documents += 1;
        let mut entity = match document.value {
            Ok(entity) => entity,
            Err(message) => {
                assert!(
                    !message.trim().is_empty(),
                    "{location} #{}: empty parse error",
                    document.index
                );
                summary.rejected += 1;
                summary.parse_errors += 1;
                if verbose() {
                    println!("REJECTED {location} #{}: {message}", document.index);
                }
                let key = if message.contains("not a mapping") {
                    "document is not a mapping"
                } else {
                    "YAML error"
                };
                *summary
                    .reasons
                    .entry(format!("<parse>: {key}"))
                    .or_default() += 1;
                continue;
            }
        };
        prepare_entity(&mut entity);
        let errors = validate_entity(&entity);
        let (relations, relation_errors) = derive_relations(&entity);
        for error in errors.iter().chain(&relation_errors) {
            assert!(
                !error.message.trim().is_empty(),
                "{location} #{}: empty message",
                document.index
            );
        }
        if errors.is_empty() {
            summary.valid += 1;
            summary.relations += relations.len();
            summary.relation_errors += relation_errors.len();
        } else {
            summary.rejected += 1;
            if verbose() {
                let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
                println!(
                    "REJECTED {location} #{}: {}",
                    document.index,
                    all.join(" | ")
                );
            }
            let first = &errors[0];
            *summary
                .reasons
                .entry(reason_key(&first.field, &first.message))
                .or_default() += 1;
        }
    }
}

#[test]
fn corpus_never_panics_and_every_rejection_has_a_reason() {
    let dir = corpus_dir();
    let Ok(index) = std::fs::read_to_string(dir.join("INDEX.tsv")) else {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("corpus missing at {} (CI=true)", dir.display());
        }
        eprintln!(
            "\n!!!!!!!! SKIP: corpus not found at {}; corpus test did not run !!!!!!!!\n",
            dir.display()
        );
        return;
    };
    let mut summary = Summary::default();
    let mut missing = Vec::new();
    let mut panicked = Vec::new();
    for line in index.lines().skip(1).filter(|l| !l.trim().is_empty()) {
        let columns: Vec<&str> = line.split('\t').collect();
        let [owner, repo, path, ..] = columns.as_slice() else {
            panic!("malformed INDEX.tsv row: {line}");
        };
        let file = dir.join("github").join(owner).join(repo).join(path);
        let Ok(bytes) = std::fs::read(&file) else {
            missing.push(file.display().to_string());
            continue;
        };
        summary.files += 1;
        let text = String::from_utf8_lossy(&bytes);
        let location = format!("{owner}/{repo}/{path}");
        if catch_unwind(AssertUnwindSafe(|| {
            check_file(&text, &mut summary, &location)
        }))
        .is_err()
        {
            panicked.push(location);
        }
    }
    println!(
        "corpus summary: files {}, documents {}, valid {}, rejected {} (parse errors {}), relations {} \
         (unresolvable refs {})",
        summary.files,
        summary.documents,
        summary.valid,
        summary.rejected,
        summary.parse_errors,
        summary.relations,
        summary.relation_errors
    );
    let mut reasons: Vec<(&String, &usize)> = summary.reasons.iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    println!("top rejection reasons (first error of each document):");
    for (reason, count) in reasons.iter().take(25) {
        println!("{count:>6}  {reason}");
    }
    assert!(
        missing.is_empty(),
        "INDEX.tsv lists files that are missing: {missing:?}"
    );
    assert!(panicked.is_empty(), "panicked on: {panicked:?}");
    assert!(summary.files > 1000, "only {} corpus files", summary.files);
    assert_eq!(summary.documents, summary.valid + summary.rejected);
}
