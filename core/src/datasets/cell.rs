//! What one CSV cell holds: the rules shared by schema inference and table loading, so a value
//! is read the same way when the schema is inferred and when a model later consumes it.

/// Cells meaning "no value", compared case-insensitively after trimming surrounding whitespace.
///
/// The empty cell, `NA`, `N/A`, `NaN`, `null`, `None`, `?`, `#N/A` and `<NA>`: the markers
/// pandas, R and the UCI repository write.
pub const MISSING_MARKERS: [&str; 10] =
    ["", "na", "n/a", "nan", "-nan", "null", "none", "?", "#n/a", "<na>"];

/// The length of the longest of [`MISSING_MARKERS`], in bytes.
const LONGEST_MARKER: usize = 4;

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
    value.len() <= LONGEST_MARKER
        && MISSING_MARKERS.iter().any(|marker| value.eq_ignore_ascii_case(marker))
}

/// Classifies a raw cell. Surrounding whitespace is never part of a value.
pub(crate) fn classify(raw: &str) -> Cell<'_> {
    // Most cells of most files: no whitespace, no marker, a plain decimal.
    if let Some(number) = plain_decimal(raw.as_bytes()) {
        return Cell::Number(number);
    }
    let value = trim(raw);
    // No marker starts with a digit: most cells of most files skip the comparisons.
    if !value.starts_with(|c: char| c.is_ascii_digit()) && is_missing(value) {
        return Cell::Missing;
    }
    match parse_number(value) {
        Ok(number) if number.is_finite() => Cell::Number(number),
        Ok(number) if number.is_nan() => Cell::Missing,
        Ok(_) => Cell::NonFinite,
        Err(_) => Cell::Text(value),
    }
}

/// `value` as an `f64`, by the rules of `str::parse::<f64>` (a test holds them to it), with
/// fast-float's parser: parsing numbers is most of a numeric file's profile.
pub(crate) fn parse_number(value: &str) -> Result<f64, fast_float2::Error> {
    match plain_decimal(value.as_bytes()) {
        Some(number) => Ok(number),
        None => fast_float2::parse(value),
    }
}

/// Powers of ten an `f64` holds exactly.
const EXACT_POWERS_OF_TEN: [f64; 17] =
    [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16];

/// The commonest number of a CSV file, `-0.586717`, read without the general parser's set-up:
/// an optional sign, then at most 17 characters of digits with at most one point and at least
/// one digit, worth at most 2^53 units of its last digit. `None` for anything else, which the
/// general parser reads.
///
/// The digits as an integer and the power of ten are then both exact `f64`s, so one IEEE 754
/// division, which rounds correctly, gives the correctly rounded value `str::parse` gives
/// (Clinger's fast path).
fn plain_decimal(text: &[u8]) -> Option<f64> {
    let negative = text.first() == Some(&b'-');
    let body = match text.first() {
        Some(b'-' | b'+') => &text[1..],
        _ => text,
    };
    if body.is_empty() || body.len() > EXACT_POWERS_OF_TEN.len() || body == b"." {
        return None;
    }
    let mut digits = 0_u64;
    let mut point = None;
    for (index, &byte) in body.iter().enumerate() {
        let digit = byte.wrapping_sub(b'0');
        if digit < 10 {
            digits = digits * 10 + u64::from(digit);
        } else if byte == b'.' && point.is_none() {
            point = Some(index);
        } else {
            return None;
        }
    }
    if digits > 1 << 53 {
        return None;
    }
    let decimals = point.map_or(0, |at| body.len() - at - 1);
    let magnitude = digits as f64 / EXACT_POWERS_OF_TEN[decimals];
    Some(if negative { -magnitude } else { magnitude })
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

    /// The next state of Marsaglia's xorshift generator: test inputs from a fixed seed.
    fn xorshift(mut state: u64) -> u64 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }

    #[test]
    fn numbers_parse_as_the_standard_library_parses_them() {
        let mut cases: Vec<String> = [
            "0", "-0", "+7", "1e3", "1E+3", "1e-3", ".5", "5.", "-.5", "1e", "e5", ".", "-", "+",
            "", "1_000", "0x10", "1.2.3", "1e400", "-1e400", "4.9e-324", "2.5e-324", "1e-400",
            "inf", "-Infinity", "INF", "infinity", "infin", "nan", "NaN", "-nan", "+nan", "nan1",
            "179769313486231570000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000",
            "0.1000000000000000055511151231257827021181583404541015625",
            "9007199254740993", "1 2", "1,5", "١", "1d", "1f", "--1", "+-1", "1e+-3", "00012.500",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            state = xorshift(state);
            let x = f64::from_bits(state);
            if x.is_finite() {
                cases.push(x.to_string());
                cases.push(format!("{x:e}"));
                cases.push(format!("{:.6}", (state >> 11) as f64 / 1e9 - 4e6));
            }
        }
        for case in cases {
            let ours = parse_number(&case).ok();
            let std = case.parse::<f64>().ok();
            assert_eq!(ours.map(f64::to_bits), std.map(f64::to_bits), "{case:?}");
        }
    }

    #[test]
    fn plain_decimals_parse_as_the_standard_library_parses_them() {
        // Every shape the fast path takes and the edges where it hands over: 17 and 18
        // characters, 2^53 and 2^53 + 1 units, a sign alone, a point alone, two points.
        let mut cases: Vec<String> = [
            "0",
            "-0",
            "+0",
            "-0.0",
            "7",
            "-.5",
            "+5.",
            ".",
            "-.",
            "+",
            "-",
            "..5",
            "1.2.3",
            "12345678901234567",
            "1234567890123456.7",
            "0.0000000000000001",
            "123456789012345678",
            "9007199254740992",
            "9007199254740993",
            "900719925474099.3",
            "9007199254740.993",
            "0.9007199254740993",
            "-0.586717",
            "00000000000000001",
            "1-2",
            "1+2",
            " 1",
            "1 ",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for _ in 0..200_000 {
            state = xorshift(state);
            let length = 1 + (state % 18) as usize;
            let mut case: String =
                (0..length).map(|i| char::from(b'0' + ((state >> (i * 3)) % 10) as u8)).collect();
            let point = (state >> 40) as usize % (length + 2);
            if point <= length {
                case.insert(point, '.');
            }
            match (state >> 50) % 3 {
                0 => case.insert(0, '-'),
                1 => case.insert(0, '+'),
                _ => {}
            }
            cases.push(case);
        }
        for case in cases {
            let ours = parse_number(&case).ok();
            let std = case.parse::<f64>().ok();
            assert_eq!(ours.map(f64::to_bits), std.map(f64::to_bits), "{case:?}");
            let fast = plain_decimal(case.as_bytes());
            assert!(fast.is_none() || fast.map(f64::to_bits) == std.map(f64::to_bits), "{case:?}");
        }
    }

    #[test]
    fn no_marker_is_longer_than_the_longest() {
        assert_eq!(MISSING_MARKERS.iter().map(|m| m.len()).max(), Some(LONGEST_MARKER));
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
