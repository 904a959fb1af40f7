//! Parquet reading speed on a generated list (10M rows by default; `MAILSCRUB_BENCH_ROWS`):
//! the bare Arrow reader, mailscrub's read (Arrow batches rendered as text rows for the checks),
//! and the whole `clean` of the Parquet file. The file is left at `MAILSCRUB_BENCH_PARQUET`
//! (default `target/bench-list.parquet`) so that `benches/parquet_duckdb.py` can read the same
//! file with DuckDB's `read_parquet` on the same machine.
//!
//! ```text
//! cargo bench --bench parquet_read && .venv/bin/python benches/parquet_duckdb.py
//! ```

use std::path::PathBuf;
use std::time::Instant;

use mailscrub::output::parquet::{Cell, Kind, RowTable};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

#[allow(dead_code)]
#[path = "../examples/gen.rs"]
mod gen;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn generate(path: &std::path::Path, rows: u64) {
    let dir = path.parent().expect("parent");
    let name = path
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let mut csv_bytes = Vec::new();
    gen::write_list(rows, 7, &mut csv_bytes).expect("generate");
    let spec: Vec<(&str, Kind)> = gen::COLUMNS.iter().map(|c| (*c, Kind::Text)).collect();
    let mut table = RowTable::create(dir, &name, &spec).expect("create");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(csv_bytes.as_slice());
    for record in reader.records() {
        let record = record.expect("row");
        let cells: Vec<Cell> = (0..6)
            .map(|i| record.get(i).map(Cell::Text).unwrap_or(Cell::Null))
            .collect();
        table.push(&cells).expect("push");
    }
    table.commit().expect("commit");
}

/// The file's batches, 16k rows each (the same size for both measurements).
fn open_batches(path: &std::path::Path) -> parquet::arrow::arrow_reader::ParquetRecordBatchReader {
    ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).expect("open"))
        .expect("reader")
        .with_batch_size(16384)
        .build()
        .expect("build")
}

fn main() {
    let rows: u64 = std::env::var("MAILSCRUB_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000_000);
    let path = PathBuf::from(
        std::env::var("MAILSCRUB_BENCH_PARQUET")
            .unwrap_or_else(|_| "target/bench-list.parquet".to_owned()),
    );
    let path = std::fs::canonicalize(path.parent().unwrap_or(std::path::Path::new(".")))
        .expect("dir")
        .join(path.file_name().expect("name"));
    generate(&path, rows);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "generated {} ({rows} rows, {:.0} MB)",
        path.display(),
        size as f64 / 1e6
    );

    let start = Instant::now();
    let reader = open_batches(&path);
    let mut n = 0usize;
    for b in reader {
        n += b.expect("batch").num_rows();
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "arrow reader, all columns: {n} rows in {s:.2} s = {:.2} M rows/s",
        n as f64 / s / 1e6
    );

    // mailscrub's own opening: string columns decoded as views, rows read from the columns.
    let start = Instant::now();
    let file = std::fs::File::open(&path).expect("open");
    let options = mailscrub::input::CsvOptions::default();
    let (opened, _, _) = mailscrub::input::parquet::open("list", file, &options, 16384)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut n = 0usize;
    let mut rows = mailscrub::input::RowBatch::new(b',');
    for b in opened.reader {
        rows.clear();
        mailscrub::input::parquet::rows_as_text(&b.expect("batch"), 1, &mut rows).expect("render");
        n += rows.len();
    }
    let s = start.elapsed().as_secs_f64();
    println!(
        "mailscrub read (batches as rows of text fields): {n} rows in {s:.2} s = {:.2} M rows/s",
        n as f64 / s / 1e6
    );

    let out = tempfile::tempdir().expect("tempdir");
    let config = mailscrub::Config::new(vec![path.display().to_string()], out.path().to_path_buf());
    let start = Instant::now();
    let report = mailscrub::run(&config).expect("run");
    let s = start.elapsed().as_secs_f64();
    println!("mailscrub clean of the Parquet file (no DNS, CSV out): {} rows in {s:.2} s = {:.2} M rows/s", report.counts.rows_in, report.counts.rows_in as f64 / s / 1e6);
}
