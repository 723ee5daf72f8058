//! Sign-in resolvers: from a provider's profile to a catalog User and its ownership refs.
//! The catalog lookup itself is behind [`UserResolver`], which the server backs with the
//! catalog.

use portico_query::EntityFilter;
use serde_json::Value;

use crate::config::SignInResolverConfig;
use crate::error::{AuthError, AuthResult};
use crate::identity::canonical_ref;

/// GitHub's user id annotation (the GraphQL node id), as Backstage's GitHub org import sets it.
pub const GITHUB_USER_ID_ANNOTATION: &str = "github.com/user-id";
/// GitHub's login annotation.
pub const GITHUB_USER_LOGIN_ANNOTATION: &str = "github.com/user-login";

const UNRESOLVED: &str = "Failed to sign-in, unable to resolve user identity. Please verify that your catalog contains the expected User entities that would match your configured sign-in resolver.";

/// Looks users up in the catalog.
#[async_trait::async_trait]
pub trait UserResolver: Send + Sync {
    /// The final (stitched) entities matching `filter`, which always includes `kind=user`.
    /// Each entity must carry its `relations` (the `memberOf` ones become ownership refs).
    async fn find_users(&self, filter: &EntityFilter) -> AuthResult<Vec<Value>>;
}

/// What a provider knows about the person signing in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SignInProfile {
    /// The provider's user name (GitHub login).
    pub username: Option<String>,
    /// The provider's stable user id (GitHub node id).
    pub user_id: Option<String>,
    pub email: Option<String>,
}

/// Whether the signed-in user was found in the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolution {
    Catalog,
    /// `dangerouslyAllowSignInWithoutUserInCatalog`, or the guest provider's configured refs.
    Fallback,
}

impl Resolution {
    pub fn as_str(self) -> &'static str {
        match self {
            Resolution::Catalog => "catalog",
            Resolution::Fallback => "fallback",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "catalog" => Some(Resolution::Catalog),
            "fallback" => Some(Resolution::Fallback),
            _ => None,
        }
    }
}

/// Who a sign-in resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedUser {
    pub user_entity_ref: String,
    pub ownership_entity_refs: Vec<String>,
    pub resolution: Resolution,
}

/// A configured sign-in resolver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignInResolver {
    /// The provider user name is the User's `metadata.name`.
    UsernameMatchingUserEntityName { allow_without_catalog: bool },
    /// The provider user id is the User's `github.com/user-id` annotation.
    UserIdMatchingUserEntityAnnotation { allow_without_catalog: bool },
    /// Portico-only: the provider user name is the User's `github.com/user-login` annotation.
    UserLoginMatchingUserEntityAnnotation { allow_without_catalog: bool },
    /// The email is the User's `spec.profile.email` (retried without a `+tag`).
    EmailMatchingUserEntityProfileEmail { allow_without_catalog: bool },
    /// The email's local part is the User's `metadata.name`.
    EmailLocalPartMatchingUserEntityName {
        allowed_domains: Option<Vec<String>>,
        allow_without_catalog: bool,
    },
}

impl SignInResolver {
    pub fn from_config(config: &SignInResolverConfig, path: &str) -> AuthResult<Self> {
        let allow_without_catalog = config.dangerously_allow_sign_in_without_user_in_catalog;
        let no_domains = |r: Self| {
            if config.allowed_domains.is_some() {
                Err(AuthError::Config(format!(
                    "{path}: resolver '{}' takes no allowedDomains",
                    config.resolver
                )))
            } else {
                Ok(r)
            }
        };
        match config.resolver.as_str() {
            "usernameMatchingUserEntityName" => {
                no_domains(Self::UsernameMatchingUserEntityName { allow_without_catalog })
            }
            "userIdMatchingUserEntityAnnotation" => {
                no_domains(Self::UserIdMatchingUserEntityAnnotation { allow_without_catalog })
            }
            "userLoginMatchingUserEntityAnnotation" => {
                no_domains(Self::UserLoginMatchingUserEntityAnnotation { allow_without_catalog })
            }
            "emailMatchingUserEntityProfileEmail" => {
                no_domains(Self::EmailMatchingUserEntityProfileEmail { allow_without_catalog })
            }
            "emailLocalPartMatchingUserEntityName" => Ok(Self::EmailLocalPartMatchingUserEntityName {
                allowed_domains: config.allowed_domains.clone(),
                allow_without_catalog,
            }),
            other => Err(AuthError::Config(format!(
                "{path}: Sign-in resolver '{other}' is not available (expected usernameMatchingUserEntityName, userIdMatchingUserEntityAnnotation, userLoginMatchingUserEntityAnnotation, emailMatchingUserEntityProfileEmail or emailLocalPartMatchingUserEntityName)"
            ))),
        }
    }

