//! Bounce history folded into one verdict per address: pure, reproducible with an `as of` date.
//!
//! Events are applied in time order (events without a time first, then by time, ties in the
//! order read); events after `as_of` are ignored. The rules, after GNU Mailman 3's bounce
//! processing:
//! - a `dead` bounce, a complaint, an unsubscribe or an earlier suppression suppresses at once;
//! - a `recipient_soft` bounce adds one point, at most one per calendar day (UTC); the score
//!   starts over when the previous soft bounce is older than the window (7 days); at the
//!   threshold (5) the address is suppressed;
//! - a delivery after bounces clears the soft score and an earlier hard bounce (the mailbox is
//!   evidently alive again); it never clears a complaint, an unsubscribe or an earlier
//!   suppression, which are about consent;
//! - `sender_side`, `transient`, `delivered` and `not_a_bounce` never suppress.

use rayon::prelude::*;

use crate::bounces::{BounceEvent, EventClass};
use crate::dedupe::DedupeKey;
use crate::record::Reason;

/// The soft-bounce rule.
#[derive(Debug, Clone, Copy)]
pub struct SoftRule {
    /// Points at which the address is suppressed.
    pub threshold: u32,
    /// Seconds after which an old soft bounce no longer counts.
    pub window: i64,
}

impl Default for SoftRule {
    fn default() -> Self {
        SoftRule {
            threshold: crate::defaults::SOFT_THRESHOLD,
            window: (crate::defaults::SOFT_WINDOW_DAYS * 86_400.0) as i64,
        }
    }
}

/// Why the history suppresses an address, and the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryVerdict<'e> {
    /// The reason.
    pub reason: Reason,
    /// The deciding event (borrowed from the history read, not copied: the history of a big
    /// log is then freed in one pass, with no count to update per address).
    pub deciding: &'e BounceEvent,
    /// Events that counted towards it (dead bounces, or soft points).
    pub count: u32,
    /// The first event of the address in the history.
    pub first_seen: Option<i64>,
    /// The last event of the address in the history (up to `as_of`).
    pub last_seen: Option<i64>,
}

/// The history of one address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History<'e> {
    /// Set when the history suppresses the address.
    pub verdict: Option<HistoryVerdict<'e>>,
    /// Soft points standing at `as_of` (flagged on kept rows).
    pub soft_score: u32,
}

/// Every address's history, in key order, with a directory on the keys' top bits.
///
/// The fold produces the addresses already sorted by key, so this is built in one sequential
/// pass and is about half the size of a hash map of the same entries (which also had to be
/// filled at random). Keys are 128-bit hashes, so the directory spreads them evenly: a lookup reads one
/// directory slot and, on average, one entry.
#[derive(Debug, Default)]
pub struct Histories<'e> {
    entries: Vec<(DedupeKey, History<'e>)>,
    /// `entries[dir[s]..dir[s + 1]]` are the keys whose top `bits` bits are `s`.
    dir: Vec<u32>,
    bits: u32,
}

impl<'e> Histories<'e> {
    /// Builds the directory over `entries`, which must be sorted by key without repeats.
    fn new(entries: Vec<(DedupeKey, History<'e>)>) -> Self {
        let bits = entries
            .len()
            .max(2)
            .next_power_of_two()
            .trailing_zeros()
            .min(26);
        let slots = 1usize << bits;
        let mut dir = Vec::with_capacity(slots + 1);
        let mut at = 0;
        for slot in 0..slots {
            while at < entries.len() && Self::slot_of(entries[at].0, bits) < slot {
                at += 1;
            }
            dir.push(at as u32);
        }
        dir.push(entries.len() as u32);
        Histories { entries, dir, bits }
    }

    fn slot_of(key: DedupeKey, bits: u32) -> usize {
        (key >> (128 - bits)) as usize
    }

    /// The history of `key`.
    pub fn get(&self, key: DedupeKey) -> Option<&History<'e>> {
        let slot = Self::slot_of(key, self.bits);
        let (from, to) = (self.dir[slot] as usize, self.dir[slot + 1] as usize);
        self.entries[from..to]
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, h)| h)
    }

    /// Asks for the directory slot a lookup of `key` reads first (see `address::prefetch`).
    pub fn warm_slot(&self, key: DedupeKey) {
        crate::dedupe::prefetch(&self.dir[Self::slot_of(key, self.bits)]);
    }

    /// Asks for the first entry a lookup of `key` reads; reads its directory slot to find it,
    /// so [`Histories::warm_slot`] should have come a little earlier.
    pub fn warm_entry(&self, key: DedupeKey) {
        let from = self.dir[Self::slot_of(key, self.bits)] as usize;
        if let Some(entry) = self.entries.get(from) {
            crate::dedupe::prefetch(entry);
        }
    }

    /// The addresses with a history.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when no address has a history.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Every address's key and history, in key order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (DedupeKey, &History<'e>)> {
        self.entries.iter().map(|(k, h)| (*k, h))
    }

    /// [`Histories::iter`] on rayon's pool.
    pub fn par_iter(&self) -> impl IndexedParallelIterator<Item = (DedupeKey, &History<'e>)> {
        self.entries.par_iter().map(|(k, h)| (*k, h))
    }
}

