//! What one delivery event says about the recipient: the status-code classifier.
//!
//! Order, as list managers and bounce parsers do it: the enhanced status code first (RFC 3463),
//! where it decides; then provider-specific texts (Microsoft, Google, Yahoo, ...); then general
//! texts; then the basic SMTP reply code. Codes that are ambiguous (`5.7.1`, `5.4.1`, `5.0.0`,
//! `5.5.0`, ...) let the text decide. The tables are in `shared/reference/bounce-codes.md` and
//! the README.

use serde::Serialize;
use std::sync::LazyLock;

/// The class of one event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EventClass {
    /// The mailbox or domain does not exist or has moved: suppress at once.
    Dead,
    /// Mailbox full, disabled, suspended, delivery expired: counts towards a threshold.
    RecipientSoft,
    /// The sender is blocked, unauthenticated or its content refused: never the recipient's fault.
    SenderSide,
    /// Temporary: throttling, greylisting, deferral, network trouble.
    Transient,
    /// A spam complaint (ARF, ESP spam report).
    Complaint,
    /// The recipient unsubscribed.
    Unsubscribe,
    /// An earlier suppression (mailscrub's own file, an ESP's suppression export).
    Suppressed,
    /// The message was delivered.
    Delivered,
    /// Not a bounce at all (auto-reply, a report about something else).
    NotABounce,
}

impl EventClass {
    /// Every class, in report order.
    pub const ALL: [EventClass; 9] = [
        EventClass::Dead,
        EventClass::RecipientSoft,
        EventClass::SenderSide,
        EventClass::Transient,
        EventClass::Complaint,
        EventClass::Unsubscribe,
        EventClass::Suppressed,
        EventClass::Delivered,
        EventClass::NotABounce,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventClass::Dead => "dead",
            EventClass::RecipientSoft => "recipient_soft",
            EventClass::SenderSide => "sender_side",
            EventClass::Transient => "transient",
            EventClass::Complaint => "complaint",
            EventClass::Unsubscribe => "unsubscribe",
            EventClass::Suppressed => "suppressed",
            EventClass::Delivered => "delivered",
            EventClass::NotABounce => "not_a_bounce",
        }
    }
}

/// An enhanced status code `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enhanced {
    /// 2, 4 or 5.
    pub class: u16,
    /// Subject (1 addressing, 2 mailbox, ... 7 security).
    pub subject: u16,
    /// Detail.
    pub detail: u16,
}

impl Enhanced {
    /// Parses `5.1.1`; `None` for anything else.
    pub fn parse(s: &str) -> Option<Enhanced> {
        // The parts between dots, found by byte: `split('.')` compares each dot it finds
        // through a call, and this runs for every status a report or a reply holds.
        let s = s.trim();
        let dot = |from: usize| {
            s.bytes()
                .skip(from)
                .position(|b| b == b'.')
                .map(|i| from + i)
        };
        let first = dot(0)?;
        let second = dot(first + 1)?;
        if dot(second + 1).is_some() {
            return None;
        }
        let class: u16 = s[..first].parse().ok()?;
        let subject: u16 = s[first + 1..second].parse().ok()?;
        let detail: u16 = s[second + 1..].parse().ok()?;
        if !matches!(class, 2 | 4 | 5) || subject > 999 || detail > 999 {
            return None;
        }
        Some(Enhanced {
            class,
            subject,
            detail,
        })
    }
}

/// What the code alone says.
enum ByCode {
    Decided(EventClass),
    /// The text must decide; this is the answer when it does not.
    Ambiguous(EventClass),
}

fn by_enhanced(e: Enhanced) -> ByCode {
    use ByCode::*;
    use EventClass::*;
    match (e.class, e.subject, e.detail) {
        (2, _, _) => Decided(Delivered),
        // Microsoft: throttled / temporarily restricted (451 4.7.500-699, 4.7.850-899).
        (4, 7, _) => Decided(Transient),
        (4, 2, 2) => Decided(RecipientSoft),
        // Expired after retries is soft when it is final, transient when it is a delay; the
        // caller turns `Action: delayed` into transient before this.
        (4, 4, 1) | (4, 4, 7) => Decided(RecipientSoft),
        (4, _, _) => Ambiguous(Transient),
        (5, 1, 1) | (5, 1, 2) | (5, 1, 3) | (5, 1, 6) | (5, 1, 10) => Decided(Dead),
        (5, 1, 7) | (5, 1, 8) => Decided(SenderSide),
        (5, 1, _) => Ambiguous(RecipientSoft),
        (5, 2, 1) => Ambiguous(RecipientSoft),
        (5, 2, 2) => Decided(RecipientSoft),
        (5, 2, 3) => Decided(SenderSide),
        (5, 2, _) => Ambiguous(RecipientSoft),
        (5, 3, 4) => Decided(SenderSide),
        (5, 3, _) => Ambiguous(RecipientSoft),
        (5, 4, 4) => Ambiguous(Dead),
        (5, 4, 7) => Decided(RecipientSoft),
        (5, 4, _) => Ambiguous(SenderSide),
        (5, 5, _) => Ambiguous(SenderSide),
        (5, 6, _) => Decided(SenderSide),
        (5, 7, 17) | (5, 7, 18) => Decided(Dead),
        (5, 7, 13) => Decided(RecipientSoft),
        (5, 7, 12) | (5, 7, 20..=27) => Decided(SenderSide),
        (5, 7, 124) | (5, 7, 133..=136) => Decided(SenderSide),
        (5, 7, 500..=511) | (5, 7, 606..=649) | (5, 7, 700..=750) => Decided(SenderSide),
        (5, 7, _) => Ambiguous(SenderSide),
        (5, 0, 0) => Ambiguous(RecipientSoft),
        _ => Ambiguous(RecipientSoft),
    }
}

/// Texts that overrule a code saying "dead": the code is generic or misused, and the words say
/// the mailbox is only full, or the sender is at fault. A wrong `dead` removes a subscriber for
/// good, so these only ever soften the verdict. Lowercase needles.
const OVERRULE_DEAD: &[(&str, EventClass)] = &[
    ("over quota", EventClass::RecipientSoft),
    ("quota exceeded", EventClass::RecipientSoft),
    ("mailbox full", EventClass::RecipientSoft),
    ("mailbox is full", EventClass::RecipientSoft),
    ("spamhaus", EventClass::SenderSide),
    ("blocklist", EventClass::SenderSide),
    ("blacklist", EventClass::SenderSide),
    ("dnsbl", EventClass::SenderSide),
    ("too many recipients", EventClass::SenderSide),
    ("has sent to too many", EventClass::SenderSide),
];

