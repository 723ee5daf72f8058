//! `type: jwks`: third-party JWTs (e.g. GitHub Actions OIDC) verified against that party's
//! published JWKS, fetched over HTTP and cached.

use std::str::FromStr;
use std::time::Duration;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;
use serde_json::Value;

use crate::clock::Clock;
use crate::config::StringList;
use crate::error::{AuthError, AuthResult};

/// A fetched JWKS is used this long before it is fetched again.
const CACHE_MAX_AGE_MS: i64 = 10 * 60 * 1000;
/// An unknown `kid` triggers a refetch at most this often, so forged tokens cannot make us
/// hammer the JWKS endpoint.
const REFETCH_COOLDOWN_MS: i64 = 30 * 1000;
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Tolerated clock skew for `exp`/`nbf`/`iat`.
const LEEWAY_S: i64 = 30;
const MAX_TOKEN_LENGTH: usize = 32_768;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct JwksOptions {
    url: String,
    #[serde(default)]
    issuer: Option<StringList>,
    #[serde(default)]
    algorithm: Option<StringList>,
    #[serde(default)]
    audience: Option<StringList>,
    #[serde(default)]
    subject_prefix: Option<String>,
}

struct CachedKey {
    kid: Option<String>,
    /// The JWK's own `alg`, which then is the only algorithm it verifies.
    alg: Option<Algorithm>,
    /// What the key type allows when the JWK names no `alg`.
    allowed: Vec<Algorithm>,
    key: DecodingKey,
}

#[derive(Default)]
struct Cache {
    keys: Vec<CachedKey>,
    fetched_at: Option<i64>,
}

/// Verifies tokens against one JWKS URL.
pub struct JwksVerifier {
    url: url::Url,
    issuers: Option<Vec<String>>,
    algorithms: Option<Vec<Algorithm>>,
    audiences: Option<Vec<String>>,
    subject_prefix: Option<String>,
    http: reqwest::Client,
    clock: Clock,
    /// An async lock, so one fetch serves every request waiting on it.
    cache: tokio::sync::Mutex<Cache>,
}

