//! Address validation: `address::check` plus the dedupe key, per address, on the generator's
//! realistic mix (valid webmail and company addresses, IDN, typos, invalid shapes, wrapping).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use mailscrub::address::{check, dedupe_key, AddressRules, FlagLists};

#[allow(dead_code)]
#[path = "../examples/gen.rs"]
mod gen;

fn sample_addresses(n: u64) -> Vec<String> {
    let mut buf = Vec::new();
    gen::write_list(n, 7, &mut buf).expect("generate");
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(buf.as_slice());
    reader
        .records()
        .filter_map(Result::ok)
        .filter_map(|r| r.get(1).map(str::to_owned))
        .filter(|e| !e.is_empty())
        .collect()
}

fn bench(c: &mut Criterion) {
    let addresses = sample_addresses(20_000);
    let rules = AddressRules::default();
    let lists = FlagLists::builtin();
    let mut group = c.benchmark_group("validate");
    group.throughput(Throughput::Elements(addresses.len() as u64));
    group.bench_function("check+key (generated mix)", |b| {
        b.iter(|| {
            let mut valid = 0usize;
            for a in &addresses {
                let checked = check(a, &rules, &lists);
                let _ = std::hint::black_box(dedupe_key(&checked, false));
                valid += usize::from(checked.is_valid());
            }
            valid
        })
    });
    let plain: Vec<&String> = addresses
        .iter()
        .filter(|a| a.is_ascii() && !a.contains(['<', ' ', ':']))
        .collect();
    group.throughput(Throughput::Elements(plain.len() as u64));
    group.bench_function("email_address crate alone (plain ASCII subset)", |b| {
        b.iter(|| {
            plain
                .iter()
                .filter(|a| email_address::EmailAddress::is_valid(a))
                .count()
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
