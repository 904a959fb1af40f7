//! Files written atomically: the layer under the outputs and the DNS cache.
//!
//! A file is written under a hidden temporary name beside its final one, synced, and renamed
//! over the final name only when its writer commits it ([`AtomicCsv::sync`] then
//! [`Synced::persist`], [`AtomicParquet::commit`], [`write_atomic`]), so a crash never leaves a
//! half-written file under a final name. Which files become visible together is the business of
//! the stage that owns them ([`crate::output`]).

pub mod generation;
mod parquet;

pub use parquet::AtomicParquet;

use std::cell::{Cell, RefCell};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};

use tempfile::NamedTempFile;

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{}: cannot write: {source}", path.display())]
pub struct OutputError {
    /// The file that could not be written.
    pub path: PathBuf,
    /// The operating system's reason.
    pub source: io::Error,
}

impl OutputError {
    /// An error of another kind than the operating system's (an encoder's), for `path`.
    pub fn other(path: &Path, e: impl std::fmt::Display) -> Self {
        OutputError {
            path: path.to_path_buf(),
            source: io::Error::other(e.to_string()),
        }
    }
}

/// Creates the output folder if needed.
pub fn prepare_dir(dir: &Path) -> Result<(), OutputError> {
    fs::create_dir_all(dir).map_err(|source| OutputError {
        path: dir.to_path_buf(),
        source,
    })
}

/// A CSV file written under a temporary name and renamed into place on commit.
///
/// Rows are written as the `csv` crate writes them (the writer of [`csv_builder`]: quotes only
/// where needed, `\n` line ends) by [`encode_record`], into a buffer of this file's own, so
/// that a row known to need no quoting can also be copied in as it is ([`AtomicCsv::line`]).
pub struct AtomicCsv {
    path: PathBuf,
    delimiter: u8,
    crlf: bool,
    /// Bytes not handed to the file yet; flushed before it would grow past [`CSV_BUFFER`].
    buf: Vec<u8>,
    file: Syncing,
    rows: u64,
}

/// Bytes an [`AtomicCsv`] gathers before handing them to the file.
const CSV_BUFFER: usize = 1 << 17;

/// Appends one record to `out` as the `csv` crate's writer with `delimiter` writes it (quote
/// style "necessary", quotes doubled): a field is quoted when it holds the delimiter, `"`, `\r`
/// or `\n`; a record of one empty field (or none) is written `""`, so that it is not read as a
/// blank line; then `\n`, or `\r\n` when `crlf`. The kept rows of a Parquet list, suppression
/// and reject rows are written here, field by field.
pub fn encode_record<I, T>(out: &mut Vec<u8>, fields: I, delimiter: u8, crlf: bool)
where
    I: IntoIterator<Item = T>,
    T: AsRef<[u8]>,
{
    let start = out.len();
    for (i, field) in fields.into_iter().enumerate() {
        if i > 0 {
            out.push(delimiter);
        }
        let field = field.as_ref();
        if !needs_quotes(field, delimiter) {
            out.extend_from_slice(field);
            continue;
        }
        out.push(b'"');
        for part in field.split_inclusive(|b| *b == b'"') {
            out.extend_from_slice(part);
            if part.last() == Some(&b'"') {
                out.push(b'"');
            }
        }
        out.push(b'"');
    }
    if out.len() == start {
        out.extend_from_slice(b"\"\"");
    }
    out.extend_from_slice(line_end(crlf));
}

/// True when `field` holds `delimiter`, `"`, `\r` or `\n` (a CSV writer quotes it). Read eight
/// bytes at a time: a kept Parquet row's fields are all looked at, and a byte loop with four
/// comparisons per byte was most of the writing.
#[inline(always)]
fn needs_quotes(field: &[u8], delimiter: u8) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    // Non-zero exactly when a byte of `word` is `byte` (a byte of `word ^ byte` is zero).
    let holds = |word: u64, byte: u8| {
        let x = word ^ (ONES * u64::from(byte));
        x.wrapping_sub(ONES) & !x & HIGHS
    };
    let special =
        |w: u64| holds(w, delimiter) | holds(w, b'"') | holds(w, b'\r') | holds(w, b'\n') != 0;
    let n = field.len();
    if n >= 8 {
        let mut words = field.chunks_exact(8);
        let whole = words
            .by_ref()
            .any(|w| special(u64::from_le_bytes(w.try_into().expect("8 bytes"))));
        // The last eight bytes again, overlapping: the tail is in them.
        let tail = !words.remainder().is_empty()
            && special(u64::from_le_bytes(
                field[n - 8..].try_into().expect("8 bytes"),
            ));
        return whole || tail;
    }
    if n >= 4 {
        let half = |at: usize| {
            u64::from(u32::from_le_bytes(
                field[at..at + 4].try_into().expect("4 bytes"),
            ))
        };
        return special(half(0) | half(n - 4) << 32);
    }
    field
        .iter()
        .any(|b| *b == delimiter || matches!(b, b'"' | b'\r' | b'\n'))
}

