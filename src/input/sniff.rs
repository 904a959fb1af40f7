//! Detect a CSV file's shape from its first bytes: the delimiter, and which column holds the
//! email address.
//!
//! The delimiter is the candidate (`,` `;` tab `|`) under which the most sample rows agree on one
//! field count greater than one. The email column is found by header name (a closed list of the
//! names exports use, then any name containing "email"), or, without a header, as the column
//! where most sample values contain an `@`.

use super::{CsvOptions, EmailColumn, InputError};

/// How many decompressed bytes are read for detection.
pub const SAMPLE_BYTES: usize = 64 * 1024;

/// The shape of one input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The field delimiter.
    pub delimiter: u8,
    /// The header row, when the file has one.
    pub headers: Option<csv::ByteRecord>,
    /// 0-based index of the email column.
    pub email_column: usize,
    /// The number of fields every row is expected to have.
    pub columns: usize,
    /// Average bytes per row in the sample (to estimate a file's rows from its size).
    pub row_bytes: usize,
    /// How the email column and the header were found, when it was not plain: printed on
    /// stderr and kept in the report.
    pub notes: Vec<String>,
    /// The file's line ends are `\r\n`.
    pub crlf: bool,
    /// The file starts with a UTF-8 byte-order mark.
    pub bom: bool,
    /// Its consent columns (see [`crate::consent`]).
    pub consent: Vec<crate::consent::ConsentColumn>,
    /// Other columns named like an email column whose values are addresses (Outlook's `E-mail 2
    /// Address`, Google's `E-mail 2 - Value`), best first: a row whose email column is empty
    /// takes its address from the first of them that holds one. Empty when the email column
    /// was given with `--email-column`.
    pub other_email_columns: Vec<usize>,
}

const DELIMITERS: [u8; 4] = [b',', b';', b'\t', b'|'];

/// Header names (lowercased, with everything but letters and digits removed) that mean "the
/// email address", best first.
const EMAIL_HEADERS: [&str; 14] = [
    "email",
    "emailaddress",
    "mail",
    "emailaddr",
    "mailaddress",
    "primaryemail",
    "emailid",
    "subscriberemail",
    "contactemail",
    "useremail",
    "courriel",
    "correo",
    "correoelectronico",
    "emailadresse",
];

