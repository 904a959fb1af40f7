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

fn squash(name: &[u8]) -> String {
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
    if sample.contains(&0) {
        return Err(not_csv("binary content (NUL bytes) in the first 64 KiB"));
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
    let (headers, email_column) = if options.has_header {
        let col = header_column_for(name, first, &options.email_column)?;
        (Some(first.clone()), col)
    } else {
        (
            None,
            content_column(name, &rows, &options.email_column, columns)?,
        )
    };
    let sampled: usize = rows.iter().map(|r| r.as_slice().len() + r.len()).sum();
    Ok(Layout {
        delimiter,
        headers,
        email_column,
        columns,
        row_bytes: (sampled / rows.len().max(1)).max(1),
    })
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
            let squashed: Vec<String> = header.iter().map(squash).collect();
            for wanted in EMAIL_HEADERS {
                if let Some(i) = squashed.iter().position(|h| h == wanted) {
                    return Ok(i);
                }
            }
            if let Some(i) = squashed.iter().position(|h| h.contains("email")) {
                return Ok(i);
            }
            // Weaker names, only when nothing says "email".
            for wanted in ["recipient", "address"] {
                if let Some(i) = squashed.iter().position(|h| h == wanted) {
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
        CsvOptions {
            delimiter: None,
            has_header: true,
            email_column: EmailColumn::Detect,
        }
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
        assert!(
            e.to_string().contains("no recognisable email column"),
            "{e}"
        );
        let e = detect("t.csv", b"ann,ann@b.com\nbo,bo@b.com\n", &opts()).unwrap_err();
        assert!(e.to_string().contains("--no-header"), "{e}");
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
