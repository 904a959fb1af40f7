//! mailscrub cleans large mailing lists without ever talking to anyone's mail server.
//!
//! One run of [`run`] goes through these stages, in this order (the orchestration, which only
//! wires them, is the private `run` module: its `mod.rs` lists the phases, `threads.rs` the
//! thread topology, `row.rs` a row checked, `decide.rs` one row's verdict):
//! 1. [`input`]: read CSV lists (any delimiter, header or not, gzip/zstd) and Parquet, streaming;
//! 2. [`address`]: repair, validate and normalise each address, flag role / disposable / typo;
//! 3. [`dedupe`]: a key per address, the first occurrence wins (in memory, or past
//!    `--memory-limit` from keys spilled to disk by a first pass);
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
mod error;
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
#[cfg(test)]
mod testing;

pub use config::{BounceConfig, Config};
pub use error::{exit, Error};
pub use output::{ANNOTATION_COLUMNS, DUPLICATE_COLUMNS, REJECT_COLUMNS, SUPPRESSION_COLUMNS};
pub use run::run;
