//! One email in, the delivery events it reports out.
//!
//! In order of trust:
//! 1. an ARF feedback report (RFC 5965, `message/feedback-report`) → complaints;
//! 2. a delivery status notification (RFC 3464, `message/delivery-status`) → one event per
//!    recipient block, with its Action, Status and Diagnostic-Code;
//! 3. an auto-reply (RFC 3834 `Auto-Submitted: auto-replied`, vacation subjects) → not a bounce;
//! 4. anything else: a non-standard bounce (Sendmail, qmail, Exim, Exchange, webmail providers),
//!    where the failed recipients and the remote server's reply are read from the text.

use std::borrow::Cow;

use mailparse::{MailHeaderMap, ParsedMail};

use super::classify::{
    classify, classify_explained, failure_part, find_enhanced, find_reply_code,
    notice_says_after_data, said_after_data, Enhanced, EventClass, Rule, AFTER_DATA,
};
use super::event::{squash, truncate, RawEvent};
use super::mime_lite::{self, Unread};

/// The Content-Types of a delivery report's machine-readable part (RFC 3464, RFC 6533).
const DELIVERY_STATUS: [&str; 2] = ["message/delivery-status", "message/global-delivery-status"];

/// The machine-readable part of a feedback report (RFC 5965).
const FEEDBACK_REPORT: &str = "message/feedback-report";

/// The machine-readable part of a read receipt (RFC 8098).
const READ_RECEIPT: &str = "message/disposition-notification";

/// How deep a report forwarded as an attachment is looked for (a bounce forwarded by a
/// helpdesk, forwarded again).
const FORWARD_DEPTH: usize = 3;

/// Parses one message.
pub fn parse_message(bytes: &[u8]) -> Result<Vec<RawEvent>, String> {
    parse_at(bytes, 0)
}

fn parse_at(bytes: &[u8], depth: usize) -> Result<Vec<RawEvent>, String> {
    let (mut events, to) = match standard_report(bytes) {
        Ok(read) => read,
        Err(Unread) => by_mailparse(bytes, depth)?,
    };
    if let Some(to) = to {
        // The notice's addressee, looked for at the first event that could be about it.
        let mut sender = None;
        for e in &mut events {
            if !says_dead_words(e) {
                continue;
            }
            if let Some(sender) = sender.get_or_insert_with(|| first_address(&to)) {
                if names_only_the_sender(e, sender) {
                    e.class = EventClass::SenderSide;
                }
            }
        }
    }
    Ok(events)
}

/// The events of a message, and its To, read with the MIME parser.
fn by_mailparse(bytes: &[u8], depth: usize) -> Result<(Vec<RawEvent>, Option<String>), String> {
    let mail = mailparse::parse_mail(bytes).map_err(|e| format!("not a parseable email: {e}"))?;
    if mail.headers.is_empty() {
        return Err("not an email: no headers".to_owned());
    }
    Ok((events_of(&mail, depth)?, header(&mail, "To")))
}

/// The events of a standard delivery report, and its To, read without the MIME parser (see
/// [`mime_lite`]): a multipart message of leaf parts with a `message/delivery-status` part that
/// names recipients, and no feedback report or read receipt (which [`events_of`] reads first).
/// The answer is the one [`events_of`] gives; anything else is `Unread`, left to it.
fn standard_report(bytes: &[u8]) -> Result<(Vec<RawEvent>, Option<String>), Unread> {
    let mail = mime_lite::Message::read(bytes)?;
    if mail.headers.is_empty() {
        return Err(Unread);
    }
    // The reports that events_of reads before a delivery report.
    if mail
        .parts
        .iter()
        .any(|p| [FEEDBACK_REPORT, READ_RECEIPT].contains(&p.ctype.mimetype.as_str()))
    {
        return Err(Unread);
    }
    let dsn = mail
        .parts
        .iter()
        .find(|p| DELIVERY_STATUS.contains(&p.ctype.mimetype.as_str()))
        .ok_or(Unread)?;
    let human = match mail.parts.iter().find(|p| p.ctype.mimetype == "text/plain") {
        Some(p) => p.text_body()?,
        None => "",
    };
    let date_text = mail.header("Date")?;
    let parsed = std::cell::OnceCell::new();
    let date = || *parsed.get_or_init(|| date_text.as_deref().and_then(super::date::parse));
    let to = mail.header("To")?.map(|t| t.into_owned());
    // `from_utf8` first: its ASCII fast path is many times quicker than the lossy scan, and
    // a report's fields are ASCII.
    let raw = dsn.raw_body()?;
    let text =
        std::str::from_utf8(raw).map_or_else(|_| String::from_utf8_lossy(raw), Cow::Borrowed);
    let events = delivery_fields(&text, human, &date);
    if events.is_empty() {
        return Err(Unread);
    }
    Ok((events, to))
}

/// Whether an event's words say "dead": its class, or dead words softened because they were
/// said after DATA or with a doubt.
fn says_dead_words(e: &RawEvent) -> bool {
    match e.class {
        EventClass::Dead => true,
        EventClass::RecipientSoft => {
            let status = e.status.as_deref().and_then(Enhanced::parse);
            classify_explained(e.smtp_code, status, &e.diagnostic)
                .1
                .softens_dead()
        }
        _ => false,
    }
}

/// Whether a dead event's reply names the domain of the notice's addressee (the sender of the
/// returned message), on its own and not in an address, and not the recipient's domain: "553
/// 5.1.0 shop.example does not exist" refuses the sender's domain (sender verification), and the
/// subscriber is not at fault.
fn names_only_the_sender(e: &RawEvent, sender: &str) -> bool {
    let domain_of = |a: &str| {
        a.rsplit_once('@')
            .map(|(_, d)| d.trim_end_matches('>').to_ascii_lowercase())
    };
    let (Some(sender), Some(recipient)) = (domain_of(sender), domain_of(&e.recipient)) else {
        return false;
    };
    if sender.is_empty() || sender == recipient {
        return false;
    }
    let text = e.diagnostic.to_ascii_lowercase();
    let names = |domain: &str| {
        text.match_indices(domain).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + domain.len()..].chars().next();
            let edge = |c: Option<char>| {
                c.is_none_or(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '@')))
            };
            edge(before) && edge(after)
        })
    };
    names(&sender) && !names(&recipient)
}

/// The events of a notice, as its parts say them.
fn events_of(mail: &ParsedMail, depth: usize) -> Result<Vec<RawEvent>, String> {
    let date = header(mail, "Date").and_then(|d| super::date::parse(&d));
    let mut parts = Vec::new();
    flatten(mail, &mut parts);
    if let Some(report) = parts.iter().find(|p| p.ctype.mimetype == FEEDBACK_REPORT) {
        return feedback(mail, report, &parts, date);
    }
    // A read receipt (RFC 8098): the recipient opened the message, the opposite of a bounce.
    if let Some(mdn) = parts.iter().find(|p| p.ctype.mimetype == READ_RECEIPT) {
        let fields = body_text(mdn);
        let reader = field_blocks(&fields)
            .iter()
            .find_map(|b| field(b, "final-recipient").and_then(typed_address))
            .or_else(|| header(mail, "From").and_then(|f| first_address(&f)))
            .ok_or("a read receipt that names no reader")?;
        return Ok(vec![RawEvent {
            recipient: reader,
            timestamp: date,
            smtp_code: None,
            status: None,
            diagnostic: header(mail, "Subject").unwrap_or_default(),
            class: EventClass::NotABounce,
        }]);
    }
    if let Some(dsn) = parts
        .iter()
        .find(|p| DELIVERY_STATUS.contains(&p.ctype.mimetype.as_str()))
    {
        let events = delivery_status(dsn, &parts, date);
        if !events.is_empty() {
            return Ok(events);
        }
    }
    let inline = inline_delivery_status(&parts, date);
    if !inline.is_empty() {
        return Ok(inline);
    }
    if depth < FORWARD_DEPTH {
        if let Some(events) = forwarded_report(&parts, depth) {
            return Ok(events);
        }
    }
    if is_auto_reply(mail) {
        let from = header(mail, "From")
            .and_then(|f| first_address(&f))
            .unwrap_or_default();
        if from.is_empty() {
            return Err("an auto-reply without a From address".to_owned());
        }
        return Ok(vec![RawEvent {
            recipient: from,
            timestamp: date,
            smtp_code: None,
            status: None,
            diagnostic: header(mail, "Subject").unwrap_or_default(),
            class: EventClass::NotABounce,
        }]);
    }
    plain_bounce(mail, &parts, date)
}

/// The events of a delivery or feedback report attached as a whole message (`message/rfc822`):
/// someone forwarded the bounce. Only a report counts: the returned copy of an ordinary message
/// inside a bounce is not read for recipients.
fn forwarded_report(parts: &[&ParsedMail], depth: usize) -> Option<Vec<RawEvent>> {
    const REPORTS: [&str; 3] = [FEEDBACK_REPORT, DELIVERY_STATUS[0], DELIVERY_STATUS[1]];
    parts
        .iter()
        .filter(|p| p.ctype.mimetype == "message/rfc822")
        .find_map(|p| {
            let raw = p.get_body_raw().ok()?;
            let inner = mailparse::parse_mail(&raw).ok()?;
            let mut inner_parts = Vec::new();
            flatten(&inner, &mut inner_parts);
            let is_report = inner_parts
                .iter()
                .any(|q| REPORTS.contains(&q.ctype.mimetype.as_str()));
            if !is_report {
                return None;
            }
            parse_at(&raw, depth + 1).ok().filter(|e| !e.is_empty())
        })
}

