//! One row's verdict, in input order: dedupe, history, mail route, [`policy::decide`], tally;
//! the verdict is pushed to the [`Outputs`]. This decides; the outputs write.

use std::collections::HashMap;
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

use rayon::prelude::*;

use super::row::{AddressRow, CheckedBatch, Row};
use crate::address::Checked;
use crate::dedupe::{ahead, prefetch, KeyFilter, Partition, Seen};
use crate::dns::{DomainBook, DomainStatus};
use crate::files::OutputError;
use crate::input::RowBatch;
use crate::output::{KeptRow, Outputs};
use crate::policy::{self, Decision, Evidence, Histories, HistoryVerdict};
use crate::record::{Reason, Verdict};
use crate::report::dns::DomainRows;
use crate::report::Tally;

/// The single owner of the dedupe set, the counters and the outputs during the rows phase.
pub struct Decider<'a> {
    /// The inputs' names.
    pub names: &'a [String],
    pub outputs: &'a mut Outputs,
    pub tally: &'a mut Tally,
    pub seen: Seen,
    /// The DNS answers, when DNS is on.
    pub book: Option<Arc<DomainBook>>,
    /// Per domain decided on in this run: its answer and the rows it decided.
    pub domains: HashMap<String, DomainRows>,
    /// Bounce histories by dedupe key, behind their filter, when `--bounces` was given.
    pub histories: Option<(&'a KeyFilter, &'a Histories<'a>)>,
    /// Where spent batches go back to the reader.
    pub spare: SyncSender<RowBatch>,
    /// When the run's DNS verdicts are not trusted: the `unknown` answer that stands in for
    /// every dead route.
    pub distrust: Option<Arc<DomainStatus>>,
    /// `--ascii-only`.
    pub ascii_only: bool,
    /// `--partition K/N`: rows of other parts are only counted.
    pub partition: Option<Partition>,
}