/// A header name as it is compared: letters and digits only, lowercased (`E-mail 1 - Value`
/// -> `email1value`).
fn header_key(name: &[u8]) -> String {
    String::from_utf8_lossy(name)
        .chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

/// Detects the layout of `sample` (the first bytes of `name`).
pub fn detect(name: &str, sample: &[u8], options: &CsvOptions) -> Result<Layout, InputError> {
    let not_csv = |reason: &str| InputError::NotCsv {
        file: name.to_owned(),
        reason: reason.to_owned(),
    };
    if sample.is_empty() {
        return Err(not_csv("the file is empty"));
    }
    if let Some(what) = binary_kind(sample) {
        return Err(not_csv(&what));
    }
    let truncated = sample.len() >= SAMPLE_BYTES;
    let delimiter = match options.delimiter {
        Some(d) => d,
        None => guess_delimiter(sample, truncated),
    };
    let rows = sample_rows(sample, delimiter, truncated, 200);
    let Some(first) = rows.first() else {
        return Err(not_csv("no rows in the first 64 KiB"));
    };
    let columns = first.len();
    let mut notes = Vec::new();
    let (headers, email_column) = if options.has_header {
        match header_and_content_column(name, &rows, &options.email_column)? {
            Found::Header(col, note) => {
                notes.extend(note);
                (Some(first.clone()), col)
            }
            Found::NoHeader(col) => {
                notes.push(format!(
                    "{name}: the first row is an address, not a header: every row is read as data"
                ));
                (None, col)
            }
        }
    } else {
        (
            None,
            content_column(name, &rows, &options.email_column, columns)?,
        )
    };
    let other_email_columns = match (&headers, &options.email_column) {
        (Some(h), EmailColumn::Detect) if rows.len() > 1 => named_columns(h)
            .into_iter()
            .filter(|&i| {
                // Not a column about the address (Outlook's `E-mail Display Name`, `E-mail
                // Type`), whose values may hold one in passing.
                let key = header_key(h.get(i).unwrap_or_default());
                let about = ["name", "display", "type", "label", "status", "date", "time"]
                    .iter()
                    .any(|w| key.contains(w));
                i != email_column && !about && address_share(&rows[1..], i) >= 0.5
            })
            .collect(),
        _ => Vec::new(),
    };
    if let (Some(h), false) = (&headers, other_email_columns.is_empty()) {
        let name_of = |i: usize| {
            format!(
                "{:?}",
                String::from_utf8_lossy(h.get(i).unwrap_or_default()).trim()
            )
        };
        notes.push(format!(
            "{name}: a row whose email column {} is empty takes its address from {}",
            name_of(email_column),
            other_email_columns
                .iter()
                .map(|&i| name_of(i))
                .collect::<Vec<_>>()
                .join(", then ")
        ));
    }
    let sampled: usize = rows.iter().map(|r| r.as_slice().len() + r.len()).sum();
    Ok(Layout {
        delimiter,
        headers,
        email_column,
        columns,
        row_bytes: (sampled / rows.len().max(1)).max(1),
        notes,
        crlf: false,
        bom: false,
        consent: Vec::new(),
        other_email_columns,
    })
}

/// What a file is when it is not text: recognised by its magic bytes (with a hint at what to do),
/// as UTF-16 text, or by a high share of NUL bytes. A stray NUL in an otherwise textual file is
/// not a reason to refuse it: that row is rejected, or the byte passes through in another cell.
pub fn binary_kind(sample: &[u8]) -> Option<String> {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"PK\x03\x04", "a ZIP archive (an .xlsx or .ods workbook is one): export the sheet as CSV (UTF-8) first"),
        (b"\xd0\xcf\x11\xe0", "an old Excel workbook (.xls): export the sheet as CSV (UTF-8) first"),
        (b"%PDF", "a PDF document, not a list"),
        (b"\x89PNG", "a PNG image, not a list"),
        (b"GIF8", "a GIF image, not a list"),
        (b"\xff\xd8\xff", "a JPEG image, not a list"),
        (b"\x1f\x8b", "gzip data inside a file that was already decompressed: decompress it once more, or check the export"),
    ];
    for (magic, what) in MAGIC {
        if sample.starts_with(magic) {
            return Some(what.to_owned());
        }
    }
    // A UTF-16 file with a byte-order mark is decoded before this (`utf16`); without one the
    // byte order is a guess.
    let utf16_hint = "UTF-16 text without a byte-order mark (its byte order cannot be told): save it as \"CSV UTF-8\" or \"Unicode Text\" again, or convert it with `iconv -f UTF-16LE -t UTF-8`";
    if sample.starts_with(b"\xff\xfe") || sample.starts_with(b"\xfe\xff") {
        return Some(utf16_hint.to_owned());
    }
    let pairs = sample.len() / 2;
    if pairs >= 8 {
        let even = sample.iter().step_by(2).filter(|b| **b == 0).count();
        let odd = sample
            .iter()
            .skip(1)
            .step_by(2)
            .filter(|b| **b == 0)
            .count();
        if even.max(odd) * 10 >= pairs * 3 {
            return Some(utf16_hint.to_owned());
        }
    }
    let nul = sample.iter().filter(|b| **b == 0).count();
    if nul * 10 > sample.len() {
        return Some(format!(
            "binary content ({nul} NUL bytes in the first {} bytes)",
            sample.len()
        ));
    }
    None
}

/// Whether a cell looks like it holds an address, valid or not: an `@` with text before and
/// after it (`x@localhost` is an address to judge; `* Home` and `@SUM(A1)` are not).
pub fn looks_like_address(cell: &[u8]) -> bool {
    let text = String::from_utf8_lossy(cell);
    let text = text.trim();
    match text.rfind('@') {
        Some(at) => at > 0 && at + 1 < text.len(),
        None => false,
    }
}

