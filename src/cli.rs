//! The command line, as clap sees it. Nothing here is used by the library: [`Cli`] is turned into
//! a [`mailscrub::Config`] by `main.rs`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use mailscrub::defaults;

/// Clean large mailing lists: syntax, normalisation, duplicates, mail routes and bounce history,
/// with every input row accounted for.
#[derive(Debug, Parser)]
#[command(name = "mailscrub", version, about, max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

const CLEAN_EXAMPLES: &str = "Examples:
  mailscrub clean list.csv --out out
      one list; DNS from /etc/resolv.conf; outputs in out/
  mailscrub clean export.csv --out out --no-dns --bounces mail.log --bounces unsubscribed.csv
      with bounce and unsubscribe evidence, without DNS
  mailscrub clean subscribers-*.csv.gz --config nightly.toml --quiet
      the nightly job: settings in a TOML file (mailscrub config --print shows them)
  mailscrub clean crm.csv --out out --columns email,first_name --split-rows 100000 --ascii-only
      a file for a CRM import";

const LINT_EXAMPLES: &str = "Examples:
  mailscrub lint campaign.eml
      every check, DNS from /etc/resolv.conf
  mailscrub lint campaigns/ --no-dns --allow-domain brand-cdn.com
      a folder of .eml files, without the SPF/DMARC/DKIM key lookups
  mailscrub lint --explain
      what each check asks, why, and where the practice is published";

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clean one or more lists into a clean list, a suppression file, rejects and a report.
    #[command(after_help = CLEAN_EXAMPLES)]
    Clean(Box<CleanArgs>),
    /// Check addresses (arguments, or stdin one per line) and print one JSON object per line.
    Check(CheckArgs),
    /// Resolve domains' mail routes (arguments, or stdin one per line); one JSON object per line.
    Resolve(ResolveArgs),
    /// Read bounce logs, DSNs, ARF reports, ESP events and suppression lists, and print each
    /// parsed, classified event as one JSON object per line.
    Bounces(BouncesArgs),
    /// Show what a run would detect in each file (format, compression, delimiter, header, email
    /// column with sample values, consent columns, rows) without writing anything.
    Inspect(InspectArgs),
    /// Check campaign messages (.eml files, or folders of them) against the bulk-sender practices
    /// of Microsoft, Google and Yahoo: sender identity, SPF/DMARC/DKIM, unsubscribe, link
    /// domains, content. One line per finding; exit code 7 when a message has an error.
    #[command(after_help = LINT_EXAMPLES)]
    Lint(LintArgs),
    /// Show the lists bundled with mailscrub (disposable domains, role names, providers): how
    /// many entries, where they come from, how to pass a newer one.
    Lists,
    /// Show the settings a `clean` run would use and where each comes from (command line,
    /// config file, default): `mailscrub config --print -- --config nightly.toml`.
    Config(ConfigArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell) to stdout.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout: `mailscrub man > mailscrub.1`.
    Man,
    /// Work with a suppression file.
    Suppression {
        #[command(subcommand)]
        action: SuppressionCommand,
    },
}

