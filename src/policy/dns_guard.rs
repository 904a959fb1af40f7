//! Whether a run's DNS verdicts can be trusted as a whole.
//!
//! A resolver can lie wholesale: a captive portal, a broken forwarder or a DNS filter that
//! answers NXDOMAIN (or its own private address) for everything. Then every domain looks dead
//! and a run would suppress most of the list. Two signs give it away, and either one makes the
//! run treat its DNS verdicts as `unknown` (everyone kept, one warning):
//! - one of the list's [`TOP_DOMAINS`] largest domains by rows (each holding at least
//!   [`TOP_MIN_SHARE`] of the rows that reached DNS and [`TOP_MIN_ROWS`] rows) comes back as not
//!   existing, without a mail route, or with mail hosts only on private addresses: the large
//!   domains of a real list are mailbox providers and live companies;
//! - more than `max_dead_share` of the rows that reached DNS would be suppressed on DNS evidence
//!   alone, over at least [`MIN_DOMAINS`] distinct domains (default 0.4: old lists do lose a
//!   tenth to a quarter of their rows to dead domains, but not most of them).
//!
//! A `max_dead_share` of 1 or more turns the guard off.

use crate::dns::MailRoute;

/// How many of the largest domains are looked at.
pub const TOP_DOMAINS: usize = 3;
/// The share of the rows that reached DNS a domain must hold to count as large.
pub const TOP_MIN_SHARE: f64 = 0.01;
/// The rows a domain must hold to count as large.
pub const TOP_MIN_ROWS: u64 = 20;
/// Distinct domains below which the share rule is not applied (a handful of domains says
/// nothing about the resolver).
pub const MIN_DOMAINS: usize = 10;

/// Why the run's DNS verdicts are not to be trusted, or `None` when they are. `domains` holds
/// each domain's name, class and rows.
pub fn distrust<'d>(
    domains: impl IntoIterator<Item = (&'d str, MailRoute, u64)>,
    max_dead_share: f64,
) -> Option<String> {
    if max_dead_share >= 1.0 {
        return None;
    }
    let mut all: Vec<(&str, MailRoute, u64)> = domains.into_iter().collect();
    let total: u64 = all.iter().map(|d| d.2).sum();
    if total == 0 {
        return None;
    }
    let dead: u64 = all.iter().filter(|d| d.1.is_dead()).map(|d| d.2).sum();
    all.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(b.0)));
    for (domain, class, rows) in all.iter().take(TOP_DOMAINS) {
        let large = *rows >= TOP_MIN_ROWS && *rows as f64 >= TOP_MIN_SHARE * total as f64;
        let lie_like = matches!(
            class,
            MailRoute::Nxdomain | MailRoute::NoMailRoute | MailRoute::MxUnroutable
        );
        if large && lie_like {
            return Some(format!(
                "{domain}, one of the list's largest domains ({rows} rows), came back as {}",
                class.as_str()
            ));
        }
    }
    let share = dead as f64 / total as f64;
    if all.len() >= MIN_DOMAINS && share > max_dead_share {
        return Some(format!(
            "{:.0}% of the rows that reached DNS would be suppressed on DNS evidence alone (more than --dns-max-dead-share {max_dead_share})",
            share * 100.0
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use MailRoute::*;

    #[test]
    fn a_large_domain_that_does_not_exist_is_a_lying_resolver() {
        let d = [("gmail.com", Nxdomain, 500), ("corp.com", Mx, 30)];
        assert!(distrust(d, 0.4).unwrap().contains("gmail.com"));
        // A null MX is a record someone published: not a lie.
        let d = [("gmail.com", NullMx, 500), ("corp.com", Mx, 30)];
        assert_eq!(distrust(d, 0.4), None);
        // Small domains say nothing.
        let d = [("tiny.com", Nxdomain, 5), ("corp.com", Mx, 3)];
        assert_eq!(distrust(d, 0.4), None);
        // Large in rows but a small share of a big list: not one of the large domains.
        let mut big: Vec<(&str, MailRoute, u64)> = vec![("gone.example", Nxdomain, 25)];
        big.push(("gmail.com", Mx, 9_000));
        big.push(("outlook.com", Mx, 975));
        assert_eq!(distrust(big, 0.4), None);
        // Off.
        let d = [("gmail.com", Nxdomain, 500)];
        assert_eq!(distrust(d, 1.0), None);
    }

    #[test]
    fn most_rows_dead_over_many_domains_is_a_lying_resolver() {
        let names: Vec<String> = (0..20).map(|i| format!("d{i}.com")).collect();
        let many = |dead: usize| -> Vec<(&str, MailRoute, u64)> {
            names
                .iter()
                .enumerate()
                .map(|(i, n)| (n.as_str(), if i < dead { NullMx } else { Mx }, 10))
                .collect()
        };
        assert!(distrust(many(9), 0.4).unwrap().contains("45%"));
        assert_eq!(distrust(many(8), 0.4), None);
        // Few domains: the share rule waits for more evidence.
        let few = [("a.com", NullMx, 10), ("b.com", Mx, 1)];
        assert_eq!(distrust(few, 0.4), None);
    }
}
