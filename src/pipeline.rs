//! The `clean` run: inputs in, outputs and a report out.
//!
//! Three kinds of threads, joined by bounded channels so memory stays flat whatever the file
//! size:
//! 1. one reader reads the inputs one after the other, in batches of rows;
//! 2. the validator checks each batch's addresses in parallel on rayon's pool (the costly part)
//!    and keeps the batch in input order;
//! 3. the calling thread owns the dedupe set, the counters and every output file, and gives each
//!    row its verdict in input order, so "the first occurrence wins" means what it says.
//!
//! Nothing is renamed into place until every row has been written (see [`crate::output`]).

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::time::Instant;

use csv::ByteRecord;
use rayon::prelude::*;

use crate::address::{self, Checked};
use crate::dedupe::{prefetch, DedupeKey, KeyFilter, KeySet};
use crate::config::{BounceConfig, Config};
use crate::dns::{self, BulkResolver, DomainBook, DomainStatus, MailRoute};
use crate::input::parquet::SharedBatch;
use crate::input::{self, InputError, Layout, OpenedInput, RowBatch, RowSource};
use crate::output::parquet::{Cell, InferredTable, Kind, RowTable, TypedCol, TypedTable};
use crate::output::shape::{neutralise, plan_columns, ColumnPlan, OutCol, SplitCsv};
use crate::files::{self as output, AtomicCsv, OutputError};
use crate::policy::{self, Decision, Evidence, Histories, HistoryVerdict};
use crate::record::{flag_names, Verdict};
use crate::report::{
    CleanOutput, DnsReport, DomainCount, InputReport, Progress, Report, Tally, Timings,
};
use crate::Error;

/// The columns `--annotate` adds to the clean list.
pub const ANNOTATION_COLUMNS: [&str; 4] = [
    "mailscrub_status",
    "mailscrub_reason",
    "mailscrub_flags",
    "mailscrub_suggestion",
];

/// The header of `suppression.csv`.
pub const SUPPRESSION_COLUMNS: [&str; 8] = [
    "email",
    "reason",
    "detail",
    "source",
    "first_seen",
    "last_seen",
    "status",
    "count",
];
/// The header of `rejects.csv`.
pub const REJECT_COLUMNS: [&str; 4] = ["file", "line", "error", "raw"];
/// The header of `duplicates.csv`.
pub const DUPLICATE_COLUMNS: [&str; 3] = ["file", "line", "email"];

/// A batch of rows from one input, as read.
struct RawBatch {
    input: usize,
    rows: RowBatch,
    /// The typed batch the rows were rendered from (Parquet inputs).
    arrow: Option<SharedBatch>,
}

/// One row after validation.
enum Row {
    /// The row could not be read.
    Reject {
        line: u64,
        error: String,
        raw: String,
    },
    /// The row has an address (valid or not); its fields are in the batch's text.
    Address {
        line: u64,
        checked: Checked,
        key: DedupeKey,
        /// The row is plain text whose email field is the normalised address: kept, it can be
        /// written out as it was read.
        as_is: bool,
    },
}

struct Batch {
    input: usize,
    text: RowBatch,
    rows: Vec<Row>,
    arrow: Option<SharedBatch>,
}

/// Where the kept rows of a set of inputs with the same columns go.
struct CleanGroup {
    file: String,
    inputs: Vec<usize>,
    writer: Option<SplitCsv>,
    /// The CSV clean list has the input's columns, in order, with the input's delimiter and
    /// nothing made inert: an unchanged row is written as the text it was read as.
    verbatim: bool,
    parquet: Option<CleanParquet>,
    plan: ColumnPlan,
    /// Rows kept (whatever the formats).
    rows: u64,
}

/// A clean list's Parquet twin.
enum CleanParquet {
    /// From CSV inputs: string columns built row by row.
    Rows(RowTable),
    /// From Parquet inputs: kept rows taken from the typed batches.
    Typed(TypedTable),
    /// From CSV inputs with `--infer-types`: typed at commit from every value.
    Inferred(InferredTable),
}

/// For each Parquet column of `plan`: whether it holds an input field (inferable).
fn plan_kinds(plan: &ColumnPlan) -> Vec<bool> {
    let mut out = Vec::new();
    for col in &plan.cols {
        match col {
            OutCol::Field(_) => out.push(true),
            OutCol::Annotation(2) => {
                out.extend(std::iter::repeat_n(false, crate::record::FLAG_NAMES.len()))
            }
            _ => out.push(false),
        }
    }
    out
}

/// The Parquet columns of a clean list: the plan's, with `mailscrub_flags` spread over one
/// boolean column per flag.
fn parquet_columns(plan: &ColumnPlan, typed: bool) -> Vec<(String, TypedCol)> {
    let mut out = Vec::new();
    for (k, col) in plan.cols.iter().enumerate() {
        let name = plan
            .header
            .as_ref()
            .and_then(|h| h.get(k).cloned())
            .unwrap_or_else(|| format!("column_{}", k + 1));
        match col {
            OutCol::Field(i) if typed => out.push((name, TypedCol::Input(*i))),
            OutCol::Annotation(2) => {
                for (_, flag) in crate::record::FLAG_NAMES {
                    out.push((
                        format!("mailscrub_flag_{flag}"),
                        TypedCol::Built(Kind::Bool),
                    ));
                }
            }
            _ => out.push((name, TypedCol::Built(Kind::Text))),
        }
    }
    out
}

