//! The shape of a clean list for its importer: which columns, in which order, under which names,
//! split into files of at most N rows, with spreadsheet formulas neutralised.
//!
//! A CRM import takes a fixed header (written even when no row is kept), refuses files above a
//! size, and opens CSVs in a spreadsheet where a cell starting with `=`, `+`, `-`, `@`, tab or
//! carriage return is a formula (CSV injection). `--spreadsheet-safe` prefixes such cells with a
//! single quote, the neutralisation spreadsheet programs and OWASP recommend; the email column is
//! never changed (an address is data the importer matches on), and every change is counted.

use std::path::{Path, PathBuf};

use crate::files::{AtomicCsv, CsvStyle, OutputError, Synced};

/// What the user asked of the clean list's shape.
#[derive(Debug, Clone)]
pub struct ExportProfile {
    /// Columns to keep, in order: header names (case-insensitive), `mailscrub_*` annotation
    /// names, or 1-based numbers.
    pub columns: Option<Vec<String>>,
    /// Header renames, `old` → `new`, applied after selection.
    pub rename: Vec<(String, String)>,
    /// Neutralise formula-like cells in CSV outputs.
    pub spreadsheet_safe: bool,
    /// At most this many data rows per clean file.
    pub split_rows: Option<u64>,
    /// Write the clean list as CSV.
    pub csv: bool,
    /// Write Parquet twins of the clean list, the suppression file and the rejects.
    pub parquet: bool,
    /// Give a CSV input's columns in the Parquet clean list the narrowest type all their values
    /// fit, instead of strings.
    pub infer_types: bool,
    /// Line ends (and BOM) of the CSV clean lists.
    pub line_ends: LineEnds,
    /// The delimiter of the CSV clean lists, when not the input's.
    pub out_delimiter: Option<u8>,
    /// The form of an internationalised domain in the clean list's email column.
    pub idn_form: IdnForm,
    /// Suppress addresses that cannot be written in ASCII (a Unicode local part) as
    /// `non_ascii`, and write every domain in punycode: for services that refuse Unicode.
    pub ascii_only: bool,
    /// Add `mailscrub_*` columns to the clean list.
    pub annotate: bool,
    /// Also write `duplicates.csv`.
    pub write_duplicates: bool,
}

impl Default for ExportProfile {
    fn default() -> Self {
        ExportProfile {
            columns: None,
            rename: Vec::new(),
            spreadsheet_safe: false,
            split_rows: None,
            csv: true,
            parquet: false,
            infer_types: false,
            line_ends: LineEnds::Input,
            out_delimiter: None,
            idn_form: IdnForm::Keep,
            ascii_only: false,
            annotate: false,
            write_duplicates: false,
        }
    }
}

/// How an internationalised domain is written in the clean list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum IdnForm {
    /// As the input wrote it: punycode stays punycode, Unicode stays Unicode.
    #[default]
    Keep,
    /// Punycode (`xn--bcher-kva.de`).
    Ascii,
    /// Unicode (`bücher.de`).
    Unicode,
}

impl IdnForm {
    /// Whether the email cell is written with the ASCII (punycode) domain, for an input field
    /// whose domain part is `field_domain_ascii`.
    pub fn ascii(self, field_domain_ascii: bool) -> bool {
        match self {
            IdnForm::Keep => field_domain_ascii,
            IdnForm::Ascii => true,
            IdnForm::Unicode => false,
        }
    }
}

/// The line ends of a CSV clean list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LineEnds {
    /// As the (first) input of the list: `\r\n` or `\n`, and its BOM when it had one.
    #[default]
    Input,
    /// `\n`, no BOM.
    Lf,
    /// `\r\n`, no BOM.
    Crlf,
}

/// Where an output column's value comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutCol {
    /// An input field, unchanged.
    Field(usize),
    /// The normalised address (the input's email column).
    Email,
    /// The n-th annotation column.
    Annotation(usize),
}

/// The columns of one clean list.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// Where each output column comes from.
    pub cols: Vec<OutCol>,
    /// The header to write, when the input has one.
    pub header: Option<Vec<String>>,
}

