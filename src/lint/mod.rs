//! `mailscrub lint`: checks a campaign message against the practices that mailbox providers
//! publish for bulk senders (Microsoft's guidance for mail to Microsoft 365 and Outlook.com,
//! Google's and Yahoo's sender requirements of 2024) and the RFCs behind them.
//!
//! In: the bytes of `.eml` messages. Out: per message, one [`Finding`] per check (`ok`,
//! `warning`, `error`), each check named and explained in [`CHECKS`]. The message is read by
//! [`message`] and [`body`]; the checks that need only the message are in [`checks`]; SPF,
//! DMARC and DKIM keys are asked of DNS through the DNS stage ([`crate::dns::txt`]) and read by
//! [`auth`]. Guarantee: a DNS fault is a warning ("could not tell"), never an error.

pub mod auth;
pub mod body;
pub mod checks;
pub mod message;

use std::collections::HashMap;
use std::path::PathBuf;

use serde::Serialize;

use crate::dns::txt::{self, TxtAnswer};
use crate::dns::{DnsConfig, DnsError};
use crate::input::InputError;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The practice is followed.
    Ok,
    /// Not followed, or could not be checked; delivery may suffer.
    Warning,
    /// Not followed in a way that providers reject or junk.
    Error,
}

impl Severity {
    /// The word printed for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Ok => "ok",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One check's verdict on one message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The check's name, a key of [`CHECKS`].
    pub check: &'static str,
    /// How serious.
    pub severity: Severity,
    /// What was found.
    pub message: String,
}

impl Finding {
    pub(crate) fn ok(check: &'static str, message: impl Into<String>) -> Self {
        Finding {
            check,
            severity: Severity::Ok,
            message: message.into(),
        }
    }
    pub(crate) fn warning(check: &'static str, message: impl Into<String>) -> Self {
        Finding {
            check,
            severity: Severity::Warning,
            message: message.into(),
        }
    }
    pub(crate) fn error(check: &'static str, message: impl Into<String>) -> Self {
        Finding {
            check,
            severity: Severity::Error,
            message: message.into(),
        }
    }
}

/// A check: its name, what it asks, why, and where the practice is published.
#[derive(Debug, Clone, Copy)]
pub struct Check {
    /// The name printed with each finding.
    pub name: &'static str,
    /// What is checked.
    pub what: &'static str,
    /// Why it matters.
    pub why: &'static str,
    /// Where the practice is published.
    pub source: &'static str,
}

const MICROSOFT: &str = "Microsoft Learn, guidance for bulk senders to Microsoft 365 and Outlook.com (Defender for Office 365 documentation; Outlook.com postmaster policies)";
const GOOGLE: &str = "Google, Email sender guidelines (support.google.com/a/answer/81126) and FAQ (support.google.com/a/answer/14229414), 2024";
const YAHOO: &str =
    "Yahoo Sender Hub, sender requirements and best practices (senders.yahooinc.com), 2024";

