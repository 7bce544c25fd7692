use crate::datasets::infer_schema;
use crate::{CATEGORY_LIMIT, CategoryCount, ColumnKind, ColumnStats};

const IRIS: &[u8] = include_bytes!("../../../../examples/data/iris.csv");

#[test]
fn iris_has_four_numeric_features_and_three_balanced_classes() {
    let (schema, rows) = infer_schema(IRIS).unwrap();
    assert_eq!(rows, 150);
    assert_eq!(schema.delimiter, ',');
    let names: Vec<&str> = schema.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["sepal_length", "sepal_width", "petal_length", "petal_width", "species"]);
    for column in &schema.columns[..4] {
        assert_eq!(column.kind, ColumnKind::Numeric, "{}", column.name);
        assert_eq!(column.missing, 0);
    }
    let species = schema.column("species").unwrap();
    assert_eq!(species.kind, ColumnKind::Categorical);
    assert_eq!(species.distinct, 3);
    let ColumnStats::Categories { categories } = &species.stats else { panic!("{species:?}") };
    let expected: Vec<CategoryCount> = ["setosa", "versicolor", "virginica"]
        .into_iter()
        .map(|value| CategoryCount { value: value.into(), count: 50 })
        .collect();
    assert_eq!(categories, &expected);
}

#[test]
fn iris_statistics_match_the_reference_values() {
    let (schema, _) = infer_schema(IRIS).unwrap();
    let ColumnStats::Numeric { min, max, mean, std, integers, values } =
        &schema.column("sepal_length").unwrap().stats
    else {
        panic!("sepal_length is not numeric")
    };
    assert_eq!((*min, *max), (4.3, 7.9));
    assert!((mean - 5.843_333).abs() < 1e-5, "{mean}");
    // Population standard deviation (numpy's default): 0.825301.
    assert!((std - 0.825_301).abs() < 1e-5, "{std}");
    assert!(!integers);
    assert_eq!(values.as_ref().map(Vec::len), Some(35));
    assert_eq!(schema.column("sepal_length").unwrap().distinct, 35);
}

#[test]
fn categories_are_ordered_by_count_then_value() {
    let (schema, _) = infer_schema(b"c\nb\na\nb\nc\na\nd\nb\n").unwrap();
    let ColumnStats::Categories { categories } = &schema.columns[0].stats else { panic!() };
    let order: Vec<(&str, u64)> = categories.iter().map(|c| (c.value.as_str(), c.count)).collect();
    assert_eq!(order, [("b", 3), ("a", 2), ("c", 1), ("d", 1)]);
}

#[test]
fn integer_columns_list_their_values_merged_and_sorted() {
    let (schema, _) = infer_schema(b"label\n2\n0\n1.0\n1\n2\n-0\n").unwrap();
    let column = &schema.columns[0];
    assert_eq!(column.kind, ColumnKind::Numeric);
    let ColumnStats::Numeric { integers, values, .. } = &column.stats else { panic!() };
    assert!(integers);
    let values: Vec<(&str, u64)> =
        values.as_ref().unwrap().iter().map(|c| (c.value.as_str(), c.count)).collect();
    assert_eq!(values, [("0", 2), ("1", 2), ("2", 2)]);
    assert_eq!(column.distinct, 3);
}

#[test]
fn columns_of_one_value_are_constant_and_columns_of_none_are_empty() {
    let (schema, _) = infer_schema(b"n,t,e,m\n5,x,,\n5,x,NA,\n5.0,x,,?\n").unwrap();
    let kinds: Vec<ColumnKind> = schema.columns.iter().map(|c| c.kind).collect();
    assert_eq!(kinds, [ColumnKind::Constant; 4]);
    assert!(matches!(schema.columns[0].stats, ColumnStats::Numeric { min: 5.0, max: 5.0, .. }));
    assert!(
        matches!(&schema.columns[1].stats, ColumnStats::Categories { categories } if categories.len() == 1)
    );
    assert_eq!(schema.columns[2].stats, ColumnStats::Empty);
    assert_eq!(schema.columns[2].missing, 3);
    assert_eq!(schema.columns[3].distinct, 0);
}