/// Folds every address's events. `events` may be in any order.
pub fn fold(events: &[BounceEvent], as_of: i64, rule: SoftRule) -> Histories<'_> {
    // One sort by (address, time) instead of a vector per address: a million-event history is
    // folded without a million small allocations. The sort runs on a compact copy of the sort
    // keys (no pointer chasing into the events during the merge), and
    // the read index breaks ties, so equal times keep read order.
    let mut keys: Vec<(DedupeKey, i64, usize)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.timestamp.is_none_or(|t| t <= as_of))
        .map(|(i, e)| (e.key, e.timestamp.unwrap_or(i64::MIN), i))
        .collect();
    keys.par_sort_unstable();
    let order: Vec<&BounceEvent> = keys.iter().map(|&(_, _, i)| &events[i]).collect();
    let addresses = 1 + keys.windows(2).filter(|w| w[0].0 != w[1].0).count();
    let mut out = Vec::with_capacity(addresses);
    for group in order.chunk_by(|a, b| a.key == b.key) {
        let history = fold_one(group, rule);
        // Addresses the history says nothing against (deliveries, deferrals) take no memory.
        if history.verdict.is_some() || history.soft_score > 0 {
            out.push((group[0].key, history));
        }
    }
    Histories::new(out)
}

/// One address's current run of soft bounces, for the state file that carries it to the next
/// night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SoftStreak<'e> {
    /// The address's key.
    pub key: DedupeKey,
    /// The address, as normalised.
    pub recipient: &'e str,
    /// The days (Unix days) counted in the current run, oldest first.
    pub days: Vec<i64>,
    /// When the last soft bounce came.
    pub last_at: i64,
    /// Its status (enhanced code), when it had one.
    pub last_status: Option<&'e str>,
}

/// Every address's current run of soft bounces as of `as_of`: the days counted since the run
/// last restarted, for the addresses the history does not suppress. A run whose last bounce is
/// older than the window before `as_of` has ended and is left out.
pub fn soft_streaks(events: &[BounceEvent], as_of: i64, rule: SoftRule) -> Vec<SoftStreak<'_>> {
    let mut keys: Vec<(DedupeKey, i64, usize)> = events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.timestamp.is_some_and(|t| t <= as_of))
        .map(|(i, e)| (e.key, e.timestamp.unwrap_or(i64::MIN), i))
        .collect();
    keys.par_sort_unstable();
    let order: Vec<&BounceEvent> = keys.iter().map(|&(_, _, i)| &events[i]).collect();
    let mut out = Vec::new();
    for group in order.chunk_by(|a, b| a.key == b.key) {
        if fold_one(group, rule).verdict.is_some() {
            continue;
        }
        let mut days: Vec<i64> = Vec::new();
        let mut last: Option<&BounceEvent> = None;
        for e in group {
            let t = e.timestamp.unwrap_or(i64::MIN);
            match e.class {
                EventClass::Delivered => {
                    days.clear();
                    last = None;
                }
                EventClass::RecipientSoft => {
                    if last.is_some_and(|l| t - l.timestamp.unwrap_or(t) > rule.window) {
                        days.clear();
                    }
                    let day = t.div_euclid(86_400);
                    if days.last() != Some(&day) {
                        days.push(day);
                    }
                    last = Some(e);
                }
                _ => {}
            }
        }
        if let Some(l) = last.filter(|l| as_of - l.timestamp.unwrap_or(0) <= rule.window) {
            out.push(SoftStreak {
                key: l.key,
                recipient: &l.recipient,
                days,
                last_at: l.timestamp.unwrap_or(0),
                last_status: l.status.as_deref(),
            });
        }
    }
    out
}

