//! Conditions on catalog entities (Backstage's catalog permission rules), how they are read
//! from config, and how they become an [`EntityFilter`] for queries.

use portico_query::EntityFilter;
use serde_json::{json, Value};

use crate::error::{AuthError, AuthResult};

/// How deep `allOf`/`anyOf`/`not` may nest in config.
const MAX_DEPTH: usize = 16;

/// A condition on a catalog entity, ready to apply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    AllOf(Vec<Condition>),
    AnyOf(Vec<Condition>),
    Not(Box<Condition>),
    Rule(CatalogRule),
}

/// Backstage's catalog permission rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CatalogRule {
    /// `IS_ENTITY_OWNER`: an `ownedBy` relation targets one of `claims`.
    IsEntityOwner { claims: Vec<String> },
    /// `IS_ENTITY_KIND`: the kind is one of `kinds`.
    IsEntityKind { kinds: Vec<String> },
    /// `HAS_ANNOTATION`: the annotation exists (with `value`, if given).
    HasAnnotation {
        annotation: String,
        value: Option<String>,
    },
    /// `HAS_LABEL`: the label exists (with `value`, if given).
    HasLabel {
        label: String,
        value: Option<String>,
    },
    /// `HAS_METADATA`: `metadata.<key>` exists (with `value`, if given).
    HasMetadata { key: String, value: Option<String> },
    /// `HAS_SPEC`: `spec.<key>` exists (with `value`, if given).
    HasSpec { key: String, value: Option<String> },
}

impl Condition {
    /// The catalog filter selecting exactly the entities the condition allows, in the search
    /// row terms of `portico_query` (keys and values lower-cased).
    pub fn to_entity_filter(&self) -> EntityFilter {
        match self {
            Condition::AllOf(items) => {
                EntityFilter::All(items.iter().map(Condition::to_entity_filter).collect())
            }
            Condition::AnyOf(items) => {
                EntityFilter::Any(items.iter().map(Condition::to_entity_filter).collect())
            }
            Condition::Not(inner) => EntityFilter::Not(Box::new(inner.to_entity_filter())),
            Condition::Rule(rule) => rule.to_entity_filter(),
        }
    }

    /// Whether one entity (a final, stitched entity with `relations`) satisfies the
    /// condition, evaluated the same way the filter is; for by-name checks before a mutation.
    pub fn matches_entity(&self, entity: &Value) -> bool {
        match portico_query::build_search_rows(entity) {
            Ok(rows) => portico_query::matches(&self.to_entity_filter(), &rows),
            // An entity that cannot be indexed cannot be shown to match.
            Err(_) => false,
        }
    }

    /// Backstage's wire form of the conditions (`{ rule, resourceType, params }`, `allOf`,
    /// `anyOf`, `not`), for `/api/permission/authorize`-style answers.
    pub fn to_backstage_json(&self) -> Value {
        match self {
            Condition::AllOf(items) => {
                json!({ "allOf": items.iter().map(Condition::to_backstage_json).collect::<Vec<_>>() })
            }
            Condition::AnyOf(items) => {
                json!({ "anyOf": items.iter().map(Condition::to_backstage_json).collect::<Vec<_>>() })
            }
            Condition::Not(inner) => json!({ "not": inner.to_backstage_json() }),
            Condition::Rule(rule) => {
                let (name, params) = rule.backstage_params();
                json!({
                    "rule": name,
                    "resourceType": super::RESOURCE_TYPE_CATALOG_ENTITY,
                    "params": params,
                })
            }
        }
    }
}

impl CatalogRule {
    fn to_entity_filter(&self) -> EntityFilter {
        let exists_or_equals = |key: String, value: &Option<String>| match value {
            Some(v) => EntityFilter::any_of(&key, &[v]),
            None => EntityFilter::exists(&key),
        };
        match self {
            CatalogRule::IsEntityOwner { claims } => {
                EntityFilter::any_of("relations.ownedBy", claims)
            }
            CatalogRule::IsEntityKind { kinds } => EntityFilter::any_of("kind", kinds),
            CatalogRule::HasAnnotation { annotation, value } => {
                exists_or_equals(format!("metadata.annotations.{annotation}"), value)
            }
            CatalogRule::HasLabel { label, value } => {
                exists_or_equals(format!("metadata.labels.{label}"), value)
            }
            CatalogRule::HasMetadata { key, value } => {
                exists_or_equals(format!("metadata.{key}"), value)
            }
            CatalogRule::HasSpec { key, value } => exists_or_equals(format!("spec.{key}"), value),
        }
    }