/// The words of a null MX on the recipient's domain (RFC 7505), which overrule a 5.7.27 that
/// would otherwise mean the sender's domain.
const NULL_MX_RECIPIENT: &[&str] = &["host does not accept mail", "domain does not accept mail"];

/// Provider texts, checked before the general ones. Lowercase needles.
const PROVIDER_TEXTS: &[(&str, EventClass)] = &[
    // Microsoft 365 / Outlook.com
    ("banned sending ip", EventClass::SenderSide),
    (
        "access denied, please try again later",
        EventClass::Transient,
    ),
    (
        "recipient address rejected: access denied",
        EventClass::Dead,
    ),
    (
        "requested action not taken: mailbox unavailable",
        EventClass::Dead,
    ),
    (
        "the email account that you tried to reach does not exist",
        EventClass::Dead,
    ),
    (
        "the email account that you tried to reach is disabled",
        EventClass::RecipientSoft,
    ),
    (
        "the email account that you tried to reach is over quota",
        EventClass::RecipientSoft,
    ),
    ("unusual rate of unsolicited mail", EventClass::Transient),
    (
        "our system has detected an unusual rate",
        EventClass::Transient,
    ),
    ("doesn't have a yahoo.com account", EventClass::Dead),
    ("this user doesn't have a", EventClass::Dead),
    ("this mailbox is disabled", EventClass::RecipientSoft),
    (
        "temporarily deferred due to unexpected volume",
        EventClass::Transient,
    ),
    (
        "messages from your ip have been temporarily deferred",
        EventClass::Transient,
    ),
    (
        "this account has been disabled or discontinued",
        EventClass::RecipientSoft,
    ),
    ("mailbox not found", EventClass::Dead),
    // Outlook.com (older): "550 #5.1.0 Address rejected."
    ("#5.1.0 address rejected", EventClass::Dead),
    // Gmail: the *recipient* receives too much mail; nothing wrong with the address
    ("receiving mail at a rate", EventClass::Transient),
    // Amazon SES: the sender identity is not verified
    ("address is not verified", EventClass::SenderSide),
    // after Microsoft's "Recipient address rejected: Access denied" above
    ("access denied", EventClass::SenderSide),
];

