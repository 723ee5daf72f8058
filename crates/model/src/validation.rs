//! Validation of an entity: the envelope, metadata formats and each kind's spec schema.

use crate::document::json_type_name;
use crate::entity_ref::DEFAULT_NAMESPACE;
use crate::{format, schema};
use serde_json::{Map, Value};
use std::collections::HashSet;

/// One problem with one field. `field` is a dotted path such as `metadata.name` or
/// `spec.owner` (empty for the document as a whole).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for FieldError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.field, self.message)
        }
    }
}

/// Readies an author's entity for processing: drops server-set `relations`/`status`,
/// `metadata.uid`/`etag`/`generation`, and fills `metadata.namespace` with `default`.
pub fn prepare_entity(entity: &mut Value) {
    let Some(root) = entity.as_object_mut() else {
        return;
    };
    // shift_remove keeps the order of the remaining keys, so stored entities read as written.
    root.shift_remove("relations");
    root.shift_remove("status");
    if let Some(Value::Object(metadata)) = root.get_mut("metadata") {
        metadata.shift_remove("uid");
        metadata.shift_remove("etag");
        metadata.shift_remove("generation");
        // Only an absent namespace is filled in: an explicit `null` or `""` stays an error.
        if !metadata.contains_key("namespace") {
            metadata.insert(
                "namespace".to_owned(),
                Value::String(DEFAULT_NAMESPACE.to_owned()),
            );
        }
    }
}

/// The placeholder keys Backstage's default catalog resolves (`definition: { $text: ./x.yaml }`).
pub const PLACEHOLDER_KEYS: &[&str] = &["$text", "$json", "$yaml"];

/// Whether `value` is a `$text`/`$json`/`$yaml` placeholder: an object whose only key is one of
/// [`PLACEHOLDER_KEYS`]. Validation accepts placeholders wherever they appear, since the catalog
/// replaces them with what they point at before the entity is stored.
pub fn is_placeholder(value: &Value) -> bool {
    match value {
        Value::Object(object) if object.len() == 1 => object
            .keys()
            .all(|key| PLACEHOLDER_KEYS.contains(&key.as_str())),
        _ => false,
    }
}

// Backstage's wording of what each format expects.
const EXPECT_NAME: &str =
    "a string that is sequences of [a-zA-Z0-9] separated by any of [-_.], at most 63 characters in total";
const EXPECT_PREFIX_SUFFIX: &str = "a valid prefix and/or suffix";
const EXPECT_NAMESPACE: &str =
    "a string that is sequences of [a-z0-9] separated by [-], at most 63 characters in total";
// Backstage's message says `[a-z0-9+#]`, but its rule also allows `:`.
const EXPECT_TAG: &str =
    "a string that is sequences of [a-z0-9:+#] separated by [-], at most 63 characters in total";
const EXPECT_KIND: &str =
    "a string that is a sequence of [a-zA-Z][a-z0-9A-Z], at most 63 characters in total";
const EXPECT_URL: &str = "a string that is a valid url";
const EXPECT_NON_EMPTY: &str = "a non empty string";

/// Checks a prepared entity as Backstage's default policies and kind processors do. Returns
/// every problem found; an empty list means the entity is valid.
pub fn validate_entity(entity: &Value) -> Vec<FieldError> {
    let schemas = match schema::schemas() {
        Ok(schemas) => schemas,
        Err(problem) => {
            return vec![FieldError::new(
                "",
                format!("internal error: entity schemas failed to load: {problem}"),
            )]
        }
    };
    let Value::Object(root) = entity else {
        return vec![FieldError::new(
            "",
            format!("entity must be an object, got {}", json_type_name(entity)),
        )];
    };
    let mut errors = Vec::new();
    // 1. The envelope schema: required root fields, their types, metadata, unknown root fields.
    schemas.check_envelope(entity, &mut errors);
    let metadata = root.get("metadata").and_then(Value::as_object);
    let envelope_broken = !is_non_empty_string(root.get("apiVersion"))
        || !is_non_empty_string(root.get("kind"))
        || !metadata.is_some_and(|m| is_non_empty_string(m.get("name")));
    // 2. Field formats, on the values whose type was right.
    check_formats(root, metadata, &mut errors);
    // 3. The kind's own schema, which needs a readable apiVersion and kind to be chosen.
    if !envelope_broken {
        check_kind(schemas, entity, &mut errors);
    }
    let mut seen = HashSet::new();
    errors.retain(|e| seen.insert((e.field.clone(), e.message.clone())));
    errors
}

