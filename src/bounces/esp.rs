//! Sending platforms' event exports and suppression lists.
//!
//! JSON, one object per line, a JSON array, or one document: Amazon SES notifications (event
//! publishing `eventType` or SNS `notificationType`, also wrapped in an SNS envelope), SendGrid's
//! Event Webhook, Mailgun events (bare, in `event-data`, or listed in `items`), Postmark bounces
//! (bare, in a list, or in `Bounces`). CSV: SendGrid suppression exports (`created,email,
//! reason,status`), mailscrub's own `suppression.csv` and other earlier suppression files, and
//! unsubscribe lists (an email column, optionally a date).
//!
//! Events that say nothing about deliverability (opens, clicks, "processed") are skipped.

use serde_json::Value;

use super::classify::{classify, find_enhanced, find_reply_code, Enhanced, EventClass};
use super::event::{squash, RawEvent};

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

/// A timestamp as ESPs write it: RFC 3339 text, Unix seconds (int or float), or milliseconds.
pub fn parse_time(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::String(t) => chrono::DateTime::parse_from_rfc3339(t)
            .map(|d| d.timestamp())
            .ok()
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S")
                    .ok()
                    .map(|d| d.and_utc().timestamp())
            })
            .or_else(|| t.parse::<f64>().ok().map(|f| f as i64)),
        Value::Number(n) => {
            let f = n.as_f64()?;
            Some(if f > 1e11 {
                (f / 1000.0) as i64
            } else {
                f as i64
            })
        }
        _ => None,
    }
}

fn event(
    recipient: &str,
    timestamp: Option<i64>,
    text: &str,
    declared: Option<&str>,
    class: EventClass,
) -> Option<RawEvent> {
    if !recipient.contains('@') {
        return None;
    }
    let status = declared
        .and_then(|d| Enhanced::parse(d.split_whitespace().next().unwrap_or("")))
        .or_else(|| find_enhanced(text));
    Some(RawEvent {
        recipient: recipient.to_owned(),
        timestamp,
        smtp_code: find_reply_code(text),
        status: status.map(|e| format!("{}.{}.{}", e.class, e.subject, e.detail)),
        diagnostic: squash(text),
        class,
    })
}

fn classified(
    recipient: &str,
    timestamp: Option<i64>,
    text: &str,
    declared: Option<&str>,
) -> Option<RawEvent> {
    let status = declared
        .and_then(|d| Enhanced::parse(d.split_whitespace().next().unwrap_or("")))
        .or_else(|| find_enhanced(text));
    let class = classify(find_reply_code(text), status, text);
    event(recipient, timestamp, text, declared, class)
}

/// Which JSON dialect an object is in, if any.
pub fn json_kind(v: &Value) -> Option<&'static str> {
    if v.get("Type").and_then(Value::as_str) == Some("Notification") && v.get("Message").is_some() {
        return Some("ses");
    }
    if v.get("notificationType").is_some() || v.get("eventType").is_some() {
        return Some("ses");
    }
    if v.get("event-data").is_some() || (v.get("event").is_some() && v.get("recipient").is_some()) {
        return Some("mailgun");
    }
    if v.get("event").is_some() && v.get("email").is_some() {
        return Some("sendgrid");
    }
    if v.get("email").is_some()
        && v.get("reason").is_some()
        && (v.get("created").is_some() || v.get("status").is_some())
    {
        return Some("sendgrid_suppression");
    }
    if v.get("Type").is_some() && v.get("Email").is_some() {
        return Some("postmark");
    }
    if v.get("Bounces").is_some() {
        return Some("postmark");
    }
    if v.get("items").is_some() {
        return Some("mailgun");
    }
    None
}

/// The events of one JSON value (an object, or an array of objects).
pub fn json_events(v: &Value) -> Result<Vec<RawEvent>, String> {
    if let Value::Array(items) = v {
        let mut out = Vec::new();
        for item in items {
            out.extend(json_events(item)?);
        }
        return Ok(out);
    }
    match json_kind(v) {
        Some("ses") => ses(v),
        Some("sendgrid") => Ok(sendgrid(v).into_iter().collect()),
        Some("mailgun") => mailgun(v),
        Some("postmark") => postmark(v),
        Some("sendgrid_suppression") => Ok(sendgrid_suppression(v).into_iter().collect()),
        _ => {
            Err("a JSON object that is not an SES, SendGrid, Mailgun or Postmark event".to_owned())
        }
    }
}

