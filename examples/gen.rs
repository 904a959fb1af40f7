//! Generates a large, realistic, messy subscriber list, deterministic from a seed.
//!
//! ```text
//! cargo run --release --example gen -- --rows 10000000 --seed 7 > list.csv
//! ```
//!
//! Six columns (`id,email,first_name,last_name,signup_date,country`). The mix follows what real
//! exports hold: about 45% at the large webmail providers, the rest at many smaller domains;
//! about 5% invalid addresses (missing @, double dots, spaces, reserved domains, over-long
//! parts), about 3% duplicates (often with different case or wrapping), 1% likely typos, role
//! and disposable addresses, IDN domains, display names, `mailto:` prefixes, stray white space,
//! a few empty emails and a few rows with the wrong number of fields. The company domains are
//! made up; none of the people are real.

use std::io::{self, BufWriter, Write};

/// splitmix64: small, fast, and the same sequence on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
    /// True with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
}

const FIRST: &[&str] = &[
    "james",
    "mary",
    "john",
    "patricia",
    "robert",
    "jennifer",
    "michael",
    "linda",
    "william",
    "elizabeth",
    "david",
    "barbara",
    "richard",
    "susan",
    "joseph",
    "jessica",
    "thomas",
    "sarah",
    "charles",
    "karen",
    "lucas",
    "emma",
    "noah",
    "olivia",
    "liam",
    "ava",
    "mateo",
    "sofia",
    "hugo",
    "lea",
    "jonas",
    "mia",
    "pierre",
    "chloe",
    "giulia",
    "marco",
    "anna",
    "lars",
    "ingrid",
    "yuki",
    "hiroshi",
    "wei",
    "mei",
    "arjun",
    "priya",
    "omar",
    "fatima",
    "diego",
    "camila",
    "jose",
];
const LAST: &[&str] = &[
    "smith",
    "johnson",
    "williams",
    "brown",
    "jones",
    "garcia",
    "miller",
    "davis",
    "rodriguez",
    "martinez",
    "hernandez",
    "lopez",
    "gonzalez",
    "wilson",
    "anderson",
    "thomas",
    "taylor",
    "moore",
    "jackson",
    "martin",
    "lee",
    "perez",
    "thompson",
    "white",
    "harris",
    "sanchez",
    "clark",
    "ramirez",
    "lewis",
    "robinson",
    "muller",
    "schmidt",
    "schneider",
    "dubois",
    "lefebvre",
    "rossi",
    "russo",
    "jensen",
    "nielsen",
    "tanaka",
    "suzuki",
    "wang",
    "li",
    "zhang",
    "kumar",
    "singh",
    "haddad",
    "silva",
    "santos",
    "novak",
];
/// Large providers with their share in per mille of valid addresses.
const PROVIDERS: &[(&str, u64)] = &[
    ("gmail.com", 280),
    ("yahoo.com", 70),
    ("hotmail.com", 60),
    ("outlook.com", 40),
    ("icloud.com", 25),
    ("aol.com", 15),
    ("gmx.de", 10),
    ("web.de", 8),
    ("orange.fr", 8),
    ("comcast.net", 8),
    ("yahoo.co.uk", 6),
    ("live.com", 6),
    ("protonmail.com", 5),
    ("mail.ru", 5),
];
const WORDS: &[&str] = &[
    "acme",
    "globex",
    "initech",
    "umbrella",
    "stark",
    "wayne",
    "tyrell",
    "cyberdyne",
    "soylent",
    "wonka",
    "hooli",
    "vandelay",
    "pied",
    "piper",
    "dunder",
    "mifflin",
    "aperture",
    "black",
    "mesa",
    "blue",
    "sun",
    "river",
    "north",
    "peak",
    "harbor",
    "cedar",
    "maple",
    "oak",
    "stone",
    "bright",
    "swift",
    "nova",
    "orbit",
    "pixel",
    "quantum",
    "vertex",
    "delta",
    "alpha",
    "omega",
    "green",
    "red",
    "silver",
    "golden",
    "urban",
    "rural",
    "metro",
    "coastal",
    "prairie",
];
const SUFFIX: &[&str] = &[
    "com", "com", "com", "net", "org", "io", "co.uk", "de", "fr", "nl", "com.au", "ca",
];
const TYPOS: &[&str] = &[
    "gmial.com",
    "gmai.com",
    "gamil.com",
    "gmail.con",
    "hotmial.com",
    "hotmail.con",
    "yahooo.com",
    "yaho.com",
    "outlok.com",
    "icloud.co",
];
const ROLES: &[&str] = &[
    "info", "sales", "support", "admin", "contact", "noreply", "office", "hello",
];
const DISPOSABLE: &[&str] = &[
    "mailinator.com",
    "yopmail.com",
    "guerrillamail.com",
    "10minutemail.com",
];
const IDN: &[&str] = &[
    "bücher.de",
    "müller-bau.de",
    "café-paris.fr",
    "köln-shop.de",
    "例え.jp",
];
const COUNTRIES: &[&str] = &[
    "US", "GB", "DE", "FR", "IT", "ES", "NL", "SE", "JP", "IN", "BR", "CA", "AU",
];

