//! Files in the exact layouts that the services export, as a new user would feed them. Each
//! layout (header, quoting, delimiter, line ends) follows the table in the project's reference
//! notes on export layouts (`shared/reference/export-layouts.md`, 2026-12), which cites its
//! sources: public fixtures of other projects and the services' format guidelines.
//!
//! Checked for each: the right email column, every row accounted for, and kept rows written
//! byte for byte as read where the address needed no repair.

use crate::support::{assert_contains, exit, TestDir};

/// The data lines of a file (after the header), as bytes, split at its line ends.
fn data_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    let text = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    let sep: &[u8] = if text.windows(2).any(|w| w == b"\r\n") {
        b"\r\n"
    } else {
        b"\n"
    };
    let mut lines = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.windows(sep.len()).position(|w| w == sep) {
        lines.push(rest[..i].to_vec());
        rest = &rest[i + sep.len()..];
    }
    if !rest.is_empty() {
        lines.push(rest.to_vec());
    }
    lines.into_iter().skip(1).collect()
}

/// Runs `clean` on `text` written as `name`, asserts the email column, the accounting and the
/// rows kept as read; returns the report.
fn scrub(dir: &TestDir, name: &str, text: &[u8], column: &str, kept: u64) -> serde_json::Value {
    let input = dir.write(name, text);
    let out = dir.clean(&[&input]).ok();
    let report = dir.report("out");
    assert_eq!(report["inputs"][0]["email_column_name"], column, "{name}");
    assert_contains(&out.stderr, column);
    assert_eq!(report["identity_holds"], true, "{name}");
    assert_eq!(report["kept"], kept, "{name}: {report:#}");
    let written = std::fs::read(dir.join("out/clean.csv")).unwrap();
    let read = data_lines(text);
    for line in data_lines(&written) {
        assert!(
            read.contains(&line),
            "{name}: a kept row was rewritten: {}",
            String::from_utf8_lossy(&line)
        );
    }
    assert_eq!(
        written.starts_with(b"\xef\xbb\xbf"),
        text.starts_with(b"\xef\xbb\xbf"),
        "{name}: the BOM is kept as it was"
    );
    report
}

#[test]
fn mailchimp_quotes_fields_with_spaces() {
    let dir = TestDir::new();
    let text = "\"Email Address\",\"First Name\",\"Last Name\",Address,\"Phone Number\",Birthday,MEMBER_RATING,OPTIN_TIME,OPTIN_IP,CONFIRM_TIME,CONFIRM_IP,LATITUDE,LONGITUDE,GMTOFF,DSTOFF,TIMEZONE,CC,REGION,LAST_CHANGED,LEID,EUID,NOTES,TAGS\n\
ann@corp-mail.net,Ann,Lee,\"1 Main St  Springfield  IL  62701  US\",555-0100,,2,\"2016-04-18 13:51:14\",,\"2016-04-18 13:52:00\",,,,,,,US,IL,\"2019-01-02 10:00:00\",12345,abc123,,\"\"\"VIP\"\",\"\"Blog\"\"\"\n\
bo@corp-mail.net,Bo,Ng,,,,3,\"2017-01-01 00:00:00\",,,,,,,,,,,\"2019-01-02 10:00:00\",12346,abc124,,\n";
    scrub(
        &dir,
        "mailchimp-subscribed.csv",
        text.as_bytes(),
        "Email Address",
        2,
    );
}

#[test]
fn hubspot_quotes_every_field() {
    let dir = TestDir::new();
    let text = "\"Record ID\",\"First Name\",\"Last Name\",\"Email\",\"Phone Number\",\"Contact owner\",\"Primary Associated Company ID\",\"Last Activity Date\",\"Lead Status\",\"Marketing contact status\",\"Create Date\",\"Associated Company\"\n\
\"101\",\"Ann\",\"Lee\",\"ann@corp-mail.net\",\"\",\"Sam\",\"9\",\"2020-01-10 10:00\",\"Open\",\"Marketing contact\",\"2020-01-10 10:00\",\"Corp\"\n\
\"102\",\"Bo\",\"Ng\",\"bo@corp-mail.net\",\"+1 555 0101\",\"Sam\",\"\",\"\",\"\",\"Non-marketing contact\",\"2020-01-11 10:00\",\"\"\n";
    scrub(&dir, "hubspot.csv", text.as_bytes(), "Email", 2);
}

