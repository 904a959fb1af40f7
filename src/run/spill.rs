//! The first pass of a run past `--memory-limit`: every row read and checked as the main pass
//! will, and the key of each row that reaches the dedupe step written to disk (see
//! [`crate::dedupe::spill`]). The main pass then reads the rows again and takes each row's
//! "first occurrence or duplicate" from the answer.

use std::path::Path;

use super::evidence::Folded;
use super::row::{Checking, Row};
use super::threads;
use crate::dedupe::{DedupeKey, Firsts, Spill};
use crate::error::Error;
use crate::files::OutputError;
use crate::input::RowSource;
use crate::report::{DedupeSpill, Progress};

/// Reads `sources`, spills the keys into a folder inside `dir`, and dedupes them within `budget`
/// bytes of key set at a time.
pub fn first_pass(
    sources: Vec<(String, RowSource)>,
    checking: Checking,
    dir: &Path,
    budget: u64,
    history: Option<&Folded>,
    progress: &Progress,
) -> Result<(Firsts, DedupeSpill), Error> {
    let t = std::time::Instant::now();
    let folder = dir.join(".dedupe-spill");
    let io = |e: std::io::Error| {
        Error::Output(OutputError {
            path: folder.clone(),
            source: e,
        })
    };
    let line = progress.phase("dedupe");
    line.say("writing the keys to disk (--memory-limit)");
    let mut spill = Spill::create(&folder).map_err(io)?;
    threads::rows_phase(sources, checking, None, |batches, spare| {
        for batch in batches {
            let batch = batch?;
            for row in &batch.rows {
                // Exactly the rows that reach the decider's dedupe step.
                if let (Row::Address(a), true) = (row, row.in_part(checking.partition)) {
                    spill.push(a.key).map_err(io)?;
                }
            }
            let _ = spare.try_send(batch.text);
        }
        Ok(())
    })?;
    let rows = spill.rows();
    let history: Vec<DedupeKey> = history
        .map(|h| {
            h.histories
                .iter()
                .filter(|(_, h)| h.verdict.is_some())
                .map(|(key, _)| key)
                .collect()
        })
        .unwrap_or_default();
    let firsts = spill.firsts(budget, &history).map_err(io)?;
    line.done(format!(
        "{rows} keys, deduped in {} group(s) within {} MB",
        firsts.groups(),
        budget / 1_000_000
    ));
    let spilled = DedupeSpill {
        keys: rows,
        groups: firsts.groups(),
        budget_bytes: budget,
        seconds: t.elapsed().as_secs_f64(),
    };
    Ok((firsts, spilled))
}
