//! Stage 8: what a run tells its operator.
//!
//! [`Tally`] counts verdicts per input while rows are written (one thread owns it, so counting is
//! plain addition). [`Report`] is what `report.json` holds; [`Report::summary`] is the short text
//! for stderr. The accounting identity `rows_in = kept + suppressed + duplicates + rejected` is
//! checked here, per input and in total, and its result is part of the report.

pub mod assemble;
pub mod bounces;
pub mod dns;
pub mod history;
pub mod html;
mod progress;

pub use progress::{Phase, Progress};

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::record::{Flags, Reason, Repairs, FLAG_NAMES, REPAIR_NAMES};

/// Counts by stable name (reasons, flags, repairs).
pub type NamedCounts = BTreeMap<&'static str, u64>;

pub use crate::record::Counts;

/// Running counts, owned by the thread that writes outputs.
#[derive(Debug, Default)]
pub struct Tally {
    /// Per input, in input order.
    pub inputs: Vec<Counts>,
    /// Suppressions per reason.
    pub reasons: BTreeMap<Reason, u64>,
    /// Kept rows per flag.
    pub flags: [u64; FLAG_NAMES.len()],
    /// Rows per repair (kept or suppressed).
    pub repairs: [u64; REPAIR_NAMES.len()],
}

impl Tally {
    /// A tally for `inputs` inputs.
    pub fn new(inputs: usize) -> Self {
        Tally {
            inputs: vec![Counts::default(); inputs],
            ..Tally::default()
        }
    }

    /// Counts the flags of a kept row.
    pub fn flags(&mut self, flags: Flags) {
        for (i, (f, _)) in FLAG_NAMES.iter().enumerate() {
            if flags.contains(*f) {
                self.flags[i] += 1;
            }
        }
    }

    /// Counts the repairs of a row.
    pub fn repairs(&mut self, repairs: Repairs) {
        for (i, (r, _)) in REPAIR_NAMES.iter().enumerate() {
            if repairs.contains(*r) {
                self.repairs[i] += 1;
            }
        }
    }

    /// The sum over all inputs.
    pub fn total(&self) -> Counts {
        let mut total = Counts::default();
        for c in &self.inputs {
            total.merge(c);
        }
        total
    }
}

/// One input as the report describes it.
#[derive(Debug, Clone, Serialize)]
pub struct InputReport {
    /// The path given (or `<stdin>`).
    pub file: String,
    /// `csv` or `parquet`.
    pub format: &'static str,
    /// `none`, `gzip` or `zstd`.
    pub compression: &'static str,
    /// The delimiter used, as text (`\t` for tab).
    pub delimiter: String,
    /// Whether the first row was a header.
    pub header: bool,
    /// The email column, 1-based.
    pub email_column: usize,
    /// Its header name, when there is a header.
    pub email_column_name: Option<String>,
    /// The clean list this input's kept rows went to.
    pub clean_output: String,
    /// Verdict counts.
    #[serde(flatten)]
    pub counts: Counts,
    /// Whether this input's counts add up.
    pub identity_holds: bool,
    /// How the email column and the header were found, when it was not plain.
    pub notes: Vec<String>,
}

/// One clean list and the inputs that share it.
#[derive(Debug, Clone, Serialize)]
pub struct CleanOutput {
    /// The file name inside the output folder.
    pub file: String,
    /// The inputs whose kept rows it holds.
    pub inputs: Vec<String>,
    /// Data rows written.
    pub rows: u64,
    /// The files written (one, or the parts of a split list).
    pub parts: Vec<String>,
}

/// Seconds spent, per phase.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Timings {
    /// Opening inputs and detecting their shape.
    pub open_seconds: f64,
    /// Reading the bounce and feedback history and folding it per address (0 without
    /// `--bounces`).
    pub history_seconds: f64,
    /// Reading, validating, deciding and writing rows.
    pub rows_seconds: f64,
    /// Writing the history's suppressed addresses that no row carried (part of `rows_seconds`).
    pub carry_forward_seconds: f64,
    /// Flushing and renaming outputs into place.
    pub commit_seconds: f64,
    /// The whole run.
    pub total_seconds: f64,
    /// Rows per second over the whole run.
    pub rows_per_second: f64,
}

