//! Characters no name may hold: control characters (Unicode category Cc) and format characters
//! (Cf) — bidirectional overrides such as U+202E, which turn `evil\u{202e}vsc.exe` into
//! `evilexe.csv` on screen and in a download's file name, zero-width spaces and joiners that
//! make two names look the same, the byte-order mark.

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
}
