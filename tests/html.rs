//! `report.html` in a real browser: headless Chromium (Debian's `chromium`, which `.ci/run`
//! installs) loads it without a console message, and each chart has one mark per bar.

use std::path::PathBuf;
use std::process::Command;

use crate::support::TestDir;

fn chromium() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("MAILSCRUB_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let out = Command::new("sh")
                .args(["-c", &format!("command -v {name}")])
                .output()
                .ok()?;
            out.status
                .success()
                .then(|| PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
        })
}

#[test]
fn the_html_report_renders_in_a_browser() {
    let Some(browser) = chromium() else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI must have chromium (.ci/run installs it)"
        );
        eprintln!("chromium not installed: the browser check is left to CI");
        return;
    };
    let dir = TestDir::new();
    let root = env!("CARGO_MANIFEST_DIR");
    let subscribers = format!("{root}/sample-data/subscribers.csv");
    let crm = format!("{root}/sample-data/crm-export.csv");
    let bounces = format!("{root}/sample-data/bounces");
    dir.clean(&[&subscribers, &crm])
        .bounces(&bounces)
        .as_of("2026-11-25")
        .args(&["--postfix-year", "2026"])
        .ok();
    let report = dir.report("out");
    let nonzero = |key: &str| {
        report[key]
            .as_object()
            .unwrap()
            .values()
            .filter(|v| v.as_u64() > Some(0))
            .count()
    };
    let classes = report["bounces"]["events_by_class"]
        .as_object()
        .unwrap()
        .values()
        .filter(|v| v.as_u64() > Some(0))
        .count();
    let expected_marks = 4 + nonzero("reasons") + nonzero("flags") + classes;
    let html = dir.join("out/report.html");
    let run = |extra: &[&str]| {
        Command::new(&browser)
            .args([
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--enable-logging=stderr",
                "--v=0",
            ])
            .args(extra)
            .arg(&html)
            .current_dir(dir.path())
            .output()
            .expect("run chromium")
    };
    let dom = run(&["--dump-dom"]);
    let text = String::from_utf8_lossy(&dom.stdout);
    assert_eq!(
        text.matches("class=\"mark\"").count(),
        expected_marks,
        "one mark per bar"
    );
    for chart in ["identity", "reasons", "flags", "bounce-classes"] {
        assert!(text.contains(&format!("data-chart=\"{chart}\"")), "{chart}");
    }
    let log = String::from_utf8_lossy(&dom.stderr);
    let console: Vec<&str> = log.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report.png");
    let out = run(&[
        "--hide-scrollbars",
        "--window-size=800,2200",
        &format!("--screenshot={}", shot.display()),
    ]);
    assert!(
        shot.metadata().map(|m| m.len() > 10_000).unwrap_or(false),
        "a screenshot: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
