//! MTA log lines: Postfix (`/var/log/mail.log`) and Exim (`mainlog`).
//!
//! Postfix delivery lines carry `to=<...>`, an optional `orig_to=<...>`, `dsn=` and `status=`
//! (`sent`, `deferred`, `bounced`, `expired`) followed by the remote reply in parentheses.
//! Classic syslog lines have no year: it is given by the caller, or taken as the year of the
//! `as of` date, moved back a year for dates that would lie in the future. Exim lines flag
//! failures `**`, deferrals `==` and deliveries `=>` / `->`. Deferrals are transient in both:
//! they never count against a recipient.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone, Utc};
use regex::Regex;

use super::classify::{classify, find_enhanced, find_reply_code, Enhanced, EventClass};
use super::event::{squash, RawEvent};

fn postfix_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"^(?P<ts>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:?\d\d)?) ",
            r"\S+ postfix[\w./-]*\[\d+\]: \w+: to=<(?P<to>[^>]*)>,(?: orig_to=<(?P<orig>[^>]*)>,)?",
            r".*? dsn=(?P<dsn>\d\.\d{1,3}\.\d{1,3}), status=(?P<status>\w+)(?: \((?P<text>.*)\))?\s*$"
        ))
        .expect("postfix regex")
    })
}

fn exim_re() -> &'static Regex {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(concat!(
            r"^(?P<ts>\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)?)(?: (?P<tz>[+-]\d{4}))? (?:\[\d+\] )?",
            r"\S+ (?P<flag>\*\*|==|=>|->|\*>) (?P<rcpt>\S+)(?: <(?P<orig>[^>]+)>)?(?P<rest>.*)$"
        ))
        .expect("exim regex")
    })
}

/// True when `line` is a Postfix delivery line.
pub fn is_postfix(line: &str) -> bool {
    line.contains(" postfix") && line.contains(" to=<") && postfix_re().is_match(line)
}

/// True when `line` is an Exim delivery line.
pub fn is_exim(line: &str) -> bool {
    exim_re().is_match(line)
}

/// Any Postfix or Exim line at all (for format detection: a log starts with connection lines).
pub fn looks_like_mta_log(line: &str) -> bool {
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        Regex::new(r"^(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d\S*) \S+ (?:postfix[\w./-]*\[\d+\]:|\S+ (?:<=|=>|->|\*\*|==|Completed))")
            .expect("log regex")
    });
    re.is_match(line) || is_exim(line)
}

/// How to date year-less Postfix lines.
#[derive(Debug, Clone, Copy)]
pub enum PostfixYear {
    /// The year the user gave: used as it is.
    Given(i32),
    /// The year of this `as_of` time; a date that would lie more than a day after it is taken
    /// from the year before (a December line read in January).
    Inferred(i64),
}

/// The fields of a Postfix delivery line that an event is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct PostfixFields<'a> {
    ts: &'a str,
    to: &'a str,
    orig: Option<&'a str>,
    dsn: &'a str,
    status: &'a str,
    text: Option<&'a str>,
}

/// The fields as [`postfix_re`] reads them: the definition.
fn fields_by_regex(line: &str) -> Option<PostfixFields<'_>> {
    let caps = postfix_re().captures(line)?;
    Some(PostfixFields {
        ts: caps.name("ts")?.as_str(),
        to: caps.name("to")?.as_str(),
        orig: caps.name("orig").map(|m| m.as_str()),
        dsn: caps.name("dsn")?.as_str(),
        status: caps.name("status")?.as_str(),
        text: caps.name("text").map(|m| m.as_str()),
    })
}