/// The line end of a CSV file: `\r\n` when `crlf`, else `\n`.
fn line_end(crlf: bool) -> &'static [u8] {
    if crlf {
        b"\r\n"
    } else {
        b"\n"
    }
}

/// Bytes written between two background flushes to disk.
const SYNC_EVERY: u64 = 64 << 20;

/// A temporary file whose written data is flushed to disk by a helper thread every
/// [`SYNC_EVERY`] bytes while the run goes on, so that the `fsync` at commit has only the tail
/// left to write. (Without it, committing a 570 MB clean list waited 0.6 s on the disk after all
/// the work was done.)
struct Syncing {
    temp: NamedTempFile,
    /// Bytes written, and bytes written when a flush was last asked for. (Cells: rows rendered
    /// elsewhere are appended through a shared reference, see [`AtomicCsv::rendered`].)
    written: Cell<u64>,
    requested: Cell<u64>,
    helper: RefCell<Option<(SyncSender<()>, std::thread::JoinHandle<()>)>>,
}

impl Syncing {
    fn new(temp: NamedTempFile) -> Self {
        Syncing {
            temp,
            written: Cell::new(0),
            requested: Cell::new(0),
            helper: RefCell::new(None),
        }
    }

    /// Writes all of `buf`, asking for a background flush every [`SYNC_EVERY`] bytes.
    fn append(&self, buf: &[u8]) -> io::Result<()> {
        self.temp.as_file().write_all(buf)?;
        self.written.set(self.written.get() + buf.len() as u64);
        if self.written.get() - self.requested.get() >= SYNC_EVERY {
            self.requested.set(self.written.get());
            self.request();
        }
        Ok(())
    }

    /// Asks the helper to flush what was written so far; never blocks the writer (a request
    /// made while one is running is dropped: the next one covers it).
    fn request(&self) {
        let mut helper = self.helper.borrow_mut();
        if helper.is_none() {
            let Ok(file) = self.temp.as_file().try_clone() else {
                return;
            };
            let (tx, rx) = sync_channel::<()>(1);
            let handle = std::thread::spawn(move || {
                for () in rx {
                    // An error here shows up again at commit, where it is reported.
                    let _ = file.sync_data();
                }
            });
            *helper = Some((tx, handle));
        }
        if let Some((tx, _)) = &*helper {
            let _ = tx.try_send(());
        }
    }

    /// Stops the helper and flushes everything; returns the file.
    fn finish(self) -> io::Result<NamedTempFile> {
        if let Some((tx, handle)) = self.helper.into_inner() {
            drop(tx);
            let _ = handle.join();
        }
        self.temp.as_file().sync_all()?;
        Ok(self.temp)
    }
}

