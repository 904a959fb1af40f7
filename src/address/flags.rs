//! Flags on valid addresses: role accounts, disposable domains, likely domain typos, and
//! local parts that need SMTPUTF8. None of these removes anyone: a role address may be the only
//! contact a business customer has, and a "typo" may be a real domain.

use std::sync::LazyLock;

use rustc_hash::FxHashSet;

use super::Checked;
use crate::record::Flags;

/// The lists the flags are checked against.
#[derive(Debug, Clone)]
pub struct FlagLists {
    roles: FxHashSet<String>,
    disposable: FxHashSet<String>,
    /// The top-level domains of the DNS root zone, lowercased.
    tlds: std::sync::Arc<FxHashSet<String>>,
    /// Which disposable list this is: 0 for the built-in one, a number of its own once domains
    /// are added. The per-thread domain cache keeps each domain's answer with the id it was
    /// found under, so that lists of different content never share an answer.
    id: u64,
}

/// IANA's list of top-level domains (version 2024110800), lowercased.
static BUILTIN_TLDS: LazyLock<std::sync::Arc<FxHashSet<String>>> = LazyLock::new(|| {
    std::sync::Arc::new(
        entries(include_str!("data/tlds-alpha-by-domain.txt"))
            .map(str::to_ascii_lowercase)
            .collect(),
    )
});

/// The bundled public list of disposable domains (CC0; source and date in its header).
pub const BUNDLED_DISPOSABLE: &str = include_str!("data/disposable-email-domains.txt");

/// The lists built into mailscrub, for `mailscrub lists`: name, entries, where it comes from.
pub fn bundled_lists() -> Vec<(&'static str, usize, &'static str)> {
    vec![
        (
            "disposable domains",
            FlagLists::builtin().disposable.len(),
            "disposable-email-domains/disposable-email-domains at commit a6458931 (2026-08-21), CC0 1.0, plus mailscrub's own list of long-lived services; add a newer file with --disposable-domains FILE",
        ),
        (
            "top-level domains",
            BUILTIN_TLDS.len(),
            "IANA's root zone list, version 2024110800 (2024-11-08); give a newer copy with --tld-list FILE",
        ),
        (
            "role local parts",
            entries(include_str!("role.txt")).count(),
            "mailscrub's own list (RFC 2142 mailbox names and common role addresses)",
        ),
        (
            "mailbox providers (typo suggestions)",
            entries(include_str!("providers.txt")).count(),
            "mailscrub's own list of large consumer mailbox providers",
        ),
    ]
}

/// The next id for a disposable list changed by [`FlagLists::add_disposable`].
static NEXT_LIST_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

/// The large mailbox providers (built in): a domain one keystroke from one of them is a likely
/// typo.
static PROVIDERS: LazyLock<Providers> = LazyLock::new(|| {
    let names: Vec<&'static str> = entries(include_str!("providers.txt")).collect();
    Providers {
        letters: names.iter().map(|p| letters(p.as_bytes())).collect(),
        set: names.iter().copied().collect(),
        names,
    }
});

/// The providers' names, each name's letter set (see [`letters`]; worked out once, not for
/// every domain asked), and the names as a set.
struct Providers {
    names: Vec<&'static str>,
    letters: Vec<u64>,
    set: FxHashSet<&'static str>,
}

/// Whether `ascii_domain` is a consumer mailbox provider's (found with the domain's other facts).
pub(super) fn is_free_provider(ascii_domain: &str) -> bool {
    PROVIDERS.set.contains(ascii_domain)
}

/// The likely intended domain when `ascii_domain` looks like a typo of a large provider's.
/// Called once per distinct domain per thread (the result lives in the domain cache of
/// `syntax`), because the edit-distance search is the costliest part of checking an address.
pub(super) fn typo_of(ascii_domain: &str) -> Option<String> {
    let providers = &*PROVIDERS;
    if providers.set.contains(ascii_domain) {
        return None;
    }
    suggest_among(ascii_domain, &providers.names, &providers.letters)
}

fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

impl FlagLists {
    /// The lists built into mailscrub.
    pub fn builtin() -> Self {
        FlagLists {
            roles: entries(include_str!("role.txt"))
                .map(str::to_owned)
                .collect(),
            disposable: entries(include_str!("disposable.txt"))
                .chain(entries(BUNDLED_DISPOSABLE))
                .map(str::to_owned)
                .collect(),
            tlds: BUILTIN_TLDS.clone(),
            id: 0,
        }
    }

