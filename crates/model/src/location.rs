//! The spec of a Location entity: where more catalog files are.

use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    Required,
    Optional,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocationSpec {
    /// `spec.type`, if given (else the emitting location's type applies).
    pub location_type: Option<String>,
    /// `spec.target` followed by `spec.targets`, in order.
    pub targets: Vec<String>,
    pub presence: Presence,
}

impl LocationSpec {
    /// Reads the spec of a validated Location entity.
    pub fn of_entity(entity: &Value) -> Self {
        let spec = entity.get("spec");
        let text = |key: &str| spec.and_then(|s| s.get(key)).and_then(Value::as_str);
        // Like Backstage, an empty `target` or `type` counts as absent.
        let location_type = text("type").filter(|t| !t.is_empty()).map(str::to_owned);
        let mut targets: Vec<String> = text("target")
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
            .into_iter()
            .collect();
        if let Some(Value::Array(items)) = spec.and_then(|s| s.get("targets")) {
            targets.extend(items.iter().filter_map(Value::as_str).map(str::to_owned));
        }
        let presence = match text("presence") {
            Some("optional") => Presence::Optional,
            _ => Presence::Required,
        };
        Self {
            location_type,
            targets,
            presence,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn location(spec: Value) -> Value {
        json!({"apiVersion": "backstage.io/v1alpha1", "kind": "Location", "metadata": {"name": "l"}, "spec": spec})
    }

    #[test]
    fn target_then_targets_in_order() {
        let spec = LocationSpec::of_entity(&location(json!({
            "type": "url",
            "target": "https://example.com/a.yaml",
            "targets": ["./b.yaml", "../c.yaml"],
            "presence": "optional",
        })));
        assert_eq!(
            spec,
            LocationSpec {
                location_type: Some("url".to_owned()),
                targets: vec![
                    "https://example.com/a.yaml".to_owned(),
                    "./b.yaml".to_owned(),
                    "../c.yaml".to_owned()
                ],
                presence: Presence::Optional,
            }
        );
    }

    #[test]
    fn defaults() {
        let spec = LocationSpec::of_entity(&location(json!({"targets": ["./x.yaml"]})));
        assert_eq!(spec.location_type, None);
        assert_eq!(spec.targets, vec!["./x.yaml".to_owned()]);
        assert_eq!(spec.presence, Presence::Required);
        let spec = LocationSpec::of_entity(&location(
            json!({"target": "./y.yaml", "presence": "required"}),
        ));
        assert_eq!(spec.targets, vec!["./y.yaml".to_owned()]);
        assert_eq!(spec.presence, Presence::Required);
    }

    #[test]
    fn malformed_specs_do_not_panic() {
        for bad in [
            json!(null),
            json!("x"),
            json!({"target": 3, "targets": "nope", "presence": true}),
        ] {
            let spec = LocationSpec::of_entity(&location(bad));
            assert!(spec.targets.is_empty());
            assert_eq!(spec.presence, Presence::Required);
        }
        assert!(LocationSpec::of_entity(&json!(42)).targets.is_empty());
    }
}
