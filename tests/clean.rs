//! `mailscrub clean` end to end: the built binary on messy files made for each case, asserting on
//! the output files, the report's counts and the exit codes.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use crate::support::{
    assert_code, assert_contains, assert_contains_all, csv_lines, exit, read_csv, TestDir,
};

fn emails(dir: &TestDir, file: &str, column: usize) -> Vec<String> {
    dir.csv(file)[1..]
        .iter()
        .map(|r| r[column].clone())
        .collect()
}

/// The `source` column of the suppression file, each as `file:line` without the folder.
fn evidence_files(dir: &TestDir) -> Vec<String> {
    dir.csv("out/suppression.csv")[1..]
        .iter()
        .map(|r| r[3].rsplit('/').next().unwrap().to_owned())
        .collect()
}

fn assert_identity(report: &serde_json::Value) {
    let n = |k: &str| report[k].as_u64().unwrap();
    assert_eq!(
        n("rows_in"),
        n("kept") + n("suppressed") + n("duplicates") + n("rejected"),
        "{report:#}"
    );
    assert_eq!(report["identity_holds"], true);
}

#[test]
fn bom_crlf_and_quoted_newlines() {
    let dir = TestDir::new();
    let text = "\u{feff}id,Email,note\r\n1,ann@corp-mail.com,\"line one\r\nline two\"\r\n2,\"bo@corp-mail.com\",\"she said \"\"hi\"\"\"\r\n3,cy@corp-mail.com,plain\r\n";
    let input = dir.write("bom.csv", text);
    dir.clean(&[&input]).ok();
    let rows = dir.csv("out/clean.csv");
    assert_eq!(
        rows[0],
        ["id", "Email", "note"],
        "the BOM is not part of the first header"
    );
    assert_eq!(rows[1], ["1", "ann@corp-mail.com", "line one\r\nline two"]);
    assert_eq!(rows[2], ["2", "bo@corp-mail.com", "she said \"hi\""]);
    assert_eq!(rows.len(), 4);
    let report = dir.report("out");
    assert_eq!(report["inputs"][0]["email_column_name"], "Email");
    assert_identity(&report);
}

#[test]
fn blank_lines_do_not_shift_line_numbers() {
    // Each row is numbered by the line it starts on, with or without quotes, however many blank
    // lines came before it (the csv crate alone gives the line after the previous row).
    let dir = TestDir::new();
    let input = dir.write(
        "blank.csv",
        "email,note\n\nann@corp-mail.com,A\n\n\nbad,B\nbo@corp-mail.com,\"x\"\n\nnope,\"q\"\na@corp-mail.com,1,2\n",
    );
    dir.clean(&[&input]).ok();
    let sources = evidence_files(&dir);
    assert_eq!(sources, ["blank.csv:6", "blank.csv:9"]);
    let rejects = dir.csv("out/rejects.csv");
    assert_eq!(rejects[1][1], "10");
    assert_eq!(rejects[1][3], "a@corp-mail.com,1,2");
    assert_eq!(
        emails(&dir, "out/clean.csv", 0),
        ["ann@corp-mail.com", "bo@corp-mail.com"]
    );
}

#[test]
fn windows_line_ends_keep_line_numbers_right() {
    // The csv crate alone numbers each record after a `\r\n` one line too low.
    let dir = TestDir::new();
    let input = dir.write(
        "crlf.csv",
        "email,note\r\nann@corp-mail.com,A\r\nbad,B\r\nbo@corp-mail.com,Bo,extra\r\ncy@corp-mail.com,\"two\r\nlines\"\r\nnope,D\r\n",
    );
    dir.clean(&[&input]).ok();
    let rejects = dir.csv("out/rejects.csv");
    assert_eq!(
        (rejects[1][1].as_str(), rejects[1][2].as_str()),
        ("4", "expected 2 fields, found 3")
    );
    let sources = evidence_files(&dir);
    assert_eq!(sources, ["crlf.csv:3", "crlf.csv:7"]);
    let rows = dir.csv("out/clean.csv");
    assert_eq!(
        rows[2],
        ["cy@corp-mail.com", "two\r\nlines"],
        "quoted line ends kept"
    );
}

#[test]
fn cr_only_line_endings() {
    let dir = TestDir::new();
    let input = dir.write(
        "mac.csv",
        "email,name\rann@corp-mail.com,Ann\rbo@corp-mail.com,Bo\r",
    );
    dir.clean(&[&input]).ok();
    assert_eq!(
        emails(&dir, "out/clean.csv", 0),
        ["ann@corp-mail.com", "bo@corp-mail.com"]
    );
}

#[test]
fn every_delimiter_is_detected_and_kept() {
    for (d, name) in [(';', "semi"), ('\t', "tab"), ('|', "pipe"), (',', "comma")] {
        let dir = TestDir::new();
        let text = format!("name{d}E-Mail{d}city\n\"Ann, Lee\"{d}ann@corp-mail.com{d}Paris\nBo{d}bo@corp-mail.com{d}\"Rome{d} Italy\"\n");
        let input = dir.write(&format!("{name}.csv"), text);
        dir.clean(&[&input]).ok();
        let rows = read_csv(&dir.join("out/clean.csv"), d as u8);
        assert_eq!(
            rows[1],
            ["Ann, Lee", "ann@corp-mail.com", "Paris"],
            "{name}"
        );
        assert_eq!(rows[2][2], format!("Rome{d} Italy"), "{name}");
    }
}

#[test]
fn delimiter_override() {
    let dir = TestDir::new();
    // Detection would pick ',' (two fields everywhere); the user knows it is ';'.
    let input = dir.write(
        "x.csv",
        "email;tags\nann@corp-mail.com;a,b\nbo@corp-mail.com;c,d\n",
    );
    dir.clean(&[&input, "--delimiter", ";"]).ok();
    let rows = read_csv(&dir.join("out/clean.csv"), b';');
    assert_eq!(rows[1], ["ann@corp-mail.com", "a,b"]);
    let out = dir.clean(&[&input, "--delimiter", "ab"]).code(exit::USAGE);
    assert_contains(&out.stderr, "--delimiter");
}

