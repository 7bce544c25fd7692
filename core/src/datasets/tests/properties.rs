use proptest::prelude::*;

use crate::datasets::{infer_schema, neutralize_cell, parse_table};
use crate::{ColumnKind, ColumnValues};

/// One generated cell: a number, a missing marker, or text that can never read as a number
/// (the `x` prefix) and may hold the delimiter, quotes and line breaks.
fn cell(numeric: bool, delimiter: char) -> BoxedStrategy<String> {
    let number = (-1.0e6f64..1.0e6).prop_map(|x| format!("{x}"));
    if numeric {
        prop_oneof![4 => number, 1 => Just(String::new()), 1 => Just("NA".to_owned())].boxed()
    } else {
        let pattern = format!("x[a-z0-9 {}\"\\n]{{0,12}}", regex_escape(delimiter));
        let text = proptest::string::string_regex(&pattern).expect("a valid pattern");
        prop_oneof![6 => text, 1 => Just(String::new())].boxed()
    }
}

fn regex_escape(c: char) -> String {
    match c {
        '|' => "\\|".into(),
        '\t' => "\\t".into(),
        other => other.to_string(),
    }
}

/// A well-formed CSV document with its delimiter, column kinds (numeric or not) and row count.
fn table() -> impl Strategy<Value = (String, char, Vec<bool>, usize)> {
    (
        prop::sample::select(vec![',', ';', '\t', '|']),
        prop::collection::vec(any::<bool>(), 1..8),
        1usize..30,
    )
        .prop_flat_map(|(delimiter, kinds, rows)| {
            let row = kinds.iter().map(|&numeric| cell(numeric, delimiter)).collect::<Vec<_>>();
            (Just(delimiter), Just(kinds), prop::collection::vec(row, rows))
        })
        .prop_map(|(delimiter, kinds, rows)| {
            let mut writer =
                csv::WriterBuilder::new().delimiter(delimiter as u8).from_writer(Vec::new());
            writer.write_record((0..kinds.len()).map(|i| format!("col{i}"))).unwrap();
            for row in &rows {
                writer.write_record(row).unwrap();
            }
            let text = String::from_utf8(writer.into_inner().unwrap()).unwrap();
            (text, delimiter, kinds, rows.len())
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2048)) {
        let _ = infer_schema(&bytes);
    }

    #[test]
    fn csv_like_text_never_panics(text in "[a-c0-9,;|\t\"\r\n .-]{0,300}") {
        if let Ok((schema, _)) = infer_schema(text.as_bytes()) {
            let _ = parse_table(text.as_bytes(), &schema);
        }
    }

    #[test]
    fn well_formed_tables_round_trip((text, delimiter, kinds, rows) in table()) {
        let (schema, row_count) = infer_schema(text.as_bytes()).unwrap();
        prop_assert_eq!(row_count as usize, rows);
        prop_assert_eq!(schema.columns.len(), kinds.len());
        if kinds.len() > 1 {
            prop_assert_eq!(schema.delimiter, delimiter);
        }
        for (column, numeric) in schema.columns.iter().zip(&kinds) {
            if *numeric {
                prop_assert!(matches!(column.kind, ColumnKind::Numeric | ColumnKind::Constant), "{:?}", column);
            } else {
                prop_assert_ne!(column.kind, ColumnKind::Numeric);
            }
        }
        let table = parse_table(text.as_bytes(), &schema).unwrap();
        prop_assert_eq!(table.rows, rows);
        for column in &table.columns {
            let len = match &column.values {
                ColumnValues::Numeric(v) => v.len(),
                ColumnValues::Text(v) => v.len(),
            };
            prop_assert_eq!(len, rows);
        }
    }

    #[test]
    fn neutralised_cells_never_start_a_formula(cell in "[=+@\t\r-]?[a-z0-9.=+-]{0,8}") {
        let out = neutralize_cell(&cell);
        let is_number = cell.parse::<f64>().is_ok_and(f64::is_finite);
        prop_assert!(is_number || !out.starts_with(['=', '+', '-', '@', '\t', '\r']));
    }
}