#[test]
fn salesforce_reports_end_with_footer_lines() {
    let dir = TestDir::new();
    let text = "\"First Name\",\"Last Name\",\"Title\",\"Account Name\",\"Email\",\"Email Opt Out\",\"Mailing City\",\"Created Date\"\n\
\"Ann\",\"Lee\",\"CTO\",\"Corp\",\"ann@corp-mail.net\",\"0\",\"Paris\",\"1/2/2020\"\n\
\"Bo\",\"Ng\",\"\",\"Corp\",\"bo@corp-mail.net\",\"0\",\"\",\"1/3/2020\"\n\
\n\
\"Grand Totals (2 records)\"\n\
\n\
\"Confidential Information - Do Not Distribute\"\n\
\"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved.\"\n";
    let report = scrub(&dir, "salesforce.csv", text.as_bytes(), "Email", 2);
    // The footer lines are rows of one field: rejected, with their line numbers, not lost.
    assert_eq!(report["rejected"], 3);
}

#[test]
fn brevo_is_semicolon_delimited() {
    let dir = TestDir::new();
    let text =
        "EMAIL;LASTNAME;FIRSTNAME;SMS;EMAIL_BLACKLISTED;SMS_BLACKLISTED;ADDED_TIME;MODIFIED_TIME\n\
ann@corp-mail.net;Lee;Ann;;No;No;12-04-2022 09:30;12-04-2022 09:30\n\
bo@corp-mail.net;Ng;Bo;33600000000;No;No;12-04-2022 09:31;12-04-2022 09:31\n";
    let report = scrub(&dir, "brevo.csv", text.as_bytes(), "EMAIL", 2);
    assert_eq!(report["inputs"][0]["delimiter"], ";");
}

#[test]
fn constant_contact_keeps_its_bom_and_crlf() {
    let dir = TestDir::new();
    let text =
        "\u{feff}Email address,First name,Last name,Email status,Email permission status\r\n\
ann@corp-mail.net,Ann,Lee,Active,Explicit\r\n\
bo@corp-mail.net,Bo,Ng,Active,Implicit\r\n";
    scrub(
        &dir,
        "constant-contact.csv",
        text.as_bytes(),
        "Email address",
        2,
    );
    let written = std::fs::read(dir.join("out/clean.csv")).unwrap();
    assert!(written.ends_with(b"Implicit\r\n"));
}

#[test]
fn shopify_activecampaign_and_listmonk() {
    let dir = TestDir::new();
    let shopify = "Customer ID,First Name,Last Name,Email,Accepts Email Marketing,Default Address Company,Default Address Address1,Default Address Address2,Default Address City,Default Address Province Code,Default Address Country Code,Default Address Zip,Default Address Phone,Phone,Accepts SMS Marketing,Total Spent,Total Orders,Note,Tax Exempt,Tags\n\
'7210448301122,Ann,Lee,ann@corp-mail.net,yes,,1 Main St,,Springfield,IL,US,'62701,,+15550100,no,10.00,1,,no,\n\
'7210448301123,Bo,Ng,bo@corp-mail.net,yes,,,,,,,,,,no,0.00,0,\"likes \"\"red\"\"\",no,vip\n";
    scrub(&dir, "shopify.csv", shopify.as_bytes(), "Email", 2);
    let active = "Email,First Name,Last Name,Phone,Tags,Date Created,IP,Status\n\
ann@corp-mail.net,Ann,Lee,,\"a, b\",2021-01-01 10:00:00,127.0.0.1,Active\n";
    scrub(&dir, "activecampaign.csv", active.as_bytes(), "Email", 1);
    let listmonk = "uuid,email,name,attributes,status,created_at,updated_at\n\
5e1b2c3d-0000-4000-8000-000000000001,ann@corp-mail.net,Ann,\"{\"\"city\"\": \"\"Paris\"\"}\",enabled,2023-01-02 10:00:00.123456 +0000 UTC,2023-01-02 10:00:00.123456 +0000 UTC\n";
    scrub(&dir, "listmonk.csv", listmonk.as_bytes(), "email", 1);
}

