//! The whole `clean` run on a generated list (1M rows by default; `MAILSCRUB_BENCH_ROWS` changes
//! it), against the floor: a bare csv-crate loop that reads every record of the same file and
//! writes it back out, which no CSV program can beat.

use std::path::{Path, PathBuf};

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mailscrub::Config;

#[allow(dead_code)]
#[path = "../examples/gen.rs"]
mod gen;

/// The binary's allocator, so that the figures match `mailscrub clean`.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn generated(dir: &Path, rows: u64) -> PathBuf {
    let path = dir.join(format!("list-{rows}.csv"));
    let file = std::fs::File::create(&path).expect("create");
    gen::write_list(rows, 7, std::io::BufWriter::new(file)).expect("generate");
    path
}

/// Read every record and write it back: the floor.
fn csv_floor(input: &Path, output: &Path) -> u64 {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_path(input)
        .expect("open");
    let mut writer = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(output)
        .expect("create");
    let mut record = csv::ByteRecord::new();
    let mut n = 0;
    while reader.read_byte_record(&mut record).expect("read") {
        writer.write_byte_record(&record).expect("write");
        n += 1;
    }
    writer.flush().expect("flush");
    n
}

fn bench(c: &mut Criterion) {
    let rows: u64 = std::env::var("MAILSCRUB_BENCH_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let input = generated(dir.path(), rows);
    let mut group = c.benchmark_group("clean");
    group.sample_size(10);
    group.throughput(Throughput::Elements(rows));
    group.bench_function(format!("csv floor: read+write {rows} rows"), |b| {
        b.iter(|| csv_floor(&input, &dir.path().join("floor.csv")))
    });
    let mut config = Config::new(vec![input.display().to_string()], dir.path().join("out"));
    config.dns = None;
    group.bench_function(format!("mailscrub clean {rows} rows (no DNS)"), |b| {
        b.iter(|| mailscrub::run(&config).expect("run").counts.rows_in)
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