fn header(mail: &ParsedMail, name: &str) -> Option<String> {
    mail.headers.get_first_value(name)
}

fn flatten<'a>(mail: &'a ParsedMail<'a>, out: &mut Vec<&'a ParsedMail<'a>>) {
    out.push(mail);
    for p in &mail.subparts {
        flatten(p, out);
    }
}

fn body_text(part: &ParsedMail) -> String {
    part.get_body().unwrap_or_else(|_| {
        String::from_utf8_lossy(&part.get_body_raw().unwrap_or_default()).into_owned()
    })
}

/// One field of a report part: its name as written (compared without regard to ASCII case)
/// and its value, continuation lines folded in.
type Field<'a> = (&'a str, Cow<'a, str>);

/// Header-like fields of a report part, in blocks separated by blank lines; continuation lines
/// folded in.
fn field_blocks(text: &str) -> Vec<Vec<Field<'_>>> {
    let mut blocks: Vec<Vec<Field>> = Vec::new();
    let mut current: Vec<Field> = Vec::new();
    for line in report_lines(text) {
        if line.trim().is_empty() {
            if !current.is_empty() {
                blocks.push(std::mem::take(&mut current));
            }
            continue;
        }
        if line.starts_with([' ', '\t']) {
            if let Some(last) = current.last_mut() {
                let value = last.1.to_mut();
                value.push(' ');
                value.push_str(line.trim());
            }
            continue;
        }
        if let Some(colon) = memchr::memchr(b':', line.as_bytes()) {
            let (key, v) = (line[..colon].trim(), &line[colon + 1..]);
            // A field seen twice starts the next recipient's block: some MTAs leave out the
            // blank line between blocks.
            if current
                .iter()
                .any(|(seen, _)| seen.eq_ignore_ascii_case(key))
            {
                blocks.push(std::mem::take(&mut current));
            }
            current.push((key, Cow::Borrowed(v.trim())));
        }
    }
    if !current.is_empty() {
        blocks.push(current);
    }
    blocks
}

/// The lines of `text` as `str::lines` gives them, without the CRs at their end, and one blank
/// line more when `text` is empty or ends with a line end (a reader of blocks sees no
/// difference). The line ends are found with `memchr`: `lines` confirms each one it finds
/// through a call to `memcmp`, which showed in profiles of mbox runs.
fn report_lines(text: &str) -> impl Iterator<Item = &str> {
    let mut start = 0;
    memchr::memchr_iter(b'\n', text.as_bytes())
        .chain([text.len()])
        .map(move |end| {
            let line = &text[start..end];
            start = end + 1;
            line.trim_end_matches('\r')
        })
}

/// The value of the field named `key` (lowercase), when it is not empty.
fn field<'a>(block: &'a [Field], key: &str) -> Option<&'a str> {
    block
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v.as_ref())
        .filter(|v| !v.is_empty())
}

/// `rfc822; <a@b.com>` → `a@b.com`. Exchange's `dda:SMTP=a@b.com` and `SMTP:a@b.com` give
/// `a@b.com`; an X.400 address gives the RFC 822 address of its `RFC-822=` attribute
/// (`local(a)domain`, RFC 2156 §4.2), or none.
fn typed_address(value: &str) -> Option<String> {
    let (kind, v) = value.split_once(';').unwrap_or(("rfc822", value));
    if kind.trim().eq_ignore_ascii_case("x400") {
        let attr = v.split('/').find_map(|a| {
            let (k, val) = a.split_once('=')?;
            k.trim().eq_ignore_ascii_case("rfc-822").then_some(val)
        })?;
        let address = attr.trim().replace("(a)", "@");
        return address.contains('@').then_some(address);
    }
    let mut v = v.trim();
    // An RFC 822 comment after the address: `a@b.org (Ann Lee)`.
    if let Some(open) = v.find(" (").filter(|_| v.ends_with(')')) {
        v = v[..open].trim_end();
    }
    let v = v.trim_start_matches('<').trim_end_matches('>').trim();
    let v = without_exchange_prefix(v);
    if !v.contains('@') {
        return None;
    }
    // `"ann"@b.org` is `ann@b.org` (RFC 5321 4.1.2): quotes around a local part that needs none.
    if let Some((local, domain)) = v.rsplit_once('@') {
        if let Some(inner) = local.strip_prefix('"').and_then(|l| l.strip_suffix('"')) {
            if crate::address::is_dot_atom(inner) {
                return Some(format!("{inner}@{domain}"));
            }
        }
    }
    Some(v.to_owned())
}

/// `a@b.com` without Exchange's `dda:SMTP=` or `SMTP=` / `SMTP:` in front (any case).
fn without_exchange_prefix(address: &str) -> &str {
    let mut a = address;
    for prefix in ["dda:", "smtp=", "smtp:"] {
        if a.get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
        {
            a = &a[prefix.len()..];
        }
    }
    a
}

/// `smtp; 550 5.1.1 ...` → `550 5.1.1 ...`.
fn typed_text(value: &str) -> String {
    match value.split_once(';') {
        Some((kind, rest)) if kind.len() < 16 && !kind.contains(' ') => rest.trim().to_owned(),
        _ => value.trim().to_owned(),
    }
}

fn date_of(value: Option<&str>) -> Option<i64> {
    value.and_then(super::date::parse)
}

/// The human-readable part of a report (the first text/plain part), for classification when a
/// recipient block has no diagnostic.
fn notice(parts: &[&ParsedMail]) -> String {
    parts
        .iter()
        .find(|p| p.ctype.mimetype == "text/plain")
        .map(|p| body_text(p))
        .unwrap_or_default()
}

fn delivery_status(dsn: &ParsedMail, parts: &[&ParsedMail], date: Option<i64>) -> Vec<RawEvent> {
    let text = String::from_utf8_lossy(&dsn.get_body_raw().unwrap_or_default()).into_owned();
    delivery_fields(&text, &notice(parts), &|| date)
}

/// The per-recipient fields of a delivery report written inline in a text part: a report
/// whose MIME structure is broken (a boundary line indented by a space) still carries
/// `Final-Recipient:` / `Action:` / `Status:` blocks, which are better evidence than the prose.
fn inline_delivery_status(parts: &[&ParsedMail], date: Option<i64>) -> Vec<RawEvent> {
    for p in parts.iter().filter(|p| p.subparts.is_empty()) {
        let text = body_text(p);
        let has_fields = text.lines().any(|l| {
            l.get(..16)
                .is_some_and(|h| h.eq_ignore_ascii_case("final-recipient:"))
        });
        if has_fields {
            let events = delivery_fields(&text, &notice(parts), &|| date);
            if !events.is_empty() {
                return events;
            }
        }
    }
    Vec::new()
}

/// The events of a report's per-recipient fields; `human` is its notice (the first text/plain
/// part), which speaks for a recipient block that gives no reply of its own; `date` gives the
/// notice's Date, for a block that has no date of its own (asked only then).
fn delivery_fields(text: &str, human: &str, date: &dyn Fn() -> Option<i64>) -> Vec<RawEvent> {
    let blocks = field_blocks(text);
    let per_message: &[Field] = blocks
        .first()
        .filter(|b| field(b, "final-recipient").is_none())
        .map(|b| b.as_slice())
        .unwrap_or(&[]);
    let arrival = std::cell::OnceCell::new();
    // Whether the notice says "after DATA": the same for every recipient block, asked once.
    let mut notice_after_data = None;
    let mut events = Vec::new();
    for block in &blocks {
        let original = field(block, "original-recipient").and_then(typed_address);
        let Some(mut final_rcpt) = field(block, "final-recipient")
            .and_then(typed_address)
            .or_else(|| original.clone())
        else {
            continue;
        };
        if final_rcpt.starts_with('@') {
            // A route address without a mailbox: the notice names the real one.
            match address_regex()
                .find_iter(human)
                .map(|m| m.as_str())
                .find(|a| !a.to_ascii_lowercase().starts_with("mailer-daemon"))
            {
                Some(a) => final_rcpt = a.to_owned(),
                None => continue,
            }
        }
        let recipient = original.unwrap_or(final_rcpt);
        let action = field(block, "action")
            .unwrap_or("failed")
            .to_ascii_lowercase();
        let mut diagnostic = field(block, "diagnostic-code")
            .map(typed_text)
            .unwrap_or_default();
        if find_reply_code(&diagnostic).is_none() && find_enhanced(&diagnostic).is_none() {
            // No reply in the report: the notice often quotes it next to the recipient.
            if let Some(line) = line_about(human, &recipient) {
                diagnostic = line;
            }
        }
        let declared = field(block, "status")
            .and_then(|s| s.split_whitespace().next())
            .and_then(Enhanced::parse);
        let smtp_code = find_reply_code(&diagnostic);
        let status = match (declared, find_enhanced(&diagnostic)) {
            // The remote server's own code beats the reporting MTA's summary of it.
            (Some(d), Some(found)) if found.class == d.class => Some(found),
            // A generic status that contradicts the reply ("4.0.0" for "550 user unknown").
            (Some(d), None)
                if d.subject == 0
                    && d.detail == 0
                    && smtp_code.is_some_and(|c| c / 100 != d.class) =>
            {
                None
            }
            (Some(d), _) => Some(d),
            (None, found) => found,
        };
        if !diagnostic.is_empty()
            && !said_after_data(&diagnostic)
            && *notice_after_data.get_or_insert_with(|| notice_says_after_data(human))
        {
            diagnostic = format!("{} {AFTER_DATA}", diagnostic.trim_end());
        }
        let words = if diagnostic.is_empty() {
            human
        } else {
            diagnostic.as_str()
        };
        let class = if action.starts_with("delivered")
            || action.starts_with("relayed")
            || action.starts_with("expanded")
        {
            EventClass::Delivered
        } else if action.starts_with("delayed") {
            EventClass::Transient
        } else {
            classify(smtp_code, status, words)
        };
        let timestamp = date_of(field(block, "last-attempt-date"))
            .or_else(|| *arrival.get_or_init(|| date_of(field(per_message, "arrival-date"))))
            .or_else(date);
        events.push(RawEvent {
            recipient,
            timestamp,
            smtp_code,
            status: status.map(|s| format!("{}.{}.{}", s.class, s.subject, s.detail)),
            diagnostic: squash(if diagnostic.is_empty() {
                human
            } else {
                &diagnostic
            }),
            class,
        });
    }
    events
}

