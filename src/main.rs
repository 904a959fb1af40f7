//! The `mailscrub` binary: parse flags, build a [`Config`], call the library, map errors to exit
//! codes. Exit codes: 0 success, 2 bad usage, 3 an input could not be read, 4 an output could not
//! be written, 1 anything else.

mod cli;

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::Parser;
use mailscrub::address::{self, AddressRules, FlagLists};
use mailscrub::input::EmailColumn;
use mailscrub::record::{flag_names, repair_names};
use mailscrub::{Config, Error};

use cli::{AddressArgs, CheckArgs, CleanArgs, Cli, Command};

const EXIT_USAGE: u8 = 2;
const EXIT_INPUT: u8 = 3;
const EXIT_OUTPUT: u8 = 4;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { EXIT_USAGE } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Clean(args) => clean(args),
        Command::Check(args) => check(args),
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
        Some(Error::Usage(_)) => EXIT_USAGE,
        Some(Error::Input(_)) => EXIT_INPUT,
        Some(Error::Output(_)) => EXIT_OUTPUT,
        None if e.downcast_ref::<UsageError>().is_some() => EXIT_USAGE,
        None => 1,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<io::Error>()
            .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
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
        let text = std::fs::read_to_string(path)
            .map_err(|e| usage(format!("--disposable-domains {}: {e}", path.display())))?;
        lists.add_disposable(&text);
    }
    Ok((rules, lists))
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
    let mut config = Config::new(args.inputs, args.out);
    config.rules = rules;
    config.lists = lists;
    config.csv.has_header = !args.no_header;
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
    config.annotate = args.annotate;
    config.provider_rules = args.provider_rules;
    config.write_duplicates = args.write_duplicates;
    config.progress = !args.quiet && io::stderr().is_terminal();

    let report = mailscrub::run(&config)?;
    if !args.quiet {
        eprint!("{}", report.summary(&config.out_dir));
    }
    if !report.identity_holds {
        bail!(
            "internal error: the row accounting does not add up: {}",
            report.identity
        );
    }
    Ok(())
}

fn check(args: CheckArgs) -> Result<()> {
    let (rules, lists) = address_options(&args.address)?;
    let stdout = io::stdout();
    let mut out = io::BufWriter::new(stdout.lock());
    let mut one = |input: &str| -> Result<()> {
        let c = address::check(input, &rules, &lists);
        let json = serde_json::json!({
            "input": input,
            "valid": c.is_valid(),
            "address": c.address,
            "ascii_address": c.ascii_address,
            "reason": c.problem.as_ref().map(|p| p.reason.as_str()),
            "detail": c.problem.as_ref().map(|p| p.detail.as_str()),
            "repairs": repair_names(c.repairs),
            "flags": flag_names(c.flags),
            "suggestion": c.suggestion,
        });
        serde_json::to_writer(&mut out, &json)?;
        out.write_all(b"\n")?;
        Ok(())
    };
    if args.addresses.is_empty() {
        for line in io::stdin().lock().lines() {
            let line = line.context("reading stdin")?;
            if !line.trim().is_empty() {
                one(&line)?;
            }
        }
    } else {
        for a in &args.addresses {
            one(a)?;
        }
    }
    out.flush()?;
    Ok(())
}
