//! Stage 4: bounce and feedback evidence.
//!
//! Paths (files or folders) come in; [`BounceEvent`]s come out, each with its recipient
//! normalised exactly like the list's addresses (so the dedupe keys match), a class from
//! [`classify`], and its source (`file:line`). The format of each file is detected from its
//! content (a `--bounce-format` override exists for the odd case); gzip is read transparently.
//! A file or message that cannot be parsed is counted and named in [`SourceReport`], never an
//! error that stops the run, and never evidence against anyone.

pub mod classify;
mod date;
pub mod esp;
pub mod event;
pub mod logs;
mod mbox;
pub mod message;
mod mime_lite;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::Serialize;

pub use classify::EventClass;
use event::RawEvent;

use crate::address::{self, AddressRules, FlagLists};
use crate::dedupe::DedupeKey;

/// One delivery or feedback event about one recipient.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BounceEvent {
    /// The recipient, normalised like the list.
    pub recipient: Box<str>,
    /// Its dedupe key.
    #[serde(skip)]
    pub key: DedupeKey,
    /// Unix time, when known.
    pub timestamp: Option<i64>,
    /// Basic SMTP reply code.
    pub smtp_code: Option<u16>,
    /// Enhanced status code.
    pub status: Option<Box<str>>,
    /// The remote server's words.
    pub diagnostic: Box<str>,
    /// The class.
    pub class: EventClass,
    /// Where it was read (`file:line`, or the file for a single message); shared per file so that
    /// millions of events do not each carry a copy of the path.
    pub source: Source,
    /// The format it was read as.
    pub format: Format,
}

impl BounceEvent {
    /// The rule that decided the event's class, in words (`mailscrub bounces --explain`): the
    /// classifier's rule for its codes and text, or what overruled it.
    pub fn rule(&self) -> String {
        let status = self.status.as_deref().and_then(classify::Enhanced::parse);
        let (class, rule) = classify::classify_explained(self.smtp_code, status, &self.diagnostic);
        let dead_words = class == EventClass::Dead || rule.softens_dead();
        match (class, self.class) {
            (a, b) if a == b => rule.to_string(),
            (_, EventClass::SenderSide) if dead_words => format!(
                "{rule}; but the reply names the domain the notice was sent to (the sender's), \
                 not the recipient's: sender side"
            ),
            _ => format!(
                "the report's own fields ({} format: an Action, a feedback report, a record type)",
                self.format.name()
            ),
        }
    }
}

/// Where an event was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    /// The file.
    pub file: std::sync::Arc<str>,
    /// The line (of a log, mbox or list); 0 when the file is one message.
    pub line: u64,
}

impl Source {
    /// Appends `file:line`, or the file alone for a single message (line 0). The suppression
    /// file writes this for every suppressed address, into a buffer it reuses.
    pub fn push_to(&self, out: &mut String) {
        out.push_str(&self.file);
        if self.line > 0 {
            out.push(':');
            out.push_str(itoa::Buffer::new().format(self.line));
        }
    }
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut text = String::new();
        self.push_to(&mut text);
        f.write_str(&text)
    }
}

impl Serialize for Source {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Input formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Format {
    /// One email: a DSN, an ARF report, a non-standard bounce, an auto-reply.
    Eml,
    /// Many emails in one mbox file.
    Mbox,
    /// Postfix log.
    Postfix,
    /// Exim main log.
    Exim,
    /// SES / SendGrid / Mailgun / Postmark JSON.
    Json,
    /// An earlier suppression file (mailscrub's or an ESP's with a reason column).
    Suppression,
    /// SendGrid suppression CSV export.
    SendgridCsv,
    /// An unsubscribe list (CSV with an email column, or one address per line).
    Unsubscribe,
}

impl Format {
    /// Parses a `--bounce-format` value.
    pub fn from_name(name: &str) -> Option<Format> {
        Some(match name {
            "eml" | "dsn" | "email" => Format::Eml,
            "mbox" => Format::Mbox,
            "postfix" => Format::Postfix,
            "exim" => Format::Exim,
            "json" | "ses" | "sendgrid" | "mailgun" | "postmark" => Format::Json,
            "suppression" => Format::Suppression,
            "sendgrid-csv" => Format::SendgridCsv,
            "unsubscribe" => Format::Unsubscribe,
            _ => return None,
        })
    }

