//! Property tests of every parser of outside input: random bytes and text, mutations of real
//! samples, multi-byte characters at every position, huge lines. The property is the one a
//! nightly job needs: no input makes mailscrub panic, and what it reads back is what was there.
//!
//! Cases per property: `PROPTEST_CASES` (256 by default here; see tests/README.md for a longer
//! run).

use std::time::Duration;

use mailscrub::address::{self, AddressRules, FlagLists};
use mailscrub::bounces::{classify, esp, logs, message};
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

/// Text with the awkward characters in it: multi-byte letters of several scripts, combining
/// marks, zero-width and bidi controls, emoji, NUL, quotes, separators and line ends.
fn awkward_text(max: usize) -> impl Strategy<Value = String> {
    let pieces = prop_oneof![
        "[a-z0-9@.<>:;,\"' ()=+-]{0,6}",
        Just("я".to_owned()),
        Just("ящик".to_owned()),
        Just("κ".to_owned()),
        Just("ת".to_owned()),
        Just("ص".to_owned()),
        Just("箱".to_owned()),
        Just("🙂".to_owned()),
        Just("\u{301}".to_owned()),
        Just("\u{200b}".to_owned()),
        Just("\u{202e}".to_owned()),
        Just("\u{0}".to_owned()),
        Just("\r\n".to_owned()),
        Just(" 550 5.1.1 ".to_owned()),
        Just("4.7.550".to_owned()),
        Just("5.7.606".to_owned()),
        Just("(#5.1.1)".to_owned()),
        any::<char>().prop_map(String::from),
    ];
    prop::collection::vec(pieces, 0..max).prop_map(|v| v.concat())
}

/// `sample` with `insert` put in at a char boundary chosen by `at`, and one byte replaced.
fn mutate(sample: &str, insert: &str, at: usize, byte_at: usize, byte: u8) -> (String, Vec<u8>) {
    let bounds: Vec<usize> = sample
        .char_indices()
        .map(|(i, _)| i)
        .chain([sample.len()])
        .collect();
    let cut = bounds[at % bounds.len()];
    let text = format!("{}{insert}{}", &sample[..cut], &sample[cut..]);
    let mut bytes = text.clone().into_bytes();
    if !bytes.is_empty() {
        let i = byte_at % bytes.len();
        bytes[i] = byte;
    }
    (text, bytes)
}