fn ses(v: &Value) -> Result<Vec<RawEvent>, String> {
    if let Some(inner) = v.get("Message").and_then(Value::as_str) {
        let inner: Value = serde_json::from_str(inner)
            .map_err(|e| format!("SNS envelope with a Message that is not JSON: {e}"))?;
        return ses(&inner);
    }
    let kind = v
        .get("notificationType")
        .or_else(|| v.get("eventType"))
        .and_then(Value::as_str)
        .unwrap_or("");
    let mut out = Vec::new();
    match kind {
        "Bounce" => {
            let b = &v["bounce"];
            let ts =
                parse_time(b.get("timestamp")).or_else(|| parse_time(v["mail"].get("timestamp")));
            let kind = s(b, "bounceType");
            let sub = s(b, "bounceSubType");
            for r in b["bouncedRecipients"].as_array().into_iter().flatten() {
                let text = s(r, "diagnosticCode");
                let declared = Some(s(r, "status")).filter(|x| !x.is_empty());
                let class = match (kind, sub) {
                    ("Permanent", "MessageTooLarge" | "ContentRejected" | "AttachmentRejected") => {
                        EventClass::SenderSide
                    }
                    ("Permanent", "Suppressed" | "OnAccountSuppressionList") => {
                        EventClass::Suppressed
                    }
                    ("Permanent", _) => {
                        let c = classify(
                            find_reply_code(text),
                            declared
                                .and_then(Enhanced::parse)
                                .or_else(|| find_enhanced(text)),
                            text,
                        );
                        // SES calls it permanent; a text that blames the sender still wins.
                        if c == EventClass::SenderSide {
                            c
                        } else {
                            EventClass::Dead
                        }
                    }
                    ("Transient", "MailboxFull") => EventClass::RecipientSoft,
                    ("Transient", "MessageTooLarge" | "ContentRejected" | "AttachmentRejected") => {
                        EventClass::SenderSide
                    }
                    ("Transient", _) => match classify(
                        find_reply_code(text),
                        declared
                            .and_then(Enhanced::parse)
                            .or_else(|| find_enhanced(text)),
                        text,
                    ) {
                        EventClass::Dead => EventClass::RecipientSoft,
                        other => other,
                    },
                    _ => classify(
                        find_reply_code(text),
                        declared
                            .and_then(Enhanced::parse)
                            .or_else(|| find_enhanced(text)),
                        text,
                    ),
                };
                let text = if text.is_empty() {
                    format!("SES {kind}/{sub}")
                } else {
                    text.to_owned()
                };
                out.extend(event(s(r, "emailAddress"), ts, &text, declared, class));
            }
        }
        "Complaint" => {
            let c = &v["complaint"];
            let ts = parse_time(c.get("timestamp"));
            let feedback = s(c, "complaintFeedbackType");
            let class = if feedback == "not-spam" {
                EventClass::NotABounce
            } else {
                EventClass::Complaint
            };
            for r in c["complainedRecipients"].as_array().into_iter().flatten() {
                let text = format!(
                    "SES complaint{}",
                    if feedback.is_empty() {
                        String::new()
                    } else {
                        format!(": {feedback}")
                    }
                );
                out.extend(event(s(r, "emailAddress"), ts, &text, None, class));
            }
        }
        "Delivery" => {
            let d = &v["delivery"];
            let ts = parse_time(d.get("timestamp"));
            for r in d["recipients"].as_array().into_iter().flatten() {
                if let Some(addr) = r.as_str() {
                    out.extend(event(
                        addr,
                        ts,
                        s(d, "smtpResponse"),
                        None,
                        EventClass::Delivered,
                    ));
                }
            }
        }
        "DeliveryDelay" => {
            let d = &v["deliveryDelay"];
            let ts = parse_time(d.get("timestamp"));
            for r in d["delayedRecipients"].as_array().into_iter().flatten() {
                out.extend(event(
                    s(r, "emailAddress"),
                    ts,
                    s(r, "diagnosticCode"),
                    None,
                    EventClass::Transient,
                ));
            }
        }
        _ => {}
    }
    Ok(out)
}

