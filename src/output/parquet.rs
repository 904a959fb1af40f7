//! Parquet twins of the outputs: `clean.parquet`, `suppression.parquet`, `rejects.parquet`.
//!
//! Typed columns: times as timestamps (milliseconds, UTC; Parquet has no seconds unit), counts and line numbers as integers, flags
//! as booleans; zstd-compressed; written under a temporary name and renamed into place on commit,
//! like the CSVs. A clean list from a Parquet input keeps each input column with its own type
//! (rows are taken from the typed batches); from a CSV input its columns are strings.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{
    BooleanBuilder, Date32Builder, Float64Builder, Int64Builder, StringBuilder,
    TimestampMillisecondBuilder,
};
use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use tempfile::NamedTempFile;

use crate::files::{AtomicParquet, OutputError};

/// Rows buffered before a record batch is written.
const FLUSH_ROWS: usize = 64 * 1024;

/// The type of a column built row by row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// UTF-8 text.
    Text,
    /// 64-bit integer.
    Int,
    /// Timestamp, UTC (stored in milliseconds: Parquet has no seconds unit).
    Time,
    /// Boolean.
    Bool,
    /// 64-bit float.
    Float,
    /// Calendar date.
    Date,
}

/// One value of a row.
#[derive(Debug, Clone, Copy)]
pub enum Cell<'a> {
    /// Text.
    Text(&'a str),
    /// Integer.
    Int(i64),
    /// Unix seconds.
    Time(i64),
    /// Boolean.
    Bool(bool),
    /// Float.
    Float(f64),
    /// Days since 1970-01-01.
    Date(i32),
    /// No value.
    Null,
}

enum Builder {
    Text(StringBuilder),
    Int(Int64Builder),
    Time(TimestampMillisecondBuilder),
    Bool(BooleanBuilder),
    Float(Float64Builder),
    Date(Date32Builder),
}

impl Builder {
    fn new(kind: Kind) -> Self {
        match kind {
            Kind::Text => Builder::Text(StringBuilder::new()),
            Kind::Int => Builder::Int(Int64Builder::new()),
            Kind::Time => Builder::Time(TimestampMillisecondBuilder::new().with_timezone("UTC")),
            Kind::Bool => Builder::Bool(BooleanBuilder::new()),
            Kind::Float => Builder::Float(Float64Builder::new()),
            Kind::Date => Builder::Date(Date32Builder::new()),
        }
    }

    fn push(&mut self, cell: Cell) {
        match (self, cell) {
            (Builder::Text(b), Cell::Text(t)) => b.append_value(t),
            (Builder::Text(b), Cell::Int(i)) => b.append_value(i.to_string()),
            (Builder::Int(b), Cell::Int(i)) => b.append_value(i),
            (Builder::Time(b), Cell::Time(t)) => b.append_value(t.saturating_mul(1000)),
            (Builder::Bool(b), Cell::Bool(v)) => b.append_value(v),
            (Builder::Float(b), Cell::Float(v)) => b.append_value(v),
            (Builder::Date(b), Cell::Date(v)) => b.append_value(v),
            (Builder::Float(b), _) => b.append_null(),
            (Builder::Date(b), _) => b.append_null(),
            (Builder::Text(b), _) => b.append_null(),
            (Builder::Int(b), _) => b.append_null(),
            (Builder::Time(b), _) => b.append_null(),
            (Builder::Bool(b), _) => b.append_null(),
        }
    }

    fn finish(&mut self) -> ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Int(b) => Arc::new(b.finish()),
            Builder::Time(b) => Arc::new(b.finish()),
            Builder::Bool(b) => Arc::new(b.finish()),
            Builder::Float(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
        }
    }
}

fn data_type(kind: Kind) -> DataType {
    match kind {
        Kind::Text => DataType::Utf8,
        Kind::Int => DataType::Int64,
        Kind::Time => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
        Kind::Bool => DataType::Boolean,
        Kind::Float => DataType::Float64,
        Kind::Date => DataType::Date32,
    }
}

/// What a text column could be, from every value seen.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    int: bool,
    float: bool,
    boolean: bool,
    date: bool,
    time: bool,
    seen: bool,
}

