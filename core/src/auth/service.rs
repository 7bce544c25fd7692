//! [`AuthService`]: accounts, logins and access tokens over a [`UserStore`] and a [`Cache`].

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use uuid::Uuid;

use super::account_fields::{email_key, validate_email, validate_username};
use super::config::AuthConfig;
use super::password::{
    MAX_PASSWORD_CHARS, PasswordCheck, StoredHash, check_password_policy, dummy_hash, hash_password,
};
use super::rate_limit::LoginLimiter;
use super::tokens::{INVALID_TOKEN, IssuedToken, TokenSigner};
use crate::{
    Cache, Error, Profile, PublicUser, Result, RevokedToken, Timestamp, User, UserId, UserStore,
    now,
};

/// The one answer to a failed login, whether the email is unknown or the password wrong.
pub const INVALID_CREDENTIALS: &str = "invalid email or password";
/// The answer to a wrong current password when changing it or deleting the account.
pub const WRONG_PASSWORD: &str = "the current password is incorrect";
/// The one answer to registering a taken email or username.
pub const ACCOUNT_TAKEN: &str = "email or username already registered";
/// Logged-out tokens a user's record keeps (each until it expires). A user logging out more
/// tokens than this within a token's lifetime (1 h by default) is logged out everywhere.
pub const MAX_REVOKED_TOKENS: usize = 64;

/// A caller proven by a valid, unrevoked access token.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The account, as currently stored.
    pub user: User,
    /// The token's id (`jti`).
    pub token_id: Uuid,
    /// When the token expires.
    pub expires_at: Timestamp,
}

/// Registration, login, access tokens and account changes.
///
/// Revocation lives in the user's record, so it is as durable as the account and no cache holds
/// the only copy of it (a flushed, restarted or evicting cache forgets nothing):
/// - password changes and [`AuthService::logout_all`] bump the user's `token_version`, killing
///   every older token;
/// - [`AuthService::logout`] adds the token's id to the user's `revoked_tokens` until the token
///   could no longer verify anyway. At most [`MAX_REVOKED_TOKENS`] are kept; a logout beyond
///   that revokes every token of the user instead (the list is never cut short).
///
/// Every check reads the user once (through the read-through cache, whose writes invalidate),
/// so revocation costs no extra read.
pub struct AuthService {
    users: Arc<dyn UserStore>,
    signer: TokenSigner,
    limiter: LoginLimiter,
    verifications: Arc<AtomicU64>,
    /// Argon2 runs at once: each holds `ARGON2_M_COST_KIB` (19 MiB) while it runs, so a burst
    /// of sign-ins from many addresses queues here instead of spending gigabytes at once.
    hashing: Arc<tokio::sync::Semaphore>,
    /// The most argon2 runs seen at once (for tests).
    hashing_now: Arc<AtomicU64>,
    hashing_peak: Arc<AtomicU64>,
}

impl std::fmt::Debug for AuthService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthService").field("signer", &self.signer).finish_non_exhaustive()
    }
}

impl AuthService {
    /// Checks `config` (key strength, a key pair that matches, sane limits) and builds the service.
    pub fn new(
        users: Arc<dyn UserStore>,
        cache: Arc<dyn Cache>,
        config: AuthConfig,
    ) -> Result<Self> {
        config.validate()?;
        let signer = TokenSigner::new(&config.jwt)?;
        let limiter = LoginLimiter::new(cache, config.login_limit, config.client_limit);
        let parallel = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
        Ok(Self {
            users,
            signer,
            limiter,
            verifications: Arc::default(),
            hashing: Arc::new(tokio::sync::Semaphore::new(parallel)),
            hashing_now: Arc::default(),
            hashing_peak: Arc::default(),
        })
    }

