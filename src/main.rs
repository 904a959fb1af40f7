//! The `mailscrub` binary: parse flags, build a [`Config`], call the library, map errors to exit
//! codes. Exit codes: 0 success, 2 bad usage, 3 an input could not be read, 4 an output could not
//! be written, 1 anything else.

mod cli;
mod config_file;
mod resolve_lines;

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mailscrub::address::{self, AddressRules, FlagLists};
use mailscrub::dns::DnsConfig;
use mailscrub::input::EmailColumn;
use mailscrub::record::{flag_names, repair_names};
use mailscrub::{defaults, exit, Config, Error};

use cli::{
    AddressArgs, BounceReadArgs, BouncesArgs, CheckArgs, CleanArgs, Cli, Command, DnsArgs,
    ExportArgs, ResolveArgs, SuppressionCommand,
};

/// The row pipeline allocates small strings on several threads at once, which mimalloc's
/// per-thread heaps serve without contention (figures in benches/README.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `purge_delay` option: its number in both of the crate's mimalloc versions (2 and 3),
/// and the one `MIMALLOC_PURGE_DELAY` sets.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps the memory a run frees for its own reuse instead of handing it back to the system once
/// it has been free a while (`delay` -1): the row pipeline frees memory on one thread that
/// another allocates again later, and each page handed back was faulted in and zeroed anew
/// (8-13k page faults and up to 2 s of system time on a 10M-row run; 650 without purging, same
/// peak memory). Under `--memory-limit` (`delay` 0) freed memory goes back at once: the limit
/// counts what the run holds, not what it once held. A `MIMALLOC_PURGE_DELAY` in the environment
/// is the user's choice and is left alone.
fn set_purge_delay(delay: std::ffi::c_long) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    // SAFETY: setting a mimalloc option is thread-safe and has no other effect than the
    // option's; -1 ("never purge") and 0 ("purge at once") are documented values.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay) }
}

/// mimalloc's `arena_eager_commit` option, the same number in both of its versions (2 and 3),
/// and the one `MIMALLOC_ARENA_EAGER_COMMIT` sets.
const MI_OPTION_ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;

/// Commits the allocator's arenas as their pages are used rather than all at once (mimalloc's
/// default on Linux, where memory is overcommitted): whole arenas committed up front showed as
/// 15-20 MB more resident memory under `--memory-limit` (50 MB against 31 MB on 10M rows) and
/// 30-40 MB more without it, in the same time (benches/README.md, tenth session). The first
/// arena is made by the first allocation, before `main`, so this runs as a constructor of the
/// program, and allocates nothing itself. A `MIMALLOC_ARENA_EAGER_COMMIT` in the environment is
/// the user's choice and is left alone.
#[cfg(target_os = "linux")]
extern "C" fn commit_arenas_lazily() {
    extern "C" {
        fn getenv(name: *const std::ffi::c_char) -> *mut std::ffi::c_char;
    }
    // SAFETY: `getenv` reads the environment with a NUL-terminated name and allocates nothing;
    // nothing writes the environment while the program's constructors run.
    if !unsafe { getenv(c"MIMALLOC_ARENA_EAGER_COMMIT".as_ptr()) }.is_null() {
        return;
    }
    // SAFETY: setting a mimalloc option is thread-safe and has no other effect than the
    // option's; 0 ("never eagerly") is a documented value.
    unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_ARENA_EAGER_COMMIT, 0) }
}

/// Runs [`commit_arenas_lazily`] before the first allocation (see there).
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
static COMMIT_ARENAS_LAZILY: extern "C" fn() = commit_arenas_lazily;

