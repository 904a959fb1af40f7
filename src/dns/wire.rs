//! A pipelined DNS client for bulk work, on `hickory-proto` messages.
//!
//! The stock resolver opens a socket per query and keeps a general-purpose cache; for hundreds of
//! thousands of distinct domains against one recursive server that is the bottleneck (about a
//! quarter of what the server can answer, measured with dnsperf). Here one UDP socket carries every
//! query, each with its own ID, and one task reads the answers and hands each to its waiter:
//! many queries in flight on one socket, no socket set-up per query. Truncated answers are asked
//! again over TCP; a query with no answer is retried (rotating over the servers) and then reported
//! as a timeout, which the caller turns into `unknown`. The addresses of mail hosts are cached for
//! the run, since most domains share a few providers' hosts.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hickory_resolver::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_resolver::proto::rr::{Name, RData, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::sync::oneshot;

use super::lookups::{Lookups, Outcome, NO_ANSWER};

type Waiters = Arc<Mutex<HashMap<u16, oneshot::Sender<Message>>>>;

/// One socket per address family, many queries in flight.
pub struct WireClient {
    servers: Vec<SocketAddr>,
    /// The IPv4 socket and the IPv6 one, where the servers need them.
    v4: Option<Arc<UdpSocket>>,
    v6: Option<Arc<UdpSocket>>,
    waiters: Waiters,
    next_id: AtomicU16,
    timeout: Duration,
    attempts: usize,
    queries: Arc<AtomicU64>,
    hosts: Mutex<HashMap<Name, Outcome<Vec<IpAddr>>>>,
    readers: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for WireClient {
    fn drop(&mut self) {
        for reader in &self.readers {
            reader.abort();
        }
    }
}

impl WireClient {
    /// Binds a socket for each address family the servers use (a resolv.conf listing IPv4 and
    /// IPv6 servers uses both) and starts their answer readers. Call inside a tokio runtime.
    pub async fn new(
        servers: Vec<SocketAddr>,
        timeout: Duration,
        attempts: usize,
        queries: Arc<AtomicU64>,
    ) -> std::io::Result<Self> {
        if servers.is_empty() {
            return Err(std::io::Error::other("no DNS server given"));
        }
        let waiters: Waiters = Arc::new(Mutex::new(HashMap::new()));
        let mut readers = Vec::new();
        let mut bind_family = |v4: bool| -> std::io::Result<Option<Arc<UdpSocket>>> {
            let family: Vec<SocketAddr> = servers
                .iter()
                .copied()
                .filter(|s| s.is_ipv4() == v4)
                .collect();
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
            let std_socket = std::net::UdpSocket::bind(bind)?;
            std_socket.set_nonblocking(true)?;
            let socket = Arc::new(UdpSocket::from_std(std_socket)?);
            readers.push(tokio::spawn(read_answers(
                socket.clone(),
                waiters.clone(),
                family,
            )));
            Ok(Some(socket))
        };
        // A family that cannot be bound (a machine without IPv6) leaves its servers out, as long
        // as the other family has some.
        let (v4, v6) = match (bind_family(true), bind_family(false)) {
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
            next_id: AtomicU16::new(rand_seed()),
            timeout,
            attempts: attempts.max(1),
            queries,
            hosts: Mutex::new(HashMap::new()),
            readers,
        })
    }

    fn socket_for(&self, server: SocketAddr) -> &UdpSocket {
        let socket = if server.is_ipv4() { &self.v4 } else { &self.v6 };
        socket
            .as_deref()
            .expect("a socket for every server's family")
    }

