//! UTF-16 text read as UTF-8: Excel's "Unicode Text" export (tab-separated, UTF-16 little
//! endian with a byte-order mark) and the UTF-16 CSV some CRMs and Outlook write.
//!
//! Only a file that starts with a UTF-16 byte-order mark is decoded: without one, the byte order
//! is a guess, and a wrong guess would turn every address into other characters; such a file is
//! refused with a hint instead (see `sniff::binary_kind`). Line ends, quotes and delimiters are
//! the same characters in both encodings, so line numbers do not change. A lone surrogate (a
//! damaged file) becomes U+FFFD, which the address checks then refuse on that row alone.

use std::io::{self, Read};

/// The byte order of a UTF-16 stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    /// `FF FE` first: little endian (Windows, Excel).
    Little,
    /// `FE FF` first: big endian.
    Big,
}

impl ByteOrder {
    /// The name the report gives.
    pub fn name(self) -> &'static str {
        match self {
            ByteOrder::Little => "UTF-16LE",
            ByteOrder::Big => "UTF-16BE",
        }
    }
}

/// Reads the first bytes of `stream`: when they are a UTF-16 byte-order mark, the stream after
/// it decoded to UTF-8 and its byte order; otherwise the stream as it was (nothing lost).
pub fn decoded(
    mut stream: Box<dyn Read + Send>,
) -> io::Result<(Box<dyn Read + Send>, Option<ByteOrder>)> {
    let mut head = [0u8; 2];
    let mut got = 0;
    while got < 2 {
        match stream.read(&mut head[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let order = match &head[..got] {
        [0xff, 0xfe] => Some(ByteOrder::Little),
        [0xfe, 0xff] => Some(ByteOrder::Big),
        _ => None,
    };
    Ok(match order {
        Some(order) => (Box::new(Utf16AsUtf8::new(stream, order)), Some(order)),
        None => (
            Box::new(io::Cursor::new(head[..got].to_vec()).chain(stream)),
            None,
        ),
    })
}

/// A UTF-16 stream (its byte-order mark already read) read as UTF-8.
pub struct Utf16AsUtf8<R> {
    inner: R,
    order: ByteOrder,
    /// Bytes read but not decoded yet: an odd byte, or a high surrogate waiting for its pair.
    raw: Vec<u8>,
    /// What each read of `inner` goes into.
    scratch: Box<[u8]>,
    /// UTF-8 decoded but not returned yet: `utf8[pos..]`.
    utf8: Vec<u8>,
    pos: usize,
    eof: bool,
}

impl<R: Read> Utf16AsUtf8<R> {
    /// Wraps `inner`, positioned after the byte-order mark.
    pub fn new(inner: R, order: ByteOrder) -> Self {
        Utf16AsUtf8 {
            inner,
            order,
            raw: Vec::new(),
            scratch: vec![0; 64 * 1024].into_boxed_slice(),
            utf8: Vec::new(),
            pos: 0,
            eof: false,
        }
    }

    /// Reads a chunk and decodes what of it is whole.
    fn fill(&mut self) -> io::Result<()> {
        let n = loop {
            match self.inner.read(&mut self.scratch) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        };
        self.raw.extend_from_slice(&self.scratch[..n]);
        if n == 0 {
            self.eof = true;
        }
        let unit = |pair: &[u8]| match self.order {
            ByteOrder::Little => u16::from_le_bytes([pair[0], pair[1]]),
            ByteOrder::Big => u16::from_be_bytes([pair[0], pair[1]]),
        };
        let mut units: Vec<u16> = self.raw.chunks_exact(2).map(unit).collect();
        let mut used = units.len() * 2;
        // A high surrogate at the end waits for its pair, unless the stream ended.
        if !self.eof && units.last().is_some_and(|u| (0xd800..0xdc00).contains(u)) {
            units.pop();
            used -= 2;
        }
        self.utf8.drain(..self.pos);
        self.pos = 0;
        let mut buf = [0u8; 4];
        for c in char::decode_utf16(units) {
            let c = c.unwrap_or(char::REPLACEMENT_CHARACTER);
            self.utf8
                .extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
        }
        self.raw.drain(..used);
        if self.eof && !self.raw.is_empty() {
            // An odd last byte: half a character.
            self.raw.clear();
            self.utf8
                .extend_from_slice(char::REPLACEMENT_CHARACTER.encode_utf8(&mut buf).as_bytes());
        }
        Ok(())
    }
}

impl<R: Read> Read for Utf16AsUtf8<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos == self.utf8.len() && !self.eof {
            self.fill()?;
        }
        let n = out.len().min(self.utf8.len() - self.pos);
        out[..n].copy_from_slice(&self.utf8[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{read_in, xorshift, Trickle};

    /// Reads `bytes` through [`decoded`], the inner reads cut to `step` bytes.
    fn through(bytes: &[u8], step: usize) -> (String, Option<ByteOrder>) {
        let (reader, order) = decoded(Box::new(Trickle::new(bytes, step))).unwrap();
        (String::from_utf8(read_in(reader, 7)).unwrap(), order)
    }

    fn utf16(text: &str, order: ByteOrder) -> Vec<u8> {
        let mut bytes = match order {
            ByteOrder::Little => vec![0xff, 0xfe],
            ByteOrder::Big => vec![0xfe, 0xff],
        };
        for u in text.encode_utf16() {
            bytes.extend_from_slice(&match order {
                ByteOrder::Little => u.to_le_bytes(),
                ByteOrder::Big => u.to_be_bytes(),
            });
        }
        bytes
    }

    /// Random text of ASCII, accented letters, CJK and characters outside the BMP (surrogate
    /// pairs), cut into random read sizes, in both byte orders, reads back as itself.
    #[test]
    fn any_text_in_any_read_sizes_decodes_to_itself() {
        let alphabet: Vec<char> = "ab,;\t\"\r\n@.éüßжあ中😀🙂𝄞".chars().collect();
        let mut next = xorshift(0x5eed_1616);
        for _ in 0..300 {
            let len = next(200);
            let text: String = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            for order in [ByteOrder::Little, ByteOrder::Big] {
                let step = 1 + next(9);
                let (got, found) = through(&utf16(&text, order), step);
                assert_eq!(found, Some(order));
                assert_eq!(got, text, "step {step}");
            }
        }
    }

    #[test]
    fn damaged_text_and_other_files() {
        // A lone high surrogate, then an odd last byte: one replacement character each.
        let mut bytes = utf16("a", ByteOrder::Little);
        bytes.extend_from_slice(&[0x3d, 0xd8, b'b', 0, 0x41]);
        assert_eq!(through(&bytes, 3).0, "a\u{fffd}b\u{fffd}");
        // Not UTF-16: every byte comes through, short files included.
        for text in ["email\nann@corp-mail.com\n", "e", ""] {
            let (got, order) = through(text.as_bytes(), 1);
            assert_eq!((got.as_str(), order), (text, None));
        }
    }
}
