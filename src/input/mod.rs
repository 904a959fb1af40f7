//! Stage 1: read subscriber lists.
//!
//! A path (or `-` for stdin) comes in; an [`OpenedInput`] comes out: a streaming CSV reader over
//! the decompressed bytes, plus the [`Layout`] that was detected from the first 64 KiB: delimiter,
//! header, the email column. Compression (gzip, zstd) is recognised by magic bytes, so a
//! misnamed file still reads. Every failure to open or understand a file is an [`InputError`]
//! that names the file; rows that cannot be read are the caller's business (rejects), not errors.

pub mod parquet;
pub mod rows;
mod sniff;
mod utf16;

use std::fs::File;
use std::io::{self, BufReader, Cursor, Read};
use std::path::Path;

pub use rows::{CsvRows, Fields, RowBatch};
pub use sniff::{Layout, SAMPLE_BYTES};

/// How the email column is chosen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EmailColumn {
    /// Found by header name, or by content when there is no header.
    Detect,
    /// A header name, matched case-insensitively.
    Name(String),
    /// A 1-based column number.
    Index(usize),
}

/// What the user told us about the CSV shape; `None` means detect.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// The field delimiter, when not detected.
    pub delimiter: Option<u8>,
    /// `false` for files whose first row is data.
    pub has_header: bool,
    /// The email column.
    pub email_column: EmailColumn,
    /// `--consent-column NAME[=VALUES]`: more opt-out columns than the known ones.
    pub consent_columns: Vec<String>,
    /// `--require-opt-in COLUMN[=VALUES]`: only rows whose column holds one of the values are
    /// kept.
    pub require_opt_in: Option<String>,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: None,
            has_header: true,
            email_column: EmailColumn::Detect,
            consent_columns: Vec::new(),
            require_opt_in: None,
        }
    }
}

/// The consent columns of an input with `header`: the known ones and the user's.
pub fn consent_columns(
    name: &str,
    header: &[String],
    options: &CsvOptions,
) -> Result<Vec<crate::consent::ConsentColumn>, InputError> {
    use crate::consent::{self, ConsentKind};
    let names = || header.iter().map(String::as_str);
    let mut out = consent::known_columns(names());
    let fail = |reason: String| InputError::NoEmailColumn {
        file: name.to_owned(),
        reason,
    };
    for spec in &options.consent_columns {
        let c = consent::named_column(spec, names(), ConsentKind::OptOutIf, &consent::YES)
            .map_err(|e| fail(format!("--consent-column {spec}: {e}")))?;
        out.retain(|k| k.index != c.index);
        out.push(c);
    }
    if let Some(spec) = &options.require_opt_in {
        let c = consent::named_column(spec, names(), ConsentKind::RequireOneOf, &consent::YES)
            .map_err(|e| fail(format!("--require-opt-in {spec}: {e}")))?;
        out.push(c);
    }
    Ok(out)
}

/// Why an input could not be used. Each names the file.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file could not be opened.
    #[error("{file}: cannot open: {source}")]
    Open {
        /// The input's name.
        file: String,
        /// The operating system's reason.
        source: io::Error,
    },
    /// Reading failed part-way (truncated archive, disk error).
    #[error("{file}:{line}: read error: {reason}")]
    Read {
        /// The input's name.
        file: String,
        /// The line reached when it failed.
        line: u64,
        /// What went wrong.
        reason: String,
    },
    /// The content is not a delimited text file.
    #[error("{file}: not a CSV file: {reason}")]
    NotCsv {
        /// The input's name.
        file: String,
        /// What was seen instead.
        reason: String,
    },
    /// No column holds email addresses.
    #[error("{file}: {reason}")]
    NoEmailColumn {
        /// The input's name.
        file: String,
        /// What was looked for and what was there.
        reason: String,
    },
}

/// Compression detected on an input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The name used in the report.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Zstd => "zstd",
        }
    }
}

