//! The `clean` run: its phases in order, wired together. Each phase's work is done by its stage.
//!
//! open inputs → plan outputs → bounce history → start DNS → rows (read ∥ check ∥ decide, see
//! [`threads`]) → carry forward → finish DNS → commit outputs → report.

mod decide;
mod evidence;
mod threads;

use std::collections::HashMap;
use std::time::Instant;

use crate::dedupe::KeySet;
use crate::input::{self, OpenedInput};
use crate::output::Outputs;
use crate::report::assemble::{self, Finished, InputShape};
use crate::report::{dns as dns_report, Progress, Report, Tally, Timings};
use crate::{dns, files, Config, Error};

/// Runs `clean` as configured and returns its report (also written to `report.json`).
pub fn run(config: &Config) -> Result<Report, Error> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    if config.inputs.iter().filter(|p| *p == "-").count() > 1 {
        return Err(Error::Usage("stdin (-) can be read only once".to_owned()));
    }
    files::prepare_dir(&config.out_dir)?;
    let progress = Progress::new(config.progress);
    let opened = open_inputs(config, &progress)?;
    let mut timings = Timings {
        open_seconds: t0.elapsed().as_secs_f64(),
        ..Timings::default()
    };
    let mut outputs = Outputs::create(&config.out_dir, &opened, &config.profile)?;
    // The dedupe set is sized once for the rows expected (capped at 32M keys: beyond that it
    // grows), on a thread of its own while the bounce history loads.
    let expected: u64 = opened.iter().filter_map(OpenedInput::expected_rows).sum();
    let seen = std::thread::spawn(move || KeySet::with_capacity(expected.min(32_000_000) as usize));
    let t = Instant::now();
    let ingested = evidence::read(config.bounces.as_ref())?;
    let history = ingested.as_ref().map(|(b, i)| evidence::fold(i, b));
    timings.history_seconds = t.elapsed().as_secs_f64();
    let dns = config
        .dns
        .as_ref()
        .map(dns::start)
        .transpose()
        .map_err(Error::Dns)?;
    let t = Instant::now();
    let (shapes, sources) = split_inputs(opened);
    let names: Vec<String> = shapes.iter().map(|s| s.name.clone()).collect();
    let layouts: Vec<_> = shapes.iter().map(|s| s.layout.clone()).collect();
    let mut tally = Tally::new(names.len());
    let mut domains = HashMap::new();
    let mut carried = 0;
    let checking = threads::Checking {
        layouts: &layouts,
        rules: &config.rules,
        lists: &config.lists,
        provider_rules: config.provider_rules,
    };
    let resolver = dns.as_ref().map(|(r, _)| r);
    threads::rows_phase(sources, checking, resolver, |batches, spare| {
        let mut decider = decide::Decider {
            names: &names,
            outputs: &mut outputs,
            tally: &mut tally,
            seen: seen.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
            book: resolver.map(|r| r.book().clone()),
            domains: HashMap::new(),
            histories: history.as_ref().map(|h| (&h.filter, &h.histories)),
            spare,
        };
        for batch in batches {
            decider.batch(batch?)?;
        }
        let carry = config.bounces.as_ref().is_some_and(|b| b.carry_forward);
        if let (Some(h), true) = (&history, carry) {
            let t = Instant::now();
            carried = decider.carry_forward(&h.histories)?;
            timings.carry_forward_seconds = t.elapsed().as_secs_f64();
        }
        domains = decider.domains;
        Ok(())
    })?;
    timings.rows_seconds = t.elapsed().as_secs_f64();
    progress.finish();
    let dns_section = match (config.dns.as_ref(), dns) {
        (Some(c), Some((resolver, loaded))) => {
            let stats = dns::finish(c, resolver)?;
            Some(dns_report::build(
                dns::server_names(c),
                &domains,
                stats,
                &loaded,
            ))
        }
        _ => None,
    };

    let t = Instant::now();
    // The bounce section is summarised, and the events freed, on a helper thread while the
    // outputs are flushed to disk.
    drop(history);
    let neutralised = outputs.neutralised();
    let (committed, bounces) = std::thread::scope(|scope| {
        let summary = ingested.map(|(b, i)| {
            scope.spawn(move || crate::report::bounces::build(&i, &b.options, b.soft, carried))
        });
        let committed = outputs.commit(&names);
        let summary = summary.map(|s| s.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (committed, summary)
    });
    let mut committed = committed?;
    committed.files.push("report.json".to_owned());
    if let Some(path) = config.dns.as_ref().and_then(|d| d.cache_file.as_ref()) {
        committed.files.push(path.display().to_string());
    }
    timings.total_seconds = t0.elapsed().as_secs_f64();
    timings.commit_seconds = t.elapsed().as_secs_f64();
    let report = assemble::report(Finished {
        started_at,
        inputs: &shapes,
        tally: &tally,
        clean: committed.clean,
        list_of: &committed.list_of,
        files: committed.files,
        neutralised,
        dns: dns_section,
        bounces,
        timings,
    });
    crate::output::write_report(&config.out_dir, &report)?;
    Ok(report)
}

/// Opens every input, with a progress bar each.
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

/// The inputs' shapes (for the report) apart from their rows (for the reader).
fn split_inputs(opened: Vec<OpenedInput>) -> (Vec<InputShape>, Vec<(String, input::RowSource)>) {
    opened
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
        .unzip()
}
