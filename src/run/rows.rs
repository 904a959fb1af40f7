//! One pass over the rows: inputs opened, outputs started under temporary names, every row read,
//! checked and decided, the history carried forward. Nothing becomes visible here: a pass that
//! is thrown away (see the DNS guard in `run`) leaves nothing behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use super::decide::Decider;
use super::evidence::Folded;
use super::row::Checking;
use super::spill;
use super::threads;
use crate::config::Config;
use crate::dedupe::spill::BYTES_PER_KEY;
use crate::dedupe::{KeySet, Seen};
use crate::dns::{BulkResolver, DomainStatus};
use crate::error::Error;
use crate::input::{self, OpenedInput};
use crate::output::Outputs;
use crate::policy::dns_guard;
use crate::report::assemble::InputShape;
use crate::report::dns::DomainRows;
use crate::report::{DedupeSpill, Progress, Tally};

/// What a pass leaves for the rest of the run.
pub struct Done {
    /// The inputs' shapes, for the report.
    pub shapes: Vec<InputShape>,
    /// The inputs' names.
    pub names: Vec<String>,
    /// The outputs, written but not committed.
    pub outputs: Outputs,
    /// The counts.
    pub tally: Tally,
    /// Per domain decided on: its answer and rows.
    pub domains: HashMap<String, DomainRows>,
    /// Suppressions carried forward from the history.
    pub carried: u64,
    /// Seconds spent carrying forward.
    pub carry_forward_seconds: f64,
    /// The dedupe keys' spill, past `--memory-limit`.
    pub dedupe_spill: Option<DedupeSpill>,
}

/// The inputs of one pass, opened, and how the pass will dedupe them.
pub struct Inputs {
    opened: Vec<OpenedInput>,
    dedupe: Dedupe,
}

/// How a pass dedupes.
enum Dedupe {
    /// With a set in memory, being built on its own thread.
    Memory(JoinHandle<KeySet>),
    /// Past `--memory-limit`: a first pass spills the keys to disk; the key set's budget.
    Spill(u64),
}

/// Opens every input (a progress bar each) and starts building the dedupe set for them; past
/// `--memory-limit` (or with a limit and a size that cannot be told in advance), plans a
/// spilled dedupe instead, within half the limit.
pub fn open(config: &Config, progress: &Progress) -> Result<Inputs, Error> {
    let opened = open_inputs(config, progress)?;
    let expected: Option<u64> = opened.iter().map(OpenedInput::expected_rows).sum();
    let dedupe = match config.memory_limit {
        Some(limit)
            if expected.is_none_or(|rows| rows.saturating_mul(BYTES_PER_KEY) > limit / 2) =>
        {
            if config.reads_stdin() {
                return Err(Error::Usage(
                    "--memory-limit reads the rows twice when the keys do not fit, and stdin can be read once: save the list to a file first".to_owned(),
                ));
            }
            Dedupe::Spill(limit / 2)
        }
        _ => Dedupe::Memory(presize_dedupe(&opened)),
    };
    Ok(Inputs { opened, dedupe })
}

fn open_inputs(config: &Config, progress: &Progress) -> Result<Vec<OpenedInput>, Error> {
    let mut opened = Vec::with_capacity(config.inputs.len());
    for path in &config.inputs {
        let size = std::fs::metadata(path).ok().map(|m| m.len());
        opened.push(input::open(path, &config.csv, config.batch_rows, |r| {
            progress.track(path, size, r)
        })?);
    }
    Ok(opened)
}

/// The dedupe set, sized once for the rows expected (capped at 32M keys: beyond that it grows)
/// on a thread of its own, so that it is built while the bounce history loads.
fn presize_dedupe(opened: &[OpenedInput]) -> JoinHandle<KeySet> {
    let expected: u64 = opened.iter().filter_map(OpenedInput::expected_rows).sum();
    std::thread::spawn(move || KeySet::with_capacity(expected.min(32_000_000) as usize))
}

/// The rows phase with its DNS guard: one pass; when the resolver's answers look wrong (see
/// [`dns_guard`]), the pass is thrown away and the rows are read again with every dead route taken
/// as `unknown`. Returns the pass kept and, when DNS was not trusted, why.
pub fn judged(
    config: &Config,
    dir: &std::path::Path,
    inputs: Inputs,
    history: Option<&Folded>,
    resolver: Option<&BulkResolver>,
    progress: &Progress,
) -> Result<(Done, Option<String>), Error> {
    let first = pass(config, dir, inputs, history, resolver, None, progress)?;
    let distrusted = config.dns.as_ref().and_then(|c| {
        let domains = first
            .domains
            .iter()
            .map(|(d, r)| (d.as_str(), r.status.class, r.rows));
        dns_guard::distrust(domains, c.max_dead_share)
    });
    let Some(why) = distrusted else {
        return Ok((first, None));
    };
    // The first pass's outputs were never made visible.
    if config.reads_stdin() {
        return Err(Error::Usage(format!(
            "the DNS answers look wrong ({why}) and stdin cannot be read a second time without them: run again with --no-dns, or fix the resolver"
        )));
    }
    drop(first);
    let unknown = DomainStatus::unknown("", format!("DNS not trusted in this run: {why}"));
    let inputs = open(config, progress)?;
    let done = pass(
        config,
        dir,
        inputs,
        history,
        resolver,
        Some(unknown),
        progress,
    )?;
    Ok((done, Some(why)))
}

