//! The permission policy: ordered rules from config matching callers to permissions, with a
//! fallback for permissions no rule covers.
//!
//! Backstage writes policies as TypeScript; Portico reads them from `portico.permission`:
//!
//! ```yaml
//! portico:
//!   permission:
//!     # Rules are tried in order; the first whose callers, permissions and actions all
//!     # match decides.
//!     rules:
//!       - callers: [group:default/admins]        # who (any one entry suffices)
//!         permissions: ['*']                     # which: names, `prefix.*` or `*`
//!         result: allow                          # allow | deny | conditional
//!       - callers: [subject:ci-catalog]          # a static/JWKS external-access subject
//!         permissions: [catalog.location.create, catalog.entity.refresh, catalog.entity.validate]
//!         result: allow
//!       - callers: [authenticated]
//!         permissions: [catalog.entity.delete, catalog.entity.refresh]
//!         result: conditional                    # only on entities the caller owns
//!         conditions: { rule: IS_ENTITY_OWNER }  # no claims: the caller's ownership refs
//!       - callers: [anyone]
//!         permissions: [catalog.entity.read]
//!         result: conditional
//!         conditions:
//!           anyOf:
//!             - rule: IS_ENTITY_KIND
//!               params: { kinds: [api, component, system, domain] }
//!             - rule: HAS_LABEL
//!               params: { label: public, value: 'true' }
//!       - callers: [anyone]
//!         permissions: ['catalog.*']
//!         actions: [delete]                      # optional filter on the action attribute
//!         result: deny
//!     # When no rule matches: `authenticated` (default: users and services allowed,
//!     # anonymous callers denied), `anyone` (default when backend.auth.
//!     # dangerouslyDisableDefaultAuthPolicy is true), or `nobody`.
//!     fallback: authenticated
//!     # Shorthand: anonymous callers may use every permission whose action is `read`
//!     # (checked after the rules, before the fallback).
//!     allowAnonymousRead: false
//! ```
//!
//! Callers: `anyone` (including anonymous), `authenticated`, `users`, `services`,
//! `subject:<subject>` (a service subject; a trailing `*` matches any suffix, e.g.
//! `subject:external:github-actions:*`), or an entity ref (`user:default/jane`,
//! `group:team-a`; namespace defaults to `default`), which matches a user whose ref or
//! ownership refs (`ent`: the user and its groups) include it.
//!
//! Conditions (`result: conditional`) are Backstage's catalog rules: `IS_ENTITY_OWNER`
//! (`claims` optional), `IS_ENTITY_KIND` (`kinds`), `HAS_ANNOTATION` (`annotation`, `value`?),
//! `HAS_LABEL` (`label`, `value`?), `HAS_METADATA` / `HAS_SPEC` (`key`, `value`?), combined
//! with `allOf`, `anyOf`, `not`. They only apply to catalog entity permissions
//! (`catalog.entity.read`, `.delete`, `.refresh`); for any other permission a conditional
//! rule is skipped as if it did not match.
//!
//! External-access `accessRestrictions` are enforced before any rule: a restricted token is
//! denied every permission outside its restrictions.

use serde::Deserialize;
use serde_json::Value;

use super::condition::{Condition, ConditionSpec};
use super::names::{Permission, PermissionAction};
use crate::error::{AuthError, AuthResult};
use crate::identity::{Identity, IdentityKind};

/// The outcome of asking the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Deny,
    /// Allowed on the catalog entities matching the condition only: list endpoints filter
    /// with [`Condition::to_entity_filter`], single-entity operations check
    /// [`Condition::matches_entity`].
    Conditional(Condition),
}

impl Decision {
    /// Backstage's wire form: `{ result: ALLOW | DENY }` or `{ result: CONDITIONAL, pluginId,
    /// resourceType, conditions }`.
    pub fn to_backstage_json(&self) -> Value {
        match self {
            Decision::Allow => serde_json::json!({ "result": "ALLOW" }),
            Decision::Deny => serde_json::json!({ "result": "DENY" }),
            Decision::Conditional(condition) => serde_json::json!({
                "result": "CONDITIONAL",
                "pluginId": "catalog",
                "resourceType": super::RESOURCE_TYPE_CATALOG_ENTITY,
                "conditions": condition.to_backstage_json(),
            }),
        }
    }
}

