//! `suppression.csv` (and its Parquet twin): one row per suppressed address, with the evidence.
//!
//! One column table, [`COLUMNS`], gives the header of the CSV file and the schema of the Parquet
//! file, so the two cannot drift apart. A row's evidence columns are rendered by
//! [`SuppressionRow`] from where the decision came from: the input row itself, a DNS answer or the
//! bounce history.

use rayon::prelude::*;

use super::parquet::{Cell, Kind, RowTable};
use crate::files::{self, AtomicCsv, OutputError, Synced};
use crate::policy::{Evidence, HistoryVerdict};
use crate::record::Reason;

/// The suppression file's columns and their Parquet types, in order.
pub const COLUMNS: [(&str, Kind); 8] = [
    ("email", Kind::Text),
    ("reason", Kind::Text),
    ("detail", Kind::Text),
    ("source", Kind::Text),
    ("first_seen", Kind::Time),
    ("last_seen", Kind::Time),
    ("status", Kind::Text),
    ("count", Kind::Int),
];

/// The header of `suppression.csv`.
pub const SUPPRESSION_COLUMNS: [&str; 8] = {
    let mut names = [""; 8];
    let mut i = 0;
    while i < COLUMNS.len() {
        names[i] = COLUMNS[i].0;
        i += 1;
    }
    names
};

/// The evidence columns of one suppression row. Its texts are buffers kept from row to row: a
/// run writes a row per suppressed address, a million for a big history, and building each
/// row's texts afresh was the largest cost of writing them.
#[derive(Default)]
pub struct SuppressionRow {
    source: String,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    status: String,
    count: Option<i64>,
    /// `first_seen`, `last_seen` and `count` as CSV text.
    texts: [String; 3],
}

impl SuppressionRow {
    /// The evidence of a decision about row `line` of input `name`.
    pub fn evidence(&mut self, evidence: &Evidence, name: &str, line: u64) -> &Self {
        match evidence {
            Evidence::Row => self.row(name, line),
            Evidence::Dns {
                resolved_at,
                from_cache,
            } => self.dns(if *from_cache { "dns-cache" } else { "dns" }, *resolved_at),
            Evidence::History(v) => self.history(v),
        }
    }

    /// Evidence found in the input row itself (`file:line`).
    fn row(&mut self, name: &str, line: u64) -> &Self {
        self.source.clear();
        self.source.push_str(name);
        self.source.push(':');
        self.source.push_str(itoa::Buffer::new().format(line));
        self.status.clear();
        self.times(None, None, None)
    }

    /// Evidence from a DNS answer obtained at `when`.
    fn dns(&mut self, source: &str, when: i64) -> &Self {
        self.source.clear();
        self.source.push_str(source);
        self.status.clear();
        self.times(Some(when), Some(when), None)
    }

    /// Evidence from the bounce history: its deciding event.
    pub fn history(&mut self, v: &HistoryVerdict) -> &Self {
        let e = v.deciding;
        self.source.clear();
        e.source.push_to(&mut self.source);
        self.status.clear();
        if let Some(code) = e.smtp_code {
            self.status.push_str(itoa::Buffer::new().format(code));
        }
        if let Some(status) = &e.status {
            if !self.status.is_empty() {
                self.status.push(' ');
            }
            self.status.push_str(status);
        }
        self.times(v.first_seen, v.last_seen, Some(i64::from(v.count)))
    }

    fn times(&mut self, first: Option<i64>, last: Option<i64>, count: Option<i64>) -> &Self {
        (self.first_seen, self.last_seen, self.count) = (first, last, count);
        let [first_text, last_text, count_text] = &mut self.texts;
        for (text, time) in [(first_text, first), (last_text, last)] {
            text.clear();
            if let Some(t) = time {
                files::push_rfc3339(text, t);
            }
        }
        count_text.clear();
        if let Some(c) = count {
            count_text.push_str(itoa::Buffer::new().format(c));
        }
        self
    }

    /// The CSV columns for this row.
    fn record<'s>(&'s self, email: &'s str, reason: Reason, detail: &'s str) -> [&'s str; 8] {
        let [first, last, count] = &self.texts;
        [
            email,
            reason.as_str(),
            detail,
            &self.source,
            first,
            last,
            &self.status,
            count,
        ]
    }

    /// The Parquet cells for this row.
    fn cells<'s>(&'s self, email: &'s str, reason: Reason, detail: &'s str) -> [Cell<'s>; 8] {
        let time = |t: Option<i64>| t.map(Cell::Time).unwrap_or(Cell::Null);
        let status = if self.status.is_empty() {
            Cell::Null
        } else {
            Cell::Text(&self.status)
        };
        [
            Cell::Text(email),
            Cell::Text(reason.as_str()),
            Cell::Text(detail),
            Cell::Text(&self.source),
            time(self.first_seen),
            time(self.last_seen),
            status,
            self.count.map(Cell::Int).unwrap_or(Cell::Null),
        ]
    }
}

/// The suppression file(s) of a run.
pub struct SuppressionFile {
    csv: AtomicCsv,
    parquet: Option<RowTable>,
    row: SuppressionRow,
    carried: u64,
}