/// Reads, checks and decides every row of `opened` into new outputs in `dir`. `distrust` stands in for
/// every dead route when the run's DNS verdicts are not trusted.
fn pass(
    config: &Config,
    dir: &std::path::Path,
    inputs: Inputs,
    history: Option<&Folded>,
    resolver: Option<&BulkResolver>,
    distrust: Option<DomainStatus>,
    progress: &Progress,
) -> Result<Done, Error> {
    let Inputs { opened, dedupe } = inputs;
    let rows_line = progress.rows();
    // Asking the resolver takes the answers' lock, which its thread needs: only when drawn.
    let dns_line = resolver
        .filter(|_| progress.shown())
        .map(|_| progress.phase("dns"));
    let tell_dns = || {
        if let (Some(line), Some(r)) = (&dns_line, resolver) {
            let (answered, asked, cached) = r.progress();
            line.dns(answered, asked, cached);
        }
    };
    let mut outputs = Outputs::create(dir, &opened, &config.profile)?;
    let (shapes, sources): (Vec<InputShape>, Vec<_>) = opened
        .into_iter()
        .map(|o| {
            let shape = InputShape {
                name: o.name.clone(),
                format: o.format,
                compression: o.compression.as_str(),
                layout: o.layout,
            };
            (shape, (o.name, o.rows))
        })
        .unzip();
    let names: Vec<String> = shapes.iter().map(|s| s.name.clone()).collect();
    let layouts: Vec<_> = shapes.iter().map(|s| s.layout.clone()).collect();
    let mut tally = Tally::new(names.len());
    let mut domains = HashMap::new();
    let (mut carried, mut carry_forward_seconds) = (0, 0.0);
    let checking = Checking {
        partition: config.partition,
        layouts: &layouts,
        rules: &config.rules,
        lists: &config.lists,
        provider_rules: config.provider_rules,
        idn_form: if config.profile.ascii_only {
            crate::output::shape::IdnForm::Ascii
        } else {
            config.profile.idn_form
        },
    };
    let (seen, sources, dedupe_spill) = match dedupe {
        Dedupe::Memory(set) => {
            let set = set.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            (Seen::Memory(set), sources, None)
        }
        Dedupe::Spill(budget) => {
            let (firsts, spilled) =
                spill::first_pass(sources, checking, dir, budget, history, progress)?;
            let again = open_inputs(config, progress)?;
            let sources = again.into_iter().map(|o| (o.name, o.rows)).collect();
            (Seen::Spilled(firsts), sources, Some(spilled))
        }
    };
    let read = threads::rows_phase(sources, checking, resolver, |batches, spare| {
        let mut decider = Decider {
            names: &names,
            outputs: &mut outputs,
            tally: &mut tally,
            seen,
            book: resolver.map(|r| r.book().clone()),
            domains: HashMap::new(),
            histories: history.map(|h| (&h.filter, &h.histories)),
            spare,
            distrust: distrust.map(Arc::new),
            ascii_only: config.profile.ascii_only,
            partition: config.partition,
        };
        for batch in batches {
            let batch = batch?;
            let n = batch.rows.len() as u64;
            decider.batch(batch)?;
            rows_line.add(n);
            tell_dns();
        }
        tell_dns();
        if let Seen::Spilled(firsts) = &decider.seen {
            let (asked, written) = firsts.asked_of_written();
            if asked != written {
                return Err(Error::Internal(format!(
                    "the first pass spilled {written} keys but the second asked about {asked}; nothing was written (this is a bug in mailscrub, please report it)"
                )));
            }
        }
        let carry = config.bounces.as_ref().is_some_and(|b| b.carry_forward);
        if let (Some(h), true) = (history, carry) {
            let t = Instant::now();
            carried = decider.carry_forward(&h.histories)?;
            carry_forward_seconds = t.elapsed().as_secs_f64();
        }
        domains = decider.domains;
        Ok(())
    })?;
    rows_line.done("");
    if let Some(line) = &dns_line {
        line.done(line.message());
    }
    for (counts, read) in tally.inputs.iter_mut().zip(read) {
        counts.rows_in = read;
    }
    check_accounting(&names, &tally, &outputs)?;
    Ok(Done {
        shapes,
        names,
        outputs,
        tally,
        domains,
        carried,
        carry_forward_seconds,
        dedupe_spill,
    })
}

/// The proof that nothing was lost: the rows each input's reader counted equal the verdicts
/// given to that input's rows, and the verdicts equal the rows the output files hold. A
/// mismatch is a bug, and the run stops before anything becomes visible.
fn check_accounting(names: &[String], tally: &Tally, outputs: &Outputs) -> Result<(), Error> {
    for (name, c) in names.iter().zip(&tally.inputs) {
        if !c.identity_holds() {
            return Err(Error::Internal(format!(
                "{name}: {} rows read but {} given a verdict; nothing was written (this is a bug in mailscrub, please report it)",
                c.rows_in,
                c.decided()
            )));
        }
    }
    let decided = tally.total();
    let written = outputs.written();
    let verdicts = |c: &crate::report::Counts| [c.kept, c.suppressed, c.duplicates, c.rejected];
    if verdicts(&decided) != verdicts(&written) {
        return Err(Error::Internal(format!(
            "the outputs hold kept {} / suppressed {} / duplicates {} / rejected {} rows, but the verdicts were {} / {} / {} / {}; nothing was written (this is a bug in mailscrub, please report it)",
            written.kept, written.suppressed, written.duplicates, written.rejected,
            decided.kept, decided.suppressed, decided.duplicates, decided.rejected
        )));
    }
    Ok(())
}