/// The line of `text` that names `recipient` and carries a reply code, with its continuation.
fn line_about(text: &str, recipient: &str) -> Option<String> {
    let needle = recipient.to_ascii_lowercase();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if !line.to_ascii_lowercase().contains(&needle) {
            continue;
        }
        let mut joined = line.trim().to_owned();
        for next in lines.iter().skip(i + 1).take(3) {
            // A blank line ends the paragraph; a line with a reply code or an address of its
            // own is about another recipient, whose words must not be applied to this one.
            if next.trim().is_empty()
                || find_reply_code(next).is_some()
                || (next.contains('@') && !next.to_ascii_lowercase().contains(&needle))
            {
                break;
            }
            joined.push(' ');
            joined.push_str(next.trim());
        }
        if has_reply(&joined) {
            return Some(squash(&joined));
        }
    }
    None
}

fn feedback(
    mail: &ParsedMail,
    report: &ParsedMail,
    parts: &[&ParsedMail],
    date: Option<i64>,
) -> Result<Vec<RawEvent>, String> {
    let text = String::from_utf8_lossy(&report.get_body_raw().unwrap_or_default()).into_owned();
    let fields: Vec<Field> = field_blocks(&text).into_iter().flatten().collect();
    let kind = field(&fields, "feedback-type")
        .unwrap_or("abuse")
        .to_ascii_lowercase();
    let class = match kind.as_str() {
        "not-spam" => EventClass::NotABounce,
        // A DMARC/SPF failure report and a virus report are about the message, not a person's
        // wish to receive no more.
        "auth-failure" | "virus" => EventClass::SenderSide,
        "opt-out" => EventClass::Unsubscribe,
        _ => EventClass::Complaint,
    };
    let timestamp = date_of(field(&fields, "arrival-date"))
        .or_else(|| date_of(field(&fields, "received-date")))
        .or(date);
    let mut recipients: Vec<String> = fields
        .iter()
        .filter(|(k, _)| {
            k.eq_ignore_ascii_case("original-rcpt-to")
                || k.eq_ignore_ascii_case("removal-recipient")
        })
        .filter_map(|(_, v)| typed_address(v))
        .collect();
    if recipients.is_empty() {
        // The recipient of the reported message: the To of the attached original.
        for p in parts {
            if matches!(
                p.ctype.mimetype.as_str(),
                "message/rfc822" | "text/rfc822-headers"
            ) {
                let raw = p.get_body_raw().unwrap_or_default();
                if let Ok((headers, _)) = mailparse::parse_headers(&raw) {
                    let to = headers.get_first_value("To").unwrap_or_default();
                    // A message to several people does not say which of them complained:
                    // suppressing the first would remove the others' neighbour by mistake.
                    let named = address_regex().find_iter(&to).count();
                    if named > 1 {
                        return Err(format!(
                            "feedback report ({kind}) about a message to {named} recipients, without an Original-Rcpt-To saying which one complained: no one is suppressed"
                        ));
                    }
                    if let Some(to) = first_address(&to) {
                        recipients.push(to);
                    }
                }
            }
        }
    }
    if recipients.is_empty() {
        return Err(format!(
            "feedback report ({kind}) names no recipient (no Original-Rcpt-To, no To in the original); subject {:?}",
            header(mail, "Subject").unwrap_or_default()
        ));
    }
    recipients.dedup();
    Ok(recipients
        .into_iter()
        .map(|recipient| RawEvent {
            recipient,
            timestamp,
            smtp_code: None,
            status: None,
            diagnostic: format!("feedback report: {kind}"),
            class,
        })
        .collect())
}

fn is_auto_reply(mail: &ParsedMail) -> bool {
    let from = header(mail, "From")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let subject = header(mail, "Subject")
        .unwrap_or_default()
        .to_ascii_lowercase();
    let looks_like_bounce = from.contains("mailer-daemon")
        || from.contains("postmaster")
        || BOUNCE_SUBJECT_WORDS.iter().any(|w| subject.contains(w));
    if looks_like_bounce {
        return false;
    }
    let auto = header(mail, "Auto-Submitted")
        .unwrap_or_default()
        .to_ascii_lowercase();
    auto.starts_with("auto-replied")
        || header(mail, "X-Autoreply").is_some()
        || header(mail, "X-Autorespond").is_some()
        || header(mail, "Precedence").is_some_and(|p| p.eq_ignore_ascii_case("auto_reply"))
        || [
            "auto:",
            "automatic reply",
            "out of office",
            "autoreply",
            "auto-reply",
            "auto reply",
            "vacation",
            "away from",
        ]
        .iter()
        .any(|w| subject.starts_with(w) || subject.contains(w))
}

/// An address as bounce notices write it (ASCII, a dotted domain with a TLD of letters).
const ADDRESS: &str =
    r"[A-Za-z0-9._%+=!#$&'*/?^`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}";

fn address_regex() -> &'static regex::Regex {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(ADDRESS).expect("address regex"))
}

fn first_address(text: &str) -> Option<String> {
    address_regex().find(text).map(|m| m.as_str().to_owned())
}

/// Lines that start the returned copy of the original message in non-standard bounces.
const ORIGINAL_MARKERS: &[&str] = &[
    "below this line is a copy of the message",
    "this is a copy of the message",
    "original message follows",
    "----- original message -----",
    "the header of the original message",
    "unsent message below",
    "------ original message",
    "content-type: message/rfc822",
    "--- below this line is the original",
    "original message headers",
    "returned message --",
    "returned mail --",
    "-----original message-----",
    "--- original message ---",
    "undelivered message follows",
];