    /// Creates an account and signs its first token.
    ///
    /// A taken email or username is `Conflict` with one fixed message for both. This does tell a
    /// caller that *some* account holds that email or name — unavoidable when registration
    /// answers immediately, so deployments throttle the register route; the hash is computed
    /// before the store is asked, so a taken and a free email take the same time.
    pub async fn register(
        &self,
        username: &str,
        email: &str,
        password: &str,
    ) -> Result<(User, IssuedToken)> {
        validate_username(username)?;
        let email = validate_email(email)?;
        check_password_policy(password, username, email)?;
        let password_hash = self.hash(password).await?;
        let user = User {
            id: UserId::new(),
            username: username.to_owned(),
            email: email.to_owned(),
            password_hash,
            profile: Profile { display_name: username.to_owned(), created_at: now() },
            token_version: 0,
            revoked_tokens: Vec::new(),
        };
        match self.users.create_user(&user).await {
            Err(Error::Conflict(_)) => return Err(Error::Conflict(ACCOUNT_TAKEN.to_owned())),
            other => other?,
        }
        let token = self.signer.issue(user.id, user.token_version)?;
        Ok((user, token))
    }

    /// Checks an email and password and signs a token.
    ///
    /// `client` is the caller's address as the server sees it, for the per-client limit. An
    /// unknown email and a wrong password both cost one argon2 verification and both answer
    /// `Unauthorized(INVALID_CREDENTIALS)`. A hash not made with the pinned parameters is
    /// replaced after a success. A stored hash with absurd parameters is `Internal`.
    pub async fn login(
        &self,
        email: &str,
        password: &str,
        client: Option<&str>,
    ) -> Result<(User, IssuedToken)> {
        let key = email_key(email)?;
        self.limiter.admit(&key, client).await?;
        let user = self.users.find_user_by_email(&key).await?;
        let check = self.verify(user.as_ref().map(|u| u.password_hash.clone()), password).await?;
        let (user, needs_rehash) = match (user, check) {
            (Some(user), PasswordCheck::Match { needs_rehash }) => (user, needs_rehash),
            _ => return Err(Error::Unauthorized(INVALID_CREDENTIALS.into())),
        };
        if let Err(err) = self.limiter.forgive(&key, client).await {
            tracing::warn!(%err, "could not reset the login counter after a success");
        }
        // Signed with the version we verified against: a concurrent password change wins.
        let token = self.signer.issue(user.id, user.token_version)?;
        let user = if needs_rehash { self.upgrade_hash(user, password).await } else { user };
        Ok((user, token))
    }

    /// The user a token belongs to, after every check of [`AuthService::principal`].
    pub async fn authenticate(&self, token: &str) -> Result<User> {
        Ok(self.principal(token).await?.user)
    }

    /// Verifies a token (signature, algorithm, claims), then, from one read of its user, that
    /// the user still exists, that its token version is current and that the token was not
    /// logged out. Every refusal is `Unauthorized("invalid or expired token")`; an unreadable
    /// record store is `Unavailable` (retryable), never a token accepted unchecked.
    pub async fn principal(&self, token: &str) -> Result<Principal> {
        let refused = || Error::Unauthorized(INVALID_TOKEN.into());
        let claims = self.signer.verify(token)?;
        let user = match self.users.get_user(claims.user).await {
            Ok(user) => user,
            Err(Error::NotFound(_)) => return Err(refused()),
            Err(err) => return Err(err),
        };
        if user.token_version != claims.token_version
            || user.revoked_tokens.iter().any(|revoked| revoked.id == claims.token_id)
        {
            return Err(refused());
        }
        Ok(Principal { user, token_id: claims.token_id, expires_at: claims.expires_at })
    }

    /// When a token expires, checking only what needs no store (signature and claims): pair
    /// it with [`AuthService::authenticate`] for revocation.
    pub fn expires_at(&self, token: &str) -> Result<Timestamp> {
        Ok(self.signer.verify(token)?.expires_at)
    }

    /// The public profile of the token's user.
    pub async fn me(&self, token: &str) -> Result<PublicUser> {
        Ok(self.authenticate(token).await?.public())
    }

