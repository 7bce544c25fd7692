//! Rows to predict as records (objects keyed by column name), held flat.
//!
//! A request of 10,000 rows read as `serde_json` maps is 10,000 `BTreeMap`s and 40,000 key
//! `String`s, built and then dropped: reading them took three times as long as predicting them.
//! [`Records`] keeps each distinct key once, every value as a small item in one vector (strings
//! in one shared buffer) and where each row ends, so reading a request allocates a handful of
//! growing vectors, and turning it into a table looks each key up once, not once per row.

use std::collections::HashMap;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Number, Value};

type Fast = foldhash::fast::FixedState;

/// Rows to predict, each a record of values keyed by column name, as in
/// `[{"sepal_length": 5.1, "color": "red"}, ...]`.
///
/// Read one from JSON (it implements `Deserialize`, from any serde format), or build it from
/// `serde_json` maps:
///
/// ```
/// use modelyard_core::datasets::Records;
/// use serde_json::json;
///
/// let read: Records = serde_json::from_str(r#"[{"x": 1.5, "color": "red"}, {"x": 2}]"#)?;
/// let row = json!({"x": 1.5, "color": "red"}).as_object().cloned().unwrap_or_default();
/// let built = Records::from(vec![row, json!({"x": 2}).as_object().cloned().unwrap_or_default()]);
/// assert_eq!(read.len(), 2);
/// assert_eq!(read, built);
/// # Ok::<(), serde_json::Error>(())
/// ```
///
/// Within a record a key given twice keeps its last value, as a JSON object does. What the
/// values must be is up to the model's dataset schema, checked when predicting.
#[derive(Clone, Default)]
pub struct Records {
    /// Every distinct key, in the order first seen; a cell names its key by index here.
    keys: Vec<Box<str>>,
    index: HashMap<Box<str>, usize, Fast>,
    /// Every row's cells, row after row.
    cells: Vec<(usize, Item)>,
    /// Where each row's cells end in `cells`.
    ends: Vec<usize>,
    /// The text of every string value, one after the other.
    text: String,
}

/// One value of a record.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Item {
    /// `null` (or a float that is not finite, as `serde_json` reads one).
    Null,
    Bool(bool),
    Number(Number),
    /// A string: its byte range in [`Records::text`].
    Text(usize, usize),
    /// An array, read past: no column takes one.
    Array,
    /// An object, read past.
    Object,
}

impl Records {
    /// No rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// How many rows there are.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there is no row.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Adds a row.
    pub fn push(&mut self, record: &Map<String, Value>) {
        self.push_pairs(record.iter().map(|(key, value)| (key.as_str(), value)));
    }

    /// Adds a row of `(key, value)` pairs.
    fn push_pairs<'a>(&mut self, record: impl IntoIterator<Item = (&'a str, &'a Value)>) {
        let previous = self.last_row_start();
        for (position, (key, value)) in record.into_iter().enumerate() {
            let key = self.intern(key, previous + position);
            let item = match value {
                Value::Null => Item::Null,
                Value::Bool(b) => Item::Bool(*b),
                Value::Number(n) => Item::Number(n.clone()),
                Value::String(s) => self.push_text(s),
                Value::Array(_) => Item::Array,
                Value::Object(_) => Item::Object,
            };
            self.cells.push((key, item));
        }
        self.ends.push(self.cells.len());
    }

    /// Rows given as arrays of values, `features` naming their columns in order (a 2-D array
    /// in the model's feature order, say). A row of another length is a `Validation` error on
    /// `rows`.
    pub fn from_matrix(features: &[String], matrix: &[Vec<Value>]) -> crate::Result<Self> {
        let mut records = Self::new();
        for (i, row) in matrix.iter().enumerate() {
            if row.len() != features.len() {
                return Err(crate::Error::validation(
                    "rows",
                    format!(
                        "row {i} has {} values; the model reads {} features {:?}",
                        row.len(),
                        features.len(),
                        features
                    ),
                ));
            }
            records.push_pairs(features.iter().map(String::as_str).zip(row));
        }
        Ok(records)
    }

    /// The distinct keys, indexed as the cells of [`Records::rows`] name them.
    pub(crate) fn keys(&self) -> &[Box<str>] {
        &self.keys
    }

    /// Each row's cells: a key's index in [`Records::keys`] and its value.
    pub(crate) fn rows(&self) -> impl Iterator<Item = &[(usize, Item)]> {
        let starts = std::iter::once(0).chain(self.ends.iter().copied());
        starts.zip(&self.ends).map(|(start, &end)| &self.cells[start..end])
    }

    /// The text of a string value.
    pub(crate) fn text(&self, start: usize, end: usize) -> &str {
        &self.text[start..end]
    }

    /// Where the last row read so far starts in `cells` (the end if there is none).
    fn last_row_start(&self) -> usize {
        match self.ends.len() {
            0 => self.cells.len(),
            1 => 0,
            n => self.ends[n - 2],
        }
    }

    /// The index of `key`, added if new. Rows of one request almost always list their keys in
    /// the same order, so the key at the same place in the previous row (`guess`, an index into
    /// `cells`) is compared first, and the hash map asked only when it differs.
    fn intern(&mut self, key: &str, guess: usize) -> usize {
        let previous_row_end = self.ends.last().copied().unwrap_or(0);
        if guess < previous_row_end {
            let id = self.cells[guess].0;
            if *self.keys[id] == *key {
                return id;
            }
        }
        if let Some(&id) = self.index.get(key) {
            return id;
        }
        let id = self.keys.len();
        self.keys.push(key.into());
        self.index.insert(key.into(), id);
        id
    }

    fn push_text(&mut self, s: &str) -> Item {
        let start = self.text.len();
        self.text.push_str(s);
        Item::Text(start, self.text.len())
    }
}

