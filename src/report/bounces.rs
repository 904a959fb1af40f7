//! The bounce section of the report: what was read, what it says about the list, and above all
//! what it says about the *sender*: blocks against the sending IP or domain, grouped by receiving
//! domain and code, with what to do about them. Those are the operator's problem to fix, not the
//! list's.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::hash::BuildHasherDefault;

use serde::Serialize;

use crate::bounces::{BounceOptions, EventClass, Ingested, SourceReport};
use crate::dedupe::{DedupeKey, KeyHasher};
use crate::policy::SoftRule;

/// One group of sender-side blocks.
#[derive(Debug, Clone, Serialize)]
pub struct SenderSideGroup {
    /// The receiving domain (the recipients' domain).
    pub receiving_domain: String,
    /// The enhanced status code (or basic reply code) they share.
    pub code: String,
    /// How many events.
    pub events: u64,
    /// First and last time seen (RFC 3339).
    pub first_seen: String,
    /// Last time seen.
    pub last_seen: String,
    /// One of the diagnostics, as an example.
    pub example: String,
    /// What to do.
    pub advice: &'static str,
}

/// Event-based rates over the history read.
#[derive(Debug, Clone, Serialize)]
pub struct Rates {
    /// Delivery attempts: dead + recipient_soft + sender_side + transient + delivered events.
    pub attempts: u64,
    /// dead events / attempts.
    pub hard_bounce_rate: Option<f64>,
    /// complaint events / delivered events (when deliveries are in the history).
    pub complaint_rate: Option<f64>,
}

/// The `bounces` section of `report.json`.
#[derive(Debug, Clone, Serialize)]
pub struct BounceReport {
    /// Events after this time were ignored (RFC 3339).
    pub as_of: String,
    /// Soft-bounce threshold (points).
    pub soft_threshold: u32,
    /// Soft-bounce window (days).
    pub soft_window_days: f64,
    /// Every file read, with what it gave and what could not be read.
    pub files: Vec<SourceReport>,
    /// Files that gave nothing usable.
    pub unreadable_files: u64,
    /// Events read.
    pub events: u64,
    /// Events per class (every class listed).
    pub events_by_class: BTreeMap<&'static str, u64>,
    /// Distinct addresses in the history.
    pub addresses: u64,
    /// Suppressed addresses of the history that were not on the list, written to the
    /// suppression file so that they stay suppressed.
    pub carried_forward: u64,
    /// Blocks against the sender, by receiving domain and code, most events first.
    pub sender_side: Vec<SenderSideGroup>,
    /// Rates over the history.
    pub rates: Rates,
}

fn rfc3339(t: Option<i64>) -> String {
    let mut text = String::new();
    if let Some(t) = t {
        crate::files::push_rfc3339(&mut text, t);
    }
    text
}

/// What the operator should do about a sender-side code.
pub fn advice(code: &str) -> &'static str {
    let detail = |prefix: &str| {
        code.strip_prefix(prefix)
            .and_then(|d| d.parse::<u16>().ok())
    };
    if let Some(d) = detail("5.7.") {
        return match d {
            606..=649 => "the sending IP is banned by Microsoft: request delisting (sender.office.com) and check what the IP sends",
            700..=750 => "the sending tenant is blocked: contact the receiving provider's support",
            500..=511 => "the sender is banned for spam: stop sending to this provider and review list consent",
            26 | 20..=24 => "authentication failed: fix SPF/DKIM alignment and the DMARC policy of the sending domain",
            25 => "the sending IP has no reverse DNS: add a PTR record that matches the HELO name",
            27 => "the sending domain has a null MX: fix the sender domain's DNS",
            1 => "rejected by the receiver's policy or a blocklist: check the diagnostic and blocklist status",
            _ => "blocked by the receiver's policy: check the diagnostic",
        };
    }
    if let Some(d) = detail("4.7.") {
        return match d {
            500..=699 | 850..=899 => {
                "throttled: slow down sending to this provider and warm up the IP"
            }
            28 => "rate-limited for unusual volume: slow down and check complaint rates",
            26 => "unauthenticated mail deferred: fix SPF/DKIM/DMARC",
            _ => "temporarily refused by policy: slow down and check the diagnostic",
        };
    }
    if code.starts_with("5.6") || code == "5.3.4" || code == "5.2.3" {
        return "content or size refused: check the message, not the list";
    }
    if code.starts_with("5.1.7") || code.starts_with("5.1.8") {
        return "the sender address is refused: check the envelope sender and its domain";
    }
    "blocked by the receiver: check the diagnostic and the sending IP's blocklist status"
}

