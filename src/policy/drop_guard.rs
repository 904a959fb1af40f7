//! The safety net: a run that would drop an unusual share of its rows is far more likely a
//! mistake (a wrong column, a subscriber list given as evidence, a lying resolver, an export
//! read the wrong way) than a real result, so it stops before anything is written.
//!
//! The share is of the rows read: suppressed + duplicates + rejected. The default limit, 0.5,
//! is above what a first scrub of an old list removes (a few percent of bad syntax, a tenth to a
//! quarter of dead domains and hard bounces, a few percent of duplicates across merged
//! exports) and below what each mistake found so far removed (60 to 100%). Lists under
//! [`MIN_ROWS`] rows are not judged: a handful of rows says nothing about a share.

use crate::record::Counts;

/// Rows below which the share is not judged.
pub const MIN_ROWS: u64 = 20;

/// Why the run must stop, or `None`. `counts` are the whole run's.
pub fn too_many_dropped(counts: &Counts, max_share: f64) -> Option<String> {
    // The rows of this run's part (all rows, without --partition).
    let rows = counts.rows_in - counts.other_partition;
    if max_share >= 1.0 || rows < MIN_ROWS {
        return None;
    }
    let dropped = counts.suppressed + counts.duplicates + counts.rejected;
    let share = dropped as f64 / rows as f64;
    if share <= max_share {
        return None;
    }
    let largest = [
        ("suppressed", counts.suppressed),
        ("duplicates", counts.duplicates),
        ("rejected", counts.rejected),
    ]
    .into_iter()
    .max_by_key(|(_, n)| *n)
    .map(|(what, n)| format!("{n} {what}"))
    .unwrap_or_default();
    Some(format!(
        "{:.0}% of the {} rows would be removed ({largest}), more than --max-drop-share {max_share}",
        share * 100.0,
        rows
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(rows_in: u64, suppressed: u64, duplicates: u64, rejected: u64) -> Counts {
        Counts {
            rows_in,
            kept: rows_in - suppressed - duplicates - rejected,
            suppressed,
            duplicates,
            rejected,
            other_partition: 0,
        }
    }

    #[test]
    fn an_unusual_share_stops_the_run() {
        let why = too_many_dropped(&counts(2060, 0, 2057, 0), 0.5).unwrap();
        assert!(
            why.contains("2057 duplicates") && why.contains("100%"),
            "{why}"
        );
        assert_eq!(too_many_dropped(&counts(1000, 250, 100, 50), 0.5), None);
        assert!(too_many_dropped(&counts(1000, 400, 100, 50), 0.5).is_some());
        // Off, and too few rows to judge.
        assert_eq!(too_many_dropped(&counts(1000, 1000, 0, 0), 1.0), None);
        assert_eq!(too_many_dropped(&counts(10, 10, 0, 0), 0.5), None);
        assert!(too_many_dropped(&counts(MIN_ROWS, MIN_ROWS, 0, 0), 0.5).is_some());
        assert_eq!(
            too_many_dropped(&counts(MIN_ROWS - 1, MIN_ROWS - 1, 0, 0), 0.5),
            None
        );
    }
}