    /// Revokes one token, durably: its id is kept in the user's record until the token could
    /// no longer verify anyway (expiry plus leeway). Past [`MAX_REVOKED_TOKENS`] live ones,
    /// every token of the user is revoked instead.
    pub async fn logout(&self, token: &str) -> Result<()> {
        let principal = self.principal(token).await?;
        let leeway = chrono::Duration::from_std(self.signer.leeway()).unwrap_or_default();
        let revoked = RevokedToken {
            id: principal.token_id,
            until: principal.expires_at + leeway + chrono::Duration::seconds(1),
        };
        let mut mutation = move |u: &mut User| {
            // Only a version-current token gets here; a concurrent logout-all already killed it.
            let now = now();
            u.revoked_tokens.retain(|r| r.until > now && r.id != revoked.id);
            if u.revoked_tokens.len() >= MAX_REVOKED_TOKENS {
                u.revoked_tokens.clear();
                return bump_token_version(u);
            }
            u.revoked_tokens.push(revoked.clone());
            Ok(())
        };
        self.users.update_user(principal.user.id, &mut mutation).await.map(drop)
    }

    /// Revokes every token of `user` by bumping its token version (durable, in the record store).
    pub async fn logout_all(&self, user: UserId) -> Result<()> {
        self.users.update_user(user, &mut |u: &mut User| bump_token_version(u)).await.map(drop)
    }

    /// Replaces the password after checking the current one; every existing token dies.
    /// Wrong current passwords count against the account's login limit.
    pub async fn change_password(&self, user: UserId, current: &str, new: &str) -> Result<()> {
        let stored = self.users.get_user(user).await?;
        check_password_policy(new, &stored.username, &stored.email)?;
        self.confirm_password(&stored, current).await?;
        let new_hash = self.hash(new).await?;
        let verified_hash = stored.password_hash;
        let mut mutation = move |u: &mut User| {
            // Someone changed it since we checked: theirs wins, ours was checked against the old.
            if u.password_hash != verified_hash {
                return Err(Error::Conflict("the password was changed concurrently".to_owned()));
            }
            u.password_hash = new_hash.clone();
            bump_token_version(u)
        };
        self.users.update_user(user, &mut mutation).await.map(drop)
    }

    /// Deletes the account after checking its password; its tokens stop verifying at once.
    ///
    /// `erase` removes what the account owns (see [`crate::workspace::WorkspaceService::erase`]).
    /// It runs once the password is confirmed and before the account goes, so a failure leaves
    /// an account that can try again, and once more after, for anything a request already past
    /// its token check created in between.
    pub async fn delete_account<F, Fut>(&self, user: UserId, password: &str, erase: F) -> Result<()>
    where
        F: Fn() -> Fut,
        Fut: std::future::Future<Output = Result<()>>,
    {
        let stored = self.users.get_user(user).await?;
        self.confirm_password(&stored, password).await?;
        erase().await?;
        self.users.delete_user(user).await?;
        erase().await
    }

    /// The issuer of this service's tokens (for callers that mint tokens themselves).
    pub fn signer(&self) -> &TokenSigner {
        &self.signer
    }

    /// How many argon2 verifications this service has run: lets tests prove that an unknown
    /// email costs exactly what a wrong password costs without timing anything.
    pub fn password_verifications(&self) -> u64 {
        self.verifications.load(Ordering::Relaxed)
    }

    /// Rate-limited check of `password` against `user`'s stored hash.
    async fn confirm_password(&self, user: &User, password: &str) -> Result<()> {
        let key = user.email_key();
        self.limiter.admit(&key, None).await?;
        match self.verify(Some(user.password_hash.clone()), password).await? {
            PasswordCheck::Match { .. } => {
                if let Err(err) = self.limiter.forgive(&key, None).await {
                    tracing::warn!(%err, "could not reset the login counter after a success");
                }
                Ok(())
            }
            PasswordCheck::Mismatch => Err(Error::Unauthorized(WRONG_PASSWORD.into())),
        }
    }