/// Where an input's rows come from.
pub enum RowSource {
    /// A CSV stream, positioned after the header row when there is one.
    Csv(Box<CsvRows>),
    /// A Parquet file, batch by batch.
    Parquet(parquet::ParquetRows),
}

impl OpenedInput {
    /// Rows this input is expected to hold (from its size and the sample, or the Parquet
    /// footer); `None` when the size is not known (stdin) or the file is compressed.
    pub fn expected_rows(&self) -> Option<u64> {
        match &self.rows {
            RowSource::Parquet(p) => Some(p.rows),
            RowSource::Csv(_) if self.compression == Compression::None => {
                self.size.map(|s| s / self.layout.row_bytes.max(1) as u64)
            }
            RowSource::Csv(_) => None,
        }
    }
}

/// An input ready to stream rows from.
pub struct OpenedInput {
    /// The name used in messages and the report (`<stdin>` for `-`).
    pub name: String,
    /// The detected shape.
    pub layout: Layout,
    /// The compression found.
    pub compression: Compression,
    /// The size on disk, when known, in bytes of the text as read (for a UTF-16 file, estimated
    /// from the sample: about half its size on disk): the expected row count is taken from it.
    pub size: Option<u64>,
    /// The rows.
    pub rows: RowSource,
    /// `csv` or `parquet`.
    pub format: &'static str,
}

/// The name of the standard input in messages.
pub const STDIN_NAME: &str = "<stdin>";

/// Opens an input (a path, or `-` for stdin), detects its shape and positions it on the first row.
///
/// `wrap` lets the caller wrap the raw byte stream (for example to count bytes for a progress bar)
/// before decompression.
pub fn open(
    path: &str,
    options: &CsvOptions,
    batch_rows: usize,
    wrap: impl FnOnce(Box<dyn Read + Send>) -> Box<dyn Read + Send>,
) -> Result<OpenedInput, InputError> {
    if path != "-" && is_parquet(path) {
        return open_parquet(path, options, batch_rows);
    }
    let (name, raw, size): (String, Box<dyn Read + Send>, Option<u64>) = if path == "-" {
        (STDIN_NAME.to_owned(), Box::new(io::stdin()), None)
    } else {
        let file = File::open(Path::new(path)).map_err(|source| InputError::Open {
            file: path.to_owned(),
            source,
        })?;
        if file.metadata().map(|m| m.is_dir()).unwrap_or(false) {
            return Err(InputError::Open {
                file: path.to_owned(),
                source: io::Error::other("is a directory"),
            });
        }
        let size = file.metadata().ok().map(|m| m.len());
        (path.to_owned(), Box::new(file), size)
    };
    let (compression, stream) = decompress(&name, wrap(raw))?;
    let (stream, utf16) = utf16::decoded(stream).map_err(|e| InputError::Read {
        file: name.clone(),
        line: 1,
        reason: e.to_string(),
    })?;
    let (sample, bom, stream) = take_sample(&name, stream)?;
    let mut layout = sniff::detect(&name, &sample, options)?;
    let crlf = has_crlf(&sample);
    // A UTF-16 file is written back as UTF-8 with a byte-order mark, which Excel, where such a
    // file comes from, reads as Unicode.
    (layout.crlf, layout.bom) = (crlf, bom || utf16.is_some());
    let size = match utf16 {
        Some(_) if !sample.is_empty() => {
            let on_disk = String::from_utf8_lossy(&sample).encode_utf16().count() * 2;
            size.map(|s| s.saturating_mul(sample.len() as u64) / on_disk.max(1) as u64)
        }
        _ => size,
    };
    if let Some(order) = utf16 {
        layout.notes.push(format!(
            "{} text (with a byte-order mark), read as UTF-8; the outputs are UTF-8 with a byte-order mark",
            order.name()
        ));
    }
    if let Some(h) = &layout.headers {
        let names: Vec<String> = h
            .iter()
            .map(|f| String::from_utf8_lossy(f).into_owned())
            .collect();
        layout.consent = consent_columns(&name, &names, options)?;
    } else if options.require_opt_in.is_some() {
        return Err(InputError::NoEmailColumn {
            file: name.clone(),
            reason: "--require-opt-in names a column, but the file has no header".to_owned(),
        });
    }
    let mut body: Box<dyn Read + Send> = Box::new(Cursor::new(sample).chain(stream));
    if crlf {
        body = Box::new(CrlfAsLf::new(body));
    }
    // A batch reads about `batch_rows` rows' worth of bytes, straight into its buffer (the
    // decompress stage's `BufReader` steps aside for reads at least its size).
    let chunk = batch_rows
        .saturating_mul(layout.row_bytes)
        .clamp(1 << 17, 1 << 24);
    let reader = CsvRows::new(body, layout.delimiter, chunk, layout.headers.is_some());
    Ok(OpenedInput {
        name,
        layout,
        compression,
        size,
        rows: RowSource::Csv(Box::new(reader)),
        format: "csv",
    })
}

