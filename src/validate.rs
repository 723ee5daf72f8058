//! `portico validate FILE…`: the server's own document checks, for CI. Messages name the file,
//! the document index and the field.

use portico_model::{parse_yaml_documents, prepare_entity, validate_entity, EntityRef};
use std::io::Write;
use std::path::PathBuf;

/// Validates every document of every file; writes one line per problem. Returns whether all
/// documents were valid.
pub fn validate_files(files: &[PathBuf], out: &mut dyn Write) -> anyhow::Result<bool> {
    let mut ok = true;
    let mut documents = 0;
    for file in files {
        let text = match std::fs::read(file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                writeln!(out, "{}: cannot read file: {e}", file.display())?;
                ok = false;
                continue;
            }
        };
        for doc in parse_yaml_documents(&text) {
            documents += 1;
            let mut value = match doc.value {
                Ok(v) => v,
                Err(message) => {
                    writeln!(out, "{}: document {}: {message}", file.display(), doc.index)?;
                    ok = false;
                    continue;
                }
            };
            prepare_entity(&mut value);
            let problems = validate_entity(&value);
            let (_, ref_problems) = portico_model::derive_relations(&value);
            let name = EntityRef::of_entity(&value)
                .map(|r| r.to_string())
                .unwrap_or_else(|_| "entity".into());
            for p in problems.iter().chain(ref_problems.iter()) {
                writeln!(
                    out,
                    "{}: document {} ({name}): {p}",
                    file.display(),
                    doc.index
                )?;
                ok = false;
            }
        }
    }
    writeln!(
        out,
        "{} file(s), {documents} document(s): {}",
        files.len(),
        if ok { "valid" } else { "errors found" }
    )?;
    Ok(ok)
}
