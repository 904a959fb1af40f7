//! A pipelined DNS client for bulk work; its messages are written and read in `packet`.
//!
//! The stock resolver opens a socket per query and keeps a general-purpose cache; for hundreds of
//! thousands of distinct domains against one recursive server that is the bottleneck (figures in
//! benches/README.md). Here a small pool of UDP sockets per address family carries every query,
//! many in flight, and one task per socket reads the answers and hands each to its waiter.
//! Truncated answers are asked again over TCP; a query with no answer, SERVFAIL or REFUSED is
//! retried on the next server after a short backoff, and then reported as a failure, which the
//! caller turns into `unknown`. The addresses of mail hosts are cached for the run, since most
//! domains share a few providers' hosts.
//!
//! **An answer is believed only when it answers the question asked**: it must come from the
//! server the query went to, to the socket it left from, carry an outstanding query ID, be a
//! response (QR=1) to a QUERY, and repeat the question (name compared without regard to case,
//! type and class exactly). Anything else is dropped and counted (`dropped_responses` in the
//! report), and the query keeps waiting for its real answer. Query IDs come from the operating
//! system's CSPRNG, and each socket is replaced by a fresh one (a new port chosen by the
//! system) after [`QUERIES_PER_SOCKET`] queries, so an off-path attacker has to guess a 16-bit ID
//! and one of many changing ports. What remains: an on-path attacker, or the resolver itself, can
//! still lie; the run-level guard in `crate::run` catches a resolver that lies wholesale. DNSSEC
//! validation is not done.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;

use super::lookups::{Lookups, Outcome, NO_ANSWER};
use super::packet::{self, Data, Record, Reply, Span};

/// Sockets per address family.
const SOCKETS: usize = 16;
/// Queries a socket carries before it is replaced by one on a new port.
pub const QUERIES_PER_SOCKET: u32 = 100;
/// The first retry waits this long; each further one twice as long.
const BACKOFF: Duration = Duration::from_millis(25);

/// What the client counts, shared with the stage.
#[derive(Debug, Default)]
pub struct Counters {
    /// Queries sent.
    pub queries: AtomicU64,
    /// Datagrams dropped because they did not answer an outstanding question.
    pub dropped: AtomicU64,
}

/// A query waiting for its answer, and what the answer must match.
struct Waiter {
    tx: oneshot::Sender<Reply>,
    server: SocketAddr,
    local_port: u16,
    /// The name asked, in wire form.
    qname: Arc<[u8]>,
    rtype: RecordType,
}

type Waiters = Arc<Mutex<HashMap<u16, Waiter>>>;

/// Mail hosts' addresses, by the host's name in wire form, lowercased ([`host_key`]).
type Hosts = HashMap<Box<[u8]>, Outcome<Vec<IpAddr>>>;

/// Lookups of hosts' addresses under way, by host key, with the callers waiting for each.
type InFlight = HashMap<Box<[u8]>, Vec<oneshot::Sender<Outcome<Vec<IpAddr>>>>>;

/// One socket of a pool and how many queries it has carried.
struct Slot {
    socket: Arc<UdpSocket>,
    port: u16,
    uses: u32,
}

/// The sockets of one address family.
struct Pool {
    bind: SocketAddr,
    slots: Vec<Mutex<Slot>>,
}

/// A few sockets per address family, many queries in flight.
pub struct WireClient {
    servers: Vec<SocketAddr>,
    v4: Option<Pool>,
    v6: Option<Pool>,
    waiters: Waiters,
    ids: Mutex<Vec<u16>>,
    timeout: Duration,
    attempts: usize,
    counters: Arc<Counters>,
    hosts: Mutex<Hosts>,
    in_flight: Mutex<InFlight>,
}