#[test]
fn email_column_by_name_index_and_headerless() {
    let dir = TestDir::new();
    let input = dir.write(
        "two.csv",
        "work,personal\nann@corp-mail.com,ann@home-mail.net\n",
    );
    dir.clean(&[&input, "--email-column", "PERSONAL"]).ok();
    assert_eq!(dir.report("out")["inputs"][0]["email_column"], 2);
    dir.clean(&[&input, "--email-column", "1"]).ok();
    assert_eq!(dir.report("out")["inputs"][0]["email_column_name"], "work");
    let out = dir
        .clean(&[&input, "--email-column", "9"])
        .code(exit::INPUT);
    assert_contains(&out.stderr, "outside the 2 columns");

    let headerless = dir.write(
        "nohdr.csv",
        "Ann;Paris;ann@corp-mail.com\nBo;Rome;bo@corp-mail.com\n",
    );
    dir.clean(&[&headerless, "--no-header"]).ok();
    let rows = read_csv(&dir.join("out/clean.csv"), b';');
    assert_eq!(
        rows,
        [
            ["Ann", "Paris", "ann@corp-mail.com"],
            ["Bo", "Rome", "bo@corp-mail.com"]
        ]
    );
    assert_eq!(dir.report("out")["inputs"][0]["header"], false);
}

#[test]
fn compressed_inputs_by_content() {
    let dir = TestDir::new();
    let text = "email,n\nann@corp-mail.com,1\nbo@corp-mail.com,2\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let gz_path = dir.write("list.csv.gz", gz.finish().unwrap());
    let zst_path = dir.write(
        "list2.csv.zst",
        zstd::encode_all(text.as_bytes(), 3).unwrap(),
    );
    // A gzip file without the extension still reads.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let misnamed = dir.write("misnamed.csv", gz.finish().unwrap());
    for path in [&gz_path, &zst_path, &misnamed] {
        dir.clean(&[path]).ok();
        assert_eq!(
            emails(&dir, "out/clean.csv", 0),
            ["ann@corp-mail.com", "bo@corp-mail.com"],
            "{path}"
        );
    }
    dir.clean(&[&zst_path]).ok();
    assert_eq!(dir.report("out")["inputs"][0]["compression"], "zstd");
}

#[test]
fn stdin_input() {
    let dir = TestDir::new();
    dir.clean(&["-"])
        .stdin("email\nann@corp-mail.com\nnot-an-address\n")
        .ok();
    let report = dir.report("out");
    assert_eq!(report["inputs"][0]["file"], "<stdin>");
    assert_eq!(report["kept"], 1);
    assert_eq!(report["suppressed"], 1);
}

#[test]
fn several_inputs_dedupe_and_share_or_split_outputs() {
    let dir = TestDir::new();
    let a = dir.write(
        "a.csv",
        "email,name\nann@corp-mail.com,Ann\nbo@corp-mail.com,Bo\n",
    );
    let b = dir.write(
        "b.csv",
        "email,name\nANN@Corp-Mail.com,Ann B\ncy@corp-mail.com,Cy\n",
    );
    let c = dir.write(
        "crm.csv",
        "id;mail;country\n7;cy@corp-mail.com;FR\n8;di@corp-mail.com;DE\n",
    );
    let out = dir.clean(&[&a, &b, &c]).ok();
    let report = dir.report("out");
    assert_identity(&report);
    assert_eq!(
        report["duplicates"], 2,
        "ann from b.csv and cy from crm.csv"
    );
    let outputs = &report["clean_outputs"];
    assert_eq!(outputs[0]["file"], "clean-a.csv");
    assert_eq!(outputs[0]["inputs"], serde_json::json!([a, b]));
    assert_eq!(outputs[1]["file"], "clean-crm.csv");
    assert_eq!(
        emails(&dir, "out/clean-a.csv", 0),
        ["ann@corp-mail.com", "bo@corp-mail.com", "cy@corp-mail.com"]
    );
    let crm = read_csv(&dir.join("out/clean-crm.csv"), b';');
    assert_eq!(
        crm,
        [["id", "mail", "country"], ["8", "di@corp-mail.com", "DE"]]
    );
    assert_eq!(report["inputs"][1]["duplicates"], 1);
    assert_contains(&out.stderr, "clean-crm.csv <- ");
}

#[test]
fn address_rules_repairs_and_flags() {
    let dir = TestDir::new();
    let text = "email\n\
        \"  Ann Lee <Ann.Lee@Corp-Mail.COM> \"\n\
        mailto:bo@corp-mail.com\n\
        info@corp-mail.com\n\
        cy@gmal.com\n\
        di@mailinator.com\n\
        eve@bücher.de\n\
        no-at-sign.corp-mail.com\n\
        fay@printer.local\n\
        \"gus\u{200b}@corp-mail.com\"\n\
        \"\"\"quoted\"\"@corp-mail.com\"\n\
        hal@[192.0.2.1]\n\
        john_doe@gmail.com\n";
    let input = dir.write("rules.csv", text);
    dir.clean(&[&input, "--annotate"]).ok();
    let clean_rows = dir.csv("out/clean.csv");
    assert_eq!(
        clean_rows[0],
        [
            "email",
            "mailscrub_status",
            "mailscrub_reason",
            "mailscrub_flags",
            "mailscrub_suggestion"
        ]
    );
    let by_email: BTreeMap<String, Vec<String>> = clean_rows[1..]
        .iter()
        .map(|r| (r[0].clone(), r.clone()))
        .collect();
    assert_eq!(by_email.len(), 6, "{by_email:?}");
    assert_eq!(by_email["Ann.Lee@corp-mail.com"][1], "ok");
    assert_eq!(by_email["info@corp-mail.com"][3], "role");
    assert_eq!(by_email["cy@gmal.com"][3], "typo");
    assert_eq!(by_email["cy@gmal.com"][4], "cy@gmail.com");
    assert_eq!(by_email["di@mailinator.com"][3], "disposable");
    assert!(by_email.contains_key("eve@bücher.de"));
    let suppressed: BTreeMap<String, Vec<String>> = dir.csv("out/suppression.csv")[1..]
        .iter()
        .map(|r| (r[0].clone(), r.clone()))
        .collect();
    assert_eq!(suppressed["no-at-sign.corp-mail.com"][1], "syntax");
    assert_eq!(suppressed["fay@printer.local"][1], "reserved_domain");
    assert!(suppressed["gus\u{200b}@corp-mail.com"][2].contains("U+200B"));
    assert!(suppressed["\"quoted\"@corp-mail.com"][2].contains("--allow-quoted-local"));
    assert!(suppressed["hal@[192.0.2.1]"][2].contains("--allow-ip-literal"));
    assert!(suppressed["john_doe@gmail.com"][2].contains("gmail.com"));
    assert_eq!(suppressed["fay@printer.local"][3], format!("{}:9", input));
    let report = dir.report("out");
    assert_eq!(report["repairs"]["display_name"], 1);
    assert_eq!(report["repairs"]["mailto_prefix"], 1);
    assert_eq!(report["repairs"]["domain_lowercased"], 1);

    // The options let quoted local parts and IP literals through.
    dir.clean(&[&input, "--allow-quoted-local", "--allow-ip-literal"])
        .ok();
    let kept = emails(&dir, "out/clean.csv", 0);
    assert!(kept.contains(&"\"quoted\"@corp-mail.com".to_owned()));
    assert!(kept.contains(&"hal@[192.0.2.1]".to_owned()));
}