impl fmt::Debug for Records {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Records").field("rows", &self.len()).field("keys", &self.keys).finish()
    }
}

/// Equal when every row maps the same keys to the same values (a key given twice counting with
/// its last value, the order of keys not counting), as the rows' JSON objects would be.
impl PartialEq for Records {
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len()
            && self.rows().zip(other.rows()).all(|(a, b)| self.row_map(a) == other.row_map(b))
    }
}

impl Records {
    /// A row as its keys' last values, strings as text.
    fn row_map<'a>(
        &'a self,
        row: &'a [(usize, Item)],
    ) -> std::collections::BTreeMap<&'a str, Result<&'a Item, &'a str>> {
        row.iter()
            .map(|(key, item)| {
                let value = match item {
                    Item::Text(start, end) => Err(self.text(*start, *end)),
                    other => Ok(other),
                };
                (&*self.keys[*key], value)
            })
            .collect()
    }
}

impl From<&[Map<String, Value>]> for Records {
    fn from(rows: &[Map<String, Value>]) -> Self {
        let mut records = Self::new();
        for row in rows {
            records.push(row);
        }
        records
    }
}

impl From<Vec<Map<String, Value>>> for Records {
    fn from(rows: Vec<Map<String, Value>>) -> Self {
        Self::from(rows.as_slice())
    }
}

impl FromIterator<Map<String, Value>> for Records {
    fn from_iter<I: IntoIterator<Item = Map<String, Value>>>(rows: I) -> Self {
        let mut records = Self::new();
        for row in rows {
            records.push(&row);
        }
        records
    }
}

impl<'de> Deserialize<'de> for Records {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RecordsVisitor)
    }
}

struct RecordsVisitor;

impl<'de> Visitor<'de> for RecordsVisitor {
    type Value = Records;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of objects keyed by column name")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Records, A::Error> {
        let mut records = Records::new();
        while seq.next_element_seed(RowSeed(&mut records))?.is_some() {}
        Ok(records)
    }
}

/// Reads one row into the records.
struct RowSeed<'a>(&'a mut Records);

impl<'de> DeserializeSeed<'de> for RowSeed<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for RowSeed<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object keyed by column name")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let records = self.0;
        let previous = records.last_row_start();
        let mut position = 0;
        while let Some(key) = map.next_key_seed(KeySeed { records, guess: previous + position })? {
            let item = map.next_value_seed(ItemSeed(records))?;
            records.cells.push((key, item));
            position += 1;
        }
        records.ends.push(records.cells.len());
        Ok(())
    }
}

/// Reads a key, borrowed from the input where it can be, and interns it.
struct KeySeed<'a> {
    records: &'a mut Records,
    guess: usize,
}

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = usize;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<usize, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = usize;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a column name")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<usize, E> {
        Ok(self.records.intern(key, self.guess))
    }
}

/// Reads a value, its text (if a string) into the records' shared buffer.
struct ItemSeed<'a>(&'a mut Records);

impl<'de> DeserializeSeed<'de> for ItemSeed<'_> {
    type Value = Item;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for ItemSeed<'_> {
    type Value = Item;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, b: bool) -> Result<Item, E> {
        Ok(Item::Bool(b))
    }

    fn visit_i64<E: de::Error>(self, n: i64) -> Result<Item, E> {
        Ok(Item::Number(n.into()))
    }

    fn visit_u64<E: de::Error>(self, n: u64) -> Result<Item, E> {
        Ok(Item::Number(n.into()))
    }

    fn visit_f64<E: de::Error>(self, x: f64) -> Result<Item, E> {
        Ok(Number::from_f64(x).map_or(Item::Null, Item::Number))
    }

    fn visit_str<E: de::Error>(self, s: &str) -> Result<Item, E> {
        Ok(self.0.push_text(s))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Item, E> {
        Ok(Item::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Item, E> {
        Ok(Item::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Item, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Item::Array)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Item::Object)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn maps(value: Value) -> Vec<Map<String, Value>> {
        serde_json::from_value(value).unwrap_or_default()
    }

    #[test]
    fn json_and_maps_read_alike_and_keys_are_kept_once() {
        let value = json!([
            {"a": 1, "b": "x", "c": null},
            {"a": 2.5, "b": "yy", "c": true},
            {"c": [1, {"d": 2}], "a": -3, "e": {"f": [1]}},
        ]);
        let read: Records = serde_json::from_str(&value.to_string()).unwrap();
        assert_eq!(read, Records::from(maps(value)));
        assert_eq!(read.len(), 3);
        assert_eq!(read.keys().len(), 4);
        let rows: Vec<&[(usize, Item)]> = read.rows().collect();
        assert_eq!(rows[0][1].1, Item::Text(0, 1));
        assert_eq!(read.text(1, 3), "yy");
        assert_eq!(rows[2][0], (2, Item::Array));
        assert_eq!(rows[2][2], (3, Item::Object));
    }

    #[test]
    fn what_is_no_array_of_objects_is_refused() {
        for (text, expected) in [
            ("{}", "expected an array of objects keyed by column name"),
            ("[1]", "expected an object keyed by column name"),
            ("[{\"a\": 1}, [2]]", "expected an object keyed by column name"),
            ("[{\"a\": 1", "EOF"),
        ] {
            let err = serde_json::from_str::<Records>(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
    }

    #[test]
    fn a_key_given_twice_keeps_both_cells_in_order() {
        let read: Records = serde_json::from_str(r#"[{"a": 1, "a": 2}]"#).unwrap();
        let row = read.rows().next().unwrap();
        assert_eq!(row.len(), 2);
        assert_eq!(row[1], (0, Item::Number(2.into())));
    }
}