fn main() -> ExitCode {
    set_purge_delay(-1);
    // A panic inside a contained parse is reported as an unreadable record; any other panic
    // prints as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !mailscrub::guard::is_contained() {
            default_hook(info);
        }
    }));
    // A `clean` with `--config FILE`: the file's settings go under the command line's.
    let mut argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "clean") {
        if let Some(path) = config_file::config_path(&argv) {
            match config_file::merge(std::path::Path::new(&path), &argv) {
                Ok(merged) => argv = merged.argv,
                Err(e) => {
                    eprintln!("mailscrub: error: {e:#}");
                    return ExitCode::from(exit::USAGE);
                }
            }
        }
    }
    let cli = match Cli::try_parse_from(&argv) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { exit::USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Clean(args) => clean(*args),
        Command::Check(args) => check(args),
        Command::Resolve(args) => resolve(args),
        Command::Bounces(args) => bounces(args),
        Command::Inspect(args) => inspect(args),
        Command::Lint(args) => lint(args),
        Command::Lists => (|| -> Result<()> {
            let mut out = io::stdout().lock();
            for (name, n, source) in address::bundled_lists() {
                writeln!(out, "{name}: {n} entries: {source}")?;
            }
            Ok(())
        })(),
        Command::Suppression {
            action: SuppressionCommand::Export(args),
        } => export(args),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "mailscrub", &mut io::stdout());
            Ok(())
        }
        Command::Man => (|| -> Result<()> {
            use clap::CommandFactory;
            clap_mangen::Man::new(Cli::command()).render(&mut io::stdout().lock())?;
            Ok(())
        })(),
        Command::Config(args) => (|| -> Result<()> {
            let mut clean_argv: Vec<std::ffi::OsString> = vec!["mailscrub".into(), "clean".into()];
            clean_argv.extend(args.args);
            let text = config_file::print(clean_argv).map_err(|e| usage(format!("{e:#}")))?;
            io::stdout().lock().write_all(text.as_bytes())?;
            Ok(())
        })(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if is_broken_pipe(&e) {
                return ExitCode::SUCCESS;
            }
            eprintln!("mailscrub: error: {e:#}");
            ExitCode::from(exit_code(&e))
        }
    }
}

fn exit_code(e: &anyhow::Error) -> u8 {
    match e.downcast_ref::<Error>() {
        Some(e) => e.exit_code(),
        None if e.downcast_ref::<UsageError>().is_some() => exit::USAGE,
        None if e.downcast_ref::<LintFailed>().is_some() => exit::LINT,
        None => exit::OTHER,
    }
}

/// Calls `f` with each line of stdin (without its line end) and its number: the text, or, for a
/// line that is not UTF-8, its lossy text and why; one bad line never stops the others.
fn stdin_lines(mut f: impl FnMut(u64, Result<&str, (&str, String)>) -> Result<()>) -> Result<()> {
    let mut input = io::stdin().lock();
    let mut buf = Vec::new();
    let mut n = 0;
    loop {
        buf.clear();
        if input.read_until(b'\n', &mut buf).context("reading stdin")? == 0 {
            return Ok(());
        }
        n += 1;
        while buf.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            buf.pop();
        }
        match std::str::from_utf8(&buf) {
            Ok(text) => f(n, Ok(text))?,
            Err(e) => {
                let lossy = String::from_utf8_lossy(&buf).into_owned();
                let why = format!(
                    "line {n} is not valid UTF-8 (bad byte at offset {})",
                    e.valid_up_to()
                );
                f(n, Err((&lossy, why)))?;
            }
        }
    }
}

/// Whether `e` is stdout closed by the reader (`mailscrub check ... | head`): not a failure. A
/// line written with `serde_json::to_writer` fails with its own error type around the I/O one.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        let kind = match c.downcast_ref::<serde_json::Error>() {
            Some(json) => json.io_error_kind(),
            None => c.downcast_ref::<io::Error>().map(io::Error::kind),
        };
        kind == Some(io::ErrorKind::BrokenPipe)
    })
}

/// A flag value that does not make sense.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
struct UsageError(String);

fn usage(msg: String) -> anyhow::Error {
    UsageError(msg).into()
}

