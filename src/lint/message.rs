//! One campaign message as the checks see it: the headers they read, the decoded bodies, the
//! attachments. Parsing is forgiving (a real `.eml` is often slightly off); what cannot be read is
//! left empty and the check that needs it says so.

use mailparse::{MailAddr, MailHeaderMap, ParsedMail};

/// The `From:` mailbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mailbox {
    /// The display name, when there is one.
    pub display_name: Option<String>,
    /// The address as written.
    pub address: String,
    /// The address's domain, lowercased, IDN as punycode.
    pub domain: String,
}

/// One `DKIM-Signature` header's tags that the checks use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DkimSignature {
    /// `d=`, lowercased.
    pub domain: String,
    /// `s=`.
    pub selector: String,
    /// `h=`, lowercased header names.
    pub signed_headers: Vec<String>,
}

/// An attached file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attachment {
    /// Its file name, or its content type when it has none.
    pub name: String,
    /// Decoded size in bytes.
    pub size: usize,
}

/// What the checks read of one message.
#[derive(Debug, Clone)]
pub struct Campaign {
    /// The message's size in bytes, as stored.
    pub size: usize,
    /// The `From:` mailbox, or why there is none.
    pub from: Result<Mailbox, String>,
    /// The domain of `Return-Path:` (the envelope sender), when the header is there.
    pub envelope_domain: Option<String>,
    /// `Subject:`, decoded.
    pub subject: Option<String>,
    /// `List-Unsubscribe:`, unfolded.
    pub list_unsubscribe: Option<String>,
    /// `List-Unsubscribe-Post:`.
    pub list_unsubscribe_post: Option<String>,
    /// Every `DKIM-Signature:` that names a domain and a selector.
    pub dkim: Vec<DkimSignature>,
    /// The text/plain parts (not attachments), joined.
    pub text: Option<String>,
    /// The text/html parts (not attachments), joined.
    pub html: Option<String>,
    /// Attached files.
    pub attachments: Vec<Attachment>,
}

/// Reads a message; `Err` when the bytes are not a message at all.
pub fn parse(bytes: &[u8]) -> Result<Campaign, String> {
    let mail = mailparse::parse_mail(bytes).map_err(|e| format!("not a readable message: {e}"))?;
    let headers = mail.get_headers();
    if headers.get_first_header("From").is_none()
        && headers.get_first_header("Subject").is_none()
        && headers.get_first_header("Content-Type").is_none()
    {
        return Err("not a message: no From, Subject or Content-Type header".to_owned());
    }
    let mut c = Campaign {
        size: bytes.len(),
        from: from_mailbox(headers.get_first_value("From")),
        envelope_domain: headers
            .get_first_value("Return-Path")
            .and_then(|v| address_domain(v.trim().trim_start_matches('<').trim_end_matches('>'))),
        subject: headers
            .get_first_value("Subject")
            .map(|s| s.trim().to_owned()),
        list_unsubscribe: headers
            .get_first_value("List-Unsubscribe")
            .map(|s| s.trim().to_owned()),
        list_unsubscribe_post: headers
            .get_first_value("List-Unsubscribe-Post")
            .map(|s| s.trim().to_owned()),
        dkim: headers
            .get_all_values("DKIM-Signature")
            .iter()
            .filter_map(|v| dkim_signature(v))
            .collect(),
        text: None,
        html: None,
        attachments: Vec::new(),
    };
    let mut text = Vec::new();
    let mut html = Vec::new();
    walk(&mail, &mut text, &mut html, &mut c.attachments);
    c.text = (!text.is_empty()).then(|| text.join("\n"));
    c.html = (!html.is_empty()).then(|| html.join("\n"));
    Ok(c)
}

fn walk(
    part: &ParsedMail,
    text: &mut Vec<String>,
    html: &mut Vec<String>,
    files: &mut Vec<Attachment>,
) {
    if !part.subparts.is_empty() {
        for sub in &part.subparts {
            walk(sub, text, html, files);
        }
        return;
    }
    let disposition = part.get_content_disposition();
    let mime = part.ctype.mimetype.to_ascii_lowercase();
    let is_file = disposition.disposition == mailparse::DispositionType::Attachment
        || disposition.params.contains_key("filename")
        || part.ctype.params.contains_key("name") && !mime.starts_with("text/");
    if is_file {
        let name = disposition
            .params
            .get("filename")
            .or_else(|| part.ctype.params.get("name"))
            .cloned()
            .unwrap_or_else(|| mime.clone());
        let size = part.get_body_raw().map(|b| b.len()).unwrap_or(0);
        files.push(Attachment { name, size });
        return;
    }
    match mime.as_str() {
        "text/plain" => text.push(part.get_body().unwrap_or_default()),
        "text/html" => html.push(part.get_body().unwrap_or_default()),
        _ => {}
    }
}