fn company_domain(rng: &mut Rng) -> String {
    // A stable pool of about 50,000 distinct company domains.
    let n = rng.below(50_000);
    let a = WORDS[(n % WORDS.len() as u64) as usize];
    let b = WORDS[((n / WORDS.len() as u64) % WORDS.len() as u64) as usize];
    let s = SUFFIX[((n / 2401) % SUFFIX.len() as u64) as usize];
    if n.is_multiple_of(3) {
        format!("{a}-{b}.{s}")
    } else {
        format!("{a}{b}{}.{s}", n / 2401 / 12)
    }
}

fn local_part(rng: &mut Rng, first: &str, last: &str) -> String {
    // Numbers make the names as distinct as a real list's: about 1 row in 1,000 collides by
    // chance; the deliberate duplicates come from `write_list`.
    let n = rng.below(1_000_000);
    match rng.below(6) {
        0 => format!("{first}.{last}{n}"),
        1 => format!("{first}{last}{n}"),
        2 => format!("{}{last}{n}", &first[..1]),
        3 => format!("{first}.{last}.{n}"),
        4 => format!("{first}{n}"),
        _ => format!("{last}.{first}{n}"),
    }
}

fn provider(rng: &mut Rng) -> Option<&'static str> {
    let mut roll = rng.below(1000);
    for (d, share) in PROVIDERS {
        if roll < *share {
            return Some(d);
        }
        roll -= share;
    }
    None
}

fn valid_address(rng: &mut Rng, first: &str, last: &str) -> String {
    let local = local_part(rng, first, last);
    if rng.chance(10) {
        return format!("{local}@{}", rng.pick(TYPOS));
    }
    if rng.chance(8) {
        return format!("{}@{}", rng.pick(ROLES), company_domain(rng));
    }
    if rng.chance(5) {
        return format!("{local}@{}", rng.pick(DISPOSABLE));
    }
    if rng.chance(5) {
        return format!("{local}@{}", rng.pick(IDN));
    }
    match provider(rng) {
        Some(d) => format!("{local}@{d}"),
        None => format!("{local}@{}", company_domain(rng)),
    }
}

fn invalid_address(rng: &mut Rng, first: &str, last: &str) -> String {
    let local = local_part(rng, first, last);
    match rng.below(9) {
        0 => format!("{local}gmail.com"),
        1 => format!("{first}..{last}@yahoo.com"),
        2 => format!("{first} {last}@hotmail.com"),
        3 => format!("{local}@{}.test", rng.pick(WORDS)),
        4 => format!("{local}@localhost"),
        5 => format!("{}@gmail.com", "x".repeat(65)),
        6 => format!("{local}@"),
        7 => format!("{local}@{}-.com", rng.pick(WORDS)),
        _ => format!("{local}@@outlook.com"),
    }
}

/// Wrapping that real exports add around an address.
fn mess(rng: &mut Rng, addr: &str) -> String {
    match rng.below(6) {
        0 => format!("  {addr} "),
        1 => format!("mailto:{addr}"),
        2 => format!("\"{} {}\" <{addr}>", "Pat", "Lee"),
        3 => {
            let (l, d) = addr.rsplit_once('@').unwrap_or((addr, ""));
            format!("{l}@{}", d.to_uppercase())
        }
        4 => format!("{addr}\u{a0}"),
        _ => format!("<{addr}>"),
    }
}

/// The generated columns (a `notes` column follows with `--notes`).
pub const COLUMNS: [&str; 6] = [
    "id",
    "email",
    "first_name",
    "last_name",
    "signup_date",
    "country",
];

/// How the file is written: the same rows in the layouts real exports use.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Quote every field, as Mailchimp, HubSpot, Salesforce and Python's `csv.QUOTE_ALL` do.
    pub quote_all: bool,
    /// Add a `notes` column of free text with quotes, commas and line breaks (a CRM's).
    pub notes: bool,
    /// The delimiter.
    pub delimiter: u8,
    /// CRLF line ends (Excel, Windows exports).
    pub crlf: bool,
    /// A UTF-8 byte order mark first (Excel's "CSV UTF-8").
    pub bom: bool,
}

impl Shape {
    /// The project's usual shape: `,`, LF, quotes only where needed.
    pub const PLAIN: Shape = Shape {
        quote_all: false,
        notes: false,
        delimiter: b',',
        crlf: false,
        bom: false,
    };
}

const NOTE_WORDS: &[&str] = &[
    "called",
    "about",
    "the",
    "renewal",
    "asked",
    "for",
    "a",
    "discount,",
    "said",
    "\"maybe",
    "next",
    "quarter\"",
    "met",
    "at",
    "expo;",
    "prefers",
    "email",
    "over",
    "phone",
    "owner's",
    "budget",
    "approved",
    "follow",
    "up",
    "in",
    "May",
    "—",
    "très",
    "intéressé",
    "Größe",
    "M",
];