fn address_options(args: &AddressArgs) -> Result<(AddressRules, FlagLists)> {
    let rules = AddressRules {
        allow_quoted_local: args.allow_quoted_local,
        allow_ip_literal: args.allow_ip_literal,
    };
    let mut lists = FlagLists::builtin();
    if let Some(path) = &args.disposable_domains {
        let text = option_file("--disposable-domains", path)?;
        lists.add_disposable(&text);
    }
    if let Some(path) = &args.tld_list {
        let text = option_file("--tld-list", path)?;
        lists
            .set_tlds(&text)
            .map_err(|e| usage(format!("--tld-list {}: {e}", path.display())))?;
    }
    Ok((rules, lists))
}

/// The text of a file named by an option; a bad path is a usage error naming the option.
fn option_file(flag: &str, path: &std::path::Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|e| usage(format!("{flag} {}: {e}", path.display())))
}

fn parse_delimiter(text: &str) -> Result<u8> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        t if t.len() == 1 && t.is_ascii() && t != "\"" && t != "\n" && t != "\r" => {
            Ok(t.as_bytes()[0])
        }
        t => Err(usage(format!(
            "--delimiter {t:?}: give one ASCII character, or `tab`"
        ))),
    }
}

fn clean(args: CleanArgs) -> Result<()> {
    let (rules, lists) = address_options(&args.address)?;
    let to_stdout = args.out.as_os_str() == "-";
    let out_dir = match (&args.side_dir, to_stdout) {
        (Some(side), true) => side.clone(),
        (None, true) => bail!(usage(
            "--out - writes the clean list to stdout: give --side-dir DIR for the suppression \
             file, rejects and report"
                .to_owned()
        )),
        (Some(_), false) => bail!(usage(
            "--side-dir goes with --out - (the clean list on stdout)".to_owned()
        )),
        (None, false) => args.out.clone(),
    };
    if to_stdout && (args.split_rows.is_some() || args.format.iter().any(|f| f.trim() != "csv")) {
        bail!(usage(
            "--out - writes one CSV clean list: leave out --split-rows and --format parquet"
                .to_owned()
        ));
    }
    let mut config = Config::new(args.inputs, out_dir);
    config.rules = rules;
    config.lists = lists;
    config.csv.has_header = !args.no_header;
    config.csv.consent_columns = args.consent_column.clone();
    config.csv.require_opt_in = args.require_opt_in.clone();
    if let Some(d) = &args.delimiter {
        config.csv.delimiter = Some(parse_delimiter(d)?);
    }
    if let Some(col) = &args.email_column {
        config.csv.email_column = match col.parse::<usize>() {
            Ok(0) => bail!(usage(
                "--email-column: columns are numbered from 1".to_owned()
            )),
            Ok(i) => EmailColumn::Index(i),
            Err(_) => EmailColumn::Name(col.clone()),
        };
    }
    if args.batch_rows == 0 {
        bail!(usage("--batch-rows must be at least 1".to_owned()));
    }
    config.batch_rows = args.batch_rows;
    if let Some(p) = &args.partition {
        config.partition = Some(mailscrub::dedupe::Partition::parse(p).map_err(usage)?);
    }
    config.memory_limit = args.memory_limit;
    if config.memory_limit.is_some() {
        set_purge_delay(0);
        if args.batch_rows == defaults::BATCH_ROWS {
            config.batch_rows = defaults::BATCH_ROWS_LIMITED;
        }
    }
    if !(args.max_drop_share.is_finite() && args.max_drop_share > 0.0) {
        bail!(usage(
            "--max-drop-share must be a share above 0 (1 turns the guard off)".to_owned()
        ));
    }
    config.max_drop_share = args.max_drop_share;
    config.history = args.history.clone();
    config.profile.annotate = args.annotate;
    config.profile.columns = args.columns.clone();
    for r in &args.rename {
        let (old, new) = r
            .split_once('=')
            .filter(|(o, n)| !o.trim().is_empty() && !n.trim().is_empty())
            .ok_or_else(|| usage(format!("--rename {r:?}: give OLD=NEW")))?;
        config
            .profile
            .rename
            .push((old.trim().to_owned(), new.trim().to_owned()));
    }
    config.profile.spreadsheet_safe = args.spreadsheet_safe;
    if args.split_rows == Some(0) {
        bail!(usage("--split-rows must be at least 1".to_owned()));
    }
    config.profile.split_rows = args.split_rows;
    config.profile.infer_types = args.infer_types;
    if let Some(d) = &args.out_delimiter {
        config.profile.out_delimiter = Some(parse_delimiter(d)?);
    }
    config.profile.idn_form = match args.idn_form {
        cli::IdnFormArg::Keep => mailscrub::output::shape::IdnForm::Keep,
        cli::IdnFormArg::Ascii => mailscrub::output::shape::IdnForm::Ascii,
        cli::IdnFormArg::Unicode => mailscrub::output::shape::IdnForm::Unicode,
    };
    config.profile.ascii_only = args.ascii_only;
    config.profile.line_ends = match args.line_ends {
        cli::LineEndsArg::Input => mailscrub::output::shape::LineEnds::Input,
        cli::LineEndsArg::Lf => mailscrub::output::shape::LineEnds::Lf,
        cli::LineEndsArg::Crlf => mailscrub::output::shape::LineEnds::Crlf,
    };
    if args.infer_types && !args.format.iter().any(|f| f.trim() == "parquet") {
        bail!(usage(
            "--infer-types types the Parquet output: add --format parquet (or csv,parquet)"
                .to_owned()
        ));
    }
    config.profile.csv = false;
    for f in &args.format {
        match f.trim() {
            "csv" => config.profile.csv = true,
            "parquet" => config.profile.parquet = true,
            other => bail!(usage(format!(
                "--format {other:?}: csv, parquet, or csv,parquet"
            ))),
        }
    }
    config.provider_rules = args.provider_rules;
    config.profile.write_duplicates = args.write_duplicates;
    config.progress = !args.quiet && io::stderr().is_terminal();
    if !args.bounces.is_empty() || args.state.is_some() {
        if args.soft_threshold == 0
            || !(args.soft_window_days.is_finite() && args.soft_window_days > 0.0)
        {
            bail!(usage(
                "--soft-threshold and --soft-window-days must be positive".to_owned()
            ));
        }
        config.bounces = Some(mailscrub::BounceConfig {
            paths: args.bounces.clone(),
            options: bounce_options(&args.bounce_read, config.rules, config.provider_rules)?,
            soft: mailscrub::policy::SoftRule {
                threshold: args.soft_threshold,
                window: (args.soft_window_days * 86_400.0) as i64,
            },
            carry_forward: !args.no_carry_forward,
            state: args.state.clone(),
        });
    }
    config.dns = if args.no_dns {
        None
    } else {
        Some(dns_config(&args.dns)?)
    };

    let report = mailscrub::run(&config)?;
    if !args.quiet {
        eprint!("{}", report.summary(&config.out_dir));
    }
    for w in &report.warnings {
        eprintln!("mailscrub: warning: {w}");
    }
    if !report.identity_holds {
        bail!(
            "internal error: the row accounting does not add up: {}",
            report.identity
        );
    }
    if to_stdout {
        clean_list_to_stdout(&report, &config.out_dir)?;
    }
    Ok(())
}

