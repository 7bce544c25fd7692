//! What an [`super::AuthService`] is configured with: the token key and claims, and login limits.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::Algorithm;

use crate::{Error, Result};

/// Shortest HS256 secret accepted: RFC 7518 §3.2 wants a key at least as long as the hash output.
pub const MIN_HS256_SECRET_LEN: usize = 32;

/// PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410): followed by the 32-byte seed.
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];
/// SubjectPublicKeyInfo prefix of an Ed25519 public key (RFC 8410): followed by the 32-byte key.
const ED25519_SPKI_PREFIX: [u8; 12] =
    [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// Everything the auth service needs besides its stores.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// How access tokens are signed and checked.
    pub jwt: JwtConfig,
    /// Failed logins allowed per account (normalised email) in a window.
    pub login_limit: RateLimit,
    /// Failed logins allowed per client address in a window; higher, since many users share NATs.
    pub client_limit: RateLimit,
}

impl AuthConfig {
    /// Defaults around `key`: 1 h tokens, 5 failed logins per account and 50 per client per 15 min.
    pub fn new(key: JwtKey) -> Self {
        Self {
            jwt: JwtConfig::new(key),
            login_limit: RateLimit { max_attempts: 5, window: Duration::from_secs(15 * 60) },
            client_limit: RateLimit { max_attempts: 50, window: Duration::from_secs(15 * 60) },
        }
    }

    /// Refuses settings that would make the service insecure or useless.
    pub fn validate(&self) -> Result<()> {
        self.jwt.validate()?;
        self.login_limit.validate("login_limit")?;
        self.client_limit.validate("client_limit")
    }
}

/// A fixed-window limit: at most `max_attempts` failures per `window`, after which attempts are
/// refused until the window ends (so a real user is never locked out for longer than one window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// Failed attempts allowed in one window.
    pub max_attempts: u32,
    /// Length of the window; also the longest a lockout lasts.
    pub window: Duration,
}

impl RateLimit {
    fn validate(&self, field: &str) -> Result<()> {
        if self.max_attempts == 0 {
            return Err(Error::validation(field, "max_attempts must be at least 1"));
        }
        if self.window < Duration::from_secs(1) {
            return Err(Error::validation(field, "window must be at least one second"));
        }
        Ok(())
    }
}

/// Access-token settings. The algorithm comes from the key, never from a token's header.
#[derive(Debug, Clone)]
pub struct JwtConfig {
    /// The signing key; its kind pins the one accepted algorithm.
    pub key: JwtKey,
    /// `iss` written into and required from every token.
    pub issuer: String,
    /// `aud` written into and required from every token.
    pub audience: String,
    /// How long an issued token lives.
    pub ttl: Duration,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
}

impl JwtConfig {
    /// Defaults around `key`: issuer and audience `modelyard`, 1 h lifetime, 5 s leeway.
    pub fn new(key: JwtKey) -> Self {
        Self {
            key,
            issuer: "modelyard".to_owned(),
            audience: "modelyard".to_owned(),
            ttl: Duration::from_secs(60 * 60),
            leeway_secs: 5,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.issuer.trim().is_empty() {
            return Err(Error::validation("jwt_issuer", "must not be empty"));
        }
        if self.audience.trim().is_empty() {
            return Err(Error::validation("jwt_audience", "must not be empty"));
        }
        if self.ttl < Duration::from_secs(1) {
            return Err(Error::validation("jwt_ttl", "must be at least one second"));
        }
        // A large leeway silently extends every token's life and revives logged-out ones.
        if self.leeway_secs > 300 {
            return Err(Error::validation("jwt_leeway", "must be at most 300 seconds"));
        }
        Ok(())
    }
}

/// The key that signs and verifies access tokens. Built only through its checked constructors.
#[derive(Clone)]
pub struct JwtKey {
    material: KeyMaterial,
}

#[derive(Clone)]
pub(crate) enum KeyMaterial {
    Hs256 { secret: Vec<u8> },
    EdDsa { private_pkcs8: Vec<u8>, public_raw: Vec<u8> },
}

impl JwtKey {
    /// An HS256 key; refuses secrets shorter than [`MIN_HS256_SECRET_LEN`] bytes.
    pub fn hs256(secret: impl Into<Vec<u8>>) -> Result<Self> {
        let secret = secret.into();
        if secret.len() < MIN_HS256_SECRET_LEN {
            return Err(Error::validation(
                "jwt_secret",
                format!("must be at least {MIN_HS256_SECRET_LEN} bytes"),
            ));
        }
        Ok(Self { material: KeyMaterial::Hs256 { secret } })
    }

