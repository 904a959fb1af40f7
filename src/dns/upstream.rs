//! Which name servers the DNS stage asks, with which client, timeout and tries: decided once,
//! here, from the configuration.
//!
//! With `--dns-server` the given servers are used. Without it, the system configuration is read
//! from `resolv.conf` (`/etc/resolv.conf` unless another file is named): its `nameserver` lines
//! (IPv4 and IPv6; a port as `[address]:port`, as OpenBSD's resolv.conf(5) allows) and its
//! `options timeout:N attempts:N ndots:N`. A timeout or a number of tries given on the command
//! line wins over the file's; the file's win over mailscrub's defaults. Both clients, the
//! pipelined one and hickory-resolver, are built from the same list, so the system path and the
//! `--dns-server` path differ only in where the list comes from.
//!
//! `ndots` and `search` are read but have no effect: every name mailscrub asks is the domain of an
//! address, which is absolute.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::{DnsConfig, DnsError, Engine};

use crate::defaults::{DNS_ATTEMPTS, DNS_TIMEOUT_SECS, RESOLV_CONF as SYSTEM_RESOLV_CONF};

/// What a resolv.conf file says that mailscrub uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResolvConf {
    /// Name servers in file order, duplicates removed.
    pub servers: Vec<SocketAddr>,
    /// `options timeout:N`.
    pub timeout: Option<Duration>,
    /// `options attempts:N`.
    pub attempts: Option<usize>,
    /// `options ndots:N` (read, not applied: every name asked is absolute).
    pub ndots: Option<u32>,
}

impl ResolvConf {
    /// Reads the resolv.conf format (resolv.conf(5)). Lines that are not understood are skipped,
    /// as the C library does.
    pub fn parse(text: &str) -> ResolvConf {
        let mut conf = ResolvConf::default();
        for line in text.lines() {
            let line = line.split(['#', ';']).next().unwrap_or("");
            let mut words = line.split_whitespace();
            match words.next() {
                Some("nameserver") => {
                    if let Some(addr) = words.next().and_then(parse_nameserver) {
                        if !conf.servers.contains(&addr) {
                            conf.servers.push(addr);
                        }
                    }
                }
                Some("options") => {
                    for option in words {
                        let Some((key, value)) = option.split_once(':') else {
                            continue;
                        };
                        match key {
                            "timeout" => {
                                conf.timeout = value
                                    .parse::<u64>()
                                    .ok()
                                    .filter(|&s| s > 0)
                                    .map(Duration::from_secs)
                            }
                            "attempts" => {
                                conf.attempts = value.parse::<usize>().ok().filter(|&n| n > 0)
                            }
                            "ndots" => conf.ndots = value.parse().ok(),
                            _ => {}
                        }
                    }
                }
                _ => {}
            }
        }
        conf
    }

    /// Reads and parses `path`.
    pub fn read(path: &Path) -> Result<ResolvConf, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Ok(ResolvConf::parse(&text))
    }
}

/// One `nameserver` value: `192.0.2.1`, `2001:db8::1`, `fe80::1%eth0` (the zone is dropped),
/// `[2001:db8::1]:5353` or `[192.0.2.1]:5353`.
fn parse_nameserver(word: &str) -> Option<SocketAddr> {
    if let Some(rest) = word.strip_prefix('[') {
        let (host, port) = rest.split_once(']')?;
        let ip: IpAddr = host.split('%').next()?.parse().ok()?;
        let port = match port.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if port.is_empty() => 53,
            None => return None,
        };
        return Some(SocketAddr::new(ip, port));
    }
    let ip: IpAddr = word.split('%').next()?.parse().ok()?;
    Some(SocketAddr::new(ip, 53))
}

/// Where the servers of a run come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// `--dns-server`.
    Given,
    /// A resolv.conf file.
    ResolvConf(PathBuf),
}

/// The servers, client, timeout and tries of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upstream {
    /// The servers, in the order they are tried.
    pub servers: Vec<SocketAddr>,
    /// The client that asks them.
    pub engine: Engine,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Tries per query.
    pub attempts: usize,
    /// Where the servers came from.
    pub source: Source,
}

