//! What a message's bodies hold, as the checks need it: links with their text, images, the text
//! a reader sees. HTML is read with a few tolerant patterns, not a full parser: campaign HTML is
//! table soup, and the checks only need attribute values and visible words.

use std::sync::LazyLock;

use regex::Regex;

use super::strip_prefix_ci;

/// Where a URL was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// An `<a href>` or `<area href>` of the HTML.
    Link,
    /// An `<img src>` (or a `background=` attribute) of the HTML.
    Image,
    /// A URL written in the text/plain part.
    Text,
}

/// A URL of the body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Url {
    /// As written, entities decoded.
    pub url: String,
    /// Its host, lowercased, IDN as punycode; `None` for a URL that names none (`mailto:`, `#`).
    pub host: Option<String>,
    /// Where it was found.
    pub place: Place,
    /// For a link, the visible text of the anchor.
    pub text: String,
}

impl Url {
    fn new(url: String, place: Place, text: String) -> Self {
        Url {
            host: host_of(&url),
            url,
            place,
            text,
        }
    }
}

/// An `<img>` of the HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Its `src`.
    pub src: String,
    /// Whether it is a 1×1 (or 0×0, or hidden) image: an open-tracking pixel.
    pub pixel: bool,
}

static ANCHOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(a|area)\b([^>]*)>(.*?)(?:</a\s*>|$)").expect("anchor pattern")
});
static IMG: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?is)<img\b([^>]*)>").expect("img pattern"));
static BACKGROUND: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?is)\bbackground\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#).expect("background")
});
static CSS_URL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"(?i)url\(\s*['"]?(https?://[^'")\s]+)['"]?\s*\)"#).expect("css url")
});
static TEXT_URL: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r#"(?i)\bhttps?://[^\s<>"'\])]+"#).expect("text url"));
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<[^>]*>").expect("tag"));
static COMMENT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?s)<!--.*?-->").expect("comment"));
static HIDDEN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?is)<(style|script|head|title)\b.*?</(style|script|head|title)\s*>|<!--.*?-->")
        .expect("hidden blocks")
});

/// The attributes the checks read, each with its pattern (compiled once).
const ATTRIBUTES: [&str; 5] = ["href", "src", "width", "height", "style"];
static ATTRIBUTE: LazyLock<Vec<Regex>> = LazyLock::new(|| {
    ATTRIBUTES
        .iter()
        .map(|name| {
            // The name must start the attribute: `data-src` is not `src`.
            Regex::new(&format!(
                r#"(?is)(?:^|[\s"'/]){name}\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))"#
            ))
            .expect("attribute pattern")
        })
        .collect()
});

/// The value of attribute `name` (one of [`ATTRIBUTES`]) in a tag's attribute text.
pub(crate) fn attribute(attrs: &str, name: &str) -> Option<String> {
    let i = ATTRIBUTES.iter().position(|a| *a == name)?;
    let caps = ATTRIBUTE[i].captures(attrs)?;
    let v = caps.get(1).or(caps.get(2)).or(caps.get(3))?.as_str();
    Some(decode_entities(v.trim()))
}

