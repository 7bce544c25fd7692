//! What one CSV cell holds: the rules shared by schema inference and table loading, so a value
//! is read the same way when the schema is inferred and when a model later consumes it.

/// Cells meaning "no value", compared case-insensitively after trimming surrounding whitespace.
///
/// The empty cell, `NA`, `N/A`, `NaN`, `null`, `None`, `?`, `#N/A` and `<NA>`: the markers
/// pandas, R and the UCI repository write.
pub const MISSING_MARKERS: [&str; 10] =
    ["", "na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "<na>"];

/// One cell, classified.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cell<'a> {
    /// A missing marker.
    Missing,
    /// A finite number.
    Number(f64),
    /// `inf`, `-Infinity`, or a literal too large for an `f64` (`1e400`).
    NonFinite,
    /// Anything else, trimmed.
    Text(&'a str),
}

/// Whether `value` (already trimmed) is a missing marker.
pub(crate) fn is_missing(value: &str) -> bool {
    MISSING_MARKERS.iter().any(|marker| value.eq_ignore_ascii_case(marker))
}

/// Classifies a raw cell. Surrounding whitespace is never part of a value.
pub(crate) fn classify(raw: &str) -> Cell<'_> {
    let value = trim(raw);
    // No marker starts with a digit: most cells of most files skip the comparisons.
    if !value.starts_with(|c: char| c.is_ascii_digit()) && is_missing(value) {
        return Cell::Missing;
    }
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Cell::Number(number),
        Ok(number) if number.is_nan() => Cell::Missing,
        Ok(_) => Cell::NonFinite,
        Err(_) => Cell::Text(value),
    }
}

/// `raw` without surrounding whitespace; most cells have none, which is quick to see.
pub(crate) fn trim(raw: &str) -> &str {
    let bytes = raw.as_bytes();
    let solid = |b: Option<&u8>| b.is_some_and(u8::is_ascii_graphic);
    if solid(bytes.first()) && solid(bytes.last()) { raw } else { raw.trim() }
}

/// A value shortened for an error message, so a 64 KiB cell does not become a 64 KiB message.
pub(crate) fn excerpt(value: &str) -> String {
    const MAX_CHARS: usize = 40;
    if value.chars().count() <= MAX_CHARS {
        value.to_owned()
    } else {
        let head: String = value.chars().take(MAX_CHARS).collect();
        format!("{head}...")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_markers_are_missing_in_any_case() {
        for raw in ["", "  ", "NA", "n/a", "NaN", "nan", "NULL", "None", "?", " ? ", "#N/A", "<NA>"]
        {
            assert_eq!(classify(raw), Cell::Missing, "{raw:?}");
        }
    }

    #[test]
    fn numbers_are_finite_and_trimmed() {
        assert_eq!(classify(" -1.5 "), Cell::Number(-1.5));
        assert_eq!(classify("1e3"), Cell::Number(1000.0));
        assert_eq!(classify("+7"), Cell::Number(7.0));
    }

    #[test]
    fn infinities_are_non_finite() {
        for raw in ["inf", "-inf", "+Infinity", "-Infinity", "1e400"] {
            assert_eq!(classify(raw), Cell::NonFinite, "{raw:?}");
        }
    }

    #[test]
    fn other_values_are_text() {
        assert_eq!(classify(" setosa "), Cell::Text("setosa"));
        assert_eq!(classify("1,5"), Cell::Text("1,5"));
        assert_eq!(classify("0x10"), Cell::Text("0x10"));
    }

    #[test]
    fn long_values_are_shortened_in_messages() {
        assert_eq!(excerpt(&"é".repeat(100)).chars().count(), 43);
        assert_eq!(excerpt("short"), "short");
    }
}