fn plain_bounce(
    mail: &ParsedMail,
    parts: &[&ParsedMail],
    date: Option<i64>,
) -> Result<Vec<RawEvent>, String> {
    let mut text = String::new();
    for p in parts {
        if p.ctype.mimetype == "text/plain" && p.subparts.is_empty() {
            text.push_str(&body_text(p));
            text.push('\n');
        }
    }
    if text.trim().is_empty() {
        text = body_text(mail);
    }
    // Amazon SES can send its notifications as email, with the JSON as the body (sometimes
    // with a signature after it, or cut by line wrapping).
    let trimmed = text.trim();
    if trimmed.starts_with('{') {
        let unwrapped: String = trimmed.lines().map(str::trim_end).collect();
        for candidate in [trimmed, unwrapped.as_str()] {
            let mut values =
                serde_json::Deserializer::from_str(candidate).into_iter::<serde_json::Value>();
            if let Some(Ok(v)) = values.next() {
                return super::esp::json_events(&v);
            }
        }
        if let Some(events) = ses_fragments(trimmed, date) {
            return Ok(events);
        }
    }
    let lower = text.to_ascii_lowercase();
    let cut = ORIGINAL_MARKERS
        .iter()
        .filter_map(|m| lower.find(m))
        .chain(returned_headers_at(&lower))
        .min()
        .unwrap_or(text.len());
    // keep char boundaries: `lower` is an ASCII lowercasing of `text`, same byte offsets
    let notice = &text[..cut];
    let own: Vec<String> = ["To", "From", "Return-Path", "Reply-To"]
        .iter()
        .filter_map(|h| header(mail, h))
        .filter_map(|v| first_address(&v))
        .map(|a| a.to_ascii_lowercase())
        .collect();
    // The reporting system's domain: its help and abuse desks named in the notice are not
    // failed recipients unless the notice names no one else.
    let reporter = header(mail, "From")
        .and_then(|f| first_address(&f))
        .and_then(|a| a.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()))
        .unwrap_or_default();
    let mut recipients: Vec<(usize, String)> = Vec::new();
    if let Some(failed) = header(mail, "X-Failed-Recipients") {
        // Exim names the address it failed on, an alias's target included: the subscribed
        // address is the one the notice says it was generated from.
        let aliases = generated_from(notice);
        for a in address_regex().find_iter(&failed) {
            let subscribed = aliases
                .iter()
                .find(|(alias, _, _)| alias.eq_ignore_ascii_case(a.as_str()))
                .map_or(a.as_str(), |(_, subscribed, _)| subscribed.as_str());
            recipients.push((notice.find(a.as_str()).unwrap_or(0), subscribed.to_owned()));
        }
    }
    if recipients.is_empty() {
        // An address that appears anywhere as a sender, a contact or a message's ID is not a
        // recipient.
        let mut excluded: Vec<String> = own.clone();
        excluded.extend(message_id_addresses(&text));
        let mut quoted: Vec<usize> = Vec::new();
        let mut quoted_only: Vec<(usize, String)> = Vec::new();
        let aliases = generated_from(notice);
        let found: Vec<(usize, &str)> = address_regex()
            .find_iter(notice)
            .map(|m| {
                // `'a@b.com'` quotes the address; the quote is not part of it.
                let a = without_exchange_prefix(m.as_str()).trim_start_matches('\'');
                (m.end() - a.len(), a)
            })
            .collect();
        for &(start, address) in &found {
            let before: String = notice[..start]
                .chars()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<String>()
                .to_ascii_lowercase();
            let context = before.trim_end_matches(['<', ' ', '\t', '"', '\r', '\n']);
            let not_a_recipient = [
                "from:",
                "from=",
                "from",
                "contact",
                "sender",
                "reply-to",
                "reply-to:",
                "return-path:",
                "sender:",
                "errors-to:",
                "envelope-from",
                "sent by",
                "message-id:",
                "message id:",
                "in-reply-to:",
                "references:",
            ]
            .iter()
            .any(|w| context.ends_with(w));
            let generated_from_here = aliases.iter().any(|(_, _, at)| *at == start);
            if not_a_recipient && !generated_from_here {
                excluded.push(address.trim_end_matches('.').to_ascii_lowercase());
            }
            // "Your message / To: list@..." (Exchange, GroupWise) quotes the message's own To:
            // that mention is not a failed recipient (the address may still be one where the
            // notice names it again).
            // So does a `To:` header line of a returned message given without a marker.
            let line_start = notice[..start].rfind('\n').map_or(0, |i| i + 1);
            let line_head = notice[line_start..start].trim_start().to_ascii_lowercase();
            // And `Received: ... for <x>;`, a header line of a returned message.
            if (context.ends_with("to:") && before.contains("your message"))
                || ["to:", "cc:", "bcc:"]
                    .iter()
                    .any(|h| line_head.starts_with(h))
                || context.ends_with(" for")
                || reporters_role(address, &reporter)
            {
                quoted.push(start);
            }
        }
        for &(start, address) in &found {
            if aliases.iter().any(|(_, _, from_at)| *from_at == start) {
                continue; // the X of "(generated from X)": its alias's mention stands for it
            }
            let a = address.trim_end_matches('.');
            let a = aliases
                .iter()
                .find(|(alias, _, _)| alias.eq_ignore_ascii_case(a))
                .map_or(a, |(_, subscribed, _)| subscribed.as_str())
                .to_owned();
            let lower_a = a.to_ascii_lowercase();
            let local = lower_a.split('@').next().unwrap_or("");
            if excluded.contains(&lower_a)
                || looks_like_message_id(local)
                || matches!(local, "mailer-daemon" | "postmaster" | "root" | "daemon")
                || recipients.iter().any(|(_, r)| r.eq_ignore_ascii_case(&a))
                || quoted_only.iter().any(|(_, r)| r.eq_ignore_ascii_case(&a))
            {
                continue;
            }
            if quoted.contains(&start) {
                quoted_only.push((start, a));
            } else {
                recipients.push((start, a));
            }
        }
        // A quoted `To:` is the recipient only when the notice names no other address.
        if recipients.is_empty() {
            recipients = quoted_only;
        } else {
            // A quoted address named again elsewhere is a recipient there.
            recipients.sort_by_key(|(pos, _)| *pos);
        }
    }
    if !recipients.is_empty() && !says_it_failed(mail, notice) {
        return Err(
            "no sign of a failed delivery (no reply code, status, failure words, mail daemon or bounce subject): not a bounce"
                .to_owned(),
        );
    }
    if recipients.is_empty() {
        if !has_reply(notice) {
            return Err(
                "no delivery report, failed recipient or SMTP reply found: not a bounce".to_owned(),
            );
        }
        // The reply is there but the recipient is only in the returned message's To.
        let original_to = text[cut..]
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("to:"))
            .and_then(first_address);
        match original_to {
            Some(a) => recipients.push((0, a)),
            None => return Err("a failure reply but no recipient address found".to_owned()),
        }
    }
    recipients.sort_by_key(|(pos, _)| *pos);
    // The notice lowercased: a prefix of `lower`, same offsets.
    let lower_notice = &lower[..cut];
    let mut events = Vec::new();
    for (i, (pos, recipient)) in recipients.iter().enumerate() {
        // A recipient's part ends where another recipient is named, the next in the list or
        // one named again further on (a transcript after the list).
        let named_again = recipients
            .iter()
            .filter(|(_, r)| !r.eq_ignore_ascii_case(recipient))
            .filter_map(|(_, r)| mention_after(lower_notice, &r.to_ascii_lowercase(), pos + 1));
        let end = recipients
            .get(i + 1)
            .map(|(p, _)| *p)
            .filter(|p| p > pos)
            .into_iter()
            .chain(named_again)
            .min()
            .unwrap_or(notice.len());
        let own = notice
            .get(*pos..end)
            .unwrap_or(notice)
            .trim_end_matches(['<', '"', '\'', '-', ' ', '\t', '\r', '\n']);
        let segment = if recipients.len() == 1 {
            // With one recipient, the reply may come before the address (qmail, Exchange).
            std::borrow::Cow::Borrowed(notice)
        } else {
            words_about(notice, own, end, recipient)
        };
        let segment = segment.as_ref();
        let cleaned = without_header_lines(segment);
        let failing = failure_part(&cleaned);
        let smtp_code = find_reply_code(failing);
        let status = find_enhanced(failing);
        let mut diagnostic = reply_line(failing).unwrap_or_else(|| squash(&cleaned));
        let mut words = squash(failing);
        if !said_after_data(&words) && notice_says_after_data(segment) {
            diagnostic = format!("{} {AFTER_DATA}", diagnostic.trim_end());
            words = format!("{words} {AFTER_DATA}");
        }
        events.push(RawEvent {
            recipient: recipient.clone(),
            timestamp: date,
            smtp_code,
            status: status.map(|s| format!("{}.{}.{}", s.class, s.subject, s.detail)),
            class: classify(smtp_code, status, &words),
            diagnostic,
        });
    }
    Ok(events)
}

/// Where `address` (lowercase) is first named in `lower` at or after `from`, as a whole address
/// (`a@x.org` is not named inside `ba@x.org`).
fn mention_after(lower: &str, address: &str, from: usize) -> Option<usize> {
    let part = |c: char| c.is_alphanumeric() || "._%+-'".contains(c);
    let mut at = from;
    while let Some(found) = lower.get(at..)?.find(address) {
        let start = at + found;
        let before = lower[..start].chars().next_back();
        if !before.is_some_and(part) {
            return Some(start);
        }
        at = start + address.len();
    }
    None
}

/// The words of a notice about one of its several recipients, whose own part (from its first
/// mention to the next recipient's) is `own`: that part when it carries a reply or words a rule
/// knows; else a later line that names the recipient with a reply (Sendmail lists the
/// addresses, then the transcript); else the whole notice, but only when the recipient's part
/// says nothing but the address ("failed: a, b. Reason: 550 ..."). A part with words of its own
/// that no rule knows is not given another recipient's reply: it stays the default.
fn words_about<'a>(
    notice: &'a str,
    own: &'a str,
    end: usize,
    recipient: &str,
) -> std::borrow::Cow<'a, str> {
    use std::borrow::Cow;
    if has_reply(own) {
        return Cow::Borrowed(own);
    }
    if let Some(line) = notice
        .get(end..)
        .and_then(|rest| line_about(rest, recipient))
    {
        return Cow::Owned(line);
    }
    if classify_explained(None, None, own).1 != Rule::Default {
        return Cow::Borrowed(own);
    }
    let lower = own.to_lowercase();
    let rest = lower.replacen(&recipient.to_lowercase(), "", 1);
    let says_something = rest
        .split(|c: char| !c.is_alphabetic())
        .any(|w| w.chars().count() >= 3);
    // The list's reason comes after the list: a last address with nothing after it is not in a
    // list (a help desk's address at the end of the notice).
    let reason_follows = notice.get(end..).is_some_and(has_reply);
    if says_something || !reason_follows {
        Cow::Borrowed(own)
    } else {
        Cow::Borrowed(notice)
    }
}

/// Whether `text` holds an SMTP reply code or an enhanced status code.
fn has_reply(text: &str) -> bool {
    find_reply_code(text).is_some() || find_enhanced(text).is_some()
}

/// Where a returned message's header block starts in a notice that gives it without a marker
/// (`lower`: the notice lowercased): the first line that begins with `Received:` or
/// `Return-Path:`, header names that only a message's header block carries.
fn returned_headers_at(lower: &str) -> Option<usize> {
    let mut at = 0;
    for line in lower.split_inclusive('\n') {
        if line.starts_with("received:") || line.starts_with("return-path:") {
            return Some(at);
        }
        at += line.len();
    }
    None
}

