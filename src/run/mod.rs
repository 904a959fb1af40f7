//! The `clean` run: its phases in order, wired together. Each phase's work is done by its stage.
//!
//! open inputs → bounce history → start DNS → rows (read ∥ check ∥ decide into the outputs, see
//! [`threads`]) → carry forward → DNS guard (a second rows pass without DNS verdicts when the
//! resolver looks like it lied) → finish DNS → commit outputs → report.

mod decide;
mod evidence;
mod rows;
mod threads;

use std::path::Path;
use std::time::Instant;

use crate::dns::{self, DomainStatus};
use crate::files::generation::Generation;
use crate::policy::{dns_guard, drop_guard};
use crate::report::assemble::{self, Finished};
use crate::report::{dns as dns_report, history, Progress, Report, Timings};
use crate::{Config, Error};

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
    let evidence_line = config.bounces.as_ref().map(|b| {
        let line = progress.phase("bounces");
        line.say(format!("reading {} path(s)", b.paths.len()));
        line
    });
    let ingested = evidence::read(config.bounces.as_ref(), &config.out_dir)?;
    if let (Some(line), Some((_, i))) = (&evidence_line, &ingested) {
        line.done(format!(
            "{} file(s), {} events",
            i.sources.len(),
            i.events.len()
        ));
    }
    let history = ingested.as_ref().map(|(b, i)| evidence::fold(i, b));
    timings.history_seconds = t.elapsed().as_secs_f64();
    let dns = config.dns.as_ref().map(dns::start).transpose()?;
    let resolver = dns.as_ref().map(|(r, _)| r);

    let t = Instant::now();
    let first = rows::pass(
        config,
        dir,
        inputs,
        history.as_ref(),
        resolver,
        None,
        &progress,
    )?;
    let distrusted = config.dns.as_ref().and_then(|c| {
        let domains = first
            .domains
            .iter()
            .map(|(d, r)| (d.as_str(), r.status.class, r.rows));
        dns_guard::distrust(domains, c.max_dead_share)
    });
    let done = match &distrusted {
        None => first,
        Some(why) => {
            // The first pass's outputs were never made visible; the rows are read again with
            // every dead route taken as `unknown`.
            if config.inputs.iter().any(|p| p == "-") {
                return Err(Error::Usage(format!(
                    "the DNS answers look wrong ({why}) and stdin cannot be read a second time without them: run again with --no-dns, or fix the resolver"
                )));
            }
            drop(first);
            let unknown = DomainStatus::unknown("", format!("DNS not trusted in this run: {why}"));
            let inputs = rows::open(config, &progress)?;
            let history = history.as_ref();
            rows::pass(
                config,
                dir,
                inputs,
                history,
                resolver,
                Some(unknown),
                &progress,
            )?
        }
    };
    let rows::Done {
        shapes,
        names,
        outputs,
        tally,
        domains,
        carried,
        carry_forward_seconds,
    } = done;
    timings.rows_seconds = t.elapsed().as_secs_f64();
    timings.carry_forward_seconds = carry_forward_seconds;
    if let Some(why) = drop_guard::too_many_dropped(&tally.total(), config.max_drop_share) {
        return Err(Error::Guard(stopped_message(&why, &shapes, &tally)));
    }
    let dns_section = match (config.dns.as_ref(), dns) {
        (Some(c), Some((resolver, loaded))) => {
            let stats = dns::finish(c, resolver)?;
            let names = dns::server_names(c);
            Some(dns_report::build(
                names, &domains, stats, &loaded, distrusted,
            ))
        }
        _ => None,
    };

    let t = Instant::now();
    // The bounce section is summarised, and the events freed, on a helper thread while the
    // outputs are flushed to disk.
    drop(history);
    evidence::save_state(ingested.as_ref(), &config.out_dir)?;
    let neutralised = outputs.neutralised();
    let writing = progress.phase("writing");
    writing.say("flushing the outputs to disk");
    let (committed, bounces) = std::thread::scope(|scope| {
        let summary = ingested.map(|(b, i)| {
            scope.spawn(move || crate::report::bounces::build(&i, &b.options, b.soft, carried))
        });
        let committed = outputs.commit(&names);
        let summary = summary.map(|s| s.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (committed, summary)
    });
    let mut committed = committed?;
    writing.done(format!("{} file(s) written", committed.files.len()));
    committed.files.push("report.json".to_owned());
    committed.files.push("report.html".to_owned());
    let published = committed.files.clone();
    if let Some(path) = config.dns.as_ref().and_then(|d| d.cache_file.as_ref()) {
        committed.files.push(path.display().to_string());
    }
    timings.total_seconds = t0.elapsed().as_secs_f64();
    timings.commit_seconds = t.elapsed().as_secs_f64();
    let mut report = assemble::report(Finished {
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
    let mut recent = Vec::new();
    if let Some(path) = &config.history {
        let (runs, damaged) = history::recent(path);
        let tonight = history::Summary::of(&report);
        report.warnings.extend(history::warnings(&runs, &tonight));
        if damaged > 0 {
            report.warnings.push(format!(
                "history {}: {damaged} line(s) could not be read and were skipped",
                path.display()
            ));
        }
        recent = runs;
        recent.push(tonight);
    }
    crate::output::write_report_html(dir, &report, &recent)?;
    crate::output::write_report(dir, &report)?;
    progress.finish();
    Ok((report, published))
}

/// What a run stopped by the drop guard would have done, and why it stopped.
fn stopped_message(
    why: &str,
    shapes: &[crate::report::assemble::InputShape],
    tally: &crate::report::Tally,
) -> String {
    use std::fmt::Write as _;
    let mut s = format!("stopped, nothing written: {why}.");
    let (counts, reasons, _, _) = Report::counts_from(tally);
    let _ = write!(
        s,
        "\n  it would have kept {}, suppressed {}, counted {} duplicates and rejected {}",
        counts.kept, counts.suppressed, counts.duplicates, counts.rejected
    );
    let reasons: Vec<String> = reasons
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(r, n)| format!("{r} {n}"))
        .collect();
    if !reasons.is_empty() {
        let _ = write!(s, " (suppressed by reason: {})", reasons.join(", "));
    }
    for shape in shapes {
        let column = shape
            .layout
            .headers
            .as_ref()
            .and_then(|h| h.get(shape.layout.email_column))
            .map(|h| format!("{:?}", String::from_utf8_lossy(h)))
            .unwrap_or_else(|| "(no header)".to_owned());
        let _ = write!(
            s,
            "\n  {}: email column {} {column}",
            shape.name,
            shape.layout.email_column + 1
        );
        for note in &shape.layout.notes {
            let _ = write!(s, "\n    note: {note}");
        }
    }
    s.push_str("\n  check the email column (--email-column), the files given as --bounces, and the resolver; if the removals are right, run again with a higher --max-drop-share");
    s
}
