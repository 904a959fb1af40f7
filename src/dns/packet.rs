//! DNS messages on the wire (RFC 1035 §4.1), only as far as the bulk client needs them: a query
//! written straight into bytes, and an answer read into the few things the client looks at.
//!
//! Building a `hickory-proto` message for every query, and decoding every answer into one (a
//! `Name` per record, a record per entry, an `Edns`), was a seventh of the bulk client's time per
//! domain. Here the names of an answer are copied once, uncompressed and as written, into one
//! buffer, and only the records the client reads are decoded: A, AAAA, MX, CNAME, TXT (for
//! `lint`), the SOA of the authority section and the OPT record; the others are stepped over by
//! their length.
//!
//! An answer is read as strictly as `hickory-proto` reads it where it matters to what is
//! believed: compression pointers must point before the name that uses them and must not
//! loop, a name is at most 255 bytes, a label at most 63, the data of a record of a type read
//! here must fill its stated length exactly, and no part may run past the end. A property test
//! holds every answer `hickory-proto` accepts (generated, then mutated byte by byte) to the same
//! reading here; what either rejects is dropped by the client and counted.

use std::net::{Ipv4Addr, Ipv6Addr};

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RecordType};

/// Bytes of the fixed header.
const HEADER: usize = 12;
/// The longest name on the wire, its length bytes and final zero included (RFC 1035 §3.1).
const MAX_NAME: usize = 255;
/// Class IN.
pub(super) const CLASS_IN: u16 = 1;
const TYPE_A: u16 = 1;
const TYPE_CNAME: u16 = 5;
const TYPE_SOA: u16 = 6;
const TYPE_MX: u16 = 15;
const TYPE_TXT: u16 = 16;
const TYPE_AAAA: u16 = 28;
const TYPE_OPT: u16 = 41;

/// `name` in wire form as written (length-prefixed labels, then the root's zero byte).
pub(super) fn wire_name(name: &Name) -> Vec<u8> {
    let mut out = Vec::with_capacity(name.len() + 2);
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend_from_slice(label);
    }
    out.push(0);
    out
}

/// A query of `qname` (in wire form, from [`wire_name`]) for `rtype` in class IN, recursion
/// desired, with an EDNS OPT record (RFC 6891) offering answers of up to `payload` bytes.
pub(super) fn query(id: u16, qname: &[u8], rtype: RecordType, payload: u16) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER + qname.len() + 4 + 11);
    out.extend_from_slice(&id.to_be_bytes());
    // QR=0, OPCODE=QUERY, RD=1; then RA, Z, AD, CD and RCODE all zero.
    out.extend_from_slice(&[0x01, 0x00]);
    // One question, no answers or authorities, one additional record (the OPT).
    out.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]);
    out.extend_from_slice(qname);
    out.extend_from_slice(&u16::from(rtype).to_be_bytes());
    out.extend_from_slice(&CLASS_IN.to_be_bytes());
    // OPT: the root name, type 41, the payload size as its class, extended RCODE, version and
    // flags zero, no options.
    out.extend_from_slice(&[0]);
    out.extend_from_slice(&TYPE_OPT.to_be_bytes());
    out.extend_from_slice(&payload.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    out
}

/// Where a name of a [`Reply`] is in its buffer of names (see [`Reply::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Span(u32, u32);

/// What a record of a [`Reply`] holds, for the types the client reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Data {
    A(Ipv4Addr),
    Aaaa(Ipv6Addr),
    /// Preference and exchange.
    Mx(u16, Span),
    Cname(Span),
    /// The record's character-strings, each read as UTF-8 (lossily), joined (RFC 7208 §3.3).
    Txt(String),
    /// Another type, not read.
    Other,
}

/// One record of the answer or additional section.
#[derive(Debug, Clone)]
pub(super) struct Record {
    pub owner: Span,
    pub rtype: u16,
    pub ttl: u32,
    pub data: Data,
}