impl JwksVerifier {
    pub(crate) fn new(
        options: JwksOptions,
        http: reqwest::Client,
        clock: Clock,
        path: &str,
    ) -> AuthResult<Self> {
        if options.url.is_empty() || options.url.chars().any(char::is_whitespace) {
            return Err(AuthError::Config(format!(
                "{path}.options.url: Illegal JWKS URL, must be a set of non-space characters"
            )));
        }
        let url = url::Url::parse(&options.url)
            .map_err(|e| AuthError::Config(format!("{path}.options.url: {e}")))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(AuthError::Config(format!(
                "{path}.options.url: must be an http(s) URL"
            )));
        }
        let algorithms = match options.algorithm.as_ref().and_then(StringList::non_empty) {
            None => None,
            Some(names) => Some(
                names
                    .iter()
                    .map(|name| {
                        let alg = Algorithm::from_str(name).ok().filter(is_asymmetric);
                        alg.ok_or_else(|| {
                            AuthError::Config(format!(
                                "{path}.options.algorithm: '{name}' is not a supported asymmetric JWS algorithm"
                            ))
                        })
                    })
                    .collect::<AuthResult<Vec<_>>>()?,
            ),
        };
        let list = |l: &Option<StringList>| {
            l.as_ref()
                .and_then(StringList::non_empty)
                .map(<[String]>::to_vec)
        };
        Ok(Self {
            url,
            issuers: list(&options.issuer),
            algorithms,
            audiences: list(&options.audience),
            subject_prefix: options.subject_prefix.filter(|p| !p.is_empty()),
            http,
            clock,
            cache: tokio::sync::Mutex::new(Cache::default()),
        })
    }

    /// `external:[<subjectPrefix>:]<sub>` when `token` verifies, else `None`.
    pub(crate) async fn verify(&self, token: &str) -> Option<String> {
        if token.len() > MAX_TOKEN_LENGTH {
            return None;
        }
        let header = jsonwebtoken::decode_header(token).ok()?;
        if !is_asymmetric(&header.alg) {
            return None;
        }
        if self
            .algorithms
            .as_ref()
            .is_some_and(|algs| !algs.contains(&header.alg))
        {
            return None;
        }
        let keys = self.candidate_keys(header.kid.as_deref(), header.alg).await;
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        let claims = keys.iter().find_map(|key| {
            jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, key, &validation)
                .ok()
                .map(|d| d.claims)
        })?;
        match self.check_claims(&claims) {
            Ok(sub) => Some(match &self.subject_prefix {
                Some(prefix) => format!("external:{prefix}:{sub}"),
                None => format!("external:{sub}"),
            }),
            Err(reason) => {
                tracing::debug!(jwks.url = %self.url, reason, "refused an external JWKS token");
                None
            }
        }
    }

    /// Claims are checked here rather than by jsonwebtoken so that a claim of the wrong JSON
    /// type is a refusal, never a skipped check.
    fn check_claims(
        &self,
        claims: &serde_json::Map<String, Value>,
    ) -> Result<String, &'static str> {
        let now_s = self.clock.now_millis().div_euclid(1000);
        let number = |key: &str| -> Result<Option<i64>, &'static str> {
            match claims.get(key) {
                None => Ok(None),
                Some(v) => v
                    .as_i64()
                    .or_else(|| v.as_f64().map(|f| f as i64))
                    .map(Some)
                    .ok_or("a time claim is not a number"),
            }
        };
        let exp = number("exp")?.ok_or("the token has no exp")?;
        if exp.saturating_add(LEEWAY_S) < now_s {
            return Err("the token has expired");
        }
        if number("nbf")?.is_some_and(|nbf| nbf.saturating_sub(LEEWAY_S) > now_s) {
            return Err("the token is not valid yet");
        }
        if let Some(issuers) = &self.issuers {
            match claims.get("iss") {
                Some(Value::String(iss)) if issuers.contains(iss) => {}
                _ => return Err("unexpected issuer"),
            }
        }
        if let Some(audiences) = &self.audiences {
            let ok = match claims.get("aud") {
                Some(Value::String(aud)) => audiences.contains(aud),
                Some(Value::Array(items)) => items
                    .iter()
                    .any(|a| a.as_str().is_some_and(|a| audiences.iter().any(|x| x == a))),
                _ => false,
            };
            if !ok {
                return Err("unexpected audience");
            }
        }
        match claims.get("sub") {
            Some(Value::String(sub)) if !sub.is_empty() => Ok(sub.clone()),
            _ => Err("the token has no subject"),
        }
    }

    /// Keys that may have signed a token with this `kid` and `alg`, refetching the JWKS when
    /// it is stale or lacks the `kid` (within the cooldown).
    async fn candidate_keys(&self, kid: Option<&str>, alg: Algorithm) -> Vec<DecodingKey> {
        let mut cache = self.cache.lock().await;
        let now = self.clock.now_millis();
        let stale = cache
            .fetched_at
            .is_none_or(|t| now.saturating_sub(t) >= CACHE_MAX_AGE_MS);
        let missing =
            kid.is_some_and(|kid| !cache.keys.iter().any(|k| k.kid.as_deref() == Some(kid)));
        let may_refetch = cache
            .fetched_at
            .is_none_or(|t| now.saturating_sub(t) >= REFETCH_COOLDOWN_MS);
        if stale || (missing && may_refetch) {
            match self.fetch().await {
                Ok(keys) => {
                    cache.keys = keys;
                    cache.fetched_at = Some(now);
                }
                Err(e) => {
                    tracing::warn!(jwks.url = %self.url, "could not fetch the JWKS: {e}");
                    // Try again soon rather than on every request.
                    if cache.fetched_at.is_none() {
                        cache.fetched_at = Some(now - CACHE_MAX_AGE_MS + REFETCH_COOLDOWN_MS);
                    }
                }
            }
        }
        cache
            .keys
            .iter()
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            .filter(|k| match k.alg {
                Some(own) => own == alg,
                None => k.allowed.contains(&alg),
            })
            .map(|k| k.key.clone())
            .collect()
    }

    async fn fetch(&self) -> AuthResult<Vec<CachedKey>> {
        let response = self
            .http
            .get(self.url.clone())
            .timeout(FETCH_TIMEOUT)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(|e| AuthError::Upstream(format!("JWKS request failed: {e}")))?;
        if !response.status().is_success() {
            return Err(AuthError::Upstream(format!(
                "JWKS request answered {}",
                response.status()
            )));
        }
        let body: Value = response
            .json()
            .await
            .map_err(|e| AuthError::Upstream(format!("JWKS is not JSON: {e}")))?;
        Ok(parse_jwks(&body))
    }
}

/// The usable signing keys of a JWKS document; keys of unknown types, symmetric keys and
/// encryption keys are skipped one by one rather than failing the whole set.
fn parse_jwks(body: &Value) -> Vec<CachedKey> {
    let Some(keys) = body.get("keys").and_then(Value::as_array) else {
        return Vec::new();
    };
    keys.iter()
        .filter_map(|raw| {
            let jwk: Jwk = serde_json::from_value(raw.clone()).ok()?;
            if raw
                .get("use")
                .and_then(Value::as_str)
                .is_some_and(|u| u != "sig")
            {
                return None;
            }
            let allowed = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => vec![
                    Algorithm::RS256,
                    Algorithm::RS384,
                    Algorithm::RS512,
                    Algorithm::PS256,
                    Algorithm::PS384,
                    Algorithm::PS512,
                ],
                AlgorithmParameters::EllipticCurve(p) => match p.curve {
                    EllipticCurve::P256 => vec![Algorithm::ES256],
                    EllipticCurve::P384 => vec![Algorithm::ES384],
                    _ => return None,
                },
                AlgorithmParameters::OctetKeyPair(_) => vec![Algorithm::EdDSA],
                // A shared secret in a public JWKS would let anyone sign.
                AlgorithmParameters::OctetKey(_) => return None,
            };
            let alg = match raw.get("alg").and_then(Value::as_str) {
                None => None,
                Some(name) => Some(
                    Algorithm::from_str(name)
                        .ok()
                        .filter(|a| allowed.contains(a))?,
                ),
            };
            let key = DecodingKey::from_jwk(&jwk).ok()?;
            Some(CachedKey {
                kid: jwk.common.key_id.clone(),
                alg,
                allowed,
                key,
            })
        })
        .collect()
}

fn is_asymmetric(alg: &Algorithm) -> bool {
    !matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}