/// True when the file starts with Parquet's magic number (whatever its name).
fn is_parquet(path: &str) -> bool {
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .map(|_| &magic == b"PAR1")
        .unwrap_or(false)
}

fn open_parquet(
    path: &str,
    options: &CsvOptions,
    batch_rows: usize,
) -> Result<OpenedInput, InputError> {
    let file = File::open(path).map_err(|source| InputError::Open {
        file: path.to_owned(),
        source,
    })?;
    let size = file.metadata().ok().map(|m| m.len());
    let (rows, email_column, names) = parquet::open(path, file, options, batch_rows)?;
    let columns = names.len();
    Ok(OpenedInput {
        name: path.to_owned(),
        layout: Layout {
            delimiter: options.delimiter.unwrap_or(b','),
            headers: Some(csv::ByteRecord::from(names.clone())),
            email_column,
            columns,
            row_bytes: (size.unwrap_or(0) / rows.rows.max(1)).max(1) as usize,
            notes: Vec::new(),
            crlf: false,
            bom: false,
            consent: consent_columns(path, &names, options)?,
            other_email_columns: Vec::new(),
        },
        compression: Compression::None,
        size,
        rows: RowSource::Parquet(rows),
        format: "parquet",
    })
}

/// An [`InputError::Read`] for a read that failed at `line`.
pub fn read_error(name: &str, line: u64, e: &io::Error) -> InputError {
    InputError::Read {
        file: name.to_owned(),
        line,
        reason: e.to_string(),
    }
}

/// Peeks at the first bytes and wraps the stream in a decoder if they are a known magic number.
fn decompress(
    name: &str,
    stream: Box<dyn Read + Send>,
) -> Result<(Compression, Box<dyn Read + Send>), InputError> {
    let mut stream = BufReader::with_capacity(1 << 16, stream);
    let head = io::BufRead::fill_buf(&mut stream).map_err(|e| InputError::Read {
        file: name.to_owned(),
        line: 0,
        reason: e.to_string(),
    })?;
    if head.starts_with(&[0x1f, 0x8b]) {
        let decoder = flate2::bufread::MultiGzDecoder::new(stream);
        return Ok((Compression::Gzip, Box::new(decoder)));
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        let decoder = zstd::Decoder::with_buffer(stream).map_err(|e| InputError::Read {
            file: name.to_owned(),
            line: 0,
            reason: format!("zstd: {e}"),
        })?;
        return Ok((Compression::Zstd, Box::new(decoder)));
    }
    if head.starts_with(b"PAR1") {
        return Err(InputError::NotCsv {
            file: name.to_owned(),
            reason: "Parquet cannot be read from stdin (it needs its footer): give the file's path"
                .to_owned(),
        });
    }
    Ok((Compression::None, Box::new(stream)))
}