/// A CRM note: a few sentences of 60 to 400 characters, with quotes, commas and line breaks.
fn note(rng: &mut Rng) -> String {
    let target = 60 + rng.below(340) as usize;
    let mut s = String::with_capacity(target + 16);
    while s.len() < target {
        s.push_str(rng.pick(NOTE_WORDS));
        s.push(if rng.chance(60) { '\n' } else { ' ' });
    }
    s.trim_end().to_owned()
}

fn quote(field: &str, shape: &Shape) -> String {
    let special = field.contains(['"', '\n', '\r']) || field.as_bytes().contains(&shape.delimiter);
    if shape.quote_all || special {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

fn main() -> io::Result<()> {
    let mut rows: u64 = 10_000;
    let mut seed: u64 = 1;
    let mut shape = Shape::PLAIN;
    let usage = || -> ! {
        eprintln!(
            "usage: gen [--rows N] [--seed S] [--quote-all] [--notes] [--dialect comma|semicolon-crlf-bom] > list.csv"
        );
        std::process::exit(2);
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--rows" => {
                rows = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--seed" => {
                seed = args
                    .next()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or_else(|| usage())
            }
            "--quote-all" => shape.quote_all = true,
            "--notes" => shape.notes = true,
            "--dialect" => match args.next().as_deref() {
                Some("comma") => {}
                Some("semicolon-crlf-bom") => {
                    shape.delimiter = b';';
                    shape.crlf = true;
                    shape.bom = true;
                }
                _ => usage(),
            },
            _ => usage(),
        }
    }
    let out = io::stdout();
    write_shaped(
        rows,
        seed,
        shape,
        BufWriter::with_capacity(1 << 20, out.lock()),
    )
}

/// Writes a list of `rows` data rows (plus a header) generated from `seed`, in the usual shape.
#[allow(dead_code)] // used by the benchmarks that include this file
pub fn write_list(rows: u64, seed: u64, out: impl Write) -> io::Result<()> {
    write_shaped(rows, seed, Shape::PLAIN, out)
}

/// Writes the rows of `seed` in `shape`: the same people and addresses whatever the shape.
pub fn write_shaped(rows: u64, seed: u64, shape: Shape, mut out: impl Write) -> io::Result<()> {
    let mut rng = Rng(seed);
    // Notes come from a stream of their own, so that every shape has the same rows.
    let mut notes_rng = Rng(seed ^ 0x6e6f_7465);
    let d = shape.delimiter as char;
    let end = if shape.crlf { "\r\n" } else { "\n" };
    if shape.bom {
        out.write_all("\u{feff}".as_bytes())?;
    }
    let mut head: Vec<String> = COLUMNS.iter().map(|h| quote(h, &shape)).collect();
    if shape.notes {
        head.push(quote("notes", &shape));
    }
    write!(out, "{}{end}", head.join(&d.to_string()))?;
    // A ring of recent addresses to draw duplicates from.
    let mut recent: Vec<String> = Vec::with_capacity(4096);
    for id in 1..=rows {
        let first = rng.pick(FIRST);
        let last = rng.pick(LAST);
        let email = if !recent.is_empty() && rng.chance(30) {
            let prior = recent[rng.below(recent.len() as u64) as usize].clone();
            if rng.chance(500) {
                prior.to_uppercase()
            } else {
                prior
            }
        } else if rng.chance(3) {
            String::new()
        } else if rng.chance(50) {
            invalid_address(&mut rng, first, last)
        } else {
            let a = valid_address(&mut rng, first, last);
            if recent.len() < 4096 {
                recent.push(a.clone());
            } else {
                let slot = rng.below(4096) as usize;
                recent[slot] = a.clone();
            }
            a
        };
        let email = if rng.chance(20) {
            mess(&mut rng, &email)
        } else {
            email
        };
        let date = format!(
            "20{:02}-{:02}-{:02}",
            10 + rng.below(16),
            1 + rng.below(12),
            1 + rng.below(28)
        );
        let country = rng.pick(COUNTRIES);
        let first_cap = format!("{}{}", first[..1].to_uppercase(), &first[1..]);
        let last_cap = format!("{}{}", last[..1].to_uppercase(), &last[1..]);
        let id = id.to_string();
        let mut fields: Vec<&str> = if rng.chance(1) {
            // A broken export line: a field lost.
            vec![&id, &email, &first_cap, &date, country]
        } else {
            vec![&id, &email, &first_cap, &last_cap, &date, country]
        };
        let text;
        if shape.notes {
            text = note(&mut notes_rng);
            fields.push(&text);
        }
        let line: Vec<String> = fields.iter().map(|f| quote(f, &shape)).collect();
        write!(out, "{}{end}", line.join(&d.to_string()))?;
    }
    out.flush()
}