/// Whether `address` is a help or abuse desk of the reporting system's own domain (`reporter`).
fn reporters_role(address: &str, reporter: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    !reporter.is_empty()
        && domain.eq_ignore_ascii_case(reporter)
        && [
            "abuse",
            "support",
            "help",
            "helpdesk",
            "hostmaster",
            "webmaster",
            "noc",
            "security",
            "admin",
            "administrator",
            "mailadmin",
        ]
        .iter()
        .any(|r| local.eq_ignore_ascii_case(r))
}

/// Whether a plain-text message says a delivery failed: a reply code or status in the notice,
/// words a rule knows, a mail daemon or postmaster as the sender, a bounce's subject, or an
/// `X-Failed-Recipients` header. A person's message that names addresses (a helpdesk writing
/// "please remove x@y") is none of these and gives no event.
fn says_it_failed(mail: &ParsedMail, notice: &str) -> bool {
    if has_reply(notice)
        || header(mail, "X-Failed-Recipients").is_some()
        || classify_explained(None, None, notice).1 != Rule::Default
    {
        return true;
    }
    let from = header(mail, "From").unwrap_or_default().to_lowercase();
    let subject = header(mail, "Subject").unwrap_or_default().to_lowercase();
    [
        "mailer-daemon",
        "postmaster",
        "mail delivery",
        "mail-daemon",
        "mdaemon",
    ]
    .iter()
    .any(|w| from.contains(w))
        || BOUNCE_SUBJECT_WORDS.iter().any(|w| subject.contains(w))
}

/// Words of a bounce's subject, in the languages of the dead-address texts.
const BOUNCE_SUBJECT_WORDS: &[&str] = &[
    "undeliver",
    "undelivered",
    "not delivered",
    "delivery",
    "failure",
    "failed",
    "returned",
    "rejected",
    "bounce",
    "unzustellbar",
    "nicht zugestellt",
    "non remis",
    "non distribuable",
    "no entregado",
    "no se pudo entregar",
    "non recapitato",
    "não entregue",
    "onbestelbaar",
    "не доставлено",
    "недоставлен",
    "配信",
    "送信失敗",
    "退信",
];

/// Aliases and the address each was generated from: Exim's `alias@x (generated from
/// sub@y)`, Postfix's `<alias@x> (expanded from <sub@y>)`. The subscribed address is the one to
/// suppress. Each entry: the alias, the subscribed address, where the subscribed one starts.
fn generated_from(text: &str) -> Vec<(String, String, usize)> {
    static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
    let re = RE.get_or_init(|| {
        regex::Regex::new(&format!(
            r"(?i)<?({ADDRESS})>?\s*\(\s*(?:generated|expanded)\s+from:?\s*<?({ADDRESS})>?\s*\)"
        ))
        .expect("generated-from pattern")
    });
    re.captures_iter(text)
        .filter_map(|c| {
            let (alias, from) = (c.get(1)?, c.get(2)?);
            Some((
                alias.as_str().to_owned(),
                from.as_str().to_owned(),
                from.start(),
            ))
        })
        .collect()
}

/// `text` without the header lines of a returned message (and their folded continuations):
/// their values (`X-Mailman-Version: 2.0.13`, dates, IDs) are not replies or status codes.
fn without_header_lines(text: &str) -> std::borrow::Cow<'_, str> {
    const HEADERS: &[&str] = &[
        "received",
        "date",
        "message-id",
        "mime-version",
        "user-agent",
        "subject",
        "references",
        "in-reply-to",
        "dkim-signature",
        "authentication-results",
        "return-path",
        "thread-index",
        "thread-topic",
        "importance",
        "precedence",
        "organization",
    ];
    let is_header = |line: &str| {
        let Some((name, _)) = line.split_once(':') else {
            return false;
        };
        let name = name.to_ascii_lowercase();
        !name.is_empty()
            && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && (name.starts_with("x-")
                || name.starts_with("content-")
                || name.starts_with("list-")
                || name.starts_with("arc-")
                || HEADERS.contains(&name.as_str()))
    };
    if !text.lines().any(is_header) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut skipping = false;
    for line in text.split_inclusive('\n') {
        skipping = is_header(line) || (skipping && line.starts_with([' ', '\t']));
        if !skipping {
            out.push_str(line);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// The addresses on `Message-ID:`, `In-Reply-To:`, `References:` (and `X-` variants) lines
/// anywhere in `text`, lowercased: the IDs of messages, which look like addresses.
fn message_id_addresses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_header = false;
    for line in text.lines() {
        let lower = line.trim_start().to_ascii_lowercase();
        let starts = [
            "message-id:",
            "in-reply-to:",
            "references:",
            "x-message-id:",
            "original-message-id:",
        ]
        .iter()
        .any(|h| lower.starts_with(h));
        // A folded header goes on on lines that start with white space.
        in_header = starts || (in_header && line.starts_with([' ', '\t']));
        if in_header {
            out.extend(
                address_regex()
                    .find_iter(line)
                    .map(|m| m.as_str().trim_end_matches('.').to_ascii_lowercase()),
            );
        }
    }
    out
}

/// Whether a local part looks like a message ID's left side rather than a mailbox: 12 or more
/// characters of hex digits, dots, dashes and underscores with a digit among them
/// (`66681288.e06d1.3824794`, `0AE85451-E088-48AE-804E-1F4B713B6C63`). Numeric mailboxes (QQ's)
/// have at most 11 digits.
fn looks_like_message_id(local: &str) -> bool {
    local.len() >= 12
        && local.bytes().any(|b| b.is_ascii_digit())
        && local
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || matches!(b, b'.' | b'-' | b'_'))
}

/// A damaged SES notification: the type and the recipients read from the JSON text itself.
fn ses_fragments(text: &str, date: Option<i64>) -> Option<Vec<RawEvent>> {
    let class = if text.contains("\"notificationType\":\"Complaint\"") {
        EventClass::Complaint
    } else {
        return None;
    };
    let re = regex::Regex::new(r#""complainedRecipients":\[\{"emailAddress":"([^"]+)""#).ok()?;
    let events: Vec<RawEvent> = re
        .captures_iter(text)
        .map(|c| RawEvent {
            recipient: c[1].to_owned(),
            timestamp: date,
            smtp_code: None,
            status: None,
            diagnostic: "SES complaint".to_owned(),
            class,
        })
        .collect();
    (!events.is_empty()).then_some(events)
}

/// The line holding the remote server's reply, with its continuation.
fn reply_line(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if find_reply_code(line).is_some() && line.len() > 4 {
            let mut s = line.trim().to_owned();
            for next in lines.iter().skip(i + 1).take(2) {
                // A continuation, unless it starts another reply.
                if next.starts_with([' ', '\t'])
                    && !next.trim().is_empty()
                    && find_reply_code(next).is_none()
                {
                    s.push(' ');
                    s.push_str(next.trim());
                }
            }
            return Some(truncate(s));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dsn_with_two_recipients() {
        let msg = "From: MAILER-DAEMON@mx.corp-mail.net\r\nTo: sender@shop.com\r\nDate: Tue, 3 Sep 2024 10:00:00 +0000\r\nSubject: Undelivered Mail\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.corp-mail.net\r\nArrival-Date: Tue, 3 Sep 2024 09:59:00 +0000\r\n\r\nFinal-Recipient: rfc822; ann@corp-mail.net\r\nAction: failed\r\nStatus: 5.0.0\r\nDiagnostic-Code: smtp; 550 5.1.1 <ann@corp-mail.net>: Recipient address\r\n rejected: User unknown\r\n\r\nFinal-Recipient: rfc822; bo@corp-mail.net\r\nAction: delayed\r\nStatus: 4.2.2\r\nDiagnostic-Code: smtp; 452 4.2.2 Mailbox full\r\n--b--\r\n";
        let events = parse_message(msg.as_bytes()).unwrap();
        assert_eq!(events.len(), 2);
        assert_eq!(events[0].recipient, "ann@corp-mail.net");
        assert_eq!(events[0].status.as_deref(), Some("5.1.1"));
        assert_eq!(events[0].smtp_code, Some(550));
        assert_eq!(events[0].class, EventClass::Dead);
        assert!(events[0]
            .diagnostic
            .contains("Recipient address rejected: User unknown"));
        assert_eq!(events[0].timestamp, Some(1725357540));
        assert_eq!(events[1].class, EventClass::Transient);
    }

    #[test]
    fn auto_reply_is_not_a_bounce() {
        let msg = "From: Ann <ann@corp-mail.net>\r\nTo: news@shop.com\r\nSubject: Out of Office: your newsletter\r\nAuto-Submitted: auto-replied\r\n\r\nI am away until Monday.\r\n";
        let events = parse_message(msg.as_bytes()).unwrap();
        assert_eq!(events[0].class, EventClass::NotABounce);
        assert_eq!(events[0].recipient, "ann@corp-mail.net");
    }

    #[test]
    fn plain_text_bounce() {
        let msg = "From: MAILER-DAEMON@mail.shop.com\r\nTo: news@shop.com\r\nSubject: failure notice\r\n\r\nHi. This is the qmail-send program.\r\n\r\n<gone@corp-mail.net>:\r\n192.0.2.9 does not like recipient.\r\nRemote host said: 550 5.1.1 No such user here\r\n\r\n--- Below this line is a copy of the message.\r\n\r\nTo: gone@corp-mail.net\r\n";
        let events = parse_message(msg.as_bytes()).unwrap();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].recipient, "gone@corp-mail.net");
        assert_eq!(events[0].class, EventClass::Dead);
        assert_eq!(events[0].diagnostic, "550 5.1.1 No such user here");
    }

    #[test]
    fn an_ordinary_email_is_an_error() {
        let msg =
            "From: ann@corp-mail.net\r\nTo: bo@corp-mail.net\r\nSubject: lunch\r\n\r\nNoon?\r\n";
        assert!(parse_message(msg.as_bytes())
            .unwrap_err()
            .contains("not a bounce"));
    }
}

