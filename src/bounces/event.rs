//! An event as a format reader sees it, before its recipient is normalised, and the one rule
//! for the texts it carries. Every reader (messages, logs, ESP exports) builds these.

use super::classify::EventClass;

/// An event as read from a message, before its recipient is normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEvent {
    /// The recipient as written.
    pub recipient: String,
    /// Unix time, when the message says.
    pub timestamp: Option<i64>,
    /// Basic SMTP reply code.
    pub smtp_code: Option<u16>,
    /// Enhanced status code.
    pub status: Option<String>,
    /// The remote server's words (or the report's).
    pub diagnostic: String,
    /// The class.
    pub class: EventClass,
}

/// White space collapsed, at most 500 characters. Built in one string: every event of a
/// bounce list passes here, and the vector of words, its join and the copy made to truncate
/// were three allocations an event.
pub fn squash(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for word in text.split_whitespace() {
        if !s.is_empty() {
            s.push(' ');
        }
        s.push_str(word);
    }
    truncate(s)
}

/// `s` cut to at most 500 characters (497 and `...`).
pub(crate) fn truncate(s: String) -> String {
    // Up to 500 bytes is up to 500 characters: no count needed for almost every text.
    if s.len() <= 500 || s.chars().count() <= 500 {
        return s;
    }
    let mut out: String = s.chars().take(497).collect();
    out.push_str("...");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn squash_collapses_white_space_and_keeps_500_characters() {
        assert_eq!(
            squash("  550 5.1.1\r\n\t user   unknown \n"),
            "550 5.1.1 user unknown"
        );
        assert_eq!(squash(" \t\n"), "");
        let exact = "a".repeat(500);
        assert_eq!(squash(&exact), exact);
        let long = "a".repeat(501);
        assert_eq!(squash(&long), format!("{}...", "a".repeat(497)));
        // Characters, not bytes: 400 two-byte characters (800 bytes) stay whole; 600 are cut.
        let wide = "é".repeat(400);
        assert_eq!(squash(&wide), wide);
        let wider = "é".repeat(600);
        assert_eq!(squash(&wider), format!("{}...", "é".repeat(497)));
    }
}
