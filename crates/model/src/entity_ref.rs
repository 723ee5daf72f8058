//! Entity references: `[kind:][namespace/]name`, their defaults and the lower-cased string form.

use serde_json::Value;

/// The namespace of entities and references that do not name one.
pub const DEFAULT_NAMESPACE: &str = "default";

/// A fully resolved reference to an entity. Parts keep their original case; `Display` gives the
/// canonical lower-cased `kind:namespace/name` used in relations, filters and refs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EntityRef {
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// Defaults applied when a textual reference leaves out its kind or namespace.
#[derive(Debug, Clone, Copy, Default)]
pub struct RefDefaults<'a> {
    pub kind: Option<&'a str>,
    pub namespace: Option<&'a str>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RefError {
    #[error("{0}")]
    Invalid(String),
}

impl EntityRef {
    pub fn new(
        kind: impl Into<String>,
        namespace: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        Self {
            kind: kind.into(),
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// Parses `[kind:][namespace/]name`, filling missing parts from `defaults`; a part that is
    /// missing with no default, or empty, is an error.
    pub fn parse(text: &str, defaults: RefDefaults<'_>) -> Result<Self, RefError> {
        if text.is_empty() {
            return Err(RefError::Invalid(
                "Entity reference must not be empty".to_owned(),
            ));
        }
        let slash = text.find('/');
        // A `:` after the first `/` belongs to the name (`default/a:b`), not to a kind.
        let colon = text.find(':').filter(|c| slash.is_none_or(|s| *c < s));
        let kind = colon.map(|c| &text[..c]);
        let namespace = slash.map(|s| &text[colon.map_or(0, |c| c + 1)..s]);
        let name = &text[slash.or(colon).map_or(0, |i| i + 1)..];
        if kind == Some("") || namespace == Some("") || name.is_empty() {
            return Err(RefError::Invalid(format!(
                "Entity reference \"{text}\" was not on the form [<kind>:][<namespace>/]<name>"
            )));
        }
        Self::resolve(
            &Value::String(text.to_owned()),
            kind,
            namespace,
            Some(name),
            defaults,
        )
    }

    /// Parses a compound ref (`{kind, namespace, name}`) or a string ref from a spec value.
    pub fn from_value(value: &Value, defaults: RefDefaults<'_>) -> Result<Self, RefError> {
        match value {
            Value::String(text) => Self::parse(text, defaults),
            Value::Object(object) => {
                let part = |key: &str| -> Result<Option<&str>, RefError> {
                    match object.get(key) {
                        None | Some(Value::Null) => Ok(None),
                        Some(Value::String(s)) => Ok(Some(s.as_str())),
                        Some(_) => Err(RefError::Invalid(format!(
                            "Entity reference {value} has a {key} that is not a string"
                        ))),
                    }
                };
                Self::resolve(value, part("kind")?, part("namespace")?, part("name")?, defaults)
            }
            Value::Null => Err(RefError::Invalid("Entity reference must not be empty".to_owned())),
            other => Err(RefError::Invalid(format!(
                "Entity reference {other} must be a string or an object with kind, namespace and name"
            ))),
        }
    }

    /// The ref of an entity: its kind, `metadata.namespace` (default `default`) and `metadata.name`.
    pub fn of_entity(entity: &Value) -> Result<Self, RefError> {
        let kind = match entity.get("kind") {
            Some(Value::String(kind)) if !kind.is_empty() => kind,
            _ => return Err(RefError::Invalid("entity has no kind string".to_owned())),
        };
        let metadata = entity.get("metadata");
        let namespace = match metadata.and_then(|m| m.get("namespace")) {
            None | Some(Value::Null) => DEFAULT_NAMESPACE,
            Some(Value::String(ns)) if ns.is_empty() => DEFAULT_NAMESPACE,
            Some(Value::String(ns)) => ns,
            Some(_) => {
                return Err(RefError::Invalid(
                    "entity metadata.namespace is not a string".to_owned(),
                ))
            }
        };
        let name = match metadata.and_then(|m| m.get("name")) {
            Some(Value::String(name)) if !name.is_empty() => name,
            _ => {
                return Err(RefError::Invalid(
                    "entity has no metadata.name string".to_owned(),
                ))
            }
        };
        Ok(Self::new(kind, namespace, name))
    }

    /// Fills missing parts from `defaults` and rejects parts that are still missing or empty.
    fn resolve(
        original: &Value,
        kind: Option<&str>,
        namespace: Option<&str>,
        name: Option<&str>,
        defaults: RefDefaults<'_>,
    ) -> Result<Self, RefError> {
        let kind = kind.or(defaults.kind).unwrap_or_default();
        let namespace = namespace.or(defaults.namespace).unwrap_or_default();
        let name = name.unwrap_or_default();
        if kind.is_empty() {
            return Err(RefError::Invalid(format!(
                "Entity reference {original} had missing or empty kind (e.g. did not start with \"component:\" or similar)"
            )));
        }
        if namespace.is_empty() {
            return Err(RefError::Invalid(format!(
                "Entity reference {original} had missing or empty namespace"
            )));
        }
        if name.is_empty() {
            return Err(RefError::Invalid(format!(
                "Entity reference {original} had missing or empty name"
            )));
        }
        Ok(Self::new(kind, namespace, name))
    }
}

impl std::fmt::Display for EntityRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}:{}/{}",
            self.kind.to_lowercase(),
            self.namespace.to_lowercase(),
            self.name.to_lowercase()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NO_DEFAULTS: RefDefaults<'static> = RefDefaults {
        kind: None,
        namespace: None,
    };
    const DEFAULTS: RefDefaults<'static> = RefDefaults {
        kind: Some("Group"),
        namespace: Some("ops"),
    };

    fn parts(text: &str, defaults: RefDefaults<'_>) -> (String, String, String) {
        let r = EntityRef::parse(text, defaults).unwrap();
        (r.kind, r.namespace, r.name)
    }

    fn t(kind: &str, namespace: &str, name: &str) -> (String, String, String) {
        (kind.to_owned(), namespace.to_owned(), name.to_owned())
    }

    #[test]
    fn full_refs() {
        assert_eq!(
            parts("component:default/petstore", NO_DEFAULTS),
            t("component", "default", "petstore")
        );
        assert_eq!(
            parts("Component:Ns/PetStore", NO_DEFAULTS),
            t("Component", "Ns", "PetStore")
        );
    }

    #[test]
    fn defaults_fill_missing_parts() {
        assert_eq!(parts("petstore", DEFAULTS), t("Group", "ops", "petstore"));
        assert_eq!(
            parts("user:jane.doe", DEFAULTS),
            t("user", "ops", "jane.doe")
        );
        assert_eq!(parts("other/team", DEFAULTS), t("Group", "other", "team"));
    }

    #[test]
    fn colon_after_slash_belongs_to_the_name() {
        assert_eq!(parts("default/a:b", DEFAULTS), t("Group", "default", "a:b"));
        assert_eq!(parts("k:ns/a:b", NO_DEFAULTS), t("k", "ns", "a:b"));
        assert_eq!(parts("k:a:b", DEFAULTS), t("k", "ops", "a:b"));
        assert_eq!(parts("k:ns/a/b", NO_DEFAULTS), t("k", "ns", "a/b"));
    }

    #[test]
    fn empty_parts_are_errors() {
        for bad in [
            "",
            "component:",
            ":name",
            "default/",
            "/name",
            "k:/n",
            "k:ns/",
        ] {
            let err = EntityRef::parse(bad, DEFAULTS).unwrap_err();
            assert!(!err.to_string().is_empty(), "{bad}");
        }
        let err = EntityRef::parse("component:", DEFAULTS)
            .unwrap_err()
            .to_string();
        assert!(err.contains("[<kind>:][<namespace>/]<name>"), "{err}");
    }

    #[test]
    fn missing_parts_without_defaults_name_what_is_missing() {
        let err = EntityRef::parse(
            "petstore",
            RefDefaults {
                kind: None,
                namespace: Some("default"),
            },
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("missing or empty kind"), "{err}");
        let err = EntityRef::parse("component:petstore", NO_DEFAULTS)
            .unwrap_err()
            .to_string();
        assert!(err.contains("missing or empty namespace"), "{err}");
    }

    #[test]
    fn display_is_lower_cased() {
        let r = EntityRef::parse("Component:Default/PetStore", NO_DEFAULTS).unwrap();
        assert_eq!(r.to_string(), "component:default/petstore");
    }

    #[test]
    fn from_value_accepts_strings_and_compound_refs() {
        let r = EntityRef::from_value(&json!("api:x"), DEFAULTS).unwrap();
        assert_eq!(r, EntityRef::new("api", "ops", "x"));
        let r = EntityRef::from_value(
            &json!({"kind": "User", "namespace": "n", "name": "u"}),
            NO_DEFAULTS,
        )
        .unwrap();
        assert_eq!(r, EntityRef::new("User", "n", "u"));
        let r = EntityRef::from_value(&json!({"name": "u"}), DEFAULTS).unwrap();
        assert_eq!(r, EntityRef::new("Group", "ops", "u"));
        for bad in [
            json!({"kind": "User", "namespace": "n"}),
            json!({"kind": "", "namespace": "n", "name": "u"}),
            json!({"kind": 1, "name": "u"}),
            json!(null),
            json!(3),
            json!(["a"]),
            json!(""),
        ] {
            assert!(EntityRef::from_value(&bad, DEFAULTS).is_err(), "{bad}");
        }
    }

    #[test]
    fn of_entity() {
        let e = json!({"kind": "Component", "metadata": {"name": "a"}});
        assert_eq!(
            EntityRef::of_entity(&e).unwrap(),
            EntityRef::new("Component", "default", "a")
        );
        let e = json!({"kind": "Component", "metadata": {"name": "a", "namespace": "ns"}});
        assert_eq!(
            EntityRef::of_entity(&e).unwrap(),
            EntityRef::new("Component", "ns", "a")
        );
        for bad in [
            json!({"metadata": {"name": "a"}}),
            json!({"kind": "C"}),
            json!({"kind": "C", "metadata": {"name": 1}}),
            json!({"kind": "C", "metadata": {"name": "a", "namespace": 2}}),
            json!({"kind": 1, "metadata": {"name": "a"}}),
            json!("x"),
        ] {
            assert!(EntityRef::of_entity(&bad).is_err(), "{bad}");
        }
    }
}
