//! Token and login-limit settings kept apart from the signing key: they can be given before the
//! key is known, since the development secret is only read (or created) when the store opens.

use std::time::Duration;

use modelyard_core::auth::AuthConfig;

/// Authentication settings besides the key; each `None` keeps [`AuthConfig::new`]'s default.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuthSettings {
    /// How long an issued access token lives.
    pub token_ttl: Option<Duration>,
    /// `iss` written into and required from every token.
    pub issuer: Option<String>,
    /// `aud` written into and required from every token.
    pub audience: Option<String>,
    /// Failed logins allowed per account in one window.
    pub login_max_failures: Option<u32>,
    /// The per-account window, also the longest a lockout lasts. The per-client limit keeps its
    /// own default window.
    pub login_window: Option<Duration>,
}

impl AuthSettings {
    /// Whether no setting is given (every default kept).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }

    /// `auth` with the given settings in place of its own.
    pub fn apply(&self, mut auth: AuthConfig) -> AuthConfig {
        if let Some(ttl) = self.token_ttl {
            auth.jwt.ttl = ttl;
        }
        if let Some(issuer) = &self.issuer {
            auth.jwt.issuer.clone_from(issuer);
        }
        if let Some(audience) = &self.audience {
            auth.jwt.audience.clone_from(audience);
        }
        if let Some(max_failures) = self.login_max_failures {
            auth.login_limit.max_attempts = max_failures;
        }
        if let Some(window) = self.login_window {
            auth.login_limit.window = window;
        }
        auth
    }
}