#[test]
fn outlook_has_crlf_and_multi_line_notes() {
    let dir = TestDir::new();
    let text =
        "First Name,Middle Name,Last Name,E-mail Address,E-mail Type,E-mail 2 Address,Notes\r\n\
Ann,,Lee,ann@corp-mail.net,SMTP,ann.lee@corp-mail.net,\"met at the fair\r\ncall back\"\r\n\
Bo,,Ng,bo@corp-mail.net,SMTP,,\r\n";
    scrub(&dir, "outlook.csv", text.as_bytes(), "E-mail Address", 2);
}

/// Google Contacts puts `E-mail 1 - Label` (values like `* Home`) before `E-mail 1 - Value`,
/// and joins several addresses in one cell with ` ::: `.
fn google_contacts(rows: usize) -> String {
    let mut text = String::from("First Name,Middle Name,Last Name,Phonetic First Name,Labels,E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value,Phone 1 - Label,Phone 1 - Value\n");
    for i in 0..rows {
        let value = if i % 10 == 0 {
            format!("person{i}@corp-mail.net ::: other{i}@corp-mail.net")
        } else {
            format!("person{i}@corp-mail.net")
        };
        text.push_str(&format!(
            "P{i},,Q,,* myContacts,* Home,{value},,,Mobile,+1 555 {i:04}\n"
        ));
    }
    text
}

#[test]
fn google_contacts_exports_keep_every_contact() {
    let dir = TestDir::new();
    let input = dir.write("google.csv", google_contacts(2060));
    let out = dir.clean(&[&input]).ok();
    let report = dir.report("out");
    assert_eq!(report["inputs"][0]["email_column_name"], "E-mail 1 - Value");
    assert_eq!(report["kept"], 2060);
    assert_eq!(report["duplicates"], 0);
    assert_eq!(report["repairs"]["multiple_addresses"], 206);
    assert_contains(&out.stderr, "chosen over \"E-mail 1 - Label\"");
}

/// The safety net catches a wrong column before its own fix: naming the label column by hand
/// reproduces what the header match did, and nothing is written.
#[test]
fn the_drop_guard_stops_a_run_that_would_empty_the_list() {
    let dir = TestDir::new();
    let input = dir.write("google.csv", google_contacts(300));
    dir.clean(&[&input]).ok();
    let before = std::fs::read(dir.join("out/clean.csv")).unwrap();
    let out = dir
        .clean(&[&input])
        .args(&["--email-column", "E-mail 1 - Label"])
        .code(exit::GUARD);
    assert_contains(&out.stderr, "stopped, nothing written");
    assert_contains(&out.stderr, "--max-drop-share");
    assert_contains(&out.stderr, "\"E-mail 1 - Label\"");
    assert_eq!(std::fs::read(dir.join("out/clean.csv")).unwrap(), before);
    // Told it is right, the run goes on.
    dir.clean(&[&input])
        .args(&[
            "--email-column",
            "E-mail 1 - Label",
            "--max-drop-share",
            "1",
        ])
        .ok();
}