#[cfg(test)]
mod recipient_tests {
    use super::*;

    fn plain(body: &str) -> Vec<RawEvent> {
        let msg = format!(
            "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@shop.example\r\nSubject: Undeliverable\r\nMessage-ID: <20240101.1234ABCD@mx.example.org>\r\n\r\n{body}"
        );
        parse_message(msg.as_bytes()).unwrap()
    }

    /// Each event's recipient and class, in order.
    fn classes(events: &[RawEvent]) -> Vec<(&str, EventClass)> {
        events
            .iter()
            .map(|e| (e.recipient.as_str(), e.class))
            .collect()
    }

    fn recipients(body: &str) -> Vec<String> {
        plain(body).into_iter().map(|e| e.recipient).collect()
    }

    #[test]
    fn a_reply_about_the_senders_own_domain_is_sender_side() {
        // The notice goes to sender@shop.example: a reply that names shop.example as not
        // existing refused the sender (sender verification), not the subscriber.
        let e = plain("The following address failed:\n  kijitora@example.jp\n    host mx.example.jp\n    553 5.1.0 sender shop.example does not exist\n");
        assert_eq!(e[0].recipient, "kijitora@example.jp");
        assert_eq!(e[0].class, EventClass::SenderSide, "{:?}", e[0].diagnostic);
        // The same words said after end of data (soft by that rule) are still about the sender.
        let e = plain("The following address failed:\n  kijitora@example.jp\n    host mx.example.jp\n    SMTP error from remote mail server after end of data:\n    553 shop.example does not exist\n");
        assert_eq!(e[0].class, EventClass::SenderSide, "{:?}", e[0].diagnostic);
        // A soft reply that is not dead words keeps its class.
        let e = plain("The following address failed:\n  kijitora@example.jp: 552 mailbox full (shop.example)\n");
        assert_eq!(
            e[0].class,
            EventClass::RecipientSoft,
            "{:?}",
            e[0].diagnostic
        );
        // The sender's domain inside an address (an alias that failed there), or beside the
        // recipient's own domain, leaves the reply about the recipient.
        for body in [
            "The following address failed:\n  kijitora@example.jp: 550 5.1.1 <gone@shop.example>... User unknown\n",
            "The following address failed:\n  kijitora@example.jp: 550 example.jp does not exist (asked by shop.example)\n",
            "The following address failed:\n  kijitora@example.jp: 550 5.1.1 shop.examples does not exist\n",
        ] {
            let e = plain(body);
            assert_eq!(e[0].class, EventClass::Dead, "{body}");
        }
    }

    #[test]
    fn message_ids_are_not_recipients() {
        let r = recipients(
            "The following address failed:\n  kijitora@example.jp: 550 5.1.1 User unknown\n\nMessage-ID: <66681288.e06d1.3824794@df.example.jp>\nReferences: <0AE85451-E088-48AE-804E-1F4B713B6C63@example.jp>\n<000000000000000000@example.org>\n",
        );
        assert_eq!(r, ["kijitora@example.jp"]);
    }

    #[test]
    fn quoted_senders_and_headers_are_not_recipients() {
        // GroupWise / Exchange: "Your message To: list@..." quotes the message, and the
        // notice names the failed recipient again.
        let r = recipients(
            "Your message\n  To:      list@example.org\n  Subject: Hi\ndid not reach the following recipient(s):\nkijitora@example.com on Thu, 9 May 2005\n    550 5.1.1 The recipient name is not recognized\n",
        );
        assert_eq!(r, ["kijitora@example.com"]);
        let r = recipients(
            "A message sent by <sender@shop.example> to kijitora@example.jp could not be delivered.\n550 5.1.1 unknown user\n",
        );
        assert_eq!(r, ["kijitora@example.jp"]);
        let r = recipients(
            "kijitora@neko.example.jp: 550 Domain does not exist\n\n------- Returned Message --------\nReceived: from mx by relay with SMTP id 1\n    for <shironeko@example.co.jp>; Thu, 29 Apr 1999\nTo: \"Kijitora\" <kijitora@example.jp>\n",
        );
        assert_eq!(r, ["kijitora@neko.example.jp"]);
    }

    #[test]
    fn one_recipients_words_are_not_applied_to_another() {
        let msg = "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@shop.example\r\nSubject: Delivery Status Notification\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n    gone@example.org: 550 5.1.1 <gone@example.org>: Recipient address rejected: User unknown\r\n    full@example.org: 552 5.2.2 <full@example.org>: Recipient address rejected: Mailbox full\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; gone@example.org\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\nFinal-Recipient: rfc822; full@example.org\r\nAction: failed\r\nStatus: 5.2.2\r\n--b--\r\n";
        let events = parse_message(msg.as_bytes()).unwrap();
        let classes: Vec<(String, EventClass)> =
            events.into_iter().map(|e| (e.recipient, e.class)).collect();
        assert_eq!(
            classes,
            [
                ("gone@example.org".to_owned(), EventClass::Dead),
                ("full@example.org".to_owned(), EventClass::RecipientSoft)
            ]
        );
    }

    #[test]
    fn a_recipients_own_words_are_not_given_anothers_code() {
        let qmail = |second: &str| {
            plain(&format!("Hi. This is the qmail-send program at mx.example.net.\nI'm afraid I wasn't able to deliver your message to the following addresses.\nThis is a permanent error; I've given up. Sorry it didn't work out.\n\n<gone@example.org>:\nSorry, no mailbox here by that name. (#5.1.1)\n\n<other@example.org>:\n{second}\n\n--- Below this line is a copy of the message.\n\nFrom: news@shop.example\n"))
        };
        // Words of its own that a rule knows decide, without the other block's code.
        let e = qmail("user is over quota");
        assert_eq!(e[1].class, EventClass::RecipientSoft, "{:?}", e[1]);
        assert_eq!(e[1].status, None, "{:?}", e[1]);
        assert_eq!(e[1].diagnostic, "other@example.org>: user is over quota");
        // Words no rule knows: the default, not the 5.1.1 of the address above it.
        let e = qmail("The remote server did something unexpected with this one.");
        assert_eq!(
            classes(&e),
            [
                ("gone@example.org", EventClass::Dead),
                ("other@example.org", EventClass::RecipientSoft)
            ]
        );
        assert_eq!(e[1].status, None, "{:?}", e[1]);
        // Addresses listed bare, then one reason: the reason is every one's.
        let e = plain("Delivery to the following recipients failed permanently:\n\n    a@example.org\n    b@example.org\n\nTechnical details of permanent failure:\n550 5.1.1 The email account that you tried to reach does not exist.\n");
        assert_eq!(
            classes(&e),
            [
                ("a@example.org", EventClass::Dead),
                ("b@example.org", EventClass::Dead)
            ]
        );
        // Addresses listed bare, then a transcript that names each: each its own reply.
        let e = plain("----- The following addresses had permanent fatal errors -----\n<a@example.org>\n<b@example.org>\n\n----- Transcript of session follows -----\n>>> RCPT To:<a@example.org>\n<<< 552 5.2.2 <a@example.org>... Mailbox full\n>>> RCPT To:<b@example.org>\n<<< 550 5.1.1 <b@example.org>... User unknown\n");
        assert_eq!(
            classes(&e),
            [
                ("a@example.org", EventClass::RecipientSoft),
                ("b@example.org", EventClass::Dead)
            ]
        );
    }

    #[test]
    fn a_complaint_names_one_complainant_or_none() {
        let arf = |kind: &str, extra: &str, to: &str| {
            let msg = format!("From: fbl@isp.example\r\nTo: abuse@shop.example\r\nSubject: FBL report\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=feedback-report; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nAn abuse report.\r\n--b\r\nContent-Type: message/feedback-report\r\n\r\nFeedback-Type: {kind}\r\nUser-Agent: FBL/1.0\r\nVersion: 1\r\n{extra}\r\n--b\r\nContent-Type: message/rfc822\r\n\r\nFrom: news@shop.example\r\nTo: {to}\r\nSubject: Deals\r\n\r\nBuy now.\r\n--b--\r\n");
            parse_message(msg.as_bytes())
        };
        let e = arf("abuse", "", "\"Lee, Ann\" <ann@acme-mail.com>").unwrap();
        assert_eq!(classes(&e), [("ann@acme-mail.com", EventClass::Complaint)]);
        let err = arf("abuse", "", "vic@acme-mail.com, wes@acme-mail.com").unwrap_err();
        assert!(err.contains("2 recipients"), "{err}");
        let e = arf(
            "abuse",
            "Original-Rcpt-To: wes@acme-mail.com",
            "vic@acme-mail.com, wes@acme-mail.com",
        )
        .unwrap();
        assert_eq!(classes(&e), [("wes@acme-mail.com", EventClass::Complaint)]);
        let e = arf("virus", "", "ab@acme-mail.com").unwrap();
        assert_eq!(classes(&e), [("ab@acme-mail.com", EventClass::SenderSide)]);
    }

