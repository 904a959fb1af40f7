//! The end of a run: the outputs flushed and committed, the report written with tonight's place
//! among the recent runs.

use std::path::Path;

use crate::bounces::Ingested;
use crate::config::BounceConfig;
use crate::config::Config;
use crate::error::Error;
use crate::output::{Committed, Outputs};
use crate::report::bounces::BounceReport;
use crate::report::{history, Progress, Report};

/// Commits the outputs; the bounce section is summarised, and the events freed, on a helper
/// thread meanwhile. The files committed include the two report files written after.
pub fn commit(
    outputs: Outputs,
    names: &[String],
    ingested: Option<(&BounceConfig, Ingested)>,
    carried: u64,
    progress: &Progress,
) -> Result<(Committed, Option<BounceReport>), Error> {
    let writing = progress.phase("writing");
    writing.say("flushing the outputs to disk");
    let (committed, bounces) = std::thread::scope(|scope| {
        let summary = ingested.map(|(b, i)| {
            scope.spawn(move || crate::report::bounces::build(&i, &b.options, b.soft, carried))
        });
        let committed = outputs.commit(names);
        let summary = summary.map(|s| s.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (committed, summary)
    });
    let mut committed = committed?;
    writing.done(format!("{} file(s) written", committed.files.len()));
    committed.files.push("report.json".to_owned());
    committed.files.push("report.html".to_owned());
    Ok((committed, bounces))
}

/// The files the report lists: those published in `--out`, and the DNS cache file.
pub fn files_named(mut files: Vec<String>, config: &Config) -> Vec<String> {
    if let Some(path) = config.dns.as_ref().and_then(|d| d.cache_file.as_ref()) {
        files.push(path.display().to_string());
    }
    files
}

/// Writes `report.html` and `report.json` into `dir`; with `--history`, the report first gets
/// the warnings of tonight against the recent runs, which the HTML report also draws.
pub fn write_report(config: &Config, dir: &Path, mut report: Report) -> Result<Report, Error> {
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
    Ok(report)
}
