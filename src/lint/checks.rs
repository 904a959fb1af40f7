//! The checks that read the message alone: sender identity, unsubscribe, links, content, and the
//! parts of DKIM that need no DNS. Each returns its findings; none does I/O.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use regex::Regex;

use super::body::{self, Place};
use super::message::Campaign;
use super::{registrable, strip_prefix_ci, Finding};

/// Consumer mailbox providers: a `From:` on one of these is not the sender's own domain.
/// (mailscrub's provider list, plus the consumer domains DMARC-protected by their owners.)
pub(crate) fn is_consumer_mailbox(domain: &str) -> bool {
    crate::address::is_consumer_mailbox(domain)
}

/// Link shorteners: they hide the destination, and spam filters know it.
const SHORTENERS: &[&str] = &[
    "bit.ly",
    "bitly.com",
    "tinyurl.com",
    "t.co",
    "goo.gl",
    "ow.ly",
    "is.gd",
    "buff.ly",
    "rebrand.ly",
    "cutt.ly",
    "shorturl.at",
    "tiny.cc",
    "rb.gy",
    "t.ly",
    "bl.ink",
    "s.id",
    "v.gd",
    "soo.gd",
    "lnkd.in",
    "shorte.st",
    "adf.ly",
    "tr.im",
    "x.co",
    "qr.net",
    "1url.com",
];

/// File types that mailbox providers block or quarantine as attachments.
const BLOCKED_EXTENSIONS: &[&str] = &[
    "ade", "adp", "apk", "appx", "bat", "cab", "chm", "cmd", "com", "cpl", "dll", "dmg", "exe",
    "hta", "ins", "iso", "isp", "jar", "js", "jse", "lib", "lnk", "mde", "msc", "msi", "msix",
    "msp", "mst", "nsh", "pif", "ps1", "scr", "sct", "shb", "sys", "vb", "vbe", "vbs", "vhd",
    "vxd", "wsc", "wsf", "wsh", "xll",
];

/// A message larger than this is slow to deliver and often filtered (bytes).
pub const MAX_MESSAGE_BYTES: usize = 1024 * 1024;
/// Gmail clips a message whose HTML is larger than about this, hiding what follows (often the
/// unsubscribe link).
pub const MAX_HTML_BYTES: usize = 102 * 1024;
/// An HTML body with fewer visible words than this, and an image, is "solely an image".
pub const MIN_WORDS: usize = 20;

static UNSUBSCRIBE_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)unsubscri|opt[\s-]?out|abmelden|abbestellen|d[ée]sabonn|d[ée]sinscri|darse de baja|dar de baja|cancelar (la )?suscripci|descadastr|uitschrijven|afmelden|disiscri|cancella l.iscrizione|avsluta|avregistr|afmeld|odhl[áa]sit|wypisz|отпис|配信停止|退订|取消订阅|구독 ?취소|manage (your )?(e-?mail )?(preferences|subscriptions?)|e-?mail preferences|update (your )?preferences",
    )
    .expect("unsubscribe words")
});
static ADDRESS_BOOK: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)add\s+(us|me|[^.!?\n]{1,60}?)\s+to\s+your\s+(address\s*book|contacts?(\s+list)?|safe[\s-]*senders?(\s+list)?)|white[\s-]?list\s+(us|our)|safe[\s-]*senders?\s+list",
    )
    .expect("address book")
});
static DISCLAIMER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)optional|not (required|necessary|needed)|you (do not|don't) (have|need) to|if you (wish|like|want|prefer)|no need to")
        .expect("disclaimer")
});
static TRACKING_NOTICE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)track|privacy|web beacon|pixel|datenschutz|confidentialit|privacidad")
        .expect("tracking notice")
});
static MERGE_TAG: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"\{\{.*?\}\}|\*\|[A-Z0-9_:]+\|\*|%%[A-Za-z0-9_]+%%|\[\[[A-Za-z0-9_ ]+\]\]|\$\{[A-Za-z0-9_.]+\}")
        .expect("merge tag")
});
const PLACEHOLDER_SUBJECTS: &[&str] = &[
    "test",
    "testing",
    "hello",
    "hi",
    "hey",
    "untitled",
    "no subject",
    "(no subject)",
    "subject",
    "newsletter",
    "update",
    "news",
    "email",
    "message",
    "draft",
    "campaign",
    "fw",
    "re",
];