/// A fresh socket on `bind` (port chosen by the system) with its reader started.
fn open_socket(
    bind: SocketAddr,
    waiters: &Waiters,
    counters: &Arc<Counters>,
    idle: Duration,
) -> std::io::Result<Slot> {
    let std_socket = std::net::UdpSocket::bind(bind)?;
    std_socket.set_nonblocking(true)?;
    let socket = Arc::new(UdpSocket::from_std(std_socket)?);
    let port = socket.local_addr()?.port();
    tokio::spawn(read_answers(
        socket.clone(),
        port,
        waiters.clone(),
        counters.clone(),
        idle,
    ));
    Ok(Slot {
        socket,
        port,
        uses: 0,
    })
}

impl WireClient {
    /// Binds a pool of sockets for each address family the servers use (a resolv.conf listing
    /// IPv4 and IPv6 servers uses both) and starts their answer readers. Call inside a tokio
    /// runtime.
    pub async fn new(
        servers: Vec<SocketAddr>,
        timeout: Duration,
        attempts: usize,
        counters: Arc<Counters>,
    ) -> std::io::Result<Self> {
        if servers.is_empty() {
            return Err(std::io::Error::other("no DNS server given"));
        }
        let waiters: Waiters = Arc::new(Mutex::new(HashMap::new()));
        let idle = timeout * 2;
        let pool = |v4: bool| -> std::io::Result<Option<Pool>> {
            let family: Vec<&SocketAddr> = servers.iter().filter(|s| s.is_ipv4() == v4).collect();
            if family.is_empty() {
                return Ok(None);
            }
            let loopback = family.iter().all(|s| s.ip().is_loopback());
            let bind: SocketAddr = match (loopback, v4) {
                (true, true) => "127.0.0.1:0".parse().expect("literal"),
                (true, false) => "[::1]:0".parse().expect("literal"),
                (false, true) => "0.0.0.0:0".parse().expect("literal"),
                (false, false) => "[::]:0".parse().expect("literal"),
            };
            let slots = (0..SOCKETS)
                .map(|_| open_socket(bind, &waiters, &counters, idle).map(Mutex::new))
                .collect::<std::io::Result<Vec<_>>>()?;
            Ok(Some(Pool { bind, slots }))
        };
        // A family that cannot be bound (a machine without IPv6) leaves its servers out, as long
        // as the other family has some.
        let (v4, v6) = match (pool(true), pool(false)) {
            (Err(e), Err(_)) | (Err(e), Ok(None)) | (Ok(None), Err(e)) => return Err(e),
            (v4, v6) => (v4.ok().flatten(), v6.ok().flatten()),
        };
        let mut servers = servers;
        servers.retain(|s| {
            if s.is_ipv4() {
                v4.is_some()
            } else {
                v6.is_some()
            }
        });
        Ok(WireClient {
            servers,
            v4,
            v6,
            waiters,
            ids: Mutex::new(Vec::new()),
            timeout,
            attempts: attempts.max(1),
            counters,
            hosts: Mutex::new(HashMap::new()),
            in_flight: Mutex::new(HashMap::new()),
        })
    }

