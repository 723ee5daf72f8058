//! Backstage's entity JSON schemas (copied into `crates/model/schemas`, Apache-2.0 data files), embedded, and a small interpreter for the part of JSON Schema
//! (draft-07) they use. Kept in-house because the schemas need only a dozen keywords and the
//! errors must come out as dotted field paths with ajv-like messages.

use crate::document::json_type_name;
use crate::validation::is_placeholder;
use crate::FieldError;
use regex::{Regex, RegexBuilder};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::LazyLock;

macro_rules! schema_file {
    ($name:literal) => {
        include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/schemas/", $name))
    };
}

/// Every schema file the validator loads; each is known by its own `$id`.
const SOURCES: &[&str] = &[
    schema_file!("common.schema.json"),
    schema_file!("EntityMeta.schema.json"),
    schema_file!("Entity.schema.json"),
    schema_file!("Component.v1alpha1.schema.json"),
    schema_file!("API.v1alpha1.schema.json"),
    schema_file!("Resource.v1alpha1.schema.json"),
    schema_file!("Group.v1alpha1.schema.json"),
    schema_file!("Location.v1alpha1.schema.json"),
    schema_file!("User.v1alpha1.schema.json"),
    schema_file!("System.v1alpha1.schema.json"),
    schema_file!("Domain.v1alpha1.schema.json"),
    schema_file!("Template.v1beta3.schema.json"),
];

/// The envelope schema every entity must match.
const ENTITY_ID: &str = "Entity";

/// The kinds Backstage's default catalog (built-in kinds processor plus the scaffolder entity
/// model) has a processor for. The API schema applies to every API, `mcp-server` ones included:
/// the `mcp-server` variant is only used by the opt-in catalog model layers.
const KIND_IDS: &[&str] = &[
    "ApiV1alpha1",
    "ComponentV1alpha1",
    "ResourceV1alpha1",
    "GroupV1alpha1",
    "LocationV1alpha1",
    "UserV1alpha1",
    "SystemV1alpha1",
    "DomainV1alpha1",
    "TemplateV1beta3",
];

static SCHEMAS: LazyLock<Result<Schemas, String>> = LazyLock::new(Schemas::load);

/// The loaded schemas, or why they failed to load (a build problem, covered by tests).
pub(crate) fn schemas() -> Result<&'static Schemas, &'static str> {
    SCHEMAS.as_ref().map_err(String::as_str)
}

pub(crate) struct Schemas {
    /// Schema documents by `$id`.
    docs: HashMap<String, Value>,
    /// Every `pattern` and `patternProperties` regex, compiled once.
    patterns: HashMap<String, Regex>,
}

impl Schemas {
    fn load() -> Result<Self, String> {
        let mut docs = HashMap::new();
        let mut patterns = HashMap::new();
        for source in SOURCES {
            let doc: Value =
                serde_json::from_str(source).map_err(|e| format!("bad schema JSON: {e}"))?;
            let id = doc
                .get("$id")
                .and_then(Value::as_str)
                .ok_or_else(|| "schema without $id".to_owned())?
                .to_owned();
            collect_patterns(&doc, &mut patterns)?;
            docs.insert(id, doc);
        }
        for id in KIND_IDS.iter().chain([&ENTITY_ID]) {
            if !docs.contains_key(*id) {
                return Err(format!("schema {id} is missing"));
            }
        }
        Ok(Self { docs, patterns })
    }

    /// Checks `entity` against the envelope schema (`Entity`, with `EntityMeta` and `common`).
    pub(crate) fn check_envelope(&self, entity: &Value, errors: &mut Vec<FieldError>) {
        if let Some(schema) = self.docs.get(ENTITY_ID) {
            self.check(ENTITY_ID, schema, entity, "", errors);
        }
    }

