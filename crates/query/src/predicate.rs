//! The predicate form of filters (`query` in `POST /entities/by-query`, `/entity-facets`,
//! `/entities/by-refs`, and in cursors): parsing into [`EntityFilter`] with the grammar of
//! `@backstage/filter-predicates`, and writing filters back out in that form.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use crate::error::QueryError;
use crate::filter::EntityFilter;
use crate::js::{is_line_terminator, json_for_message, scalar_to_string};

/// Deepest nesting accepted in predicates and legacy filters; deeper input is rejected rather
/// than risking the stack (serde_json's own parser stops at 128 too).
pub(crate) const MAX_DEPTH: usize = 128;

/// Why a predicate was rejected: a shape the schema refuses, or a shape the schema accepts but
/// the catalog cannot run (Backstage reports the latter without the "Invalid query" prefix).
#[derive(Debug)]
pub(crate) enum PredicateError {
    Schema(String),
    Semantic(String),
}

impl PredicateError {
    /// The error as Backstage words it, with `context` (e.g. `Invalid query: `) in front of
    /// schema failures.
    pub(crate) fn into_query_error(self, context: &str) -> QueryError {
        match self {
            Self::Schema(detail) => {
                QueryError::input(format!("{context}Validation error: {detail}"))
            }
            Self::Semantic(message) => QueryError::input(message),
        }
    }
}

/// Parses a filter predicate, the newer JSON filter form:
///
/// - `{ "<key>": <value>, ... }`: every key must hold (an empty object matches everything);
///   a value is a string/number/boolean (equality, case-insensitive), `{ "$exists": bool }`,
///   `{ "$in": [scalars] }`, `{ "$hasPrefix": "str" }` or `{ "$contains": x }` (a scalar, or on
///   the `relations` key `{ "type": "ownedBy", "targetRef": "group:default/a" | { "$in": [...] } }`);
/// - `{ "$all": [predicates] }`, `{ "$any": [predicates] }`, `{ "$not": predicate }`, each alone
///   in its object.
///
/// Keys may not start with `$` nor contain line breaks. Returns `None` for `{}` (no filtering).
/// Errors read `Invalid query: Validation error: ...`, as Backstage's.
pub fn parse_predicate_query(json: &Value) -> Result<Option<EntityFilter>, QueryError> {
    parse_predicate_with_context(json, "Invalid query: ")
}

/// [`parse_predicate_query`] with the caller's error prefix for schema failures.
pub(crate) fn parse_predicate_with_context(
    json: &Value,
    context: &str,
) -> Result<Option<EntityFilter>, QueryError> {
    let filter = Parser { strict_keys: true }
        .predicate(json, "", 0)
        .map_err(|error| error.into_query_error(context))?;
    Ok(match filter {
        EntityFilter::All(items) if items.is_empty() => None,
        other => Some(other),
    })
}

/// Parses a predicate this crate wrote itself (in a cursor): keys with line breaks, which only
/// `filter=` parameters can produce, are let through so such cursors still decode.
pub(crate) fn parse_own_predicate(json: &Value) -> Result<EntityFilter, PredicateError> {
    Parser { strict_keys: false }.predicate(json, "", 0)
}

/// Writes a filter in predicate form (the inverse of [`parse_predicate_query`]).
pub(crate) fn to_predicate_json(filter: &EntityFilter) -> Value {
    let mut object = Map::new();
    match filter {
        EntityFilter::All(items) => {
            object.insert(
                "$all".to_owned(),
                Value::Array(items.iter().map(to_predicate_json).collect()),
            );
        }
        EntityFilter::Any(items) => {
            object.insert(
                "$any".to_owned(),
                Value::Array(items.iter().map(to_predicate_json).collect()),
            );
        }
        EntityFilter::Not(inner) => {
            object.insert("$not".to_owned(), to_predicate_json(inner));
        }
        EntityFilter::Key { key, values } => {
            let condition = match values.as_deref() {
                None => serde_json::json!({ "$exists": true }),
                Some([single]) => Value::String(single.clone()),
                Some(many) => serde_json::json!({ "$in": many }),
            };
            object.insert(key.clone(), condition);
        }
        EntityFilter::HasPrefix { key, prefix } => {
            object.insert(key.clone(), serde_json::json!({ "$hasPrefix": prefix }));
        }
    }
    Value::Object(object)
}