impl Default for Candidate {
    fn default() -> Self {
        Candidate {
            int: true,
            float: true,
            boolean: true,
            date: true,
            time: true,
            seen: false,
        }
    }
}

fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "true" | "TRUE" | "True" => Some(true),
        "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

fn parse_date(v: &str) -> Option<i32> {
    let d = chrono::NaiveDate::parse_from_str(v, "%Y-%m-%d").ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(1970, 1, 1)?;
    i32::try_from((d - epoch).num_days()).ok()
}

fn parse_time(v: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(v)
        .ok()
        .map(|t| t.timestamp())
}

impl Candidate {
    fn observe(&mut self, v: &str) {
        if v.is_empty() {
            return;
        }
        self.seen = true;
        // Leading zeros are identifiers (postcodes, phone numbers), not numbers.
        let leading_zero = v.len() > 1 && v.starts_with('0') && !v.starts_with("0.");
        self.int &= !leading_zero && v.parse::<i64>().is_ok();
        self.float &= !leading_zero && v.parse::<f64>().is_ok_and(f64::is_finite);
        self.boolean &= parse_bool(v).is_some();
        self.date &= parse_date(v).is_some();
        self.time &= parse_time(v).is_some();
    }

    fn kind(&self) -> Kind {
        match *self {
            Candidate { seen: false, .. } => Kind::Text,
            Candidate { int: true, .. } => Kind::Int,
            Candidate { float: true, .. } => Kind::Float,
            Candidate { boolean: true, .. } => Kind::Bool,
            Candidate { date: true, .. } => Kind::Date,
            Candidate { time: true, .. } => Kind::Time,
            _ => Kind::Text,
        }
    }
}

/// `v` as a cell of `kind` (the kind was inferred from every value, so it parses).
fn typed_cell(kind: Kind, v: &str) -> Cell<'_> {
    if v.is_empty() && kind != Kind::Text {
        return Cell::Null;
    }
    match kind {
        Kind::Text => Cell::Text(v),
        Kind::Int => v.parse().map(Cell::Int).unwrap_or(Cell::Null),
        Kind::Float => v.parse().map(Cell::Float).unwrap_or(Cell::Null),
        Kind::Bool => parse_bool(v).map(Cell::Bool).unwrap_or(Cell::Null),
        Kind::Date => parse_date(v).map(Cell::Date).unwrap_or(Cell::Null),
        Kind::Time => parse_time(v).map(Cell::Time).unwrap_or(Cell::Null),
    }
}

/// A Parquet table whose text columns get the narrowest type that every one of their values
/// fits (`--infer-types`): integer, float, boolean, date, timestamp, else text. The rows are kept
/// in a temporary CSV while the run goes on, and written typed at commit, so the inference sees
/// every value and no value is ever lost to a guess made on a sample.
pub struct InferredTable {
    dir: PathBuf,
    name: String,
    columns: Vec<(String, Option<Kind>)>,
    seen: Vec<Candidate>,
    spill: csv::Writer<NamedTempFile>,
}

impl InferredTable {
    /// Starts `dir/name`; columns with `None` are inferred, the others keep their kind.
    pub fn create(
        dir: &Path,
        name: &str,
        columns: Vec<(String, Option<Kind>)>,
    ) -> Result<Self, OutputError> {
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{name}.rows."))
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(|source| OutputError {
                path: dir.join(name),
                source,
            })?;
        Ok(InferredTable {
            dir: dir.to_path_buf(),
            name: name.to_owned(),
            seen: vec![Candidate::default(); columns.len()],
            columns,
            spill: csv::WriterBuilder::new()
                .has_headers(false)
                .from_writer(temp),
        })
    }

    /// Adds a row; text cells are observed for inference.
    pub fn push(&mut self, cells: &[Cell]) -> Result<(), OutputError> {
        let mut record = csv::StringRecord::new();
        for (i, c) in cells.iter().enumerate() {
            let text = match c {
                Cell::Text(t) => {
                    self.seen[i].observe(t);
                    (*t).to_owned()
                }
                Cell::Bool(b) => b.to_string(),
                Cell::Int(v) => v.to_string(),
                _ => String::new(),
            };
            record.push_field(&text);
        }
        self.spill
            .write_record(&record)
            .map_err(|e| OutputError::other(&self.dir.join(&self.name), e))
    }

