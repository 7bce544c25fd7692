//! Typed tables from CSV (stored datasets, CSV bodies for prediction and evaluation) and from
//! records (prediction requests), read with a dataset's schema.
//!
//! Numeric columns (kind `Numeric`, or `Constant` with numeric stats) become
//! [`ColumnValues::Numeric`]; all others [`ColumnValues::Text`] holding trimmed values as
//! dictionary codes. Missing cells are unset in the validity bitmaps of both, by the same rules
//! as inference.

use std::collections::HashMap;

use super::cell::{Cell, classify, excerpt, is_missing};
use super::config::CsvLimits;
use super::ingest::decode_text;
use super::records::{Item, Records};
use super::rows::{CheckedRows, RowAt, column_label};
use super::sniff::sniff_delimiter;
use crate::{
    ColumnKind, ColumnSchema, ColumnStats, ColumnValues, DatasetSchema, Error, NumericColumn,
    Result, Table, TableColumn, TextColumn,
};

/// How [`read_table`] makes its columns.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Layout {
    /// The rows the file is known to have (0 if unknown): each column is sized once for them,
    /// instead of growing by doubling (a column grown to 20,000 rows would hold room for 32,768,
    /// and for a moment both its old and new buffers).
    pub(crate) rows: usize,
    /// Numeric columns whose stored statistics allow it are `f32` (see [`f32_suffices`]).
    pub(crate) narrow: bool,
}

/// Whether a stored numeric column keeps everything that matters as `f32`, judged by the
/// statistics of its upload: whole numbers `f32` holds exactly (magnitude at most 2^24), or
/// values at most 16 standard deviations from zero, which rounding to `f32` moves by at most
/// 2^-20 of the column's spread (a standardised feature by about 1e-6). Columns far from zero
/// for their spread (timestamps, coordinates, years) stay `f64`.
pub(crate) fn f32_suffices(column: &ColumnSchema) -> bool {
    match column.stats {
        ColumnStats::Numeric { min, max, std, integers, .. } => {
            let magnitude = min.abs().max(max.abs());
            (integers && magnitude <= 16_777_216.0) || (std > 0.0 && magnitude <= 16.0 * std)
        }
        _ => false,
    }
}

/// Whether a column's values are read as numbers.
pub(crate) fn is_numeric(column: &ColumnSchema) -> bool {
    column.kind == ColumnKind::Numeric
        || (column.kind == ColumnKind::Constant
            && matches!(column.stats, ColumnStats::Numeric { .. }))
}

/// Reads a CSV body (a header and rows) with `schema`: every schema column found in the header
/// is in the table, in schema order; other header columns are ignored; at least one must match.
///
/// The delimiter is sniffed, ties going to the schema's. The body passes the same content and
/// structure checks as an upload, with the default limits (columns: at least twice the schema's);
/// errors are `Validation` on `file`.
pub fn parse_table(bytes: &[u8], schema: &DatasetSchema) -> Result<Table> {
    parse_csv(bytes, schema, None)
}

/// As [`parse_table`], but the table holds exactly `columns`, in that order, each of which the
/// header must contain (the features a model reads, say).
pub fn parse_table_columns(
    bytes: &[u8],
    schema: &DatasetSchema,
    columns: &[String],
) -> Result<Table> {
    parse_csv(bytes, schema, Some(columns))
}

fn parse_csv(bytes: &[u8], schema: &DatasetSchema, wanted: Option<&[String]>) -> Result<Table> {
    let text = decode_text(bytes)?;
    let delimiter = u8::try_from(schema.delimiter).ok();
    let delimiter = sniff_delimiter(text.as_bytes(), true, delimiter);
    // Rows given to predict keep the default field limit; only the column count follows the
    // schema, which a deployment may have allowed wider than the defaults.
    let limits =
        CsvLimits { max_columns: CsvLimits::stored(schema).max_columns, ..CsvLimits::default() };
    read_table(text.as_bytes(), delimiter, schema, wanted, limits, Layout::default())
}

/// Reads `text` (decoded, or a [`super::ingest::TextReader`]) into a table of the schema's
/// columns, or of `wanted` ones, made as `layout` says.
pub(crate) fn read_table(
    text: impl std::io::Read,
    delimiter: u8,
    schema: &DatasetSchema,
    wanted: Option<&[String]>,
    limits: CsvLimits,
    layout: Layout,
) -> Result<Table> {
    let mut rows = CheckedRows::from_reader(text, delimiter, limits)?;
    let header = rows.header().to_vec();
    let selected: Vec<(usize, &ColumnSchema)> = match wanted {
        Some(names) => names
            .iter()
            .map(|name| {
                let column = schema_column(schema, name, "columns")?;
                let index = header.iter().position(|h| h == name).ok_or_else(|| {
                    Error::validation(
                        "file",
                        format!("the header has no column \"{}\"", excerpt(name)),
                    )
                })?;
                Ok((index, column))
            })
            .collect::<Result<_>>()?,
        None => schema
            .columns
            .iter()
            .filter_map(|column| header.iter().position(|h| *h == column.name).map(|i| (i, column)))
            .collect(),
    };
    if selected.is_empty() {
        return Err(Error::validation("file", "the header has none of the dataset's columns"));
    }
    let mut builders: Vec<ValuesBuilder> =
        selected.iter().map(|(_, column)| ValuesBuilder::for_column(column, layout)).collect();
    while let Some((at, record)) = rows.next_row()? {
        for ((index, _), values) in selected.iter().zip(builders.iter_mut()) {
            values.push_cell(&record[*index], at, &header, *index)?;
        }
    }
    let row_count = rows.rows_read();
    if row_count == 0 {
        return Err(Error::validation("file", "the file has a header but no data rows"));
    }
    Ok(table(&selected.iter().map(|(_, c)| *c).collect::<Vec<_>>(), builders, row_count))
}

