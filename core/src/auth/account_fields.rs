//! Username and email rules. Both are plain strings checked character by character, so text
//! shaped like a query operator (`{"$ne": ""}`, `$where`) is just an invalid value.

use crate::{Error, Result, normalize_email};

/// Most characters a username may have.
pub const MAX_USERNAME_CHARS: usize = 32;
/// Fewest characters a username may have.
pub const MIN_USERNAME_CHARS: usize = 3;
/// Most characters an email address may have (RFC 5321 path limit).
pub const MAX_EMAIL_CHARS: usize = 254;
/// Most characters the part before `@` may have (RFC 5321).
const MAX_LOCAL_PART_CHARS: usize = 64;

/// Checks a username: 3..=32 of `[A-Za-z0-9_.-]`.
pub fn validate_username(username: &str) -> Result<()> {
    let len = username.chars().count();
    if !(MIN_USERNAME_CHARS..=MAX_USERNAME_CHARS).contains(&len) {
        return Err(Error::validation(
            "username",
            format!("must be {MIN_USERNAME_CHARS} to {MAX_USERNAME_CHARS} characters"),
        ));
    }
    if !username.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-')) {
        return Err(Error::validation(
            "username",
            "may only contain letters, digits, '_', '.' and '-'",
        ));
    }
    Ok(())
}

/// Checks an email address and returns it trimmed. Deliberately stricter than RFC 5322 (no
/// quoted local parts, no `$`, braces or quotes anywhere) so no stored address can be mistaken
/// for markup or a query operator by a downstream system.
pub fn validate_email(email: &str) -> Result<&str> {
    let invalid = || Error::validation("email", "is not a valid email address");
    let email = email.trim();
    if email.is_empty() || email.chars().count() > MAX_EMAIL_CHARS {
        return Err(invalid());
    }
    let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
    if domain.contains('@') {
        return Err(invalid());
    }
    let local_ok = !local.is_empty()
        && local.chars().count() <= MAX_LOCAL_PART_CHARS
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local.chars().all(is_local_part_char);
    let domain_ok = domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok { Ok(email) } else { Err(invalid()) }
}

/// RFC 5322 atext minus `$`, `{`, `}` and `` ` ``, plus non-ASCII letters (internationalised
/// addresses). Whitespace, control characters and quotes are never allowed.
fn is_local_part_char(c: char) -> bool {
    c.is_alphanumeric()
        || matches!(c, '.' | '!' | '#' | '%' | '&' | '\'' | '*' | '+' | '/' | '=' | '?' | '^')
        || matches!(c, '_' | '|' | '~' | '-')
}

/// The key under which counters and lookups find an address: validated, then normalised.
pub fn email_key(email: &str) -> Result<String> {
    validate_email(email).map(normalize_email)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_follow_the_character_and_length_rules() {
        for good in ["bob", "alice_smith", "a.b-c_d", &"x".repeat(32)] {
            assert!(validate_username(good).is_ok(), "{good}");
        }
        for bad in ["ab", "", &"x".repeat(33), "al ice", "bob$", "{\"$ne\":\"\"}", "zoë", "a/b"] {
            assert_eq!(validate_username(bad).unwrap_err().field(), Some("username"), "{bad}");
        }
    }

    #[test]
    fn ordinary_addresses_are_accepted_and_trimmed() {
        for good in ["a@b.co", "Alice.Smith+ml@Example.COM", "x_y-z@sub.example.org", "ü@bü.de"] {
            assert!(validate_email(good).is_ok(), "{good}");
        }
        assert_eq!(validate_email("  a@b.co \n").unwrap(), "a@b.co");
    }

    #[test]
    fn operator_shaped_text_is_an_invalid_email() {
        for bad in [
            r#"{"$ne": ""}"#,
            r#"{"$ne":""}"#,
            r#"{"$gt": ""}"#,
            "$gt",
            "$gt@example.com",
            r#"{"$where": "1"}"#,
            "$where@example.com",
            "a@$where.com",
            r#"{"$regex": ".*"}@example.com"#,
        ] {
            assert_eq!(validate_email(bad).unwrap_err().field(), Some("email"), "{bad}");
        }
    }

    #[test]
    fn malformed_addresses_are_refused() {
        let long_local = format!("{}@example.com", "a".repeat(65));
        let too_long = format!("a@{}.com", "b".repeat(250));
        for bad in [
            "",
            "   ",
            "plain",
            "@example.com",
            "a@",
            "a@b",
            "a@@b.com",
            "a@b@c.com",
            "a b@c.com",
            "a@b .com",
            "a\u{0}@b.com",
            "a\t@b.com",
            "a@b..com",
            "a@-b.com",
            ".a@b.com",
            "a..b@c.com",
            "\"a\"@b.com",
            long_local.as_str(),
            too_long.as_str(),
        ] {
            assert_eq!(validate_email(bad).unwrap_err().field(), Some("email"), "{bad:?}");
        }
    }

    #[test]
    fn the_email_key_is_lower_cased() {
        assert_eq!(email_key(" Alice@Example.COM ").unwrap(), "alice@example.com");
    }
}