    /// Replaces the top-level domains with those of `text` (IANA's format: one a line, `#`
    /// comments). An error when it holds none.
    pub fn set_tlds(&mut self, text: &str) -> Result<(), String> {
        let tlds: FxHashSet<String> = entries(text).map(str::to_ascii_lowercase).collect();
        if tlds.is_empty() {
            return Err("no top-level domain in the file".to_owned());
        }
        self.tlds = std::sync::Arc::new(tlds);
        // The per-thread domain cache keeps list answers under this id.
        self.id = NEXT_LIST_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    /// Whether `tld` (ASCII, any case) is a top-level domain of the root zone.
    pub fn tld_exists(&self, tld: &str) -> bool {
        if tld.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.tlds.contains(&tld.to_ascii_lowercase());
        }
        self.tlds.contains(tld)
    }

    /// Adds disposable domains, one per line (`#` starts a comment), to the built-in list. A
    /// domain written in Unicode is kept in its ASCII (punycode) form, the form addresses are
    /// looked up in; one that is not a domain name is kept as written (it matches nothing).
    pub fn add_disposable(&mut self, text: &str) {
        for d in entries(text) {
            let d = d.trim_end_matches('.');
            let ascii = if d.is_ascii() {
                d.to_ascii_lowercase()
            } else {
                idna::domain_to_ascii(d).unwrap_or_else(|_| d.to_lowercase())
            };
            self.disposable.insert(ascii);
        }
        self.id = NEXT_LIST_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }

    /// Which disposable list this is (see the field).
    pub(super) fn id(&self) -> u64 {
        self.id
    }

    fn is_role(&self, local: &str) -> bool {
        let base = &local[..local.bytes().position(|b| b == b'+').unwrap_or(local.len())];
        if base.is_ascii() && base.bytes().any(|b| b.is_ascii_uppercase()) {
            return self.roles.contains(&base.to_ascii_lowercase());
        }
        self.roles.contains(base)
    }

    pub(super) fn is_disposable(&self, domain: &str) -> bool {
        // The domain itself or any parent domain (a subdomain of a disposable service).
        let mut d = domain;
        loop {
            if self.disposable.contains(d) {
                return true;
            }
            match d.bytes().position(|b| b == b'.') {
                Some(dot) if d[dot + 1..].bytes().any(|b| b == b'.') => d = &d[dot + 1..],
                _ => return false,
            }
        }
    }
}

/// Sets `checked.flags`, and `checked.suggestion` from the domain's likely intended form
/// (`typo_of`); both `typo_of` and `disposable` were found with the domain's other facts.
pub fn flag(
    checked: &mut Checked,
    lists: &FlagLists,
    typo_of: Option<&str>,
    disposable: bool,
    free_provider: bool,
) {
    let local = checked.local_part();
    let mut flags = Flags::empty();
    if lists.is_role(local) {
        flags |= Flags::ROLE;
    }
    if disposable {
        flags |= Flags::DISPOSABLE;
    }
    if !local.is_ascii() {
        flags |= Flags::SMTPUTF8;
    }
    if free_provider {
        flags |= Flags::FREE_PROVIDER;
    }
    let suggestion = typo_of.map(|better| format!("{local}@{better}"));
    if suggestion.is_some() {
        flags |= Flags::TYPO;
    }
    checked.flags |= flags;
    checked.suggestion = suggestion;
}

/// Top-level domains that are not delegated but are one keystroke from `.com`, `.net`, `.org`.
const TLD_TYPOS: [(&str, &str); 14] = [
    ("con", "com"),
    ("cmo", "com"),
    ("ocm", "com"),
    ("vom", "com"),
    ("xom", "com"),
    ("cpm", "com"),
    ("cim", "com"),
    ("comm", "com"),
    ("coom", "com"),
    ("cmm", "com"),
    ("nte", "net"),
    ("ner", "net"),
    ("ogr", "org"),
    ("orgg", "org"),
];