#[test]
fn a_pasted_list_of_bare_addresses_needs_no_header() {
    let dir = TestDir::new();
    let out = dir
        .clean(&["-"])
        .stdin("ann@corp-mail.net\nbo@corp-mail.net\nann@corp-mail.net\n")
        .ok();
    let report = dir.report("out");
    assert_eq!(
        (report["kept"].as_u64(), report["duplicates"].as_u64()),
        (Some(2), Some(1))
    );
    assert_contains(&out.stderr, "not a header");
}

/// `--bounces` takes one path per occurrence: list files after it are inputs, not evidence.
#[test]
fn bounces_does_not_swallow_the_lists_after_it() {
    let dir = TestDir::new();
    let log = dir.write("mail.log", "");
    let a = dir.write("a.csv", "email\nann@corp-mail.net\n");
    let b = dir.write("b.csv", "email\nbo@corp-mail.net\n");
    let out = dir
        .cmd(&[
            "clean",
            "--bounces",
            &log,
            &a,
            &b,
            "--out",
            "out",
            "--no-dns",
        ])
        .ok();
    let report = dir.report("out");
    assert_eq!(report["kept"], 2, "{}", out.stderr);
    assert_eq!(report["inputs"].as_array().unwrap().len(), 2);
}

/// Consent columns are honoured: a row that opted out never reaches a clean list.
#[test]
fn opt_out_columns_are_honoured() {
    let dir = TestDir::new();
    let cases: [(&str, &str, &str); 4] = [
        (
            "salesforce.csv",
            "\"First Name\",\"Email\",\"Email Opt Out\"\n\"Ann\",\"ann@corp-mail.net\",\"0\"\n\"Bo\",\"bo@corp-mail.net\",\"1\"\n",
            "Email Opt Out = 1",
        ),
        (
            "shopify.csv",
            "Customer ID,Email,Accepts Email Marketing\n'1,ann@corp-mail.net,yes\n'2,bo@corp-mail.net,no\n",
            "Accepts Email Marketing = no",
        ),
        (
            "brevo.csv",
            "EMAIL;EMAIL_BLACKLISTED\nann@corp-mail.net;No\nbo@corp-mail.net;Yes\n",
            "EMAIL_BLACKLISTED = Yes",
        ),
        (
            "listmonk.csv",
            "uuid,email,name,attributes,status\n1,ann@corp-mail.net,A,{},enabled\n2,bo@corp-mail.net,B,{},blocklisted\n",
            "status = blocklisted",
        ),
    ];
    for (name, text, why) in cases {
        let input = dir.write(name, text);
        dir.clean(&[&input]).ok();
        let report = dir.report("out");
        assert_eq!(report["kept"], 1, "{name}");
        assert_eq!(report["reasons"]["opt_out"], 1, "{name}");
        let s = dir.csv("out/suppression.csv");
        assert_eq!(
            (s[1][0].as_str(), s[1][1].as_str(), s[1][2].as_str()),
            ("bo@corp-mail.net", "opt_out", why)
        );
    }
    // A column the table does not know, and a double opt-in list.
    let input = dir.write(
        "custom.csv",
        "email,do_not_mail,confirmed\nann@corp-mail.net,,yes\nbo@corp-mail.net,Y,yes\ncy@corp-mail.net,,pending\n",
    );
    dir.clean(&[&input])
        .args(&[
            "--consent-column",
            "do_not_mail",
            "--require-opt-in",
            "confirmed=yes",
        ])
        .ok();
    let report = dir.report("out");
    assert_eq!(report["kept"], 1);
    assert_eq!(report["reasons"]["opt_out"], 1);
    assert_eq!(report["reasons"]["no_consent"], 1);
    let out = dir
        .clean(&[&input])
        .args(&["--require-opt-in", "double_optin"])
        .code(exit::INPUT);
    assert_contains(&out.stderr, "no column named \"double_optin\"");
}