fn sendgrid(v: &Value) -> Option<RawEvent> {
    let email = s(v, "email");
    let ts = parse_time(v.get("timestamp"));
    let reason = s(v, "reason");
    let status = Some(s(v, "status")).filter(|x| !x.is_empty());
    match s(v, "event") {
        "bounce" => {
            let kind = s(v, "type");
            let classification = s(v, "bounce_classification");
            if kind == "blocked"
                || matches!(
                    classification,
                    "Reputation" | "Content" | "Frequency or Volume" | "Technical"
                )
            {
                let class = if classification == "Frequency or Volume" {
                    EventClass::Transient
                } else {
                    EventClass::SenderSide
                };
                return event(email, ts, reason, status, class);
            }
            if classification == "Invalid Address" {
                return event(email, ts, reason, status, EventClass::Dead);
            }
            if classification == "Mailbox Unavailable" {
                return event(email, ts, reason, status, EventClass::RecipientSoft);
            }
            classified(email, ts, reason, status)
        }
        "dropped" => {
            // SendGrid's drop reasons: the address's own history (bounced, invalid,
            // unsubscribed, spam report), or the sender's request ("Invalid SMTPAPI header",
            // "Spam Content", "Recipient List over Package Quota"), which says nothing of it.
            let lower = reason.trim().to_ascii_lowercase();
            let invalid_address = lower == "invalid"
                || lower.contains("invalid email")
                || lower.contains("invalid address");
            let class = match reason {
                r if r.contains("Bounced") || invalid_address => EventClass::Suppressed,
                r if r.contains("Unsubscribed") => EventClass::Unsubscribe,
                r if r.contains("Spam Report") => EventClass::Complaint,
                _ => return None,
            };
            event(email, ts, reason, status, class)
        }
        "deferred" => event(email, ts, s(v, "response"), status, EventClass::Transient),
        "delivered" => event(email, ts, s(v, "response"), status, EventClass::Delivered),
        "spamreport" => event(
            email,
            ts,
            "SendGrid spam report",
            None,
            EventClass::Complaint,
        ),
        "unsubscribe" | "group_unsubscribe" => event(
            email,
            ts,
            "SendGrid unsubscribe",
            None,
            EventClass::Unsubscribe,
        ),
        _ => None,
    }
}

/// An entry of SendGrid's bounces / blocks / invalid-emails API or JSON export.
fn sendgrid_suppression(v: &Value) -> Option<RawEvent> {
    let email = s(v, "email");
    let ts = parse_time(v.get("created"));
    let reason = s(v, "reason");
    let status = v.get("status").and_then(|x| {
        x.as_str()
            .map(str::to_owned)
            .or_else(|| x.as_u64().map(|n| n.to_string()))
    });
    let text = match &status {
        Some(st) if !reason.contains(st.as_str()) => format!("{st} {reason}"),
        _ => reason.to_owned(),
    };
    classified(
        email,
        ts,
        &text,
        status.as_deref().filter(|x| x.contains('.')),
    )
}

fn mailgun(v: &Value) -> Result<Vec<RawEvent>, String> {
    if let Some(items) = v.get("items").and_then(Value::as_array) {
        let mut out = Vec::new();
        for item in items {
            out.extend(mailgun(item)?);
        }
        return Ok(out);
    }
    let v = v.get("event-data").unwrap_or(v);
    let recipient = s(v, "recipient");
    let ts = parse_time(v.get("timestamp"));
    let ds = &v["delivery-status"];
    let text = [s(ds, "message"), s(ds, "description")]
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let code = ds
        .get("code")
        .and_then(Value::as_u64)
        .map(|c| c.to_string())
        .unwrap_or_default();
    let text = format!("{code} {text}").trim().to_owned();
    let enhanced = Some(s(ds, "enhanced-code")).filter(|x| !x.is_empty());
    let ev = match s(v, "event") {
        "failed" => {
            let reason = s(v, "reason");
            let class = match (s(v, "severity"), reason) {
                (_, "suppress-bounce") => EventClass::Suppressed,
                (_, "suppress-complaint") => EventClass::Complaint,
                (_, "suppress-unsubscribe") => EventClass::Unsubscribe,
                ("temporary", _) => EventClass::Transient,
                _ => {
                    let c = classify(
                        find_reply_code(&text),
                        enhanced
                            .and_then(Enhanced::parse)
                            .or_else(|| find_enhanced(&text)),
                        &text,
                    );
                    if reason == "bounce" && c != EventClass::SenderSide {
                        EventClass::Dead
                    } else {
                        c
                    }
                }
            };
            event(recipient, ts, &text, enhanced, class)
        }
        "complained" => event(
            recipient,
            ts,
            "Mailgun complaint",
            None,
            EventClass::Complaint,
        ),
        "unsubscribed" => event(
            recipient,
            ts,
            "Mailgun unsubscribe",
            None,
            EventClass::Unsubscribe,
        ),
        "delivered" => event(recipient, ts, &text, enhanced, EventClass::Delivered),
        _ => None,
    };
    Ok(ev.into_iter().collect())
}

