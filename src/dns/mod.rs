//! Stage 5: each distinct domain's mail route, asked once per run.
//!
//! Domains come in (ASCII/punycode, lowercased); a [`DomainStatus`] per domain comes out, with a
//! [`MailRoute`] class from a closed set (RFC 5321 §5.1, RFC 7505) and the evidence behind it.
//! The guarantees a nightly job relies on:
//! - a timeout, SERVFAIL, REFUSED or network error is [`MailRoute::Unknown`], which never removes
//!   anyone;
//! - one shared resolver, a bounded number of queries in flight, a per-query timeout and
//!   retries, TCP on truncated answers;
//! - a circuit breaker: when the resolver does not answer at all, the run stops asking, marks the
//!   rest `unknown` and finishes in bounded time;
//! - answers can be kept between runs in a cache file ([`cache`]), honouring TTLs within a floor
//!   and a ceiling, never caching `unknown`.
//!
//! Async code stays inside this module: callers see [`BulkResolver`], a plain blocking API backed
//! by its own thread and tokio runtime.

pub mod cache;
mod lookups;
mod packet;
pub mod ranges;
mod resolve;
pub mod txt;
pub mod upstream;
mod wire;

use std::net::{IpAddr, SocketAddr};
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::defaults;

pub use resolve::{BulkResolver, DnsStats, DomainBook};

/// Why the DNS stage cannot start.
#[derive(Debug, thiserror::Error)]
pub enum DnsError {
    /// No server to ask: resolv.conf unreadable or naming none.
    #[error("{0}")]
    NoServer(String),
    /// The cache file cannot be read.
    #[error("{}: cannot read the DNS cache: {source}", path.display())]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The resolver cannot be set up (no socket, no runtime).
    #[error("cannot set up the DNS resolver: {0}")]
    Setup(String),
}

/// How the DNS stage is set up.
#[derive(Debug, Clone)]
pub struct DnsConfig {
    /// Servers to ask; empty means the system configuration (`resolv_conf`).
    pub servers: Vec<SocketAddr>,
    /// The resolv.conf file read when `servers` is empty; `None` is `/etc/resolv.conf`.
    pub resolv_conf: Option<PathBuf>,
    /// Per-query timeout; `None` is resolv.conf's `options timeout`, else 3 s.
    pub timeout: Option<Duration>,
    /// Tries per query (1 = no retry); `None` is resolv.conf's `options attempts`, else 2.
    pub attempts: Option<usize>,
    /// Domains resolved at the same time.
    pub concurrency: usize,
    /// Consecutive queries with no answer at all after which the resolver is taken to be down.
    pub breaker_after: usize,
    /// A file that keeps answers between runs.
    pub cache_file: Option<PathBuf>,
    /// TTL floor for cached answers.
    pub cache_min_ttl: Duration,
    /// TTL ceiling for cached answers.
    pub cache_max_ttl: Duration,
    /// The DNS client.
    pub engine: Engine,
    /// The share of rows that DNS may remove before the run distrusts its DNS verdicts
    /// (`policy::dns_guard`); 1 turns the guard off.
    pub max_dead_share: f64,
}

/// Which DNS client asks the questions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// mailscrub's pipelined client (many queries in flight on few sockets).
    #[default]
    Wire,
    /// hickory-resolver.
    Hickory,
}

impl Default for DnsConfig {
    fn default() -> Self {
        DnsConfig {
            servers: Vec::new(),
            resolv_conf: None,
            timeout: None,
            attempts: None,
            concurrency: defaults::DNS_CONCURRENCY,
            breaker_after: defaults::DNS_BREAKER,
            cache_file: None,
            cache_min_ttl: Duration::from_secs(defaults::DNS_CACHE_MIN_TTL_SECS),
            cache_max_ttl: Duration::from_secs(defaults::DNS_CACHE_MAX_TTL_SECS),
            engine: Engine::Wire,
            max_dead_share: defaults::DNS_MAX_DEAD_SHARE,
        }
    }
}

