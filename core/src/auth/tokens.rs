//! Access tokens: JWTs signed and checked with the one key and algorithm from configuration.
//!
//! Header fields that could point at other keys (`jku`, `x5u`, `jwk`, `kid`, `x5c`) are never
//! read: the decoding key is fixed when the signer is built, and the header's `alg` must equal
//! the configured algorithm.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::config::{JwtConfig, KeyMaterial};
use crate::{Error, Result, Timestamp, UserId};

/// The one message every refused token gets: callers learn nothing about why.
pub(crate) const INVALID_TOKEN: &str = "invalid or expired token";

/// Longest token accepted; real ones are a few hundred bytes, so larger input is refused unread.
const MAX_TOKEN_BYTES: usize = 4096;

/// How many verified tokens are remembered (a few hundred bytes each).
const VERIFIED_CAPACITY: u64 = 10_000;

/// How long a verified token is remembered before its signature is checked again. Its `exp`
/// and `nbf` are checked against the clock on every use regardless.
const VERIFIED_FOR: Duration = Duration::from_secs(300);

/// A freshly issued access token.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IssuedToken {
    /// The compact JWT to send as a bearer token.
    pub token: String,
    /// When it stops being accepted.
    pub expires_at: Timestamp,
}

/// Tokens are credentials: they never reach logs.
impl fmt::Debug for IssuedToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedToken")
            .field("token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// What a verified token says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenClaims {
    /// Whose token it is (`sub`).
    pub user: UserId,
    /// The token's own id (`jti`), kept in the user's record when the token is logged out.
    pub token_id: Uuid,
    /// The user's token version when it was issued (`ver`).
    pub token_version: u32,
    /// When it was issued (`iat`).
    pub issued_at: Timestamp,
    /// When it expires (`exp`).
    pub expires_at: Timestamp,
}

/// The JSON claims. Times are integers: a string or float `exp`/`nbf`/`iat` fails to parse.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct WireClaims {
    pub(crate) sub: String,
    pub(crate) exp: u64,
    pub(crate) nbf: u64,
    pub(crate) iat: u64,
    pub(crate) iss: String,
    pub(crate) aud: String,
    pub(crate) jti: String,
    pub(crate) ver: u32,
}

/// A token that passed every check of [`TokenSigner::verify`], with the times to re-check.
struct Verified {
    claims: TokenClaims,
    not_before: u64,
    expires: u64,
}

