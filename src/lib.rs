//! mailscrub cleans large mailing lists without ever talking to anyone's mail server.
//!
//! One run of [`run`] goes through these stages, in this order (the orchestration, which only
//! wires them, is the private `run` module: its `mod.rs` lists the phases, `threads.rs` the
//! thread topology, `decide.rs` one row's verdict):
//! 1. [`input`]: read CSV lists (any delimiter, header or not, gzip/zstd) and Parquet, streaming;
//! 2. [`address`]: repair, validate and normalise each address, flag role / disposable / typo;
//! 3. [`dedupe`]: a key per address, the first occurrence wins;
//! 4. [`bounces`]: read bounce logs, DSNs, ARF reports, ESP events and earlier suppression
//!    files; [`policy::evidence`] folds them into one history per address;
//! 5. [`dns`]: resolve each distinct domain's mail route once, concurrently, in the background;
//! 6. [`policy`]: decide keep or suppress, with the reason and the evidence;
//! 7. [`output`]: write the clean list(s), `suppression.csv`, `rejects.csv`, through the atomic
//!    file layer of [`files`];
//! 8. [`report`]: count every row into exactly one verdict and write `report.json`.
//!
//! [`config`] holds each stage's section of the settings, [`defaults`] every default.
//!
//! A bad row is data (a verdict with a reason), never an error that stops the run; an [`Error`]
//! means a whole input or output is unusable.

pub mod address;
pub mod bounces;
pub mod config;
pub mod consent;
pub mod dedupe;
pub mod defaults;
pub mod dns;
pub mod files;
pub mod guard;
pub mod input;
pub mod lint;
pub mod output;
pub mod policy;
pub mod record;
pub mod report;
mod run;
pub mod state;

pub use config::{BounceConfig, Config};
pub use output::{ANNOTATION_COLUMNS, DUPLICATE_COLUMNS, REJECT_COLUMNS, SUPPRESSION_COLUMNS};
pub use run::run;

/// Why a run could not finish. Each kind maps to its own exit code in the binary.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The arguments contradict each other.
    #[error("{0}")]
    Usage(String),
    /// An input cannot be opened or understood.
    #[error(transparent)]
    Input(#[from] input::InputError),
    /// An output cannot be written.
    #[error(transparent)]
    Output(#[from] files::OutputError),
    /// The DNS stage cannot start (no resolver configuration, unreadable cache file).
    #[error(transparent)]
    Dns(#[from] dns::DnsError),
    /// A `--bounces` path does not exist or cannot be listed.
    #[error(transparent)]
    Bounces(#[from] bounces::BounceInputError),
    /// Another run is writing to the same output folder.
    #[error("{0}")]
    Busy(String),
    /// The run would remove an unusual share of its rows: it stopped without writing anything.
    #[error("{0}")]
    Guard(String),
    /// The state file cannot be used.
    #[error(transparent)]
    State(#[from] state::StateError),
    /// mailscrub's own accounting does not add up: a bug, never the input's fault.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<files::generation::TakeError> for Error {
    fn from(e: files::generation::TakeError) -> Self {
        match e {
            files::generation::TakeError::Busy { .. } => Error::Busy(e.to_string()),
            files::generation::TakeError::Io(e) => Error::Output(e),
        }
    }
}

/// The exit codes of the binary, one per kind of failure.
pub mod exit {
    /// Anything else (no DNS configuration, an internal error).
    pub const OTHER: u8 = 1;
    /// Bad usage: an unknown flag, a bad value, contradicting options.
    pub const USAGE: u8 = 2;
    /// An input cannot be read.
    pub const INPUT: u8 = 3;
    /// An output cannot be written.
    pub const OUTPUT: u8 = 4;
    /// Another run is writing to the same output folder.
    pub const BUSY: u8 = 5;
    /// The run would have removed an unusual share of its rows and wrote nothing.
    pub const GUARD: u8 = 6;
    /// `mailscrub lint` found at least one error in a message.
    pub const LINT: u8 = 7;
}

impl Error {
    /// The binary's exit code for this failure.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Usage(_) => exit::USAGE,
            Error::Input(_) | Error::Bounces(_) | Error::State(_) => exit::INPUT,
            Error::Output(_) => exit::OUTPUT,
            Error::Dns(_) => exit::OTHER,
            Error::Busy(_) => exit::BUSY,
            Error::Internal(_) => exit::OTHER,
            Error::Guard(_) => exit::GUARD,
        }
    }
}