impl Decider<'_> {
    /// Decides every row of a batch.
    pub fn batch(&mut self, batch: CheckedBatch) -> Result<(), OutputError> {
        let CheckedBatch {
            input,
            text,
            rows,
            arrow,
        } = batch;
        // The dedupe set's buckets, the history filter's words and the rows' texts are asked for
        // a block of rows ahead of their use: without it the decider waits on cache misses.
        let warm = |decider: &Self, rows: &[Row], from: usize| {
            let keys = rows.iter().skip(from).take(ahead::ROWS).map(|r| match r {
                Row::Address(a) => a.key,
                Row::Reject { .. } => 0,
            });
            decider.seen.warm(keys.clone());
            if let Some((filter, _)) = decider.histories {
                filter.warm(keys);
            }
            for (i, row) in rows.iter().enumerate().skip(from).take(ahead::ROWS) {
                if let Row::Address(AddressRow { checked, .. }) = row {
                    let first = [checked.address.as_bytes().first(), text.first_byte(i)];
                    for byte in first.into_iter().flatten() {
                        prefetch(byte);
                    }
                }
            }
        };
        warm(self, &rows, 0);
        for index in 0..rows.len() {
            if index % ahead::ROWS == 0 {
                warm(self, &rows, index + ahead::ROWS);
            }
            // A history lookup reads a directory slot and then an entry, each a miss: for the
            // rows the filter lets through, they are asked for in two steps a few rows ahead.
            if let Some((filter, histories)) = self.histories {
                let key_at = |i: usize| match rows.get(i) {
                    Some(Row::Address(a)) if filter.may_contain(a.key) => Some(a.key),
                    _ => None,
                };
                if let Some(key) = key_at(index + ahead::HISTORY_SLOT) {
                    histories.warm_slot(key);
                }
                if let Some(key) = key_at(index + ahead::HISTORY_ENTRY) {
                    histories.warm_entry(key);
                }
            }
            if fault::drop_this_row() {
                continue;
            }
            let verdict = self.row(input, index, &rows[index], &text)?;
            self.tally.inputs[input].add(verdict);
        }
        self.outputs.end_batch(input, arrow.as_deref())?;
        // The rows' strings were allocated on the pool's threads: they are freed there, where
        // a free is a local one, and not one by one on this thread, which is the serial part.
        rayon::spawn(move || drop(rows));
        // The reader may be done, or have enough spares: then the batch is just dropped.
        let _ = self.spare.try_send(text);
        Ok(())
    }

    /// Gives one row (row `index` of `text`) its verdict and pushes it to the outputs.
    fn row(
        &mut self,
        input: usize,
        index: usize,
        row: &Row,
        text: &RowBatch,
    ) -> Result<Verdict, OutputError> {
        let name = self.names[input].as_str();
        if !row.in_part(self.partition) {
            self.outputs.other_partition();
            return Ok(Verdict::OtherPartition);
        }
        let row = match row {
            Row::Reject { line, error, raw } => {
                self.outputs.reject(name, *line, error, raw)?;
                return Ok(Verdict::Reject);
            }
            Row::Address(a) => a,
        };
        let &AddressRow { line, key, .. } = row;
        let checked = &row.checked;
        if !self.seen.insert(key) {
            self.outputs.duplicate(name, line, &checked.address)?;
            return Ok(Verdict::Duplicate);
        }
        self.tally.repairs(checked.repairs);
        // Consent comes before any other evidence: whatever else is known, the person asked
        // not to be mailed (a syntax error is still reported as one).
        if let (Some((reason, why)), true) = (&row.consent, checked.is_valid()) {
            *self.tally.reasons.entry(*reason).or_insert(0) += 1;
            self.outputs
                .suppress(&checked.address, *reason, why, &Evidence::Row, name, line)?;
            return Ok(Verdict::Suppress);
        }
        if self.ascii_only && checked.is_valid() && !checked.ascii_address().is_ascii() {
            let reason = Reason::NonAscii;
            *self.tally.reasons.entry(reason).or_insert(0) += 1;
            let why = "the local part is not ASCII (--ascii-only)";
            self.outputs
                .suppress(&checked.address, reason, why, &Evidence::Row, name, line)?;
            return Ok(Verdict::Suppress);
        }
        let history = self
            .histories
            .filter(|(filter, _)| filter.may_contain(key))
            .and_then(|(_, h)| h.get(key));
        let route = if history.is_some_and(|h| h.verdict.is_some()) {
            None
        } else {
            self.route(checked)
        };
        match policy::decide(checked, history, route.as_deref()) {
            Decision::Suppress {
                reason,
                detail,
                evidence,
            } => {
                *self.tally.reasons.entry(reason).or_insert(0) += 1;
                self.outputs
                    .suppress(&checked.address, reason, &detail, &evidence, name, line)?;
                Ok(Verdict::Suppress)
            }
            Decision::Keep { flags } => {
                self.tally.flags(flags);
                let kept = KeptRow {
                    email: if row.ascii_form {
                        checked.ascii_address()
                    } else {
                        &checked.address
                    },
                    index,
                    fields: text.fields(index),
                    as_read: row.as_is.then(|| text.text_as_read(index)).flatten(),
                    checked,
                    flags,
                };
                self.outputs.keep(input, kept)?;
                Ok(Verdict::Keep)
            }
        }
    }

    /// The mail route of a valid address's domain, waiting for DNS if it is still in flight;
    /// `unknown` for a dead route when the run's DNS verdicts are not trusted.
    fn route(&mut self, checked: &Checked) -> Option<Arc<DomainStatus>> {
        let status = self.answer(checked)?;
        match &self.distrust {
            Some(unknown) if status.class.is_dead() => Some(unknown.clone()),
            _ => Some(status),
        }
    }

    /// The DNS answer for a valid address's domain, counting its rows.
    fn answer(&mut self, checked: &Checked) -> Option<Arc<DomainStatus>> {
        let book = self.book.as_ref()?;
        let domain = checked.ascii_domain();
        if !checked.is_valid() || domain.starts_with('[') {
            return None;
        }
        if let Some(seen) = self.domains.get_mut(domain) {
            seen.rows += 1;
            return Some(seen.status.clone());
        }
        let status = book.wait(domain);
        self.domains.insert(
            domain.to_owned(),
            DomainRows {
                status: status.clone(),
                rows: 1,
            },
        );
        Some(status)
    }

    /// The history's suppressed addresses that no input row carried (in this run's part, with
    /// `--partition`), pushed to the suppression file so that the next run still has them.
    /// Returns how many.
    pub fn carry_forward(&mut self, histories: &Histories) -> Result<u64, OutputError> {
        let seen = &self.seen;
        let partition = self.partition;
        let verdicts: Vec<&HistoryVerdict> = histories
            .par_iter()
            .filter_map(|(key, h)| h.verdict.as_ref().map(|v| (key, v)))
            .filter(|(key, _)| !seen.holds(*key))
            .map(|(_, v)| v)
            .filter(|v| partition.is_none_or(|p| p.holds_address(&v.deciding.recipient)))
            .collect();
        self.outputs.carry_forward(verdicts)
    }
}

/// Fault injection for the accounting test: in debug builds, `MAILSCRUB_FAULT_DROP_ROW=n`
/// makes the decider lose the n-th row (counted from 1) as a bug would. Release builds ignore it.
mod fault {
    #[cfg(debug_assertions)]
    pub fn drop_this_row() -> bool {
        use std::sync::atomic::{AtomicU64, Ordering};
        use std::sync::OnceLock;
        static AT: OnceLock<Option<u64>> = OnceLock::new();
        static N: AtomicU64 = AtomicU64::new(0);
        let at = *AT.get_or_init(|| {
            std::env::var("MAILSCRUB_FAULT_DROP_ROW")
                .ok()
                .and_then(|v| v.parse().ok())
        });
        at.is_some_and(|at| N.fetch_add(1, Ordering::Relaxed) + 1 == at)
    }

    #[cfg(not(debug_assertions))]
    #[inline(always)]
    pub fn drop_this_row() -> bool {
        false
    }
}
