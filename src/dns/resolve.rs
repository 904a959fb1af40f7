//! Asking DNS, in bulk, with hickory-resolver.
//!
//! [`BulkResolver`] owns one thread running one tokio runtime and one shared resolver. Callers
//! hand it domains ([`BulkResolver::submit`]) as they discover them and read answers from the
//! shared [`DomainBook`], waiting only for domains still in flight. A semaphore bounds the
//! queries in flight; a circuit breaker stops asking when nothing answers.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;
use std::time::Instant;

use hickory_resolver::config::{
    ConnectionConfig, LookupIpStrategy, NameServerConfig, ResolveHosts, ResolverConfig,
    ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError as NetDnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::TokioResolver;
use tokio::sync::{mpsc, Semaphore};

use super::lookups::{Lookups, Outcome, NO_ANSWER};
use super::upstream::{self, Upstream};
use super::wire::{Counters, WireClient};
use super::{ranges, DnsConfig, DnsError, DomainStatus, Engine, MailRoute, MxHost};

/// Answers shared between the resolver thread and the pipeline.
#[derive(Default)]
pub struct DomainBook {
    inner: Mutex<BookInner>,
    ready: Condvar,
}

#[derive(Default)]
struct BookInner {
    answers: HashMap<String, Arc<DomainStatus>>,
    /// The domains a thread is waiting for (one or two at a time): an answer wakes the waiters
    /// only when it is one of them, not at every one of a bulk run's answers (each wake-up was
    /// a context switch on both sides).
    awaited: Vec<String>,
}

impl DomainBook {
    fn lock(&self) -> std::sync::MutexGuard<'_, BookInner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records an answer and wakes the threads waiting for it.
    pub fn insert(&self, status: DomainStatus) {
        let mut inner = self.lock();
        let awaited = inner.awaited.contains(&status.domain);
        inner
            .answers
            .insert(status.domain.clone(), Arc::new(status));
        if awaited {
            self.ready.notify_all();
        }
    }

    /// The answer for `domain`, if there is one yet.
    pub fn get(&self, domain: &str) -> Option<Arc<DomainStatus>> {
        self.lock().answers.get(domain).cloned()
    }

    /// The answer for `domain`, waiting until it is there. Only call for submitted domains.
    pub fn wait(&self, domain: &str) -> Arc<DomainStatus> {
        let mut inner = self.lock();
        if let Some(s) = inner.answers.get(domain) {
            return s.clone();
        }
        inner.awaited.push(domain.to_owned());
        loop {
            inner = self.ready.wait(inner).unwrap_or_else(|p| p.into_inner());
            if let Some(s) = inner.answers.get(domain).cloned() {
                if let Some(at) = inner.awaited.iter().position(|d| d == domain) {
                    inner.awaited.swap_remove(at);
                }
                return s;
            }
        }
    }

    /// How many domains have an answer.
    pub fn len(&self) -> usize {
        self.lock().answers.len()
    }

    /// Whether no domain has an answer yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every answer, for the cache file.
    pub fn snapshot(&self) -> Vec<Arc<DomainStatus>> {
        self.lock().answers.values().cloned().collect()
    }
}

/// What the DNS stage did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DnsStats {
    /// Domains asked of DNS this run.
    pub resolved: u64,
    /// Domains answered from the cache file.
    pub from_cache: u64,
    /// DNS queries sent (MX, A/AAAA of hosts, fallback A/AAAA).
    pub queries: u64,
    /// Datagrams dropped because they did not answer an outstanding question (wrong ID,
    /// question, sender or port; not a response; garbage).
    pub dropped_responses: u64,
    /// Whether the circuit breaker opened.
    pub breaker_tripped: bool,
    /// Seconds from the first submission to the last answer.
    pub seconds: f64,
}

struct Shared {
    book: Arc<DomainBook>,
    counters: Arc<Counters>,
    resolved: AtomicU64,
    asked: AtomicU64,
    unanswered_in_a_row: AtomicUsize,
    tripped: AtomicBool,
    breaker_after: usize,
}