#[derive(Debug, Args)]
pub struct InspectArgs {
    /// The files, as `clean` would read them.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<String>,
    /// As `clean --delimiter`.
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<String>,
    /// As `clean --email-column`.
    #[arg(long, value_name = "NAME|INDEX")]
    pub email_column: Option<String>,
    /// As `clean --no-header`.
    #[arg(long)]
    pub no_header: bool,
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Print the effective settings.
    #[arg(long, required = true)]
    pub print: bool,
    /// The `clean` options to describe (after `--`), `--config FILE` included.
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "CLEAN_ARGS"
    )]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum SuppressionCommand {
    /// Write a suppression file in the layout a sending service imports.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// mailscrub's suppression.csv.
    #[arg(value_name = "SUPPRESSION_CSV")]
    pub input: PathBuf,
    /// The service: ses, sendgrid, mailgun, postmark or csv.
    #[arg(long, value_name = "SERVICE", value_parser = ["ses", "sendgrid", "mailgun", "postmark", "csv"])]
    pub to: String,
    /// Where to write (default: suppression-SERVICE.csv, or .jsonl for postmark, beside the input).
    #[arg(long, short, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct BounceReadArgs {
    /// Read every file as this format instead of detecting it: eml, mbox, postfix, exim, json,
    /// suppression, sendgrid-csv, unsubscribe.
    #[arg(long, value_name = "FORMAT")]
    pub bounce_format: Option<String>,
    /// The year of Postfix log lines that carry none (default: the year of --as-of; dates that
    /// would lie in the future are taken from the year before).
    #[arg(long, value_name = "YEAR")]
    pub postfix_year: Option<i32>,
    /// Extra classification rules tried before the built-in ones: one a line, TEXT<TAB>CLASS
    /// (dead, recipient_soft, sender_side, transient), `#` comments.
    #[arg(long, value_name = "FILE")]
    pub bounce_rules: Option<PathBuf>,
    /// Go on when an evidence file has no readable record (it is named in the report);
    /// without it such a file stops the run (exit 3).
    #[arg(long)]
    pub lenient_bounces: bool,
    /// Judge the history as of this date (YYYY-MM-DD or RFC 3339); later events are ignored.
    /// Default: now.
    #[arg(long, value_name = "DATE")]
    pub as_of: Option<String>,
}

#[derive(Debug, Args)]
pub struct BouncesArgs {
    /// Files or folders (Maildir, mbox, .eml, logs, JSON, CSV; .gz read transparently).
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<std::path::PathBuf>,
    /// Add to each event the rule that decided its class.
    #[arg(long)]
    pub explain: bool,
    #[command(flatten)]
    pub read: BounceReadArgs,
}

#[derive(Debug, Args)]
pub struct DnsArgs {
    /// DNS server to ask, IP or IP:PORT (repeatable); default: the name servers of the system
    /// configuration (--resolv-conf).
    #[arg(long = "dns-server", value_name = "IP[:PORT]")]
    pub servers: Vec<String>,
    /// The resolv.conf file whose name servers and `options timeout/attempts` are used when no
    /// --dns-server is given.
    #[arg(
        long,
        env = "MAILSCRUB_RESOLV_CONF",
        value_name = "FILE",
        default_value = defaults::RESOLV_CONF
    )]
    pub resolv_conf: PathBuf,
    /// Seconds to wait for one DNS answer [default: resolv.conf's `options timeout`, else 3].
    #[arg(long, value_name = "SECS")]
    pub dns_timeout: Option<f64>,
    /// Tries per DNS query, 1 = no retry [default: resolv.conf's `options attempts`, else 2].
    #[arg(long, value_name = "N")]
    pub dns_attempts: Option<usize>,
    /// Domains resolved at the same time.
    #[arg(long, default_value_t = defaults::DNS_CONCURRENCY, value_name = "N")]
    pub dns_concurrency: usize,
    /// Stop asking DNS after this many queries in a row got no answer at all.
    #[arg(long, default_value_t = defaults::DNS_BREAKER, value_name = "N")]
    pub dns_breaker: usize,
    /// DNS client: wire (mailscrub's pipelined client) or hickory (hickory-resolver).
    #[arg(long, default_value = "wire", value_name = "ENGINE", value_parser = ["wire", "hickory"])]
    pub dns_engine: String,
    /// Distrust the run's DNS verdicts (keep everyone, warn) when more than this share of the
    /// rows that reached DNS would be removed by DNS alone, or a large domain comes back dead;
    /// 1 turns the guard off.
    #[arg(long, default_value_t = defaults::DNS_MAX_DEAD_SHARE, value_name = "SHARE")]
    pub dns_max_dead_share: f64,
    /// Keep DNS answers in FILE between runs (JSON lines).
    #[arg(long, value_name = "FILE")]
    pub dns_cache: Option<PathBuf>,
    /// Cached answers are kept at least this long, whatever their TTL.
    #[arg(long, default_value_t = defaults::DNS_CACHE_MIN_TTL_SECS, value_name = "SECS")]
    pub dns_cache_min_ttl: u64,
    /// Cached answers are kept at most this long, whatever their TTL.
    #[arg(long, default_value_t = defaults::DNS_CACHE_MAX_TTL_SECS, value_name = "SECS")]
    pub dns_cache_max_ttl: u64,
}

