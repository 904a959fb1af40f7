//! A one-level MIME message read without building a MIME tree: the headers as slices of the
//! message, and for a `multipart/*` message its parts, each a leaf.
//!
//! A standard delivery report (RFC 3464: `multipart/report` with a notice, a
//! `message/delivery-status` part and the returned headers) needs no more than that, and reading
//! it this way costs a fraction of `mailparse::parse_mail`, which decodes every header of every
//! part and allocates for each.
//!
//! The reading is **exactly `mailparse`'s or none at all**: the same header ends and values, the
//! same boundary search (a line that *starts* with `--boundary`, as mailparse matches it), the
//! same part bodies (the line end before a boundary belongs to the boundary). Whatever could
//! make the two differ gives [`Unread`], and the caller parses the message with mailparse:
//! - a header mailparse refuses (a first line that starts with a space, a lone CR where a header
//!   would start) or a line with no colon;
//! - a part that is itself `multipart/*`, or a `multipart/digest` message (its parts default to
//!   `message/rfc822`);
//! - a value asked for that holds an RFC 2047 encoded word or a byte outside ASCII (mailparse
//!   decodes those), or a Content-Type parameter in RFC 2231 form;
//! - a body asked for under base64 or quoted-printable, or (as text) outside ASCII or under a
//!   charset that does not write ASCII as itself.
//!
//! Property tests here and in `message.rs` hold the two readers to the same answers.

use std::borrow::Cow;

/// Why a message is left to the full MIME parser.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unread;

/// One header: its name as written (up to the colon) and its raw value.
#[derive(Debug, Clone, Copy)]
struct Header<'a> {
    key: &'a [u8],
    value: &'a [u8],
}

/// The headers of a message or a part, in order.
#[derive(Debug)]
pub struct Headers<'a>(Vec<Header<'a>>);

impl<'a> Headers<'a> {
    /// Reads the headers at the start of `raw`; gives them and where the body starts, as
    /// `mailparse::parse_headers` would.
    fn read(raw: &'a [u8]) -> Result<(Self, usize), Unread> {
        let mut headers = Vec::with_capacity(12);
        let mut at = 0;
        while at < raw.len() {
            match raw[at] {
                b'\n' => return Ok((Self(headers), at + 1)),
                b'\r' if raw.get(at + 1) == Some(&b'\n') => return Ok((Self(headers), at + 2)),
                // mailparse refuses both: a lone CR, and a line that continues nothing.
                b'\r' | b' ' => return Err(Unread),
                _ => {}
            }
            let (header, next) = header_at(raw, at)?;
            headers.push(header);
            at = next;
        }
        Ok((Self(headers), at))
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of the first header named `name` (any case), unfolded the way mailparse
    /// unfolds it (each line's leading blanks dropped, lines joined by one space). `Err` when
    /// that value holds an encoded word or a byte outside ASCII, which mailparse would decode.
    pub fn first(&self, name: &str) -> Result<Option<Cow<'a, str>>, Unread> {
        let Some(header) = self
            .0
            .iter()
            .find(|h| h.key.eq_ignore_ascii_case(name.as_bytes()))
        else {
            return Ok(None);
        };
        let value = header.value;
        let encoded_word =
            memchr::memchr_iter(b'=', value).any(|at| value.get(at + 1) == Some(&b'?'));
        if encoded_word || !value.is_ascii() {
            return Err(Unread);
        }
        let text = std::str::from_utf8(value).map_err(|_| Unread)?;
        if !text.contains('\n') {
            return Ok(Some(Cow::Borrowed(text.trim_start())));
        }
        let mut joined = String::with_capacity(text.len());
        for (i, line) in text.lines().enumerate() {
            if i > 0 {
                joined.push(' ');
            }
            joined.push_str(line.trim_start());
        }
        Ok(Some(Cow::Owned(joined)))
    }

    /// The Content-Type they declare (`text/plain` when they declare none).
    fn content_type(&self) -> Result<ContentType, Unread> {
        match self.first("Content-Type")? {
            Some(value) => ContentType::parse(&value),
            None => Ok(ContentType {
                mimetype: "text/plain".to_owned(),
                charset: None,
                boundary: None,
            }),
        }
    }

    /// Whether the body is written as it is (no base64, no quoted-printable to undo).
    fn body_is_verbatim(&self) -> Result<bool, Unread> {
        // mailparse lowercases the value and undoes exactly these two; the value is ASCII here.
        Ok(self.first("Content-Transfer-Encoding")?.is_none_or(|e| {
            !e.eq_ignore_ascii_case("base64") && !e.eq_ignore_ascii_case("quoted-printable")
        }))
    }
}