/// An IDN address keeps the form it was exported in, unless asked otherwise; --ascii-only
/// writes punycode and suppresses what cannot be ASCII.
#[test]
fn idn_addresses_keep_their_form() {
    let dir = TestDir::new();
    let input = dir.write(
        "idn.csv",
        "email\nvictor@xn--bcher-kva.de\nanna@bücher.de\njosé@corp-mail.net\n",
    );
    let emails = |dir: &TestDir| -> Vec<String> {
        dir.csv("out/clean.csv")[1..]
            .iter()
            .map(|r| r[0].clone())
            .collect()
    };
    dir.clean(&[&input]).ok();
    assert_eq!(
        emails(&dir),
        [
            "victor@xn--bcher-kva.de",
            "anna@bücher.de",
            "josé@corp-mail.net"
        ]
    );
    let written = std::fs::read_to_string(dir.join("out/clean.csv")).unwrap();
    assert_eq!(
        written,
        std::fs::read_to_string(&input).unwrap(),
        "rows as read"
    );
    dir.clean(&[&input]).args(&["--idn-form", "unicode"]).ok();
    assert_eq!(emails(&dir)[0], "victor@bücher.de");
    dir.clean(&[&input]).args(&["--idn-form", "ascii"]).ok();
    assert_eq!(emails(&dir)[1], "anna@xn--bcher-kva.de");
    dir.clean(&[&input]).arg("--ascii-only").ok();
    assert_eq!(
        emails(&dir),
        ["victor@xn--bcher-kva.de", "anna@xn--bcher-kva.de"]
    );
    assert_eq!(dir.report("out")["reasons"]["non_ascii"], 1);
}

/// Layouts the reference notes mark as assumed (no public export found): Klaviyo, Pardot,
/// Mautic. Their consent columns are honoured as the known ones are.
#[test]
fn assumed_layouts_klaviyo_pardot_mautic() {
    let dir = TestDir::new();
    let klaviyo = "Email,Phone Number,First Name,Last Name,Email Marketing Consent\n\
ann@corp-mail.net,,Ann,Lee,SUBSCRIBED\n\
bo@corp-mail.net,,Bo,Ng,UNSUBSCRIBED\n";
    let r = scrub(&dir, "klaviyo.csv", klaviyo.as_bytes(), "Email", 1);
    assert_eq!(r["reasons"]["opt_out"], 1);
    let pardot = "\"Id\",\"Email\",\"First Name\",\"Opted Out\"\n\"1\",\"ann@corp-mail.net\",\"Ann\",\"false\"\n\"2\",\"bo@corp-mail.net\",\"Bo\",\"true\"\n";
    let r = scrub(&dir, "pardot.csv", pardot.as_bytes(), "Email", 1);
    assert_eq!(r["reasons"]["opt_out"], 1);
    let mautic = "id,firstname,lastname,email,points\n1,Ann,Lee,ann@corp-mail.net,0\n2,Bo,Ng,bo@corp-mail.net,5\n";
    scrub(&dir, "mautic.csv", mautic.as_bytes(), "email", 2);
}

#[allow(dead_code)]
#[path = "../examples/gen.rs"]
mod gen;

