//! The set of dedupe keys a run has seen: the one structure every row touches, at a random place.
//!
//! A general hash set spends most of a big run waiting for memory: each new key lands on a cold
//! cache line of a table of hundreds of megabytes. This set is built for that access pattern:
//! - the keys are already uniform hashes, so the bucket is taken from their high bits, with no
//!   second hashing, scaled to the number of buckets (a multiply and a shift), so the table can
//!   be sized to the rows expected instead of the next power of two (70 MB less at 10M rows);
//! - a bucket is one 64-byte cache line of four keys, and a full bucket spills into the next
//!   (linear probing; keys are never removed, so the first empty slot ends a search);
//! - [`KeySet::warm`] asks for the buckets of keys about to be inserted, all at once, so their
//!   cache misses overlap each other and the work on the rows before them.
//!
//! Memory: 16 bytes per slot at a load of at most 7/8, so 18 to 37 bytes per distinct key.

use super::{prefetch, DedupeKey};

/// Four keys on one cache line; 0 marks an empty slot (the key 0 is kept aside).
#[derive(Clone, Copy, Default)]
#[repr(C, align(64))]
struct Bucket([DedupeKey; 4]);

/// An insert-only set of dedupe keys.
pub struct KeySet {
    buckets: Vec<Bucket>,
    len: usize,
    /// Whether the key 0, which cannot be stored in a slot, is in the set.
    zero: bool,
}

impl KeySet {
    /// A set that takes `keys` distinct keys without growing.
    pub fn with_capacity(keys: usize) -> Self {
        let slots = (keys.max(1) * 8).div_ceil(7);
        let buckets = slots.div_ceil(4);
        KeySet {
            buckets: vec![Bucket::default(); buckets],
            len: 0,
            zero: false,
        }
    }

    /// Distinct keys in the set.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when nothing was inserted.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds `key`; true when it was not there yet.
    pub fn insert(&mut self, key: DedupeKey) -> bool {
        if key == 0 {
            let new = !self.zero;
            self.zero = true;
            self.len += usize::from(new);
            return new;
        }
        if (self.len + 1) * 8 > self.buckets.len() * 4 * 7 {
            self.grow();
        }
        let inserted = Self::place(&mut self.buckets, key);
        self.len += usize::from(inserted);
        inserted
    }

    /// True when `key` was inserted before.
    pub fn contains(&self, key: DedupeKey) -> bool {
        if key == 0 {
            return self.zero;
        }
        find(&self.buckets, key).is_ok()
    }

    /// Asks for the buckets of `keys` ahead of their inserts (see `prefetch` in this module).
    pub fn warm(&self, keys: impl IntoIterator<Item = DedupeKey>) {
        for key in keys {
            prefetch(&self.buckets[home(key, self.buckets.len())]);
        }
    }

    /// Puts `key` in the first empty slot of its probe sequence; false if it is already there.
    fn place(buckets: &mut [Bucket], key: DedupeKey) -> bool {
        match find(buckets, key) {
            Ok(()) => false,
            Err((b, s)) => {
                buckets[b].0[s] = key;
                true
            }
        }
    }

    /// Doubles the table (only when a run has more distinct keys than it was sized for).
    fn grow(&mut self) {
        let size = self.buckets.len() * 2;
        let mut buckets = vec![Bucket::default(); size];
        for bucket in &self.buckets {
            for &key in bucket.0.iter().filter(|k| **k != 0) {
                Self::place(&mut buckets, key);
            }
        }
        self.buckets = buckets;
    }
}

/// The first bucket of `key` among `buckets`: its high 64 bits scaled to the range.
fn home(key: DedupeKey, buckets: usize) -> usize {
    ((u128::from((key >> 64) as u64) * buckets as u128) >> 64) as usize
}