    /// A random 16-bit number from the operating system's CSPRNG (drawn 512 at a time).
    fn random(&self) -> u16 {
        let mut ids = self.ids.lock().unwrap_or_else(|p| p.into_inner());
        if ids.is_empty() {
            let mut bytes = [0u8; 1024];
            if getrandom::fill(&mut bytes).is_err() {
                // No CSPRNG at all: fall back on the clock (the answers are still checked).
                let nanos = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                for (i, b) in bytes.iter_mut().enumerate() {
                    *b = (nanos >> (i % 16 * 8)) as u8 ^ i as u8;
                }
            }
            ids.extend(bytes.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])));
        }
        ids.pop().unwrap_or(0)
    }

    /// A socket of `server`'s family, chosen at random; one that has carried its share of
    /// queries is replaced by a fresh one first.
    fn socket_for(&self, server: SocketAddr) -> std::io::Result<(Arc<UdpSocket>, u16)> {
        let pool = if server.is_ipv4() { &self.v4 } else { &self.v6 }
            .as_ref()
            .ok_or_else(|| std::io::Error::other("no socket of this address family"))?;
        let mut slot = pool.slots[usize::from(self.random()) % pool.slots.len()]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if slot.uses >= QUERIES_PER_SOCKET {
            *slot = open_socket(pool.bind, &self.waiters, &self.counters, self.timeout * 2)?;
        }
        slot.uses += 1;
        Ok((slot.socket.clone(), slot.port))
    }

    /// Registers a waiter under a free random ID.
    fn register(
        &self,
        server: SocketAddr,
        local_port: u16,
        qname: &Arc<[u8]>,
        rtype: RecordType,
    ) -> (u16, oneshot::Receiver<Reply>) {
        let (tx, rx) = oneshot::channel();
        let mut waiter = Some(Waiter {
            tx,
            server,
            local_port,
            qname: qname.clone(),
            rtype,
        });
        loop {
            let id = self.random();
            let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
            if let std::collections::hash_map::Entry::Vacant(slot) = waiters.entry(id) {
                slot.insert(waiter.take().expect("inserted once"));
                return (id, rx);
            }
        }
    }

    fn forget(&self, id: u16) {
        self.waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&id);
    }

    /// Asks `qname` (in wire form) for `rtype`; `Err` is the text of a failure with no answer.
    /// SERVFAIL and REFUSED are asked again of the next server, after a backoff, while tries
    /// remain.
    async fn query(&self, qname: &Arc<[u8]>, rtype: RecordType) -> Result<Reply, String> {
        let mut last: Result<Reply, String> = Err(format!("{NO_ANSWER}: timed out"));
        for attempt in 0..self.attempts {
            if attempt > 0 {
                tokio::time::sleep(BACKOFF * (1 << (attempt - 1).min(5))).await;
            }
            let server = self.servers[attempt % self.servers.len()];
            let (socket, port) = match self.socket_for(server) {
                Ok(s) => s,
                Err(e) => {
                    last = Err(format!("{NO_ANSWER}: {e}"));
                    continue;
                }
            };
            let (id, rx) = self.register(server, port, qname, rtype);
            let bytes = packet::query(id, qname, rtype, EDNS_PAYLOAD);
            self.counters.queries.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = socket.send_to(&bytes, server).await {
                self.forget(id);
                last = Err(format!("{NO_ANSWER}: {e}"));
                continue;
            }
            drop(socket);
            let answer = match tokio::time::timeout(self.timeout, rx).await {
                Ok(Ok(answer)) if answer.truncated => {
                    tcp_query(server, &bytes, id, qname, rtype, self.timeout).await
                }
                Ok(Ok(answer)) => Ok(answer),
                Ok(Err(_)) | Err(_) => {
                    self.forget(id);
                    Err(format!("{NO_ANSWER}: timed out"))
                }
            };
            match answer {
                Ok(m) if matches!(m.rcode, ResponseCode::ServFail | ResponseCode::Refused) => {
                    last = Ok(m)
                }
                Ok(m) => return Ok(m),
                Err(e) => last = Err(e),
            }
        }
        last
    }
}

impl WireClient {
    /// Asks `name`/`rtype`, following a CNAME chain (up to 8 links) when the server answers with
    /// the alias only (an authoritative server does not chase aliases out of its zone).
    pub(super) async fn query_following(
        &self,
        name: &Name,
        rtype: RecordType,
    ) -> Result<Reply, String> {
        let mut current: Arc<[u8]> = packet::wire_name(name).into();
        for _ in 0..8 {
            let m = self.query(&current, rtype).await?;
            let has_type = m.answers.iter().any(|r| r.rtype == u16::from(rtype));
            let alias = m.answers.iter().find_map(|r| match r.data {
                Data::Cname(target) if m.name_is(r.owner, &current) => Some(target),
                _ => None,
            });
            match (has_type, alias) {
                (false, Some(target)) if m.rcode == ResponseCode::NoError => {
                    current = m.name(target).into()
                }
                _ => return Ok(m),
            }
        }
        Err(format!("CNAME chain of {name} longer than 8 links"))
    }
}