    fn backstage_params(&self) -> (&'static str, Value) {
        let with_value = |mut params: serde_json::Map<String, Value>, value: &Option<String>| {
            if let Some(v) = value {
                params.insert("value".to_owned(), json!(v));
            }
            Value::Object(params)
        };
        let one = |k: &str, v: &str| {
            let mut m = serde_json::Map::new();
            m.insert(k.to_owned(), json!(v));
            m
        };
        match self {
            CatalogRule::IsEntityOwner { claims } => {
                ("IS_ENTITY_OWNER", json!({ "claims": claims }))
            }
            CatalogRule::IsEntityKind { kinds } => ("IS_ENTITY_KIND", json!({ "kinds": kinds })),
            CatalogRule::HasAnnotation { annotation, value } => (
                "HAS_ANNOTATION",
                with_value(one("annotation", annotation), value),
            ),
            CatalogRule::HasLabel { label, value } => {
                ("HAS_LABEL", with_value(one("label", label), value))
            }
            CatalogRule::HasMetadata { key, value } => {
                ("HAS_METADATA", with_value(one("key", key), value))
            }
            CatalogRule::HasSpec { key, value } => ("HAS_SPEC", with_value(one("key", key), value)),
        }
    }
}

/// A condition as written in config: like [`Condition`], except that `IS_ENTITY_OWNER` may
/// leave out `claims`, meaning "the caller's ownership refs", filled in per decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConditionSpec {
    AllOf(Vec<ConditionSpec>),
    AnyOf(Vec<ConditionSpec>),
    Not(Box<ConditionSpec>),
    CallerOwns,
    Rule(CatalogRule),
}

impl ConditionSpec {
    /// Reads `{ rule, params }`, `{ allOf: [..] }`, `{ anyOf: [..] }` or `{ not: .. }`. Rule
    /// names are Backstage's (`IS_ENTITY_OWNER`) or their camelCase (`isEntityOwner`).
    pub(crate) fn parse(value: &Value, path: &str) -> AuthResult<Self> {
        Self::parse_at(value, path, 0)
    }