#[test]
fn provider_rules_change_the_dedupe_key() {
    let dir = TestDir::new();
    let input = dir.write("p.csv", "email\njane.doe@gmail.com\nJaneDoe+news@googlemail.com\njane.doe@corp-mail.com\njanedoe@corp-mail.com\n");
    dir.clean(&[&input]).ok();
    assert_eq!(dir.report("out")["duplicates"], 0);
    dir.clean(&[&input, "--provider-rules"]).ok();
    let report = dir.report("out");
    assert_eq!(report["duplicates"], 1);
    assert_eq!(
        emails(&dir, "out/clean.csv", 0),
        [
            "jane.doe@gmail.com",
            "jane.doe@corp-mail.com",
            "janedoe@corp-mail.com"
        ]
    );
}

#[test]
fn unreadable_rows_go_to_rejects_with_line_and_reason() {
    let dir = TestDir::new();
    let mut bytes = b"email,name\nann@corp-mail.com,Ann\n,Nobody\nbo@corp-mail.com,Bo,extra\ncy@corp-mail.com\n".to_vec();
    bytes.extend_from_slice(b"d\xffi@corp-mail.com,Di\n");
    let input = dir.write("bad-rows.csv", bytes);
    dir.clean(&[&input]).ok();
    let rejects = dir.csv("out/rejects.csv");
    assert_eq!(rejects[0], ["file", "line", "error", "raw"]);
    let lines: Vec<(&str, &str)> = rejects[1..]
        .iter()
        .map(|r| (r[1].as_str(), r[2].as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            ("3", "empty email field"),
            ("4", "expected 2 fields, found 3"),
            ("5", "expected 2 fields, found 1"),
            ("6", "email field is not valid UTF-8 (byte 0xFF at offset 1): the file is likely in a legacy encoding such as Windows-1252 or Latin-1; save it as \"CSV UTF-8\" or convert it with `iconv -f WINDOWS-1252 -t UTF-8`")
        ]
    );
    assert_eq!(rejects[2][3], "bo@corp-mail.com,Bo,extra");
    let report = dir.report("out");
    assert_eq!(report["rejected"], 4);
    assert_identity(&report);
}

/// Messy rows of every kind, each carrying a unique id, so that each can be traced.
fn traceable_list(rows: usize) -> String {
    let mut text = String::from("id,email,name\n");
    for i in 0..rows {
        let email = match i % 10 {
            0 => format!("user{}@corp-mail.com", i / 3), // repeats: duplicates
            1 => format!("USER{}@Corp-Mail.com", i / 3), // case variants: duplicates
            2 => format!("bad..{i}@corp-mail.com"),      // syntax
            3 => format!("x{i}@host.invalid"),           // reserved
            4 => String::new(),                          // reject: empty
            5 => format!(" <p{i}@corp-mail.com> "),      // repaired
            _ => format!("p{i}@corp-mail.com"),
        };
        if i % 97 == 0 {
            text.push_str(&format!("{i},{email}\n")); // reject: a field lost
        } else {
            text.push_str(&format!("{i},\"{email}\",Name {i}\n"));
        }
    }
    text
}

#[test]
fn every_row_is_in_exactly_one_output() {
    let dir = TestDir::new();
    let rows = 3000;
    let input = dir.write("trace.csv", traceable_list(rows));
    assert_code(
        &dir.clean(&[&input, "--write-duplicates", "--batch-rows", "64"])
            .run(),
        0,
    );
    // The input line of each data row i is i + 2 (header on line 1).
    let mut place: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    let clean_rows = dir.csv("out/clean.csv");
    for r in &clean_rows[1..] {
        place
            .entry(r[0].parse::<u64>().unwrap() + 2)
            .or_default()
            .push("clean");
    }
    let suppression = dir.csv("out/suppression.csv");
    for r in &suppression[1..] {
        let line = r[3].rsplit(':').next().unwrap().parse().unwrap();
        place.entry(line).or_default().push("suppression");
    }
    let duplicates = dir.csv("out/duplicates.csv");
    for r in &duplicates[1..] {
        place
            .entry(r[1].parse().unwrap())
            .or_default()
            .push("duplicates");
    }
    let rejects = dir.csv("out/rejects.csv");
    for r in &rejects[1..] {
        place
            .entry(r[1].parse().unwrap())
            .or_default()
            .push("rejects");
    }
    let expected: BTreeSet<u64> = (2..rows as u64 + 2).collect();
    assert_eq!(place.keys().copied().collect::<BTreeSet<_>>(), expected);
    for (line, places) in &place {
        assert_eq!(places.len(), 1, "line {line} is in {places:?}");
    }
    let report = dir.report("out");
    assert_identity(&report);
    assert_eq!(report["rows_in"], rows);
    assert_eq!(
        report["kept"].as_u64().unwrap() as usize,
        clean_rows.len() - 1
    );
    assert_eq!(
        report["suppressed"].as_u64().unwrap() as usize,
        suppression.len() - 1
    );
    assert_eq!(
        report["duplicates"].as_u64().unwrap() as usize,
        duplicates.len() - 1
    );
    assert_eq!(
        report["rejected"].as_u64().unwrap() as usize,
        rejects.len() - 1
    );
    // Order is the input's, whatever the batching.
    let ids: Vec<u64> = clean_rows[1..]
        .iter()
        .map(|r| r[0].parse().unwrap())
        .collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
}

