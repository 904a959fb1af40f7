//! Authentication in DNS: the SPF record of the envelope (or From:) domain, the DMARC record of
//! the From: domain (or its organizational domain), the DKIM key of each signature's selector.
//! [`questions`] lists the TXT names a message needs; [`findings`] reads the answers. A DNS fault
//! is a warning ("could not tell"), never an error: the record may well be there.

use std::collections::HashMap;

use super::message::Campaign;
use super::{registrable, strip_prefix_ci, Finding};
use crate::dns::txt::TxtAnswer;

/// The domain whose SPF record applies: the envelope sender's (`Return-Path:`), else `From:`'s.
fn spf_domain(c: &Campaign) -> Option<&str> {
    c.envelope_domain
        .as_deref()
        .or(c.from.as_ref().ok().map(|f| f.domain.as_str()))
}

fn dkim_name(selector: &str, domain: &str) -> String {
    format!("{selector}._domainkey.{domain}")
}

/// The TXT names to ask for this message.
pub fn questions(c: &Campaign) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(d) = spf_domain(c) {
        names.push(d.to_owned());
    }
    if let Ok(from) = &c.from {
        names.push(format!("_dmarc.{}", from.domain));
        let org = registrable(&from.domain);
        if org != from.domain {
            names.push(format!("_dmarc.{org}"));
        }
    }
    for s in &c.dkim {
        names.push(dkim_name(&s.selector, &s.domain));
    }
    names
}

/// The records of `name` whose text starts with `tag` (case-insensitive), or the answer's fault.
fn records<'a>(
    answers: &'a HashMap<String, TxtAnswer>,
    name: &str,
    tag: &str,
) -> Result<Vec<&'a str>, String> {
    match answers.get(name) {
        None => Err(format!("{name} was not asked")),
        Some(TxtAnswer::Failed(why)) => Err(why.clone()),
        Some(TxtAnswer::None) => Ok(Vec::new()),
        Some(TxtAnswer::Records(rs)) => Ok(rs
            .iter()
            .map(|r| r.trim())
            .filter(|r| {
                strip_prefix_ci(r, tag)
                    .is_some_and(|rest| rest.chars().next().is_none_or(|c| c == ' ' || c == ';'))
            })
            .collect()),
    }
}

