//! Password policy and argon2id hashing with pinned parameters.
//!
//! Stored hashes are inspected before any hashing: a record whose parameters are absurd (a
//! tampered or foreign hash) is refused without spending its CPU and memory, and a hash made
//! with anything but the pinned parameters is flagged for re-hashing after the next success.

use std::sync::OnceLock;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use super::common_passwords::is_common_password;
use crate::{Error, Result, normalize_email};

/// Fewest characters (not bytes) a password may have.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters a password may have; bounds hashing input without ever truncating.
pub const MAX_PASSWORD_CHARS: usize = 128;

/// Pinned argon2id memory cost in KiB (OWASP's 19 MiB, t=2, p=1 profile).
pub const ARGON2_M_COST_KIB: u32 = 19_456;
/// Pinned argon2id iterations.
pub const ARGON2_T_COST: u32 = 2;
/// Pinned argon2id parallelism.
pub const ARGON2_P_COST: u32 = 1;

/// Largest memory cost a stored hash may ask for before it is refused as tampered (256 MiB).
pub const MAX_STORED_M_COST_KIB: u32 = 262_144;
/// Largest iteration count a stored hash may ask for.
pub const MAX_STORED_T_COST: u32 = 10;
/// Largest parallelism a stored hash may ask for.
pub const MAX_STORED_P_COST: u32 = 4;

/// Checks a new password: 8..=128 characters, not a common password, not the username or email.
pub fn check_password_policy(password: &str, username: &str, email: &str) -> Result<()> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(Error::validation(
            "password",
            format!("must be at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(Error::validation(
            "password",
            format!("must be at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    if is_common_password(password) {
        return Err(Error::validation("password", "is too common; choose a less guessable one"));
    }
    let lowered = password.to_lowercase();
    if lowered == username.to_lowercase() || lowered == normalize_email(email) {
        return Err(Error::validation("password", "must not be your username or email"));
    }
    Ok(())
}

/// Hashes a password with argon2id and the pinned parameters into a PHC string. CPU-bound
/// (tens of milliseconds): call it off the async executor.
pub fn hash_password(password: &str) -> Result<String> {
    let params = Params::new(ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST, None)
        .map_err(|err| Error::internal(format!("argon2 parameters: {err}")))?;
    let salt = SaltString::generate(&mut OsRng);
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| Error::internal(format!("argon2 hashing: {err}")))
}

/// The outcome of checking a password against a stored hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordCheck {
    /// The password is wrong.
    Mismatch,
    /// The password is right; `needs_rehash` when the hash was made with other parameters.
    Match {
        /// Whether the stored hash should be replaced by one with the pinned parameters.
        needs_rehash: bool,
    },
}

/// A stored PHC string that passed inspection: argon2id, parameters within bounds.
#[derive(Debug, Clone)]
pub struct StoredHash {
    phc: String,
    version: Version,
    params: Params,
    needs_rehash: bool,
}

impl StoredHash {
    /// Parses and inspects a stored hash without hashing anything. A hash that is not argon2id,
    /// cannot be parsed, or asks for more than the `MAX_STORED_*` bounds is an `Internal` error.
    pub fn parse(phc: &str) -> Result<Self> {
        let hash = PasswordHash::new(phc)
            .map_err(|err| Error::internal(format!("stored password hash is malformed: {err}")))?;
        if Algorithm::try_from(hash.algorithm).ok() != Some(Algorithm::Argon2id) {
            return Err(Error::internal(format!(
                "stored password hash uses {}, not argon2id",
                hash.algorithm
            )));
        }
        let version = match hash.version.map(Version::try_from).transpose() {
            Ok(version) => version.unwrap_or_default(),
            Err(err) => {
                return Err(Error::internal(format!("stored password hash version: {err}")));
            }
        };
        let params = Params::try_from(&hash)
            .map_err(|err| Error::internal(format!("stored password hash parameters: {err}")))?;
        let (m, t, p) = (params.m_cost(), params.t_cost(), params.p_cost());
        if m > MAX_STORED_M_COST_KIB || t > MAX_STORED_T_COST || p > MAX_STORED_P_COST {
            return Err(Error::internal(format!(
                "stored password hash parameters out of bounds (m={m}, t={t}, p={p}); refused before hashing"
            )));
        }
        if hash.salt.is_none() || hash.hash.is_none() {
            return Err(Error::internal("stored password hash has no salt or output"));
        }
        // Anything but the exact pinned profile is re-hashed: weaker hashes get stronger, and
        // stronger ones stop costing more than the policy budgets per login.
        let needs_rehash = version != Version::V0x13
            || (m, t, p) != (ARGON2_M_COST_KIB, ARGON2_T_COST, ARGON2_P_COST)
            || params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)
                != Params::DEFAULT_OUTPUT_LEN
            || !params.keyid().is_empty()
            || !params.data().is_empty();
        Ok(Self { phc: phc.to_owned(), version, params, needs_rehash })
    }

    /// Whether this hash was made with anything other than the pinned parameters.
    pub fn needs_rehash(&self) -> bool {
        self.needs_rehash
    }

    /// Hashes `password` with this hash's (bounded) parameters and compares in constant time.
    pub fn check(&self, password: &str) -> PasswordCheck {
        let Ok(hash) = PasswordHash::new(&self.phc) else {
            return PasswordCheck::Mismatch;
        };
        let argon2 = Argon2::new(Algorithm::Argon2id, self.version, self.params.clone());
        match argon2.verify_password(password.as_bytes(), &hash) {
            Ok(()) => PasswordCheck::Match { needs_rehash: self.needs_rehash },
            Err(_) => PasswordCheck::Mismatch,
        }
    }
}

