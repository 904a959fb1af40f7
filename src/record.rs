//! The vocabulary every stage shares: what was repaired, what is flagged, why a row is
//! suppressed, the verdict a row ends with, and the counts of verdicts.
//!
//! The sets here are closed on purpose: a nightly job's downstream (dashboards, CRM imports,
//! audits) matches on these names, so adding one is a visible change, documented in the README.

use std::fmt;

use serde::Serialize;

bitflags::bitflags! {
    /// Changes made to an address before it was judged.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Repairs: u16 {
        /// White space, no-break space, BOM or zero-width characters around it.
        const TRIMMED = 1;
        /// A `mailto:` prefix.
        const MAILTO = 1 << 1;
        /// A display name (`Name <addr>`).
        const DISPLAY_NAME = 1 << 2;
        /// Bare angle brackets (`<addr>`).
        const ANGLE_BRACKETS = 1 << 3;
        /// Upper-case letters in the domain.
        const DOMAIN_CASE = 1 << 4;
        /// A trailing root dot on the domain (`example.com.`).
        const ROOT_DOT = 1 << 5;
        /// The cell held several addresses (`a@x ::: b@y`, `a@x; b@y`, `a@x, b@y`): the first
        /// was taken.
        const MULTIPLE_ADDRESSES = 1 << 6;
        /// Unicode written another way was brought to its normal form: a local part to NFC, a
        /// domain's full-width or compatibility characters mapped (UTS 46), so two spellings of
        /// one address are one address.
        const UNICODE_NORMALISED = 1 << 7;
        /// The email column was empty and another column named like one held the address
        /// (Outlook's `E-mail 2 Address`): it was taken, and written in the email column.
        const OTHER_EMAIL_COLUMN = 1 << 8;
    }
}

bitflags::bitflags! {
    /// Risks on an address that is kept. A flag never removes anyone.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
    pub struct Flags: u8 {
        /// A mailbox of a function (`info@`, `postmaster@`), not of a person.
        const ROLE = 1;
        /// A throw-away address service.
        const DISPOSABLE = 1 << 1;
        /// The domain looks like a misspelling of a large provider.
        const TYPO = 1 << 2;
        /// The local part is not ASCII: sending needs SMTPUTF8 (RFC 6531).
        const SMTPUTF8 = 1 << 3;
        /// The domain's mail route could not be established (DNS timeout, SERVFAIL, ...).
        const DNS_UNKNOWN = 1 << 4;
        /// Soft bounces on record, below the suppression threshold.
        const SOFT_BOUNCES = 1 << 5;
        /// A consumer mailbox provider (Gmail, Outlook.com, Yahoo, ...): B2B lists treat such
        /// addresses as personal, not as a company's.
        const FREE_PROVIDER = 1 << 6;
    }
}

/// Stable names, in bit order, used in JSON, CSV and the report.
pub const REPAIR_NAMES: [(Repairs, &str); 9] = [
    (Repairs::TRIMMED, "trimmed"),
    (Repairs::MAILTO, "mailto_prefix"),
    (Repairs::DISPLAY_NAME, "display_name"),
    (Repairs::ANGLE_BRACKETS, "angle_brackets"),
    (Repairs::DOMAIN_CASE, "domain_lowercased"),
    (Repairs::ROOT_DOT, "root_dot"),
    (Repairs::MULTIPLE_ADDRESSES, "multiple_addresses"),
    (Repairs::UNICODE_NORMALISED, "unicode_normalised"),
    (Repairs::OTHER_EMAIL_COLUMN, "other_email_column"),
];

/// Stable names, in bit order, used in JSON, CSV and the report.
pub const FLAG_NAMES: [(Flags, &str); 7] = [
    (Flags::ROLE, "role"),
    (Flags::DISPOSABLE, "disposable"),
    (Flags::TYPO, "typo"),
    (Flags::SMTPUTF8, "smtputf8"),
    (Flags::DNS_UNKNOWN, "dns_unknown"),
    (Flags::SOFT_BOUNCES, "soft_bounces"),
    (Flags::FREE_PROVIDER, "free_provider"),
];

/// The names of the set bits of `repairs`.
pub fn repair_names(repairs: Repairs) -> Vec<&'static str> {
    REPAIR_NAMES
        .iter()
        .filter(|(r, _)| repairs.contains(*r))
        .map(|(_, n)| *n)
        .collect()
}

/// The names of the set bits of `flags`.
pub fn flag_names(flags: Flags) -> Vec<&'static str> {
    FLAG_NAMES
        .iter()
        .filter(|(f, _)| flags.contains(*f))
        .map(|(_, n)| *n)
        .collect()
}

