//! The `clean` run: its phases in order, wired together. Each phase's work is done by its stage.
//!
//! open inputs → bounce history ([`evidence`]) → start DNS → rows ([`rows`]: read ∥ check ∥
//! decide into the outputs, see [`threads`] for the topology, [`row`] for what passes between
//! the threads, [`decide`] for one row's verdict) → carry forward → DNS guard (a second rows pass
//! without DNS verdicts when the resolver looks like it lied) → drop guard → finish DNS → commit
//! outputs and write the report ([`finish`]).

mod decide;
mod evidence;
mod finish;
mod row;
mod rows;
mod spill;
mod threads;

use std::path::Path;
use std::time::Instant;

use crate::config::Config;
use crate::dns;
use crate::error::Error;
use crate::files::generation::Generation;
use crate::policy::drop_guard;
use crate::report::assemble::{self, Finished};
use crate::report::{dns as dns_report, history, Progress, Report, Timings};

/// Runs `clean` as configured and returns its report (also written to `report.json`). The
/// outputs of the run replace the previous run's in `--out` all at once, or not at all (see
/// [`Generation`]).
pub fn run(config: &Config) -> Result<Report, Error> {
    if config.inputs.iter().filter(|p| *p == "-").count() > 1 {
        return Err(Error::Usage("stdin (-) can be read only once".to_owned()));
    }
    let generation = Generation::begin(&config.out_dir)?;
    match run_into(config, generation.dir()) {
        Ok((report, names)) => {
            generation.publish(&names)?;
            if let Some(path) = &config.history {
                history::append(path, &history::Summary::of(&report))?;
            }
            Ok(report)
        }
        Err(e) => {
            generation.abandon();
            Err(e)
        }
    }
}

/// The run, its files written into `dir`; the report and the names of the files to publish.
fn run_into(config: &Config, dir: &Path) -> Result<(Report, Vec<String>), Error> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    let progress = Progress::new(config.progress);
    let inputs = rows::open(config, &progress)?;
    let mut timings = Timings {
        open_seconds: t0.elapsed().as_secs_f64(),
        ..Timings::default()
    };

    let t = Instant::now();
    let ingested = evidence::read(config.bounces.as_ref(), &config.out_dir, &progress)?;
    let history = ingested.as_ref().map(|(b, i)| evidence::fold(i, b));
    timings.history_seconds = t.elapsed().as_secs_f64();

    let dns = config.dns.as_ref().map(dns::start).transpose()?;
    let t = Instant::now();
    let resolver = dns.as_ref().map(|(r, _)| r);
    let (done, distrusted) =
        rows::judged(config, dir, inputs, history.as_ref(), resolver, &progress)?;
    timings.rows_seconds = t.elapsed().as_secs_f64();
    timings.carry_forward_seconds = done.carry_forward_seconds;

    if let Some(why) = drop_guard::too_many_dropped(&done.tally.total(), config.max_drop_share) {
        return Err(Error::Guard(assemble::stopped(
            &why,
            &done.shapes,
            &done.tally,
        )));
    }
    let dns_section = match (config.dns.as_ref(), dns) {
        (Some(c), Some((resolver, loaded))) => {
            let stats = dns::finish(c, resolver)?;
            let names = dns::server_names(c);
            Some(dns_report::build(
                names,
                &done.domains,
                stats,
                &loaded,
                distrusted,
            ))
        }
        _ => None,
    };

    let t = Instant::now();
    drop(history);
    evidence::save_state(ingested.as_ref(), &config.out_dir)?;
    let neutralised = done.outputs.neutralised();
    let (committed, bounces) =
        finish::commit(done.outputs, &done.names, ingested, done.carried, &progress)?;
    let published = committed.files.clone();
    timings.total_seconds = t0.elapsed().as_secs_f64();
    timings.commit_seconds = t.elapsed().as_secs_f64();
    let report = assemble::report(Finished {
        started_at,
        inputs: &done.shapes,
        tally: &done.tally,
        clean: committed.clean,
        list_of: &committed.list_of,
        files: finish::files_named(committed.files, config),
        neutralised,
        dns: dns_section,
        bounces,
        dedupe_spill: done.dedupe_spill,
        timings,
    });
    let report = finish::write_report(config, dir, report)?;
    progress.finish();
    Ok((report, published))
}
