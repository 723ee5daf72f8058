//! The `fields` parameter: which dotted paths of each entity to return, and the projection that
//! prunes everything else (Backstage's `parseEntityTransformParams`).

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::error::QueryError;
use crate::js::{js_trim, parse_index};

/// Arrays are only ever created by a projection for index segments; a larger index than this
/// would mean filling megabytes of nulls for one field, so such a segment is skipped instead.
const MAX_PROJECTED_INDEX: usize = 10_000;

/// Parses the `fields` query parameter: comma-separated and repeatable, each path trimmed,
/// empty items skipped and duplicates dropped (first occurrence kept). `None` when no path is
/// left (return whole entities). A path containing `[` is an error.
pub fn parse_fields_params(params: &[String]) -> Result<Option<Vec<String>>, QueryError> {
    parse_fields_with_extra(&[], params)
}

/// Like [`parse_fields_params`], with `extra` paths in front that are not split on commas:
/// `POST /entities/by-refs` puts its body's `fields` there, ahead of the query's.
pub fn parse_fields_with_extra(
    extra: &[String],
    params: &[String],
) -> Result<Option<Vec<String>>, QueryError> {
    let candidates = extra
        .iter()
        .map(String::as_str)
        .chain(params.iter().flat_map(|param| param.split(',')));
    let mut seen = HashSet::new();
    let mut fields = Vec::new();
    for field in candidates.map(js_trim).filter(|f| !f.is_empty()) {
        if seen.insert(field) {
            fields.push(field.to_owned());
        }
    }
    if fields.is_empty() {
        return Ok(None);
    }
    if let Some(field) = fields.iter().find(|f| f.contains('[')) {
        return Err(QueryError::input(format!(
            "Invalid field \"{field}\", array type fields are not supported"
        )));
    }
    Ok(Some(fields))
}

/// Keeps only the given dotted paths of an entity, dropping everything else.
///
/// Each path is walked segment by segment; a segment that is not a key of the current object
/// is joined with the next one (`.`) and retried, so `metadata.annotations.backstage.io/view-url`
/// finds the annotation key `backstage.io/view-url` (the shortest existing key wins). Array
/// elements are addressed by index (`spec.targets.0`). Paths that lead nowhere are skipped;
/// a path to a `null` keeps the `null`. Results are merged in the order of `fields`.
///
/// Only own keys are followed (Backstage's lodash also "finds" JavaScript prototype members such
/// as `constructor` or an array's `length`; those are not entity data and are not mirrored).
pub fn project_fields(entity: &Value, fields: &[String]) -> Value {
    let mut output = Value::Object(Map::new());
    for field in fields {
        if let Some((path, value)) = resolve(entity, field) {
            set_path(&mut output, &path, value.clone());
        }
    }
    output
}

/// Finds the value a field path names and the keys it was found under.
fn resolve<'a>(entity: &'a Value, field: &str) -> Option<(Vec<String>, &'a Value)> {
    let mut segments = field.split('.').peekable();
    let mut path = Vec::new();
    let mut current = entity;
    // Segments not found so far, joined with dots, waiting to be retried with the next one.
    let mut pending: Option<String> = None;
    while let Some(segment) = segments.next() {
        let candidate = match pending.take() {
            Some(prefix) => format!("{prefix}.{segment}"),
            None => segment.to_owned(),
        };
        match child(current, &candidate) {
            Some(next) => {
                current = next;
                path.push(candidate);
            }
            None if segments.peek().is_some() => pending = Some(candidate),
            None => return None,
        }
    }
    Some((path, current))
}

/// The child of a JSON value under a path segment: an object key, or a canonical array index.
fn child<'a>(value: &'a Value, segment: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map) => map.get(segment),
        Value::Array(items) => parse_index(segment).and_then(|index| items.get(index)),
        _ => None,
    }
}

/// lodash's `set`: writes `value` at `path` in `output`, creating missing containers on the way
/// (an array when the next segment is an index, as lodash does, otherwise an object).
fn set_path(output: &mut Value, path: &[String], value: Value) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut nested = output;
    for (position, key) in parents.iter().enumerate() {
        if is_blocked_key(key) {
            return;
        }
        let next_is_index = path
            .get(position + 1)
            .and_then(|next| parse_index(next))
            .is_some_and(|index| index <= MAX_PROJECTED_INDEX);
        let Some(slot) = slot(nested, key) else {
            return;
        };
        if !(slot.is_object() || slot.is_array()) {
            *slot = if next_is_index {
                Value::Array(Vec::new())
            } else {
                Value::Object(Map::new())
            };
        }
        nested = slot;
    }
    if is_blocked_key(last) {
        return;
    }
    if let Some(slot) = slot(nested, last) {
        *slot = value;
    }
}

/// lodash refuses to write these keys (prototype pollution guard), abandoning the rest.
fn is_blocked_key(key: &str) -> bool {
    matches!(key, "__proto__" | "constructor" | "prototype")
}