/// Runs `clean` as configured and returns its report (also written to `report.json`).
pub fn run(config: &Config) -> Result<Report, Error> {
    let started_at = chrono::Utc::now();
    let t0 = Instant::now();
    if config.inputs.iter().filter(|p| *p == "-").count() > 1 {
        return Err(Error::Usage("stdin (-) can be read only once".to_owned()));
    }
    output::prepare_dir(&config.out_dir)?;
    let progress = Progress::new(config.progress);
    let mut opened = Vec::with_capacity(config.inputs.len());
    for path in &config.inputs {
        let size = std::fs::metadata(path).ok().map(|m| m.len());
        opened.push(input::open(path, &config.csv, config.batch_rows, |r| {
            progress.track(path, size, r)
        })?);
    }
    let open_seconds = t0.elapsed().as_secs_f64();

    let (mut groups, group_of) = plan_groups(&opened, config)?;
    let mut sinks = Sinks::create(
        &config.out_dir,
        config.write_duplicates,
        config.profile.parquet,
    )?;
    let names: Vec<String> = opened.iter().map(|o| o.name.clone()).collect();
    let layouts: Vec<Layout> = opened.iter().map(|o| o.layout.clone()).collect();
    let meta: Vec<_> = opened
        .iter()
        .map(|o| (o.format, o.compression.as_str(), o.layout.clone()))
        .collect();

    // The dedupe set is sized once for the rows expected: growing it by doubling would hold the
    // old and the new table at once, the largest transient of a big run. The reservation is
    // capped (32M keys, 1 GiB) so that a huge file does not reserve memory for addresses it may
    // not have; beyond that the set grows with the distinct addresses. (Its pages are touched at
    // random, so a file of mostly duplicates still pays for the table it was sized for.)
    // It is built on a thread of its own while the bounce history loads: the kernel zeroing its
    // pages took 4% of a run's samples on the writer, and the history load leaves a core idle
    // much of the time.
    let expected: u64 = opened.iter().filter_map(OpenedInput::expected_rows).sum();
    let seen = std::thread::spawn(move || KeySet::with_capacity(expected.min(32_000_000) as usize));
    let t_history = Instant::now();
    let ingested = read_history(config)?;
    let history = ingested.as_ref().map(|(b, i)| fold_history(i, b));
    let history_seconds = t_history.elapsed().as_secs_f64();
    let (resolver, cache_loaded) = start_dns(config)?;
    let t_rows = Instant::now();
    let mut tally = Tally::new(opened.len());
    let seen = seen.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
    let readers: Vec<_> = opened.into_iter().map(|o| (o.name, o.rows)).collect();
    let mut domains = HashMap::new();
    let mut carried = 0u64;
    let mut carry_forward_seconds = 0.0;
    std::thread::scope(|scope| -> Result<(), Error> {
        let (raw_tx, raw_rx) = sync_channel(4);
        let (row_tx, row_rx) = sync_channel(4);
        // Spent batches go back to the reader, which reads the next rows into them: no
        // allocation on the reader's side, no free of another thread's memory on the writer's
        // (perf: malloc, mi_free and its cross-thread path took 7% of a run).
        let (spare_tx, spare_rx) = sync_channel(4);
        scope.spawn(move || read_all(readers, raw_tx, spare_rx));
        let layouts = &layouts;
        let resolver = resolver.as_ref();
        scope.spawn(move || validate_all(raw_rx, row_tx, layouts, config, resolver));
        let mut writer = RowWriter {
            config,
            names: &names,
            group_of: &group_of,
            groups: &mut groups,
            sinks: &mut sinks,
            tally: &mut tally,
            seen,
            book: resolver.map(|r| r.book().clone()),
            domains: HashMap::new(),
            histories: history.as_ref().map(|h| (&h.filter, &h.histories)),
            spare: spare_tx,
            bounds: Vec::new(),
            suppression: SuppressionRow::default(),
        };
        for batch in row_rx {
            writer.batch(batch?)?;
        }
        domains = std::mem::take(&mut writer.domains);
        if let Some(h) = &history {
            if config.bounces.as_ref().is_some_and(|b| b.carry_forward) {
                let t_carry = Instant::now();
                carried = writer.carry_forward(&h.histories)?;
                carry_forward_seconds = t_carry.elapsed().as_secs_f64();
            }
        }
        Ok(())
    })?;
    let rows_seconds = t_rows.elapsed().as_secs_f64();
    progress.finish();
    let dns_report = finish_dns(config, resolver, cache_loaded, &domains)?;

    let t_commit = Instant::now();
    // The bounce section is summarised, and the events freed, on a helper thread while the
    // outputs are flushed to disk (0.08 s for a million events, now hidden behind the fsyncs).
    drop(history);
    let (committed, bounce_report) = std::thread::scope(|scope| {
        let summary = ingested.map(|(b, i)| {
            scope.spawn(move || crate::report::bounces::build(&i, &b.options, b.soft, carried))
        });
        let committed = commit_outputs(groups, sinks, &names);
        let summary = summary.map(|s| s.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        (committed, summary)
    });
    let (mut files, clean_outputs) = committed?;
    files.push("report.json".to_owned());
    if let Some(dns) = &config.dns {
        if let Some(path) = &dns.cache_file {
            files.push(path.display().to_string());
        }
    }
    let (counts, reasons, flags, repairs) = Report::counts_from(&tally);
    let inputs: Vec<InputReport> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            input_report(
                name,
                &meta[i],
                &clean_outputs[group_of[i]].file,
                tally.inputs[i],
            )
        })
        .collect();
    let identity_holds = counts.identity_holds() && inputs.iter().all(|i| i.identity_holds);
    let total_seconds = t0.elapsed().as_secs_f64();
    let mut report = Report {
        mailscrub_version: env!("CARGO_PKG_VERSION"),
        started_at: started_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        finished_at: String::new(),
        identity: format!(
            "rows_in {} = kept {} + suppressed {} + duplicates {} + rejected {}",
            counts.rows_in, counts.kept, counts.suppressed, counts.duplicates, counts.rejected
        ),
        counts,
        identity_holds,
        reasons,
        flags,
        repairs,
        inputs,
        clean_outputs,
        files,
        spreadsheet_safe_cells: tally.neutralised,
        warnings: {
            let mut w = dns_report.as_ref().map(dns_warnings).unwrap_or_default();
            if let Some(b) = &bounce_report {
                w.extend(crate::report::bounces::warnings(b));
            }
            w
        },
        dns: dns_report,
        bounces: bounce_report,
        timings: Timings {
            open_seconds,
            history_seconds,
            rows_seconds,
            carry_forward_seconds,
            commit_seconds: t_commit.elapsed().as_secs_f64(),
            total_seconds,
            rows_per_second: counts.rows_in as f64 / total_seconds.max(1e-9),
        },
    };
    report.finished_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let json = serde_json::to_vec_pretty(&report).map_err(|e| {
        Error::Output(OutputError {
            path: config.out_dir.join("report.json"),
            source: std::io::Error::other(e),
        })
    })?;
    output::write_atomic(&config.out_dir, "report.json", &json)?;
    Ok(report)
}