#[derive(Debug, Args)]
pub struct AddressArgs {
    /// Accept quoted local parts ("john doe"@example.com).
    #[arg(long)]
    pub allow_quoted_local: bool,
    /// Accept IP-literal domains (user@[192.0.2.1]).
    #[arg(long)]
    pub allow_ip_literal: bool,
    /// A file of extra disposable domains, one per line.
    #[arg(long, value_name = "FILE")]
    pub disposable_domains: Option<PathBuf>,
    /// A newer copy of IANA's top-level domain list (tlds-alpha-by-domain.txt) instead of the
    /// bundled one.
    #[arg(long, value_name = "FILE")]
    pub tld_list: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Input files (CSV, optionally .gz or .zst); `-` reads stdin.
    #[arg(required = true, value_name = "INPUT", help_heading = "Inputs")]
    pub inputs: Vec<String>,
    /// The folder for the outputs (created if missing); `-` writes the clean list to stdout,
    /// the other outputs to --side-dir.
    #[arg(long, short, value_name = "DIR", help_heading = "Outputs")]
    pub out: PathBuf,
    /// With `--out -`: the folder for the suppression file, rejects and report (the clean list
    /// is kept there too, so the evidence of the run is complete).
    #[arg(long, value_name = "DIR", help_heading = "Outputs")]
    pub side_dir: Option<PathBuf>,
    /// Read settings from a TOML file: every option of this command as a key (dns_timeout = 2,
    /// bounces = [...], inputs = [...]); the command line wins over the file.
    #[arg(long, value_name = "FILE", help_heading = "The run")]
    pub config: Option<PathBuf>,
    /// Field delimiter: `,` `;` `tab` `|` or any single character (detected when not given).
    #[arg(long, value_name = "CHAR", help_heading = "Inputs")]
    pub delimiter: Option<String>,
    /// The email column: a header name, or a column number counted from 1.
    #[arg(long, value_name = "NAME|INDEX", help_heading = "Inputs")]
    pub email_column: Option<String>,
    /// Another opt-out column (repeatable): rows whose NAME holds one of VALUES (default yes,
    /// true, 1, y, x) are suppressed as opt_out. Known columns (Email Opt Out,
    /// EMAIL_BLACKLISTED, Accepts Email Marketing, ...) are read without it.
    #[arg(long, value_name = "NAME[=VALUES]", help_heading = "Inputs")]
    pub consent_column: Vec<String>,
    /// Keep only rows whose COLUMN holds one of VALUES (default yes, true, 1, y, x): the others
    /// are suppressed as no_consent (double opt-in lists).
    #[arg(long, value_name = "COLUMN[=VALUES]", help_heading = "Inputs")]
    pub require_opt_in: Option<String>,
    /// The inputs have no header row: the first row is data.
    #[arg(long, help_heading = "Inputs")]
    pub no_header: bool,
    /// Add mailscrub_status, mailscrub_reason, mailscrub_flags, mailscrub_suggestion columns.
    #[arg(long, help_heading = "Outputs")]
    pub annotate: bool,
    /// Output columns of the clean list, in order: header names, mailscrub_* names, or numbers
    /// from 1 (comma-separated).
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "COL,...",
        help_heading = "CRM export"
    )]
    pub columns: Option<Vec<String>>,
    /// Rename an output column (repeatable).
    #[arg(long, value_name = "OLD=NEW", help_heading = "CRM export")]
    pub rename: Vec<String>,
    /// Prefix cells that start with = + - @ tab or CR with a quote in CSV outputs (formula
    /// injection); the email column is never changed.
    #[arg(long, help_heading = "CRM export")]
    pub spreadsheet_safe: bool,
    /// Output formats: csv, parquet, or csv,parquet. Parquet writes clean.parquet,
    /// suppression.parquet and rejects.parquet (suppression.csv and rejects.csv are always
    /// written: the next night's run reads suppression.csv).
    #[arg(
        help_heading = "Outputs",
        long,
        value_delimiter = ',',
        default_value = "csv",
        value_name = "FORMATS"
    )]
    pub format: Vec<String>,
    /// How internationalised domains are written in the clean list: keep (as the input wrote
    /// them), ascii (punycode) or unicode.
    #[arg(long, value_enum, default_value_t = IdnFormArg::Keep, value_name = "FORM", help_heading = "Addresses")]
    pub idn_form: IdnFormArg,
    /// For services that refuse Unicode addresses (Mailchimp's import guidelines say so):
    /// domains in punycode, and addresses with a Unicode local part suppressed as non_ascii.
    #[arg(long, help_heading = "Addresses")]
    pub ascii_only: bool,
    /// The clean lists' delimiter (`,` `;` `tab` `|` or any character), when not the input's.
    #[arg(long, value_name = "CHAR", help_heading = "Outputs")]
    pub out_delimiter: Option<String>,
    /// Line ends of the CSV clean lists: input (as the input, with its BOM when it had one),
    /// lf or crlf (no BOM).
    #[arg(long, value_enum, default_value_t = LineEndsArg::Input, value_name = "ENDS", help_heading = "Outputs")]
    pub line_ends: LineEndsArg,
    /// In the Parquet clean list of a CSV input, type each column (integer, float, boolean, date,
    /// timestamp) when every one of its values fits; default: strings.
    #[arg(long, help_heading = "Outputs")]
    pub infer_types: bool,
    /// Split the clean list into files of at most N rows, each with the header.
    #[arg(long, value_name = "N", help_heading = "CRM export")]
    pub split_rows: Option<u64>,
    /// Dedupe with provider aliasing: Gmail dots and +tags, googlemail.com, +tags at providers
    /// that document them.
    #[arg(long, help_heading = "Addresses")]
    pub provider_rules: bool,
    /// Also write duplicates.csv (file, line, email of every duplicate row).
    #[arg(long, help_heading = "Outputs")]
    pub write_duplicates: bool,
    /// No progress bars and no summary on stderr.
    #[arg(long, short, help_heading = "The run")]
    pub quiet: bool,
    /// Bounce and feedback evidence, one path per --bounces (repeat it): a file or folder of
    /// DSNs, mbox, Maildir, Postfix/Exim logs, SES/SendGrid/Mailgun/Postmark exports, ESP
    /// unsubscribed/cleaned exports, unsubscribe lists, earlier suppression files.
    #[arg(long, value_name = "PATH", action = clap::ArgAction::Append, help_heading = "Bounces")]
    pub bounces: Vec<std::path::PathBuf>,
    #[command(flatten, next_help_heading = "Bounces")]
    pub bounce_read: BounceReadArgs,
    /// Keep the soft-bounce runs in FILE from night to night (JSON lines, written atomically
    /// with the outputs): without it, a rule over several days needs every night's logs again.
    #[arg(long, value_name = "FILE", help_heading = "Bounces")]
    pub state: Option<PathBuf>,
    /// Soft-bounce points (at most one a day) that suppress an address.
    #[arg(long, default_value_t = defaults::SOFT_THRESHOLD, value_name = "N", help_heading = "Bounces")]
    pub soft_threshold: u32,
    /// Soft bounces older than this many days before the next one no longer count.
    #[arg(long, default_value_t = defaults::SOFT_WINDOW_DAYS, value_name = "DAYS", help_heading = "Bounces")]
    pub soft_window_days: f64,
    /// Append a summary of the run to FILE (JSON lines) and warn when tonight departs from the
    /// last 30 runs (suppressions 3x the median, half the rows, a surge of sender-side events).
    #[arg(long, value_name = "FILE", help_heading = "The run")]
    pub history: Option<PathBuf>,
    /// Stop without writing anything when more than this share of the rows would be removed
    /// (suppressed, duplicates, rejected); 1 turns the guard off.
    #[arg(long, default_value_t = defaults::MAX_DROP_SHARE, value_name = "SHARE", help_heading = "The run")]
    pub max_drop_share: f64,
    /// Do not copy suppressed addresses that are not on the list into suppression.csv.
    #[arg(long, help_heading = "Bounces")]
    pub no_carry_forward: bool,
    /// Skip the DNS stage (no domain is suppressed for a DNS reason).
    #[arg(long, conflicts_with_all = ["servers", "dns_cache"], help_heading = "DNS")]
    pub no_dns: bool,
    #[command(flatten, next_help_heading = "DNS")]
    pub dns: DnsArgs,
    /// Clean only part K of N: the rows (and carried-forward suppressions) whose address's
    /// domain hashes to part K. N runs, one per part, give together one run's outputs.
    #[arg(long, value_name = "K/N", help_heading = "The run")]
    pub partition: Option<String>,
    /// Stay within this much memory (512M, 2G, 1.5GB, bytes): when the list's distinct
    /// addresses would take more than half of it, their keys are spilled to disk and the rows
    /// read twice; the outputs are the same.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, help_heading = "The run")]
    pub memory_limit: Option<u64>,
    /// Rows per batch handed to the worker threads.
    #[arg(long, default_value_t = defaults::BATCH_ROWS, value_name = "N", hide = true, help_heading = "The run")]
    pub batch_rows: usize,
    #[command(flatten, next_help_heading = "Addresses")]
    pub address: AddressArgs,
}

