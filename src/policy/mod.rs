//! Stage 5: the decision. Evidence in, one [`Decision`] out; no I/O, no clock, no state, so the
//! same evidence always gives the same verdict and every verdict can be explained.
//!
//! Order of evidence, strongest first: the address itself (syntax, reserved domain). Later stages
//! add the domain's mail route and the bounce history.

use crate::address::Checked;
use crate::record::{Flags, Reason};

/// What happens to a row that is not a duplicate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Keep the row, with these flags.
    Keep {
        /// Risks a person may want to look at.
        flags: Flags,
    },
    /// Suppress the address.
    Suppress {
        /// The closed-set reason.
        reason: Reason,
        /// The evidence, in words.
        detail: String,
    },
}

/// Decides one address.
pub fn decide(checked: &Checked) -> Decision {
    if let Some(problem) = &checked.problem {
        return Decision::Suppress {
            reason: problem.reason,
            detail: problem.detail.clone(),
        };
    }
    Decision::Keep {
        flags: checked.flags,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::address::{check, AddressRules, FlagLists};

    #[test]
    fn invalid_is_suppressed_with_its_reason() {
        let lists = FlagLists::builtin();
        let c = check("a@b.test", &AddressRules::default(), &lists);
        match decide(&c) {
            Decision::Suppress { reason, .. } => assert_eq!(reason, Reason::ReservedDomain),
            d => panic!("{d:?}"),
        }
        let c = check("info@gmial.com", &AddressRules::default(), &lists);
        assert_eq!(
            decide(&c),
            Decision::Keep {
                flags: Flags::ROLE | Flags::TYPO
            }
        );
    }
}
