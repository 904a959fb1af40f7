//! One row between the validator and the decider: what checking a row found ([`Row`]), and the
//! batch that carries rows in input order ([`CheckedBatch`]).

use crate::address::{self, AddressRules, Checked, FlagLists};
use crate::consent::ConsentKind;
use crate::dedupe::{DedupeKey, Partition};
use crate::input::parquet::SharedBatch;
use crate::input::{Fields, Layout, RowBatch};
use crate::output::shape::IdnForm;
use crate::record::{Reason, Repairs};

/// One row after validation.
pub enum Row {
    /// The row could not be read.
    Reject {
        line: u64,
        error: String,
        raw: String,
    },
    /// The row has an address (valid or not); its fields are in the batch's text.
    Address(AddressRow),
}

/// A row with an address, valid or not.
pub struct AddressRow {
    pub line: u64,
    pub checked: Checked,
    pub key: DedupeKey,
    /// The row's email field is the normalised address: kept, its text can be written out as
    /// it was read.
    pub as_is: bool,
    /// The clean list writes the address with its punycode domain.
    pub ascii_form: bool,
    /// The row's consent column stops it: the reason and the column's value.
    pub consent: Option<(Reason, String)>,
}

/// A batch of rows from one input with their addresses checked, in input order.
pub struct CheckedBatch {
    pub input: usize,
    pub text: RowBatch,
    pub rows: Vec<Row>,
    pub arrow: Option<SharedBatch>,
}

/// What the validator needs to check a row.
#[derive(Clone, Copy)]
pub struct Checking<'a> {
    /// The inputs' layouts, by input.
    pub layouts: &'a [Layout],
    /// What counts as a valid address.
    pub rules: &'a AddressRules,
    /// Role, disposable and provider lists.
    pub lists: &'a FlagLists,
    /// Fold provider aliasing into the dedupe key.
    pub provider_rules: bool,
    /// The form of IDN domains in the clean list.
    pub idn_form: IdnForm,
    /// `--partition K/N`: domains of other parts are not asked of DNS.
    pub partition: Option<Partition>,
}

impl Row {
    /// Checks row `i` of `text`, an input of `layout`.
    pub fn check(text: &RowBatch, i: usize, layout: &Layout, checking: Checking) -> Row {
        let line = text.line(i);
        let fields = text.fields(i);
        let reject = |error: String| Row::Reject {
            line,
            error,
            raw: raw_text(fields, layout.delimiter),
        };
        let (columns, field) = fields.count_and_get(layout.email_column);
        if columns != layout.columns {
            return reject(format!(
                "expected {} fields, found {columns}",
                layout.columns,
            ));
        }
        let mut field = field.unwrap_or_default();
        // An empty email column, and another column named like one holding an address (the
        // contact's second address in an Outlook or Google export): that address is the row's.
        let mut other_column = false;
        if field.iter().all(u8::is_ascii_whitespace) {
            let other = layout
                .other_email_columns
                .iter()
                .filter_map(|&c| fields.get(c))
                .find(|f| !f.iter().all(u8::is_ascii_whitespace));
            if let Some(other) = other {
                field = other;
                other_column = true;
            }
        }
        let email = match std::str::from_utf8(field) {
            Ok(t) => t,
            Err(e) => {
                let byte = field[e.valid_up_to()];
                return reject(format!(
                    "email field is not valid UTF-8 (byte 0x{byte:02X} at offset {}): the file is likely in a legacy encoding such as Windows-1252 or Latin-1; save it as \"CSV UTF-8\" or convert it with `iconv -f WINDOWS-1252 -t UTF-8`",
                    e.valid_up_to()
                ));
            }
        };
        if email.trim().is_empty() {
            return reject("empty email field".to_owned());
        }
        if email.contains('\0') {
            return reject("NUL byte in the email field".to_owned());
        }
        let mut checked = address::check(email, checking.rules, checking.lists);
        if other_column {
            checked.repairs |= Repairs::OTHER_EMAIL_COLUMN;
        }
        let key = address::dedupe_key(&checked, checking.provider_rules);
        let field_domain_ascii = email.rsplit('@').next().is_some_and(str::is_ascii);
        let ascii_form = checking.idn_form.ascii(field_domain_ascii);
        let written = if ascii_form {
            checked.ascii_address()
        } else {
            &checked.address
        };
        let as_is = text.text_as_read(i).is_some() && !other_column && written.as_bytes() == field;
        let consent = layout.consent.iter().find_map(|c| {
            let value = fields.get(c.index).unwrap_or_default();
            let why = c.stops(&String::from_utf8_lossy(value))?;
            let reason = match c.kind {
                ConsentKind::OptOutIf => Reason::OptOut,
                ConsentKind::RequireOneOf => Reason::NoConsent,
            };
            Some((reason, why))
        });
        Row::Address(AddressRow {
            line,
            checked,
            key,
            as_is,
            ascii_form,
            consent,
        })
    }

    /// Whether the row belongs to this run's part (every row does without `--partition`).
    pub fn in_part(&self, partition: Option<Partition>) -> bool {
        partition.is_none_or(|p| p.holds_domain(self.partition_domain()))
    }

    /// The domain the row is partitioned by: its address's ASCII domain; for an address that is
    /// not valid, the text after its last `@`; for an unreadable row, none.
    pub fn partition_domain(&self) -> &str {
        match self {
            Row::Reject { .. } => "",
            Row::Address(a) if a.checked.is_valid() => a.checked.ascii_domain(),
            Row::Address(a) => a.checked.address.rsplit_once('@').map_or("", |(_, d)| d),
        }
    }
}

/// A row's fields joined by the delimiter (a plain row's text as it was).
fn raw_text(fields: Fields, delimiter: u8) -> String {
    let mut raw = Vec::new();
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            raw.push(delimiter);
        }
        raw.extend_from_slice(f);
    }
    String::from_utf8_lossy(&raw).into_owned()
}
