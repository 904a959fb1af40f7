//! A real DNS server on loopback for tests and benchmarks: hickory-server in-process, serving
//! in-memory zones built from a small text format, bound to 127.0.0.1 only.
//!
//! On top of the zones it can misbehave on purpose: names under a `servfail` suffix get SERVFAIL,
//! names under a `silent` suffix get no answer at all. Every request is counted, so a test can
//! prove how many queries a run sent.
//!
//! Zone text: one record per line, `name ttl type data`, names fully qualified:
//! ```text
//! good-mx.com. 3600 MX 10 mx1.good-mx.com.
//! mx1.good-mx.com. 3600 A 11.22.33.44
//! ```
//! Types: A, AAAA, MX, CNAME, TXT. A zone (with an SOA) is made for each registered domain and
//! for each origin given.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::proto::op::ResponseCode;
use hickory_server::proto::rr::rdata::{CNAME, MX, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use hickory_server::Server;

/// The handler: a catalog plus deliberate failures and a request counter.
struct Handler {
    catalog: Catalog,
    servfail: Vec<LowerName>,
    silent: Vec<LowerName>,
    queries: Arc<AtomicU64>,
}

#[async_trait::async_trait]
impl RequestHandler for Handler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        self.queries.fetch_add(1, Ordering::Relaxed);
        let name = request.request_info().ok().map(|i| i.query.name().clone());
        if let Some(name) = &name {
            if self.silent.iter().any(|s| s.zone_of(name)) {
                // Never answer: the client must time out.
                tokio::time::sleep(Duration::from_secs(30)).await;
                return ResponseInfo::from(hickory_server::proto::op::Header {
                    metadata: request.metadata,
                    counts: Default::default(),
                });
            }
            if self.servfail.iter().any(|s| s.zone_of(name)) {
                let response = MessageResponseBuilder::new(&request.queries, None)
                    .error_msg(&request.metadata, ResponseCode::ServFail);
                return match response_handle.send_response(response).await {
                    Ok(info) => info,
                    Err(_) => ResponseInfo::from(hickory_server::proto::op::Header {
                        metadata: request.metadata,
                        counts: Default::default(),
                    }),
                };
            }
        }
        self.catalog
            .handle_request::<R, T>(request, response_handle)
            .await
    }
}