fn postmark(v: &Value) -> Result<Vec<RawEvent>, String> {
    if let Some(list) = v.get("Bounces").and_then(Value::as_array) {
        let mut out = Vec::new();
        for b in list {
            out.extend(postmark(b)?);
        }
        return Ok(out);
    }
    let email = s(v, "Email");
    let ts = parse_time(v.get("BouncedAt"));
    let details = [s(v, "Details"), s(v, "Description")]
        .iter()
        .filter(|t| !t.is_empty())
        .cloned()
        .collect::<Vec<_>>()
        .join(" ");
    let kind = s(v, "Type");
    let class = match kind {
        "HardBounce" | "BadEmailAddress" => EventClass::Dead,
        "SoftBounce" => EventClass::RecipientSoft,
        "Transient" | "DnsError" | "Undeliverable" => EventClass::Transient,
        "SpamComplaint" => EventClass::Complaint,
        "AutoResponder"
        | "OpenRelayTest"
        | "SpamNotification"
        | "ChallengeVerification"
        | "AddressChange" => EventClass::NotABounce,
        "Unsubscribe" => EventClass::Unsubscribe,
        "ManuallyDeactivated" => EventClass::Suppressed,
        "Blocked" | "DMARCPolicy" | "ContentRelated" | "VirusNotification" | "SMTPApiError"
        | "InboundError" => EventClass::SenderSide,
        _ => classify(find_reply_code(&details), find_enhanced(&details), &details),
    };
    let text = if details.is_empty() {
        format!("Postmark {kind}")
    } else {
        format!("Postmark {kind}: {details}")
    };
    Ok(event(email, ts, &text, None, class).into_iter().collect())
}

/// The CSV shapes recognised by header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CsvList {
    /// mailscrub's own `suppression.csv` (or another earlier suppression file with a reason).
    PriorSuppression,
    /// SendGrid's bounce / block / invalid-email export: `created,email,reason,status`.
    SendgridSuppression,
    /// An unsubscribe list: an email column, optionally a date.
    Unsubscribe,
    /// An ESP's export of its unsubscribed members (Mailchimp's `UNSUB_TIME`).
    EspUnsubscribed,
    /// An ESP's export of its cleaned (hard-bounced) members (Mailchimp's `CLEAN_TIME`).
    EspCleaned,
    /// A contact export with a consent column: the rows that opted out are unsubscribes.
    ConsentExport,
}

fn email_index(header: &[String]) -> Option<usize> {
    header.iter().position(|h| {
        matches!(
            h.as_str(),
            "email"
                | "email_address"
                | "emailaddress"
                | "email address"
                | "e-mail address"
                | "address"
                | "e-mail"
                | "recipient"
        )
    })
}

/// Whether a CSV given as evidence looks like a subscriber list: four or more columns, and none
/// that says why or when (reason, status, date, event, type).
pub fn looks_like_a_list(text: &[u8]) -> bool {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let Ok(header) = reader.headers() else {
        return false;
    };
    let header: Vec<String> = header.iter().map(|h| h.trim().to_lowercase()).collect();
    if header.len() < 4 || csv_kind(&header) != Some(CsvList::Unsubscribe) {
        return false;
    }
    !header.iter().any(|h| {
        [
            "reason", "status", "date", "time", "event", "type", "unsub", "created",
        ]
        .iter()
        .any(|k| h.contains(k))
    })
}

