//! `--partition K/N`: one of N parts of a list, by a hash of each address's domain.
//!
//! Every decision about an address depends only on rows and evidence of the same address, and
//! an address has one domain, so the parts are independent: N processes (or machines) can each
//! clean one part, and the union of their outputs is one run's outputs. The hash is XXH3 of the
//! domain in ASCII (punycode), lowercased, so the same domain lands in the same part on every
//! machine and in every version that keeps this function. Rows without a domain (unreadable
//! rows, cells without `@`) belong to the part of the empty domain.

use std::borrow::Cow;

/// Part `part` (1-based) of `of`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    /// Which part, from 1.
    pub part: u32,
    /// How many parts.
    pub of: u32,
}

impl Partition {
    /// Reads `K/N` (1 ≤ K ≤ N).
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || format!("--partition {text:?}: give K/N with 1 <= K <= N, for example 2/8");
        let (k, n) = text.split_once('/').ok_or_else(bad)?;
        let part: u32 = k.trim().parse().map_err(|_| bad())?;
        let of: u32 = n.trim().parse().map_err(|_| bad())?;
        if part == 0 || of == 0 || part > of {
            return Err(bad());
        }
        Ok(Partition { part, of })
    }

    /// Whether addresses of `domain` (any case, Unicode or punycode) belong to this part.
    pub fn holds_domain(&self, domain: &str) -> bool {
        part_of(domain, self.of) == self.part
    }

    /// Whether `address` (its domain is after the last `@`; none is the empty domain) belongs
    /// to this part.
    pub fn holds_address(&self, address: &str) -> bool {
        let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
        self.holds_domain(domain)
    }
}

/// The part (1..=n) that `domain` belongs to.
pub fn part_of(domain: &str, n: u32) -> u32 {
    let key = domain_key(domain);
    (xxhash_rust::xxh3::xxh3_64(key.as_bytes()) % u64::from(n.max(1))) as u32 + 1
}

/// The form of a domain that is hashed: ASCII lowercase, IDN as punycode, no root dot.
fn domain_key(domain: &str) -> Cow<'_, str> {
    let d = domain.trim().trim_end_matches('.');
    if d.is_ascii() {
        if d.bytes().any(|b| b.is_ascii_uppercase()) || d.len() != domain.len() {
            return Cow::Owned(d.to_ascii_lowercase());
        }
        return Cow::Borrowed(d);
    }
    match idna::domain_to_ascii(d) {
        Ok(a) => Cow::Owned(a),
        Err(_) => Cow::Owned(d.to_lowercase()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k_of_n() {
        assert_eq!(
            Partition::parse("2/8").unwrap(),
            Partition { part: 2, of: 8 }
        );
        assert_eq!(Partition::parse(" 1 / 1 ").unwrap().of, 1);
        for bad in ["0/4", "5/4", "1/0", "1", "a/b", "", "1/4/2", "-1/4"] {
            assert!(Partition::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn one_domain_one_part_whatever_its_spelling() {
        for n in [1, 2, 7, 64] {
            let p = part_of("bücher.de", n);
            assert!((1..=n).contains(&p));
            assert_eq!(part_of("xn--bcher-kva.de", n), p);
            assert_eq!(part_of("BÜCHER.de.", n), p);
            assert_eq!(part_of("Xn--Bcher-Kva.DE", n), p);
        }
        let p = Partition {
            part: part_of("corp-mail.com", 5),
            of: 5,
        };
        assert!(p.holds_address("Ann@Corp-Mail.com"));
        assert!(p.holds_address("bo@corp-mail.com"));
    }

    #[test]
    fn every_domain_is_in_exactly_one_part() {
        let n = 4;
        let mut sizes = [0u32; 4];
        for i in 0..4000 {
            let d = format!("domain-{i}.example");
            let parts: Vec<u32> = (1..=n)
                .filter(|&k| Partition { part: k, of: n }.holds_domain(&d))
                .collect();
            assert_eq!(parts.len(), 1, "{d}");
            sizes[parts[0] as usize - 1] += 1;
        }
        // Spread: no part far from a quarter.
        assert!(sizes.iter().all(|&s| (800..1200).contains(&s)), "{sizes:?}");
        // No domain at all: one part too.
        let empty: Vec<u32> = (1..=n)
            .filter(|&k| Partition { part: k, of: n }.holds_address("no-at-sign"))
            .collect();
        assert_eq!(empty.len(), 1);
    }
}