#[test]
fn bad_usage_and_bad_inputs_get_one_clear_line() {
    let dir = TestDir::new();
    let out = dir.run(&["clean", "--out", "out", "--no-such-flag", "x.csv"]);
    assert_code(&out, exit::USAGE);
    assert_contains(&out.stderr, "--no-such-flag");

    let out = dir.clean(&["missing.csv"]).code(exit::INPUT);
    assert_contains(&out.stderr, "missing.csv: cannot open");

    let binary = dir.write(
        "image.csv",
        [0x89u8, b'P', b'N', b'G', 0, 0, 0, 13, 0, 1, 2],
    );
    let out = dir.clean(&[&binary]).code(exit::INPUT);
    assert_contains(&out.stderr, "image.csv: not a CSV file: a PNG image");

    let empty = dir.write("empty.csv", "");
    let out = dir.clean(&[&empty]).code(exit::INPUT);
    assert_contains(&out.stderr, "the file is empty");

    let no_col = dir.write("phones.csv", "name,phone\nAnn,555\n");
    let out = dir.clean(&[&no_col]).code(exit::INPUT);
    assert!(
        out.stderr
            .contains("phones.csv: no column is named like an email column"),
        "{}",
        out.stderr
    );
    assert_contains(&out.stderr, "--email-column");

    let good = dir.write("good.csv", "email\nann@corp-mail.com\n");
    let blocker = dir.write("not-a-dir", "x");
    let out = dir.clean(&[&good]).out(&blocker).code(exit::OUTPUT);
    assert_contains(&out.stderr, "cannot write");
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
}

