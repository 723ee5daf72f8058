//! The entity filter AST, the `filter=` query-parameter grammar, and in-memory evaluation of a
//! filter against an entity's search rows.

use serde_json::{Map, Value};

use crate::error::QueryError;
use crate::js::{js_trim, json_for_message};
use crate::search::SearchRow;

/// A condition on an entity's search rows.
///
/// Keys are search-row keys (dotted paths, lower-case) and values are compared with the
/// lower-cased row values; the parsers lower-case both, and [`matches`](fn@crate::matches) lower-cases again so
/// hand-built filters behave the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityFilter {
    /// Every sub-filter matches (an empty list matches everything).
    All(Vec<EntityFilter>),
    /// At least one sub-filter matches (an empty list matches nothing).
    Any(Vec<EntityFilter>),
    /// The sub-filter does not match.
    Not(Box<EntityFilter>),
    /// A row with this key exists (`values: None`), or exists with one of these values.
    Key {
        /// Search-row key, e.g. `spec.type` or `relations.ownedby`.
        key: String,
        /// `None`: the key exists (with any value, even a value too long to index);
        /// `Some(list)`: some row of the key has one of these values (empty list: never).
        values: Option<Vec<String>>,
    },
    /// Some row of the key has a value starting with this prefix (predicate `$hasPrefix`).
    HasPrefix {
        /// Search-row key.
        key: String,
        /// Lower-cased prefix.
        prefix: String,
    },
}

impl EntityFilter {
    /// `key` exists, with any value.
    pub fn exists(key: &str) -> Self {
        Self::Key {
            key: key.to_lowercase(),
            values: None,
        }
    }

    /// `key` has one of `values` (compared case-insensitively).
    pub fn any_of<S: AsRef<str>>(key: &str, values: &[S]) -> Self {
        Self::Key {
            key: key.to_lowercase(),
            values: Some(values.iter().map(|v| v.as_ref().to_lowercase()).collect()),
        }
    }

    /// `key` equals `value` (case-insensitively).
    pub fn equals(key: &str, value: &str) -> Self {
        Self::any_of(key, &[value])
    }

    /// Both filters must match; used to combine a `filter` parameter with a body `query`.
    pub fn and(self, other: EntityFilter) -> Self {
        Self::All(vec![self, other])
    }

    /// The legacy JSON form Backstage's older cursors carry (`{key, values}`, `{not}`,
    /// `{anyOf}`, `{allOf}`); `None` when the filter uses `$hasPrefix`, which it cannot express.
    pub(crate) fn to_legacy_json(&self) -> Option<Value> {
        let mut object = Map::new();
        match self {
            Self::All(items) | Self::Any(items) => {
                let name = if matches!(self, Self::All(_)) {
                    "allOf"
                } else {
                    "anyOf"
                };
                let items = items
                    .iter()
                    .map(Self::to_legacy_json)
                    .collect::<Option<Vec<_>>>()?;
                object.insert(name.to_owned(), Value::Array(items));
            }
            Self::Not(inner) => {
                object.insert("not".to_owned(), inner.to_legacy_json()?);
            }
            Self::Key { key, values } => {
                object.insert("key".to_owned(), Value::String(key.clone()));
                if let Some(values) = values {
                    let values = values.iter().cloned().map(Value::String).collect();
                    object.insert("values".to_owned(), Value::Array(values));
                }
            }
            Self::HasPrefix { .. } => return None,
        }
        Some(Value::Object(object))
    }

