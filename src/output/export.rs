//! `mailscrub suppression export`: a suppression file in the layout each sending service's
//! import takes, so that tonight's decisions reach the platform that sends.
//!
//! Only a suppression file is exported: mailscrub's `suppression.csv`, or a file with an email
//! and a `reason` column whose reasons are mailscrub's. Any other CSV (a contact export) is
//! refused: exporting it would suppress every contact at the service. Rows a service would
//! refuse or that say nothing about the person (`syntax`, `reserved_domain`, `non_ascii`) are
//! left out and counted. Each address is written once (the first row wins).
//!
//! | target | files | layout (source) |
//! |---|---|---|
//! | `ses` | `NAME.csv`, or `NAME-0001.csv`... of at most 100,000 rows | no header, `address,BOUNCE|COMPLAINT` (SES developer guide, "Importing email addresses into your account-level suppression list": CSV data format, 100,000 addresses per import job). Complaints are `COMPLAINT`, bounces and DNS reasons `BOUNCE`. SES's account-level list has no unsubscribe reason: unsubscribes (`unsubscribe`, `opt_out`, `no_consent`) go to `NAME-unsubscribes.csv` (one `email` column) for the contact list's unsubscribe-all, and are not labelled as complaints |
//! | `sendgrid` | `NAME.csv` bounces, `NAME-spam-reports.csv`, `NAME-unsubscribes.csv` (global unsubscribes) | one `email` column each (the CSV upload of SendGrid's suppression lists) |
//! | `mailgun` | `NAME.csv` bounces, `NAME-complaints.csv`, `NAME-unsubscribes.csv` | `address,code,error,created_at`; `address,created_at`; `address,tags,created_at`, times in RFC 2822 (Mailgun API reference, bounces / complaints / unsubscribes import) |
//! | `postmark` | `NAME` | JSON `{"Suppressions":[{"EmailAddress":...}]}` in requests of at most 50 addresses, one per line (Postmark's suppression API limit); Postmark keeps one list of manual suppressions |
//! | `csv` | `NAME` | the suppression file's own columns, deduplicated |

use std::collections::HashSet;
use std::path::Path;

use crate::files::{write_atomic, OutputError};

/// The services an export can target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// Amazon SES.
    Ses,
    /// SendGrid.
    Sendgrid,
    /// Mailgun.
    Mailgun,
    /// Postmark.
    Postmark,
    /// mailscrub's own CSV.
    Csv,
}

impl Target {
    /// Parses a `--to` value.
    pub fn from_name(name: &str) -> Option<Target> {
        Some(match name {
            "ses" => Target::Ses,
            "sendgrid" => Target::Sendgrid,
            "mailgun" => Target::Mailgun,
            "postmark" => Target::Postmark,
            "csv" => Target::Csv,
            _ => return None,
        })
    }
}

/// Why an export failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The suppression file could not be read.
    #[error("{file}: {reason}")]
    Input {
        /// The file.
        file: String,
        /// Why.
        reason: String,
    },
    /// The export could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

struct Row {
    email: String,
    reason: String,
    detail: String,
    last_seen: String,
    status: String,
    all: csv::StringRecord,
}

fn read(path: &Path) -> Result<(csv::StringRecord, Vec<Row>), ExportError> {
    let fail = |reason: String| ExportError::Input {
        file: path.display().to_string(),
        reason,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| fail(e.to_string()))?;
    let header = reader.headers().map_err(|e| fail(e.to_string()))?.clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let email = col("email")
        .ok_or_else(|| fail("no email column: not a mailscrub suppression file".to_owned()))?;
    if col("reason").is_none() {
        return Err(fail(format!(
            "not a suppression file: it has no reason column (mailscrub's suppression.csv has {}); exporting a contact list would suppress every contact",
            crate::output::SUPPRESSION_COLUMNS.join(",")
        )));
    }
    let (reason, detail, last_seen, status) = (
        col("reason"),
        col("detail"),
        col("last_seen"),
        col("status"),
    );
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| fail(format!("row {}: {e}", i + 2)))?;
        let get = |c: Option<usize>| c.and_then(|c| record.get(c)).unwrap_or("").to_owned();
        let address = get(Some(email));
        if address.is_empty() || !seen.insert(address.to_lowercase()) {
            continue;
        }
        let reason_text = get(reason);
        if !EXPORTED_REASONS.contains(&reason_text.as_str())
            && !LEFT_OUT_REASONS.contains(&reason_text.as_str())
        {
            return Err(fail(format!(
                "row {}: reason {reason_text:?} is not one of mailscrub's (not a suppression file?)",
                i + 2
            )));
        }
        rows.push(Row {
            email: address,
            reason: get(reason),
            detail: get(detail),
            last_seen: get(last_seen),
            status: get(status),
            all: record.clone(),
        });
    }
    Ok((header, rows))
}