#[test]
fn a_failed_run_leaves_the_previous_outputs_untouched() {
    let dir = TestDir::new();
    let good = dir.write("good.csv", "email\nann@corp-mail.com\n");
    dir.clean(&[&good]).ok();
    let before = std::fs::read(dir.join("out/clean.csv")).unwrap();
    // A gzip file cut short fails part-way through reading.
    let big = csv_lines(
        "email",
        (0..50_000).map(|i| format!("user{i}@corp-mail.com")),
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(big.as_bytes()).unwrap();
    let bytes = gz.finish().unwrap();
    let cut = dir.write("cut.csv.gz", &bytes[..bytes.len() / 2]);
    let out = dir.clean(&[&cut]).code(exit::INPUT);
    assert_contains(&out.stderr, "cut.csv.gz:");
    assert_contains(&out.stderr, "read error");
    assert_eq!(std::fs::read(dir.join("out/clean.csv")).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(dir.join("out"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names.iter().all(|n| !n.ends_with(".tmp")),
        "temporary files left: {names:?}"
    );
}

#[test]
fn stderr_has_a_summary_and_no_progress_bars_when_not_a_terminal() {
    let dir = TestDir::new();
    let good = dir.write("good.csv", "email\nann@corp-mail.com\nbad@@x\n");
    let out = dir.clean(&[&good]).ok();
    assert!(
        out.stderr.starts_with("mailscrub: 2 rows from 1 input(s)"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(
        "accounting: rows_in 2 = kept 1 + suppressed 1 + duplicates 0 + rejected 0 (holds)"
    ));
    assert!(
        !out.stderr.contains('\u{1b}'),
        "no terminal escapes: {:?}",
        out.stderr
    );
    let quiet = dir.clean(&[&good, "--quiet"]).run();
    assert_code(&quiet, 0);
    assert_eq!(quiet.stderr, "");
    assert_eq!(quiet.stdout, "");
}

#[test]
fn check_prints_one_json_object_per_address() {
    let dir = TestDir::new();
    let out = dir.run(&[
        "check",
        " Ann@Bücher.DE ",
        "bad..dots@corp-mail.com",
        "sales@gmal.com",
    ]);
    assert_code(&out, 0);
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[0]["address"], "Ann@bücher.de");
    assert_eq!(lines[0]["ascii_address"], "Ann@xn--bcher-kva.de");
    assert_eq!(
        lines[0]["repairs"],
        serde_json::json!(["trimmed", "domain_lowercased"])
    );
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["reason"], "syntax");
    assert_eq!(lines[2]["flags"], serde_json::json!(["role", "typo"]));
    assert_eq!(lines[2]["suggestion"], "sales@gmail.com");
    // stdin, one per line
    let out = dir.run_with_stdin(&["check"], Some(b"a@corp-mail.com\n\nb@localhost\n"));
    assert_code(&out, 0);
    assert_eq!(out.stdout.lines().count(), 2);
    assert!(out.stdout.contains("\"reason\":\"reserved_domain\""));
}

#[test]
fn a_header_longer_than_the_sample_is_read_whole() {
    // 200,000 columns: a header of 1.4 MB, far past the 64 KiB detection sample.
    let dir = TestDir::new();
    let cols: Vec<String> = (0..200_000).map(|i| format!("c{i}")).collect();
    let mut text = format!("{},email\n", cols.join(","));
    for who in ["ann", "bo"] {
        text.push_str(&"x,".repeat(200_000));
        text.push_str(&format!("{who}@corp-mail.com\n"));
    }
    let input = dir.write("wide.csv", text);
    dir.clean(&[&input]).ok();
    let report = dir.report("out");
    assert_eq!(report["kept"], 2, "{report:#}");
    assert_eq!(report["inputs"][0]["email_column"], 200_001);
    let clean = std::fs::read_to_string(dir.join("out/clean.csv")).unwrap();
    assert!(clean.lines().next().unwrap().ends_with(",c199999,email"));
}

#[test]
fn check_reads_past_a_line_that_is_not_utf8() {
    let dir = TestDir::new();
    let out = dir
        .cmd(&["check"])
        .stdin(b"a@corp-mail.com\n\xff\xfe@corp-mail.com\r\nb@corp-mail.com\n")
        .ok();
    let lines: Vec<serde_json::Value> = out
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(lines[0]["valid"], true);
    assert_eq!(lines[1]["reason"], "unreadable");
    assert_contains(
        lines[1]["detail"].as_str().unwrap(),
        "line 2 is not valid UTF-8",
    );
    assert_eq!(lines[2]["address"], "b@corp-mail.com");
}

/// A stray NUL (old CRM exports) costs its row when it is in the email field, and passes
/// through in any other cell; files that are not text are named for what they are.
#[test]
fn a_stray_nul_costs_one_row_and_binary_files_say_what_they_are() {
    let dir = TestDir::new();
    let input = dir.write(
        "crm.csv",
        b"email,note\nann@corp-mail.com,ok\nbo\0@corp-mail.com,x\ncy@corp-mail.com,a\0b\n",
    );
    dir.clean(&[&input]).ok();
    let report = dir.report("out");
    assert_eq!(
        (report["kept"].as_u64(), report["rejected"].as_u64()),
        (Some(2), Some(1))
    );
    assert_contains(&dir.csv("out/rejects.csv")[1][2], "NUL byte");
    assert!(std::fs::read(dir.join("out/clean.csv"))
        .unwrap()
        .ends_with(b"a\0b\n"));

    let xlsx = dir.write("list.xlsx", b"PK\x03\x04\x14\x00\x06\x00rest of a workbook");
    let out = dir.clean(&[&xlsx]).code(exit::INPUT);
    assert_contains(&out.stderr, "export the sheet as CSV");
    // UTF-16 without a byte-order mark: the byte order is a guess, so it is refused with a hint.
    let mut utf16 = Vec::new();
    for unit in "email\r\nann@corp-mail.com\r\n".encode_utf16() {
        utf16.extend(unit.to_le_bytes());
    }
    let utf16 = dir.write("unicode.txt", utf16);
    let out = dir.clean(&[&utf16]).code(exit::INPUT);
    assert_contains(&out.stderr, "UTF-16");
}

/// Excel's "Unicode Text" export as saved: UTF-16 little endian with a byte-order mark, tabs,
/// CRLF, names in any script. Every row is read, line numbers are the file's, and the outputs
/// are UTF-8 with a byte-order mark.
#[test]
fn an_excel_unicode_text_export_is_read_as_saved() {
    let dir = TestDir::new();
    let text = "First Name\tLast Name\tE-mail Address\r\nJosé\tMüller\tjose@müller-mail.de\r\n李\t雷\tnot an address\r\nАнна\tЛи\tanna@corp-mail.com\r\n";
    let mut bytes = vec![0xff, 0xfe];
    for unit in text.encode_utf16() {
        bytes.extend(unit.to_le_bytes());
    }
    let input = dir.write("contacts.txt", bytes);
    let out = dir.clean(&[&input]).ok();
    assert_contains(&out.stderr, "UTF-16LE text");
    let report = dir.report("out");
    assert_eq!(
        (
            report["kept"].as_u64(),
            report["rejected"].as_u64(),
            report["suppressed"].as_u64()
        ),
        (Some(2), Some(0), Some(1)),
        "{report}"
    );
    let clean = std::fs::read(dir.join("out/clean.csv")).unwrap();
    assert!(clean.starts_with("\u{feff}First Name\tLast Name".as_bytes()));
    let clean = String::from_utf8(clean).unwrap();
    assert_contains(&clean, "José\tMüller\tjose@müller-mail.de\r\n");
    assert_contains(&clean, "Анна\tЛи\tanna@corp-mail.com\r\n");
    let suppression = dir.csv("out/suppression.csv");
    assert_eq!(suppression[1][0], "not an address");
    assert!(
        suppression[1][3].ends_with("contacts.txt:3"),
        "{:?}",
        suppression[1]
    );
}

#[test]
fn the_bundled_disposable_list_flags_and_lists_says_what_is_bundled() {
    let dir = TestDir::new();
    let out = dir
        .cmd(&["check", "ann@0-mail.com", "bo@mailinator.com"])
        .ok();
    for line in out.stdout.lines() {
        assert_contains(line, "\"disposable\"");
    }
    let out = dir.cmd(&["lists"]).ok();
    assert_contains(&out.stdout, "disposable-email-domains");
    assert_contains(&out.stdout, "CC0");
    assert_contains(&out.stdout, "--disposable-domains");
}

/// The set of top-level domains is closed and public: an address whose TLD does not exist is
/// suppressed as unknown_tld, even with --no-dns, the typo suggestion in the detail.
#[test]
fn an_address_whose_tld_does_not_exist_is_suppressed() {
    let dir = TestDir::new();
    let input = dir.write(
        "l.csv",
        "email\nann@hotmail.con\nusername@domain.com\u{a9}\nbo@example.museum\ncy@corp-mail.xyz\ndi@corp-mail.comm\n",
    );
    dir.clean(&[&input]).ok();
    let s = dir.csv("out/suppression.csv");
    let reasons: Vec<(&str, &str)> = s[1..]
        .iter()
        .map(|r| (r[0].as_str(), r[1].as_str()))
        .collect();
    assert_eq!(
        reasons,
        [
            ("ann@hotmail.con", "unknown_tld"),
            // © is no letter: IDNA2008 refuses the label before the TLD list is asked.
            ("username@domain.com\u{a9}", "syntax"),
            ("di@corp-mail.comm", "unknown_tld")
        ]
    );
    assert_contains(&s[1][2], "did you mean hotmail.com");
    // A newer list (here: one that knows .con) is taken as given.
    let tlds = dir.write("tlds.txt", "# test\nCOM\nCON\nMUSEUM\nXYZ\n");
    dir.clean(&[&input]).args(&["--tld-list", &tlds]).ok();
    assert_eq!(
        dir.report("out")["reasons"]["unknown_tld"],
        1,
        "only .comm now"
    );
}

/// `--config FILE`: every option as a key; the command line wins; an unknown key names the
/// nearest; `config --print` says where each setting came from.
#[test]
fn a_config_file_under_the_command_line() {
    let dir = TestDir::new();
    dir.write(
        "l.csv",
        "email,name\nann@corp-mail.com,=1+1\nbo@corp-mail.com,Bo\n",
    );
    dir.write(
        "nightly.toml",
        "inputs = [\"l.csv\"]\nout = \"out\"\nno_dns = true\nannotate = true\nspreadsheet_safe = true\nmax_drop_share = 0.7\n",
    );
    dir.cmd(&["clean", "--config", "nightly.toml"]).ok();
    let rows = dir.csv("out/clean.csv");
    assert_eq!(rows[0].len(), 6, "annotate from the file");
    assert_eq!(rows[1][1], "'=1+1", "spreadsheet_safe from the file");
    // The command line wins: another output folder.
    dir.cmd(&["clean", "--config", "nightly.toml", "--out", "cli-out"])
        .ok();
    assert!(dir.join("cli-out/clean.csv").exists());
    let out = dir
        .cmd(&[
            "config",
            "--print",
            "--",
            "--config",
            "nightly.toml",
            "--max-drop-share",
            "0.9",
        ])
        .ok();
    assert_contains(&out.stdout, "annotate = true    # config file");
    assert_contains(&out.stdout, "max_drop_share = 0.9    # command line");
    assert_contains(&out.stdout, "soft_threshold = 5    # default");
    dir.write("bad.toml", "inputs = [\"l.csv\"]\nsoft_treshold = 3\n");
    let out = dir
        .cmd(&["clean", "--config", "bad.toml", "--out", "x", "--no-dns"])
        .code(exit::USAGE);
    assert_contains(
        &out.stderr,
        "unknown key \"soft_treshold\"; did you mean \"soft_threshold\"",
    );
}

#[test]
fn the_cli_teaches_groups_examples_completions_and_a_man_page() {
    let dir = TestDir::new();
    let help = dir.cmd(&["clean", "--help"]).ok().stdout;
    assert_contains_all(
        &help,
        &[
            "Inputs:",
            "Addresses:",
            "DNS:",
            "Bounces:",
            "Outputs:",
            "CRM export:",
            "The run:",
            "Examples:",
        ],
    );
    assert_contains(&help, "[possible values: wire, hickory]");
    let bash = dir.cmd(&["completions", "bash"]).ok().stdout;
    assert_contains(&bash, "_mailscrub()");
    let man = dir.cmd(&["man"]).ok().stdout;
    assert_contains(&man, ".TH mailscrub 1");
}

#[test]
fn inspect_says_what_a_run_would_detect_and_writes_nothing() {
    let dir = TestDir::new();
    let input = dir.write(
        "g.csv",
        "Name;E-mail 1 - Label;E-mail 1 - Value;Email Opt Out\r\nAnn;* Home;ann@corp-mail.com;0\r\nBo;* Work;bo@corp-mail.com;1\r\n",
    );
    let out = dir.cmd(&["inspect", &input]).ok();
    assert_contains_all(
        &out.stdout,
        &[
            "delimiter ';'",
            "line ends CRLF",
            "email column 3 \"E-mail 1 - Value\"",
            "chosen over \"E-mail 1 - Label\"",
            "consent column \"Email Opt Out\"",
            "sample values: ann@corp-mail.com, bo@corp-mail.com",
        ],
    );
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().flatten().collect();
    assert_eq!(
        names.len(),
        2,
        "the input and the harness's resolv.conf, nothing written"
    );
    // --out-delimiter
    dir.clean(&[&input])
        .args(&["--out-delimiter", "tab", "--max-drop-share", "1"])
        .ok();
    let text = std::fs::read_to_string(dir.join("out/clean.csv")).unwrap();
    assert!(text.starts_with("Name\tE-mail 1 - Label\t"), "{text}");
}

#[test]
fn out_dash_writes_the_clean_list_to_stdout_and_the_evidence_to_side_dir() {
    let dir = TestDir::new();
    let input = dir.write(
        "list.csv",
        "id,email,note\r\n1,ann@corp-mail.com,\"quoted, kept\"\r\n2,not-an-address,x\r\n\
         3,bo@corp-mail.com,y\r\n4,ANN@corp-mail.com,dup\r\n",
    );
    let normal = dir.clean(&[&input]).ok();
    assert!(
        normal.stdout.is_empty(),
        "nothing on stdout without --out -"
    );
    let expected = std::fs::read_to_string(dir.join("out/clean.csv")).unwrap();

    let piped = dir
        .clean(&[&input])
        .out("-")
        .args(&["--side-dir", "side"])
        .ok();
    assert_eq!(
        piped.stdout, expected,
        "stdout is the clean list, byte for byte"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("side/clean.csv")).unwrap(),
        expected
    );
    for side in ["rejects.csv", "report.json", "suppression.csv"] {
        assert!(dir.join("side").join(side).exists(), "{side} in --side-dir");
    }
    let report = dir.report("side");
    assert_identity(&report);
    assert_eq!(report["rows_in"], 4);
    assert_eq!(report["kept"], 2);
    assert_eq!(report["duplicates"], 1);
    assert!(!dir.join("-").exists(), "no folder named -");

    // Each misuse is refused before anything is read or written.
    for (args, said) in [
        (&[][..], "give --side-dir"),
        (
            &["--side-dir", "s2", "--format", "parquet"][..],
            "one CSV clean list",
        ),
        (
            &["--side-dir", "s2", "--split-rows", "1"][..],
            "one CSV clean list",
        ),
    ] {
        let out = dir.clean(&[&input]).out("-").args(args).code(exit::USAGE);
        assert_contains(&out.stderr, said);
        assert!(out.stdout.is_empty());
    }
    assert!(!dir.join("s2").exists());
    let out = dir
        .clean(&[&input])
        .args(&["--side-dir", "s2"])
        .code(exit::USAGE);
    assert_contains(&out.stderr, "--side-dir goes with --out -");

    // Inputs of two layouts make two clean lists: stdout cannot hold both.
    let other = dir.write("other.csv", "email,name\ncy@corp-mail.com,Cy\n");
    let out = dir
        .clean(&[&input, &other])
        .out("-")
        .args(&["--side-dir", "s3"])
        .code(exit::USAGE);
    assert_contains(&out.stderr, "2 clean lists were written to s3");
    assert!(out.stdout.is_empty());
}

/// Runs `mailscrub ARGS` on a pseudo-terminal (util-linux `script`), returning what the terminal
/// showed with the escape sequences taken out.
fn on_a_terminal(dir: &TestDir, args: &str) -> String {
    let log = dir.join("tty.log");
    let status = std::process::Command::new("script")
        .args(["-qfec"])
        .arg(format!("{} {args}", env!("CARGO_BIN_EXE_mailscrub")))
        .arg(&log)
        .current_dir(dir.path())
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .status()
        .expect("util-linux `script` runs the binary on a terminal (Debian: bsdutils)");
    assert!(status.success(), "{status}");
    let raw = std::fs::read(&log).unwrap();
    let text = String::from_utf8_lossy(&raw);
    let mut plain = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-letter
            if chars.peek() == Some(&'[') {
                chars.next();
                for c in chars.by_ref() {
                    if c.is_ascii_alphabetic() {
                        break;
                    }
                }
            }
        } else if c == '\r' {
            plain.push('\n');
        } else {
            plain.push(c);
        }
    }
    plain
}

