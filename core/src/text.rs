//! Characters no name may hold: control characters (Unicode category Cc) and format characters
//! (Cf) — bidirectional overrides such as U+202E, which turn `evil\u{202e}vsc.exe` into
//! `evilexe.csv` on screen and in a download's file name, zero-width spaces and joiners that
//! make two names look the same, the byte-order mark.

use std::borrow::Cow;

use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};

use crate::{Error, Result};

/// Whether `c` is a control or format character.
pub fn is_invisible(c: char) -> bool {
    c.is_control() || c.general_category() == GeneralCategory::Format
}

/// Refuses `text` if it holds an invisible character, naming `field` and the character.
pub fn refuse_invisible(field: &str, text: &str) -> Result<()> {
    match text.chars().find(|c| is_invisible(*c)) {
        None => Ok(()),
        Some(c) => Err(Error::validation(
            field,
            format!(
                "must not contain control or invisible formatting characters (found U+{:04X})",
                u32::from(c)
            ),
        )),
    }
}

/// Query parameters that carry a password (`redis+unix:///run/redis.sock?pass=...`).
const PASSWORD_PARAMS: &[&str] = &["pass", "password"];

/// `url` with the password of its user information (`redis://:pw@host`,
/// `mongodb://user:pw@host`) and of its `pass`/`password` query parameters replaced.
pub fn redact_url(url: &str) -> Cow<'_, str> {
    let mut redacted = Cow::Borrowed(url);
    if let Some((start, end)) = userinfo_password(url) {
        redacted = Cow::Owned(format!("{}<redacted>{}", &url[..start], &url[end..]));
    }
    if let Some((base, query)) = redacted.split_once('?') {
        let mut changed = false;
        let params: Vec<Cow<'_, str>> = query
            .split('&')
            .map(|param| match param.split_once('=') {
                Some((name, _))
                    if PASSWORD_PARAMS.contains(&name.to_ascii_lowercase().as_str()) =>
                {
                    changed = true;
                    Cow::Owned(format!("{name}=<redacted>"))
                }
                _ => Cow::Borrowed(param),
            })
            .collect();
        if changed {
            redacted = Cow::Owned(format!("{base}?{}", params.join("&")));
        }
    }
    redacted
}

/// The byte range of the password in `scheme://user:password@host/...`, if there is one.
fn userinfo_password(url: &str) -> Option<(usize, usize)> {
    let authority_start = url.find("://")? + 3;
    let rest = &url[authority_start..];
    let authority = &rest[..rest.find(['/', '?', '#']).unwrap_or(rest.len())];
    // The last `@` ends the user information: a password may hold an unescaped one.
    let at = authority.rfind('@')?;
    let colon = authority[..at].find(':')?;
    Some((authority_start + colon + 1, authority_start + at))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bidi_overrides_zero_widths_and_controls_are_invisible() {
        for c in
            ['\u{202e}', '\u{202d}', '\u{2066}', '\u{200b}', '\u{200d}', '\u{feff}', '\u{7}', '\n']
        {
            assert!(is_invisible(c), "U+{:04X}", u32::from(c));
        }
        for c in ['a', 'é', '中', ' ', '-', '😀'] {
            assert!(!is_invisible(c), "{c}");
        }
        assert!(refuse_invisible("name", "sales 2024 — Q1").is_ok());
        let err = refuse_invisible("name", "invoice\u{202e}vsc.exe").unwrap_err();
        assert_eq!(err.field(), Some("name"));
        assert!(err.to_string().contains("U+202E"), "{err}");
    }

    #[test]
    fn url_passwords_are_redacted_and_the_rest_kept() {
        let cases = [
            ("redis://:pw@host:6379/0", "redis://:<redacted>@host:6379/0"),
            ("rediss://user:p@ss@host", "rediss://user:<redacted>@host"),
            ("mongodb://u:pw@a,b/db?tls=true", "mongodb://u:<redacted>@a,b/db?tls=true"),
            (
                "redis+unix:///run/r.sock?db=1&pass=pw",
                "redis+unix:///run/r.sock?db=1&pass=<redacted>",
            ),
            ("redis://user@host/0", "redis://user@host/0"),
            ("redis://host:6379/0", "redis://host:6379/0"),
            ("sled://./data", "sled://./data"),
        ];
        for (url, expected) in cases {
            assert_eq!(redact_url(url), expected, "{url}");
        }
    }
}