fn csv_bytes(
    header: Option<&[&str]>,
    rows: impl Iterator<Item = Vec<String>>,
) -> Result<Vec<u8>, csv::Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    if let Some(h) = header {
        w.write_record(h)?;
    }
    for r in rows {
        w.write_record(&r)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// The reasons that are about the person (suppressed for them) and exported; the others
/// (`syntax`, `reserved_domain`, `non_ascii`) are left out.
const EXPORTED_REASONS: [&str; 12] = [
    "nxdomain",
    "null_mx",
    "no_mail_route",
    "mx_unroutable",
    "hard_bounce",
    "soft_bounce_threshold",
    "complaint",
    "unsubscribe",
    "prior_suppression",
    "opt_out",
    "no_consent",
    "bounce",
];

/// The reasons a service could refuse or that do not concern a mailbox.
const LEFT_OUT_REASONS: [&str; 4] = ["syntax", "reserved_domain", "non_ascii", "unknown_tld"];

/// Rows per SES import job.
pub const SES_MAX_ROWS: usize = 100_000;

/// What an export wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exported {
    /// The files written, by name.
    pub files: Vec<String>,
    /// Addresses written.
    pub rows: usize,
    /// Rows left out (reasons the service refuses or that are not about the person).
    pub left_out: usize,
}

fn is_unsubscribe(reason: &str) -> bool {
    matches!(reason, "unsubscribe" | "opt_out" | "no_consent")
}

/// `last_seen` (RFC 3339) as RFC 2822, or empty.
fn rfc2822(time: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(time)
        .map(|t| t.to_rfc2822())
        .unwrap_or_default()
}

/// `dir/NAME` with a suffix before its extension: `suppression-ses.csv` -> `suppression-ses-unsubscribes.csv`.
fn beside(name: &str, suffix: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) => format!("{stem}-{suffix}.{ext}"),
        None => format!("{name}-{suffix}"),
    }
}

