//! The bounce evidence of a run: read once, folded per address, behind a filter.

use crate::bounces::{self, Ingested};
use crate::config::BounceConfig;
use crate::dedupe::KeyFilter;
use crate::policy::{self, Histories};
use crate::Error;

/// Reads the bounce inputs, when `--bounces` was given.
pub fn read(bounces: Option<&BounceConfig>) -> Result<Option<(&BounceConfig, Ingested)>, Error> {
    let Some(b) = bounces else {
        return Ok(None);
    };
    Ok(Some((b, bounces::ingest(&b.paths, &b.options)?)))
}

/// The events folded per address.
pub struct Folded<'e> {
    /// One history per dedupe key.
    pub histories: Histories<'e>,
    /// The keys of `histories`, for the rows that have none (most).
    pub filter: KeyFilter,
}

/// Folds the events read per address, as of the configured date.
pub fn fold<'e>(ingested: &'e Ingested, b: &BounceConfig) -> Folded<'e> {
    let histories = policy::evidence::fold(&ingested.events, b.options.as_of, b.soft);
    Folded {
        filter: KeyFilter::new(histories.iter().map(|(key, _)| key)),
        histories,
    }
}
