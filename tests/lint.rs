//! `mailscrub lint`: each check on messages written for it, good and bad; the authentication
//! checks against a DNS server on loopback, reached through the system configuration.

use std::collections::BTreeMap;

use crate::support::dns_server::{TestDns, TEST_ORIGINS};
use crate::support::{assert_contains, assert_contains_all, exit, TestDir};
use serde_json::Value;

const LINT: i32 = mailscrub::exit::LINT as i32;

/// A campaign that follows every practice; each test changes one thing.
struct Eml {
    headers: Vec<(String, String)>,
    text: Option<String>,
    html: Option<String>,
    attachment: Option<(String, Vec<u8>)>,
}

const GOOD_HTML: &str = r#"<html><body>
<h1>Autumn boots are here</h1>
<p>Hello Ada, our autumn boots arrived this week: waterproof leather, resoled for free for two
years, in sizes 36 to 47. Order before Friday and delivery is free.</p>
<p><a href="https://brand-mail.com/boots">See the boots</a></p>
<img src="https://img.brand-mail.com/boots.jpg" width="600" height="300" alt="Boots">
<p><a href="https://brand-mail.com/u/1">Unsubscribe</a></p>
</body></html>"#;

impl Eml {
    fn good() -> Self {
        let h = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        Eml {
            headers: vec![
                h("DKIM-Signature", "v=1; a=rsa-sha256; d=brand-mail.com; s=s1; h=from:subject:list-unsubscribe:list-unsubscribe-post; bh=x; b=y"),
                h("From", "Brand <news@brand-mail.com>"),
                h("To", "ada@corp-mail.com"),
                h("Subject", "Autumn boots are here, delivery free until Friday"),
                h("List-Unsubscribe", "<https://brand-mail.com/u/1>, <mailto:u@brand-mail.com>"),
                h("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
            ],
            text: Some("Hello Ada, our autumn boots are here: https://brand-mail.com/boots\nUnsubscribe: https://brand-mail.com/u/1\n".to_owned()),
            html: Some(GOOD_HTML.to_owned()),
            attachment: None,
        }
    }

    fn set(mut self, name: &str, value: &str) -> Self {
        self.headers.retain(|(k, _)| !k.eq_ignore_ascii_case(name));
        if !value.is_empty() {
            self.headers.push((name.to_owned(), value.to_owned()));
        }
        self
    }

    fn html(mut self, html: Option<&str>) -> Self {
        self.html = html.map(str::to_owned);
        self
    }

    fn text(mut self, text: Option<&str>) -> Self {
        self.text = text.map(str::to_owned);
        self
    }

    fn attach(mut self, name: &str, bytes: &[u8]) -> Self {
        self.attachment = Some((name.to_owned(), bytes.to_vec()));
        self
    }

    fn bytes(&self) -> Vec<u8> {
        let mut m = String::new();
        for (k, v) in &self.headers {
            m.push_str(&format!("{k}: {v}\r\n"));
        }
        m.push_str("MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"mix\"\r\n\r\n");
        m.push_str("--mix\r\nContent-Type: multipart/alternative; boundary=\"alt\"\r\n\r\n");
        if let Some(t) = &self.text {
            m.push_str(&format!(
                "--alt\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{t}\r\n"
            ));
        }
        if let Some(h) = &self.html {
            m.push_str(&format!(
                "--alt\r\nContent-Type: text/html; charset=utf-8\r\n\r\n{h}\r\n"
            ));
        }
        m.push_str("--alt--\r\n");
        if let Some((name, bytes)) = &self.attachment {
            let b64: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            m.push_str(&format!(
                "--mix\r\nContent-Type: application/octet-stream; name=\"{name}\"\r\n\
                 Content-Disposition: attachment; filename=\"{name}\"\r\n\r\n{b64}\r\n"
            ));
        }
        m.push_str("--mix--\r\n");
        m.into_bytes()
    }
}

/// The findings of one message, `--no-dns`, as check -> severities.
fn lint_one(eml: &Eml, extra: &[&str]) -> BTreeMap<String, Vec<String>> {
    let dir = TestDir::new();
    let path = dir.write("m.eml", eml.bytes());
    let mut args = vec!["lint", "--json", "--no-dns", &path];
    args.extend(extra);
    let out = dir.run(&args);
    assert!(matches!(out.code, Some(0) | Some(LINT)), "{out:?}");
    findings(&out.stdout)
}

fn findings(stdout: &str) -> BTreeMap<String, Vec<String>> {
    let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        map.entry(v["check"].as_str().unwrap().to_owned())
            .or_default()
            .push(v["severity"].as_str().unwrap().to_owned());
    }
    map
}