/// A domain that decided rows other than "deliverable".
#[derive(Debug, Clone, Serialize)]
pub struct DomainCount {
    /// The domain (ASCII).
    pub domain: String,
    /// Its mail-route class.
    pub class: &'static str,
    /// Rows with this domain that reached the DNS decision.
    pub rows: u64,
    /// The DNS evidence.
    pub evidence: String,
}

/// The DNS stage in the report.
#[derive(Debug, Clone, Serialize)]
pub struct DnsReport {
    /// The servers asked (`system` for the system configuration).
    pub servers: Vec<String>,
    /// Distinct domains that reached the DNS decision.
    pub domains: u64,
    /// Those domains per class (every class listed).
    pub by_class: BTreeMap<&'static str, u64>,
    /// The domains that affected the most rows (suppressed or flagged), at most 20.
    pub top_affected_domains: Vec<DomainCount>,
    /// Fresh entries loaded from the cache file.
    pub cache_fresh: u64,
    /// Expired entries found in the cache file.
    pub cache_expired: u64,
    /// Cache lines that could not be read.
    pub cache_damaged_lines: u64,
    /// Why the run's DNS verdicts were not trusted (every DNS verdict then counts as
    /// `unknown` and nobody is suppressed for a DNS reason), or `null`.
    pub distrusted: Option<String>,
    /// Work done.
    #[serde(flatten)]
    pub stats: crate::dns::DnsStats,
}

/// The content of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// mailscrub's version.
    pub mailscrub_version: &'static str,
    /// When the run started (RFC 3339, UTC).
    pub started_at: String,
    /// When it finished (RFC 3339, UTC).
    pub finished_at: String,
    /// Totals over all inputs.
    #[serde(flatten)]
    pub counts: Counts,
    /// `rows_in = kept + suppressed + duplicates + rejected`, in total and for every input.
    pub identity_holds: bool,
    /// The identity written out with the numbers.
    pub identity: String,
    /// Suppressed rows per reason (every reason listed, zeros included).
    pub reasons: BTreeMap<&'static str, u64>,
    /// Kept rows per flag.
    pub flags: BTreeMap<&'static str, u64>,
    /// Rows per repair.
    pub repairs: BTreeMap<&'static str, u64>,
    /// Per input.
    pub inputs: Vec<InputReport>,
    /// The clean lists written.
    pub clean_outputs: Vec<CleanOutput>,
    /// Every file written, relative to the output folder.
    pub files: Vec<String>,
    /// Cells that `--spreadsheet-safe` prefixed with a quote.
    pub spreadsheet_safe_cells: u64,
    /// Things the operator must know (DNS down, ...); also printed on stderr.
    pub warnings: Vec<String>,
    /// The DNS stage, when it ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<DnsReport>,
    /// The bounce history, when `--bounces` was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bounces: Option<bounces::BounceReport>,
    /// The dedupe keys' spill to disk, when `--memory-limit` called for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedupe_spill: Option<DedupeSpill>,
    /// Phase timings.
    pub timings: Timings,
}

/// How a run past `--memory-limit` deduped: its keys written to disk by a first pass over the
/// rows, then deduped a group of part files at a time.
#[derive(Debug, Clone, Serialize)]
pub struct DedupeSpill {
    /// Keys written (rows that reached the dedupe step).
    pub keys: u64,
    /// Groups of part files deduped one after the other.
    pub groups: usize,
    /// The bytes of key set a group could take (half the limit).
    pub budget_bytes: u64,
    /// Seconds of the first pass and the dedupe of its files.
    pub seconds: f64,
}

impl Report {
    /// Fills the counting parts of a report from a finished tally.
    pub fn counts_from(tally: &Tally) -> (Counts, NamedCounts, NamedCounts, NamedCounts) {
        let reasons = Reason::ALL
            .iter()
            .map(|r| (r.as_str(), tally.reasons.get(r).copied().unwrap_or(0)))
            .collect();
        let flags = FLAG_NAMES
            .iter()
            .zip(tally.flags)
            .map(|((_, n), c)| (*n, c))
            .collect();
        let repairs = REPAIR_NAMES
            .iter()
            .zip(tally.repairs)
            .map(|((_, n), c)| (*n, c))
            .collect();
        (tally.total(), reasons, flags, repairs)
    }

