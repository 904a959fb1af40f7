//! Parquet inputs: any schema, read row group by row group as Arrow record batches.
//!
//! The email column is found by name exactly as for a CSV header. Every row's fields are read as
//! text (Arrow's display form) for the address checks and the CSV outputs: string columns,
//! decoded as views, where they lie in the batch, other types printed once per batch. The typed
//! batch travels with the rows so that a Parquet clean list keeps every column with its type.

use std::fs::File;
use std::sync::Arc;

use arrow_array::{
    Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, StringViewArray,
};
use arrow_cast::display::{ArrayFormatter, FormatOptions};
use arrow_schema::{ArrowError, DataType, SchemaRef};
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReader,
    ParquetRecordBatchReaderBuilder,
};

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
    let file_again = file
        .try_clone()
        .map_err(|e| not_readable(format!("unreadable Parquet file: {e}")))?;
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
    let builder = string_views(builder, file_again, &schema)
        .map_err(|e| not_readable(format!("unreadable Parquet file: {e}")))?;
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

/// The same reader with its string columns decoded as views (`Utf8View`): a value of a
/// dictionary-encoded page, the usual encoding of a list's columns, is then a view of the
/// dictionary rather than a copy of it, and a plain page's longer values are views of the page.
/// The rows' text is the same (a test holds it to Arrow's display); `schema` stays the file's.
fn string_views(
    builder: ParquetRecordBatchReaderBuilder<File>,
    file: File,
    schema: &SchemaRef,
) -> Result<ParquetRecordBatchReaderBuilder<File>, parquet::errors::ParquetError> {
    let fields: Vec<arrow_schema::Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 | DataType::LargeUtf8 => {
                f.as_ref().clone().with_data_type(DataType::Utf8View)
            }
            _ => f.as_ref().clone(),
        })
        .collect();
    if fields
        .iter()
        .zip(schema.fields())
        .all(|(a, b)| a == b.as_ref())
    {
        return Ok(builder);
    }
    let views = Arc::new(arrow_schema::Schema::new_with_metadata(
        fields,
        schema.metadata().clone(),
    ));
    let options = ArrowReaderOptions::new().with_schema(views);
    let metadata = ArrowReaderMetadata::try_new(builder.metadata().clone(), options)?;
    Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
        file, metadata,
    ))
}

/// Every row of `batch` as text fields (nulls as empty fields), added to `rows` numbered from
/// `first_line`. The text is Arrow's display form. String columns, most columns of a list, are
/// read where they lie in the batch; integers are printed and the other types go through
/// Arrow's formatter, once per batch.
pub fn rows_as_text(
    batch: &RecordBatch,
    first_line: u64,
    rows: &mut RowBatch,
) -> Result<(), String> {
    let options = FormatOptions::default().with_display_error(true);
    let columns: Vec<TextColumn> = batch
        .columns()
        .iter()
        .map(|c| TextColumn::new(c.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    rows.push_columns(columns, batch.num_rows(), first_line);
    Ok(())
}

/// One column of a batch as the text of its values.
#[derive(Debug, Clone)]
pub enum TextColumn {
    /// Strings, where they lie (a clone of the array shares its buffers).
    Utf8(StringArray),
    LargeUtf8(LargeStringArray),
    Utf8View(StringViewArray),
    /// Any other type, printed: value `k` is `data[ends[k - 1]..ends[k]]` (from 0 for the first).
    Printed {
        data: Vec<u8>,
        ends: Vec<usize>,
    },
}

impl TextColumn {
    fn new(array: &dyn Array, options: &FormatOptions) -> Result<Self, ArrowError> {
        let any = array.as_any();
        let printed = |print: &mut dyn FnMut(usize, &mut Vec<u8>)| {
            let (mut data, mut ends) = (Vec::new(), Vec::with_capacity(array.len()));
            for row in 0..array.len() {
                if array.is_valid(row) {
                    print(row, &mut data);
                }
                ends.push(data.len());
            }
            TextColumn::Printed { data, ends }
        };
        Ok(match array.data_type() {
            DataType::Utf8 => {
                TextColumn::Utf8(any.downcast_ref::<StringArray>().expect("Utf8").clone())
            }
            DataType::LargeUtf8 => TextColumn::LargeUtf8(
                any.downcast_ref::<LargeStringArray>()
                    .expect("LargeUtf8")
                    .clone(),
            ),
            DataType::Utf8View => TextColumn::Utf8View(
                any.downcast_ref::<StringViewArray>()
                    .expect("Utf8View")
                    .clone(),
            ),
            DataType::Int64 => {
                let a: &Int64Array = any.downcast_ref().expect("Int64");
                printed(&mut |row, data| {
                    data.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
                })
            }
            DataType::Int32 => {
                let a: &Int32Array = any.downcast_ref().expect("Int32");
                printed(&mut |row, data| {
                    data.extend_from_slice(itoa::Buffer::new().format(a.value(row)).as_bytes())
                })
            }
            _ => {
                let f = ArrayFormatter::try_new(array, options)?;
                printed(&mut |row, data| {
                    use std::io::Write as _;
                    let _ = write!(data, "{}", f.value(row));
                })
            }
        })
    }

    /// Row `row`'s value (empty for a null).
    #[inline(always)]
    pub fn value(&self, row: usize) -> &[u8] {
        match self {
            TextColumn::Utf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            TextColumn::LargeUtf8(a) if a.is_valid(row) => a.value(row).as_bytes(),
            TextColumn::Utf8View(a) if a.is_valid(row) => a.value(row).as_bytes(),
            TextColumn::Printed { data, ends } => {
                let start = if row == 0 { 0 } else { ends[row - 1] };
                &data[start..ends[row]]
            }
            _ => b"",
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
        // Two batches in one row batch: each row reads its own batch's columns.
        rows_as_text(&batch, 10, &mut rows).unwrap();
        rows_as_text(&batch.slice(1, 3), 20, &mut rows).unwrap();
        let want = by_formatter(&batch);
        let want: Vec<_> = want.iter().chain(&want[1..]).collect();
        let lines: Vec<u64> = (10..14).chain(20..23).collect();
        assert_eq!(rows.len(), want.len());
        let mut bounds = Vec::new();
        for (i, want) in want.iter().enumerate() {
            assert_eq!(rows.line(i), lines[i]);
            assert_eq!(rows.text_as_read(i), None);
            let fields = rows.fields(i);
            let got: Vec<Vec<u8>> = fields.iter().map(<[u8]>::to_vec).collect();
            assert_eq!(&got, *want, "row {i}");
            fields.bounds(&mut bounds);
            let at: Vec<Vec<u8>> = bounds.iter().map(|b| fields.at(*b).to_vec()).collect();
            assert_eq!(&at, *want, "row {i} by bounds");
            assert_eq!(fields.count_and_get(2), (want.len(), Some(&want[2][..])));
        }
        // A reset batch holds no rows and no columns: the next batch's rows are its own.
        rows.reset(b';');
        assert!(rows.is_empty());
        rows_as_text(&batch.slice(2, 2), 30, &mut rows).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows.line(0), 30);
        let got: Vec<Vec<u8>> = rows.fields(1).iter().map(<[u8]>::to_vec).collect();
        assert_eq!(&got, want[3]);
    }
}