    fn parse_at(value: &Value, path: &str, depth: usize) -> AuthResult<Self> {
        let bad = |message: String| AuthError::Config(format!("{path}: {message}"));
        if depth > MAX_DEPTH {
            return Err(bad("conditions are nested too deeply".to_owned()));
        }
        let Value::Object(object) = value else {
            return Err(bad("a condition must be an object".to_owned()));
        };
        for (key, make) in [
            (
                "allOf",
                ConditionSpec::AllOf as fn(Vec<ConditionSpec>) -> ConditionSpec,
            ),
            ("anyOf", ConditionSpec::AnyOf),
        ] {
            if let Some(items) = object.get(key) {
                if object.len() != 1 {
                    return Err(bad(format!("'{key}' must stand alone")));
                }
                let Value::Array(items) = items else {
                    return Err(bad(format!("'{key}' must be a list of conditions")));
                };
                if items.is_empty() {
                    return Err(bad(format!("'{key}' must not be empty")));
                }
                let parsed = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| Self::parse_at(item, &format!("{path}.{key}[{i}]"), depth + 1))
                    .collect::<AuthResult<Vec<_>>>()?;
                return Ok(make(parsed));
            }
        }
        if let Some(inner) = object.get("not") {
            if object.len() != 1 {
                return Err(bad("'not' must stand alone".to_owned()));
            }
            let inner = Self::parse_at(inner, &format!("{path}.not"), depth + 1)?;
            return Ok(ConditionSpec::Not(Box::new(inner)));
        }
        let Some(Value::String(rule)) = object.get("rule") else {
            return Err(bad("expected 'rule', 'allOf', 'anyOf' or 'not'".to_owned()));
        };
        for key in object.keys() {
            if !matches!(key.as_str(), "rule" | "params" | "resourceType") {
                return Err(bad(format!("unknown key '{key}' in a rule condition")));
            }
        }
        if let Some(rt) = object.get("resourceType") {
            if rt.as_str() != Some(super::RESOURCE_TYPE_CATALOG_ENTITY) {
                return Err(bad(format!(
                    "only '{}' conditions are supported",
                    super::RESOURCE_TYPE_CATALOG_ENTITY
                )));
            }
        }
        let empty = serde_json::Map::new();
        let params = match object.get("params") {
            None | Some(Value::Null) => &empty,
            Some(Value::Object(p)) => p,
            Some(_) => return Err(bad("'params' must be an object".to_owned())),
        };
        parse_rule(rule, params).map_err(bad)
    }

    /// Fills in the caller's ownership refs.
    pub(crate) fn bind(&self, ownership_entity_refs: &[String]) -> Condition {
        match self {
            ConditionSpec::AllOf(items) => Condition::AllOf(
                items
                    .iter()
                    .map(|c| c.bind(ownership_entity_refs))
                    .collect(),
            ),
            ConditionSpec::AnyOf(items) => Condition::AnyOf(
                items
                    .iter()
                    .map(|c| c.bind(ownership_entity_refs))
                    .collect(),
            ),
            ConditionSpec::Not(inner) => {
                Condition::Not(Box::new(inner.bind(ownership_entity_refs)))
            }
            ConditionSpec::CallerOwns => Condition::Rule(CatalogRule::IsEntityOwner {
                claims: ownership_entity_refs.to_vec(),
            }),
            ConditionSpec::Rule(rule) => Condition::Rule(rule.clone()),
        }
    }
}