/// Whether `bytes` hold a `\r\n` (a Windows-style file, to be read through [`CrlfAsLf`]).
pub fn has_crlf(bytes: &[u8]) -> bool {
    bytes.windows(2).any(|w| w == b"\r\n")
}

/// A stream with each `\r\n` read as `\n`. The `csv` crate numbers a record that follows a
/// `\r\n` one line too low (it takes the record's position before the `\n`), so every line
/// number of a Windows-style file (rejects, suppression evidence) would be off by one. Line ends
/// inside quoted fields are kept as they are (quotes are followed as the CSV reader does: `""`
/// inside a quoted field toggles twice).
pub struct CrlfAsLf<R> {
    inner: R,
    /// Inside a quoted field.
    quoted: bool,
    buf: Box<[u8]>,
    /// The unread bytes are `buf[pos..len]`.
    pos: usize,
    len: usize,
    eof: bool,
}

impl<R: Read> CrlfAsLf<R> {
    /// Wraps `inner`.
    pub fn new(inner: R) -> Self {
        CrlfAsLf {
            inner,
            quoted: false,
            buf: vec![0; 1 << 16].into_boxed_slice(),
            pos: 0,
            len: 0,
            eof: false,
        }
    }
}

impl<R: Read> Read for CrlfAsLf<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        // At least one decidable byte: a `\r` at the end of the buffer waits for the next one.
        loop {
            let avail = self.len - self.pos;
            let undecided = avail == 1 && self.buf[self.pos] == b'\r' && !self.eof;
            if avail > 0 && !undecided {
                break;
            }
            if self.eof {
                return Ok(0);
            }
            self.buf.copy_within(self.pos..self.len, 0);
            self.len -= self.pos;
            self.pos = 0;
            match self.inner.read(&mut self.buf[self.len..])? {
                0 => self.eof = true,
                n => self.len += n,
            }
        }
        let mut written = 0;
        while written < out.len() && self.pos < self.len {
            let rest = &self.buf[self.pos..self.len];
            let room = out.len() - written;
            let span = &rest[..rest.len().min(room)];
            let plain = memchr::memchr2(b'\r', b'"', span).unwrap_or(span.len());
            out[written..written + plain].copy_from_slice(&rest[..plain]);
            written += plain;
            self.pos += plain;
            if plain == room || self.pos == self.len {
                break;
            }
            if self.buf[self.pos] == b'"' {
                self.quoted = !self.quoted;
                out[written] = b'"';
                written += 1;
                self.pos += 1;
                continue;
            }
            // At a `\r`: dropped before a `\n` outside quotes, kept otherwise, undecided at the
            // buffer's end.
            match self.buf.get(self.pos + 1) {
                Some(b'\n') if self.pos + 1 < self.len && !self.quoted => self.pos += 1,
                _ if self.pos + 1 < self.len || self.eof => {
                    out[written] = b'\r';
                    written += 1;
                    self.pos += 1;
                }
                _ => break,
            }
        }
        Ok(written)
    }
}

/// The first bytes of an input (its BOM removed), whether it had a BOM, and the rest.
type Sample = (Vec<u8>, bool, Box<dyn Read + Send>);