fn severity(eml: Eml, check: &str) -> String {
    let f = lint_one(&eml, &[]);
    f.get(check)
        .unwrap_or_else(|| panic!("no {check} finding in {f:?}"))
        .iter()
        .max_by_key(|s| ["ok", "warning", "error"].iter().position(|x| x == s))
        .unwrap()
        .clone()
}

#[test]
fn a_message_that_follows_every_practice_has_no_warning() {
    let f = lint_one(&Eml::good(), &[]);
    let not_ok: Vec<_> = f
        .iter()
        .filter(|(_, s)| s.iter().any(|s| s != "ok"))
        .collect();
    assert!(not_ok.is_empty(), "{not_ok:?}");
    for check in [
        "from-domain",
        "display-name",
        "subject",
        "dkim-signature",
        "dkim-alignment",
        "list-unsubscribe",
        "one-click",
        "unsubscribe-link",
        "link-domains",
        "image-only",
        "text-part",
        "size",
        "attachments",
    ] {
        assert!(f.contains_key(check), "{check} missing from {f:?}");
    }
    assert!(!f.contains_key("spf"), "--no-dns skips the DNS checks");
}

#[test]
fn sender_identity() {
    let e = |from: &str| severity(Eml::good().set("From", from), "from-domain");
    assert_eq!(e("Brand <brand.news@outlook.com>"), "error");
    assert_eq!(e("Brand <brand.news@gmail.com>"), "error");
    assert_eq!(e("not an address"), "error");
    assert_eq!(e("Brand <news@brand-mail.com>"), "ok");
    assert_eq!(
        severity(
            Eml::good().set("From", "news@brand-mail.com"),
            "display-name"
        ),
        "warning"
    );
    let s = |subject: &str| severity(Eml::good().set("Subject", subject), "subject");
    assert_eq!(s(""), "error");
    assert_eq!(s("Hello {{first_name}}, boots!"), "error");
    assert_eq!(s("*|FNAME|*, new boots"), "error");
    assert_eq!(s("Newsletter"), "warning");
    assert_eq!(s("test"), "warning");
    assert_eq!(s("LAST CHANCE TO BUY BOOTS"), "warning");
    assert_eq!(s("Neue Stiefel für den Herbst"), "ok");
    assert_eq!(s("=?UTF-8?B?0J3QvtCy0YvQtSDQsdC+0YLQuNC90LrQuA==?="), "ok");
}

#[test]
fn dkim_in_the_message() {
    assert_eq!(
        severity(Eml::good().set("DKIM-Signature", ""), "dkim-signature"),
        "error"
    );
    let esp_only = Eml::good().set("DKIM-Signature", "v=1; d=esp-relay.net; s=k; h=from; b=x");
    assert_eq!(severity(esp_only, "dkim-alignment"), "error");
    let sub = Eml::good().set(
        "DKIM-Signature",
        "v=1; d=em.brand-mail.com; s=k; h=from:list-unsubscribe:list-unsubscribe-post; b=x",
    );
    assert_eq!(severity(sub, "dkim-alignment"), "ok", "relaxed alignment");
}

