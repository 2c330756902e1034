//! Credentials and tokens: API keys and client secrets (random, stored as SHA-256 hashes) and
//! the HS256 JWTs `/auth` issues, signed with keys kept in the database so that every Padron
//! process accepts every other's tokens.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use padron_store::{Environment, NewClient, SigningKey, Store, StoreError};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use tokio::sync::RwLock;

/// Lifetime of an access token, in seconds (spec §2).
pub const TOKEN_TTL_SECS: i64 = 3600;

const ISSUER: &str = "padron";

/// 256 random bits, base64url, behind a prefix that names what the value is (so that secret
/// scanners and people can recognise a leaked key).
fn random_token(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// The stored form of an API key or client secret.
///
/// A plain SHA-256 is enough here (and fast enough to run on every request): the values are
/// 256-bit random strings, so there is nothing for a slow password hash to protect against.
pub fn hash_secret(value: &str) -> String {
    lower_hex(&Sha256::digest(value.as_bytes()))
}

/// `bytes` as lower-case hex. Runs on every request (API-key hashes, trace ids), so it writes
/// the digits from a table instead of going through `format!` once per byte.
pub fn lower_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Compares a presented secret with a stored hash in constant time.
pub fn secret_matches(presented: &str, stored_hash: &str) -> bool {
    hash_secret(presented)
        .as_bytes()
        .ct_eq(stored_hash.as_bytes())
        .into()
}

/// The plain credentials of one environment, shown once at creation.
#[derive(Debug, Clone, Serialize)]
pub struct PlainCredentials {
    /// Goes in `x-api-key`.
    #[serde(rename = "apiKey")]
    pub api_key: String,
    /// Goes in the `/auth` body.
    #[serde(rename = "clientSecret")]
    pub client_secret: String,
}

/// A new client's id and plain credentials per environment.
#[derive(Debug, Clone, Serialize)]
pub struct CreatedClient {
    /// The client id.
    #[serde(rename = "clientId")]
    pub client_id: String,
    /// Sandbox credentials.
    pub sandbox: PlainCredentials,
    /// Production credentials.
    pub production: PlainCredentials,
}

fn env_tag(env: Environment) -> &'static str {
    match env {
        Environment::Sandbox => "test",
        Environment::Production => "live",
    }
}

/// A new client secret for `env`.
pub fn new_client_secret(env: Environment) -> String {
    random_token(&format!("pds_{}_", env_tag(env)))
}

/// Creates a client with fresh credentials for both environments; only hashes are stored.
pub async fn create_client(
    store: &dyn Store,
    name: &str,
    now: i64,
) -> Result<CreatedClient, StoreError> {
    let bytes: [u8; 12] = rand::random();
    let client_id = format!(
        "cli_{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    );
    let fresh = |env| PlainCredentials {
        api_key: random_token(&format!("pdk_{}_", env_tag(env))),
        client_secret: new_client_secret(env),
    };
    let sandbox = fresh(Environment::Sandbox);
    let production = fresh(Environment::Production);
    let credentials = [
        (Environment::Sandbox, &sandbox),
        (Environment::Production, &production),
    ]
    .into_iter()
    .map(|(env, c)| (env, hash_secret(&c.api_key), hash_secret(&c.client_secret)))
    .collect();
    store
        .create_client(NewClient {
            id: client_id.clone(),
            name: name.to_owned(),
            credentials,
            created_at: now,
        })
        .await?;
    Ok(CreatedClient {
        client_id,
        sandbox,
        production,
    })
}

/// What a token says.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer, always `padron`.
    pub iss: String,
    /// The client id.
    pub sub: String,
    /// `sandbox` or `production`.
    pub env: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// Unique token id.
    pub jti: String,
}

/// The signing keys every process shares, cached in memory and reloaded when a token names a
/// key this process has not seen yet.
pub struct KeyRing {
    store: Arc<dyn Store>,
    keys: RwLock<KeyCache>,
    /// What a token must satisfy besides its signature; the same for every token, so built once.
    validation: Validation,
}

struct KeyCache {
    by_kid: HashMap<String, DecodingKey>,
    current: Option<(String, EncodingKey)>,
    last_reload: Option<Instant>,
}

/// Reloads for unknown key ids are spaced by at least this much, so that tokens with made-up
/// key ids cannot turn into a query per request.
const RELOAD_INTERVAL: Duration = Duration::from_millis(200);