/// Builds the plan for an input with `header` (or `columns` fields without one).
pub fn plan_columns(
    header: Option<&[String]>,
    columns: usize,
    email_column: usize,
    annotations: &[&str],
    profile: &ExportProfile,
) -> Result<ColumnPlan, String> {
    let base = |i: usize| {
        if i == email_column {
            OutCol::Email
        } else {
            OutCol::Field(i)
        }
    };
    let mut all: Vec<(OutCol, String)> = (0..columns)
        .map(|i| {
            (
                base(i),
                header.and_then(|h| h.get(i)).cloned().unwrap_or_default(),
            )
        })
        .collect();
    all.extend(
        annotations
            .iter()
            .enumerate()
            .map(|(k, n)| (OutCol::Annotation(k), (*n).to_owned())),
    );
    let mut chosen: Vec<(OutCol, String)> = match &profile.columns {
        None => all.clone(),
        Some(wanted) => {
            let mut out = Vec::new();
            for w in wanted {
                let w = w.trim();
                let found = match w.parse::<usize>() {
                    Ok(n) if n >= 1 && n <= all.len() => Some(all[n - 1].clone()),
                    _ => all
                        .iter()
                        .find(|(_, name)| !name.is_empty() && name.eq_ignore_ascii_case(w))
                        .cloned(),
                };
                match found {
                    Some(c) => out.push(c),
                    None => {
                        let names: Vec<&str> = all
                            .iter()
                            .map(|(_, n)| n.as_str())
                            .filter(|n| !n.is_empty())
                            .collect();
                        return Err(format!("--columns: no column {w:?} (the columns are {names:?}, or numbers from 1)"));
                    }
                }
            }
            out
        }
    };
    for (old, new) in &profile.rename {
        let hit = chosen
            .iter_mut()
            .find(|(_, name)| name.eq_ignore_ascii_case(old));
        match hit {
            Some((_, name)) => *name = new.clone(),
            None => {
                return Err(format!(
                    "--rename {old}={new}: no output column named {old:?}"
                ))
            }
        }
    }
    let has_header = header.is_some();
    Ok(ColumnPlan {
        cols: chosen.iter().map(|(c, _)| *c).collect(),
        header: has_header.then(|| chosen.into_iter().map(|(_, n)| n).collect()),
    })
}

/// True when a spreadsheet would read `cell` as a formula: it starts with `=`, `+`, `-`, `@`,
/// tab or carriage return (OWASP's CSV-injection list) and is not a plain number (`-5`,
/// `+3.5e2`) or a phone number (`+1 555 0100`, `-(555) 010-0100` is not one), which a spreadsheet
/// reads as a value, not a formula.
pub fn is_formula_like(cell: &[u8]) -> bool {
    matches!(
        cell.first(),
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
    ) && !is_number(cell)
        && !is_phone(cell)
}

/// `[+-]digits[.digits][e[+-]digits]`.
fn is_number(cell: &[u8]) -> bool {
    let text = std::str::from_utf8(cell).unwrap_or("");
    let body = text.strip_prefix(['+', '-']).unwrap_or(text);
    !body.is_empty()
        && body
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && body.parse::<f64>().is_ok_and(f64::is_finite)
}

/// `+` then digits, spaces, dots, dashes and one pair of parentheses, with 6 to 15 digits
/// (E.164 allows 15).
fn is_phone(cell: &[u8]) -> bool {
    let Some(rest) = cell.strip_prefix(b"+") else {
        return false;
    };
    let digits = rest.iter().filter(|b| b.is_ascii_digit()).count();
    let allowed = rest
        .iter()
        .all(|b| b.is_ascii_digit() || matches!(b, b' ' | b'.' | b'-' | b'(' | b')'));
    let parens = rest.iter().filter(|b| **b == b'(').count();
    allowed
        && parens <= 1
        && parens == rest.iter().filter(|b| **b == b')').count()
        && rest.first().is_some_and(u8::is_ascii_digit)
        && (6..=15).contains(&digits)
}

/// `cell` made inert for spreadsheets, when it needs to be.
pub fn neutralise(cell: &[u8]) -> Option<Vec<u8>> {
    if !is_formula_like(cell) {
        return None;
    }
    let mut out = Vec::with_capacity(cell.len() + 1);
    out.push(b'\'');
    out.extend_from_slice(cell);
    Some(out)
}

/// A clean list written as one file, or as parts of at most N rows each.
pub struct SplitCsv {
    dir: PathBuf,
    stem: String,
    style: CsvStyle,
    header: Option<Vec<String>>,
    limit: Option<u64>,
    current: AtomicCsv,
    done: Vec<AtomicCsv>,
    rows: u64,
}

impl SplitCsv {
    /// Starts `dir/<stem>.csv` (or `<stem>-0001.csv` when split).
    pub fn create(
        dir: &Path,
        stem: &str,
        style: CsvStyle,
        header: Option<Vec<String>>,
        limit: Option<u64>,
    ) -> Result<Self, OutputError> {
        let current = Self::part(dir, stem, style, header.as_deref(), limit, 1)?;
        Ok(SplitCsv {
            dir: dir.to_path_buf(),
            stem: stem.to_owned(),
            style,
            header,
            limit,
            current,
            done: Vec::new(),
            rows: 0,
        })
    }

    fn part(
        dir: &Path,
        stem: &str,
        style: CsvStyle,
        header: Option<&[String]>,
        limit: Option<u64>,
        n: usize,
    ) -> Result<AtomicCsv, OutputError> {
        let name = match limit {
            Some(_) => format!("{stem}-{n:04}.csv"),
            None => format!("{stem}.csv"),
        };
        let mut w = AtomicCsv::create_styled(dir, &name, style)?;
        if let Some(h) = header {
            w.header(h)?;
        }
        Ok(w)
    }

