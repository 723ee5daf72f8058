//! Backstage user tokens: ES256 JWTs with `iss`, `sub`, `ent`, `aud: backstage`, `iat`, `exp`
//! and a `kid` header, issued with this process's key and verified against every replica's.

use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::error::{AuthError, AuthResult};
use crate::identity::{canonical_ref, Identity};
use crate::keys::{millis, SigningKeys};

/// The `aud` of user tokens.
pub const USER_TOKEN_AUDIENCE: &str = "backstage";
/// The `typ` header of user tokens; other Backstage token types are not accepted here.
pub const USER_TOKEN_TYPE: &str = "vnd.backstage.user";
/// Backstage refuses to issue tokens larger than this.
pub const MAX_TOKEN_LENGTH: usize = 32_768;

/// The claims of a user token. Every field is required and strictly typed, so a token with,
/// say, a string `exp` or an array `aud` is refused at parsing rather than half-checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct UserClaims {
    iss: String,
    sub: String,
    ent: Vec<String>,
    aud: String,
    iat: i64,
    exp: i64,
}

/// Issues and verifies user tokens.
pub struct IdentityTokens {
    keys: Arc<SigningKeys>,
    issuer: String,
}

/// A freshly issued token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    pub token: String,
    pub identity: Identity,
    /// Seconds until `exp`.
    pub expires_in_seconds: i64,
}

