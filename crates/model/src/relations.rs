//! Which spec field of which kind yields which relation pair (forward on the entity, reverse on
//! the target).

use crate::{EntityRef, FieldError, RefDefaults};
use serde_json::Value;
use std::collections::HashSet;

pub const RELATION_OWNED_BY: &str = "ownedBy";
pub const RELATION_OWNER_OF: &str = "ownerOf";
pub const RELATION_PROVIDES_API: &str = "providesApi";
pub const RELATION_API_PROVIDED_BY: &str = "apiProvidedBy";
pub const RELATION_CONSUMES_API: &str = "consumesApi";
pub const RELATION_API_CONSUMED_BY: &str = "apiConsumedBy";
pub const RELATION_DEPENDS_ON: &str = "dependsOn";
pub const RELATION_DEPENDENCY_OF: &str = "dependencyOf";
pub const RELATION_PARENT_OF: &str = "parentOf";
pub const RELATION_CHILD_OF: &str = "childOf";
pub const RELATION_MEMBER_OF: &str = "memberOf";
pub const RELATION_HAS_MEMBER: &str = "hasMember";
pub const RELATION_PART_OF: &str = "partOf";
pub const RELATION_HAS_PART: &str = "hasPart";

/// Every relation type with its reverse, e.g. `("ownedBy", "ownerOf")`.
pub const RELATION_PAIRS: &[(&str, &str)] = &[
    (RELATION_OWNED_BY, RELATION_OWNER_OF),
    (RELATION_PROVIDES_API, RELATION_API_PROVIDED_BY),
    (RELATION_CONSUMES_API, RELATION_API_CONSUMED_BY),
    (RELATION_DEPENDS_ON, RELATION_DEPENDENCY_OF),
    (RELATION_PARENT_OF, RELATION_CHILD_OF),
    (RELATION_MEMBER_OF, RELATION_HAS_MEMBER),
    (RELATION_PART_OF, RELATION_HAS_PART),
];

/// The reverse of a known relation type, looked up in either direction of [`RELATION_PAIRS`].
pub fn reverse_relation(relation_type: &str) -> Option<&'static str> {
    RELATION_PAIRS.iter().find_map(|(forward, reverse)| {
        if *forward == relation_type {
            Some(*reverse)
        } else if *reverse == relation_type {
            Some(*forward)
        } else {
            None
        }
    })
}

/// One directed relation edge. Relation types keep Backstage's camelCase (`ownedBy`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Relation {
    pub source: EntityRef,
    pub relation_type: String,
    pub target: EntityRef,
}

/// One row of the kinds → relations table: a spec field, the kind its short refs default to
/// (`None`: the ref must name its kind) and the relation it yields on the entity and the target.
struct RelationField {
    field: &'static str,
    default_kind: Option<&'static str>,
    forward: &'static str,
    reverse: &'static str,
}

const fn row(
    field: &'static str,
    default_kind: Option<&'static str>,
    forward: &'static str,
    reverse: &'static str,
) -> RelationField {
    RelationField {
        field,
        default_kind,
        forward,
        reverse,
    }
}

const OWNER: RelationField = row("owner", Some("Group"), RELATION_OWNED_BY, RELATION_OWNER_OF);
const SYSTEM: RelationField = row(
    "system",
    Some("System"),
    RELATION_PART_OF,
    RELATION_HAS_PART,
);
const DEPENDS_ON: RelationField = row(
    "dependsOn",
    None,
    RELATION_DEPENDS_ON,
    RELATION_DEPENDENCY_OF,
);
const DEPENDENCY_OF: RelationField = row(
    "dependencyOf",
    None,
    RELATION_DEPENDENCY_OF,
    RELATION_DEPENDS_ON,
);