    #[test]
    fn a_read_receipt_and_a_delay_warning_remove_no_one() {
        let msg = "From: mona@example.org\r\nTo: news@shop.example\r\nSubject: Read: Newsletter\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=disposition-notification; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nYour message was read.\r\n--b\r\nContent-Type: message/disposition-notification\r\n\r\nReporting-UA: mail.example.org; Outlook\r\nFinal-Recipient: rfc822; mona@example.org\r\nDisposition: manual-action/MDN-sent-manually; displayed\r\n--b--\r\n";
        let e = parse_message(msg.as_bytes()).unwrap();
        assert_eq!(classes(&e), [("mona@example.org", EventClass::NotABounce)]);
        let e = plain("THIS IS A WARNING MESSAGE ONLY. YOU DO NOT NEED TO RESEND YOUR MESSAGE.\nDelivery to the following recipients has been delayed.\n\n     nina@example.org\n\nMessage will be retried for 2 more day(s)\n");
        assert_eq!(classes(&e), [("nina@example.org", EventClass::Transient)]);
    }

    #[test]
    fn the_reporting_systems_desks_are_not_recipients() {
        // The reporter is mx.example.org (see `plain`): its support and abuse desks named after
        // the failure are not failed recipients, and the last of them gets no one's reply.
        let e = plain("We could not deliver your message to dave@example.org: 550 5.1.1 mailbox unavailable.\n\nIf you need assistance, write to support@mx.example.org.\nQuestions about this service: abuse@mx.example.org\n");
        assert_eq!(classes(&e), [("dave@example.org", EventClass::Dead)]);
        // An address after the failure with nothing after it is not given the failure's reply.
        let e = plain("We could not deliver your message to dave@example.org: 550 5.1.1 mailbox unavailable.\nQuestions: ask desk@other-isp.example\n");
        assert_eq!(
            classes(&e)[1],
            ("desk@other-isp.example", EventClass::RecipientSoft)
        );
        // The desk is the recipient when the notice names no one else.
        let e = plain("<abuse@mx.example.org>: 550 5.1.1 User unknown\n");
        assert_eq!(classes(&e), [("abuse@mx.example.org", EventClass::Dead)]);
    }

    #[test]
    fn a_returned_header_block_without_a_marker_names_no_recipients() {
        let e = plain("The following message could not be delivered to erin@example.org: 550 User unknown\n\nReceived: by mx.shop.example with SMTP id 123\nFrom: news@shop.example\nTo: erin@example.org\nCc: frank@example.org\nReply-To: replies@shop.example\nSubject: Newsletter\n\nForward this to a friend, or write to us at hello@shop.example.\n");
        assert_eq!(classes(&e), [("erin@example.org", EventClass::Dead)]);
    }

    #[test]
    fn a_persons_message_that_names_addresses_is_not_a_bounce() {
        let msg = "From: Helpdesk <helpdesk@corp.example.com>\r\nTo: news@shop.example\r\nSubject: FW: your newsletter\r\n\r\nHi, please take gina@corp.example.com off your list, she left. Thanks, Hank (hank@corp.example.com)\r\n";
        let err = parse_message(msg.as_bytes()).unwrap_err();
        assert!(err.contains("not a bounce"), "{err}");
        // The same words from a mail daemon, or with a bounce's subject, are read.
        for (from, subject) in [
            ("MAILER-DAEMON@corp.example.com", "FW: your newsletter"),
            (
                "Helpdesk <helpdesk@corp.example.com>",
                "Undelivered Mail Returned to Sender",
            ),
        ] {
            let msg = format!("From: {from}\r\nTo: news@shop.example\r\nSubject: {subject}\r\n\r\nDelivery to gina@corp.example.com did not work out.\r\n");
            let e = parse_message(msg.as_bytes()).unwrap();
            assert_eq!(e[0].recipient, "gina@corp.example.com");
        }
    }

    fn dsn(blocks: &str) -> Vec<RawEvent> {
        let msg = format!("From: MAILER-DAEMON@mx.example.org\r\nTo: sender@shop.example\r\nSubject: Delivery Status Notification (Failure)\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nDelivery has failed.\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\n{blocks}--b--\r\n");
        parse_message(msg.as_bytes()).unwrap()
    }

    #[test]
    fn an_x400_final_recipient_gives_way_to_the_rfc822_original() {
        let e = dsn("Original-Recipient: rfc822;tanaka@example.co.jp\r\nFinal-Recipient: x400; /c=JP/admd= /prmd=EXAMPLE/o=CORP/s=Tanaka/\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n");
        assert_eq!(e.len(), 1);
        assert_eq!(
            (e[0].recipient.as_str(), e[0].class),
            ("tanaka@example.co.jp", EventClass::Dead)
        );
        // An X.400 address that carries the RFC 822 one in its RFC-822 attribute.
        let e = dsn("Final-Recipient: x400; /c=US/admd= /prmd=ACME/o=Mail/RFC-822=ann.lee(a)acme-mail.com/\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n");
        assert_eq!(e[0].recipient, "ann.lee@acme-mail.com");
    }