    /// The names `--bounce-format` accepts.
    pub const NAMES: &'static str =
        "eml, mbox, postfix, exim, json, suppression, sendgrid-csv, unsubscribe";
}

/// How to read bounce inputs.
#[derive(Debug, Clone)]
pub struct BounceOptions {
    /// Force one format for every file.
    pub format: Option<Format>,
    /// The year of year-less Postfix lines; default: the year of `as_of`.
    pub postfix_year: Option<i32>,
    /// Events after this Unix time are ignored by the policy; also anchors Postfix years.
    pub as_of: i64,
    /// Address rules for normalising recipients (the list's).
    pub rules: AddressRules,
    /// Provider rules in the dedupe key (the list's).
    pub provider_rules: bool,
    /// A file of which no record can be read is reported, not an error (`--lenient-bounces`).
    pub lenient: bool,
    /// Keep every event's text, deliveries' and deferrals' too (reading to look: `mailscrub
    /// bounces`); a run keeps only the texts that are evidence, so that a big log's history
    /// stays small in memory.
    pub keep_all_text: bool,
}

/// What was read from one file.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SourceReport {
    /// The file.
    pub file: String,
    /// The format it was read as (`unknown` when not recognised).
    pub format: String,
    /// Events taken from it.
    pub events: u64,
    /// Messages, lines or records that could not be read.
    pub unreadable: u64,
    /// Events whose recipient is not a valid address.
    pub bad_recipients: u64,
    /// The first reasons, with their location.
    pub errors: Vec<String>,
    /// Something about the file the operator must know (a subscriber list given as evidence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

impl SourceReport {
    fn error(&mut self, what: String) {
        self.unreadable += 1;
        if self.errors.len() < 10 {
            self.errors.push(what);
        }
    }
}

/// Everything read from the bounce inputs.
#[derive(Debug, Default)]
pub struct Ingested {
    /// Every event, in the order read.
    pub events: Vec<BounceEvent>,
    /// Per file.
    pub sources: Vec<SourceReport>,
}

/// Why the bounce inputs cannot be read at all (a path that does not exist).
#[derive(Debug, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct BounceInputError {
    /// The path given.
    pub path: String,
    /// Why.
    pub reason: String,
}

/// Reads every file under `paths`.
pub fn ingest(paths: &[PathBuf], options: &BounceOptions) -> Result<Ingested, BounceInputError> {
    let mut files = Vec::new();
    for p in paths {
        collect_files(p, &mut files)?;
    }
    let lists = FlagLists::builtin();
    let mut ingested = Ingested::default();
    for file in files {
        let (events, report) = crate::guard::contained(|| read_file(&file, options, &lists))
            .unwrap_or_else(|why| {
                let mut report = SourceReport {
                    file: file.display().to_string(),
                    format: "unknown".to_owned(),
                    ..SourceReport::default()
                };
                report.error(format!("{}: {why}", file.display()));
                (Vec::new(), report)
            });
        if ingested.events.is_empty() {
            ingested.events = events;
        } else {
            ingested.events.extend(events);
        }
        if report.events == 0 && report.unreadable > 0 && !options.lenient {
            return Err(BounceInputError {
                path: report.file.clone(),
                reason: format!(
                    "no record of this evidence file could be read ({}); check the file, or pass --lenient-bounces to go on without it",
                    report.errors.first().map(String::as_str).unwrap_or("unreadable")
                ),
            });
        }
        ingested.sources.push(report);
    }
    Ok(ingested)
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<(), BounceInputError> {
    let meta = std::fs::metadata(path).map_err(|e| BounceInputError {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|e| BounceInputError {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            !p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
        })
        .collect();
    entries.sort();
    for e in entries {
        collect_files(&e, out)?;
    }
    Ok(())
}

fn open(path: &Path) -> std::io::Result<Box<dyn BufRead + Send>> {
    let mut file = BufReader::with_capacity(1 << 16, File::open(path)?);
    let head = file.fill_buf()?;
    if head.starts_with(&[0x1f, 0x8b]) {
        return Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            flate2::bufread::MultiGzDecoder::new(file),
        )));
    }
    if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        return Ok(Box::new(BufReader::with_capacity(
            1 << 16,
            zstd::Decoder::with_buffer(file)?,
        )));
    }
    Ok(Box::new(file))
}

