//! Is this a deliverable address shape? RFC 5321 limits, RFC 5322 dot-atoms, RFC 6531 Unicode
//! local parts, UTS 46 / IDNA for domains, special-use domains, and the stricter rules that the
//! largest mailbox providers apply to the names they hand out.
//!
//! Octet lengths are measured on the form that goes over the wire: the local part in UTF-8 and
//! the domain in punycode.

use email_address::{EmailAddress, Options};
use xxhash_rust::xxh3::xxh3_128;

use super::{AddressRules, FlagLists, Problem};
use crate::dedupe::KeyMap;
use crate::record::{Reason, Repairs};

/// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the angle brackets.
pub const MAX_ADDRESS: usize = 254;
/// RFC 5321 §4.5.3.1.1.
pub const MAX_LOCAL: usize = 64;
/// RFC 1035 §2.3.4.
pub const MAX_LABEL: usize = 63;
/// RFC 1035 §2.3.4 (255 on the wire = 253 in text).
pub const MAX_DOMAIN: usize = 253;

/// A valid address in its normalised forms.
pub struct Valid {
    pub address: String,
    /// The punycode form, only when it differs from `address` (an IDN domain).
    pub ascii_address: Option<String>,
    pub at: usize,
    pub repairs: Repairs,
    /// The large provider's domain the domain is likely a typo of.
    pub typo_of: Option<Box<str>>,
    /// The domain, or a parent of it, is on the disposable list.
    pub disposable: bool,
    /// The domain is a consumer mailbox provider's.
    pub free_provider: bool,
}

fn syntax(detail: impl Into<String>) -> Problem {
    Problem {
        reason: Reason::Syntax,
        detail: detail.into(),
    }
}

/// Characters that have no business in an address and are used to disguise one: controls,
/// zero-width characters, bidirectional overrides and isolates, soft hyphen, BOM.
pub fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(c,
            '\u{ad}' | '\u{180e}' | '\u{200b}'..='\u{200f}' | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{feff}')
}

/// RFC 5322 `atext`, ASCII part, and the dot, by byte: the table an ASCII local part is read
/// with.
const DOT_ATOM_BYTE: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || c == b'.';
        b += 1;
    }
    let others = b"!#$%&'*+-/=?^_`{|}~";
    let mut i = 0;
    while i < others.len() {
        table[others[i] as usize] = true;
        i += 1;
    }
    table
};

/// Whether `local` is an ASCII RFC 5322 `dot-atom` (atext runs joined by single dots, no dot at
/// either end). One pass with no early exit, so the loop is a few instructions a byte.
fn dot_atom_bytes(local: &[u8]) -> bool {
    let (Some(&first), Some(&last)) = (local.first(), local.last()) else {
        return false;
    };
    let mut ok = first != b'.' && last != b'.';
    let mut dot_before = false;
    for &b in local {
        let dot = b == b'.';
        ok &= DOT_ATOM_BYTE[usize::from(b)] & !(dot & dot_before);
        dot_before = dot;
    }
    ok
}

/// Whether `local` is a local part [`check_local`] accepts without looking further: a dot-atom
/// of at most 64 octets. Anything else goes to `check_local`, which says what is wrong.
fn plain_local(local: &[u8]) -> bool {
    local.len() <= MAX_LOCAL && dot_atom_bytes(local)
}

/// Whether an ASCII text holds a control byte (C0 or DEL): one pass with no early exit.
fn has_ascii_control(text: &[u8]) -> bool {
    text.iter()
        .fold(false, |found, &b| found | (b < 0x20) | (b == 0x7f))
}

/// Whether `local` is an ASCII RFC 5322 `dot-atom` (atext runs joined by single dots): a local
/// part that needs no quotes.
pub fn is_dot_atom(local: &str) -> bool {
    dot_atom_bytes(local.as_bytes())
}

/// Validates a repaired address; `lists` says which domains are disposable.
pub fn validate(text: &str, rules: &AddressRules, lists: &FlagLists) -> Result<Valid, Problem> {
    if text.is_empty() {
        return Err(syntax("empty address"));
    }
    // Plain ASCII (almost every address) can only hold the control characters among the unsafe
    // ones: a byte test, without decoding characters.
    let unsafe_char = if text.is_ascii() {
        if has_ascii_control(text.as_bytes()) {
            text.bytes().find(u8::is_ascii_control).map(char::from)
        } else {
            None
        }
    } else {
        text.chars().find(|&c| is_unsafe(c))
    };
    if let Some(c) = unsafe_char {
        return Err(syntax(format!(
            "unsafe character U+{:04X} in the address",
            c as u32
        )));
    }
    let Some(at) = memchr::memrchr(b'@', text.as_bytes()) else {
        return Err(syntax("no @ in the address"));
    };
    let (local, domain) = (&text[..at], &text[at + 1..]);
    let dot_atom = plain_local(local.as_bytes());
    if !dot_atom {
        check_local(local, rules)?;
    }

    // The ASCII form is built in place after `local@`: one allocation, no formatting.
    let mut ascii_address = String::with_capacity(text.len());
    ascii_address.push_str(local);
    ascii_address.push('@');
    // The usual domain (ASCII, no root dot) is looked up by its lowercased form, so that case
    // variants of a domain share one cache entry; its case repair is noted here.
    let plain = domain.is_ascii() && !domain.ends_with('.') && !domain.starts_with('[');
    let seen = if plain {
        ascii_address.push_str(domain);
        ascii_address[at + 1..].make_ascii_lowercase();
        let case = if ascii_address[at + 1..] != *domain {
            Repairs::DOMAIN_CASE
        } else {
            Repairs::empty()
        };
        domain_seen(&ascii_address[at + 1..], rules, lists, case, None)?
    } else {
        domain_seen(
            domain,
            rules,
            lists,
            Repairs::empty(),
            Some(&mut ascii_address),
        )?
    };
    let DomainSeen {
        unicode: unicode_domain,
        repairs,
        reserved,
        gate_ok: domain_ok,
        typo_of,
        provider,
        disposable,
        unknown_tld,
        free_provider,
    } = seen;
    let ascii_domain = &ascii_address[at + 1..];

    let wire_len = ascii_address.len();
    if wire_len > MAX_ADDRESS {
        return Err(syntax(format!(
            "address is {wire_len} octets long, more than {MAX_ADDRESS}"
        )));
    }
    if reserved {
        return Err(self::reserved(ascii_domain));
    }
    if unknown_tld {
        return Err(self::unknown_tld(ascii_domain, typo_of.as_deref()));
    }
    check_provider(local, ascii_domain, provider)?;

    last_gate(local, dot_atom, &ascii_address, rules, domain_ok)?;
    // One string when the domain is plain ASCII (almost always): the address is its own ASCII form.
    let (address, ascii_address) = match unicode_domain {
        Some(u) => {
            let mut address = String::with_capacity(local.len() + 1 + u.len());
            address.push_str(local);
            address.push('@');
            address.push_str(&u);
            (address, Some(ascii_address))
        }
        None => (ascii_address, None),
    };
    Ok(Valid {
        address,
        ascii_address,
        at,
        repairs,
        typo_of,
        disposable,
        free_provider,
    })
}