/// Issues and verifies access tokens with the configured key, algorithm, issuer and audience.
///
/// Verification is a pure function of the token text and the fixed key, so tokens that passed
/// are remembered by their exact text (bounded, a few minutes): a client sending the same token
/// on every request pays for the signature, the base64 and the JSON once. Time claims are still
/// checked on every call, and failures are never remembered. Revocation (logged-out tokens,
/// token version) is not the signer's business and stays a per-call check in the auth service.
pub struct TokenSigner {
    algorithm: Algorithm,
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    audience: String,
    ttl: Duration,
    leeway: Duration,
    verified: moka::sync::Cache<Arc<str>, Arc<Verified>>,
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("algorithm", &self.algorithm)
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl TokenSigner {
    /// Builds a signer and proves the key works by signing and verifying a probe token, so a
    /// mismatched Ed25519 pair fails at start-up rather than at the first login.
    pub fn new(config: &JwtConfig) -> Result<Self> {
        let algorithm = config.key.algorithm();
        let (encoding, decoding) = match config.key.material() {
            KeyMaterial::Hs256 { secret } => {
                (EncodingKey::from_secret(secret), DecodingKey::from_secret(secret))
            }
            KeyMaterial::EdDsa { private_pkcs8, public_raw } => {
                (EncodingKey::from_ed_der(private_pkcs8), DecodingKey::from_ed_der(public_raw))
            }
        };
        let mut validation = Validation::new(algorithm);
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.validate_aud = true;
        validation.leeway = config.leeway_secs;
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        validation.set_issuer(&[&config.issuer]);
        validation.set_audience(&[&config.audience]);
        let signer = Self {
            algorithm,
            encoding,
            decoding,
            validation,
            issuer: config.issuer.clone(),
            audience: config.audience.clone(),
            ttl: config.ttl,
            leeway: Duration::from_secs(config.leeway_secs),
            verified: moka::sync::Cache::builder()
                .max_capacity(VERIFIED_CAPACITY)
                .time_to_live(VERIFIED_FOR)
                .build(),
        };
        let probe = signer
            .issue(UserId::new(), 0)
            .map_err(|_| Error::validation("jwt_private_key", "cannot sign with this key"))?;
        signer.verify(&probe.token).map_err(|_| {
            Error::validation("jwt_public_key", "does not verify tokens signed by the private key")
        })?;
        Ok(signer)
    }

    /// The exact checks applied, so tests can run them on untyped claims.
    #[cfg(test)]
    pub(crate) fn validation(&self) -> &Validation {
        &self.validation
    }

    /// The algorithm every token is signed with and the only one accepted.
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The clock skew tolerated on `exp` and `nbf`; a token lives until `exp` plus this.
    pub fn leeway(&self) -> Duration {
        self.leeway
    }

    /// Signs a token for `user` at `token_version`, valid from now for the configured lifetime.
    pub fn issue(&self, user: UserId, token_version: u32) -> Result<IssuedToken> {
        let issued_at = unix_now();
        let exp = issued_at.saturating_add(self.ttl.as_secs().max(1));
        let claims = WireClaims {
            sub: user.to_string(),
            exp,
            nbf: issued_at,
            iat: issued_at,
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            jti: Uuid::new_v4().to_string(),
            ver: token_version,
        };
        let token = jsonwebtoken::encode(&Header::new(self.algorithm), &claims, &self.encoding)
            .map_err(|err| Error::internal(format!("signing a token: {err}")))?;
        Ok(IssuedToken { token, expires_at: timestamp(exp)? })
    }

    /// Checks signature, algorithm, `exp`, `nbf`, `iss`, `aud` and the presence and types of all
    /// claims. Every failure is `Unauthorized` with the same message.
    pub fn verify(&self, token: &str) -> Result<TokenClaims> {
        let refused = || Error::Unauthorized(INVALID_TOKEN.into());
        if token.len() > MAX_TOKEN_BYTES {
            return Err(refused());
        }
        let verified = match self.verified.get(token) {
            Some(verified) => verified,
            None => {
                let verified = Arc::new(self.verify_uncached(token)?);
                self.verified.insert(Arc::from(token), verified.clone());
                verified
            }
        };
        // The same time checks as jsonwebtoken's (`exp`/`nbf` with leeway), on every call.
        let (now, leeway) = (unix_now(), self.leeway.as_secs());
        if verified.expires.saturating_add(leeway) < now
            || verified.not_before > now.saturating_add(leeway)
        {
            self.verified.invalidate(token);
            return Err(refused());
        }
        Ok(verified.claims.clone())
    }

    /// The full check: signature, algorithm and every claim.
    fn verify_uncached(&self, token: &str) -> Result<Verified> {
        let refused = || Error::Unauthorized(INVALID_TOKEN.into());
        let data = jsonwebtoken::decode::<WireClaims>(token, &self.decoding, &self.validation)
            .map_err(|err| {
                tracing::debug!(kind = ?err.kind(), "access token refused");
                refused()
            })?;
        let claims = data.claims;
        // `iat` is required by the claims type itself: jsonwebtoken only knows the other five.
        if claims.iat > claims.exp {
            return Err(refused());
        }
        Ok(Verified {
            claims: TokenClaims {
                user: claims.sub.parse().map_err(|_| refused())?,
                token_id: Uuid::try_parse(&claims.jti).map_err(|_| refused())?,
                token_version: claims.ver,
                issued_at: timestamp(claims.iat).map_err(|_| refused())?,
                expires_at: timestamp(claims.exp).map_err(|_| refused())?,
            },
            not_before: claims.nbf,
            expires: claims.exp,
        })
    }
}

fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(0)
}

fn timestamp(secs: u64) -> Result<Timestamp> {
    i64::try_from(secs)
        .ok()
        .and_then(|secs| chrono::DateTime::from_timestamp(secs, 0))
        .ok_or_else(|| Error::internal("token time out of range"))
}
