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

/// A message shaped like MIME, built from `seed` out of pieces that trip a MIME reader: CRLF or
/// LF, folded and odd headers (a space before the colon, no colon, an encoded word, text outside
/// ASCII), boundaries that are prefixes of other lines, RFC 2231 parameters, nested multiparts,
/// transfer encodings, delivery-status parts with and without recipients, a missing closing
/// boundary. The tests that hold a fast reader to a full one run both over these.
pub fn mime_shaped(seed: u64) -> Vec<u8> {
    let mut next = xorshift(seed | 1);
    let nl = pick(&mut next, &["\n", "\r\n"]);
    let b = pick(
        &mut next,
        &["b", "B1", "=_x", "3F0C.1723/mx1.example", "b b", ""],
    );
    let mut m = String::new();
    let top = [
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.net>".to_owned(),
        pick(
            &mut next,
            &[
                "To: news@shop.example",
                "To: =?utf-8?q?News?= <news@shop.example>",
                "To:\tnews@shop.example",
                "to : news@shop.example",
                "To: news@shop.example,\n\tother@shop.example",
                "To: Zo\u{eb} <news@shop.example>",
                "X-To: nobody",
            ],
        ),
        pick(
            &mut next,
            &[
                "Date: Wed, 7 Aug 2024 10:00:00 +0000",
                "Date: Wed, 7 Aug 2024\n 10:00:00 +0000",
                "Date: not a date",
                "Subject: Undelivered Mail Returned to Sender",
            ],
        ),
        pick(
            &mut next,
            &[
                "Content-Type: multipart/report; report-type=delivery-status; boundary=\"{b}\"",
                "Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"{b}\"",
                "Content-Type: MULTIPART/REPORT; BOUNDARY={b}",
                "Content-Type: multipart/mixed; boundary*0=\"{b}\"",
                "Content-Type: multipart/digest; boundary=\"{b}\"",
                "Content-Type: multipart/report; boundary=\"{b}\"; boundary=\"{b}\"",
                "Content-Type:\n multipart/report; boundary=\"{b}\"",
                "Content-Type: multipart/report; boundary=\"{b}\"; charset=utf-8",
                "Content-Type: text/plain",
                "MIME-Version: 1.0",
            ],
        ),
        pick(
            &mut next,
            &[
                "Content-Transfer-Encoding: 7bit",
                "X-Empty:",
                "NoColonHere",
                " starts with a space",
                "X-Mailer: test",
                "X-Tab:\tvalue  ",
            ],
        ),
    ];
    let mut order: Vec<usize> = (0..top.len()).collect();
    for i in 0..order.len() {
        let j = i + next(order.len() - i);
        order.swap(i, j);
    }
    for i in order {
        m.push_str(&top[i]);
        m.push('\n');
    }
    m.push('\n');
    if next(2) == 0 {
        m.push_str("This is a MIME-encapsulated message.\n\n");
    }
    // Half the messages are laid out as a report is (a notice, the fields, the returned
    // headers), each piece still drawn from the odd ones.
    let standard = next(2) == 0;
    let parts = if standard { 3 } else { next(5) };
    for i in 0..parts {
        m.push_str(&pick(
            &mut next,
            &["--{b}\n", "--{b}\n", "--{b} \n", "--{b}x\n"],
        ));
        if standard && next(8) > 0 {
            let kind = [
                "Content-Type: text/plain; charset=us-ascii\n",
                "Content-Type: message/delivery-status\n",
                "Content-Type: text/rfc822-headers\n",
            ][i];
            m.push_str(kind);
        } else if next(4) > 0 {
            m.push_str(&pick(
                &mut next,
                &[
                    "Content-Type: text/plain; charset=us-ascii\n",
                    "Content-Type: text/plain; charset=\"UTF-8\"\n",
                    "Content-Type: text/plain; charset=utf-16\n",
                    "Content-Type: message/delivery-status\n",
                    "Content-Type: message/global-delivery-status\n",
                    "Content-Type: text/rfc822-headers\n",
                    "Content-Type: message/rfc822\n",
                    "Content-Type: message/feedback-report\n",
                    "Content-Type: message/disposition-notification\n",
                    "Content-Type: multipart/alternative; boundary=inner\n",
                    "Content-Type: text/plain; charset*=utf-8''x\n",
                ],
            ));
        }
        if next(3) == 0 {
            m.push_str(&pick(
                &mut next,
                &[
                    "Content-Transfer-Encoding: 7bit\n",
                    "Content-Transfer-Encoding: 8bit\n",
                    "Content-Transfer-Encoding: base64\n",
                    "Content-Transfer-Encoding: Quoted-Printable\n",
                    "Content-Transfer-Encoding: x-uuencode\n",
                ],
            ));
        }
        m.push('\n');
        let recipient = pick(
            &mut next,
            &["ann@corp.example", "<bo@corp.example>", "@route.example"],
        );
        let body = match i {
            1 if standard && next(4) > 0 => pick(&mut next, &[
                "Reporting-MTA: dns; mx.example.net\nArrival-Date: Wed, 7 Aug 2024 09:59:00 +0000\n\nFinal-Recipient: rfc822; {r}\nAction: {a}\nStatus: {s}\nDiagnostic-Code: smtp; {d}\n",
                "Final-Recipient: rfc822; {r}\nAction: {a}\nStatus: {s}\n\nFinal-Recipient: rfc822; carl@corp.example\nAction: failed\nStatus: 5.1.1\n",
                "Final-Recipient: rfc822;{r}\nAction: {a}\nStatus: {s}\nDiagnostic-Code: smtp; {d}\n  (continued) {d}\nLast-Attempt-Date: Wed, 7 Aug 2024 09:58:00 +0000\n",
            ]),
            _ => pick(&mut next, &[
            "The mail system could not deliver your message to ann@corp.example.\n",
            "<ann@corp.example>: host said: 550 5.1.1 user unknown (in reply to end of DATA command)\n",
            "Reporting-MTA: dns; mx.example.net\nArrival-Date: Wed, 7 Aug 2024 09:59:00 +0000\n\nFinal-Recipient: rfc822; {r}\nAction: {a}\nStatus: {s}\nDiagnostic-Code: smtp; {d}\n",
            "Final-Recipient: rfc822; {r}\nAction: {a}\nStatus: {s}\n\nFinal-Recipient: rfc822; carl@corp.example\nAction: failed\nStatus: 5.1.1\n",
            "Reporting-MTA: dns; mx.example.net\n",
            "\u{410}\u{434}\u{440}\u{435}\u{441}\u{430}\u{442} ann@corp.example\n",
            "QWxsIGdvb2Q=\n",
            "--{b}x inside a body\n",
            "",
        ])
        }
        .replace("{r}", &recipient)
        .replace("{a}", &pick(&mut next, &["failed", "delayed", "delivered"]))
        .replace("{s}", &pick(&mut next, &["5.1.1", "4.2.2", "5.0.0"]))
        .replace(
            "{d}",
            &pick(&mut next, &[
                "550 5.1.1 user unknown",
                "552 mailbox full",
                "550 5.7.1 shop.example does not exist",
            ]),
        );
        m.push_str(&body);
        m.push('\n');
    }
    m.push_str(&pick(
        &mut next,
        &["--{b}--\n", "--{b}\n", "", "--{b}--\nepilogue\n"],
    ));
    m.replace("{b}", &b).replace('\n', &nl).into_bytes()
}

/// `raw` changed at `at` (taken modulo its length) by `how`: 0 leaves it, 1 puts `byte` in
/// place of the byte there, 2 inserts `byte` there, 3 cuts it there.
pub fn mutated(mut raw: Vec<u8>, at: usize, byte: u8, how: u8) -> Vec<u8> {
    if !raw.is_empty() {
        let at = at % raw.len();
        match how {
            0 => {}
            1 => raw[at] = byte,
            2 => raw.insert(at, byte),
            _ => raw.truncate(at),
        }
    }
    raw
}

fn pick(next: &mut impl FnMut(usize) -> usize, list: &[&str]) -> String {
    list[next(list.len())].to_owned()
}