/// `--out -`: the run's one clean list, read back from the side folder once the outputs have
/// switched, so stdout never carries rows of a run that did not finish.
fn clean_list_to_stdout(
    report: &mailscrub::report::Report,
    side_dir: &std::path::Path,
) -> Result<()> {
    let [list] = report.clean_outputs.as_slice() else {
        bail!(usage(format!(
            "--out -: the inputs have different columns, so {} clean lists were written to {}; \
             give inputs of one layout, or --columns",
            report.clean_outputs.len(),
            side_dir.display()
        )));
    };
    let path = side_dir.join(&list.file);
    let mut file = std::fs::File::open(&path)
        .map_err(|e| anyhow::anyhow!("--out -: {}: {e}", path.display()))?;
    let mut stdout = io::stdout().lock();
    let copied = io::copy(&mut file, &mut stdout).and_then(|_| stdout.flush());
    match copied {
        // A reader that stops early (`| head`) is not an error of the run.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::anyhow!("--out -: writing to stdout: {e}")),
        Ok(()) => Ok(()),
    }
}

fn parse_as_of(text: &str) -> Result<i64> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.timestamp());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        // The whole day counts: events of that day are included.
        if let Some(t) = d.and_hms_opt(23, 59, 59) {
            return Ok(t.and_utc().timestamp());
        }
    }
    Err(usage(format!(
        "--as-of {text:?}: give a date (2024-08-31) or an RFC 3339 time (2024-08-31T12:00:00Z)"
    )))
}

