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

/// A reader that hands out its text at most `step` bytes a read: the tests of stream adapters
/// cut their input at every place a read can end.
pub struct Trickle {
    text: Vec<u8>,
    step: usize,
    at: usize,
}

impl Trickle {
    /// `text`, `step` bytes a read.
    pub fn new(text: &[u8], step: usize) -> Self {
        Trickle {
            text: text.to_vec(),
            step,
            at: 0,
        }
    }
}

impl std::io::Read for Trickle {
    fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
        let n = self.step.min(b.len()).min(self.text.len() - self.at);
        b[..n].copy_from_slice(&self.text[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Everything `reader` gives, read `out` bytes at a time.
pub fn read_in(mut reader: impl std::io::Read, out: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0; out];
    loop {
        let n = reader.read(&mut buf).expect("a test reader does not fail");
        if n == 0 {
            return got;
        }
        got.extend_from_slice(&buf[..n]);
    }
}