impl KeyRing {
    /// Loads the keys, creating the first one if the database has none.
    pub async fn load(store: Arc<dyn Store>) -> Result<Self, StoreError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 0;
        let ring = Self {
            store,
            keys: RwLock::new(KeyCache {
                by_kid: HashMap::new(),
                current: None,
                last_reload: None,
            }),
            validation,
        };
        ring.reload().await?;
        if ring.keys.read().await.current.is_none() {
            let secret: [u8; 32] = rand::random();
            let kid_bytes: [u8; 8] = rand::random();
            let key = SigningKey {
                kid: kid_bytes.iter().map(|b| format!("{b:02x}")).collect(),
                secret: URL_SAFE_NO_PAD.encode(secret),
                created_at: now_micros(),
            };
            ring.store.insert_signing_key(&key).await?;
            ring.reload().await?;
        }
        Ok(ring)
    }

    async fn reload(&self) -> Result<(), StoreError> {
        let keys = self.store.signing_keys().await?;
        let mut cache = self.keys.write().await;
        cache.by_kid.clear();
        cache.current = None;
        for key in keys {
            let keys = URL_SAFE_NO_PAD.decode(&key.secret).ok().and_then(|secret| {
                Some((
                    EncodingKey::from_secret(&secret).ok()?,
                    DecodingKey::from_secret(&secret).ok()?,
                ))
            });
            let Some((encoding, decoding)) = keys else {
                tracing::error!(kid = %key.kid, "unreadable signing key skipped");
                continue;
            };
            // Keys come newest first: the first readable one signs.
            if cache.current.is_none() {
                cache.current = Some((key.kid.clone(), encoding));
            }
            cache.by_kid.insert(key.kid, decoding);
        }
        Ok(())
    }

    /// Issues a token for a client environment; `None` only if no signing key is usable.
    pub async fn issue(&self, client_id: &str, env: Environment) -> Option<String> {
        let cache = self.keys.read().await;
        let Some((kid, secret)) = &cache.current else {
            tracing::error!("no usable signing key");
            return None;
        };
        let now = now_micros() / 1_000_000;
        let jti: [u8; 16] = rand::random();
        let claims = Claims {
            iss: ISSUER.to_owned(),
            sub: client_id.to_owned(),
            env: env.as_str().to_owned(),
            iat: now,
            exp: now + TOKEN_TTL_SECS,
            jti: URL_SAFE_NO_PAD.encode(jti),
        };
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(kid.clone());
        jsonwebtoken::encode(&header, &claims, secret)
            .inspect_err(|e| tracing::error!(error = %e, "token signing failed"))
            .ok()
    }

    /// Verifies a token's signature, issuer and expiry; `None` for any bad token.
    pub async fn verify(&self, token: &str) -> Option<Claims> {
        let kid = jsonwebtoken::decode_header(token).ok()?.kid?;
        {
            // The usual case: a key this process knows, checked under one read lock.
            let cache = self.keys.read().await;
            if let Some(key) = cache.by_kid.get(&kid) {
                return jsonwebtoken::decode::<Claims>(token, key, &self.validation)
                    .ok()
                    .map(|data| data.claims);
            }
        }
        {
            // Only reloads caused by unknown key ids count against the interval, so the first
            // token signed by a key another process just made is always accepted.
            let mut cache = self.keys.write().await;
            if cache
                .last_reload
                .is_some_and(|t| t.elapsed() < RELOAD_INTERVAL)
            {
                return None;
            }
            cache.last_reload = Some(Instant::now());
        }
        if self.reload().await.is_err() {
            return None;
        }
        let cache = self.keys.read().await;
        let key = cache.by_kid.get(&kid)?;
        jsonwebtoken::decode::<Claims>(token, key, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

/// Now, in microseconds since the Unix epoch (the store's time unit).
pub fn now_micros() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    (now.unix_timestamp_nanos() / 1000) as i64
}

/// API-key lookups kept in memory for a short time, so that authenticating a request does not
/// query the database every time.
///
/// Revocation story: a credential changed in the database (validation level, a future key
/// revocation) takes effect in every process within the cache's time to live (default 5 s,
/// `PADRON_AUTH_CACHE_SECS`; 0 turns the cache off). `POST /auth` always reads the database, so a
/// rotated secret stops issuing tokens at once. Unknown keys are never cached, so made-up keys
/// cannot fill the memory (each one costs a query; with rate limits on, such requests share one
/// bucket, which bounds those queries).
pub struct CredentialCache {
    ttl: Duration,
    entries: std::sync::RwLock<HashMap<String, (padron_store::Credential, Instant)>>,
}

/// Entries beyond this many are pruned of expired ones on insert.
const CACHE_PRUNE_AT: usize = 10_000;

impl CredentialCache {
    /// A cache whose entries live `ttl` (zero: no caching).
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: std::sync::RwLock::new(HashMap::new()),
        }
    }

    /// The credential of `key_hash` if the cache holds it fresh; never asks the database.
    pub fn peek(&self, key_hash: &str) -> Option<padron_store::Credential> {
        let entries = self.entries.read().ok()?;
        let (credential, at) = entries.get(key_hash)?;
        (at.elapsed() < self.ttl).then(|| credential.clone())
    }

    /// The credential whose API key hashes to `key_hash`, from memory when fresh.
    pub async fn lookup(
        &self,
        store: &dyn Store,
        key_hash: &str,
    ) -> Result<Option<padron_store::Credential>, StoreError> {
        if !self.ttl.is_zero()
            && let Ok(entries) = self.entries.read()
            && let Some((credential, at)) = entries.get(key_hash)
            && at.elapsed() < self.ttl
        {
            return Ok(Some(credential.clone()));
        }
        let fresh = store.credential_by_api_key(key_hash).await?;
        if !self.ttl.is_zero()
            && let Ok(mut entries) = self.entries.write()
        {
            match &fresh {
                Some(credential) => {
                    if entries.len() >= CACHE_PRUNE_AT {
                        let ttl = self.ttl;
                        entries.retain(|_, (_, at)| at.elapsed() < ttl);
                    }
                    entries.insert(key_hash.to_owned(), (credential.clone(), Instant::now()));
                }
                None => {
                    entries.remove(key_hash);
                }
            }
        }
        Ok(fresh)
    }
}
