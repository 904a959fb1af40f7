//! The validated settings of one `clean` run. Built by the binary from its flags (or by any other
//! caller); holds no command-line types.

use std::path::PathBuf;

use crate::address::{AddressRules, FlagLists};
use crate::bounces::BounceOptions;
use crate::dns::DnsConfig;
use crate::input::CsvOptions;
use crate::output::shape::ExportProfile;
use crate::policy::SoftRule;

/// Everything a run needs to know.
#[derive(Debug, Clone)]
pub struct Config {
    /// Input paths; `-` is stdin.
    pub inputs: Vec<String>,
    /// The folder outputs are written to.
    pub out_dir: PathBuf,
    /// CSV shape overrides.
    pub csv: CsvOptions,
    /// What counts as a valid address.
    pub rules: AddressRules,
    /// Role, disposable and provider lists.
    pub lists: FlagLists,
    /// Fold provider aliasing (Gmail dots, `+tags`) into the dedupe key.
    pub provider_rules: bool,
    /// Draw progress bars on stderr.
    pub progress: bool,
    /// Rows per batch handed to the worker threads.
    pub batch_rows: usize,
    /// The DNS stage; `None` (the default here) skips it.
    pub dns: Option<DnsConfig>,
    /// Bounce and feedback evidence; `None` when no `--bounces` were given.
    pub bounces: Option<BounceConfig>,
    /// The share of rows a run may remove before it stops without writing anything; 1 turns
    /// the guard off.
    pub max_drop_share: f64,
    /// A JSON-lines file that keeps one summary per run, for trends across nights.
    pub history: Option<PathBuf>,
    /// Which files are written and the clean list's columns, names, splitting and spreadsheet
    /// safety.
    pub profile: ExportProfile,
    /// `--partition K/N`: only the rows (and carried-forward suppressions) whose address's
    /// domain falls in this part; `None` is the whole list.
    pub partition: Option<crate::dedupe::Partition>,
    /// `--memory-limit`: the bytes the run aims to stay within. The dedupe keys get half; when
    /// they would take more, they are spilled to disk and the rows read twice (see
    /// [`crate::dedupe::spill`]). `None`: no limit.
    pub memory_limit: Option<u64>,
}

/// Where the bounce history comes from and how it is judged.
#[derive(Debug, Clone)]
pub struct BounceConfig {
    /// Files and folders to read.
    pub paths: Vec<PathBuf>,
    /// How to read them (format, Postfix year, `as_of`, address rules).
    pub options: BounceOptions,
    /// The soft-bounce threshold and window.
    pub soft: SoftRule,
    /// Also write suppressed addresses that are not on tonight's list, so that the suppression
    /// file fed back tomorrow still holds them.
    pub carry_forward: bool,
    /// The state file that keeps soft-bounce runs from night to night (see [`crate::state`]).
    pub state: Option<PathBuf>,
}

impl Config {
    /// Whether an input is stdin (`-`), which can be read only once.
    pub fn reads_stdin(&self) -> bool {
        self.inputs.iter().any(|p| p == "-")
    }

    /// A configuration with the defaults for everything but the inputs and the output folder.
    pub fn new(inputs: Vec<String>, out_dir: PathBuf) -> Self {
        Config {
            inputs,
            out_dir,
            csv: CsvOptions::default(),
            rules: AddressRules::default(),
            lists: FlagLists::builtin(),
            provider_rules: false,
            progress: false,
            batch_rows: crate::defaults::BATCH_ROWS,
            dns: None,
            bounces: None,
            profile: ExportProfile::default(),
            max_drop_share: crate::defaults::MAX_DROP_SHARE,
            history: None,
            partition: None,
            memory_limit: None,
        }
    }
}