/// Flushes, syncs and renames every output into place; returns the files written and the clean
/// lists.
fn commit_outputs(
    groups: Vec<CleanGroup>,
    sinks: Sinks,
    names: &[String],
) -> Result<(Vec<String>, Vec<CleanOutput>), Error> {
    // Every CSV output is synced at once, each on a thread of its own (each mostly waits on the
    // disk for its last part; one after the other the waits added up), and none is renamed into
    // place before all are synced.
    let Sinks {
        suppression,
        rejects,
        duplicates,
        suppression_pq,
        rejects_pq,
    } = sinks;
    let mut groups = groups;
    let writers: Vec<Option<SplitCsv>> = groups.iter_mut().map(|g| g.writer.take()).collect();
    type Parts = Result<Vec<output::Synced>, OutputError>;
    let (clean, sink) = std::thread::scope(|scope| {
        let clean: Vec<_> = writers
            .into_iter()
            .map(|w| scope.spawn(move || w.map_or(Ok(Vec::new()), SplitCsv::sync)))
            .collect();
        let sink: Vec<_> = [Some(suppression), Some(rejects), duplicates]
            .into_iter()
            .flatten()
            .map(|f| scope.spawn(move || f.sync().map(|s| vec![s])))
            .collect();
        let join = |h: std::thread::ScopedJoinHandle<'_, Parts>| {
            h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
        };
        (
            clean.into_iter().map(join).collect::<Vec<_>>(),
            sink.into_iter().map(join).collect::<Vec<_>>(),
        )
    });
    let clean: Vec<Vec<output::Synced>> = clean.into_iter().collect::<Result<_, _>>()?;
    let sink: Vec<Vec<output::Synced>> = sink.into_iter().collect::<Result<_, _>>()?;
    let mut files = Vec::new();
    let mut clean_outputs = Vec::new();
    for (g, synced) in groups.into_iter().zip(clean) {
        let mut parts = synced
            .into_iter()
            .map(crate::output::shape::persist_name)
            .collect::<Result<Vec<_>, _>>()?;
        match g.parquet {
            Some(CleanParquet::Rows(t)) => parts.push(file_name(&t.commit()?)),
            Some(CleanParquet::Typed(t)) => parts.push(file_name(&t.commit()?)),
            Some(CleanParquet::Inferred(t)) => parts.push(file_name(&t.commit()?)),
            None => {}
        }
        files.extend(parts.iter().cloned());
        clean_outputs.push(CleanOutput {
            file: g.file,
            inputs: g.inputs.iter().map(|i| names[*i].clone()).collect(),
            rows: g.rows,
            parts,
        });
    }
    for part in sink.into_iter().flatten() {
        files.push(crate::output::shape::persist_name(part)?);
    }
    for (pq, name) in [
        (suppression_pq, "suppression.parquet"),
        (rejects_pq, "rejects.parquet"),
    ] {
        if let Some(p) = pq {
            p.commit()?;
            files.push(name.to_owned());
        }
    }
    Ok((files, clean_outputs))
}

fn input_report(
    name: &str,
    meta: &(&'static str, &'static str, Layout),
    clean: &str,
    counts: crate::report::Counts,
) -> InputReport {
    let (format, compression, layout) = meta;
    InputReport {
        file: name.to_owned(),
        format,
        compression,
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
        counts,
    }
}

