//! `report.json` put together from what each phase of a run left: the tally, the committed
//! outputs, the inputs' shapes, the DNS and bounce sections and the clock.

use super::bounces::{self, BounceReport};
use super::{dns, CleanOutput, DedupeSpill, DnsReport, InputReport, Report, Tally, Timings};
use crate::input::Layout;

/// One input's shape, as opened.
pub struct InputShape {
    /// Its name.
    pub name: String,
    /// `csv` or `parquet`.
    pub format: &'static str,
    /// `none`, `gzip` or `zstd`.
    pub compression: &'static str,
    /// Its layout.
    pub layout: Layout,
}

/// Everything a finished run knows.
pub struct Finished<'a> {
    /// When it started.
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// The inputs, in order.
    pub inputs: &'a [InputShape],
    /// The counts.
    pub tally: &'a Tally,
    /// The clean lists written.
    pub clean: Vec<CleanOutput>,
    /// The clean list of each input, by index into `clean`.
    pub list_of: &'a [usize],
    /// Every file written.
    pub files: Vec<String>,
    /// Cells made inert for spreadsheets.
    pub neutralised: u64,
    /// The DNS section, when DNS ran.
    pub dns: Option<DnsReport>,
    /// The bounce section, when `--bounces` was given.
    pub bounces: Option<BounceReport>,
    /// The dedupe keys' spill, past `--memory-limit`.
    pub dedupe_spill: Option<DedupeSpill>,
    /// Seconds per phase.
    pub timings: Timings,
}

/// Builds the report.
pub fn report(f: Finished) -> Report {
    let (counts, reasons, flags, repairs) = Report::counts_from(f.tally);
    let inputs: Vec<InputReport> = f
        .inputs
        .iter()
        .enumerate()
        .map(|(i, shape)| input_report(shape, &f.clean[f.list_of[i]].file, f.tally.inputs[i]))
        .collect();
    let identity_holds = counts.identity_holds() && inputs.iter().all(|i| i.identity_holds);
    let mut warnings = f.dns.as_ref().map(dns::warnings).unwrap_or_default();
    // An input with no row at all is more often a failed export than an empty list; its clean
    // list is empty, which an import must not take as "everyone left".
    for i in inputs.iter().filter(|i| i.counts.rows_in == 0) {
        warnings.push(format!(
            "{} holds no rows{}: an export that failed or was cut? Its clean list is empty",
            i.file,
            if i.header { " (a header only)" } else { "" }
        ));
    }
    if let Some(b) = &f.bounces {
        warnings.extend(bounces::warnings(b));
    }
    let mut timings = f.timings;
    timings.rows_per_second = counts.rows_in as f64 / timings.total_seconds.max(1e-9);
    Report {
        mailscrub_version: env!("CARGO_PKG_VERSION"),
        started_at: f
            .started_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        identity: format!(
            "rows_in {} = kept {} + suppressed {} + duplicates {} + rejected {}{}",
            counts.rows_in,
            counts.kept,
            counts.suppressed,
            counts.duplicates,
            counts.rejected,
            if counts.other_partition > 0 {
                format!(" + other partitions {}", counts.other_partition)
            } else {
                String::new()
            }
        ),
        counts,
        identity_holds,
        reasons,
        flags,
        repairs,
        inputs,
        clean_outputs: f.clean,
        files: f.files,
        spreadsheet_safe_cells: f.neutralised,
        warnings,
        dns: f.dns,
        bounces: f.bounces,
        dedupe_spill: f.dedupe_spill,
        timings,
    }
}

fn input_report(shape: &InputShape, clean: &str, counts: super::Counts) -> InputReport {
    let layout = &shape.layout;
    InputReport {
        file: shape.name.clone(),
        format: shape.format,
        compression: shape.compression,
        delimiter: match layout.delimiter {
            b'\t' => "\\t".to_owned(),
            d => (d as char).to_string(),
        },
        header: layout.headers.is_some(),
        email_column: layout.email_column + 1,
        email_column_name: layout
            .headers
            .as_ref()
            .and_then(|h| h.get(layout.email_column))
            .map(|h| String::from_utf8_lossy(h).into_owned()),
        clean_output: clean.to_owned(),
        identity_holds: counts.identity_holds(),
        notes: layout.notes.clone(),
        counts,
    }
}

/// What a run stopped by the drop guard would have done, and why it stopped.
pub fn stopped(why: &str, shapes: &[InputShape], tally: &Tally) -> String {
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