    /// The kind-specific parts of the first kind schema whose `apiVersion` and `kind` enums
    /// accept the entity (the envelope part is left out: it was checked already).
    pub(crate) fn kind_schema(&self, entity: &Value) -> Option<KindSchema<'_>> {
        KIND_IDS.iter().find_map(|id| {
            let (doc_id, doc) = self.docs.get_key_value(*id)?;
            let parts: Vec<&Value> = match doc.get("allOf").and_then(Value::as_array) {
                Some(all) => all
                    .iter()
                    .filter(|part| part.get("$ref").is_none())
                    .collect(),
                None => vec![doc],
            };
            let accepts = |field: &str| {
                let value = entity.get(field).unwrap_or(&Value::Null);
                parts.iter().all(
                    |part| match part.get("properties").and_then(|p| p.get(field)) {
                        Some(schema) => {
                            let mut errors = Vec::new();
                            self.check(doc_id, schema, value, field, &mut errors);
                            errors.is_empty()
                        }
                        None => true,
                    },
                )
            };
            (accepts("apiVersion") && accepts("kind")).then_some(KindSchema { doc_id, parts })
        })
    }

    /// Checks the entity against a kind schema found by [`Schemas::kind_schema`].
    pub(crate) fn check_kind(
        &self,
        kind: &KindSchema<'_>,
        entity: &Value,
        errors: &mut Vec<FieldError>,
    ) {
        for part in &kind.parts {
            self.check(kind.doc_id, part, entity, "", errors);
        }
    }

    /// Validates `value` (found at `path`) against `schema`, a schema inside document `doc`.
    fn check(
        &self,
        doc: &str,
        schema: &Value,
        value: &Value,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) {
        if is_placeholder(value) {
            return;
        }
        let schema = match schema {
            Value::Bool(true) => return,
            Value::Bool(false) => return errors.push(error(path, "must not be present")),
            Value::Object(schema) => schema,
            _ => return,
        };
        if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
            // In draft-07 the siblings of `$ref` are ignored.
            return match self.resolve(doc, reference) {
                Some((doc, target)) => self.check(doc, target, value, path, errors),
                None => errors.push(error(
                    path,
                    format!("cannot resolve schema reference {reference}"),
                )),
            };
        }
        for sub in schema
            .get("allOf")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            self.check(doc, sub, value, path, errors);
        }
        if let Some(types) = schema.get("type") {
            if !type_matches(types, value) {
                // Other keywords would only repeat the problem for a value of the wrong type.
                return errors.push(error(
                    path,
                    format!(
                        "must be {} (got {})",
                        type_names(types),
                        json_type_name(value)
                    ),
                ));
            }
        }
        if let Some(allowed) = schema.get("enum").and_then(Value::as_array) {
            if !allowed.contains(value) {
                let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
                errors.push(error(
                    path,
                    format!(
                        "must be equal to one of the allowed values: {}",
                        list.join(", ")
                    ),
                ));
            }
        }
        if let Some(constant) = schema.get("const") {
            if constant != value {
                errors.push(error(path, format!("must be equal to constant {constant}")));
            }
        }
        match value {
            Value::String(text) => self.check_string(schema, text, path, errors),
            Value::Array(items) => self.check_array(doc, schema, items, path, errors),
            Value::Object(object) => self.check_object(doc, schema, object, path, errors),
            _ => {}
        }
        if let Some(branches) = schema.get("oneOf").and_then(Value::as_array) {
            self.check_one_of(doc, branches, value, path, errors);
        }
    }

    fn check_string(
        &self,
        schema: &serde_json::Map<String, Value>,
        text: &str,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) {
        // ajv counts Unicode code points.
        let length = text.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64) {
            if length < min {
                errors.push(error(
                    path,
                    format!("must NOT have fewer than {min} characters"),
                ));
            }
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64) {
            if length > max {
                errors.push(error(
                    path,
                    format!("must NOT have more than {max} characters"),
                ));
            }
        }
        if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
            if self
                .patterns
                .get(pattern)
                .is_some_and(|re| !re.is_match(text))
            {
                errors.push(error(path, format!("must match pattern \"{pattern}\"")));
            }
        }
    }

    fn check_array(
        &self,
        doc: &str,
        schema: &serde_json::Map<String, Value>,
        items: &[Value],
        path: &str,
        errors: &mut Vec<FieldError>,
    ) {
        if let Some(min) = schema.get("minItems").and_then(Value::as_u64) {
            if (items.len() as u64) < min {
                errors.push(error(path, format!("must NOT have fewer than {min} items")));
            }
        }
        if let Some(item_schema) = schema.get("items") {
            for (i, item) in items.iter().enumerate() {
                self.check(doc, item_schema, item, &format!("{path}[{i}]"), errors);
            }
        }
    }

    fn check_object(
        &self,
        doc: &str,
        schema: &serde_json::Map<String, Value>,
        object: &serde_json::Map<String, Value>,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) {
        for required in schema
            .get("required")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            if let Some(key) = required.as_str() {
                if !object.contains_key(key) {
                    errors.push(error(
                        &child(path, key),
                        format!("must have required property '{key}'"),
                    ));
                }
            }
        }
        let properties = schema.get("properties").and_then(Value::as_object);
        let pattern_properties = schema.get("patternProperties").and_then(Value::as_object);
        for (key, value) in object {
            let key_path = child(path, key);
            let mut matched = false;
            if let Some(property) = properties.and_then(|p| p.get(key)) {
                matched = true;
                self.check(doc, property, value, &key_path, errors);
            }
            for (pattern, property) in pattern_properties.into_iter().flatten() {
                if self
                    .patterns
                    .get(pattern)
                    .is_some_and(|re| re.is_match(key))
                {
                    matched = true;
                    self.check(doc, property, value, &key_path, errors);
                }
            }
            match schema.get("additionalProperties") {
                Some(Value::Bool(false)) if !matched => {
                    let message = if path.is_empty() {
                        format!("Unknown field {key}")
                    } else {
                        "must NOT have additional properties".to_owned()
                    };
                    errors.push(error(&key_path, message));
                }
                Some(additional @ Value::Object(_)) if !matched => {
                    self.check(doc, additional, value, &key_path, errors);
                }
                _ => {}
            }
        }
    }

    /// `oneOf`: exactly one branch must hold. When none does but exactly one branch is of the
    /// value's type, that branch's errors are the useful ones to report.
    fn check_one_of(
        &self,
        doc: &str,
        branches: &[Value],
        value: &Value,
        path: &str,
        errors: &mut Vec<FieldError>,
    ) {
        let mut outcomes: Vec<Vec<FieldError>> = Vec::with_capacity(branches.len());
        for branch in branches {
            let mut branch_errors = Vec::new();
            self.check(doc, branch, value, path, &mut branch_errors);
            outcomes.push(branch_errors);
        }
        let passing = outcomes.iter().filter(|e| e.is_empty()).count();
        if passing == 1 {
            return;
        }
        if passing == 0 {
            let typed: Vec<usize> = branches
                .iter()
                .enumerate()
                .filter(|(_, b)| b.get("type").is_none_or(|t| type_matches(t, value)))
                .map(|(i, _)| i)
                .collect();
            if let [only] = typed.as_slice() {
                if let Some(branch_errors) = outcomes.get_mut(*only) {
                    errors.append(branch_errors);
                    return;
                }
            }
        }
        errors.push(error(path, "must match exactly one schema in oneOf"));
    }

    /// Resolves `Entity`, `common#relation`, `#statusItem` or `Doc#/json/pointer`.
    fn resolve<'a>(&'a self, doc: &str, reference: &str) -> Option<(&'a str, &'a Value)> {
        let (doc_part, fragment) = reference.split_once('#').unwrap_or((reference, ""));
        let doc_id = if doc_part.is_empty() { doc } else { doc_part };
        let (doc_id, root) = self.docs.get_key_value(doc_id)?;
        if fragment.is_empty() {
            return Some((doc_id, root));
        }
        if fragment.starts_with('/') {
            return root
                .pointer(fragment)
                .map(|schema| (doc_id.as_str(), schema));
        }
        let anchor = format!("#{fragment}");
        let definitions = root.get("definitions").and_then(Value::as_object)?;
        definitions
            .iter()
            .find(|(name, schema)| {
                schema.get("$id").and_then(Value::as_str) == Some(anchor.as_str())
                    || name.as_str() == fragment
            })
            .map(|(_, schema)| (doc_id.as_str(), schema))
    }
}