    /// One resolver; `NotFound` means "try the next one".
    async fn resolve(
        &self,
        profile: &SignInProfile,
        users: &dyn UserResolver,
    ) -> AuthResult<ResolvedUser> {
        match self {
            Self::UsernameMatchingUserEntityName {
                allow_without_catalog,
            } => {
                let name = required(&profile.username, "user name")?;
                let found = find_one(users, by_name(name)).await;
                fallback_on_not_found(found, *allow_without_catalog, name)
            }
            Self::UserIdMatchingUserEntityAnnotation {
                allow_without_catalog,
            } => {
                let id = required(&profile.user_id, "user ID")?;
                let found = find_annotated(users, GITHUB_USER_ID_ANNOTATION, id).await;
                fallback_on_not_found(found, *allow_without_catalog, id)
            }
            Self::UserLoginMatchingUserEntityAnnotation {
                allow_without_catalog,
            } => {
                let login = required(&profile.username, "user name")?;
                let found = find_annotated(users, GITHUB_USER_LOGIN_ANNOTATION, login).await;
                fallback_on_not_found(found, *allow_without_catalog, login)
            }
            Self::EmailMatchingUserEntityProfileEmail {
                allow_without_catalog,
            } => {
                let email = required(&profile.email, "email")?;
                match find_one(users, by_email(email)).await {
                    Err(AuthError::NotFound(_)) => {
                        // `jane+ci@acme.com` may be filed as `jane@acme.com`.
                        let plain = strip_plus_tag(email);
                        let found = find_one(users, by_email(&plain)).await;
                        fallback_on_not_found(found, *allow_without_catalog, &plain)
                    }
                    other => other,
                }
            }
            Self::EmailLocalPartMatchingUserEntityName {
                allowed_domains,
                allow_without_catalog,
            } => {
                let email = required(&profile.email, "email")?;
                let (local, domain) = email.split_once('@').unwrap_or((email, ""));
                if allowed_domains
                    .as_ref()
                    .is_some_and(|d| !d.iter().any(|d| d == domain))
                {
                    return Err(AuthError::NotAllowed(
                        "Sign-in user email is not from an allowed domain".to_owned(),
                    ));
                }
                let found = find_one(users, by_name(local)).await;
                fallback_on_not_found(found, *allow_without_catalog, local)
            }
        }
    }
}

/// Tries `resolvers` in order, moving on when one finds no user; refuses with Backstage's
/// message when none does.
pub async fn resolve_sign_in(
    resolvers: &[SignInResolver],
    profile: &SignInProfile,
    users: &dyn UserResolver,
) -> AuthResult<ResolvedUser> {
    if resolvers.is_empty() {
        return Err(AuthError::unauthenticated(
            "Sign-in is not configured for this provider: add signIn.resolvers to its config",
        ));
    }
    for resolver in resolvers {
        match resolver.resolve(profile, users).await {
            Err(AuthError::NotFound(_)) => continue,
            other => return other,
        }
    }
    Err(AuthError::unauthenticated(UNRESOLVED))
}

/// A User entity's ownership refs: itself and every group it is a `memberOf`, canonical and
/// de-duplicated, as Backstage's default ownership resolution.
pub fn ownership_entity_refs_of(user: &Value) -> AuthResult<(String, Vec<String>)> {
    let parsed = portico_model::EntityRef::of_entity(user)
        .map_err(|e| AuthError::Corrupt(format!("catalog user entity: {e}")))?;
    let user_ref = format!(
        "{}:{}/{}",
        parsed.kind.to_lowercase(),
        parsed.namespace.to_lowercase(),
        parsed.name.to_lowercase()
    );
    let mut refs = vec![user_ref.clone()];
    let relations = user.get("relations").and_then(Value::as_array);
    for relation in relations.into_iter().flatten() {
        if relation.get("type").and_then(Value::as_str) != Some("memberOf") {
            continue;
        }
        if let Some(target) = relation.get("targetRef").and_then(Value::as_str) {
            let target = canonical_ref(target, None)?;
            if !refs.contains(&target) {
                refs.push(target);
            }
        }
    }
    Ok((user_ref, refs))
}