fn check_local(local: &str, rules: &AddressRules) -> Result<(), Problem> {
    if local.is_empty() {
        return Err(syntax("empty local part (nothing before the @)"));
    }
    if local.len() > MAX_LOCAL {
        return Err(syntax(format!(
            "local part is {} octets long, more than {MAX_LOCAL}",
            local.len()
        )));
    }
    if local.starts_with('"') {
        if rules.allow_quoted_local {
            return Ok(());
        }
        return Err(syntax(
            "quoted local part (allowed only with --allow-quoted-local)",
        ));
    }
    if local.starts_with('.') || local.ends_with('.') {
        return Err(syntax("local part starts or ends with a dot"));
    }
    if has(local, b"..") {
        return Err(syntax("two dots in a row in the local part"));
    }
    for (i, c) in local.chars().enumerate() {
        let ok = if c.is_ascii() {
            DOT_ATOM_BYTE[usize::from(c as u8)]
        } else {
            !c.is_whitespace() && !is_refused_in_local(c, i == 0)
        };
        if !ok {
            return Err(syntax(format!(
                "character {c:?} (U+{:04X}) is not allowed in a local part",
                c as u32
            )));
        }
    }
    Ok(())
}

/// Code points RFC 6532 addresses should not hold (as python-email-validator refuses them):
/// private use, unassigned, surrogates, format characters, line and paragraph separators,
/// noncharacters, and a combining mark with nothing to combine with.
fn is_refused_in_local(c: char, first: bool) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    let noncharacter = matches!(c as u32, 0xFDD0..=0xFDEF) || (c as u32) & 0xFFFE == 0xFFFE;
    let category = c.general_category();
    noncharacter
        || matches!(
            category,
            G::PrivateUse
                | G::Unassigned
                | G::Surrogate
                | G::Format
                | G::LineSeparator
                | G::ParagraphSeparator
                | G::Control
        )
        || (first
            && matches!(
                category,
                G::NonspacingMark | G::SpacingMark | G::EnclosingMark
            ))
}

/// Whether `c` may stand in a domain's U-label (IDNA2008, RFC 5892, in short): letters,
/// digits and combining marks; not symbols (emoji), punctuation or spaces.
fn is_idna2008_valid(c: char) -> bool {
    use unicode_properties::{GeneralCategory as G, UnicodeGeneralCategory};
    c.is_ascii_lowercase()
        || c.is_ascii_digit()
        || c == '-'
        || matches!(
            c.general_category(),
            G::LowercaseLetter
                | G::OtherLetter
                | G::ModifierLetter
                | G::NonspacingMark
                | G::SpacingMark
                | G::DecimalNumber
        )
}

/// A usable domain's lowercased ASCII form, its Unicode form when it differs, and the repairs
/// made to get them.
type DomainForm = (Box<str>, Option<Box<str>>, Repairs);

/// What the rules say about one domain, whatever the local part.
struct DomainFacts {
    /// The lowercased ASCII form, the Unicode form when it differs and the repairs made; or why
    /// the domain cannot be used.
    form: Result<DomainForm, Problem>,
    /// A reserved or special-use domain.
    reserved: bool,
    /// The `email_address` crate accepts the ASCII form as a domain.
    gate_ok: bool,
    /// A large provider's domain this one is likely a typo of.
    typo_of: Option<Box<str>>,
    /// The mailbox-name rule of a large provider's domain.
    provider: Option<ProviderRule>,
    /// A consumer mailbox provider's domain.
    free_provider: bool,
}

/// What a domain is on the run's lists (which `--disposable-domains` and `--tld-list` change).
#[derive(Clone, Copy, Default)]
struct Listed {
    disposable: bool,
    unknown_tld: bool,
}

impl DomainFacts {
    fn of(domain: &str, rules: &AddressRules) -> Self {
        let mut repairs = Repairs::empty();
        let mut ascii = String::new();
        let form = normalise_domain(domain, rules, &mut repairs, &mut ascii).map(|unicode| {
            (
                ascii.into_boxed_str(),
                unicode.map(String::into_boxed_str),
                repairs,
            )
        });
        let (reserved, gate_ok, typo_of, provider) = match &form {
            Ok((ascii, ..)) if !ascii.starts_with('[') => (
                is_reserved(ascii),
                EmailAddress::is_valid_domain(ascii),
                super::flags::typo_of(ascii).map(String::into_boxed_str),
                provider_rule(ascii),
            ),
            Ok((ascii, ..)) => (false, EmailAddress::is_valid_domain(ascii), None, None),
            Err(_) => (false, false, None, None),
        };
        let free_provider =
            matches!(&form, Ok((ascii, ..)) if super::flags::is_free_provider(ascii));
        DomainFacts {
            form,
            reserved,
            gate_ok,
            typo_of,
            provider,
            free_provider,
        }
    }
}