/// The share of `rows` whose cell `i` looks like an address, among those where the cell is
/// there and not empty (a footer line, a contact without an address, say nothing).
fn address_share(rows: &[csv::ByteRecord], i: usize) -> f64 {
    let filled: Vec<&[u8]> = rows
        .iter()
        .filter_map(|r| r.get(i))
        .filter(|c| !c.iter().all(u8::is_ascii_whitespace))
        .collect();
    if filled.is_empty() {
        return 0.0;
    }
    let hits = filled.iter().filter(|c| looks_like_address(c)).count();
    hits as f64 / filled.len() as f64
}

/// What the first rows say about the email column.
enum Found {
    /// The first row is a header; the column, and a note when content overrode the names.
    Header(usize, Option<String>),
    /// The first row is data (a bare list of addresses); the column.
    NoHeader(usize),
}

/// The email column by header name and content: among the columns whose names say "email",
/// the best-named one whose sampled values are mostly addresses; when none of them holds
/// addresses but another column does, that one (said in a note); when the first row is itself
/// an address and no name says "email", there is no header.
fn header_and_content_column(
    name: &str,
    rows: &[csv::ByteRecord],
    wanted: &EmailColumn,
) -> Result<Found, InputError> {
    let first = &rows[0];
    if !matches!(wanted, EmailColumn::Detect) {
        return Ok(Found::Header(header_column_for(name, first, wanted)?, None));
    }
    let data = &rows[1..];
    let named = named_columns(first);
    // A bare list: the first row has an address and nothing in it is named like a column.
    if named.is_empty() {
        if let Some(i) = first.iter().position(looks_like_address) {
            let best = (0..first.len())
                .max_by(|a, b| {
                    address_share(rows, *a)
                        .total_cmp(&address_share(rows, *b))
                        .then(b.cmp(a))
                })
                .unwrap_or(i);
            return Ok(Found::NoHeader(best));
        }
    }
    let header_name = |i: usize| {
        String::from_utf8_lossy(first.get(i).unwrap_or_default())
            .trim()
            .to_owned()
    };
    if data.is_empty() {
        // A header and no rows yet: the name decides.
        return Ok(Found::Header(header_column_for(name, first, wanted)?, None));
    }
    const MOSTLY: f64 = 0.5;
    if let Some(&i) = named.iter().find(|&&i| address_share(data, i) >= MOSTLY) {
        let note = (Some(&i) != named.first()).then(|| {
            format!(
                "{name}: email column {:?} chosen over {:?}, whose values are not addresses",
                header_name(i),
                header_name(named[0])
            )
        });
        return Ok(Found::Header(i, note));
    }
    let by_content = (0..first.len())
        .map(|i| (i, address_share(data, i)))
        .filter(|(_, share)| *share >= MOSTLY)
        .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)));
    if let Some((i, _)) = by_content {
        let note = match named.first() {
            Some(&n) => format!(
                "{name}: email column {:?} chosen by its content: the column named like one, {:?}, holds no addresses",
                header_name(i),
                header_name(n)
            ),
            None => format!(
                "{name}: email column {:?} chosen by its content (no column is named like one)",
                header_name(i)
            ),
        };
        return Ok(Found::Header(i, Some(note)));
    }
    let candidates: Vec<String> = named.iter().map(|&i| header_name(i)).collect();
    Err(InputError::NoEmailColumn {
        file: name.to_owned(),
        reason: if candidates.is_empty() {
            format!(
                "no column is named like an email column and none of the first rows' values are addresses (header {:?}); name it with --email-column",
                first.iter().map(|h| String::from_utf8_lossy(h).into_owned()).collect::<Vec<_>>()
            )
        } else {
            format!(
                "the columns named like an email column ({candidates:?}) hold no addresses in the first rows, and no other column does; name it with --email-column"
            )
        },
    })
}

/// The columns whose names say "email" (or, failing that, "recipient" / "address"), best first.
fn named_columns(header: &csv::ByteRecord) -> Vec<usize> {
    let keys: Vec<String> = header.iter().map(header_key).collect();
    let mut out: Vec<usize> = Vec::new();
    let exact = EMAIL_HEADERS
        .iter()
        .flat_map(|wanted| keys.iter().enumerate().filter(move |(_, h)| h == wanted));
    let containing = keys.iter().enumerate().filter(|(_, h)| h.contains("email"));
    for (i, _) in exact.chain(containing) {
        if !out.contains(&i) {
            out.push(i);
        }
    }
    if out.is_empty() {
        for wanted in ["recipient", "address"] {
            out.extend(keys.iter().position(|h| h == wanted));
        }
    }
    out
}