#[test]
fn unsubscribe_header_one_click_and_link() {
    let u = |value: &str| {
        severity(
            Eml::good().set("List-Unsubscribe", value),
            "list-unsubscribe",
        )
    };
    assert_eq!(u(""), "error");
    assert_eq!(u("<mailto:u@brand-mail.com>"), "warning");
    assert_eq!(u("<http://brand-mail.com/u>"), "error");
    assert_eq!(u("<https://brand-mail.com/u/1>"), "ok");
    assert_eq!(
        severity(Eml::good().set("List-Unsubscribe-Post", ""), "one-click"),
        "error"
    );
    assert_eq!(
        severity(
            Eml::good().set("List-Unsubscribe-Post", "List-Unsubscribe=Yes"),
            "one-click"
        ),
        "error"
    );
    let unsigned = Eml::good().set(
        "DKIM-Signature",
        "v=1; d=brand-mail.com; s=s1; h=from:subject; b=x",
    );
    assert_eq!(severity(unsigned, "one-click"), "warning", "RFC 8058 §4");
    let mailto_only = Eml::good().set("List-Unsubscribe", "<mailto:u@brand-mail.com>");
    assert_eq!(severity(mailto_only, "one-click"), "error");

    let no_link = GOOD_HTML.replace(
        r#"<a href="https://brand-mail.com/u/1">Unsubscribe</a>"#,
        "",
    );
    let e = Eml::good().html(Some(&no_link)).text(Some("Hello"));
    assert_eq!(severity(e, "unsubscribe-link"), "error");
    let german = GOOD_HTML.replace(">Unsubscribe<", ">Vom Newsletter abmelden<");
    assert_eq!(
        severity(Eml::good().html(Some(&german)), "unsubscribe-link"),
        "ok"
    );
    let e = Eml::good().html(Some(&no_link));
    assert_eq!(
        severity(e, "unsubscribe-link"),
        "warning",
        "only in the text part"
    );
}

#[test]
fn links_on_one_domain_or_the_allowed_ones() {
    // Microsoft's example of inconsistent redirect domains.
    let html = GOOD_HTML.replace(
        r#"<p><a href="https://brand-mail.com/u/1">Unsubscribe</a></p>"#,
        r#"<a href="https://unsubscribe.bulkmailer.com/u">Unsubscribe</a>
<a href="https://profile.excite.com/p">Profile</a><a href="https://options.yahoo.com/o">Options</a>"#,
    );
    let mixed = Eml::good().html(Some(&html)).text(None);
    let dir = TestDir::new();
    let path = dir.write("m.eml", mixed.bytes());
    let out = dir.cmd(&["lint", "--no-dns", &path]).code(LINT);
    assert_contains_all(
        &out.stdout,
        &[
            "error   link-domains:",
            "bulkmailer.com (1)",
            "excite.com (1)",
            "yahoo.com (1)",
            "brand-mail.com (",
        ],
    );
    let allowed = lint_one(
        &mixed,
        &[
            "--allow-domain",
            "bulkmailer.com",
            "--allow-domain",
            "excite.com",
            "--allow-domain",
            "options.yahoo.com",
        ],
    );
    assert_eq!(allowed["link-domains"], ["ok"], "{allowed:?}");

    // One other domain (an ESP's click tracking) is consistent; a shortener is a warning.
    let tracked = GOOD_HTML.replace(
        "https://brand-mail.com/",
        "https://click.esp-links.net/brand-mail.com/",
    );
    let tracked = tracked.replace(
        "https://img.brand-mail.com/",
        "https://click.esp-links.net/img/",
    );
    let e = Eml::good().html(Some(&tracked)).text(None);
    assert_eq!(severity(e, "link-domains"), "ok");
    let short = GOOD_HTML.replace("https://brand-mail.com/boots", "https://bit.ly/3boots");
    let f = lint_one(&Eml::good().html(Some(&short)).text(None), &[]);
    assert_eq!(f["url-shortener"], ["warning"]);
    assert_eq!(f["link-domains"], ["error"], "bit.ly is a second domain");
    // Public suffixes: two brands under co.uk are two domains.
    let uk = GOOD_HTML
        .replace("https://brand-mail.com/", "https://shop.brand.co.uk/")
        .replace("https://img.brand-mail.com/", "https://img.other.co.uk/");
    assert_eq!(
        severity(Eml::good().html(Some(&uk)).text(None), "link-domains"),
        "error"
    );
}

