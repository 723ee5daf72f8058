//! ES256 signing keys: generated in-process, private halves kept in memory only, public halves
//! published through a [`KeyStore`] (the database) so every replica verifies every other's
//! tokens, and rotated when the current key gets old.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{DecodingKey, EncodingKey};
use portico_store::Db;
use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
use serde::{Deserialize, Serialize};

use crate::clock::Clock;
use crate::error::{AuthError, AuthResult};

/// The public half of a signing key, as published in `jwks.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    pub kty: String,
    pub crv: String,
    pub x: String,
    pub y: String,
    pub kid: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub key_use: String,
}

impl PublicJwk {
    /// The verification key, refusing anything but a P-256 ES256 signing key: the algorithm
    /// is fixed by the key, never taken from a token.
    pub(crate) fn decoding_key(&self) -> AuthResult<DecodingKey> {
        if self.kty != "EC" || self.crv != "P-256" || self.alg != "ES256" {
            return Err(AuthError::Corrupt(format!(
                "signing key {} is not an ES256 P-256 key",
                self.kid
            )));
        }
        for part in [&self.x, &self.y] {
            let bytes = URL_SAFE_NO_PAD
                .decode(part)
                .map_err(|e| AuthError::Corrupt(format!("signing key {}: {e}", self.kid)))?;
            if bytes.len() != 32 {
                return Err(AuthError::Corrupt(format!(
                    "signing key {} has a malformed coordinate",
                    self.kid
                )));
            }
        }
        DecodingKey::from_ec_components(&self.x, &self.y)
            .map_err(|e| AuthError::Corrupt(format!("signing key {}: {e}", self.kid)))
    }
}

/// A published public key with its lifetime (Unix millis).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredKey {
    pub jwk: PublicJwk,
    pub created_at: i64,
    /// After this, no unexpired token can carry the key's kid: it may be deleted.
    pub expires_at: i64,
}

/// Where public keys are shared between replicas.
#[async_trait::async_trait]
pub trait KeyStore: Send + Sync {
    async fn add_key(&self, key: &StoredKey) -> AuthResult<()>;
    async fn get_key(&self, kid: &str) -> AuthResult<Option<StoredKey>>;
    async fn list_keys(&self) -> AuthResult<Vec<StoredKey>>;
    /// Deletes keys whose `expires_at` is at or before `now`; returns how many.
    async fn remove_expired_keys(&self, now: i64) -> AuthResult<usize>;
}

/// The database-backed [`KeyStore`] (table `auth_signing_keys`).
#[derive(Clone)]
pub struct DbKeyStore {
    db: Db,
}

impl DbKeyStore {
    pub fn new(db: Db) -> Self {
        Self { db }
    }
}

#[async_trait::async_trait]
impl KeyStore for DbKeyStore {
    async fn add_key(&self, key: &StoredKey) -> AuthResult<()> {
        let key = key.clone();
        self.db
            .write(move |conn| crate::store::keys::insert_signing_key(conn, &key))
            .await
    }

    async fn get_key(&self, kid: &str) -> AuthResult<Option<StoredKey>> {
        let kid = kid.to_owned();
        self.db
            .read(move |conn| crate::store::keys::find_signing_key(conn, &kid))
            .await
    }

    async fn list_keys(&self) -> AuthResult<Vec<StoredKey>> {
        self.db.read(crate::store::keys::list_signing_keys).await
    }

    async fn remove_expired_keys(&self, now: i64) -> AuthResult<usize> {
        self.db
            .write(move |conn| crate::store::keys::delete_expired_signing_keys(conn, now))
            .await
    }
}

/// An in-memory [`KeyStore`] for a single process and for tests.
#[derive(Default)]
pub struct MemoryKeyStore {
    keys: Mutex<BTreeMap<String, StoredKey>>,
}