fn from_mailbox(value: Option<String>) -> Result<Mailbox, String> {
    let value = value.ok_or_else(|| "the message has no From: header".to_owned())?;
    let parsed =
        mailparse::addrparse(&value).map_err(|e| format!("From: {value:?} cannot be read: {e}"))?;
    let single = parsed
        .iter()
        .find_map(|a| match a {
            MailAddr::Single(s) => Some(s.clone()),
            MailAddr::Group(g) => g.addrs.first().cloned(),
        })
        .ok_or_else(|| format!("From: {value:?} holds no address"))?;
    let domain = address_domain(&single.addr)
        .ok_or_else(|| format!("From: {:?} is not an address with a domain", single.addr))?;
    Ok(Mailbox {
        display_name: single
            .display_name
            .map(|n| n.trim().trim_matches('"').trim().to_owned())
            .filter(|n| !n.is_empty()),
        address: single.addr,
        domain,
    })
}

/// The domain of an address as the DNS stage asks it (lowercased, IDN as punycode).
pub(crate) fn address_domain(address: &str) -> Option<String> {
    let (_, domain) = address.rsplit_once('@')?;
    crate::dns::normalise_domain(domain).ok()
}

/// The `d=`, `s=` and `h=` tags of a DKIM-Signature value (RFC 6376 §3.5; tag-list of §3.2).
pub(crate) fn dkim_signature(value: &str) -> Option<DkimSignature> {
    let mut domain = None;
    let mut selector = None;
    let mut signed = Vec::new();
    for tag in value.split(';') {
        let Some((name, v)) = tag.split_once('=') else {
            continue;
        };
        let v: String = v.chars().filter(|c| !c.is_whitespace()).collect();
        match name.trim() {
            "d" => domain = Some(v.to_ascii_lowercase()),
            "s" => selector = Some(v),
            "h" => {
                signed = v
                    .split(':')
                    .map(|h| h.to_ascii_lowercase())
                    .filter(|h| !h.is_empty())
                    .collect()
            }
            _ => {}
        }
    }
    Some(DkimSignature {
        domain: domain.filter(|d| !d.is_empty())?,
        selector: selector.filter(|s| !s.is_empty())?,
        signed_headers: signed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_headers_parts_and_attachments() {
        let eml = b"From: \"Acme News\" <news@Acme-Mail.COM>\r\n\
Return-Path: <bounces@em.acme-mail.com>\r\n\
Subject: =?UTF-8?B?w5xiZXIgdW5zZXJlIFByZWlzZQ==?=\r\n\
List-Unsubscribe: <https://acme-mail.com/u/1>,\r\n <mailto:u@acme-mail.com>\r\n\
DKIM-Signature: v=1; a=rsa-sha256; d=acme-mail.com; s=s1;\r\n\th=From:Subject:List-Unsubscribe; b=abc\r\n\
MIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=b1\r\n\r\n\
--b1\r\nContent-Type: multipart/alternative; boundary=b2\r\n\r\n\
--b2\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nHello\r\n\
--b2\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>Hello</p>\r\n--b2--\r\n\
--b1\r\nContent-Type: application/pdf; name=x.pdf\r\nContent-Disposition: attachment; filename=prices.pdf\r\n\
Content-Transfer-Encoding: base64\r\n\r\nAAECAw==\r\n--b1--\r\n";
        let c = parse(eml).unwrap();
        let from = c.from.unwrap();
        assert_eq!(from.display_name.as_deref(), Some("Acme News"));
        assert_eq!(from.domain, "acme-mail.com");
        assert_eq!(c.envelope_domain.as_deref(), Some("em.acme-mail.com"));
        assert_eq!(c.subject.as_deref(), Some("Über unsere Preise"));
        assert!(c
            .list_unsubscribe
            .unwrap()
            .contains("mailto:u@acme-mail.com"));
        assert_eq!(c.dkim.len(), 1);
        assert_eq!(
            c.dkim[0].signed_headers,
            ["from", "subject", "list-unsubscribe"]
        );
        assert_eq!(c.text.as_deref().map(str::trim), Some("Hello"));
        assert!(c.html.unwrap().contains("<p>Hello</p>"));
        assert_eq!(
            c.attachments,
            [Attachment {
                name: "prices.pdf".into(),
                size: 4
            }]
        );
    }

    #[test]
    fn what_is_not_a_message_is_said() {
        assert!(parse(b"just some text\nwith lines\n").is_err());
        let c = parse(b"Subject: hi\r\n\r\nbody").unwrap();
        assert!(c.from.unwrap_err().contains("no From"));
        let c = parse(b"From: nobody\r\nSubject: x\r\n\r\n").unwrap();
        assert!(c.from.is_err());
    }

    #[test]
    fn dkim_tags_tolerate_folding_and_need_d_and_s() {
        let s =
            dkim_signature(" v=1; d = Brand.Example ; s= sel\r\n 2024 ; h=From :\r\n To").unwrap();
        assert_eq!(
            (s.domain.as_str(), s.selector.as_str()),
            ("brand.example", "sel2024")
        );
        assert_eq!(s.signed_headers, ["from", "to"]);
        assert!(dkim_signature("v=1; s=x").is_none());
        assert!(dkim_signature("v=1; d=x.com; s=").is_none());
    }
}
