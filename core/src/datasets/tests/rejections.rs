use super::file_error;
use crate::datasets::{DatasetConfig, check_and_infer, infer_schema};

#[test]
fn an_empty_file_is_refused() {
    assert!(file_error(infer_schema(b"")).contains("empty"));
    assert!(file_error(infer_schema(b"\r\n\n")).contains("empty"));
}

#[test]
fn a_header_without_rows_is_refused() {
    assert!(file_error(infer_schema(b"a,b,c\n")).contains("no data rows"));
    assert!(file_error(infer_schema(b"a,b,c\n\n  \n")).contains("no data rows"));
}

#[test]
fn ragged_rows_name_the_row_and_both_field_counts() {
    let message = file_error(infer_schema(b"a,b,c\n1,2,3\n4,5\n6,7,8\n"));
    assert_eq!(message, "row 2 (line 3) has 2 fields, the header has 3");
    let message = file_error(infer_schema(b"a,b\n1,2\n3,4,5\n"));
    assert_eq!(message, "row 2 (line 3) has 3 fields, the header has 2");
}

#[test]
fn rows_are_numbered_after_the_header_and_lines_count_quoted_newlines() {
    let message = file_error(infer_schema(b"a,b\n\"x\ny\",1\n2\n"));
    assert_eq!(message, "row 2 (line 4) has 1 fields, the header has 2");
}

#[test]
fn the_header_must_name_every_column_once() {
    assert!(file_error(infer_schema(b"a,,c\n1,2,3\n")).contains("column 2 has no name"));
    let message = file_error(infer_schema(b"a,b,a\n1,2,3\n"));
    assert!(message.contains("column 3 repeats the name \"a\" of column 1"), "{message}");
    let long = format!("{},b\n1,2\n", "n".repeat(257));
    assert!(file_error(infer_schema(long.as_bytes())).contains("257 characters"));
}

#[test]
fn infinities_in_numeric_columns_name_row_and_column() {
    let message = file_error(infer_schema(b"x,y\n1,2\n3,inf\n4,5\n"));
    assert!(
        message.starts_with("row 2 (line 3), column \"y\" (2): non-finite number"),
        "{message}"
    );
    let message = file_error(infer_schema(b"x,y\n1,-Infinity\n2,3\n"));
    assert!(message.contains("row 1 (line 2), column \"y\" (2)"), "{message}");
    assert!(file_error(infer_schema(b"x\n1e999\n2\n")).contains("non-finite"));
}

#[test]
fn nan_like_cells_are_missing_not_errors() {
    let (schema, rows) = infer_schema(b"x,y\n1,NaN\n2,NA\n3,\n4,?\n5,null\n6,7.5\n7,8\n").unwrap();
    assert_eq!(rows, 7);
    assert_eq!(schema.columns[1].missing, 5);
    assert_eq!(schema.columns[1].kind, crate::ColumnKind::Numeric);
}

#[test]
fn a_huge_field_names_row_and_column() {
    let config = DatasetConfig::default();
    let text = format!("a,b\n1,2\n3,{}\n", "x".repeat(config.max_field_bytes + 1));
    let message = file_error(infer_schema(text.as_bytes()));
    assert!(
        message.starts_with("row 2 (line 3), column \"b\" (2): the value is 65537 bytes"),
        "{message}"
    );
}

#[test]
fn too_many_columns_are_refused_from_the_header() {
    let header: Vec<String> = (0..100_000).map(|i| format!("c{i}")).collect();
    let row = vec!["1"; 100_000].join(",");
    let text = format!("{}\n{row}\n", header.join(","));
    let message = file_error(infer_schema(text.as_bytes()));
    assert_eq!(message, "the header has 100000 columns, at most 2000 are allowed");
}

#[test]
fn a_row_limit_applies_when_configured() {
    let config = DatasetConfig { max_rows: Some(2), ..DatasetConfig::default() };
    assert!(check_and_infer(b"a\n1\n2\n", &config).is_ok());
    assert!(file_error(check_and_infer(b"a\n1\n2\n3\n", &config)).contains("more than 2 rows"));
}

#[test]
fn binary_content_is_an_unsupported_media_type() {
    for bad in [
        &b"PK\x03\x04\x14\x00\x00\x00"[..],
        b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
        b"a,b\n1,2\n\x003,4\n",
        b"\x7fELF\x02\x01",
    ] {
        assert_eq!(infer_schema(bad).unwrap_err().code(), "UNSUPPORTED_MEDIA_TYPE", "{bad:?}");
    }
}

#[test]
fn invalid_utf8_is_a_validation_error_with_the_offset() {
    let message = file_error(infer_schema(b"name,city\nx,S\xe3o Paulo\n"));
    assert_eq!(message, "not valid UTF-8 at byte 13");
}

#[test]
fn a_bom_and_crlf_line_ends_are_accepted() {
    let (schema, rows) = infer_schema(b"\xef\xbb\xbfa,b\r\n1,x\r\n2,y\r\n").unwrap();
    assert_eq!(rows, 2);
    assert_eq!(schema.columns[0].name, "a");
    assert_eq!(schema.columns[1].name, "b");
}