fn samples(name: &str) -> String {
    let path = format!(
        "{}/tests/fixtures/bounces/samples/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(path).expect("sample")
}

fn corpus_messages() -> Vec<Vec<u8>> {
    let dir = format!(
        "{}/tests/fixtures/bounces/corpus",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    files
        .into_iter()
        .step_by(7)
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn the_address_checker_never_panics_and_is_idempotent(text in awkward_text(12)) {
        let rules = AddressRules::default();
        let lists = FlagLists::builtin();
        let c = address::check(&text, &rules, &lists);
        let _ = address::dedupe_key(&c, true);
        if c.is_valid() {
            let again = address::check(&c.address, &rules, &lists);
            prop_assert!(again.is_valid(), "{:?} -> {:?} -> {:?}", text, c.address, again.problem);
            prop_assert_eq!(&again.address, &c.address);
        }
    }

    #[test]
    fn the_address_checker_takes_any_local_part_and_domain(
        local in awkward_text(6), domain in awkward_text(6)
    ) {
        let c = address::check(&format!("{local}@{domain}"), &AddressRules {
            allow_quoted_local: true,
            allow_ip_literal: true,
        }, &FlagLists::builtin());
        let _ = c.ascii_address();
    }

    #[test]
    fn the_status_classifier_never_panics(text in awkward_text(24), code in proptest::option::of(200u16..600)) {
        let status = classify::find_enhanced(&text);
        let _ = classify::find_reply_code(&text);
        let _ = classify::failure_part(&text);
        let _ = classify::classify(code, status, &text);
    }

    #[test]
    fn log_lines_mutated_anywhere_never_panic(
        line in 0usize..40, insert in awkward_text(4), at in any::<usize>(),
        byte_at in any::<usize>(), byte in any::<u8>()
    ) {
        for (file, postfix) in [("mail.log", true), ("exim_mainlog", false)] {
            let text = samples(file);
            let lines: Vec<&str> = text.lines().collect();
            let sample = lines[line % lines.len()];
            let (mutated, bytes) = mutate(sample, &insert, at, byte_at, byte);
            for l in [mutated.as_str(), &String::from_utf8_lossy(&bytes)] {
                if postfix {
                    let _ = logs::parse_postfix(l, logs::PostfixYear::Given(2024));
                } else {
                    let _ = logs::parse_exim(l);
                }
            }
        }
    }

    #[test]
    fn a_huge_log_line_never_panics(repeat in 1usize..200, piece in awkward_text(3)) {
        let line = format!(
            "Aug 12 10:00:00 mx postfix/smtp[1]: ABC: to=<a@corp-mail.com>, relay=x, dsn=5.1.1, status=bounced (host said: 550 {} 5.1.1 unknown)",
            piece.repeat(repeat * 50)
        );
        let _ = logs::parse_postfix(&line, logs::PostfixYear::Given(2024));
    }

    #[test]
    fn messages_mutated_or_random_never_panic(
        which in any::<usize>(), insert in awkward_text(4), at in any::<usize>(),
        byte_at in any::<usize>(), byte in any::<u8>(),
        random in prop::collection::vec(any::<u8>(), 0..2000)
    ) {
        let messages = corpus_messages();
        let sample = String::from_utf8_lossy(&messages[which % messages.len()]).into_owned();
        let (text, bytes) = mutate(&sample, &insert, at, byte_at, byte);
        let _ = message::parse_message(text.as_bytes());
        let _ = message::parse_message(&bytes);
        let _ = message::parse_message(&random);
    }

    #[test]
    fn esp_json_of_any_shape_never_panics(text in awkward_text(16), n in any::<i64>(), f in any::<f64>()) {
        let shapes = [
            serde_json::json!({"eventType": "Bounce", "bounce": {"bounceType": text, "bouncedRecipients": [{"emailAddress": text, "diagnosticCode": text}]}, "mail": {"timestamp": text}}),
            serde_json::json!({"event": "bounce", "email": text, "reason": text, "status": text, "timestamp": n}),
            serde_json::json!({"event": "failed", "severity": "permanent", "recipient": text, "delivery-status": {"code": n, "message": text, "description": text}, "timestamp": f}),
            serde_json::json!({"RecordType": "Bounce", "Type": text, "Email": text, "Description": text, "Details": text, "BouncedAt": text}),
            serde_json::json!([{"event": text}, n, f, null, [text]]),
            serde_json::json!({"Type": "Notification", "Message": text}),
        ];
        for v in &shapes {
            let _ = esp::json_events(v);
        }
    }

    #[test]
    fn suppression_and_unsubscribe_csvs_never_panic(
        text in awkward_text(30), header in prop_oneof![
            Just("email,reason,created\n"),
            Just("email\n"),
            Just("email,reason,detail,source,first_seen,last_seen,status,count\n"),
            Just("status,reason,email,created\n"),
            Just(""),
        ]
    ) {
        let csv = format!("{header}{text}");
        for forced in [None, Some(esp::CsvList::PriorSuppression), Some(esp::CsvList::Unsubscribe)] {
            let _ = esp::csv_events(csv.as_bytes(), forced);
        }
    }

    #[test]
    fn dns_messages_of_random_bytes_never_panic(
        random in prop::collection::vec(any::<u8>(), 0..600),
        byte_at in any::<usize>(), byte in any::<u8>()
    ) {
        use hickory_resolver::proto::op::Message;
        let _ = Message::from_vec(&random);
        // A real answer with one byte changed.
        let mut m = Message::query();
        m.add_query(hickory_resolver::proto::op::Query::query(
            "gmail.com.".parse().unwrap(),
            hickory_resolver::proto::rr::RecordType::MX,
        ));
        let mut bytes = m.to_vec().unwrap();
        let i = byte_at % bytes.len();
        bytes[i] = byte;
        let _ = Message::from_vec(&bytes);
    }

    #[test]
    fn the_dns_cache_file_survives_any_damage(lines in prop::collection::vec(awkward_text(8), 0..20)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache.jsonl");
        let good = r#"{"domain":"gmail.com","class":"mx","mx":[],"ttl":3600,"resolved_at":1700000000}"#;
        let mut text = String::from(good);
        text.push('\n');
        for l in &lines {
            text.push_str(l);
            text.push('\n');
        }
        std::fs::write(&path, text).unwrap();
        let (_, loaded) = mailscrub::dns::cache::load(
            &path, 1_700_000_100, Duration::from_secs(0), Duration::from_secs(86_400),
        ).unwrap();
        prop_assert!(loaded.fresh + loaded.expired + loaded.damaged >= 1);
    }

    #[test]
    fn parquet_text_rendering_round_trips(values in prop::collection::vec(proptest::option::of(awkward_text(6)), 1..50)) {
        use arrow_array::{RecordBatch, StringArray};
        let array = StringArray::from(values.clone());
        let batch = RecordBatch::try_from_iter([("email", std::sync::Arc::new(array) as _)]).unwrap();
        let mut rows = mailscrub::input::RowBatch::new(b',');
        mailscrub::input::parquet::rows_as_text(&batch, 1, &mut rows).unwrap();
        prop_assert_eq!(rows.len(), values.len());
        for (i, v) in values.iter().enumerate() {
            let fields = rows.fields(i);
            let got = fields.iter().next().unwrap_or_default();
            prop_assert_eq!(got, v.as_deref().unwrap_or("").as_bytes());
        }
    }
}

fn campaign_samples() -> Vec<String> {
    ["spring-sale.eml", "flash-deal.eml"]
        .iter()
        .map(|n| {
            std::fs::read_to_string(format!(
                "{}/sample-data/campaigns/{n}",
                env!("CARGO_MANIFEST_DIR")
            ))
            .expect("sample campaign")
        })
        .collect()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn lint_takes_any_mutation_of_a_campaign(
        which in 0usize..2, insert in awkward_text(8), at in any::<usize>(),
        byte_at in any::<usize>(), byte in any::<u8>()
    ) {
        use mailscrub::lint::{self, LintConfig, CHECKS};
        let samples = campaign_samples();
        let (text, bytes) = mutate(&samples[which], &insert, at, byte_at, byte);
        let config = LintConfig { allow_domains: vec!["ünï.example".into()], dns: None };
        let messages = vec![("a.eml".to_owned(), text.into_bytes()), ("b.eml".to_owned(), bytes)];
        let reports = lint::lint(&messages, &config).expect("no DNS, no error");
        prop_assert_eq!(reports.len(), 2);
        for r in &reports {
            prop_assert!(!r.findings.is_empty());
            for f in &r.findings {
                prop_assert!(CHECKS.iter().any(|c| c.name == f.check));
            }
        }
    }

    #[test]
    fn lint_takes_random_bytes_and_text(bytes in prop::collection::vec(any::<u8>(), 0..2000), text in awkward_text(40)) {
        use mailscrub::lint::{self, LintConfig};
        let html = format!("From: {text}\r\nSubject: {text}\r\nContent-Type: text/html\r\n\r\n<a href=\"https://{text}/\">{text}</a><img src=\"//{text}\" width=1 height=1>");
        let messages = vec![("r.eml".to_owned(), bytes), ("t.eml".to_owned(), html.into_bytes())];
        let reports = lint::lint(&messages, &LintConfig::default()).expect("no DNS, no error");
        prop_assert_eq!(reports.len(), 2);
    }
}
