//! `--config FILE`: every `clean` option as a TOML key, merged under the command line.
//!
//! The precedence lives here and only here: a key given on the command line wins, then the
//! file, then the default. The file is turned into the command-line arguments it stands for and
//! parsed by clap together with the real ones, so a value in the file is checked exactly as the
//! same value on the command line would be. Keys are the long option names, with `-` or `_`
//! (`dns-timeout = 2`, `dns_timeout = 2`); `inputs = [...]` are the input files; a list gives a
//! repeatable option each value (`bounces = ["/var/log/mail.log", "/data/clean/suppression.csv"]`).
//! An unknown key is an error that names the nearest known one.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

use anyhow::{anyhow, bail, Context, Result};
use clap::parser::ValueSource;
use clap::CommandFactory;

use crate::cli::Cli;

/// Where an effective setting came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    CommandLine,
    ConfigFile,
    Default,
}

/// The `clean` command line with the file's settings merged in, and the ids of the options that
/// came from the file.
pub struct Merged {
    pub argv: Vec<OsString>,
    pub from_file: Vec<String>,
}

/// The path given to `--config` in `argv` (`--config FILE` or `--config=FILE`).
pub fn config_path(argv: &[OsString]) -> Option<OsString> {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let s = a.to_string_lossy();
        if s == "--config" {
            return it.next().cloned();
        }
        if let Some(v) = s.strip_prefix("--config=") {
            return Some(v.into());
        }
        if s == "--" {
            break;
        }
    }
    None
}

/// The `clean` subcommand's options, by id, with their long names and whether they take a
/// value.
fn clean_options() -> Vec<(String, String, bool)> {
    let cmd = Cli::command();
    let clean = cmd
        .find_subcommand("clean")
        .expect("the clean subcommand")
        .clone();
    clean
        .get_arguments()
        .filter_map(|a| {
            let long = a.get_long()?.to_owned();
            let takes = a.get_action().takes_values();
            Some((a.get_id().to_string(), long, takes))
        })
        .collect()
}

/// The known key nearest to `key` (edit distance), for an error message.
fn nearest<'a>(key: &str, known: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    fn distance(a: &str, b: &str) -> usize {
        let b: Vec<char> = b.chars().collect();
        let mut row: Vec<usize> = (0..=b.len()).collect();
        for (i, ca) in a.chars().enumerate() {
            let mut prev = row[0];
            row[0] = i + 1;
            for (j, cb) in b.iter().enumerate() {
                let cur = row[j + 1];
                row[j + 1] = (prev + usize::from(ca != *cb))
                    .min(row[j] + 1)
                    .min(row[j + 1] + 1);
                prev = cur;
            }
        }
        row[b.len()]
    }
    known
        .map(|k| (distance(key, k), k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3))
        .min()
        .map(|(_, k)| k)
}

/// A TOML value as command-line words.
fn words(key: &str, v: &toml::Value) -> Result<Vec<String>> {
    Ok(match v {
        toml::Value::String(s) => vec![s.clone()],
        toml::Value::Integer(i) => vec![i.to_string()],
        toml::Value::Float(f) => vec![f.to_string()],
        toml::Value::Boolean(b) => vec![b.to_string()],
        toml::Value::Array(items) => {
            let mut out = Vec::new();
            for item in items {
                out.extend(words(key, item)?);
            }
            out
        }
        other => bail!("key {key:?}: a {} is not a setting", other.type_str()),
    })
}