/// Writes `input` (a suppression file) as `target` to `dir/name` (and the files beside it the
/// service's other lists need).
pub fn export(
    input: &Path,
    target: Target,
    dir: &Path,
    name: &str,
) -> Result<Exported, ExportError> {
    let (header, all) = read(input)?;
    let encode_fail = |e: csv::Error| ExportError::Input {
        file: input.display().to_string(),
        reason: e.to_string(),
    };
    let left_out = all
        .iter()
        .filter(|r| LEFT_OUT_REASONS.contains(&r.reason.as_str()))
        .count();
    let rows: Vec<&Row> = all
        .iter()
        .filter(|r| !LEFT_OUT_REASONS.contains(&r.reason.as_str()))
        .collect();
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let emails =
        |list: &[&Row]| csv_bytes(Some(&["email"]), list.iter().map(|r| vec![r.email.clone()]));
    match target {
        Target::Ses => {
            let (unsubscribes, listed): (Vec<&Row>, Vec<&Row>) =
                rows.iter().partition(|r| is_unsubscribe(&r.reason));
            let parts: Vec<&[&Row]> = if listed.is_empty() {
                vec![&[]]
            } else {
                listed.chunks(SES_MAX_ROWS).collect()
            };
            for (i, part) in parts.iter().enumerate() {
                let bytes = csv_bytes(
                    None,
                    part.iter().map(|r| {
                        let kind = if r.reason == "complaint" {
                            "COMPLAINT"
                        } else {
                            "BOUNCE"
                        };
                        vec![r.email.clone(), kind.to_owned()]
                    }),
                )
                .map_err(encode_fail)?;
                let part_name = if parts.len() == 1 {
                    name.to_owned()
                } else {
                    beside(name, &format!("{:04}", i + 1))
                };
                files.push((part_name, bytes));
            }
            if !unsubscribes.is_empty() {
                files.push((
                    beside(name, "unsubscribes"),
                    emails(&unsubscribes).map_err(encode_fail)?,
                ));
            }
        }
        Target::Sendgrid => {
            let by = |f: &dyn Fn(&str) -> bool| -> Vec<&Row> {
                rows.iter().copied().filter(|r| f(&r.reason)).collect()
            };
            let bounces = by(&|r| r != "complaint" && !is_unsubscribe(r));
            files.push((name.to_owned(), emails(&bounces).map_err(encode_fail)?));
            for (suffix, list) in [
                ("spam-reports", by(&|r| r == "complaint")),
                ("unsubscribes", by(&|r| is_unsubscribe(r))),
            ] {
                if !list.is_empty() {
                    files.push((beside(name, suffix), emails(&list).map_err(encode_fail)?));
                }
            }
        }
        Target::Mailgun => {
            let bounces = csv_bytes(
                Some(&["address", "code", "error", "created_at"]),
                rows.iter()
                    .filter(|r| r.reason != "complaint" && !is_unsubscribe(&r.reason))
                    .map(|r| {
                        let code = r
                            .status
                            .split_whitespace()
                            .next()
                            .filter(|c| c.len() == 3 && c.bytes().all(|b| b.is_ascii_digit()))
                            .unwrap_or("550")
                            .to_owned();
                        let error = if r.detail.is_empty() {
                            r.reason.clone()
                        } else {
                            format!("{}: {}", r.reason, r.detail)
                        };
                        vec![r.email.clone(), code, error, rfc2822(&r.last_seen)]
                    }),
            )
            .map_err(encode_fail)?;
            files.push((name.to_owned(), bounces));
            let complaints: Vec<Vec<String>> = rows
                .iter()
                .filter(|r| r.reason == "complaint")
                .map(|r| vec![r.email.clone(), rfc2822(&r.last_seen)])
                .collect();
            if !complaints.is_empty() {
                let bytes = csv_bytes(Some(&["address", "created_at"]), complaints.into_iter())
                    .map_err(encode_fail)?;
                files.push((beside(name, "complaints"), bytes));
            }
            let unsubscribes: Vec<Vec<String>> = rows
                .iter()
                .filter(|r| is_unsubscribe(&r.reason))
                .map(|r| vec![r.email.clone(), String::new(), rfc2822(&r.last_seen)])
                .collect();
            if !unsubscribes.is_empty() {
                let bytes = csv_bytes(
                    Some(&["address", "tags", "created_at"]),
                    unsubscribes.into_iter(),
                )
                .map_err(encode_fail)?;
                files.push((beside(name, "unsubscribes"), bytes));
            }
        }
        Target::Postmark => {
            let mut out = Vec::new();
            for chunk in rows.chunks(50) {
                let list: Vec<serde_json::Value> = chunk
                    .iter()
                    .map(|r| serde_json::json!({ "EmailAddress": r.email }))
                    .collect();
                let doc = serde_json::json!({ "Suppressions": list });
                out.extend_from_slice(doc.to_string().as_bytes());
                out.push(b'\n');
            }
            files.push((name.to_owned(), out));
        }
        Target::Csv => {
            let bytes = csv_bytes(
                Some(&header.iter().collect::<Vec<_>>()),
                rows.iter()
                    .map(|r| r.all.iter().map(str::to_owned).collect()),
            )
            .map_err(encode_fail)?;
            files.push((name.to_owned(), bytes));
        }
    }
    for (file, bytes) in &files {
        write_atomic(dir, file, bytes)?;
    }
    Ok(Exported {
        files: files.into_iter().map(|(n, _)| n).collect(),
        rows: rows.len(),
        left_out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_target_layout() {
        let dir = tempfile::tempdir().unwrap();
        let input = dir.path().join("suppression.csv");
        std::fs::write(
            &input,
            "email,reason,detail,source,first_seen,last_seen,status,count\n\
             gone@corp-mail.net,hard_bounce,550 5.1.1 User unknown,mail.log:3,2024-08-01T10:00:00Z,2024-08-01T10:00:00Z,550 5.1.1,1\n\
             angry@corp-mail.net,complaint,feedback,arf.eml,,,,1\n\
             GONE@corp-mail.net,hard_bounce,dup,x,,,,1\n",
        )
        .unwrap();
        let run = |t: Target, name: &str| {
            let n = export(&input, t, dir.path(), name).unwrap();
            (
                n.rows,
                std::fs::read_to_string(dir.path().join(name)).unwrap(),
            )
        };
        assert_eq!(
            run(Target::Ses, "ses.csv"),
            (
                2,
                "gone@corp-mail.net,BOUNCE\nangry@corp-mail.net,COMPLAINT\n".to_owned()
            )
        );
        assert_eq!(
            run(Target::Sendgrid, "sg.csv").1,
            "email\ngone@corp-mail.net\n"
        );
        assert_eq!(
            run(Target::Mailgun, "mg.csv").1,
            "address,code,error,created_at\ngone@corp-mail.net,550,hard_bounce: 550 5.1.1 User unknown,\"Thu, 1 Aug 2024 10:00:00 +0000\"\n"
        );
        let pm = run(Target::Postmark, "pm.jsonl").1;
        let v: serde_json::Value = serde_json::from_str(pm.lines().next().unwrap()).unwrap();
        assert_eq!(v["Suppressions"][1]["EmailAddress"], "angry@corp-mail.net");
        assert_eq!(run(Target::Csv, "all.csv").1.lines().count(), 3);
    }
}
