//! `type: legacy` (and `backend.auth.keys`): HS256 tokens with `sub: backstage-server` made
//! with a shared base64 secret, as older Backstage backends sent each other.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LegacyOptions {
    pub secret: SecretString,
    pub subject: String,
}

#[derive(Deserialize)]
struct LegacyClaims {
    sub: String,
    #[serde(default)]
    aud: Option<serde_json::Value>,
    exp: i64,
}

pub struct LegacyTokenVerifier {
    key: DecodingKey,
    subject: String,
    clock: Clock,
}

impl LegacyTokenVerifier {
    pub(crate) fn new(
        secret: &SecretString,
        subject: &str,
        clock: Clock,
        path: &str,
    ) -> AuthResult<Self> {
        let secret = secret.expose_secret();
        if secret.is_empty() || secret.chars().any(char::is_whitespace) {
            return Err(AuthError::Config(format!(
                "{path}: Illegal secret, must be a valid base64 string"
            )));
        }
        let bytes = STANDARD.decode(secret).map_err(|_| {
            AuthError::Config(format!(
                "{path}: Illegal secret, must be a valid base64 string"
            ))
        })?;
        if subject.is_empty() || subject.chars().any(char::is_whitespace) {
            return Err(AuthError::Config(format!(
                "{path}: Illegal subject, must be a set of non-space characters"
            )));
        }
        Ok(Self {
            key: DecodingKey::from_secret(&bytes),
            subject: subject.to_owned(),
            clock,
        })
    }

    pub(crate) fn verify(&self, token: &str) -> Option<String> {
        let header = jsonwebtoken::decode_header(token).ok()?;
        if header.alg != Algorithm::HS256 {
            return None;
        }
        let mut validation = Validation::new(Algorithm::HS256);
        validation.validate_exp = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = jsonwebtoken::decode::<LegacyClaims>(token, &self.key, &validation)
            .ok()?
            .claims;
        let now_s = self.clock.now_millis().div_euclid(1000);
        (claims.sub == "backstage-server" && claims.aud.is_none() && claims.exp >= now_s)
            .then(|| self.subject.clone())
    }
}