/// Resolves domains in the background; see the module docs.
pub struct BulkResolver {
    tx: Option<mpsc::UnboundedSender<String>>,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<f64>>,
    from_cache: u64,
}

impl BulkResolver {
    /// Starts the resolver thread. `book` may already hold cached answers.
    pub fn start(config: &DnsConfig, book: Arc<DomainBook>) -> Result<Self, DnsError> {
        let from_cache = book.snapshot().len() as u64;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .thread_name("mailscrub-dns")
            .build()
            .map_err(|e| DnsError::Setup(e.to_string()))?;
        let counters = Arc::new(Counters::default());
        let upstream = upstream::choose(config)?;
        let engine = match upstream.engine {
            Engine::Hickory => {
                let _guard = runtime.enter();
                EngineImpl::Hickory(Hickory {
                    resolver: build_resolver(&upstream, config.concurrency)
                        .map_err(|e| DnsError::Setup(e.to_string()))?,
                    counters: counters.clone(),
                })
            }
            Engine::Wire => {
                let client = runtime
                    .block_on(WireClient::new(
                        upstream.servers.clone(),
                        upstream.timeout,
                        upstream.attempts,
                        counters.clone(),
                    ))
                    .map_err(|e| DnsError::Setup(e.to_string()))?;
                EngineImpl::Wire(client)
            }
        };
        let shared = Arc::new(Shared {
            book,
            counters,
            resolved: AtomicU64::new(0),
            asked: AtomicU64::new(0),
            unanswered_in_a_row: AtomicUsize::new(0),
            tripped: AtomicBool::new(false),
            breaker_after: config.breaker_after.max(1),
        });
        let (tx, rx) = mpsc::unbounded_channel();
        let concurrency = config.concurrency.max(1);
        let worker_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("mailscrub-dns".to_owned())
            .spawn(move || {
                // The serving loop runs as a task on the runtime's worker, beside the lookups
                // it spawns: on the thread that blocks here it handed every lookup to the worker
                // and was woken by every one that ended, two thread switches a domain.
                runtime.block_on(async move {
                    let serving = tokio::spawn(async move {
                        match engine {
                            EngineImpl::Hickory(h) => {
                                serve(h, rx, worker_shared, concurrency).await
                            }
                            EngineImpl::Wire(w) => serve(w, rx, worker_shared, concurrency).await,
                        }
                    });
                    match serving.await {
                        Ok(seconds) => seconds,
                        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                        Err(_) => 0.0,
                    }
                })
            })
            .map_err(|e| DnsError::Setup(e.to_string()))?;
        Ok(BulkResolver {
            tx: Some(tx),
            shared,
            thread: Some(thread),
            from_cache,
        })
    }

    /// The shared answers.
    pub fn book(&self) -> &Arc<DomainBook> {
        &self.shared.book
    }

    /// Asks for `domain` unless it is answered already. The caller must not submit a domain
    /// twice while it is in flight (the pipeline keeps a set of submitted domains).
    pub fn submit(&self, domain: String) {
        if self.shared.book.get(&domain).is_some() {
            return;
        }
        if let Some(tx) = &self.tx {
            self.shared.asked.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = tx.send(domain) {
                // The worker is gone; answer so that no one waits forever.
                let domain = e.0;
                self.shared
                    .book
                    .insert(DomainStatus::unknown(&domain, "the DNS worker stopped"));
            }
        }
    }

    /// For the progress line: domains answered this run (not from the cache), domains asked,
    /// domains answered from the cache.
    pub fn progress(&self) -> (u64, u64, u64) {
        let answered = (self.shared.book.len() as u64).saturating_sub(self.from_cache);
        let asked = self.shared.asked.load(Ordering::Relaxed);
        (answered.min(asked), asked, self.from_cache)
    }