fn is_non_empty_string(value: Option<&Value>) -> bool {
    value.and_then(Value::as_str).is_some_and(|s| !s.is_empty())
}

/// The FieldFormatEntityPolicy rules, in Backstage's order. A field the schema already
/// rejected is not reported twice.
fn check_formats(
    root: &Map<String, Value>,
    metadata: Option<&Map<String, Value>>,
    errors: &mut Vec<FieldError>,
) {
    let already: HashSet<String> = errors.iter().map(|e| e.field.clone()).collect();
    let mut check =
        |field: String, value: Option<&Value>, valid: fn(&str) -> bool, expected: &str| {
            if let Some(Value::String(text)) = value {
                if !already.contains(&field) && !valid(text) {
                    errors.push(FieldError::new(
                        field,
                        format!("\"{text}\" is not valid; expected {expected}"),
                    ));
                }
            }
        };
    check(
        "apiVersion".to_owned(),
        root.get("apiVersion"),
        format::is_valid_api_version,
        EXPECT_PREFIX_SUFFIX,
    );
    check(
        "kind".to_owned(),
        root.get("kind"),
        format::is_valid_kind,
        EXPECT_KIND,
    );
    let Some(metadata) = metadata else {
        return;
    };
    check(
        "metadata.name".to_owned(),
        metadata.get("name"),
        format::is_valid_entity_name,
        EXPECT_NAME,
    );
    check(
        "metadata.namespace".to_owned(),
        metadata.get("namespace"),
        format::is_valid_namespace,
        EXPECT_NAMESPACE,
    );
    for (key, value) in metadata
        .get("labels")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let field = format!("metadata.labels.{key}");
        check(
            field.clone(),
            Some(&Value::String(key.clone())),
            format::is_valid_label_key,
            EXPECT_PREFIX_SUFFIX,
        );
        check(
            field,
            Some(value),
            format::is_valid_label_value,
            EXPECT_NAME,
        );
    }
    for key in metadata
        .get("annotations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
        .map(|(k, _)| k)
    {
        let field = format!("metadata.annotations.{key}");
        // Values only need to be strings, which the schema checked.
        check(
            field,
            Some(&Value::String(key.clone())),
            format::is_valid_annotation_key,
            EXPECT_PREFIX_SUFFIX,
        );
    }
    for (i, tag) in metadata
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        check(
            format!("metadata.tags[{i}]"),
            Some(tag),
            format::is_valid_tag,
            EXPECT_TAG,
        );
    }
    for (i, link) in metadata
        .get("links")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .enumerate()
    {
        check(
            format!("metadata.links[{i}].url"),
            link.get("url"),
            format::is_valid_url,
            EXPECT_URL,
        );
        check(
            format!("metadata.links[{i}].title"),
            link.get("title"),
            is_non_blank,
            EXPECT_NON_EMPTY,
        );
        check(
            format!("metadata.links[{i}].icon"),
            link.get("icon"),
            is_non_blank,
            EXPECT_NON_EMPTY,
        );
    }
}

fn is_non_blank(text: &str) -> bool {
    !text.trim().is_empty()
}