/// Detects the format from the first bytes.
pub fn detect(head: &[u8]) -> Option<Format> {
    let text = String::from_utf8_lossy(head);
    let text = text.trim_start_matches('\u{feff}');
    let trimmed = text.trim_start();
    if text.starts_with("From ") {
        return Some(Format::Mbox);
    }
    if trimmed.starts_with('{') || trimmed.starts_with('[') {
        return Some(Format::Json);
    }
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .take(20)
        .collect();
    if lines.iter().any(|l| logs::is_postfix(l))
        || lines
            .iter()
            .take(5)
            .any(|l| logs::looks_like_mta_log(l) && l.contains("postfix"))
    {
        return Some(Format::Postfix);
    }
    if lines.iter().any(|l| logs::is_exim(l))
        || lines.iter().take(5).any(|l| logs::looks_like_mta_log(l))
    {
        return Some(Format::Exim);
    }
    let first = lines.first().copied().unwrap_or("");
    let header_like = |l: &str| {
        l.split_once(':').is_some_and(|(k, _)| {
            !k.is_empty()
                && !k.contains(' ')
                && k.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
    };
    if header_like(first)
        && lines
            .iter()
            .take(12)
            .filter(|l| header_like(l) || l.starts_with([' ', '\t']))
            .count()
            >= 3
    {
        return Some(Format::Eml);
    }
    let lower = first.to_ascii_lowercase();
    if lower.contains("email") || lower.contains("address") || lower.contains("recipient") {
        let header: Vec<String> = csv::ReaderBuilder::new()
            .has_headers(false)
            .from_reader(first.as_bytes())
            .records()
            .next()
            .and_then(Result::ok)
            .map(|r| r.iter().map(|h| h.trim().to_ascii_lowercase()).collect())
            .unwrap_or_default();
        return match esp::csv_kind(&header) {
            Some(esp::CsvList::PriorSuppression) => Some(Format::Suppression),
            Some(esp::CsvList::SendgridSuppression) => Some(Format::SendgridCsv),
            // Read as CSV lists; each row's meaning comes from the header (`esp::csv_kind`).
            Some(
                esp::CsvList::Unsubscribe
                | esp::CsvList::EspUnsubscribed
                | esp::CsvList::EspCleaned
                | esp::CsvList::ConsentExport,
            ) => Some(Format::Unsubscribe),
            None => None,
        };
    }
    if !lines.is_empty()
        && lines
            .iter()
            .all(|l| l.trim().contains('@') && !l.trim().contains(' '))
    {
        return Some(Format::Unsubscribe);
    }
    None
}

impl Format {
    /// The format's name, as `--bounce-format` takes it.
    pub fn name(self) -> &'static str {
        format_name(self)
    }
}

fn format_name(f: Format) -> &'static str {
    match f {
        Format::Eml => "eml",
        Format::Mbox => "mbox",
        Format::Postfix => "postfix",
        Format::Exim => "exim",
        Format::Json => "json",
        Format::Suppression => "suppression",
        Format::SendgridCsv => "sendgrid-csv",
        Format::Unsubscribe => "unsubscribe",
    }
}

/// Turns raw events into normalised ones.
struct Normaliser<'a> {
    options: &'a BounceOptions,
    lists: &'a FlagLists,
    file: std::sync::Arc<str>,
    format: Format,
}