/// An answer, read.
#[derive(Debug)]
pub(super) struct Reply {
    pub id: u16,
    /// QR: a response, not a query.
    pub response: bool,
    /// The OPCODE (0 is QUERY).
    pub opcode: u8,
    /// TC: cut to fit a datagram.
    pub truncated: bool,
    /// The RCODE, with the OPT record's upper bits when there is one.
    pub rcode: ResponseCode,
    /// The questions repeated: how many, and the first one's name, type and class.
    pub questions: u16,
    pub question: Option<(Span, u16, u16)>,
    pub answers: Vec<Record>,
    /// The TTL and the MINIMUM field of the authority section's first SOA record (RFC 2308).
    pub soa: Option<(u32, u32)>,
    pub additionals: Vec<Record>,
    /// Every name read, uncompressed and as written, one after the other.
    names: Vec<u8>,
}

/// Why a datagram is not a DNS message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Malformed(&'static str);

impl std::fmt::Display for Malformed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}

/// A reading position in a message.
struct Cursor<'a> {
    msg: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn bytes(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.at.checked_add(n).filter(|e| *e <= self.msg.len());
        let end = end.ok_or(Malformed("cut short"))?;
        let out = &self.msg[self.at..end];
        self.at = end;
        Ok(out)
    }

    /// Record data of `len` bytes that must be exactly `N` bytes long.
    fn exactly<const N: usize>(
        &mut self,
        len: u16,
        otherwise: &'static str,
    ) -> Result<[u8; N], Malformed> {
        self.bytes(usize::from(len))?
            .try_into()
            .map_err(|_| Malformed(otherwise))
    }

    fn u16(&mut self) -> Result<u16, Malformed> {
        let b = self.bytes(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, Malformed> {
        let b = self.bytes(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Reads a name at the position into `names`; the position moves past the name as written
    /// here (its pointer, if it ends in one).
    fn name(&mut self, names: &mut Vec<u8>) -> Result<Span, Malformed> {
        let start = names.len();
        let mut at = self.at;
        // Where the part being read began: a pointer must point before it. While a pointer is
        // followed, reading must stay before where the name it came from began.
        let mut part_start = at;
        let mut bound: Option<usize> = None;
        let mut after: Option<usize> = None;
        let mut length = 1;
        loop {
            if bound.is_some_and(|b| at >= b) {
                return Err(Malformed(
                    "a compressed name runs into the name it points from",
                ));
            }
            let first = *self.msg.get(at).ok_or(Malformed("cut short in a name"))?;
            match first & 0xC0 {
                0x00 if first == 0 => {
                    names.push(0);
                    at += 1;
                    break;
                }
                0x00 => {
                    let len = usize::from(first);
                    let label = self
                        .msg
                        .get(at + 1..at + 1 + len)
                        .ok_or(Malformed("cut short in a label"))?;
                    length += len + 1;
                    if length > MAX_NAME {
                        return Err(Malformed("a name longer than 255 bytes"));
                    }
                    names.push(first);
                    names.extend_from_slice(label);
                    at += 1 + len;
                }
                0xC0 => {
                    let second = *self
                        .msg
                        .get(at + 1)
                        .ok_or(Malformed("cut short in a name"))?;
                    let target = usize::from(u16::from_be_bytes([first & 0x3F, second]));
                    if target >= part_start {
                        return Err(Malformed("a compression pointer that does not point back"));
                    }
                    after.get_or_insert(at + 2);
                    bound = Some(part_start);
                    part_start = target;
                    at = target;
                }
                _ => return Err(Malformed("a label type that is not defined")),
            }
        }
        self.at = after.unwrap_or(at);
        let span = Span(start as u32, names.len() as u32);
        Ok(span)
    }
}

impl Reply {
    /// Reads a datagram or a TCP message (without its length prefix).
    pub fn parse(msg: &[u8]) -> Result<Reply, Malformed> {
        let mut c = Cursor { msg, at: 0 };
        let header = c
            .bytes(HEADER)
            .map_err(|_| Malformed("shorter than a header"))?;
        let count = |i: usize| u16::from_be_bytes([header[i], header[i + 1]]);
        let (questions, answers, authorities, additionals) =
            (count(4), count(6), count(8), count(10));
        let mut reply = Reply {
            id: count(0),
            response: header[2] & 0x80 != 0,
            opcode: (header[2] >> 3) & 0x0F,
            truncated: header[2] & 0x02 != 0,
            rcode: ResponseCode::from_low(header[3] & 0x0F),
            questions,
            question: None,
            answers: Vec::with_capacity(usize::from(answers.min(8))),
            soa: None,
            additionals: Vec::with_capacity(usize::from(additionals.min(8))),
            names: Vec::with_capacity(msg.len() * 2),
        };
        for _ in 0..questions {
            let name = c.name(&mut reply.names)?;
            let (qtype, qclass) = (c.u16()?, c.u16()?);
            reply.question.get_or_insert((name, qtype, qclass));
        }
        for _ in 0..answers {
            let r = reply.record(&mut c)?;
            reply.answers.push(r);
        }
        for _ in 0..authorities {
            let mark = reply.names.len();
            let r = reply.record_of_authority(&mut c)?;
            if reply.soa.is_none() {
                reply.soa = r;
            }
            // Only the SOA's numbers are kept from this section, not its names.
            reply.names.truncate(mark);
        }
        let mut opt_seen = false;
        for _ in 0..additionals {
            let r = reply.record(&mut c)?;
            if r.rtype == TYPE_OPT {
                if opt_seen {
                    return Err(Malformed("two OPT records"));
                }
                opt_seen = true;
                reply.rcode = ResponseCode::from((r.ttl >> 24) as u8, header[3] & 0x0F);
                continue;
            }
            reply.additionals.push(r);
        }
        Ok(reply)
    }

    /// A record of the answer or additional section.
    fn record(&mut self, c: &mut Cursor) -> Result<Record, Malformed> {
        let owner = c.name(&mut self.names)?;
        let (rtype, _class, ttl, len) = (c.u16()?, c.u16()?, c.u32()?, c.u16()?);
        let start = c.at;
        let data = match rtype {
            TYPE_A => Data::A(c.exactly::<4>(len, "an A record not 4 bytes")?.into()),
            TYPE_AAAA => Data::Aaaa(c.exactly::<16>(len, "an AAAA record not 16 bytes")?.into()),
            TYPE_MX => {
                let preference = c.u16()?;
                Data::Mx(preference, c.name(&mut self.names)?)
            }
            TYPE_CNAME => Data::Cname(c.name(&mut self.names)?),
            TYPE_TXT => {
                let mut data = c.bytes(usize::from(len))?;
                let mut text = String::new();
                while let Some((&n, rest)) = data.split_first() {
                    let piece = rest
                        .get(..usize::from(n))
                        .ok_or(Malformed("a TXT string runs past its record"))?;
                    text.push_str(&String::from_utf8_lossy(piece));
                    data = &rest[usize::from(n)..];
                }
                Data::Txt(text)
            }
            _ => {
                c.bytes(usize::from(len))?;
                Data::Other
            }
        };
        if c.at != start + usize::from(len) {
            return Err(Malformed("record data of another length than stated"));
        }
        Ok(Record {
            owner,
            rtype,
            ttl,
            data,
        })
    }

    /// A record of the authority section: its TTL and MINIMUM when it is an SOA.
    fn record_of_authority(&mut self, c: &mut Cursor) -> Result<Option<(u32, u32)>, Malformed> {
        c.name(&mut self.names)?;
        let (rtype, _class, ttl, len) = (c.u16()?, c.u16()?, c.u32()?, c.u16()?);
        let start = c.at;
        let soa = if rtype == TYPE_SOA {
            c.name(&mut self.names)?;
            c.name(&mut self.names)?;
            let _serial_refresh_retry_expire = c.bytes(16)?;
            Some((ttl, c.u32()?))
        } else {
            c.bytes(usize::from(len))?;
            None
        };
        if c.at != start + usize::from(len) {
            return Err(Malformed("record data of another length than stated"));
        }
        Ok(soa)
    }

    /// A name of this reply in wire form, as written.
    pub fn name(&self, span: Span) -> &[u8] {
        &self.names[span.0 as usize..span.1 as usize]
    }

    /// Whether a name of this reply is `wire` (a name in wire form), compared without regard to
    /// ASCII case as DNS compares names (RFC 4343).
    pub fn name_is(&self, span: Span, wire: &[u8]) -> bool {
        self.name(span).eq_ignore_ascii_case(wire)
    }

    /// A name of this reply as a `Name`.
    pub fn to_name(&self, span: Span) -> Name {
        let mut rest = self.name(span);
        let labels = std::iter::from_fn(move || {
            let (&len, tail) = rest.split_first().filter(|(len, _)| **len != 0)?;
            let (label, tail) = tail.split_at(usize::from(len));
            rest = tail;
            Some(label)
        });
        // The labels were checked as read (lengths, total length), which is all `Name` checks.
        Name::from_labels(labels).unwrap_or_else(|_| Name::root())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_resolver::proto::op::{Edns, Message, MessageType, OpCode, Query};
    use hickory_resolver::proto::rr::rdata::{CNAME, MX, SOA, TXT};
    use hickory_resolver::proto::rr::{RData, Record as HRecord};
    use proptest::prelude::*;
    use std::str::FromStr;

    fn name(s: &str) -> Name {
        Name::from_str(s).unwrap()
    }

    #[test]
    fn a_query_is_written_as_hickory_writes_it() {
        for (n, t) in [
            ("bench-0.com.", RecordType::MX),
            ("mx.Example.ORG.", RecordType::A),
            ("xn--bcher-kva.de.", RecordType::AAAA),
            (".", RecordType::MX),
        ] {
            let mut m = Message::new(0xBEEF, MessageType::Query, OpCode::Query);
            m.metadata.recursion_desired = true;
            m.add_query(Query::query(name(n), t));
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            m.set_edns(edns);
            let ours = query(0xBEEF, &wire_name(&name(n)), t, 1232);
            assert_eq!(ours, m.to_vec().unwrap(), "{n} {t}");
        }
    }

    /// A response built with hickory-proto from a few parts.
    fn response(parts: &Parts) -> Message {
        let mut m = Message::new(parts.id, MessageType::Response, OpCode::Query);
        m.metadata.truncation = parts.truncated;
        m.metadata.response_code = ResponseCode::from(0, parts.rcode);
        m.add_query(Query::query(name(&parts.qname), RecordType::MX));
        for (i, (owner, what)) in parts.records.iter().enumerate() {
            let owner = name(owner);
            let data = match what {
                Rd::A(a) => RData::A((*a).into()),
                Rd::Aaaa(a) => RData::AAAA((*a).into()),
                Rd::Mx(p, x) => RData::MX(MX::new(*p, name(x))),
                Rd::Cname(x) => RData::CNAME(CNAME(name(x))),
                Rd::Txt(t) => RData::TXT(TXT::new(t.clone())),
                Rd::Soa(min) => RData::SOA(SOA::new(
                    name("ns.example."),
                    name("admin.example."),
                    1,
                    2,
                    3,
                    4,
                    *min,
                )),
            };
            let record = HRecord::from_rdata(owner, 60 + i as u32, data);
            match (what, i % 3) {
                (Rd::Soa(_), _) | (_, 2) => m.add_authority(record),
                (_, 1) => m.add_additional(record),
                _ => m.add_answer(record),
            };
        }
        if parts.edns {
            let mut edns = Edns::new();
            edns.set_max_payload(1232);
            edns.set_rcode_high(parts.rcode_high);
            m.set_edns(edns);
        }
        m
    }

    #[derive(Debug, Clone)]
    enum Rd {
        A(Ipv4Addr),
        Aaaa(Ipv6Addr),
        Mx(u16, String),
        Cname(String),
        Txt(Vec<String>),
        Soa(u32),
    }

    #[derive(Debug, Clone)]
    struct Parts {
        id: u16,
        truncated: bool,
        rcode: u8,
        rcode_high: u8,
        edns: bool,
        qname: String,
        records: Vec<(String, Rd)>,
    }

    /// What the client reads from a hickory-proto message, in the terms of a [`Reply`].
    type Reading = (
        u16,
        bool,
        u8,
        bool,
        ResponseCode,
        u16,
        Option<(Name, u16, u16)>,
        Vec<(Name, u16, u32, String)>,
        Option<(u32, u32)>,
        Vec<(Name, u16, u32, String)>,
    );

    fn reading_of_hickory(m: &Message) -> Reading {
        let record = |r: &HRecord| {
            let data = match &r.data {
                RData::A(a) => format!("A {}", a.0),
                RData::AAAA(a) => format!("AAAA {}", a.0),
                RData::MX(mx) => format!("MX {} {}", mx.preference, mx.exchange.to_ascii()),
                RData::CNAME(c) => format!("CNAME {}", c.0.to_ascii()),
                RData::TXT(t) => format!(
                    "TXT {}",
                    t.txt_data
                        .iter()
                        .map(|s| String::from_utf8_lossy(s))
                        .collect::<String>()
                ),
                _ => "other".to_owned(),
            };
            (r.name.clone(), u16::from(r.record_type()), r.ttl, data)
        };
        (
            m.metadata.id,
            m.metadata.message_type == MessageType::Response,
            u8::from(m.metadata.op_code),
            m.metadata.truncation,
            m.metadata.response_code,
            m.queries.len() as u16,
            m.queries.first().map(|q| {
                (
                    q.name().clone(),
                    u16::from(q.query_type()),
                    u16::from(q.query_class()),
                )
            }),
            m.answers.iter().map(record).collect(),
            m.authorities.iter().find_map(|r| match &r.data {
                RData::SOA(soa) => Some((r.ttl, soa.minimum)),
                _ => None,
            }),
            m.additionals.iter().map(record).collect(),
        )
    }

    fn reading_of_ours(r: &Reply) -> Reading {
        let record = |x: &Record| {
            let data = match &x.data {
                Data::A(a) => format!("A {a}"),
                Data::Aaaa(a) => format!("AAAA {a}"),
                Data::Mx(p, e) => format!("MX {p} {}", r.to_name(*e).to_ascii()),
                Data::Cname(c) => format!("CNAME {}", r.to_name(*c).to_ascii()),
                Data::Txt(t) => format!("TXT {t}"),
                Data::Other => "other".to_owned(),
            };
            (r.to_name(x.owner), x.rtype, x.ttl, data)
        };
        (
            r.id,
            r.response,
            r.opcode,
            r.truncated,
            r.rcode,
            r.questions,
            r.question.map(|(n, t, c)| (r.to_name(n), t, c)),
            r.answers.iter().map(record).collect(),
            r.soa,
            r.additionals.iter().map(record).collect(),
        )
    }

    /// Both readings of `bytes`: whenever hickory-proto reads it, ours reads it the same way
    /// (names compared as DNS compares them, and written out the same).
    fn agree(bytes: &[u8]) -> Result<(), TestCaseError> {
        let ours = Reply::parse(bytes);
        let Ok(theirs) = Message::from_vec(bytes) else {
            return Ok(());
        };
        let ours =
            ours.map_err(|e| TestCaseError::fail(format!("hickory reads it, we do not: {e}")))?;
        let (a, b) = (reading_of_ours(&ours), reading_of_hickory(&theirs));
        prop_assert_eq!(&a, &b);
        // Names are equal without regard to case above; as text they are the same too.
        let text = |r: &Reading| {
            format!(
                "{:?}",
                r.7.iter().map(|x| x.0.to_ascii()).collect::<Vec<_>>()
            )
        };
        prop_assert_eq!(text(&a), text(&b));
        Ok(())
    }

    #[test]
    fn an_answer_is_read_as_hickory_reads_it() {
        let parts = Parts {
            id: 7,
            truncated: false,
            rcode: 0,
            rcode_high: 0,
            edns: true,
            qname: "Bench-0.com.".to_owned(),
            records: vec![
                ("bench-0.com.".into(), Rd::Mx(10, "mx.bench-0.com.".into())),
                ("mx.bench-0.com.".into(), Rd::A(Ipv4Addr::new(11, 0, 0, 1))),
                ("bench-0.com.".into(), Rd::Soa(300)),
                ("www.bench-0.com.".into(), Rd::Cname("bench-0.com.".into())),
                ("mx.bench-0.com.".into(), Rd::Aaaa(Ipv6Addr::LOCALHOST)),
            ],
        };
        let bytes = response(&parts).to_vec().unwrap();
        agree(&bytes).unwrap();
        let r = Reply::parse(&bytes).unwrap();
        let (q, t, c) = r.question.unwrap();
        assert!(r.name_is(q, &wire_name(&name("bench-0.COM."))));
        assert_eq!((t, c), (15, 1));
        assert_eq!(r.soa, Some((62, 300)));
        assert!(matches!(r.answers[0].data, Data::Mx(10, _)));
    }

    #[test]
    fn malformed_names_are_refused() {
        let header = [0u8, 1, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0];
        for (question, why) in [
            (&[0xC0u8, 12, 0, 15, 0, 1][..], "a pointer to itself"),
            (&[0xC0, 14, 0, 15, 0, 1, 0][..], "a pointer forwards"),
            (&[3, b'a', b'b'][..], "a label cut short"),
            (&[0x40, 0, 0, 15, 0, 1][..], "a label type not defined"),
            (
                &[1, b'a', 0xC0, 12, 0, 15, 0, 1][..],
                "a pointer into the header, then a loop",
            ),
        ] {
            let bytes = [&header[..], question].concat();
            assert!(Reply::parse(&bytes).is_err(), "{why}");
            agree(&bytes).unwrap();
        }
        // 128 labels of one byte: 257 bytes with the final zero.
        let mut long = Vec::new();
        for _ in 0..128 {
            long.extend_from_slice(&[1, b'x']);
        }
        long.extend_from_slice(&[0, 0, 15, 0, 1]);
        assert!(Reply::parse(&[&header[..], &long].concat()).is_err());
    }

    fn label() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z0-9]{1,6}",
            "[A-Za-z][A-Za-z0-9-]{0,12}",
            Just("xn--bcher-kva".to_owned()),
            Just("mx".to_owned()),
            Just("bench-0".to_owned()),
        ]
    }

    fn domain() -> impl Strategy<Value = String> {
        prop::collection::vec(label(), 1..4).prop_map(|l| format!("{}.", l.join(".")))
    }

    fn rd() -> impl Strategy<Value = Rd> {
        prop_oneof![
            any::<[u8; 4]>().prop_map(|a| Rd::A(a.into())),
            any::<[u8; 16]>().prop_map(|a| Rd::Aaaa(a.into())),
            (any::<u16>(), domain()).prop_map(|(p, x)| Rd::Mx(p, x)),
            domain().prop_map(Rd::Cname),
            prop::collection::vec("[ -~é]{0,8}", 1..3).prop_map(Rd::Txt),
            any::<u32>().prop_map(Rd::Soa),
        ]
    }

    fn parts() -> impl Strategy<Value = Parts> {
        (
            any::<u16>(),
            any::<bool>(),
            0u8..16,
            any::<u8>(),
            any::<bool>(),
            domain(),
            prop::collection::vec((domain(), rd()), 0..7),
        )
            .prop_map(
                |(id, truncated, rcode, rcode_high, edns, qname, records)| Parts {
                    id,
                    truncated,
                    rcode,
                    rcode_high,
                    edns,
                    qname,
                    records,
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        /// Generated answers, then the same with bytes changed, cut, or inserted anywhere: every
        /// one hickory-proto reads, ours reads the same way, and none makes ours panic.
        #[test]
        fn every_answer_hickory_reads_is_read_the_same(
            p in parts(),
            edits in prop::collection::vec((any::<usize>(), any::<u8>(), 0u8..4), 0..4),
        ) {
            let mut bytes = response(&p).to_vec().unwrap();
            prop_assert!(Message::from_vec(&bytes).is_ok());
            agree(&bytes)?;
            prop_assert!(Reply::parse(&bytes).is_ok());
            for (at, byte, how) in edits {
                if bytes.is_empty() {
                    break;
                }
                let i = at % bytes.len();
                match how {
                    0 => bytes[i] = byte,
                    1 => bytes[i] ^= 0xC0,
                    2 => bytes.truncate(i),
                    _ => bytes.insert(i, byte),
                }
                agree(&bytes)?;
            }
        }

        /// Random bytes behind a plausible header are refused or read, never a panic.
        #[test]
        fn random_datagrams_are_read_or_refused(
            counts in any::<[u8; 4]>(),
            body in prop::collection::vec(any::<u8>(), 0..200),
        ) {
            let header = [0, 1, 0x81, 0x80, 0, counts[0] % 3, 0, counts[1] % 5, 0, counts[2] % 3, 0, counts[3] % 3];
            let bytes = [&header[..], &body].concat();
            agree(&bytes)?;
        }
    }
}