const COMPONENT: &[RelationField] = &[
    OWNER,
    row(
        "subcomponentOf",
        Some("Component"),
        RELATION_PART_OF,
        RELATION_HAS_PART,
    ),
    row(
        "providesApis",
        Some("API"),
        RELATION_PROVIDES_API,
        RELATION_API_PROVIDED_BY,
    ),
    row(
        "consumesApis",
        Some("API"),
        RELATION_CONSUMES_API,
        RELATION_API_CONSUMED_BY,
    ),
    DEPENDS_ON,
    DEPENDENCY_OF,
    SYSTEM,
];
const API: &[RelationField] = &[OWNER, SYSTEM];
const RESOURCE: &[RelationField] = &[OWNER, DEPENDS_ON, DEPENDENCY_OF, SYSTEM];
const SYSTEM_KIND: &[RelationField] = &[
    OWNER,
    row(
        "domain",
        Some("Domain"),
        RELATION_PART_OF,
        RELATION_HAS_PART,
    ),
];
const DOMAIN: &[RelationField] = &[
    OWNER,
    row(
        "subdomainOf",
        Some("Domain"),
        RELATION_PART_OF,
        RELATION_HAS_PART,
    ),
];
const USER: &[RelationField] = &[row(
    "memberOf",
    Some("Group"),
    RELATION_MEMBER_OF,
    RELATION_HAS_MEMBER,
)];
const GROUP: &[RelationField] = &[
    row(
        "parent",
        Some("Group"),
        RELATION_CHILD_OF,
        RELATION_PARENT_OF,
    ),
    row(
        "children",
        Some("Group"),
        RELATION_PARENT_OF,
        RELATION_CHILD_OF,
    ),
    row(
        "members",
        Some("User"),
        RELATION_HAS_MEMBER,
        RELATION_MEMBER_OF,
    ),
];
const TEMPLATE: &[RelationField] = &[OWNER];

/// The relation fields of an entity's kind. Kinds match case-sensitively, as Backstage's
/// processors compare `entity.kind === "Component"`; Templates only in their v1beta3 form.
fn relation_fields(entity: &Value) -> &'static [RelationField] {
    let kind = entity
        .get("kind")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let api_version = entity
        .get("apiVersion")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match kind {
        "Component" => COMPONENT,
        "API" => API,
        "Resource" => RESOURCE,
        "System" => SYSTEM_KIND,
        "Domain" => DOMAIN,
        "User" => USER,
        "Group" => GROUP,
        "Template" if api_version == "scaffolder.backstage.io/v1beta3" => TEMPLATE,
        _ => &[],
    }
}

/// Both halves of every relation the entity's spec declares (forward from the entity, reverse
/// from each target), de-duplicated. References that cannot be resolved (e.g. `dependsOn`
/// without a kind) are reported as errors naming the field; the rest still yield relations.
pub fn derive_relations(entity: &Value) -> (Vec<Relation>, Vec<FieldError>) {
    let fields = relation_fields(entity);
    if fields.is_empty() {
        return (Vec::new(), Vec::new());
    }
    let this = match EntityRef::of_entity(entity) {
        Ok(this) => this,
        Err(error) => {
            return (
                Vec::new(),
                vec![FieldError {
                    field: String::new(),
                    message: error.to_string(),
                }],
            )
        }
    };
    let spec = entity.get("spec");
    let mut relations = Vec::new();
    let mut errors = Vec::new();
    // Refs compare case-insensitively, so duplicates are found on the lower-cased form.
    let mut seen = HashSet::new();
    let mut push = |relation: Relation| {
        let key = (
            relation.source.to_string(),
            relation.relation_type.clone(),
            relation.target.to_string(),
        );
        if seen.insert(key) {
            relations.push(relation);
        }
    };
    for field in fields {
        let value = spec.and_then(|spec| spec.get(field.field));
        let defaults = RefDefaults {
            kind: field.default_kind,
            namespace: Some(&this.namespace),
        };
        for (path, item) in ref_items(field.field, value) {
            match EntityRef::from_value(item, defaults) {
                Ok(target) => {
                    push(Relation {
                        source: this.clone(),
                        relation_type: field.forward.to_owned(),
                        target: target.clone(),
                    });
                    push(Relation {
                        source: target,
                        relation_type: field.reverse.to_owned(),
                        target: this.clone(),
                    });
                }
                Err(error) => errors.push(FieldError {
                    field: path,
                    message: error.to_string(),
                }),
            }
        }
    }
    (relations, errors)
}

