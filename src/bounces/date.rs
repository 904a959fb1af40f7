//! The dates of mail headers and report fields (RFC 5322 §3.3), as Unix time.
//!
//! `mailparse::dateparse` is the definition. The layout nearly every mail system writes,
//! `[Ddd, ]D Mon YYYY HH:MM:SS ±HHMM`, is read here by hand (without the tokens, the uppercased
//! copies and the year-by-year count mailparse goes through); every other text goes to
//! mailparse. A property test holds the two to the same answer.

/// The Unix time of a date as mailparse reads it, or `None` where mailparse finds none.
pub fn parse(text: &str) -> Option<i64> {
    common(text).or_else(|| mailparse::dateparse(text).ok())
}

/// The common layout, with the answer mailparse gives it; `None` for any other text, and for
/// the values mailparse refuses (a day outside 1-31, a year before 1970, a zone beyond ±2400).
/// After the zone, only the end of the text or a space (mailparse reads no further).
fn common(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    // An optional day of the week: three letters, a comma, a space.
    let mut at = if b.len() > 5 && b[..3].iter().all(u8::is_ascii_alphabetic) && &b[3..5] == b", " {
        5
    } else {
        0
    };
    let digits = |from: usize, n: usize| -> Option<i64> {
        let part = b.get(from..from + n)?;
        part.iter()
            .all(u8::is_ascii_digit)
            .then(|| part.iter().fold(0, |v, d| v * 10 + i64::from(d - b'0')))
    };
    let day_len = if b.get(at + 1) == Some(&b' ') { 1 } else { 2 };
    let day = digits(at, day_len)?;
    at += day_len;
    if !(1..=31).contains(&day) || b.get(at) != Some(&b' ') {
        return None;
    }
    let month = MONTHS.iter().position(|m| {
        b.get(at + 1..at + 4)
            .is_some_and(|t| t.eq_ignore_ascii_case(m))
    })?;
    at += 4;
    if b.get(at) != Some(&b' ') {
        return None;
    }
    let year = digits(at + 1, 4)?;
    at += 5;
    if year < 1970 || b.get(at) != Some(&b' ') {
        return None;
    }
    let hour = digits(at + 1, 2)?;
    let minute = digits(at + 4, 2)?;
    let second = digits(at + 7, 2)?;
    if b.get(at + 3) != Some(&b':') || b.get(at + 6) != Some(&b':') || b.get(at + 9) != Some(&b' ')
    {
        return None;
    }
    at += 10;
    let sign = match b.get(at) {
        Some(b'+') => 1,
        Some(b'-') => -1,
        _ => return None,
    };
    let zone = digits(at + 1, 4)?;
    at += 5;
    if zone > 2400 || !(at == b.len() || b[at] == b' ') {
        return None;
    }
    let offset = zone / 100 * 3600 + zone % 100 * 60;
    let days = days_since_epoch(year, month as i64 + 1, day);
    Some(days * 86_400 + hour * 3600 + minute * 60 + second - sign * offset)
}

const MONTHS: [&[u8]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// Days from 1970-01-01 to the given day of the proleptic Gregorian calendar; the day of the
/// month is not checked against the month's length (mailparse does not check it either).
fn days_since_epoch(year: i64, month: i64, day: i64) -> i64 {
    // Howard Hinnant's `days_from_civil`: years counted from March, so that the leap day ends
    // the year.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let year_of_era = y - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468 + (day - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::mutated;
    use proptest::prelude::*;
    use proptest::strategy::ValueTree;

    #[test]
    fn the_common_layout_is_read_by_hand() {
        for text in [
            "Wed, 7 Aug 2024 09:59:00 +0000",
            "Sun, 25 Sep 2016 18:36:33 -0400",
            "1 Mar 2100 00:00:00 +0530",
            "Tue, 29 Feb 2000 23:59:59 -2400 (EST)",
        ] {
            assert_eq!(common(text), mailparse::dateparse(text).ok(), "{text}");
            assert!(common(text).is_some(), "{text}");
        }
        assert_eq!(
            parse("Sun, 25 Sep 2016 18:36:33 -0400"),
            Some(1_474_842_993)
        );
        // Others go to mailparse.
        assert_eq!(common("Wed, 7 August 2024 09:59:00 +0000"), None);
        assert_eq!(
            parse("7 August 2024 09:59:00 GMT"),
            mailparse::dateparse("7 August 2024 09:59:00 GMT").ok()
        );
        assert_eq!(common("Wed, 7 Aug 1969 09:59:00 +0000"), None);
        assert_eq!(common("Wed, 7 Aug 2024 09:59:00 +0000(UTC)"), None);
    }

    fn date_text() -> impl Strategy<Value = String> {
        (
            prop_oneof![Just(""), Just("Wed, "), Just("sun, "), Just("Wed,  "), Just("12, ")],
            0u32..40,
            prop_oneof![Just("Jan"), Just("feb"), Just("MAR"), Just("Dec"), Just("Aug"), Just("Sept"), Just("Foo")],
            prop_oneof![1965u32..2600, 0u32..100, Just(2100), Just(2400)],
            (0u32..100, 0u32..100, 0u32..100),
            prop_oneof![Just('+'), Just('-'), Just('~')],
            0u32..3000,
            prop_oneof![Just(""), Just(" (UTC)"), Just("(UTC)"), Just(" GMT"), Just("\t")],
            any::<bool>(),
        )
            .prop_map(|(weekday, day, month, year, (h, m, s), sign, zone, tail, pad)| {
                let day = if pad { format!("{day:02}") } else { day.to_string() };
                format!("{weekday}{day} {month} {year:04} {h:02}:{m:02}:{s:02} {sign}{zone:04}{tail}")
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, failure_persistence: None, ..ProptestConfig::default() })]

        /// What is read by hand is what mailparse reads; mutated texts too.
        #[test]
        fn reads_as_mailparse_reads(
            text in date_text(), at in any::<usize>(), how in 0..4u8,
            byte in prop_oneof![Just(b' '), Just(b':'), Just(b'+'), Just(b'0'), Just(b'9'), any::<u8>()],
        ) {
            let bytes = mutated(text.into_bytes(), at, byte, how);
            let text = String::from_utf8_lossy(&bytes);
            if let Some(t) = common(&text) {
                prop_assert_eq!(Ok(t), mailparse::dateparse(&text).map_err(|e| e.to_string()), "{}", text);
            }
            prop_assert_eq!(parse(&text), mailparse::dateparse(&text).ok(), "{}", text);
        }
    }

    #[test]
    fn most_generated_dates_are_read_by_hand() {
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let mut by_hand = 0;
        for _ in 0..2000 {
            let text = date_text().new_tree(&mut runner).unwrap().current();
            by_hand += usize::from(common(&text).is_some());
        }
        assert!(by_hand > 100, "{by_hand} of 2000 read by hand");
    }
}
