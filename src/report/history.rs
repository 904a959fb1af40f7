//! Trends across nights (`--history FILE`): one summary line per run, and the warnings an
//! operator needs when tonight departs from the recent runs (a broken export, a blocked IP).
//!
//! JSON lines, appended by rewriting the file atomically after the run's outputs are switched
//! in. A line that cannot be read is skipped (and said), never fatal: the history informs, it
//! does not decide.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Report;
use crate::files::{self, OutputError};

/// The runs the trend warnings compare with.
pub const RECENT: usize = 30;
/// Tonight's suppressions above this many times the recent median warn.
pub const SUPPRESSION_FACTOR: f64 = 3.0;

/// One run, as the history keeps it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// When the run finished (RFC 3339).
    pub finished_at: String,
    /// Rows read.
    pub rows_in: u64,
    /// Rows kept.
    pub kept: u64,
    /// Rows suppressed.
    pub suppressed: u64,
    /// Suppressions by reason (non-zero only).
    pub suppressed_by_reason: BTreeMap<String, u64>,
    /// Suppressions decided on new evidence tonight (all but `prior_suppression`).
    pub new_suppressions: u64,
    /// Dead events / delivery attempts in the bounce history, when known.
    pub hard_bounce_rate: Option<f64>,
    /// Complaints / deliveries in the bounce history, when known.
    pub complaint_rate: Option<f64>,
    /// Sender-side events by receiving domain.
    pub sender_side_by_provider: BTreeMap<String, u64>,
}

impl Summary {
    /// Tonight's summary from its report.
    pub fn of(report: &Report) -> Summary {
        let by_reason: BTreeMap<String, u64> = report
            .reasons
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(r, n)| ((*r).to_owned(), *n))
            .collect();
        let prior = by_reason.get("prior_suppression").copied().unwrap_or(0);
        let mut sender_side = BTreeMap::new();
        if let Some(b) = &report.bounces {
            for g in &b.sender_side {
                *sender_side.entry(g.receiving_domain.clone()).or_insert(0) += g.events;
            }
        }
        Summary {
            finished_at: report.finished_at.clone(),
            rows_in: report.counts.rows_in,
            kept: report.counts.kept,
            suppressed: report.counts.suppressed,
            new_suppressions: report.counts.suppressed - prior,
            suppressed_by_reason: by_reason,
            hard_bounce_rate: report
                .bounces
                .as_ref()
                .and_then(|b| b.rates.hard_bounce_rate),
            complaint_rate: report.bounces.as_ref().and_then(|b| b.rates.complaint_rate),
            sender_side_by_provider: sender_side,
        }
    }
}

/// The last [`RECENT`] runs of the history file (none when it does not exist), and how many
/// lines could not be read.
pub fn recent(path: &Path) -> (Vec<Summary>, usize) {
    let Ok(text) = std::fs::read_to_string(path) else {
        return (Vec::new(), 0);
    };
    let mut damaged = 0;
    let mut runs: Vec<Summary> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .filter_map(|l| serde_json::from_str(l).map_err(|_| damaged += 1).ok())
        .collect();
    let skip = runs.len().saturating_sub(RECENT);
    runs.drain(..skip);
    (runs, damaged)
}

fn median(mut values: Vec<u64>) -> Option<u64> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    Some(values[values.len() / 2])
}

/// What tonight does that the recent runs did not: the warnings for the summary and the report.
pub fn warnings(recent: &[Summary], tonight: &Summary) -> Vec<String> {
    let mut out = Vec::new();
    if recent.len() < 3 {
        return out;
    }
    let med = |f: fn(&Summary) -> u64| median(recent.iter().map(f).collect()).unwrap_or(0);
    let new = med(|s| s.new_suppressions);
    if tonight.new_suppressions as f64 > SUPPRESSION_FACTOR * new.max(1) as f64
        && tonight.new_suppressions >= 10
    {
        out.push(format!(
            "trend: {} new suppressions tonight, more than {SUPPRESSION_FACTOR}x the median of the last {} runs ({new}): a broken export, a wrong file as evidence, or a blocked IP?",
            tonight.new_suppressions,
            recent.len()
        ));
    }
    let rows = med(|s| s.rows_in);
    if rows > 0 && (tonight.rows_in as f64) < 0.5 * rows as f64 {
        out.push(format!(
            "trend: {} rows read tonight, under half the median of the last {} runs ({rows}): is the export complete?",
            tonight.rows_in,
            recent.len()
        ));
    }
    let side: u64 = tonight.sender_side_by_provider.values().sum();
    let side_med = med(|s| s.sender_side_by_provider.values().sum());
    if side as f64 > SUPPRESSION_FACTOR * side_med.max(1) as f64 && side >= 10 {
        out.push(format!(
            "trend: {side} sender-side events tonight against a median of {side_med}: the sending IP or domain may be blocked"
        ));
    }
    out
}

/// Appends tonight's summary to the history file, atomically.
pub fn append(path: &Path, tonight: &Summary) -> Result<(), OutputError> {
    let mut text = std::fs::read_to_string(path).unwrap_or_default();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&serde_json::to_string(tonight).map_err(|e| OutputError::other(path, e))?);
    text.push('\n');
    let (dir, name) = files::dir_and_name(path);
    let name = name.unwrap_or_else(|| "history.jsonl".to_owned());
    files::write_atomic(&dir, &name, text.as_bytes())?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn night(rows_in: u64, new: u64) -> Summary {
        Summary {
            rows_in,
            new_suppressions: new,
            ..Summary::default()
        }
    }

    #[test]
    fn a_night_unlike_the_others_warns() {
        let recent: Vec<Summary> = (0..10).map(|_| night(10_000, 20)).collect();
        assert!(warnings(&recent, &night(10_000, 25)).is_empty());
        let w = warnings(&recent, &night(10_000, 400));
        assert!(w[0].contains("400 new suppressions"), "{w:?}");
        let w = warnings(&recent, &night(3_000, 20));
        assert!(w[0].contains("under half"), "{w:?}");
        // Too little history says nothing.
        assert!(warnings(&recent[..2], &night(10, 400)).is_empty());
    }
}
