//! The CSV reader and schema inference: no input panics, and a file whose schema was inferred
//! reads back as a table with that schema (a stored dataset must stay readable).
#![no_main]

use libfuzzer_sys::fuzz_target;
use modelyard_core::datasets::{infer_schema, parse_table};

fuzz_target!(|data: &[u8]| {
    if let Ok((schema, rows)) = infer_schema(data) {
        let table = parse_table(data, &schema)
            .unwrap_or_else(|err| panic!("inferred {schema:?} but cannot read the file back: {err}"));
        assert_eq!(table.rows as u64, rows, "the rows counted by inference");
    }
});