/// Recognises a CSV list from its lowercased header.
pub fn csv_kind(header: &[String]) -> Option<CsvList> {
    email_index(header)?;
    let has = |k: &str| header.iter().any(|h| h == k);
    if has("reason") && has("source") && (has("detail") || has("first_seen")) {
        return Some(CsvList::PriorSuppression);
    }
    if has("created") && has("reason") && has("status") {
        return Some(CsvList::SendgridSuppression);
    }
    if has("unsub_time") {
        return Some(CsvList::EspUnsubscribed);
    }
    if has("clean_time") {
        return Some(CsvList::EspCleaned);
    }
    if !crate::consent::known_columns(header.iter().map(String::as_str)).is_empty() {
        return Some(CsvList::ConsentExport);
    }
    if has("reason") {
        return Some(CsvList::PriorSuppression);
    }
    Some(CsvList::Unsubscribe)
}

/// Reasons of mailscrub's own suppression file that are derived again from the list and DNS on
/// every run: carrying them forward would make a fixed domain or address stay suppressed forever.
const RECOMPUTED_REASONS: [&str; 8] = [
    "syntax",
    "unknown_tld",
    "non_ascii",
    "reserved_domain",
    "nxdomain",
    "null_mx",
    "no_mail_route",
    "mx_unroutable",
];

/// What one row of a CSV list is.
#[derive(Debug)]
pub enum CsvRow {
    /// Evidence.
    Event(RawEvent),
    /// Deliberately not evidence (a reason mailscrub derives again each run).
    NotEvidence,
    /// No usable address.
    Unreadable,
}

/// One row of a CSV list.
pub fn csv_event(kind: CsvList, header: &[String], row: &csv::StringRecord) -> CsvRow {
    match csv_event_inner(kind, header, row) {
        Ok(Some(e)) => CsvRow::Event(e),
        Ok(None) => CsvRow::NotEvidence,
        Err(()) => CsvRow::Unreadable,
    }
}

fn csv_event_inner(
    kind: CsvList,
    header: &[String],
    row: &csv::StringRecord,
) -> Result<Option<RawEvent>, ()> {
    let get = |k: &str| {
        header
            .iter()
            .position(|h| h == k)
            .and_then(|i| row.get(i))
            .unwrap_or("")
    };
    let email = email_index(header)
        .and_then(|i| row.get(i))
        .map(str::trim)
        .ok_or(())?;
    if email.is_empty() {
        return Err(());
    }
    let date = [
        "last_seen",
        "created",
        "date",
        "unsubscribed_at",
        "timestamp",
        "first_seen",
    ]
    .iter()
    .map(|k| get(k))
    .find(|v| !v.is_empty())
    .and_then(|v| parse_time(Some(&Value::String(v.to_owned()))));
    let found = match kind {
        CsvList::PriorSuppression => {
            let reason = get("reason");
            if RECOMPUTED_REASONS.contains(&reason) {
                return Ok(None);
            }
            let detail = get("detail");
            let text = if detail.is_empty() {
                format!("earlier suppression: {reason}")
            } else {
                format!("earlier suppression: {reason}: {detail}")
            };
            event(email, date, &text, None, EventClass::Suppressed)
        }
        CsvList::SendgridSuppression => {
            let status = Some(get("status")).filter(|x| !x.is_empty());
            let reason = get("reason");
            let enhanced = status
                .and_then(Enhanced::parse)
                .or_else(|| find_enhanced(reason));
            let class = match classify(find_reply_code(reason), enhanced, reason) {
                EventClass::Dead => EventClass::Dead,
                EventClass::SenderSide => EventClass::SenderSide,
                EventClass::Transient => EventClass::Transient,
                _ => EventClass::Suppressed,
            };
            event(email, date, reason, status, class)
        }
        CsvList::Unsubscribe => event(
            email,
            date,
            "unsubscribe list",
            None,
            EventClass::Unsubscribe,
        ),
        CsvList::EspUnsubscribed => {
            let when = parse_time(Some(&Value::String(get("unsub_time").to_owned())));
            let why = get("unsub_reason");
            let text = if why.is_empty() {
                "unsubscribed (ESP export)".to_owned()
            } else {
                format!("unsubscribed (ESP export): {why}")
            };
            event(email, when.or(date), &text, None, EventClass::Unsubscribe)
        }
        CsvList::EspCleaned => {
            let when = parse_time(Some(&Value::String(get("clean_time").to_owned())));
            event(
                email,
                when.or(date),
                "cleaned by the ESP (hard bounce)",
                None,
                EventClass::Dead,
            )
        }
        CsvList::ConsentExport => {
            let columns = crate::consent::known_columns(header.iter().map(String::as_str));
            let stop = columns
                .iter()
                .find_map(|c| c.stops(row.get(c.index).unwrap_or("")));
            match stop {
                Some(why) => event(
                    email,
                    date,
                    &format!("opted out in the export: {why}"),
                    None,
                    EventClass::Unsubscribe,
                ),
                None => return Ok(None),
            }
        }
    };
    found.map(Some).ok_or(())
}

