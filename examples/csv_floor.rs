//! The floor for the end-to-end comparison: a bare csv-crate loop that reads every record of a
//! file and writes it back out. No CSV program does less.
//!
//! ```text
//! cargo run --release --example csv_floor -- INPUT OUTPUT [DELIMITER]
//! ```

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(input), Some(output)) = (args.next(), args.next()) else {
        eprintln!("usage: csv_floor INPUT OUTPUT [DELIMITER]");
        std::process::exit(2);
    };
    let delimiter = args.next().map_or(b',', |d| d.as_bytes()[0]);
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_path(input)?;
    let mut writer = csv::WriterBuilder::new()
        .delimiter(delimiter)
        .flexible(true)
        .from_path(output)?;
    let mut record = csv::ByteRecord::new();
    let mut rows = 0u64;
    while reader.read_byte_record(&mut record)? {
        writer.write_byte_record(&record)?;
        rows += 1;
    }
    writer.flush()?;
    eprintln!("csv_floor: {rows} records");
    Ok(())
}