/// `--idn-form`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IdnFormArg {
    /// As the input wrote it.
    Keep,
    /// Punycode.
    Ascii,
    /// Unicode.
    Unicode,
}

/// `--line-ends`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LineEndsArg {
    /// As the input, BOM included.
    Input,
    /// `\n`.
    Lf,
    /// `\r\n`.
    Crlf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Addresses to check; read from stdin, one per line, when none is given.
    pub addresses: Vec<String>,
    #[command(flatten)]
    pub address: AddressArgs,
}

#[derive(Debug, Args)]
pub struct LintArgs {
    /// The messages: .eml files, or folders whose .eml files are read.
    #[arg(value_name = "MESSAGE", required_unless_present = "explain")]
    pub messages: Vec<PathBuf>,
    /// Print each finding as a JSON object, one per line.
    #[arg(long)]
    pub json: bool,
    /// Without messages: list every check with its reason and source. With messages: print
    /// the reason and source under each warning and error.
    #[arg(long)]
    pub explain: bool,
    /// A domain that links and images may point to besides the message's own one (any
    /// subdomain counts); once per domain: --allow-domain a.com --allow-domain b.com.
    #[arg(long = "allow-domain", value_name = "DOMAIN")]
    pub allow_domains: Vec<String>,
    /// Skip the checks that ask DNS (SPF, DMARC, DKIM keys).
    #[arg(long)]
    pub no_dns: bool,
    #[command(flatten, next_help_heading = "DNS")]
    pub dns: DnsArgs,
}