/// The header that starts at `raw[start]`: mailparse's `parse_header` state machine (the name
/// runs to the colon; spaces after it are skipped; a line starting with a space or a tab
/// continues the value; CRs and LFs at its end are not part of it), with `memchr` for the line
/// ends. A line without a colon is left to mailparse.
fn header_at(raw: &[u8], start: usize) -> Result<(Header<'_>, usize), Unread> {
    let line_end = memchr::memchr(b'\n', &raw[start..]).map_or(raw.len(), |i| start + i);
    let colon = memchr::memchr(b':', &raw[start..line_end])
        .map(|i| start + i)
        .ok_or(Unread)?;
    let mut value_start = colon + 1;
    while raw.get(value_start) == Some(&b' ') {
        value_start += 1;
    }
    // The header ends at the first line end not followed by a space or a tab.
    let mut end = line_end;
    while end < raw.len() && matches!(raw.get(end + 1), Some(b' ' | b'\t')) {
        end = memchr::memchr(b'\n', &raw[end + 1..]).map_or(raw.len(), |i| end + 1 + i);
    }
    let next = (end + 1).min(raw.len());
    let mut value_end = end.max(value_start);
    while value_end > value_start && matches!(raw[value_end - 1], b'\r' | b'\n') {
        value_end -= 1;
    }
    let header = Header {
        key: &raw[start..colon],
        value: &raw[value_start..value_end],
    };
    Ok((header, next))
}

/// What a Content-Type says, as `mailparse::parse_content_type` reads it: the type lowercased,
/// and the `charset` and `boundary` parameters (the text between `;`s, split at the first `=`,
/// the name trimmed and lowercased, the value trimmed and unquoted; a later one wins).
#[derive(Debug)]
pub struct ContentType {
    /// `type/subtype`, lowercased.
    pub mimetype: String,
    charset: Option<String>,
    boundary: Option<String>,
}

impl ContentType {
    /// `Unread` for a parameter in RFC 2231 form (`name*=`, `name*0=`), which mailparse decodes
    /// and joins.
    fn parse(value: &str) -> Result<Self, Unread> {
        let mut pieces = value.split(';');
        let mimetype = pieces.next().unwrap_or("").trim().to_lowercase();
        let (mut charset, mut boundary) = (None, None);
        for piece in pieces {
            let Some((name, value)) = piece.split_once('=') else {
                continue;
            };
            let name = name.trim();
            if name.contains('*') {
                return Err(Unread);
            }
            let mut value = value.trim();
            if value.len() > 1 && value.starts_with('"') && value.ends_with('"') {
                value = &value[1..value.len() - 1];
            }
            if name.eq_ignore_ascii_case("charset") {
                charset = Some(value.to_owned());
            } else if name.eq_ignore_ascii_case("boundary") {
                boundary = Some(value.to_owned());
            }
        }
        Ok(Self {
            mimetype,
            charset,
            boundary,
        })
    }

    /// The charset (`us-ascii` when none is named).
    pub fn charset(&self) -> &str {
        self.charset.as_deref().unwrap_or("us-ascii")
    }
}

/// One leaf part of a multipart message.
#[derive(Debug)]
pub struct Part<'a> {
    /// Its headers.
    pub headers: Headers<'a>,
    /// Its Content-Type (`text/plain; charset=us-ascii` when it declares none).
    pub ctype: ContentType,
    /// Its body as written, before any transfer decoding.
    pub body: &'a [u8],
}

impl Part<'_> {
    /// The body as mailparse's `get_body_raw` gives it, when no transfer encoding has to be
    /// undone.
    pub fn raw_body(&self) -> Result<&[u8], Unread> {
        if self.headers.body_is_verbatim()? {
            Ok(self.body)
        } else {
            Err(Unread)
        }
    }

    /// The body as text, as mailparse's `get_body` gives it, for a body in ASCII under a
    /// charset that writes ASCII as itself.
    pub fn text_body(&self) -> Result<&str, Unread> {
        const AS_ITSELF: [&str; 7] = [
            "us-ascii",
            "ascii",
            "utf-8",
            "utf8",
            "iso-8859-1",
            "latin1",
            "windows-1252",
        ];
        let body = self.raw_body()?;
        let charset = self.ctype.charset();
        if !body.is_ascii() || !AS_ITSELF.iter().any(|c| c.eq_ignore_ascii_case(charset)) {
            return Err(Unread);
        }
        std::str::from_utf8(body).map_err(|_| Unread)
    }
}

