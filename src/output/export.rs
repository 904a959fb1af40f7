//! `mailscrub suppression export`: a suppression file in the layout each sending service's
//! import takes, so that tonight's decisions reach the platform that sends.
//!
//! | target | layout |
//! |---|---|
//! | `ses` | CSV without header, `address,BOUNCE|COMPLAINT` (SES account suppression list import job, CSV data format); complaints and unsubscribes are `COMPLAINT`, everything else `BOUNCE` |
//! | `sendgrid` | CSV `email` (the one-column upload SendGrid's suppression lists accept) |
//! | `mailgun` | CSV `address,code,error,created_at` (Mailgun bounces import) |
//! | `postmark` | JSON `{"Suppressions":[{"EmailAddress":...}]}` in requests of at most 50 addresses, one per line (Postmark's suppression API limit) |
//! | `csv` | `email,reason,detail,source,first_seen,last_seen,status,count`, unchanged, deduplicated |
//!
//! Rows are read from mailscrub's own `suppression.csv`; each address is written once (the first
//! row wins), and the output is written atomically like every other output.

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

/// Writes `input` (a mailscrub suppression file) as `target` to `dir/name`. Returns the rows.
pub fn export(input: &Path, target: Target, dir: &Path, name: &str) -> Result<usize, ExportError> {
    let (header, rows) = read(input)?;
    let encode_fail = |e: csv::Error| ExportError::Input {
        file: input.display().to_string(),
        reason: e.to_string(),
    };
    let bytes = match target {
        Target::Ses => csv_bytes(
            None,
            rows.iter().map(|r| {
                let kind = if matches!(r.reason.as_str(), "complaint" | "unsubscribe") {
                    "COMPLAINT"
                } else {
                    "BOUNCE"
                };
                vec![r.email.clone(), kind.to_owned()]
            }),
        )
        .map_err(encode_fail)?,
        Target::Sendgrid => csv_bytes(Some(&["email"]), rows.iter().map(|r| vec![r.email.clone()]))
            .map_err(encode_fail)?,
        Target::Mailgun => csv_bytes(
            Some(&["address", "code", "error", "created_at"]),
            rows.iter().map(|r| {
                let code = r
                    .status
                    .split_whitespace()
                    .next()
                    .filter(|c| c.len() == 3)
                    .unwrap_or("550")
                    .to_owned();
                let error = if r.detail.is_empty() {
                    r.reason.clone()
                } else {
                    format!("{}: {}", r.reason, r.detail)
                };
                vec![r.email.clone(), code, error, r.last_seen.clone()]
            }),
        )
        .map_err(encode_fail)?,
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
            out
        }
        Target::Csv => csv_bytes(
            Some(&header.iter().collect::<Vec<_>>()),
            rows.iter()
                .map(|r| r.all.iter().map(str::to_owned).collect()),
        )
        .map_err(encode_fail)?,
    };
    write_atomic(dir, name, &bytes)?;
    Ok(rows.len())
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
            (n, std::fs::read_to_string(dir.path().join(name)).unwrap())
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
            "email\ngone@corp-mail.net\nangry@corp-mail.net\n"
        );
        assert_eq!(
            run(Target::Mailgun, "mg.csv").1,
            "address,code,error,created_at\ngone@corp-mail.net,550,hard_bounce: 550 5.1.1 User unknown,2024-08-01T10:00:00Z\nangry@corp-mail.net,550,complaint: feedback,\n"
        );
        let pm = run(Target::Postmark, "pm.jsonl").1;
        let v: serde_json::Value = serde_json::from_str(pm.lines().next().unwrap()).unwrap();
        assert_eq!(v["Suppressions"][1]["EmailAddress"], "angry@corp-mail.net");
        assert_eq!(run(Target::Csv, "all.csv").1.lines().count(), 3);
    }
}
