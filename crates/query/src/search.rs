//! Search rows: the flattened `(key, value)` pairs an entity is indexed under, which filters,
//! facets, ordering and full-text search all read. Mirrors Backstage's `buildEntitySearch`.

use std::collections::HashSet;

use serde_json::Value;

use crate::error::QueryError;
use crate::js::{is_truthy, js_string, scalar_to_string, utf16_len};

/// Keys longer than this (in UTF-16 units, after lower-casing) are not indexed at all.
pub const MAX_KEY_LENGTH: usize = 200;
/// Values longer than this are indexed as `null`: the key still "exists" but no value matches.
pub const MAX_VALUE_LENGTH: usize = 200;

/// Paths the traversal does not descend into: relations get their own rows below, status and
/// attachments are not searchable, and the identity fields are added explicitly afterwards
/// (`metadata.etag` is deliberately never indexed).
const SKIPPED_PATHS: [&str; 7] = [
    "attachments",
    "relations",
    "status",
    "metadata.name",
    "metadata.namespace",
    "metadata.uid",
    "metadata.etag",
];

/// The namespace Backstage indexes for entities stored without one.
const DEFAULT_NAMESPACE: &str = "default";

/// One indexed `(key, value)` pair of an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRow {
    /// Lower-cased dotted path (`metadata.annotations.backstage.io/orphan`, `relations.ownedby`).
    pub key: String,
    /// The value as written in the entity (facets report this), or `None` for null/too long.
    pub original_value: Option<String>,
    /// The lower-cased value that filters compare against, or `None` for null/too long.
    pub value: Option<String>,
}

/// A key/value pair before lower-casing and length checks.
struct RawRow {
    key: String,
    value: Option<String>,
}

/// A unit of work of the traversal; an explicit stack keeps arbitrarily deep entities from
/// exhausting the thread's stack while preserving the depth-first order of the rows.
enum Step<'a> {
    Visit(String, &'a Value),
    /// The `path.<item>` = `true` row that follows a string array item.
    ArrayItemKey(String),
}

/// Builds the search rows of a final (stitched) entity exactly as Backstage does:
///
/// - every scalar leaf becomes `path = String(value)`; `null` leaves become value-less rows;
///   arrays are descended with the same path, and each string item also yields
///   `path.<item>` = `"true"` (once per case-insensitive item);
/// - object keys are joined with `.` whole, so `metadata.annotations.backstage.io/view-url` is
///   one key;
/// - `relations`, `status`, `attachments` and `metadata.etag` are not traversed; instead
///   `metadata.name`, `metadata.namespace`, `metadata.uid` are always added (value-less when
///   absent), `metadata.namespace` = `default` when the namespace is falsy, and each relation adds
///   `relations.<type>` = its `targetRef`;
/// - keys and values are lower-cased (the original value is kept); keys over
///   [`MAX_KEY_LENGTH`] are dropped, values over [`MAX_VALUE_LENGTH`] become value-less;
/// - duplicate `(key, value)` rows are removed, a value-less row counting as the empty string.
///
/// Fails, as Backstage's stitcher does, when two keys differ only in case (`spec.Owner` and
/// `spec.owner`): such an entity cannot be indexed unambiguously.
pub fn build_search_rows(entity: &Value) -> Result<Vec<SearchRow>, QueryError> {
    let mut raw = traverse(entity);

    let metadata = entity.get("metadata");
    let metadata_field = |name: &str| metadata.and_then(|m| m.get(name));
    for name in ["name", "namespace", "uid"] {
        raw.push(RawRow {
            key: format!("metadata.{name}"),
            value: optional_js_string(metadata_field(name)),
        });
    }
    if !is_truthy(metadata_field("namespace")) {
        raw.push(RawRow {
            key: "metadata.namespace".to_owned(),
            value: Some(DEFAULT_NAMESPACE.to_owned()),
        });
    }
    if let Some(Value::Array(relations)) = entity.get("relations") {
        for relation in relations.iter().filter(|r| r.is_object()) {
            // A template literal prints a missing type as "undefined"; kept for parity.
            let relation_type = relation
                .get("type")
                .map_or_else(|| "undefined".to_owned(), js_string);
            raw.push(RawRow {
                key: format!("relations.{relation_type}"),
                value: optional_js_string(relation.get("targetRef")),
            });
        }
    }

    check_case_collisions(&raw)?;
    Ok(dedupe(to_rows(raw)))
}