/// `portico.permission`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionConfig {
    #[serde(default)]
    pub rules: Vec<PermissionRuleConfig>,
    #[serde(default)]
    pub fallback: Option<CallerFallback>,
    #[serde(default)]
    pub allow_anonymous_read: bool,
}

/// One rule of `portico.permission.rules`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PermissionRuleConfig {
    pub callers: Vec<String>,
    pub permissions: Vec<String>,
    #[serde(default)]
    pub actions: Option<Vec<PermissionAction>>,
    pub result: RuleResult,
    /// Required with `result: conditional`; the YAML shape is in the module docs.
    #[serde(default)]
    pub conditions: Option<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RuleResult {
    Allow,
    Deny,
    Conditional,
}

/// Who is allowed when no rule matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerFallback {
    Authenticated,
    Anyone,
    Nobody,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum CallerMatcher {
    Anyone,
    Authenticated,
    Users,
    Services,
    Subject { pattern: String, prefix: bool },
    EntityRef(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PermissionPattern {
    Any,
    Prefix(String),
    Exact(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum RuleOutcome {
    Allow,
    Deny,
    Conditional(ConditionSpec),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    callers: Vec<CallerMatcher>,
    permissions: Vec<PermissionPattern>,
    actions: Option<Vec<PermissionAction>>,
    outcome: RuleOutcome,
}

/// A validated policy. Build once at start-up; evaluation is pure and cheap.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PermissionPolicy {
    rules: Vec<Rule>,
    fallback: CallerFallback,
    allow_anonymous_read: bool,
}

impl Default for PermissionPolicy {
    /// No rules: authenticated callers may do everything, anonymous callers nothing.
    fn default() -> Self {
        Self {
            rules: Vec::new(),
            fallback: CallerFallback::Authenticated,
            allow_anonymous_read: false,
        }
    }
}

impl PermissionPolicy {
    /// Validates `portico.permission`. `disable_default_auth_policy` is
    /// `backend.auth.dangerouslyDisableDefaultAuthPolicy`, which makes the default fallback
    /// `anyone`, as Backstage then serves anonymous callers.
    pub fn from_config(
        config: &PermissionConfig,
        disable_default_auth_policy: bool,
    ) -> AuthResult<Self> {
        let rules = config
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| parse_rule(rule, &format!("portico.permission.rules[{i}]")))
            .collect::<AuthResult<Vec<_>>>()?;
        let fallback = config.fallback.unwrap_or(if disable_default_auth_policy {
            CallerFallback::Anyone
        } else {
            CallerFallback::Authenticated
        });
        Ok(Self {
            rules,
            fallback,
            allow_anonymous_read: config.allow_anonymous_read,
        })
    }

    /// Decides whether `caller` (`None`: anonymous) may use `permission`.
    pub fn evaluate(&self, caller: Option<&Identity>, permission: &Permission) -> Decision {
        if let Some(Identity {
            kind:
                IdentityKind::Service {
                    access_restrictions: Some(restrictions),
                    ..
                },
            ..
        }) = caller
        {
            let within = restrictions
                .for_plugin(permission.plugin_id())
                .is_some_and(|r| r.permits(&permission.name, permission.action));
            if !within {
                return Decision::Deny;
            }
        }
        for rule in &self.rules {
            if !rule.callers.iter().any(|m| caller_matches(m, caller))
                || !rule
                    .permissions
                    .iter()
                    .any(|p| permission_matches(p, &permission.name))
                || !rule
                    .actions
                    .as_ref()
                    .is_none_or(|a| permission.action.is_some_and(|pa| a.contains(&pa)))
            {
                continue;
            }
            match &rule.outcome {
                RuleOutcome::Allow => return Decision::Allow,
                RuleOutcome::Deny => return Decision::Deny,
                RuleOutcome::Conditional(spec) => {
                    if !permission.is_catalog_entity_resource() {
                        continue;
                    }
                    let owned = caller.map_or(&[][..], |c| &c.ownership_entity_refs[..]);
                    return Decision::Conditional(spec.bind(owned));
                }
            }
        }
        if caller.is_none()
            && self.allow_anonymous_read
            && permission.action == Some(PermissionAction::Read)
        {
            return Decision::Allow;
        }
        match (self.fallback, caller) {
            (CallerFallback::Anyone, _) | (CallerFallback::Authenticated, Some(_)) => {
                Decision::Allow
            }
            _ => Decision::Deny,
        }
    }
}

fn parse_rule(rule: &PermissionRuleConfig, path: &str) -> AuthResult<Rule> {
    let bad = |message: String| AuthError::Config(format!("{path}: {message}"));
    if rule.callers.is_empty() {
        return Err(bad("'callers' must not be empty".to_owned()));
    }
    if rule.permissions.is_empty() {
        return Err(bad("'permissions' must not be empty".to_owned()));
    }
    let callers = rule
        .callers
        .iter()
        .map(|c| parse_caller(c).map_err(&bad))
        .collect::<AuthResult<Vec<_>>>()?;
    let permissions = rule
        .permissions
        .iter()
        .map(|p| parse_permission_pattern(p).map_err(&bad))
        .collect::<AuthResult<Vec<_>>>()?;
    let outcome = match (rule.result, &rule.conditions) {
        (RuleResult::Allow, None) => RuleOutcome::Allow,
        (RuleResult::Deny, None) => RuleOutcome::Deny,
        (RuleResult::Conditional, Some(conditions)) => {
            // Naming a permission outright that conditions can never apply to is a mistake,
            // not something to skip quietly.
            for p in &permissions {
                if let PermissionPattern::Exact(name) = p {
                    let resource =
                        Permission::by_name(name).is_some_and(|p| p.is_catalog_entity_resource());
                    if !resource {
                        return Err(bad(format!(
                            "'{name}' is not a catalog entity permission, so it cannot be conditional"
                        )));
                    }
                }
            }
            RuleOutcome::Conditional(ConditionSpec::parse(
                conditions,
                &format!("{path}.conditions"),
            )?)
        }
        (RuleResult::Conditional, None) => {
            return Err(bad("'result: conditional' needs 'conditions'".to_owned()))
        }
        (_, Some(_)) => {
            return Err(bad(
                "'conditions' only go with 'result: conditional'".to_owned()
            ))
        }
    };
    Ok(Rule {
        callers,
        permissions,
        actions: rule.actions.clone(),
        outcome,
    })
}

fn parse_caller(text: &str) -> Result<CallerMatcher, String> {
    let text = text.trim();
    Ok(match text {
        "anyone" => CallerMatcher::Anyone,
        "authenticated" => CallerMatcher::Authenticated,
        "users" => CallerMatcher::Users,
        "services" => CallerMatcher::Services,
        _ => {
            if let Some(subject) = text.strip_prefix("subject:") {
                if subject.is_empty() {
                    return Err("caller 'subject:' needs a subject".to_owned());
                }
                match subject.strip_suffix('*') {
                    Some(prefix) => CallerMatcher::Subject {
                        pattern: prefix.to_owned(),
                        prefix: true,
                    },
                    None => CallerMatcher::Subject {
                        pattern: subject.to_owned(),
                        prefix: false,
                    },
                }
            } else if text.contains(':') {
                let canonical = crate::identity::canonical_ref(text, None)
                    .map_err(|e| format!("caller '{text}': {e}"))?;
                CallerMatcher::EntityRef(canonical)
            } else {
                return Err(format!(
                    "unknown caller '{text}' (expected anyone, authenticated, users, services, subject:<subject> or an entity ref such as group:default/team-a)"
                ));
            }
        }
    })
}

fn parse_permission_pattern(text: &str) -> Result<PermissionPattern, String> {
    let text = text.trim();
    if text == "*" {
        return Ok(PermissionPattern::Any);
    }
    let valid = |s: &str| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    };
    if let Some(prefix) = text.strip_suffix(".*") {
        if valid(prefix) {
            return Ok(PermissionPattern::Prefix(format!("{prefix}.")));
        }
    } else if valid(text) {
        return Ok(PermissionPattern::Exact(text.to_owned()));
    }
    Err(format!(
        "invalid permission '{text}' (expected a name such as catalog.entity.read, a prefix such as catalog.*, or *)"
    ))
}

fn caller_matches(matcher: &CallerMatcher, caller: Option<&Identity>) -> bool {
    match (matcher, caller) {
        (CallerMatcher::Anyone, _) => true,
        (_, None) => false,
        (CallerMatcher::Authenticated, Some(_)) => true,
        (CallerMatcher::Users, Some(c)) => c.user_entity_ref().is_some(),
        (CallerMatcher::Services, Some(c)) => c.service_subject().is_some(),
        (CallerMatcher::Subject { pattern, prefix }, Some(c)) => {
            c.service_subject().is_some_and(|s| {
                if *prefix {
                    s.starts_with(pattern.as_str())
                } else {
                    s == pattern
                }
            })
        }
        (CallerMatcher::EntityRef(r), Some(c)) => {
            c.user_entity_ref()
                .is_some_and(|u| u.eq_ignore_ascii_case(r))
                || c.ownership_entity_refs
                    .iter()
                    .any(|o| o.eq_ignore_ascii_case(r))
        }
    }
}

fn permission_matches(pattern: &PermissionPattern, name: &str) -> bool {
    match pattern {
        PermissionPattern::Any => true,
        PermissionPattern::Prefix(prefix) => name.starts_with(prefix.as_str()),
        PermissionPattern::Exact(exact) => name == exact,
    }
}

#[cfg(test)]
mod tests {
    use super::super::names::*;
    use super::*;
    use crate::identity::Identity;

    fn policy(yaml: &str) -> PermissionPolicy {
        let config: PermissionConfig = serde_yaml::from_str(yaml).unwrap();
        PermissionPolicy::from_config(&config, false).unwrap()
    }

    fn jane() -> Identity {
        Identity::user(
            "user:default/jane",
            vec!["user:default/jane".into(), "group:default/team-a".into()],
        )
    }

    fn joe() -> Identity {
        Identity::user("user:default/joe", vec!["user:default/joe".into()])
    }

    #[test]
    fn the_default_policy_allows_authenticated_callers_only() {
        let p = PermissionPolicy::default();
        for perm in ALL_PERMISSIONS {
            assert_eq!(p.evaluate(Some(&jane()), perm), Decision::Allow);
            assert_eq!(
                p.evaluate(Some(&Identity::service("ci")), perm),
                Decision::Allow
            );
            assert_eq!(p.evaluate(None, perm), Decision::Deny);
        }
    }

    #[test]
    fn anonymous_reads_can_be_opened() {
        let p = policy("allowAnonymousRead: true");
        assert_eq!(p.evaluate(None, &CATALOG_ENTITY_READ), Decision::Allow);
        assert_eq!(p.evaluate(None, &CATALOG_LOCATION_READ), Decision::Allow);
        assert_eq!(p.evaluate(None, &CATALOG_LOCATION_CREATE), Decision::Deny);
        assert_eq!(p.evaluate(None, &CATALOG_ENTITY_VALIDATE), Decision::Deny);
        let same = policy("rules: [ { callers: [anyone], permissions: [catalog.entity.read, catalog.location.read], result: allow } ]");
        assert_eq!(same.evaluate(None, &CATALOG_ENTITY_READ), Decision::Allow);
        assert_eq!(same.evaluate(None, &CATALOG_ENTITY_DELETE), Decision::Deny);
    }

    #[test]
    fn rules_apply_in_order_by_caller_permission_and_action() {
        let p = policy(
            r#"
rules:
  - callers: [group:team-a]
    permissions: ["*"]
    result: allow
  - callers: [subject:ci-catalog]
    permissions: [catalog.location.create, catalog.entity.refresh]
    result: allow
  - callers: ["subject:external:github-actions:*"]
    permissions: [catalog.location.*]
    actions: [create]
    result: allow
  - callers: [services]
    permissions: ["*"]
    result: deny
  - callers: [users]
    permissions: [scaffolder.*]
    result: deny
fallback: authenticated
"#,
        );
        assert_eq!(
            p.evaluate(Some(&jane()), &SCAFFOLDER_TASK_CREATE),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(Some(&joe()), &SCAFFOLDER_TASK_CREATE),
            Decision::Deny
        );
        assert_eq!(
            p.evaluate(Some(&joe()), &CATALOG_ENTITY_DELETE),
            Decision::Allow
        );
        let ci = Identity::service("ci-catalog");
        assert_eq!(
            p.evaluate(Some(&ci), &CATALOG_LOCATION_CREATE),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(Some(&ci), &CATALOG_ENTITY_DELETE),
            Decision::Deny
        );
        let actions =
            Identity::service("external:github-actions:repo:acme/payments:ref:refs/heads/main");
        assert_eq!(
            p.evaluate(Some(&actions), &CATALOG_LOCATION_CREATE),
            Decision::Allow
        );
        assert_eq!(
            p.evaluate(Some(&actions), &CATALOG_LOCATION_DELETE),
            Decision::Deny
        );
        assert_eq!(p.evaluate(None, &CATALOG_ENTITY_READ), Decision::Deny);
    }

    #[test]
    fn conditional_rules_bind_the_callers_ownership() {
        let p = policy(
            r#"
rules:
  - callers: [authenticated]
    permissions: [catalog.entity.*]
    result: conditional
    conditions: { rule: IS_ENTITY_OWNER }
  - callers: [anyone]
    permissions: [catalog.entity.read]
    result: conditional
    conditions: { rule: IS_ENTITY_KIND, params: { kinds: [API] } }
fallback: nobody
"#,
        );
        let Decision::Conditional(condition) = p.evaluate(Some(&jane()), &CATALOG_ENTITY_DELETE)
        else {
            panic!("expected a conditional decision");
        };
        assert_eq!(
            condition.to_entity_filter(),
            portico_query::EntityFilter::Key {
                key: "relations.ownedby".into(),
                values: Some(vec![
                    "user:default/jane".into(),
                    "group:default/team-a".into()
                ]),
            }
        );
        // Not a resource permission: the conditional rule is skipped; the fallback decides.
        assert_eq!(
            p.evaluate(Some(&jane()), &CATALOG_ENTITY_CREATE),
            Decision::Deny
        );
        assert_eq!(
            p.evaluate(None, &CATALOG_ENTITY_READ),
            Decision::Conditional(Condition::Rule(super::super::CatalogRule::IsEntityKind {
                kinds: vec!["API".into()]
            }))
        );
        let json = p
            .evaluate(Some(&jane()), &CATALOG_ENTITY_READ)
            .to_backstage_json();
        assert_eq!(json["result"], "CONDITIONAL");
        assert_eq!(json["conditions"]["rule"], "IS_ENTITY_OWNER");
        assert_eq!(
            json["conditions"]["params"]["claims"][1],
            "group:default/team-a"
        );
    }

    #[test]
    fn invalid_policies_are_refused() {
        for yaml in [
            "rules: [ { callers: [], permissions: ['*'], result: allow } ]",
            "rules: [ { callers: [everyone], permissions: ['*'], result: allow } ]",
            "rules: [ { callers: ['user:'], permissions: ['*'], result: allow } ]",
            "rules: [ { callers: [anyone], permissions: ['catalog entity'], result: allow } ]",
            "rules: [ { callers: [anyone], permissions: [catalog.entity.read], result: conditional } ]",
            "rules: [ { callers: [anyone], permissions: [catalog.entity.read], result: allow, conditions: { rule: IS_ENTITY_OWNER } } ]",
            "rules: [ { callers: [anyone], permissions: [catalog.location.create], result: conditional, conditions: { rule: IS_ENTITY_OWNER } } ]",
        ] {
            let config: PermissionConfig = serde_yaml::from_str(yaml).unwrap();
            assert!(
                matches!(PermissionPolicy::from_config(&config, false), Err(AuthError::Config(_))),
                "{yaml}"
            );
        }
        assert!(serde_yaml::from_str::<PermissionConfig>(
            "rules: [ { callers: [anyone], permissions: ['*'], result: maybe } ]"
        )
        .is_err());
    }
}