/// Picks the kind schema by apiVersion and kind and checks the entity against it; with none,
/// the entity is rejected as Backstage's processing loop rejects foreign kinds.
fn check_kind(schemas: &schema::Schemas, entity: &Value, errors: &mut Vec<FieldError>) {
    let Some(kind_schema) = schemas.kind_schema(entity) else {
        let api_version = entity
            .get("apiVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = entity
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let entity_ref = match crate::EntityRef::of_entity(entity) {
            Ok(entity_ref) => entity_ref.to_string(),
            Err(_) => format!("of kind {kind}"),
        };
        errors.push(FieldError::new(
            "kind",
            format!(
                "No processor recognized the entity {entity_ref} as valid, possibly caused by a foreign kind or \
                 apiVersion (no processor is able to handle kind {kind:?} with apiVersion {api_version:?})"
            ),
        ));
        return;
    };
    schemas.check_kind(&kind_schema, entity, errors);
    if entity.get("kind").and_then(Value::as_str) == Some("Location") {
        check_location_targets(entity, errors);
    }
}

/// A Location must say where to look: `target` or `targets` (Portico's contract; Backstage's
/// schema leaves both optional and reads nothing).
fn check_location_targets(entity: &Value, errors: &mut Vec<FieldError>) {
    let Some(spec) = entity.get("spec").and_then(Value::as_object) else {
        return;
    };
    let present = |key: &str| spec.get(key).is_some_and(|v| !v.is_null());
    if !present("target") && !present("targets") {
        errors.push(FieldError::new(
            "spec",
            "must have property 'target' or 'targets'",
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn component() -> Value {
        json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": {"name": "petstore", "namespace": "default"},
            "spec": {"type": "service", "lifecycle": "production", "owner": "team-a"},
        })
    }

    fn fields(entity: &Value) -> Vec<String> {
        validate_entity(entity)
            .into_iter()
            .map(|e| e.field)
            .collect()
    }

    fn with(mut entity: Value, pointer: &str, value: Value) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        entity
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .insert(key.to_owned(), value);
        entity
    }

    fn without(mut entity: Value, pointer: &str) -> Value {
        let (parent, key) = pointer.rsplit_once('/').unwrap();
        entity
            .pointer_mut(parent)
            .unwrap()
            .as_object_mut()
            .unwrap()
            .shift_remove(key);
        entity
    }

    #[test]
    fn valid_component() {
        assert_eq!(validate_entity(&component()), vec![]);
    }

    #[test]
    fn prepare_strips_server_fields_and_defaults_the_namespace() {
        let mut entity = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": {"name": "a", "uid": "u", "etag": "e", "generation": 1, "title": "T"},
            "spec": {"owner": "x"}, "relations": [], "status": {},
        });
        prepare_entity(&mut entity);
        assert_eq!(
            entity,
            json!({
                "apiVersion": "backstage.io/v1alpha1", "kind": "Component",
                "metadata": {"name": "a", "title": "T", "namespace": "default"},
                "spec": {"owner": "x"},
            })
        );
        let keys: Vec<&String> = entity.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["apiVersion", "kind", "metadata", "spec"]);
    }

    #[test]
    fn prepare_keeps_an_explicit_namespace_and_ignores_non_objects() {
        let mut entity = json!({"metadata": {"name": "a", "namespace": "ops"}});
        prepare_entity(&mut entity);
        assert_eq!(entity["metadata"]["namespace"], "ops");
        let mut entity = json!({"metadata": {"namespace": null}});
        prepare_entity(&mut entity);
        assert_eq!(entity["metadata"]["namespace"], Value::Null);
        for mut odd in [
            json!(null),
            json!([1]),
            json!("x"),
            json!({"metadata": "m"}),
        ] {
            let before = odd.clone();
            prepare_entity(&mut odd);
            assert_eq!(odd, before);
        }
    }

    #[test]
    fn non_objects_are_one_error() {
        for value in [json!(null), json!([]), json!("x"), json!(1)] {
            let errors = validate_entity(&value);
            assert_eq!(errors.len(), 1);
            assert!(errors[0].message.contains("must be an object"));
        }
    }

    #[test]
    fn broken_envelopes_skip_the_spec() {
        let errors = validate_entity(&json!({"spec": {}}));
        let fields: Vec<&str> = errors.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, ["apiVersion", "kind", "metadata"]);
        assert_eq!(
            errors[0].message,
            "must have required property 'apiVersion'"
        );
        assert_eq!(
            fields_of(&without(component(), "/metadata/name")),
            ["metadata.name"]
        );
        assert_eq!(fields_of(&with(component(), "/kind", json!(5))), ["kind"]);
        assert_eq!(
            fields_of(&with(component(), "/metadata", json!("x"))),
            ["metadata"]
        );
        assert_eq!(
            fields_of(&with(component(), "/apiVersion", json!(""))),
            ["apiVersion"]
        );
    }

    fn fields_of(entity: &Value) -> Vec<String> {
        fields(entity)
    }

    #[test]
    fn unknown_root_fields() {
        let entity = with(with(component(), "/extra", json!(1)), "/other", json!({}));
        let errors = validate_entity(&entity);
        assert_eq!(
            errors,
            vec![
                FieldError::new("extra", "Unknown field extra"),
                FieldError::new("other", "Unknown field other")
            ]
        );
        // Server-set root fields are allowed in the envelope.
        let entity = with(
            with(component(), "/relations", json!([])),
            "/status",
            json!({}),
        );
        assert_eq!(validate_entity(&entity), vec![]);
    }

    #[test]
    fn api_version_format() {
        for good in ["backstage.io/v1alpha1", "backstage.io/v1beta1"] {
            assert_eq!(
                fields(&with(component(), "/apiVersion", json!(good))),
                Vec::<String>::new()
            );
        }
        let errors = validate_entity(&with(component(), "/apiVersion", json!("a/b/c")));
        assert_eq!(
            errors[0],
            FieldError::new(
                "apiVersion",
                "\"a/b/c\" is not valid; expected a valid prefix and/or suffix"
            )
        );
        // A well-formed but foreign apiVersion is a processor problem, not a format problem.
        let errors = validate_entity(&with(component(), "/apiVersion", json!("backstage.io/v2")));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "kind");
    }

    #[test]
    fn kind_format() {
        let errors = validate_entity(&with(component(), "/kind", json!("my-kind")));
        assert_eq!(errors[0].field, "kind");
        assert!(errors[0]
            .message
            .starts_with("\"my-kind\" is not valid; expected a string that is a sequence of"));
    }

    #[test]
    fn name_format() {
        let errors = validate_entity(&with(component(), "/metadata/name", json!("Foo Bar")));
        assert_eq!(
            errors,
            vec![FieldError::new(
                "metadata.name",
                "\"Foo Bar\" is not valid; expected a string that is sequences of [a-zA-Z0-9] separated by any of \
                 [-_.], at most 63 characters in total"
            )]
        );
        assert_eq!(
            fields(&with(component(), "/metadata/name", json!("Foo_Bar.1"))),
            Vec::<String>::new()
        );
        assert_eq!(
            fields(&with(component(), "/metadata/name", json!("x".repeat(64)))),
            ["metadata.name"]
        );
        // An empty name is reported once, by the schema.
        let errors = validate_entity(&with(component(), "/metadata/name", json!("")));
        assert_eq!(
            errors,
            vec![FieldError::new(
                "metadata.name",
                "must NOT have fewer than 1 characters"
            )]
        );
    }

    #[test]
    fn namespace_format() {
        assert_eq!(
            fields(&with(component(), "/metadata/namespace", json!("team-a"))),
            Vec::<String>::new()
        );
        let errors = validate_entity(&with(component(), "/metadata/namespace", json!("Team_A")));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "metadata.namespace");
        assert!(errors[0].message.contains("separated by [-]"));
        assert_eq!(
            fields(&with(component(), "/metadata/namespace", json!(null))),
            ["metadata.namespace"]
        );
    }

    #[test]
    fn labels() {
        let good = json!({"backstage.io/team": "a", "tier": "", "x": "A.b-c_d"});
        assert_eq!(
            fields(&with(component(), "/metadata/labels", good)),
            Vec::<String>::new()
        );
        let bad = json!({"a/b/c": "ok", "ok": "not ok", "num": 5});
        let errors = validate_entity(&with(component(), "/metadata/labels", bad));
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            [
                "metadata.labels.num",
                "metadata.labels.a/b/c",
                "metadata.labels.ok"
            ]
        );
        assert_eq!(errors[0].message, "must be string (got number)");
        assert!(errors[1]
            .message
            .contains("expected a valid prefix and/or suffix"));
        assert!(errors[2].message.starts_with("\"not ok\" is not valid"));
    }

    #[test]
    fn annotations() {
        let good = json!({"backstage.io/techdocs-ref": "dir:.", "github.com/project-slug": "o/r", "free": "any text !"});
        assert_eq!(
            fields(&with(component(), "/metadata/annotations", good)),
            Vec::<String>::new()
        );
        let bad = json!({"foo": true, "Bad Key": "v", "n": 3});
        let errors = validate_entity(&with(component(), "/metadata/annotations", bad));
        assert_eq!(
            errors,
            vec![
                FieldError::new("metadata.annotations.foo", "must be string (got boolean)"),
                FieldError::new("metadata.annotations.n", "must be string (got number)"),
                FieldError::new(
                    "metadata.annotations.Bad Key",
                    "\"Bad Key\" is not valid; expected a valid prefix and/or suffix"
                ),
            ]
        );
        assert_eq!(
            fields(&with(component(), "/metadata/annotations", json!([]))),
            ["metadata.annotations"]
        );
    }

    #[test]
    fn tags() {
        assert_eq!(
            fields(&with(
                component(),
                "/metadata/tags",
                json!(["java", "c++", "a:b"])
            )),
            Vec::<String>::new()
        );
        let errors = validate_entity(&with(
            component(),
            "/metadata/tags",
            json!(["ok", "", "Bad", 4, "a_b"]),
        ));
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            [
                "metadata.tags[1]",
                "metadata.tags[3]",
                "metadata.tags[2]",
                "metadata.tags[4]"
            ]
        );
        assert!(errors[2].message.contains("[a-z0-9:+#]"));
    }

    #[test]
    fn links() {
        let good =
            json!([{"url": "https://example.com", "title": "Docs", "icon": "docs", "type": "doc"}]);
        assert_eq!(
            fields(&with(component(), "/metadata/links", good)),
            Vec::<String>::new()
        );
        let bad = json!([{"url": "not a url"}, {"title": "t"}, {"url": "https://x.y", "title": "  "}, "s"]);
        let errors = validate_entity(&with(component(), "/metadata/links", bad));
        assert_eq!(
            errors,
            vec![
                FieldError::new("metadata.links[1].url", "must have required property 'url'"),
                FieldError::new("metadata.links[3]", "must be object (got string)"),
                FieldError::new(
                    "metadata.links[0].url",
                    "\"not a url\" is not valid; expected a string that is a valid url"
                ),
                FieldError::new(
                    "metadata.links[2].title",
                    "\"  \" is not valid; expected a non empty string"
                ),
            ]
        );
    }

    #[test]
    fn placeholders() {
        assert!(is_placeholder(&json!({"$text": "./a.md"})));
        assert!(is_placeholder(&json!({"$json": "./a.json"})));
        assert!(is_placeholder(&json!({"$yaml": "./a.yaml"})));
        assert!(!is_placeholder(&json!({"$text": "./a.md", "other": 1})));
        assert!(!is_placeholder(&json!({"$env": "X"})));
        assert!(!is_placeholder(&json!("$text")));
        let entity = with(
            component(),
            "/metadata/description",
            json!({"$text": "./d.md"}),
        );
        assert_eq!(validate_entity(&entity), vec![]);
    }

    #[test]
    fn metadata_title_and_description_types() {
        assert_eq!(
            fields(&with(component(), "/metadata/title", json!(""))),
            ["metadata.title"]
        );
        assert_eq!(
            fields(&with(component(), "/metadata/description", json!(1))),
            ["metadata.description"]
        );
    }

    #[test]
    fn all_problems_are_reported_together() {
        let entity = json!({
            "apiVersion": "backstage.io/v1alpha1", "kind": "Component", "bogus": 1,
            "metadata": {"name": "Bad Name", "tags": ["Nope"]},
            "spec": {"type": "service"},
        });
        assert_eq!(
            fields(&entity),
            [
                "bogus",
                "metadata.name",
                "metadata.tags[0]",
                "spec.lifecycle",
                "spec.owner"
            ]
        );
    }

    fn spec_errors(kind: &str, api_version: &str, spec: Value) -> Vec<FieldError> {
        validate_entity(
            &json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "x"}, "spec": spec}),
        )
    }

    const V1: &str = "backstage.io/v1alpha1";

    #[test]
    fn component_spec() {
        let errors = spec_errors("Component", V1, json!({}));
        assert_eq!(
            errors,
            vec![
                FieldError::new("spec.type", "must have required property 'type'"),
                FieldError::new("spec.lifecycle", "must have required property 'lifecycle'"),
                FieldError::new("spec.owner", "must have required property 'owner'"),
            ]
        );
        let spec = json!({"type": "", "lifecycle": 1, "owner": "o", "providesApis": "a", "dependsOn": [""], "subcomponentOf": []});
        let errors = spec_errors("Component", "backstage.io/v1beta1", spec);
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            [
                "spec.type",
                "spec.lifecycle",
                "spec.providesApis",
                "spec.dependsOn[0]",
                "spec.subcomponentOf"
            ]
        );
        let missing = validate_entity(&without(component(), "/spec"));
        assert_eq!(
            missing,
            vec![FieldError::new(
                "spec",
                "must have required property 'spec'"
            )]
        );
        let not_object = validate_entity(&with(component(), "/spec", json!("x")));
        assert_eq!(
            not_object,
            vec![FieldError::new("spec", "must be object (got string)")]
        );
    }

    #[test]
    fn api_spec() {
        let good = json!({"type": "openapi", "lifecycle": "production", "owner": "o", "definition": "openapi: 3.0.0"});
        assert_eq!(spec_errors("API", V1, good), vec![]);
        let errors = spec_errors(
            "API",
            V1,
            json!({"type": "grpc", "lifecycle": "p", "owner": "o"}),
        );
        assert_eq!(
            errors,
            vec![FieldError::new(
                "spec.definition",
                "must have required property 'definition'"
            )]
        );
        // Placeholders are resolved by the catalog, so they pass wherever they are.
        let spec =
            json!({"type": "t", "lifecycle": "p", "owner": "o", "definition": {"$text": "x"}});
        assert_eq!(spec_errors("API", V1, spec), vec![]);
        let spec =
            json!({"type": "t", "lifecycle": "p", "owner": "o", "definition": {"$other": "x"}});
        assert_eq!(
            spec_errors("API", V1, spec),
            vec![FieldError::new(
                "spec.definition",
                "must be string (got object)"
            )]
        );
    }

    #[test]
    fn mcp_server_api_needs_a_definition_like_any_api() {
        let spec = json!({"type": "mcp-server", "lifecycle": "p", "owner": "o", "remotes": [{"type": "sse", "url": "https://x"}]});
        assert_eq!(
            spec_errors("API", V1, spec),
            vec![FieldError::new(
                "spec.definition",
                "must have required property 'definition'"
            )]
        );
    }

    #[test]
    fn resource_system_domain_specs() {
        assert_eq!(
            spec_errors(
                "Resource",
                V1,
                json!({"type": "db", "owner": "o", "dependsOn": ["resource:a"]})
            ),
            vec![]
        );
        assert_eq!(
            spec_errors("Resource", V1, json!({"type": "db"})),
            vec![FieldError::new(
                "spec.owner",
                "must have required property 'owner'"
            )]
        );
        assert_eq!(
            spec_errors("System", V1, json!({"owner": "o", "domain": "d"})),
            vec![]
        );
        assert_eq!(
            spec_errors("System", V1, json!({"owner": "o", "domain": ""})),
            vec![FieldError::new(
                "spec.domain",
                "must NOT have fewer than 1 characters"
            )]
        );
        assert_eq!(
            spec_errors("Domain", V1, json!({"owner": "o", "subdomainOf": "top"})),
            vec![]
        );
        assert_eq!(
            spec_errors("Domain", V1, json!({})),
            vec![FieldError::new(
                "spec.owner",
                "must have required property 'owner'"
            )]
        );
    }

    #[test]
    fn group_and_user_specs() {
        assert_eq!(
            spec_errors("Group", V1, json!({"type": "team", "children": []})),
            vec![]
        );
        assert_eq!(
            spec_errors("Group", V1, json!({"type": "team"})),
            vec![FieldError::new(
                "spec.children",
                "must have required property 'children'"
            )]
        );
        assert_eq!(
            spec_errors(
                "Group",
                V1,
                json!({"type": "team", "children": [], "profile": {"email": ""}})
            ),
            vec![FieldError::new(
                "spec.profile.email",
                "must NOT have fewer than 1 characters"
            )]
        );
        assert_eq!(spec_errors("User", V1, json!({"memberOf": []})), vec![]);
        assert_eq!(
            spec_errors("User", V1, json!({})),
            vec![FieldError::new(
                "spec.memberOf",
                "must have required property 'memberOf'"
            )]
        );
    }

    #[test]
    fn location_spec() {
        assert_eq!(
            spec_errors("Location", V1, json!({"target": "./a.yaml"})),
            vec![]
        );
        assert_eq!(
            spec_errors(
                "Location",
                V1,
                json!({"type": "url", "targets": ["./a.yaml"], "presence": "optional"})
            ),
            vec![]
        );
        assert_eq!(
            spec_errors("Location", V1, json!({"type": "url"})),
            vec![FieldError::new(
                "spec",
                "must have property 'target' or 'targets'"
            )]
        );
        let errors = spec_errors("Location", V1, json!({"target": "a", "presence": "maybe"}));
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].field, "spec.presence");
        assert!(errors[0]
            .message
            .starts_with("must be equal to one of the allowed values"));
    }

    #[test]
    fn template_spec() {
        const V1BETA3: &str = "scaffolder.backstage.io/v1beta3";
        let good = json!({
            "type": "service", "owner": "o",
            "parameters": [{"title": "t", "properties": {}}],
            "steps": [{"id": "fetch", "action": "fetch:template", "input": {}, "if": "${{ x }}"}],
            "output": {"links": [{"title": "Repo", "url": "${{ steps.publish.output.remoteUrl }}"}], "extra": "s"},
        });
        assert_eq!(spec_errors("Template", V1BETA3, good.clone()), vec![]);
        let mut object_parameters = good.clone();
        object_parameters["parameters"] = json!({"properties": {}});
        assert_eq!(spec_errors("Template", V1BETA3, object_parameters), vec![]);
        assert_eq!(
            spec_errors("Template", V1BETA3, json!({"type": "service"})),
            vec![FieldError::new(
                "spec.steps",
                "must have required property 'steps'"
            )]
        );
        let bad = json!({
            "type": "service", "steps": [{"id": 1}], "parameters": [{"when": 3}],
            "output": {"links": [{"url": ""}], "other": 5},
        });
        assert_eq!(
            spec_errors("Template", V1BETA3, bad)
                .iter()
                .map(|e| e.field.as_str())
                .collect::<Vec<_>>(),
            [
                "spec.steps[0].action",
                "spec.steps[0].id",
                "spec.parameters[0].when",
                "spec.output.links[0].url",
                "spec.output.other"
            ]
        );
        let errors = spec_errors(
            "Template",
            V1BETA3,
            json!({"type": "s", "steps": [], "parameters": "x"}),
        );
        assert_eq!(
            errors,
            vec![FieldError::new(
                "spec.parameters",
                "must match exactly one schema in oneOf"
            )]
        );
    }

    #[test]
    fn foreign_kinds_and_api_versions_have_no_processor() {
        for (kind, api_version) in [
            ("AiResource", V1),
            ("Template", "backstage.io/v1beta2"),
            ("Template", V1),
            ("Component", "scaffolder.backstage.io/v1beta3"),
            ("component", V1),
        ] {
            let errors = spec_errors(kind, api_version, json!({}));
            assert_eq!(errors.len(), 1, "{kind} {api_version}: {errors:?}");
            assert_eq!(errors[0].field, "kind");
            assert!(
                errors[0]
                    .message
                    .starts_with("No processor recognized the entity"),
                "{}",
                errors[0].message
            );
            assert!(errors[0].message.contains(api_version));
        }
    }
}
