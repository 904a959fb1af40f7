//! Parquet in and out, checked with an independent reader (pyarrow, installed into `.venv` by
//! `scripts/test.sh`), and the CRM export profile.

use std::path::PathBuf;
use std::process::Command;

use crate::support::{assert_code, assert_contains, csv_lines, read_csv, TestDir};
use serde_json::Value;

/// The Python with pyarrow: `MAILSCRUB_PYTHON`, or the project's `.venv`.
fn python() -> PathBuf {
    if let Ok(p) = std::env::var("MAILSCRUB_PYTHON") {
        return PathBuf::from(p);
    }
    let venv = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python");
    assert!(
        venv.exists(),
        "these tests read Parquet with pyarrow: run scripts/test.sh (it makes .venv), or set MAILSCRUB_PYTHON"
    );
    venv
}

/// Runs a Python snippet (with `json` and `pyarrow.parquet as pq` imported) and parses the JSON
/// it prints.
fn py(dir: &TestDir, code: &str) -> Value {
    let script = format!(
        "import json, sys, datetime\nimport pyarrow as pa\nimport pyarrow.parquet as pq\n{code}\n"
    );
    let out = Command::new(python())
        .arg("-c")
        .arg(&script)
        .current_dir(dir.path())
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

const DESCRIBE: &str = "
def describe(path):
    t = pq.read_table(path)
    return {'rows': t.num_rows, 'names': t.column_names, 'types': [str(f.type) for f in t.schema], 'rows_as_lists': [[str(v) if v is not None else None for v in r.values()] for r in t.to_pylist()], 'codec': pq.ParquetFile(path).metadata.row_group(0).column(0).compression if t.num_rows else None}
";

fn list(dir: &TestDir) -> String {
    dir.write(
        "list.csv",
        "id,email,first_name,score\n\
         1,Ann@Corp-Mail.net,Ann,7\n\
         2,bad..dots@corp-mail.net,Bad,1\n\
         3,info@gmial.com,Info,3\n\
         4,hard@corp-mail.net,Hard,2\n\
         5,broken,row\n",
    )
}

#[test]
fn csv_input_to_typed_parquet_outputs() {
    let dir = TestDir::new();
    let input = list(&dir);
    let log = dir.write(
        "mail.log",
        "Aug  1 10:00:01 mx1 postfix/smtp[1]: A1: to=<hard@corp-mail.net>, relay=mx[192.0.2.1]:25, delay=1, delays=0/0/0/1, dsn=5.1.1, status=bounced (host mx said: 550 5.1.1 User unknown (in reply to RCPT TO command))\n",
    );
    dir.clean(&[&input])
        .bounces(&log)
        .as_of("2024-08-31")
        .args(&[
            "--format",
            "csv, parquet",
            "--annotate",
            "--postfix-year",
            "2024",
        ])
        .ok();
    let v = py(&dir, &format!("{DESCRIBE}\nprint(json.dumps({{k: describe('out/' + k + '.parquet') for k in ['clean', 'suppression', 'rejects']}}))"));
    let clean = &v["clean"];
    assert_eq!(clean["rows"], 2);
    assert_eq!(
        clean["names"],
        serde_json::json!([
            "id",
            "email",
            "first_name",
            "score",
            "mailscrub_status",
            "mailscrub_reason",
            "mailscrub_flag_role",
            "mailscrub_flag_disposable",
            "mailscrub_flag_typo",
            "mailscrub_flag_smtputf8",
            "mailscrub_flag_dns_unknown",
            "mailscrub_flag_soft_bounces",
            "mailscrub_flag_free_provider",
            "mailscrub_suggestion"
        ])
    );
    let types: Vec<&str> = clean["types"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    assert_eq!(&types[..6], ["string"; 6], "CSV columns are strings");
    assert_eq!(&types[6..13], ["bool"; 7], "flags are booleans");
    assert_eq!(clean["rows_as_lists"][0][1], "Ann@corp-mail.net");
    assert_eq!(
        clean["rows_as_lists"][1][6], "True",
        "info@ is a role account"
    );
    assert_eq!(clean["rows_as_lists"][1][13], "info@gmail.com");
    assert_eq!(clean["codec"], "ZSTD");
    let s = &v["suppression"];
    assert_eq!(s["rows"], 2);
    assert_eq!(
        s["types"],
        serde_json::json!([
            "string",
            "string",
            "string",
            "string",
            "timestamp[ms, tz=UTC]",
            "timestamp[ms, tz=UTC]",
            "string",
            "int64"
        ])
    );
    let hard = s["rows_as_lists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == "hard@corp-mail.net")
        .unwrap();
    assert_eq!(hard[4], "2024-08-01 10:00:01+00:00");
    assert_eq!(hard[7], "1");
    let r = &v["rejects"];
    assert_eq!(
        r["types"],
        serde_json::json!(["string", "int64", "string", "string"])
    );
    assert_eq!(r["rows_as_lists"][0][1], "6");
    // The CSV twins hold the same rows.
    assert_eq!(dir.csv("out/clean.csv").len(), 3);
}

#[test]
fn parquet_input_keeps_its_types() {
    let dir = TestDir::new();
    py(
        &dir,
        "t = pa.table({'id': pa.array([1, 2, 3, 4], pa.int64()), 'EMail': ['ann@corp-mail.net', 'x@localhost', ' Bo@Corp-Mail.NET ', 'ann@corp-mail.net'], 'score': [1.5, 2.0, None, 4.25], 'vip': [True, False, True, None], 'signed_up': pa.array([datetime.datetime(2024, 1, 2, 3, 4, 5)] * 4, pa.timestamp('us')), 'name': ['Ann', 'X', None, 'Ann'], 'note': pa.array(['a, \"b\"', 'x', 'a note longer than twelve bytes', 'y'], pa.large_string())})\npq.write_table(t, 'in.data', row_group_size=2)\nprint('{}')",
    );
    // Detected by its magic number, not its name.
    dir.clean(&["in.data"])
        .args(&["--format", "csv, parquet"])
        .ok();
    let report = dir.report("out");
    assert_eq!(report["inputs"][0]["format"], "parquet");
    assert_eq!(
        (
            report["kept"].as_u64(),
            report["suppressed"].as_u64(),
            report["duplicates"].as_u64()
        ),
        (Some(2), Some(1), Some(1))
    );
    let v = py(
        &dir,
        &format!("{DESCRIBE}\nprint(json.dumps(describe('out/clean.parquet')))"),
    );
    assert_eq!(
        v["names"],
        serde_json::json!(["id", "EMail", "score", "vip", "signed_up", "name", "note"])
    );
    // String columns keep their types (they are read as views, written as they came).
    assert_eq!(
        v["types"],
        serde_json::json!([
            "int64",
            "string",
            "double",
            "bool",
            "timestamp[us]",
            "string",
            "large_string"
        ])
    );
    assert_eq!(
        v["rows_as_lists"][1],
        serde_json::json!([
            "3",
            "Bo@corp-mail.net",
            null,
            "True",
            "2024-01-02 03:04:05",
            null,
            "a note longer than twelve bytes"
        ])
    );
    // The CSV twin renders the same rows as text; the line of a Parquet row is its number.
    let csv = dir.csv("out/clean.csv");
    assert_eq!(
        csv[1][..2],
        ["1".to_owned(), "ann@corp-mail.net".to_owned()]
    );
    assert_eq!(csv[1][5..], ["Ann".to_owned(), "a, \"b\"".to_owned()]);
    assert_eq!(
        csv[2][5..],
        ["".to_owned(), "a note longer than twelve bytes".to_owned()]
    );
    let s = dir.csv("out/suppression.csv");
    assert!(s[1][3].ends_with("in.data:2"), "{:?}", s[1]);
}

#[test]
fn csv_parquet_csv_round_trip() {
    let dir = TestDir::new();
    let input = list(&dir);
    dir.clean(&[&input])
        .out("one")
        .args(&["--format", "csv, parquet"])
        .ok();
    dir.clean(&["one/clean.parquet"]).out("two").ok();
    let first = read_csv(&dir.join("one/clean.csv"), b',');
    let second = read_csv(&dir.join("two/clean.csv"), b',');
    assert_eq!(first, second);
    assert_eq!(dir.report("two")["suppressed"], 0);
}

#[test]
fn hostile_cells_are_neutralised() {
    let dir = TestDir::new();
    let input = dir.write(
        "l.csv",
        "email,name,note\n\
         ann@corp-mail.net,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"click\"\")\",+1 555 0100\n\
         bo@corp-mail.net,Bo,@SUM(A1)\n\
         -cy@corp-mail.net,Cy,fine\n",
    );
    dir.clean(&[&input]).out("raw").ok();
    assert_eq!(
        dir.csv("raw/clean.csv")[1][1],
        "=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    let out = dir
        .clean(&[&input])
        .out("safe")
        .args(&["--spreadsheet-safe"])
        .ok();
    let rows = dir.csv("safe/clean.csv");
    assert_eq!(rows[1][1], "'=HYPERLINK(\"http://evil.example\",\"click\")");
    assert_eq!(
        rows[1][2], "+1 555 0100",
        "a phone number is a value, not a formula"
    );
    assert_eq!(rows[2][2], "'@SUM(A1)");
    assert_eq!(
        rows[3][0], "-cy@corp-mail.net",
        "the email column is never changed"
    );
    assert_eq!(dir.report("safe")["spreadsheet_safe_cells"], 2);
    assert_contains(&out.stderr, "spreadsheet-safe: 2 cell(s)");
}

#[test]
fn crm_profile_columns_rename_split_and_empty_output() {
    let dir = TestDir::new();
    let text = csv_lines(
        "id,email,first_name,score",
        (0..5).map(|i| format!("{i},u{i}@corp-mail.net,U{i},{i}")),
    );
    let input = dir.write("l.csv", text);
    dir.clean(&[&input])
        .args(&[
            "--columns",
            "email, first_name, mailscrub_flags",
            "--annotate",
            "--rename",
            "first_name=FirstName",
            "--split-rows",
            "2",
        ])
        .ok();
    let parts: Vec<Vec<Vec<String>>> = (1..=3)
        .map(|n| dir.csv(&format!("out/clean-{n:04}.csv")))
        .collect();
    for p in &parts {
        assert_eq!(p[0], ["email", "FirstName", "mailscrub_flags"]);
    }
    assert_eq!(
        parts.iter().map(|p| p.len() - 1).collect::<Vec<_>>(),
        [2, 2, 1]
    );
    assert_eq!(
        dir.report("out")["clean_outputs"][0]["parts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // Nothing kept: the header is still there.
    let empty = dir.write("e.csv", "id,email,first_name,score\n1,x@localhost,X,1\n");
    dir.clean(&[&empty])
        .out("empty")
        .args(&["--columns", "email, id"])
        .ok();
    assert_eq!(
        std::fs::read_to_string(dir.join("empty/clean.csv")).unwrap(),
        "email,id\n"
    );
    // A column that does not exist is bad usage.
    let out = dir
        .clean(&[&input])
        .out("bad")
        .args(&["--columns", "email, fax"])
        .run();
    assert_code(&out, 2);
    assert_contains(&out.stderr, "no column \"fax\"");
}

#[test]
fn suppression_export_layouts() {
    let dir = TestDir::new();
    dir.write(
        "out/suppression.csv",
        "email,reason,detail,source,first_seen,last_seen,status,count\n\
         hard@corp-mail.net,hard_bounce,550 5.1.1 user unknown,mail.log:3,2024-08-01T10:00:00Z,2024-08-02T10:00:00Z,550 5.1.1,1\n\
         angry@corp-mail.net,complaint,abuse report,arf.eml,2024-08-03T10:00:00Z,2024-08-03T10:00:00Z,,1\n\
         bye@corp-mail.net,unsubscribe,unsubscribe list,unsub.csv:2,,,,1\n\
         bad..dots@corp-mail.net,syntax,double dot,list.csv:4,,,,\n",
    );
    let export = |to: &str| {
        dir.cmd(&["suppression", "export", "out/suppression.csv", "--to", to])
            .ok()
    };
    let read = |name: &str| std::fs::read_to_string(dir.join("out").join(name)).unwrap();
    let out = export("ses");
    assert_contains(&out.stderr, "1 left out");
    // Unsubscribes are not complaints: SES's account list has no such reason.
    assert_eq!(
        read("suppression-ses.csv"),
        "hard@corp-mail.net,BOUNCE\nangry@corp-mail.net,COMPLAINT\n"
    );
    assert_eq!(
        read("suppression-ses-unsubscribes.csv"),
        "email\nbye@corp-mail.net\n"
    );
    export("sendgrid");
    assert_eq!(
        read("suppression-sendgrid.csv"),
        "email\nhard@corp-mail.net\n"
    );
    assert_eq!(
        read("suppression-sendgrid-spam-reports.csv"),
        "email\nangry@corp-mail.net\n"
    );
    assert_eq!(
        read("suppression-sendgrid-unsubscribes.csv"),
        "email\nbye@corp-mail.net\n"
    );
    export("mailgun");
    let bounces = read("suppression-mailgun.csv");
    assert_eq!(
        bounces.lines().nth(1),
        Some("hard@corp-mail.net,550,hard_bounce: 550 5.1.1 user unknown,\"Fri, 2 Aug 2024 10:00:00 +0000\"")
    );
    assert!(read("suppression-mailgun-complaints.csv").starts_with("address,created_at\nangry@"));
    assert!(
        read("suppression-mailgun-unsubscribes.csv").starts_with("address,tags,created_at\nbye@")
    );
    dir.cmd(&[
        "suppression",
        "export",
        "out/suppression.csv",
        "--to",
        "postmark",
        "--out",
        "pm.jsonl",
    ])
    .ok();
    let v: Value = serde_json::from_str(
        std::fs::read_to_string(dir.join("pm.jsonl"))
            .unwrap()
            .lines()
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(v["Suppressions"].as_array().unwrap().len(), 3);
    dir.cmd(&[
        "suppression",
        "export",
        "out/suppression.csv",
        "--to",
        "mailchimp",
    ])
    .code(2);
    // A contact export is not a suppression file.
    let contacts = dir.write(
        "hubspot.csv",
        "\"Record ID\",\"Email\",\"First Name\"\n\"1\",\"ann@corp-mail.net\",\"Ann\"\n",
    );
    let out = dir
        .cmd(&["suppression", "export", &contacts, "--to", "ses"])
        .code(3);
    assert_contains(&out.stderr, "not a suppression file");
}

#[test]
fn ses_exports_are_split_at_100000_rows() {
    let dir = TestDir::new();
    let text = csv_lines(
        "email,reason,detail,source,first_seen,last_seen,status,count",
        (0..100_001).map(|i| format!("u{i}@corp-mail.net,hard_bounce,,x,,,,1")),
    );
    let input = dir.write("suppression.csv", text);
    dir.cmd(&["suppression", "export", &input, "--to", "ses"])
        .ok();
    let lines = |n: &str| {
        std::fs::read_to_string(dir.join(n))
            .unwrap()
            .lines()
            .count()
    };
    assert_eq!(lines("suppression-ses-0001.csv"), 100_000);
    assert_eq!(lines("suppression-ses-0002.csv"), 1);
}

#[test]
fn infer_types_uses_every_value() {
    let dir = TestDir::new();
    let input = dir.write(
        "l.csv",
        "id,email,zip,score,vip,joined,note\n\
         1,a@corp-mail.net,02134,1.5,true,2024-01-02,x\n\
         2,b@corp-mail.net,10001,2,false,2024-02-29,\n\
         3,c@corp-mail.net,94105,,True,,y\n",
    );
    dir.clean(&[&input])
        .args(&["--format", "parquet", "--infer-types"])
        .ok();
    assert!(!dir.join("out/clean.csv").exists(), "parquet only");
    let v = py(
        &dir,
        &format!("{DESCRIBE}\nprint(json.dumps(describe('out/clean.parquet')))"),
    );
    assert_eq!(
        v["types"],
        serde_json::json!([
            "int64",
            "string",
            "string",
            "double",
            "bool",
            "date32[day]",
            "string"
        ])
    );
    assert_eq!(
        v["rows_as_lists"][2],
        serde_json::json!(["3", "c@corp-mail.net", "94105", null, "True", null, "y"])
    );
    let out = dir
        .clean(&[&input])
        .out("out2")
        .args(&["--infer-types"])
        .run();
    assert_code(&out, 2);
}

#[test]
fn every_codec_spark_pandas_and_duckdb_write_is_read() {
    let dir = TestDir::new();
    for codec in ["snappy", "gzip", "zstd", "brotli", "lz4", "none"] {
        py(
            &dir,
            &format!("t = pa.table({{'email': ['ann@corp-mail.net', 'bo@corp-mail.net'], 'n': [1, 2]}})\npq.write_table(t, 'in-{codec}.parquet', compression='{codec}')\nprint('{{}}')"),
        );
        let input = format!("in-{codec}.parquet");
        dir.clean(&[&input]).out(&format!("out-{codec}")).ok();
        assert_eq!(dir.report(&format!("out-{codec}"))["kept"], 2, "{codec}");
    }
}

/// A damaged Parquet file (bytes flipped anywhere, or cut short) is exit 3 with the file named,
/// never a panic, and the previous outputs stay.
#[test]
fn a_damaged_parquet_file_is_an_input_error_not_a_panic() {
    let dir = TestDir::new();
    py(
        &dir,
        "t = pa.table({'email': [f'user{i}@corp-mail.net' for i in range(3000)], 'note': [f'n{i}' * 3 for i in range(3000)]})\npq.write_table(t, 'good.parquet', row_group_size=500, compression='snappy')\n\
         t = pa.table({'email': [f'user{i}@corp-mail.net' for i in range(2000)], 'note': [None if i % 7 == 0 else f'a longer note, \"quoted\", Zoë {i}\\n' * (1 + i % 3) for i in range(2000)]})\npq.write_table(t, 'plain.parquet', row_group_size=400, compression='zstd', use_dictionary=False, data_page_size=2048)\nprint('{}')",
    );
    // Dictionary pages of short strings, and plain pages of long ones (strings are read as
    // views of the pages: a damaged page must still be an error, not a panic).
    for good_name in ["good.parquet", "plain.parquet"] {
        dir.clean(&[good_name]).ok();
        let good = std::fs::read(dir.join(good_name)).unwrap();
        let before = std::fs::read(dir.join("out/clean.csv")).unwrap();
        let mut damaged = Vec::new();
        for cut in [good.len() / 2, good.len() - 9, 12] {
            damaged.push(good[..cut].to_vec());
        }
        // Flip bytes at spread positions: in pages, in page headers, in the footer.
        for k in 1..40 {
            let mut bytes = good.clone();
            let at = 4 + (k * 7919) % (good.len() - 12);
            for b in &mut bytes[at..at + 3] {
                *b ^= 0xa5;
            }
            damaged.push(bytes);
        }
        for (i, bytes) in damaged.iter().enumerate() {
            let name = format!("bad{i}-{good_name}");
            dir.write(&name, bytes);
            let out = dir.clean(&[&name]).run();
            assert!(!out.stderr.contains("panicked"), "{name}: {}", out.stderr);
            match out.code {
                // Some flips land in bytes nothing checks (a string's content): the file reads.
                Some(0) => {
                    dir.clean(&[good_name]).ok();
                }
                Some(3) => {
                    assert_contains(&out.stderr, &name);
                    assert_eq!(std::fs::read(dir.join("out/clean.csv")).unwrap(), before);
                }
                other => panic!("{name}: exit {other:?}: {}", out.stderr),
            }
        }
    }
}

#[test]
fn spreadsheet_safe_covers_the_rejects_file_too() {
    let dir = TestDir::new();
    let input = dir.write(
        "l.csv",
        "email,name\n=cmd|' /C calc'!A0,x,extra\nann@corp-mail.net,Ann\n",
    );
    dir.clean(&[&input]).out("raw").ok();
    assert!(dir.csv("raw/rejects.csv")[1][3].starts_with("=cmd"));
    dir.clean(&[&input])
        .out("safe")
        .args(&["--spreadsheet-safe"])
        .ok();
    assert!(dir.csv("safe/rejects.csv")[1][3].starts_with("'=cmd"));
    assert_eq!(dir.report("safe")["spreadsheet_safe_cells"], 1);
}