    /// The short human summary printed on stderr.
    pub fn summary(&self, out_dir: &std::path::Path) -> String {
        let c = &self.counts;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "mailscrub: {} rows from {} input(s) in {:.1}s: {} kept, {} suppressed, {} duplicates, {} rejected",
            group(c.rows_in),
            self.inputs.len(),
            self.timings.total_seconds,
            group(c.kept),
            group(c.suppressed),
            group(c.duplicates),
            group(c.rejected),
        );
        if c.other_partition > 0 {
            let _ = writeln!(
                s,
                "mailscrub: {} row(s) belong to the other parts of --partition and are left to their runs",
                group(c.other_partition)
            );
        }
        if let Some(d) = &self.dedupe_spill {
            let _ = writeln!(
                s,
                "mailscrub: --memory-limit: {} dedupe keys spilled to disk and deduped in {} group(s) of at most {} MB, the rows read twice ({:.1}s for the first pass)",
                group(d.keys),
                d.groups,
                d.budget_bytes / 1_000_000,
                d.seconds
            );
        }
        let check = if self.identity_holds {
            "holds"
        } else {
            "DOES NOT HOLD"
        };
        let _ = writeln!(s, "  accounting: {} ({check})", self.identity);
        for i in &self.inputs {
            let column = match &i.email_column_name {
                Some(n) => format!("column {} {n:?}", i.email_column),
                None => format!("column {} (no header)", i.email_column),
            };
            let delimiter = if i.format == "csv" {
                format!(", delimiter {:?}", i.delimiter)
            } else {
                String::new()
            };
            let _ = writeln!(s, "  {}: email {column}{delimiter}", i.file);
            for note in &i.notes {
                let _ = writeln!(s, "    note: {note}");
            }
        }
        let nonzero = |m: &BTreeMap<&'static str, u64>| {
            m.iter()
                .filter(|(_, v)| **v > 0)
                .map(|(k, v)| format!("{k} {}", group(*v)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let reasons = nonzero(&self.reasons);
        if !reasons.is_empty() {
            let _ = writeln!(s, "  suppressed by reason: {reasons}");
        }
        let flags = nonzero(&self.flags);
        if !flags.is_empty() {
            let _ = writeln!(s, "  kept but flagged: {flags}");
        }
        let repairs = nonzero(&self.repairs);
        if !repairs.is_empty() {
            let _ = writeln!(s, "  repaired: {repairs}");
        }
        if self.spreadsheet_safe_cells > 0 {
            let _ = writeln!(
                s,
                "  spreadsheet-safe: {} cell(s) starting with = + - @ tab or CR prefixed with '",
                group(self.spreadsheet_safe_cells)
            );
        }
        if self.clean_outputs.len() > 1 {
            for o in &self.clean_outputs {
                let _ = writeln!(s, "  {} <- {}", o.file, o.inputs.join(", "));
            }
        }
        if let Some(dns) = &self.dns {
            let classes = nonzero(&dns.by_class);
            let _ = writeln!(
                s,
                "  dns: {} domains ({classes}); {} asked, {} from cache, {} queries in {:.1}s",
                group(dns.domains),
                group(dns.stats.resolved),
                group(dns.stats.from_cache),
                group(dns.stats.queries),
                dns.stats.seconds
            );
        }
        if let Some(b) = &self.bounces {
            let classes = nonzero(&b.events_by_class);
            let _ = writeln!(
                s,
                "  bounces: {} events from {} file(s) about {} addresses ({classes}); {} suppressed addresses not on the list carried forward",
                group(b.events),
                b.files.len(),
                group(b.addresses),
                group(b.carried_forward)
            );
        }
        let _ = writeln!(
            s,
            "  outputs in {}: {}",
            out_dir.display(),
            self.files.join(", ")
        );
        s
    }
}

/// `1234567` as `1,234,567`.
pub fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::Verdict;

    #[test]
    fn grouping() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }

    #[test]
    fn identity() {
        let mut c = Counts::default();
        for v in [
            Verdict::Keep,
            Verdict::Suppress,
            Verdict::Duplicate,
            Verdict::Reject,
        ] {
            c.add(v);
        }
        assert!(!c.identity_holds(), "rows read are counted apart");
        c.rows_in = 4;
        assert!(c.identity_holds());
        c.rows_in += 1;
        assert!(!c.identity_holds());
    }
}