/// Filters serialize as predicates, the form Backstage's cursors and request bodies use.
impl Serialize for EntityFilter {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        to_predicate_json(self).serialize(serializer)
    }
}

/// Filters deserialize from predicates; `{}` becomes `All([])` (matches everything).
impl<'de> Deserialize<'de> for EntityFilter {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let value = Value::deserialize(deserializer)?;
        parse_own_predicate(&value).map_err(|error| {
            serde::de::Error::custom(match error {
                PredicateError::Schema(detail) | PredicateError::Semantic(detail) => detail,
            })
        })
    }
}

/// A JSON type name for error messages, in zod's words.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `at "path"` for error messages; the top level has no suffix.
fn at(path: &str) -> String {
    if path.is_empty() {
        String::new()
    } else {
        format!(" at \"{path}\"")
    }
}

/// Joins a key onto an error-message path.
fn child_path(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

/// Whether a scalar JSON value (what the schema calls a primitive).
fn is_primitive(value: &Value) -> bool {
    matches!(value, Value::String(_) | Value::Number(_) | Value::Bool(_))
}

/// Lower-cased `String(v)` of a primitive.
fn primitive_value(value: &Value) -> Option<String> {
    scalar_to_string(value).map(|text| text.to_lowercase())
}

struct Parser {
    /// Enforce the schema's key pattern (no leading `$`, no line breaks).
    strict_keys: bool,
}

impl Parser {
    /// The schema's key pattern `^(?:[^$\n\r].*)?$`.
    fn key_allowed(&self, key: &str) -> bool {
        let mut characters = key.chars();
        match characters.next() {
            None => true,
            Some('$') => false,
            Some(first) => {
                !self.strict_keys
                    || (!matches!(first, '\n' | '\r') && !characters.any(is_line_terminator))
            }
        }
    }

    fn predicate(
        &self,
        value: &Value,
        path: &str,
        depth: usize,
    ) -> Result<EntityFilter, PredicateError> {
        if depth > MAX_DEPTH {
            return Err(PredicateError::Schema(format!(
                "Predicate is nested too deeply{}",
                at(path)
            )));
        }
        let Value::Object(object) = value else {
            return Err(PredicateError::Schema(format!(
                "Expected object, received {}{}",
                type_name(value),
                at(path)
            )));
        };
        if !object.keys().any(|key| key.starts_with('$')) {
            return self.expression(object, path, depth);
        }
        let mut entries = object.iter();
        match (entries.next(), entries.next()) {
            (Some((operator, operand)), None) => match (operator.as_str(), operand) {
                ("$all" | "$any", Value::Array(items)) => {
                    let list_path = child_path(path, operator);
                    let items = items
                        .iter()
                        .enumerate()
                        .map(|(index, item)| {
                            self.predicate(item, &format!("{list_path}[{index}]"), depth + 1)
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok(if operator == "$all" {
                        EntityFilter::All(items)
                    } else {
                        EntityFilter::Any(items)
                    })
                }
                ("$not", operand) => Ok(EntityFilter::Not(Box::new(self.predicate(
                    operand,
                    &child_path(path, operator),
                    depth + 1,
                )?))),
                ("$all" | "$any", other) => Err(PredicateError::Schema(format!(
                    "Expected array, received {}{}",
                    type_name(other),
                    at(&child_path(path, operator))
                ))),
                _ => Err(PredicateError::Schema(format!(
                    "Unknown operator \"{operator}\"; expected $all, $any or $not{}",
                    at(path)
                ))),
            },
            _ => Err(PredicateError::Schema(format!(
                "Operators must be a single $all, $any or $not alone in their object, got {}{}",
                json_for_message(value),
                at(path)
            ))),
        }
    }

    /// `{ key: valuePredicate, ... }`: all conditions hold.
    fn expression(
        &self,
        object: &Map<String, Value>,
        path: &str,
        depth: usize,
    ) -> Result<EntityFilter, PredicateError> {
        let mut conditions = Vec::with_capacity(object.len());
        for (key, condition) in object {
            let condition_path = child_path(path, key);
            if !self.key_allowed(key) {
                return Err(PredicateError::Schema(format!(
                    "Invalid key {}{}",
                    json_for_message(&Value::String(key.clone())),
                    at(path)
                )));
            }
            conditions.push(self.value_predicate(key, condition, &condition_path, depth + 1)?);
        }
        Ok(if conditions.len() == 1 {
            conditions.pop().unwrap_or(EntityFilter::All(Vec::new()))
        } else {
            EntityFilter::All(conditions)
        })
    }

    /// The condition on one key, trying the schema's alternatives in its order (an object may
    /// carry several operators; the first that validates wins and the rest are ignored).
    fn value_predicate(
        &self,
        key: &str,
        condition: &Value,
        path: &str,
        depth: usize,
    ) -> Result<EntityFilter, PredicateError> {
        if depth > MAX_DEPTH {
            return Err(PredicateError::Schema(format!(
                "Predicate is nested too deeply{}",
                at(path)
            )));
        }
        let lower_key = key.to_lowercase();
        if let Some(value) = primitive_value(condition) {
            return Ok(EntityFilter::Key {
                key: lower_key,
                values: Some(vec![value]),
            });
        }
        if let Value::Object(object) = condition {
            if let Some(Value::Bool(exists)) = object.get("$exists") {
                let filter = EntityFilter::Key {
                    key: lower_key,
                    values: None,
                };
                return Ok(if *exists {
                    filter
                } else {
                    EntityFilter::Not(Box::new(filter))
                });
            }
            if let Some(Value::Array(items)) = object.get("$in") {
                if items.iter().all(is_primitive) {
                    return Ok(EntityFilter::Key {
                        key: lower_key,
                        values: Some(items.iter().filter_map(primitive_value).collect()),
                    });
                }
            }
            if let Some(target) = object.get("$contains") {
                if self.validate_any(target, depth + 1).is_ok() {
                    return contains(&lower_key, target);
                }
            }
            if let Some(Value::String(prefix)) = object.get("$hasPrefix") {
                return Ok(EntityFilter::HasPrefix {
                    key: lower_key,
                    prefix: prefix.to_lowercase(),
                });
            }
        }
        Err(PredicateError::Schema(format!(
            "Expected a string, number, boolean, {{ $exists: boolean }}, {{ $in: [...] }}, {{ $contains: ... }} or {{ $hasPrefix: string }}, received {}{}",
            json_for_message(condition),
            at(path)
        )))
    }

    /// Schema check of a `$contains` operand: a primitive, an expression, or `$all`/`$any`/`$not`
    /// of such operands.
    fn validate_any(&self, value: &Value, depth: usize) -> Result<(), ()> {
        if depth > MAX_DEPTH {
            return Err(());
        }
        if is_primitive(value) {
            return Ok(());
        }
        let Value::Object(object) = value else {
            return Err(());
        };
        if object.keys().any(|key| key.starts_with('$')) {
            let mut entries = object.iter();
            return match (entries.next(), entries.next()) {
                (Some((operator, Value::Array(items))), None)
                    if operator == "$all" || operator == "$any" =>
                {
                    items
                        .iter()
                        .try_for_each(|item| self.validate_any(item, depth + 1))
                }
                (Some((operator, operand)), None) if operator == "$not" => {
                    self.validate_any(operand, depth + 1)
                }
                _ => Err(()),
            };
        }
        for (key, condition) in object {
            if !self.key_allowed(key) {
                return Err(());
            }
            self.validate_value(condition, depth + 1)?;
        }
        Ok(())
    }

    /// Schema check of a value predicate (no semantic checks).
    fn validate_value(&self, value: &Value, depth: usize) -> Result<(), ()> {
        if depth > MAX_DEPTH {
            return Err(());
        }
        if is_primitive(value) {
            return Ok(());
        }
        let Value::Object(object) = value else {
            return Err(());
        };
        let valid = matches!(object.get("$exists"), Some(Value::Bool(_)))
            || matches!(object.get("$in"), Some(Value::Array(items)) if items.iter().all(is_primitive))
            || object
                .get("$contains")
                .is_some_and(|target| self.validate_any(target, depth + 1).is_ok())
            || matches!(object.get("$hasPrefix"), Some(Value::String(_)));
        if valid {
            Ok(())
        } else {
            Err(())
        }
    }
}

/// `{ key: { $contains: target } }`: a primitive is plain equality (arrays are indexed per
/// item); the object form is only understood on `relations`.
fn contains(key: &str, target: &Value) -> Result<EntityFilter, PredicateError> {
    if let Some(value) = primitive_value(target) {
        return Ok(EntityFilter::Key {
            key: key.to_owned(),
            values: Some(vec![value]),
        });
    }
    match target {
        Value::Object(object) if key == "relations" => contains_relation(object),
        Value::Object(_) => Err(PredicateError::Semantic(format!(
            "Object form of $contains is not supported for field \"{key}\""
        ))),
        other => Err(PredicateError::Semantic(format!(
            "Unsupported $contains target for field \"{key}\": {}",
            json_for_message(other)
        ))),
    }
}

/// `relations: { $contains: { type, targetRef? } }` becomes a condition on the
/// `relations.<type>` rows (property names compared case-insensitively).
fn contains_relation(object: &Map<String, Value>) -> Result<EntityFilter, PredicateError> {
    const NEEDS_TYPE: &str =
        "The $contains operator for \"relations\" requires a \"type\" string property";
    let mut relation_type: Option<&str> = None;
    let mut target_refs: Option<Vec<String>> = None;
    for (raw_key, value) in object {
        match raw_key.to_lowercase().as_str() {
            "type" => {
                if relation_type.is_some() {
                    return Err(PredicateError::Semantic(format!(
                        "Duplicate key \"{raw_key}\" in $contains for \"relations\""
                    )));
                }
                let Value::String(text) = value else {
                    return Err(PredicateError::Semantic(NEEDS_TYPE.to_owned()));
                };
                relation_type = Some(text);
            }
            "targetref" => {
                if target_refs.is_some() {
                    return Err(PredicateError::Semantic(format!(
                        "Duplicate key \"{raw_key}\" in $contains for \"relations\""
                    )));
                }
                target_refs = Some(relation_targets(value)?);
            }
            _ => {
                return Err(PredicateError::Semantic(format!(
                    "Unsupported key \"{raw_key}\" in $contains for \"relations\". Only \"type\" and \"targetRef\" are supported"
                )));
            }
        }
    }
    match relation_type {
        Some(relation_type) if !relation_type.is_empty() => Ok(EntityFilter::Key {
            key: format!("relations.{}", relation_type.to_lowercase()),
            values: target_refs,
        }),
        _ => Err(PredicateError::Semantic(NEEDS_TYPE.to_owned())),
    }
}

/// The `targetRef` of a relation `$contains`: a string or `{ $in: [non-empty list of strings] }`.
fn relation_targets(value: &Value) -> Result<Vec<String>, PredicateError> {
    if let Value::String(text) = value {
        return Ok(vec![text.to_lowercase()]);
    }
    if let Value::Object(object) = value {
        if let (1, Some(Value::Array(items))) = (object.len(), object.get("$in")) {
            if items.iter().all(Value::is_string) {
                if items.is_empty() {
                    return Err(PredicateError::Semantic(
                        "Empty \"$in\" array for $contains on \"relations\" is not allowed"
                            .to_owned(),
                    ));
                }
                return Ok(items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_lowercase)
                    .collect());
            }
        }
    }
    Err(PredicateError::Semantic(format!(
        "Unsupported value in $contains for \"relations\": expected a string or {{ \"$in\": [strings] }}, but got {}",
        json_for_message(value)
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::filter::{matches, parse_filter_params};
    use crate::search::build_search_rows;
    use serde_json::json;

    fn parse(value: Value) -> Option<EntityFilter> {
        parse_predicate_query(&value).unwrap()
    }

    fn error(value: Value) -> String {
        parse_predicate_query(&value)
            .unwrap_err()
            .message()
            .to_owned()
    }

    fn key(key: &str, values: &[&str]) -> EntityFilter {
        EntityFilter::Key {
            key: key.to_owned(),
            values: Some(values.iter().map(|v| (*v).to_owned()).collect()),
        }
    }

    fn exists(key: &str) -> EntityFilter {
        EntityFilter::Key {
            key: key.to_owned(),
            values: None,
        }
    }

    #[test]
    fn simple_forms() {
        assert_eq!(parse(json!({})), None);
        assert_eq!(
            parse(json!({ "kind": "Component" })),
            Some(key("kind", &["component"]))
        );
        assert_eq!(
            parse(json!({ "spec.replicas": 3 })),
            Some(key("spec.replicas", &["3"]))
        );
        assert_eq!(
            parse(json!({ "spec.public": true })),
            Some(key("spec.public", &["true"]))
        );
        assert_eq!(
            parse(json!({ "Spec.Type": { "$exists": true } })),
            Some(exists("spec.type"))
        );
        assert_eq!(
            parse(json!({ "spec.type": { "$exists": false } })),
            Some(EntityFilter::Not(Box::new(exists("spec.type"))))
        );
        assert_eq!(
            parse(json!({ "kind": { "$in": ["API", "component", 1] } })),
            Some(key("kind", &["api", "component", "1"]))
        );
        assert_eq!(
            parse(json!({ "metadata.name": { "$hasPrefix": "Pet" } })),
            Some(EntityFilter::HasPrefix {
                key: "metadata.name".to_owned(),
                prefix: "pet".to_owned()
            })
        );
        assert_eq!(
            parse(json!({ "metadata.tags": { "$contains": "Java" } })),
            Some(key("metadata.tags", &["java"]))
        );
    }

    #[test]
    fn several_keys_are_anded() {
        assert_eq!(
            parse(json!({ "kind": "component", "spec.type": "service" })),
            Some(EntityFilter::All(vec![
                key("kind", &["component"]),
                key("spec.type", &["service"])
            ]))
        );
    }

    #[test]
    fn logical_operators() {
        assert_eq!(
            parse(
                json!({ "$all": [{ "kind": "a" }, { "$any": [{ "x": "1" }, { "y": { "$exists": true } }] }] })
            ),
            Some(EntityFilter::All(vec![
                key("kind", &["a"]),
                EntityFilter::Any(vec![key("x", &["1"]), exists("y")])
            ]))
        );
        assert_eq!(
            parse(json!({ "$not": { "kind": "a" } })),
            Some(EntityFilter::Not(Box::new(key("kind", &["a"]))))
        );
        // An empty `$all` restricts nothing, like `{}`.
        assert_eq!(parse(json!({ "$all": [] })), None);
        assert_eq!(
            parse(json!({ "$any": [] })),
            Some(EntityFilter::Any(vec![]))
        );
        assert_eq!(
            parse(json!({ "$not": {} })),
            Some(EntityFilter::Not(Box::new(EntityFilter::All(vec![]))))
        );
    }

    #[test]
    fn relation_contains() {
        assert_eq!(
            parse(
                json!({ "relations": { "$contains": { "type": "ownedBy", "targetRef": "Group:default/A" } } })
            ),
            Some(key("relations.ownedby", &["group:default/a"]))
        );
        assert_eq!(
            parse(
                json!({ "Relations": { "$contains": { "Type": "memberOf", "TARGETREF": { "$in": ["a", "B"] } } } })
            ),
            Some(key("relations.memberof", &["a", "b"]))
        );
        assert_eq!(
            parse(json!({ "relations": { "$contains": { "type": "ownedBy" } } })),
            Some(exists("relations.ownedby"))
        );
        assert!(
            error(json!({ "relations": { "$contains": { "targetRef": "a" } } }))
                .contains("requires a \"type\" string property")
        );
        assert!(error(
            json!({ "relations": { "$contains": { "type": "a", "targetRef": { "$in": [] } } } })
        )
        .contains("Empty \"$in\" array"));
        assert!(
            error(json!({ "relations": { "$contains": { "type": "a", "other": "b" } } }))
                .contains("Unsupported key \"other\"")
        );
        assert!(
            error(json!({ "relations": { "$contains": { "type": "a", "Type": "b" } } }))
                .contains("Duplicate key")
        );
        assert!(
            error(json!({ "relations": { "$contains": { "type": "a", "targetRef": 5 } } }))
                .contains("Unsupported value in $contains")
        );
        assert_eq!(
            error(json!({ "spec": { "$contains": { "a": "b" } } })),
            "Object form of $contains is not supported for field \"spec\""
        );
    }

    #[test]
    fn schema_errors() {
        for bad in [
            json!("component"),
            json!(1),
            json!(null),
            json!([{ "kind": "a" }]),
            json!({ "$all": {} }),
            json!({ "$any": "x" }),
            json!({ "$all": [], "kind": "a" }),
            json!({ "$or": [] }),
            json!({ "kind": null }),
            json!({ "kind": ["a", "b"] }),
            json!({ "kind": { "$in": [{}] } }),
            json!({ "kind": { "$exists": "yes" } }),
            json!({ "kind": { "$hasPrefix": 1 } }),
            json!({ "kind": { "$eq": "a" } }),
            json!({ "a\nb": "x" }),
            json!({ "$not": "x" }),
            json!({ "$all": [1] }),
        ] {
            let message = error(bad.clone());
            assert!(
                message.starts_with("Invalid query: Validation error: "),
                "{bad}: {message}"
            );
        }
    }

    #[test]
    fn operator_alternatives_follow_schema_order() {
        // `$exists` wins over `$in`; an invalid `$contains` falls through to `$hasPrefix`.
        assert_eq!(
            parse(json!({ "k": { "$in": ["a"], "$exists": true } })),
            Some(exists("k"))
        );
        assert_eq!(
            parse(json!({ "k": { "$contains": [1], "$hasPrefix": "A" } })),
            Some(EntityFilter::HasPrefix {
                key: "k".to_owned(),
                prefix: "a".to_owned()
            })
        );
    }

    #[test]
    fn empty_key_is_allowed() {
        assert_eq!(parse(json!({ "": "x" })), Some(key("", &["x"])));
    }

    #[test]
    fn deep_nesting_is_rejected_not_overflowing() {
        let mut value = json!({ "kind": "a" });
        for _ in 0..200 {
            value = json!({ "$not": value });
        }
        assert!(error(value).contains("nested too deeply"));
    }

    #[test]
    fn predicate_json_round_trips() {
        let filters = [
            parse_filter_params(&[
                "kind=user,metadata.namespace=default".to_owned(),
                "kind=group,kind=api,spec.type".to_owned(),
            ])
            .unwrap()
            .unwrap(),
            EntityFilter::Not(Box::new(EntityFilter::HasPrefix {
                key: "metadata.name".to_owned(),
                prefix: "x".to_owned(),
            })),
            key("k", &[]),
            EntityFilter::Any(vec![]),
        ];
        for filter in filters {
            let json = serde_json::to_value(&filter).unwrap();
            let back: EntityFilter = serde_json::from_value(json.clone()).unwrap();
            assert_eq!(back, filter, "{json}");
        }
        let single = serde_json::to_value(key("kind", &["a"])).unwrap();
        assert_eq!(single, json!({ "kind": "a" }));
        let many = serde_json::to_value(key("kind", &["a", "b"])).unwrap();
        assert_eq!(many, json!({ "kind": { "$in": ["a", "b"] } }));
    }

    #[test]
    fn predicates_match_rows() {
        let rows = build_search_rows(&json!({
            "kind": "Component",
            "metadata": { "name": "petstore", "namespace": "default", "tags": ["java"] },
            "spec": { "type": "service", "replicas": 2 },
            "relations": [{ "type": "ownedBy", "targetRef": "group:default/team-a" }]
        }))
        .unwrap();
        let yes = [
            json!({ "kind": "component" }),
            json!({ "spec.replicas": 2 }),
            json!({ "metadata.tags": { "$contains": "java" } }),
            json!({ "relations": { "$contains": { "type": "ownedBy", "targetRef": "group:default/team-a" } } }),
            json!({ "$not": { "kind": "api" } }),
            json!({ "metadata.name": { "$hasPrefix": "PET" } }),
            json!({ "spec.lifecycle": { "$exists": false } }),
        ];
        for predicate in yes {
            let filter = parse(predicate.clone()).unwrap();
            assert!(matches(&filter, &rows), "{predicate}");
        }
        let no = [
            json!({ "kind": "api" }),
            json!({ "relations": { "$contains": { "type": "ownedBy", "targetRef": "group:default/team-b" } } }),
            json!({ "$any": [] }),
        ];
        for predicate in no {
            let filter = parse(predicate.clone()).unwrap();
            assert!(!matches(&filter, &rows), "{predicate}");
        }
    }
}