/// Builds the section from what was read.
pub fn build(
    ingested: &Ingested,
    options: &BounceOptions,
    soft: SoftRule,
    carried_forward: u64,
) -> BounceReport {
    // Counted per class in an array and per address in a set keyed by the dedupe key itself,
    // which is already a hash.
    let mut per_class = [0u64; EventClass::ALL.len()];
    let mut groups: HashMap<(String, String), SenderSideGroup> = HashMap::new();
    let mut first_last: HashMap<(String, String), (Option<i64>, Option<i64>)> = HashMap::new();
    let mut addresses: HashSet<DedupeKey, BuildHasherDefault<KeyHasher>> =
        HashSet::with_capacity_and_hasher(ingested.events.len(), Default::default());
    for e in &ingested.events {
        per_class[e.class as usize] += 1;
        addresses.insert(e.key);
        // Temporary policy refusals (4.7.x: throttling, reputation) are blocks too; greylisting
        // is not, it clears by itself.
        let blocking = e.class == EventClass::SenderSide
            || (e.class == EventClass::Transient
                && e.status.as_deref().is_some_and(|s| s.starts_with("4.7."))
                && !e.diagnostic.to_ascii_lowercase().contains("greylist"));
        if !blocking || e.timestamp.is_some_and(|t| t > options.as_of) {
            continue;
        }
        let domain = e.recipient.rsplit('@').next().unwrap_or("").to_owned();
        let code = e
            .status
            .as_deref()
            .map(str::to_owned)
            .or_else(|| e.smtp_code.map(|c| c.to_string()))
            .unwrap_or_else(|| "unknown".to_owned());
        let key = (domain.clone(), code.clone());
        let g = groups
            .entry(key.clone())
            .or_insert_with(|| SenderSideGroup {
                receiving_domain: domain,
                advice: advice(&code),
                code,
                events: 0,
                first_seen: String::new(),
                last_seen: String::new(),
                example: e.diagnostic.to_string(),
            });
        g.events += 1;
        let fl = first_last.entry(key).or_insert((None, None));
        if let Some(t) = e.timestamp {
            fl.0 = Some(fl.0.map_or(t, |f: i64| f.min(t)));
            fl.1 = Some(fl.1.map_or(t, |l: i64| l.max(t)));
        }
    }
    let mut sender_side: Vec<SenderSideGroup> = groups
        .into_iter()
        .map(|(key, mut g)| {
            let (f, l) = first_last.get(&key).copied().unwrap_or((None, None));
            g.first_seen = rfc3339(f);
            g.last_seen = rfc3339(l);
            g
        })
        .collect();
    sender_side.sort_by(|a, b| {
        b.events
            .cmp(&a.events)
            .then_with(|| a.receiving_domain.cmp(&b.receiving_domain))
            .then_with(|| a.code.cmp(&b.code))
    });
    let by_class: BTreeMap<&'static str, u64> = EventClass::ALL
        .iter()
        .map(|c| (c.as_str(), per_class[*c as usize]))
        .collect();
    let n = |c: EventClass| per_class[c as usize];
    let attempts = n(EventClass::Dead)
        + n(EventClass::RecipientSoft)
        + n(EventClass::SenderSide)
        + n(EventClass::Transient)
        + n(EventClass::Delivered);
    let rates = Rates {
        attempts,
        hard_bounce_rate: (attempts > 0).then(|| n(EventClass::Dead) as f64 / attempts as f64),
        complaint_rate: (n(EventClass::Delivered) > 0)
            .then(|| n(EventClass::Complaint) as f64 / n(EventClass::Delivered) as f64),
    };
    BounceReport {
        as_of: rfc3339(Some(options.as_of)),
        soft_threshold: soft.threshold,
        soft_window_days: soft.window as f64 / 86_400.0,
        unreadable_files: ingested
            .sources
            .iter()
            .filter(|s| s.events == 0 && s.unreadable > 0)
            .count() as u64,
        events: ingested.events.len() as u64,
        files: ingested.sources.clone(),
        events_by_class: by_class,
        addresses: addresses.len() as u64,
        carried_forward,
        sender_side,
        rates,
    }
}

/// Lines for stderr: unreadable files and the biggest sender-side blocks.
pub fn warnings(b: &BounceReport) -> Vec<String> {
    let mut out = Vec::new();
    let unreadable: u64 = b.files.iter().map(|f| f.unreadable).sum();
    if unreadable > 0 {
        let names: Vec<&str> = b
            .files
            .iter()
            .filter(|f| f.unreadable > 0)
            .map(|f| f.file.as_str())
            .take(3)
            .collect();
        out.push(format!(
            "bounces: {unreadable} message(s) or record(s) could not be read (used as evidence against nobody), in {}{}; details in report.json",
            names.join(", "),
            if b.files.iter().filter(|f| f.unreadable > 0).count() > 3 { ", ..." } else { "" }
        ));
    }
    for f in &b.files {
        if let Some(w) = &f.warning {
            out.push(format!("bounces: {w}"));
        }
    }
    for g in b.sender_side.iter().take(3) {
        out.push(format!(
            "sender-side: {}: {} {} event(s) from {} to {}: {}",
            g.receiving_domain, g.code, g.events, g.first_seen, g.last_seen, g.advice
        ));
    }
    out
}