fn sample_rows(sample: &[u8], delimiter: u8, truncated: bool, max: usize) -> Vec<csv::ByteRecord> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(sample);
    let mut rows: Vec<csv::ByteRecord> = reader
        .byte_records()
        .take(max)
        .map_while(Result::ok)
        .collect();
    // The last record of a cut sample may be cut too.
    if truncated && rows.len() > 1 {
        rows.pop();
    }
    rows
}

fn guess_delimiter(sample: &[u8], truncated: bool) -> u8 {
    let mut best = (0usize, b',');
    for d in DELIMITERS {
        let rows = sample_rows(sample, d, truncated, 50);
        let mut counts = std::collections::HashMap::new();
        for r in &rows {
            *counts.entry(r.len()).or_insert(0usize) += 1;
        }
        let agreeing = counts
            .iter()
            .filter(|(fields, _)| **fields > 1)
            .map(|(_, n)| *n)
            .max()
            .unwrap_or(0);
        if agreeing > best.0 {
            best = (agreeing, d);
        }
    }
    best.1
}

/// The email column of a header row (CSV header or Parquet schema names).
pub(super) fn header_column_for(
    name: &str,
    header: &csv::ByteRecord,
    wanted: &EmailColumn,
) -> Result<usize, InputError> {
    let names: Vec<String> = header
        .iter()
        .map(|h| String::from_utf8_lossy(h).trim().to_owned())
        .collect();
    let no_column = |reason: String| InputError::NoEmailColumn {
        file: name.to_owned(),
        reason,
    };
    match wanted {
        EmailColumn::Index(i) => index_column(name, *i, names.len()),
        EmailColumn::Name(n) => names
            .iter()
            .position(|h| h.eq_ignore_ascii_case(n.trim()))
            .ok_or_else(|| no_column(format!("no column named {n:?}; the header has {names:?}"))),
        EmailColumn::Detect => {
            let keys: Vec<String> = header.iter().map(header_key).collect();
            for wanted in EMAIL_HEADERS {
                if let Some(i) = keys.iter().position(|h| h == wanted) {
                    return Ok(i);
                }
            }
            if let Some(i) = keys.iter().position(|h| h.contains("email")) {
                return Ok(i);
            }
            // Weaker names, only when nothing says "email".
            for wanted in ["recipient", "address"] {
                if let Some(i) = keys.iter().position(|h| h == wanted) {
                    return Ok(i);
                }
            }
            let hint = if names.iter().any(|n| n.contains('@')) {
                "; the first row looks like data: pass --no-header"
            } else {
                ""
            };
            Err(no_column(format!(
                "no recognisable email column in the header {names:?}; name it with --email-column{hint}"
            )))
        }
    }
}

fn index_column(name: &str, index: usize, columns: usize) -> Result<usize, InputError> {
    if index == 0 || index > columns {
        return Err(InputError::NoEmailColumn {
            file: name.to_owned(),
            reason: format!(
                "--email-column {index} is outside the {columns} columns (numbered from 1)"
            ),
        });
    }
    Ok(index - 1)
}