#[test]
fn a_value_on_nearly_every_row_is_text_not_a_category() {
    let mut text = String::from("name,group\n");
    for i in 0..100 {
        text.push_str(&format!("person {i},g{}\n", i % 4));
    }
    let (schema, _) = infer_schema(text.as_bytes()).unwrap();
    assert_eq!(schema.columns[0].kind, ColumnKind::Text);
    assert_eq!(schema.columns[0].stats, ColumnStats::Text { max_length: 9 });
    assert_eq!(schema.columns[1].kind, ColumnKind::Categorical);
}

#[test]
fn small_files_keep_up_to_twenty_distinct_values_categorical() {
    let text: String =
        std::iter::once("c\n".to_owned()).chain((0..20).map(|i| format!("v{i}\n"))).collect();
    assert_eq!(infer_schema(text.as_bytes()).unwrap().0.columns[0].kind, ColumnKind::Categorical);
}

#[test]
fn distinct_counts_stop_just_past_the_category_limit() {
    let mut text = String::from("id,x\n");
    for i in 0..5_000 {
        text.push_str(&format!("id{i},{i}\n"));
    }
    let (schema, _) = infer_schema(text.as_bytes()).unwrap();
    assert_eq!(schema.columns[0].distinct, CATEGORY_LIMIT + 1);
    assert_eq!(schema.columns[0].kind, ColumnKind::Text);
    assert_eq!(schema.columns[1].distinct, CATEGORY_LIMIT + 1);
    assert!(matches!(schema.columns[1].stats, ColumnStats::Numeric { values: None, .. }));
}

#[test]
fn a_word_among_numbers_makes_the_column_categorical_and_infinity_then_is_just_a_word() {
    let (schema, _) = infer_schema(b"x\n1\ninf\nlots\n1\n").unwrap();
    assert_eq!(schema.columns[0].kind, ColumnKind::Categorical);
}

#[test]
fn other_delimiters_and_quoted_cells_are_read() {
    let (schema, rows) = infer_schema(b"a;b\n\"1;5\";\"two\nlines\"\n2;x\n").unwrap();
    assert_eq!((schema.delimiter, rows, schema.columns.len()), (';', 2, 2));
    let (schema, _) = infer_schema(b"a\tb\n1\t2\n").unwrap();
    assert_eq!(schema.delimiter, '\t');
    let (schema, _) = infer_schema(b"a|b\n1|2\n").unwrap();
    assert_eq!(schema.delimiter, '|');
}

#[test]
fn the_shipped_example_datasets_are_accepted() {
    for name in ["breast_cancer.csv", "digits.csv"] {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/data").join(name);
        let bytes = std::fs::read(&path).unwrap();
        let (schema, rows) = infer_schema(&bytes).unwrap();
        assert!(rows > 500 && schema.columns.len() > 10, "{name}");
    }
}

/// The mean and standard deviation stay within 1e-12 and 1e-9 relative of a two-pass
/// computation, whatever the values' offset and with an outlier first in every batch: 1,000
/// rows, eight batches and a partial one. (Welford's one-pass update missed the second bound by
/// 8x on the offset column.)
#[test]
fn statistics_stay_exact_with_a_large_offset_and_an_outlier_first() {
    let rows = 1_000;
    let offset = |i: usize| 1.0e9 + ((i * 7_919) % 1_000) as f64 / 1_000.0;
    let outlier = |i: usize| if i.is_multiple_of(128) { 1.0e12 } else { (i % 10) as f64 * 0.25 };
    let mut csv = String::from("offset,outlier\n");
    for i in 0..rows {
        csv.push_str(&format!("{},{}\n", offset(i), outlier(i)));
    }
    let (schema, _) = infer_schema(csv.as_bytes()).unwrap();
    for (name, value) in [("offset", &offset as &dyn Fn(usize) -> f64), ("outlier", &outlier)] {
        let values: Vec<f64> = (0..rows).map(value).collect();
        let mean = values.iter().sum::<f64>() / rows as f64;
        let var = values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / rows as f64;
        let ColumnStats::Numeric { mean: got_mean, std: got_std, .. } =
            schema.column(name).unwrap().stats
        else {
            panic!("{name} is not numeric")
        };
        assert!(((got_mean - mean) / mean).abs() < 1e-12, "{name}: mean {got_mean} vs {mean}");
        let std = var.sqrt();
        assert!(((got_std - std) / std).abs() < 1e-9, "{name}: std {got_std} vs {std}");
    }
}