#[test]
fn a_terminal_shows_one_line_per_phase_and_cron_sees_none() {
    let dir = TestDir::new();
    let list = csv_lines(
        "email,name",
        (0..1500).map(|i| format!("user{i}@corp-mail.com,U{i}")),
    );
    dir.write("list.csv", &list);
    dir.write(
        "bounces.csv",
        "email,type,timestamp\nuser1@corp-mail.com,hard,2026-11-30T10:00:00Z\n",
    );
    let shown = on_a_terminal(
        &dir,
        "clean list.csv --out out --no-dns --bounces bounces.csv --as-of 2026-12-01",
    );
    assert_contains_all(
        &shown,
        &[
            "list.csv",
            "bounces    1 file(s), 1 events",
            "rows       1,500 rows,",
            "writing    3 file(s) written",
        ],
    );
    assert_contains(&shown, "1,500 rows from 1 input(s)");
    let quiet = on_a_terminal(&dir, "clean list.csv --out out --no-dns --quiet");
    assert!(!quiet.contains("rows,"), "--quiet draws nothing: {quiet}");
    // Not a terminal (cron, a pipe): the summary only.
    let piped = dir.clean(&["list.csv"]).ok();
    assert!(!piped.stderr.contains("rows/s"), "{}", piped.stderr);
    assert_contains(&piped.stderr, "1,500 rows from 1 input(s)");
}

