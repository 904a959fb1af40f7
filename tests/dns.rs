//! The DNS stage against a real DNS server on loopback (hickory-server, in this process).

use std::collections::HashMap;

use crate::support::dns_server::{black_hole, truncated_zone, TestDns, TEST_ORIGINS, TEST_ZONE};
use crate::support::{assert_code, assert_contains, assert_lines, csv_lines, exit, TestDir};
use serde_json::Value;

fn server() -> TestDns {
    TestDns::start(
        TEST_ORIGINS,
        &truncated_zone(),
        &["servfail.com."],
        &["silent.com."],
    )
}

/// `mailscrub resolve` with the given DNS client (`wire` or `hickory`).
fn resolve_with(dns: &TestDns, domains: &[&str], engine: &str) -> HashMap<String, Value> {
    let dir = TestDir::new();
    let addr = dns.addr.to_string();
    let mut args = vec![
        "resolve",
        "--dns-server",
        &addr,
        "--dns-timeout",
        "0.5",
        "--dns-attempts",
        "1",
        "--dns-engine",
        engine,
    ];
    args.extend_from_slice(domains);
    let out = dir.run(&args);
    assert_code(&out, 0);
    out.stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("JSON line");
            (v["input"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

/// One line per input, in input order (a repeated domain answered twice, an input that is not a
/// domain said so), with the keys the lines have always had: scripts read this output.
#[test]
fn resolve_writes_a_line_per_input_in_order() {
    let dns = server();
    let dir = TestDir::new();
    let addr = dns.addr.to_string();
    let inputs = [
        "dangling-mx.com",
        "not a domain",
        "good-mx.com",
        "Good-MX.com.",
        "dangling-mx.com",
    ];
    let mut args = vec!["resolve", "--dns-server", &addr, "--dns-timeout", "0.5"];
    args.extend_from_slice(&inputs);
    let out = dir.run(&args);
    assert_code(&out, 0);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), inputs.len(), "{}", out.stdout);
    for (line, input) in lines.iter().zip(inputs) {
        let v: Value = serde_json::from_str(line).expect("JSON line");
        assert_eq!(v["input"], input, "{line}");
    }
    assert_eq!(
        lines[1],
        r#"{"class":null,"domain":null,"error":"not a valid domain name: \"not a domain\"","input":"not a domain"}"#
    );
    assert!(
        lines[2].starts_with(
            r#"{"class":"mx","domain":"good-mx.com","error":null,"from_cache":false,"input":"good-mx.com","mx":[{"addresses":["11.22.33.44"],"host":"mx1.good-mx.com","preference":10},"#
        ),
        "{}",
        lines[2]
    );
    assert!(lines[2].ends_with(r#"],"ttl":3600}"#), "{}", lines[2]);
    assert_eq!(lines[3].replace("Good-MX.com.", "good-mx.com"), lines[2]);
    // A mail host without addresses says why, between its addresses and its name.
    assert!(
        lines[0].contains(r#""mx":[{"addresses":[],"error":"#) && lines[0] == lines[4],
        "{}",
        lines[0]
    );
}

#[test]
fn resolve_classifies_every_route() {
    // Both clients: mailscrub's pipelined one (the default with --dns-server) and hickory-resolver.
    for engine in ["wire", "hickory"] {
        classify_every_route(engine);
    }
}

fn classify_every_route(engine: &str) {
    let dns = server();
    let cases = [
        ("good-mx.com", "mx"),
        ("implicit.com", "implicit_mx"),
        ("implicit6.com", "implicit_mx"),
        ("nullmx.com", "null_mx"),
        ("nullplus.com", "mx"),
        ("no-such-domain-here.com", "nxdomain"),
        ("nomail.com", "no_mail_route"),
        ("private-mx.com", "mx_unroutable"),
        ("loopback-mx.com", "mx_unroutable"),
        ("dangling-mx.com", "mx_unroutable"),
        ("mixed-mx.com", "mx"),
        ("cname-mx.com", "mx"),
        ("bücher.de", "mx"),
        ("truncated.com", "mx"),
        ("servfail.com", "unknown"),
        ("silent.com", "unknown"),
    ];
    let domains: Vec<&str> = cases.iter().map(|(d, _)| *d).collect();
    let answers = resolve_with(&dns, &domains, engine);
    for (domain, class) in cases {
        assert_eq!(
            answers[domain]["class"], class,
            "{engine}: {domain}: {}",
            answers[domain]
        );
    }
    // Preferences and addresses, in preference order.
    let good = &answers["good-mx.com"]["mx"];
    assert_eq!(good[0]["preference"], 10);
    assert_eq!(good[0]["host"], "mx1.good-mx.com");
    assert_eq!(good[0]["addresses"], serde_json::json!(["11.22.33.44"]));
    assert_eq!(good[1]["preference"], 20);
    assert_eq!(
        good[1]["addresses"],
        serde_json::json!(["11.22.33.45", "2a00:1450:4001::25"])
    );
    assert_eq!(answers["good-mx.com"]["ttl"], 3600);
    // The IDN domain is asked in punycode.
    assert_eq!(answers["bücher.de"]["domain"], "xn--bcher-kva.de");
    // All 90 exchangers of the truncated answer arrived (over TCP).
    assert_eq!(answers["truncated.com"]["mx"].as_array().unwrap().len(), 90);
    // The evidence of an unroutable domain names the addresses.
    let private = answers["private-mx.com"]["mx"].to_string();
    assert!(
        private.contains("10.1.2.3") && private.contains("192.168.7.8"),
        "{private}"
    );
    // Unknown says why.
    let servfail = answers["servfail.com"]["error"]
        .as_str()
        .unwrap()
        .to_lowercase();
    assert!(
        servfail.contains("servfail") || servfail.contains("server failure"),
        "{servfail}"
    );
    let silent = answers["silent.com"]["error"].as_str().unwrap();
    assert!(silent.contains("timed out"), "{silent}");
}

#[test]
fn clean_suppresses_dead_domains_and_keeps_unknown() {
    let dns = server();
    let dir = TestDir::new();
    let list = "email,name\n\
        ann@good-mx.com,Ann\n\
        bo@implicit.com,Bo\n\
        cy@nullmx.com,Cy\n\
        di@no-such-domain-here.com,Di\n\
        ed@nomail.com,Ed\n\
        fay@private-mx.com,Fay\n\
        gus@servfail.com,Gus\n\
        hal@silent.com,Hal\n\
        ida@bücher.de,Ida\n\
        jo@GOOD-MX.com,Jo\n\
        ann@good-mx.com,Ann again\n";
    let input = dir.write("list.csv", list);
    let out = dir
        .clean(&[&input])
        .arg("--annotate")
        .dns(dns.addr, "0.5")
        .ok();
    let clean = dir.csv("out/clean.csv");
    let kept: Vec<&str> = clean[1..].iter().map(|r| r[0].as_str()).collect();
    assert_eq!(
        kept,
        [
            "ann@good-mx.com",
            "bo@implicit.com",
            "gus@servfail.com",
            "hal@silent.com",
            "ida@bücher.de",
            "jo@good-mx.com"
        ]
    );
    // Unknown routes are kept and flagged.
    let gus = clean.iter().find(|r| r[0] == "gus@servfail.com").unwrap();
    assert_eq!(gus[4], "dns_unknown");
    let suppressed: HashMap<String, Vec<String>> = dir.csv("out/suppression.csv")[1..]
        .iter()
        .map(|r| (r[0].clone(), r.clone()))
        .collect();
    assert_eq!(suppressed.len(), 4);
    assert_eq!(suppressed["cy@nullmx.com"][1], "null_mx");
    assert_eq!(suppressed["di@no-such-domain-here.com"][1], "nxdomain");
    assert_eq!(suppressed["ed@nomail.com"][1], "no_mail_route");
    assert_eq!(suppressed["fay@private-mx.com"][1], "mx_unroutable");
    assert!(suppressed["fay@private-mx.com"][2].contains("10.1.2.3"));
    assert_eq!(suppressed["fay@private-mx.com"][3], "dns");
    let report = dir.report("out");
    assert_eq!(report["identity_holds"], true);
    assert_eq!(report["duplicates"], 1);
    let by_class = &report["dns"]["by_class"];
    assert_eq!(by_class["mx"], 2);
    assert_eq!(by_class["unknown"], 2);
    assert_eq!(by_class["nxdomain"], 1);
    assert_eq!(report["dns"]["breaker_tripped"], false);
    assert_contains(&out.stderr, "could not be resolved");
}

#[test]
fn dns_down_suppresses_nobody_and_ends() {
    // A server that answers nothing for any name under com.
    let dns = TestDns::start(TEST_ORIGINS, TEST_ZONE, &[], &["com."]);
    let dir = TestDir::new();
    let list = csv_lines("email", (0..400).map(|i| format!("user{i}@domain-{i}.com")));
    let input = dir.write("list.csv", &list);
    let addr = dns.addr;
    let out = dir
        .clean(&[&input])
        .dns(addr, "0.3")
        .args(&["--dns-concurrency", "8", "--dns-breaker", "8"])
        .ok();
    let report = dir.report("out");
    assert_eq!(report["kept"], 400);
    assert_eq!(report["suppressed"], 0);
    assert_eq!(report["dns"]["breaker_tripped"], true);
    assert_eq!(report["dns"]["by_class"]["unknown"], 400);
    // It stopped asking: far fewer queries than domains.
    assert!(
        dns.queries() < 100,
        "{} queries for 400 domains",
        dns.queries()
    );
    assert_contains(&out.stderr, "stopped answering");
    assert_eq!(out.stderr.matches("warning").count(), 1, "{}", out.stderr);
}

#[test]
fn unreachable_port_suppresses_nobody() {
    // Nothing reads this socket: every query times out.
    let (_socket, addr) = black_hole();
    let dir = TestDir::new();
    let input = dir.write(
        "list.csv",
        "email\na@one-domain.com\nb@two-domain.com\nc@bad..com\n",
    );

    dir.clean(&[&input]).dns(addr, "0.2").ok();
    let report = dir.report("out");
    assert_eq!(report["kept"], 2);
    assert_eq!(report["reasons"]["syntax"], 1);
    assert_eq!(report["suppressed"], 1);
}

#[test]
fn cache_answers_the_second_run_without_queries() {
    let dns = server();
    let dir = TestDir::new();
    let input = dir.write("list.csv", "email\na@good-mx.com\nb@nullmx.com\nc@shortttl.com\nd@no-such-domain-here.com\ne@servfail.com\n");
    let warm = || {
        dir.clean(&[&input])
            .dns(dns.addr, "0.5")
            .args(&["--dns-cache", "dns-cache.jsonl"])
    };
    warm().ok();
    let first = dns.queries();
    assert!(first > 0);
    let cached = std::fs::read_to_string(dir.join("dns-cache.jsonl")).unwrap();
    assert_eq!(
        cached.lines().count(),
        4,
        "unknown is never cached:\n{cached}"
    );
    assert!(!cached.contains("servfail.com"));

    warm().ok();
    // Only the unknown domain (never cached) is asked again.
    let second = dns.queries() - first;
    let report = dir.report("out");
    assert_eq!(report["dns"]["from_cache"], 4);
    assert_eq!(report["dns"]["resolved"], 1);
    assert!(second <= 2, "{second} queries on the warm run");
    assert_eq!(report["reasons"]["null_mx"], 1);
    let suppression = dir.csv("out/suppression.csv");
    assert!(suppression
        .iter()
        .any(|r| r[0] == "b@nullmx.com" && r[3] == "dns-cache"));

    // With a zero ceiling every entry is stale and DNS is asked again.
    let before = dns.queries();
    warm()
        .args(&["--dns-cache-min-ttl", "0", "--dns-cache-max-ttl", "0"])
        .ok();
    assert!(dns.queries() - before >= 5);
}

/// The default path: no `--dns-server`, so the name servers come from resolv.conf (here a file
/// named by the environment, as `/etc/resolv.conf` would be read on a real machine).
#[test]
fn resolve_and_clean_use_the_system_configuration_by_default() {
    let dns = server();
    let dir = TestDir::new();
    let conf = dir.resolv_conf(
        &[dns.addr],
        "search corp.example\noptions timeout:1 attempts:2 ndots:3\n",
    );
    let out = dir
        .cmd(&[
            "resolve",
            "good-mx.com",
            "nullmx.com",
            "no-such-domain-here.com",
        ])
        .env("MAILSCRUB_RESOLV_CONF", &conf)
        .ok();
    let classes: Vec<String> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["class"].to_string())
        .collect();
    assert_lines(&["\"mx\"", "\"null_mx\"", "\"nxdomain\""], &classes);

    let input = dir.write(
        "list.csv",
        "email\nann@good-mx.com\ncy@nullmx.com\ngus@servfail.com\n",
    );
    let out = dir
        .clean(&[&input])
        .with_dns()
        .env("MAILSCRUB_RESOLV_CONF", &conf)
        .ok();
    let report = dir.report("out");
    assert_eq!(report["kept"], 2, "{}", out.stderr);
    assert_eq!(report["reasons"]["null_mx"], 1);
    assert_eq!(report["dns"]["by_class"]["unknown"], 1);

    // The same with --resolv-conf and stock hickory-resolver.
    let out = dir.run(&[
        "resolve",
        "--resolv-conf",
        &conf,
        "--dns-engine",
        "hickory",
        "nullmx.com",
    ]);
    assert_code(&out, 0);
    assert_contains(&out.stdout, "\"null_mx\"");
}

/// A resolv.conf with IPv4 and IPv6 name servers: both families are asked.
#[test]
fn both_address_families_of_resolv_conf_are_used() {
    let v4 = server();
    let v6 = TestDns::start_on(
        "[::1]:0",
        TEST_ORIGINS,
        &truncated_zone(),
        &["servfail.com."],
        &["silent.com."],
    );
    let (_hole4, hole4) = black_hole();
    let (_hole6, hole6) = crate::support::dns_server::black_hole_on("[::1]:0");
    for engine in ["wire", "hickory"] {
        // First an unreachable server of one family, then a working one of the other: an answer
        // can only come from the second family.
        for (dead, live) in [(hole6, v4.addr), (hole4, v6.addr)] {
            let dir = TestDir::new();
            let conf = dir.resolv_conf(&[dead, live], "");
            let out = dir.run(&[
                "resolve",
                "--resolv-conf",
                &conf,
                "--dns-engine",
                engine,
                "--dns-timeout",
                "0.3",
                "--dns-attempts",
                "2",
                "good-mx.com",
            ]);
            assert_code(&out, 0);
            assert!(
                out.stdout.contains("\"class\":\"mx\""),
                "{engine}, {dead} then {live}: {}",
                out.stdout
            );
        }
    }
}

#[test]
fn a_resolv_conf_without_servers_is_a_clear_error() {
    let dir = TestDir::new();
    let conf = dir.write("resolv.conf", "search example.org\n");
    let out = dir
        .cmd(&["resolve", "--resolv-conf", &conf, "gmail.com"])
        .code(exit::OTHER);
    assert!(
        out.stderr.contains("lists no name server") && out.stderr.contains("--dns-server"),
        "{}",
        out.stderr
    );
}

/// A list whose domains all take mail, with one large domain: whatever a misbehaving server
/// says, nobody on it may be suppressed for a DNS reason.
fn good_list(dir: &TestDir) -> String {
    let mut list = csv_lines("email", (0..30).map(|i| format!("user{i}@good-mx.com")));
    for d in ["implicit.com", "cname-mx.com", "mixed-mx.com", "bücher.de"] {
        list.push_str(&format!("someone@{d}\n"));
    }
    dir.write("good.csv", list)
}

/// DNS reasons in a report.
fn dns_suppressions(report: &Value) -> u64 {
    ["nxdomain", "null_mx", "no_mail_route", "mx_unroutable"]
        .iter()
        .map(|r| report["reasons"][r].as_u64().unwrap())
        .sum()
}

#[test]
fn hostile_servers_suppress_nobody() {
    use crate::support::hostile::{Hostile, Mode};
    let upstream = server();
    for mode in [
        Mode::Echo,
        Mode::WrongQuestion,
        Mode::WrongIdFirst,
        Mode::Garbage,
        Mode::Truncated,
        Mode::Oversized,
        Mode::Flaky,
        Mode::NxdomainAll,
    ] {
        for engine in ["wire", "hickory"] {
            let proxy = Hostile::start(mode, upstream.addr);
            let dir = TestDir::new();
            let list = good_list(&dir);
            let out = dir
                .clean(&[&list])
                .dns(proxy.addr, "0.3")
                .args(&["--dns-engine", engine])
                .ok();
            let report = dir.report("out");
            assert_eq!(
                dns_suppressions(&report),
                0,
                "{mode:?}, {engine}: {}\n{}",
                report["dns"],
                out.stderr
            );
            assert_eq!(report["kept"], 34, "{mode:?}, {engine}");
            let dropped = report["dns"]["dropped_responses"].as_u64().unwrap();
            match (mode, engine) {
                (Mode::WrongIdFirst, "wire") => {
                    // The forgeries were dropped and the real answers taken.
                    assert!(dropped > 0, "{}", report["dns"]);
                    assert_eq!(report["dns"]["by_class"]["mx"], 4, "{}", report["dns"]);
                }
                (Mode::NxdomainAll, _) => {
                    assert!(report["dns"]["distrusted"].is_string(), "{}", report["dns"]);
                    assert_contains(&out.stderr, "look wrong");
                }
                (Mode::Echo | Mode::WrongQuestion | Mode::Garbage, "wire") => {
                    // Dropped before any verdict: the run-level guard had nothing to catch.
                    assert!(dropped > 0, "{mode:?}: {}", report["dns"]);
                    assert!(report["dns"]["distrusted"].is_null(), "{}", report["dns"]);
                }
                _ => {}
            }
        }
    }
}

#[test]
fn a_resolver_that_says_nxdomain_for_everything_is_not_believed_on_stdin_either() {
    use crate::support::hostile::{Hostile, Mode};
    let upstream = server();
    let proxy = Hostile::start(Mode::NxdomainAll, upstream.addr);
    let dir = TestDir::new();
    let list = std::fs::read(good_list(&dir)).unwrap();
    let out = dir
        .clean(&["-"])
        .stdin(list)
        .dns(proxy.addr, "0.3")
        .code(exit::USAGE);
    assert_contains(&out.stderr, "look wrong");
    assert!(!dir.join("out/clean.csv").exists());
}

/// Behind a lossy forwarder (SERVFAIL for every third query, nothing for every fifth: almost
/// half of all tries fail), the
/// pipelined client retries on the next try and ends with no more `unknown` domains than
/// hickory-resolver.
#[test]
fn servfail_and_loss_are_retried() {
    use crate::support::hostile::{Hostile, Mode};
    let mut zone = String::new();
    let names: Vec<String> = (0..120).map(|i| format!("lossy{i}.com")).collect();
    for n in &names {
        zone.push_str(&format!(
            "{n}. 3600 MX 10 mx.{n}.\nmx.{n}. 3600 A 11.22.33.44\n"
        ));
    }
    let upstream = TestDns::start(&["com."], &zone, &[], &[]);
    let mut unknown = HashMap::new();
    for engine in ["wire", "hickory"] {
        let proxy = Hostile::start(Mode::Flaky, upstream.addr);
        let dir = TestDir::new();
        let addr = proxy.addr.to_string();
        let mut args = vec![
            "resolve",
            "--dns-server",
            &addr,
            "--dns-engine",
            engine,
            "--dns-timeout",
            "0.3",
            "--dns-attempts",
            "4",
        ];
        args.extend(names.iter().map(String::as_str));
        let out = dir.cmd(&args).ok();
        let n = out
            .stdout
            .lines()
            .filter(|l| l.contains("\"unknown\""))
            .count();
        assert!(!out.stdout.contains("nxdomain"), "{}", out.stdout);
        unknown.insert(engine, n);
    }
    assert!(
        unknown["wire"] <= unknown["hickory"] + 3 && unknown["wire"] <= 24,
        "{unknown:?}"
    );
}

#[test]
fn the_progress_line_counts_domains_answered_of_asked() {
    let dns = server();
    let config = mailscrub::dns::DnsConfig {
        servers: vec![dns.addr],
        timeout: Some(std::time::Duration::from_millis(500)),
        ..mailscrub::dns::DnsConfig::default()
    };
    let (resolver, _) = mailscrub::dns::start(&config).unwrap();
    assert_eq!(resolver.progress(), (0, 0, 0), "nothing asked yet");
    let domains = ["good-mx.com", "implicit.com", "nxdomain-here.com"];
    for d in domains {
        resolver.submit(d.to_owned());
    }
    for d in domains {
        resolver.book().wait(d);
    }
    assert_eq!(resolver.progress(), (3, 3, 0));
    // A domain answered already is not asked again, and not counted again.
    resolver.submit("good-mx.com".to_owned());
    assert_eq!(resolver.progress(), (3, 3, 0));
    resolver.finish();
}

/// Many domains on one provider's mail host, all asked at once: the host is looked up once (its
/// A and AAAA), not once per domain. The host has only a private address, so the MX answers'
/// additional section cannot settle it and every domain needs the full lookup.
#[test]
fn domains_sharing_a_mail_host_ask_for_it_once() {
    let domains: Vec<String> = (0..60).map(|i| format!("tenant-{i}.com")).collect();
    let mut zone = String::from("mx.shared-host.com. 3600 A 10.9.8.7\n");
    for d in &domains {
        zone.push_str(&format!("{d}. 3600 MX 10 mx.shared-host.com.\n"));
    }
    let dns = TestDns::start(TEST_ORIGINS, &zone, &[], &[]);
    let dir = TestDir::new();
    let addr = dns.addr.to_string();
    let mut args = vec!["resolve", "--dns-server", addr.as_str()];
    args.extend(domains.iter().map(String::as_str));
    let out = dir.cmd(&args).ok();
    let lines: Vec<Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), domains.len());
    for v in &lines {
        assert_eq!(v["class"], "mx_unroutable", "{v}");
        assert_eq!(v["mx"][0]["addresses"][0], "10.9.8.7", "{v}");
    }
    let expected = domains.len() as u64 + 2;
    assert_eq!(
        dns.queries(),
        expected,
        "one MX query per domain, then the shared host's A and AAAA once"
    );
}

/// An MX answer whose additional section gives the mail host's addresses: a public one is taken
/// as the host's answer (one query for the domain, not three); private ones alone are not
/// enough to judge, and the host is asked in full before the domain is called unroutable.
#[test]
fn addresses_in_the_additional_section_save_queries_only_as_positive_evidence() {
    let zone = "\
own-mx.com. 3600 MX 10 mx.own-mx.com.
mx.own-mx.com. 3600 A 11.22.33.44
inner-mx.com. 3600 MX 10 mx.inner-mx.com.
mx.inner-mx.com. 3600 A 10.1.2.3
";
    let dir = TestDir::new();
    for (domain, class, most_queries) in [
        ("own-mx.com", "mx", 1),
        ("inner-mx.com", "mx_unroutable", 3),
    ] {
        let dns = TestDns::start(TEST_ORIGINS, zone, &[], &[]);
        let addr = dns.addr.to_string();
        let out = dir.cmd(&["resolve", "--dns-server", &addr, domain]).ok();
        let v: Value = serde_json::from_str(out.stdout.trim()).unwrap();
        assert_eq!(v["class"], class, "{domain}: {}", out.stdout);
        assert!(
            dns.queries() <= most_queries,
            "{domain}: {} queries, expected at most {most_queries}",
            dns.queries()
        );
        if class == "mx_unroutable" {
            assert_eq!(dns.queries(), 3, "MX, then the host's A and AAAA in full");
        }
    }
}
