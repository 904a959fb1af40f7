//! The bounce evidence of a run: read once, folded per address, behind a filter.

use crate::bounces::{self, Ingested};
use crate::config::BounceConfig;
use crate::dedupe::KeyFilter;
use crate::error::Error;
use crate::policy::{self, Histories};
use crate::report::Progress;

/// Reads the bounce inputs, when `--bounces` was given, and the state file's soft bounces, with
/// a progress line.
pub fn read<'c>(
    bounces: Option<&'c BounceConfig>,
    out: &std::path::Path,
    progress: &Progress,
) -> Result<Option<(&'c BounceConfig, Ingested)>, Error> {
    let Some(b) = bounces else {
        return Ok(None);
    };
    let line = progress.phase("bounces");
    line.say(format!("reading {} path(s)", b.paths.len()));
    let mut ingested = bounces::ingest(&b.paths, &b.options)?;
    if let Some(path) = &b.state {
        ingested.events.extend(crate::state::load(path, out)?);
    }
    line.done(format!(
        "{} file(s), {} events",
        ingested.sources.len(),
        ingested.events.len()
    ));
    Ok(Some((b, ingested)))
}

/// Writes the state file, when there is one: the soft-bounce runs standing tonight.
pub fn save_state(
    ingested: Option<&(&BounceConfig, Ingested)>,
    out: &std::path::Path,
) -> Result<(), Error> {
    let Some((b, i)) = ingested else {
        return Ok(());
    };
    let Some(path) = &b.state else {
        return Ok(());
    };
    let streaks = policy::evidence::soft_streaks(&i.events, b.options.as_of, b.soft);
    crate::state::save(path, out, b.options.as_of, &streaks)?;
    Ok(())
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
