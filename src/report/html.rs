//! `report.html`: the run as a person reads it, one self-contained file (no script, no network,
//! readable as a mail attachment). Charts are inline SVG drawn here: a few bars need no library
//! to vendor and keep up, and an SVG `rect` per mark is what the browser test counts.
//!
//! Complaint-rate thresholds are the ones Google and Yahoo published for bulk senders in 2024
//! (Google's Email sender guidelines: keep the user-reported spam rate below 0.1% and never
//! reach 0.3%; Yahoo's Sender Best Practices: the same 0.3%). No mailbox provider publishes a
//! bounce-rate threshold; the 2% shown for hard bounces is the common ESP guidance, marked so.

use std::fmt::Write as _;

use super::history::Summary;
use super::Report;

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A horizontal bar chart of `(label, value)`: one `rect.mark` per bar, in an `svg` with
/// `data-chart=name`.
fn bars(name: &str, rows: &[(String, u64)], color: &str) -> String {
    let max = rows.iter().map(|r| r.1).max().unwrap_or(0).max(1);
    let height = 22 * rows.len().max(1) + 4;
    let mut s = format!(
        "<svg data-chart=\"{name}\" width=\"640\" height=\"{height}\" role=\"img\" aria-label=\"{name}\">"
    );
    for (i, (label, value)) in rows.iter().enumerate() {
        let y = 22 * i + 2;
        let w = (*value as f64 / max as f64 * 380.0).round() as u64;
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{}\" font-size=\"12\">{}</text><rect class=\"mark\" x=\"200\" y=\"{y}\" width=\"{w}\" height=\"16\" fill=\"{color}\"></rect><text x=\"{}\" y=\"{}\" font-size=\"12\">{value}</text>",
            y + 13,
            esc(label),
            205 + w,
            y + 13
        );
    }
    s.push_str("</svg>");
    s
}

/// The counts above zero, as (label, count) bars.
fn nonzero(counts: &std::collections::BTreeMap<&'static str, u64>) -> Vec<(String, u64)> {
    counts
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(label, n)| ((*label).to_owned(), *n))
        .collect()
}

/// The accounting identity as one stacked bar: rows in = kept + suppressed + duplicates +
/// rejected.
fn identity(report: &Report) -> String {
    let c = &report.counts;
    let total = c.rows_in.max(1) as f64;
    let mut parts = vec![
        ("kept", c.kept, "#2e7d32"),
        ("suppressed", c.suppressed, "#c62828"),
        ("duplicates", c.duplicates, "#f9a825"),
        ("rejected", c.rejected, "#6d4c41"),
    ];
    if c.other_partition > 0 {
        parts.push(("other partitions", c.other_partition, "#9e9e9e"));
    }
    let mut s = String::from(
        "<svg data-chart=\"identity\" width=\"640\" height=\"60\" role=\"img\" aria-label=\"accounting\">",
    );
    let mut x = 0.0;
    for (label, n, color) in parts {
        let w = n as f64 / total * 640.0;
        let _ = write!(
            s,
            "<rect class=\"mark\" x=\"{x:.1}\" y=\"0\" width=\"{w:.1}\" height=\"30\" fill=\"{color}\"><title>{label} {n}</title></rect>"
        );
        x += w;
    }
    let _ = write!(
        s,
        "<text x=\"0\" y=\"50\" font-size=\"12\">{}</text></svg>",
        esc(&report.identity)
    );
    s
}

fn rate_row(name: &str, value: Option<f64>, limit: f64, source: &str) -> String {
    let (shown, class) = match value {
        Some(v) if v >= limit => (format!("{:.3}%", v * 100.0), "bad"),
        Some(v) => (format!("{:.3}%", v * 100.0), "ok"),
        None => ("not known (no deliveries in the history)".to_owned(), ""),
    };
    format!(
        "<tr><td>{name}</td><td class=\"{class}\">{shown}</td><td>{:.1}%</td><td>{source}</td></tr>",
        limit * 100.0
    )
}