    /// Writes one row, starting a new part when the current one is full.
    pub fn row<I, T>(&mut self, fields: I) -> Result<(), OutputError>
    where
        I: IntoIterator<Item = T>,
        T: AsRef<[u8]>,
    {
        self.part_with_room()?.row(fields)
    }

    /// Writes one row given as its text (see [`AtomicCsv::line`]).
    pub fn line(&mut self, text: &[u8]) -> Result<(), OutputError> {
        self.part_with_room()?.line(text)
    }

    /// The part the next row goes to: the current one, or a new one when it is full.
    fn part_with_room(&mut self) -> Result<&mut AtomicCsv, OutputError> {
        if let Some(limit) = self.limit {
            if self.current.rows() >= limit {
                let n = self.done.len() + 2;
                let next = Self::part(
                    &self.dir,
                    &self.stem,
                    self.style,
                    self.header.as_deref(),
                    self.limit,
                    n,
                )?;
                self.done.push(std::mem::replace(&mut self.current, next));
            }
        }
        self.rows += 1;
        Ok(&mut self.current)
    }

    /// Rows written in all parts.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Renames every part into place; returns their file names.
    pub fn commit(self) -> Result<Vec<String>, OutputError> {
        self.sync()?.into_iter().map(persist_name).collect()
    }

    /// Flushes and syncs every part, still under temporary names (see [`AtomicCsv::sync`]).
    pub fn sync(self) -> Result<Vec<Synced>, OutputError> {
        self.done
            .into_iter()
            .chain(std::iter::once(self.current))
            .map(AtomicCsv::sync)
            .collect()
    }
}

/// Renames `part` into place; returns its file name.
pub fn persist_name(part: Synced) -> Result<String, OutputError> {
    let path = part.persist()?;
    Ok(path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header() -> Vec<String> {
        ["id", "Email", "First Name", "phone"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    #[test]
    fn select_order_rename() {
        let profile = ExportProfile {
            columns: Some(vec![
                "email".into(),
                "first name".into(),
                "mailscrub_flags".into(),
                "1".into(),
            ]),
            rename: vec![("First Name".into(), "firstname".into())],
            ..ExportProfile::default()
        };
        let plan = plan_columns(
            Some(&header()),
            4,
            1,
            &["mailscrub_status", "mailscrub_flags"],
            &profile,
        )
        .unwrap();
        assert_eq!(
            plan.cols,
            [
                OutCol::Email,
                OutCol::Field(2),
                OutCol::Annotation(1),
                OutCol::Field(0)
            ]
        );
        assert_eq!(
            plan.header.unwrap(),
            ["Email", "firstname", "mailscrub_flags", "id"]
        );
        let bad = ExportProfile {
            columns: Some(vec!["fax".into()]),
            ..ExportProfile::default()
        };
        assert!(plan_columns(Some(&header()), 4, 1, &[], &bad)
            .unwrap_err()
            .contains("\"fax\""));
    }

    #[test]
    fn formulas_are_neutralised() {
        assert_eq!(
            neutralise(b"=HYPERLINK(\"http://x\",\"y\")").unwrap(),
            b"'=HYPERLINK(\"http://x\",\"y\")"
        );
        for c in [
            &b"@SUM(A1)"[..],
            b"\tx",
            b"\rx",
            b"-2+3+cmd|' /C calc'!A0",
            b"+cmd|' /C calc'!A0",
            b"=1+1",
            b"-1-1",
            b"+1 555 CALL",
            b"-",
            b"+",
            b"-inf",
            b"-NaN",
        ] {
            assert!(neutralise(c).is_some(), "{}", String::from_utf8_lossy(c));
        }
        // Numbers and phone numbers are values, not formulas.
        for c in [
            &b"-5"[..],
            b"+3.5",
            b"-0.25e-3",
            b"+1 555 0100",
            b"+33 1 23 45 67 89",
            b"+1 (555) 010-0100",
            b"+15550100",
        ] {
            assert_eq!(neutralise(c), None, "{}", String::from_utf8_lossy(c));
        }
        assert_eq!(neutralise(b"Ann"), None);
        assert_eq!(neutralise(b""), None);
    }

    #[test]
    fn split_parts_each_have_the_header() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = SplitCsv::create(
            dir.path(),
            "clean",
            CsvStyle::plain(b','),
            Some(vec!["email".into()]),
            Some(2),
        )
        .unwrap();
        for i in 0..5 {
            w.row([format!("u{i}@corp-mail.net")]).unwrap();
        }
        let names = w.commit().unwrap();
        assert_eq!(
            names,
            ["clean-0001.csv", "clean-0002.csv", "clean-0003.csv"]
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("clean-0003.csv")).unwrap(),
            "email\nu4@corp-mail.net\n"
        );
    }
}