/// The fields of the usual line (a classic syslog date, ASCII around the fields), read by hand:
/// the regular expression's backtracking search was more than half of reading a log. `None`
/// whenever the line is anything but plainly the usual shape; the caller then asks the regular
/// expression, so a line this reader takes is read exactly as the expression reads it (a
/// property test holds the two together).
fn fields_fast(line: &str) -> Option<PostfixFields<'_>> {
    let b = line.as_bytes();
    let digit = |i: usize| b.get(i).is_some_and(u8::is_ascii_digit);
    let at = |i: usize, c: u8| b.get(i) == Some(&c);
    // The expression's `.` stops at a line feed; a line read from a log has none.
    if memchr::memchr(b'\n', b).is_some() {
        return None;
    }
    let date = b.len() > 16
        && b[0].is_ascii_uppercase()
        && b[1].is_ascii_lowercase()
        && b[2].is_ascii_lowercase()
        && at(3, b' ')
        && (at(4, b' ') || digit(4))
        && digit(5)
        && at(6, b' ')
        && digit(7)
        && digit(8)
        && at(9, b':')
        && digit(10)
        && digit(11)
        && at(12, b':')
        && digit(13)
        && digit(14)
        && at(15, b' ');
    if !date {
        return None;
    }
    let ts = &line[..15];
    // The host: ASCII graphic characters up to the next space.
    let host_end = 16 + b[16..].iter().position(|&c| c == b' ')?;
    if host_end == 16 || !b[16..host_end].iter().all(u8::is_ascii_graphic) {
        return None;
    }
    let rest = line[host_end + 1..].strip_prefix("postfix")?;
    let prog_end = rest
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'/' | b'-')))?;
    let rest = rest[prog_end..].strip_prefix('[')?;
    let pid_end = rest.bytes().position(|c| !c.is_ascii_digit())?;
    if pid_end == 0 {
        return None;
    }
    let rest = rest[pid_end..].strip_prefix("]: ")?;
    let id_end = rest
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))?;
    if id_end == 0 {
        return None;
    }
    let rest = rest[id_end..].strip_prefix(": to=<")?;
    let to_end = rest.find('>')?;
    let to = &rest[..to_end];
    let mut rest = rest[to_end..].strip_prefix(">,")?;
    let mut orig = None;
    if let Some(o) = rest.strip_prefix(" orig_to=<") {
        let end = o.find('>')?;
        orig = Some(&o[..end]);
        rest = o[end..].strip_prefix(">,")?;
    }
    // The first ` dsn=` must be the one: otherwise the expression's lazy search may go on.
    let dsn_at = rest.find(" dsn=")?;
    let after = &rest[dsn_at + 5..];
    let ab = after.as_bytes();
    let digits = |from: usize| {
        let n = ab[from..]
            .iter()
            .take(4)
            .take_while(|c| c.is_ascii_digit())
            .count();
        (1..=3).contains(&n).then_some(from + n)
    };
    if !(ab.len() > 2 && ab[0].is_ascii_digit() && ab[1] == b'.') {
        return None;
    }
    let second = digits(2)?;
    if ab.get(second) != Some(&b'.') {
        return None;
    }
    let dsn_end = digits(second + 1)?;
    let dsn = &after[..dsn_end];
    let after = after[dsn_end..].strip_prefix(", status=")?;
    let word_end = after
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'_'))
        .unwrap_or(after.len());
    if word_end == 0 {
        return None;
    }
    let status = &after[..word_end];
    let tail = &after[word_end..];
    if tail.bytes().next().is_some_and(|c| !c.is_ascii()) {
        // A word character beyond ASCII would go on the status word.
        return None;
    }
    let trimmed = tail.trim_end_matches([' ', '\t', '\r', '\n', '\x0c']);
    if trimmed.len() != tail.len() && !tail[trimmed.len()..].bytes().all(|c| c.is_ascii()) {
        return None;
    }
    let text = if trimmed.is_empty() {
        None
    } else {
        Some(trimmed.strip_prefix(" (")?.strip_suffix(')')?)
    };
    Some(PostfixFields {
        ts,
        to,
        orig,
        dsn,
        status,
        text,
    })
}

/// Parses a Postfix delivery line; `None` for other lines.
pub fn parse_postfix(line: &str, year: PostfixYear) -> Option<RawEvent> {
    let f = fields_fast(line).or_else(|| fields_by_regex(line))?;
    let timestamp = postfix_time(f.ts, year);
    let recipient = f
        .orig
        .filter(|s| s.contains('@'))
        .unwrap_or(f.to)
        .to_owned();
    let text = f.text.unwrap_or("");
    let dsn = Enhanced::parse(f.dsn);
    let smtp_code = find_reply_code(text);
    let status = match (dsn, find_enhanced(text)) {
        (Some(d), Some(f)) if d.subject == 0 && d.detail == 0 && f.class == d.class => Some(f),
        (d, f) => d.or(f),
    };
    let class = match f.status {
        "sent" | "delivered" => EventClass::Delivered,
        "deferred" => EventClass::Transient,
        "expired" => EventClass::RecipientSoft,
        _ => classify(smtp_code, status, text),
    };
    Some(RawEvent {
        recipient,
        timestamp,
        smtp_code,
        status: status.map(|s| format!("{}.{}.{}", s.class, s.subject, s.detail)),
        diagnostic: squash(text),
        class,
    })
}

