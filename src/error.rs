//! Why a run could not finish, and the binary's exit code for each kind of failure.

use crate::{bounces, dns, files, input, state};

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