#[test]
fn content_checks() {
    let image_only = r#"<html><body><a href="https://brand-mail.com/boots"><img src="https://brand-mail.com/all-the-text.png" width="600" height="1400"></a>
<a href="https://brand-mail.com/u/1">Unsubscribe</a></body></html>"#;
    assert_eq!(
        severity(Eml::good().html(Some(image_only)), "image-only"),
        "error"
    );
    assert_eq!(severity(Eml::good().text(None), "text-part"), "warning");
    let big = GOOD_HTML.replace(
        "</body>",
        &format!("<p>{}</p></body>", "boots ".repeat(20_000)),
    );
    assert_eq!(severity(Eml::good().html(Some(&big)), "size"), "warning");
    assert_eq!(
        severity(Eml::good().attach("prices.pdf", b"%PDF-1.7"), "attachments"),
        "warning"
    );
    assert_eq!(
        severity(Eml::good().attach("Invoice.EXE", b"MZ"), "attachments"),
        "error"
    );

    let pixel = GOOD_HTML.replace(
        "</body>",
        r#"<img src="https://brand-mail.com/o.gif" width="1" height="1" alt=""></body>"#,
    );
    assert_eq!(
        severity(Eml::good().html(Some(&pixel)), "tracking-pixel"),
        "warning"
    );
    let disclosed = pixel.replace(
        "</body>",
        "<p>We track opens; see our privacy notice.</p></body>",
    );
    assert_eq!(
        severity(Eml::good().html(Some(&disclosed)), "tracking-pixel"),
        "ok"
    );
    assert!(!lint_one(&Eml::good(), &[]).contains_key("tracking-pixel"));

    let book = GOOD_HTML.replace("</body>", "<p>Add us to your address book!</p></body>");
    assert_eq!(
        severity(Eml::good().html(Some(&book)), "address-book"),
        "warning"
    );
    let optional = GOOD_HTML.replace(
        "</body>",
        "<p>If you wish, add news@brand-mail.com to your contacts (this is optional).</p></body>",
    );
    assert!(!lint_one(&Eml::good().html(Some(&optional)), &[]).contains_key("address-book"));
}