impl Write for Syncing {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.append(buf)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// How every CSV output is written (quoting, line ends), so that rows rendered apart come out
/// as the file's own.
pub fn csv_builder(delimiter: u8) -> csv::WriterBuilder {
    let mut builder = csv::WriterBuilder::new();
    builder.delimiter(delimiter);
    builder
}

/// Appends `unix` (seconds) as RFC 3339 UTC text with whole seconds, `2024-08-12T10:00:00Z`,
/// exactly as chrono writes it; nothing when chrono cannot represent the time.
///
/// Years 0 to 9999 (every real time) are written here without chrono: the suppression file
/// writes two times per row, and formatting them through chrono, into a new string each, was
/// the largest part of writing a history's million rows.
pub fn push_rfc3339(out: &mut String, unix: i64) {
    let (days, secs) = (unix.div_euclid(86_400), unix.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (the proleptic Gregorian calendar), after Howard
    // Hinnant's `civil_from_days`: 400-year eras of 146,097 days counted from 0000-03-01.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    if !(0..=9999).contains(&year) {
        if let Some(t) = chrono::DateTime::from_timestamp(unix, 0) {
            out.push_str(&t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true));
        }
        return;
    }
    let mut text = *b"0000-00-00T00:00:00Z";
    let mut put = |at: usize, value: i64, width: usize| {
        let mut v = value;
        for i in (at..at + width).rev() {
            text[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
    };
    put(0, year, 4);
    put(5, month, 2);
    put(8, day, 2);
    put(11, secs / 3600, 2);
    put(14, secs / 60 % 60, 2);
    put(17, secs % 60, 2);
    out.push_str(std::str::from_utf8(&text).expect("digits and separators are ASCII"));
}

/// A temporary file beside `dir/name`, hidden and named after it, for an atomic write; and the
/// final path.
pub fn temp_beside(dir: &Path, name: &str) -> Result<(PathBuf, NamedTempFile), OutputError> {
    let path = dir.join(name);
    // 0666 less the umask, as any file the user's programs create: a CRM upload job running as
    // another user must be able to read the outputs (tempfile's own default is 0600).
    let temp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(dir)
        .map_err(|source| OutputError {
            path: path.clone(),
            source,
        })?;
    Ok((path, temp))
}

/// How a CSV file is written: its delimiter, its line ends and whether it starts with a BOM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CsvStyle {
    /// The field delimiter.
    pub delimiter: u8,
    /// `\r\n` line ends instead of `\n`.
    pub crlf: bool,
    /// A UTF-8 byte-order mark first.
    pub bom: bool,
}

impl CsvStyle {
    /// `delimiter`, `\n` line ends, no BOM.
    pub fn plain(delimiter: u8) -> Self {
        CsvStyle {
            delimiter,
            crlf: false,
            bom: false,
        }
    }
}

impl AtomicCsv {
    /// Starts `dir/name` with the given delimiter.
    pub fn create(dir: &Path, name: &str, delimiter: u8) -> Result<Self, OutputError> {
        Self::create_styled(dir, name, CsvStyle::plain(delimiter))
    }

    /// Starts `dir/name` written in `style`.
    pub fn create_styled(dir: &Path, name: &str, style: CsvStyle) -> Result<Self, OutputError> {
        let (path, temp) = temp_beside(dir, name)?;
        let mut buf = Vec::with_capacity(CSV_BUFFER);
        if style.bom {
            buf.extend_from_slice(b"\xef\xbb\xbf");
        }
        Ok(AtomicCsv {
            path,
            delimiter: style.delimiter,
            crlf: style.crlf,
            buf,
            file: Syncing::new(temp),
            rows: 0,
        })
    }

    /// The final path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Data rows written so far (the header is not counted).
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Writes the header row.
    pub fn header<I, T>(&mut self, fields: I) -> Result<(), OutputError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.record(fields)
    }

    /// Writes one data row.
    pub fn row<I, T>(&mut self, fields: I) -> Result<(), OutputError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.rows += 1;
        self.record(fields)
    }

    /// Writes one data row given as its text, as it was read from an input with this file's
    /// delimiter (fields quoted as the input quoted them), and not a single empty field; the
    /// file's line end follows it.
    pub fn line(&mut self, text: &[u8]) -> Result<(), OutputError> {
        self.rows += 1;
        self.room(text.len() + 2)?;
        self.buf.extend_from_slice(text);
        self.buf.extend_from_slice(line_end(self.crlf));
        Ok(())
    }

    /// Appends `rows` data rows already rendered by a writer from [`csv_builder`] with this
    /// file's delimiter (rows rendered on other threads).
    pub fn rendered(&mut self, bytes: &[u8], rows: u64) -> Result<(), OutputError> {
        self.rows += rows;
        self.flush()?;
        self.file.append(bytes).map_err(|e| self.error(e))
    }

    fn record<I, T>(&mut self, fields: I) -> Result<(), OutputError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        // A row's length is known once written: flush when the buffer is three quarters full.
        self.room(CSV_BUFFER / 4)?;
        encode_record(&mut self.buf, fields, self.delimiter, self.crlf);
        Ok(())
    }

    /// Flushes the buffer first when `n` more bytes would take it past [`CSV_BUFFER`] (a longer
    /// row still goes in whole).
    fn room(&mut self, n: usize) -> Result<(), OutputError> {
        if !self.buf.is_empty() && self.buf.len() + n > CSV_BUFFER {
            self.flush()?;
        }
        Ok(())
    }

    /// Hands the buffer to the file.
    fn flush(&mut self) -> Result<(), OutputError> {
        let result = self.file.append(&self.buf);
        self.buf.clear();
        result.map_err(|e| self.error(e))
    }

    fn error(&self, source: io::Error) -> OutputError {
        OutputError {
            path: self.path.clone(),
            source,
        }
    }

    /// Flushes, syncs and renames the file into place.
    pub fn commit(self) -> Result<PathBuf, OutputError> {
        self.sync()?.persist()
    }

    /// Flushes and syncs the file, still under its temporary name: a run syncs all its outputs
    /// (at once, each waiting on the disk) before it renames any.
    pub fn sync(mut self) -> Result<Synced, OutputError> {
        self.flush()?;
        let path = self.path;
        match self.file.finish() {
            Ok(temp) => Ok(Synced { path, temp }),
            Err(source) => Err(OutputError { path, source }),
        }
    }
}

