//! Bounce ingestion speed: events per second for a generated Postfix log (1 GB by default) and a
//! generated mbox of 1M delivery status notifications. `MAILSCRUB_BENCH_LOG_MB` and
//! `MAILSCRUB_BENCH_MESSAGES` change the sizes.
//!
//! ```text
//! cargo bench --bench bounces
//! ```

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use mailscrub::address::AddressRules;
use mailscrub::bounces::{ingest, BounceOptions};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// A realistic mix: 70% delivered, 15% deferred, 10% bounced (hard, soft, blocks), 5% noise lines.
fn postfix_log(path: &Path, megabytes: u64) -> std::io::Result<u64> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0u64;
    let mut i = 0u64;
    while written < megabytes << 20 {
        let day = 1 + (i / 100_000) % 28;
        let (h, m, s) = ((i / 3600) % 24, (i / 60) % 60, i % 60);
        let rcpt = format!("user{}@company-{}.com", i % 2_000_000, i % 50_000);
        let line = match i % 20 {
            0 => format!("Aug {day:2} {h:02}:{m:02}:{s:02} mx1 postfix/smtpd[{}]: connect from app1.shop-mail.com[198.51.100.20]\n", 1000 + i % 9000),
            1 | 2 => format!("Aug {day:2} {h:02}:{m:02}:{s:02} mx1 postfix/smtp[{}]: {:010X}: to=<{rcpt}>, relay=mx.company-{}.com[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=4.7.1, status=deferred (host mx.company-{}.com[192.0.2.7] said: 450 4.7.1 Greylisted, please try again later (in reply to RCPT TO command))\n", 1000 + i % 9000, i, i % 50_000, i % 50_000),
            3 => format!("Aug {day:2} {h:02}:{m:02}:{s:02} mx1 postfix/smtp[{}]: {:010X}: to=<{rcpt}>, relay=mx.company-{}.com[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.1.1, status=bounced (host mx.company-{}.com[192.0.2.7] said: 550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown (in reply to RCPT TO command))\n", 1000 + i % 9000, i, i % 50_000, i % 50_000),
            4 => format!("Aug {day:2} {h:02}:{m:02}:{s:02} mx1 postfix/smtp[{}]: {:010X}: to=<{rcpt}>, relay=outlook-com.olc.protection.outlook.com[192.0.2.11]:25, delay=1, delays=0/0/0/1, dsn=5.7.606, status=bounced (host outlook-com.olc.protection.outlook.com[192.0.2.11] said: 550 5.7.606 Access denied, banned sending IP [198.51.100.20] (in reply to MAIL FROM command))\n", 1000 + i % 9000, i),
            5 => format!("Aug {day:2} {h:02}:{m:02}:{s:02} mx1 postfix/smtp[{}]: {:010X}: to=<{rcpt}>, relay=mx.company-{}.com[192.0.2.7]:25, delay=1.2, delays=0.1/0/0.5/0.6, dsn=5.2.2, status=bounced (host mx.company-{}.com[192.0.2.7] said: 552 5.2.2 Mailbox full (in reply to RCPT TO command))\n", 1000 + i % 9000, i, i % 50_000, i % 50_000),
            _ => format!("Aug {day:2} {h:02}:{m:02}:{s:02} mx1 postfix/smtp[{}]: {:010X}: to=<{rcpt}>, relay=mx.company-{}.com[192.0.2.7]:25, delay=0.8, delays=0.1/0/0.3/0.4, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as {:X})\n", 1000 + i % 9000, i, i % 50_000, i * 7),
        };
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
        i += 1;
    }
    out.flush()?;
    Ok(i)
}

fn mbox(path: &Path, messages: u64) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    for i in 0..messages {
        let rcpt = format!("user{}@company-{}.com", i % 2_000_000, i % 50_000);
        let (status, diag) = if i % 3 == 0 {
            ("5.2.2", "552 5.2.2 Mailbox full".to_owned())
        } else {
            (
                "5.1.1",
                format!("550 5.1.1 <{rcpt}>: Recipient address rejected: User unknown"),
            )
        };
        write!(
            out,
            "From MAILER-DAEMON Wed Aug  7 10:00:00 2024\nFrom: Mail Delivery System <MAILER-DAEMON@mx1.shop-mail.com>\nTo: news@shop-mail.com\nDate: Wed, 7 Aug 2024 10:{:02}:{:02} +0000\nSubject: Undelivered Mail Returned to Sender\nMIME-Version: 1.0\nContent-Type: multipart/report; report-type=delivery-status; boundary=\"B{i}\"\n\n--B{i}\nContent-Type: text/plain\n\nThe mail system could not deliver your message to {rcpt}.\n\n--B{i}\nContent-Type: message/delivery-status\n\nReporting-MTA: dns; mx1.shop-mail.com\nArrival-Date: Wed, 7 Aug 2024 09:59:00 +0000\n\nFinal-Recipient: rfc822; {rcpt}\nAction: failed\nStatus: {status}\nRemote-MTA: dns; mx.company.com\nDiagnostic-Code: smtp; {diag}\n\n--B{i}\nContent-Type: text/rfc822-headers\n\nFrom: news@shop-mail.com\nTo: {rcpt}\nSubject: August news\n\n--B{i}--\n\n",
            (i / 60) % 60,
            i % 60
        )?;
    }
    out.flush()
}

fn options() -> BounceOptions {
    BounceOptions {
        format: None,
        postfix_year: Some(2024),
        as_of: 1_725_148_799,
        rules: AddressRules::default(),
        provider_rules: false,
        lenient: true,
        keep_all_text: false,
    }
}

fn measure(name: &str, path: PathBuf) {
    let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    let start = Instant::now();
    let got = ingest(&[path], &options()).expect("ingest");
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{name}: {} events from {:.0} MB in {secs:.1} s = {:.0} events/s, {:.0} MB/s",
        got.events.len(),
        bytes as f64 / 1e6,
        got.events.len() as f64 / secs,
        bytes as f64 / 1e6 / secs
    );
}

fn main() {
    let mb: u64 = std::env::var("MAILSCRUB_BENCH_LOG_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let messages: u64 = std::env::var("MAILSCRUB_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let log = dir.path().join("mail.log");
    let lines = postfix_log(&log, mb).expect("generate log");
    println!("generated a {mb} MB Postfix log ({lines} lines)");
    measure("postfix log", log);
    let path = dir.path().join("bounces.mbox");
    mbox(&path, messages).expect("generate mbox");
    println!("generated an mbox of {messages} DSN messages");
    measure("mbox", path);
}
