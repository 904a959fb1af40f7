//! A Parquet file written under a temporary name, synced and renamed into place on commit.

use std::path::{Path, PathBuf};

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use tempfile::NamedTempFile;

use super::OutputError;

/// A Parquet file written under a temporary name and renamed into place on commit.
pub struct AtomicParquet {
    path: PathBuf,
    writer: ArrowWriter<NamedTempFile>,
    rows: u64,
}

impl AtomicParquet {
    /// Starts `dir/name` with `schema`.
    pub fn create(dir: &Path, name: &str, schema: SchemaRef) -> Result<Self, OutputError> {
        let (path, temp) = super::temp_beside(dir, name)?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(
                ZstdLevel::try_new(3).map_err(|e| OutputError::other(&path, e))?,
            ))
            .build();
        let writer = ArrowWriter::try_new(temp, schema, Some(props))
            .map_err(|e| OutputError::other(&path, e))?;
        Ok(AtomicParquet {
            path,
            writer,
            rows: 0,
        })
    }

    /// Writes a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), OutputError> {
        self.rows += batch.num_rows() as u64;
        self.writer
            .write(batch)
            .map_err(|e| OutputError::other(&self.path, e))
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Closes, syncs and renames the file into place.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        let path = self.path;
        let temp = self
            .writer
            .into_inner()
            .map_err(|e| OutputError::other(&path, e))?;
        temp.as_file().sync_all().map_err(|source| OutputError {
            path: path.clone(),
            source,
        })?;
        temp.persist(&path).map_err(|e| OutputError {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }
}