/// `String(v)` for a value that may be missing or null, which Backstage stores as a null value.
fn optional_js_string(value: Option<&Value>) -> Option<String> {
    match value {
        None | Some(Value::Null) => None,
        Some(other) => Some(js_string(other)),
    }
}

/// Flattens the entity into raw rows in Backstage's depth-first order.
fn traverse(root: &Value) -> Vec<RawRow> {
    let mut output = Vec::new();
    let mut seen_item_keys: HashSet<String> = HashSet::new();
    let mut stack = vec![Step::Visit(String::new(), root)];
    while let Some(step) = stack.pop() {
        match step {
            Step::ArrayItemKey(key) => {
                if seen_item_keys.insert(key.to_lowercase()) {
                    output.push(RawRow {
                        key,
                        value: Some("true".to_owned()),
                    });
                }
            }
            Step::Visit(path, current) => {
                if SKIPPED_PATHS.contains(&path.as_str()) {
                    continue;
                }
                match current {
                    Value::Null => output.push(RawRow {
                        key: path,
                        value: None,
                    }),
                    Value::Array(items) => {
                        // Pushed in reverse so that items pop in order, each followed by its
                        // `path.<item>` row.
                        for item in items.iter().rev() {
                            if let Value::String(text) = item {
                                stack.push(Step::ArrayItemKey(format!("{path}.{text}")));
                            }
                            stack.push(Step::Visit(path.clone(), item));
                        }
                    }
                    Value::Object(map) => {
                        for (key, value) in map.iter().rev() {
                            let child = if path.is_empty() {
                                key.clone()
                            } else {
                                format!("{path}.{key}")
                            };
                            stack.push(Step::Visit(child, value));
                        }
                    }
                    scalar => output.push(RawRow {
                        key: path,
                        value: scalar_to_string(scalar),
                    }),
                }
            }
        }
    }
    output
}

/// Rejects entities whose keys collide once lower-cased, naming the colliding keys.
fn check_case_collisions(raw: &[RawRow]) -> Result<(), QueryError> {
    let mut distinct_keys: Vec<&str> = Vec::new();
    let mut seen: HashSet<&str> = HashSet::new();
    for row in raw {
        if seen.insert(row.key.as_str()) {
            distinct_keys.push(row.key.as_str());
        }
    }
    let mut lower_keys: HashSet<String> = distinct_keys.iter().map(|k| k.to_lowercase()).collect();
    if lower_keys.len() == distinct_keys.len() {
        return Ok(());
    }
    // The first spelling of each key claims it; every later spelling is a collision.
    let mut collisions = Vec::new();
    for key in distinct_keys {
        let lower = key.to_lowercase();
        if !lower_keys.remove(&lower) {
            collisions.push(lower);
        }
    }
    Err(QueryError::input(format!(
        "Entity has duplicate keys that vary only in casing, '{}'",
        collisions.join("', '")
    )))
}

/// Lower-cases keys and values and applies the length limits.
fn to_rows(raw: Vec<RawRow>) -> Vec<SearchRow> {
    let mut rows = Vec::with_capacity(raw.len());
    for RawRow { key, value } in raw {
        let key = key.to_lowercase();
        if utf16_len(&key) > MAX_KEY_LENGTH {
            continue;
        }
        let row = match value {
            Some(original) => {
                let lower = original.to_lowercase();
                if utf16_len(&lower) <= MAX_VALUE_LENGTH {
                    SearchRow {
                        key,
                        original_value: Some(original),
                        value: Some(lower),
                    }
                } else {
                    SearchRow {
                        key,
                        original_value: None,
                        value: None,
                    }
                }
            }
            None => SearchRow {
                key,
                original_value: None,
                value: None,
            },
        };
        rows.push(row);
    }
    rows
}