fn content_column(
    name: &str,
    rows: &[csv::ByteRecord],
    wanted: &EmailColumn,
    columns: usize,
) -> Result<usize, InputError> {
    match wanted {
        EmailColumn::Index(i) => index_column(name, *i, columns),
        EmailColumn::Name(n) => Err(InputError::NoEmailColumn {
            file: name.to_owned(),
            reason: format!(
                "--email-column {n:?} names a column, but --no-header says there is no header"
            ),
        }),
        EmailColumn::Detect => {
            let mut at_counts = vec![0usize; columns];
            for row in rows {
                for (i, field) in row.iter().enumerate().take(columns) {
                    if field.contains(&b'@') {
                        at_counts[i] += 1;
                    }
                }
            }
            let (best, count) = at_counts
                .iter()
                .enumerate()
                .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
                .map(|(i, c)| (i, *c))
                .unwrap_or((0, 0));
            if count == 0 {
                return Err(InputError::NoEmailColumn {
                    file: name.to_owned(),
                    reason:
                        "no column of the first rows contains an @; give it with --email-column N"
                            .to_owned(),
                });
            }
            Ok(best)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> CsvOptions {
        CsvOptions::default()
    }

    #[test]
    fn detects_delimiters() {
        for d in [b',', b';', b'\t', b'|'] {
            let d = d as char;
            let text = format!(
                "id{d}Email Address{d}name\n1{d}a@b.com{d}\"x, y; z | w\"\n2{d}c@d.com{d}q\n"
            );
            let layout = detect("t", text.as_bytes(), &opts()).unwrap();
            assert_eq!(layout.delimiter as char, d);
            assert_eq!(layout.email_column, 1);
            assert_eq!(layout.columns, 3);
        }
    }

    #[test]
    fn finds_email_by_name_variants() {
        for h in [
            "E-Mail",
            "email_address",
            "MAIL",
            "Work Email",
            "Email Address",
        ] {
            let text = format!("name,{h}\nx,a@b.com\n");
            assert_eq!(
                detect("t", text.as_bytes(), &opts()).unwrap().email_column,
                1,
                "{h}"
            );
        }
    }

    #[test]
    fn no_email_column_is_a_clear_error() {
        let e = detect("t.csv", b"name,phone\nx,1\n", &opts()).unwrap_err();
        assert!(e.to_string().contains("--email-column"), "{e}");
        // Named like one, holding no addresses, and no other column does: the candidates.
        let e = detect("t.csv", b"name,email\nx,1\ny,2\n", &opts()).unwrap_err();
        assert!(e.to_string().contains("[\"email\"]"), "{e}");
    }

    #[test]
    fn a_bare_list_has_no_header() {
        for text in [
            &b"ann@b.com\nbo@b.com\n"[..],
            b"ann,ann@b.com\nbo,bo@b.com\n",
            b"a@x.org\n",
        ] {
            let l = detect("t.csv", text, &opts()).unwrap();
            assert_eq!(l.headers, None, "{}", String::from_utf8_lossy(text));
            assert_eq!(l.email_column, l.columns - 1);
            assert_eq!(l.notes.len(), 1);
        }
    }

    #[test]
    fn the_column_is_chosen_by_name_and_content() {
        // Google Contacts: the Label column comes first and holds `* Home`.
        let text = b"Name,E-mail 1 - Label,E-mail 1 - Value,Phone\nAnn,* Home,ann@b.com,1\nBo,* Work,bo@b.com,2\n";
        let l = detect("g.csv", text, &opts()).unwrap();
        assert_eq!(l.email_column, 2);
        assert!(l.notes[0].contains("E-mail 1 - Value"), "{:?}", l.notes);
        // The named column is empty of addresses, another one holds them.
        let text = b"email,contact\nyes,ann@b.com\nno,bo@b.com\n";
        let l = detect("x.csv", text, &opts()).unwrap();
        assert_eq!(l.email_column, 1);
        assert!(l.notes[0].contains("by its content"), "{:?}", l.notes);
        // A plain file says nothing.
        let l = detect("p.csv", b"id,email\n1,ann@b.com\n", &opts()).unwrap();
        assert_eq!((l.email_column, l.notes.len()), (1, 0));
    }

    #[test]
    fn headerless_by_content() {
        let o = CsvOptions {
            has_header: false,
            ..opts()
        };
        let l = detect("t", b"ann;x;ann@b.com\nbo;y;bo@b.com\n", &o).unwrap();
        assert_eq!((l.delimiter, l.email_column, l.headers), (b';', 2, None));
    }

    #[test]
    fn binary_is_not_csv() {
        let e = detect("t.bin", b"\x7fELF\x02\x01\x00\x00", &opts()).unwrap_err();
        assert!(matches!(e, InputError::NotCsv { .. }));
    }
}