/// Walks `key`'s probe sequence: `Ok` when the key is there, else the bucket and slot of the
/// first empty slot (where it belongs; keys are never removed, so the search ends there).
fn find(buckets: &[Bucket], key: DedupeKey) -> Result<(), (usize, usize)> {
    let mut b = home(key, buckets.len());
    loop {
        for (s, &slot) in buckets[b].0.iter().enumerate() {
            if slot == key {
                return Ok(());
            }
            if slot == 0 {
                return Err((b, s));
            }
        }
        b = if b + 1 == buckets.len() { 0 } else { b + 1 };
    }
}

/// A Bloom filter of a few keys (a bounce history) checked against many (every row of a list):
/// two bits per key in a table of 16 bits per key, small enough to stay in the processor's cache,
/// so the rows that have no history (most) never touch the history's big map. A "maybe" is wrong
/// about 1.4% of the time and costs only the map lookup it would have done anyway.
pub struct KeyFilter {
    words: Vec<u64>,
    /// Number of bits minus one (a power of two minus one).
    mask: u64,
}

impl KeyFilter {
    /// A filter holding `keys`.
    pub fn new(keys: impl ExactSizeIterator<Item = DedupeKey>) -> Self {
        let bits = (keys.len().max(1) * 16).next_power_of_two().max(1 << 12) as u64;
        let mut filter = KeyFilter {
            words: vec![0; (bits / 64) as usize],
            mask: bits - 1,
        };
        for key in keys {
            for bit in filter.bits(key) {
                filter.words[(bit / 64) as usize] |= 1 << (bit % 64);
            }
        }
        filter
    }

    fn bits(&self, key: DedupeKey) -> [u64; 2] {
        [key as u64 & self.mask, (key >> 64) as u64 & self.mask]
    }

    /// Asks for the words of `keys` ahead of their checks (see `prefetch` in this module).
    pub fn warm(&self, keys: impl IntoIterator<Item = DedupeKey>) {
        for key in keys {
            for bit in self.bits(key) {
                prefetch(&self.words[(bit / 64) as usize]);
            }
        }
    }

    /// False when `key` is certainly not in the filter.
    pub fn may_contain(&self, key: DedupeKey) -> bool {
        self.bits(key)
            .iter()
            .all(|bit| self.words[(*bit / 64) as usize] & (1 << (bit % 64)) != 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserts_once_and_remembers_across_growth() {
        let mut set = KeySet::with_capacity(3);
        let keys: Vec<DedupeKey> = (0..10_000u128)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
            .collect();
        for &k in &keys {
            assert!(set.insert(k));
        }
        for &k in &keys {
            assert!(!set.insert(k), "{k} inserted twice");
            assert!(set.contains(k));
        }
        assert_eq!(set.len(), keys.len());
        assert!(!set.contains(12345));
    }

    #[test]
    fn the_filter_never_forgets_and_rarely_guesses() {
        let keys: Vec<DedupeKey> = (1..=50_000u128)
            .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835))
            .collect();
        let filter = KeyFilter::new(keys.iter().copied());
        assert!(keys.iter().all(|k| filter.may_contain(*k)));
        let strangers = (1..=50_000u128)
            .map(|i| (i + 1_000_000).wrapping_mul(0xd6e8_feb8_6659_fd93_a5a5_5a5a_c3c3_3c3c))
            .filter(|k| filter.may_contain(*k))
            .count();
        assert!(strangers < 2_000, "{strangers} false positives in 50,000");
    }

    #[test]
    fn zero_and_colliding_buckets_are_keys_like_any_other() {
        let mut set = KeySet::with_capacity(8);
        assert!(set.insert(0));
        assert!(!set.insert(0));
        // Same high bits: all probe from the same bucket and spill into the next ones.
        for low in 1..=20u128 {
            assert!(set.insert((7u128 << 64) | low));
        }
        for low in 1..=20u128 {
            assert!(set.contains((7u128 << 64) | low));
            assert!(!set.insert((7u128 << 64) | low));
        }
        assert!(!set.contains((7u128 << 64) | 21));
        assert_eq!(set.len(), 21);
    }
}