/// General texts, in order: the first match wins.
const GENERAL_TEXTS: &[(&str, EventClass)] = &[
    // sender side first: "blocked ... user unknown" is rare, "user unknown" in a block text rarer
    ("not listed in", EventClass::Dead),
    (
        "malformed or unexpected name server reply",
        EventClass::Transient,
    ),
    ("protocol violation", EventClass::SenderSide),
    ("not implemented", EventClass::SenderSide),
    ("syntax error", EventClass::SenderSide),
    ("command unrecognized", EventClass::SenderSide),
    ("bad sequence of commands", EventClass::SenderSide),
    ("too many recipients", EventClass::SenderSide),
    ("starttls", EventClass::SenderSide),
    ("relaying", EventClass::SenderSide),
    ("spamhaus", EventClass::SenderSide),
    ("blacklist", EventClass::SenderSide),
    ("blocklist", EventClass::SenderSide),
    ("block list", EventClass::SenderSide),
    ("listed at", EventClass::SenderSide),
    ("listed in", EventClass::SenderSide),
    ("dnsbl", EventClass::SenderSide),
    ("rbl", EventClass::SenderSide),
    ("reputation", EventClass::SenderSide),
    ("dmarc", EventClass::SenderSide),
    ("dkim", EventClass::SenderSide),
    ("spf ", EventClass::SenderSide),
    ("spf:", EventClass::SenderSide),
    ("sender policy framework", EventClass::SenderSide),
    ("reverse dns", EventClass::SenderSide),
    ("ptr record", EventClass::SenderSide),
    ("relay access denied", EventClass::SenderSide),
    ("relaying denied", EventClass::SenderSide),
    ("relay not permitted", EventClass::SenderSide),
    ("not permitted to relay", EventClass::SenderSide),
    ("spam", EventClass::SenderSide),
    ("content rejected", EventClass::SenderSide),
    ("message content", EventClass::SenderSide),
    ("too large", EventClass::SenderSide),
    ("size limit", EventClass::SenderSide),
    ("message size exceeds", EventClass::SenderSide),
    ("sender address rejected", EventClass::SenderSide),
    ("sender denied", EventClass::SenderSide),
    ("temporarily locked", EventClass::RecipientSoft),
    ("temporary locked", EventClass::RecipientSoft),
    ("rate limit", EventClass::Transient),
    ("too many connections", EventClass::Transient),
    ("too many messages", EventClass::Transient),
    ("try again later", EventClass::Transient),
    // delay warnings: the message is still queued
    ("warning message only", EventClass::Transient),
    ("has been delayed", EventClass::Transient),
    ("delivery delayed", EventClass::Transient),
    ("delivery is delayed", EventClass::Transient),
    ("will be retried", EventClass::Transient),
    ("still being retried", EventClass::Transient),
    ("not yet been delivered", EventClass::Transient),
    ("greylist", EventClass::Transient),
    ("graylist", EventClass::Transient),
    // Postfix's "delivery temporarily suspended: connect to ...": the destination's server was
    // unreachable, not the account suspended.
    ("delivery temporarily suspended", EventClass::Transient),
    ("service not available", EventClass::Transient),
    // dead
    ("user unknown", EventClass::Dead),
    ("nonexistent user", EventClass::Dead),
    ("non-existent user", EventClass::Dead),
    ("addressee unknown", EventClass::Dead),
    ("is not a known user", EventClass::Dead),
    ("user not known", EventClass::Dead),
    ("no mail box", EventClass::Dead),
    ("mail-box not found", EventClass::Dead),
    ("invalid final delivery userid", EventClass::Dead),
    ("no valid recipients", EventClass::Dead),
    ("unrouteable mail domain", EventClass::Dead),
    ("couldn't find any host by that name", EventClass::Dead),
    ("indicated no smtp service", EventClass::Dead),
    ("domain is not reachable", EventClass::Dead),
    // the same in other languages (German, French, Spanish, Italian, Portuguese, Dutch,
    // Polish, Russian, Japanese, Chinese, Korean)
    ("unbekannt", EventClass::Dead),
    ("existiert nicht", EventClass::Dead),
    ("utilisateur inconnu", EventClass::Dead),
    ("adresse inconnue", EventClass::Dead),
    ("destinataire inconnu", EventClass::Dead),
    ("n'existe pas", EventClass::Dead),
    ("usuario desconocido", EventClass::Dead),
    ("destinatario desconocido", EventClass::Dead),
    ("utente sconosciuto", EventClass::Dead),
    ("usuário desconhecido", EventClass::Dead),
    ("no existe", EventClass::Dead),
    ("não existe", EventClass::Dead),
    ("non esiste", EventClass::Dead),
    ("inexistente", EventClass::Dead),
    ("inesistente", EventClass::Dead),
    ("inexistant", EventClass::Dead),
    ("bestaat niet", EventClass::Dead),
    ("nie istnieje", EventClass::Dead),
    ("不存在", EventClass::Dead),
    ("존재하지 않", EventClass::Dead),
    ("не существует", EventClass::Dead),
    ("пользователь не найден", EventClass::Dead),
    ("нет такого пользователя", EventClass::Dead),
    ("存在しません", EventClass::Dead),
    ("宛先不明", EventClass::Dead),
    ("unknown user", EventClass::Dead),
    ("no such user", EventClass::Dead),
    ("no such mailbox", EventClass::Dead),
    ("no such recipient", EventClass::Dead),
    ("no such account", EventClass::Dead),
    ("unknown recipient", EventClass::Dead),
    ("recipient unknown", EventClass::Dead),
    ("invalid recipient", EventClass::Dead),
    ("invalid mailbox", EventClass::Dead),
    ("invalid address", EventClass::Dead),
    ("address unknown", EventClass::Dead),
    ("unknown address", EventClass::Dead),
    ("does not exist", EventClass::Dead),
    ("doesn't exist", EventClass::Dead),
    ("not exist", EventClass::Dead),
    ("user not found", EventClass::Dead),
    ("recipient not found", EventClass::Dead),
    ("address not found", EventClass::Dead),
    ("no mailbox", EventClass::Dead),
    ("mailbox unavailable", EventClass::Dead),
    ("mailbox is unavailable", EventClass::Dead),
    ("not a valid mailbox", EventClass::Dead),
    ("user doesn't have", EventClass::Dead),
    ("is not a valid", EventClass::Dead),
    ("unrouteable address", EventClass::Dead),
    ("host not found", EventClass::Dead),
    ("host unknown", EventClass::Dead),
    ("domain not found", EventClass::Dead),
    ("no such domain", EventClass::Dead),
    ("name or service not known", EventClass::Dead),
    (
        "all relevant mx records point to non-existent hosts",
        EventClass::Dead,
    ),
    ("no mx record", EventClass::Dead),
    ("null mx", EventClass::Dead),
    ("does not accept mail", EventClass::Dead),
    ("has moved", EventClass::Dead),
    ("no longer", EventClass::Dead),
    // A bare "Recipient address rejected." (the sender-side reasons that can follow it are
    // matched above).
    ("recipient address rejected.", EventClass::Dead),
    // after the dead phrases: "Virus" in a quoted subject must not beat "Unknown Recipient"
    ("virus", EventClass::SenderSide),
    // soft
    ("quota", EventClass::RecipientSoft),
    ("mailbox full", EventClass::RecipientSoft),
    ("mailbox is full", EventClass::RecipientSoft),
    ("mailbox size limit", EventClass::RecipientSoft),
    ("insufficient storage", EventClass::RecipientSoft),
    ("disk full", EventClass::RecipientSoft),
    ("not enough disk space", EventClass::RecipientSoft),
    ("disabled", EventClass::RecipientSoft),
    ("suspended", EventClass::RecipientSoft),
    ("inactive", EventClass::RecipientSoft),
    ("deactivated", EventClass::RecipientSoft),
    ("expired", EventClass::RecipientSoft),
    ("retry timeout exceeded", EventClass::RecipientSoft),
    ("could not be delivered for", EventClass::RecipientSoft),
    ("connection timed out", EventClass::RecipientSoft),
    // broad sender-side policy words last: they also appear in texts decided above
    ("blocked", EventClass::SenderSide),
    ("rejected for policy reasons", EventClass::SenderSide),
    ("policy", EventClass::SenderSide),
    ("not authorized", EventClass::SenderSide),
    ("unauthenticated", EventClass::SenderSide),
    ("authentication", EventClass::SenderSide),
    ("refused", EventClass::SenderSide),
    ("denied", EventClass::SenderSide),
    ("rejected", EventClass::SenderSide),
];

/// Which rule decided a class, for `mailscrub bounces --explain`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rule {
    /// A rule of the user's `--bounce-rules` file (its line).
    User(usize, String),
    /// The enhanced status code alone (RFC 3463 and the providers' published codes).
    Code(Enhanced),
    /// A text that overrules a code saying dead.
    Overrule(Enhanced, &'static str),
    /// A temporary (4.x.x) code: never more than a soft bounce.
    Temporary(Enhanced),
    /// A provider's text.
    ProviderText(&'static str),
    /// A general text.
    GeneralText(&'static str),
    /// The basic reply code.
    ReplyCode(u16),
    /// Nothing matched: the default of the code's class.
    Default,
    /// Words of a dead address given in reply to DATA, not to RCPT TO: a filter's answer.
    AfterData(Box<Rule>),
    /// Words of a dead address said with a doubt ("may not exist, or you may not post").
    Hedged(&'static str, &'static str),
}

impl Rule {
    /// Whether the rule softened words of a dead address (said after DATA, or with a doubt):
    /// the words still say "dead", which matters when they turn out to name the sender.
    pub fn softens_dead(&self) -> bool {
        matches!(self, Rule::AfterData(_) | Rule::Hedged(..))
    }
}

impl std::fmt::Display for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = |e: &Enhanced| format!("{}.{}.{}", e.class, e.subject, e.detail);
        match self {
            Rule::User(line, pattern) => write!(f, "user rule at line {line}: {pattern:?}"),
            Rule::Code(e) => write!(f, "status code {} (RFC 3463 / provider codes)", code(e)),
            Rule::Overrule(e, t) => write!(f, "text {t:?} overrules status code {}", code(e)),
            Rule::Temporary(e) => write!(f, "temporary status code {}", code(e)),
            Rule::ProviderText(t) => write!(f, "provider text {t:?}"),
            Rule::GeneralText(t) => write!(f, "text {t:?}"),
            Rule::ReplyCode(c) => write!(f, "reply code {c}"),
            Rule::Default => write!(f, "no rule matched: the default"),
            Rule::AfterData(r) => write!(
                f,
                "{r}, but given in reply to DATA, not RCPT TO: a filter's answer (the address was accepted), soft"
            ),
            Rule::Hedged(t, hedge) => write!(
                f,
                "text {t:?}, but said with a doubt ({hedge:?}): not a dead address for sure, soft"
            ),
        }
    }
}

