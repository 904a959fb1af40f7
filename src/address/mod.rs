//! Stage 2: one address in, one [`Checked`] out.
//!
//! The raw cell goes through three steps, each of which only ever adds information:
//! 1. `repair`: surrounding whitespace (no-break space included), a `mailto:` prefix, a display
//!    name (`Name <addr>`), angle brackets and a root dot are taken off; each repair is recorded.
//! 2. `syntax`: RFC 5321/5322 limits (254 / 64 / 63 octets), dot and hyphen rules, IDN domains
//!    turned into punycode (both forms kept), reserved and special-use domains, unsafe Unicode,
//!    the stricter rules of large mailbox providers, and the `email_address` crate as a last gate.
//! 3. `flags`: role accounts, disposable domains and likely domain typos. Flags never remove
//!    anyone; they are evidence for a human.
//!
//! Nothing here does I/O, and a bad address is a value (`Checked::problem`), never an error.

mod flags;
mod key;
mod repair;
mod syntax;

pub use flags::{bundled_lists, suggest_domain, FlagLists};
pub use key::dedupe_key;
pub use syntax::is_dot_atom;

/// Whether `ascii_domain` (lowercase, punycode) is a large consumer mailbox provider's
/// (gmail.com, outlook.com, yahoo.com ...): an address there belongs to a person, not a company.
pub fn is_consumer_mailbox(ascii_domain: &str) -> bool {
    flags::is_free_provider(ascii_domain)
}

use crate::record::{Flags, Reason, Repairs};

/// Options that change what counts as a valid address.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddressRules {
    /// Accept quoted local parts (`"john doe"@example.com`); rejected by default because almost no
    /// mailbox provider hands them out and most sending platforms refuse them.
    pub allow_quoted_local: bool,
    /// Accept IP-literal domains (`user@[192.0.2.1]`); rejected by default.
    pub allow_ip_literal: bool,
}

/// Why an address cannot be used, with the detail a person needs to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The closed-set reason written to the suppression file.
    pub reason: Reason,
    /// A sentence saying what exactly is wrong.
    pub detail: String,
}

/// One address after repair, validation and flagging.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// The normalised address (domain lowercased, Unicode form of an IDN domain). When the address
    /// is invalid this is the repaired input, so a person can recognise it.
    pub address: String,
    /// The address with the domain in punycode, when it differs from `address` (see
    /// [`Checked::ascii_address`]).
    ascii: Option<String>,
    /// Byte offset of the `@` in both forms of the address (the local parts are equal).
    pub at: usize,
    /// What was changed to get from the input to `address`.
    pub repairs: Repairs,
    /// Risk flags on a valid address.
    pub flags: Flags,
    /// A likely intended address for a domain that looks like a typo.
    pub suggestion: Option<String>,
    /// Set when the address cannot be used.
    pub problem: Option<Problem>,
}

impl Checked {
    /// True when nothing prevents sending to this address.
    pub fn is_valid(&self) -> bool {
        self.problem.is_none()
    }

    /// The local part (before the `@`).
    pub fn local_part(&self) -> &str {
        &self.address[..self.at]
    }

    /// The domain in punycode, lowercased; empty when the input had no `@`.
    pub fn ascii_domain(&self) -> &str {
        self.ascii_address().get(self.at + 1..).unwrap_or("")
    }

    /// The address with the domain in punycode (what DNS and most ESPs need).
    pub fn ascii_address(&self) -> &str {
        self.ascii.as_deref().unwrap_or(&self.address)
    }

    /// The domain in its Unicode form.
    pub fn domain(&self) -> &str {
        self.address.get(self.at + 1..).unwrap_or("")
    }
}