/// A list of `rows` rows over 97 domains with what a real list has: duplicates spelt in
/// another case, invalid and unreadable rows, IDN domains, addresses with a bounce history.
fn mixed_list(rows: usize) -> String {
    let mut list = String::from("email,name,note\n");
    for i in 0..rows {
        let domain = format!("company-{}.com", i % 97);
        match i % 50 {
            // The same address again, spelt in another case: a duplicate in the same part.
            7 => list.push_str(&format!(
                "user{}@COMPANY-{}.COM,dup,\n",
                i - 1,
                (i - 1) % 97
            )),
            11 => list.push_str(&format!("broken-{i}@@{domain},bad,\n")),
            13 => list.push_str(&format!("no-at-sign-{i},bad,\n")),
            17 => list.push_str(&format!("u{i}@bücher-{}.de,idn,\n", i % 5)),
            19 => list.push_str(&format!("dead{i}@{domain},history,\n")),
            23 => list.push_str("\"unclosed,quote\n"),
            _ => list.push_str(&format!("user{i}@{domain},n{i},\"a, b\"\n")),
        }
    }
    list
}

/// A suppression history of 400 addresses of [`mixed_list`]'s domains: half on the list, half
/// to be carried forward.
fn mixed_history() -> String {
    let mut history = String::from("email,reason,created\n");
    for i in 0..400 {
        // On the list (i % 50 == 19 rows) and carried forward (the others).
        let local = if i % 2 == 0 {
            format!("dead{}", i / 2 * 50 + 19)
        } else {
            format!("gone{i}")
        };
        history.push_str(&format!(
            "{local}@company-{}.com,bounce,2024-08-01T10:00:00Z\n",
            (i / 2 * 50 + 19) % 97
        ));
    }
    history
}

/// `--partition K/N`: N runs, one per part, give together what one run gives: every row in
/// exactly one part, the same clean rows, suppressions (carried-forward ones included), rejects
/// and duplicates; each part's report accounts for the rows it left to the others.
#[test]
fn the_parts_of_a_partitioned_run_add_up_to_one_run() {
    let dir = TestDir::new();
    let list = dir.write("list.csv", mixed_list(3_000));
    let history = dir.write("suppressions.csv", mixed_history());
    let run = |out: &str, partition: Option<&str>| {
        let mut r = dir
            .clean(&[&list])
            .out(out)
            .bounces(&history)
            .as_of("2024-08-31")
            .args(&["--max-drop-share", "1"]);
        if let Some(p) = partition {
            r = r.args(&["--partition", p]);
        }
        r.ok()
    };
    run("whole", None);
    let n = 3;
    for k in 1..=n {
        let out = run(&format!("part{k}"), Some(&format!("{k}/{n}")));
        assert_contains(
            &out.stderr,
            "row(s) belong to the other parts of --partition",
        );
    }
    let rows_of = |out: &str, file: &str| -> Vec<Vec<String>> {
        let path = dir.join(out).join(file);
        if !path.exists() {
            return Vec::new();
        }
        let mut rows = read_csv(&path, b',');
        rows.remove(0);
        rows
    };
    for file in ["clean.csv", "suppression.csv", "rejects.csv"] {
        let mut whole = rows_of("whole", file);
        let mut parts: Vec<Vec<String>> = (1..=n)
            .flat_map(|k| rows_of(&format!("part{k}"), file))
            .collect();
        whole.sort();
        parts.sort();
        assert!(
            !whole.is_empty(),
            "{file} is empty: the test proves nothing"
        );
        assert_eq!(parts.len(), whole.len(), "{file}: rows");
        assert_eq!(parts, whole, "{file}: the union of the parts");
    }
    let whole = dir.report("whole");
    let reports: Vec<_> = (1..=n).map(|k| dir.report(&format!("part{k}"))).collect();
    for key in ["kept", "suppressed", "duplicates", "rejected"] {
        let sum: u64 = reports.iter().map(|r| r[key].as_u64().unwrap()).sum();
        assert_eq!(sum, whole[key].as_u64().unwrap(), "{key}");
        assert!(
            whole[key].as_u64().unwrap() > 0,
            "{key}: the test proves nothing"
        );
    }
    for r in &reports {
        assert_eq!(r["rows_in"], whole["rows_in"], "every part reads every row");
        assert!(r["identity_holds"].as_bool().unwrap());
        assert!(r["other_partition"].as_u64().unwrap() > 0);
        assert_contains(r["identity"].as_str().unwrap(), "+ other partitions");
    }
    assert!(whole.get("other_partition").is_none());
    let carried = |r: &serde_json::Value| r["bounces"]["carried_forward"].as_u64().unwrap();
    assert!(
        carried(&whole) > 0,
        "the test proves nothing about carry-forward"
    );
    assert_eq!(reports.iter().map(carried).sum::<u64>(), carried(&whole));
    // A bad part is a usage error.
    dir.clean(&[&list])
        .args(&["--partition", "4/3"])
        .code(exit::USAGE);
}