/// Whether `m` is a response to a QUERY of `qname`/`rtype` in class IN.
fn answers(m: &Reply, qname: &[u8], rtype: RecordType) -> bool {
    m.response
        && m.opcode == 0
        && m.questions == 1
        && m.question.is_some_and(|(name, qtype, qclass)| {
            qtype == u16::from(rtype) && qclass == packet::CLASS_IN && m.name_is(name, qname)
        })
}

/// The largest UDP answer a query asks for (EDNS, RFC 6891): 1,232 bytes, the DNS Flag Day
/// 2020 size, chosen so that answers are rarely fragmented.
const EDNS_PAYLOAD: u16 = 1232;

/// Bytes read per datagram: more than [`EDNS_PAYLOAD`], so a conforming answer fits with room
/// to spare; a longer one is cut here, fails to parse, is dropped and counted, and its query is
/// retried or ends as a DNS fault (never a removal). Each socket has a reader with its own
/// buffer, and a bulk run rotates through hundreds of sockets: at 64 KB each, their buffers
/// were a third of the memory of resolving 50,000 domains and most of the kernel's page zeroing.
const RECEIVE_BUFFER: usize = 4096;
const _: () = assert!(RECEIVE_BUFFER > EDNS_PAYLOAD as usize);

/// Reads every datagram on one socket and hands each answer to the query that waits for it
/// (see the module docs for what must match); the rest is dropped and counted. Ends once the
/// socket has been replaced and has been idle for `idle`.
async fn read_answers(
    socket: Arc<UdpSocket>,
    port: u16,
    waiters: Waiters,
    counters: Arc<Counters>,
    idle: Duration,
) {
    let mut buf = vec![0u8; RECEIVE_BUFFER];
    loop {
        let (n, from) = match tokio::time::timeout(idle, socket.recv_from(&mut buf)).await {
            Ok(Ok(x)) => x,
            // ICMP errors surface here on some systems; the query times out and is retried.
            Ok(Err(_)) => continue,
            Err(_) if Arc::strong_count(&socket) == 1 => return,
            Err(_) => continue,
        };
        let Ok(message) = Reply::parse(&buf[..n]) else {
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        };
        let mut map = waiters.lock().unwrap_or_else(|p| p.into_inner());
        let matched = map.get(&message.id).is_some_and(|w| {
            w.server == from && w.local_port == port && answers(&message, &w.qname, w.rtype)
        });
        if !matched {
            drop(map);
            counters.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        if let Some(w) = map.remove(&message.id) {
            drop(map);
            let _ = w.tx.send(message);
        }
    }
}

/// The same query over TCP (RFC 7766), for an answer that did not fit in a datagram; the
/// answer is checked as a UDP one is.
async fn tcp_query(
    server: SocketAddr,
    request: &[u8],
    id: u16,
    qname: &[u8],
    rtype: RecordType,
    timeout: Duration,
) -> Result<Reply, String> {
    let exchange = async {
        let mut stream = TcpStream::connect(server).await?;
        let len = u16::try_from(request.len()).map_err(std::io::Error::other)?;
        let mut framed = Vec::with_capacity(request.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(request);
        stream.write_all(&framed).await?;
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(bytes)) => {
            let m = Reply::parse(&bytes).map_err(|e| format!("bad TCP answer: {e}"))?;
            if m.id == id && answers(&m, qname, rtype) {
                Ok(m)
            } else {
                Err(format!(
                    "{NO_ANSWER}: the TCP answer did not match the question"
                ))
            }
        }
        Ok(Err(e)) => Err(format!("{NO_ANSWER}: TCP: {e}")),
        Err(_) => Err(format!("{NO_ANSWER}: TCP timed out")),
    }
}

/// The negative TTL of an answer: the SOA minimum in the authority section (RFC 2308).
fn negative_ttl(m: &Reply) -> u32 {
    m.soa.map_or(300, |(ttl, minimum)| minimum.min(ttl))
}

/// What an answer says, for a query of `rtype`: records of that type, NXDOMAIN, NODATA or a
/// failure code.
fn outcome<T>(m: &Reply, pick: impl Fn(&Record) -> Option<T>) -> Outcome<Vec<T>> {
    match m.rcode {
        ResponseCode::NoError => {
            let mut ttl = u32::MAX;
            let found: Vec<T> = m
                .answers
                .iter()
                .filter_map(|r| {
                    let v = pick(r)?;
                    ttl = ttl.min(r.ttl);
                    Some(v)
                })
                .collect();
            if found.is_empty() {
                Outcome::NoData(negative_ttl(m))
            } else {
                Outcome::Answer(found, ttl)
            }
        }
        ResponseCode::NXDomain => Outcome::NxDomain(negative_ttl(m)),
        code => Outcome::Failed(format!("{code}")),
    }
}

impl Lookups for WireClient {
    async fn mx(&self, name: &Name) -> Outcome<Vec<(u16, Name)>> {
        match self.query_following(name, RecordType::MX).await {
            Ok(m) => outcome(&m, |r| match r.data {
                Data::Mx(preference, exchange) => Some((preference, m.to_name(exchange), exchange)),
                _ => None,
            })
            .map(|mut v| {
                v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                self.take_additional(&m, &v);
                v.into_iter().map(|(p, x, _)| (p, x)).collect()
            }),
            Err(e) => Outcome::Failed(e),
        }
    }

    /// A host's addresses: from the cache, else from the lookup of the same host already under
    /// way, else asked (A and AAAA together). Domains of one provider share its mail hosts, and
    /// at the start of a run hundreds of them ask for the same few hosts at once: one lookup
    /// per host, not one per domain, is what keeps that first burst from overrunning the server.
    async fn addresses(&self, name: &Name) -> Outcome<Vec<IpAddr>> {
        let key = host_key(&packet::wire_name(name));
        let waiting = {
            let hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
            if let Some(hit) = hosts.get(&key) {
                return hit.clone();
            }
            let mut in_flight = self.in_flight.lock().unwrap_or_else(|p| p.into_inner());
            match in_flight.entry(key.clone()) {
                std::collections::hash_map::Entry::Occupied(mut e) => {
                    let (tx, rx) = oneshot::channel();
                    e.get_mut().push(tx);
                    Some(rx)
                }
                std::collections::hash_map::Entry::Vacant(e) => {
                    e.insert(Vec::new());
                    None
                }
            }
        };
        let lead = match waiting {
            None => Some(Lead {
                client: self,
                key: key.clone(),
                done: false,
            }),
            Some(rx) => match rx.await {
                Ok(result) => return result,
                // The lookup waited for was given up before it ended: ask.
                Err(_) => None,
            },
        };
        let result = self.ask_addresses(name).await;
        // Cached before the waiters are let go, so that a caller after them finds it.
        if !matches!(result, Outcome::Failed(_)) {
            self.hosts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(key, result.clone());
        }
        if let Some(lead) = lead {
            lead.finish(&result);
        }
        result
    }
}

/// The lookup of a host that others may be waiting for: when it ends they get its result; when
/// it is dropped before that, they are let go (and ask themselves).
struct Lead<'a> {
    client: &'a WireClient,
    key: Box<[u8]>,
    done: bool,
}

