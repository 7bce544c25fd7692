use serde_json::{Value, json};

use super::file_error;
use crate::datasets::{
    Records, infer_schema, parse_table, parse_table_columns, refuse_missing, table_from_records,
};
use crate::{ColumnValues, DatasetSchema};

fn schema() -> DatasetSchema {
    infer_schema(b"petal_length,color,species\n1.5,red,a\n2.5,blue,b\n,NA,a\n").unwrap().0
}

fn rows(value: Value) -> Records {
    serde_json::from_value(value).unwrap()
}

#[test]
fn a_csv_body_is_read_with_the_schema_kinds() {
    let table = parse_table(b"species,petal_length,extra\nb,1.25,zz\na,?,zz\n", &schema()).unwrap();
    assert_eq!(table.rows, 2);
    let names: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["petal_length", "species"]);
    assert_eq!(table.columns[0].values, ColumnValues::Numeric(vec![Some(1.25), None].into()));
    assert_eq!(
        table.columns[1].values,
        ColumnValues::Text([Some("b"), Some("a")].into_iter().collect())
    );
}

#[test]
fn a_csv_body_with_another_delimiter_is_sniffed() {
    let table = parse_table(b"petal_length;color\n1;red\n", &schema()).unwrap();
    assert_eq!(table.columns.len(), 2);
}

#[test]
fn required_columns_must_be_in_the_header() {
    let message =
        file_error(parse_table_columns(b"color\nred\n", &schema(), &["petal_length".into()]));
    assert!(message.contains("no column \"petal_length\""), "{message}");
    assert!(
        file_error(parse_table(b"other\n1\n", &schema())).contains("none of the dataset's columns")
    );
}

#[test]
fn a_word_in_a_numeric_column_names_row_and_column() {
    let message = file_error(parse_table(b"petal_length\n1\nabc\n", &schema()));
    assert_eq!(
        message,
        "row 2 (line 3), column \"petal_length\" (1): expected a number, got \"abc\""
    );
}

#[test]
fn json_rows_take_numbers_numeric_strings_and_allowed_nulls() {
    let rows = rows(json!([
        {"petal_length": 1.5, "color": "red"},
        {"petal_length": "2", "color": 3},
        {"petal_length": null},
        {"species": "a", "color": " NA "},
    ]));
    let columns = ["petal_length".to_owned(), "color".to_owned()];
    let table = table_from_records(&rows, &schema(), &columns, true).unwrap();
    assert_eq!(table.rows, 4);
    assert_eq!(
        table.columns[0].values,
        ColumnValues::Numeric(vec![Some(1.5), Some(2.0), None, None].into())
    );
    assert_eq!(
        table.columns[1].values,
        ColumnValues::Text([Some("red"), Some("3"), None, None].into_iter().collect())
    );
}

#[test]
fn json_errors_name_the_row_and_column() {
    let columns = ["petal_length".to_owned()];
    let err = table_from_records(
        &rows(json!([{}, {}, {}, {"petal_length": "long"}])),
        &schema(),
        &columns,
        true,
    )
    .unwrap_err();
    assert_eq!(err.field(), Some("rows[3].petal_length"));
    let err = table_from_records(&rows(json!([{"petal_length": [1]}])), &schema(), &columns, true)
        .unwrap_err();
    assert_eq!(err.field(), Some("rows[0].petal_length"));
    let err =
        table_from_records(&rows(json!([{"petal_length": "-inf"}])), &schema(), &columns, true)
            .unwrap_err();
    assert!(err.to_string().contains("non-finite"));
}

#[test]
fn unknown_json_keys_are_refused_so_typos_surface() {
    let columns = ["petal_length".to_owned()];
    let err = table_from_records(&rows(json!([{"petal_lenght": 1}])), &schema(), &columns, true)
        .unwrap_err();
    assert_eq!(err.field(), Some("rows[0].petal_lenght"));
    let err =
        table_from_records(&Records::new(), &schema(), &["nope".to_owned()], true).unwrap_err();
    assert_eq!(err.field(), Some("columns"));
}

#[test]
fn missing_values_are_refused_unless_allowed_naming_them() {
    let columns = ["petal_length".to_owned(), "color".to_owned()];
    let strict =
        |value: serde_json::Value| table_from_records(&rows(value), &schema(), &columns, false);
    assert!(strict(json!([{"petal_length": 1.5, "color": "red"}])).is_ok());

    // Absent columns: named together, on the row.
    let err = strict(json!([{"petal_length": 1.5, "color": "red"}, {}])).unwrap_err();
    assert_eq!(err.field(), Some("rows[1]"), "{err}");
    assert!(err.to_string().contains(r#""petal_length", "color""#), "{err}");
    assert!(err.to_string().contains("allow_missing"), "{err}");
    // A null, an empty string and every missing marker are one rule, in either kind of column.
    for value in [json!(null), json!(""), json!("NaN"), json!(" na "), json!("?")] {
        let err = strict(json!([{"petal_length": value.clone(), "color": "red"}])).unwrap_err();
        assert_eq!(err.field(), Some("rows[0].petal_length"), "{value}: {err}");
        let err = strict(json!([{"petal_length": 1, "color": value.clone()}])).unwrap_err();
        assert_eq!(err.field(), Some("rows[0].color"), "{value}: {err}");
    }
    // Non-finite numbers are refused even when missing values are allowed.
    let err =
        table_from_records(&rows(json!([{"petal_length": "inf"}])), &schema(), &columns, true);
    assert!(err.unwrap_err().to_string().contains("non-finite"));
}

#[test]
fn a_csv_body_with_a_missing_value_is_refused_naming_row_and_column() {
    let table = parse_table(b"petal_length,color\n1.5,red\n2.5,\n", &schema()).unwrap();
    let err = refuse_missing(&table).unwrap_err();
    assert_eq!(err.field(), Some("file"));
    assert!(err.to_string().contains(r#"data row 2, column "color""#), "{err}");
    let full = parse_table(b"petal_length,color\n1.5,red\n", &schema()).unwrap();
    assert!(refuse_missing(&full).is_ok());
}