    /// Infers the types, writes the Parquet file and renames it into place.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        let path = self.dir.join(&self.name);
        let temp = self
            .spill
            .into_inner()
            .map_err(|e| OutputError::other(&path, e.error()))?;
        let kinds: Vec<Kind> = self
            .columns
            .iter()
            .zip(&self.seen)
            .map(|((_, fixed), seen)| fixed.unwrap_or_else(|| seen.kind()))
            .collect();
        let spec: Vec<(&str, Kind)> = self
            .columns
            .iter()
            .zip(&kinds)
            .map(|((n, _), k)| (n.as_str(), *k))
            .collect();
        let mut table = RowTable::create(&self.dir, &self.name, &spec)?;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_path(temp.path())
            .map_err(|e| OutputError::other(&path, e))?;
        for record in reader.records() {
            let record = record.map_err(|e| OutputError::other(&path, e))?;
            let cells: Vec<Cell> = record
                .iter()
                .zip(&kinds)
                .map(|(v, k)| typed_cell(*k, v))
                .collect();
            table.push(&cells)?;
        }
        table.commit()
    }
}

/// A Parquet table filled row by row, flushed in batches.
pub struct RowTable {
    schema: SchemaRef,
    builders: Vec<Builder>,
    pending: usize,
    file: AtomicParquet,
}

impl RowTable {
    /// Starts `dir/name` with these columns (all nullable).
    pub fn create(dir: &Path, name: &str, columns: &[(&str, Kind)]) -> Result<Self, OutputError> {
        let schema: SchemaRef = Arc::new(Schema::new(
            columns
                .iter()
                .map(|(n, k)| Field::new(*n, data_type(*k), true))
                .collect::<Vec<_>>(),
        ));
        Ok(RowTable {
            builders: columns.iter().map(|(_, k)| Builder::new(*k)).collect(),
            file: AtomicParquet::create(dir, name, schema.clone())?,
            schema,
            pending: 0,
        })
    }

    /// Adds one row (one cell per column).
    pub fn push(&mut self, cells: &[Cell]) -> Result<(), OutputError> {
        for (b, c) in self.builders.iter_mut().zip(cells) {
            b.push(*c);
        }
        self.pending += 1;
        if self.pending >= FLUSH_ROWS {
            self.flush()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), OutputError> {
        if self.pending == 0 {
            return Ok(());
        }
        let arrays: Vec<ArrayRef> = self.builders.iter_mut().map(Builder::finish).collect();
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| OutputError::other(self.file.path(), e))?;
        self.pending = 0;
        self.file.write(&batch)
    }

    /// Rows written or pending.
    pub fn rows(&self) -> u64 {
        self.file.rows() + self.pending as u64
    }

    /// Flushes and renames into place.
    pub fn commit(mut self) -> Result<PathBuf, OutputError> {
        self.flush()?;
        self.file.commit()
    }
}

/// Where a typed clean list's column comes from.
#[derive(Debug, Clone)]
pub enum TypedCol {
    /// An input column, taken with its type.
    Input(usize),
    /// Built from row values of this kind.
    Built(Kind),
}

/// A clean list from Parquet inputs: the kept rows of each typed batch, taken whole.
pub struct TypedTable {
    schema: SchemaRef,
    cols: Vec<TypedCol>,
    file: AtomicParquet,
    keep: Vec<u32>,
    built: Vec<Builder>,
}

impl TypedTable {
    /// Starts `dir/name`; `fields` name and type the output columns.
    pub fn create(
        dir: &Path,
        name: &str,
        input: &Schema,
        cols: Vec<(String, TypedCol)>,
    ) -> Result<Self, OutputError> {
        let fields: Vec<Field> = cols
            .iter()
            .map(|(n, c)| match c {
                TypedCol::Input(i) => Field::new(n, input.field(*i).data_type().clone(), true),
                TypedCol::Built(k) => Field::new(n, data_type(*k), true),
            })
            .collect();
        let schema: SchemaRef = Arc::new(Schema::new(fields));
        let built = cols
            .iter()
            .filter_map(|(_, c)| match c {
                TypedCol::Built(k) => Some(Builder::new(*k)),
                TypedCol::Input(_) => None,
            })
            .collect();
        Ok(TypedTable {
            file: AtomicParquet::create(dir, name, schema.clone())?,
            schema,
            cols: cols.into_iter().map(|(_, c)| c).collect(),
            keep: Vec::new(),
            built,
        })
    }