impl Lead<'_> {
    fn finish(mut self, result: &Outcome<Vec<IpAddr>>) {
        self.done = true;
        let waiters = self
            .client
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        for tx in waiters.into_iter().flatten() {
            let _ = tx.send(result.clone());
        }
    }
}

impl Drop for Lead<'_> {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        self.client
            .in_flight
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
    }
}

impl WireClient {
    /// Asks a host's A and AAAA records.
    async fn ask_addresses(&self, name: &Name) -> Outcome<Vec<IpAddr>> {
        let (a, aaaa) = tokio::join!(
            self.query_following(name, RecordType::A),
            self.query_following(name, RecordType::AAAA)
        );
        let v4 = a.map(|m| {
            outcome(&m, |r| match r.data {
                Data::A(a) => Some(IpAddr::V4(a)),
                _ => None,
            })
        });
        let v6 = aaaa.map(|m| {
            outcome(&m, |r| match r.data {
                Data::Aaaa(a) => Some(IpAddr::V6(a)),
                _ => None,
            })
        });
        combine(v4, v6)
    }
}

impl WireClient {
    /// The addresses that an MX answer's additional section gives for its exchanges, kept as
    /// those hosts' answers so that they are not asked again: one query per domain instead of
    /// three when the server adds them (an authoritative server does for hosts in its zones).
    /// Only positive evidence is taken: a host whose additional addresses include a public one
    /// (the domain has a route whatever its other addresses are). A host given only private or
    /// no addresses is asked in full, so a verdict that removes anyone never rests on the
    /// additional section. Records must name an exchange of this answer (`exchanges` are the
    /// MX records' preference, exchange and where the exchange is written in `m`).
    fn take_additional(&self, m: &Reply, exchanges: &[(u16, Name, Span)]) {
        if m.additionals.is_empty() {
            return;
        }
        // Per exchange (by its place in `exchanges`; a name listed twice counts as its first
        // place): the addresses given and their lowest TTL.
        let mut found: Vec<(Vec<IpAddr>, u32)> = vec![(Vec::new(), u32::MAX); exchanges.len()];
        for r in &m.additionals {
            let ip = match r.data {
                Data::A(a) => IpAddr::V4(a),
                Data::Aaaa(a) => IpAddr::V6(a),
                _ => continue,
            };
            let owner = m.name(r.owner);
            let Some(i) = exchanges
                .iter()
                .position(|(_, _, x)| m.name(*x).eq_ignore_ascii_case(owner))
            else {
                continue;
            };
            found[i].0.push(ip);
            found[i].1 = found[i].1.min(r.ttl);
        }
        let mut hosts = self.hosts.lock().unwrap_or_else(|p| p.into_inner());
        for ((_, _, host), (mut addrs, ttl)) in exchanges.iter().zip(found) {
            if !addrs.iter().any(|a| super::ranges::is_public(*a)) {
                continue;
            }
            if let std::collections::hash_map::Entry::Vacant(slot) =
                hosts.entry(host_key(m.name(*host)))
            {
                addrs.sort();
                addrs.dedup();
                slot.insert(Outcome::Answer(addrs, ttl));
            }
        }
    }
}