/// Why an address is suppressed. Written to `suppression.csv` and counted in the report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// The address is not syntactically deliverable.
    Syntax,
    /// The domain is reserved or special-use (RFC 2606, 6761, 6762, 7686): `.test`, `.example`,
    /// `localhost`, `.local`, `.onion`, `.arpa`, `.invalid`, `.internal`.
    ReservedDomain,
    /// The domain does not exist (NXDOMAIN).
    Nxdomain,
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx,
    /// The domain exists but has neither MX nor A/AAAA records.
    NoMailRoute,
    /// Every MX host resolves only to private, loopback or otherwise non-routable addresses.
    MxUnroutable,
    /// A permanent bounce that says the mailbox or domain does not exist.
    HardBounce,
    /// Soft bounces (mailbox full, disabled, expired) reached the threshold within the window.
    SoftBounceThreshold,
    /// The recipient reported a message as spam.
    Complaint,
    /// The recipient unsubscribed.
    Unsubscribe,
    /// An earlier suppression file (mailscrub's or an ESP's) lists the address.
    PriorSuppression,
    /// The row's consent column says the person opted out (`Email Opt Out`, ...).
    OptOut,
    /// `--require-opt-in`: the row's opt-in column does not say the person opted in.
    NoConsent,
    /// `--ascii-only`: the address has a Unicode local part, which the target service refuses.
    NonAscii,
    /// The domain's top-level domain does not exist (IANA's root zone list).
    UnknownTld,
}

impl Reason {
    /// Every reason, in report order.
    pub const ALL: [Reason; 15] = [
        Reason::Syntax,
        Reason::ReservedDomain,
        Reason::Nxdomain,
        Reason::NullMx,
        Reason::NoMailRoute,
        Reason::MxUnroutable,
        Reason::HardBounce,
        Reason::SoftBounceThreshold,
        Reason::Complaint,
        Reason::Unsubscribe,
        Reason::PriorSuppression,
        Reason::OptOut,
        Reason::NoConsent,
        Reason::NonAscii,
        Reason::UnknownTld,
    ];

    /// The stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::Syntax => "syntax",
            Reason::ReservedDomain => "reserved_domain",
            Reason::Nxdomain => "nxdomain",
            Reason::NullMx => "null_mx",
            Reason::NoMailRoute => "no_mail_route",
            Reason::MxUnroutable => "mx_unroutable",
            Reason::HardBounce => "hard_bounce",
            Reason::SoftBounceThreshold => "soft_bounce_threshold",
            Reason::Complaint => "complaint",
            Reason::Unsubscribe => "unsubscribe",
            Reason::PriorSuppression => "prior_suppression",
            Reason::OptOut => "opt_out",
            Reason::NoConsent => "no_consent",
            Reason::NonAscii => "non_ascii",
            Reason::UnknownTld => "unknown_tld",
        }
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where one input row ends up. Every row gets exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Written to the clean list (possibly flagged).
    Keep,
    /// Written to the suppression file with a reason.
    Suppress,
    /// The same normalised address appeared earlier in the run.
    Duplicate,
    /// The row itself could not be read; written to the rejects file.
    Reject,
    /// The row's domain belongs to another part of a `--partition` run: another run decides it.
    OtherPartition,
}

/// Verdict counts for one input (or for the whole run).
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
pub struct Counts {
    /// Rows read (the header not counted).
    pub rows_in: u64,
    /// Rows written to a clean list.
    pub kept: u64,
    /// Rows written to the suppression file.
    pub suppressed: u64,
    /// Rows whose address appeared earlier in the run.
    pub duplicates: u64,
    /// Rows written to the rejects file.
    pub rejected: u64,
    /// Rows left to the other parts of a `--partition` run (0 otherwise).
    #[serde(skip_serializing_if = "is_zero")]
    pub other_partition: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Counts {
    /// Adds one row's `verdict` (`rows_in` is counted apart, where rows are read).
    pub fn add(&mut self, verdict: Verdict) {
        match verdict {
            Verdict::Keep => self.kept += 1,
            Verdict::Suppress => self.suppressed += 1,
            Verdict::Duplicate => self.duplicates += 1,
            Verdict::Reject => self.rejected += 1,
            Verdict::OtherPartition => self.other_partition += 1,
        }
    }

    /// True when every row is accounted for exactly once.
    pub fn identity_holds(&self) -> bool {
        self.rows_in == self.decided()
    }

    /// Rows given a verdict.
    pub fn decided(&self) -> u64 {
        self.kept + self.suppressed + self.duplicates + self.rejected + self.other_partition
    }

    /// Adds another tally's counts.
    pub fn merge(&mut self, other: &Counts) {
        self.rows_in += other.rows_in;
        self.kept += other.kept;
        self.suppressed += other.suppressed;
        self.duplicates += other.duplicates;
        self.rejected += other.rejected;
        self.other_partition += other.other_partition;
    }
}