/// Builds a table of `columns` from records (JSON objects keyed by column name).
///
/// A missing key, `null` or a missing marker (`""`, `"NaN"`, `"NA"`...) is a missing value, which
/// is refused unless `allow_missing` (the model then imputes it as it learned to): a prediction
/// must not silently answer for values the caller forgot. Numeric columns take numbers or numeric
/// strings; the others take strings, numbers or booleans. A key that is no column of the schema
/// is refused so typos surface; schema columns outside `columns` (a target, say) are ignored.
/// Errors are `Validation` on `rows[i].column`, `i` counting from 0; a name in `columns` that
/// is not in the schema is a `Validation` error on `columns`.
pub fn table_from_records(
    records: &Records,
    schema: &DatasetSchema,
    columns: &[String],
    allow_missing: bool,
) -> Result<Table> {
    let selected: Vec<&ColumnSchema> =
        columns.iter().map(|name| schema_column(schema, name, "columns")).collect::<Result<_>>()?;
    let mut builders: Vec<ValuesBuilder> = selected
        .iter()
        .map(|c| ValuesBuilder::for_column(c, Layout { rows: records.len(), narrow: false }))
        .collect();
    // Each distinct key is looked up once: the slot of the feature it gives a value for, a
    // column of no interest here, or no column at all (refused before any value of the first
    // row holding it is read). A feature listed twice reads the one value from its first slot.
    let mut first_slot: HashMap<&str, usize, foldhash::fast::FixedState> = HashMap::default();
    let slot_of: Vec<usize> = selected
        .iter()
        .enumerate()
        .map(|(slot, column)| *first_slot.entry(column.name.as_str()).or_insert(slot))
        .collect();
    let keys: Vec<Key> = records
        .keys()
        .iter()
        .map(|key| match first_slot.get(&**key) {
            Some(&slot) => Key::Feature(slot),
            None if schema.column(key).is_some() => Key::Ignored,
            None => Key::Unknown,
        })
        .collect();
    let mut slots: Vec<Option<&Item>> = vec![None; selected.len()];
    for (i, row) in records.rows().enumerate() {
        slots.fill(None);
        for (key, item) in row {
            match keys[*key] {
                Key::Feature(slot) => slots[slot] = Some(item),
                Key::Ignored => {}
                Key::Unknown => {
                    return Err(Error::validation(
                        format!("rows[{i}].{}", records.keys()[*key]),
                        "no such column in the dataset",
                    ));
                }
            }
        }
        for ((column, values), slot) in selected.iter().zip(builders.iter_mut()).zip(&slot_of) {
            let item = match slots[*slot] {
                Some(item) => item,
                None if allow_missing => &Item::Null,
                None => return Err(absent_features(i, &slots, &slot_of, &selected)),
            };
            let field = || format!("rows[{i}].{}", column.name);
            values
                .push_item(item, records)
                .map_err(|message| Error::validation(field(), message))?;
            if !allow_missing && values.0.is_missing(i) {
                return Err(Error::validation(field(), NO_VALUE));
            }
        }
    }
    Ok(table(&selected, builders, records.len() as u64))
}

/// What a record's key is to the table being built.
#[derive(Clone, Copy)]
enum Key {
    /// The value of the feature in this slot.
    Feature(usize),
    /// A column of the schema the table does not hold (the target, say).
    Ignored,
    /// No column of the schema.
    Unknown,
}

/// The error for row `i`, whose `slots` lack some of the `selected` features: every absent one.
fn absent_features(
    i: usize,
    slots: &[Option<&Item>],
    slot_of: &[usize],
    selected: &[&ColumnSchema],
) -> Error {
    let absent: Vec<String> = selected
        .iter()
        .zip(slot_of)
        .filter(|(_, slot)| slots[**slot].is_none())
        .map(|(column, _)| format!("\"{}\"", excerpt(&column.name)))
        .collect();
    Error::validation(
        format!("rows[{i}]"),
        format!(
            "missing feature column{} {}: give every feature, or set allow_missing to let the \
             model impute them",
            if absent.len() == 1 { "" } else { "s" },
            absent.join(", ")
        ),
    )
}