#[test]
fn the_sample_campaigns_lint_as_the_readme_shows() {
    let dir = TestDir::new();
    let folder = format!("{}/sample-data/campaigns", env!("CARGO_MANIFEST_DIR"));
    let out = dir.cmd(&["lint", "--no-dns", &folder]).code(LINT);
    assert_contains(&out.stderr, "2 message(s): 7 error(s), 7 warning(s), 16 ok");
    assert_contains(&out.stderr, "1 of 2 message(s) have errors");
    let good: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.contains("spring-sale.eml"))
        .collect();
    assert!(good.iter().all(|l| l.contains(": ok ")), "{good:#?}");
    let good = format!("{folder}/spring-sale.eml");
    dir.cmd(&["lint", "--no-dns", &good]).ok();

    // The README shows this very output.
    let readme =
        std::fs::read_to_string(format!("{}/README.md", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let shown = readme
        .split("lint --no-dns sample-data/campaigns\n```\n\n```text\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("the README's lint example");
    let ran = format!("{}{}", out.stdout, out.stderr)
        .replace(&format!("{folder}/"), "sample-data/campaigns/");
    crate::support::assert_lines(
        &shown.lines().collect::<Vec<_>>(),
        &ran.lines().collect::<Vec<_>>(),
    );
}

#[test]
fn explain_lists_every_check_with_its_source() {
    let dir = TestDir::new();
    let out = dir.cmd(&["lint", "--explain"]).ok();
    for c in mailscrub::lint::CHECKS {
        assert_contains(&out.stdout, &format!("{}: ", c.name));
    }
    assert_contains_all(
        &out.stdout,
        &[
            "RFC 8058",
            "RFC 7489",
            "unsubscribe.bulkmailer.com",
            "source: ",
        ],
    );
    let path = dir.write("m.eml", Eml::good().set("Subject", "").bytes());
    let out = dir
        .cmd(&["lint", "--explain", "--no-dns", &path])
        .code(LINT);
    assert_contains_all(
        &out.stdout,
        &["error   subject:", "    why: ", "    source: "],
    );
}

#[test]
fn bad_inputs_are_named() {
    let dir = TestDir::new();
    let out = dir
        .cmd(&["lint", "--no-dns", "missing.eml"])
        .code(exit::INPUT);
    assert_contains(&out.stderr, "missing.eml: cannot open");
    std::fs::create_dir(dir.join("empty")).unwrap();
    let out = dir.cmd(&["lint", "--no-dns", "empty"]).code(exit::INPUT);
    assert_contains(&out.stderr, "no .eml file");
    let junk = dir.write("junk.eml", "just some words\nand more\n");
    let out = dir.cmd(&["lint", "--no-dns", &junk]).code(LINT);
    assert_contains(&out.stdout, "error   message: not a message");
    dir.cmd(&["lint"]).code(exit::USAGE);
}

/// SPF, DMARC and DKIM keys, asked of the servers in the system configuration (no
/// `--dns-server`): present, missing, doubled, revoked, and a server fault, which is a warning.
#[test]
fn authentication_is_asked_of_the_system_resolver_by_default() {
    let zone = "\
brand-mail.com. 3600 TXT v=spf1 include:_spf.esp-relay.com ~all
brand-mail.com. 3600 TXT google-site-verification=abc
_dmarc.brand-mail.com. 3600 TXT v=DMARC1; p=reject; rua=mailto:dmarc@brand-mail.com
s1._domainkey.brand-mail.com. 3600 TXT v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC
em.shop-mail.com. 3600 TXT v=spf1 a -all
em.shop-mail.com. 3600 TXT v=spf1 mx -all
_dmarc.shop-mail.com. 3600 TXT v=DMARC1; p=none
old._domainkey.shop-mail.com. 3600 TXT v=DKIM1; p=
";
    let dns = TestDns::start(TEST_ORIGINS, zone, &["faulty-mail.com."], &[]);
    let dir = TestDir::new();
    let conf = dir.resolv_conf(&[dns.addr], "options timeout:1 attempts:1\n");
    let good = dir.write("a-good.eml", Eml::good().bytes());
    let shop = dir.write(
        "b-shop.eml",
        Eml::good()
            .set("From", "Shop <news@shop-mail.com>")
            .set("Return-Path", "<b@em.shop-mail.com>")
            .set(
                "DKIM-Signature",
                "v=1; d=shop-mail.com; s=old; h=from:list-unsubscribe:list-unsubscribe-post; b=x",
            )
            .bytes(),
    );
    let bare = dir.write(
        "c-bare.eml",
        Eml::good()
            .set("From", "Bare <news@no-auth-mail.com>")
            .set(
                "DKIM-Signature",
                "v=1; d=no-auth-mail.com; s=k; h=from:list-unsubscribe:list-unsubscribe-post; b=x",
            )
            .bytes(),
    );
    let faulty = dir.write(
        "d-faulty.eml",
        Eml::good()
            .set("From", "F <news@faulty-mail.com>")
            .set(
                "DKIM-Signature",
                "v=1; d=faulty-mail.com; s=k; h=from:list-unsubscribe:list-unsubscribe-post; b=x",
            )
            .bytes(),
    );
    let out = dir
        .cmd(&["lint", "--json", &good, &shop, &bare, &faulty])
        .env("MAILSCRUB_RESOLV_CONF", &conf)
        .code(LINT);
    let mut by_file: BTreeMap<String, BTreeMap<String, (String, String)>> = BTreeMap::new();
    for line in out.stdout.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let check = v["check"].as_str().unwrap();
        if ["spf", "dmarc", "dkim-key"].contains(&check) {
            let file = v["file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned();
            by_file.entry(file).or_default().insert(
                check.to_owned(),
                (
                    v["severity"].as_str().unwrap().to_owned(),
                    v["message"].as_str().unwrap().to_owned(),
                ),
            );
        }
    }
    let sev = |file: &str, check: &str| by_file[file][check].0.clone();
    let msg = |file: &str, check: &str| by_file[file][check].1.clone();
    assert_eq!(
        (
            sev("a-good.eml", "spf"),
            sev("a-good.eml", "dmarc"),
            sev("a-good.eml", "dkim-key")
        ),
        ("ok".into(), "ok".into(), "ok".into()),
        "{by_file:#?}"
    );
    assert_contains(&msg("a-good.eml", "dmarc"), "p=reject");
    assert_eq!(sev("b-shop.eml", "spf"), "error");
    assert_contains(
        &msg("b-shop.eml", "spf"),
        "em.shop-mail.com has 2 SPF records",
    );
    assert_eq!(sev("b-shop.eml", "dmarc"), "ok");
    assert_contains(&msg("b-shop.eml", "dmarc"), "p=none");
    assert_eq!(sev("b-shop.eml", "dkim-key"), "error");
    assert_contains(&msg("b-shop.eml", "dkim-key"), "revoked");
    for check in ["spf", "dmarc", "dkim-key"] {
        assert_eq!(sev("c-bare.eml", check), "error", "{check}");
        assert_eq!(
            sev("d-faulty.eml", check),
            "warning",
            "a DNS fault is not a finding against the sender: {check}"
        );
        assert_contains(&msg("d-faulty.eml", check), "could not tell");
    }
    assert!(dns.queries() >= 10, "asked the loopback server");
}