/// Inspects `stored`, then checks `password` against it. CPU-bound: call it off the executor.
pub fn verify_password(password: &str, stored: &str) -> Result<PasswordCheck> {
    Ok(StoredHash::parse(stored)?.check(password))
}

/// A hash of a random password with the pinned parameters, checked for unknown accounts so
/// that "no such user" costs the same as "wrong password".
pub(crate) fn dummy_hash() -> Result<&'static StoredHash> {
    static DUMMY: OnceLock<Result<StoredHash>> = OnceLock::new();
    DUMMY
        .get_or_init(|| {
            let secret = SaltString::generate(&mut OsRng);
            StoredHash::parse(&hash_password(secret.as_str())?)
        })
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hash_with(algorithm: Algorithm, m: u32, t: u32, p: u32, password: &str) -> String {
        let params = Params::new(m, t, p, None).unwrap();
        let salt = SaltString::generate(&mut OsRng);
        Argon2::new(algorithm, Version::V0x13, params)
            .hash_password(password.as_bytes(), &salt)
            .unwrap()
            .to_string()
    }

    fn policy(password: &str) -> Result<()> {
        check_password_policy(password, "alice", "alice@example.com")
    }

    #[test]
    fn seven_characters_are_refused_and_eight_accepted() {
        assert_eq!(policy("Zq7#mK2").unwrap_err().field(), Some("password"));
        assert!(policy("Zq7#mK2w").is_ok());
    }

    #[test]
    fn length_counts_characters_not_bytes() {
        // Seven multi-byte characters are 21 bytes but still too short.
        assert!(policy("ééééééé").is_err());
        assert!(policy("éééééééé").is_ok());
    }

    #[test]
    fn sixty_four_and_one_hundred_twenty_eight_characters_are_accepted() {
        assert!(policy(&"Xk9!".repeat(16)).is_ok());
        assert!(policy(&"Xk9!".repeat(32)).is_ok());
    }

    #[test]
    fn one_hundred_twenty_nine_characters_are_refused() {
        let long = format!("{}a", "Xk9!".repeat(32));
        assert_eq!(long.chars().count(), 129);
        assert_eq!(policy(&long).unwrap_err().field(), Some("password"));
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for common in ["password", "PASSWORD1", "12345678", "QwErTyUiOp", "iloveyou1", "Sunshine1"]
        {
            assert_eq!(policy(common).unwrap_err().field(), Some("password"), "{common}");
        }
    }

    #[test]
    fn the_username_or_email_as_password_is_refused() {
        assert!(check_password_policy("AliceSmith", "alicesmith", "a@example.com").is_err());
        assert!(check_password_policy("Bob@Example.com", "bob", "bob@example.com").is_err());
    }

    #[test]
    fn a_long_password_is_never_truncated() {
        let password = "Xk9!".repeat(32);
        let hash = hash_password(&password).unwrap();
        assert_eq!(
            verify_password(&password, &hash).unwrap(),
            PasswordCheck::Match { needs_rehash: false }
        );
        let mut changed = password.clone();
        changed.replace_range(127.., "?");
        assert_eq!(verify_password(&changed, &hash).unwrap(), PasswordCheck::Mismatch);
        let mut changed_early = password.clone();
        changed_early.replace_range(70..71, "?");
        assert_eq!(verify_password(&changed_early, &hash).unwrap(), PasswordCheck::Mismatch);
    }

    #[test]
    fn new_hashes_use_the_pinned_argon2id_parameters() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
        assert!(!StoredHash::parse(&hash).unwrap().needs_rehash());
    }

    #[test]
    fn a_hash_with_absurd_memory_cost_is_refused_before_hashing() {
        let real = hash_password("correct horse battery").unwrap();
        let tampered = real.replace("m=19456", "m=4194304");
        let err = StoredHash::parse(&tampered).unwrap_err();
        assert_eq!(err.code(), "INTERNAL");
        assert!(err.to_string().contains("refused before hashing"), "{err}");
        // verify_password inspects first, so it fails the same way instead of allocating 4 GiB.
        assert_eq!(verify_password("correct horse battery", &tampered).unwrap_err(), err);
    }

    #[test]
    fn hashes_with_absurd_time_or_parallelism_are_refused() {
        let real = hash_password("correct horse battery").unwrap();
        for tampered in [real.replace("t=2", "t=1000000"), real.replace("p=1", "p=64")] {
            let err = StoredHash::parse(&tampered).unwrap_err();
            assert!(err.to_string().contains("out of bounds"), "{tampered}: {err}");
        }
    }

    #[test]
    fn hashes_that_are_not_argon2id_are_refused() {
        let argon2i = hash_with(Algorithm::Argon2i, 19_456, 2, 1, "pw");
        assert_eq!(StoredHash::parse(&argon2i).unwrap_err().code(), "INTERNAL");
        let bcrypt = "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW";
        assert_eq!(StoredHash::parse(bcrypt).unwrap_err().code(), "INTERNAL");
        assert_eq!(StoredHash::parse("").unwrap_err().code(), "INTERNAL");
    }

    #[test]
    fn a_below_policy_hash_still_verifies_and_asks_for_a_rehash() {
        let weak = hash_with(Algorithm::Argon2id, 19_456, 1, 1, "correct horse battery");
        assert_eq!(
            verify_password("correct horse battery", &weak).unwrap(),
            PasswordCheck::Match { needs_rehash: true }
        );
        let small = hash_with(Algorithm::Argon2id, 4_096, 2, 1, "correct horse battery");
        assert!(StoredHash::parse(&small).unwrap().needs_rehash());
    }

    #[test]
    fn the_dummy_hash_costs_what_a_real_one_costs() {
        let dummy = dummy_hash().unwrap();
        assert!(!dummy.needs_rehash());
        assert_eq!(dummy.check("anything at all"), PasswordCheck::Mismatch);
    }
}