/// A message: its headers, its Content-Type and, when it is `multipart/*`, its leaf parts.
#[derive(Debug)]
pub struct Message<'a> {
    /// The top-level headers.
    pub headers: Headers<'a>,
    /// The top-level Content-Type.
    pub ctype: ContentType,
    /// The parts, in order (none for a message that is not multipart).
    pub parts: Vec<Part<'a>>,
}

impl<'a> Message<'a> {
    /// Reads `raw`, or gives `Unread` when only a MIME parser can read it as mailparse would.
    pub fn read(raw: &'a [u8]) -> Result<Self, Unread> {
        let (headers, body_start) = Headers::read(raw)?;
        let ctype = headers.content_type()?;
        let mut message = Message {
            headers,
            ctype,
            parts: Vec::new(),
        };
        if !message.ctype.mimetype.starts_with("multipart/") {
            return Ok(message);
        }
        if message.ctype.mimetype == "multipart/digest" {
            return Err(Unread);
        }
        let Some(boundary) = message.ctype.boundary.as_deref() else {
            return Ok(message);
        };
        if raw.len() <= body_start {
            return Ok(message);
        }
        let mut dashed = Vec::with_capacity(boundary.len() + 2);
        dashed.extend_from_slice(b"--");
        dashed.extend_from_slice(boundary.as_bytes());
        let Some(first) = line_start_match(&dashed, raw, body_start) else {
            return Ok(message);
        };
        // mailparse's loop: a part starts after the line of a boundary and ends before the next
        // boundary line (its line end left out), or at the end of the message; a boundary
        // followed by `--`, or too near the end, is the last.
        let mut boundary_end = first + dashed.len();
        while let Some(part_start) =
            memchr::memchr(b'\n', &raw[boundary_end..]).map(|i| boundary_end + i + 1)
        {
            let next = line_start_match(&dashed, raw, part_start);
            let part_end = next.map_or(raw.len(), |b| strip_line_end(raw, part_start, b));
            message.parts.push(part(&raw[part_start..part_end])?);
            boundary_end = next.map_or(raw.len(), |b| b + dashed.len());
            if boundary_end + 2 > raw.len() || raw[boundary_end..].starts_with(b"--") {
                break;
            }
        }
        Ok(message)
    }

    /// The value of the first top-level header named `name`; see [`Headers::first`].
    pub fn header(&self, name: &str) -> Result<Option<Cow<'a, str>>, Unread> {
        self.headers.first(name)
    }
}

fn part(raw: &[u8]) -> Result<Part<'_>, Unread> {
    let (headers, body_start) = Headers::read(raw)?;
    let ctype = headers.content_type()?;
    if ctype.mimetype.starts_with("multipart/") {
        return Err(Unread);
    }
    Ok(Part {
        headers,
        ctype,
        body: &raw[body_start..],
    })
}

/// The first line at or after `from` (a line start) that starts with `prefix`: mailparse's
/// boundary search. A message has a few dozen lines, so the lines are walked rather than a
/// searcher built for each message.
fn line_start_match(prefix: &[u8], raw: &[u8], from: usize) -> Option<usize> {
    std::iter::once(from)
        .chain(memchr::memchr_iter(b'\n', &raw[from..]).map(|i| from + i + 1))
        .find(|&at| {
            // The first byte first: most lines do not start like a boundary, and the comparison
            // of the whole prefix is a call (6% of the CPU of an mbox run went to it).
            prefix.first().is_none_or(|b| raw.get(at) == Some(b)) && raw[at..].starts_with(prefix)
        })
}

