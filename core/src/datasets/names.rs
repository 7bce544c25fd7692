//! Names users give: the dataset's name (validated) and the uploaded file's name (sanitised).

use crate::text::{is_invisible, refuse_invisible};
use crate::{Error, Result};

/// The longest dataset name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest sanitised file name, in characters.
pub const MAX_FILENAME_CHARS: usize = 128;
/// The file name recorded when nothing of the sent one survives sanitising.
pub const DEFAULT_FILENAME: &str = "upload.csv";

/// A dataset name, trimmed: 1..=[`MAX_NAME_CHARS`] characters without control or format
/// characters ([`crate::text::is_invisible`]).
pub fn validate_dataset_name(name: &str) -> Result<String> {
    let name = name.trim();
    let chars = name.chars().count();
    if chars == 0 {
        return Err(Error::validation("name", "give the dataset a name"));
    }
    if chars > MAX_NAME_CHARS {
        return Err(Error::validation(
            "name",
            format!("{chars} characters is too long, at most {MAX_NAME_CHARS} are allowed"),
        ));
    }
    refuse_invisible("name", name)?;
    Ok(name.to_owned())
}

/// The name a dataset takes when its uploader gives none: the file name's stem (`iris` for
/// `data/iris.csv`), without control or format characters, cut to [`MAX_NAME_CHARS`]; `dataset` when
/// nothing is left.
pub fn default_dataset_name(filename: &str) -> String {
    let last = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let stem = last.rsplit_once('.').map_or(last, |(stem, _)| stem);
    let cleaned: String =
        stem.chars().filter(|c| !is_invisible(*c)).take(MAX_NAME_CHARS).collect::<String>();
    match cleaned.trim() {
        "" => "dataset".to_owned(),
        name => name.to_owned(),
    }
}

/// The file name to offer when a user downloads something called `name`: the name itself with
/// `extension` (`.csv`, `.zip`) added once; `download<extension>` for a blank name. Headers
/// that carry it still have to escape it (it may hold any character but control and format
/// ones).
pub fn download_filename(name: &str, extension: &str) -> String {
    let cleaned: String = name.chars().filter(|c| !is_invisible(*c)).collect();
    let stem = cleaned.trim();
    let stem = stem.strip_suffix(extension).unwrap_or(stem);
    format!("{}{extension}", if stem.is_empty() { "download" } else { stem })
}

/// The uploaded file's name made safe to show and to offer back in a download header.
///
/// Only metadata: the bytes are stored under a generated key, so this never becomes a path.
/// Keeps the last path component (after `/` or `\`), drops `%00`, NUL and control characters,
/// replaces anything outside `[A-Za-z0-9._ -]` with `_`, trims leading dots and surrounding
/// spaces, and caps the length at [`MAX_FILENAME_CHARS`] keeping a short extension. Falls back to
/// [`DEFAULT_FILENAME`].
pub fn sanitize_filename(filename: &str) -> String {
    let last = filename.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut name = last.to_owned();
    // Removing one `%00` can join its neighbours into another (`%%0000`), so repeat.
    while name.contains("%00") {
        name = name.replace("%00", "");
    }
    let safe: String =
        name.chars()
            .filter(|c| !c.is_control())
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ' ' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
    let trimmed = safe.trim().trim_start_matches('.').trim_start();
    let capped = cap_keeping_extension(trimmed);
    if capped.is_empty() { DEFAULT_FILENAME.to_owned() } else { capped }
}

/// Cuts an ASCII name to [`MAX_FILENAME_CHARS`], from the stem when the extension is short.
fn cap_keeping_extension(name: &str) -> String {
    if name.len() <= MAX_FILENAME_CHARS {
        return name.to_owned();
    }
    match name.rfind('.') {
        Some(dot) if name.len() - dot <= 16 && dot > 0 => {
            let extension = &name[dot..];
            let stem = &name[..MAX_FILENAME_CHARS - extension.len()];
            format!("{}{extension}", stem.trim_end())
        }
        _ => name[..MAX_FILENAME_CHARS].trim_end().to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dataset_without_a_name_is_named_after_its_file() {
        assert_eq!(default_dataset_name("data/iris.csv"), "iris");
        assert_eq!(default_dataset_name("C:\\Users\\ada\\sales 2024.tsv"), "sales 2024");
        assert_eq!(default_dataset_name("archive.tar.gz"), "archive.tar");
        assert_eq!(default_dataset_name(".csv"), "dataset");
        assert_eq!(default_dataset_name(""), "dataset");
        assert_eq!(default_dataset_name("bad\u{7}name.csv"), "badname");
        assert_eq!(default_dataset_name(&"x".repeat(500)).chars().count(), MAX_NAME_CHARS);
    }

    #[test]
    fn download_names_get_their_extension_once() {
        assert_eq!(download_filename("iris", ".csv"), "iris.csv");
        assert_eq!(download_filename("iris.csv", ".csv"), "iris.csv");
        assert_eq!(download_filename("  ", ".zip"), "download.zip");
        // A bidi override would show `invoice\u{202e}vsc.csv` as `invoicevsc.csv` reversed.
        assert_eq!(download_filename("invoice\u{202e}vsc", ".csv"), "invoicevsc.csv");
    }

    #[test]
    fn path_components_are_dropped() {
        assert_eq!(sanitize_filename("../../x"), "x");
        assert_eq!(sanitize_filename("..\\..\\windows\\system.ini"), "system.ini");
        assert_eq!(sanitize_filename("/etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("data/"), DEFAULT_FILENAME);
        assert_eq!(sanitize_filename(".."), DEFAULT_FILENAME);
    }

    #[test]
    fn double_extensions_are_kept_as_harmless_metadata() {
        assert_eq!(sanitize_filename("a.csv.php"), "a.csv.php");
    }

    #[test]
    fn encoded_and_raw_nul_bytes_are_removed() {
        assert_eq!(sanitize_filename("x%00.csv"), "x.csv");
        assert_eq!(sanitize_filename("x%%0000.csv"), "x.csv");
        assert_eq!(sanitize_filename("x\0.csv"), "x.csv");
    }

    #[test]
    fn control_characters_are_removed_and_others_replaced() {
        assert_eq!(sanitize_filename("a\r\nb\t\u{7f}\u{85}.csv"), "ab.csv");
        assert_eq!(sanitize_filename("données<>:\"|?*.csv"), "donn_es_______.csv");
        assert_eq!(sanitize_filename(".hidden.csv"), "hidden.csv");
        assert_eq!(sanitize_filename("  "), DEFAULT_FILENAME);
    }

    #[test]
    fn long_names_are_capped_keeping_the_extension() {
        let name = sanitize_filename(&format!("{}.csv", "a".repeat(10_000)));
        assert_eq!(name.len(), MAX_FILENAME_CHARS);
        assert!(name.ends_with("aaa.csv"));
        assert_eq!(sanitize_filename(&"é".repeat(10_000)).len(), MAX_FILENAME_CHARS);
    }

    #[test]
    fn dataset_names_are_trimmed_and_bounded() {
        assert_eq!(validate_dataset_name("  iris ").unwrap(), "iris");
        for bad in ["", "   ", "a\nb", "tab\there"] {
            assert_eq!(validate_dataset_name(bad).unwrap_err().field(), Some("name"), "{bad:?}");
        }
        assert!(validate_dataset_name(&"é".repeat(200)).is_ok());
        assert!(validate_dataset_name(&"é".repeat(201)).is_err());
    }
}
