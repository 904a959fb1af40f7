//! The thread topology of the rows phase, in one place.
//!
//! ```text
//! reader ──RawBatch──▶ validator (rayon) ──CheckedBatch──▶ decider (this thread) ──▶ Outputs
//!    ▲                                                          │
//!    └──────────────────── spent RowBatch (spare) ◀─────────────┘
//! ```
//! 1. the reader reads the inputs one after the other, in batches of rows;
//! 2. the validator checks each batch's addresses in parallel on rayon's pool (the costly part),
//!    keeps the batch in input order, and hands each new domain to the resolver;
//! 3. the calling thread decides each row in input order (so "the first occurrence wins" means
//!    what it says) and pushes it to the outputs; spent batches go back to the reader, which
//!    reads the next rows into them.
//!
//! The channels are bounded, so memory stays flat whatever the file size.

use crate::dedupe::Partition;
use std::collections::HashSet;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use rayon::prelude::*;

use super::row::{CheckedBatch, Checking, Row};
use crate::dns::BulkResolver;
use crate::error::Error;
use crate::input::parquet::{ParquetRows, SharedBatch};
use crate::input::{self, CsvRows, InputError, RowBatch, RowSource};

/// A batch of rows from one input, as read.
struct RawBatch {
    input: usize,
    rows: RowBatch,
    /// The typed batch the rows were rendered from (Parquet inputs).
    arrow: Option<SharedBatch>,
}

/// Runs the rows phase: `inputs` read, checked and handed to `decide` batch by batch, in input
/// order; `decide` gets the spare channel to hand spent batches back to the reader. Returns
/// the rows read per input, counted by the reader (apart from any verdict).
pub fn rows_phase(
    inputs: Vec<(String, RowSource)>,
    checking: Checking,
    resolver: Option<&BulkResolver>,
    decide: impl FnOnce(
        Receiver<Result<CheckedBatch, InputError>>,
        SyncSender<RowBatch>,
    ) -> Result<(), Error>,
) -> Result<Vec<u64>, Error> {
    std::thread::scope(|scope| {
        let (raw_tx, raw_rx) = sync_channel(4);
        let (checked_tx, checked_rx) = sync_channel(4);
        let (spare_tx, spare_rx) = sync_channel(4);
        let reader = scope.spawn(move || read_all(inputs, raw_tx, spare_rx));
        scope.spawn(move || validate_all(raw_rx, checked_tx, checking, resolver));
        decide(checked_rx, spare_tx)?;
        Ok(reader
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p)))
    })
}

/// The reader thread: every input in order, in batches; the rows read per input.
fn read_all(
    inputs: Vec<(String, RowSource)>,
    tx: SyncSender<Result<RawBatch, InputError>>,
    spare: Receiver<RowBatch>,
) -> Vec<u64> {
    let mut read = vec![0; inputs.len()];
    for (input, (name, source)) in inputs.into_iter().enumerate() {
        let ok = match source {
            RowSource::Csv(reader) => read_csv(input, &name, *reader, &tx, &spare, &mut read),
            RowSource::Parquet(rows) => read_parquet(input, &name, rows, &tx, &spare, &mut read),
        };
        if !ok {
            break;
        }
    }
    read
}

/// Sends the CSV input's rows; false when the run must stop.
fn read_csv(
    input: usize,
    name: &str,
    mut reader: CsvRows,
    tx: &SyncSender<Result<RawBatch, InputError>>,
    spare: &Receiver<RowBatch>,
    read: &mut [u64],
) -> bool {
    loop {
        let mut rows = spare.try_recv().unwrap_or_else(|_| reader.batch());
        match reader.read(&mut rows) {
            Ok(true) => {
                read[input] += rows.len() as u64;
                let batch = RawBatch {
                    input,
                    rows,
                    arrow: None,
                };
                if tx.send(Ok(batch)).is_err() {
                    return false;
                }
            }
            Ok(false) => return true,
            Err(e) => {
                let _ = tx.send(Err(input::read_error(name, reader.line(), &e)));
                return false;
            }
        }
    }
}

/// Sends the Parquet input's rows, batch by batch, each with its typed batch. Rows are numbered
/// from 1 in file order (the `line` of a Parquet row).
fn read_parquet(
    input: usize,
    name: &str,
    rows: ParquetRows,
    tx: &SyncSender<Result<RawBatch, InputError>>,
    spare: &Receiver<RowBatch>,
    read: &mut [u64],
) -> bool {
    let mut next_row = 1u64;
    let mut reader = rows.reader;
    loop {
        let fail = |reason: String| InputError::Read {
            file: name.to_owned(),
            line: next_row,
            reason,
        };
        // The decoders can panic on a damaged page: contained, it is a damaged file.
        let batch = match crate::guard::caught(|| reader.next()) {
            Ok(None) => break,
            Ok(Some(Ok(b))) => b,
            Ok(Some(Err(e))) => {
                let _ = tx.send(Err(fail(e.to_string())));
                return false;
            }
            Err(why) => {
                let _ = tx.send(Err(fail(format!("damaged Parquet file: {why}"))));
                return false;
            }
        };
        // A spent batch keeps its memory: the rows are rendered into it without growing it.
        let mut text = spare.try_recv().unwrap_or_else(|_| RowBatch::new(b','));
        text.reset(b',');
        let rendered = crate::guard::caught(|| {
            crate::input::parquet::rows_as_text(&batch, next_row, &mut text)
        });
        if let Err(e) = rendered
            .map_err(|why| format!("damaged Parquet file: {why}"))
            .and_then(|r| r)
        {
            let _ = tx.send(Err(fail(e)));
            return false;
        }
        next_row += text.len() as u64;
        read[input] += text.len() as u64;
        let sent = tx.send(Ok(RawBatch {
            input,
            rows: text,
            arrow: Some(std::sync::Arc::new(batch)),
        }));
        if sent.is_err() {
            return false;
        }
    }
    true
}

/// The validator thread: each batch's addresses checked in parallel, order kept.
fn validate_all(
    rx: Receiver<Result<RawBatch, InputError>>,
    tx: SyncSender<Result<CheckedBatch, InputError>>,
    checking: Checking,
    resolver: Option<&BulkResolver>,
) {
    let mut submitted: HashSet<String> = HashSet::new();
    for raw in rx {
        let out = raw.map(|raw| {
            let layout = &checking.layouts[raw.input];
            let text = raw.rows;
            let rows = (0..text.len())
                .into_par_iter()
                .map(|i| Row::check(&text, i, layout, checking))
                .collect();
            let batch = CheckedBatch {
                input: raw.input,
                text,
                rows,
                arrow: raw.arrow,
            };
            if let Some(resolver) = resolver {
                submit_domains(&batch, resolver, checking.partition, &mut submitted);
            }
            batch
        });
        if tx.send(out).is_err() {
            return;
        }
    }
}

/// Hands the batch's new domains to the resolver before the batch moves on, so that answers are
/// on their way while earlier batches are decided.
fn submit_domains(
    batch: &CheckedBatch,
    resolver: &BulkResolver,
    partition: Option<Partition>,
    submitted: &mut HashSet<String>,
) {
    for row in &batch.rows {
        if let Row::Address(a) = row {
            let checked = &a.checked;
            let domain = checked.ascii_domain();
            if checked.is_valid()
                && !domain.starts_with('[')
                && !submitted.contains(domain)
                && partition.is_none_or(|p| p.holds_domain(domain))
            {
                submitted.insert(domain.to_owned());
                resolver.submit(domain.to_owned());
            }
        }
    }
}