#[derive(Default)]
struct State<'a> {
    complaint: Option<&'a BounceEvent>,
    unsubscribe: Option<&'a BounceEvent>,
    suppressed: Option<&'a BounceEvent>,
    hard: Option<(&'a BounceEvent, u32)>,
    soft_score: u32,
    soft_hit: Option<(&'a BounceEvent, u32)>,
    last_soft_day: Option<i64>,
    last_soft_at: Option<i64>,
}

/// Folds one address's events, already in time order.
pub fn fold_one<'e>(events: &[&'e BounceEvent], rule: SoftRule) -> History<'e> {
    let mut st = State::default();
    for e in events {
        match e.class {
            EventClass::Dead => {
                let n = st.hard.map(|(_, n)| n).unwrap_or(0);
                let first = st.hard.map(|(f, _)| f).unwrap_or(e);
                st.hard = Some((first, n + 1));
            }
            EventClass::Complaint => {
                st.complaint.get_or_insert(e);
            }
            EventClass::Unsubscribe => {
                st.unsubscribe.get_or_insert(e);
            }
            EventClass::Suppressed => {
                st.suppressed.get_or_insert(e);
            }
            EventClass::RecipientSoft => soft(&mut st, e, rule),
            EventClass::Delivered => {
                st.hard = None;
                st.soft_score = 0;
                st.soft_hit = None;
                st.last_soft_day = None;
                st.last_soft_at = None;
            }
            EventClass::SenderSide | EventClass::Transient | EventClass::NotABounce => {}
        }
    }
    let first_seen = events.iter().find_map(|e| e.timestamp);
    let last_seen = events.iter().rev().find_map(|e| e.timestamp);
    let verdict = |reason, deciding: &'e BounceEvent, count| HistoryVerdict {
        reason,
        deciding,
        count,
        first_seen,
        last_seen,
    };
    let decided = if let Some(e) = st.complaint {
        Some(verdict(Reason::Complaint, e, 1))
    } else if let Some(e) = st.unsubscribe {
        Some(verdict(Reason::Unsubscribe, e, 1))
    } else if let Some((e, n)) = st.hard {
        Some(verdict(Reason::HardBounce, e, n))
    } else if let Some((e, n)) = st.soft_hit {
        Some(verdict(Reason::SoftBounceThreshold, e, n))
    } else {
        st.suppressed
            .map(|e| verdict(Reason::PriorSuppression, e, 1))
    };
    History {
        verdict: decided,
        soft_score: st.soft_score,
    }
}