#[derive(Debug, Args)]
pub struct ResolveArgs {
    /// Domains to resolve; read from stdin, one per line, when none is given.
    pub domains: Vec<String>,
    #[command(flatten)]
    pub dns: DnsArgs,
}

/// A size in bytes: a number with an optional unit, K/M/G/T (powers of 1000, also KB, MB...)
/// or KiB/MiB/GiB/TiB (powers of 1024), in any case.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let number: f64 = number.parse().map_err(|_| {
        format!("{text:?} is not a size: give a number with K, M, G or T, e.g. 512M")
    })?;
    let scale: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "m" | "mb" => 1e6,
        "g" | "gb" => 1e9,
        "t" | "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        other => {
            return Err(format!(
                "{text:?}: unknown unit {other:?}; use K, M, G, T or KiB, MiB, GiB, TiB"
            ))
        }
    };
    let bytes = number * scale;
    if !(1.0..1.8e19).contains(&bytes) {
        return Err(format!("{text:?} is not a size of at least one byte"));
    }
    Ok(bytes as u64)
}

#[cfg(test)]
mod size_tests {
    use super::parse_size;

    #[test]
    fn sizes_with_and_without_units() {
        assert_eq!(parse_size("512M"), Ok(512_000_000));
        assert_eq!(parse_size("2g"), Ok(2_000_000_000));
        assert_eq!(parse_size("1.5GB"), Ok(1_500_000_000));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size(" 1000 "), Ok(1000));
        assert_eq!(parse_size("3 KiB"), Ok(3072));
        for bad in ["", "M", "-5M", "0", "12 parsecs", "1e9", "..5M", "٣M"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }
}