/// Every check, in the order findings are printed.
pub const CHECKS: &[Check] = &[
    Check { name: "message", what: "The file is a readable Internet message (RFC 5322).", why: "A file that is not a message cannot be checked.", source: "RFC 5322" },
    Check { name: "from-domain", what: "From: is an address on the sender's own domain, not a consumer mailbox (gmail.com, outlook.com, yahoo.com ...).", why: "Consumer domains publish strict DMARC policies, so bulk mail sent through an ESP in their name fails authentication; Microsoft gives someone@outlook.com for marketing as the incorrect example.", source: MICROSOFT },
    Check { name: "display-name", what: "From: has a display name.", why: "Recipients recognise the sender by name; a bare address looks automated.", source: MICROSOFT },
    Check { name: "subject", what: "A subject that says what the message is: present, not a placeholder (test, hello, newsletter), no unfilled merge tag, not all in capitals.", why: "Misleading or empty subjects are a spam signal and a reason to complain.", source: "Microsoft and Google sender guidance; FTC CAN-SPAM compliance guide (no deceptive subject lines)" },
    Check { name: "spf", what: "The envelope sender's domain (Return-Path:, else From:) publishes exactly one SPF record, not ending in +all.", why: "Gmail, Yahoo and Outlook.com require SPF (and DKIM) for bulk senders; two records are a permanent error; +all authorises everyone.", source: "RFC 7208 §3.2, §4.5; Google and Yahoo sender requirements 2024" },
    Check { name: "dmarc", what: "A DMARC record at _dmarc.<From domain>, or at its organizational domain, with a valid p= (none, quarantine or reject).", why: "Required of bulk senders by Gmail and Yahoo since February 2024 (p=none at least), and by Outlook.com since May 2025 for high-volume senders.", source: "RFC 7489 §6.1, §6.6.3; Google and Yahoo sender requirements 2024" },
    Check { name: "dkim-signature", what: "The message carries a DKIM-Signature (lint the message as the ESP sends it).", why: "Bulk senders must sign with DKIM. The signature is not verified here, only its presence, domain and key.", source: "RFC 6376; Google and Yahoo sender requirements 2024" },
    Check { name: "dkim-alignment", what: "One signature's d= has the same organizational domain as From: (relaxed alignment).", why: "DMARC passes on DKIM only when d= is aligned with From:; an ESP's own d= does not count.", source: "RFC 7489 §3.1.1" },
    Check { name: "dkim-key", what: "Each signature's selector has a key in DNS at <s>._domainkey.<d>, not revoked (empty p=).", why: "Without the key the signature cannot verify and the message counts as unsigned.", source: "RFC 6376 §3.6.1, §3.6.2" },
    Check { name: "list-unsubscribe", what: "A List-Unsubscribe header with an https URL (a mailto: address only is a warning).", why: "Gmail and Yahoo require bulk mail to offer one-click unsubscribe; the header puts an unsubscribe button beside the sender's name.", source: "RFC 2369; Google and Yahoo sender requirements 2024" },
    Check { name: "one-click", what: "List-Unsubscribe-Post: List-Unsubscribe=One-Click, with an https URL to post to, both headers covered by a DKIM signature.", why: "One-click unsubscribe is RFC 8058, which the 2024 requirements name; the headers must be signed so they cannot be added by someone else.", source: "RFC 8058 §3.1, §4; Google and Yahoo sender requirements 2024" },
    Check { name: "unsubscribe-link", what: "A visible unsubscribe link in the body (HTML link whose text or URL says unsubscribe, opt out, manage preferences ..., in several languages).", why: "Recipients who cannot find how to leave press 'junk' instead, and complaints decide delivery.", source: "Google sender guidelines (clearly visible unsubscribe link); CAN-SPAM; Microsoft guidance" },
    Check { name: "link-domains", what: "Every link and image points to one registrable domain (Public Suffix List), or to domains given with --allow-domain; http:// links are a warning.", why: "Microsoft calls a message whose links go to unsubscribe.bulkmailer.com, profile.excite.com and options.yahoo.com inconsistent: mixed redirect domains look like phishing.", source: MICROSOFT },
    Check { name: "url-shortener", what: "No links through URL shorteners (bit.ly, tinyurl.com, t.co ...).", why: "Shorteners hide the destination and are widely abused, so filters distrust them.", source: MICROSOFT },
    Check { name: "image-only", what: "The HTML is not solely an image: at least 20 words of text beside its pictures.", why: "Filters read text; many readers block images, so an image-only message is blank to them.", source: MICROSOFT },
    Check { name: "text-part", what: "A text/plain part beside the HTML.", why: "A multipart/alternative message with a text part is the form providers expect of legitimate mail.", source: "RFC 2046 §5.1.4; Microsoft guidance" },
    Check { name: "size", what: "The message is under 1 MB and its HTML under 102 KB.", why: "Large messages are slow and filtered; Gmail clips HTML over about 102 KB, hiding its end, often the unsubscribe link.", source: "Gmail message clipping (documented by Google Workspace and ESPs)" },
    Check { name: "attachments", what: "No attachments; never a file type that providers block (.exe, .js, .iso ...).", why: "Attachments in bulk mail are a malware signal; blocked types are rejected outright.", source: "Google, file types blocked in Gmail (support.google.com/mail/answer/6590); Microsoft guidance" },
    Check { name: "tracking-pixel", what: "A tracking pixel (a 1x1 or hidden image) is noted, and should be disclosed: the message mentions tracking or privacy.", why: "The guidance asks senders to disclose open tracking.", source: MICROSOFT },
    Check { name: "address-book", what: "\"Add us to your address book\" (or safe senders) is said only with a disclaimer that it is optional.", why: "Asking recipients to change their settings to get the mail through is what spam does; Microsoft asks for a disclaimer.", source: MICROSOFT },
];

/// The providers' published guidance that the checks cite.
pub const SOURCES: &[&str] = &[MICROSOFT, GOOGLE, YAHOO];

/// The check named `name`.
pub fn check(name: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.name == name)
}

/// How `lint` runs.
#[derive(Debug, Clone, Default)]
pub struct LintConfig {
    /// Domains links may point to besides one other (`--allow-domain`), any subdomain.
    pub allow_domains: Vec<String>,
    /// Where to ask SPF, DMARC and DKIM keys; `None` skips those checks (`--no-dns`).
    pub dns: Option<DnsConfig>,
}

/// The findings for one message.
#[derive(Debug, Clone, Serialize)]
pub struct MessageReport {
    /// The file, as given.
    pub file: String,
    /// In the order of [`CHECKS`].
    pub findings: Vec<Finding>,
}

impl MessageReport {
    /// Findings of this severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity == severity)
            .count()
    }
}