    /// Reads the legacy JSON form (see [`EntityFilter::to_legacy_json`]), trying the shapes in
    /// the order Backstage's cursor schema does.
    pub(crate) fn from_legacy_json(value: &Value, depth: usize) -> Result<Self, String> {
        if depth > crate::predicate::MAX_DEPTH {
            return Err("filter is nested too deeply".to_owned());
        }
        let Value::Object(object) = value else {
            return Err("filter must be an object".to_owned());
        };
        if let Some(Value::String(key)) = object.get("key") {
            match object.get("values") {
                None => return Ok(Self::exists(key)),
                Some(Value::Array(items)) if items.iter().all(Value::is_string) => {
                    let values: Vec<&str> = items.iter().filter_map(Value::as_str).collect();
                    return Ok(Self::any_of(key, &values));
                }
                Some(_) => {}
            }
        }
        if let Some(inner) = object.get("not") {
            if let Ok(inner) = Self::from_legacy_json(inner, depth + 1) {
                return Ok(Self::Not(Box::new(inner)));
            }
        }
        for (name, is_all) in [("anyOf", false), ("allOf", true)] {
            if let Some(Value::Array(items)) = object.get(name) {
                let parsed = items
                    .iter()
                    .map(|item| Self::from_legacy_json(item, depth + 1))
                    .collect::<Result<Vec<_>, _>>();
                if let Ok(items) = parsed {
                    return Ok(if is_all {
                        Self::All(items)
                    } else {
                        Self::Any(items)
                    });
                }
            }
        }
        Err(format!(
            "filter {} is not a valid entity filter",
            json_for_message(value)
        ))
    }
}

/// Parses the repeatable `filter` query parameter of `GET /entities`, `/entities/by-query`,
/// `/entity-facets` and `POST /entities/by-refs`.
///
/// Each parameter is one filter set; several sets are OR-ed. Inside a set, comma-separated
/// statements are AND-ed; a statement is `key` (exists) or `key=value` (the first `=` splits, so
/// values may contain `=`; `key=` matches the empty string). Whitespace around statements, keys
/// and values is trimmed, empty statements are skipped, and statements repeating the exact same
/// key OR their values together. Returns `None` when no set has a statement (no filtering).
///
/// As in Backstage, keys are grouped before lower-casing, so `kind=a,Kind=b` ANDs two
/// conditions while `kind=a,kind=b` ORs the values; and a bare `key` next to `key=v` in the same
/// set does not widen it (the set requires `key=v`).
pub fn parse_filter_params(params: &[String]) -> Result<Option<EntityFilter>, QueryError> {
    let mut sets = Vec::new();
    for param in params {
        let conditions = parse_filter_set(param)?;
        // A lone condition stands for itself, as in Backstage's predicates.
        match conditions.len() {
            0 => {}
            1 => sets.extend(conditions),
            _ => sets.push(EntityFilter::All(conditions)),
        }
    }
    Ok(match sets.len() {
        0 => None,
        1 => sets.pop(),
        _ => Some(EntityFilter::Any(sets)),
    })
}

/// Parses one filter set into its AND-ed conditions.
fn parse_filter_set(param: &str) -> Result<Vec<EntityFilter>, QueryError> {
    // (raw key, values) in first-seen order; grouped by the key exactly as written.
    let mut by_key: Vec<(String, Option<Vec<String>>)> = Vec::new();
    for statement in param.split(',').map(js_trim).filter(|s| !s.is_empty()) {
        let (key, value) = match statement.split_once('=') {
            Some((key, value)) => (js_trim(key), Some(js_trim(value))),
            None => (statement, None),
        };
        if key.is_empty() {
            return Err(QueryError::input(format!(
                "Invalid filter, '{statement}' is not a valid statement (expected a string on the form a=b or a= or a)"
            )));
        }
        if key.starts_with('$') {
            // Backstage turns filters into predicates, where `$` keys are operators; such a
            // filter always fails there, with this message.
            let condition = match value {
                Some(value) => serde_json::json!({ key: value }),
                None => serde_json::json!({ key: { "$exists": true } }),
            };
            return Err(QueryError::input(format!(
                "Invalid filter predicate: operators must be a single $all or $any with an array, or $not, but got {}",
                json_for_message(&condition)
            )));
        }
        let index = match by_key.iter().position(|(existing, _)| existing == key) {
            Some(index) => index,
            None => {
                by_key.push((key.to_owned(), None));
                by_key.len() - 1
            }
        };
        if let (Some(value), Some((_, values))) = (value, by_key.get_mut(index)) {
            values
                .get_or_insert_with(Vec::new)
                .push(value.to_lowercase());
        }
    }
    Ok(by_key
        .into_iter()
        .map(|(key, values)| EntityFilter::Key {
            key: key.to_lowercase(),
            values,
        })
        .collect())
}

