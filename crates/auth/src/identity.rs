//! Who is calling: a signed-in user with the refs they own through, or a service (CI, another
//! system) known by a token subject, possibly restricted to some plugins and permissions.

use std::collections::BTreeMap;

use crate::error::{AuthError, AuthResult};
use crate::permission::PermissionAction;

/// An authenticated caller. Anonymous callers are `None` wherever an `Option<Identity>` is
/// taken.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub kind: IdentityKind,
    /// For users: the user ref and every group it is a member of (`ent` claim), lower-cased.
    /// Empty for services.
    pub ownership_entity_refs: Vec<String>,
    /// When the credential stops being valid (Unix millis), if it expires at all.
    pub expires_at: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdentityKind {
    /// A user signed in through a provider; `user_entity_ref` is `user:<namespace>/<name>`.
    User { user_entity_ref: String },
    /// A service presenting an external-access token. `subject` is the configured subject for
    /// static tokens and `external:[<prefix>:]<sub>` for JWKS-verified ones, as in Backstage.
    Service {
        subject: String,
        /// `None`: unrestricted.
        access_restrictions: Option<AccessRestrictions>,
    },
}

impl Identity {
    pub fn user(user_entity_ref: impl Into<String>, ownership_entity_refs: Vec<String>) -> Self {
        Identity {
            kind: IdentityKind::User {
                user_entity_ref: user_entity_ref.into(),
            },
            ownership_entity_refs,
            expires_at: None,
        }
    }

    pub fn service(subject: impl Into<String>) -> Self {
        Identity {
            kind: IdentityKind::Service {
                subject: subject.into(),
                access_restrictions: None,
            },
            ownership_entity_refs: Vec::new(),
            expires_at: None,
        }
    }

    /// The user ref, for users.
    pub fn user_entity_ref(&self) -> Option<&str> {
        match &self.kind {
            IdentityKind::User { user_entity_ref } => Some(user_entity_ref),
            IdentityKind::Service { .. } => None,
        }
    }

    /// The token subject, for services.
    pub fn service_subject(&self) -> Option<&str> {
        match &self.kind {
            IdentityKind::User { .. } => None,
            IdentityKind::Service { subject, .. } => Some(subject),
        }
    }

    /// A one-string name for logs and the audit log: the user ref, or `service:<subject>`.
    pub fn actor(&self) -> String {
        match &self.kind {
            IdentityKind::User { user_entity_ref } => user_entity_ref.clone(),
            IdentityKind::Service { subject, .. } => format!("service:{subject}"),
        }
    }

    /// Refuses a restricted service token on a plugin its restrictions do not name, the way
    /// Backstage refuses it when the request reaches that plugin. Users pass.
    pub fn check_plugin_access(&self, plugin_id: &str) -> AuthResult<()> {
        match &self.kind {
            IdentityKind::Service {
                access_restrictions: Some(restrictions),
                ..
            } if restrictions.for_plugin(plugin_id).is_none() => {
                let valid = restrictions
                    .plugins()
                    .map(|p| format!("'{p}'"))
                    .collect::<Vec<_>>()
                    .join(", ");
                Err(AuthError::NotAllowed(format!(
                    "This token's access is restricted to plugin(s) {valid}"
                )))
            }
            _ => Ok(()),
        }
    }
}

/// `accessRestrictions` of one external-access entry, by plugin id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRestrictions {
    by_plugin: BTreeMap<String, AccessRestriction>,
}

/// What a restricted token may do within one plugin. `None` fields do not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRestriction {
    pub permission_names: Option<Vec<String>>,
    pub permission_actions: Option<Vec<PermissionAction>>,
}

impl AccessRestrictions {
    pub(crate) fn new(by_plugin: BTreeMap<String, AccessRestriction>) -> Self {
        Self { by_plugin }
    }

    pub fn for_plugin(&self, plugin_id: &str) -> Option<&AccessRestriction> {
        self.by_plugin.get(plugin_id)
    }

    pub fn plugins(&self) -> impl Iterator<Item = &str> {
        self.by_plugin.keys().map(String::as_str)
    }
}

impl AccessRestriction {
    /// Whether a permission with this name and action stays within the restriction.
    pub fn permits(&self, name: &str, action: Option<PermissionAction>) -> bool {
        let name_ok = self
            .permission_names
            .as_ref()
            .is_none_or(|names| names.iter().any(|n| n == name));
        let action_ok = self
            .permission_actions
            .as_ref()
            .is_none_or(|actions| action.is_some_and(|a| actions.contains(&a)));
        name_ok && action_ok
    }
}

/// `kind:namespace/name`, lower-cased, the namespace defaulting to `default` and the kind to
/// `default_kind` (an error when that is `None` and the text names no kind).
pub(crate) fn canonical_ref(text: &str, default_kind: Option<&str>) -> AuthResult<String> {
    let parsed = portico_model::EntityRef::parse(
        text.trim(),
        portico_model::RefDefaults {
            kind: default_kind,
            namespace: Some(portico_model::DEFAULT_NAMESPACE),
        },
    )
    .map_err(|e| AuthError::InvalidInput(format!("invalid entity ref '{text}': {e}")))?;
    Ok(format!(
        "{}:{}/{}",
        parsed.kind.to_lowercase(),
        parsed.namespace.to_lowercase(),
        parsed.name.to_lowercase()
    ))
}
