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

/// Parses a Postfix delivery line; `None` for other lines.
pub fn parse_postfix(line: &str, year: PostfixYear) -> Option<RawEvent> {
    let caps = postfix_re().captures(line)?;
    let timestamp = postfix_time(&caps["ts"], year);
    let recipient = caps
        .name("orig")
        .map(|m| m.as_str())
        .filter(|s| s.contains('@'))
        .unwrap_or(&caps["to"])
        .to_owned();
    let text = caps.name("text").map(|m| m.as_str()).unwrap_or("");
    let dsn = Enhanced::parse(&caps["dsn"]);
    let smtp_code = find_reply_code(text);
    let status = match (dsn, find_enhanced(text)) {
        (Some(d), Some(f)) if d.subject == 0 && d.detail == 0 && f.class == d.class => Some(f),
        (d, f) => d.or(f),
    };
    let class = match &caps["status"] {
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
        NaiveDateTime::parse_from_str(&format!("{y} {ts}"), "%Y %b %e %H:%M:%S")
            .ok()
            .map(|t| Utc.from_utc_datetime(&t).timestamp())
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
    let rcpt = caps
        .name("orig")
        .map(|m| m.as_str())
        .unwrap_or(&caps["rcpt"]);
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
    }
}