impl MemoryKeyStore {
    fn locked(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, StoredKey>> {
        // A panic while holding this lock cannot leave the map half-updated.
        self.keys.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl KeyStore for MemoryKeyStore {
    async fn add_key(&self, key: &StoredKey) -> AuthResult<()> {
        self.locked().insert(key.jwk.kid.clone(), key.clone());
        Ok(())
    }

    async fn get_key(&self, kid: &str) -> AuthResult<Option<StoredKey>> {
        Ok(self.locked().get(kid).cloned())
    }

    async fn list_keys(&self) -> AuthResult<Vec<StoredKey>> {
        Ok(self.locked().values().cloned().collect())
    }

    async fn remove_expired_keys(&self, now: i64) -> AuthResult<usize> {
        let mut keys = self.locked();
        let before = keys.len();
        keys.retain(|_, k| k.expires_at > now);
        Ok(before - keys.len())
    }
}

/// How long keys are used and kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeyPolicy {
    /// A process makes a new key when its current one is this old.
    pub rotation: Duration,
    /// The longest lifetime of a token signed with a key; the key stays published this long
    /// (plus `leeway`) after it stops signing.
    pub max_token_ttl: Duration,
    /// Clock skew tolerated between replicas.
    pub leeway: Duration,
}

impl KeyPolicy {
    fn expires_at(&self, created_at: i64) -> i64 {
        created_at
            .saturating_add(millis(self.rotation))
            .saturating_add(millis(self.max_token_ttl))
            .saturating_add(millis(self.leeway))
    }
}

pub(crate) fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The key this process signs with. Never leaves memory; not `Debug`.
#[derive(Clone)]
pub(crate) struct PrivateKey {
    pub kid: String,
    pub encoding: EncodingKey,
    pub created_at: i64,
}

struct CachedKey {
    decoding: DecodingKey,
    expires_at: i64,
}

/// This process's signing key plus a cache of every replica's public keys.
pub struct SigningKeys {
    store: Arc<dyn KeyStore>,
    policy: KeyPolicy,
    clock: Clock,
    /// An async lock, so concurrent first requests make one key rather than several.
    current: tokio::sync::Mutex<Option<PrivateKey>>,
    verifying: RwLock<HashMap<String, CachedKey>>,
}

impl SigningKeys {
    pub fn new(store: Arc<dyn KeyStore>, policy: KeyPolicy, clock: Clock) -> Self {
        Self {
            store,
            policy,
            clock,
            current: tokio::sync::Mutex::new(None),
            verifying: RwLock::new(HashMap::new()),
        }
    }

    pub fn policy(&self) -> KeyPolicy {
        self.policy
    }

    pub(crate) fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The key to sign with now, making (and publishing) a new one first when there is none
    /// or the current one is due for rotation.
    pub(crate) async fn current_key(&self) -> AuthResult<PrivateKey> {
        let mut current = self.current.lock().await;
        let now = self.clock.now_millis();
        if let Some(key) = current.as_ref() {
            if now.saturating_sub(key.created_at) < millis(self.policy.rotation) {
                return Ok(key.clone());
            }
            tracing::info!(key.kid = %key.kid, "signing key is due for rotation");
        }
        let (key, stored) = generate_key(now, &self.policy)?;
        self.store.add_key(&stored).await?;
        self.cache(&stored)?;
        tracing::info!(key.kid = %key.kid, "created a new signing key");
        *current = Some(key.clone());
        drop(current);
        // Rotation is a good moment to forget keys nobody can present any more; failing to
        // delete them only leaves them published a while longer.
        if let Err(e) = self.remove_expired_keys().await {
            tracing::warn!("could not remove expired signing keys: {e}");
        }
        Ok(key)
    }

    /// The verification key for `kid`, from the cache or the store; `None` for unknown or
    /// expired keys.
    pub(crate) async fn decoding_key(&self, kid: &str) -> AuthResult<Option<DecodingKey>> {
        let now = self.clock.now_millis();
        if let Some(cached) = self.read_cache().get(kid) {
            if cached.expires_at > now {
                return Ok(Some(cached.decoding.clone()));
            }
        }
        // A key made moments ago by another replica is only in the store.
        match self.store.get_key(kid).await? {
            Some(stored) if stored.expires_at > now => {
                let key = stored.jwk.decoding_key()?;
                self.cache(&stored)?;
                Ok(Some(key))
            }
            _ => Ok(None),
        }
    }

    /// Every public key still valid for verification (for `jwks.json`), oldest first.
    pub async fn public_keys(&self) -> AuthResult<Vec<PublicJwk>> {
        let now = self.clock.now_millis();
        let mut keys = self.store.list_keys().await?;
        keys.retain(|k| k.expires_at > now);
        keys.sort_by(|a, b| (a.created_at, &a.jwk.kid).cmp(&(b.created_at, &b.jwk.kid)));
        Ok(keys.into_iter().map(|k| k.jwk).collect())
    }

    /// Deletes expired public keys from the store and the cache.
    pub async fn remove_expired_keys(&self) -> AuthResult<usize> {
        let now = self.clock.now_millis();
        self.write_cache().retain(|_, k| k.expires_at > now);
        self.store.remove_expired_keys(now).await
    }

    fn cache(&self, stored: &StoredKey) -> AuthResult<()> {
        let decoding = stored.jwk.decoding_key()?;
        self.write_cache().insert(
            stored.jwk.kid.clone(),
            CachedKey {
                decoding,
                expires_at: stored.expires_at,
            },
        );
        Ok(())
    }

    fn read_cache(&self) -> std::sync::RwLockReadGuard<'_, HashMap<String, CachedKey>> {
        // The cache is only ever replaced entry by entry, so a poisoned lock is still usable.
        self.verifying.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_cache(&self) -> std::sync::RwLockWriteGuard<'_, HashMap<String, CachedKey>> {
        self.verifying.write().unwrap_or_else(|e| e.into_inner())
    }
}

/// Makes a P-256 key pair and its published form.
fn generate_key(now: i64, policy: &KeyPolicy) -> AuthResult<(PrivateKey, StoredKey)> {
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| AuthError::Crypto("could not generate a P-256 key".to_owned()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|e| AuthError::Crypto(format!("generated key rejected: {e}")))?;
    // An uncompressed SEC1 point: 0x04, then 32 bytes of x and 32 of y.
    let point = pair.public_key().as_ref();
    if point.len() != 65 || point[0] != 4 {
        return Err(AuthError::Crypto(
            "unexpected P-256 public key encoding".to_owned(),
        ));
    }
    let kid = uuid::Uuid::new_v4().to_string();
    let jwk = PublicJwk {
        kty: "EC".to_owned(),
        crv: "P-256".to_owned(),
        x: URL_SAFE_NO_PAD.encode(&point[1..33]),
        y: URL_SAFE_NO_PAD.encode(&point[33..65]),
        kid: kid.clone(),
        alg: "ES256".to_owned(),
        key_use: "sig".to_owned(),
    };
    let private = PrivateKey {
        kid,
        encoding: EncodingKey::from_ec_der(pkcs8.as_ref()),
        created_at: now,
    };
    let stored = StoredKey {
        jwk,
        created_at: now,
        expires_at: policy.expires_at(now),
    };
    Ok((private, stored))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> KeyPolicy {
        KeyPolicy {
            rotation: Duration::from_secs(3600),
            max_token_ttl: Duration::from_secs(3600),
            leeway: Duration::from_secs(10),
        }
    }

    #[tokio::test]
    async fn makes_one_key_and_reuses_it_until_rotation() {
        let clock = Clock::manual(1_000_000);
        let store = Arc::new(MemoryKeyStore::default());
        let keys = SigningKeys::new(store.clone(), policy(), clock.clone());
        let first = keys.current_key().await.unwrap();
        clock.advance(3_599_000);
        assert_eq!(keys.current_key().await.unwrap().kid, first.kid);
        clock.advance(1_000);
        let second = keys.current_key().await.unwrap();
        assert_ne!(second.kid, first.kid);
        // Both stay published: tokens from the first may still be live.
        let published: Vec<_> = keys
            .public_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(published, vec![first.kid.clone(), second.kid.clone()]);
        assert!(keys.decoding_key(&first.kid).await.unwrap().is_some());
    }

    #[tokio::test]
    async fn expired_keys_are_unpublished_and_deleted() {
        let clock = Clock::manual(0);
        let store = Arc::new(MemoryKeyStore::default());
        let keys = SigningKeys::new(store.clone(), policy(), clock.clone());
        let first = keys.current_key().await.unwrap();
        // Past rotation + max token lifetime + leeway of the first key.
        clock.set(2 * 3_600_000 + 10_000);
        let second = keys.current_key().await.unwrap();
        let published: Vec<_> = keys
            .public_keys()
            .await
            .unwrap()
            .into_iter()
            .map(|k| k.kid)
            .collect();
        assert_eq!(published, vec![second.kid.clone()]);
        assert!(keys.decoding_key(&first.kid).await.unwrap().is_none());
        assert!(store.get_key(&first.kid).await.unwrap().is_none());
    }

    #[test]
    fn published_keys_are_es256_p256() {
        let (private, stored) = generate_key(0, &policy()).unwrap();
        assert_eq!(stored.jwk.kid, private.kid);
        assert_eq!(
            (stored.jwk.kty.as_str(), stored.jwk.crv.as_str()),
            ("EC", "P-256")
        );
        assert!(stored.jwk.decoding_key().is_ok());
        let mut wrong = stored.jwk.clone();
        wrong.alg = "HS256".to_owned();
        assert!(wrong.decoding_key().is_err());
    }
}