    /// Keeps row `index` of the current batch; `built` holds the values of the built columns.
    pub fn keep(&mut self, index: usize, built: &[Cell]) {
        self.keep.push(index as u32);
        for (b, c) in self.built.iter_mut().zip(built) {
            b.push(*c);
        }
    }

    /// Writes the kept rows of `batch` (the batch the kept indices refer to).
    pub fn finish_batch(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        if self.keep.is_empty() {
            return Ok(());
        }
        let indices = UInt32Array::from(std::mem::take(&mut self.keep));
        let mut built = self.built.iter_mut();
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.cols.len());
        for c in &self.cols {
            match c {
                TypedCol::Input(i) => {
                    let taken = arrow_select::take::take(batch.column(*i).as_ref(), &indices, None)
                        .map_err(|e| OutputError::other(self.file.path(), e))?;
                    // The input's strings are read as views: written with the file's own type.
                    let want = self.schema.field(arrays.len()).data_type();
                    let taken = if taken.data_type() == want {
                        taken
                    } else {
                        arrow_cast::cast(taken.as_ref(), want)
                            .map_err(|e| OutputError::other(self.file.path(), e))?
                    };
                    arrays.push(taken);
                }
                TypedCol::Built(_) => {
                    let b = built.next().ok_or_else(|| {
                        OutputError::other(self.file.path(), "column plan mismatch")
                    })?;
                    arrays.push(b.finish());
                }
            }
        }
        let out = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| OutputError::other(self.file.path(), e))?;
        self.file.write(&out)
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.file.rows()
    }

    /// Renames into place.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        self.file.commit()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    #[test]
    fn inference_takes_every_value_into_account() {
        let mut c = Candidate::default();
        for v in ["1", "22", "", "-3"] {
            c.observe(v);
        }
        assert_eq!(c.kind(), Kind::Int);
        c.observe("4.5");
        assert_eq!(c.kind(), Kind::Float);
        let mut zip = Candidate::default();
        zip.observe("02134");
        assert_eq!(zip.kind(), Kind::Text, "leading zeros stay text");
        let mut d = Candidate::default();
        d.observe("2024-02-29");
        assert_eq!(d.kind(), Kind::Date);
        d.observe("2024-02-30");
        assert_eq!(d.kind(), Kind::Text);
        let mut b = Candidate::default();
        b.observe("true");
        b.observe("False");
        assert_eq!(b.kind(), Kind::Bool);
        assert_eq!(Candidate::default().kind(), Kind::Text);
    }

    #[test]
    fn typed_rows_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = RowTable::create(
            dir.path(),
            "s.parquet",
            &[
                ("email", Kind::Text),
                ("count", Kind::Int),
                ("at", Kind::Time),
                ("flag", Kind::Bool),
            ],
        )
        .unwrap();
        t.push(&[
            Cell::Text("a@corp-mail.net"),
            Cell::Int(3),
            Cell::Time(1_700_000_000),
            Cell::Bool(true),
        ])
        .unwrap();
        t.push(&[
            Cell::Text("b@corp-mail.net"),
            Cell::Null,
            Cell::Null,
            Cell::Bool(false),
        ])
        .unwrap();
        assert!(!dir.path().join("s.parquet").exists());
        t.commit().unwrap();
        let file = std::fs::File::open(dir.path().join("s.parquet")).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches: Vec<RecordBatch> = reader.map(Result::unwrap).collect();
        assert_eq!(batches[0].num_rows(), 2);
        assert_eq!(
            batches[0].schema().field(2).data_type(),
            &DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into()))
        );
        assert_eq!(batches[0].column(1).null_count(), 1);
    }
}
