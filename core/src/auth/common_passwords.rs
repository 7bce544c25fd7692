//! The list of passwords too common to accept: well-known leaked passwords of at least eight
//! characters and the usual suffix variants of the most common base words.

use std::collections::HashSet;
use std::sync::OnceLock;

/// One lower-cased password a line; only entries that would pass the length rule are listed.
const LIST: &str = include_str!("common-passwords.txt");

/// Whether `password` is on the list, compared case-insensitively.
pub fn is_common_password(password: &str) -> bool {
    static SET: OnceLock<HashSet<&'static str>> = OnceLock::new();
    let set = SET.get_or_init(|| LIST.lines().map(str::trim).filter(|l| !l.is_empty()).collect());
    set.contains(password.to_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_holds_hundreds_of_lower_cased_entries_of_eight_or_more_characters() {
        let entries: Vec<&str> = LIST.lines().collect();
        assert!(entries.len() >= 500, "{}", entries.len());
        for entry in entries {
            assert_eq!(entry, entry.to_lowercase(), "{entry}");
            assert!(entry.chars().count() >= 8, "{entry}");
        }
    }

    #[test]
    fn lookups_ignore_case() {
        assert!(is_common_password("Password1"));
        assert!(is_common_password("QWERTYUIOP"));
        assert!(!is_common_password("violet-kettle-harbour"));
    }
}
