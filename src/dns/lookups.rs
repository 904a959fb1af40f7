//! The contract between the classification of a domain and the DNS clients that answer it:
//! two questions (MX, and a host's addresses) and how each ended. The hickory-resolver adapter
//! and the pipelined wire client each implement [`Lookups`] and import nothing else of the stage.

use std::net::IpAddr;

use hickory_resolver::proto::rr::Name;

/// Prefix of the error text of a query that got no answer at all.
pub(crate) const NO_ANSWER: &str = "no answer";

/// How one query ended.
#[derive(Debug, Clone)]
pub(crate) enum Outcome<T> {
    Answer(T, u32),
    /// NXDOMAIN, with the negative TTL.
    NxDomain(u32),
    /// The name exists, but not with this type (NODATA).
    NoData(u32),
    /// No usable answer: keep the domain as unknown.
    Failed(String),
}

impl<T> Outcome<T> {
    /// The same outcome, with an answer's records changed by `f`.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Outcome<U> {
        match self {
            Outcome::Answer(v, ttl) => Outcome::Answer(f(v), ttl),
            Outcome::NxDomain(ttl) => Outcome::NxDomain(ttl),
            Outcome::NoData(ttl) => Outcome::NoData(ttl),
            Outcome::Failed(e) => Outcome::Failed(e),
        }
    }
}

/// The two questions the classification asks, answered by a DNS client.
pub(crate) trait Lookups: Send + Sync + 'static {
    /// The MX records of a name, by preference.
    fn mx(
        &self,
        name: &Name,
    ) -> impl std::future::Future<Output = Outcome<Vec<(u16, Name)>>> + Send;
    /// The A and AAAA addresses of a host.
    fn addresses(
        &self,
        name: &Name,
    ) -> impl std::future::Future<Output = Outcome<Vec<IpAddr>>> + Send;
}