/// The value of tag `name` in a DMARC or DKIM tag-list.
fn tag<'a>(record: &'a str, name: &str) -> Option<&'a str> {
    record.split(';').find_map(|t| {
        let (k, v) = t.split_once('=')?;
        k.trim().eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// The findings of SPF, DMARC and DKIM keys, from the answers to [`questions`].
pub fn findings(c: &Campaign, answers: &HashMap<String, TxtAnswer>, out: &mut Vec<Finding>) {
    if let Some(domain) = spf_domain(c) {
        out.push(spf(domain, answers));
    }
    if let Ok(from) = &c.from {
        out.push(dmarc(&from.domain, answers));
    }
    for s in &c.dkim {
        let name = dkim_name(&s.selector, &s.domain);
        out.push(match records(answers, &name, "v=DKIM1") {
            Err(why) => Finding::warning(
                "dkim-key",
                format!("could not tell whether {name} has a key: {why}"),
            ),
            Ok(keys) if keys.is_empty() => {
                // A key record may leave out v= (RFC 6376 §3.6.1: it is optional).
                let bare = match answers.get(&name) {
                    Some(TxtAnswer::Records(rs)) => rs.iter().find(|r| tag(r, "p").is_some()),
                    _ => None,
                };
                match bare {
                    Some(r) => key_finding(&name, r),
                    None => Finding::error("dkim-key", format!("no DKIM key at {name}")),
                }
            }
            Ok(keys) => key_finding(&name, keys[0]),
        });
    }
}

fn key_finding(name: &str, record: &str) -> Finding {
    match tag(record, "p") {
        Some("") => Finding::error(
            "dkim-key",
            format!("the key at {name} is revoked (empty p=)"),
        ),
        Some(_) => Finding::ok("dkim-key", format!("DKIM key found at {name}")),
        None => Finding::error("dkim-key", format!("the record at {name} has no p= key")),
    }
}

fn spf(domain: &str, answers: &HashMap<String, TxtAnswer>) -> Finding {
    match records(answers, domain, "v=spf1") {
        Err(why) => Finding::warning(
            "spf",
            format!("could not tell whether {domain} has SPF: {why}"),
        ),
        Ok(rs) if rs.is_empty() => Finding::error("spf", format!("{domain} has no SPF record")),
        Ok(rs) if rs.len() > 1 => Finding::error(
            "spf",
            format!(
                "{domain} has {} SPF records; receivers treat that as an error (RFC 7208 §4.5)",
                rs.len()
            ),
        ),
        Ok(rs) => {
            let all_pass = rs[0]
                .split_whitespace()
                .any(|t| t.eq_ignore_ascii_case("+all") || t.eq_ignore_ascii_case("all"));
            if all_pass {
                Finding::error(
                    "spf",
                    format!("{domain}'s SPF ends in +all: it lets anyone send as the domain"),
                )
            } else {
                Finding::ok("spf", format!("{domain}: {}", shorten(rs[0])))
            }
        }
    }
}

fn dmarc(from_domain: &str, answers: &HashMap<String, TxtAnswer>) -> Finding {
    let own = format!("_dmarc.{from_domain}");
    let org = registrable(from_domain);
    let mut tried = vec![own.clone()];
    let mut found = records(answers, &own, "v=DMARC1");
    if matches!(&found, Ok(rs) if rs.is_empty()) && org != from_domain {
        let name = format!("_dmarc.{org}");
        tried.push(name.clone());
        found = records(answers, &name, "v=DMARC1");
    }
    match found {
        Err(why) => Finding::warning(
            "dmarc",
            format!("could not tell whether {from_domain} has DMARC: {why}"),
        ),
        Ok(rs) if rs.is_empty() => Finding::error(
            "dmarc",
            format!("no DMARC record at {}", tried.join(" or ")),
        ),
        Ok(rs) if rs.len() > 1 => Finding::error(
            "dmarc",
            format!(
                "{} DMARC records for {from_domain}; receivers then apply none (RFC 7489 §6.6.3)",
                rs.len()
            ),
        ),
        Ok(rs) => match tag(rs[0], "p").map(str::to_ascii_lowercase) {
            None => Finding::error(
                "dmarc",
                format!("the DMARC record of {from_domain} has no p= policy"),
            ),
            Some(p) if ["none", "quarantine", "reject"].contains(&p.as_str()) => {
                Finding::ok("dmarc", format!("{from_domain}: p={p}"))
            }
            Some(p) => Finding::error(
                "dmarc",
                format!("the DMARC record of {from_domain} has an unknown policy p={p}"),
            ),
        },
    }
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 80 {
        s.to_owned()
    } else {
        format!("{}…", s.chars().take(79).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::message;
    use crate::lint::Severity;

    fn campaign() -> Campaign {
        message::parse(
            b"From: Brand <news@mail.brand.com>\r\nSubject: x\r\n\
DKIM-Signature: v=1; d=brand.com; s=k1; h=from\r\n\r\nbody",
        )
        .unwrap()
    }

    fn answers(pairs: &[(&str, TxtAnswer)]) -> HashMap<String, TxtAnswer> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    fn rec(s: &str) -> TxtAnswer {
        TxtAnswer::Records(vec![s.to_owned()])
    }

    fn severities(out: &[Finding]) -> Vec<(&str, Severity)> {
        out.iter().map(|f| (f.check, f.severity)).collect()
    }

    #[test]
    fn asks_spf_dmarc_with_the_organizational_fallback_and_dkim() {
        assert_eq!(
            questions(&campaign()),
            [
                "mail.brand.com",
                "_dmarc.mail.brand.com",
                "_dmarc.brand.com",
                "k1._domainkey.brand.com"
            ]
        );
    }

    #[test]
    fn all_present() {
        let a = answers(&[
            (
                "mail.brand.com",
                TxtAnswer::Records(vec![
                    "google-site-verification=x".into(),
                    "v=spf1 include:_spf.esp.com ~all".into(),
                ]),
            ),
            ("_dmarc.mail.brand.com", TxtAnswer::None),
            (
                "_dmarc.brand.com",
                rec("v=DMARC1; p=quarantine; rua=mailto:d@brand.com"),
            ),
            ("k1._domainkey.brand.com", rec("k=rsa; p=MIGfMA0")),
        ]);
        let mut out = Vec::new();
        findings(&campaign(), &a, &mut out);
        assert_eq!(
            severities(&out),
            [
                ("spf", Severity::Ok),
                ("dmarc", Severity::Ok),
                ("dkim-key", Severity::Ok)
            ]
        );
        assert!(out[1].message.contains("p=quarantine"));
    }

    #[test]
    fn missing_doubled_revoked_and_faults() {
        let a = answers(&[
            (
                "mail.brand.com",
                TxtAnswer::Records(vec!["v=spf1 -all".into(), "v=spf1 a -all".into()]),
            ),
            ("_dmarc.mail.brand.com", TxtAnswer::None),
            (
                "_dmarc.brand.com",
                TxtAnswer::Records(vec!["v=DMARC1x; p=none".into()]),
            ),
            ("k1._domainkey.brand.com", rec("v=DKIM1; k=rsa; p=")),
        ]);
        let mut out = Vec::new();
        findings(&campaign(), &a, &mut out);
        assert_eq!(
            severities(&out),
            [
                ("spf", Severity::Error),
                ("dmarc", Severity::Error),
                ("dkim-key", Severity::Error)
            ]
        );
        assert!(out[2].message.contains("revoked"));
        let a = answers(&[
            ("mail.brand.com", rec("v=spf1 +all")),
            (
                "_dmarc.mail.brand.com",
                TxtAnswer::Failed("timed out".into()),
            ),
            ("k1._domainkey.brand.com", TxtAnswer::None),
        ]);
        let mut out = Vec::new();
        findings(&campaign(), &a, &mut out);
        assert_eq!(
            severities(&out),
            [
                ("spf", Severity::Error),
                ("dmarc", Severity::Warning),
                ("dkim-key", Severity::Error)
            ]
        );
    }
}