/// A user's rule: a lowercase text and the class it gives.
#[derive(Debug, Clone)]
pub struct UserRule {
    /// The text, lowercased.
    pub pattern: String,
    /// The class.
    pub class: EventClass,
    /// The line of the rules file.
    pub line: usize,
}

static USER_RULES: std::sync::OnceLock<Vec<UserRule>> = std::sync::OnceLock::new();

/// Reads a `--bounce-rules` file: one rule a line, `TEXT<TAB>CLASS` (optionally a third field,
/// why, for the reader), `#` comments; CLASS is one of dead, recipient_soft, sender_side,
/// transient. User rules are tried first, before the status code.
pub fn parse_user_rules(text: &str) -> Result<Vec<UserRule>, String> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line_no = i + 1;
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut fields = line.split('\t');
        let pattern = fields.next().unwrap_or("").trim().to_lowercase();
        let class = match fields.next().map(str::trim) {
            Some("dead") => EventClass::Dead,
            Some("recipient_soft") => EventClass::RecipientSoft,
            Some("sender_side") => EventClass::SenderSide,
            Some("transient") => EventClass::Transient,
            other => {
                return Err(format!(
                    "line {line_no}: class {:?}: give dead, recipient_soft, sender_side or transient after a tab",
                    other.unwrap_or("")
                ))
            }
        };
        if pattern.is_empty() {
            return Err(format!("line {line_no}: an empty text matches everything"));
        }
        out.push(UserRule {
            pattern,
            class,
            line: line_no,
        });
    }
    Ok(out)
}

/// Installs the user's rules for this process (`--bounce-rules`); the first call wins.
pub fn set_user_rules(rules: Vec<UserRule>) {
    let _ = USER_RULES.set(rules);
}

/// The needles of a list of texts, looked for all at once: one pass of an Aho-Corasick
/// automaton over the text, instead of a substring search (and its searcher built) for each
/// needle in turn.
struct Needles(aho_corasick::AhoCorasick);

impl Needles {
    fn of(list: &[(&str, EventClass)]) -> Self {
        let automaton = aho_corasick::AhoCorasick::new(list.iter().map(|(needle, _)| needle))
            .expect("the classifier's needles make an automaton");
        Self(automaton)
    }

    /// The first needle *in the list's order* that `text` contains, as
    /// `list.iter().position(|n| text.contains(n))` gives it: every match is seen (overlapping
    /// ones too) and the lowest index wins, wherever in the text it is.
    fn first_in(&self, text: &str) -> Option<usize> {
        self.0
            .find_overlapping_iter(text)
            .map(|m| m.pattern().as_usize())
            .min()
    }
}

/// Provider replies that need their reply code to be read: (code, lowercase text, class).
/// Symantec Email Security.cloud (formerly MessageLabs) refuses an address it does not know
/// with the non-standard code 542 and the address followed by "Rejected".
const PROVIDER_REPLIES: &[(u16, &str, EventClass)] = &[(542, "rejected", EventClass::Dead)];

fn by_text(smtp_code: Option<u16>, text: &str) -> Option<(EventClass, Rule)> {
    let lower = text.to_lowercase();
    PROVIDER_REPLIES
        .iter()
        .find(|(code, needle, _)| smtp_code == Some(*code) && lower.contains(needle))
        .map(|(_, t, class)| (*class, Rule::ProviderText(t)))
        .or_else(|| {
            static NEEDLES: LazyLock<Needles> = LazyLock::new(|| Needles::of(PROVIDER_TEXTS));
            NEEDLES
                .first_in(&lower)
                .map(|i| &PROVIDER_TEXTS[i])
                .map(|(t, class)| (*class, Rule::ProviderText(t)))
        })
        .or_else(|| {
            static NEEDLES: LazyLock<Needles> = LazyLock::new(|| Needles::of(GENERAL_TEXTS));
            NEEDLES
                .first_in(&lower)
                .map(|i| &GENERAL_TEXTS[i])
                .map(|(t, class)| (*class, Rule::GeneralText(t)))
        })
}

/// Classifies a failure from its basic SMTP reply code, enhanced status code and text.
pub fn classify(smtp_code: Option<u16>, status: Option<Enhanced>, text: &str) -> EventClass {
    classify_explained(smtp_code, status, text).0
}

/// [`classify`], and the rule that decided. The order: the user's rules, the status code
/// (with the texts that overrule a dead one, and a temporary code's cap), the provider texts,
/// the general texts, the reply code, the default.
pub fn classify_explained(
    smtp_code: Option<u16>,
    status: Option<Enhanced>,
    text: &str,
) -> (EventClass, Rule) {
    let (class, rule) = by_rules(smtp_code, status, text);
    // RFC 5321 checks a mailbox at RCPT TO; "user unknown" at the end of DATA comes from a
    // filter that refuses the sender (Japanese carriers answer so), and the address exists. A
    // specific address status (5.1.x) or the user's own rule still decides.
    let trusted = matches!(&rule, Rule::User(..) | Rule::ProviderText(_))
        || matches!(&rule, Rule::Code(e) if e.subject == 1);
    if class == EventClass::Dead && !trusted && said_after_data(text) {
        return (EventClass::RecipientSoft, Rule::AfterData(Box::new(rule)));
    }
    // A general text that a notice says with a doubt just before it ("the group may not exist,
    // or you may not post to it", Google Groups in every language) does not prove the address
    // dead. A doubt after it ("does not exist; perhaps a typo") leaves it dead.
    if let (EventClass::Dead, Rule::GeneralText(t)) = (class, &rule) {
        let lower = text.to_lowercase();
        let at = lower.find(t).unwrap_or(0);
        let mut from = at.saturating_sub(HEDGE_REACH);
        while !lower.is_char_boundary(from) {
            from += 1;
        }
        let before = &lower[from..at];
        if let Some(hedge) = HEDGES.iter().find(|h| before.contains(*h)) {
            return (EventClass::RecipientSoft, Rule::Hedged(t, hedge));
        }
    }
    (class, rule)
}

