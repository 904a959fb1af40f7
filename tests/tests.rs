//! The integration tests: one binary, one harness ([`support`]), the built `mailscrub` driven as
//! a user would, on files made for each case, against a DNS server on loopback.

mod support;

mod bounces;
mod clean;
mod commit;
mod dns;
mod exports;
mod html;
mod lint;
mod parquet;
mod props;