/// What one row takes from its domain's facts.
struct DomainSeen {
    unicode: Option<Box<str>>,
    repairs: Repairs,
    reserved: bool,
    gate_ok: bool,
    typo_of: Option<Box<str>>,
    provider: Option<ProviderRule>,
    disposable: bool,
    unknown_tld: bool,
    free_provider: bool,
}

impl DomainFacts {
    /// The ASCII form and what a row takes from the facts (with the row's own `repairs` added),
    /// or why the domain cannot be used.
    fn for_row(&self, repairs: Repairs, listed: Listed) -> Result<(&str, DomainSeen), Problem> {
        let (ascii, unicode, own) = self.form.as_ref().map_err(Clone::clone)?;
        Ok((
            ascii,
            DomainSeen {
                unicode: unicode.clone(),
                repairs: *own | repairs,
                reserved: self.reserved,
                gate_ok: self.gate_ok,
                typo_of: self.typo_of.clone(),
                provider: self.provider,
                disposable: listed.disposable,
                unknown_tld: listed.unknown_tld,
                free_provider: self.free_provider,
            },
        ))
    }

    /// Whether `lists` holds the domain or a parent of it as disposable, and whether its TLD
    /// is unknown (false for an unusable domain or an IP literal).
    fn listed(&self, lists: &FlagLists) -> Listed {
        match &self.form {
            Ok((ascii, ..)) => Listed {
                disposable: lists.is_disposable(ascii),
                unknown_tld: !ascii.starts_with('[') && !lists.tld_exists(last_label(ascii)),
            },
            Err(_) => Listed::default(),
        }
    }
}

/// Domains whose facts are kept per thread before the cache starts over.
const DOMAIN_CACHE_LIMIT: usize = 1 << 17;

/// The index of a slot whose domain's full facts are not kept.
const NO_FACTS: u32 = u32::MAX;

/// The facts of the domains seen on one thread. Slots are keyed by the 128-bit xxh3 hash of the
/// domain as written, the identity the dedupe key already relies on, so a lookup reads one
/// 32-byte slot and no key text. The slot holds the facts of the usual domain in short (see
/// [`Quick`]), and those are all that is kept of a plain one; the full facts of the others sit in
/// a vector, so a row costs one cache miss on the slot instead of several on a text key, and a
/// list of many company domains keeps 40-odd bytes a domain instead of 150.
#[derive(Default)]
struct DomainCache {
    slots: KeyMap<Slot>,
    facts: Vec<DomainFacts>,
}

#[derive(Clone, Copy)]
struct Slot {
    /// Where the full facts are in the vector; [`NO_FACTS`] for a quick domain, whose facts are
    /// worked out again in the rare case a row needs more than the quick ones.
    index: u32,
    quick: Option<Quick>,
    /// What the domain is on the lists `list` (see `FlagLists::id`): the answer rides along
    /// with the slot, so a row asks no hash set of its own.
    listed: Listed,
    list: u64,
}

/// All a row needs from a domain with nothing special about it: usable, not reserved, no
/// Unicode form, no likely typo, no provider rule.
#[derive(Clone, Copy)]
struct Quick {
    repairs: Repairs,
    gate_ok: bool,
    free_provider: bool,
}

impl DomainFacts {
    fn quick(&self) -> Option<Quick> {
        match &self.form {
            Ok((_, None, repairs))
                if !self.reserved && self.typo_of.is_none() && self.provider.is_none() =>
            {
                Some(Quick {
                    repairs: *repairs,
                    gate_ok: self.gate_ok,
                    free_provider: self.free_provider,
                })
            }
            _ => None,
        }
    }
}

thread_local! {
    /// The facts of the domains already seen on this thread. Lists repeat their domains heavily,
    /// and a domain's checks (lowercasing, IDNA, labels, reserved names, the `email_address`
    /// domain parse, the typo search) cost more than a lookup.
    static DOMAINS: std::cell::RefCell<DomainCache> = std::cell::RefCell::default();
}

/// What a row takes from `domain`'s facts, with the row's own `repairs` added; the domain's
/// ASCII form is appended to `ascii` when one is given (a domain not written in plain ASCII).
/// The facts come from the cache when the domain was seen before. IP literals depend on the
/// rules and are rare: they are not cached.
fn domain_seen(
    domain: &str,
    rules: &AddressRules,
    lists: &FlagLists,
    repairs: Repairs,
    ascii: Option<&mut String>,
) -> Result<DomainSeen, Problem> {
    let from = |facts: &DomainFacts, listed: Listed, ascii: Option<&mut String>| {
        let (form, seen) = facts.for_row(repairs, listed)?;
        if let Some(out) = ascii {
            out.push_str(form);
        }
        Ok(seen)
    };
    if domain.starts_with('[') {
        let facts = DomainFacts::of(domain, rules);
        return from(&facts, facts.listed(lists), ascii);
    }
    let key = xxh3_128(domain.as_bytes());
    DOMAINS.with_borrow_mut(|cache| {
        let DomainCache { slots, facts } = cache;
        if let Some(slot) = slots.get_mut(&key) {
            if slot.list != lists.id() {
                slot.listed = match facts.get(slot.index as usize) {
                    Some(f) => f.listed(lists),
                    None => DomainFacts::of(domain, rules).listed(lists),
                };
                slot.list = lists.id();
            }
            if let (Some(quick), None) = (slot.quick, &ascii) {
                return Ok(DomainSeen {
                    unicode: None,
                    repairs: quick.repairs | repairs,
                    reserved: false,
                    gate_ok: quick.gate_ok,
                    typo_of: None,
                    provider: None,
                    disposable: slot.listed.disposable,
                    unknown_tld: slot.listed.unknown_tld,
                    free_provider: quick.free_provider,
                });
            }
            return match facts.get(slot.index as usize) {
                Some(f) => from(f, slot.listed, ascii),
                None => from(&DomainFacts::of(domain, rules), slot.listed, ascii),
            };
        }
        if slots.len() >= DOMAIN_CACHE_LIMIT {
            slots.clear();
            facts.clear();
        }
        let new = DomainFacts::of(domain, rules);
        let quick = new.quick();
        let mut slot = Slot {
            index: NO_FACTS,
            quick,
            listed: new.listed(lists),
            list: lists.id(),
        };
        // A domain asked with its ASCII form wanted (written in Unicode, or with a root dot) is
        // always asked so: its facts are kept.
        let keep = quick.is_none() || ascii.is_some();
        let seen = from(&new, slot.listed, ascii);
        if keep {
            slot.index = facts.len() as u32;
            facts.push(new);
        }
        slots.insert(key, slot);
        seen
    })
}

