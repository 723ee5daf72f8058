//! Multi-document YAML catalog files: splitting a file into documents and turning each into
//! JSON the way Backstage's `yaml` parser (YAML 1.2, merge keys off) does.

use serde::Deserialize;
use serde_json::{Map, Number, Value};
use serde_yaml::Value as Yaml;
use std::panic::{catch_unwind, AssertUnwindSafe};

/// One YAML document of a file: its 0-based index and the JSON value, or why it could not be
/// read as a mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedDocument {
    pub index: usize,
    pub value: Result<Value, String>,
}

/// Splits a file into its documents. Empty documents are skipped; a syntax error ends the file
/// with one error entry; non-mapping documents are errors. Never panics.
pub fn parse_yaml_documents(text: &str) -> Vec<ParsedDocument> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    // Every document takes at least one byte of input, so this bounds the loop even if the
    // parser misbehaves.
    let max_documents = text.len() + 2;
    let mut out = Vec::new();
    for (index, document) in serde_yaml::Deserializer::from_str(text)
        .take(max_documents)
        .enumerate()
    {
        // serde_yaml 0.9 has `panic!`s for event streams it did not expect; contain them so a
        // hostile file costs one error entry, not the caller's thread.
        let loaded = catch_unwind(AssertUnwindSafe(|| Yaml::deserialize(document)));
        match loaded {
            Ok(Ok(yaml)) => match yaml_to_json(yaml) {
                Value::Null => {}
                value @ Value::Object(_) => out.push(ParsedDocument {
                    index,
                    value: Ok(value),
                }),
                other => out.push(ParsedDocument {
                    index,
                    value: Err(format!(
                        "document is not a mapping/object (expected object at root, got {})",
                        json_type_name(&other)
                    )),
                }),
            },
            Ok(Err(error)) => {
                let message = error.to_string();
                out.push(ParsedDocument {
                    index,
                    value: Err(format!("YAML error: {message}")),
                });
                // A duplicate key is found after the whole document was read, so the next
                // document starts cleanly. After any other error (syntax, unknown alias) the
                // parser is mid-document: serde_yaml would repeat the error for ever or hand
                // out the rest of the broken document as if it were the next one.
                if !message.starts_with("duplicate entry") {
                    break;
                }
            }
            Err(_) => {
                out.push(ParsedDocument {
                    index,
                    value: Err("YAML error: the YAML parser failed on this document".to_owned()),
                });
                break;
            }
        }
    }
    out
}

/// The JSON type name of a value, as JavaScript's `typeof` would put it (plus `array`).
pub(crate) fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Converts a YAML value to JSON. Tags are dropped (their value kept), as Backstage's parser does
/// for unknown tags; NaN and infinities become `null` as in `JSON.stringify`.
fn yaml_to_json(yaml: Yaml) -> Value {
    match yaml {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(b),
        Yaml::Number(n) => yaml_number_to_json(&n),
        Yaml::String(s) => Value::String(s),
        Yaml::Sequence(items) => Value::Array(items.into_iter().map(yaml_to_json).collect()),
        Yaml::Mapping(mapping) => {
            let mut object = Map::with_capacity(mapping.len());
            for (key, value) in mapping {
                object.insert(mapping_key(&key), yaml_to_json(value));
            }
            Value::Object(object)
        }
        Yaml::Tagged(tagged) => yaml_to_json(tagged.value),
    }
}

fn yaml_number_to_json(n: &serde_yaml::Number) -> Value {
    if let Some(i) = n.as_i64() {
        Value::Number(i.into())
    } else if let Some(u) = n.as_u64() {
        Value::Number(u.into())
    } else {
        n.as_f64()
            .and_then(Number::from_f64)
            .map_or(Value::Null, Value::Number)
    }
}

/// JavaScript objects only have string keys: scalars become their string form (`null` becomes
/// the empty string) and collections their flow-style YAML text, as the `yaml` package does.
fn mapping_key(key: &Yaml) -> String {
    match key {
        Yaml::Null => String::new(),
        Yaml::String(s) => s.clone(),
        other => flow_text(other),
    }
}