fn bounce_options(
    args: &BounceReadArgs,
    rules: AddressRules,
    provider_rules: bool,
) -> Result<mailscrub::bounces::BounceOptions> {
    if let Some(path) = &args.bounce_rules {
        let text = option_file("--bounce-rules", path)?;
        let rules = mailscrub::bounces::classify::parse_user_rules(&text)
            .map_err(|e| usage(format!("--bounce-rules {}: {e}", path.display())))?;
        mailscrub::bounces::classify::set_user_rules(rules);
    }
    let format = match &args.bounce_format {
        Some(name) => Some(mailscrub::bounces::Format::from_name(name).ok_or_else(|| {
            usage(format!(
                "--bounce-format {name:?}: one of {}",
                mailscrub::bounces::Format::NAMES
            ))
        })?),
        None => None,
    };
    let as_of = match &args.as_of {
        Some(t) => parse_as_of(t)?,
        None => chrono::Utc::now().timestamp(),
    };
    Ok(mailscrub::bounces::BounceOptions {
        format,
        postfix_year: args.postfix_year,
        as_of,
        rules,
        provider_rules,
        lenient: args.lenient_bounces,
        keep_all_text: false,
    })
}

fn export(args: ExportArgs) -> Result<()> {
    use mailscrub::output::export::{export, ExportError, Target};
    let target = Target::from_name(&args.to).ok_or_else(|| {
        usage(format!(
            "--to {:?}: one of ses, sendgrid, mailgun, postmark, csv",
            args.to
        ))
    })?;
    let out = args.out.clone().unwrap_or_else(|| {
        let ext = if target == Target::Postmark {
            "jsonl"
        } else {
            "csv"
        };
        args.input
            .with_file_name(format!("suppression-{}.{ext}", args.to))
    });
    let (dir, name) = mailscrub::files::dir_and_name(&out);
    let name = name.ok_or_else(|| usage(format!("--out {}: not a file name", out.display())))?;
    match export(&args.input, target, &dir, &name) {
        Ok(done) => {
            eprintln!(
                "mailscrub: {} addresses written to {} in {}{}",
                done.rows,
                dir.display(),
                done.files.join(", "),
                if done.left_out > 0 {
                    format!(
                        "; {} left out (syntax, reserved domain or non-ASCII: the service would refuse them)",
                        done.left_out
                    )
                } else {
                    String::new()
                }
            );
            Ok(())
        }
        Err(ExportError::Input { file, reason }) => {
            Err(Error::Input(mailscrub::input::InputError::NotCsv { file, reason }).into())
        }
        Err(ExportError::Output(e)) => Err(Error::Output(e).into()),
    }
}

