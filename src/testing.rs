//! Helpers shared by the unit tests.

/// A small deterministic random source (xorshift64): `next(n)` gives a number below `n`. The
/// tests that build random text from pieces draw from it, so a failure replays exactly.
pub fn xorshift(mut seed: u64) -> impl FnMut(usize) -> usize {
    move |n| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed % n as u64) as usize
    }
}