/// Keeps the first row of each `(key, value)`; like Backstage, a null value and an empty string
/// count as the same value.
fn dedupe(rows: Vec<SearchRow>) -> Vec<SearchRow> {
    let mut seen: HashSet<(String, String)> = HashSet::new();
    rows.into_iter()
        .filter(|row| seen.insert((row.key.clone(), row.value.clone().unwrap_or_default())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn row(key: &str, original: &str) -> SearchRow {
        SearchRow {
            key: key.to_owned(),
            original_value: Some(original.to_owned()),
            value: Some(original.to_lowercase()),
        }
    }

    fn null_row(key: &str) -> SearchRow {
        SearchRow {
            key: key.to_owned(),
            original_value: None,
            value: None,
        }
    }

    fn realistic_entity() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "Petstore",
                "namespace": "default",
                "uid": "1234-abcd",
                "etag": "etag-value",
                "title": "Pet Store",
                "annotations": {
                    "backstage.io/managed-by-location": "url:https://example.com/catalog-info.yaml",
                    "backstage.io/view-url": "https://example.com/View"
                },
                "labels": { "tier": "Gold" },
                "tags": ["java", "Data"],
                "links": [{ "url": "https://example.com/docs", "title": "Docs" }]
            },
            "spec": {
                "type": "service",
                "lifecycle": "production",
                "owner": "team-a",
                "providesApis": ["petstore-api"],
                "replicas": 3,
                "public": true,
                "deprecated": null
            },
            "relations": [
                { "type": "ownedBy", "targetRef": "group:default/team-a" },
                { "type": "providesApi", "targetRef": "api:default/petstore-api" }
            ],
            "status": { "items": [{ "type": "x", "level": "error" }] }
        })
    }

    #[test]
    fn realistic_entity_rows() {
        let rows = build_search_rows(&realistic_entity()).unwrap();
        let expected = vec![
            row("apiversion", "backstage.io/v1alpha1"),
            row("kind", "Component"),
            row("metadata.title", "Pet Store"),
            row(
                "metadata.annotations.backstage.io/managed-by-location",
                "url:https://example.com/catalog-info.yaml",
            ),
            row(
                "metadata.annotations.backstage.io/view-url",
                "https://example.com/View",
            ),
            row("metadata.labels.tier", "Gold"),
            row("metadata.tags", "java"),
            row("metadata.tags.java", "true"),
            row("metadata.tags", "Data"),
            row("metadata.tags.data", "true"),
            row("metadata.links.url", "https://example.com/docs"),
            row("metadata.links.title", "Docs"),
            row("spec.type", "service"),
            row("spec.lifecycle", "production"),
            row("spec.owner", "team-a"),
            row("spec.providesapis", "petstore-api"),
            row("spec.providesapis.petstore-api", "true"),
            row("spec.replicas", "3"),
            row("spec.public", "true"),
            null_row("spec.deprecated"),
            row("metadata.name", "Petstore"),
            row("metadata.namespace", "default"),
            row("metadata.uid", "1234-abcd"),
            row("relations.ownedby", "group:default/team-a"),
            row("relations.providesapi", "api:default/petstore-api"),
        ];
        assert_eq!(rows, expected);
    }

    #[test]
    fn etag_status_and_attachments_are_not_indexed() {
        let entity = json!({
            "kind": "A",
            "metadata": { "name": "a", "etag": "x" },
            "status": { "a": 1 },
            "attachments": { "b": 2 }
        });
        let rows = build_search_rows(&entity).unwrap();
        assert!(rows.iter().all(|r| !r.key.starts_with("status")
            && !r.key.starts_with("attachments")
            && r.key != "metadata.etag"));
    }

    #[test]
    fn missing_namespace_gets_the_default_row_and_a_null_row() {
        let entity = json!({ "kind": "A", "metadata": { "name": "a" } });
        let rows = build_search_rows(&entity).unwrap();
        assert_eq!(
            rows,
            vec![
                row("kind", "A"),
                row("metadata.name", "a"),
                null_row("metadata.namespace"),
                null_row("metadata.uid"),
                row("metadata.namespace", "default"),
            ]
        );
    }

    #[test]
    fn empty_namespace_keeps_both_rows() {
        let entity = json!({ "metadata": { "name": "a", "namespace": "" } });
        let rows = build_search_rows(&entity).unwrap();
        let namespaces: Vec<_> = rows
            .iter()
            .filter(|r| r.key == "metadata.namespace")
            .map(|r| r.value.clone())
            .collect();
        assert_eq!(
            namespaces,
            vec![Some(String::new()), Some("default".to_owned())]
        );
    }

    #[test]
    fn long_keys_are_dropped_and_long_values_nulled() {
        let long_key = "k".repeat(200);
        let too_long_key = "k".repeat(201);
        let entity = json!({
            "metadata": {
                "name": "a",
                "namespace": "default",
                "annotations": {
                    "ok": "v".repeat(200),
                    "long": "v".repeat(201)
                }
            },
            "spec": { "x": 1 },
        });
        let rows = build_search_rows(&entity).unwrap();
        let ok = rows
            .iter()
            .find(|r| r.key == "metadata.annotations.ok")
            .unwrap();
        assert_eq!(ok.value.as_deref().map(str::len), Some(200));
        let long = rows
            .iter()
            .find(|r| r.key == "metadata.annotations.long")
            .unwrap();
        assert_eq!(long, &null_row("metadata.annotations.long"));

        // Key length counts the whole dotted path.
        let mut spec = serde_json::Map::new();
        spec.insert(long_key[5..].to_owned(), json!("fits")); // "spec." + 195 = 200
        spec.insert(too_long_key[5..].to_owned(), json!("dropped"));
        let entity = json!({ "metadata": { "name": "a", "namespace": "n" }, "spec": spec });
        let rows = build_search_rows(&entity).unwrap();
        assert!(rows.iter().any(|r| r.key.len() == 200));
        assert!(rows.iter().all(|r| r.key.len() <= 200));
    }

    #[test]
    fn value_length_counts_utf16_units() {
        // 100 emoji are 200 UTF-16 units: kept. 101 are 202: nulled.
        let entity = json!({
            "metadata": { "name": "a", "namespace": "n" },
            "spec": { "ok": "😀".repeat(100), "long": "😀".repeat(101) }
        });
        let rows = build_search_rows(&entity).unwrap();
        let ok = rows.iter().find(|r| r.key == "spec.ok").unwrap();
        assert!(ok.value.is_some());
        let long = rows.iter().find(|r| r.key == "spec.long").unwrap();
        assert!(long.value.is_none());
    }

    #[test]
    fn duplicate_rows_are_removed_keeping_the_first_original() {
        let entity = json!({
            "metadata": { "name": "a", "namespace": "n", "tags": ["Java", "java", "JAVA"] }
        });
        let rows = build_search_rows(&entity).unwrap();
        let tag_rows: Vec<_> = rows
            .iter()
            .filter(|r| r.key.starts_with("metadata.tags"))
            .collect();
        assert_eq!(
            tag_rows,
            vec![
                &row("metadata.tags", "Java"),
                &row("metadata.tags.java", "true")
            ]
        );
    }

    #[test]
    fn null_and_empty_string_dedupe_together() {
        let entity = json!({
            "metadata": { "name": "a", "namespace": "n" },
            "spec": { "list": [null, ""] }
        });
        let rows = build_search_rows(&entity).unwrap();
        let list: Vec<_> = rows.iter().filter(|r| r.key == "spec.list").collect();
        assert_eq!(list, vec![&null_row("spec.list")]);
    }

    #[test]
    fn nested_arrays_and_objects_in_arrays() {
        let entity = json!({
            "metadata": { "name": "a", "namespace": "n" },
            "a": { "b": ["c", { "d": 1 }, ["e"]], "e": 7 }
        });
        let rows = build_search_rows(&entity).unwrap();
        let keys: Vec<_> = rows
            .iter()
            .filter(|r| r.key.starts_with("a."))
            .map(|r| (r.key.as_str(), r.value.as_deref()))
            .collect();
        assert_eq!(
            keys,
            vec![
                ("a.b", Some("c")),
                ("a.b.c", Some("true")),
                ("a.b.d", Some("1")),
                ("a.b", Some("e")),
                ("a.b.e", Some("true")),
                ("a.e", Some("7")),
            ]
        );
    }

    #[test]
    fn keys_differing_only_in_case_are_rejected() {
        let entity = json!({
            "metadata": { "name": "a", "namespace": "n" },
            "spec": { "Owner": "x", "owner": "y" }
        });
        let error = build_search_rows(&entity).unwrap_err();
        assert_eq!(
            error.message(),
            "Entity has duplicate keys that vary only in casing, 'spec.owner'"
        );

        // metadata.Name collides with the explicit metadata.name row.
        let entity = json!({ "metadata": { "name": "a", "Name": "b" } });
        assert!(build_search_rows(&entity).is_err());
    }

    #[test]
    fn relation_types_are_lower_cased_and_odd_relations_tolerated() {
        let entity = json!({
            "metadata": { "name": "a", "namespace": "n" },
            "relations": [
                { "type": "memberOf", "targetRef": "Group:default/Ops" },
                { "targetRef": "x:y/z" },
                { "type": "dependsOn" },
                "not-an-object"
            ]
        });
        let rows = build_search_rows(&entity).unwrap();
        let relations: Vec<_> = rows
            .iter()
            .filter(|r| r.key.starts_with("relations."))
            .collect();
        assert_eq!(
            relations,
            vec![
                &row("relations.memberof", "Group:default/Ops"),
                &row("relations.undefined", "x:y/z"),
                &null_row("relations.dependson"),
            ]
        );
        assert_eq!(relations[0].value.as_deref(), Some("group:default/ops"));
    }

    #[test]
    fn never_panics_on_odd_shapes() {
        for entity in [
            json!(null),
            json!("x"),
            json!([1, 2]),
            json!({ "metadata": "x" }),
            json!({ "metadata": null, "relations": {"a": 1} }),
            json!({ "metadata": { "name": { "x": 1 }, "namespace": ["a", "b"] } }),
        ] {
            let _ = build_search_rows(&entity);
        }
        let rows = build_search_rows(
            &json!({ "metadata": { "name": { "x": 1 }, "namespace": ["a", "b"] } }),
        )
        .unwrap();
        assert!(rows.contains(&row("metadata.name", "[object Object]")));
        assert!(rows.contains(&row("metadata.namespace", "a,b")));
    }

    #[test]
    fn very_deep_entities_do_not_overflow_the_stack() {
        // Built by hand: `json!` would clone (and drop) the nested value recursively.
        let mut value = Value::String("leaf".to_owned());
        for _ in 0..5_000 {
            let mut map = serde_json::Map::new();
            map.insert("a".to_owned(), value);
            value = Value::Object(map);
        }
        let mut root = serde_json::Map::new();
        root.insert("metadata".to_owned(), json!({ "name": "a" }));
        root.insert("spec".to_owned(), value);
        let entity = Value::Object(root);
        let rows = build_search_rows(&entity).unwrap();
        assert!(rows.iter().any(|r| r.key == "metadata.name"));
        // Dropping deep values is recursive in serde_json; leak it rather than test that.
        std::mem::forget(entity);
    }
}