/// `mailscrub inspect`: what a run would detect, file by file; nothing is written.
fn inspect(args: cli::InspectArgs) -> Result<()> {
    let mut options = mailscrub::input::CsvOptions {
        has_header: !args.no_header,
        ..Default::default()
    };
    if let Some(d) = &args.delimiter {
        options.delimiter = Some(parse_delimiter(d)?);
    }
    if let Some(col) = &args.email_column {
        options.email_column = match col.parse::<usize>() {
            Ok(i) if i > 0 => EmailColumn::Index(i),
            _ => EmailColumn::Name(col.clone()),
        };
    }
    let mut out = io::stdout().lock();
    for path in &args.inputs {
        let mut opened = mailscrub::input::open(path, &options, 64, |r| r).map_err(Error::Input)?;
        let layout = &opened.layout;
        writeln!(out, "{}:", opened.name)?;
        writeln!(
            out,
            "  format {}, compression {}",
            opened.format,
            opened.compression.as_str()
        )?;
        if opened.format == "csv" {
            let d = match layout.delimiter {
                b'\t' => "tab".to_owned(),
                d => format!("{:?}", d as char),
            };
            writeln!(
                out,
                "  delimiter {d}, line ends {}, BOM {}",
                if layout.crlf { "CRLF" } else { "LF" },
                if layout.bom { "yes" } else { "no" }
            )?;
        }
        let header: Vec<String> = layout
            .headers
            .as_ref()
            .map(|h| {
                h.iter()
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        if header.is_empty() {
            writeln!(out, "  no header: {} columns", layout.columns)?;
        } else {
            writeln!(
                out,
                "  header: {} columns: {}",
                header.len(),
                header.join(", ")
            )?;
        }
        let name = header
            .get(layout.email_column)
            .map(|h| format!(" {h:?}"))
            .unwrap_or_default();
        writeln!(out, "  email column {}{name}", layout.email_column + 1)?;
        for note in &layout.notes {
            writeln!(out, "    note: {note}")?;
        }
        for c in &layout.consent {
            writeln!(
                out,
                "  consent column {:?}: a row stops when it holds {:?}",
                c.name, c.values
            )?;
        }
        match opened.expected_rows() {
            Some(n) => writeln!(out, "  about {n} rows")?,
            None => writeln!(out, "  rows: unknown until read (compressed or stdin)")?,
        }
        if let mailscrub::input::RowSource::Csv(reader) = &mut opened.rows {
            let mut batch = reader.batch();
            if reader.read(&mut batch).unwrap_or(false) {
                let samples: Vec<String> = (0..batch.len().min(5))
                    .filter_map(|i| batch.fields(i).get(layout.email_column))
                    .map(|f| String::from_utf8_lossy(f).into_owned())
                    .collect();
                writeln!(out, "  sample values: {}", samples.join(", "))?;
            }
        }
    }
    Ok(())
}

fn bounces(args: BouncesArgs) -> Result<()> {
    // Reading to look: a file with nothing readable is reported, never an error.
    let options = mailscrub::bounces::BounceOptions {
        lenient: true,
        keep_all_text: true,
        ..bounce_options(&args.read, AddressRules::default(), false)?
    };
    let ingested = mailscrub::bounces::ingest(&args.paths, &options).map_err(Error::from)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    for e in &ingested.events {
        if args.explain {
            let mut v = serde_json::to_value(e)?;
            v["rule"] = e.rule().into();
            serde_json::to_writer(&mut out, &v)?;
        } else {
            serde_json::to_writer(&mut out, e)?;
        }
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let mut unreadable = 0;
    for s in &ingested.sources {
        unreadable += s.unreadable;
        for err in &s.errors {
            eprintln!("mailscrub: skipped: {err}");
        }
    }
    eprintln!(
        "mailscrub: {} events from {} file(s); {} message(s) or record(s) could not be read",
        ingested.events.len(),
        ingested.sources.len(),
        unreadable
    );
    Ok(())
}

fn parse_server(text: &str) -> Result<std::net::SocketAddr> {
    if let Ok(addr) = text.parse::<std::net::SocketAddr>() {
        return Ok(addr);
    }
    if let Ok(ip) = text.parse::<std::net::IpAddr>() {
        return Ok(std::net::SocketAddr::new(ip, 53));
    }
    Err(usage(format!(
        "--dns-server {text:?}: give an IP address, optionally with :PORT ([v6]:PORT for IPv6)"
    )))
}

fn dns_config(args: &DnsArgs) -> Result<DnsConfig> {
    if let Some(t) = args.dns_timeout {
        if !(t.is_finite() && t > 0.0) {
            bail!(usage(
                "--dns-timeout must be a positive number of seconds".to_owned()
            ));
        }
    }
    if args.dns_attempts == Some(0) || args.dns_concurrency == 0 || args.dns_breaker == 0 {
        bail!(usage(
            "--dns-attempts, --dns-concurrency and --dns-breaker must be at least 1".to_owned()
        ));
    }
    if !(args.dns_max_dead_share.is_finite() && args.dns_max_dead_share > 0.0) {
        bail!(usage(
            "--dns-max-dead-share must be a share above 0 (1 turns the guard off)".to_owned()
        ));
    }
    if args.dns_cache_min_ttl > args.dns_cache_max_ttl {
        bail!(usage(
            "--dns-cache-min-ttl is above --dns-cache-max-ttl".to_owned()
        ));
    }
    let servers = args
        .servers
        .iter()
        .map(|s| parse_server(s))
        .collect::<Result<Vec<_>>>()?;
    let engine = match args.dns_engine.as_str() {
        "wire" => mailscrub::dns::Engine::Wire,
        "hickory" => mailscrub::dns::Engine::Hickory,
        other => bail!(usage(format!("--dns-engine {other:?}: wire or hickory"))),
    };
    Ok(DnsConfig {
        engine,
        servers,
        resolv_conf: Some(args.resolv_conf.clone()),
        timeout: args.dns_timeout.map(std::time::Duration::from_secs_f64),
        attempts: args.dns_attempts,
        concurrency: args.dns_concurrency,
        breaker_after: args.dns_breaker,
        cache_file: args.dns_cache.clone(),
        cache_min_ttl: std::time::Duration::from_secs(args.dns_cache_min_ttl),
        cache_max_ttl: std::time::Duration::from_secs(args.dns_cache_max_ttl),
        max_dead_share: args.dns_max_dead_share,
    })
}

/// Messages with errors: `mailscrub lint`'s failure, exit code 7.
#[derive(Debug, thiserror::Error)]
#[error("{0} of {1} message(s) have errors")]
struct LintFailed(usize, usize);

fn lint(args: cli::LintArgs) -> Result<()> {
    use mailscrub::lint::{self, Severity};
    if args.explain && args.messages.is_empty() {
        let mut out = io::stdout().lock();
        for c in lint::CHECKS {
            writeln!(out, "{}", lint::explain(c))?;
        }
        return Ok(());
    }
    let config = lint::LintConfig {
        allow_domains: args.allow_domains.clone(),
        dns: if args.no_dns {
            None
        } else {
            Some(dns_config(&args.dns)?)
        },
    };
    let messages = lint::read_messages(&args.messages).map_err(Error::Input)?;
    let reports = lint::lint(&messages, &config).map_err(Error::Dns)?;
    let mut out = io::BufWriter::new(io::stdout().lock());
    for r in &reports {
        for f in &r.findings {
            if args.json {
                let json = serde_json::json!({
                    "file": r.file, "check": f.check, "severity": f.severity, "message": f.message,
                });
                serde_json::to_writer(&mut out, &json)?;
                out.write_all(b"\n")?;
            } else {
                writeln!(out, "{}", lint::text_line(&r.file, f))?;
                if args.explain && f.severity != Severity::Ok {
                    if let Some(c) = lint::check(f.check) {
                        writeln!(out, "    why: {}\n    source: {}", c.why, c.source)?;
                    }
                }
            }
        }
    }
    out.flush()?;
    let count = |s| reports.iter().map(|r| r.count(s)).sum::<usize>();
    eprintln!(
        "{} message(s): {} error(s), {} warning(s), {} ok{}",
        reports.len(),
        count(Severity::Error),
        count(Severity::Warning),
        count(Severity::Ok),
        if args.no_dns {
            " (DNS checks skipped: --no-dns)"
        } else {
            ""
        }
    );
    let failed = reports
        .iter()
        .filter(|r| r.count(Severity::Error) > 0)
        .count();
    if failed > 0 {
        bail!(LintFailed(failed, reports.len()));
    }
    Ok(())
}

fn resolve(args: ResolveArgs) -> Result<()> {
    let config = dns_config(&args.dns)?;
    let mut inputs = args.domains;
    if inputs.is_empty() {
        // A line that is not UTF-8 is passed on as its lossy text: it is not a valid domain, and
        // its answer says so.
        stdin_lines(|_, line| {
            match line {
                Ok(text) if text.trim().is_empty() => {}
                Ok(text) => inputs.push(text.to_owned()),
                Err((raw, _)) => inputs.push(raw.to_owned()),
            }
            Ok(())
        })?;
    }
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // Each answer is written as soon as it and the ones before it are in, while the rest are
    // being resolved.
    let mut failed = None;
    mailscrub::dns::resolve_each(&config, &inputs, |input, answer| {
        let line = match answer {
            Ok(status) => {
                serde_json::to_writer(&mut out, &resolve_lines::Resolved::of(input, status))
            }
            Err(e) => serde_json::to_writer(&mut out, &resolve_lines::Unresolved::of(input, e)),
        };
        match line
            .map_err(io::Error::from)
            .and_then(|()| out.write_all(b"\n"))
        {
            Ok(()) => std::ops::ControlFlow::Continue(()),
            Err(e) => {
                failed = Some(e);
                std::ops::ControlFlow::Break(())
            }
        }
    })
    .map_err(Error::Dns)?;
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.flush()?;
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    let (rules, lists) = address_options(&args.address)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    // One JSON object per address; for a stdin line that is not UTF-8, one that says so.
    let mut one = |input: Result<&str, (&str, String)>| -> Result<()> {
        let json = match input {
            Ok(input) => {
                let c = address::check(input, &rules, &lists);
                serde_json::json!({
                    "input": input,
                    "valid": c.is_valid(),
                    "address": c.address,
                    "ascii_address": c.ascii_address(),
                    "reason": c.problem.as_ref().map(|p| p.reason.as_str()),
                    "detail": c.problem.as_ref().map(|p| p.detail.as_str()),
                    "repairs": repair_names(c.repairs),
                    "flags": flag_names(c.flags),
                    "suggestion": c.suggestion,
                })
            }
            Err((raw, why)) => serde_json::json!({
                "input": raw,
                "valid": false,
                "reason": "unreadable",
                "detail": why,
            }),
        };
        serde_json::to_writer(&mut out, &json)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    if args.addresses.is_empty() {
        stdin_lines(|_, line| match line {
            Ok(text) if text.trim().is_empty() => Ok(()),
            line => one(line),
        })?;
    } else {
        for a in &args.addresses {
            one(Ok(a))?;
        }
    }
    out.flush()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The constructor ran before the test harness's first allocation: arenas are committed as
    /// they are used (unless the environment says otherwise, which the test then cannot check).
    #[test]
    #[cfg(target_os = "linux")]
    fn arenas_are_committed_lazily() {
        if std::env::var_os("MIMALLOC_ARENA_EAGER_COMMIT").is_some() {
            return;
        }
        // SAFETY: reading a mimalloc option has no effect but the read.
        let eager = unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_ARENA_EAGER_COMMIT) };
        assert_eq!(eager, 0);
    }
}