/// How far before a dead text (bytes) a doubt still bears on it.
const HEDGE_REACH: usize = 160;

/// Words that put a doubt on what follows, in the languages of the general texts.
const HEDGES: &[&str] = &[
    "may not exist",
    "might not exist",
    "il se peut que",
    "quizás",
    "quizá",
    "es posible que",
    "möglicherweise",
    "potrebbe",
    "pode não",
    "talvez",
    "可能",
];

/// The words a report carries when the reply was given to DATA (Postfix's wording, added by
/// the readers of reports that say it another way).
pub const AFTER_DATA: &str = "(in reply to end of DATA command)";

/// Whether `text` says that the failure was the reply to DATA, and to no RCPT TO: Postfix's
/// "(in reply to end of DATA command)", Exim's "SMTP error from remote mail server after end of
/// data", however the report wraps its lines.
pub fn said_after_data(text: &str) -> bool {
    // Every phrase below holds the word "data": without it, none can match (most diagnostics).
    if !contains_ignoring_ascii_case(text.as_bytes(), b"data") {
        return false;
    }
    let words = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = words.to_ascii_lowercase();
    let data = [
        "in reply to end of data command",
        "in reply to data command",
        "after end of data",
        "after pipelined data",
        "after data",
    ]
    .iter()
    .any(|w| lower.contains(w));
    let rcpt = ["in reply to rcpt to command", "after rcpt to"]
        .iter()
        .any(|w| lower.contains(w));
    data && !rcpt
}

/// Whether `needle` (in lowercase) is in `haystack`, any ASCII letter in either case.
fn contains_ignoring_ascii_case(haystack: &[u8], needle: &[u8]) -> bool {
    let Some((&first, rest)) = needle.split_first() else {
        return true;
    };
    memchr::memchr2_iter(first, first.to_ascii_uppercase(), haystack).any(|at| {
        haystack
            .get(at + 1..at + 1 + rest.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(rest))
    })
}

/// Whether a notice shows its one failure as the reply to DATA: its SMTP transcript (Sendmail's
/// `>>> COMMAND` / `<<< reply` lines), a command given under an "SMTP command" heading (as
/// m-FILTER writes it), or the words of [`said_after_data`]. A transcript of several failures
/// (several recipients, several servers) says nothing about any one of them.
pub fn notice_says_after_data(notice: &str) -> bool {
    if said_after_data(notice) {
        return true;
    }
    let mut last: Option<String> = None;
    let mut failures = Vec::new();
    let mut headed = Vec::new();
    let mut under_heading = false;
    for line in notice.lines() {
        let t = line.trim();
        if let Some(c) = t.strip_prefix(">>> ") {
            last = Some(c.trim().to_ascii_lowercase());
        } else if let Some(r) = t.strip_prefix("<<< ") {
            if r.starts_with(['4', '5']) {
                failures.push(last.as_deref().is_some_and(|c| c == "data" || c == "."));
            }
        } else if under_heading && !t.is_empty() {
            headed.push(t.eq_ignore_ascii_case("data"));
            under_heading = false;
        } else {
            under_heading = t
                .trim_end_matches(':')
                .trim_start_matches('-')
                .trim()
                .eq_ignore_ascii_case("smtp command");
        }
    }
    failures == [true] || (failures.is_empty() && headed == [true])
}

fn by_rules(smtp_code: Option<u16>, status: Option<Enhanced>, text: &str) -> (EventClass, Rule) {
    if let Some(rules) = USER_RULES.get().filter(|r| !r.is_empty()) {
        let lower = text.to_lowercase();
        if let Some(r) = rules.iter().find(|r| lower.contains(&r.pattern)) {
            return (r.class, Rule::User(r.line, r.pattern.clone()));
        }
    }
    if let Some(e) = status {
        match by_enhanced(e) {
            ByCode::Decided(EventClass::Dead) => {
                let lower = text.to_lowercase();
                static NEEDLES: LazyLock<Needles> = LazyLock::new(|| Needles::of(OVERRULE_DEAD));
                return NEEDLES
                    .first_in(&lower)
                    .map(|i| &OVERRULE_DEAD[i])
                    .map_or((EventClass::Dead, Rule::Code(e)), |(t, class)| {
                        (*class, Rule::Overrule(e, t))
                    });
            }
            // RFC 7505 gives 5.7.27 to a *sender* whose domain has a null MX; Sendmail also
            // sends it when the *recipient's* domain has one, with the words "Host does not
            // accept mail". Those words, without "sender", are the recipient's dead domain.
            ByCode::Decided(EventClass::SenderSide)
                if (e.class, e.subject, e.detail) == (5, 7, 27) =>
            {
                let lower = text.to_lowercase();
                let recipients = NULL_MX_RECIPIENT.iter().find(|t| lower.contains(*t));
                return match recipients {
                    Some(t) if !lower.contains("sender") && !lower.contains("accept mail from") => {
                        (EventClass::Dead, Rule::Overrule(e, t))
                    }
                    _ => (EventClass::SenderSide, Rule::Code(e)),
                };
            }
            ByCode::Decided(class) => return (class, Rule::Code(e)),
            ByCode::Ambiguous(default) => {
                if e.class == 4 {
                    // A temporary failure never suppresses, whatever the text says, except the
                    // soft classes the text can name (a full mailbox).
                    return match by_text(smtp_code, text) {
                        Some((EventClass::RecipientSoft, rule)) => {
                            (EventClass::RecipientSoft, rule)
                        }
                        _ => (EventClass::Transient, Rule::Temporary(e)),
                    };
                }
                return match by_text(smtp_code, text) {
                    // A provider's words for a dead mailbox go with that provider's own codes
                    // (Microsoft: 5.5.0, 5.4.1); under a security or policy status (5.7.x)
                    // the same words are a block ("mailbox unavailable (sender blocked)", a
                    // Postfix access map's "Recipient address rejected: Access denied").
                    Some((EventClass::Dead, Rule::ProviderText(_))) if e.subject == 7 => {
                        (default, Rule::Code(e))
                    }
                    Some(decided) => decided,
                    None => (default, Rule::Code(e)),
                };
            }
        }
    }
    let text_class = by_text(smtp_code, text);
    match smtp_code {
        Some(c) if (200..300).contains(&c) => (EventClass::Delivered, Rule::ReplyCode(c)),
        Some(c) if (400..500).contains(&c) => match text_class {
            Some((EventClass::RecipientSoft, rule)) => (EventClass::RecipientSoft, rule),
            _ => (EventClass::Transient, Rule::ReplyCode(c)),
        },
        // 500-504: the receiver did not understand the sender's SMTP (RFC 5321 §4.2.2).
        Some(c) if (500..=504).contains(&c) => {
            text_class.unwrap_or((EventClass::SenderSide, Rule::ReplyCode(c)))
        }
        _ => text_class.unwrap_or((EventClass::RecipientSoft, Rule::Default)),
    }
}