/// Appends the domain's ASCII (punycode) form, lowercased, to `out`; returns its Unicode form,
/// lowercased, only when it differs.
fn normalise_domain(
    domain: &str,
    rules: &AddressRules,
    repairs: &mut Repairs,
    out: &mut String,
) -> Result<Option<String>, Problem> {
    if domain.is_empty() {
        return Err(syntax("empty domain (nothing after the @)"));
    }
    if domain.starts_with('[') {
        out.push_str(&ip_literal(domain, rules)?);
        return Ok(None);
    }
    let mut domain = domain;
    if domain.len() > 1 && domain.ends_with('.') && !domain.ends_with("..") {
        *repairs |= Repairs::ROOT_DOT;
        domain = &domain[..domain.len() - 1];
    }
    let upper = if domain.is_ascii() {
        domain.bytes().any(|b| b.is_ascii_uppercase())
    } else {
        domain.chars().any(|c| c.is_uppercase())
    };
    if upper {
        *repairs |= Repairs::DOMAIN_CASE;
    }
    let start = out.len();
    if domain.is_ascii() {
        out.push_str(domain);
        out[start..].make_ascii_lowercase();
    } else {
        out.push_str(&idna::domain_to_ascii_strict(domain).map_err(|_| {
            syntax(format!(
                "domain {domain:?} is not a valid internationalised domain name"
            ))
        })?);
    }
    let ascii = &out[start..];
    check_labels(ascii)?;
    for label in ascii.split('.') {
        // RFC 5891 §4.2.3.1: "--" in the third and fourth positions is reserved for an ACE
        // prefix, and "xn--" is the only one.
        if label.get(2..4) == Some("--") && !label.starts_with("xn--") {
            return Err(syntax(format!(
                "label {label:?} has \"--\" in the third and fourth positions, reserved for \"xn--\" (RFC 5891)"
            )));
        }
    }
    if !has(ascii, b"xn--") {
        if !domain.is_ascii() {
            // A full-width or compatibility spelling mapped to ASCII (UTS 46): said, not silent.
            *repairs |= Repairs::UNICODE_NORMALISED;
        }
        return Ok(None);
    }
    let (unicode, result) = idna::domain_to_unicode(ascii);
    if result.is_err() {
        return Err(syntax(format!("domain {ascii:?} holds invalid punycode")));
    }
    if let Some(c) = unicode.chars().find(|&c| c != '.' && !is_idna2008_valid(c)) {
        return Err(syntax(format!(
            "domain {ascii:?}: {c:?} (U+{:04X}) is not allowed in a domain name (IDNA2008)",
            c as u32
        )));
    }
    if !domain.is_ascii() {
        use unicode_normalization::UnicodeNormalization;
        let written: String = domain
            .trim_end_matches('.')
            .nfc()
            .flat_map(char::to_lowercase)
            .collect();
        if written != unicode {
            *repairs |= Repairs::UNICODE_NORMALISED;
        }
    }
    Ok(Some(unicode).filter(|u| u != ascii))
}

fn ip_literal(domain: &str, rules: &AddressRules) -> Result<String, Problem> {
    if !rules.allow_ip_literal {
        return Err(syntax(
            "IP-literal domain (allowed only with --allow-ip-literal)",
        ));
    }
    let inner = domain
        .strip_prefix('[')
        .and_then(|d| d.strip_suffix(']'))
        .ok_or_else(|| syntax("unclosed IP literal"))?;
    let parsed = match inner.get(..5) {
        Some(p) if p.eq_ignore_ascii_case("ipv6:") => {
            inner[5..].parse::<std::net::Ipv6Addr>().is_ok()
        }
        _ => inner.parse::<std::net::Ipv4Addr>().is_ok(),
    };
    if !parsed {
        return Err(syntax(format!("{domain:?} is not a valid IP literal")));
    }
    Ok(domain.to_ascii_lowercase())
}