/// `--memory-limit`: past it, the dedupe keys go to disk and the rows are read twice; the
/// outputs are byte for byte those of a run without a limit, at any limit, with several inputs,
/// Parquet outputs, carry-forward and `--partition`. Below the limit nothing is spilled; stdin,
/// which can be read once, is refused with a limit.
#[test]
fn a_memory_limit_spills_the_keys_and_changes_no_output() {
    let dir = TestDir::new();
    let list = dir.write("list.csv", mixed_list(3_000));
    // A second input that repeats rows of the first: duplicates across inputs.
    let again: String = mixed_list(600)
        .lines()
        .skip(1)
        .step_by(3)
        .map(|l| format!("{l}\n"))
        .collect();
    let more = dir.write("more.csv", format!("email,name,note\n{again}"));
    let history = dir.write("suppressions.csv", mixed_history());
    let run = |out: &str, extra: &[&str]| {
        dir.clean(&[&list, &more])
            .out(out)
            .bounces(&history)
            .as_of("2024-08-31")
            .args(&[
                "--max-drop-share",
                "1",
                "--format",
                "csv,parquet",
                "--annotate",
            ])
            .args(extra)
            .ok()
    };
    let files = |out: &str| -> Vec<(String, Vec<u8>)> {
        let mut names: Vec<String> = std::fs::read_dir(dir.join(out))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with('.') && !n.starts_with("report."))
            .collect();
        names.sort();
        names
            .into_iter()
            .map(|n| {
                let bytes = std::fs::read(dir.join(out).join(&n)).unwrap();
                (n, bytes)
            })
            .collect()
    };
    run("whole", &[]);
    let whole = files("whole");
    assert!(
        whole.len() >= 6,
        "{:?}",
        whole.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    let report = dir.report("whole");
    assert!(report.get("dedupe_spill").is_none());
    assert!(
        report["duplicates"].as_u64().unwrap() > 100,
        "the test proves nothing"
    );
    assert!(report["bounces"]["carried_forward"].as_u64().unwrap() > 0);
    // 1 byte: one part file a group; 20 KB: a few groups; both spill.
    for (out, limit, groups) in [("one", "1", 128), ("some", "20K", 0)] {
        let r = run(out, &["--memory-limit", limit]);
        assert_contains(&r.stderr, "dedupe keys spilled to disk");
        let spill = &dir.report(out)["dedupe_spill"];
        assert_eq!(
            spill["keys"],
            report["rows_in"].as_u64().unwrap() - report["rejected"].as_u64().unwrap()
        );
        let g = spill["groups"].as_u64().unwrap();
        if groups > 0 {
            assert_eq!(g, groups);
        } else {
            assert!(g > 1 && g < 128, "{g} groups");
        }
        let got = files(out);
        assert_eq!(got.len(), whole.len());
        for ((name, a), (other, b)) in whole.iter().zip(&got) {
            assert_eq!(name, other);
            assert!(a == b, "{name} differs under --memory-limit {limit}");
        }
        assert!(
            !dir.join(out)
                .join(".mailscrub")
                .read_dir()
                .unwrap()
                .any(|e| {
                    let e = e.unwrap().path();
                    e.join(".dedupe-spill").exists()
                }),
            "the spilled keys are removed"
        );
    }
    // A limit the keys fit in: no spill.
    run("roomy", &["--memory-limit", "1G"]);
    assert!(dir.report("roomy").get("dedupe_spill").is_none());
    assert_eq!(files("roomy"), whole);
    // With --partition, a spilled run gives the part's outputs too.
    run("part", &["--partition", "2/3"]);
    run(
        "part-spilled",
        &["--partition", "2/3", "--memory-limit", "1"],
    );
    assert_eq!(files("part-spilled"), files("part"));
    // stdin is read once.
    let out = dir
        .clean(&["-"])
        .out("stdin")
        .args(&["--memory-limit", "1"])
        .stdin("email\na@corp-mail.com\n")
        .code(exit::USAGE);
    assert_contains(&out.stderr, "stdin can be read once");
    dir.clean(&[&list])
        .args(&["--memory-limit", "lots"])
        .code(exit::USAGE);
}

/// An export that holds only its header (or nothing but the header) is more often a failed
/// export than an empty list: the run says so on stderr and in the report.
#[test]
fn an_input_without_rows_is_warned_about() {
    let dir = TestDir::new();
    let empty = dir.write("export.csv", "email,name\n");
    let full = dir.write("other.csv", "email\nann@corp-mail.com\n");
    let out = dir.clean(&[&empty, &full]).ok();
    assert_contains(&out.stderr, "export.csv holds no rows (a header only)");
    let report = dir.report("out");
    let warnings = report["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_contains(warnings[0].as_str().unwrap(), "export.csv holds no rows");
}

/// A reader that stops early (`mailscrub check ... | head -1`) is not a failure of the command:
/// each JSON-lines command exits 0 without an error when its stdout is closed. (`check`,
/// `bounces` and `resolve` wrote their lines through `serde_json`, whose error around the broken
/// pipe was not recognised: "error: Broken pipe", exit 1.)
#[test]
fn a_closed_stdout_ends_json_line_commands_quietly() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = TestDir::new();
    let lines = 200_000;
    let addresses: String = (0..lines)
        .map(|i| format!("ann{i}@corp-mail.com\n"))
        .collect();
    dir.write("addresses.txt", &addresses);
    let log: String = (0..lines)
        .map(|i| {
            format!(
                "Aug  1 10:00:01 mx1 postfix/smtp[2001]: A{i:09X}: to=<gone{i}@corp-mail.net>, \
                 relay=mx.corp-mail.net[192.0.2.10]:25, dsn=5.1.1, status=bounced (host said: \
                 550 5.1.1 User unknown)\n"
            )
        })
        .collect();
    dir.write("mail.log", &log);
    let not_domains: String = (0..lines).map(|i| format!("not a domain {i}\n")).collect();
    dir.write("inputs.txt", &not_domains);
    for (args, stdin) in [
        (vec!["check"], Some("addresses.txt")),
        (vec!["bounces", "mail.log"], None),
        (
            vec!["resolve", "--dns-server", "127.0.0.1:9"],
            Some("inputs.txt"),
        ),
    ] {
        let mut command = Command::new(env!("CARGO_BIN_EXE_mailscrub"));
        command
            .args(&args)
            .current_dir(dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match stdin {
            Some(file) => command.stdin(std::fs::File::open(dir.join(file)).unwrap()),
            None => command.stdin(Stdio::null()),
        };
        let mut child = command.spawn().expect("spawn mailscrub");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .unwrap();
        assert!(first.starts_with('{'), "{args:?}: {first}");
        // stdout is closed here, before the command has written its other lines.
        let out = child.wait_with_output().expect("wait");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {:?} {stderr}", out.status);
        assert!(!stderr.contains("error"), "{args:?}: {stderr}");
    }
}
