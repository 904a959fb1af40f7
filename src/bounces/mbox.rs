//! An mbox file cut into its messages.
//!
//! A message starts at a line beginning with `From ` and runs to the next such line; lines
//! before the first one are not part of any message. The `From ` line itself is left out, and
//! mboxrd quoting is undone (a line of one or more `>` then `From ` loses one `>`). A message is
//! numbered by the line of its `From ` line.
//!
//! The file is read in large blocks and the `From ` lines found with `memmem`, so a message is
//! copied once, not line by line; only a message holding a quoted `>From ` line is gone through
//! line by line.

use std::io::{self, Read};

use memchr::memmem;

/// Bytes read at a time.
const BLOCK: usize = 4 << 20;

/// A batch of messages, each with the line of its `From ` line. Their texts lie one after
/// another in one buffer: one allocation a batch, not one a message (each freed by another
/// thread than the one that made it).
#[derive(Debug, Default)]
pub struct Messages {
    text: Vec<u8>,
    /// Each message's line and where its text ends (it starts where the one before ends).
    ends: Vec<(u64, usize)>,
}

impl Messages {
    /// How many.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`th message: its line and its text.
    pub fn get(&self, i: usize) -> (u64, &[u8]) {
        let start = if i == 0 { 0 } else { self.ends[i - 1].1 };
        let (line, end) = self.ends[i];
        (line, &self.text[start..end])
    }

    /// The message whose `From ` line is `message`'s first line: the lines after that one,
    /// unquoted.
    fn push(&mut self, line: u64, message: &[u8], quoted: &memmem::Finder) {
        if let Some(nl) = memchr::memchr(b'\n', message) {
            let text = &message[nl + 1..];
            if quoted.find(text).is_none() {
                self.text.extend_from_slice(text);
            } else {
                for l in text.split_inclusive(|b| *b == b'\n') {
                    self.text.extend_from_slice(unquoted(l));
                }
            }
        }
        self.ends.push((line, self.text.len()));
    }
}

/// Cuts `reader` into messages and hands them to `found` in order, `batch` at a time, each with
/// the line of its `From ` line. Stops at the first error `found` returns.
pub fn split(
    reader: &mut dyn Read,
    batch: usize,
    mut found: impl FnMut(Messages) -> io::Result<()>,
) -> io::Result<()> {
    split_in_blocks(reader, BLOCK, batch, &mut found)
}

fn split_in_blocks(
    reader: &mut dyn Read,
    block: usize,
    batch: usize,
    found: &mut dyn FnMut(Messages) -> io::Result<()>,
) -> io::Result<()> {
    let starts = memmem::Finder::new(b"\nFrom ");
    // Built once: a searcher costs more to build than to run over one message.
    let quoted = memmem::Finder::new(b">From ");
    // `data` starts at a line start: the current message's `From ` line, or (before the first
    // message) the last unfinished line. `line` is the line of `data[0]`; `scanned` is how far
    // `data` has been searched for `From ` lines already.
    let mut data: Vec<u8> = Vec::new();
    let (mut line, mut scanned, mut eof) = (1u64, 0usize, false);
    let mut in_message = false;
    let mut messages = Messages::default();
    while !eof {
        // Appended without zeroing the room first; fewer bytes than asked for is the end.
        let n = (&mut *reader).take(block as u64).read_to_end(&mut data)?;
        eof = n < block;
        // Where the `From ` lines in `data` begin: 0 is one when a message is under way (or
        // the file starts with one); the search finds the others, each after a line end.
        let mut found_at: Vec<usize> = Vec::new();
        if in_message || data.starts_with(b"From ") {
            found_at.push(0);
        }
        let from = scanned.saturating_sub(5);
        found_at.extend(starts.find_iter(&data[from..]).map(|p| from + p + 1));
        // Every message that the next `From ` line (or the end of the file) closes.
        let mut done_up_to = 0;
        for pair in found_at.windows(2) {
            let (start, end) = (pair[0], pair[1]);
            line += count_lines(&data[done_up_to..start]);
            messages.push(line, &data[start..end], &quoted);
            done_up_to = start;
            if messages.len() >= batch {
                found(std::mem::take(&mut messages))?;
            }
        }
        match found_at.last() {
            Some(&last) => {
                line += count_lines(&data[done_up_to..last]);
                if eof {
                    messages.push(line, &data[last..], &quoted);
                } else {
                    data.drain(..last);
                    scanned = data.len();
                    in_message = true;
                }
            }
            None if !eof => {
                // No message yet: keep only the unfinished last line.
                let keep = memchr::memrchr(b'\n', &data).map_or(0, |nl| nl + 1);
                line += count_lines(&data[..keep]);
                data.drain(..keep);
                scanned = 0;
            }
            None => {}
        }
    }
    if !messages.is_empty() {
        found(messages)?;
    }
    Ok(())
}