/// Repairs, validates and flags one raw address.
pub fn check(raw: &str, rules: &AddressRules, lists: &FlagLists) -> Checked {
    let mut repaired = repair::repair(raw);
    // Two spellings of one Unicode local part (composed, decomposed) are one address: NFC.
    let nfc: String;
    if !repaired.text.is_ascii() {
        use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};
        if is_nfc_quick(repaired.text.chars()) != IsNormalized::Yes {
            nfc = repaired.text.nfc().collect();
            if nfc != repaired.text {
                repaired.text = &nfc;
                repaired.repairs |= Repairs::UNICODE_NORMALISED;
            }
        }
    }
    let (mut checked, typo_of, disposable, free_provider) =
        match syntax::validate(repaired.text, rules, lists) {
            Ok(valid) => (
                Checked {
                    at: valid.at,
                    address: valid.address,
                    ascii: valid.ascii_address,
                    repairs: repaired.repairs | valid.repairs,
                    flags: Flags::empty(),
                    suggestion: None,
                    problem: None,
                },
                valid.typo_of,
                valid.disposable,
                valid.free_provider,
            ),
            Err(problem) => {
                let at = repaired.text.rfind('@').unwrap_or(repaired.text.len());
                return Checked {
                    ascii: None,
                    address: repaired.text.to_owned(),
                    at,
                    repairs: repaired.repairs,
                    flags: Flags::empty(),
                    suggestion: None,
                    problem: Some(problem),
                };
            }
        };
    flags::flag(
        &mut checked,
        lists,
        typo_of.as_deref(),
        disposable,
        free_provider,
    );
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(raw: &str) -> Checked {
        check(raw, &AddressRules::default(), &FlagLists::builtin())
    }

    #[test]
    fn the_domain_in_both_forms() {
        let c = run("ann@bücher.de");
        assert_eq!(c.domain(), "bücher.de");
        assert_eq!(c.ascii_domain(), "xn--bcher-kva.de");
        assert_eq!(run("bo@corp-mail.com").domain(), "corp-mail.com");
        assert_eq!(run("no-at-sign").domain(), "");
    }

    #[test]
    fn a_repair_made_twice_stays_recorded() {
        // The local part is normalised here, the full-width domain in `syntax`: both record
        // UNICODE_NORMALISED, and the row keeps it.
        let c = run("jose\u{301}@\u{ff43}orp-mail.com");
        assert_eq!(c.address, "jos\u{e9}@corp-mail.com");
        assert!(
            c.repairs.contains(Repairs::UNICODE_NORMALISED),
            "{:?}",
            c.repairs
        );
    }

    #[test]
    fn repairs_are_applied_and_recorded() {
        let c = run("  mailto:Bob.Smith@Acme-Corp.ORG\u{a0}");
        assert_eq!(c.address, "Bob.Smith@acme-corp.org");
        assert!(c.repairs.contains(Repairs::TRIMMED));
        assert!(c.repairs.contains(Repairs::MAILTO));
        assert!(c.repairs.contains(Repairs::DOMAIN_CASE));
        let c = run("\"Smith, Bob\" <bob@corp-mail.net>");
        assert_eq!(c.address, "bob@corp-mail.net");
        assert!(c.repairs.contains(Repairs::DISPLAY_NAME));
    }

    #[test]
    fn cached_domains_keep_each_rows_own_case_repair() {
        // The second and third rows hit the per-thread domain cache filled by the first.
        let c = run("a@cache-case.example-corp.net");
        assert!(!c.repairs.contains(Repairs::DOMAIN_CASE));
        let c = run("b@Cache-Case.Example-Corp.NET");
        assert!(c.repairs.contains(Repairs::DOMAIN_CASE));
        assert_eq!(c.address, "b@cache-case.example-corp.net");
        let c = run("c@cache-case.example-corp.net");
        assert!(!c.repairs.contains(Repairs::DOMAIN_CASE));
        // A cached bad domain stays bad, with its reason.
        for _ in 0..2 {
            let c = run("d@-bad.example-corp.net");
            assert!(c.problem.unwrap().detail.contains("hyphen"));
        }
    }

    #[test]
    fn cached_domains_answer_for_the_disposable_list_asked() {
        // The domain's answer is cached on this thread with the list it was found under; a list
        // with added domains must not see the built-in answer, and the reverse.
        let builtin = FlagLists::builtin();
        let mut added = FlagLists::builtin();
        added.add_disposable("throwaway-corp.net\n");
        let rules = AddressRules::default();
        for _ in 0..2 {
            for addr in ["a@throwaway-corp.net", "b@mx.throwaway-corp.net"] {
                assert!(!check(addr, &rules, &builtin)
                    .flags
                    .contains(Flags::DISPOSABLE));
                assert!(check(addr, &rules, &added)
                    .flags
                    .contains(Flags::DISPOSABLE));
            }
        }
        // A clone answers like its original; a second change is a list of its own.
        let mut again = added.clone();
        assert!(check("c@throwaway-corp.net", &rules, &again)
            .flags
            .contains(Flags::DISPOSABLE));
        again.add_disposable("other-throwaway.org\n");
        assert!(check("d@other-throwaway.org", &rules, &again)
            .flags
            .contains(Flags::DISPOSABLE));
        assert!(!check("d@other-throwaway.org", &rules, &added)
            .flags
            .contains(Flags::DISPOSABLE));
    }

    #[test]
    fn idn_domains_keep_both_forms() {
        let c = run("José@Bücher.DE");
        assert!(c.is_valid(), "{c:?}");
        assert_eq!(c.address, "José@bücher.de");
        assert_eq!(c.ascii_address(), "José@xn--bcher-kva.de");
        assert_eq!(c.ascii_domain(), "xn--bcher-kva.de");
        assert!(c.flags.contains(Flags::SMTPUTF8));
        let c = run("anna@xn--bcher-kva.de");
        assert_eq!(c.address, "anna@bücher.de");
        assert_eq!(c.ascii_address(), "anna@xn--bcher-kva.de");
    }

    #[test]
    fn flags_do_not_invalidate() {
        let c = run("postmaster@gmial.com");
        assert!(c.is_valid());
        assert!(c.flags.contains(Flags::ROLE));
        assert!(c.flags.contains(Flags::TYPO));
        assert_eq!(c.suggestion.as_deref(), Some("postmaster@gmail.com"));
        let c = run("someone@mailinator.com");
        assert!(c.flags.contains(Flags::DISPOSABLE));
        let c = run("someone@mail.com");
        assert_eq!(
            c.flags,
            Flags::FREE_PROVIDER,
            "mail.com is a real provider, not a typo of gmail.com"
        );
        assert!(!run("someone@corp-mail.com")
            .flags
            .contains(Flags::FREE_PROVIDER));
    }
}
