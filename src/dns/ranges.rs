//! Which addresses a mail server on the public Internet can be reached at.
//!
//! An MX host that resolves only to private (RFC 1918), loopback, link-local, CGNAT (RFC 6598),
//! documentation, benchmarking, multicast or otherwise reserved addresses cannot receive mail
//! from the sender: such a domain is `mx_unroutable`. Ranges from the IANA special-purpose address
//! registries (RFC 6890 and successors).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True when `ip` can be the address of a public mail server.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    let reserved = a == 0                                   // "this network"
        || a == 10                                          // RFC 1918
        || a == 127                                         // loopback
        || (a == 100 && (64..128).contains(&b))             // CGNAT, RFC 6598
        || (a == 169 && b == 254)                           // link-local
        || (a == 172 && (16..32).contains(&b))              // RFC 1918
        || (a == 192 && b == 0 && c == 0)                   // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)                   // TEST-NET-1
        || (a == 192 && b == 168)                           // RFC 1918
        || (a == 198 && (b == 18 || b == 19))               // benchmarking, RFC 2544
        || (a == 198 && b == 51 && c == 100)                // TEST-NET-2
        || (a == 203 && b == 0 && c == 113)                 // TEST-NET-3
        || a >= 224; // multicast, reserved, broadcast
    !reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let reserved = ip.is_unspecified()
        || ip.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00                        // unique local, fc00::/7
        || (s[0] & 0xffc0) == 0xfe80                        // link-local, fe80::/10
        || (s[0] & 0xff00) == 0xff00                        // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8)               // documentation
        || (s[0] == 0x2001 && s[1] == 0x0002 && s[2] == 0)  // benchmarking
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only
        || s[0] == 0; // other ::/16 forms (IPv4-compatible, reserved)
    !reserved
}

#[cfg(test)]
mod tests {
    use super::*;

    fn public(s: &str) -> bool {
        is_public(s.parse().unwrap())
    }

    #[test]
    fn private_and_reserved_are_not_public() {
        for s in [
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(!public(s), "{s}");
        }
    }

    #[test]
    fn public_addresses_are_public() {
        for s in [
            "8.8.8.8",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "2a00:1450::1",
            "::ffff:8.8.4.4",
        ] {
            assert!(public(s), "{s}");
        }
    }
}