    /// Registers a waiter under a free ID.
    fn register(&self) -> (u16, oneshot::Receiver<Message>) {
        let (tx, rx) = oneshot::channel();
        let mut waiters = self.waiters.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            let id = self
                .next_id
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(40503);
            if let std::collections::hash_map::Entry::Vacant(slot) = waiters.entry(id) {
                slot.insert(tx);
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

    /// Asks `name`/`rtype`; `Err` is the text of a failure with no answer.
    pub async fn query(&self, name: &Name, rtype: RecordType) -> Result<Message, String> {
        let mut last_error = format!("{NO_ANSWER}: timed out");
        for attempt in 0..self.attempts {
            let server = self.servers[attempt % self.servers.len()];
            let (id, rx) = self.register();
            let bytes = request(id, name, rtype).map_err(|e| e.to_string())?;
            self.queries.fetch_add(1, Ordering::Relaxed);
            if let Err(e) = self.socket_for(server).send_to(&bytes, server).await {
                self.forget(id);
                last_error = format!("{NO_ANSWER}: {e}");
                continue;
            }
            match tokio::time::timeout(self.timeout, rx).await {
                Ok(Ok(answer)) if answer.metadata.truncation => {
                    return tcp_query(server, &bytes, self.timeout).await;
                }
                Ok(Ok(answer)) => return Ok(answer),
                Ok(Err(_)) | Err(_) => {
                    self.forget(id);
                    last_error = format!("{NO_ANSWER}: timed out");
                }
            }
        }
        Err(last_error)
    }
}

impl WireClient {
    /// Asks `name`/`rtype`, following a CNAME chain (up to 8 links) when the server answers with
    /// the alias only (an authoritative server does not chase aliases out of its zone).
    pub async fn query_following(&self, name: &Name, rtype: RecordType) -> Result<Message, String> {
        let mut current = name.clone();
        for _ in 0..8 {
            let m = self.query(&current, rtype).await?;
            let has_type = m.answers.iter().any(|r| r.record_type() == rtype);
            let alias = m.answers.iter().find_map(|r| match &r.data {
                RData::CNAME(c) if r.name == current => Some(c.0.clone()),
                _ => None,
            });
            match (has_type, alias) {
                (false, Some(target)) if m.metadata.response_code == ResponseCode::NoError => {
                    current = target
                }
                _ => return Ok(m),
            }
        }
        Err(format!("CNAME chain of {name} longer than 8 links"))
    }
}

fn rand_seed() -> u16 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    (nanos ^ std::process::id()) as u16
}

fn request(
    id: u16,
    name: &Name,
    rtype: RecordType,
) -> Result<Vec<u8>, hickory_resolver::proto::ProtoError> {
    let mut m = Message::new(id, MessageType::Query, OpCode::Query);
    m.metadata.recursion_desired = true;
    m.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    m.set_edns(edns);
    m.to_vec()
}

/// Reads every answer on the socket and hands it to the query that waits for its ID (and only
/// when it comes from one of the servers asked).
async fn read_answers(socket: Arc<UdpSocket>, waiters: Waiters, servers: Vec<SocketAddr>) {
    let mut buf = vec![0u8; 65_535];
    loop {
        let (n, from) = match socket.recv_from(&mut buf).await {
            Ok(x) => x,
            // ICMP errors surface here on some systems; the query times out and is retried.
            Err(_) => continue,
        };
        if !servers.contains(&from) {
            continue;
        }
        let Ok(message) = Message::from_vec(&buf[..n]) else {
            continue;
        };
        let waiter = waiters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&message.metadata.id);
        if let Some(tx) = waiter {
            let _ = tx.send(message);
        }
    }
}

/// The same query over TCP (RFC 7766), for an answer that did not fit in a datagram.
async fn tcp_query(
    server: SocketAddr,
    request: &[u8],
    timeout: Duration,
) -> Result<Message, String> {
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
        Ok(Ok(bytes)) => Message::from_vec(&bytes).map_err(|e| format!("bad TCP answer: {e}")),
        Ok(Err(e)) => Err(format!("{NO_ANSWER}: TCP: {e}")),
        Err(_) => Err(format!("{NO_ANSWER}: TCP timed out")),
    }
}

/// The negative TTL of an answer: the SOA minimum in the authority section (RFC 2308).
fn negative_ttl(m: &Message) -> u32 {
    m.authorities
        .iter()
        .find_map(|r| match &r.data {
            RData::SOA(soa) => Some(soa.minimum.min(r.ttl)),
            _ => None,
        })
        .unwrap_or(300)
}

/// What an answer says, for a query of `rtype`: records of that type, NXDOMAIN, NODATA or a
/// failure code.
fn outcome<T>(m: &Message, pick: impl Fn(&RData) -> Option<T>) -> Outcome<Vec<T>> {
    match m.metadata.response_code {
        ResponseCode::NoError => {
            let mut ttl = u32::MAX;
            let found: Vec<T> = m
                .answers
                .iter()
                .filter_map(|r| {
                    let v = pick(&r.data)?;
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
            Ok(m) => match outcome(&m, |d| match d {
                RData::MX(mx) => Some((mx.preference, mx.exchange.clone())),
                _ => None,
            }) {
                Outcome::Answer(mut v, ttl) => {
                    v.sort_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(&b.1)));
                    Outcome::Answer(v, ttl)
                }
                other => other,
            },
            Err(e) => Outcome::Failed(e),
        }
    }

    async fn addresses(&self, name: &Name) -> Outcome<Vec<IpAddr>> {
        if let Some(hit) = self
            .hosts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
        {
            return hit.clone();
        }
        let (a, aaaa) = tokio::join!(
            self.query_following(name, RecordType::A),
            self.query_following(name, RecordType::AAAA)
        );
        let v4 = a.map(|m| {
            outcome(&m, |d| {
                if let RData::A(a) = d {
                    Some(IpAddr::V4(a.0))
                } else {
                    None
                }
            })
        });
        let v6 = aaaa.map(|m| {
            outcome(&m, |d| {
                if let RData::AAAA(a) = d {
                    Some(IpAddr::V6(a.0))
                } else {
                    None
                }
            })
        });
        let result = combine(v4, v6);
        if !matches!(result, Outcome::Failed(_)) {
            self.hosts
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(name.clone(), result.clone());
        }
        result
    }
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