/// The kind-specific schema parts an entity is checked against.
pub(crate) struct KindSchema<'a> {
    doc_id: &'a str,
    parts: Vec<&'a Value>,
}

fn error(path: &str, message: impl Into<String>) -> FieldError {
    FieldError {
        field: path.to_owned(),
        message: message.into(),
    }
}

/// `metadata` + `name` → `metadata.name`; the root's children have no leading dot.
fn child(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_owned()
    } else {
        format!("{path}.{key}")
    }
}

fn type_matches(types: &Value, value: &Value) -> bool {
    let one = |name: &str| match name {
        "integer" => value.as_f64().is_some_and(|n| n.fract() == 0.0),
        "number" => value.is_number(),
        other => json_type_name(value) == other,
    };
    match types {
        Value::String(name) => one(name),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(one),
        _ => true,
    }
}

fn type_names(types: &Value) -> String {
    match types {
        Value::Array(names) => names
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" or "),
        Value::String(name) => name.clone(),
        other => other.to_string(),
    }
}

/// Compiles every regex a schema uses. ASCII classes first (`\w` is ASCII in JavaScript); a
/// pattern that needs Unicode mode (`.` on text) is compiled in Unicode mode.
fn collect_patterns(schema: &Value, patterns: &mut HashMap<String, Regex>) -> Result<(), String> {
    let mut add = |pattern: &str| -> Result<(), String> {
        if !patterns.contains_key(pattern) {
            let regex = RegexBuilder::new(pattern)
                .unicode(false)
                .build()
                .or_else(|_| Regex::new(pattern))
                .map_err(|e| format!("bad schema pattern {pattern}: {e}"))?;
            patterns.insert(pattern.to_owned(), regex);
        }
        Ok(())
    };
    let mut stack = vec![schema];
    while let Some(node) = stack.pop() {
        match node {
            Value::Object(object) => {
                if let Some(pattern) = object.get("pattern").and_then(Value::as_str) {
                    add(pattern)?;
                }
                for pattern in object
                    .get("patternProperties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten()
                {
                    add(pattern.0)?;
                }
                stack.extend(object.values());
            }
            Value::Array(items) => stack.extend(items),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn all_schemas_load() {
        let schemas = schemas().unwrap();
        assert!(schemas.docs.len() >= SOURCES.len());
        assert!(schemas.patterns.contains_key("^.+$"));
        assert!(schemas.patterns["^\\w+$"].is_match("ownedBy"));
        assert!(!schemas.patterns["^\\w+$"].is_match("ownéd"));
    }

    #[test]
    fn resolves_refs_across_documents() {
        let schemas = schemas().unwrap();
        assert!(schemas.resolve("Entity", "EntityMeta").is_some());
        assert!(schemas.resolve("Entity", "common#relation").is_some());
        assert!(schemas.resolve("common", "#statusItem").is_some());
        assert!(schemas.resolve("common", "#/definitions/error").is_some());
        assert!(schemas.resolve("common", "#nothing").is_none());
        assert!(schemas.resolve("Entity", "Nope").is_none());
    }

    #[test]
    fn relations_and_status_are_checked_by_the_envelope() {
        let schemas = schemas().unwrap();
        let entity = json!({
            "apiVersion": "v1", "kind": "X", "metadata": {"name": "n"},
            "relations": [{"type": "not valid", "targetRef": "a:b/c", "extra": 1}],
            "status": {"items": [{"type": "t", "level": "fatal", "message": "m"}]},
        });
        let mut errors = Vec::new();
        schemas.check_envelope(&entity, &mut errors);
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "relations[0].type",
                "relations[0].extra",
                "status.items[0].level"
            ]
        );
    }

    #[test]
    fn type_unions_integers_and_booleans() {
        assert!(type_matches(&json!(["string", "boolean"]), &json!(true)));
        assert!(!type_matches(&json!(["string", "boolean"]), &json!(1)));
        assert!(type_matches(&json!("integer"), &json!(2.0)));
        assert!(!type_matches(&json!("integer"), &json!(2.5)));
        assert!(type_matches(&json!("number"), &json!(2.5)));
        assert_eq!(
            type_names(&json!(["string", "boolean"])),
            "string or boolean"
        );
    }
}