/// Label and TLD rules on the ASCII form of a domain.
fn check_labels(ascii: &str) -> Result<(), Problem> {
    if ascii.len() > MAX_DOMAIN {
        return Err(syntax(format!(
            "domain is {} octets long, more than {MAX_DOMAIN}",
            ascii.len()
        )));
    }
    if !ascii.contains('.') {
        if is_reserved(ascii) {
            return Err(reserved(ascii));
        }
        return Err(syntax(format!("domain {ascii:?} has no dot")));
    }
    // Byte loops here and below rather than `str::split`: on strings this short, the general
    // searcher's setup costs more than the scan.
    for label in ascii.as_bytes().split(|b| *b == b'.') {
        let label = std::str::from_utf8(label).unwrap_or_default();
        if label.is_empty() {
            return Err(syntax(
                "empty label in the domain (leading, trailing or double dot)",
            ));
        }
        if label.len() > MAX_LABEL {
            return Err(syntax(format!(
                "domain label is {} octets long, more than {MAX_LABEL}",
                label.len()
            )));
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err(syntax(format!(
                "domain label {label:?} starts or ends with a hyphen"
            )));
        }
        if let Some(b) = label
            .bytes()
            .find(|b| !(b.is_ascii_alphanumeric() || *b == b'-'))
        {
            return Err(syntax(format!(
                "character {:?} is not allowed in a domain",
                b as char
            )));
        }
    }
    let tld = last_label(ascii);
    let real_looking =
        tld.starts_with("xn--") || (tld.len() >= 2 && tld.bytes().all(|b| b.is_ascii_alphabetic()));
    if !real_looking {
        return Err(syntax(format!("{tld:?} is not a top-level domain")));
    }
    Ok(())
}

/// Special-use top-level names (RFC 2606, 6761, 6762, 7686, 9476 `.alt`, ICANN's `.internal`).
const RESERVED_TLDS: [&str; 9] = [
    "test",
    "invalid",
    "example",
    "localhost",
    "local",
    "onion",
    "arpa",
    "internal",
    "alt",
];
/// Second-level names reserved for documentation (RFC 2606 §3).
const RESERVED_DOMAINS: [&str; 3] = ["example.com", "example.net", "example.org"];

/// The text after the last dot (all of it when there is none).
fn last_label(ascii: &str) -> &str {
    &ascii[ascii.bytes().rposition(|b| b == b'.').map_or(0, |i| i + 1)..]
}

fn is_reserved(ascii: &str) -> bool {
    let tld = last_label(ascii);
    let rest = ascii[..ascii.len() - tld.len()].trim_end_matches('.');
    RESERVED_TLDS.contains(&tld)
        || (last_label(rest) == "example"
            && RESERVED_DOMAINS
                .iter()
                .any(|d| ascii == *d || ascii.strip_suffix(d).is_some_and(|p| p.ends_with('.'))))
}

/// `needle` anywhere in `text`: a plain byte scan, cheaper than the general substring search
/// on strings as short as addresses.
fn has(text: &str, needle: &[u8]) -> bool {
    text.as_bytes().windows(needle.len()).any(|w| w == needle)
}

/// `typo_of`: the likely intended domain, found with the domain's other facts.
fn unknown_tld(ascii: &str, typo_of: Option<&str>) -> Problem {
    let tld = last_label(ascii);
    let hint = typo_of
        .map(|d| format!("; did you mean {d}?"))
        .unwrap_or_default();
    Problem {
        reason: Reason::UnknownTld,
        detail: format!("{ascii}: .{tld} is not a top-level domain of the DNS root zone{hint}"),
    }
}

fn reserved(ascii: &str) -> Problem {
    Problem {
        reason: Reason::ReservedDomain,
        detail: format!("{ascii} is a reserved or special-use domain and receives no public mail"),
    }
}

