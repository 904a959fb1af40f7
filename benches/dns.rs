//! Bulk DNS: distinct domains resolved per second against a loopback authoritative server
//! (hickory-server, in this process), and in the same run `dnsperf` against the same server as
//! the ceiling. `MAILSCRUB_BENCH_DOMAINS` sets the number of domains (default 100,000).
//!
//! ```text
//! cargo bench --bench dns
//! ```
//! dnsperf comes from Debian's `dnsperf` package; without it the ceiling is skipped and said so.

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use mailscrub::dns::{resolve_all, DnsConfig, Engine, MailRoute};

#[path = "../tests/support/dns_server.rs"]
mod dns_server;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn zone(domains: usize) -> (String, Vec<String>) {
    let mut text = String::new();
    let mut names = Vec::with_capacity(domains);
    // 200 shared mail hosts, as real lists concentrate on a few providers' MX hosts.
    for h in 0..200 {
        text.push_str(&format!(
            "mx{h}.mailhost-bench.com. 3600 A 11.{}.{}.{}\n",
            h % 200,
            (h / 200) % 250,
            1 + h % 250
        ));
    }
    for i in 0..domains {
        let name = format!("company-{i}.com");
        match i % 20 {
            // 5% do not exist.
            0 => {}
            // 5% accept mail on their own address.
            1 => text.push_str(&format!(
                "{name}. 3600 A 11.99.{}.{}\n",
                (i / 250) % 250,
                1 + i % 250
            )),
            _ => {
                text.push_str(&format!(
                    "{name}. 3600 MX 10 mx{}.mailhost-bench.com.\n",
                    i % 200
                ));
                text.push_str(&format!(
                    "{name}. 3600 MX 20 mx{}.mailhost-bench.com.\n",
                    (i + 1) % 200
                ));
            }
        }
        names.push(name);
    }
    (text, names)
}

fn dnsperf(addr: std::net::SocketAddr, names: &[String], seconds: u32) -> Option<f64> {
    let dir = tempfile::tempdir().ok()?;
    let path = dir.path().join("queries.txt");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).ok()?);
    for n in names {
        writeln!(file, "{n} MX").ok()?;
    }
    file.flush().ok()?;
    drop(file);
    let out = Command::new("dnsperf")
        .args([
            "-s",
            &addr.ip().to_string(),
            "-p",
            &addr.port().to_string(),
            "-d",
        ])
        .arg(&path)
        .args([
            "-l",
            &seconds.to_string(),
            "-c",
            "8",
            "-q",
            "512",
            "-t",
            "2",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.contains("Queries per second"))
        .and_then(|l| l.split(':').nth(1))
        .and_then(|v| v.trim().parse().ok())
}

fn main() {
    // cargo bench passes --bench; a filter argument is accepted and ignored.
    let domains: usize = std::env::var("MAILSCRUB_BENCH_DOMAINS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let (text, names) = zone(domains);
    let server = dns_server::TestDns::start(&["com."], &text, &[], &[]);
    println!(
        "dns bench: {domains} distinct domains, server hickory-server on {}",
        server.addr
    );

    for (engine, concurrency) in [
        (Engine::Hickory, 128usize),
        (Engine::Wire, 128),
        (Engine::Wire, 512),
    ] {
        let config = DnsConfig {
            servers: vec![server.addr],
            timeout: Some(Duration::from_secs(2)),
            attempts: Some(2),
            concurrency,
            engine,
            ..DnsConfig::default()
        };
        let before = server.queries();
        let start = Instant::now();
        let answers = resolve_all(&config, &names).expect("resolver");
        let secs = start.elapsed().as_secs_f64();
        let unknown = answers
            .iter()
            .filter(|a| matches!(a, Ok(s) if s.class == MailRoute::Unknown))
            .count();
        let queries = server.queries() - before;
        println!(
            "mailscrub resolve, {engine:?} client, concurrency {concurrency}: {:.0} domains/s ({secs:.2} s, {queries} queries = {:.0} queries/s, {unknown} unknown)",
            domains as f64 / secs,
            queries as f64 / secs
        );
    }
    match dnsperf(server.addr, &names, 10) {
        Some(qps) => println!("dnsperf (MX queries, same server, 10 s): {qps:.0} queries/s"),
        None => println!(
            "dnsperf: not installed or failed (apt-get install dnsperf); ceiling not measured"
        ),
    }
}