/// `&amp;`, `&lt;`, `&gt;`, `&quot;`, `&#39;`, `&nbsp;` and numeric references; others kept.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').filter(|&end| end < 12);
        let decoded = end.and_then(|end| {
            let name = &tail[1..end];
            let c = match name {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some(' '),
                _ => name.strip_prefix('#').and_then(|n| {
                    let code = match n.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => n.parse().ok(),
                    };
                    code.and_then(char::from_u32)
                }),
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The host of an http(s) URL (or a protocol-relative `//host/...`), lowercased, IDN as
/// punycode.
pub fn host_of(url: &str) -> Option<String> {
    let lower = url.trim_start();
    let rest = strip_prefix_ci(lower, "https://")
        .or_else(|| strip_prefix_ci(lower, "http://"))
        .or_else(|| lower.strip_prefix("//"))?;
    let authority = rest.split(['/', '?', '#', '\\']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let host = if let Some(v6) = host_port.strip_prefix('[') {
        let v6 = v6.split(']').next()?;
        return (!v6.is_empty()).then(|| v6.to_ascii_lowercase());
    } else {
        host_port.split(':').next()?
    };
    let host = host.trim_end_matches('.');
    if host.is_empty() {
        return None;
    }
    idna::domain_to_ascii(host).ok().filter(|h| !h.is_empty())
}

/// The URLs of the HTML body: links (with their text), images and background images.
pub fn html_urls(html: &str) -> Vec<Url> {
    let html = &COMMENT.replace_all(html, " ");
    let mut urls = Vec::new();
    for caps in ANCHOR.captures_iter(html) {
        let attrs = caps.get(2).map_or("", |m| m.as_str());
        if let Some(href) = attribute(attrs, "href") {
            let text = visible_text(caps.get(3).map_or("", |m| m.as_str()));
            urls.push(Url::new(href, Place::Link, text));
        }
    }
    for image in images(html) {
        urls.push(Url::new(image.src, Place::Image, String::new()));
    }
    for caps in BACKGROUND.captures_iter(html) {
        if let Some(v) = caps.get(1).or(caps.get(2)).or(caps.get(3)) {
            urls.push(Url::new(
                decode_entities(v.as_str()),
                Place::Image,
                String::new(),
            ));
        }
    }
    for caps in CSS_URL.captures_iter(html) {
        urls.push(Url::new(
            decode_entities(&caps[1]),
            Place::Image,
            String::new(),
        ));
    }
    urls
}

/// The http(s) URLs written in a text/plain body.
pub fn text_urls(text: &str) -> Vec<Url> {
    TEXT_URL
        .find_iter(text)
        .map(|m| {
            let url = m.as_str().trim_end_matches(['.', ',', ';', ':', '!', '?']);
            Url::new(url.to_owned(), Place::Text, String::new())
        })
        .collect()
}

/// The `<img>` tags of the HTML.
pub fn images(html: &str) -> Vec<Image> {
    IMG.captures_iter(&COMMENT.replace_all(html, " "))
        .filter_map(|caps| {
            let attrs = caps.get(1).map_or("", |m| m.as_str());
            let src = attribute(attrs, "src")?;
            let tiny = |name: &str| {
                attribute(attrs, name)
                    .and_then(|v| v.trim_end_matches("px").trim().parse::<f64>().ok())
                    .is_some_and(|v| v <= 1.0)
            };
            let style = attribute(attrs, "style")
                .unwrap_or_default()
                .to_ascii_lowercase()
                .replace(' ', "");
            let tiny_style = |prop: &str| {
                style.contains(&format!("{prop}:1px")) || style.contains(&format!("{prop}:0"))
            };
            let pixel = (tiny("width") && tiny("height"))
                || (tiny_style("width") && tiny_style("height"))
                || style.contains("display:none");
            Some(Image { src, pixel })
        })
        .collect()
}

/// The words a reader of the HTML sees: no tags, no style, script or comments, entities decoded,
/// whitespace collapsed.
pub fn visible_text(html: &str) -> String {
    let shown = HIDDEN.replace_all(html, " ");
    let text = TAG.replace_all(&shown, " ");
    decode_entities(&text)
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_of_urls() {
        assert_eq!(
            host_of("https://News.Brand.com/a?b").as_deref(),
            Some("news.brand.com")
        );
        assert_eq!(
            host_of("HTTP://user:pw@brand.com:8080/").as_deref(),
            Some("brand.com")
        );
        assert_eq!(
            host_of("//cdn.brand.com/x.png").as_deref(),
            Some("cdn.brand.com")
        );
        assert_eq!(
            host_of("https://bücher.de/").as_deref(),
            Some("xn--bcher-kva.de")
        );
        assert_eq!(
            host_of("https://[2001:db8::1]/x").as_deref(),
            Some("2001:db8::1")
        );
        assert_eq!(host_of("mailto:a@b.com"), None);
        assert_eq!(host_of("#top"), None);
        assert_eq!(host_of("https:///x"), None);
    }

    #[test]
    fn links_images_and_text() {
        let html = r#"<html><head><title>T</title><style>.a{background:url(https://css.brand.com/bg.png)}</style></head>
<body background="https://bg.brand.com/b.jpg">
<A HREF="https://brand.com/offer?a=1&amp;b=2">See the <b>offer</b></A>
<a class=x href='https://unsubscribe.bulkmailer.com/u'>Unsubscribe</a>
<img data-src="https://lazy.example/x.png" src="https://img.brand.com/hero.jpg" alt="">
<img src="https://t.brand.com/open.gif" width="1" height="1">
<img src=https://t2.brand.com/o.gif style="display: none">
<!-- <a href="https://hidden.example/">x</a> -->
<p>Caf&eacute; &amp; more &#233;&#x20AC;</p></body></html>"#;
        let urls = html_urls(html);
        let links: Vec<(&str, &str)> = urls
            .iter()
            .filter(|u| u.place == Place::Link)
            .map(|u| (u.url.as_str(), u.text.as_str()))
            .collect();
        assert_eq!(
            links,
            [
                ("https://brand.com/offer?a=1&b=2", "See the offer"),
                ("https://unsubscribe.bulkmailer.com/u", "Unsubscribe"),
            ]
        );
        let imgs = images(html);
        assert_eq!(imgs.len(), 3);
        assert_eq!(imgs[0].src, "https://img.brand.com/hero.jpg");
        assert!(!imgs[0].pixel && imgs[1].pixel && imgs[2].pixel);
        let hosts: Vec<String> = urls.iter().filter_map(|u| u.host.clone()).collect();
        assert!(hosts.contains(&"bg.brand.com".to_owned()));
        assert!(hosts.contains(&"css.brand.com".to_owned()));
        let text = visible_text(html);
        assert!(text.starts_with("See the offer Unsubscribe"), "{text}");
        assert!(text.ends_with("Caf&eacute; & more é€"), "{text}");
        assert!(!text.contains("hidden") && !text.contains("background"));
    }

    #[test]
    fn urls_in_text_drop_trailing_punctuation() {
        let urls = text_urls("Visit https://brand.com/a. Or (https://x.brand.com/b), bye");
        let got: Vec<&str> = urls.iter().map(|u| u.url.as_str()).collect();
        assert_eq!(got, ["https://brand.com/a", "https://x.brand.com/b"]);
    }

    #[test]
    fn entity_decoding_keeps_what_it_does_not_know() {
        assert_eq!(
            decode_entities("a &amp b &zz; c &#65;&#x42;"),
            "a &amp b &zz; c AB"
        );
        assert_eq!(decode_entities("&#1114112;&"), "&#1114112;&");
        assert_eq!(decode_entities("ünï &lt;"), "ünï <");
    }
}