    /// An Ed25519 (EdDSA) key pair: the private key as PKCS#8 DER or a raw 32-byte seed, the
    /// public key as SubjectPublicKeyInfo DER or the raw 32 bytes. That the two belong together
    /// is checked when the service starts.
    pub fn eddsa(private_der: impl Into<Vec<u8>>, public_der: impl Into<Vec<u8>>) -> Result<Self> {
        let private_der = private_der.into();
        let public_der = public_der.into();
        let private_pkcs8 = match private_der.len() {
            32 => [ED25519_PKCS8_PREFIX.as_slice(), &private_der].concat(),
            // PKCS#8 v1 is 48 bytes; v2 (with the public key attached) is longer.
            48..=128 if private_der.starts_with(&ED25519_PKCS8_PREFIX[..2]) => private_der,
            _ => {
                return Err(Error::validation(
                    "jwt_private_key",
                    "expected an Ed25519 PKCS#8 DER key or a 32-byte seed",
                ));
            }
        };
        // jsonwebtoken slices the first 32 bytes of the public key: anything shorter would panic.
        let public_raw = match public_der.len() {
            32 => public_der,
            44 if public_der.starts_with(&ED25519_SPKI_PREFIX) => public_der[12..].to_vec(),
            _ => {
                return Err(Error::validation(
                    "jwt_public_key",
                    "expected an Ed25519 SubjectPublicKeyInfo DER key or 32 raw bytes",
                ));
            }
        };
        Ok(Self { material: KeyMaterial::EdDsa { private_pkcs8, public_raw } })
    }

    /// The one algorithm tokens under this key are signed and accepted with.
    pub fn algorithm(&self) -> Algorithm {
        match self.material {
            KeyMaterial::Hs256 { .. } => Algorithm::HS256,
            KeyMaterial::EdDsa { .. } => Algorithm::EdDSA,
        }
    }

    pub(crate) fn material(&self) -> &KeyMaterial {
        &self.material
    }
}

/// Keys never reach logs.
impl fmt::Debug for JwtKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "JwtKey({:?}, <redacted>)", self.algorithm())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_hs256_secret_is_refused() {
        let err = JwtKey::hs256(vec![7u8; 31]).unwrap_err();
        assert_eq!(err.field(), Some("jwt_secret"));
        assert!(JwtKey::hs256(vec![7u8; 32]).is_ok());
    }

    #[test]
    fn a_short_ed25519_public_key_is_refused_instead_of_panicking_later() {
        let err = JwtKey::eddsa(vec![1u8; 32], vec![2u8; 31]).unwrap_err();
        assert_eq!(err.field(), Some("jwt_public_key"));
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let key = JwtKey::hs256(b"super-secret-super-secret-super-secret".to_vec()).unwrap();
        assert!(!format!("{key:?}").contains("super-secret"));
    }

    #[test]
    fn a_zero_attempt_limit_is_refused() {
        let mut config = AuthConfig::new(JwtKey::hs256(vec![1u8; 32]).unwrap());
        config.login_limit.max_attempts = 0;
        assert_eq!(config.validate().unwrap_err().field(), Some("login_limit"));
    }
}
