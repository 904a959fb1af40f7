//! Every default of a run, in one place: the library's `Default` impls and the command line's
//! `[default: …]` both read them, so the two cannot disagree.

/// Soft-bounce points (at most one a day) that suppress an address (after GNU Mailman 3).
pub const SOFT_THRESHOLD: u32 = 5;
/// Days after which the soft-bounce count restarts when no new bounce came.
pub const SOFT_WINDOW_DAYS: f64 = 7.0;
/// Rows per batch handed to the worker threads.
pub const BATCH_ROWS: usize = 16 * 1024;
/// Rows per batch under `--memory-limit`: a sixteenth of the batches in flight's memory (10M
/// rows under a 30 MB limit: 28-29 MB at the peak against 32-33 MB with 4,096-row batches, in the
/// same time; benches/README.md).
pub const BATCH_ROWS_LIMITED: usize = 1024;
/// Seconds to wait for one DNS answer when neither the command line nor resolv.conf says.
pub const DNS_TIMEOUT_SECS: f64 = 3.0;
/// Tries per DNS query when neither the command line nor resolv.conf says.
pub const DNS_ATTEMPTS: usize = 2;
/// Domains resolved at the same time.
pub const DNS_CONCURRENCY: usize = 128;
/// Queries in a row with no answer at all after which DNS is taken to be down.
pub const DNS_BREAKER: usize = 32;
/// Cached DNS answers are kept at least this long (seconds), whatever their TTL.
pub const DNS_CACHE_MIN_TTL_SECS: u64 = 3600;
/// Cached DNS answers are kept at most this long (seconds), whatever their TTL.
pub const DNS_CACHE_MAX_TTL_SECS: u64 = 86_400;
/// The system's resolver configuration.
pub const RESOLV_CONF: &str = "/etc/resolv.conf";
/// The share of the rows that reached DNS above which a run's DNS verdicts are distrusted
/// (see `policy::dns_guard`).
pub const DNS_MAX_DEAD_SHARE: f64 = 0.4;
/// The share of a run's rows (suppressed + duplicates + rejected) above which it stops before
/// writing anything (see `policy::drop_guard`).
pub const MAX_DROP_SHARE: f64 = 0.5;