/// The events of a CSV list (header first). Rows without an address are skipped and counted.
pub fn csv_events(
    text: &[u8],
    forced: Option<CsvList>,
) -> Result<(Vec<(u64, RawEvent)>, u64), String> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(text);
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| format!("unreadable CSV header: {e}"))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
        .collect();
    let kind = forced
        .or_else(|| csv_kind(&header))
        .ok_or("a CSV without an email column")?;
    // At most one event per line, reserved at once (growing a million-event vector copied it
    // at every doubling: a tenth of loading the history).
    let lines = text.iter().filter(|b| **b == b'\n').count();
    let mut out = Vec::with_capacity(lines + 1);
    let mut skipped = 0;
    // One record, reused: a million-line list is read without a million allocations.
    let mut row = csv::StringRecord::new();
    while reader
        .read_record(&mut row)
        .map_err(|e| format!("CSV error: {e}"))?
    {
        let line = row.position().map(|p| p.line()).unwrap_or(0);
        match csv_event(kind, &header, &row) {
            CsvRow::Event(ev) => out.push((line, ev)),
            CsvRow::NotEvidence => {}
            CsvRow::Unreadable => skipped += 1,
        }
    }
    Ok((out, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one(json: &str) -> RawEvent {
        let v: Value = serde_json::from_str(json).unwrap();
        let mut events = json_events(&v).unwrap();
        assert_eq!(events.len(), 1, "{events:?}");
        events.remove(0)
    }

    #[test]
    fn ses_bounce_complaint_and_envelope() {
        let e = one(
            r#"{"notificationType":"Bounce","bounce":{"bounceType":"Permanent","bounceSubType":"General","bouncedRecipients":[{"emailAddress":"gone@corp-mail.net","action":"failed","status":"5.1.1","diagnosticCode":"smtp; 550 5.1.1 user unknown"}],"timestamp":"2024-08-12T10:00:00.000Z"},"mail":{}}"#,
        );
        assert_eq!(
            (e.class, e.status.as_deref(), e.timestamp),
            (EventClass::Dead, Some("5.1.1"), Some(1_723_456_800))
        );
        let e = one(
            r#"{"eventType":"Complaint","complaint":{"complainedRecipients":[{"emailAddress":"ann@corp-mail.net"}],"timestamp":"2024-08-12T10:00:00Z","complaintFeedbackType":"abuse"}}"#,
        );
        assert_eq!(e.class, EventClass::Complaint);
        let inner = r#"{\"notificationType\":\"Bounce\",\"bounce\":{\"bounceType\":\"Transient\",\"bounceSubType\":\"MailboxFull\",\"bouncedRecipients\":[{\"emailAddress\":\"full@corp-mail.net\"}],\"timestamp\":\"2024-08-12T10:00:00Z\"}}"#;
        let e = one(&format!(
            r#"{{"Type":"Notification","MessageId":"x","Message":"{inner}"}}"#
        ));
        assert_eq!(
            (e.recipient.as_str(), e.class),
            ("full@corp-mail.net", EventClass::RecipientSoft)
        );
    }

    #[test]
    fn sendgrid_events() {
        let v: Value = serde_json::from_str(r#"[
            {"email":"a@corp-mail.net","timestamp":1723456800,"event":"bounce","type":"bounce","status":"5.1.1","reason":"550 5.1.1 The email account that you tried to reach does not exist"},
            {"email":"b@corp-mail.net","timestamp":1723456800,"event":"bounce","type":"blocked","status":"5.7.1","reason":"554 5.7.1 blocked using spamhaus"},
            {"email":"c@corp-mail.net","timestamp":1723456800,"event":"spamreport"},
            {"email":"d@corp-mail.net","timestamp":1723456800,"event":"open"},
            {"email":"e@corp-mail.net","timestamp":1723456800,"event":"group_unsubscribe"}
        ]"#).unwrap();
        let classes: Vec<EventClass> = json_events(&v).unwrap().iter().map(|e| e.class).collect();
        assert_eq!(
            classes,
            [
                EventClass::Dead,
                EventClass::SenderSide,
                EventClass::Complaint,
                EventClass::Unsubscribe
            ]
        );
        // Drops: the address's history is evidence; the sender's own request error is not.
        let v: Value = serde_json::from_str(r#"[
            {"email":"f@corp-mail.net","timestamp":1723456800,"event":"dropped","reason":"Bounced Address"},
            {"email":"g@corp-mail.net","timestamp":1723456800,"event":"dropped","reason":"Invalid"},
            {"email":"h@corp-mail.net","timestamp":1723456800,"event":"dropped","reason":"Invalid SMTPAPI header"},
            {"email":"i@corp-mail.net","timestamp":1723456800,"event":"dropped","reason":"Spam Content (if Spam Checker app is enabled)"},
            {"email":"j@corp-mail.net","timestamp":1723456800,"event":"dropped","reason":"Unsubscribed Address"}
        ]"#).unwrap();
        let got: Vec<(String, EventClass)> = json_events(&v)
            .unwrap()
            .into_iter()
            .map(|e| (e.recipient, e.class))
            .collect();
        assert_eq!(
            got,
            [
                ("f@corp-mail.net".to_owned(), EventClass::Suppressed),
                ("g@corp-mail.net".to_owned(), EventClass::Suppressed),
                ("j@corp-mail.net".to_owned(), EventClass::Unsubscribe)
            ]
        );
    }

    #[test]
    fn mailgun_and_postmark() {
        let e = one(
            r#"{"event-data":{"event":"failed","severity":"permanent","reason":"bounce","recipient":"gone@corp-mail.net","timestamp":1723456800.5,"delivery-status":{"code":550,"message":"5.1.1 No such user","enhanced-code":"5.1.1"}}}"#,
        );
        assert_eq!(
            (e.class, e.smtp_code, e.timestamp),
            (EventClass::Dead, Some(550), Some(1_723_456_800))
        );
        let e = one(
            r#"{"event":"failed","severity":"temporary","recipient":"slow@corp-mail.net","timestamp":1723456800,"delivery-status":{"code":451,"message":"4.7.1 Try later"}}"#,
        );
        assert_eq!(e.class, EventClass::Transient);
        let e = one(
            r#"{"Type":"HardBounce","Email":"gone@corp-mail.net","BouncedAt":"2024-08-12T10:00:00Z","Details":"smtp;550 5.1.1 unknown user"}"#,
        );
        assert_eq!(e.class, EventClass::Dead);
        let e = one(
            r#"{"Bounces":[{"Type":"SpamComplaint","Email":"ann@corp-mail.net","BouncedAt":"2024-08-12T10:00:00Z"}]}"#,
        );
        assert_eq!(e.class, EventClass::Complaint);
    }

    #[test]
    fn csv_lists() {
        let (events, skipped) = csv_events(b"email,reason,detail,source,first_seen,last_seen\ngone@corp-mail.net,hard_bounce,550 5.1.1,x.eml,,2024-08-12T10:00:00Z\nfixed@corp-mail.net,nxdomain,corp-mail.net: NXDOMAIN,dns,,\n", None).unwrap();
        assert_eq!(
            events.len(),
            1,
            "DNS and syntax reasons are derived again each run"
        );
        assert_eq!((events[0].1.class, skipped), (EventClass::Suppressed, 0));
        assert_eq!(events[0].0, 2);
        let (events, _) = csv_events(b"created,email,reason,status\n1723456800,gone@corp-mail.net,550 5.1.1 user unknown,5.1.1\n", None).unwrap();
        assert_eq!(events[0].1.class, EventClass::Dead);
        let (events, skipped) = csv_events(
            b"Email,Unsubscribed_At\nann@corp-mail.net,2024-08-12 10:00:00\n,\n",
            None,
        )
        .unwrap();
        assert_eq!(
            (events[0].1.class, events[0].1.timestamp, skipped),
            (EventClass::Unsubscribe, Some(1_723_456_800), 1)
        );
    }
}
