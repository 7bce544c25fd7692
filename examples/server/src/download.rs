//! Headers every download carries: an attachment with an RFC 6266 file name, no sniffing, no
//! caching, and a content type that browsers never render or execute.

use axum::http::header::{CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderValue};

/// Headers for a download of `filename` as `content_type`.
pub fn attachment_headers(filename: &str, content_type: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    let disposition = content_disposition(filename);
    if let Ok(value) = HeaderValue::from_str(&disposition) {
        headers.insert(CONTENT_DISPOSITION, value);
    } else {
        headers.insert(CONTENT_DISPOSITION, HeaderValue::from_static("attachment"));
    }
    headers
}

/// `attachment; filename="<ascii fallback>"; filename*=UTF-8''<percent-encoded>` (RFC 6266 and
/// RFC 8187): the quoted form keeps only safe ASCII, the extended form carries the real name.
pub fn content_disposition(filename: &str) -> String {
    let cleaned: String = filename
        .chars()
        .filter(|c| !c.is_control())
        .map(|c| if matches!(c, '/' | '\\') { '_' } else { c })
        .collect();
    let mut cleaned = cleaned.trim().trim_start_matches('.').to_owned();
    while cleaned.contains("..") {
        cleaned = cleaned.replace("..", ".");
    }
    let cleaned = cleaned.as_str();
    let cleaned = if cleaned.is_empty() { "download" } else { cleaned };
    let ascii: String = cleaned
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "._- ()+,".contains(c) { c } else { '_' })
        .collect();
    let mut encoded = String::new();
    for byte in cleaned.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_and_quote_characters_never_reach_the_header() {
        let value = content_disposition("../../etc/\"passwd\"\r\n.csv");
        assert!(value.starts_with("attachment; filename=\""));
        assert!(!value.contains(".."));
        assert!(!value.contains('/'));
        assert!(!value.contains('\r'));
        assert_eq!(value.matches('"').count(), 2);
    }

    #[test]
    fn unicode_names_use_the_extended_parameter() {
        let value = content_disposition("données été.csv");
        assert!(value.contains("filename*=UTF-8''donn%C3%A9es%20%C3%A9t%C3%A9.csv"), "{value}");
    }
}