/// A running test server. Dropping it stops it.
pub struct TestDns {
    /// Where it listens (UDP and TCP on the same port).
    pub addr: SocketAddr,
    queries: Arc<AtomicU64>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestDns {
    /// Serves `zone_text` for the given zone origins (e.g. `["com.", "de."]`), with SERVFAIL for
    /// names under `servfail` and silence for names under `silent`.
    pub fn start(origins: &[&str], zone_text: &str, servfail: &[&str], silent: &[&str]) -> TestDns {
        Self::start_on("127.0.0.1:0", origins, zone_text, servfail, silent)
    }

    /// As [`TestDns::start`], listening on `bind` (a loopback address: `127.0.0.1:0` or `[::1]:0`).
    pub fn start_on(
        bind: &'static str,
        origins: &[&str],
        zone_text: &str,
        servfail: &[&str],
        silent: &[&str],
    ) -> TestDns {
        // One zone per registered domain (the owner's last two labels), plus an empty zone per
        // origin that answers NXDOMAIN for everything else: hickory's in-memory zones slow down
        // sharply with size, and real DNS is shaped like this anyway.
        let mut zones: std::collections::BTreeMap<Name, Vec<Record>> =
            std::collections::BTreeMap::new();
        for origin in origins {
            zones.insert(Name::from_str(origin).expect("origin"), Vec::new());
        }
        for record in parse_zone(zone_text) {
            let labels = record.name.num_labels();
            let apex = if labels >= 2 {
                record.name.trim_to(2)
            } else {
                record.name.clone()
            };
            zones.entry(apex).or_default().push(record);
        }
        let mut catalog = Catalog::new();
        for (apex, records) in zones {
            let mut zone = InMemoryZoneHandler::<TokioRuntimeProvider>::empty(
                apex.clone(),
                ZoneType::Primary,
                AxfrPolicy::Deny,
            );
            let soa = SOA::new(
                Name::from_str("ns.mailscrub-test.").expect("ns"),
                Name::from_str("hostmaster.mailscrub-test.").expect("rname"),
                1,
                3600,
                600,
                86400,
                300,
            );
            zone.upsert_mut(Record::from_rdata(apex.clone(), 3600, RData::SOA(soa)), 1);
            for record in records {
                zone.upsert_mut(record, 1);
            }
            catalog.upsert(LowerName::from(&apex), vec![Arc::new(zone)]);
        }
        let lower = |names: &[&str]| -> Vec<LowerName> {
            names
                .iter()
                .map(|n| LowerName::from(&Name::from_str(n).expect("name")))
                .collect()
        };
        let queries = Arc::new(AtomicU64::new(0));
        let handler = Handler {
            catalog,
            servfail: lower(servfail),
            silent: lower(silent),
            queries: queries.clone(),
        };
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                // The OS picks a free UDP port; the same TCP port may be taken by another
                // test's connection, so try again with a fresh UDP port until both are free.
                let mut attempt = 0;
                let (udp, tcp, addr) = loop {
                    let udp = tokio::net::UdpSocket::bind(bind).await.expect("bind udp");
                    let addr = udp.local_addr().expect("addr");
                    match tokio::net::TcpListener::bind(addr).await {
                        Ok(tcp) => break (udp, tcp, addr),
                        Err(_) if attempt < 50 => attempt += 1,
                        Err(e) => panic!("no port free for both UDP and TCP after 50 tries: {e}"),
                    }
                };
                let mut server = Server::new(handler);
                server.register_socket(udp);
                server.register_listener(tcp, Duration::from_secs(5), 65536);
                addr_tx.send(addr).expect("send addr");
                let _ = stop_rx.await;
                let _ = tokio::time::timeout(Duration::from_secs(2), server.shutdown_gracefully())
                    .await;
            });
        });
        let addr = addr_rx.recv().expect("server started");
        TestDns {
            addr,
            queries,
            stop: Some(stop_tx),
            thread: Some(thread),
        }
    }

    /// Requests received so far (UDP and TCP).
    pub fn queries(&self) -> u64 {
        self.queries.load(Ordering::Relaxed)
    }
}

impl Drop for TestDns {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP socket on loopback that reads nothing and answers nothing: a resolver that is down.
pub fn black_hole() -> (std::net::UdpSocket, SocketAddr) {
    black_hole_on("127.0.0.1:0")
}

/// A black hole on `bind` (`127.0.0.1:0` or `[::1]:0`).
pub fn black_hole_on(bind: &str) -> (std::net::UdpSocket, SocketAddr) {
    let socket = std::net::UdpSocket::bind(bind).expect("bind");
    let addr = socket.local_addr().expect("addr");
    (socket, addr)
}

/// Parses the zone text format described in the module docs.
pub fn parse_zone(text: &str) -> Vec<Record> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with(';') {
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let fail = |what: &str| -> ! { panic!("zone line {}: {what}: {line}", i + 1) };
        if parts.len() < 4 {
            fail("expected: name ttl type data");
        }
        let name = Name::from_str(parts[0]).unwrap_or_else(|_| fail("bad name"));
        let ttl: u32 = parts[1].parse().unwrap_or_else(|_| fail("bad ttl"));
        let rdata = match parts[2] {
            "A" => RData::A(parts[3].parse().unwrap_or_else(|_| fail("bad A"))),
            "AAAA" => RData::AAAA(parts[3].parse().unwrap_or_else(|_| fail("bad AAAA"))),
            "MX" => {
                if parts.len() < 5 {
                    fail("MX needs preference and exchange");
                }
                let pref: u16 = parts[3].parse().unwrap_or_else(|_| fail("bad preference"));
                let exchange = if parts[4] == "." {
                    Name::root()
                } else {
                    Name::from_str(parts[4]).unwrap_or_else(|_| fail("bad exchange"))
                };
                RData::MX(MX::new(pref, exchange))
            }
            "CNAME" => RData::CNAME(CNAME(
                Name::from_str(parts[3]).unwrap_or_else(|_| fail("bad CNAME")),
            )),
            "TXT" => RData::TXT(TXT::new(vec![parts[3..].join(" ")])),
            _ => fail("unknown type"),
        };
        records.push(Record::from_rdata(name, ttl, rdata));
    }
    records
}

