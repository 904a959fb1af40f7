//! The dedupe key: which addresses are "the same subscriber".
//!
//! By default the whole address is lowercased (local parts are case-sensitive in theory and
//! case-insensitive at every provider that matters). With provider rules, documented aliasing is
//! folded too: Gmail ignores dots and `+tags` and treats googlemail.com as gmail.com; Microsoft,
//! Apple, Fastmail and Proton deliver `+tags` to the base mailbox.
//!
//! The key is a 128-bit hash, so the run's memory grows by 16 bytes (plus table overhead) per
//! distinct address, whatever the address length. The chance of two different addresses sharing a
//! key among a billion is below 10^-20.

use xxhash_rust::xxh3::xxh3_128;

use super::Checked;
use crate::dedupe::DedupeKey;

/// Domains whose owners document `+tag` sub-addressing.
const PLUS_TAG_DOMAINS: [&str; 12] = [
    "gmail.com",
    "outlook.com",
    "hotmail.com",
    "live.com",
    "msn.com",
    "icloud.com",
    "me.com",
    "mac.com",
    "fastmail.com",
    "protonmail.com",
    "proton.me",
    "pm.me",
];

/// The dedupe key of a checked address. Invalid addresses get a key too (their lowercased text),
/// so that the same bad address is reported once and its repeats count as duplicates.
pub fn dedupe_key(checked: &Checked, provider_rules: bool) -> DedupeKey {
    let local = checked.local_part();
    let domain = checked.ascii_domain();
    let mut canonical_domain = domain;
    let mut local_end = local.len();
    let mut drop_dots = false;
    if provider_rules && checked.is_valid() {
        // Provider folding needs lowercase comparisons of the domain.
        let lower = domain.to_ascii_lowercase();
        if lower == "googlemail.com" {
            canonical_domain = "gmail.com";
        }
        let canonical = if lower == "googlemail.com" {
            "gmail.com"
        } else {
            lower.as_str()
        };
        if PLUS_TAG_DOMAINS.contains(&canonical) {
            if let Some(plus) = local.find('+') {
                local_end = plus;
            }
        }
        drop_dots = canonical == "gmail.com";
    }
    // Most addresses are already their own key text: valid (so the domain is lowercased ASCII),
    // nothing folded, and a local part in lowercase ASCII. They are hashed where they are.
    let address = checked.ascii_address();
    if checked.is_valid()
        && local_end == local.len()
        && !drop_dots
        && canonical_domain == domain
        && !address.bytes().fold(false, |other, b| {
            other | !b.is_ascii() | b.is_ascii_uppercase()
        })
    {
        return xxh3_128(address.as_bytes());
    }
    // The lowercased text is built in a buffer kept per thread and hashed in one call: the key
    // of every row is computed here, and the streaming hasher it replaces spent more time setting
    // up its state than hashing a short address.
    KEY_TEXT.with_borrow_mut(|text| {
        text.clear();
        let local = &local[..local_end];
        if local.is_ascii() {
            text.extend(
                local
                    .bytes()
                    .filter(|b| !(drop_dots && *b == b'.'))
                    .map(|b| b.to_ascii_lowercase()),
            );
        } else {
            let mut lower = local.to_lowercase();
            if drop_dots {
                lower.retain(|c| c != '.');
            }
            text.extend_from_slice(lower.as_bytes());
        }
        text.push(b'@');
        text.extend(canonical_domain.bytes().map(|b| b.to_ascii_lowercase()));
        xxh3_128(text)
    })
}

thread_local! {
    /// The text of the key being computed on this thread.
    static KEY_TEXT: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(256));
}

#[cfg(test)]
mod tests {
    use super::super::{check, AddressRules, FlagLists};
    use super::*;

    fn key(s: &str, provider_rules: bool) -> DedupeKey {
        let c = check(s, &AddressRules::default(), &FlagLists::builtin());
        dedupe_key(&c, provider_rules)
    }

    #[test]
    fn case_is_folded() {
        assert_eq!(key("Ann@Corp.com", false), key("ann@corp.COM", false));
        // An address that is its own key text (hashed in place) and one that is lowercased in
        // the buffer first give the same key, the hash of the lowercased text.
        assert_eq!(key("ann@corp.com", false), xxh3_128(b"ann@corp.com"));
        assert_eq!(key("ANN@corp.com", false), xxh3_128(b"ann@corp.com"));
        assert_eq!(
            key("ann@bücher.de", true),
            xxh3_128(b"ann@xn--bcher-kva.de")
        );
        assert_ne!(key("ann@corp.com", false), key("anne@corp.com", false));
    }

    #[test]
    fn provider_rules_fold_gmail_dots_and_tags() {
        assert_ne!(key("a.b+x@gmail.com", false), key("ab@gmail.com", false));
        assert_eq!(key("a.b+x@gmail.com", true), key("ab@gmail.com", true));
        assert_eq!(key("ab@googlemail.com", true), key("ab@gmail.com", true));
        // Dots matter at Outlook; tags do not.
        assert_ne!(key("a.b@outlook.com", true), key("ab@outlook.com", true));
        assert_eq!(key("ab+x@outlook.com", true), key("ab@outlook.com", true));
        // Unknown domains keep their tags: the owner may route them anywhere.
        assert_ne!(key("ab+x@corp.com", true), key("ab@corp.com", true));
    }

    #[test]
    fn both_paths_keep_dots_outside_gmail_and_drop_them_at_gmail() {
        // Lowercase (hashed in place) and mixed case (built in the buffer): dots are kept.
        assert_eq!(
            key("Ann.Lee@corp.com", false),
            xxh3_128(b"ann.lee@corp.com")
        );
        assert_ne!(
            key("Ann.Lee@corp.com", false),
            key("annlee@corp.com", false)
        );
        // At Gmail a lowercase address with dots is never its own key text.
        assert_eq!(key("a.b@gmail.com", true), xxh3_128(b"ab@gmail.com"));
        // A non-ASCII local part keeps its dots (Gmail refuses such local parts as syntax).
        assert_ne!(key("jö.rg@corp.com", true), key("jörg@corp.com", true));
    }

    #[test]
    fn idn_forms_are_one_key() {
        assert_eq!(key("a@bücher.de", false), key("a@xn--bcher-kva.de", false));
    }
}