/// The most telling enhanced status code in `text`: one that follows a basic reply code
/// (`550 5.1.1`, `550-'5.7.1`) first, then any specific one, then a generic `x.0.0`.
pub fn find_enhanced(text: &str) -> Option<Enhanced> {
    let bytes = text.as_bytes();
    let mut first_specific: Option<Enhanced> = None;
    let mut generic: Option<Enhanced> = None;
    for (i, _) in text.match_indices('.') {
        if i == 0 {
            continue;
        }
        let start = i - 1;
        if !matches!(bytes[start], b'2' | b'4' | b'5')
            || (start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'.'))
        {
            continue;
        }
        let rest = &text[start..];
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let Some(e) = Enhanced::parse(rest[..end].trim_end_matches('.')) else {
            continue;
        };
        if e.subject == 0 && e.detail == 0 {
            generic.get_or_insert(e);
            continue;
        }
        // preceded by "550 ", "550-", "550-'", "550 '"
        let before = &text[..start];
        let stripped = before.trim_end_matches(['\'', '"', ' ', '-', '(']);
        // The last three bytes, when they are whole characters (a reply code is ASCII).
        let last_three = stripped
            .len()
            .checked_sub(3)
            .and_then(|from| stripped.get(from..));
        let after_reply = stripped.len() + 4 >= before.len()
            && last_three.is_some_and(|t| find_reply_code(t).is_some());
        if after_reply {
            return Some(e);
        }
        first_specific.get_or_insert(e);
    }
    first_specific.or(generic)
}

/// `text` from its first failure reply (4yz or 5yz) on, or all of it when there is none: in an
/// SMTP transcript the `250 Ok` lines before the failure say nothing about it.
pub fn failure_part(text: &str) -> &str {
    let mut from = 0;
    while let Some(pos) = reply_code_at(text, from) {
        let (start, code) = pos;
        if code >= 400 {
            return &text[start..];
        }
        from = start + 3;
    }
    text
}

/// The first basic SMTP reply code (`250`, `451`, `550`, ...) in `text`.
pub fn find_reply_code(text: &str) -> Option<u16> {
    reply_code_at(text, 0).map(|(_, c)| c)
}

