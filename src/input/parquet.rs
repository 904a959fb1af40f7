//! Parquet inputs: any schema, read row group by row group as Arrow record batches.
//!
//! The email column is found by name exactly as for a CSV header. Every row is also rendered as
//! text (Arrow's display formatting) for the address checks and the CSV outputs, and the typed
//! batch travels with it so that a Parquet clean list keeps every column with its type.

use std::fs::File;
use std::sync::Arc;

use arrow_array::{
    Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, SchemaRef};
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
/// `first_line`. The text is Arrow's display form; strings and integers, most columns of a
/// list, are copied or printed straight into the batch, the other types go through Arrow's
/// formatter.
pub fn rows_as_text(
    batch: &RecordBatch,
    first_line: u64,
    rows: &mut RowBatch,
) -> Result<(), String> {
    let options = FormatOptions::default().with_display_error(true);
    let columns: Vec<Column> = batch
        .columns()
        .iter()
        .map(|c| Column::new(c.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    for row in 0..batch.num_rows() {
        let start = rows.begin_row();
        for column in &columns {
            rows.push_field(&start, |data| column.write(row, data));
        }
        rows.end_row(first_line + row as u64, start);
    }
    Ok(())
}

/// One column of a batch, ready to write its values as text.
enum Column<'a> {
    Utf8(&'a StringArray),
    LargeUtf8(&'a LargeStringArray),
    Utf8View(&'a StringViewArray),
    Int64(&'a Int64Array),
    Int32(&'a Int32Array),
    Other(&'a dyn Array, ArrayFormatter<'a>),
}

impl<'a> Column<'a> {
    fn new(array: &'a dyn Array, options: &FormatOptions<'a>) -> Result<Self, ArrowError> {
        let any = array.as_any();
        Ok(match array.data_type() {
            DataType::Utf8 => Column::Utf8(any.downcast_ref().expect("Utf8 is a StringArray")),
            DataType::LargeUtf8 => {
                Column::LargeUtf8(any.downcast_ref().expect("LargeUtf8 is a LargeStringArray"))
            }
            DataType::Utf8View => {
                Column::Utf8View(any.downcast_ref().expect("Utf8View is a StringViewArray"))
            }
            DataType::Int64 => Column::Int64(any.downcast_ref().expect("Int64 is an Int64Array")),
            DataType::Int32 => Column::Int32(any.downcast_ref().expect("Int32 is an Int32Array")),
            _ => Column::Other(array, ArrayFormatter::try_new(array, options)?),
        })
    }

    /// Appends row `row`'s value (nothing for a null).
    #[inline]
    fn write(&self, row: usize, data: &mut Vec<u8>) {
        match self {
            Column::Utf8(a) if a.is_valid(row) => data.extend_from_slice(a.value(row).as_bytes()),
            Column::LargeUtf8(a) if a.is_valid(row) => {
                data.extend_from_slice(a.value(row).as_bytes())
            }
            Column::Utf8View(a) if a.is_valid(row) => {
                data.extend_from_slice(a.value(row).as_bytes())
            }
            Column::Int64(a) if a.is_valid(row) => {
                data.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
            }
            Column::Int32(a) if a.is_valid(row) => {
                data.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
            }
            Column::Other(a, f) if a.is_valid(row) => {
                use std::io::Write as _;
                let _ = write!(data, "{}", f.value(row));
            }
            _ => {}
        }
    }
}

/// A batch shared by all its rows.
pub type SharedBatch = Arc<RecordBatch>;

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::{Date32Array, Float64Array};

    /// The text Arrow's own formatter gives, cell by cell (nulls empty): what every column,
    /// fast path or not, must give.
    fn by_formatter(batch: &RecordBatch) -> Vec<Vec<Vec<u8>>> {
        let options = FormatOptions::default().with_display_error(true);
        (0..batch.num_rows())
            .map(|row| {
                batch
                    .columns()
                    .iter()
                    .map(|c| {
                        let f = ArrayFormatter::try_new(c.as_ref(), &options).unwrap();
                        if c.is_null(row) {
                            Vec::new()
                        } else {
                            f.value(row).to_string().into_bytes()
                        }
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn typed_columns_render_as_arrow_displays_them() {
        let text = [
            Some("ann@corp-mail.com"),
            None,
            Some("Zoë, \"quoted\"\nline"),
            Some(""),
        ];
        let batch = RecordBatch::try_from_iter([
            (
                "s",
                Arc::new(StringArray::from(text.to_vec())) as Arc<dyn Array>,
            ),
            ("l", Arc::new(LargeStringArray::from(text.to_vec()))),
            ("v", Arc::new(StringViewArray::from(text.to_vec()))),
            (
                "i",
                Arc::new(Int64Array::from(vec![
                    Some(i64::MIN),
                    Some(0),
                    None,
                    Some(i64::MAX),
                ])),
            ),
            (
                "j",
                Arc::new(Int32Array::from(vec![
                    Some(-7),
                    None,
                    Some(i32::MAX),
                    Some(42),
                ])),
            ),
            (
                "f",
                Arc::new(Float64Array::from(vec![
                    Some(1.5),
                    Some(-0.0),
                    None,
                    Some(1e300),
                ])),
            ),
            (
                "d",
                Arc::new(Date32Array::from(vec![
                    Some(0),
                    Some(19_000),
                    None,
                    Some(-1),
                ])),
            ),
        ])
        .unwrap();
        let mut rows = RowBatch::new(b',');
        rows_as_text(&batch, 10, &mut rows).unwrap();
        let want = by_formatter(&batch);
        assert_eq!(rows.len(), want.len());
        for (i, want) in want.iter().enumerate() {
            assert_eq!(rows.line(i), 10 + i as u64);
            let got: Vec<Vec<u8>> = rows.fields(i).iter().map(<[u8]>::to_vec).collect();
            assert_eq!(&got, want, "row {i}");
        }
    }
}
