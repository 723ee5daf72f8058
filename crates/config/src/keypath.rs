//! Formatting of config key paths (`backend.listen.port`, `catalog.locations[0].target`) so
//! that every error and warning names a key the way an operator would write it.

/// `prefix.key`, or `key` at the root.
pub(crate) fn join_key(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else if key.is_empty() {
        prefix.to_owned()
    } else if key.starts_with('[') {
        format!("{prefix}{key}")
    } else {
        format!("{prefix}.{key}")
    }
}

/// `prefix[index]`.
pub(crate) fn index_key(prefix: &str, index: usize) -> String {
    format!("{prefix}[{index}]")
}

/// The path `serde_ignored` reports, relative to the deserialized value.
pub(crate) fn ignored_path(path: &serde_ignored::Path<'_>) -> String {
    use serde_ignored::Path as P;
    match path {
        P::Root => String::new(),
        P::Seq { parent, index } => index_key(&ignored_path(parent), *index),
        P::Map { parent, key } => join_key(&ignored_path(parent), key),
        // Option and newtype wrappers are not visible in the YAML.
        P::Some { parent } | P::NewtypeStruct { parent } | P::NewtypeVariant { parent } => {
            ignored_path(parent)
        }
    }
}

/// The path `serde_path_to_error` reports, relative to the deserialized value.
pub(crate) fn error_path(path: &serde_path_to_error::Path) -> String {
    use serde_path_to_error::Segment;
    let mut out = String::new();
    for segment in path.iter() {
        out = match segment {
            Segment::Seq { index } => index_key(&out, *index),
            Segment::Map { key } => join_key(&out, key),
            Segment::Enum { variant } => join_key(&out, variant),
            Segment::Unknown => join_key(&out, "?"),
        };
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins() {
        assert_eq!(join_key("", "a"), "a");
        assert_eq!(join_key("a", ""), "a");
        assert_eq!(join_key("a", "b"), "a.b");
        assert_eq!(join_key("a", "[0].b"), "a[0].b");
        assert_eq!(index_key("a", 3), "a[3]");
        assert_eq!(index_key("", 3), "[3]");
    }
}