fn postfix_time(ts: &str, year: PostfixYear) -> Option<i64> {
    if ts.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        return chrono::DateTime::parse_from_rfc3339(ts)
            .map(|t| t.timestamp())
            .or_else(|_| {
                NaiveDateTime::parse_from_str(ts, "%Y-%m-%dT%H:%M:%S%.f")
                    .map(|t| t.and_utc().timestamp())
            })
            .ok();
    }
    let with_year = |y: i32| {
        classic_time(ts, y).or_else(|| {
            NaiveDateTime::parse_from_str(&format!("{y} {ts}"), "%Y %b %e %H:%M:%S")
                .ok()
                .map(|t| Utc.from_utc_datetime(&t).timestamp())
        })
    };
    match year {
        PostfixYear::Given(y) => with_year(y),
        PostfixYear::Inferred(as_of) => {
            let y = default_year(as_of);
            let t = with_year(y)?;
            // A December line read in January belongs to last year.
            if t > as_of + 86_400 {
                return with_year(y - 1);
            }
            Some(t)
        }
    }
}

/// `Aug  7 10:00:00` in year `y`, read by hand for the usual form (a capitalised English month,
/// a valid date, seconds below 60); `None` leaves the line to chrono, which gives the same
/// answer for these and also reads the rest.
fn classic_time(ts: &str, y: i32) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let b = ts.as_bytes();
    if b.len() != 15 {
        return None;
    }
    let month = MONTHS.iter().position(|m| m.as_bytes() == &b[..3])? as u32 + 1;
    let num = |hi: u8, lo: u8| -> Option<u32> {
        let hi = if hi == b' ' {
            0
        } else {
            u32::from(hi.checked_sub(b'0').filter(|d| *d < 10)?)
        };
        let lo = u32::from(lo.checked_sub(b'0').filter(|d| *d < 10)?);
        Some(hi * 10 + lo)
    };
    let day = num(b[4], b[5])?;
    let (h, m, s) = (num(b[7], b[8])?, num(b[10], b[11])?, num(b[13], b[14])?);
    if b[7] == b' ' || b[10] == b' ' || b[13] == b' ' || s >= 60 {
        return None;
    }
    let t = NaiveDate::from_ymd_opt(y, month, day)?.and_hms_opt(h, m, s)?;
    Some(Utc.from_utc_datetime(&t).timestamp())
}

/// The year to give year-less Postfix lines when the caller does not say: the year of `as_of`.
pub fn default_year(as_of: i64) -> i32 {
    chrono::DateTime::from_timestamp(as_of, 0)
        .map(|t| t.year())
        .unwrap_or_else(|| NaiveDate::default().year())
}

/// Parses an Exim delivery line; `None` for other lines.
pub fn parse_exim(line: &str) -> Option<RawEvent> {
    let caps = exim_re().captures(line)?;
    let ts = &caps["ts"];
    let naive = NaiveDateTime::parse_from_str(ts, "%Y-%m-%d %H:%M:%S%.f").ok()?;
    let offset = caps
        .name("tz")
        .and_then(|tz| chrono::FixedOffset::east_opt(tz_seconds(tz.as_str())?))
        .unwrap_or_else(|| chrono::FixedOffset::east_opt(0).expect("utc"));
    let timestamp = offset
        .from_local_datetime(&naive)
        .single()
        .map(|t| t.timestamp());
    // Without router details Exim writes the address and a colon: `** a@b.org: Unrouteable`.
    let rcpt = caps
        .name("orig")
        .map(|m| m.as_str())
        .unwrap_or(&caps["rcpt"])
        .trim_end_matches(':');
    if !rcpt.contains('@') {
        return None;
    }
    let rest = caps.name("rest").map(|m| m.as_str()).unwrap_or("");
    // The reply follows the last ": " of "... H=host [ip]: SMTP error from remote mail server
    // after RCPT TO:<x>: 550 5.1.1 ..."; keep from "SMTP error" or the first ": ".
    let text = rest
        .find("SMTP error")
        .or_else(|| rest.find(": ").map(|i| i + 2))
        .map(|i| &rest[i..])
        .unwrap_or(rest)
        .trim();
    let smtp_code = find_reply_code(text);
    let status = find_enhanced(text);
    let class = match &caps["flag"] {
        "=>" | "->" | "*>" => EventClass::Delivered,
        "==" => EventClass::Transient,
        _ => classify(smtp_code, status, text),
    };
    Some(RawEvent {
        recipient: rcpt.to_owned(),
        timestamp,
        smtp_code,
        status: status.map(|s| format!("{}.{}.{}", s.class, s.subject, s.detail)),
        diagnostic: squash(text),
        class,
    })
}