/// Why a missing value is refused where values are required.
const NO_VALUE: &str = "no value (null, \"\", or a marker such as \"NaN\" or \"NA\"): give one, or \
                        set allow_missing to let the model impute it";

/// Refuses the first missing value of `table` (a CSV body to predict), naming its row and column.
pub fn refuse_missing(table: &Table) -> Result<()> {
    for column in &table.columns {
        if let Some(row) = (0..table.rows).find(|&row| column.values.is_missing(row)) {
            return Err(Error::validation(
                "file",
                format!("data row {}, column \"{}\": {NO_VALUE}", row + 1, excerpt(&column.name)),
            ));
        }
    }
    Ok(())
}

fn schema_column<'s>(
    schema: &'s DatasetSchema,
    name: &str,
    field: &str,
) -> Result<&'s ColumnSchema> {
    schema.column(name).ok_or_else(|| {
        Error::validation(field, format!("the dataset has no column \"{}\"", excerpt(name)))
    })
}

fn table(columns: &[&ColumnSchema], builders: Vec<ValuesBuilder>, rows: u64) -> Table {
    let columns = columns
        .iter()
        .zip(builders)
        .map(|(column, values)| TableColumn { name: column.name.clone(), values: values.0 })
        .collect();
    Table { columns, rows: usize::try_from(rows).unwrap_or(usize::MAX) }
}

/// One column's values as they are read.
struct ValuesBuilder(ColumnValues);

impl ValuesBuilder {
    /// An empty column of `column`'s kind, made as `layout` says.
    fn for_column(column: &ColumnSchema, layout: Layout) -> Self {
        let rows = layout.rows;
        if !is_numeric(column) {
            Self(ColumnValues::Text(TextColumn::with_capacity(rows)))
        } else if layout.narrow && f32_suffices(column) {
            Self(ColumnValues::Numeric(NumericColumn::with_f32(rows)))
        } else {
            Self(ColumnValues::Numeric(NumericColumn::with_capacity(rows)))
        }
    }

    fn push_cell(&mut self, raw: &str, at: RowAt, header: &[String], index: usize) -> Result<()> {
        let bad = |what: String| {
            Error::validation(
                "file",
                format!("{at}, column {}: {what}", column_label(header, index)),
            )
        };
        match (&mut self.0, classify(raw)) {
            (ColumnValues::Numeric(values), Cell::Missing) => values.push(None),
            (ColumnValues::Numeric(values), Cell::Number(x)) => values.push(Some(x)),
            (ColumnValues::Numeric(_), Cell::NonFinite) => {
                return Err(bad("non-finite number".into()));
            }
            (ColumnValues::Numeric(_), Cell::Text(text)) => {
                return Err(bad(format!("expected a number, got \"{}\"", excerpt(text))));
            }
            (ColumnValues::Text(values), Cell::Missing) => values.push(None),
            (ColumnValues::Text(values), _) => values.push(Some(raw.trim())),
        }
        Ok(())
    }

    fn push_item(&mut self, item: &Item, records: &Records) -> std::result::Result<(), String> {
        match (&mut self.0, item) {
            (ColumnValues::Numeric(values), Item::Null) => values.push(None),
            (ColumnValues::Numeric(values), Item::Number(n)) => {
                values.push(Some(n.as_f64().filter(|x| x.is_finite()).ok_or("non-finite number")?));
            }
            (ColumnValues::Numeric(values), Item::Text(start, end)) => {
                match classify(records.text(*start, *end)) {
                    Cell::Missing => values.push(None),
                    Cell::Number(x) => values.push(Some(x)),
                    Cell::NonFinite => return Err("non-finite number".into()),
                    Cell::Text(text) => {
                        return Err(format!("expected a number, got \"{}\"", excerpt(text)));
                    }
                }
            }
            (ColumnValues::Numeric(_), other) => {
                return Err(format!("expected a number, got {}", item_type(other)));
            }
            (ColumnValues::Text(values), Item::Null) => values.push(None),
            (ColumnValues::Text(values), Item::Text(start, end)) => {
                let s = records.text(*start, *end).trim();
                values.push((!is_missing(s)).then_some(s));
            }
            (ColumnValues::Text(values), Item::Number(n)) => values.push(Some(&n.to_string())),
            (ColumnValues::Text(values), Item::Bool(b)) => {
                values.push(Some(if *b { "true" } else { "false" }));
            }
            (ColumnValues::Text(_), other) => {
                return Err(format!("expected a string or a number, got {}", item_type(other)));
            }
        }
        Ok(())
    }
}

fn item_type(item: &Item) -> &'static str {
    match item {
        Item::Null => "null",
        Item::Bool(_) => "a boolean",
        Item::Number(_) => "a number",
        Item::Text(..) => "a string",
        Item::Array => "an array",
        Item::Object => "an object",
    }
}