fn parse_rule(
    rule: &str,
    params: &serde_json::Map<String, Value>,
) -> Result<ConditionSpec, String> {
    let normalized: String = rule
        .chars()
        .filter(|c| *c != '_')
        .collect::<String>()
        .to_lowercase();
    let string = |key: &str| -> Result<String, String> {
        match params.get(key) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(format!(
                "rule {rule} needs a non-empty string param '{key}'"
            )),
        }
    };
    let optional = |key: &str| -> Result<Option<String>, String> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(format!("rule {rule}: param '{key}' must be a string")),
        }
    };
    let strings = |key: &str| -> Result<Option<Vec<String>>, String> {
        match params.get(key) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| {
                    v.as_str().map(str::to_owned).ok_or_else(|| {
                        format!("rule {rule}: param '{key}' must be a list of strings")
                    })
                })
                .collect::<Result<Vec<_>, _>>()
                .map(Some),
            Some(_) => Err(format!(
                "rule {rule}: param '{key}' must be a list of strings"
            )),
        }
    };
    let allowed = |keys: &[&str]| -> Result<(), String> {
        match params.keys().find(|k| !keys.contains(&k.as_str())) {
            Some(k) => Err(format!("rule {rule} has no param '{k}'")),
            None => Ok(()),
        }
    };
    let rule = match normalized.as_str() {
        "isentityowner" => {
            allowed(&["claims"])?;
            match strings("claims")? {
                None => return Ok(ConditionSpec::CallerOwns),
                Some(claims) => CatalogRule::IsEntityOwner { claims },
            }
        }
        "isentitykind" => {
            allowed(&["kinds"])?;
            let kinds = strings("kinds")?
                .filter(|k| !k.is_empty())
                .ok_or_else(|| format!("rule {rule} needs a non-empty list param 'kinds'"))?;
            CatalogRule::IsEntityKind { kinds }
        }
        "hasannotation" => {
            allowed(&["annotation", "value"])?;
            CatalogRule::HasAnnotation {
                annotation: string("annotation")?,
                value: optional("value")?,
            }
        }
        "haslabel" => {
            allowed(&["label", "value"])?;
            CatalogRule::HasLabel {
                label: string("label")?,
                value: optional("value")?,
            }
        }
        "hasmetadata" => {
            allowed(&["key", "value"])?;
            CatalogRule::HasMetadata {
                key: string("key")?,
                value: optional("value")?,
            }
        }
        "hasspec" => {
            allowed(&["key", "value"])?;
            CatalogRule::HasSpec {
                key: string("key")?,
                value: optional("value")?,
            }
        }
        _ => {
            return Err(format!(
                "unknown rule '{rule}' (expected IS_ENTITY_OWNER, IS_ENTITY_KIND, HAS_ANNOTATION, HAS_LABEL, HAS_METADATA or HAS_SPEC)"
            ))
        }
    };
    Ok(ConditionSpec::Rule(rule))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(yaml: &str) -> AuthResult<ConditionSpec> {
        let value: Value = serde_yaml::from_str(yaml).unwrap();
        ConditionSpec::parse(&value, "test")
    }

    #[test]
    fn owner_without_claims_binds_the_callers_refs() {
        let c = spec("rule: IS_ENTITY_OWNER").unwrap();
        let bound = c.bind(&["user:default/jane".into(), "group:default/Team-A".into()]);
        assert_eq!(
            bound.to_entity_filter(),
            EntityFilter::Key {
                key: "relations.ownedby".into(),
                values: Some(vec![
                    "user:default/jane".into(),
                    "group:default/team-a".into()
                ]),
            }
        );
    }

    #[test]
    fn nested_conditions_become_nested_filters() {
        let c = spec(
            "anyOf:\n  - rule: isEntityKind\n    params: { kinds: [API, component] }\n  - not: { rule: HAS_ANNOTATION, params: { annotation: backstage.io/orphan, value: 'true' } }\n  - rule: HAS_SPEC\n    params: { key: lifecycle }",
        )
        .unwrap()
        .bind(&[]);
        assert_eq!(
            c.to_entity_filter(),
            EntityFilter::Any(vec![
                EntityFilter::any_of("kind", &["api", "component"]),
                EntityFilter::Not(Box::new(EntityFilter::any_of(
                    "metadata.annotations.backstage.io/orphan",
                    &["true"]
                ))),
                EntityFilter::exists("spec.lifecycle"),
            ])
        );
        assert_eq!(c.to_backstage_json()["anyOf"][0]["rule"], "IS_ENTITY_KIND");
    }

    #[test]
    fn bad_conditions_are_config_errors() {
        for bad in [
            "rule: IS_WHATEVER",
            "rule: IS_ENTITY_KIND",
            "rule: HAS_LABEL\nparams: { lable: x }",
            "allOf: []",
            "anyOf: [ { rule: IS_ENTITY_OWNER } ]\nnot: { rule: IS_ENTITY_OWNER }",
            "rule: IS_ENTITY_OWNER\nresourceType: scaffolder-template",
            "[]",
        ] {
            assert!(matches!(spec(bad), Err(AuthError::Config(_))), "{bad}");
        }
    }

    #[test]
    fn matches_an_entity_like_the_filter_does() {
        let entity = serde_json::json!({
            "apiVersion": "backstage.io/v1alpha1",
            "kind": "Component",
            "metadata": { "name": "payments", "labels": { "tier": "Gold" } },
            "spec": { "type": "service", "owner": "team-a" },
            "relations": [ { "type": "ownedBy", "targetRef": "group:default/team-a" } ]
        });
        let owner = Condition::Rule(CatalogRule::IsEntityOwner {
            claims: vec!["group:default/team-a".into()],
        });
        assert!(owner.matches_entity(&entity));
        let not_owner = Condition::Rule(CatalogRule::IsEntityOwner {
            claims: vec!["group:default/team-b".into()],
        });
        assert!(!not_owner.matches_entity(&entity));
        let gold = Condition::Rule(CatalogRule::HasLabel {
            label: "tier".into(),
            value: Some("gold".into()),
        });
        assert!(gold.matches_entity(&entity));
    }
}