impl Normaliser<'_> {
    /// [`Normaliser::event`], where a panic costs that event only.
    fn guarded(&self, raw: RawEvent, location: Option<u64>) -> Result<BounceEvent, String> {
        crate::guard::contained(|| self.event(raw, location)).and_then(|e| e)
    }

    fn event(&self, raw: RawEvent, location: Option<u64>) -> Result<BounceEvent, String> {
        let recipient = raw
            .recipient
            .trim_matches(|c| matches!(c, '\'' | '"' | '.' | ',' | ';'));
        let checked = address::check(recipient, &self.options.rules, self.lists);
        // A reserved domain is still a well-formed address: the history is kept (the list's own
        // row with such a domain is suppressed by the syntax stage anyway).
        let usable = checked
            .problem
            .as_ref()
            .is_none_or(|p| p.reason == crate::record::Reason::ReservedDomain);
        if !usable {
            return Err(format!(
                "recipient {:?} is not a valid address",
                raw.recipient
            ));
        }
        let key = address::dedupe_key(&checked, self.options.provider_rules);
        let source = Source {
            file: self.file.clone(),
            line: location.unwrap_or(0),
        };
        // Deliveries and deferrals decide nothing by their words: keep the text only where it
        // is evidence (or an example for the sender-side section), so that a big log's history
        // stays small in memory.
        let keep_text = self.options.keep_all_text
            || match raw.class {
                EventClass::Delivered | EventClass::NotABounce => false,
                EventClass::Transient => {
                    raw.status.as_deref().is_some_and(|s| s.starts_with("4.7."))
                }
                _ => true,
            };
        let diagnostic = if keep_text {
            raw.diagnostic
        } else {
            String::new()
        };
        let recipient = if checked.is_valid() {
            checked.address
        } else {
            let (l, d) = checked
                .address
                .rsplit_once('@')
                .unwrap_or((&checked.address, ""));
            format!("{l}@{}", d.to_lowercase())
        };
        Ok(BounceEvent {
            recipient: recipient.into_boxed_str(),
            key,
            timestamp: raw.timestamp,
            smtp_code: raw.smtp_code,
            status: raw.status.map(String::into_boxed_str),
            diagnostic: diagnostic.into(),
            class: raw.class,
            source,
            format: self.format,
        })
    }
}

fn read_file(
    path: &Path,
    options: &BounceOptions,
    lists: &FlagLists,
) -> (Vec<BounceEvent>, SourceReport) {
    let name = path.display().to_string();
    let mut report = SourceReport {
        file: name.clone(),
        format: "unknown".to_owned(),
        ..SourceReport::default()
    };
    let mut reader = match open(path) {
        Ok(r) => r,
        Err(e) => {
            report.error(format!("{name}: cannot open: {e}"));
            return (Vec::new(), report);
        }
    };
    let format = match options.format {
        Some(f) => f,
        None => {
            let head = match reader.fill_buf() {
                Ok(h) => h.to_vec(),
                Err(e) => {
                    report.error(format!("{name}: read error: {e}"));
                    return (Vec::new(), report);
                }
            };
            if head.is_empty() {
                // An empty file (a log rotated a minute ago) holds no evidence, and no error.
                report.format = "empty".to_owned();
                return (Vec::new(), report);
            }
            match detect(&head) {
                Some(f) => f,
                None => {
                    report.error(format!(
                        "{name}: not a recognised bounce or feedback format (give one with --bounce-format: {})",
                        Format::NAMES
                    ));
                    return (Vec::new(), report);
                }
            }
        }
    };
    report.format = format_name(format).to_owned();
    let norm = Normaliser {
        options,
        lists,
        file: std::sync::Arc::from(name.as_str()),
        format,
    };
    let mut events = Vec::new();
    // Normalising a recipient is a full address check: done in parallel, a slice of the list at
    // a time, so that the results in between fit in memory already in use.
    let push = |events: &mut Vec<BounceEvent>,
                report: &mut SourceReport,
                raw: Result<Vec<(Option<u64>, RawEvent)>, String>,
                at: String| match raw {
        Ok(list) => {
            // Reserved once: a million events pushed one by one were copied at every doubling.
            events.reserve(list.len());
            let mut list = list.into_iter();
            loop {
                let slice: Vec<(Option<u64>, RawEvent)> = list.by_ref().take(1 << 14).collect();
                if slice.is_empty() {
                    break;
                }
                let normalised: Vec<Result<BounceEvent, String>> = slice
                    .into_par_iter()
                    .with_min_len(256)
                    .map(|(loc, r)| norm.guarded(r, loc))
                    .collect();
                keep(events, report, &|| at.clone(), normalised);
            }
        }
        Err(why) => report.error(format!("{at}: {why}")),
    };
    let result = match format {
        Format::Eml => read_all(path, &mut reader).map(|bytes| {
            let parsed = crate::guard::contained(|| message::parse_message(&bytes))
                .and_then(|r| r)
                .map(|evs| evs.into_iter().map(|e| (None, e)).collect());
            push(&mut events, &mut report, parsed, name.clone());
        }),
        // A message's events are normalised where it was parsed, on the pool: an mbox is
        // mostly one event per message, too few to share out after the fact.
        Format::Mbox => read_mbox(
            reader,
            |line, bytes| {
                crate::guard::contained(|| message::parse_message(bytes))
                    .and_then(|r| r)
                    .map(|evs| {
                        evs.into_iter()
                            .map(|e| norm.guarded(e, Some(line)))
                            .collect()
                    })
            },
            |line, r| match r {
                Ok(list) => keep(&mut events, &mut report, &|| format!("{name}:{line}"), list),
                Err(why) => report.error(format!("{name}:{line}: {why}")),
            },
        ),
        Format::Postfix | Format::Exim => {
            let year = match options.postfix_year {
                Some(y) => logs::PostfixYear::Given(y),
                None => logs::PostfixYear::Inferred(options.as_of),
            };
            let failed = std::sync::Mutex::new(Vec::new());
            let read = read_lines(
                reader,
                |line_no, line| {
                    let ev = crate::guard::contained(|| {
                        if format == Format::Postfix {
                            logs::parse_postfix(line, year)
                        } else {
                            logs::parse_exim(line)
                        }
                    });
                    match ev {
                        Ok(ev) => ev.map(|e| (Some(line_no), e)),
                        Err(why) => {
                            failed
                                .lock()
                                .unwrap_or_else(|p| p.into_inner())
                                .push(format!("{name}:{line_no}: {why}"));
                            None
                        }
                    }
                },
                |found| push(&mut events, &mut report, Ok(found), name.clone()),
            );
            for why in failed.into_inner().unwrap_or_else(|p| p.into_inner()) {
                report.error(why);
            }
            read
        }
        Format::Json => read_json(reader, |loc, r| {
            push(
                &mut events,
                &mut report,
                r.map(|evs| evs.into_iter().map(|e| (Some(loc), e)).collect()),
                format!("{name}:{loc}"),
            )
        }),
        Format::Suppression | Format::SendgridCsv | Format::Unsubscribe => {
            read_all(path, &mut reader).map(|bytes| {
                let forced = match (options.format, format) {
                    (Some(_), Format::Suppression) => Some(esp::CsvList::PriorSuppression),
                    (Some(_), Format::SendgridCsv) => Some(esp::CsvList::SendgridSuppression),
                    (Some(_), Format::Unsubscribe) => Some(esp::CsvList::Unsubscribe),
                    _ => None,
                };
                let (bytes, added) = plain_list_as_csv(crlf_as_lf(bytes));
                report.warning = esp::looks_like_a_list(&bytes).then(|| {
                    format!(
                        "{name} looks like a subscriber list (many columns, no reason, status or date column), yet every address in it was taken as an unsubscribe: was it meant as an input?"
                    )
                });
                match esp::csv_events(&bytes, forced) {
                    Ok((list, skipped)) => {
                        report.unreadable += skipped;
                        push(
                            &mut events,
                            &mut report,
                            Ok(list
                                .into_iter()
                                .map(|(l, e)| (Some(l - added), e))
                                .collect()),
                            name.clone(),
                        );
                    }
                    Err(why) => report.error(format!("{name}: {why}")),
                }
            })
        }
    };
    if let Err(e) = result {
        report.error(format!("{name}: read error: {e}"));
    }
    (events, report)
}

