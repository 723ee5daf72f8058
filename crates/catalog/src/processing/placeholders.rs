//! `$text`, `$json` and `$yaml` placeholders: an object whose only key is one of these is
//! replaced by the file it names, read relative to the entity's own location.

use crate::read::{LocationReader, ReadError};
use serde_json::Value;

/// How many placeholders one entity may pull in; a bound against abuse.
const MAX_PLACEHOLDERS: usize = 50;

pub(crate) async fn resolve(
    reader: &LocationReader,
    loc_type: &str,
    loc_target: &str,
    entity: &mut Value,
) -> Result<(), ReadError> {
    let mut found = Vec::new();
    collect(entity, String::new(), &mut found);
    if found.len() > MAX_PLACEHOLDERS {
        return Err(ReadError::Invalid(format!(
            "too many placeholders ({}), at most {MAX_PLACEHOLDERS} are allowed",
            found.len()
        )));
    }
    for (pointer, kind, relative) in found {
        // An absolute URL is read as a URL even from a file location, as Backstage does.
        let is_url =
            url::Url::parse(&relative).is_ok_and(|u| matches!(u.scheme(), "http" | "https"));
        let (read_type, target) = if is_url {
            ("url", relative.clone())
        } else {
            (
                loc_type,
                reader.resolve_relative(loc_type, loc_target, &relative)?,
            )
        };
        let text = reader
            .read_text(read_type, &target)
            .await
            .map_err(|e| match e {
                ReadError::NotFound(m) => ReadError::NotFound(format!(
                    "{pointer_field}: {m}",
                    pointer_field = field_of(&pointer)
                )),
                ReadError::NotAllowed(m) => {
                    ReadError::NotAllowed(format!("{}: {m}", field_of(&pointer)))
                }
                ReadError::Transient(m) => {
                    ReadError::Transient(format!("{}: {m}", field_of(&pointer)))
                }
                ReadError::Invalid(m) => ReadError::Invalid(format!("{}: {m}", field_of(&pointer))),
            })?;
        let value = match kind.as_str() {
            "$text" => Value::String(text),
            "$json" => serde_json::from_str(&text).map_err(|e| {
                ReadError::Invalid(format!(
                    "{}: failed to parse JSON from {target}: {e}",
                    field_of(&pointer)
                ))
            })?,
            _ => serde_yaml::from_str::<Value>(&text).map_err(|e| {
                ReadError::Invalid(format!(
                    "{}: failed to parse YAML from {target}: {e}",
                    field_of(&pointer)
                ))
            })?,
        };
        if let Some(slot) = entity.pointer_mut(&pointer) {
            *slot = value;
        }
    }
    Ok(())
}

fn field_of(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

fn collect(value: &Value, pointer: String, found: &mut Vec<(String, String, String)>) {
    match value {
        Value::Object(map) => {
            if map.len() == 1 {
                if let Some((k, v)) = map.iter().next() {
                    if matches!(k.as_str(), "$text" | "$json" | "$yaml") {
                        if let Some(s) = v.as_str() {
                            found.push((pointer, k.clone(), s.to_string()));
                            return;
                        }
                    }
                }
            }
            for (k, v) in map {
                let escaped = k.replace('~', "~0").replace('/', "~1");
                collect(v, format!("{pointer}/{escaped}"), found);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                collect(v, format!("{pointer}/{i}"), found);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn text_json_and_yaml_are_read_relative_to_the_entity() {
        let dir = std::env::temp_dir().join(format!("portico-ph-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("api.yaml"), "openapi: 3.0.0\n").unwrap();
        std::fs::write(dir.join("x.json"), "{\"a\": 1}").unwrap();
        let base = dir.join("catalog-info.yaml").display().to_string();
        let mut e = json!({"spec": {
            "definition": {"$text": "./api.yaml"},
            "j": {"$json": "x.json"},
            "y": {"$yaml": "./api.yaml"},
            "not": {"$text": "a", "other": 1}
        }});
        let reader = LocationReader::new(vec![]);
        resolve(&reader, "file", &base, &mut e).await.unwrap();
        assert_eq!(e["spec"]["definition"], "openapi: 3.0.0\n");
        assert_eq!(e["spec"]["j"]["a"], 1);
        assert_eq!(e["spec"]["y"]["openapi"], "3.0.0");
        assert_eq!(e["spec"]["not"]["other"], 1);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[tokio::test]
    async fn urls_off_the_allow_list_are_refused() {
        let mut e =
            json!({"spec": {"definition": {"$text": "https://demo.example.com/api.graphql"}}});
        let reader = LocationReader::new(vec![]);
        let err = resolve(&reader, "url", "https://h/c.yaml", &mut e)
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::NotAllowed(_)), "{err:?}");
        assert!(err.to_string().contains("spec.definition"));
        // From a file location too: a URL is never taken for a path.
        let mut e =
            json!({"spec": {"definition": {"$text": "https://demo.example.com/api.graphql"}}});
        let err = resolve(&reader, "file", "/x/c.yaml", &mut e)
            .await
            .unwrap_err();
        assert!(matches!(err, ReadError::NotAllowed(_)), "{err:?}");
    }
}
