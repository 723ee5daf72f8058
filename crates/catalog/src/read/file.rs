//! Local files, with `*`/`**` globs.

use super::{ReadError, ReadFile};
use std::path::{Component, Path, PathBuf};

/// Cleans `.` and `..` out of a path without touching the file system.
pub(crate) fn normalize_path(path: &Path) -> String {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    out.display().to_string()
}

pub(crate) fn read_one(target: &str) -> Result<String, ReadError> {
    match std::fs::read(target) {
        Ok(bytes) => Ok(String::from_utf8_lossy(&bytes).into_owned()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Err(ReadError::NotFound(format!("File {target} does not exist")))
        }
        Err(e) => Err(ReadError::Transient(format!(
            "Could not read file {target}: {e}"
        ))),
    }
}

pub(crate) fn read_file_target(target: &str) -> Result<Vec<ReadFile>, ReadError> {
    if !target.contains(['*', '?', '[']) {
        return Ok(vec![ReadFile {
            target: target.to_string(),
            content: read_one(target)?,
        }]);
    }
    let paths = glob::glob(target)
        .map_err(|e| ReadError::Invalid(format!("Invalid glob pattern {target}: {e}")))?;
    let mut files = Vec::new();
    for path in paths.flatten() {
        if path.is_file() {
            let target = path.display().to_string();
            let content = read_one(&target)?;
            files.push(ReadFile { target, content });
        }
    }
    files.sort_by(|a, b| a.target.cmp(&b.target));
    Ok(files)
}
