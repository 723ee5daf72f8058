//! Backstage's per-file value transforms: `${VAR}` substitution in strings and the
//! `$env` / `$file` / `$include` object forms, plus YAML-to-JSON conversion.
//!
//! The rules follow `@backstage/config-loader`: a string referencing a missing variable
//! becomes *absent* (so a lower-priority file's value shows through), `$${` escapes a literal
//! `${`, and include paths resolve against the directory of the file containing them.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::env::ConfigEnv;
use crate::error::ConfigError;
use crate::keypath::{index_key, join_key};

/// The object keys that make an object an include directive.
const INCLUDE_KEYS: [&str; 3] = ["$file", "$env", "$include"];

/// Bound on `$include` nesting: Backstage has none and recurses until the stack overflows
/// when a file includes itself; a clear error is better than a crash.
const MAX_INCLUDE_DEPTH: usize = 32;

/// Replaces `${VAR}` and `${VAR:-fallback}` references in `input`.
///
/// Returns `None` when any referenced variable is undefined (and has no non-empty fallback):
/// Backstage then treats the whole value as absent. `$${...}` yields the literal `${...}`.
/// Like Backstage's `/\$?\$\{[^{}]*\}/` split, a reference ends at the first `}` and may not
/// contain `{`; anything else is left as written.
pub(crate) fn substitute(input: &str, env: &ConfigEnv) -> Option<String> {
    let bytes = input.as_bytes();
    let mut out = String::with_capacity(input.len());
    let mut undefined = false;
    let mut literal_start = 0;
    let mut i = 0;
    // Byte indexing is safe for slicing: the markers are ASCII, which never occur inside a
    // multi-byte UTF-8 sequence, so every slice boundary is a char boundary.
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let escaped = bytes.get(i + 1) == Some(&b'$') && bytes.get(i + 2) == Some(&b'{');
            let reference = bytes.get(i + 1) == Some(&b'{');
            if escaped {
                if let Some(end) = closing_brace(bytes, i + 3) {
                    out.push_str(&input[literal_start..i]);
                    out.push_str(&input[i + 1..=end]);
                    i = end + 1;
                    literal_start = i;
                    continue;
                }
            } else if reference {
                if let Some(end) = closing_brace(bytes, i + 2) {
                    out.push_str(&input[literal_start..i]);
                    match resolve_reference(&input[i + 2..end], env) {
                        Some(value) => out.push_str(&value),
                        None => undefined = true,
                    }
                    i = end + 1;
                    literal_start = i;
                    continue;
                }
            }
        }
        i += 1;
    }
    out.push_str(&input[literal_start..]);
    (!undefined).then_some(out)
}

/// Index of the `}` closing a reference whose body starts at `from`, if the body has no `{`.
fn closing_brace(bytes: &[u8], from: usize) -> Option<usize> {
    for (offset, byte) in bytes.get(from..)?.iter().enumerate() {
        match byte {
            b'}' => return Some(from + offset),
            b'{' => return None,
            _ => {}
        }
    }
    None
}

/// Value of one `${...}` body. With `:-`, Backstage uses the variable when it is non-empty,
/// else the fallback when that is non-empty, else nothing.
fn resolve_reference(body: &str, env: &ConfigEnv) -> Option<String> {
    match body.split_once(":-") {
        Some((name, fallback)) => {
            let fallback = fallback.trim();
            match env.lookup(name.trim()) {
                Some(value) if !value.is_empty() => Some(value),
                _ if !fallback.is_empty() => Some(fallback.to_owned()),
                _ => None,
            }
        }
        None => env.lookup(body.trim()),
    }
}

/// Applies the transforms to one parsed config file.
pub(crate) struct Transformer<'a> {
    pub(crate) env: &'a ConfigEnv,
}