/// `end` moved back over one LF or CRLF, not before `start`.
fn strip_line_end(raw: &[u8], start: usize, mut end: usize) -> usize {
    if end > start && raw[end - 1] == b'\n' {
        end -= 1;
        if end > start && raw[end - 1] == b'\r' {
            end -= 1;
        }
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{mime_shaped, mutated};
    use mailparse::MailHeaderMap;
    use proptest::prelude::*;

    const NAMES: [&str; 7] = [
        "Content-Type",
        "Content-Transfer-Encoding",
        "Date",
        "To",
        "From",
        "X-Empty",
        "X-Tab",
    ];

    /// Whatever `Message::read` reads, it reads as mailparse does: the same headers' values,
    /// types, charsets, parts and bodies. Gives whether it read the message.
    fn same_as_mailparse(raw: &[u8]) -> Result<bool, TestCaseError> {
        let Ok(lite) = Message::read(raw) else {
            return Ok(false);
        };
        let full = mailparse::parse_mail(raw);
        prop_assert!(
            full.is_ok(),
            "mailparse refuses what was read: {:?}",
            full.err()
        );
        let full = full.unwrap();
        prop_assert_eq!(lite.headers.is_empty(), full.headers.is_empty());
        for name in NAMES {
            if let Ok(value) = lite.header(name) {
                prop_assert_eq!(
                    value.map(Cow::into_owned),
                    full.headers.get_first_value(name)
                );
            }
        }
        prop_assert_eq!(&lite.ctype.mimetype, &full.ctype.mimetype);
        prop_assert_eq!(lite.ctype.charset(), full.ctype.charset.as_str());
        prop_assert_eq!(
            lite.ctype.boundary.as_ref(),
            full.ctype.params.get("boundary")
        );
        prop_assert_eq!(lite.parts.len(), full.subparts.len());
        for (part, sub) in lite.parts.iter().zip(&full.subparts) {
            prop_assert!(sub.subparts.is_empty());
            prop_assert_eq!(&part.ctype.mimetype, &sub.ctype.mimetype);
            prop_assert_eq!(part.ctype.charset(), sub.ctype.charset.as_str());
            for name in NAMES {
                if let Ok(value) = part.headers.first(name) {
                    prop_assert_eq!(
                        value.map(Cow::into_owned),
                        sub.headers.get_first_value(name)
                    );
                }
            }
            if let Ok(body) = part.raw_body() {
                prop_assert_eq!(body, &sub.get_body_raw().unwrap()[..]);
            }
            if let Ok(text) = part.text_body() {
                prop_assert_eq!(text, sub.get_body().unwrap());
            }
        }
        Ok(true)
    }

    #[test]
    fn the_generated_messages_are_mostly_read() {
        let read = (0..2000u64)
            .filter(|seed| same_as_mailparse(&mime_shaped(*seed)).unwrap())
            .count();
        // The reader must take the common shapes, or the property below proves nothing.
        assert!(read > 600, "{read} of 2000 read");
    }

    #[test]
    fn a_postfix_report_is_read_part_by_part() {
        let raw = b"From: MAILER-DAEMON@mx1.shop.example\r\nTo: news@shop.example\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n\tboundary=\"3F0C.1/mx1\"\r\n\r\nThis is a MIME-encapsulated message.\r\n\r\n--3F0C.1/mx1\r\nContent-Description: Notification\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nI'm sorry.\r\n\r\n--3F0C.1/mx1\r\nContent-Type: message/delivery-status\r\n\r\nFinal-Recipient: rfc822; ann@corp.example\r\n--3F0C.1/mx1--\r\n";
        let m = Message::read(raw).unwrap();
        assert_eq!(m.ctype.mimetype, "multipart/report");
        assert_eq!(m.ctype.boundary.as_deref(), Some("3F0C.1/mx1"));
        assert_eq!(m.parts.len(), 2);
        assert_eq!(m.parts[0].text_body().unwrap(), "I'm sorry.\r\n");
        assert_eq!(m.parts[1].ctype.mimetype, "message/delivery-status");
        assert_eq!(
            m.parts[1].raw_body().unwrap(),
            b"Final-Recipient: rfc822; ann@corp.example"
        );
        assert!(same_as_mailparse(raw).unwrap());
    }

    #[test]
    fn what_only_mailparse_reads_is_left_to_it() {
        for raw in [
            &b" To: a@b.example\n\nbody"[..],
            b"To: a@b.example\n\rX: y\n\n",
            b"Content-Type: multipart/digest; boundary=x\n\n--x\n\nTo: a@b.example\n--x--\n",
            b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Type: multipart/alternative; boundary=y\n\n--y\n\n--y--\n--x--\n",
            b"Content-Type: multipart/mixed; boundary*=utf-8''x\n\n",
            b"NoColon\nTo: a@b.example\n\n",
        ] {
            assert_eq!(Message::read(raw).err(), Some(Unread), "{:?}", String::from_utf8_lossy(raw));
        }
        let encoded = Message::read(b"To: =?utf-8?q?Ann?= <a@b.example>\n\n").unwrap();
        assert_eq!(encoded.header("To"), Err(Unread));
        let part = Message::read(b"Content-Type: multipart/mixed; boundary=x\n\n--x\nContent-Transfer-Encoding: BASE64\n\nQQ==\n--x--\n").unwrap();
        assert_eq!(part.parts[0].raw_body(), Err(Unread));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn reads_as_mailparse_reads_or_not_at_all(
            seed in any::<u64>(),
            at in any::<usize>(),
            byte in prop_oneof![
                Just(b'\n'), Just(b'\r'), Just(b' '), Just(b'\t'), Just(b'-'), Just(b':'),
                Just(b'"'), Just(b';'), Just(b'='), Just(b'*'), Just(0xC3), any::<u8>()
            ],
            how in 0..4u8,
        ) {
            same_as_mailparse(&mutated(mime_shaped(seed), at, byte, how))?;
        }
    }
}