/// Inputs with the same columns share a clean list; each other set of columns gets its own,
/// named after its first input.
fn plan_groups(
    opened: &[OpenedInput],
    config: &Config,
) -> Result<(Vec<CleanGroup>, Vec<usize>), Error> {
    let shape = |o: &OpenedInput| {
        let types = match &o.rows {
            RowSource::Parquet(p) => format!(
                "parquet:{:?}",
                p.schema
                    .fields()
                    .iter()
                    .map(|f| f.data_type().to_string())
                    .collect::<Vec<_>>()
            ),
            RowSource::Csv(_) => "csv".to_owned(),
        };
        (o.layout.headers.clone(), o.layout.columns, types)
    };
    let mut shapes: Vec<(Option<ByteRecord>, usize, String)> = Vec::new();
    let mut group_of = Vec::with_capacity(opened.len());
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, o) in opened.iter().enumerate() {
        let s = shape(o);
        let g = match shapes.iter().position(|x| *x == s) {
            Some(g) => g,
            None => {
                shapes.push(s);
                members.push(Vec::new());
                shapes.len() - 1
            }
        };
        members[g].push(i);
        group_of.push(g);
    }
    let mut groups = Vec::with_capacity(shapes.len());
    let mut used = HashSet::new();
    let annotations: &[&str] = if config.annotate {
        &ANNOTATION_COLUMNS
    } else {
        &[]
    };
    for (g, inputs) in members.into_iter().enumerate() {
        let first = &opened[inputs[0]];
        let stem_name = if shapes.len() == 1 {
            "clean".to_owned()
        } else {
            unique_name(&mut used, &format!("clean-{}", stem(&first.name)))
        };
        let header: Option<Vec<String>> = shapes[g].0.as_ref().map(|h| {
            h.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        });
        let plan = plan_columns(
            header.as_deref(),
            first.layout.columns,
            first.layout.email_column,
            annotations,
            &config.profile,
        )
        .map_err(|e| Error::Usage(format!("{}: {e}", first.name)))?;
        let writer = if config.profile.csv {
            Some(SplitCsv::create(
                &config.out_dir,
                &stem_name,
                first.layout.delimiter,
                plan.header.clone(),
                config.profile.split_rows,
            )?)
        } else {
            None
        };
        let parquet = if config.profile.parquet {
            let name = format!("{stem_name}.parquet");
            Some(match &first.rows {
                RowSource::Parquet(p) => CleanParquet::Typed(TypedTable::create(
                    &config.out_dir,
                    &name,
                    &p.schema,
                    parquet_columns(&plan, true),
                )?),
                RowSource::Csv(_) if config.profile.infer_types => {
                    let cols = parquet_columns(&plan, false)
                        .into_iter()
                        .zip(plan_kinds(&plan))
                        .map(|((n, c), inferable)| {
                            (
                                n,
                                if inferable {
                                    None
                                } else if let TypedCol::Built(k) = c {
                                    Some(k)
                                } else {
                                    Some(Kind::Text)
                                },
                            )
                        })
                        .collect();
                    CleanParquet::Inferred(InferredTable::create(&config.out_dir, &name, cols)?)
                }
                RowSource::Csv(_) => {
                    let cols = parquet_columns(&plan, false);
                    let spec: Vec<(&str, Kind)> = cols
                        .iter()
                        .map(|(n, c)| {
                            (
                                n.as_str(),
                                if let TypedCol::Built(k) = c {
                                    *k
                                } else {
                                    Kind::Text
                                },
                            )
                        })
                        .collect();
                    CleanParquet::Rows(RowTable::create(&config.out_dir, &name, &spec)?)
                }
            })
        } else {
            None
        };
        let layout = &first.layout;
        let verbatim = writer.is_some()
            && !config.profile.spreadsheet_safe
            && inputs
                .iter()
                .all(|&i| opened[i].layout.delimiter == layout.delimiter)
            && plan.cols.len() == layout.columns
            && plan.cols.iter().enumerate().all(|(i, c)| match *c {
                OutCol::Email => i == layout.email_column,
                OutCol::Field(f) => f == i,
                OutCol::Annotation(_) => false,
            });
        groups.push(CleanGroup {
            file: if config.profile.csv {
                format!("{stem_name}.csv")
            } else {
                format!("{stem_name}.parquet")
            },
            inputs,
            writer,
            verbatim,
            parquet,
            plan,
            rows: 0,
        });
    }
    Ok((groups, group_of))
}

/// `dir/list.csv.gz` -> `list`; stdin -> `stdin`.
fn stem(name: &str) -> String {
    if name == input::STDIN_NAME {
        return "stdin".to_owned();
    }
    let base = Path::new(name)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_owned());
    let base = base.split('.').next().unwrap_or(&base).to_owned();
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "input".to_owned()
    } else {
        safe
    }
}

fn unique_name(used: &mut HashSet<String>, stem: &str) -> String {
    let mut name = stem.to_owned();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}

/// The suppression, rejects and (optionally) duplicates files.
struct Sinks {
    suppression: AtomicCsv,
    rejects: AtomicCsv,
    duplicates: Option<AtomicCsv>,
    suppression_pq: Option<RowTable>,
    rejects_pq: Option<RowTable>,
}

impl Sinks {
    fn create(dir: &Path, duplicates: bool, parquet: bool) -> Result<Self, OutputError> {
        let mut suppression = AtomicCsv::create(dir, "suppression.csv", b',')?;
        suppression.header(SUPPRESSION_COLUMNS)?;
        let mut rejects = AtomicCsv::create(dir, "rejects.csv", b',')?;
        rejects.header(REJECT_COLUMNS)?;
        let duplicates = if duplicates {
            let mut d = AtomicCsv::create(dir, "duplicates.csv", b',')?;
            d.header(DUPLICATE_COLUMNS)?;
            Some(d)
        } else {
            None
        };
        let (suppression_pq, rejects_pq) = if parquet {
            use crate::output::parquet::Kind::{Int, Text, Time};
            let s = RowTable::create(
                dir,
                "suppression.parquet",
                &[
                    ("email", Text),
                    ("reason", Text),
                    ("detail", Text),
                    ("source", Text),
                    ("first_seen", Time),
                    ("last_seen", Time),
                    ("status", Text),
                    ("count", Int),
                ],
            )?;
            let r = RowTable::create(
                dir,
                "rejects.parquet",
                &[
                    ("file", Text),
                    ("line", Int),
                    ("error", Text),
                    ("raw", Text),
                ],
            )?;
            (Some(s), Some(r))
        } else {
            (None, None)
        };
        Ok(Sinks {
            suppression,
            rejects,
            duplicates,
            suppression_pq,
            rejects_pq,
        })
    }

    fn reject(&mut self, file: &str, line: u64, error: &str, raw: &str) -> Result<(), OutputError> {
        self.rejects.row([file, &line.to_string(), error, raw])?;
        if let Some(pq) = &mut self.rejects_pq {
            pq.push(&[
                Cell::Text(file),
                Cell::Int(line as i64),
                Cell::Text(error),
                Cell::Text(raw),
            ])?;
        }
        Ok(())
    }
}

/// The reader thread: every input in order, in batches.
fn read_all(
    readers: Vec<(String, RowSource)>,
    tx: SyncSender<Result<RawBatch, InputError>>,
    spare: Receiver<RowBatch>,
) {
    for (input, (name, source)) in readers.into_iter().enumerate() {
        let ok = match source {
            RowSource::Csv(reader) => read_csv(input, &name, *reader, &tx, &spare),
            RowSource::Parquet(rows) => read_parquet(input, &name, rows, &tx),
        };
        if !ok {
            return;
        }
    }
}