impl Transformer<'_> {
    /// Transforms `value` found at key path `key` in a file living in `dir`.
    /// `Ok(None)` means the value is absent (an undefined substitution).
    pub(crate) fn transform(
        &self,
        value: Value,
        key: &str,
        dir: &Path,
        depth: usize,
    ) -> Result<Option<Value>, ConfigError> {
        match value {
            Value::String(s) => Ok(substitute(&s, self.env).map(Value::String)),
            Value::Object(map) => {
                if let Some(include_key) = map.keys().find(|k| INCLUDE_KEYS.contains(&k.as_str())) {
                    if map.len() != 1 {
                        return Err(ConfigError::invalid(
                            key,
                            format!("include key {include_key} should not have adjacent keys"),
                        ));
                    }
                    if let Some((include_key, target)) = map.into_iter().next() {
                        return self.include(&include_key, target, key, dir, depth);
                    }
                    return Ok(None);
                }
                self.transform_children(Value::Object(map), key, dir, depth)
                    .map(Some)
            }
            other => self.transform_children(other, key, dir, depth).map(Some),
        }
    }

    /// Transforms the members of an object or array, dropping absent ones (as Backstage does,
    /// which also shortens arrays). Scalars are returned unchanged.
    fn transform_children(
        &self,
        value: Value,
        key: &str,
        dir: &Path,
        depth: usize,
    ) -> Result<Value, ConfigError> {
        match value {
            Value::Object(map) => {
                let mut out = Map::with_capacity(map.len());
                for (child_key, child) in map {
                    let child_path = join_key(key, &child_key);
                    if let Some(v) = self.transform(child, &child_path, dir, depth)? {
                        out.insert(child_key, v);
                    }
                }
                Ok(Value::Object(out))
            }
            Value::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (index, item) in items.into_iter().enumerate() {
                    if let Some(v) = self.transform(item, &index_key(key, index), dir, depth)? {
                        out.push(v);
                    }
                }
                Ok(Value::Array(out))
            }
            other => Ok(other),
        }
    }

    fn include(
        &self,
        include_key: &str,
        target: Value,
        key: &str,
        dir: &Path,
        depth: usize,
    ) -> Result<Option<Value>, ConfigError> {
        let Value::String(raw) = target else {
            return Err(ConfigError::invalid(
                key,
                format!("{include_key} include value is not a string"),
            ));
        };
        let Some(target) = substitute(&raw, self.env) else {
            return Err(ConfigError::invalid(
                key,
                format!("{include_key} substitution value was undefined"),
            ));
        };
        match include_key {
            "$env" => Ok(self.env.lookup(&target).map(Value::String)),
            "$file" => {
                let path = dir.join(&target);
                let content = std::fs::read_to_string(&path).map_err(|err| {
                    ConfigError::invalid(key, format!("failed to read file {target}: {err}"))
                })?;
                // Backstage trims the end so that secrets files ending in a newline work.
                Ok(Some(Value::String(content.trim_end().to_owned())))
            }
            _ => self.include_document(&target, key, dir, depth),
        }
    }

    /// `$include: path[#dotted.path]`: parses a `.json`, `.yaml` or `.yml` file, optionally
    /// picks a value inside it, and transforms that relative to the included file's directory.
    fn include_document(
        &self,
        target: &str,
        key: &str,
        dir: &Path,
        depth: usize,
    ) -> Result<Option<Value>, ConfigError> {
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(ConfigError::invalid(
                key,
                format!(
                    "$include of {target} is nested more than {MAX_INCLUDE_DEPTH} levels deep \
                     (does a file include itself?)"
                ),
            ));
        }
        let (file_part, data_path) = match target.split_once('#') {
            Some((file, data)) => (file, data),
            None => (target, ""),
        };
        let extension = Path::new(file_part)
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or("");
        let is_json = match extension {
            "json" => true,
            "yaml" | "yml" => false,
            _ => {
                return Err(ConfigError::invalid(
                    key,
                    format!("no configuration parser available for included file {file_part}"),
                ))
            }
        };
        let path = dir.join(file_part);
        let content = std::fs::read_to_string(&path).map_err(|err| {
            ConfigError::invalid(
                key,
                format!("failed to read included file {file_part}: {err}"),
            )
        })?;
        let parsed = if is_json {
            serde_json::from_str::<Value>(&content).map_err(|e| e.to_string())
        } else {
            parse_yaml(&content)
        }
        .map_err(|err| {
            ConfigError::invalid(
                key,
                format!("failed to parse included file {file_part}: {err}"),
            )
        })?;

        let mut current = Some(parsed);
        if !data_path.is_empty() {
            let parts: Vec<&str> = data_path.split('.').collect();
            for (index, part) in parts.iter().enumerate() {
                match current {
                    Some(Value::Object(mut map)) => current = map.remove(*part),
                    _ => {
                        return Err(ConfigError::invalid(
                            key,
                            format!(
                                "value at '{}' in included file {file_part} is not an object",
                                parts[..index].join(".")
                            ),
                        ))
                    }
                }
            }
        }
        let Some(value) = current else {
            return Ok(None);
        };
        let new_dir = path
            .parent()
            .map_or_else(|| dir.to_path_buf(), Path::to_path_buf);
        match value {
            Value::String(s) => Ok(substitute(&s, self.env).map(Value::String)),
            other => self
                .transform_children(other, key, &new_dir, depth + 1)
                .map(Some),
        }
    }
}

