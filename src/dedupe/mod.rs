//! Stage 3, dedupe: which rows are the same subscriber, and the memory-bound structures that answer it.
//!
//! An address becomes a [`DedupeKey`] (a 128-bit hash of its normalised form, made by
//! [`crate::address::dedupe_key`]); the run keeps every key it has seen in a [`KeySet`], and the
//! bounce histories, keyed the same way, sit behind a [`KeyFilter`] that most rows (which have no
//! history) pass in one cache line. These structures are touched at a random place for every row,
//! so their users ask for the memory a few rows ahead ([`prefetch`]); the distances are here,
//! under [`ahead`], in one place.

mod keyset;
pub mod partition;
pub mod spill;

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

pub use keyset::{KeyFilter, KeySet};
pub use partition::Partition;
pub use spill::{Firsts, Spill};

/// A 128-bit hash of a normalised address.
pub type DedupeKey = u128;

/// The run's answer to "was this address seen before?": a set in memory, or, when the keys were
/// spilled to disk (`--memory-limit`), the first pass's answer read in row order.
pub enum Seen {
    /// Every key seen so far.
    Memory(KeySet),
    /// The first occurrences found from the spilled keys.
    Spilled(Firsts),
}

impl Seen {
    /// Whether the next row at the dedupe step, of `key`, is the first of its key (and, in
    /// memory, remembers it).
    pub fn insert(&mut self, key: DedupeKey) -> bool {
        match self {
            Seen::Memory(set) => set.insert(key),
            Seen::Spilled(firsts) => firsts.next_is_first(),
        }
    }

    /// Asks for the memory of `keys` ahead of their inserts (in memory only).
    pub fn warm(&self, keys: impl IntoIterator<Item = DedupeKey>) {
        if let Seen::Memory(set) = self {
            set.warm(keys);
        }
    }

    /// Whether a history's `key` is on the list (spilled: one of the history keys the first
    /// pass was asked about).
    pub fn holds(&self, key: DedupeKey) -> bool {
        match self {
            Seen::Memory(set) => set.contains(key),
            Seen::Spilled(firsts) => firsts.seen(key),
        }
    }
}

/// A map keyed by dedupe keys. The keys are already hashes, so their low bits are the table hash
/// (hashing them again with SipHash cost a tenth of folding a million-event history).
pub type KeyMap<V> = HashMap<DedupeKey, V, BuildHasherDefault<KeyHasher>>;

/// The identity hash of a [`DedupeKey`], for [`KeyMap`].
#[derive(Default)]
pub struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u128(&mut self, n: u128) {
        self.0 = n as u64;
    }
}

/// Asks the processor to bring the cache line holding `at` closer, without waiting for it.
///
/// A plain load of the same line (what `warm` did first) also overlaps misses, but each one holds
/// a place in the processor's load queue until it completes; a prefetch retires at once. Elsewhere than x86-64 this does nothing.
#[inline(always)]
pub fn prefetch<T>(at: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch only hints the cache; it never reads into the program nor faults, and SSE
    // is part of every x86-64 processor.
    unsafe {
        use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
        _mm_prefetch::<_MM_HINT_T0>(std::ptr::from_ref(at).cast());
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = at;
}

/// How far ahead of their use the run asks for memory that it will touch at random.
pub mod ahead {
    /// Rows whose dedupe-set bucket, filter word and text are asked for in one block.
    pub const ROWS: usize = 32;
    /// Rows ahead at which a history lookup's directory slot is asked for.
    pub const HISTORY_SLOT: usize = 8;
    /// Rows ahead at which a history lookup's entry is asked for.
    pub const HISTORY_ENTRY: usize = 4;
    /// Carried-forward rows ahead at which a verdict is asked for.
    pub const CARRY_VERDICT: usize = 12;
    /// Carried-forward rows ahead at which the verdict's deciding event is asked for.
    pub const CARRY_EVENT: usize = 8;
    /// Carried-forward rows ahead at which the event's texts are asked for.
    pub const CARRY_TEXTS: usize = 4;
}