/// A mutable slot for `key` in a container, creating it (as `null`) when absent. `None` where
/// JavaScript would set a property that JSON cannot show (a non-index key on an array).
fn slot<'a>(container: &'a mut Value, key: &str) -> Option<&'a mut Value> {
    match container {
        Value::Object(map) => Some(map.entry(key.to_owned()).or_insert(Value::Null)),
        Value::Array(items) => {
            let index = parse_index(key).filter(|index| *index <= MAX_PROJECTED_INDEX)?;
            if items.len() <= index {
                // JSON.stringify prints the holes of a sparse array as null.
                items.resize(index + 1, Value::Null);
            }
            items.get_mut(index)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strings(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn entity() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "petstore",
                "namespace": "default",
                "annotations": {
                    "backstage.io/view-url": "https://example.com/view",
                    "backstage.io/edit-url": "https://example.com/edit",
                    "simple": "s"
                },
                "tags": ["java", "data"],
                "description": null
            },
            "spec": {
                "type": "service",
                "targets": [{ "a": 1 }, { "a": 2, "b": 3 }]
            },
            "relations": [{ "type": "ownedBy", "targetRef": "group:default/a" }]
        })
    }

    #[test]
    fn parse_splits_trims_dedupes() {
        assert_eq!(parse_fields_params(&[]).unwrap(), None);
        assert_eq!(parse_fields_params(&strings(&["", " , "])).unwrap(), None);
        assert_eq!(
            parse_fields_params(&strings(&[
                " kind , metadata.name",
                "kind,spec",
                "metadata.name"
            ]))
            .unwrap(),
            Some(strings(&["kind", "metadata.name", "spec"]))
        );
    }

    #[test]
    fn parse_rejects_brackets() {
        let error = parse_fields_params(&strings(&["kind,spec.targets[0]"])).unwrap_err();
        assert_eq!(
            error.message(),
            "Invalid field \"spec.targets[0]\", array type fields are not supported"
        );
    }

    #[test]
    fn parse_with_extra_does_not_split_extra() {
        assert_eq!(
            parse_fields_with_extra(&strings(&["a,b", " kind "]), &strings(&["kind,c"])).unwrap(),
            Some(strings(&["a,b", "kind", "c"]))
        );
    }

    #[test]
    fn projects_simple_paths() {
        let projected = project_fields(
            &entity(),
            &strings(&["kind", "metadata.name", "metadata.namespace"]),
        );
        assert_eq!(
            projected,
            json!({ "kind": "Component", "metadata": { "name": "petstore", "namespace": "default" } })
        );
    }

    #[test]
    fn keeps_whole_subtrees() {
        let projected = project_fields(&entity(), &strings(&["metadata.name", "relations"]));
        assert_eq!(
            projected,
            json!({
                "metadata": { "name": "petstore" },
                "relations": [{ "type": "ownedBy", "targetRef": "group:default/a" }]
            })
        );
        // A wider path after a narrower one replaces it with the whole subtree.
        let projected = project_fields(&entity(), &strings(&["spec.type", "spec"]));
        assert_eq!(projected, json!({ "spec": entity()["spec"] }));
        let projected = project_fields(&entity(), &strings(&["spec", "spec.type"]));
        assert_eq!(projected, json!({ "spec": entity()["spec"] }));
    }

    #[test]
    fn dotted_annotation_keys() {
        let projected = project_fields(
            &entity(),
            &strings(&[
                "metadata.annotations.backstage.io/view-url",
                "metadata.annotations.simple",
                "metadata.annotations.backstage.io/missing",
            ]),
        );
        assert_eq!(
            projected,
            json!({ "metadata": { "annotations": {
                "backstage.io/view-url": "https://example.com/view",
                "simple": "s"
            } } })
        );
    }

    #[test]
    fn shortest_existing_key_wins() {
        let value = json!({ "a": { "b": { "c": 1 }, "b.c": 2 } });
        assert_eq!(
            project_fields(&value, &strings(&["a.b.c"])),
            json!({ "a": { "b": { "c": 1 } } })
        );
        let value = json!({ "a": { "b.c": 2 } });
        assert_eq!(
            project_fields(&value, &strings(&["a.b.c"])),
            json!({ "a": { "b.c": 2 } })
        );
    }

    #[test]
    fn missing_paths_and_nulls() {
        assert_eq!(
            project_fields(&entity(), &strings(&["nope", "metadata.nope", "kind.x"])),
            json!({})
        );
        assert_eq!(
            project_fields(&entity(), &strings(&["metadata.description"])),
            json!({ "metadata": { "description": null } })
        );
    }

    #[test]
    fn array_indexes() {
        assert_eq!(
            project_fields(&entity(), &strings(&["spec.targets.1.b"])),
            json!({ "spec": { "targets": [null, { "b": 3 }] } })
        );
        assert_eq!(
            project_fields(&entity(), &strings(&["metadata.tags.0"])),
            json!({ "metadata": { "tags": ["java"] } })
        );
        // Paths through arrays without an index find nothing, as in Backstage.
        assert_eq!(
            project_fields(&entity(), &strings(&["spec.targets.a"])),
            json!({})
        );
        assert_eq!(
            project_fields(
                &entity(),
                &strings(&["metadata.tags.01", "metadata.tags.5"])
            ),
            json!({})
        );
    }

    #[test]
    fn numeric_object_keys_become_arrays_like_lodash() {
        let value = json!({ "metadata": { "annotations": { "0": "zero" } } });
        assert_eq!(
            project_fields(&value, &strings(&["metadata.annotations.0"])),
            json!({ "metadata": { "annotations": ["zero"] } })
        );
        // Huge numeric keys stay objects rather than allocating huge arrays.
        let value = json!({ "a": { "99999999": 1 } });
        assert_eq!(
            project_fields(&value, &strings(&["a.99999999"])),
            json!({ "a": { "99999999": 1 } })
        );
    }

    #[test]
    fn blocked_keys_leave_only_parents() {
        let value = json!({ "spec": { "constructor": "x" } });
        assert_eq!(
            project_fields(&value, &strings(&["spec.constructor"])),
            json!({ "spec": {} })
        );
    }

    #[test]
    fn non_object_inputs() {
        assert_eq!(project_fields(&json!(null), &strings(&["a"])), json!({}));
        assert_eq!(
            project_fields(&json!([1]), &strings(&["0"])),
            json!({ "0": 1 })
        );
        assert_eq!(project_fields(&entity(), &[]), json!({}));
    }
}