/// `bytes` with `\r\n` outside quoted fields read as `\n` (see [`crate::input::CrlfAsLf`]: the
/// `csv` crate would number a Windows-style list's lines one too low).
fn crlf_as_lf(bytes: Vec<u8>) -> Vec<u8> {
    if !crate::input::has_crlf(&bytes) {
        return bytes;
    }
    let mut out = Vec::with_capacity(bytes.len());
    crate::input::CrlfAsLf::new(&bytes[..])
        .read_to_end(&mut out)
        .expect("reading from memory does not fail");
    out
}

/// A file of bare addresses, one per line, gets an `email` header so it reads as a CSV list;
/// returns the lines added (to keep line numbers those of the file).
fn plain_list_as_csv(bytes: Vec<u8>) -> (Vec<u8>, u64) {
    let first = bytes.split(|b| *b == b'\n').next().unwrap_or(&[]);
    if first.contains(&b'@') && !first.contains(&b',') {
        let mut out = b"email\n".to_vec();
        out.extend_from_slice(&bytes);
        return (out, 1);
    }
    (bytes, 0)
}

/// The whole of `reader`, in a buffer sized for `path`'s length on disk (reading a 30 MB list into
/// a growing buffer copied it five times over; a compressed file still grows from its size).
fn read_all(path: &Path, reader: &mut Box<dyn BufRead + Send>) -> std::io::Result<Vec<u8>> {
    let size = std::fs::metadata(path).map_or(0, |m| m.len());
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    reader.read_to_end(&mut bytes)?;
    Ok(bytes)
}