    /// One argon2 verification off the executor: against `stored`, or the dummy hash when there
    /// is no account. Over-long passwords are refused unhashed (no account has one).
    async fn verify(&self, stored: Option<String>, password: &str) -> Result<PasswordCheck> {
        if password.chars().count() > MAX_PASSWORD_CHARS {
            return Ok(PasswordCheck::Mismatch);
        }
        let password = password.to_owned();
        let verifications = self.verifications.clone();
        let known_user = stored.is_some();
        let turn = self.hashing_turn().await?;
        let outcome = tokio::task::spawn_blocking(move || -> Result<PasswordCheck> {
            let _turn = turn;
            let parsed;
            let hash = match &stored {
                Some(phc) => {
                    parsed = StoredHash::parse(phc)?;
                    &parsed
                }
                None => dummy_hash()?,
            };
            verifications.fetch_add(1, Ordering::Relaxed);
            let check = hash.check(&password);
            Ok(if known_user { check } else { PasswordCheck::Mismatch })
        })
        .await
        .map_err(|err| Error::internal(format!("password verification task: {err}")))?;
        if let Err(err) = &outcome {
            tracing::error!(%err, known_user, "stored password hash refused");
        }
        outcome
    }

    async fn hash(&self, password: &str) -> Result<String> {
        let password = password.to_owned();
        let turn = self.hashing_turn().await?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            hash_password(&password)
        })
        .await
        .map_err(|err| Error::internal(format!("password hashing task: {err}")))?
    }

    /// Waits for a turn to run argon2; the turn ends when the returned guard drops, on the
    /// blocking thread once the hash is done (even if the caller went away meanwhile).
    async fn hashing_turn(&self) -> Result<HashingTurn> {
        let permit = self
            .hashing
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| Error::internal("the password hashing queue is closed"))?;
        let now = self.hashing_now.fetch_add(1, Ordering::SeqCst) + 1;
        self.hashing_peak.fetch_max(now, Ordering::SeqCst);
        Ok(HashingTurn { _permit: permit, now: self.hashing_now.clone() })
    }

    /// The most argon2 runs that were ever in progress at once: never more than the machine's
    /// cores, however many sign-ins arrive together.
    pub fn peak_concurrent_hashes(&self) -> u64 {
        self.hashing_peak.load(Ordering::SeqCst)
    }

    /// Re-hashes with the pinned parameters after a successful login; best effort, since the
    /// login itself already succeeded.
    async fn upgrade_hash(&self, user: User, password: &str) -> User {
        let new_hash = match self.hash(password).await {
            Ok(hash) => hash,
            Err(err) => {
                tracing::warn!(%err, user = %user.id, "password re-hash failed");
                return user;
            }
        };
        let verified_hash = user.password_hash.clone();
        let mut mutation = move |u: &mut User| {
            if u.password_hash != verified_hash {
                return Err(Error::Conflict("the password was changed concurrently".to_owned()));
            }
            u.password_hash = new_hash.clone();
            Ok(())
        };
        match self.users.update_user(user.id, &mut mutation).await {
            Ok(updated) => updated,
            Err(err) => {
                tracing::warn!(%err, user = %user.id, "storing the re-hashed password failed");
                user
            }
        }
    }
}

fn bump_token_version(user: &mut User) -> Result<()> {
    // Wrapping would bring a long-dead token version back to life.
    user.token_version = user
        .token_version
        .checked_add(1)
        .ok_or_else(|| Error::internal("token version exhausted"))?;
    // Every token of the old version is dead: none needs remembering one by one.
    user.revoked_tokens.clear();
    Ok(())
}

/// One argon2 run's place in [`AuthService`]'s queue.
struct HashingTurn {
    _permit: tokio::sync::OwnedSemaphorePermit,
    now: Arc<AtomicU64>,
}

impl Drop for HashingTurn {
    fn drop(&mut self) {
        self.now.fetch_sub(1, Ordering::SeqCst);
    }
}
