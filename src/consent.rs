//! Consent columns: what the services' exports say about whether a person may be mailed.
//!
//! The list of columns recognised, by (lowercased) header name, and the values that mean "this
//! person opted out". A value not in the list (an empty cell included) says nothing: the row is
//! judged on the other evidence. The same table serves subscriber lists (a row that opted out is
//! suppressed as `opt_out`) and exports given as evidence (`--bounces`), where only the rows
//! that opted out become unsubscribes.
//!
//! | column | service | opted out when |
//! |---|---|---|
//! | `Unsubscribed from all email` | HubSpot | `true`, `yes`, `1` |
//! | `Email Opt Out`, `HasOptedOutOfEmail` | Salesforce | `true`, `yes`, `1` |
//! | `EMAIL_BLACKLISTED` | Brevo | `yes`, `true`, `1` |
//! | `Opted Out` | Pardot | `true`, `yes`, `1` |
//! | `Accepts Email Marketing` | Shopify | `no`, `false`, `0` |
//! | `Email Marketing Consent` | Klaviyo | `unsubscribed` |
//! | `Email permission status` | Constant Contact | `unsubscribed` |
//! | `status` | listmonk, Mailchimp, ActiveCampaign | `blocklisted`, `unsubscribed`, `cleaned` |

/// Values that mean yes.
pub const YES: [&str; 5] = ["true", "yes", "1", "y", "x"];
/// Values that mean no.
pub const NO: [&str; 4] = ["false", "no", "0", "n"];

/// A consent column and how to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentColumn {
    /// Its index in the row.
    pub index: usize,
    /// Its header name, as written.
    pub name: String,
    /// Lowercased values that decide.
    pub values: Vec<String>,
    /// Whether the values mean "opted out" (a consent column) or "opted in" (a column every kept
    /// row must match: `--require-opt-in`).
    pub kind: ConsentKind,
}

/// What a consent column's values mean.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentKind {
    /// A row with one of the values opted out.
    OptOutIf,
    /// A row without one of the values has not opted in.
    RequireOneOf,
}

/// The known columns: lowercased name and the values that mean "opted out".
const KNOWN: [(&str, &[&str]); 10] = [
    ("unsubscribed from all email", &YES),
    ("email opt out", &YES),
    ("hasoptedoutofemail", &YES),
    ("email_blacklisted", &YES),
    ("opted out", &YES),
    ("accepts email marketing", &NO),
    ("email marketing consent", &["unsubscribed"]),
    ("email permission status", &["unsubscribed"]),
    ("status", &["blocklisted", "unsubscribed", "cleaned"]),
    ("member status", &["unsubscribed", "cleaned"]),
];

/// The consent columns of a header that the table knows.
pub fn known_columns<'h>(header: impl IntoIterator<Item = &'h str>) -> Vec<ConsentColumn> {
    header
        .into_iter()
        .enumerate()
        .filter_map(|(index, name)| {
            let lower = name.trim().to_lowercase();
            KNOWN
                .iter()
                .find(|(k, _)| *k == lower)
                .map(|(_, values)| ConsentColumn {
                    index,
                    name: name.trim().to_owned(),
                    values: values.iter().map(|v| (*v).to_owned()).collect(),
                    kind: ConsentKind::OptOutIf,
                })
        })
        .collect()
}

/// A user's `NAME[=V1,V2...]`: the column `NAME` of `header` with those values (or `default`).
pub fn named_column<'h>(
    spec: &str,
    header: impl IntoIterator<Item = &'h str>,
    kind: ConsentKind,
    default: &[&str],
) -> Result<ConsentColumn, String> {
    let (name, values) = match spec.split_once('=') {
        Some((n, v)) => (
            n.trim(),
            v.split(',')
                .map(|x| x.trim().to_lowercase())
                .filter(|x| !x.is_empty())
                .collect(),
        ),
        None => (
            spec.trim(),
            default.iter().map(|v| (*v).to_owned()).collect(),
        ),
    };
    let names: Vec<&str> = header.into_iter().collect();
    let index = names
        .iter()
        .position(|h| h.trim().eq_ignore_ascii_case(name))
        .ok_or_else(|| format!("no column named {name:?} (the columns are {names:?})"))?;
    Ok(ConsentColumn {
        index,
        name: names[index].trim().to_owned(),
        values,
        kind,
    })
}

impl ConsentColumn {
    /// Whether `value` (a cell of this column) stops the row, and why.
    pub fn stops(&self, value: &str) -> Option<String> {
        let v = value.trim().to_lowercase();
        let listed = self.values.contains(&v);
        match self.kind {
            ConsentKind::OptOutIf if listed => Some(format!("{} = {}", self.name, value.trim())),
            ConsentKind::RequireOneOf if !listed => Some(format!(
                "{} = {:?}, not one of {:?}",
                self.name,
                value.trim(),
                self.values
            )),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_columns_and_their_values() {
        let cols = known_columns([
            "Email",
            "Accepts Email Marketing",
            "EMAIL_BLACKLISTED",
            "Status",
        ]);
        assert_eq!(cols.len(), 3);
        assert!(cols[0].stops("no").is_some() && cols[0].stops("yes").is_none());
        assert!(cols[0].stops("").is_none(), "an empty cell says nothing");
        assert!(cols[1].stops("Yes").is_some() && cols[1].stops("No").is_none());
        assert!(cols[2].stops("blocklisted").is_some() && cols[2].stops("enabled").is_none());
        let req = named_column(
            "double_optin=confirmed",
            ["email", "Double_OptIn"],
            ConsentKind::RequireOneOf,
            &YES,
        )
        .unwrap();
        assert!(req.stops("confirmed").is_none() && req.stops("").is_some());
        assert!(named_column("nope", ["email"], ConsentKind::OptOutIf, &YES).is_err());
    }
}
