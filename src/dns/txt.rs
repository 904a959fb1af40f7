//! TXT records, for `mailscrub lint`'s authentication checks (SPF, DMARC, DKIM keys).
//!
//! The same upstream as a `clean` run ([`super::upstream::choose`]: `--dns-server`, or the
//! system's resolv.conf) and the same spoof-checked client (`wire::WireClient`); a few
//! names per message, so no bulk machinery. A fault is [`TxtAnswer::Failed`], never "no record":
//! a check that needs the record then says it could not tell.

use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RecordType};
use std::str::FromStr;
use std::sync::Arc;

use super::packet::Data;
use super::upstream;
use super::wire::{Counters, WireClient};
use super::{DnsConfig, DnsError};

/// How the question for one name's TXT records ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxtAnswer {
    /// The name's TXT strings, each record's character-strings joined (RFC 7208 §3.3).
    Records(Vec<String>),
    /// The name does not exist, or has no TXT record.
    None,
    /// No usable answer (timeout, SERVFAIL, a name that cannot be asked).
    Failed(String),
}

/// Asks the TXT records of each name, answers in the order given.
pub fn lookup(config: &DnsConfig, names: &[String]) -> Result<Vec<TxtAnswer>, DnsError> {
    let upstream = upstream::choose(config)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| DnsError::Setup(e.to_string()))?;
    runtime.block_on(async move {
        let client = WireClient::new(
            upstream.servers.clone(),
            upstream.timeout,
            upstream.attempts,
            Arc::new(Counters::default()),
        )
        .await
        .map_err(|e| DnsError::Setup(e.to_string()))?;
        let asks = names.iter().map(|n| ask(&client, n));
        Ok(futures_util::future::join_all(asks).await)
    })
}

async fn ask(client: &WireClient, name: &str) -> TxtAnswer {
    let fqdn = match Name::from_str(&format!("{}.", name.trim_end_matches('.'))) {
        Ok(n) => n,
        Err(e) => return TxtAnswer::Failed(format!("{name:?} cannot be asked: {e}")),
    };
    match client.query_following(&fqdn, RecordType::TXT).await {
        Err(e) => TxtAnswer::Failed(e),
        Ok(m) => match m.rcode {
            ResponseCode::NXDomain => TxtAnswer::None,
            ResponseCode::NoError => {
                let records: Vec<String> = m
                    .answers
                    .iter()
                    .filter_map(|r| match &r.data {
                        Data::Txt(t) => Some(t.clone()),
                        _ => None,
                    })
                    .collect();
                if records.is_empty() {
                    TxtAnswer::None
                } else {
                    TxtAnswer::Records(records)
                }
            }
            code => TxtAnswer::Failed(format!("the server answered {code}")),
        },
    }
}