fn reply_code_at(text: &str, from: usize) -> Option<(usize, u16)> {
    let bytes = text.as_bytes();
    for i in from..bytes.len().saturating_sub(2) {
        let (a, b, c) = (bytes[i], bytes[i + 1], bytes[i + 2]);
        if !(matches!(a, b'2' | b'4' | b'5') && b.is_ascii_digit() && c.is_ascii_digit()) {
            continue;
        }
        let before_ok = i == 0
            || !(bytes[i - 1].is_ascii_alphanumeric()
                || matches!(bytes[i - 1], b'.' | b'[' | b':' | b'-' | b'/'));
        let after = bytes.get(i + 3).copied();
        let after_ok = matches!(
            after,
            None | Some(b' ') | Some(b'-') | Some(b'\t') | Some(b'\r') | Some(b'\n')
        );
        if before_ok && after_ok {
            let code = u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0');
            if matches!(code / 100, 2 | 4 | 5) && code % 100 < 60 {
                return Some((i, code));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The automaton gives the needle a scan of the list in order would: texts made of the
    /// needles' pieces (overlaps, one needle inside another, cut ones, other letters).
    #[test]
    fn needles_find_what_the_list_order_finds() {
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15);
        for list in [OVERRULE_DEAD, PROVIDER_TEXTS, GENERAL_TEXTS] {
            let needles = Needles::of(list);
            let mut found = 0;
            for _ in 0..3000 {
                let mut text = String::new();
                for _ in 0..next(5) {
                    let needle = list[next(list.len())].0;
                    let mut cut = next(needle.len() + 1);
                    while !needle.is_char_boundary(cut) {
                        cut -= 1;
                    }
                    match next(4) {
                        0 => text.push_str(needle),
                        1 => text.push_str(&needle[..cut]),
                        2 => text.push_str(&needle[cut..]),
                        _ => text.push_str([" ", "x", "é", "550 5.1.1 "][next(4)]),
                    }
                }
                let want = list.iter().position(|(n, _)| text.contains(n));
                found += usize::from(want.is_some());
                assert_eq!(needles.first_in(&text), want, "{text:?}");
            }
            assert!(found > 1000, "{found} texts held a needle");
        }
    }

    #[test]
    fn letters_of_any_script_before_a_code_are_not_cut() {
        // Two-byte letters just before the code once sliced a string inside a character.
        for word in ["ящик", "κουτί", "תיבה", "صندوق", "箱", "🙂"] {
            for sep in ["", " ", "'", "-"] {
                let text = format!("host x said: 550 {word}{sep}5.1.1 user unknown");
                let e = find_enhanced(&text).expect("the code is found");
                assert_eq!((e.class, e.subject, e.detail), (5, 1, 1), "{text}");
            }
        }
    }

    fn class(text: &str) -> EventClass {
        classify(find_reply_code(text), find_enhanced(text), text)
    }

    #[test]
    fn a_doubt_just_before_a_dead_text_makes_it_soft() {
        // Google Groups says the same in every language: the group may not exist, or the
        // sender may not post to it. Neither proves the address dead.
        let (c, rule) = classify_explained(
            None,
            None,
            "Il se peut que le groupe que vous avez essayé de contacter (liste) n'existe pas ou que vous ne soyez pas autorisé",
        );
        assert_eq!(c, EventClass::RecipientSoft);
        assert!(rule.to_string().contains("doubt"), "{rule}");
        assert_eq!(
            class("Möglicherweise ist die Gruppe unbekannt, oder Sie dürfen nicht posten"),
            EventClass::RecipientSoft
        );
        assert_eq!(
            class("您試圖聯絡的群組可能不存在，或者您沒有在此群組張貼留言的權限"),
            EventClass::RecipientSoft
        );
        assert_eq!(
            class("Die Gruppe existiert nicht, oder Sie dürfen nicht posten"),
            EventClass::Dead
        );
        // A doubt after the dead words, or far before them, leaves them dead.
        assert_eq!(
            class("550 l'adresse n'existe pas. Il se peut que vous ayez fait une faute de frappe."),
            EventClass::Dead
        );
        let far = format!(
            "Il se peut que ce message tarde. {} 550 user unknown",
            "x".repeat(200)
        );
        assert_eq!(class(&far), EventClass::Dead);
        // The window is counted in bytes and starts on a character of any width.
        for pad in ["я", "箱", "🙂", "é"] {
            let near = format!("{} il se peut que l'adresse n'existe pas", pad.repeat(80));
            assert_eq!(class(&near), EventClass::RecipientSoft, "{near}");
            let far = format!("il se peut que {} n'existe pas", pad.repeat(80));
            assert_eq!(class(&far), EventClass::Dead, "{far}");
        }
        // A code that says dead is not weakened by a doubt.
        assert_eq!(
            class("550 5.1.1 il se peut que l'adresse n'existe pas"),
            EventClass::Dead
        );
    }

    #[test]
    fn the_seed_cases() {
        assert_eq!(
            class("550 5.7.606 Access denied, banned sending IP [192.0.2.1]"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("550 5.7.649 Access denied, banned sending IP [192.0.2.1]"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("451 4.7.550 Access denied, please try again later"),
            EventClass::Transient
        );
        assert_eq!(
            class("550 5.1.1 <a@b.com>: Recipient address rejected: User unknown"),
            EventClass::Dead
        );
        assert_eq!(class("550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup"), EventClass::Dead);
        assert_eq!(
            class("550 5.4.1 Recipient address rejected: Access denied. AS(201806281)"),
            EventClass::Dead
        );
        // The same provider words under a security or policy status are a block.
        assert_eq!(
            class("554 5.7.1 <a@b.com>: Recipient address rejected: Access denied"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("550 5.7.1 Requested action not taken: mailbox unavailable (sender blocked)"),
            EventClass::SenderSide
        );
        // General dead words still decide under a misused 5.7.1.
        assert_eq!(
            class("550 5.7.1 <a@b.com>: Recipient address rejected: User unknown"),
            EventClass::Dead
        );
    }

    #[test]
    fn a_dead_address_in_reply_to_data_is_soft_unless_a_code_or_provider_says_so() {
        let c = |t: &str| classify(find_reply_code(t), find_enhanced(t), t);
        assert_eq!(
            c("550 Unknown user x@y.jp (in reply to end of DATA command)"),
            EventClass::RecipientSoft
        );
        assert_eq!(
            c("550 Unknown user x@y.jp (in reply to RCPT TO command)"),
            EventClass::Dead
        );
        assert_eq!(c("550 Unknown user x@y.jp"), EventClass::Dead);
        // A specific address status, or a provider's own words, still decide.
        assert_eq!(
            c("550 5.1.1 user unknown (in reply to end of DATA command)"),
            EventClass::Dead
        );
        let (_, rule) = classify_explained(
            Some(550),
            None,
            "550 Unknown user (in reply to end of DATA command)",
        );
        assert!(rule.to_string().contains("in reply to DATA"), "{rule}");
        assert!(notice_says_after_data(">>> DATA\n<<< 550 no such user\n"));
        // Wrapped as reports wrap it, and Exim's words.
        assert!(said_after_data(
            "550 Unknown user a@b.c (in reply to end of DATA\n    command)"
        ));
        assert!(said_after_data(
            "SMTP error from remote mail server after end of data:\n host x [192.0.2.1]: 550 : User unknown"
        ));
        assert!(!said_after_data(
            "SMTP error from remote mail server after RCPT TO:<a@b.c>:\n host x: 550 User unknown"
        ));
        assert!(!said_after_data("550 the data of a user unknown"));
        // A command under an "SMTP command" heading (m-FILTER).
        assert!(notice_says_after_data(
            "-------server message\n550 unknown user <a@b.c>\n\n-------SMTP command\nDATA\n"
        ));
        assert!(!notice_says_after_data(
            "-------server message\n550 unknown user <a@b.c>\n\n-------SMTP command\nRCPT TO:<a@b.c>\n"
        ));
        assert!(!notice_says_after_data(
            ">>> RCPT To:<a@b.c>\n<<< 550 no such user\n"
        ));
        assert!(
            !notice_says_after_data(
                ">>> DATA\n<<< 550 no\n>>> RCPT To:<a@b.c>\n<<< 550 no such user\n"
            ),
            "several failures say nothing about one"
        );
    }

    #[test]
    fn codes_decide_before_texts() {
        assert_eq!(
            class("552 5.2.2 The email account that you tried to reach is over quota"),
            EventClass::RecipientSoft
        );
        assert_eq!(class("550 5.7.26 This message does not have authentication information or fails to pass DMARC"), EventClass::SenderSide);
        assert_eq!(
            class("550 5.7.25 The IP address sending this message does not have a PTR record"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("421 4.7.28 Our system has detected an unusual rate of unsolicited mail"),
            EventClass::Transient
        );
        // Postfix could not reach the server: not a suspended account.
        assert_eq!(
            class("delivery temporarily suspended: connect to mx.example.com[192.0.2.1]: server refused to talk to me: 421 Service not available, closing transmission channel"),
            EventClass::Transient
        );
        assert_eq!(class("550 Account suspended"), EventClass::RecipientSoft);
        assert_eq!(
            class("554 5.7.1 Service unavailable; Client host blocked using zen.spamhaus.org"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("550 5.7.1 <x@y.com>: Recipient address rejected: user unknown"),
            EventClass::Dead
        );
        assert_eq!(
            class("550 5.4.1 Relay Access Denied"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("550 5.5.0 Requested action not taken: mailbox unavailable"),
            EventClass::Dead
        );
        assert_eq!(
            class("552 5.3.4 Message size exceeds fixed limit"),
            EventClass::SenderSide
        );
        assert_eq!(class("250 2.0.0 OK"), EventClass::Delivered);
    }

    #[test]
    fn texts_without_enhanced_codes() {
        assert_eq!(class("550 No such user here"), EventClass::Dead);
        assert_eq!(class("452 Mailbox full"), EventClass::RecipientSoft);
        assert_eq!(
            class("450 Greylisted, please try again later"),
            EventClass::Transient
        );
        assert_eq!(
            class("554 Your IP is listed in a DNSBL"),
            EventClass::SenderSide
        );
        assert_eq!(
            class("451 Requested action aborted: local error"),
            EventClass::Transient
        );
    }

    #[test]
    fn finding_codes_in_text() {
        assert_eq!(
            find_reply_code("host mx.x said: 550 5.1.1 <a@b>"),
            Some(550)
        );
        assert_eq!(find_reply_code("ip 10.550.1.2 and port 25"), None);
        let e = find_enhanced("smtp; 550 5.0.0 then 5.1.1 user unknown").unwrap();
        assert_eq!((e.class, e.subject, e.detail), (5, 1, 1));
        assert_eq!(find_enhanced("version 1.5.2.3"), None);
        assert_eq!(Enhanced::parse("5.7.606").map(|e| e.detail), Some(606));
    }
}

#[cfg(test)]
mod verdict_tests {
    use super::*;

    /// The class of a reply line, its codes read from the text as the readers do.
    fn class_of(text: &str) -> EventClass {
        classify(find_reply_code(text), find_enhanced(text), text)
    }

    #[test]
    fn words_overrule_a_misleading_dead_code() {
        assert_eq!(
            class_of("552 mailbox over quota for this user (#5.1.1)"),
            EventClass::RecipientSoft
        );
        assert_eq!(
            class_of("553 5.1.1 sorry, see https://www.spamhaus.org/query/ip/192.0.2.1"),
            EventClass::SenderSide
        );
        assert_eq!(
            class_of("550 5.1.1 192.0.2.9 has sent to too many recipients this hour"),
            EventClass::SenderSide
        );
        // Only softer: a plain 5.1.1 stays dead.
        assert_eq!(
            class_of("550 5.1.1 <a@b.example>: User unknown"),
            EventClass::Dead
        );
    }

    #[test]
    fn dead_address_phrases_in_many_words_and_languages() {
        for text in [
            "550 Nonexistent user",
            "550 Addressee unknown",
            "550 kijitora is not a known user",
            "550 No mail box available for this user",
            "550 User not known",
            "Invalid final delivery userid: kijitora@example.jp",
            "550 mail-box not found",
            "550 unrouteable mail domain \"example.org\"",
            "Sorry, I couldn't find any host by that name. (#5.1.2)",
            "No valid recipients for this MM",
            "554 5.4.4 host does not accept mail",
            "an MX or SRV record indicated no SMTP service",
            "550 Benutzer unbekannt",
            "550 Empfänger existiert nicht",
            "550 Utilisateur inconnu",
            "550 l'adresse n'existe pas",
            "550 Usuario desconocido",
            "550 El usuario no existe",
            "550 Endereço de destino não existe",
            "550 Casella postale inesistente",
            "550 Destinataire inexistant",
            "550 Dit e-mailadres bestaat niet",
            "550 Adres nie istnieje",
            "550 Пользователь не найден",
            "550 用户不存在",
            "550 받는 사람이 존재하지 않습니다",
            "550 このアドレスは存在しません",
            "550 5.1.0 Recipient address rejected.",
        ] {
            assert_eq!(class_of(text), EventClass::Dead, "{text}");
        }
        // A rejection for another reason is not a dead address.
        for text in [
            "554 5.3.0 <a@b.example>: Recipient address rejected: Mailer error",
            "550 5.0.0 <a@b.example>: Recipient address rejected: On hold",
        ] {
            assert_ne!(class_of(text), EventClass::Dead, "{text}");
        }
    }

    #[test]
    fn a_null_mx_on_the_recipients_domain_is_dead_whatever_code_sendmail_gives_it() {
        // Sendmail's words for the recipient's null MX, with the sender's code of RFC 7505.
        let recipients = classify(
            Some(550),
            Enhanced::parse("5.7.27"),
            "550 Host does not accept mail",
        );
        assert_eq!(recipients, EventClass::Dead);
        // The code's own meaning, and a refusal of the sender, stay on the sender's side.
        for text in [
            "550 5.7.27 Sender address has null MX",
            "550 5.7.27 Host does not accept mail from your domain",
            "550 5.7.27 Rejected",
        ] {
            assert_eq!(class_of(text), EventClass::SenderSide, "{text}");
        }
    }

    #[test]
    fn symantec_cloud_refuses_an_unknown_address_with_542() {
        assert_eq!(
            classify(
                Some(542),
                Enhanced::parse("5.0.0"),
                "542 kijitora@example.com Rejected"
            ),
            EventClass::Dead
        );
        // Elsewhere a bare "rejected" says nothing about the address.
        assert_eq!(
            class_of("550 kijitora@example.com Rejected"),
            EventClass::SenderSide
        );
    }

    #[test]
    fn a_virus_in_a_quoted_subject_does_not_beat_an_unknown_recipient() {
        assert_eq!(
            class_of("550 Unknown Recipient <a@b.example> (Subject: Virus warning from IT)"),
            EventClass::Dead
        );
        assert_eq!(
            class_of("554 Virus found in message"),
            EventClass::SenderSide
        );
    }
}

#[cfg(test)]
mod enhanced_parse_tests {
    use super::Enhanced;
    use proptest::prelude::*;

    /// The reading by `split('.')` that `Enhanced::parse` replaced.
    fn by_split(s: &str) -> Option<(u16, u16, u16)> {
        let mut parts = s.trim().split('.');
        let class: u16 = parts.next()?.parse().ok()?;
        let subject: u16 = parts.next()?.parse().ok()?;
        let detail: u16 = parts.next()?.parse().ok()?;
        if parts.next().is_some() || !matches!(class, 2 | 4 | 5) || subject > 999 || detail > 999 {
            return None;
        }
        Some((class, subject, detail))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn parse_reads_as_the_split_did(
            s in "[0-9.+ \u{a0}é-]{0,14}|[245]\\.[0-9]{1,6}\\.[0-9]{1,6}\\.?[0-9]{0,2}"
        ) {
            prop_assert_eq!(
                Enhanced::parse(&s).map(|e| (e.class, e.subject, e.detail)),
                by_split(&s),
                "{:?}", s
            );
        }
    }
}