    #[test]
    fn a_final_recipient_with_a_comment_or_needless_quotes_is_the_plain_address() {
        for value in [
            "rfc822; sam@acme-mail.com (Sam Smith)",
            "rfc822; \"sam\"@acme-mail.com",
            "rfc822;<sam@acme-mail.com>",
        ] {
            let e = dsn(&format!(
                "Final-Recipient: {value}\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            ));
            assert_eq!(
                classes(&e),
                [("sam@acme-mail.com", EventClass::Dead)],
                "{value}"
            );
        }
        // Quotes that are needed stay.
        assert_eq!(
            typed_address("rfc822; \"sam smith\"@acme-mail.com").as_deref(),
            Some("\"sam smith\"@acme-mail.com")
        );
    }

    #[test]
    fn exchange_dda_smtp_prefixes_are_not_part_of_the_address() {
        let e = dsn("Final-Recipient: rfc822; dda:SMTP=ann.lee@acme-mail.com\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n");
        assert_eq!(e[0].recipient, "ann.lee@acme-mail.com");
        let r = recipients("Delivery to the following recipients failed.\n\n       dda:SMTP=bo.kim@acme-mail.com\n\n#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n");
        assert_eq!(r, ["bo.kim@acme-mail.com"]);
        let r = recipients(
            "The recipient SMTP:cy@acme-mail.com was not found: 550 5.1.1 no such user\n",
        );
        assert_eq!(r, ["cy@acme-mail.com"]);
    }

    #[test]
    fn the_subscribed_address_is_the_one_an_alias_was_generated_from() {
        // Exim: the local delivery failed for the address an alias expanded to.
        let r = plain("This message was created automatically by mail delivery software.\n\nA message that you sent could not be delivered to one or more of its\nrecipients. This is a permanent error. The following address(es) failed:\n\n  ann.internal@mbox.acme-mail.com\n    (generated from ann@acme-mail.com)\n    SMTP error from remote mail server after RCPT TO:<ann.internal@mbox.acme-mail.com>:\n    550 5.1.1 User unknown\n");
        let got = classes(&r);
        assert_eq!(got, [("ann@acme-mail.com", EventClass::Dead)]);
        // The same with Exim's X-Failed-Recipients header, which names the alias's target.
        let msg = "From: Mail Delivery System <Mailer-Daemon@mx.acme-mail.com>\r\nTo: sender@shop.example\r\nSubject: Mail delivery failed: returning message to sender\r\nX-Failed-Recipients: ann.internal@mbox.acme-mail.com\r\n\r\nThe following address(es) failed:\r\n\r\n  ann.internal@mbox.acme-mail.com\r\n    (generated from ann@acme-mail.com)\r\n    550 5.1.1 User unknown\r\n";
        let e = parse_message(msg.as_bytes()).unwrap();
        assert_eq!(classes(&e), [("ann@acme-mail.com", EventClass::Dead)]);
        // Postfix: "(expanded from <X>)".
        let r = recipients("I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<bo.home@isp-mail.net> (expanded from <bo@acme-mail.com>): host\n    mx.isp-mail.net[192.0.2.7] said: 550 5.1.1 <bo.home@isp-mail.net>:\n    Recipient address rejected: User unknown in local recipient table\n");
        assert_eq!(r, ["bo@acme-mail.com"]);
        let r = recipients(
            "<cy.box@acme-mail.com> (expanded from: cy@acme-mail.com): 550 5.1.1 unknown user\n",
        );
        assert_eq!(r, ["cy@acme-mail.com"]);
    }

    #[test]
    fn a_dsn_forwarded_as_an_attachment_is_read() {
        let inner = "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@shop.example\r\nSubject: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"in\"\r\n\r\n--in\r\nContent-Type: text/plain\r\n\r\nSorry.\r\n--in\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; gone@acme-mail.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\r\n--in--\r\n";
        let msg = format!("From: Helpdesk <help@shop.example>\r\nTo: lists@shop.example\r\nSubject: Fwd: Undelivered Mail Returned to Sender\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"out\"\r\n\r\n--out\r\nContent-Type: text/plain\r\n\r\nForwarding this bounce, see attached. Call me at help@shop.example.\r\n--out\r\nContent-Type: message/rfc822\r\n\r\n{inner}\r\n--out--\r\n");
        let e = parse_message(msg.as_bytes()).unwrap();
        let got = classes(&e);
        assert_eq!(got, [("gone@acme-mail.com", EventClass::Dead)]);
    }

    #[test]
    fn an_html_only_notice_is_read() {
        let msg = "From: postmaster@mail.acme-mail.com\r\nTo: sender@shop.example\r\nSubject: Undeliverable: Autumn sale\r\nMIME-Version: 1.0\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p><b>Your message to <a href=\"mailto:dan@acme-mail.com\">dan@acme-mail.com</a> couldn&#39;t be delivered.</b></p><p>dan wasn't found at acme-mail.com.</p><table><tr><td>Remote server returned</td><td>550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup</td></tr></table></body></html>\r\n";
        let e = parse_message(msg.as_bytes()).unwrap();
        let got = classes(&e);
        assert_eq!(got, [("dan@acme-mail.com", EventClass::Dead)]);
        assert!(
            e[0].diagnostic.starts_with("550 5.1.10"),
            "{}",
            e[0].diagnostic
        );
    }

    #[test]
    fn header_values_are_not_status_codes() {
        let e = plain("The following address failed:\n\n  ann@acme-mail.com: mailbox unavailable\n\nX-Mailman-Version: 2.0.13\nX-Mailer: Mailer 4.2.1\nMIME-Version: 1.0\n");
        assert_eq!(e.len(), 1);
        assert_ne!(e[0].class, EventClass::Delivered, "{:?}", e[0]);
        assert_eq!(e[0].status, None);
    }

    #[test]
    fn a_report_with_a_broken_boundary_is_read_from_its_fields() {
        // The second boundary is indented, so the whole report reads as one text part.
        let msg = "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@shop.example\r\nSubject: Returned mail: User unknown\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\r\n\r\n--B1\r\nContent-Type: text/plain\r\n\r\n   ----- The following addresses had delivery problems -----\r\n<gone@acme-mail.com> (unrecoverable error)\r\n\r\n --B1\r\ncontent-type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822;gone@acme-mail.com\r\nAction: failed\r\nStatus: 5.0.0\r\nDiagnostic-Code: smtp; 550 'gone@acme-mail.com' is not a known user\r\n\r\nFinal-Recipient: rfc822;late@acme-mail.com\r\nAction: delayed\r\nStatus: 4.0.0 (acme-mail.com: host name lookup failure)\r\n\r\n--B1--\r\n";
        let e = parse_message(msg.as_bytes()).unwrap();
        let got = classes(&e);
        assert_eq!(
            got,
            [
                ("gone@acme-mail.com", EventClass::Dead),
                ("late@acme-mail.com", EventClass::Transient)
            ]
        );
    }

    #[test]
    fn quotes_around_an_address_are_not_part_of_it() {
        let r = recipients("Delivery failed: 550 'gone@acme-mail.com' is not a known user\n");
        assert_eq!(r, ["gone@acme-mail.com"]);
    }

    #[test]
    fn recipient_blocks_without_a_blank_line_between_them_are_two() {
        let e = dsn("Final-Recipient: rfc822; full@acme-mail.com\r\nAction: failed\r\nStatus: 5.2.2\r\nDiagnostic-Code: smtp; 550 5.2.2 Mailbox Full\r\nFinal-Recipient: rfc822; gone@acme-mail.com\r\nAction: failed\r\nStatus: 5.1.1\r\nDiagnostic-Code: smtp; 550 5.1.1 User Unknown\r\n\r\n");
        let got = classes(&e);
        assert_eq!(
            got,
            [
                ("full@acme-mail.com", EventClass::RecipientSoft),
                ("gone@acme-mail.com", EventClass::Dead)
            ]
        );
    }

    #[test]
    fn user_unknown_in_reply_to_data_is_a_filter_not_a_dead_address() {
        let transcript = |command: &str| {
            plain(&format!("----- The following addresses had permanent fatal errors -----\n<kijitora@carrier-mail.jp>\n\n----- Transcript of session follows -----\n... while talking to mx.carrier-mail.jp.:\n>>> MAIL From:<news@shop.example>\n<<< 250 ok\n{command}<<< 550 Unknown user kijitora@carrier-mail.jp\n"))
        };
        let e = transcript(">>> RCPT To:<kijitora@carrier-mail.jp>\n<<< 250 ok\n>>> DATA\n<<< 354 go ahead\n>>> .\n");
        assert_eq!(e[0].class, EventClass::RecipientSoft, "{:?}", e[0]);
        assert!(
            e[0].diagnostic
                .ends_with("(in reply to end of DATA command)"),
            "{}",
            e[0].diagnostic
        );
        let e = transcript(">>> RCPT To:<kijitora@carrier-mail.jp>\n");
        assert_eq!(e[0].class, EventClass::Dead, "{:?}", e[0]);
        // A DSN whose notice holds the transcript.
        let msg = "From: MAILER-DAEMON@mx.example.org\r\nTo: sender@shop.example\r\nSubject: Returned mail: see transcript for details\r\nMIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"b\"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n----- Transcript of session follows -----\r\n>>> DATA\r\n<<< 550 Unknown user gone@carrier-mail.jp\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.org\r\n\r\nFinal-Recipient: rfc822; gone@carrier-mail.jp\r\nAction: failed\r\nStatus: 5.2.0\r\nDiagnostic-Code: smtp; 550 Unknown user gone@carrier-mail.jp\r\n--b--\r\n";
        let e = parse_message(msg.as_bytes()).unwrap();
        assert_eq!(e[0].class, EventClass::RecipientSoft, "{:?}", e[0]);
    }
}

#[cfg(test)]
mod standard_report_tests {
    use super::*;
    use crate::testing::{mime_shaped, mutated};
    use proptest::prelude::*;

    /// A message that the reader without a MIME parser reads gives what the MIME parser's path
    /// gives: the same events, the same To. Gives whether it was read so.
    fn same_both_ways(raw: &[u8]) -> Result<bool, TestCaseError> {
        let Ok(fast) = standard_report(raw) else {
            return Ok(false);
        };
        let full = by_mailparse(raw, 0);
        prop_assert_eq!(
            Ok(fast),
            full,
            "message: {:?}",
            String::from_utf8_lossy(raw)
        );
        Ok(true)
    }

    fn corpus() -> Vec<(String, Vec<u8>)> {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/bounces/corpus");
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "eml"))
            .collect();
        files.sort();
        files
            .into_iter()
            .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
            .collect()
    }

    #[test]
    fn the_corpus_reads_the_same_both_ways() {
        let corpus = corpus();
        let mut read = 0;
        for (name, raw) in &corpus {
            if same_both_ways(raw).unwrap_or_else(|e| panic!("{name}: {e}")) {
                read += 1;
            }
        }
        // Sisimai's real DSNs: a good share must take the short way, or this test proves
        // nothing (and the short way helps no one).
        assert!(
            read >= 60,
            "{read} of {} corpus messages read without MIME parsing",
            corpus.len()
        );
    }

    #[test]
    fn the_generated_reports_read_the_same_both_ways() {
        let read = (0..3000u64)
            .filter(|seed| same_both_ways(&mime_shaped(*seed)).unwrap())
            .count();
        assert!(read > 120, "{read} of 3000 read without MIME parsing");
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 1500, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn mutated_reports_read_the_same_both_ways(
            which in any::<usize>(),
            seed in any::<u64>(),
            at in any::<usize>(),
            byte in prop_oneof![
                Just(b'\n'), Just(b' '), Just(b'-'), Just(b':'), Just(b';'), Just(b'<'),
                Just(b'@'), Just(0xD0), any::<u8>()
            ],
            how in 1..4u8,
        ) {
            let corpus = CORPUS.get_or_init(corpus);
            let raw = if which % 2 == 0 {
                corpus[which / 2 % corpus.len()].1.clone()
            } else {
                mime_shaped(seed)
            };
            same_both_ways(&mutated(raw, at, byte, how))?;
        }
    }

    static CORPUS: std::sync::OnceLock<Vec<(String, Vec<u8>)>> = std::sync::OnceLock::new();
}

#[cfg(test)]
mod report_lines_tests {
    use super::*;
    use proptest::prelude::*;

    /// Report-like text from the pieces the two readings could tell apart: line ends (LF,
    /// CRLF, lone CR, doubled), blank and white lines, folding, colons, repeated names and
    /// multi-byte text.
    fn report_text() -> impl Strategy<Value = String> {
        let piece = prop_oneof![
            Just("\n".to_owned()),
            Just("\r\n".to_owned()),
            Just("\r".to_owned()),
            Just("\n\n".to_owned()),
            Just(" \t\n".to_owned()),
            Just(" folded".to_owned()),
            Just("\tfolded".to_owned()),
            Just(":".to_owned()),
            Just("Status: 5.1.1".to_owned()),
            Just("status :4.2.2 ".to_owned()),
            Just("Final-Recipient: rfc822; a@b.com".to_owned()),
            Just("Diagnostic-Code: smtp; 550 5.1.1 Пользователь".to_owned()),
            "[a-zA-Z -]{0,12}",
            Just("\u{a0}".to_owned()),
        ];
        prop::collection::vec(piece, 0..40).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn report_lines_are_str_lines(text in report_text()) {
            let mut lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
            if text.is_empty() || text.ends_with('\n') {
                lines.push("");
            }
            prop_assert_eq!(report_lines(&text).collect::<Vec<_>>(), lines);
        }
    }
}
