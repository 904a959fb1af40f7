//! The DNS section of the report: the classes of the domains the run decided on, the domains
//! that cost the most rows, cache use, and the warnings an operator must see.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{DnsReport, DomainCount};
use crate::dns::cache::Loaded;
use crate::dns::{DnsStats, DomainStatus, MailRoute};

/// A domain as the run's decisions saw it: its answer and the rows it decided.
pub struct DomainRows {
    /// The DNS answer.
    pub status: Arc<DomainStatus>,
    /// Rows with this domain that reached the DNS decision.
    pub rows: u64,
}

/// Builds the DNS section. `servers` names the servers asked.
pub fn build(
    servers: Vec<String>,
    domains: &HashMap<String, DomainRows>,
    stats: DnsStats,
    cache: &Loaded,
    distrusted: Option<String>,
) -> DnsReport {
    let mut by_class: BTreeMap<&'static str, u64> =
        MailRoute::ALL.iter().map(|c| (c.as_str(), 0)).collect();
    let mut affected: Vec<DomainCount> = Vec::new();
    for (domain, seen) in domains {
        *by_class.entry(seen.status.class.as_str()).or_insert(0) += 1;
        if seen.status.class != MailRoute::Mx && seen.status.class != MailRoute::ImplicitMx {
            affected.push(DomainCount {
                domain: domain.clone(),
                class: seen.status.class.as_str(),
                rows: seen.rows,
                evidence: seen.status.evidence(),
            });
        }
    }
    affected.sort_by(|a, b| b.rows.cmp(&a.rows).then_with(|| a.domain.cmp(&b.domain)));
    affected.truncate(20);
    DnsReport {
        servers,
        domains: domains.len() as u64,
        by_class,
        top_affected_domains: affected,
        cache_fresh: cache.fresh as u64,
        cache_expired: cache.expired as u64,
        cache_damaged_lines: cache.damaged as u64,
        distrusted,
        stats,
    }
}

/// The warnings of the DNS section.
pub fn warnings(dns: &DnsReport) -> Vec<String> {
    let mut warnings = Vec::new();
    let unknown = dns.by_class.get("unknown").copied().unwrap_or(0);
    if let Some(why) = &dns.distrusted {
        warnings.push(format!(
            "DNS: the resolver's answers look wrong ({why}), so this run trusted none of them: nobody was suppressed for a DNS reason and every DNS-dead domain's rows are kept and flagged dns_unknown. Check the resolver ({}); --dns-max-dead-share changes the limit",
            dns.servers.join(", ")
        ));
    }
    if dns.stats.breaker_tripped {
        warnings.push(format!(
            "DNS: the resolver ({}) stopped answering, so mailscrub stopped asking; {unknown} domain(s) are `unknown` and nobody was suppressed for a DNS reason on them",
            dns.servers.join(", ")
        ));
    } else if unknown > 0 && dns.distrusted.is_none() {
        warnings.push(format!(
            "DNS: {unknown} domain(s) could not be resolved (timeout, SERVFAIL, ...); their rows are kept and flagged dns_unknown"
        ));
    }
    if dns.cache_damaged_lines > 0 {
        warnings.push(format!(
            "DNS cache: {} damaged line(s) ignored",
            dns.cache_damaged_lines
        ));
    }
    warnings
}