const BATCH: usize = 8192;

/// Log lines in batches, parsed in parallel, handed over in order.
fn read_lines<F, G>(
    mut reader: Box<dyn BufRead + Send>,
    parse: F,
    mut found: G,
) -> std::io::Result<()>
where
    F: Fn(u64, &str) -> Option<(Option<u64>, RawEvent)> + Sync,
    G: FnMut(Vec<(Option<u64>, RawEvent)>),
{
    let mut line_no = 0u64;
    let mut buf = Vec::new();
    loop {
        let mut batch: Vec<(u64, String)> = Vec::with_capacity(BATCH);
        while batch.len() < BATCH {
            buf.clear();
            if reader.read_until(b'\n', &mut buf)? == 0 {
                break;
            }
            line_no += 1;
            let line = String::from_utf8_lossy(&buf);
            batch.push((line_no, line.trim_end_matches(['\r', '\n']).to_owned()));
        }
        if batch.is_empty() {
            return Ok(());
        }
        let parsed: Vec<(Option<u64>, RawEvent)> =
            batch.par_iter().filter_map(|(n, l)| parse(*n, l)).collect();
        found(parsed);
    }
}

type MessageResult = Result<Vec<Result<BounceEvent, String>>, String>;

/// Normalised events into `events`; a recipient that is not an address into `report`, named
/// by `at` (written only then).
fn keep(
    events: &mut Vec<BounceEvent>,
    report: &mut SourceReport,
    at: &dyn Fn() -> String,
    normalised: Vec<Result<BounceEvent, String>>,
) {
    for result in normalised {
        match result {
            Ok(e) => {
                report.events += 1;
                events.push(e);
            }
            Err(why) => {
                report.bad_recipients += 1;
                if report.errors.len() < 10 {
                    report.errors.push(format!("{}: {why}", at()));
                }
            }
        }
    }
}

/// Messages of an mbox file (see [`mbox`]), parsed in parallel batches and handed to `found`
/// in order. A thread cuts the next batch while the pool parses this one.
fn read_mbox<F, G>(
    mut reader: Box<dyn BufRead + Send>,
    parse: F,
    mut found: G,
) -> std::io::Result<()>
where
    F: Fn(u64, &[u8]) -> MessageResult + Sync,
    G: FnMut(u64, MessageResult),
{
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(2);
        let cutter = scope.spawn(move || {
            mbox::split(&mut reader, 1024, |batch| {
                // The parsing side is gone (it stopped): nothing more to cut.
                tx.send(batch)
                    .map_err(|_| std::io::Error::other("the mbox reader stopped"))
            })
        });
        for batch in rx {
            let results: Vec<(u64, MessageResult)> = (0..batch.len())
                .into_par_iter()
                .map(|i| {
                    let (l, m) = batch.get(i);
                    (l, parse(l, m))
                })
                .collect();
            for (l, r) in results {
                found(l, r);
            }
        }
        cutter
            .join()
            .unwrap_or_else(|p| std::panic::resume_unwind(p))
    })
}

/// JSON: one document (object or array) or one object per line.
fn read_json<G>(mut reader: Box<dyn BufRead + Send>, mut found: G) -> std::io::Result<()>
where
    G: FnMut(u64, Result<Vec<RawEvent>, String>),
{
    let mut bytes = Vec::new();
    reader.read_to_end(&mut bytes)?;
    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&bytes) {
        match &v {
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    found(i as u64 + 1, guarded_json(item));
                }
            }
            _ => found(1, guarded_json(&v)),
        }
        return Ok(());
    }
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = String::from_utf8_lossy(line);
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let result = serde_json::from_str::<serde_json::Value>(line)
            .map_err(|e| format!("not JSON: {e}"))
            .and_then(|v| guarded_json(&v));
        found(i as u64 + 1, result);
    }
    Ok(())
}

/// One JSON record's events; a panic on it costs that record only.
fn guarded_json(v: &serde_json::Value) -> Result<Vec<RawEvent>, String> {
    crate::guard::contained(|| esp::json_events(v)).and_then(|r| r)
}