/// Sends the CSV input's rows; false when the run must stop.
fn read_csv(
    input: usize,
    name: &str,
    mut reader: input::CsvRows,
    tx: &SyncSender<Result<RawBatch, InputError>>,
    spare: &Receiver<RowBatch>,
) -> bool {
    loop {
        // Batches the writer is done with come back, so that their buffers are read into again.
        let mut rows = spare.try_recv().unwrap_or_else(|_| reader.batch());
        match reader.read(&mut rows) {
            Ok(true) => {
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
    rows: crate::input::parquet::ParquetRows,
    tx: &SyncSender<Result<RawBatch, InputError>>,
) -> bool {
    let mut next_row = 1u64;
    for batch in rows.reader {
        let fail = |reason: String| InputError::Read {
            file: name.to_owned(),
            line: next_row,
            reason,
        };
        let batch = match batch {
            Ok(b) => b,
            Err(e) => {
                let _ = tx.send(Err(fail(e.to_string())));
                return false;
            }
        };
        let mut text = RowBatch::new(b',');
        if let Err(e) = crate::input::parquet::rows_as_text(&batch, next_row, &mut text) {
            let _ = tx.send(Err(fail(e)));
            return false;
        }
        next_row += text.len() as u64;
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
    tx: SyncSender<Result<Batch, InputError>>,
    layouts: &[Layout],
    config: &Config,
    resolver: Option<&BulkResolver>,
) {
    let mut submitted: HashSet<String> = HashSet::new();
    for raw in rx {
        let out = raw.map(|raw| {
            let layout = &layouts[raw.input];
            let text = raw.rows;
            let rows = (0..text.len())
                .into_par_iter()
                .map(|i| validate_row(&text, i, layout, config))
                .collect();
            let batch = Batch {
                input: raw.input,
                text,
                rows,
                arrow: raw.arrow,
            };
            if let Some(resolver) = resolver {
                submit_domains(&batch, resolver, &mut submitted);
            }
            batch
        });
        if tx.send(out).is_err() {
            return;
        }
    }
}

/// Hands the batch's new domains to the resolver before the batch moves on, so that answers are
/// on their way while earlier batches are written.
fn submit_domains(batch: &Batch, resolver: &BulkResolver, submitted: &mut HashSet<String>) {
    for row in &batch.rows {
        if let Row::Address { checked, .. } = row {
            let domain = checked.ascii_domain();
            if checked.is_valid() && !domain.starts_with('[') && !submitted.contains(domain) {
                submitted.insert(domain.to_owned());
                resolver.submit(domain.to_owned());
            }
        }
    }
}

/// A row's fields joined by the delimiter (a plain row's text as it was).
fn raw_text(fields: input::Fields, delimiter: u8) -> String {
    let mut raw = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            raw.push(delimiter);
        }
        raw.extend_from_slice(f);
    }
    String::from_utf8_lossy(&raw).into_owned()
}

fn validate_row(text: &RowBatch, i: usize, layout: &Layout, config: &Config) -> Row {
    let line = text.line(i);
    let fields = text.fields(i);
    let reject = |error: String| Row::Reject {
        line,
        error,
        raw: raw_text(fields, layout.delimiter),
    };
    let (columns, field) = fields.count_and_get(layout.email_column);
    if columns != layout.columns {
        return reject(format!(
            "expected {} fields, found {columns}",
            layout.columns,
        ));
    }
    let field = field.unwrap_or_default();
    let email = match std::str::from_utf8(field) {
        Ok(t) => t,
        Err(e) => {
            return reject(format!(
                "email field is not valid UTF-8 (bad byte at offset {})",
                e.valid_up_to()
            ))
        }
    };
    if email.trim().is_empty() {
        return reject("empty email field".to_owned());
    }
    let checked = address::check(email, &config.rules, &config.lists);
    let key = address::dedupe_key(&checked, config.provider_rules);
    let as_is = text.plain_text(i).is_some() && checked.address.as_bytes() == field;
    Row::Address {
        line,
        checked,
        key,
        as_is,
    }
}

/// The single owner of the outputs and counters.
struct RowWriter<'a> {
    config: &'a Config,
    names: &'a [String],
    group_of: &'a [usize],
    groups: &'a mut Vec<CleanGroup>,
    sinks: &'a mut Sinks,
    tally: &'a mut Tally,
    seen: KeySet,
    /// The DNS answers, when DNS is on.
    book: Option<Arc<DomainBook>>,
    /// Per domain seen in this run: its answer and the rows it decided.
    domains: HashMap<String, DomainSeen>,
    /// Bounce histories by dedupe key, when `--bounces` was given, behind their filter.
    histories: Option<(&'a KeyFilter, &'a Histories<'a>)>,
    /// Where spent batches go back to the reader.
    spare: SyncSender<RowBatch>,
    /// Where the fields of the row being kept lie (see `input::Fields::bounds`).
    bounds: Vec<(usize, usize)>,
    /// The suppression row being written (its buffers are reused).
    suppression: SuppressionRow,
}

/// The evidence columns of one suppression row. Its texts are buffers kept from row to row: a
/// run writes a row per suppressed address, a million for a big history, and building each
/// row's texts afresh (through `format!`, `to_string` and chrono, six strings a row) was the
/// largest cost of writing them (perf: an eighth of a run that loads a 1M-line history and
/// carries it forward).
#[derive(Default)]
struct SuppressionRow {
    source: String,
    first_seen: Option<i64>,
    last_seen: Option<i64>,
    status: String,
    count: Option<i64>,
    /// `first_seen`, `last_seen` and `count` as CSV text.
    texts: [String; 3],
}

impl SuppressionRow {
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
    fn history(&mut self, v: &HistoryVerdict) -> &Self {
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
                output::push_rfc3339(text, t);
            }
        }
        count_text.clear();
        if let Some(c) = count {
            count_text.push_str(itoa::Buffer::new().format(c));
        }
        self
    }

    /// The suppression file's columns for this row.
    fn record<'s>(
        &'s self,
        email: &'s str,
        reason: crate::record::Reason,
        detail: &'s str,
    ) -> [&'s str; 8] {
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

    fn write(
        &self,
        sinks: &mut Sinks,
        email: &str,
        reason: crate::record::Reason,
        detail: &str,
    ) -> Result<(), OutputError> {
        sinks.suppression.row(self.record(email, reason, detail))?;
        if let Some(pq) = &mut sinks.suppression_pq {
            let time = |t: Option<i64>| t.map(Cell::Time).unwrap_or(Cell::Null);
            let status = if self.status.is_empty() {
                Cell::Null
            } else {
                Cell::Text(&self.status)
            };
            pq.push(&[
                Cell::Text(email),
                Cell::Text(reason.as_str()),
                Cell::Text(detail),
                Cell::Text(&self.source),
                time(self.first_seen),
                time(self.last_seen),
                status,
                self.count.map(Cell::Int).unwrap_or(Cell::Null),
            ])?;
        }
        Ok(())
    }
}