fn tz_seconds(tz: &str) -> Option<i32> {
    let sign = if tz.starts_with('-') { -1 } else { 1 };
    let h: i32 = tz.get(1..3)?.parse().ok()?;
    let m: i32 = tz.get(3..5)?.parse().ok()?;
    Some(sign * (h * 3600 + m * 60))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample_lines() -> Vec<&'static str> {
        include_str!("../../tests/fixtures/bounces/samples/mail.log")
            .lines()
            .collect()
    }

    #[test]
    fn the_hand_reader_takes_the_usual_lines_as_the_expression_does() {
        let mut taken = 0;
        for line in sample_lines() {
            let fast = fields_fast(line);
            assert!(
                fast.is_none() || fast == fields_by_regex(line),
                "{line}\nfast {fast:?}\nregex {:?}",
                fields_by_regex(line)
            );
            taken += usize::from(fast.is_some());
        }
        assert!(taken >= 5, "the hand reader took {taken} sample lines");
        for ts in [
            "Aug  7 10:00:00",
            "Feb 29 23:59:59",
            "Dec 31 00:00:00",
            "Jan 01 01:02:03",
        ] {
            let chrono = NaiveDateTime::parse_from_str(&format!("2024 {ts}"), "%Y %b %e %H:%M:%S")
                .ok()
                .map(|t| Utc.from_utc_datetime(&t).timestamp());
            assert_eq!(classic_time(ts, 2024), chrono, "{ts}");
        }
        assert_eq!(
            classic_time("Feb 30 10:00:00", 2024),
            None,
            "left to chrono"
        );
        assert_eq!(
            classic_time("Aug  7 10:00:60", 2024),
            None,
            "a leap second is left to chrono"
        );
    }

    fn awkward() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                Just(" ".to_owned()),
                Just(">".to_owned()),
                Just(",".to_owned()),
                Just("(".to_owned()),
                Just(")".to_owned()),
                Just(" dsn=5.1.1, status=bounced".to_owned()),
                Just(" orig_to=<x@y.z>,".to_owned()),
                Just("\u{a0}".to_owned()),
                Just("\u{b}".to_owned()),
                Just("\r".to_owned()),
                Just("é".to_owned()),
                Just("٣".to_owned()),
                Just("1234".to_owned()),
                any::<char>().prop_map(String::from),
            ],
            0..4,
        )
        .prop_map(|v| v.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Whatever is inserted or replaced anywhere in a real line, a line the hand reader
        /// takes is read exactly as the regular expression reads it.
        #[test]
        fn the_hand_reader_never_disagrees_with_the_expression(
            which in any::<usize>(), insert in awkward(), at in any::<usize>(), cut in 0usize..3
        ) {
            let lines = sample_lines();
            let line = lines[which % lines.len()];
            let bounds: Vec<usize> = line.char_indices().map(|(i, _)| i).chain([line.len()]).collect();
            let i = bounds[at % bounds.len()];
            let j = bounds[(at % bounds.len() + cut).min(bounds.len() - 1)];
            let mutated = format!("{}{insert}{}", &line[..i], &line[j..]);
            let fast = fields_fast(&mutated);
            prop_assert!(fast.is_none() || fast == fields_by_regex(&mutated), "{:?}", mutated);
            if let Some(f) = fast {
                let chrono = NaiveDateTime::parse_from_str(&format!("2024 {}", f.ts), "%Y %b %e %H:%M:%S")
                    .ok()
                    .map(|t| Utc.from_utc_datetime(&t).timestamp());
                let hand = classic_time(f.ts, 2024);
                prop_assert!(hand.is_none() || hand == chrono, "{}", f.ts);
            }
        }
    }

    const AS_OF: i64 = 1_725_000_000; // 2024-08-30

    #[test]
    fn postfix_bounced_deferred_sent() {
        let bounced = "Aug 12 10:01:02 mx1 postfix/smtp[2345]: 4A1B2C3D: to=<gone@corp-mail.net>, relay=mx.corp-mail.net[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.corp-mail.net[192.0.2.7] said: 550 5.1.1 <gone@corp-mail.net>: Recipient address rejected: User unknown (in reply to RCPT TO command))";
        let e = parse_postfix(bounced, PostfixYear::Given(2024)).unwrap();
        assert_eq!(e.recipient, "gone@corp-mail.net");
        assert_eq!(e.class, EventClass::Dead);
        assert_eq!(e.smtp_code, Some(550));
        assert_eq!(e.status.as_deref(), Some("5.1.1"));
        assert_eq!(e.timestamp, Some(1_723_456_862));
        let deferred = "Aug 12 10:01:02 mx1 postfix/smtp[2345]: 4A1B2C3D: to=<full@corp-mail.net>, relay=x[192.0.2.7]:25, delay=1, delays=0/0/0/1, dsn=4.2.2, status=deferred (host x said: 452 4.2.2 Mailbox full)";
        assert_eq!(
            parse_postfix(deferred, PostfixYear::Given(2024))
                .unwrap()
                .class,
            EventClass::Transient
        );
        let sent = "2024-08-12T10:01:02.123456+02:00 mx1 postfix/smtp[2345]: 4A1B2C3D: to=<ok@corp-mail.net>, orig_to=<alias@corp-mail.net>, relay=x[192.0.2.7]:25, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued)";
        let e = parse_postfix(sent, PostfixYear::Given(2024)).unwrap();
        assert_eq!(
            (e.recipient.as_str(), e.class),
            ("alias@corp-mail.net", EventClass::Delivered)
        );
        assert_eq!(e.timestamp, Some(1_723_449_662));
        assert!(parse_postfix(
            "Aug 12 10:01:02 mx1 postfix/smtpd[1]: connect from x[192.0.2.1]",
            PostfixYear::Given(2024)
        )
        .is_none());
    }

    #[test]
    fn postfix_year_rolls_back_for_future_dates() {
        let dec = "Dec 30 23:00:00 mx1 postfix/smtp[1]: ABC: to=<a@corp-mail.net>, relay=none, delay=1, delays=0/0/0/0, dsn=5.4.4, status=bounced (Host or domain name not found)";
        let e = parse_postfix(dec, PostfixYear::Inferred(AS_OF)).unwrap();
        assert_eq!(
            chrono::DateTime::from_timestamp(e.timestamp.unwrap(), 0)
                .unwrap()
                .year(),
            2023
        );
    }

    #[test]
    fn exim_lines() {
        let failed = "2024-08-12 10:01:02 1sdXyz-000Abc-7Q ** gone@corp-mail.net R=dnslookup T=remote_smtp H=mx.corp-mail.net [192.0.2.7]: SMTP error from remote mail server after RCPT TO:<gone@corp-mail.net>: 550 5.1.1 No such user";
        let e = parse_exim(failed).unwrap();
        assert_eq!((e.class, e.smtp_code), (EventClass::Dead, Some(550)));
        assert!(e.diagnostic.starts_with("SMTP error"));
        let banned = "2024-08-12 10:01:02 +0200 1sdXyz-000Abc-7Q ** ann@outlook.com R=dnslookup T=remote_smtp H=outlook-com.olc.protection.outlook.com [192.0.2.8]: SMTP error from remote mail server after MAIL FROM:<news@shop.com> SIZE=2000: 550 5.7.606 Access denied, banned sending IP [198.51.100.4]";
        assert_eq!(parse_exim(banned).unwrap().class, EventClass::SenderSide);
        let deferred = "2024-08-12 10:01:02 1sdXyz-000Abc-7Q == bo@corp-mail.net R=dnslookup T=remote_smtp defer (-44): SMTP error from remote mail server after RCPT TO:<bo@corp-mail.net>: 451 4.7.1 Greylisted";
        assert_eq!(parse_exim(deferred).unwrap().class, EventClass::Transient);
        let delivered = "2024-08-12 10:01:02 1sdXyz-000Abc-7Q => cy@corp-mail.net R=dnslookup T=remote_smtp H=mx [192.0.2.7] C=\"250 OK\"";
        assert_eq!(parse_exim(delivered).unwrap().class, EventClass::Delivered);
        assert!(parse_exim("2024-08-12 10:01:02 1sdXyz-000Abc-7Q <= news@shop.com H=x").is_none());
        // No router details: the address ends with a colon.
        let e = parse_exim(
            "2024-08-12 10:01:02 1sdXyz-000Abc-7Q ** fay@corp-mail.net: Unrouteable address",
        )
        .unwrap();
        assert_eq!(
            (e.recipient.as_str(), e.class),
            ("fay@corp-mail.net", EventClass::Dead)
        );
        // An alias's failure: the address it was generated from is the one recorded.
        let e = parse_exim("2024-08-12 10:01:02 1sdXyz-000Abc-7Q ** eve.box@mbox.corp-mail.net <eve@corp-mail.net>: SMTP error from remote mail server after RCPT TO:<eve.box@mbox.corp-mail.net>: 550 5.1.1 User unknown").unwrap();
        assert_eq!(e.recipient, "eve@corp-mail.net");
    }
}