/// The zone the integration tests use: one domain per mail-route class, and the awkward cases.
pub const TEST_ZONE: &str = "
; mx: two hosts with preferences, public addresses
good-mx.com. 3600 MX 10 mx1.good-mx.com.
good-mx.com. 3600 MX 20 mx2.good-mx.com.
mx1.good-mx.com. 3600 A 11.22.33.44
mx2.good-mx.com. 3600 A 11.22.33.45
mx2.good-mx.com. 3600 AAAA 2a00:1450:4001::25
; implicit MX: an A record and no MX
implicit.com. 3600 A 11.22.33.46
; implicit MX over IPv6 only
implicit6.com. 3600 AAAA 2a00:1450:4001::26
; null MX (RFC 7505)
nullmx.com. 3600 MX 0 .
; a root exchange beside a real one: not a null MX (RFC 7505 asks for a single record)
nullplus.com. 3600 MX 0 .
nullplus.com. 3600 MX 10 mx1.good-mx.com.
; exists, no MX, no A/AAAA
nomail.com. 3600 TXT v=spf1 -all
; every MX host on private / loopback / link-local addresses or missing
private-mx.com. 3600 MX 10 mx.private-mx.com.
private-mx.com. 3600 MX 20 mx2.private-mx.com.
mx.private-mx.com. 3600 A 10.1.2.3
mx2.private-mx.com. 3600 A 192.168.7.8
loopback-mx.com. 3600 MX 10 mx.loopback-mx.com.
mx.loopback-mx.com. 3600 A 127.0.0.1
mx.loopback-mx.com. 3600 AAAA ::1
dangling-mx.com. 3600 MX 10 gone.dangling-mx.com.
; a private host and a public one: mail still has a route
mixed-mx.com. 3600 MX 5 internal.mixed-mx.com.
mixed-mx.com. 3600 MX 10 mx1.good-mx.com.
mixed-mx.com. 3600 MX 20 mx2.good-mx.com.
internal.mixed-mx.com. 3600 A 172.16.0.9
; an MX host that is a CNAME
cname-mx.com. 3600 MX 10 mail.cname-mx.com.
mail.cname-mx.com. 3600 CNAME mx1.good-mx.com.
; an IDN domain (bücher.de)
xn--bcher-kva.de. 3600 MX 10 mx1.good-mx.com.
; a short TTL, for the cache floor
shortttl.com. 60 MX 10 mx1.good-mx.com.
";

/// The zone origins [`TEST_ZONE`] needs.
pub const TEST_ORIGINS: &[&str] = &["com.", "de."];

/// Adds a domain whose MX answer is too big for one UDP datagram, so it must come over TCP.
pub fn truncated_zone() -> String {
    let mut text = String::from(TEST_ZONE);
    for i in 0..90 {
        text.push_str(&format!(
            "truncated.com. 3600 MX {i} mail-exchanger-number-{i:02}-with-a-long-name.truncated.com.\n"
        ));
        text.push_str(&format!(
            "mail-exchanger-number-{i:02}-with-a-long-name.truncated.com. 3600 A 11.22.{}.{}\n",
            40 + i / 200,
            1 + i
        ));
    }
    text
}