fn required<'a>(value: &'a Option<String>, what: &str) -> AuthResult<&'a str> {
    value.as_deref().filter(|v| !v.is_empty()).ok_or_else(|| {
        AuthError::unauthenticated(format!("The user profile does not contain a {what}"))
    })
}

fn kind_user() -> EntityFilter {
    EntityFilter::equals("kind", "user")
}

fn by_name(name: &str) -> EntityFilter {
    filter_for_ref(&format!("user:{}/{name}", portico_model::DEFAULT_NAMESPACE))
}

/// The filter finding the entity with this canonical ref (`kind:namespace/name`).
pub(crate) fn filter_for_ref(entity_ref: &str) -> EntityFilter {
    let (kind, rest) = entity_ref.split_once(':').unwrap_or(("user", entity_ref));
    let (namespace, name) = rest
        .split_once('/')
        .unwrap_or((portico_model::DEFAULT_NAMESPACE, rest));
    EntityFilter::All(vec![
        EntityFilter::equals("kind", kind),
        EntityFilter::equals("metadata.namespace", namespace),
        EntityFilter::equals("metadata.name", name),
    ])
}

fn by_email(email: &str) -> EntityFilter {
    EntityFilter::All(vec![
        kind_user(),
        EntityFilter::equals("spec.profile.email", email),
    ])
}

fn strip_plus_tag(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let local = local.split_once('+').map_or(local, |(l, _)| l);
            format!("{local}@{domain}")
        }
        None => email.to_owned(),
    }
}

async fn find_one(users: &dyn UserResolver, filter: EntityFilter) -> AuthResult<ResolvedUser> {
    let found = users.find_users(&filter).await?;
    match found.as_slice() {
        [] => Err(AuthError::NotFound("User not found".to_owned())),
        [user] => from_entity(user),
        _ => Err(AuthError::Conflict(
            "User lookup resulted in multiple matches".to_owned(),
        )),
    }
}

/// Annotation lookups compare case-insensitively in the catalog; the value must also match
/// exactly, since ids are case-sensitive.
async fn find_annotated(
    users: &dyn UserResolver,
    annotation: &str,
    value: &str,
) -> AuthResult<ResolvedUser> {
    let filter = EntityFilter::All(vec![
        kind_user(),
        EntityFilter::equals(&format!("metadata.annotations.{annotation}"), value),
    ]);
    let found = users.find_users(&filter).await?;
    let exact: Vec<&Value> = found
        .iter()
        .filter(|u| {
            u.pointer("/metadata/annotations")
                .and_then(|a| a.get(annotation))
                .and_then(Value::as_str)
                == Some(value)
        })
        .collect();
    match exact.as_slice() {
        [user] => from_entity(user),
        [_, _, ..] => Err(AuthError::Conflict(
            "User lookup resulted in multiple exact matches".to_owned(),
        )),
        [] if found.is_empty() => Err(AuthError::NotFound("User not found".to_owned())),
        [] => Err(AuthError::unauthenticated(format!(
            "The {annotation} annotation of the catalog user does not match"
        ))),
    }
}

fn from_entity(user: &Value) -> AuthResult<ResolvedUser> {
    let (user_entity_ref, ownership_entity_refs) = ownership_entity_refs_of(user)?;
    Ok(ResolvedUser {
        user_entity_ref,
        ownership_entity_refs,
        resolution: Resolution::Catalog,
    })
}

/// With `dangerouslyAllowSignInWithoutUserInCatalog`, a user the catalog does not know
/// signs in as `user:default/<name>` owning only itself.
fn fallback_on_not_found(
    found: AuthResult<ResolvedUser>,
    allow_without_catalog: bool,
    name: &str,
) -> AuthResult<ResolvedUser> {
    match found {
        Err(AuthError::NotFound(_)) if allow_without_catalog => {
            let user_entity_ref = canonical_ref(name, Some("user"))?;
            Ok(ResolvedUser {
                ownership_entity_refs: vec![user_entity_ref.clone()],
                user_entity_ref,
                resolution: Resolution::Fallback,
            })
        }
        other => other,
    }
}
