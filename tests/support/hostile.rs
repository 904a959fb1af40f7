//! A misbehaving DNS server on loopback: a UDP proxy in front of the test server that bends its
//! answers the way broken forwarders, captive portals and off-path forgers do.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// How the proxy misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Sends every query back as it came (QR=0, no records).
    Echo,
    /// Answers with the right ID, but another question and NXDOMAIN.
    WrongQuestion,
    /// First a forged NXDOMAIN under another ID, then the real answer.
    WrongIdFirst,
    /// Random bytes, then nothing.
    Garbage,
    /// The real answer cut short, then nothing.
    Truncated,
    /// A datagram of 4,000 bytes of noise after the query's ID, then nothing.
    Oversized,
    /// SERVFAIL for every third query, nothing for every fifth, the real answer otherwise.
    Flaky,
    /// A well-formed NXDOMAIN for every name (a DNS filter, a captive portal).
    NxdomainAll,
}

/// A running proxy; dropping it stops it.
pub struct Hostile {
    /// Where it listens.
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Hostile {
    /// Starts a proxy in front of `upstream` (a test server on loopback).
    pub fn start(mode: Mode, upstream: SocketAddr) -> Hostile {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind");
        socket
            .set_read_timeout(Some(Duration::from_millis(50)))
            .expect("timeout");
        let addr = socket.local_addr().expect("addr");
        let up = UdpSocket::bind("127.0.0.1:0").expect("bind upstream side");
        up.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 65_535];
            let mut n_query = 0u64;
            while !s.load(Ordering::Relaxed) {
                let Ok((n, from)) = socket.recv_from(&mut buf) else {
                    continue;
                };
                n_query += 1;
                let query = buf[..n].to_vec();
                let real = || -> Option<Vec<u8>> {
                    up.send_to(&query, upstream).ok()?;
                    let mut answer = [0u8; 65_535];
                    let (m, _) = up.recv_from(&mut answer).ok()?;
                    Some(answer[..m].to_vec())
                };
                let send = |bytes: &[u8]| {
                    let _ = socket.send_to(bytes, from);
                };
                match mode {
                    Mode::Echo => send(&query),
                    Mode::WrongQuestion => {
                        send(&nxdomain(&query, Some(b"\x05other\x07example\x00")))
                    }
                    Mode::WrongIdFirst => {
                        let mut forged = nxdomain(&query, None);
                        forged[1] ^= 0x5a;
                        send(&forged);
                        if let Some(a) = real() {
                            send(&a);
                        }
                    }
                    Mode::Garbage => {
                        let noise: Vec<u8> = (0..64u64)
                            .map(|i| (i.wrapping_mul(2_654_435_761) ^ n_query) as u8)
                            .collect();
                        send(&noise);
                    }
                    Mode::Truncated => {
                        if let Some(a) = real() {
                            send(&a[..a.len().min(20)]);
                        }
                    }
                    Mode::Oversized => {
                        let mut big = query[..2].to_vec();
                        big.extend((0..4_000u32).map(|i| (i * 7 + 3) as u8));
                        send(&big);
                    }
                    Mode::Flaky => {
                        if n_query.is_multiple_of(5) {
                            // Lost.
                        } else if n_query.is_multiple_of(3) {
                            send(&with_rcode(&query, 2));
                        } else if let Some(a) = real() {
                            send(&a);
                        }
                    }
                    Mode::NxdomainAll => send(&nxdomain(&query, None)),
                }
            }
        });
        Hostile {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Hostile {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// `query` turned into a response with `rcode` and no records (the question kept).
fn with_rcode(query: &[u8], rcode: u8) -> Vec<u8> {
    let mut out = query.to_vec();
    if out.len() >= 12 {
        out[2] |= 0x80; // QR
        out[3] = (out[3] & 0xf0) | rcode;
        // No answer, authority or additional records: the question alone.
        out[6..12].fill(0);
        out.truncate(12 + question_len(&out[12..]));
    }
    out
}

/// A well-formed NXDOMAIN for `query`, its question name replaced by `name` when given.
fn nxdomain(query: &[u8], name: Option<&[u8]>) -> Vec<u8> {
    let mut out = with_rcode(query, 3);
    if let (Some(name), true) = (name, out.len() > 12) {
        let qname_len = question_len(&out[12..]).saturating_sub(4);
        let tail = out[12 + qname_len..].to_vec();
        out.truncate(12);
        out.extend_from_slice(name);
        out.extend_from_slice(&tail);
    }
    out
}

/// The length of the question section (name, type, class) at the start of `bytes`.
fn question_len(bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() && bytes[i] != 0 {
        i += usize::from(bytes[i]) + 1;
    }
    (i + 1 + 4).min(bytes.len())
}