/// The same generated rows written as the generator writes them, with every field quoted, with a
/// long free-text notes column, and `;`-delimited with CRLF and a BOM: the verdicts and the
/// addresses kept are the same in every shape, and the rows kept are the rows as read.
#[test]
fn every_export_shape_gives_the_same_verdicts() {
    let dir = TestDir::new();
    let plain = gen::Shape::PLAIN;
    let shapes = [
        ("plain", plain),
        (
            "quote-all",
            gen::Shape {
                quote_all: true,
                ..plain
            },
        ),
        (
            "notes",
            gen::Shape {
                notes: true,
                ..plain
            },
        ),
        (
            "semicolon-crlf-bom",
            gen::Shape {
                delimiter: b';',
                crlf: true,
                bom: true,
                ..plain
            },
        ),
    ];
    let mut first: Option<(Vec<u64>, Vec<String>)> = None;
    for (name, shape) in shapes {
        let mut bytes = Vec::new();
        gen::write_shaped(20_000, 11, shape, &mut bytes).unwrap();
        let input = dir.write(&format!("{name}.csv"), &bytes);
        let out = format!("out-{name}");
        dir.clean(&[&input]).out(&out).ok();
        let r = dir.report(&out);
        let counts: Vec<u64> = ["rows_in", "kept", "suppressed", "duplicates", "rejected"]
            .iter()
            .map(|k| r[*k].as_u64().unwrap())
            .collect();
        assert_eq!(counts[0], 20_000, "{name}");
        let delimiter = shape.delimiter;
        let kept = crate::support::read_csv(&dir.join(&out).join("clean.csv"), delimiter);
        let email = kept[0]
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == "email")
            .unwrap();
        let emails: Vec<String> = kept[1..].iter().map(|r| r[email].clone()).collect();
        if shape.notes {
            let notes = kept[0].iter().position(|h| h == "notes").unwrap();
            assert!(
                kept[1..]
                    .iter()
                    .any(|r| r[notes].contains('\n') && r[notes].contains('"')),
                "the notes keep their line breaks and quotes"
            );
        }
        match &first {
            None => first = Some((counts, emails)),
            Some((c, e)) => {
                assert_eq!(&counts, c, "{name}: verdicts");
                assert_eq!(&emails, e, "{name}: the addresses kept");
            }
        }
    }
}

/// Outlook and Google contact exports carry a second address column. A contact whose first
/// address is empty but whose second is filled is a subscriber, not a reject: the row takes the
/// second address, written in the email column, and counts an `other_email_column` repair.
#[test]
fn an_empty_first_address_falls_back_to_the_contacts_second() {
    let dir = TestDir::new();
    let outlook = dir.write(
        "outlook.csv",
        "First Name,Last Name,E-mail Address,E-mail Type,E-mail Display Name,E-mail 2 Address,E-mail 2 Type\n\
         Ann,Lee,ann@corp-mail.com,SMTP,Ann Lee (ann@corp-mail.com),ann.lee@home-mail.com,SMTP\n\
         Bo,Ray,,,Bo Ray (bo.display@corp-mail.com),bo@home-mail.com,SMTP\n\
         Cy,Fox,,,,,\n",
    );
    let out = dir.clean(&[&outlook]).ok();
    assert_contains(
        &out.stderr,
        "a row whose email column \"E-mail Address\" is empty takes its address from \"E-mail 2 Address\"",
    );
    let clean = dir.csv("out/clean.csv");
    assert_eq!(clean[2][..3], ["Bo", "Ray", "bo@home-mail.com"]);
    assert_eq!(clean[2][5], "bo@home-mail.com");
    let rejects = dir.csv("out/rejects.csv");
    assert_eq!(rejects.len(), 2, "{rejects:?}");
    assert_eq!(rejects[1][2], "empty email field");
    let report = dir.report("out");
    assert_eq!(report["repairs"]["other_email_column"], 1);

    // Google Contacts: `E-mail 1 - Label` holds no addresses and is not taken.
    let google = dir.write(
        "google.csv",
        "Name,E-mail 1 - Label,E-mail 1 - Value,E-mail 2 - Label,E-mail 2 - Value\n\
         Di,* Home,di@corp-mail.com,Work,di@work-mail.com\n\
         Ed,* Home,,Work,ed@work-mail.com\n",
    );
    dir.cmd(&["clean", &google, "--out", "g", "--no-dns"]).ok();
    let clean = dir.csv("g/clean.csv");
    assert_eq!(clean[2][2], "ed@work-mail.com");

    // A column named with --email-column is taken as it is: no fallback.
    dir.cmd(&[
        "clean",
        &outlook,
        "--out",
        "n",
        "--no-dns",
        "--email-column",
        "E-mail Address",
    ])
    .ok();
    assert_eq!(dir.csv("n/rejects.csv").len(), 3);
}