/// The class of a domain's mail route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MailRoute {
    /// MX records whose hosts resolve to at least one public address.
    Mx,
    /// No MX, but A/AAAA records on the domain itself (RFC 5321 §5.1).
    ImplicitMx,
    /// A single MX `0 .` (RFC 7505): the domain accepts no mail.
    NullMx,
    /// The domain does not exist.
    Nxdomain,
    /// The domain exists but has neither MX nor A/AAAA records.
    NoMailRoute,
    /// Every mail host resolves only to non-routable addresses, or not at all.
    MxUnroutable,
    /// No answer could be had (timeout, SERVFAIL, REFUSED, network error): keep the address.
    Unknown,
}

impl MailRoute {
    /// Every class, in report order.
    pub const ALL: [MailRoute; 7] = [
        MailRoute::Mx,
        MailRoute::ImplicitMx,
        MailRoute::NullMx,
        MailRoute::Nxdomain,
        MailRoute::NoMailRoute,
        MailRoute::MxUnroutable,
        MailRoute::Unknown,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            MailRoute::Mx => "mx",
            MailRoute::ImplicitMx => "implicit_mx",
            MailRoute::NullMx => "null_mx",
            MailRoute::Nxdomain => "nxdomain",
            MailRoute::NoMailRoute => "no_mail_route",
            MailRoute::MxUnroutable => "mx_unroutable",
            MailRoute::Unknown => "unknown",
        }
    }

    /// True when the class proves the domain takes no mail from the public Internet.
    pub fn is_dead(self) -> bool {
        matches!(
            self,
            MailRoute::NullMx
                | MailRoute::Nxdomain
                | MailRoute::NoMailRoute
                | MailRoute::MxUnroutable
        )
    }
}

/// One mail host of a domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MxHost {
    /// MX preference (lower is preferred); 0 for an implicit MX.
    pub preference: u16,
    /// The host name, without the root dot.
    pub host: String,
    /// The addresses it resolves to.
    pub addresses: Vec<IpAddr>,
    /// Why the host has no addresses, when it has none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// What DNS says about one domain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainStatus {
    /// The domain, ASCII.
    pub domain: String,
    /// The class.
    pub class: MailRoute,
    /// The mail hosts, by preference.
    pub mx: Vec<MxHost>,
    /// Seconds the answer may be kept (the lowest TTL seen; the SOA minimum for negative answers).
    pub ttl: u32,
    /// Unix time the answer was obtained.
    pub resolved_at: i64,
    /// The error, for `unknown`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// True when the answer came from the cache file.
    #[serde(skip)]
    pub from_cache: bool,
}

impl DomainStatus {
    /// A status DNS answered for, obtained at `resolved_at`.
    pub fn answered(
        domain: &str,
        class: MailRoute,
        mx: Vec<MxHost>,
        ttl: u32,
        resolved_at: i64,
    ) -> Self {
        DomainStatus {
            domain: domain.to_owned(),
            class,
            mx,
            ttl,
            resolved_at,
            error: None,
            from_cache: false,
        }
    }

    /// An `unknown` status with its reason.
    pub fn unknown(domain: &str, error: impl Into<String>) -> Self {
        DomainStatus {
            domain: domain.to_owned(),
            class: MailRoute::Unknown,
            mx: Vec::new(),
            ttl: 0,
            resolved_at: chrono::Utc::now().timestamp(),
            error: Some(error.into()),
            from_cache: false,
        }
    }