/// Renders the report (and the last runs of the history, when there is one) as HTML.
pub fn render(report: &Report, history: &[Summary]) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>mailscrub report {}</title><style>body{{font-family:sans-serif;max-width:720px;margin:2em auto;color:#222}}h2{{margin-top:1.6em;border-bottom:1px solid #ccc}}table{{border-collapse:collapse}}td,th{{padding:2px 8px;border-bottom:1px solid #eee;text-align:left}}.bad{{color:#c62828;font-weight:bold}}.ok{{color:#2e7d32}}.warn{{background:#fff3e0;padding:6px}}</style></head><body>",
        esc(&report.finished_at)
    );
    let _ = write!(
        h,
        "<h1>mailscrub</h1><p>Run finished {}; mailscrub {}.</p>",
        esc(&report.finished_at),
        report.mailscrub_version
    );
    if !report.warnings.is_empty() {
        h.push_str("<h2>Warnings</h2>");
        for w in &report.warnings {
            let _ = write!(h, "<p class=\"warn\">{}</p>", esc(w));
        }
    }
    h.push_str("<h2>Every row accounted for</h2>");
    h.push_str(&identity(report));
    let reasons = nonzero(&report.reasons);
    h.push_str("<h2>Suppressed, by reason</h2>");
    h.push_str(&bars("reasons", &reasons, "#c62828"));
    let flags = nonzero(&report.flags);
    h.push_str("<h2>Kept, with flags</h2>");
    h.push_str(&bars("flags", &flags, "#1565c0"));
    if let Some(dns) = &report.dns {
        h.push_str("<h2>Domains that cost the most rows</h2><table><tr><th>domain</th><th>class</th><th>rows</th></tr>");
        for d in &dns.top_affected_domains {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.domain),
                d.class,
                d.rows
            );
        }
        h.push_str("</table>");
    }
    if let Some(b) = &report.bounces {
        let classes = nonzero(&b.events_by_class);
        h.push_str("<h2>Bounce and feedback events, by class</h2>");
        h.push_str(&bars("bounce-classes", &classes, "#6a1b9a"));
        h.push_str("<h2>Rates against the providers' thresholds</h2><table><tr><th>rate</th><th>tonight</th><th>threshold</th><th>source</th></tr>");
        h.push_str(&rate_row(
            "complaints / deliveries",
            b.rates.complaint_rate,
            0.003,
            "Google Email sender guidelines and Yahoo Sender Best Practices (2024): below 0.3%, aim for 0.1%",
        ));
        h.push_str(&rate_row(
            "hard bounces / attempts",
            b.rates.hard_bounce_rate,
            0.02,
            "common ESP guidance (no mailbox provider publishes one)",
        ));
        h.push_str("</table>");
        if !b.sender_side.is_empty() {
            h.push_str("<h2>Sender-side problems (nobody was suppressed for these)</h2><table><tr><th>receiving domain</th><th>code</th><th>events</th><th>what to do</th></tr>");
            for g in &b.sender_side {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    esc(&g.receiving_domain),
                    esc(&g.code),
                    g.events,
                    esc(g.advice)
                );
            }
            h.push_str("</table>");
        }
    }
    if !history.is_empty() {
        let runs: Vec<(String, u64)> = history
            .iter()
            .map(|s| (s.finished_at.chars().take(10).collect(), s.new_suppressions))
            .collect();
        let _ = write!(h, "<h2>New suppressions, last {} runs</h2>", history.len());
        h.push_str(&bars("history", &runs, "#00838f"));
    }
    h.push_str("<h2>Inputs</h2><table><tr><th>file</th><th>email column</th><th>rows</th><th>kept</th></tr>");
    for i in &report.inputs {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&i.file),
            esc(i.email_column_name.as_deref().unwrap_or("-")),
            i.counts.rows_in,
            i.counts.kept
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_have_one_mark_per_row_and_text_is_escaped() {
        let svg = bars("x", &[("<a>".to_owned(), 3), ("b".to_owned(), 0)], "red");
        assert_eq!(svg.matches("class=\"mark\"").count(), 2);
        assert!(svg.contains("&lt;a&gt;"));
    }
}
