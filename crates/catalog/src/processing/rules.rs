//! `catalog.rules` and per-location `rules`: which kinds a location may emit.

/// One rule: the kinds it allows, optionally only for some locations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct CatalogRule {
    pub allow: Vec<String>,
    #[serde(default)]
    pub locations: Option<Vec<RuleLocation>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
pub struct RuleLocation {
    #[serde(rename = "type")]
    pub location_type: String,
    #[serde(default)]
    pub target: Option<String>,
    #[serde(default)]
    pub pattern: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct RulesEnforcer {
    rules: Vec<CatalogRule>,
}

impl RulesEnforcer {
    /// Backstage's default when `catalog.rules` is absent.
    pub fn default_rules() -> Vec<CatalogRule> {
        vec![CatalogRule {
            allow: vec!["Component".into(), "API".into(), "Location".into()],
            locations: None,
        }]
    }

    pub fn new(rules: Vec<CatalogRule>) -> Self {
        Self { rules }
    }

    /// Whether an entity of `kind`, read from `loc_type:target` under the registered
    /// `origin` (`type:target`), is allowed.
    pub fn is_allowed(&self, kind: &str, loc_type: &str, target: &str, origin: &str) -> bool {
        self.rules.iter().any(|rule| {
            rule.allow.iter().any(|k| k.eq_ignore_ascii_case(kind))
                && match &rule.locations {
                    None => true,
                    Some(locations) => locations.iter().any(|l| {
                        location_matches(l, loc_type, target)
                            || origin
                                .split_once(':')
                                .is_some_and(|(t, o)| location_matches(l, t, o))
                    }),
                }
        })
    }
}

fn location_matches(rule: &RuleLocation, loc_type: &str, target: &str) -> bool {
    if rule.location_type != loc_type {
        return false;
    }
    match (&rule.target, &rule.pattern) {
        (Some(t), _) => t == target,
        (None, Some(p)) => glob::Pattern::new(p).is_ok_and(|g| g.matches(target)),
        (None, None) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_rules_allow_component_api_location_only() {
        let r = RulesEnforcer::new(RulesEnforcer::default_rules());
        assert!(r.is_allowed("component", "url", "https://h/a", "url:https://h/a"));
        assert!(r.is_allowed("API", "url", "https://h/a", "url:https://h/a"));
        assert!(!r.is_allowed("Group", "url", "https://h/a", "url:https://h/a"));
    }

    #[test]
    fn location_scoped_rules() {
        let r = RulesEnforcer::new(vec![CatalogRule {
            allow: vec!["User".into(), "Group".into()],
            locations: Some(vec![RuleLocation {
                location_type: "file".into(),
                target: Some("/org.yaml".into()),
                pattern: None,
            }]),
        }]);
        assert!(r.is_allowed("User", "file", "/org.yaml", "file:/org.yaml"));
        assert!(r.is_allowed("User", "file", "/other.yaml", "file:/org.yaml"));
        assert!(!r.is_allowed("User", "file", "/other.yaml", "file:/other.yaml"));
    }
}