/// Directory that relative include paths of the config file at `file` resolve against.
pub(crate) fn base_dir(file: &Path) -> PathBuf {
    match file.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Parses YAML text into JSON values. Empty text yields `Null`.
///
/// Merge keys (`<<: *anchor`) are applied, which Backstage's YAML 1.2 parser does not do;
/// the alternative would be a literal `<<` key no reader looks at, so applying them only
/// helps. Non-string mapping keys are turned into strings, as JavaScript objects do.
pub(crate) fn parse_yaml(text: &str) -> Result<Value, String> {
    let mut yaml: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| e.to_string())?;
    yaml.apply_merge().map_err(|e| e.to_string())?;
    yaml_to_json(yaml)
}

fn yaml_to_json(value: serde_yaml::Value) -> Result<Value, String> {
    use serde_yaml::Value as Y;
    Ok(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                let f = n.as_f64().unwrap_or(f64::NAN);
                serde_json::Number::from_f64(f)
                    .map(Value::Number)
                    .ok_or_else(|| format!("the number {n} cannot be represented in config"))?
            }
        }
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(mapping) => {
            let mut out = Map::with_capacity(mapping.len());
            for (k, v) in mapping {
                let key = match k {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    Y::Null => String::new(),
                    _ => return Err("mapping keys must be scalars".to_owned()),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::TempDir;
    use serde_json::json;

    fn env() -> ConfigEnv {
        ConfigEnv::new()
            .with("HOST", "db.internal")
            .with("PORT", " 5432 ")
            .with("EMPTY", "")
    }

    #[test]
    fn substitutes_references() {
        let env = env();
        assert_eq!(substitute("${HOST}", &env).as_deref(), Some("db.internal"));
        assert_eq!(
            substitute("pg://${HOST}:${ PORT }/x", &env).as_deref(),
            Some("pg://db.internal:5432/x")
        );
        assert_eq!(substitute("no refs", &env).as_deref(), Some("no refs"));
        assert_eq!(substitute("${EMPTY}", &env).as_deref(), Some(""));
        assert_eq!(
            substitute("ünï ${HOST} ✓", &env).as_deref(),
            Some("ünï db.internal ✓")
        );
    }

    #[test]
    fn missing_variable_makes_value_absent() {
        let env = env();
        assert_eq!(substitute("${MISSING}", &env), None);
        assert_eq!(substitute("prefix ${HOST} ${MISSING}", &env), None);
    }

    #[test]
    fn fallbacks() {
        let env = env();
        assert_eq!(
            substitute("${MISSING:-dflt}", &env).as_deref(),
            Some("dflt")
        );
        assert_eq!(substitute("${EMPTY:-dflt}", &env).as_deref(), Some("dflt"));
        assert_eq!(
            substitute("${HOST:-dflt}", &env).as_deref(),
            Some("db.internal")
        );
        assert_eq!(substitute("${MISSING:-}", &env), None);
    }

    #[test]
    fn dollar_dollar_escapes() {
        let env = env();
        assert_eq!(substitute("$${HOST}", &env).as_deref(), Some("${HOST}"));
        assert_eq!(
            substitute("a $${MISSING} b", &env).as_deref(),
            Some("a ${MISSING} b")
        );
        assert_eq!(substitute("$$${HOST}", &env).as_deref(), Some("$${HOST}"));
        // Not a complete reference: left as written.
        assert_eq!(substitute("$${a{b}", &env).as_deref(), Some("$${a{b}"));
        assert_eq!(
            substitute("${unclosed", &env).as_deref(),
            Some("${unclosed")
        );
        assert_eq!(substitute("cost $5", &env).as_deref(), Some("cost $5"));
        assert_eq!(
            substitute("trailing $", &env).as_deref(),
            Some("trailing $")
        );
    }

    #[test]
    fn transform_drops_absent_values_and_array_items() {
        let env = env();
        let t = Transformer { env: &env };
        let input = json!({
            "a": "${HOST}",
            "b": "${MISSING}",
            "list": ["x", "${MISSING}", "${HOST}"],
            "n": 5,
            "nested": {"c": "${MISSING}"}
        });
        let out = t.transform(input, "", Path::new("."), 0).unwrap().unwrap();
        assert_eq!(
            out,
            json!({"a": "db.internal", "list": ["x", "db.internal"], "n": 5, "nested": {}})
        );
    }

    #[test]
    fn env_file_and_include_forms() {
        let tmp = TempDir::new("transform");
        tmp.write("secret.txt", "s3cret\n\n");
        tmp.write(
            "sub/part.yaml",
            "inner:\n  host: ${HOST}\n  token:\n    $file: token.txt\n",
        );
        tmp.write("sub/token.txt", "tok");
        tmp.write("data.json", r#"{"x": {"y": [1, 2]}}"#);
        let env = env();
        let t = Transformer { env: &env };
        let input = json!({
            "fromEnv": {"$env": "HOST"},
            "missingEnv": {"$env": "MISSING"},
            "secret": {"$file": "secret.txt"},
            "part": {"$include": "sub/part.yaml"},
            "picked": {"$include": "sub/part.yaml#inner.host"},
            "json": {"$include": "data.json#x"},
        });
        let out = t.transform(input, "", tmp.path(), 0).unwrap().unwrap();
        assert_eq!(
            out,
            json!({
                "fromEnv": "db.internal",
                "secret": "s3cret",
                "part": {"inner": {"host": "db.internal", "token": "tok"}},
                "picked": "db.internal",
                "json": {"y": [1, 2]},
            })
        );
    }

    #[test]
    fn include_errors_name_the_key() {
        let tmp = TempDir::new("transform-errors");
        tmp.write("loop.yaml", "again:\n  $include: loop.yaml\n");
        tmp.write("scalar.yaml", "top: 1\n");
        let env = env();
        let t = Transformer { env: &env };
        let cases = [
            json!({"a": {"$file": "nope.txt"}}),
            json!({"a": {"$file": "x", "other": 1}}),
            json!({"a": {"$env": 5}}),
            json!({"a": {"$file": "${MISSING}"}}),
            json!({"a": {"$include": "file.txt"}}),
            json!({"a": {"$include": "loop.yaml"}}),
            json!({"a": {"$include": "scalar.yaml#top.deeper"}}),
        ];
        for case in cases {
            let err = t.transform(case.clone(), "", tmp.path(), 0).unwrap_err();
            match err {
                ConfigError::Invalid { key, .. } => assert!(key.starts_with('a'), "{case}: {key}"),
                other => panic!("{case}: unexpected {other}"),
            }
        }
    }

    #[test]
    fn yaml_conversion() {
        let v = parse_yaml(
            "base: &b {x: 1}\nderived:\n  <<: *b\n  y: 2\n8080: port\ntrue: yes\nf: 1.5\nt: !custom 3\n",
        )
        .unwrap();
        assert_eq!(
            v,
            json!({"base": {"x": 1}, "derived": {"x": 1, "y": 2}, "8080": "port", "true": "yes", "f": 1.5, "t": 3})
        );
        assert_eq!(parse_yaml("").unwrap(), Value::Null);
        assert_eq!(parse_yaml("# only a comment\n").unwrap(), Value::Null);
        assert!(parse_yaml("a: [").is_err());
        assert!(parse_yaml("a: 1\na: 2\n").is_err());
    }
}
