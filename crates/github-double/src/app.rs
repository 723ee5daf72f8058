//! GitHub Apps in the double: app JWTs checked as GitHub checks them (RS256 signature against
//! the app's public key, `iss`, `iat`, `exp`), installations listed, installation tokens
//! minted with an expiry and recognised on the other endpoints.

use crate::model::{AppModel, InstallationModel};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// GitHub refuses app JWTs whose `exp` is more than ten minutes ahead.
const MAX_JWT_LIFETIME_S: u64 = 600;
/// Clock drift GitHub tolerates on `iat` and `exp`.
const DRIFT_S: u64 = 60;

/// Test-only RSA keys (never used for anything real): the app's key pair, and a private key
/// GitHub does not know, for the "wrong key" cases.
pub mod keys {
    pub const APP_PRIVATE_KEY_PEM: &str = include_str!("../keys/app-private.pem");
    pub const APP_PUBLIC_KEY_PEM: &str = include_str!("../keys/app-public.pem");
    pub const WRONG_PRIVATE_KEY_PEM: &str = include_str!("../keys/wrong-private.pem");
}

/// An installation token the double minted.
#[derive(Debug, Clone)]
pub(crate) struct IssuedToken {
    pub account: String,
    /// Unix seconds.
    pub expires_at: u64,
}

/// Apps, their installations and the tokens minted so far.
#[derive(Debug, Default)]
pub(crate) struct Apps {
    pub apps: Vec<AppModel>,
    pub issued: BTreeMap<String, IssuedToken>,
    seq: u64,
}