/// A likely intended domain for `domain`, or `None` when it looks as meant: a large provider one
/// edit away (two for long names), or an undelegated TLD one keystroke from `.com`/`.net`/`.org`.
pub fn suggest_domain(domain: &str, providers: &[&'static str]) -> Option<String> {
    if providers.contains(&domain) {
        return None;
    }
    let sets: Vec<u64> = providers.iter().map(|p| letters(p.as_bytes())).collect();
    suggest_among(domain, providers, &sets)
}

/// [`suggest_domain`] with each provider's letter set given (`sets[i]` is `providers[i]`'s), for
/// a domain that is not a provider's.
fn suggest_among(domain: &str, providers: &[&'static str], sets: &[u64]) -> Option<String> {
    let max = if domain.len() >= 11 { 2 } else { 1 };
    let mut best: Option<(&str, usize)> = None;
    let mut tied = false;
    let letters = letters(domain.as_bytes());
    for (p, set) in providers.iter().zip(sets) {
        // Each edit adds or removes at most two letters from the set of letters a name uses,
        // so a name whose set differs by more is out of reach (most of them: no table built).
        if (letters ^ set).count_ones() as usize > 2 * max {
            continue;
        }
        let Some(d) = osa_within(domain.as_bytes(), p.as_bytes(), max) else {
            continue;
        };
        match best {
            Some((_, bd)) if d > bd => {}
            Some((_, bd)) if d == bd => tied = true,
            _ => {
                best = Some((p, d));
                tied = false;
            }
        }
    }
    if let (Some((p, _)), false) = (best, tied) {
        return Some(p.to_string());
    }
    let (stem, tld) = domain.rsplit_once('.')?;
    let (_, fixed) = TLD_TYPOS.iter().find(|(typo, _)| *typo == tld)?;
    Some(format!("{stem}.{fixed}"))
}

/// The set of bytes `name` uses, one bit each: letters and digits their own, `-` and `.`
/// theirs, anything else one shared bit.
fn letters(name: &[u8]) -> u64 {
    name.iter().fold(0, |set, b| {
        let bit = match b.to_ascii_lowercase() {
            c @ b'a'..=b'z' => c - b'a',
            c @ b'0'..=b'9' => 26 + (c - b'0'),
            b'-' => 36,
            b'.' => 37,
            _ => 38,
        };
        set | 1 << bit
    })
}

/// Optimal string alignment distance, or `None` when it is above `max`: insertions, deletions,
/// substitutions and transpositions of neighbours each cost one (`gmial` → `gmail` is one edit).
/// Stops as soon as every cell of a row is above `max`, which for unrelated names is after the
/// first few characters: this runs for every address whose domain is not a known provider.
fn osa_within(a: &[u8], b: &[u8], max: usize) -> Option<usize> {
    const W: usize = 64;
    if b.len() >= W || a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut prev2 = [0usize; W];
    let mut prev = [0usize; W];
    let mut cur = [0usize; W];
    for (j, cell) in prev.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        cur[0] = i;
        let mut row_min = cur[0];
        for j in 1..w {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (prev[j] + 1).min(cur[j - 1] + 1).min(prev[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(prev2[j - 2] + 1);
            }
            cur[j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
        std::mem::swap(&mut prev2, &mut prev);
        std::mem::swap(&mut prev, &mut cur);
    }
    Some(prev[b.len()]).filter(|d| *d <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The public search and the one with the letter sets worked out once agree.
    fn suggest(d: &str) -> Option<String> {
        let found = suggest_domain(d, &PROVIDERS.names);
        assert_eq!(typo_of(d), found, "{d}");
        found
    }

    /// The letter-set filter never turns away a name within reach: every single edit of every
    /// provider (insert, delete, substitute, swap neighbours, with letters, digits, `-`, `.` and
    /// a multi-byte character) changes the set by at most two, and a second edit by two more.
    #[test]
    fn the_letter_filter_keeps_every_name_within_reach() {
        fn edits(name: &[u8]) -> Vec<Vec<u8>> {
            let alphabet: Vec<Vec<u8>> = ["a", "z", "7", "-", ".", "é"]
                .iter()
                .map(|c| c.as_bytes().to_vec())
                .collect();
            let mut out = Vec::new();
            for i in 0..=name.len() {
                for c in &alphabet {
                    out.push([&name[..i], c, &name[i..]].concat());
                    if i < name.len() {
                        out.push([&name[..i], c, &name[i + 1..]].concat());
                    }
                }
                if i < name.len() {
                    out.push([&name[..i], &name[i + 1..]].concat());
                }
                if i + 1 < name.len() {
                    let mut t = name.to_vec();
                    t.swap(i, i + 1);
                    out.push(t);
                }
            }
            out
        }
        for p in PROVIDERS.names.iter().take(12) {
            let base = letters(p.as_bytes());
            for one in edits(p.as_bytes()) {
                assert!((base ^ letters(&one)).count_ones() <= 2, "{p} {one:?}");
                for two in edits(&one).into_iter().step_by(7) {
                    assert!((base ^ letters(&two)).count_ones() <= 4, "{p} {two:?}");
                }
            }
        }
    }

    #[test]
    fn typos_of_large_providers() {
        assert_eq!(suggest("gmial.com").as_deref(), Some("gmail.com"));
        assert_eq!(suggest("gamil.com").as_deref(), Some("gmail.com"));
        assert_eq!(suggest("gmail.con").as_deref(), Some("gmail.com"));
        assert_eq!(suggest("hotmail.con").as_deref(), Some("hotmail.com"));
        assert_eq!(suggest("hotmial.com").as_deref(), Some("hotmail.com"));
        assert_eq!(suggest("yahooo.com").as_deref(), Some("yahoo.com"));
        assert_eq!(suggest("outlok.com").as_deref(), Some("outlook.com"));
        assert_eq!(
            suggest("acme-widgets.con").as_deref(),
            Some("acme-widgets.com")
        );
    }

    #[test]
    fn real_domains_are_not_typos() {
        for d in [
            "gmail.com",
            "mail.com",
            "ymail.com",
            "gmx.com",
            "aol.com",
            "acme.com",
            "me.com",
        ] {
            assert_eq!(suggest(d), None, "{d}");
        }
    }

    #[test]
    fn distance() {
        assert_eq!(osa_within(b"gmial", b"gmail", 1), Some(1));
        assert_eq!(osa_within(b"abc", b"abc", 0), Some(0));
        assert_eq!(osa_within(b"", b"abc", 3), Some(3));
        assert_eq!(osa_within(b"kitten", b"sitting", 3), Some(3));
        assert_eq!(osa_within(b"kitten", b"sitting", 2), None);
        assert_eq!(osa_within(b"ab", b"ba", 1), Some(1));
    }

    #[test]
    fn disposable_subdomains() {
        let lists = FlagLists::builtin();
        assert!(lists.is_disposable("mailinator.com"));
        assert!(lists.is_disposable("x.mailinator.com"));
        assert!(!lists.is_disposable("com"));
        assert!(!lists.is_disposable("gmail.com"));
    }

    #[test]
    fn role_ignores_case_and_tags() {
        let lists = FlagLists::builtin();
        assert!(lists.is_role("Info"));
        assert!(lists.is_role("sales+eu"));
        assert!(!lists.is_role("information"));
    }

    #[test]
    fn the_nearest_provider_wins_and_a_tie_suggests_nothing() {
        // Two edits are allowed only for names of 11 characters or more.
        assert_eq!(suggest("hotmial.co.ukk").as_deref(), Some("hotmail.co.uk"));
        assert_eq!(suggest("gmal.co"), None);
        // uol.com.br (1 edit) is listed before bol.com.br (2); bol.ctom.br is the reverse.
        assert_eq!(suggest("uol.ctom.br").as_deref(), Some("uol.com.br"));
        assert_eq!(suggest("bol.ctom.br").as_deref(), Some("bol.com.br"));
        // gmail.com, ymail.com and mail.com are all one edit from kmail.com.
        assert_eq!(suggest("kmail.com"), None);
    }

    #[test]
    fn a_name_too_long_for_the_table_is_not_compared() {
        let long = [b'a'; 64];
        assert_eq!(osa_within(&long, &long, 1), None);
        assert_eq!(osa_within(b"abcd", b"ab", 1), None, "lengths two apart");
    }

    #[test]
    fn a_bare_top_level_domain_on_a_list_flags_nothing() {
        let mut lists = FlagLists::builtin();
        lists.add_disposable("# a list that names a whole TLD\ntk\n\nthrowaway.example\n");
        assert!(
            !lists.is_disposable("free.tk"),
            "parents are looked up down to two labels"
        );
        assert!(lists.is_disposable("throwaway.example"));
        assert!(lists.is_disposable("a.b.throwaway.example"));
        assert!(!lists.is_disposable(""), "the comment line is not an entry");
        assert!(!lists.is_disposable("# a list that names a whole TLD"));
    }

    #[test]
    fn the_tld_list_is_replaced_whole_and_must_name_one() {
        let mut lists = FlagLists::builtin();
        assert!(lists.tld_exists("com") && lists.tld_exists("COM"));
        assert!(!lists.tld_exists("con"));
        lists.set_tlds("# Version 2099\n\nZZ\nqq\n").unwrap();
        assert!(lists.tld_exists("zz") && lists.tld_exists("QQ"));
        assert!(
            !lists.tld_exists("com"),
            "the file replaces the built-in list"
        );
        assert!(!lists.tld_exists("# version 2099"));
        assert!(lists.set_tlds("# nothing\n\n").is_err());
    }

    #[test]
    fn the_bundled_lists_are_described() {
        let lists = bundled_lists();
        let names: Vec<&str> = lists.iter().map(|(n, _, _)| *n).collect();
        assert_eq!(
            names,
            [
                "disposable domains",
                "top-level domains",
                "role local parts",
                "mailbox providers (typo suggestions)"
            ]
        );
        for (name, n, source) in lists {
            assert!(n > 10, "{name}: {n}");
            assert!(source.len() > 20, "{name}: {source}");
        }
    }
}
