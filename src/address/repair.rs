//! Undo what exports and copy-paste do to an address before it is judged.
//!
//! Only changes that cannot turn one person's address into another's are made: wrapping
//! (whitespace, `mailto:`, a display name, angle brackets) is removed. Case in the local part is
//! left alone; the domain's case is handled by the syntax step.

use crate::record::Repairs;

/// The text after repair and what was done to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repaired<'a> {
    /// The address with its wrapping removed (borrowed from the input: nothing is copied).
    pub text: &'a str,
    /// The repairs made.
    pub repairs: Repairs,
}

/// Characters trimmed from both ends: Unicode white space (no-break space included) plus the
/// byte-order mark and zero-width characters that copy-paste leaves at the edges.
fn is_edge_junk(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '\u{feff}' | '\u{200b}' | '\u{200c}' | '\u{200d}' | '\u{2060}'
        )
}

/// The separators exports put between several addresses in one cell: Google Contacts' ` ::: `,
/// then `;` and `,` (Outlook and hand-made lists).
const SEPARATORS: [&str; 3] = [" ::: ", ";", ","];

/// Removes wrapping around an address. A cell holding several addresses keeps its first one
/// that has an `@` (recorded as [`Repairs::MULTIPLE_ADDRESSES`]).
pub fn repair(raw: &str) -> Repaired<'_> {
    let mut repairs = Repairs::empty();
    let mut text = trim(raw, &mut repairs);

    // One scan for the separators' bytes first: almost no cell holds any.
    let maybe_several = memchr::memchr3(b';', b',', b':', text.as_bytes()).is_some();
    for sep in SEPARATORS.iter().filter(|_| maybe_several) {
        if !text.contains(sep) {
            continue;
        }
        let parts: Vec<&str> = text.split(sep).collect();
        // Several parts with an `@` each: several addresses (a quoted local part or a display
        // name with a comma holds one `@` in all).
        if parts.iter().filter(|p| p.contains('@')).count() >= 2 {
            if let Some(first) = parts.iter().find(|p| p.contains('@')) {
                repairs |= Repairs::MULTIPLE_ADDRESSES;
                text = trim(first, &mut repairs);
                break;
            }
        }
    }

    if let Some(prefix) = text.get(..7) {
        if prefix.eq_ignore_ascii_case("mailto:") {
            repairs |= Repairs::MAILTO;
            text = trim(&text[7..], &mut repairs);
            // A mailto URI may carry `?subject=...`; the address ends before it.
            if let Some(q) = text.find('?') {
                text = &text[..q];
            }
        }
    }

    // `Name <addr>` or `<addr>`: take what is inside the last pair of angle brackets.
    if text.ends_with('>') {
        if let Some(open) = text.rfind('<') {
            let inner = &text[open + 1..text.len() - 1];
            if inner.contains('@') {
                if open > 0 {
                    repairs |= Repairs::DISPLAY_NAME;
                } else {
                    repairs |= Repairs::ANGLE_BRACKETS;
                }
                text = trim(inner, &mut repairs);
            }
        }
    }

    Repaired { text, repairs }
}

fn trim<'a>(s: &'a str, repairs: &mut Repairs) -> &'a str {
    let trimmed = s.trim_matches(is_edge_junk);
    if trimmed.len() != s.len() {
        *repairs |= Repairs::TRIMMED;
    }
    trimmed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_addresses_in_a_cell_keep_the_first() {
        for cell in [
            "ann@x.com ::: ann@y.com",
            "ann@x.com; bo@y.com",
            " ann@x.com,bo@y.com",
            "Ann <ann@x.com>, Bo <bo@y.com>",
        ] {
            let r = repair(cell);
            assert!(r.text == "ann@x.com", "{cell}: {}", r.text);
            assert!(r.repairs.contains(Repairs::MULTIPLE_ADDRESSES), "{cell}");
        }
        // One address with a comma in its display name is one address.
        let r = repair("\"Doe, Ann\" <ann@x.com>");
        assert_eq!(r.text, "ann@x.com");
        assert!(!r.repairs.contains(Repairs::MULTIPLE_ADDRESSES));
    }

    #[test]
    fn untouched_when_clean() {
        let r = repair("a@b.com");
        assert_eq!(r.text, "a@b.com");
        assert!(r.repairs.is_empty());
    }

    #[test]
    fn strips_wrapping() {
        assert_eq!(repair("\u{feff} a@b.com\t").text, "a@b.com");
        assert_eq!(repair("MAILTO:a@b.com?subject=hi").text, "a@b.com");
        assert_eq!(repair("Ann Lee <ann@b.com>").text, "ann@b.com");
        assert_eq!(repair("<ann@b.com>").repairs, Repairs::ANGLE_BRACKETS);
        assert_eq!(repair("\u{a0}ann@b.com\u{a0}").repairs, Repairs::TRIMMED);
    }

    #[test]
    fn brackets_without_address_are_left_for_the_validator() {
        assert_eq!(repair("ann <nobody>").text, "ann <nobody>");
    }
}