/// Reads `path` and merges it under `argv` (the whole command line, `clean` first).
pub fn merge(path: &Path, argv: &[OsString]) -> Result<Merged> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("--config {}: cannot read", path.display()))?;
    let table: BTreeMap<String, toml::Value> =
        toml::from_str(&text).map_err(|e| anyhow!("--config {}: {e}", path.display()))?;
    let options = clean_options();
    // Which options the command line set.
    let matches = Cli::command()
        .ignore_errors(true)
        .try_get_matches_from(argv)
        .ok();
    let clean = matches.as_ref().and_then(|m| m.subcommand_matches("clean"));
    let on_command_line = |id: &str| {
        clean.is_some_and(|c| {
            c.try_get_raw(id).ok().flatten().is_some()
                && c.value_source(id) == Some(ValueSource::CommandLine)
        })
    };
    let mut extra: Vec<String> = Vec::new();
    let mut inputs: Vec<String> = Vec::new();
    let mut from_file = Vec::new();
    for (key, value) in &table {
        let long = key.replace('_', "-");
        if long == "inputs" {
            if !on_command_line("inputs") {
                inputs = words(key, value)?;
                from_file.push("inputs".to_owned());
            }
            continue;
        }
        if long == "config" {
            bail!(
                "--config {}: a config file cannot name another",
                path.display()
            );
        }
        let Some((id, long, takes)) = options.iter().find(|(_, l, _)| *l == long) else {
            let hint = nearest(
                &long,
                options.iter().map(|(_, l, _)| l.as_str()).chain(["inputs"]),
            )
            .map(|k| format!("; did you mean {:?}?", k.replace('-', "_")))
            .unwrap_or_default();
            bail!("--config {}: unknown key {key:?}{hint}", path.display());
        };
        if on_command_line(id) {
            continue;
        }
        from_file.push(id.clone());
        if *takes {
            for w in words(key, value)? {
                extra.push(format!("--{long}"));
                extra.push(w);
            }
        } else {
            match value {
                toml::Value::Boolean(true) => extra.push(format!("--{long}")),
                toml::Value::Boolean(false) => {}
                _ => bail!(
                    "--config {}: {key:?} is a switch: true or false",
                    path.display()
                ),
            }
        }
    }
    // bin clean <file's options> <command line's> <file's inputs when the command line has none>
    let mut merged: Vec<OsString> = argv.iter().take(2).cloned().collect();
    merged.extend(extra.into_iter().map(OsString::from));
    merged.extend(argv.iter().skip(2).cloned());
    merged.extend(inputs.into_iter().map(OsString::from));
    Ok(Merged {
        argv: merged,
        from_file,
    })
}

/// `mailscrub config --print`: every `clean` setting, its effective value and where it came
/// from, for the command line `argv` (`clean ...`, `--config` included).
pub fn print(argv: Vec<OsString>) -> Result<String> {
    let merged = match config_path(&argv) {
        Some(p) => merge(Path::new(&p), &argv)?,
        None => Merged {
            argv,
            from_file: Vec::new(),
        },
    };
    let matches = Cli::command()
        .try_get_matches_from(&merged.argv)
        .map_err(|e| anyhow!("{e}"))?;
    let clean = matches
        .subcommand_matches("clean")
        .ok_or_else(|| anyhow!("config --print describes a clean run: give its options"))?;
    let mut out = String::new();
    let cmd = Cli::command();
    let sub = cmd.find_subcommand("clean").expect("clean");
    for arg in sub.get_arguments() {
        let id = arg.get_id().as_str();
        if matches!(id, "help" | "version" | "config") {
            continue;
        }
        let values: Vec<String> = clean
            .get_raw(id)
            .map(|v| v.map(|x| x.to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        let origin = if merged.from_file.iter().any(|f| f == id) {
            Origin::ConfigFile
        } else {
            match clean.value_source(id) {
                Some(ValueSource::CommandLine) => Origin::CommandLine,
                _ => Origin::Default,
            }
        };
        let name = arg
            .get_long()
            .map(|l| l.replace('-', "_"))
            .unwrap_or_else(|| id.to_owned());
        let shown = if values.is_empty() {
            if clean.get_flag_safe(id) {
                "true".to_owned()
            } else {
                "(not set)".to_owned()
            }
        } else {
            values.join(", ")
        };
        let from = match origin {
            Origin::CommandLine => "command line",
            Origin::ConfigFile => "config file",
            Origin::Default => "default",
        };
        out.push_str(&format!("{name} = {shown}    # {from}\n"));
    }
    Ok(out)
}

/// `get_flag` that does not panic on an argument that is not a flag.
trait FlagSafe {
    fn get_flag_safe(&self, id: &str) -> bool;
}

impl FlagSafe for clap::ArgMatches {
    fn get_flag_safe(&self, id: &str) -> bool {
        self.try_get_one::<bool>(id)
            .ok()
            .flatten()
            .copied()
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_key() {
        let known = ["dns-timeout", "bounces", "soft-threshold"];
        assert_eq!(
            nearest("dns-timout", known.iter().copied()),
            Some("dns-timeout")
        );
        assert_eq!(nearest("bounce", known.iter().copied()), Some("bounces"));
        assert_eq!(nearest("zzzzzzzzzzzz", known.iter().copied()), None);
    }
}