impl SuppressionFile {
    /// Starts `suppression.csv` (and `suppression.parquet` when `parquet`) in `dir`.
    pub fn create(dir: &std::path::Path, parquet: bool) -> Result<Self, OutputError> {
        let mut csv = AtomicCsv::create(dir, "suppression.csv", b',')?;
        csv.header(SUPPRESSION_COLUMNS)?;
        let parquet = if parquet {
            Some(RowTable::create(dir, "suppression.parquet", &COLUMNS)?)
        } else {
            None
        };
        Ok(SuppressionFile {
            csv,
            parquet,
            row: SuppressionRow::default(),
            carried: 0,
        })
    }

    /// Writes one suppressed address with the evidence of its decision.
    pub fn write(
        &mut self,
        email: &str,
        reason: Reason,
        detail: &str,
        evidence: &Evidence,
        name: &str,
        line: u64,
    ) -> Result<(), OutputError> {
        let row = self.row.evidence(evidence, name, line);
        self.csv.row(row.record(email, reason, detail))?;
        if let Some(pq) = &mut self.parquet {
            pq.push(&row.cells(email, reason, detail))?;
        }
        Ok(())
    }

    /// Writes the history's verdicts for addresses no input row carried, sorted by address, so
    /// that the file fed back tomorrow still holds them.
    pub fn carry_forward(&mut self, verdicts: Vec<&HistoryVerdict>) -> Result<u64, OutputError> {
        // Each row carries the first 16 bytes of its address as a number, so that most
        // comparisons do not follow the pointer to the text; ties fall back to the whole text.
        let prefix = |s: &str| {
            let mut head = [0u8; 16];
            let n = s.len().min(16);
            head[..n].copy_from_slice(&s.as_bytes()[..n]);
            u128::from_be_bytes(head)
        };
        let mut rows: Vec<(u128, &HistoryVerdict)> = verdicts
            .into_par_iter()
            .map(|v| (prefix(&v.deciding.recipient), v))
            .collect();
        rows.par_sort_unstable_by(|(pa, a), (pb, b)| {
            pa.cmp(pb)
                .then_with(|| a.deciding.recipient.cmp(&b.deciding.recipient))
                .then_with(|| a.deciding.diagnostic.cmp(&b.deciding.diagnostic))
        });
        let count = rows.len() as u64;
        self.carried += count;
        if let Some(pq) = &mut self.parquet {
            for (_, v) in &rows {
                let row = self.row.history(v);
                let (email, detail) = (&v.deciding.recipient, &v.deciding.diagnostic);
                self.csv.row(row.record(email, v.reason, detail))?;
                pq.push(&row.cells(email, v.reason, detail))?;
            }
            return Ok(count);
        }
        // CSV only: the rows are rendered in parallel and written in order (in address order the
        // events are read at random, and each row's texts are built per row).
        for block in rows.chunks(1 << 16) {
            let parts: Vec<csv::Result<(Vec<u8>, u64)>> =
                block.par_chunks(1 << 11).map(|part| render(part)).collect();
            for part in parts {
                let (bytes, n) = part.map_err(|e| OutputError::other(self.csv.path(), e))?;
                self.csv.rendered(&bytes, n)?;
            }
        }
        Ok(count)
    }

    /// Rows of input rows the file holds (carried-forward rows not counted).
    pub fn written(&self) -> u64 {
        self.csv.rows() - self.carried
    }

    /// Flushes and syncs the files under their temporary names.
    pub fn sync(self) -> Result<(Synced, Option<RowTable>), OutputError> {
        Ok((self.csv.sync()?, self.parquet))
    }
}

/// Renders carried-forward rows as CSV text.
fn render(part: &[(u128, &HistoryVerdict)]) -> csv::Result<(Vec<u8>, u64)> {
    use crate::dedupe::ahead::{CARRY_EVENT, CARRY_TEXTS, CARRY_VERDICT};
    use crate::dedupe::prefetch;
    let mut out = files::csv_builder(b',').from_writer(Vec::with_capacity(part.len() * 96));
    let mut row = SuppressionRow::default();
    for (i, (_, v)) in part.iter().enumerate() {
        // A row reads a verdict, its event, and the event's texts, each at random: they are
        // asked for in stages a few rows ahead.
        if let Some((_, ahead)) = part.get(i + CARRY_VERDICT) {
            prefetch(*ahead);
        }
        if let Some((_, ahead)) = part.get(i + CARRY_EVENT) {
            prefetch(ahead.deciding);
        }
        if let Some((_, ahead)) = part.get(i + CARRY_TEXTS) {
            let e = ahead.deciding;
            for text in [e.recipient.as_bytes(), e.diagnostic.as_bytes()] {
                if let Some(first) = text.first() {
                    prefetch(first);
                }
            }
        }
        out.write_record(row.history(v).record(
            &v.deciding.recipient,
            v.reason,
            &v.deciding.diagnostic,
        ))?;
    }
    let bytes = out.into_inner().map_err(|e| e.into_error())?;
    Ok((bytes, part.len() as u64))
}