    /// The evidence in one sentence, for the suppression file.
    pub fn evidence(&self) -> String {
        let hosts = || {
            self.mx
                .iter()
                .map(|h| {
                    let addrs = if h.addresses.is_empty() {
                        h.error.clone().unwrap_or_else(|| "no address".to_owned())
                    } else {
                        h.addresses
                            .iter()
                            .map(IpAddr::to_string)
                            .collect::<Vec<_>>()
                            .join(" ")
                    };
                    format!("{} {} ({addrs})", h.preference, h.host)
                })
                .collect::<Vec<_>>()
                .join(", ")
        };
        match self.class {
            MailRoute::Mx => format!("{}: MX {}", self.domain, hosts()),
            MailRoute::ImplicitMx => format!(
                "{}: no MX, accepts mail on its own address ({})",
                self.domain,
                hosts()
            ),
            MailRoute::NullMx => format!(
                "{}: null MX (RFC 7505), the domain accepts no mail",
                self.domain
            ),
            MailRoute::Nxdomain => format!("{}: NXDOMAIN, the domain does not exist", self.domain),
            MailRoute::NoMailRoute => {
                format!("{}: exists but has no MX and no A/AAAA record", self.domain)
            }
            MailRoute::MxUnroutable => format!(
                "{}: every mail host is unreachable from the Internet: {}",
                self.domain,
                hosts()
            ),
            MailRoute::Unknown => format!(
                "{}: unknown ({})",
                self.domain,
                self.error.as_deref().unwrap_or("no answer")
            ),
        }
    }
}

/// A domain as a user typed it, made ready for DNS: trimmed, root dot removed, IDN to punycode,
/// lowercased.
pub fn normalise_domain(input: &str) -> Result<String, String> {
    let d = input.trim().trim_end_matches('.');
    if d.is_empty() {
        return Err("empty domain".to_owned());
    }
    idna::domain_to_ascii_strict(d).map_err(|_| format!("not a valid domain name: {d:?}"))
}

/// Loads the cache file and starts the resolver: the DNS stage of a `clean` run.
pub fn start(config: &DnsConfig) -> Result<(BulkResolver, cache::Loaded), DnsError> {
    let (book, loaded) = cache::load_book(config)?;
    let resolver = BulkResolver::start(config, book)?;
    Ok((resolver, loaded))
}

/// Waits for every answer and writes the cache file; what the stage did.
pub fn finish(
    config: &DnsConfig,
    resolver: BulkResolver,
) -> Result<DnsStats, crate::files::OutputError> {
    let book = resolver.book().clone();
    let stats = resolver.finish();
    cache::save(config, &book)?;
    Ok(stats)
}

/// The servers a run asks, for the report: the given ones, or `system`.
pub fn server_names(config: &DnsConfig) -> Vec<String> {
    if config.servers.is_empty() {
        vec!["system".to_owned()]
    } else {
        config.servers.iter().map(|s| s.to_string()).collect()
    }
}

/// Resolves a list of domains (for `mailscrub resolve`), answers in input order. The cache file,
/// when configured, is read and updated as in a `clean` run.
pub fn resolve_all(
    config: &DnsConfig,
    inputs: &[String],
) -> Result<Vec<Result<DomainStatus, String>>, DnsError> {
    let mut answers = Vec::with_capacity(inputs.len());
    resolve_each(config, inputs, |_, answer| {
        answers.push(answer.cloned().map_err(str::to_owned));
        ControlFlow::Continue(())
    })?;
    Ok(answers)
}

/// Resolves a list of domains and hands each input its answer (`Err` for an input that is not
/// a domain), in input order, as soon as it and the ones before it are known: the caller writes
/// them out while the rest are being resolved. `each` returning `Break` stops the handing out
/// (the domains asked are still waited for). The cache file, when configured, is read and
/// updated as in a `clean` run.
pub fn resolve_each(
    config: &DnsConfig,
    inputs: &[String],
    mut each: impl FnMut(&str, Result<&DomainStatus, &str>) -> ControlFlow<()>,
) -> Result<(), DnsError> {
    let (resolver, _) = start(config)?;
    let book = resolver.book().clone();
    let domains: Vec<Result<String, String>> = inputs.iter().map(|i| normalise_domain(i)).collect();
    let mut submitted = std::collections::HashSet::new();
    for d in domains.iter().flatten() {
        if submitted.insert(d.as_str()) {
            resolver.submit(d.clone());
        }
    }
    for (input, domain) in inputs.iter().zip(&domains) {
        let flow = match domain {
            Ok(d) => each(input, Ok(&book.wait(d))),
            Err(e) => each(input, Err(e)),
        };
        if flow.is_break() {
            break;
        }
    }
    resolver.finish();
    cache::save(config, &book).map_err(|e| DnsError::Setup(e.to_string()))
}
