//! `type: static`: a fixed secret token and the subject it stands for.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::{AuthError, AuthResult};

/// Backstage's minimum token length.
pub const MIN_STATIC_TOKEN_LENGTH: usize = 8;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct StaticOptions {
    token: SecretString,
    subject: String,
}

/// A configured static token. Only its SHA-256 is kept.
pub struct StaticToken {
    digest: [u8; 32],
    subject: String,
}

impl StaticToken {
    pub(crate) fn new(options: StaticOptions, path: &str) -> AuthResult<Self> {
        let token = options.token.expose_secret();
        if token.is_empty() || token.chars().any(char::is_whitespace) {
            return Err(AuthError::Config(format!(
                "{path}.options.token: Illegal token, must be a set of non-space characters"
            )));
        }
        if token.chars().count() < MIN_STATIC_TOKEN_LENGTH {
            return Err(AuthError::Config(format!(
                "{path}.options.token: Illegal token, must be at least {MIN_STATIC_TOKEN_LENGTH} characters length"
            )));
        }
        if options.subject.is_empty() || options.subject.chars().any(char::is_whitespace) {
            return Err(AuthError::Config(format!(
                "{path}.options.subject: Illegal subject, must be a set of non-space characters"
            )));
        }
        Ok(Self {
            digest: Sha256::digest(token.as_bytes()).into(),
            subject: options.subject,
        })
    }

    /// The subject when `token` is this one. Comparing fixed-size digests in constant time
    /// reveals neither the token's content nor its length through timing.
    pub(crate) fn verify(&self, token: &str) -> Option<String> {
        let digest: [u8; 32] = Sha256::digest(token.as_bytes()).into();
        bool::from(digest.ct_eq(&self.digest)).then(|| self.subject.clone())
    }
}