/// Decides the run's upstream: the given servers, or the resolv.conf file's; the command line's
/// timeout and tries, or the file's, or the defaults. An error when there is no server to ask.
pub fn choose(config: &DnsConfig) -> Result<Upstream, DnsError> {
    let (servers, file, source) = if config.servers.is_empty() {
        let path = config
            .resolv_conf
            .clone()
            .unwrap_or_else(|| PathBuf::from(SYSTEM_RESOLV_CONF));
        let conf = ResolvConf::read(&path).map_err(DnsError::NoServer)?;
        if conf.servers.is_empty() {
            return Err(DnsError::NoServer(format!(
                "{} lists no name server; give one with --dns-server, or run with --no-dns",
                path.display()
            )));
        }
        (conf.servers.clone(), conf, Source::ResolvConf(path))
    } else {
        (config.servers.clone(), ResolvConf::default(), Source::Given)
    };
    Ok(Upstream {
        servers,
        engine: config.engine,
        timeout: config
            .timeout
            .or(file.timeout)
            .unwrap_or(Duration::from_secs_f64(DNS_TIMEOUT_SECS)),
        attempts: config
            .attempts
            .or(file.attempts)
            .unwrap_or(DNS_ATTEMPTS)
            .max(1),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_servers_of_both_families_and_options() {
        let conf = ResolvConf::parse(
            "# written by hand\nsearch example.org\nnameserver 192.0.2.1\n\
             nameserver 2001:db8::53 # the v6 one\nnameserver fe80::1%eth0\n\
             nameserver [::1]:5353\nnameserver [127.0.0.1]:5300\nnameserver 192.0.2.1\n\
             nameserver not-an-address\noptions ndots:2 timeout:7 attempts:4 rotate\n",
        );
        let want: Vec<SocketAddr> = [
            "192.0.2.1:53",
            "[2001:db8::53]:53",
            "[fe80::1]:53",
            "[::1]:5353",
            "127.0.0.1:5300",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        assert_eq!(conf.servers, want);
        assert_eq!(conf.timeout, Some(Duration::from_secs(7)));
        assert_eq!(conf.attempts, Some(4));
        assert_eq!(conf.ndots, Some(2));
    }

    #[test]
    fn the_default_reads_the_system_file_and_the_command_line_wins() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("resolv.conf");
        std::fs::write(
            &path,
            "nameserver 127.0.0.1\nnameserver ::1\noptions timeout:9 attempts:3\n",
        )
        .unwrap();
        let mut config = DnsConfig {
            resolv_conf: Some(path.clone()),
            ..DnsConfig::default()
        };
        let up = choose(&config).unwrap();
        assert_eq!(up.servers.len(), 2, "both families are used");
        assert_eq!(up.engine, Engine::Wire, "the default client");
        assert_eq!(up.timeout, Duration::from_secs(9));
        assert_eq!(up.attempts, 3);
        assert_eq!(up.source, Source::ResolvConf(path));

        config.timeout = Some(Duration::from_millis(500));
        config.attempts = Some(1);
        let up = choose(&config).unwrap();
        assert_eq!((up.timeout, up.attempts), (Duration::from_millis(500), 1));

        config.servers = vec!["127.0.0.2:5353".parse().unwrap()];
        let up = choose(&config).unwrap();
        assert_eq!(up.servers, config.servers);
        assert_eq!(up.source, Source::Given);
        assert_eq!(
            (up.timeout, up.attempts),
            (Duration::from_millis(500), 1),
            "the file's options do not apply to servers it did not name"
        );
    }

    #[test]
    fn no_file_or_no_server_is_an_error_that_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("resolv.conf");
        std::fs::write(&empty, "search example.org\n").unwrap();
        let config = DnsConfig {
            resolv_conf: Some(empty),
            ..DnsConfig::default()
        };
        assert!(choose(&config)
            .unwrap_err()
            .to_string()
            .contains("--dns-server"));
        let config = DnsConfig {
            resolv_conf: Some(dir.path().join("missing")),
            ..DnsConfig::default()
        };
        assert!(choose(&config)
            .unwrap_err()
            .to_string()
            .contains("cannot read"));
    }

    #[test]
    fn without_a_file_the_system_path_is_used() {
        let config = DnsConfig::default();
        match choose(&config) {
            Ok(up) => assert_eq!(
                up.source,
                Source::ResolvConf(PathBuf::from(SYSTEM_RESOLV_CONF))
            ),
            Err(e) => assert!(e.to_string().contains(SYSTEM_RESOLV_CONF), "{e}"),
        }
    }
}