/// Sender identity: `From:` on the sender's own domain, a display name, a real subject.
pub fn identity(c: &Campaign, out: &mut Vec<Finding>) {
    match &c.from {
        Err(why) => out.push(Finding::error("from-domain", why.clone())),
        Ok(from) if is_consumer_mailbox(&from.domain) => out.push(Finding::error(
            "from-domain",
            format!(
                "From: {} is a consumer mailbox; bulk mail must come from a domain the sender owns",
                from.address
            ),
        )),
        Ok(from) => out.push(Finding::ok(
            "from-domain",
            format!(
                "From: {} is on the sender's domain {}",
                from.address, from.domain
            ),
        )),
    }
    if let Ok(from) = &c.from {
        match &from.display_name {
            Some(name) => out.push(Finding::ok(
                "display-name",
                format!("display name {name:?}"),
            )),
            None => out.push(Finding::warning(
                "display-name",
                format!("From: {} has no display name", from.address),
            )),
        }
    }
    out.push(subject(c.subject.as_deref()));
}

fn subject(subject: Option<&str>) -> Finding {
    let Some(s) = subject.map(str::trim).filter(|s| !s.is_empty()) else {
        return Finding::error("subject", "the message has no subject");
    };
    if let Some(tag) = MERGE_TAG.find(s) {
        return Finding::error(
            "subject",
            format!("the subject holds an unfilled merge tag {:?}", tag.as_str()),
        );
    }
    let bare = s
        .trim_matches(|c: char| !c.is_alphanumeric())
        .to_lowercase();
    if PLACEHOLDER_SUBJECTS.contains(&bare.as_str()) || bare.is_empty() {
        return Finding::warning(
            "subject",
            format!("the subject {s:?} does not say what the message is"),
        );
    }
    let letters: Vec<char> = s.chars().filter(|c| c.is_alphabetic()).collect();
    if letters.len() >= 8
        && letters.iter().all(|c| !c.is_lowercase())
        && letters.iter().any(|c| c.is_uppercase())
    {
        return Finding::warning("subject", format!("the subject {s:?} is in capitals"));
    }
    Finding::ok("subject", format!("subject {s:?}"))
}

/// The URIs of a `List-Unsubscribe` value (RFC 2369: `<uri>` items separated by commas).
pub(crate) fn unsubscribe_uris(value: &str) -> Vec<String> {
    value
        .split('<')
        .skip(1)
        .filter_map(|s| s.split_once('>').map(|(uri, _)| uri.trim().to_owned()))
        .filter(|u| !u.is_empty())
        .collect()
}

/// Unsubscribe: the header, one-click, and a link a reader can see.
pub fn unsubscribe(c: &Campaign, out: &mut Vec<Finding>) {
    let uris = c
        .list_unsubscribe
        .as_deref()
        .map(unsubscribe_uris)
        .unwrap_or_default();
    let https = uris
        .iter()
        .any(|u| strip_prefix_ci(u, "https://").is_some_and(|r| !r.is_empty()));
    let mailto = uris
        .iter()
        .any(|u| strip_prefix_ci(u, "mailto:").is_some_and(|r| !r.is_empty()));
    out.push(match (&c.list_unsubscribe, https, mailto) {
        (None, _, _) => Finding::error("list-unsubscribe", "no List-Unsubscribe header"),
        (Some(_), true, _) => Finding::ok(
            "list-unsubscribe",
            format!("List-Unsubscribe has an https URL ({} URI(s))", uris.len()),
        ),
        (Some(_), false, true) => Finding::warning(
            "list-unsubscribe",
            "List-Unsubscribe has only a mailto: address; add an https URL for one-click",
        ),
        (Some(v), false, false) => Finding::error(
            "list-unsubscribe",
            format!("List-Unsubscribe {v:?} has neither an https URL nor a mailto: address"),
        ),
    });
    let post = c.list_unsubscribe_post.as_deref().is_some_and(|v| {
        v.replace(char::is_whitespace, "")
            .eq_ignore_ascii_case("List-Unsubscribe=One-Click")
    });
    if !post {
        out.push(Finding::error(
            "one-click",
            match &c.list_unsubscribe_post {
                None => "no List-Unsubscribe-Post: List-Unsubscribe=One-Click header".to_owned(),
                Some(v) => {
                    format!("List-Unsubscribe-Post is {v:?}, not List-Unsubscribe=One-Click")
                }
            },
        ));
    } else if !https {
        out.push(Finding::error(
            "one-click",
            "List-Unsubscribe-Post is set but List-Unsubscribe has no https URL to post to",
        ));
    } else {
        let covered = c.dkim.iter().any(|s| {
            s.signed_headers.iter().any(|h| h == "list-unsubscribe")
                && s.signed_headers
                    .iter()
                    .any(|h| h == "list-unsubscribe-post")
        });
        out.push(if covered {
            Finding::ok("one-click", "one-click unsubscribe (RFC 8058), both headers signed by DKIM")
        } else {
            Finding::warning(
                "one-click",
                "one-click unsubscribe is set, but no DKIM signature covers List-Unsubscribe and List-Unsubscribe-Post (RFC 8058 §4)",
            )
        });
    }
    out.push(visible_unsubscribe(c));
}

