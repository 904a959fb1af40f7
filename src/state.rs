//! The state file (`--state FILE`): the evidence that must outlive the logs it came from.
//!
//! The soft-bounce rule counts one point a day over a window of days, but a nightly job reads
//! only tonight's (rotated) log: without a memory, a mailbox full for seven nights in a row is
//! never suppressed. The state file keeps, per address, the days of its current run of soft
//! bounces; the next night reads them back as events, so the rule sees the whole run.
//!
//! JSON lines: a header `{"mailscrub_state":1,"out":"<output folder>","as_of":<unix>}` and one
//! line per address `{"email":…,"key":"<hex>","days":[…],"last_at":…,"status":…}`. It is
//! written atomically before the night's outputs are switched in, so a kill leaves either the
//! old state or the new (tonight's logs read again count each day once). A state file of
//! another output folder, of a newer version, or damaged, is refused with a clear message and
//! never silently reset: move it away to rebuild the state from the evidence given.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::bounces::{BounceEvent, EventClass, Format, Source};
use crate::files::{self, OutputError};
use crate::policy::SoftStreak;

/// The version of the format this build writes and reads.
pub const VERSION: u32 = 1;

/// Why a state file cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{}: {reason}; move the file away to rebuild the state from the evidence given", path.display())]
pub struct StateError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub reason: String,
}

#[derive(Serialize, Deserialize)]
struct Header {
    mailscrub_state: u32,
    out: String,
    as_of: i64,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    email: String,
    key: String,
    days: Vec<i64>,
    last_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status: Option<String>,
}

/// The identity of an output folder in the state file.
fn out_id(out: &Path) -> String {
    std::fs::canonicalize(out)
        .unwrap_or_else(|_| out.to_path_buf())
        .display()
        .to_string()
}

/// Reads the state of `path` (none when the file does not exist) as soft-bounce events, one
/// per counted day, for the run writing to `out`.
pub fn load(path: &Path, out: &Path) -> Result<Vec<BounceEvent>, StateError> {
    let fail = |reason: String| StateError {
        path: path.to_path_buf(),
        reason,
    };
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(fail(format!("cannot read: {e}"))),
    };
    let mut lines = text.lines();
    let header: Header = lines
        .next()
        .and_then(|l| serde_json::from_str(l).ok())
        .ok_or_else(|| fail("not a mailscrub state file (no header line)".to_owned()))?;
    if header.mailscrub_state > VERSION {
        return Err(fail(format!(
            "written by a newer mailscrub (state version {}, this one reads {VERSION})",
            header.mailscrub_state
        )));
    }
    if header.out != out_id(out) {
        return Err(fail(format!(
            "the state of another output folder ({}), not of {}",
            header.out,
            out_id(out)
        )));
    }
    let file: Arc<str> = Arc::from(path.display().to_string().as_str());
    let mut events = Vec::new();
    for (i, line) in lines.enumerate() {
        let n = i as u64 + 2;
        let entry: Entry =
            serde_json::from_str(line).map_err(|e| fail(format!("damaged at line {n}: {e}")))?;
        let key = u128::from_str_radix(&entry.key, 16)
            .map_err(|e| fail(format!("damaged at line {n}: key: {e}")))?;
        for (k, day) in entry.days.iter().enumerate() {
            let last = k + 1 == entry.days.len();
            events.push(BounceEvent {
                recipient: entry.email.as_str().into(),
                key,
                timestamp: Some(if last { entry.last_at } else { day * 86_400 }),
                smtp_code: None,
                status: entry.status.as_deref().map(Into::into),
                diagnostic: "soft bounce kept in the state file from an earlier night".into(),
                class: EventClass::RecipientSoft,
                source: Source {
                    file: file.clone(),
                    line: n,
                },
                format: Format::Suppression,
            });
        }
    }
    Ok(events)
}

/// Writes the soft-bounce runs of `streaks` to `path`, atomically.
pub fn save(
    path: &Path,
    out: &Path,
    as_of: i64,
    streaks: &[SoftStreak],
) -> Result<(), OutputError> {
    let mut text = serde_json::to_string(&Header {
        mailscrub_state: VERSION,
        out: out_id(out),
        as_of,
    })
    .map_err(|e| OutputError::other(path, e))?;
    text.push('\n');
    let mut streaks: Vec<&SoftStreak> = streaks.iter().collect();
    streaks.sort_by(|a, b| a.recipient.cmp(b.recipient));
    for s in streaks {
        let line = serde_json::to_string(&Entry {
            email: s.recipient.to_owned(),
            key: format!("{:032x}", s.key),
            days: s.days.clone(),
            last_at: s.last_at,
            status: s.last_status.map(str::to_owned),
        })
        .map_err(|e| OutputError::other(path, e))?;
        text.push_str(&line);
        text.push('\n');
    }
    let (dir, name) = files::dir_and_name(path);
    let name = name.unwrap_or_else(|| "state.jsonl".to_owned());
    files::write_atomic(&dir, &name, text.as_bytes())?;
    Ok(())
}