/// The bounce evidence of a run, folded per address.
struct FoldedHistory<'e> {
    histories: Histories<'e>,
    /// The keys of `histories`, for the rows that have none (most).
    filter: KeyFilter,
}

/// Reads the bounce inputs, when `--bounces` was given.
fn read_history(
    config: &Config,
) -> Result<Option<(&BounceConfig, crate::bounces::Ingested)>, Error> {
    let Some(b) = &config.bounces else {
        return Ok(None);
    };
    Ok(Some((b, crate::bounces::ingest(&b.paths, &b.options)?)))
}

/// Folds the events read per address.
fn fold_history<'e>(ingested: &'e crate::bounces::Ingested, b: &BounceConfig) -> FoldedHistory<'e> {
    let histories = policy::evidence::fold(&ingested.events, b.options.as_of, b.soft);
    FoldedHistory {
        filter: KeyFilter::new(histories.iter().map(|(key, _)| key)),
        histories,
    }
}

/// A domain as the writer saw it.
pub(crate) struct DomainSeen {
    status: Arc<DomainStatus>,
    rows: u64,
}

impl RowWriter<'_> {
    fn batch(&mut self, batch: Batch) -> Result<(), OutputError> {
        let Batch {
            input,
            text,
            mut rows,
            arrow,
        } = batch;
        // The dedupe set's buckets, the history filter's words and the rows' texts are asked for
        // a block of rows ahead of their use (see `KeySet::warm`): without it the writer waited
        // on one or two cache misses per row.
        const AHEAD: usize = 32;
        let warm = |writer: &Self, rows: &[Row], from: usize| {
            let ahead = rows.iter().skip(from).take(AHEAD).map(|r| match r {
                Row::Address { key, .. } => *key,
                Row::Reject { .. } => 0,
            });
            writer.seen.warm(ahead.clone());
            if let Some((filter, _)) = writer.histories {
                filter.warm(ahead);
            }
            for (i, row) in rows.iter().enumerate().skip(from).take(AHEAD) {
                if let Row::Address { checked, .. } = row {
                    let first = [checked.address.as_bytes().first(), text.first_byte(i)];
                    for byte in first.into_iter().flatten() {
                        prefetch(byte);
                    }
                }
            }
        };
        warm(self, &rows, 0);
        for index in 0..rows.len() {
            if index % AHEAD == 0 {
                warm(self, &rows, index + AHEAD);
            }
            // A history lookup reads a directory slot and then an entry, each a miss in a table
            // of tens of megabytes (perf: a third of `row`'s own time): for the rows the filter
            // lets through, they are asked for in two steps a few rows ahead.
            if let Some((filter, histories)) = self.histories {
                let key_at = |i: usize| match rows.get(i) {
                    Some(Row::Address { key, .. }) if filter.may_contain(*key) => Some(*key),
                    _ => None,
                };
                if let Some(key) = key_at(index + 8) {
                    histories.warm_slot(key);
                }
                if let Some(key) = key_at(index + 4) {
                    histories.warm_entry(key);
                }
            }
            let row = std::mem::replace(
                &mut rows[index],
                Row::Reject {
                    line: 0,
                    error: String::new(),
                    raw: String::new(),
                },
            );
            let verdict = self.row(input, index, row, &text)?;
            self.tally.inputs[input].add(verdict);
        }
        if let (Some(arrow), Some(CleanParquet::Typed(t))) =
            (&arrow, &mut self.groups[self.group_of[input]].parquet)
        {
            t.finish_batch(arrow)?;
        }
        // The reader may be done, or have enough spares: then the batch is just dropped.
        let _ = self.spare.try_send(text);
        Ok(())
    }

    /// Gives one row (row `index` of `text`) its verdict and writes it.
    fn row(
        &mut self,
        input: usize,
        index: usize,
        row: Row,
        text: &RowBatch,
    ) -> Result<Verdict, OutputError> {
        let name = self.names[input].as_str();
        let (line, checked, key, as_is) = match row {
            Row::Reject { line, error, raw } => {
                let raw = self.inert(&raw);
                self.sinks.reject(name, line, &error, &raw)?;
                return Ok(Verdict::Reject);
            }
            Row::Address {
                line,
                checked,
                key,
                as_is,
            } => (line, checked, key, as_is),
        };
        if !self.seen.insert(key) {
            if let Some(d) = &mut self.sinks.duplicates {
                d.row([name, &line.to_string(), &checked.address])?;
            }
            return Ok(Verdict::Duplicate);
        }
        self.tally.repairs(checked.repairs);
        let history = self
            .histories
            .filter(|(filter, _)| filter.may_contain(key))
            .and_then(|(_, h)| h.get(key));
        let route = if history.is_some_and(|h| h.verdict.is_some()) {
            None
        } else {
            self.route(&checked)
        };
        match policy::decide(&checked, history, route.as_deref()) {
            Decision::Suppress {
                reason,
                detail,
                evidence,
            } => {
                *self.tally.reasons.entry(reason).or_insert(0) += 1;
                let detail = self.inert(&detail);
                let row = &mut self.suppression;
                let row = match evidence {
                    Evidence::Row => row.row(name, line),
                    Evidence::Dns {
                        resolved_at,
                        from_cache,
                    } => row.dns(if from_cache { "dns-cache" } else { "dns" }, resolved_at),
                    Evidence::History(v) => row.history(&v),
                };
                row.write(self.sinks, &checked.address, reason, &detail)?;
                Ok(Verdict::Suppress)
            }
            Decision::Keep { flags } => {
                self.tally.flags(flags);
                let verbatim = as_is.then(|| text.plain_text(index)).flatten();
                self.keep(input, index, text.fields(index), verbatim, &checked, flags)?;
                Ok(Verdict::Keep)
            }
        }
    }

    /// `text` made inert for spreadsheets when `--spreadsheet-safe` is on (and counted).
    fn inert<'t>(&mut self, text: &'t str) -> std::borrow::Cow<'t, str> {
        if !self.config.profile.spreadsheet_safe {
            return std::borrow::Cow::Borrowed(text);
        }
        match neutralise(text.as_bytes()) {
            Some(inert) => {
                self.tally.neutralised += 1;
                std::borrow::Cow::Owned(String::from_utf8_lossy(&inert).into_owned())
            }
            None => std::borrow::Cow::Borrowed(text),
        }
    }

    /// Writes the suppressed addresses of the history that no input row carried, so that the
    /// suppression file keeps them for the next run. Returns how many.
    fn carry_forward(&mut self, histories: &Histories) -> Result<u64, OutputError> {
        // Sorted by address. Each row carries the first 16 bytes of its address as a number, so
        // that most comparisons do not follow the pointer to the text (perf: a million-row sort
        // spent its time in memcmp, waiting on those loads); ties fall back to the whole text.
        let prefix = |s: &str| {
            let mut head = [0u8; 16];
            let n = s.len().min(16);
            head[..n].copy_from_slice(&s.as_bytes()[..n]);
            u128::from_be_bytes(head)
        };
        // The dedupe-set probe and the address prefix, each a cache miss, are taken in parallel
        // (serially: 0.3 s for a million verdicts).
        let seen = &self.seen;
        let mut rows: Vec<(u128, &HistoryVerdict, DedupeKey)> = histories
            .par_iter()
            .filter_map(|(key, h)| h.verdict.as_ref().map(|v| (key, v)))
            .filter(|(key, _)| !seen.contains(*key))
            .map(|(key, v)| (prefix(&v.deciding.recipient), v, key))
            .collect();
        rows.par_sort_unstable_by(|(pa, a, ka), (pb, b, kb)| {
            pa.cmp(pb)
                .then_with(|| a.deciding.recipient.cmp(&b.deciding.recipient))
                .then(ka.cmp(kb))
        });
        if self.sinks.suppression_pq.is_some() {
            for (_, v, _) in &rows {
                self.suppression.history(v).write(
                    self.sinks,
                    &v.deciding.recipient,
                    v.reason,
                    &v.deciding.diagnostic,
                )?;
            }
            return Ok(rows.len() as u64);
        }
        // CSV only: the rows are rendered in parallel and written in order. In address order the
        // events are read at random, and the rows' text (times, counts, sources) is built per row:
        // serially that was 0.56 s of the 10M-row run, after its last input row.
        for block in rows.chunks(1 << 16) {
            let parts: Vec<csv::Result<(Vec<u8>, u64)>> = block
                .par_chunks(1 << 11)
                .map(|part| {
                    let mut out =
                        output::csv_builder(b',').from_writer(Vec::with_capacity(part.len() * 96));
                    let mut row = SuppressionRow::default();
                    for (i, (_, v, _)) in part.iter().enumerate() {
                        // A row reads a verdict, its event, and the event's texts, each at
                        // random: they are asked for in stages a few rows ahead (perf put a row's
                        // time on the first read of its event).
                        if let Some((_, ahead, _)) = part.get(i + 12) {
                            prefetch(*ahead);
                        }
                        if let Some((_, ahead, _)) = part.get(i + 8) {
                            prefetch(ahead.deciding);
                        }
                        if let Some((_, ahead, _)) = part.get(i + 4) {
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
                })
                .collect();
            for part in parts {
                let (bytes, n) = part.map_err(|e| OutputError {
                    path: self.sinks.suppression.path().to_path_buf(),
                    source: std::io::Error::other(e),
                })?;
                self.sinks.suppression.rendered(&bytes, n)?;
            }
        }
        Ok(rows.len() as u64)
    }

    /// The mail route of a valid address's domain, waiting for DNS if it is still in flight.
    fn route(&mut self, checked: &Checked) -> Option<Arc<DomainStatus>> {
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
            DomainSeen {
                status: status.clone(),
                rows: 1,
            },
        );
        Some(status)
    }

    /// Writes a kept row to its group's clean list(s). `verbatim` is the row's text when it may
    /// be written as it was read (see [`CleanGroup::verbatim`]).
    fn keep(
        &mut self,
        input: usize,
        index: usize,
        fields: input::Fields,
        verbatim: Option<&[u8]>,
        checked: &Checked,
        flags: crate::record::Flags,
    ) -> Result<(), OutputError> {
        let group = &mut self.groups[self.group_of[input]];
        group.rows += 1;
        let verbatim = verbatim.filter(|_| group.verbatim);
        if let (Some(writer), Some(text)) = (&mut group.writer, verbatim) {
            // Most kept rows of a plain file: one copy, no field-by-field writing (perf: the
            // CSV writer's quoting checks were 5% of a run, the loop around them as much again).
            writer.line(text)?;
            if group.parquet.is_none() {
                return Ok(());
            }
        }
        fields.bounds(&mut self.bounds);
        let bounds = &self.bounds;
        let record = |i: usize| bounds.get(i).map_or(&b""[..], |b| fields.at(*b));
        let safe = self.config.profile.spreadsheet_safe;
        let flag_text = if self.config.annotate {
            flag_names(flags).join(";")
        } else {
            String::new()
        };
        let status: &str = if flags.is_empty() { "ok" } else { "flagged" };
        let suggestion = checked.suggestion.as_deref().unwrap_or("");
        if let (Some(writer), None) = (&mut group.writer, verbatim) {
            // Fields go straight to the CSV writer (no record built in between: perf showed
            // ByteRecord::push_field at 8% of a run, copying cold bytes a second time).
            let mut neutralised = 0;
            let fields = group.plan.cols.iter().map(|col| {
                let value: &[u8] = match *col {
                    OutCol::Email => return Cow::Borrowed(checked.address.as_bytes()),
                    OutCol::Field(i) => record(i),
                    OutCol::Annotation(0) => status.as_bytes(),
                    OutCol::Annotation(1) => b"",
                    OutCol::Annotation(2) => flag_text.as_bytes(),
                    OutCol::Annotation(_) => suggestion.as_bytes(),
                };
                match if safe { neutralise(value) } else { None } {
                    Some(inert) => {
                        neutralised += 1;
                        Cow::Owned(inert)
                    }
                    None => Cow::Borrowed(value),
                }
            });
            writer.row(fields)?;
            self.tally.neutralised += neutralised;
        }
        let Some(pq) = &mut group.parquet else {
            return Ok(());
        };
        let typed = matches!(pq, CleanParquet::Typed(_));
        let texts: Vec<std::borrow::Cow<str>> = group
            .plan
            .cols
            .iter()
            .map(|c| match *c {
                OutCol::Field(i) => String::from_utf8_lossy(record(i)),
                _ => std::borrow::Cow::Borrowed(""),
            })
            .collect();
        let mut cells: Vec<Cell> = Vec::with_capacity(group.plan.cols.len() + 6);
        for (k, col) in group.plan.cols.iter().enumerate() {
            match *col {
                OutCol::Field(_) if typed => {}
                OutCol::Field(_) => cells.push(Cell::Text(&texts[k])),
                OutCol::Email => cells.push(Cell::Text(&checked.address)),
                OutCol::Annotation(0) => cells.push(Cell::Text(status)),
                OutCol::Annotation(1) => cells.push(Cell::Null),
                OutCol::Annotation(2) => {
                    for (f, _) in crate::record::FLAG_NAMES {
                        cells.push(Cell::Bool(flags.contains(f)));
                    }
                }
                OutCol::Annotation(_) => cells.push(if suggestion.is_empty() {
                    Cell::Null
                } else {
                    Cell::Text(suggestion)
                }),
            }
        }
        match pq {
            CleanParquet::Rows(t) => t.push(&cells),
            CleanParquet::Inferred(t) => t.push(&cells),
            CleanParquet::Typed(t) => {
                t.keep(index, &cells);
                Ok(())
            }
        }
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Loads the cache file and starts the resolver, when DNS is on.
fn start_dns(config: &Config) -> Result<(Option<BulkResolver>, dns::cache::Loaded), Error> {
    let Some(dns_config) = &config.dns else {
        return Ok((None, dns::cache::Loaded::default()));
    };
    let (book, loaded) = dns::cache::load_book(dns_config).map_err(Error::Dns)?;
    let resolver = BulkResolver::start(dns_config, book)
        .map_err(|e| Error::Dns(format!("cannot set up the DNS resolver: {e}")))?;
    Ok((Some(resolver), loaded))
}

/// Waits for the resolver, writes the cache file and summarises the stage.
fn finish_dns(
    config: &Config,
    resolver: Option<BulkResolver>,
    loaded: dns::cache::Loaded,
    domains: &HashMap<String, DomainSeen>,
) -> Result<Option<DnsReport>, Error> {
    let (Some(dns_config), Some(resolver)) = (&config.dns, resolver) else {
        return Ok(None);
    };
    let book = resolver.book().clone();
    let stats = resolver.finish();
    dns::cache::save(dns_config, &book)?;
    let mut by_class: std::collections::BTreeMap<&'static str, u64> =
        MailRoute::ALL.iter().map(|c| (c.as_str(), 0)).collect();
    let mut affected: Vec<DomainCount> = Vec::new();
    for (domain, seen) in domains {
        *by_class.entry(seen.status.class.as_str()).or_insert(0) += 1;
        if seen.status.class != MailRoute::Mx && seen.status.class != MailRoute::ImplicitMx {
            affected.push(DomainCount {
                domain: domain.clone(),
                class: seen.status.class.as_str(),
                rows: seen.rows,
                evidence: seen.status.evidence(),
            });
        }
    }
    affected.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.domain.cmp(&b.domain)));
    affected.truncate(20);
    let servers = if dns_config.servers.is_empty() {
        vec!["system".to_owned()]
    } else {
        dns_config.servers.iter().map(|s| s.to_string()).collect()
    };
    Ok(Some(DnsReport {
        servers,
        domains: domains.len() as u64,
        by_class,
        top_affected_domains: affected,
        cache_fresh: loaded.fresh as u64,
        cache_expired: loaded.expired as u64,
        cache_damaged_lines: loaded.damaged as u64,
        stats,
    }))
}

fn dns_warnings(dns: &DnsReport) -> Vec<String> {
    let mut warnings = Vec::new();
    let unknown = dns.by_class.get("unknown").copied().unwrap_or(0);
    if dns.stats.breaker_tripped {
        warnings.push(format!(
            "DNS: the resolver ({}) stopped answering, so mailscrub stopped asking; {unknown} domain(s) are `unknown` and nobody was suppressed for a DNS reason on them",
            dns.servers.join(", ")
        ));
    } else if unknown > 0 {
        warnings.push(format!(
            "DNS: {unknown} domain(s) could not be resolved (timeout, SERVFAIL, ...); their rows are kept and flagged dns_unknown"
        ));
    }
    if dns.cache_damaged_lines > 0 {
        warnings.push(format!(
            "DNS cache: {} damaged line(s) ignored",
            dns.cache_damaged_lines
        ));
    }
    warnings
}