fn visible_unsubscribe(c: &Campaign) -> Finding {
    let in_html = c.html.as_deref().is_some_and(|html| {
        body::html_urls(html).iter().any(|u| {
            u.place == Place::Link
                && (UNSUBSCRIBE_WORDS.is_match(&u.text) || UNSUBSCRIBE_WORDS.is_match(&u.url))
        })
    });
    let in_text = c.text.as_deref().is_some_and(|t| {
        UNSUBSCRIBE_WORDS.is_match(t) && (!body::text_urls(t).is_empty() || t.contains("mailto:"))
    });
    match (in_html, in_text, c.html.is_some()) {
        (true, _, _) => Finding::ok("unsubscribe-link", "the HTML body has an unsubscribe link"),
        (false, true, false) => {
            Finding::ok("unsubscribe-link", "the text body has an unsubscribe link")
        }
        (false, true, true) => Finding::warning(
            "unsubscribe-link",
            "only the text body has an unsubscribe link; most readers see the HTML",
        ),
        (false, false, _) => Finding::error(
            "unsubscribe-link",
            "no visible unsubscribe link in the body",
        ),
    }
}

/// Links and images: one registrable domain (or the allowed ones), no shorteners.
pub fn link_domains(c: &Campaign, allowed: &[String], out: &mut Vec<Finding>) {
    let mut urls = Vec::new();
    if let Some(html) = &c.html {
        urls.extend(body::html_urls(html));
    }
    if let Some(text) = &c.text {
        urls.extend(body::text_urls(text));
    }
    let allowed: Vec<String> = allowed.iter().map(|d| registrable(d)).collect();
    let mut domains: BTreeMap<String, usize> = BTreeMap::new();
    let mut shortened: BTreeMap<String, usize> = BTreeMap::new();
    let mut plain_http = 0;
    for u in &urls {
        let Some(host) = &u.host else { continue };
        if SHORTENERS.contains(&host.as_str()) {
            *shortened.entry(host.clone()).or_default() += 1;
        }
        if strip_prefix_ci(&u.url, "http://").is_some() {
            plain_http += 1;
        }
        let domain = registrable(host);
        if !allowed.contains(&domain) {
            *domains.entry(domain).or_default() += 1;
        }
    }
    let counted = |m: &BTreeMap<String, usize>| {
        m.iter()
            .map(|(d, n)| format!("{d} ({n})"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    out.push(match domains.len() {
        0 if urls.iter().all(|u| u.host.is_none()) => {
            Finding::ok("link-domains", "the body has no web links or remote images")
        }
        0 => Finding::ok("link-domains", "every link and image is on an allowed domain"),
        1 => Finding::ok(
            "link-domains",
            format!("every link and image is on one domain: {}", counted(&domains)),
        ),
        n => Finding::error(
            "link-domains",
            format!(
                "links and images point to {n} registrable domains: {}; use one (or list the others with --allow-domain)",
                counted(&domains)
            ),
        ),
    });
    if !shortened.is_empty() {
        out.push(Finding::warning(
            "url-shortener",
            format!("links through URL shorteners: {}", counted(&shortened)),
        ));
    }
    if plain_http > 0 {
        out.push(Finding::warning(
            "link-domains",
            format!("{plain_http} link(s) or image(s) use http://, not https://"),
        ));
    }
}

/// Content: not solely an image, a text part, size, attachments, tracking pixel, address book.
pub fn content(c: &Campaign, out: &mut Vec<Finding>) {
    let visible = c.html.as_deref().map(body::visible_text);
    let images = c.html.as_deref().map(body::images).unwrap_or_default();
    let words = visible
        .as_deref()
        .map_or(0, |t| t.split_whitespace().count());
    let pictures = images.iter().filter(|i| !i.pixel).count();
    match (&c.html, &c.text) {
        (Some(_), _) if pictures > 0 && words < MIN_WORDS => out.push(Finding::error(
            "image-only",
            format!("the HTML is {pictures} image(s) and {words} word(s) of text: filters read text, and many readers block images"),
        )),
        (None, None) => out.push(Finding::error("image-only", "the message has no text or HTML body")),
        _ => out.push(Finding::ok("image-only", format!("the body has text ({words} words in the HTML)"))),
    }
    out.push(match (&c.html, &c.text) {
        (Some(_), None) => Finding::warning("text-part", "HTML only: add a text/plain alternative"),
        (_, Some(_)) => Finding::ok("text-part", "a text/plain part is present"),
        (None, None) => Finding::error("text-part", "no text/plain part"),
    });
    let html_size = c.html.as_ref().map_or(0, String::len);
    if c.size > MAX_MESSAGE_BYTES {
        out.push(Finding::warning(
            "size",
            format!(
                "the message is {} KB; keep bulk mail under {} KB",
                c.size / 1024,
                MAX_MESSAGE_BYTES / 1024
            ),
        ));
    } else if html_size > MAX_HTML_BYTES {
        out.push(Finding::warning(
            "size",
            format!("the HTML is {} KB; Gmail clips HTML over 102 KB, hiding its end (often the unsubscribe link)", html_size / 1024),
        ));
    } else {
        out.push(Finding::ok("size", format!("{} KB", c.size.div_ceil(1024))));
    }
    for a in &c.attachments {
        let ext = a.name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase());
        if ext
            .as_deref()
            .is_some_and(|e| BLOCKED_EXTENSIONS.contains(&e))
        {
            out.push(Finding::error(
                "attachments",
                format!("{:?} is a file type that mailbox providers block", a.name),
            ));
        } else {
            out.push(Finding::warning(
                "attachments",
                format!(
                    "{:?} ({} KB) is attached; link to it instead",
                    a.name,
                    a.size.div_ceil(1024)
                ),
            ));
        }
    }
    if c.attachments.is_empty() {
        out.push(Finding::ok("attachments", "no attachments"));
    }
    let all_text = format!(
        "{} {}",
        visible.as_deref().unwrap_or(""),
        c.text.as_deref().unwrap_or("")
    );
    let pixels = images.iter().filter(|i| i.pixel).count();
    if pixels > 0 {
        out.push(if TRACKING_NOTICE.is_match(&all_text) {
            Finding::ok(
                "tracking-pixel",
                format!("{pixels} tracking pixel(s); the message mentions tracking or privacy"),
            )
        } else {
            Finding::warning(
                "tracking-pixel",
                format!(
                    "{pixels} tracking pixel(s) and no word about tracking or privacy: disclose it"
                ),
            )
        });
    }
    if let Some(m) = ADDRESS_BOOK.find(&all_text) {
        if !DISCLAIMER.is_match(&all_text) {
            out.push(Finding::warning(
                "address-book",
                format!("{:?} without saying that it is optional", m.as_str()),
            ));
        }
    }
}

/// DKIM in the message: a signature, and one aligned with the `From:` domain.
pub fn dkim_in_message(c: &Campaign, out: &mut Vec<Finding>) {
    if c.dkim.is_empty() {
        out.push(Finding::error(
            "dkim-signature",
            "no DKIM-Signature header (sign the message, or lint it as the ESP sends it)",
        ));
        return;
    }
    let ds: Vec<&str> = c.dkim.iter().map(|s| s.domain.as_str()).collect();
    out.push(Finding::ok(
        "dkim-signature",
        format!("signed by d={}", ds.join(", d=")),
    ));
    if let Ok(from) = &c.from {
        let org = registrable(&from.domain);
        out.push(if ds.iter().any(|d| registrable(d) == org) {
            Finding::ok(
                "dkim-alignment",
                format!("a signature's d= is aligned with From: {}", from.domain),
            )
        } else {
            Finding::error(
                "dkim-alignment",
                format!(
                    "no signature's d= ({}) is aligned with From: {} (DMARC needs it, relaxed)",
                    ds.join(", "),
                    from.domain
                ),
            )
        });
    }
}