    /// Waits for every submitted domain and returns what was done.
    pub fn finish(mut self) -> DnsStats {
        self.tx = None;
        let seconds = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or(0.0);
        DnsStats {
            resolved: self.shared.resolved.load(Ordering::Relaxed),
            from_cache: self.from_cache,
            queries: self.shared.counters.queries.load(Ordering::Relaxed),
            dropped_responses: self.shared.counters.dropped.load(Ordering::Relaxed),
            breaker_tripped: self.shared.tripped.load(Ordering::Relaxed),
            seconds,
        }
    }
}

impl Drop for BulkResolver {
    fn drop(&mut self) {
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// hickory-resolver on the run's servers (UDP, TCP for truncated answers).
fn build_resolver(upstream: &Upstream, concurrency: usize) -> Result<TokioResolver, NetError> {
    let provider = TokioRuntimeProvider::default();
    let servers = upstream
        .servers
        .iter()
        .map(|addr| {
            let mut udp = ConnectionConfig::udp();
            udp.port = addr.port();
            let mut tcp = ConnectionConfig::tcp();
            tcp.port = addr.port();
            NameServerConfig::new(addr.ip(), true, vec![udp, tcp])
        })
        .collect();
    let mut builder = TokioResolver::builder_with_config(
        ResolverConfig::from_parts(None, vec![], servers),
        provider,
    );
    let opts: &mut ResolverOpts = builder.options_mut();
    opts.timeout = upstream.timeout;
    opts.attempts = upstream.attempts.saturating_sub(1);
    opts.ip_strategy = LookupIpStrategy::Ipv4AndIpv6;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.max_active_requests = opts.max_active_requests.max(concurrency * 4);
    opts.ndots = 0;
    opts.cache_size = 32 * 1024;
    builder.build()
}

/// The client a run uses.
enum EngineImpl {
    Hickory(Hickory),
    Wire(WireClient),
}

async fn serve<L: Lookups>(
    resolver: L,
    mut rx: mpsc::UnboundedReceiver<String>,
    shared: Arc<Shared>,
    concurrency: usize,
) -> f64 {
    let start = Instant::now();
    let resolver = Arc::new(resolver);
    let slots = Arc::new(Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    while let Some(domain) = rx.recv().await {
        if shared.tripped.load(Ordering::Relaxed) {
            shared
                .book
                .insert(DomainStatus::unknown(&domain, breaker_message(&shared)));
            continue;
        }
        let Ok(permit) = slots.clone().acquire_owned().await else {
            break;
        };
        let resolver = resolver.clone();
        let shared = shared.clone();
        tasks.spawn(async move {
            let status = if shared.tripped.load(Ordering::Relaxed) {
                DomainStatus::unknown(&domain, breaker_message(&shared))
            } else {
                let status = resolve_domain(resolver.as_ref(), &domain).await;
                shared.resolved.fetch_add(1, Ordering::Relaxed);
                status
            };
            note_answer(&shared, &status);
            shared.book.insert(status);
            drop(permit);
        });
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}
    start.elapsed().as_secs_f64()
}

fn breaker_message(shared: &Shared) -> String {
    format!(
        "not asked: the resolver gave no answer to {} queries in a row (circuit breaker open)",
        shared.breaker_after
    )
}

/// Feeds the circuit breaker: any answer from a server closes the count; a domain whose
/// queries got no answer at all (timeouts, unreachable) adds one.
fn note_answer(shared: &Shared, status: &DomainStatus) {
    let silent = status.class == MailRoute::Unknown
        && status
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with(NO_ANSWER));
    if silent {
        let n = shared.unanswered_in_a_row.fetch_add(1, Ordering::Relaxed) + 1;
        if n >= shared.breaker_after {
            shared.tripped.store(true, Ordering::Relaxed);
        }
    } else if status.class != MailRoute::Unknown || status.error.is_some() {
        shared.unanswered_in_a_row.store(0, Ordering::Relaxed);
    }
}

fn outcome_of_error<T>(e: &NetError) -> Outcome<T> {
    match e {
        NetError::Dns(NetDnsError::NoRecordsFound(no)) => {
            let ttl = no.negative_ttl.unwrap_or(300);
            if no.response_code == ResponseCode::NXDomain {
                Outcome::NxDomain(ttl)
            } else {
                Outcome::NoData(ttl)
            }
        }
        NetError::Dns(NetDnsError::ResponseCode(code)) => Outcome::Failed(format!("{code}")),
        NetError::Timeout => Outcome::Failed(format!("{NO_ANSWER}: timed out")),
        NetError::Io(io) => Outcome::Failed(format!("{NO_ANSWER}: {io}")),
        NetError::NoConnections => {
            Outcome::Failed(format!("{NO_ANSWER}: no connections available"))
        }
        other => Outcome::Failed(other.to_string()),
    }
}

/// hickory-resolver as a [`Lookups`] (`--dns-engine hickory`).
pub(super) struct Hickory {
    resolver: TokioResolver,
    counters: Arc<Counters>,
}

impl Lookups for Hickory {
    async fn mx(&self, name: &Name) -> Outcome<Vec<(u16, Name)>> {
        lookup_mx(&self.resolver, name, &self.counters.queries).await
    }

    async fn addresses(&self, name: &Name) -> Outcome<Vec<IpAddr>> {
        lookup_addresses(&self.resolver, name, &self.counters.queries).await
    }
}

fn fqdn(name: &str) -> Result<Name, String> {
    let mut n = Name::from_ascii(name).map_err(|e| format!("bad name {name:?}: {e}"))?;
    n.set_fqdn(true);
    Ok(n)
}

async fn lookup_mx(
    resolver: &TokioResolver,
    domain: &Name,
    queries: &AtomicU64,
) -> Outcome<Vec<(u16, Name)>> {
    queries.fetch_add(1, Ordering::Relaxed);
    match resolver.mx_lookup(domain.clone()).await {
        Ok(lookup) => {
            let mut ttl = u32::MAX;
            let mut mx = Vec::new();
            for record in lookup.answers() {
                if let RData::MX(m) = &record.data {
                    ttl = ttl.min(record.ttl);
                    mx.push((m.preference, m.exchange.clone()));
                }
            }
            if mx.is_empty() {
                return Outcome::NoData(300);
            }
            mx.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
            Outcome::Answer(mx, ttl)
        }
        Err(e) => outcome_of_error(&e),
    }
}

async fn lookup_addresses(
    resolver: &TokioResolver,
    host: &Name,
    queries: &AtomicU64,
) -> Outcome<Vec<IpAddr>> {
    queries.fetch_add(2, Ordering::Relaxed);
    match resolver.lookup_ip(host.clone()).await {
        Ok(lookup) => {
            let mut ttl = u32::MAX;
            for record in lookup.as_lookup().answers() {
                if matches!(record.data, RData::A(_) | RData::AAAA(_)) {
                    ttl = ttl.min(record.ttl);
                }
            }
            let mut addrs: Vec<IpAddr> = lookup.iter().collect();
            addrs.sort();
            addrs.dedup();
            if addrs.is_empty() {
                return Outcome::NoData(300);
            }
            Outcome::Answer(addrs, ttl)
        }
        Err(e) => outcome_of_error(&e),
    }
}

fn host_text(name: &Name) -> String {
    let s = name.to_ascii();
    s.strip_suffix('.').unwrap_or(&s).to_ascii_lowercase()
}

/// Resolves and classifies one domain (ASCII, lowercased).
pub(super) async fn resolve_domain<L: Lookups>(resolver: &L, domain: &str) -> DomainStatus {
    let now = chrono::Utc::now().timestamp();
    let status = |class, mx, ttl| DomainStatus::answered(domain, class, mx, ttl, now);
    let name = match fqdn(domain) {
        Ok(n) => n,
        Err(e) => return DomainStatus::unknown(domain, e),
    };
    match resolver.mx(&name).await {
        Outcome::Answer(mx, ttl) => classify_mx(resolver, domain, mx, ttl, now).await,
        Outcome::NxDomain(ttl) => status(MailRoute::Nxdomain, vec![], ttl),
        Outcome::Failed(e) => DomainStatus::unknown(domain, e),
        Outcome::NoData(neg_ttl) => match resolver.addresses(&name).await {
            Outcome::Answer(addrs, ttl) => {
                let class = if addrs.iter().any(|a| ranges::is_public(*a)) {
                    MailRoute::ImplicitMx
                } else {
                    MailRoute::MxUnroutable
                };
                let host = MxHost {
                    preference: 0,
                    host: domain.to_owned(),
                    addresses: addrs,
                    error: None,
                };
                status(class, vec![host], ttl)
            }
            Outcome::NoData(ttl) => status(MailRoute::NoMailRoute, vec![], ttl.min(neg_ttl)),
            Outcome::NxDomain(ttl) => status(MailRoute::Nxdomain, vec![], ttl),
            Outcome::Failed(e) => DomainStatus::unknown(domain, e),
        },
    }
}

async fn classify_mx<L: Lookups>(
    resolver: &L,
    domain: &str,
    mx: Vec<(u16, Name)>,
    mx_ttl: u32,
    now: i64,
) -> DomainStatus {
    let status = |class, mx, ttl| DomainStatus::answered(domain, class, mx, ttl, now);
    // RFC 7505: a single MX whose exchange is the root. Alongside other MX records a root
    // exchange is a misconfiguration and is ignored.
    if mx.len() == 1 && mx[0].1.is_root() {
        let host = MxHost {
            preference: mx[0].0,
            host: ".".to_owned(),
            addresses: vec![],
            error: None,
        };
        return status(MailRoute::NullMx, vec![host], mx_ttl);
    }
    let lookups = mx
        .iter()
        .filter(|(_, n)| !n.is_root())
        .map(|(_, n)| resolver.addresses(n));
    let answers = futures_util::future::join_all(lookups).await;
    let mut hosts = Vec::new();
    let mut ttl = mx_ttl;
    let mut any_public = false;
    let mut failure = None;
    for ((pref, name), answer) in mx.iter().filter(|(_, n)| !n.is_root()).zip(answers) {
        let mut host = MxHost {
            preference: *pref,
            host: host_text(name),
            addresses: vec![],
            error: None,
        };
        match answer {
            Outcome::Answer(addrs, t) => {
                ttl = ttl.min(t);
                any_public |= addrs.iter().any(|a| ranges::is_public(*a));
                host.addresses = addrs;
            }
            Outcome::NxDomain(_) => host.error = Some("host does not exist".to_owned()),
            Outcome::NoData(_) => host.error = Some("host has no address".to_owned()),
            Outcome::Failed(e) => {
                host.error = Some(e.clone());
                failure = Some(e);
            }
        }
        hosts.push(host);
    }
    if any_public {
        return status(MailRoute::Mx, hosts, ttl);
    }
    if let Some(e) = failure {
        // Some host could not be looked up: it may be the reachable one.
        let mut s = DomainStatus::unknown(domain, format!("MX host lookup failed: {e}"));
        s.mx = hosts;
        return s;
    }
    status(MailRoute::MxUnroutable, hosts, ttl)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::net::IpAddr;

    use super::*;

    /// Waiters are woken by their own domain's answer, whatever comes before it, and two
    /// threads may wait for the same domain.
    #[test]
    fn a_waiter_gets_its_answer_among_many_others() {
        let book = Arc::new(DomainBook::default());
        let waiters: Vec<_> = ["b.example", "b.example", "z.example"]
            .into_iter()
            .map(|d| {
                let book = book.clone();
                std::thread::spawn(move || book.wait(d).domain.clone())
            })
            .collect();
        for i in 0..2000 {
            book.insert(DomainStatus::unknown(&format!("d{i}.example"), "x"));
            if i == 1000 {
                book.insert(DomainStatus::unknown("b.example", "x"));
            }
        }
        book.insert(DomainStatus::unknown("z.example", "x"));
        let got: Vec<String> = waiters.into_iter().map(|w| w.join().unwrap()).collect();
        assert_eq!(got, ["b.example", "b.example", "z.example"]);
        // Answered before anyone asks: no wait at all.
        assert_eq!(book.wait("d7.example").domain, "d7.example");
    }

    /// Answers from a table: the MX records of the domain and each host's addresses.
    struct Table {
        mx: Vec<(u16, Name)>,
        hosts: HashMap<String, Outcome<Vec<IpAddr>>>,
    }

    impl Lookups for Table {
        async fn mx(&self, _: &Name) -> Outcome<Vec<(u16, Name)>> {
            Outcome::Answer(self.mx.clone(), 300)
        }
        async fn addresses(&self, name: &Name) -> Outcome<Vec<IpAddr>> {
            self.hosts
                .get(&host_text(name))
                .cloned()
                .unwrap_or(Outcome::Failed(format!("asked for {name}")))
        }
    }

    fn classify(mx: &[(u16, &str)], hosts: &[(&str, Outcome<Vec<IpAddr>>)]) -> DomainStatus {
        let table = Table {
            mx: mx
                .iter()
                .map(|(p, n)| (*p, Name::from_ascii(n).unwrap()))
                .collect(),
            hosts: hosts
                .iter()
                .map(|(h, o)| ((*h).to_owned(), o.clone()))
                .collect(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        runtime.block_on(classify_mx(&table, "d.com", table.mx.clone(), 300, 0))
    }

    fn at(addr: &str) -> Outcome<Vec<IpAddr>> {
        Outcome::Answer(vec![addr.parse().unwrap()], 60)
    }

    #[test]
    fn a_lone_root_exchange_is_a_null_mx() {
        let s = classify(&[(0, ".")], &[]);
        assert_eq!(s.class, MailRoute::NullMx);
        assert_eq!(s.mx[0].host, ".");
    }

    #[test]
    fn a_root_exchange_beside_real_ones_is_ignored() {
        let s = classify(
            &[(0, "."), (10, "mx.d.com.")],
            &[("mx.d.com", at("11.22.33.44"))],
        );
        assert_eq!(s.class, MailRoute::Mx);
        let hosts: Vec<_> = s.mx.iter().map(|h| h.host.as_str()).collect();
        assert_eq!(hosts, ["mx.d.com"], "the root is not a host");
        assert_eq!(s.ttl, 60, "the lowest TTL");
    }

    #[test]
    fn one_public_host_makes_a_route_and_private_ones_do_not() {
        let public = classify(
            &[(10, "in.d.com."), (20, "out.d.com.")],
            &[
                ("in.d.com", at("10.0.0.5")),
                ("out.d.com", at("11.22.33.44")),
            ],
        );
        assert_eq!(public.class, MailRoute::Mx);
        let private = classify(
            &[(10, "in.d.com."), (20, "lo.d.com.")],
            &[("in.d.com", at("10.0.0.5")), ("lo.d.com", at("127.0.0.1"))],
        );
        assert_eq!(private.class, MailRoute::MxUnroutable);
        let missing = classify(
            &[(10, "gone.d.com.")],
            &[("gone.d.com", Outcome::NxDomain(60))],
        );
        assert_eq!(missing.class, MailRoute::MxUnroutable);
        assert_eq!(missing.mx[0].error.as_deref(), Some("host does not exist"));
    }

    #[test]
    fn a_host_that_could_not_be_looked_up_leaves_the_domain_unknown() {
        let s = classify(
            &[(10, "in.d.com."), (20, "slow.d.com.")],
            &[
                ("in.d.com", at("10.0.0.5")),
                ("slow.d.com", Outcome::Failed("no answer".to_owned())),
            ],
        );
        assert_eq!(s.class, MailRoute::Unknown);
        assert_eq!(s.mx.len(), 2, "the hosts are kept as evidence");
    }
}
