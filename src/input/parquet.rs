//! Parquet inputs: any schema, read row group by row group as Arrow record batches.
//!
//! The email column is found by name exactly as for a CSV header. Every row is also rendered as
//! text (Arrow's display formatting) for the address checks and the CSV outputs, and the typed
//! batch travels with it so that a Parquet clean list keeps every column with its type.

use std::fs::File;
use std::sync::Arc;

use arrow_array::{Array, RecordBatch};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};

use super::{CsvOptions, InputError, RowBatch};

/// An opened Parquet file.
pub struct ParquetRows {
    /// The schema of its batches.
    pub schema: SchemaRef,
    /// The batches.
    pub reader: ParquetRecordBatchReader,
    /// Rows in the file (from the footer).
    pub rows: u64,
}

/// Opens `path` (already known to start with `PAR1`) and finds its email column.
pub fn open(
    name: &str,
    file: File,
    options: &CsvOptions,
    batch_rows: usize,
) -> Result<(ParquetRows, usize, Vec<String>), InputError> {
    let not_readable = |reason: String| InputError::NotCsv {
        file: name.to_owned(),
        reason,
    };
    // The decoders of the parquet crate can panic on damaged files (metadata, pages): every call
    // into them is contained, and a panic is a damaged file like any other.
    let builder = crate::guard::caught(|| ParquetRecordBatchReaderBuilder::try_new(file))
        .map_err(|why| not_readable(format!("damaged Parquet file: {why}")))?
        .map_err(|e| not_readable(format!("unreadable Parquet file: {e}")))?;
    let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
    let schema = builder.schema().clone();
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    let header = csv::ByteRecord::from(names.clone());
    let email_column = super::sniff::header_column_for(name, &header, &options.email_column)?;
    let field = schema.field(email_column);
    if !matches!(
        field.data_type(),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    ) {
        return Err(InputError::NoEmailColumn {
            file: name.to_owned(),
            reason: format!(
                "the email column {:?} holds {} values, not strings",
                field.name(),
                field.data_type()
            ),
        });
    }
    let reader = crate::guard::caught(|| builder.with_batch_size(batch_rows.max(1)).build())
        .map_err(|why| not_readable(format!("damaged Parquet file: {why}")))?
        .map_err(|e| not_readable(format!("unreadable Parquet file: {e}")))?;
    Ok((
        ParquetRows {
            schema,
            reader,
            rows,
        },
        email_column,
        names,
    ))
}

/// Every row of `batch` as text fields (nulls as empty fields), added to `rows` numbered from
/// `first_line`.
pub fn rows_as_text(
    batch: &RecordBatch,
    first_line: u64,
    rows: &mut RowBatch,
) -> Result<(), String> {
    let options = FormatOptions::default().with_display_error(true);
    let formatters: Vec<ArrayFormatter> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut cells: Vec<String> = vec![String::new(); formatters.len()];
    for row in 0..batch.num_rows() {
        for ((col, f), cell) in batch.columns().iter().zip(&formatters).zip(&mut cells) {
            cell.clear();
            if !col.is_null(row) {
                use std::fmt::Write as _;
                let _ = write!(cell, "{}", f.value(row));
            }
        }
        rows.push_row(first_line + row as u64, cells.iter().map(String::as_bytes));
    }
    Ok(())
}

/// A batch shared by all its rows.
pub type SharedBatch = Arc<RecordBatch>;