impl IdentityTokens {
    /// `issuer` is the auth base URL, `<backend.baseUrl>/api/auth`.
    pub fn new(keys: Arc<SigningKeys>, issuer: impl Into<String>) -> Self {
        Self {
            keys,
            issuer: issuer.into().trim_end_matches('/').to_owned(),
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    pub fn keys(&self) -> &Arc<SigningKeys> {
        &self.keys
    }

    /// Signs a token for `sub` (a user entity ref) owning through `ent`. Refs are canonicalised
    /// (lower-cased, `ent` de-duplicated, `sub` added when `ent` is empty). `ttl` is capped at
    /// the key policy's `max_token_ttl`, so no token outlives its key's publication.
    pub async fn issue_user_token(
        &self,
        sub: &str,
        ent: &[String],
        ttl: Duration,
    ) -> AuthResult<IssuedToken> {
        let sub = canonical_ref(sub, Some("user"))?;
        let mut ownership: Vec<String> = Vec::with_capacity(ent.len().max(1));
        for r in ent {
            let r = canonical_ref(r, None)?;
            if !ownership.contains(&r) {
                ownership.push(r);
            }
        }
        if ownership.is_empty() {
            ownership.push(sub.clone());
        }
        let policy = self.keys.policy();
        let ttl_ms = millis(ttl).clamp(1_000, millis(policy.max_token_ttl).max(1_000));
        let key = self.keys.current_key().await?;
        let now = self.keys.clock().now_millis();
        let iat = now.div_euclid(1000);
        let exp = iat + ttl_ms / 1000;
        let claims = UserClaims {
            iss: self.issuer.clone(),
            sub: sub.clone(),
            ent: ownership.clone(),
            aud: USER_TOKEN_AUDIENCE.to_owned(),
            iat,
            exp,
        };
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some(USER_TOKEN_TYPE.to_owned());
        header.kid = Some(key.kid.clone());
        let token = jsonwebtoken::encode(&header, &claims, &key.encoding)
            .map_err(|e| AuthError::Crypto(format!("could not sign a user token: {e}")))?;
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(AuthError::InvalidInput(format!(
                "Failed to issue a new user token for {sub}: it would be {} bytes with {} ownership refs, over the limit of {MAX_TOKEN_LENGTH}",
                token.len(),
                ownership.len()
            )));
        }
        tracing::info!(user.ref = %sub, ent = ?ownership, "issued a user token");
        let mut identity = Identity::user(sub, ownership);
        identity.expires_at = Some(exp.saturating_mul(1000));
        Ok(IssuedToken {
            token,
            identity,
            expires_in_seconds: exp - iat,
        })
    }

    /// Whether `token` claims to be a user token (by its `typ` header), so that a failure to
    /// verify it is final rather than a cue to try external-access handlers.
    pub fn is_user_token(token: &str) -> bool {
        jsonwebtoken::decode_header(token)
            .map(|h| h.typ.as_deref() == Some(USER_TOKEN_TYPE))
            .unwrap_or(false)
    }

    /// Verifies a user token strictly: ES256 only (the algorithm comes from our keys, never
    /// from the token), a known unexpired `kid`, a valid signature, `typ`, `iss` and `aud` as
    /// issued, and `exp`/`iat` within the key policy's leeway.
    pub async fn verify(&self, token: &str) -> AuthResult<Identity> {
        if token.len() > MAX_TOKEN_LENGTH {
            return Err(refused("token is too large"));
        }
        // An `alg` jsonwebtoken does not know, such as `none`, fails here.
        let header = jsonwebtoken::decode_header(token)
            .map_err(|e| refused(&format!("malformed token ({e})")))?;
        if header.alg != Algorithm::ES256 {
            return Err(refused("unexpected signing algorithm"));
        }
        if header.typ.as_deref() != Some(USER_TOKEN_TYPE) {
            return Err(refused("not a user token"));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| refused("token names no signing key"))?;
        let key = self
            .keys
            .decoding_key(kid)
            .await?
            .ok_or_else(|| refused("unknown or expired signing key"))?;

        // jsonwebtoken checks the signature and algorithm only; the claims are checked below
        // against the strictly typed struct and our clock.
        let mut validation = Validation::new(Algorithm::ES256);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let data = jsonwebtoken::decode::<UserClaims>(token, &key, &validation)
            .map_err(|e| refused(&format!("invalid token ({e})")))?;
        let claims = data.claims;

        let now_s = self.keys.clock().now_millis().div_euclid(1000);
        let leeway_s = millis(self.keys.policy().leeway) / 1000;
        if claims.iss != self.issuer {
            return Err(refused("unexpected issuer"));
        }
        if claims.aud != USER_TOKEN_AUDIENCE {
            return Err(refused("unexpected audience"));
        }
        if claims.exp.saturating_add(leeway_s) < now_s {
            return Err(refused("token has expired"));
        }
        if claims.iat.saturating_sub(leeway_s) > now_s || claims.iat > claims.exp {
            return Err(refused("token was issued in the future"));
        }
        let sub =
            canonical_ref(&claims.sub, Some("user")).map_err(|_| refused("invalid subject"))?;
        let mut identity = Identity::user(sub, claims.ent);
        identity.expires_at = Some(claims.exp.saturating_mul(1000));
        Ok(identity)
    }
}

fn refused(reason: &str) -> AuthError {
    tracing::debug!(reason, "refused a user token");
    AuthError::unauthenticated(format!("Failed user token verification: {reason}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;
    use crate::keys::{KeyPolicy, MemoryKeyStore};
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use jsonwebtoken::EncodingKey;
    use serde_json::{json, Value};

    const ISSUER: &str = "http://localhost:7007/api/auth";
    const HOUR: Duration = Duration::from_secs(3600);

    fn setup() -> (IdentityTokens, Clock) {
        let clock = Clock::manual(1_700_000_000_000);
        let keys = SigningKeys::new(
            Arc::new(MemoryKeyStore::default()),
            KeyPolicy {
                rotation: HOUR,
                max_token_ttl: HOUR,
                leeway: Duration::from_secs(30),
            },
            clock.clone(),
        );
        (IdentityTokens::new(Arc::new(keys), ISSUER), clock)
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    fn parts(token: &str) -> (Value, Value, String) {
        let mut it = token.split('.');
        let decode = |s: &str| serde_json::from_slice(&URL_SAFE_NO_PAD.decode(s).unwrap()).unwrap();
        (
            decode(it.next().unwrap()),
            decode(it.next().unwrap()),
            it.next().unwrap().to_owned(),
        )
    }

    async fn jane(tokens: &IdentityTokens) -> IssuedToken {
        tokens
            .issue_user_token(
                "user:default/Jane",
                &["group:default/team-a".into(), "user:default/jane".into()],
                HOUR,
            )
            .await
            .unwrap()
    }

    fn assert_refused(result: AuthResult<Identity>) {
        match result {
            Err(AuthError::Unauthenticated(_)) => {}
            other => panic!("expected a refusal, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn issued_tokens_carry_backstage_claims_and_verify() {
        let (tokens, _) = setup();
        let issued = jane(&tokens).await;
        let (header, claims, _) = parts(&issued.token);
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["typ"], USER_TOKEN_TYPE);
        assert!(header["kid"].is_string());
        assert_eq!(claims["iss"], ISSUER);
        assert_eq!(claims["sub"], "user:default/jane");
        assert_eq!(claims["aud"], "backstage");
        assert_eq!(
            claims["ent"],
            json!(["group:default/team-a", "user:default/jane"])
        );
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            3600
        );
        assert_eq!(issued.expires_in_seconds, 3600);

        let identity = tokens.verify(&issued.token).await.unwrap();
        assert_eq!(identity.user_entity_ref(), Some("user:default/jane"));
        assert_eq!(
            identity.ownership_entity_refs,
            issued.identity.ownership_entity_refs
        );
        assert!(IdentityTokens::is_user_token(&issued.token));
    }

    #[tokio::test]
    async fn ttl_is_capped_and_ent_defaults_to_the_user() {
        let (tokens, _) = setup();
        let issued = tokens
            .issue_user_token("jane", &[], Duration::from_secs(10 * 3600))
            .await
            .unwrap();
        assert_eq!(issued.expires_in_seconds, 3600);
        assert_eq!(
            issued.identity.ownership_entity_refs,
            vec!["user:default/jane".to_owned()]
        );
        assert!(matches!(
            tokens.issue_user_token("", &[], HOUR).await,
            Err(AuthError::InvalidInput(_))
        ));
    }

    #[tokio::test]
    async fn a_tampered_payload_fails_the_signature() {
        let (tokens, _) = setup();
        let issued = jane(&tokens).await;
        let (header, mut claims, sig) = parts(&issued.token);
        claims["sub"] = json!("user:default/admin");
        let forged = format!("{}.{}.{sig}", b64(&header), b64(&claims));
        assert_refused(tokens.verify(&forged).await);
        // A signature made by a different key under the same kid fails too.
        let (other, _) = setup();
        let foreign = jane(&other).await;
        let (_, _, foreign_sig) = parts(&foreign.token);
        let (h, c, _) = parts(&issued.token);
        assert_refused(
            tokens
                .verify(&format!("{}.{}.{foreign_sig}", b64(&h), b64(&c)))
                .await,
        );
    }

    #[tokio::test]
    async fn tokens_from_unknown_keys_are_refused() {
        let (tokens, _) = setup();
        let (other, _) = setup();
        let foreign = jane(&other).await;
        assert_refused(tokens.verify(&foreign.token).await);
        // And a token naming no kid at all.
        let issued = jane(&tokens).await;
        let (mut header, claims, sig) = parts(&issued.token);
        header.as_object_mut().unwrap().remove("kid");
        assert_refused(
            tokens
                .verify(&format!("{}.{}.{sig}", b64(&header), b64(&claims)))
                .await,
        );
    }

    #[tokio::test]
    async fn expired_tokens_are_refused_after_the_leeway() {
        let (tokens, clock) = setup();
        let issued = jane(&tokens).await;
        clock.advance(3_600_000 + 29_000);
        assert!(tokens.verify(&issued.token).await.is_ok());
        clock.advance(2_000);
        assert_refused(tokens.verify(&issued.token).await);
    }

    #[tokio::test]
    async fn tokens_from_the_future_are_refused() {
        let (tokens, clock) = setup();
        clock.advance(120_000);
        let issued = jane(&tokens).await;
        clock.advance(-120_000);
        assert_refused(tokens.verify(&issued.token).await);
    }

    #[tokio::test]
    async fn alg_none_is_refused() {
        let (tokens, _) = setup();
        let issued = jane(&tokens).await;
        let (mut header, claims, _) = parts(&issued.token);
        header["alg"] = json!("none");
        assert_refused(
            tokens
                .verify(&format!("{}.{}.", b64(&header), b64(&claims)))
                .await,
        );
        header["alg"] = json!("NONE");
        assert_refused(
            tokens
                .verify(&format!("{}.{}.", b64(&header), b64(&claims)))
                .await,
        );
    }

    #[tokio::test]
    async fn hs256_signed_with_the_public_key_is_refused() {
        let (tokens, _) = setup();
        let issued = jane(&tokens).await;
        let (header, claims, _) = parts(&issued.token);
        let jwk = tokens.keys().public_keys().await.unwrap().remove(0);
        let x = URL_SAFE_NO_PAD.decode(&jwk.x).unwrap();
        let y = URL_SAFE_NO_PAD.decode(&jwk.y).unwrap();
        let point: Vec<u8> = [&[4u8][..], &x, &y].concat();
        let jwk_json = serde_json::to_vec(&jwk).unwrap();
        for secret in [point, jwk_json] {
            let mut h = jsonwebtoken::Header::new(Algorithm::HS256);
            h.typ = Some(USER_TOKEN_TYPE.to_owned());
            h.kid = header["kid"].as_str().map(str::to_owned);
            let forged =
                jsonwebtoken::encode(&h, &claims, &EncodingKey::from_secret(&secret)).unwrap();
            assert_refused(tokens.verify(&forged).await);
        }
        // Claiming another asymmetric algorithm over our signature fails as well.
        let (_, _, sig) = parts(&issued.token);
        let mut rs = header.clone();
        rs["alg"] = json!("RS256");
        assert_refused(
            tokens
                .verify(&format!("{}.{}.{sig}", b64(&rs), b64(&claims)))
                .await,
        );
    }

    #[tokio::test]
    async fn wrong_issuer_audience_or_type_is_refused() {
        let (tokens, _) = setup();
        let other_issuer =
            IdentityTokens::new(tokens.keys().clone(), "https://evil.example.com/api/auth");
        let issued = jane(&other_issuer).await;
        assert_refused(tokens.verify(&issued.token).await);

        // Re-sign with our own key so only the claim or header differs.
        let key = tokens.keys().current_key().await.unwrap();
        let now = 1_700_000_000;
        let good = json!({ "iss": ISSUER, "sub": "user:default/jane", "ent": ["user:default/jane"], "aud": "backstage", "iat": now, "exp": now + 60 });
        let sign = |claims: &Value, typ: Option<&str>| {
            let mut h = jsonwebtoken::Header::new(Algorithm::ES256);
            h.typ = typ.map(str::to_owned);
            h.kid = Some(key.kid.clone());
            jsonwebtoken::encode(&h, claims, &key.encoding).unwrap()
        };
        assert!(tokens
            .verify(&sign(&good, Some(USER_TOKEN_TYPE)))
            .await
            .is_ok());
        for (field, value) in [
            ("aud", json!("catalog")),
            ("aud", json!(["backstage"])),
            ("exp", json!("9999999999")),
            ("iss", json!(7)),
        ] {
            let mut bad = good.clone();
            bad[field] = value;
            assert_refused(tokens.verify(&sign(&bad, Some(USER_TOKEN_TYPE))).await);
        }
        let mut missing = good.clone();
        missing.as_object_mut().unwrap().remove("exp");
        assert_refused(tokens.verify(&sign(&missing, Some(USER_TOKEN_TYPE))).await);
        assert_refused(
            tokens
                .verify(&sign(&good, Some("vnd.backstage.limited-user")))
                .await,
        );
        assert_refused(tokens.verify(&sign(&good, None)).await);
    }

    #[tokio::test]
    async fn garbage_is_refused() {
        let (tokens, _) = setup();
        for junk in ["", "a.b.c", "not a token", &"x".repeat(40_000)] {
            assert_refused(tokens.verify(junk).await);
        }
    }
}