fn soft<'a>(st: &mut State<'a>, e: &'a BounceEvent, rule: SoftRule) {
    if let (Some(last), Some(now)) = (st.last_soft_at, e.timestamp) {
        if now - last > rule.window {
            st.soft_score = 0;
            st.last_soft_day = None;
        }
    }
    let day = e.timestamp.map(|t| t.div_euclid(86_400));
    if day.is_none() || day != st.last_soft_day {
        st.soft_score += 1;
        st.last_soft_day = day;
    }
    if e.timestamp.is_some() {
        st.last_soft_at = e.timestamp;
    }
    if st.soft_score >= rule.threshold && st.soft_hit.is_none() {
        st.soft_hit = Some((e, st.soft_score));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bounces::Format;

    const DAY: i64 = 86_400;

    fn ev(class: EventClass, t: i64) -> BounceEvent {
        BounceEvent {
            recipient: "a@corp-mail.net".into(),
            key: 1,
            timestamp: Some(t),
            smtp_code: None,
            status: None,
            diagnostic: "".into(),
            class,
            source: crate::bounces::Source {
                file: std::sync::Arc::from("log"),
                line: t as u64,
            },
            format: Format::Postfix,
        }
    }

    fn run(events: &[BounceEvent], as_of: i64) -> History<'_> {
        fold(events, as_of, SoftRule::default())
            .get(1)
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn dead_complaint_unsubscribe_suppress_at_once() {
        assert_eq!(
            run(&[ev(EventClass::Dead, DAY)], 10 * DAY)
                .verdict
                .unwrap()
                .reason,
            Reason::HardBounce
        );
        assert_eq!(
            run(&[ev(EventClass::Complaint, DAY)], 10 * DAY)
                .verdict
                .unwrap()
                .reason,
            Reason::Complaint
        );
        assert_eq!(
            run(&[ev(EventClass::Unsubscribe, DAY)], 10 * DAY)
                .verdict
                .unwrap()
                .reason,
            Reason::Unsubscribe
        );
    }

    #[test]
    fn sender_side_and_transient_never_suppress() {
        let events: Vec<_> = (0..30)
            .flat_map(|d| {
                [
                    ev(EventClass::SenderSide, d * DAY),
                    ev(EventClass::Transient, d * DAY),
                ]
            })
            .collect();
        assert_eq!(run(&events, 40 * DAY).verdict, None);
    }

    #[test]
    fn soft_bounces_count_once_a_day_up_to_the_threshold() {
        // Ten soft bounces on one day are one point.
        let same_day: Vec<_> = (0..10)
            .map(|i| ev(EventClass::RecipientSoft, DAY + i))
            .collect();
        let h = run(&same_day, 10 * DAY);
        assert_eq!((h.verdict.is_none(), h.soft_score), (true, 1));
        // Five days in a row reach the threshold on the fifth.
        let five: Vec<_> = (1..=5)
            .map(|d| ev(EventClass::RecipientSoft, d * DAY))
            .collect();
        let v = run(&five, 10 * DAY).verdict.unwrap();
        assert_eq!(
            (v.reason, v.count, v.deciding.timestamp),
            (Reason::SoftBounceThreshold, 5, Some(5 * DAY))
        );
        // Four days, a gap of more than 7 days, then four more: never five in a window.
        let gap: Vec<_> = [1, 2, 3, 4, 13, 14, 15, 16]
            .iter()
            .map(|d| ev(EventClass::RecipientSoft, d * DAY))
            .collect();
        assert_eq!(run(&gap, 20 * DAY).verdict, None);
    }

    #[test]
    fn a_delivery_resets_soft_bounces_but_not_consent() {
        let mut events: Vec<_> = (1..=4)
            .map(|d| ev(EventClass::RecipientSoft, d * DAY))
            .collect();
        events.push(ev(EventClass::Delivered, 4 * DAY + 10));
        events.push(ev(EventClass::RecipientSoft, 5 * DAY));
        let h = run(&events, 10 * DAY);
        assert_eq!((h.verdict.is_none(), h.soft_score), (true, 1));
        let consent = [
            ev(EventClass::Complaint, DAY),
            ev(EventClass::Delivered, 2 * DAY),
        ];
        assert_eq!(
            run(&consent, 10 * DAY).verdict.unwrap().reason,
            Reason::Complaint
        );
    }

    #[test]
    fn as_of_makes_runs_reproducible() {
        let five: Vec<_> = (1..=5)
            .map(|d| ev(EventClass::RecipientSoft, d * DAY))
            .collect();
        assert!(run(&five, 4 * DAY + 1).verdict.is_none());
        assert!(run(&five, 5 * DAY).verdict.is_some());
        let dead = [ev(EventClass::Dead, 9 * DAY)];
        assert!(run(&dead, 8 * DAY).verdict.is_none());
    }

    #[test]
    fn histories_find_every_key_and_no_other() {
        for n in [0usize, 1, 2, 3, 1000, 5000] {
            // Spread keys, some sharing their top bits (same directory slot), sorted.
            let mut keys: Vec<DedupeKey> = (0..n as u128)
                .map(|i| {
                    let spread = i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835);
                    if i % 5 == 0 {
                        spread & !0xffff
                    } else {
                        spread
                    }
                })
                .collect();
            keys.sort_unstable();
            keys.dedup();
            let entries = keys
                .iter()
                .map(|k| {
                    (
                        *k,
                        History {
                            verdict: None,
                            soft_score: (*k % 97) as u32 + 1,
                        },
                    )
                })
                .collect();
            let h = Histories::new(entries);
            assert_eq!(h.len(), keys.len());
            for k in &keys {
                assert_eq!(h.get(*k).map(|x| x.soft_score), Some((*k % 97) as u32 + 1));
                assert!(h.get(k ^ 1).is_none() || keys.contains(&(k ^ 1)));
            }
            assert!(h.get(u128::MAX).is_none() || keys.contains(&u128::MAX));
            assert!(h.iter().map(|(k, _)| k).eq(keys.iter().copied()));
        }
    }
}
