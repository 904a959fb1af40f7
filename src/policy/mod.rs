//! Stage 6: the decision. Evidence in, one [`Decision`] out; no I/O, no clock, no state, so the
//! same evidence always gives the same verdict and every verdict can be explained.
//!
//! Order of evidence, strongest first: the address itself (syntax, reserved domain), then the
//! address's bounce and feedback history ([`evidence`]), then the domain's mail route. A route
//! that DNS could not establish (`unknown`) never suppresses: it flags the row and keeps it.

pub mod dns_guard;
pub mod drop_guard;
pub mod evidence;

pub use evidence::{Histories, History, HistoryVerdict, SoftRule, SoftStreak};

use std::borrow::Cow;

use crate::address::Checked;
use crate::dns::{DomainStatus, MailRoute};
use crate::record::{Flags, Reason};

/// What backs a suppression.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Evidence<'e> {
    /// The input row itself (its `file:line`).
    Row,
    /// The address's bounce and feedback history.
    History(HistoryVerdict<'e>),
    /// A DNS answer obtained at this Unix time.
    Dns {
        /// When the answer was obtained.
        resolved_at: i64,
        /// Whether it came from the cache file.
        from_cache: bool,
    },
}

/// What happens to a row that is not a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision<'e> {
    /// Keep the row, with these flags.
    Keep {
        /// Risks a person may want to look at.
        flags: Flags,
    },
    /// Suppress the address.
    Suppress {
        /// The closed-set reason.
        reason: Reason,
        /// The evidence, in words (borrowed from the address's problem or the deciding event).
        detail: Cow<'e, str>,
        /// Where the evidence comes from.
        evidence: Evidence<'e>,
    },
}

fn route_reason(route: MailRoute) -> Option<Reason> {
    match route {
        MailRoute::Nxdomain => Some(Reason::Nxdomain),
        MailRoute::NullMx => Some(Reason::NullMx),
        MailRoute::NoMailRoute => Some(Reason::NoMailRoute),
        MailRoute::MxUnroutable => Some(Reason::MxUnroutable),
        MailRoute::Mx | MailRoute::ImplicitMx | MailRoute::Unknown => None,
    }
}

/// Decides one address, given its bounce history and its domain's mail route when known.
pub fn decide<'e>(
    checked: &'e Checked,
    history: Option<&History<'e>>,
    route: Option<&DomainStatus>,
) -> Decision<'e> {
    if let Some(problem) = &checked.problem {
        return Decision::Suppress {
            reason: problem.reason,
            detail: Cow::Borrowed(&problem.detail),
            evidence: Evidence::Row,
        };
    }
    let mut flags = checked.flags;
    if let Some(history) = history {
        if let Some(v) = &history.verdict {
            return Decision::Suppress {
                reason: v.reason,
                detail: Cow::Borrowed(&v.deciding.diagnostic),
                evidence: Evidence::History(*v),
            };
        }
        if history.soft_score > 0 {
            flags |= Flags::SOFT_BOUNCES;
        }
    }
    if let Some(status) = route {
        if let Some(reason) = route_reason(status.class) {
            return Decision::Suppress {
                reason,
                detail: Cow::Owned(status.evidence()),
                evidence: Evidence::Dns {
                    resolved_at: status.resolved_at,
                    from_cache: status.from_cache,
                },
            };
        }
        if status.class == MailRoute::Unknown {
            flags |= Flags::DNS_UNKNOWN;
        }
    }
    Decision::Keep { flags }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{check, AddressRules, FlagLists};

    fn checked(s: &str) -> Checked {
        check(s, &AddressRules::default(), &FlagLists::builtin())
    }

    fn status(class: MailRoute) -> DomainStatus {
        DomainStatus {
            domain: "corp.com".to_owned(),
            class,
            mx: vec![],
            ttl: 60,
            resolved_at: 1,
            error: None,
            from_cache: false,
        }
    }

    #[test]
    fn invalid_is_suppressed_with_its_reason() {
        match decide(&checked("a@b.test"), None, None) {
            Decision::Suppress {
                reason, evidence, ..
            } => {
                assert_eq!(reason, Reason::ReservedDomain);
                assert_eq!(evidence, Evidence::Row);
            }
            d => panic!("{d:?}"),
        }
        assert_eq!(
            decide(&checked("info@gmal.com"), None, None),
            Decision::Keep {
                flags: Flags::ROLE | Flags::TYPO
            }
        );
    }

    #[test]
    fn soft_points_under_the_threshold_flag_a_kept_row() {
        let soft = History {
            verdict: None,
            soft_score: 2,
        };
        match decide(&checked("ann@corp-mail.com"), Some(&soft), None) {
            Decision::Keep { flags } => assert_eq!(flags, Flags::SOFT_BOUNCES),
            d => panic!("{d:?}"),
        }
        let none = History::default();
        assert_eq!(
            decide(&checked("ann@corp-mail.com"), Some(&none), None),
            Decision::Keep {
                flags: Flags::empty()
            }
        );
    }

    #[test]
    fn dead_routes_suppress_and_unknown_keeps() {
        let c = checked("ann@corp.com");
        for class in [
            MailRoute::Nxdomain,
            MailRoute::NullMx,
            MailRoute::NoMailRoute,
            MailRoute::MxUnroutable,
        ] {
            assert!(
                matches!(
                    decide(&c, None, Some(&status(class))),
                    Decision::Suppress { .. }
                ),
                "{class:?}"
            );
        }
        for class in [MailRoute::Mx, MailRoute::ImplicitMx] {
            assert_eq!(
                decide(&c, None, Some(&status(class))),
                Decision::Keep {
                    flags: Flags::empty()
                }
            );
        }
        assert_eq!(
            decide(&c, None, Some(&status(MailRoute::Unknown))),
            Decision::Keep {
                flags: Flags::DNS_UNKNOWN
            }
        );
    }
}