/// An output written and synced under its temporary name, waiting to be renamed into place.
#[must_use = "an output is in place only once persisted"]
pub struct Synced {
    path: PathBuf,
    temp: NamedTempFile,
}

impl Synced {
    /// Renames the file into place; returns its final path.
    pub fn persist(self) -> Result<PathBuf, OutputError> {
        let Synced { path, temp } = self;
        temp.persist(&path).map_err(|e| OutputError {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(path)
    }
}

/// The folder and the file name of `path`, as the atomic writers take them: a bare name lies in
/// the current folder; the name is `None` when the path ends in `..` or `/`.
pub fn dir_and_name(path: &Path) -> (PathBuf, Option<String>) {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    (dir, name)
}

/// Writes `bytes` to `dir/name` atomically.
pub fn write_atomic(dir: &Path, name: &str, bytes: &[u8]) -> Result<PathBuf, OutputError> {
    let (path, mut temp) = temp_beside(dir, name)?;
    let fail = |source| OutputError {
        path: path.clone(),
        source,
    };
    temp.write_all(bytes).map_err(fail)?;
    temp.as_file().sync_all().map_err(fail)?;
    temp.persist(&path).map_err(|e| fail(e.error))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records of random fields (delimiters, quotes, line ends, spaces, multi-byte text, empty
    /// fields, none at all), with `,`, `;` or a tab, `\n` or `\r\n`: byte for byte what the
    /// `csv` crate's writer gives.
    #[test]
    fn records_are_encoded_as_the_csv_crate_writes_them() {
        let mut next = crate::testing::xorshift(0x5851_f42d_4c95_7f2d);
        let pieces: &[&[u8]] = &[
            b"",
            b"a",
            b"ann@x.org",
            b"\"",
            b"\"\"",
            b",",
            b";",
            b"\t",
            b"\r",
            b"\n",
            b"\r\n",
            b" x ",
            b"#",
            b"'",
            b"J\xc3\xbcrgen",
            b"\xd0\x98\xd0\xb2",
            b"=1+2",
        ];
        for case in 0..2000 {
            let delimiter = [b',', b';', b'\t'][case % 3];
            let crlf = case % 2 == 0;
            let fields: Vec<Vec<u8>> = (0..next(5))
                .map(|_| {
                    (0..next(4))
                        .flat_map(|_| pieces[next(pieces.len())].to_vec())
                        .collect()
                })
                .collect();
            let mut ours = Vec::new();
            encode_record(&mut ours, &fields, delimiter, crlf);
            let mut writer = csv_builder(delimiter)
                .terminator(if crlf {
                    csv::Terminator::CRLF
                } else {
                    csv::Terminator::Any(b'\n')
                })
                .flexible(true)
                .from_writer(Vec::new());
            writer.write_record(&fields).unwrap();
            let theirs = writer.into_inner().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&ours),
                String::from_utf8_lossy(&theirs),
                "{fields:?}"
            );
            assert_eq!(ours, theirs);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig {
            cases: 2000,
            failure_persistence: None,
            ..proptest::prelude::ProptestConfig::default()
        })]

        /// The word-at-a-time test says what a byte-by-byte look says, whatever the length,
        /// the place of the special byte (the overlapping tail included) and the delimiter.
        #[test]
        fn needs_quotes_is_the_byte_rule(
            field in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::prelude::any::<u8>(),
                    proptest::sample::select(b"\",;\t\r\nab@.".to_vec()),
                ],
                0..40,
            ),
            text in "\\PC{0,12}",
            delimiter in proptest::sample::select(b",;\t|\x1fa\xc3".to_vec()),
        ) {
            for field in [&field[..], text.as_bytes()] {
                let by_byte = field
                    .iter()
                    .any(|b| *b == delimiter || matches!(b, b'"' | b'\r' | b'\n'));
                proptest::prop_assert_eq!(needs_quotes(field, delimiter), by_byte, "{:?}", field);
            }
        }
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        let chrono = |unix: i64| {
            chrono::DateTime::from_timestamp(unix, 0)
                .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default()
        };
        let mut times = vec![
            0,
            -1,
            1,
            86_399,
            86_400,
            951_782_400, // 2000-02-29
            1_723_456_800,
            -62_167_219_200, // 0000-01-01
            -62_167_219_201,
            253_402_300_799, // 9999-12-31T23:59:59
            253_402_300_800,
            i64::MIN,
            i64::MAX,
        ];
        // Every day boundary, leap day and turn of a century across five centuries, and odd
        // seconds between them.
        let mut t = -5_000_000_000i64;
        while t < 12_000_000_000 {
            times.extend([t, t - 1, t + 43_210]);
            t += 86_400 * 7 + 3_601;
        }
        for unix in times {
            let mut ours = String::new();
            push_rfc3339(&mut ours, unix);
            assert_eq!(ours, chrono(unix), "{unix}");
        }
    }

    #[test]
    fn nothing_replaces_the_old_file_until_commit() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("clean.csv"), "old\n").unwrap();
        let mut out = AtomicCsv::create(dir.path(), "clean.csv", b',').unwrap();
        out.header(["email"]).unwrap();
        out.row(["a@b.com"]).unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("clean.csv")).unwrap(),
            "old\n"
        );
        drop(out);
        // A run that fails drops its outputs: the old file stays and no temporary is left.
        assert_eq!(
            fs::read_to_string(dir.path().join("clean.csv")).unwrap(),
            "old\n"
        );
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);

        let mut out = AtomicCsv::create(dir.path(), "clean.csv", b',').unwrap();
        out.header(["email"]).unwrap();
        out.row(["a@b.com"]).unwrap();
        out.commit().unwrap();
        assert_eq!(
            fs::read_to_string(dir.path().join("clean.csv")).unwrap(),
            "email\na@b.com\n"
        );
    }

    #[test]
    fn rows_are_written_as_the_csv_crate_writes_them_and_plain_lines_as_they_are() {
        let dir = tempfile::tempdir().unwrap();
        let rows: Vec<Vec<&[u8]>> = vec![
            vec![b"a@b.com", b"Ann", b""],
            vec![b"", b""],
            vec![b""],
            vec![b"x,y", b"say \"hi\"", b"two\nlines", b"cr\r"],
            vec![b"\xff\xfe", b"caf\xc3\xa9"],
            vec![&[b'"'; 70_000][..]],
            vec![&[b'z'; 300_000][..], b"end"],
        ];
        for delimiter in [b',', b';', b'\t'] {
            let mut want = csv_builder(delimiter)
                .flexible(true)
                .from_writer(Vec::new());
            let mut ours = AtomicCsv::create(dir.path(), "out.csv", delimiter).unwrap();
            for row in &rows {
                want.write_record(row).unwrap();
                ours.row(row).unwrap();
                // A row that needs no quotes can be given as its text.
                let plain = row.len() > 1 || !row[0].is_empty();
                let special =
                    |f: &&[u8]| f.iter().any(|b| b"\"\r\n".contains(b) || *b == delimiter);
                if plain && !row.iter().any(special) {
                    want.write_record(row).unwrap();
                    ours.line(&row.join(&delimiter)).unwrap();
                }
            }
            assert_eq!(ours.rows(), 11);
            let path = ours.commit().unwrap();
            assert!(
                fs::read(path).unwrap() == want.into_inner().unwrap(),
                "{delimiter}"
            );
        }
    }
}