/// Evaluates a filter against an entity's search rows (from
/// [`build_search_rows`](crate::build_search_rows)), with the semantics of Backstage's SQL:
/// existence matches any row of the key, value conditions need a non-null row value.
pub fn matches(filter: &EntityFilter, rows: &[SearchRow]) -> bool {
    match filter {
        EntityFilter::All(items) => items.iter().all(|item| matches(item, rows)),
        EntityFilter::Any(items) => items.iter().any(|item| matches(item, rows)),
        EntityFilter::Not(inner) => !matches(inner, rows),
        EntityFilter::Key { key, values } => {
            let key = key.to_lowercase();
            match values {
                None => rows.iter().any(|row| row.key == key),
                Some(values) => {
                    let values: Vec<String> = values.iter().map(|v| v.to_lowercase()).collect();
                    rows.iter().any(|row| {
                        row.key == key && row.value.as_ref().is_some_and(|v| values.contains(v))
                    })
                }
            }
        }
        EntityFilter::HasPrefix { key, prefix } => {
            let key = key.to_lowercase();
            let prefix = prefix.to_lowercase();
            rows.iter().any(|row| {
                row.key == key
                    && row
                        .value
                        .as_ref()
                        .is_some_and(|v| v.starts_with(prefix.as_str()))
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::search::build_search_rows;
    use serde_json::json;

    fn params(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn parse(values: &[&str]) -> Option<EntityFilter> {
        parse_filter_params(&params(values)).unwrap()
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
    fn no_params_or_empty_params_mean_no_filter() {
        assert_eq!(parse(&[]), None);
        assert_eq!(parse(&[""]), None);
        assert_eq!(parse(&[" , ,", ""]), None);
    }

    #[test]
    fn single_condition() {
        assert_eq!(
            parse(&["kind=Component"]),
            Some(key("kind", &["component"]))
        );
        assert_eq!(parse(&["spec.type"]), Some(exists("spec.type")));
    }

    #[test]
    fn conditions_in_a_set_are_anded_and_sets_ored() {
        assert_eq!(
            parse(&[
                "kind=user,metadata.namespace=default",
                "kind=group,spec.type"
            ]),
            Some(EntityFilter::Any(vec![
                EntityFilter::All(vec![
                    key("kind", &["user"]),
                    key("metadata.namespace", &["default"])
                ]),
                EntityFilter::All(vec![key("kind", &["group"]), exists("spec.type")]),
            ]))
        );
    }

    #[test]
    fn repeated_key_in_a_set_ors_values() {
        assert_eq!(
            parse(&["kind=component,kind=API"]),
            Some(key("kind", &["component", "api"]))
        );
        // Grouping happens on the key as written, before lower-casing.
        assert_eq!(
            parse(&["kind=component,Kind=api"]),
            Some(EntityFilter::All(vec![
                key("kind", &["component"]),
                key("kind", &["api"])
            ]))
        );
        // A bare key next to a value for the same key keeps only the value condition.
        assert_eq!(parse(&["kind,kind=a"]), Some(key("kind", &["a"])));
        assert_eq!(parse(&["kind=a,kind"]), Some(key("kind", &["a"])));
    }

    #[test]
    fn whitespace_is_trimmed() {
        assert_eq!(
            parse(&["  kind =  Component , spec.type  ,,"]),
            Some(EntityFilter::All(vec![
                key("kind", &["component"]),
                exists("spec.type")
            ]))
        );
    }

    #[test]
    fn value_may_contain_equals_and_be_empty() {
        assert_eq!(
            parse(&["metadata.annotations.a=b=c"]),
            Some(key("metadata.annotations.a", &["b=c"]))
        );
        assert_eq!(parse(&["spec.x="]), Some(key("spec.x", &[""])));
    }

    #[test]
    fn annotation_keys_with_dots_stay_whole() {
        assert_eq!(
            parse(&["metadata.annotations.backstage.io/orphan=true"]),
            Some(key("metadata.annotations.backstage.io/orphan", &["true"]))
        );
    }

    #[test]
    fn empty_key_is_an_error() {
        for bad in ["=x", " = x", "kind=a,=b"] {
            let error = parse_filter_params(&params(&[bad])).unwrap_err();
            assert!(
                error.message().starts_with("Invalid filter, '="),
                "{bad}: {error}"
            );
        }
        let error = parse_filter_params(&params(&["=x"])).unwrap_err();
        assert_eq!(
            error.message(),
            "Invalid filter, '=x' is not a valid statement (expected a string on the form a=b or a= or a)"
        );
    }

    #[test]
    fn operator_keys_are_an_error() {
        let error = parse_filter_params(&params(&["$not=x"])).unwrap_err();
        assert!(error.message().starts_with("Invalid filter predicate"));
        assert!(parse_filter_params(&params(&["kind=a", "$all"])).is_err());
    }

    fn entity_rows() -> Vec<SearchRow> {
        build_search_rows(&json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {
                "name": "petstore",
                "namespace": "default",
                "uid": "u-1",
                "tags": ["Java"],
                "annotations": { "backstage.io/orphan": "true", "long": "x".repeat(300) }
            },
            "spec": { "type": "service", "owner": "team-a" },
            "relations": [{ "type": "ownedBy", "targetRef": "group:default/team-a" }]
        }))
        .unwrap()
    }

    #[test]
    fn matching_against_rows() {
        let rows = entity_rows();
        let yes = [
            "kind=component",
            "KIND=COMPONENT",
            "kind=api,kind=component",
            "metadata.tags.java",
            "metadata.tags.java=true",
            "metadata.tags=java",
            "relations.ownedby=group:default/team-a",
            "metadata.annotations.backstage.io/orphan=true",
            "metadata.uid=u-1",
            "metadata.annotations.long",
            "spec.type=service,spec.owner=team-a",
        ];
        for filter in yes {
            let parsed = parse(&[filter]).unwrap();
            assert!(matches(&parsed, &rows), "{filter} should match");
        }
        let no = [
            "kind=api",
            "kind=comp",
            "metadata.tags.python",
            "spec.type=service,spec.owner=team-b",
            "metadata.annotations.long=x",
            "spec.missing",
            "metadata.etag",
        ];
        for filter in no {
            let parsed = parse(&[filter]).unwrap();
            assert!(!matches(&parsed, &rows), "{filter} should not match");
        }
        let either = parse(&["kind=api", "spec.type=service"]).unwrap();
        assert!(matches(&either, &rows));
    }

    #[test]
    fn structural_matching() {
        let rows = entity_rows();
        assert!(matches(&EntityFilter::All(vec![]), &rows));
        assert!(!matches(&EntityFilter::Any(vec![]), &rows));
        assert!(matches(
            &EntityFilter::Not(Box::new(EntityFilter::exists("spec.missing"))),
            &rows
        ));
        assert!(!matches(&key("kind", &[]), &rows));
        assert!(matches(
            &EntityFilter::HasPrefix {
                key: "metadata.name".to_owned(),
                prefix: "pet".to_owned()
            },
            &rows
        ));
        assert!(!matches(
            &EntityFilter::HasPrefix {
                key: "metadata.name".to_owned(),
                prefix: "store".to_owned()
            },
            &rows
        ));
        // Hand-built filters with upper case still match case-insensitively.
        let manual = EntityFilter::Key {
            key: "Kind".to_owned(),
            values: Some(vec!["Component".to_owned()]),
        };
        assert!(matches(&manual, &rows));
    }

    #[test]
    fn legacy_json_round_trip() {
        let filter = parse(&[
            "kind=user,metadata.namespace=default",
            "kind=group,spec.type",
        ])
        .unwrap();
        let negated = EntityFilter::Not(Box::new(filter));
        let json = negated.to_legacy_json().unwrap();
        assert_eq!(EntityFilter::from_legacy_json(&json, 0).unwrap(), negated);
        let prefix = EntityFilter::HasPrefix {
            key: "a".to_owned(),
            prefix: "b".to_owned(),
        };
        assert_eq!(prefix.to_legacy_json(), None);
        assert!(EntityFilter::from_legacy_json(&json!({"key": 1}), 0).is_err());
        assert!(EntityFilter::from_legacy_json(&json!("x"), 0).is_err());
        assert_eq!(
            EntityFilter::from_legacy_json(&json!({"key": "Kind", "values": ["A"]}), 0).unwrap(),
            key("kind", &["a"])
        );
    }
}
