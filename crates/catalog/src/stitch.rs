//! Stitching: the final entity the API serves, from the processed entity, every relation whose
//! source it is, and its processing errors.

use crate::processing::StatusItem;
use portico_model::annotations;
use serde_json::{json, Map, Value};
use sha2::Digest;

/// A relation row as stored: its type and the lower-cased target ref.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RelationEdge {
    pub relation_type: String,
    pub target_ref: String,
}

/// Builds the final entity and returns it with its etag (which it also carries).
pub fn stitch_entity(
    processed: &Value,
    entity_id: &str,
    mut relations: Vec<RelationEdge>,
    errors: &[StatusItem],
    is_orphan: bool,
) -> (Value, String) {
    let mut entity = processed.clone();
    relations.sort();
    relations.dedup();
    if let Some(obj) = entity.as_object_mut() {
        obj.insert(
            "relations".to_string(),
            Value::Array(
                relations
                    .into_iter()
                    .map(|r| json!({"type": r.relation_type, "targetRef": r.target_ref}))
                    .collect(),
            ),
        );
        if errors.is_empty() {
            obj.remove("status");
        } else {
            obj.insert("status".to_string(), json!({ "items": errors }));
        }
        if let Some(metadata) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
            metadata.insert("uid".to_string(), Value::String(entity_id.to_string()));
            metadata.remove("etag");
            if is_orphan {
                let annotations_value = metadata
                    .entry("annotations")
                    .or_insert_with(|| Value::Object(Map::new()));
                if let Some(a) = annotations_value.as_object_mut() {
                    a.insert(
                        annotations::ORPHAN.to_string(),
                        Value::String("true".into()),
                    );
                }
            }
        }
    }
    let etag = content_hash(&entity);
    if let Some(metadata) = entity.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.insert("etag".to_string(), Value::String(etag.clone()));
    }
    (entity, etag)
}

/// A stable hash of a JSON value (its serialization keeps key order).
pub fn content_hash(value: &Value) -> String {
    text_hash(&value.to_string())
}

/// The hash of a JSON value's text, as [`content_hash`] computes it.
pub fn text_hash(text: &str) -> String {
    hex::encode(&sha2::Sha256::digest(text.as_bytes())[..20])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn processed() -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
               "metadata": {"name": "a", "namespace": "default"},
               "spec": {"type": "service", "owner": "team", "lifecycle": "x"}})
    }

    #[test]
    fn final_entity_has_uid_etag_sorted_unique_relations() {
        let rels = vec![
            RelationEdge {
                relation_type: "ownedBy".into(),
                target_ref: "group:default/team".into(),
            },
            RelationEdge {
                relation_type: "dependsOn".into(),
                target_ref: "resource:default/db".into(),
            },
            RelationEdge {
                relation_type: "ownedBy".into(),
                target_ref: "group:default/team".into(),
            },
        ];
        let (e, etag) = stitch_entity(&processed(), "uid-1", rels, &[], false);
        assert_eq!(e["metadata"]["uid"], "uid-1");
        assert_eq!(e["metadata"]["etag"], etag.as_str());
        assert_eq!(e["relations"].as_array().unwrap().len(), 2);
        assert_eq!(e["relations"][0]["type"], "dependsOn");
        assert!(e.get("status").is_none());
    }

    #[test]
    fn etag_changes_only_with_content() {
        let (_, a) = stitch_entity(&processed(), "u", vec![], &[], false);
        let (_, b) = stitch_entity(&processed(), "u", vec![], &[], false);
        assert_eq!(a, b);
        let (o, c) = stitch_entity(&processed(), "u", vec![], &[], true);
        assert_ne!(a, c);
        assert_eq!(o["metadata"]["annotations"]["backstage.io/orphan"], "true");
        let errs = [StatusItem::error("InputError", "bad")];
        let (s, d) = stitch_entity(&processed(), "u", vec![], &errs, false);
        assert_ne!(a, d);
        assert_eq!(s["status"]["items"][0]["error"]["name"], "InputError");
    }
}