/// A compact flow-style rendering (`[ 1, 2 ]`, `{ a: 1, b }`) used only for collection keys.
fn flow_text(value: &Yaml) -> String {
    match value {
        Yaml::Null => "null".to_owned(),
        Yaml::Bool(b) => b.to_string(),
        Yaml::Number(n) => match yaml_number_to_json(n) {
            Value::Number(n) => n.to_string(),
            _ => n.to_string(),
        },
        Yaml::String(s) => s.clone(),
        Yaml::Sequence(items) if items.is_empty() => "[]".to_owned(),
        Yaml::Sequence(items) => {
            let parts: Vec<String> = items.iter().map(flow_text).collect();
            format!("[ {} ]", parts.join(", "))
        }
        Yaml::Mapping(mapping) if mapping.is_empty() => "{}".to_owned(),
        Yaml::Mapping(mapping) => {
            let parts: Vec<String> = mapping
                .iter()
                .map(|(k, v)| match v {
                    Yaml::Null => flow_text(k),
                    _ => format!("{}: {}", flow_text(k), flow_text(v)),
                })
                .collect();
            format!("{{ {} }}", parts.join(", "))
        }
        Yaml::Tagged(tagged) => flow_text(&tagged.value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(text: &str) -> Vec<(usize, Result<Value, String>)> {
        parse_yaml_documents(text)
            .into_iter()
            .map(|d| (d.index, d.value))
            .collect()
    }

    #[test]
    fn single_document() {
        assert_eq!(
            values("kind: Component\n"),
            vec![(0, Ok(json!({"kind": "Component"})))]
        );
    }

    #[test]
    fn empty_inputs_yield_nothing() {
        assert!(values("").is_empty());
        assert!(values("# just a comment\n").is_empty());
        assert!(values("---\n...\n").is_empty());
    }

    #[test]
    fn empty_documents_keep_their_index() {
        let docs = values("---\n---\na: 1\n---\n---\nb: 2\n");
        assert_eq!(
            docs,
            vec![(1, Ok(json!({"a": 1}))), (3, Ok(json!({"b": 2})))]
        );
    }

    #[test]
    fn syntax_error_stops_the_file() {
        let docs = values("a: 1\n---\nb: [\n---\nc: 3\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0], (0, Ok(json!({"a": 1}))));
        assert_eq!(docs[1].0, 1);
        let message = docs[1].1.clone().unwrap_err();
        assert!(message.contains("line 4 column 1"), "{message}");
    }

    #[test]
    fn syntax_error_in_first_document() {
        let docs = values("a: b: c\n---\nd: 1\n");
        assert_eq!(docs.len(), 1);
        assert!(docs[0].1.as_ref().unwrap_err().contains("line 1 column 5"));
    }

    #[test]
    fn tab_indentation_is_an_error() {
        let docs = values("a:\n\t- b\n");
        assert_eq!(docs.len(), 1);
        assert!(docs[0].1.is_err());
    }

    #[test]
    fn duplicate_keys_fail_only_their_document() {
        let docs = values("a: 1\na: 2\n---\nb: 1\n");
        assert_eq!(docs.len(), 2);
        assert!(docs[0].1.as_ref().unwrap_err().contains("duplicate"));
        assert_eq!(docs[1], (1, Ok(json!({"b": 1}))));
    }

    #[test]
    fn non_mapping_documents_are_errors() {
        let docs = values("- a\n- b\n---\njust text\n---\n42\n");
        assert_eq!(docs.len(), 3);
        for (i, (index, value)) in docs.iter().enumerate() {
            assert_eq!(*index, i);
            assert!(value.as_ref().unwrap_err().contains("not a mapping/object"));
        }
        assert!(docs[0].1.as_ref().unwrap_err().contains("got array"));
        assert!(docs[1].1.as_ref().unwrap_err().contains("got string"));
    }

    #[test]
    fn bom_and_crlf() {
        let docs = values("\u{feff}a: 1\r\nb:\r\n  - x\r\n---\r\nc: 2\r\n");
        assert_eq!(
            docs,
            vec![
                (0, Ok(json!({"a": 1, "b": ["x"]}))),
                (1, Ok(json!({"c": 2})))
            ]
        );
    }

    #[test]
    fn non_string_keys_become_strings() {
        let docs = values("1: one\ntrue: t\n~: n\n1.5: f\n[1, 2]: s\n{a: 1, b}: m\n");
        assert_eq!(
            docs,
            vec![(
                0,
                Ok(
                    json!({"1": "one", "true": "t", "": "n", "1.5": "f", "[ 1, 2 ]": "s", "{ a: 1, b }": "m"})
                )
            )]
        );
    }

    #[test]
    fn handlebars_braces_parse_as_a_flow_mapping_key() {
        assert_eq!(
            values("key: {{ x }}\n"),
            vec![(0, Ok(json!({"key": {"{ x }": null}})))]
        );
    }

    #[test]
    fn anchors_aliases_tags_and_merge_keys() {
        let docs = values("x: &x {k: v}\ny:\n  <<: *x\n  z: !custom 1\nw: !!str 123\nv: *x\n");
        // Merge keys are off in Backstage's parser: `<<` stays an ordinary key.
        assert_eq!(
            docs,
            vec![(
                0,
                Ok(
                    json!({"x": {"k": "v"}, "y": {"<<": {"k": "v"}, "z": 1}, "w": "123", "v": {"k": "v"}})
                )
            )]
        );
    }

    #[test]
    fn yaml_1_2_scalars() {
        let docs = values("a: yes\nb: off\nc: 2021-01-01\nd: .inf\ne: 0x10\nf: 1.0\ng: null\n");
        assert_eq!(
            docs,
            vec![(
                0,
                Ok(
                    json!({"a": "yes", "b": "off", "c": "2021-01-01", "d": null, "e": 16, "f": 1.0, "g": null})
                )
            )]
        );
    }

    #[test]
    fn unknown_alias_stops_the_file() {
        // serde_yaml would hand out the rest of this document as a broken next one.
        let docs = values("---\n- &a x\n- *b\n- y\n---\nc: 1\n");
        assert_eq!(docs.len(), 1);
        assert!(
            docs[0].1.as_ref().unwrap_err().contains("unknown anchor"),
            "{docs:?}"
        );
    }

    #[test]
    fn garbage_never_panics() {
        let inputs = [
            "\0\0\0",
            "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
            "a: &a [*a]\n",
            "? ? ? ?\n",
            "%YAML 9.9\n---\na: 1\n",
            "!<tag:yaml.org,2002:binary> AAA=\n",
            "a: 'unterminated\n",
            "---\n- &a x\n- *b\n",
            &"[".repeat(10_000),
            "a:\n  - b\n - c\n",
        ];
        for input in inputs {
            let _ = parse_yaml_documents(input);
        }
    }

    #[test]
    fn billion_laughs_does_not_hang() {
        let text = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
        let docs = parse_yaml_documents(text);
        assert_eq!(docs.len(), 1);
    }
}