/// A line of a message as it was before mboxrd quoting: one `>` less before `From `.
fn unquoted(line: &[u8]) -> &[u8] {
    let quoted = line.starts_with(b">")
        && line
            .iter()
            .skip_while(|b| **b == b'>')
            .take(5)
            .eq(b"From ".iter());
    if quoted {
        &line[1..]
    } else {
        line
    }
}

fn count_lines(text: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', text).count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages as the line-by-line reading of an mbox gives them (the reference).
    fn by_lines(text: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut current: Option<(u64, Vec<u8>)> = None;
        for (i, l) in text.split_inclusive(|b| *b == b'\n').enumerate() {
            if l.starts_with(b"From ") {
                out.extend(current.take());
                current = Some((i as u64 + 1, Vec::new()));
                continue;
            }
            if let Some((_, msg)) = current.as_mut() {
                msg.extend_from_slice(unquoted(l));
            }
        }
        out.extend(current);
        out
    }

    fn by_blocks(text: &[u8], block: usize, batch: usize) -> Vec<(u64, Vec<u8>)> {
        let mut out = Vec::new();
        let mut reader = text;
        split_in_blocks(&mut reader, block, batch, &mut |b| {
            assert!(!b.is_empty() && b.len() <= batch);
            out.extend((0..b.len()).map(|i| b.get(i)).map(|(l, m)| (l, m.to_vec())));
            Ok(())
        })
        .unwrap();
        out
    }

    #[test]
    fn messages_are_the_line_by_line_reading_at_every_block_size() {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1d);
        let lines: &[&[u8]] = &[
            b"From MAILER-DAEMON Wed Aug  7 10:00:00 2024\n",
            b"From: a@b.example\n",
            b">From the start\n",
            b">>From deeper\n",
            b"From \n",
            b"\n",
            b"Status: 5.1.1\n",
            b"x From y\n",
            b"Fro",
            b"m \n",
            b"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd\n",
            b"no line end",
        ];
        for _ in 0..400 {
            let mut text = Vec::new();
            for _ in 0..next(14) {
                text.extend_from_slice(lines[next(lines.len())]);
            }
            let want = by_lines(&text);
            for block in [1, 2, 5, 7, 64, 1 << 16] {
                for batch in [1, 3, 1024] {
                    assert_eq!(
                        by_blocks(&text, block, batch),
                        want,
                        "{:?} block {block}",
                        String::from_utf8_lossy(&text)
                    );
                }
            }
        }
    }

    #[test]
    fn a_quoted_from_line_loses_one_quote_and_lines_are_counted() {
        let text = b"junk\nFrom a\nSubject: x\n>From here\n>>From there\n\nFrom b\nbody";
        let got = by_blocks(text, 4, 10);
        assert_eq!(
            got,
            [
                (2, b"Subject: x\nFrom here\n>From there\n\n".to_vec()),
                (7, b"body".to_vec())
            ]
        );
    }
}