/// Reads up to [`SAMPLE_BYTES`] decompressed bytes for detection, dropping a UTF-8 BOM (and
/// saying whether there was one).
fn take_sample(name: &str, mut stream: Box<dyn Read + Send>) -> Result<Sample, InputError> {
    let mut sample = Vec::with_capacity(SAMPLE_BYTES);
    (&mut stream)
        .take(SAMPLE_BYTES as u64)
        .read_to_end(&mut sample)
        .map_err(|e| InputError::Read {
            file: name.to_owned(),
            line: 1,
            reason: e.to_string(),
        })?;
    // A header line longer than the sample (an export with many thousand columns) is read
    // whole, with a sample of rows after it, up to a limit.
    if sample.len() == SAMPLE_BYTES && !sample.contains(&b'\n') {
        let mut chunk = vec![0; SAMPLE_BYTES];
        loop {
            let n = stream.read(&mut chunk).map_err(|e| InputError::Read {
                file: name.to_owned(),
                line: 1,
                reason: e.to_string(),
            })?;
            if n == 0 {
                break;
            }
            let had_line_end = chunk[..n].contains(&b'\n');
            sample.extend_from_slice(&chunk[..n]);
            if sample.len() > MAX_HEADER_BYTES {
                return Err(InputError::NotCsv {
                    file: name.to_owned(),
                    reason: format!(
                        "the first line is longer than {} MiB (the longest header mailscrub reads): not a list, or give the columns another way",
                        MAX_HEADER_BYTES >> 20
                    ),
                });
            }
            if had_line_end {
                // And a sample of rows after the header.
                (&mut stream)
                    .take(SAMPLE_BYTES as u64)
                    .read_to_end(&mut sample)
                    .map_err(|e| InputError::Read {
                        file: name.to_owned(),
                        line: 2,
                        reason: e.to_string(),
                    })?;
                break;
            }
        }
    }
    let bom = sample.starts_with(b"\xef\xbb\xbf");
    if bom {
        sample.drain(..3);
    }
    Ok((sample, bom, stream))
}

/// The longest first line (header) read: 64 MiB, a million columns of 60 bytes each.
pub const MAX_HEADER_BYTES: usize = 64 << 20;

#[cfg(test)]
mod crlf_tests {
    use super::*;
    use crate::testing::{read_in, Trickle};

    /// `text` read through [`CrlfAsLf`], the inner reads cut to `step` bytes and the outer ones
    /// to `out` bytes.
    fn through(text: &[u8], step: usize, out: usize) -> Vec<u8> {
        read_in(CrlfAsLf::new(Trickle::new(text, step)), out)
    }

    #[test]
    fn crlf_becomes_lf_outside_quotes_only_whatever_the_read_sizes() {
        let text = b"a,b\r\n1,\"x\r\ny\"\r\n2,\"q\"\"\r\n\"\rlone\r\r\n3,z\r";
        let want = b"a,b\n1,\"x\r\ny\"\n2,\"q\"\"\r\n\"\rlone\r\n3,z\r";
        for step in 1..8 {
            for out in 1..8 {
                assert_eq!(through(text, step, out), want, "step {step}, out {out}");
            }
        }
        assert_eq!(through(text, 1 << 16, 1 << 16), want);
    }
}

#[cfg(test)]
mod utf16_open_tests {
    use super::*;

    /// A UTF-16 file's expected row count (which sizes the dedupe set and decides whether a
    /// `--memory-limit` run spills) is about that of the same rows in UTF-8, not twice it.
    #[test]
    fn a_utf16_files_rows_are_expected_as_many_as_its_utf8_twins() {
        let dir = std::env::temp_dir().join(format!("mailscrub-utf16-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut text = String::from("email\tname\r\n");
        for i in 0..2000 {
            text.push_str(&format!("person{i}@corp-mail.com\tJosé Müller {i}\r\n"));
        }
        let mut utf16 = vec![0xff, 0xfe];
        for unit in text.encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        let (a, b) = (dir.join("utf8.txt"), dir.join("utf16.txt"));
        std::fs::write(&a, &text).unwrap();
        std::fs::write(&b, &utf16).unwrap();
        let expected = |p: &std::path::Path| {
            open(p.to_str().unwrap(), &CsvOptions::default(), 1024, |r| r)
                .unwrap()
                .expected_rows()
                .unwrap()
        };
        let (eight, sixteen) = (expected(&a), expected(&b));
        std::fs::remove_dir_all(&dir).unwrap();
        assert!(
            eight.abs_diff(sixteen) * 20 <= eight,
            "{eight} and {sixteen}"
        );
    }
}