/// What a provider allows in a mailbox name: a description; whether hyphens and underscores are
/// allowed besides ASCII letters, digits and dots; whether `+tags` are allowed.
type ProviderRule = (&'static str, bool, bool);

/// The mailbox names that the largest consumer providers allow. Only the part before a `+` tag is
/// checked, and only the character set: lengths vary with account age and are not enforced.
fn check_provider(
    local: &str,
    ascii_domain: &str,
    rule: Option<ProviderRule>,
) -> Result<(), Problem> {
    let Some((allowed, hyphen_underscore, tags)) = rule else {
        return Ok(());
    };
    let (base, plus_allowed) = match memchr::memchr(b'+', local.as_bytes()) {
        Some(plus) => (&local[..plus], true),
        None => (local, false),
    };
    let named = |b: u8| {
        b.is_ascii_alphanumeric() | (b == b'.') | (hyphen_underscore & matches!(b, b'-' | b'_'))
    };
    let all_named = base.bytes().fold(true, |all, b| all & named(b));
    if base.is_empty() || !all_named || (plus_allowed && !tags) {
        return Err(syntax(format!(
            "{ascii_domain} mailbox names use only {allowed}"
        )));
    }
    Ok(())
}

/// The rule of a provider's domain (kept with the domain's other facts).
fn provider_rule(ascii_domain: &str) -> Option<ProviderRule> {
    match ascii_domain {
        "gmail.com" | "googlemail.com" => Some(("letters, digits and dots", false, true)),
        "outlook.com" | "hotmail.com" | "live.com" | "msn.com" | "hotmail.co.uk" | "hotmail.fr"
        | "outlook.fr" | "live.fr" | "live.co.uk" => {
            Some(("letters, digits, dots, hyphens and underscores", true, true))
        }
        "yahoo.com" | "ymail.com" | "rocketmail.com" | "yahoo.co.uk" | "yahoo.fr" => Some((
            "letters, digits, dots, hyphens and underscores, and no + tags",
            true,
            false,
        )),
        _ => None,
    }
}

/// The `email_address` crate's RFC 5322 parser, as the final word on what the rules above let
/// through. A `dot_atom` local part (one [`plain_local`] accepts) is a dot-atom, at most 64
/// octets, of the very `atext` the crate reads one with: the crate's answer for it is known to
/// be yes (a property test holds the two together).
fn last_gate(
    local: &str,
    dot_atom: bool,
    ascii_address: &str,
    rules: &AddressRules,
    domain_ok: bool,
) -> Result<(), Problem> {
    if local.starts_with('"') && !local.is_ascii() {
        return Ok(());
    }
    // The part checks do not copy the address; the full parse (which does) runs only to word
    // the error of an address they refuse.
    if domain_ok && (dot_atom || EmailAddress::is_valid_local_part(local)) {
        return Ok(());
    }
    let options = Options {
        minimum_sub_domains: 2,
        allow_domain_literal: rules.allow_ip_literal,
        allow_display_text: false,
        allow_long_local_parts: false,
    };
    EmailAddress::parse_with_options(ascii_address, options)
        .map(|_| ())
        .map_err(|e| syntax(format!("RFC 5322: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(s: &str) -> Valid {
        match validate(s, &AddressRules::default(), &FlagLists::builtin()) {
            Ok(v) => v,
            Err(p) => panic!("{s:?} should be valid: {}", p.detail),
        }
    }

    fn bad(s: &str) -> Problem {
        match validate(s, &AddressRules::default(), &FlagLists::builtin()) {
            Ok(v) => panic!("{s:?} should be invalid, got {}", v.address),
            Err(p) => p,
        }
    }

    #[test]
    fn what_mutation_testing_found_unguarded() {
        // Characters outside RFC 5322 atext are refused by the local-part check itself, which
        // names them (not only by the email_address crate's last gate).
        for (text, c) in [
            ("a,b@corp-mail.com", "','"),
            ("a(b@corp-mail.com", "'('"),
            ("a\\b@corp-mail.com", "'\\\\'"),
        ] {
            let p = bad(text);
            assert!(
                p.detail.contains(&format!("character {c}")),
                "{text}: {}",
                p.detail
            );
        }
        for text in [".ann@corp-mail.com", "ann.@corp-mail.com"] {
            assert!(
                bad(text).detail.contains("starts or ends with a dot"),
                "{text}"
            );
        }
        // Details name the domain, not "@domain".
        let p = bad("ann@example.com");
        assert!(
            p.detail.starts_with("example.com is a reserved"),
            "{}",
            p.detail
        );
        let p = bad("ann@corp-mail.invalidtld");
        assert!(
            p.detail.starts_with("corp-mail.invalidtld: "),
            "{}",
            p.detail
        );
        // A reserved domain is reserved the second time this thread sees it too (the domain
        // cache's short form is only for domains with nothing special about them).
        for _ in 0..3 {
            assert_eq!(bad("bo@example.net").reason, Reason::ReservedDomain);
        }
        // An IDN domain is a repair only when UTS 46 mapped it to other characters (full-width
        // letters); not for its own form, its punycode, its case or a canonically equivalent
        // (decomposed) spelling.
        for same in [
            "a@bücher.de",
            "a@xn--bcher-kva.de",
            "a@BÜCHER.de",
            "a@bu\u{308}cher.de",
        ] {
            let v = ok(same);
            assert!(!v.repairs.contains(Repairs::UNICODE_NORMALISED), "{same}");
            assert_eq!(
                v.ascii_address.as_deref(),
                Some("a@xn--bcher-kva.de"),
                "{same}"
            );
        }
        let wide = ok("a@ｂüｃｈｅｒ.de");
        assert!(wide.repairs.contains(Repairs::UNICODE_NORMALISED));
        assert_eq!(wide.address, "a@bücher.de");
        // A top-level label must look like one: letters, two at least (or an xn-- label).
        for text in ["x@corp-mail.c", "x@corp-mail.12", "x@corp-mail.c0m"] {
            let p = bad(text);
            assert_eq!(p.reason, Reason::Syntax, "{text}");
            assert!(
                p.detail.contains("is not a top-level domain"),
                "{text}: {}",
                p.detail
            );
        }
        // A domain of exactly the longest length is judged by the address length that follows.
        let label = "a".repeat(61);
        // 4 labels of 61, 4 dots and a 5-letter TLD: 253 octets (.commm is not real, but the
        // length checks come first).
        let longest = format!("{label}.{label}.{label}.{label}.commm");
        assert_eq!(longest.len(), MAX_DOMAIN);
        let p = bad(&format!("x@{longest}"));
        assert!(
            p.detail.starts_with("address is 255 octets"),
            "{}",
            p.detail
        );
        let p = bad(&format!("x@a{longest}"));
        assert!(p.detail.starts_with("domain is 254 octets"), "{}", p.detail);
        // The email_address crate has the last word on what the rules let through: with
        // quoted local parts allowed, an unclosed or broken quote is refused there.
        let quoted = AddressRules {
            allow_quoted_local: true,
            ..AddressRules::default()
        };
        let lists = FlagLists::builtin();
        for text in ["\"abc@corp-mail.com", "\" }+&;@corp-mail.com"] {
            let Err(p) = validate(text, &quoted, &lists) else {
                panic!("{text} should be refused");
            };
            assert!(p.detail.starts_with("RFC 5322: "), "{text}: {}", p.detail);
        }
        assert!(validate("\"ann lee\"@corp-mail.com", &quoted, &lists).is_ok());
        assert!(validate("\"ünï qu\"@corp-mail.com", &quoted, &lists).is_ok());
        // Outlook.com's mailbox names: letters, digits, dots, hyphens and underscores.
        for text in ["ann!x@outlook.com", "bo#x@hotmail.co.uk", "cy=x@live.fr"] {
            let p = bad(text);
            assert!(
                p.detail.contains(
                    "mailbox names use only letters, digits, dots, hyphens and underscores"
                ),
                "{text}: {}",
                p.detail
            );
        }
        ok("ann_lee-x.y+news@outlook.com");
        // A hyphen in an internationalised domain is allowed (IDNA2008 keeps ASCII LDH).
        assert_eq!(
            ok("a@bücher-shop.de").ascii_address.as_deref(),
            Some("a@xn--bcher-shop-9db.de")
        );
    }

    #[test]
    fn local_part_length_boundary() {
        let l64 = "a".repeat(64);
        ok(&format!("{l64}@example.co"));
        let p = bad(&format!("{l64}a@example.co"));
        assert!(p.detail.contains("65 octets"), "{}", p.detail);
        // 64 octets of UTF-8 = 32 two-byte characters.
        ok(&format!("{}@example.co", "é".repeat(32)));
        bad(&format!("{}a@example.co", "é".repeat(32)));
    }

    #[test]
    fn label_length_boundary() {
        ok(&format!("a@{}.com", "b".repeat(63)));
        let p = bad(&format!("a@{}.com", "b".repeat(64)));
        assert!(p.detail.contains("64 octets"), "{}", p.detail);
    }

    #[test]
    fn total_length_boundary() {
        // local 64 + @ + domain 189 = 254.
        let local = "l".repeat(64);
        let domain = format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(57)
        );
        assert_eq!(local.len() + 1 + domain.len(), 254);
        ok(&format!("{local}@{domain}"));
        let domain = format!(
            "{}.{}.{}.com",
            "a".repeat(63),
            "b".repeat(63),
            "c".repeat(58)
        );
        let p = bad(&format!("{local}@{domain}"));
        assert!(p.detail.contains("255 octets"), "{}", p.detail);
    }

    #[test]
    fn idn_label_length_is_the_punycode_length_both_ways() {
        // 22 letters of seven scripts: 56 octets of UTF-8, 65 in punycode.
        let mixed = "àαа가一ぁაãδг갃七いდæηж갆丆ぇზé";
        assert!(mixed.len() <= 63);
        bad(&format!("a@{mixed}.de"));
        // 40 'ü': 80 octets of UTF-8, 46 in punycode (`xn--tdaaaa...`).
        let u = "ü".repeat(40);
        assert!(u.len() > 63);
        ok(&format!("a@{u}.de"));
    }

    #[test]
    fn idn_length_is_measured_in_punycode() {
        // 20 'ü' are 40 octets of UTF-8 but a much longer punycode label.
        let label = "ü".repeat(60);
        let p = bad(&format!("a@{label}.de"));
        assert_eq!(p.reason, Reason::Syntax);
    }

    #[test]
    fn dots_and_hyphens() {
        bad(".a@b.com");
        bad("a.@b.com");
        bad("a..b@b.com");
        bad("a@b..com");
        bad("a@-b.com");
        bad("a@b-.com");
        ok("a@b-c.com");
        bad("a@b_c.com");
        ok("first.last@sub.domain.co.uk");
    }

    #[test]
    fn domain_needs_a_dot_and_a_real_looking_tld() {
        bad("a@com");
        bad("a@b.c");
        bad("a@b.123");
        ok("a@b.museum");
        ok("a@xn--80ak6aa92e.xn--p1ai");
    }

    #[test]
    fn reserved_domains() {
        for d in [
            "localhost",
            "x.test",
            "x.invalid",
            "x.example",
            "example.com",
            "mail.example.org",
            "printer.local",
            "abc.onion",
            "1.in-addr.arpa",
        ] {
            assert_eq!(bad(&format!("a@{d}")).reason, Reason::ReservedDomain, "{d}");
        }
        ok("a@notexample.com");
    }

    #[test]
    fn unsafe_unicode_is_rejected_but_plain_unicode_is_not() {
        ok("用户@例子.中国");
        ok("josé.garcía@correo.es");
        assert!(bad("ab\u{200b}c@d.com").detail.contains("U+200B"));
        assert!(bad("abc@d\u{202e}moc.com").detail.contains("U+202E"));
        bad("a\u{1}b@d.com");
        bad("a b@d.com");
    }

    #[test]
    fn quoted_and_ip_literal_need_options() {
        bad("\"john doe\"@b.com");
        bad("a@[192.0.2.1]");
        let lax = AddressRules {
            allow_quoted_local: true,
            allow_ip_literal: true,
        };
        assert!(validate("\"john doe\"@b.com", &lax, &FlagLists::builtin()).is_ok());
        assert!(validate("a@[192.0.2.1]", &lax, &FlagLists::builtin()).is_ok());
        assert!(validate("a@[IPv6:2001:db8::1]", &lax, &FlagLists::builtin()).is_ok());
        assert!(validate("a@[999.0.2.1]", &lax, &FlagLists::builtin()).is_err());
    }

    #[test]
    fn provider_rules() {
        ok("john.smith+news@gmail.com");
        bad("john_smith@gmail.com");
        ok("john_smith@hotmail.com");
        bad("john+tag@yahoo.com");
        ok("john-shopping@yahoo.com");
        ok("john_smith@corp.com");
        // Each provider's set, byte by byte: the tag is not checked, the base is.
        bad("john-smith@gmail.com");
        ok("john-smith@outlook.com");
        bad("john!smith@outlook.com");
        ok("j.o.h.n+a-b_c@gmail.com");
        bad("john.smith!@yahoo.com");
    }

    #[test]
    fn domain_is_lowercased_and_root_dot_removed() {
        let v = ok("Ann@Corp.COM.");
        assert!(v.ascii_address.is_none());
        assert_eq!(v.address, "Ann@corp.com");
        assert!(v.repairs.contains(Repairs::ROOT_DOT));
        assert!(v.repairs.contains(Repairs::DOMAIN_CASE));
    }

    /// The domain cache keeps only the short facts of a plain domain: a domain seen again, in
    /// another spelling or under other lists, gets what a first sight gives.
    #[test]
    fn a_domain_seen_again_is_checked_as_the_first_time() {
        use super::super::check;
        use crate::record::Flags;
        let rules = AddressRules::default();
        let builtin = FlagLists::builtin();
        let mut listed = FlagLists::builtin();
        listed.add_disposable("quick-cache.org\nBücher-Cache.de.\n");
        let addresses = [
            "a@quick-cache.org",
            "b@Quick-Cache.ORG",
            "c@quick-cache.org.",
            "d@bücher-cache.de",
            "e@xn--bcher-cache-thb.de",
            "f@gmial.com",
            "g@hotmail.con",
        ];
        let first: Vec<String> = addresses
            .iter()
            .map(|a| format!("{:?}", check(a, &rules, &builtin)))
            .collect();
        for round in 0..3 {
            for (a, want) in addresses.iter().zip(&first) {
                assert_eq!(
                    &format!("{:?}", check(a, &rules, &builtin)),
                    want,
                    "{a}, round {round}"
                );
            }
            // Other lists, then the first ones again: each answer follows the lists asked with.
            for a in &addresses[..5] {
                let v = check(a, &rules, &listed);
                assert!(v.flags.contains(Flags::DISPOSABLE), "{a}: {v:?}");
            }
        }
    }
}

#[cfg(test)]
mod unicode_tests {
    use super::super::{check, AddressRules, FlagLists};
    use crate::record::Repairs;

    fn valid(s: &str) -> bool {
        check(s, &AddressRules::default(), &FlagLists::builtin()).is_valid()
    }

    #[test]
    fn idna2008_refuses_what_uts46_would_map() {
        assert!(
            !valid("me@yy--0.com"),
            "-- in the third and fourth positions"
        );
        assert!(!valid("user@😀.la"));
        assert!(
            !valid("user@xn--ls8h.la"),
            "an xn-- label that decodes to an emoji"
        );
        assert!(!valid("a@xn--zz.com"), "not a valid U-label");
        assert!(valid("a@bücher.de") && valid("a@xn--bcher-kva.de"));
    }

    #[test]
    fn unsafe_code_points_in_the_local_part() {
        for s in [
            "\u{301}a@corp-mail.com",
            "a\u{e000}@corp-mail.com",
            "a\u{10fdef}@corp-mail.com",
            "a\u{fdef}@corp-mail.com",
            "a\u{2028}b@corp-mail.com",
            "a\u{2029}b@corp-mail.com",
            "a\u{378}@corp-mail.com",
        ] {
            assert!(!valid(s), "{s:?}");
        }
        assert!(valid("jos\u{e9}@corp-mail.com"));
        assert!(valid("\u{7528}\u{6237}@corp-mail.com"));
    }

    #[test]
    fn two_spellings_are_one_address_and_mapping_is_a_repair() {
        let rules = AddressRules::default();
        let lists = FlagLists::builtin();
        let composed = check("jos\u{e9}@corp-mail.com", &rules, &lists);
        let decomposed = check("jose\u{301}@corp-mail.com", &rules, &lists);
        assert_eq!(composed.address, decomposed.address);
        assert_eq!(
            crate::address::dedupe_key(&composed, false),
            crate::address::dedupe_key(&decomposed, false)
        );
        assert!(decomposed.repairs.contains(Repairs::UNICODE_NORMALISED));
        assert!(!composed.repairs.contains(Repairs::UNICODE_NORMALISED));
        let wide = check(
            "a@\u{ff47}\u{ff4d}\u{ff41}\u{ff49}\u{ff4c}.com",
            &rules,
            &lists,
        );
        assert_eq!(wide.address, "a@gmail.com");
        assert!(wide.repairs.contains(Repairs::UNICODE_NORMALISED));
    }
}

#[cfg(test)]
mod fast_lane_tests {
    use super::*;
    use proptest::prelude::*;

    /// Local parts built from the bytes and characters the two readings tell apart: dots (at
    /// the ends, doubled), atext, the quote, space, controls, DEL, and non-ASCII letters.
    fn local_part() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just(".".to_owned()),
            Just("..".to_owned()),
            "[a-zA-Z0-9]{1,8}",
            "[!#$%&'*+/=?^_`{|}~-]",
            Just("\"".to_owned()),
            Just(" ".to_owned()),
            Just("\u{7f}".to_owned()),
            "[\u{0}-\u{1f}]",
            Just("é".to_owned()),
            Just("\u{7528}".to_owned()),
            Just("@".to_owned()),
        ];
        prop::collection::vec(piece, 0..24).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        /// What the one-pass test accepts, the full check accepts; on ASCII they agree.
        #[test]
        fn plain_local_is_check_local_on_ascii(local in local_part()) {
            let full = check_local(&local, &AddressRules::default()).is_ok();
            let plain = plain_local(local.as_bytes());
            prop_assert!(!plain || full, "{local:?}");
            prop_assert!(!plain || EmailAddress::is_valid_local_part(&local), "{local:?}");
            // The reading by runs between dots that `is_dot_atom` had before the table.
            let by_runs = !local.is_empty()
                && local.split('.').all(|run| {
                    !run.is_empty()
                        && run.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&b))
                });
            prop_assert_eq!(is_dot_atom(&local), by_runs, "{:?}", local);
            if local.is_ascii() {
                prop_assert_eq!(plain, full, "{:?}", local);
            }
        }

        #[test]
        fn control_scan_is_the_byte_test(text in "[\u{0}-\u{7f}]{0,80}") {
            prop_assert_eq!(
                has_ascii_control(text.as_bytes()),
                text.bytes().any(|b| b.is_ascii_control())
            );
        }
    }

    #[test]
    fn the_64_octet_limit_and_dots_are_held() {
        assert!(plain_local(&[b'a'; 64]));
        assert!(!plain_local(&[b'a'; 65]));
        assert!(!plain_local(b""));
        assert!(!plain_local(b".a") && !plain_local(b"a.") && !plain_local(b"a..b"));
        assert!(plain_local(b"a.b.c") && plain_local(b"o'neil+x"));
    }
}