/// The messages named by `paths`: a file as given, a folder's `*.eml` files (by name, not
/// recursing). Each comes with the name printed for it.
pub fn read_messages(paths: &[PathBuf]) -> Result<Vec<(String, Vec<u8>)>, InputError> {
    let open = |path: &PathBuf, source: std::io::Error| InputError::Open {
        file: path.display().to_string(),
        source,
    };
    let mut messages = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)
                .map_err(|e| open(path, e))?
                .filter_map(|entry| entry.ok().map(|e| e.path()))
                .filter(|p| {
                    p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("eml"))
                })
                .collect();
            if files.is_empty() {
                return Err(open(
                    path,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "the folder holds no .eml file",
                    ),
                ));
            }
            files.sort();
            for f in files {
                let bytes = std::fs::read(&f).map_err(|e| open(&f, e))?;
                messages.push((f.display().to_string(), bytes));
            }
        } else {
            let bytes = std::fs::read(path).map_err(|e| open(path, e))?;
            messages.push((path.display().to_string(), bytes));
        }
    }
    Ok(messages)
}

/// One finding as a line of text: `FILE: SEVERITY CHECK: MESSAGE`.
pub fn text_line(file: &str, f: &Finding) -> String {
    format!(
        "{file}: {:<7} {}: {}",
        f.severity.as_str(),
        f.check,
        f.message
    )
}

/// A check's explanation, as `--explain` prints it.
pub fn explain(c: &Check) -> String {
    format!(
        "{}: {}
    why: {}
    source: {}",
        c.name, c.what, c.why, c.source
    )
}

/// `s` without its first `prefix.len()` bytes when they are `prefix`, ASCII case ignored. Never
/// slices inside a character: outside text is any UTF-8.
pub(crate) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// The registrable domain of a host (the Public Suffix List's eTLD+1), lowercased; the host
/// itself when it has none (an IP address, a bare suffix, an unknown TLD).
pub fn registrable(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host;
    }
    psl::domain_str(&host).map(str::to_owned).unwrap_or(host)
}

/// Lints each message (file name, bytes). DNS questions of all messages are asked together.
pub fn lint(
    messages: &[(String, Vec<u8>)],
    config: &LintConfig,
) -> Result<Vec<MessageReport>, DnsError> {
    let parsed: Vec<Result<message::Campaign, String>> = messages
        .iter()
        .map(|(_, bytes)| message::parse(bytes))
        .collect();
    let answers: HashMap<String, TxtAnswer> = match &config.dns {
        None => HashMap::new(),
        Some(dns) => {
            let mut names: Vec<String> =
                parsed.iter().flatten().flat_map(auth::questions).collect();
            names.sort();
            names.dedup();
            let got = txt::lookup(dns, &names)?;
            names.into_iter().zip(got).collect()
        }
    };
    Ok(messages
        .iter()
        .zip(parsed)
        .map(|((file, _), campaign)| {
            let mut out = Vec::new();
            match campaign {
                Err(why) => out.push(Finding::error("message", why)),
                Ok(c) => {
                    checks::identity(&c, &mut out);
                    if config.dns.is_some() {
                        auth::findings(&c, &answers, &mut out);
                    }
                    checks::dkim_in_message(&c, &mut out);
                    checks::unsubscribe(&c, &mut out);
                    checks::link_domains(&c, &config.allow_domains, &mut out);
                    checks::content(&c, &mut out);
                }
            }
            let order = |f: &Finding| {
                CHECKS
                    .iter()
                    .position(|c| c.name == f.check)
                    .unwrap_or(usize::MAX)
            };
            out.sort_by_key(order);
            MessageReport {
                file: file.clone(),
                findings: out,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(registrable("unsubscribe.bulkmailer.com"), "bulkmailer.com");
        assert_eq!(registrable("news.brand.co.uk"), "brand.co.uk");
        assert_eq!(registrable("Shop.Brand.com."), "brand.com");
        assert_eq!(registrable("brand.github.io"), "brand.github.io");
        assert_eq!(registrable("192.0.2.1"), "192.0.2.1");
    }

    #[test]
    fn every_finding_names_a_known_check() {
        let names: Vec<&str> = CHECKS.iter().map(|c| c.name).collect();
        let mut sorted = names.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), names.len(), "check names are unique");
        for src in [
            include_str!("checks.rs"),
            include_str!("auth.rs"),
            include_str!("mod.rs"),
        ] {
            for call in ["Finding::ok(", "Finding::warning(", "Finding::error("] {
                for piece in src.split(call).skip(1) {
                    let piece = piece.trim_start();
                    if let Some(rest) = piece.strip_prefix('"') {
                        let name = &rest[..rest.find('"').unwrap()];
                        if !name.chars().all(|c| c.is_ascii_lowercase() || c == '-') {
                            continue; // this test's own list of calls
                        }
                        assert!(
                            check(name).is_some(),
                            "finding {name:?} has no entry in CHECKS"
                        );
                    }
                }
            }
        }
    }
}
