//! The DNS cache file: answers kept between nightly runs.
//!
//! One JSON object per line (a [`DomainStatus`]). An entry is fresh while
//! `resolved_at + clamp(ttl, floor, ceiling)` is in the future; the floor (default 1 hour) keeps
//! a nightly job from asking again for answers with short TTLs, the ceiling (default 1 day) makes
//! sure a domain that stopped taking mail is noticed within a day. `unknown` is never written.
//! A damaged line is skipped (and counted), never fatal: the cache is only an optimisation.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Duration;

use super::{DnsConfig, DomainBook, DomainStatus, MailRoute};
use crate::files::OutputError;

/// What loading the cache found.
#[derive(Debug, Default, Clone, Copy)]
pub struct Loaded {
    /// Entries still fresh.
    pub fresh: usize,
    /// Entries expired.
    pub expired: usize,
    /// Lines that could not be read.
    pub damaged: usize,
}

/// The lifetime of an entry, clamped.
pub fn lifetime(ttl: u32, floor: Duration, ceiling: Duration) -> i64 {
    let secs = u64::from(ttl).clamp(floor.as_secs(), ceiling.as_secs().max(floor.as_secs()));
    i64::try_from(secs).unwrap_or(i64::MAX)
}

/// Reads the fresh entries of `path` (a missing file is an empty cache).
pub fn load(
    path: &Path,
    now: i64,
    floor: Duration,
    ceiling: Duration,
) -> std::io::Result<(Vec<DomainStatus>, Loaded)> {
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((Vec::new(), Loaded::default()))
        }
        Err(e) => return Err(e),
    };
    let mut fresh = Vec::new();
    let mut loaded = Loaded::default();
    for line in BufReader::new(file).lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<DomainStatus>(&line) {
            Ok(mut s) if s.class != MailRoute::Unknown => {
                if s.resolved_at + lifetime(s.ttl, floor, ceiling) > now {
                    s.from_cache = true;
                    fresh.push(s);
                    loaded.fresh += 1;
                } else {
                    loaded.expired += 1;
                }
            }
            _ => loaded.damaged += 1,
        }
    }
    Ok((fresh, loaded))
}

/// The cache file's new content: every known answer except `unknown`, sorted by domain.
pub fn render(entries: &[std::sync::Arc<DomainStatus>]) -> Vec<u8> {
    let mut sorted: Vec<&DomainStatus> = entries
        .iter()
        .map(|e| e.as_ref())
        .filter(|e| e.class != MailRoute::Unknown)
        .collect();
    sorted.sort_by(|a, b| a.domain.cmp(&b.domain));
    let mut out = Vec::new();
    for e in sorted {
        if serde_json::to_writer(&mut out, e).is_ok() {
            out.push(b'\n');
        }
    }
    out
}

/// A book that starts with the fresh answers of the configured cache file (empty without one).
pub fn load_book(
    config: &DnsConfig,
) -> Result<(std::sync::Arc<DomainBook>, Loaded), super::DnsError> {
    let book = std::sync::Arc::new(DomainBook::default());
    let Some(path) = &config.cache_file else {
        return Ok((book, Loaded::default()));
    };
    let now = chrono::Utc::now().timestamp();
    let (fresh, loaded) =
        load(path, now, config.cache_min_ttl, config.cache_max_ttl).map_err(|source| {
            super::DnsError::Cache {
                path: path.clone(),
                source,
            }
        })?;
    for status in fresh {
        book.insert(status);
    }
    Ok((book, loaded))
}

/// Writes the book's answers to the configured cache file, atomically (nothing without one).
pub fn save(config: &DnsConfig, book: &DomainBook) -> Result<(), OutputError> {
    let Some(path) = &config.cache_file else {
        return Ok(());
    };
    let (dir, name) = crate::files::dir_and_name(path);
    let name = name.unwrap_or_else(|| "dns-cache.jsonl".to_owned());
    crate::files::write_atomic(&dir, &name, &render(&book.snapshot()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(domain: &str, class: MailRoute, ttl: u32, resolved_at: i64) -> DomainStatus {
        DomainStatus {
            domain: domain.to_owned(),
            class,
            mx: vec![],
            ttl,
            resolved_at,
            error: None,
            from_cache: false,
        }
    }

    #[test]
    fn ttl_is_clamped() {
        let (floor, ceil) = (Duration::from_secs(3600), Duration::from_secs(86400));
        assert_eq!(lifetime(60, floor, ceil), 3600);
        assert_eq!(lifetime(7200, floor, ceil), 7200);
        assert_eq!(lifetime(u32::MAX, floor, ceil), 86400);
    }

    #[test]
    fn round_trip_keeps_fresh_and_drops_unknown() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.jsonl");
        let now = 1_000_000;
        let entries: Vec<_> = [
            entry("fresh.com", MailRoute::Mx, 7200, now - 100),
            entry("old.com", MailRoute::Nxdomain, 60, now - 90_000),
            entry("down.com", MailRoute::Unknown, 0, now),
        ]
        .into_iter()
        .map(std::sync::Arc::new)
        .collect();
        let mut bytes = render(&entries);
        bytes.extend_from_slice(b"{not json\n");
        std::fs::write(&path, bytes).unwrap();
        let (fresh, loaded) = load(
            &path,
            now,
            Duration::from_secs(3600),
            Duration::from_secs(86400),
        )
        .unwrap();
        assert_eq!(fresh.len(), 1);
        assert_eq!(fresh[0].domain, "fresh.com");
        assert!(fresh[0].from_cache);
        assert_eq!((loaded.fresh, loaded.expired, loaded.damaged), (1, 1, 1));
    }
}
