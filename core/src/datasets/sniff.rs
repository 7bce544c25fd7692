//! Guessing a CSV file's delimiter from its first records.

/// The delimiters Modelyard recognises, in order of preference when several fit equally well.
pub(crate) const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// How much of the file the guess looks at.
pub(crate) const SAMPLE_BYTES: usize = 64 * 1024;
/// How many records the guess looks at.
const SAMPLE_RECORDS: usize = 50;

/// The delimiter of the text starting with `head` (`whole`: `head` is all of it).
///
/// Each candidate parses the first records (quotes respected); a candidate fits when every sampled
/// record has the same number of fields and that number is more than one. The fitting candidate
/// with the most fields wins, ties going to `preferred` and then to the order of [`DELIMITERS`].
/// When none fits, the candidate splitting the header into the most fields is returned so the full
/// read reports the ragged row; a file no candidate splits is a single column, read with `,`.
pub(crate) fn sniff_delimiter(head: &[u8], whole: bool, preferred: Option<u8>) -> u8 {
    let complete = whole && head.len() <= SAMPLE_BYTES;
    let sample = &head[..head.len().min(SAMPLE_BYTES)];
    let mut order: Vec<u8> = preferred.into_iter().collect();
    order.extend(DELIMITERS.iter().filter(|d| Some(**d) != preferred));

    let mut best_fit: Option<(usize, u8)> = None;
    let mut widest_header: Option<(usize, u8)> = None;
    for delimiter in order {
        let counts = field_counts(sample, delimiter, complete);
        let Some(&header) = counts.first() else { continue };
        if header > 1 && widest_header.is_none_or(|(w, _)| header > w) {
            widest_header = Some((header, delimiter));
        }
        let fits = header > 1 && counts.iter().all(|&c| c == header);
        if fits && best_fit.is_none_or(|(w, _)| header > w) {
            best_fit = Some((header, delimiter));
        }
    }
    best_fit.or(widest_header).map_or(b',', |(_, delimiter)| delimiter)
}

/// Field counts of the first records of `sample`; when the sample is cut from a longer text its
/// last record may be cut too, so it is dropped unless it is the only one.
fn field_counts(sample: &[u8], delimiter: u8, complete: bool) -> Vec<usize> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(sample);
    let mut record = csv::ByteRecord::new();
    let mut counts = Vec::new();
    while counts.len() <= SAMPLE_RECORDS {
        match reader.read_byte_record(&mut record) {
            Ok(true) if is_blank(record.len(), record.as_slice()) => {}
            Ok(true) => counts.push(record.len()),
            Ok(false) | Err(_) => break,
        }
    }
    if !complete && counts.len() > 1 {
        counts.pop();
    }
    counts
}

/// Whether a record of `cells` cells whose text is `text` is a line holding only whitespace,
/// which readers skip like an empty line.
pub(crate) fn is_blank(cells: usize, text: &[u8]) -> bool {
    cells == 1 && text.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_delimiter_is_recognised() {
        for d in [",", ";", "\t", "|"] {
            let text = format!("a{d}b{d}c\n1{d}2{d}3\n4{d}5{d}6\n");
            assert_eq!(sniff_delimiter(text.as_bytes(), true, None), d.as_bytes()[0], "{d:?}");
        }
    }

    #[test]
    fn quoted_delimiters_and_newlines_do_not_mislead() {
        let text = "name;notes\n\"a\";\"x, y, z\"\n\"b\";\"line one,\nline two\"\n";
        assert_eq!(sniff_delimiter(text.as_bytes(), true, None), b';');
    }

    #[test]
    fn decimal_commas_are_not_delimiters() {
        assert_eq!(sniff_delimiter(b"x;y\n1,5;2,25\n3;4,0\n", true, None), b';');
    }

    #[test]
    fn a_single_column_is_read_with_a_comma() {
        assert_eq!(sniff_delimiter(b"value\n1\n2\n", true, None), b',');
    }

    #[test]
    fn ties_go_to_the_preferred_delimiter() {
        let text = "a,b|c\n1,2|3\n";
        assert_eq!(sniff_delimiter(text.as_bytes(), true, None), b',');
        assert_eq!(sniff_delimiter(text.as_bytes(), true, Some(b'|')), b'|');
    }

    #[test]
    fn a_ragged_file_keeps_the_delimiter_of_its_header() {
        assert_eq!(sniff_delimiter(b"a|b|c\n1|2|3\n4|5\n", true, None), b'|');
    }

    #[test]
    fn a_header_longer_than_the_sample_is_still_split() {
        let header: Vec<String> = (0..20_000).map(|i| format!("c{i}")).collect();
        let text = format!("{}\n", header.join("\t"));
        assert_eq!(sniff_delimiter(text.as_bytes(), true, None), b'\t');
    }
}