/// Why a request's credentials were refused: a status and GitHub's message.
pub(crate) struct Refused(pub u16, pub &'static str);

impl Apps {
    /// The app an `Authorization: Bearer <JWT>` header authenticates, or why not.
    pub(crate) fn authenticate_app(
        &self,
        authorization: Option<&str>,
        now: u64,
    ) -> Result<&AppModel, Refused> {
        const UNDECODABLE: &str = "A JSON web token could not be decoded";
        let Some(jwt) = authorization.and_then(|h| {
            h.trim()
                .strip_prefix("Bearer ")
                .or_else(|| h.trim().strip_prefix("bearer "))
        }) else {
            return Err(Refused(
                401,
                "A JSON web token is required to access this endpoint",
            ));
        };
        let jwt = jwt.trim();
        let header = jsonwebtoken::decode_header(jwt).map_err(|_| Refused(401, UNDECODABLE))?;
        if header.alg != jsonwebtoken::Algorithm::RS256 {
            return Err(Refused(401, UNDECODABLE));
        }
        // The issuer picks the key; the signature is checked with it below.
        let claims = unverified_claims(jwt).ok_or(Refused(401, UNDECODABLE))?;
        let iss = match &claims["iss"] {
            Value::Number(n) => n.to_string(),
            Value::String(s) => s.clone(),
            _ => return Err(Refused(401, "'Issuer' claim ('iss') must be an Integer")),
        };
        let app = self
            .apps
            .iter()
            .find(|a| a.id.to_string() == iss)
            .ok_or(Refused(401, "Integration not found"))?;
        let key = jsonwebtoken::DecodingKey::from_rsa_pem(app.public_key_pem.as_bytes())
            .map_err(|_| Refused(500, "The app's public key is unusable"))?;
        let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
        // Expiry is checked below with GitHub's messages.
        validation.validate_exp = false;
        validation.required_spec_claims.clear();
        jsonwebtoken::decode::<Value>(jwt, &key, &validation)
            .map_err(|_| Refused(401, UNDECODABLE))?;
        let (Some(iat), Some(exp)) = (claims["iat"].as_u64(), claims["exp"].as_u64()) else {
            return Err(Refused(
                401,
                "'Issued at' claim ('iat') and 'Expiration time' claim ('exp') must be Integers",
            ));
        };
        if iat > now + DRIFT_S {
            return Err(Refused(
                401,
                "'Issued at' claim ('iat') must be an Integer representing a time in the past",
            ));
        }
        if exp <= now {
            return Err(Refused(
                401,
                "'Expiration time' claim ('exp') must be a numeric value representing the future \
                 time at which the assertion expires",
            ));
        }
        if exp > now + MAX_JWT_LIFETIME_S + DRIFT_S {
            return Err(Refused(
                401,
                "'Expiration time' claim ('exp') is too far in the future",
            ));
        }
        Ok(app)
    }

    /// Mints a token for an installation of `app_id`.
    pub(crate) fn mint(
        &mut self,
        app_id: u64,
        installation_id: u64,
        now: u64,
    ) -> Result<(String, u64), Refused> {
        let app = self
            .apps
            .iter()
            .find(|a| a.id == app_id)
            .ok_or(Refused(404, "Not Found"))?;
        let installation = app
            .installations
            .iter()
            .find(|i| i.id == installation_id)
            .ok_or(Refused(404, "Not Found"))?;
        if installation.suspended {
            return Err(Refused(403, "This installation has been suspended"));
        }
        let expires_at = now + app.token_lifetime.as_secs().max(1);
        let account = installation.account.clone();
        self.seq += 1;
        let token = format!("ghs_double{:010}{installation_id}", self.seq);
        self.issued.insert(
            token.clone(),
            IssuedToken {
                account,
                expires_at,
            },
        );
        Ok((token, expires_at))
    }

    /// The installation token `credential` is, if the double minted it.
    pub(crate) fn issued(&self, credential: &str) -> Option<&IssuedToken> {
        self.issued.get(credential)
    }

    /// Makes every minted token expire now (as if an hour had passed).
    pub(crate) fn expire_all(&mut self) {
        for token in self.issued.values_mut() {
            token.expires_at = 0;
        }
    }
}

/// The JWT's payload as JSON, before any check.
fn unverified_claims(jwt: &str) -> Option<Value> {
    use base64::Engine;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// `GET /app/installations` items.
pub(crate) fn installation_json(
    api: &str,
    web: &str,
    app: &AppModel,
    i: &InstallationModel,
) -> Value {
    let account_id = i.id ^ 0x5a5a;
    let (kind, html_url) = if i.target_type == "Organization" {
        (
            "Organization",
            format!(
                "{web}/organizations/{}/settings/installations/{}",
                i.account, i.id
            ),
        )
    } else {
        ("User", format!("{web}/settings/installations/{}", i.id))
    };
    json!({
        "id": i.id,
        "account": {
            "login": i.account, "id": account_id, "type": kind,
            "url": format!("{api}/users/{}", i.account),
            "html_url": format!("{web}/{}", i.account),
            "site_admin": false
        },
        "repository_selection": "all",
        "access_tokens_url": format!("{api}/app/installations/{}/access_tokens", i.id),
        "repositories_url": format!("{api}/installation/repositories"),
        "html_url": html_url,
        "app_id": app.id,
        "app_slug": app.slug,
        "target_id": account_id,
        "target_type": i.target_type,
        "permissions": { "contents": "read", "metadata": "read", "members": "read" },
        "events": ["push", "repository"],
        "created_at": "2026-01-01T00:00:00Z",
        "updated_at": "2026-01-01T00:00:00Z",
        "single_file_name": null,
        "has_multiple_single_files": false,
        "single_file_paths": [],
        "suspended_by": if i.suspended { json!({"login": "admin"}) } else { Value::Null },
        "suspended_at": if i.suspended { json!("2026-01-01T00:00:00Z") } else { Value::Null }
    })
}

/// The `201` body of `POST /app/installations/{id}/access_tokens`.
pub(crate) fn access_token_json(token: &str, expires_at: u64) -> Value {
    let expires = chrono::DateTime::from_timestamp(expires_at as i64, 0)
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default();
    json!({
        "token": token,
        "expires_at": expires,
        "permissions": { "contents": "read", "metadata": "read", "members": "read" },
        "repository_selection": "all"
    })
}