/// The refs held by one spec field with their paths: a single value or each array item. An
/// absent or falsy single value (`null`, `""`, `false`, `0`) declares nothing, as in Backstage.
fn ref_items<'a>(field: &str, value: Option<&'a Value>) -> Vec<(String, &'a Value)> {
    match value {
        None | Some(Value::Null) | Some(Value::Bool(false)) => Vec::new(),
        Some(Value::String(s)) if s.is_empty() => Vec::new(),
        Some(Value::Number(n)) if n.as_f64() == Some(0.0) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, item)| (format!("spec.{field}[{i}]"), item))
            .collect(),
        Some(single) => vec![(format!("spec.{field}"), single)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(source: &str, relation_type: &str, target: &str) -> (String, String, String) {
        (
            source.to_owned(),
            relation_type.to_owned(),
            target.to_owned(),
        )
    }

    fn derive(entity: Value) -> (Vec<(String, String, String)>, Vec<FieldError>) {
        let (relations, errors) = derive_relations(&entity);
        let flat = relations
            .into_iter()
            .map(|rel| {
                (
                    rel.source.to_string(),
                    rel.relation_type,
                    rel.target.to_string(),
                )
            })
            .collect();
        (flat, errors)
    }

    fn entity(kind: &str, spec: Value) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": kind, "metadata": {"name": "me"}, "spec": spec})
    }

    #[test]
    fn pairs_are_complete_and_reversible() {
        assert_eq!(RELATION_PAIRS.len(), 7);
        for (forward, reverse) in RELATION_PAIRS {
            assert_eq!(reverse_relation(forward), Some(*reverse));
            assert_eq!(reverse_relation(reverse), Some(*forward));
        }
        assert_eq!(reverse_relation("nope"), None);
    }

    #[test]
    fn component_rows() {
        let (rels, errors) = derive(entity(
            "Component",
            json!({
                "owner": "team-a",
                "system": "sys",
                "subcomponentOf": "parent",
                "providesApis": ["api-1"],
                "consumesApis": ["api-2"],
                "dependsOn": ["resource:db"],
                "dependencyOf": ["component:other"],
            }),
        ));
        assert!(errors.is_empty(), "{errors:?}");
        let me = "component:default/me";
        assert_eq!(
            rels,
            vec![
                r(me, "ownedBy", "group:default/team-a"),
                r("group:default/team-a", "ownerOf", me),
                r(me, "partOf", "component:default/parent"),
                r("component:default/parent", "hasPart", me),
                r(me, "providesApi", "api:default/api-1"),
                r("api:default/api-1", "apiProvidedBy", me),
                r(me, "consumesApi", "api:default/api-2"),
                r("api:default/api-2", "apiConsumedBy", me),
                r(me, "dependsOn", "resource:default/db"),
                r("resource:default/db", "dependencyOf", me),
                r(me, "dependencyOf", "component:default/other"),
                r("component:default/other", "dependsOn", me),
                r(me, "partOf", "system:default/sys"),
                r("system:default/sys", "hasPart", me),
            ]
        );
    }

    #[test]
    fn api_rows() {
        let (rels, _) = derive(entity(
            "API",
            json!({"owner": "user:jane", "system": "sys"}),
        ));
        let me = "api:default/me";
        assert_eq!(
            rels,
            vec![
                r(me, "ownedBy", "user:default/jane"),
                r("user:default/jane", "ownerOf", me),
                r(me, "partOf", "system:default/sys"),
                r("system:default/sys", "hasPart", me),
            ]
        );
    }

    #[test]
    fn resource_rows() {
        let (rels, errors) = derive(entity(
            "Resource",
            json!({"owner": "t", "system": "s", "dependsOn": ["resource:a"], "dependencyOf": ["component:b"]}),
        ));
        assert!(errors.is_empty());
        let me = "resource:default/me";
        assert_eq!(
            rels,
            vec![
                r(me, "ownedBy", "group:default/t"),
                r("group:default/t", "ownerOf", me),
                r(me, "dependsOn", "resource:default/a"),
                r("resource:default/a", "dependencyOf", me),
                r(me, "dependencyOf", "component:default/b"),
                r("component:default/b", "dependsOn", me),
                r(me, "partOf", "system:default/s"),
                r("system:default/s", "hasPart", me),
            ]
        );
    }

    #[test]
    fn system_and_domain_rows() {
        let (rels, _) = derive(entity("System", json!({"owner": "t", "domain": "d"})));
        let me = "system:default/me";
        assert_eq!(
            rels,
            vec![
                r(me, "ownedBy", "group:default/t"),
                r("group:default/t", "ownerOf", me),
                r(me, "partOf", "domain:default/d"),
                r("domain:default/d", "hasPart", me),
            ]
        );
        let (rels, _) = derive(entity(
            "Domain",
            json!({"owner": "t", "subdomainOf": "top"}),
        ));
        let me = "domain:default/me";
        assert_eq!(
            rels,
            vec![
                r(me, "ownedBy", "group:default/t"),
                r("group:default/t", "ownerOf", me),
                r(me, "partOf", "domain:default/top"),
                r("domain:default/top", "hasPart", me),
            ]
        );
    }

    #[test]
    fn user_and_group_rows() {
        let (rels, _) = derive(entity("User", json!({"memberOf": ["g1"]})));
        assert_eq!(
            rels,
            vec![
                r("user:default/me", "memberOf", "group:default/g1"),
                r("group:default/g1", "hasMember", "user:default/me")
            ]
        );
        let (rels, _) = derive(entity(
            "Group",
            json!({"type": "team", "parent": "p", "children": ["c"], "members": ["u"]}),
        ));
        let me = "group:default/me";
        assert_eq!(
            rels,
            vec![
                r(me, "childOf", "group:default/p"),
                r("group:default/p", "parentOf", me),
                r(me, "parentOf", "group:default/c"),
                r("group:default/c", "childOf", me),
                r(me, "hasMember", "user:default/u"),
                r("user:default/u", "memberOf", me),
            ]
        );
    }

    #[test]
    fn template_row_only_for_v1beta3() {
        let mut template = entity(
            "Template",
            json!({"owner": "t", "type": "service", "steps": []}),
        );
        assert_eq!(derive(template.clone()).0, vec![]);
        template["apiVersion"] = json!("scaffolder.backstage.io/v1beta3");
        assert_eq!(
            derive(template).0,
            vec![
                r("template:default/me", "ownedBy", "group:default/t"),
                r("group:default/t", "ownerOf", "template:default/me")
            ]
        );
    }

    #[test]
    fn location_and_unknown_kinds_have_none() {
        assert_eq!(
            derive(entity("Location", json!({"target": "./x.yaml"}))),
            (vec![], vec![])
        );
        assert_eq!(
            derive(entity("AiResource", json!({"owner": "t"}))),
            (vec![], vec![])
        );
        assert_eq!(derive(json!("not an entity")), (vec![], vec![]));
    }

    #[test]
    fn default_namespace_is_the_entitys_own() {
        let mut e = entity(
            "Component",
            json!({"owner": "team", "system": "other-ns/sys"}),
        );
        e["metadata"]["namespace"] = json!("prod");
        let (rels, _) = derive(e);
        assert_eq!(
            rels[0],
            r("component:prod/me", "ownedBy", "group:prod/team")
        );
        assert_eq!(
            rels[2],
            r("component:prod/me", "partOf", "system:other-ns/sys")
        );
    }

    #[test]
    fn bad_refs_are_errors_naming_the_field_and_the_rest_still_relate() {
        let (rels, errors) = derive(entity(
            "Component",
            json!({"owner": "t", "dependsOn": ["no-kind", "resource:db", ""], "providesApis": [3]}),
        ));
        assert_eq!(
            errors.iter().map(|e| e.field.as_str()).collect::<Vec<_>>(),
            vec![
                "spec.providesApis[0]",
                "spec.dependsOn[0]",
                "spec.dependsOn[2]"
            ]
        );
        assert!(errors.iter().all(|e| !e.message.is_empty()));
        assert!(errors[1].message.contains("kind"), "{}", errors[1].message);
        assert_eq!(rels.len(), 4);
        assert!(rels.contains(&r(
            "component:default/me",
            "dependsOn",
            "resource:default/db"
        )));
    }

    #[test]
    fn duplicates_collapse_case_insensitively() {
        let (rels, _) = derive(entity(
            "Component",
            json!({"owner": "t", "providesApis": ["a", "A", "api:default/a"]}),
        ));
        assert_eq!(rels.len(), 4);
    }

    #[test]
    fn falsy_single_values_declare_nothing_and_compound_refs_work() {
        let (rels, errors) = derive(entity(
            "Component",
            json!({"owner": "", "system": null, "subcomponentOf": {"kind": "Component", "namespace": "x", "name": "p"}}),
        ));
        assert!(errors.is_empty());
        assert_eq!(
            rels[0],
            r("component:default/me", "partOf", "component:x/p")
        );
        assert_eq!(rels.len(), 2);
    }

    #[test]
    fn entity_without_name_is_an_error() {
        let (rels, errors) =
            derive(json!({"kind": "Component", "metadata": {}, "spec": {"owner": "t"}}));
        assert!(rels.is_empty());
        assert_eq!(errors.len(), 1);
    }
}
