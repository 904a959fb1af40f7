//! The JSON lines `mailscrub resolve` writes, one per input: serialised from borrowed answers,
//! with the keys in the order they have always had (alphabetical), because scripts read them.

use mailscrub::dns::{DomainStatus, MailRoute};
use serde::Serialize;

/// A `resolve` output line for a domain, its keys in the order they have always had.
#[derive(Serialize)]
pub struct Resolved<'a> {
    class: MailRoute,
    domain: &'a str,
    error: Option<&'a str>,
    from_cache: bool,
    input: &'a str,
    mx: Vec<MxHost<'a>>,
    ttl: u32,
}

/// One mail host of a [`Resolved`].
#[derive(Serialize)]
pub struct MxHost<'a> {
    addresses: &'a [std::net::IpAddr],
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
    host: &'a str,
    preference: u16,
}

impl<'a> Resolved<'a> {
    /// The line of `input`, which resolved to `status`.
    pub fn of(input: &'a str, status: &'a DomainStatus) -> Self {
        Resolved {
            class: status.class,
            domain: &status.domain,
            error: status.error.as_deref(),
            from_cache: status.from_cache,
            input,
            mx: status
                .mx
                .iter()
                .map(|h| MxHost {
                    addresses: &h.addresses,
                    error: h.error.as_deref(),
                    host: &h.host,
                    preference: h.preference,
                })
                .collect(),
            ttl: status.ttl,
        }
    }
}

/// A `resolve` output line for an input that is not a domain.
#[derive(Serialize)]
pub struct Unresolved<'a> {
    class: (),
    domain: (),
    error: &'a str,
    input: &'a str,
}

impl<'a> Unresolved<'a> {
    /// The line of `input`, which is not a domain for `error`.
    pub fn of(input: &'a str, error: &'a str) -> Self {
        Unresolved {
            class: (),
            domain: (),
            error,
            input,
        }
    }
}