/// The key of a host in the cache of hosts' addresses: its name in wire form, lowercased (names
/// are equal without regard to ASCII case; a label's length byte is below any letter).
fn host_key(wire: &[u8]) -> Box<[u8]> {
    wire.to_ascii_lowercase().into_boxed_slice()
}

/// The addresses of a host from its A and AAAA answers.
fn combine(
    v4: Result<Outcome<Vec<IpAddr>>, String>,
    v6: Result<Outcome<Vec<IpAddr>>, String>,
) -> Outcome<Vec<IpAddr>> {
    let mut addrs = Vec::new();
    let mut ttl = u32::MAX;
    let mut nx = None;
    let mut nodata = None;
    let mut failure = None;
    for side in [v4, v6] {
        match side {
            Ok(Outcome::Answer(a, t)) => {
                addrs.extend(a);
                ttl = ttl.min(t);
            }
            Ok(Outcome::NxDomain(t)) => nx = Some(t),
            Ok(Outcome::NoData(t)) => nodata = Some(t),
            Ok(Outcome::Failed(e)) | Err(e) => failure = Some(e),
        }
    }
    if !addrs.is_empty() {
        addrs.sort();
        addrs.dedup();
        return Outcome::Answer(addrs, ttl);
    }
    if let Some(e) = failure {
        return Outcome::Failed(e);
    }
    match (nx, nodata) {
        (Some(t), _) => Outcome::NxDomain(t),
        (None, Some(t)) => Outcome::NoData(t),
        (None, None) => Outcome::NoData(300),
    }
}
