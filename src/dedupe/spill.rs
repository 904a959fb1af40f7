//! Dedupe of a list whose distinct addresses do not fit in memory (`--memory-limit`).
//!
//! "The first occurrence wins" needs every key seen so far at every row. Past the limit, a first
//! pass over the rows writes each row's key, with the row's number, to one of [`PARTS`] files on
//! disk, by the key's low bits: equal keys always land in the same file, so each file is deduped
//! on its own, and the files are loaded a group at a time, each group within the budget. What
//! comes out is one bit per row ([`Firsts`]): the main pass reads it in row order instead of
//! asking a set, and gives every row the verdict the in-memory set would have given.
//!
//! Memory: a group's key set (18-37 bytes a distinct key, within the budget), one bit a row, and
//! an 8 KiB buffer per part file while the keys are written.

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use super::{DedupeKey, KeySet};

/// How many part files the keys are spread over.
pub const PARTS: usize = 128;

/// Bytes a distinct key takes in a [`KeySet`] at its fullest (16-byte slots at a load of 7/8,
/// and the doubling of a set that grows): what the budget is counted in.
pub const BYTES_PER_KEY: u64 = 37;

/// The write buffer of each part file: 8 KiB, a write call every 341 keys of a part (1 MiB for
/// the 128 files; 32 KiB made 4 MiB of a run whose whole budget may be 30 MB, in the same time).
const PART_BUFFER: usize = 8 * 1024;

/// One record of a part file: the row's number and its key, little-endian.
const RECORD: usize = 8 + 16;

/// The part file a key belongs to.
fn part(key: DedupeKey) -> usize {
    (key as u64 as usize) % PARTS
}

/// The keys of a first pass, being written to their part files.
pub struct Spill {
    dir: PathBuf,
    files: Vec<BufWriter<File>>,
    rows: u64,
}

impl Spill {
    /// Starts the part files in a new folder `dir` (removed again by [`Spill::firsts`]).
    pub fn create(dir: &Path) -> io::Result<Spill> {
        std::fs::create_dir_all(dir)?;
        let files = (0..PARTS)
            .map(|i| {
                let f = File::create(dir.join(format!("keys-{i:03}")))?;
                Ok(BufWriter::with_capacity(PART_BUFFER, f))
            })
            .collect::<io::Result<_>>()?;
        Ok(Spill {
            dir: dir.to_owned(),
            files,
            rows: 0,
        })
    }

    /// Writes the key of the next row that reaches the dedupe step.
    pub fn push(&mut self, key: DedupeKey) -> io::Result<()> {
        let mut record = [0u8; RECORD];
        record[..8].copy_from_slice(&self.rows.to_le_bytes());
        record[8..].copy_from_slice(&key.to_le_bytes());
        self.files[part(key)].write_all(&record)?;
        self.rows += 1;
        Ok(())
    }

    /// Rows written so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Dedupes the part files, as many at a time as fit in `budget` bytes of key set, and
    /// removes them. `history` are the keys whose presence on the list the run asks about
    /// afterwards (the bounce histories to carry forward): the answer is in [`Firsts::seen`].
    pub fn firsts(self, budget: u64, history: &[DedupeKey]) -> io::Result<Firsts> {
        let Spill { dir, files, rows } = self;
        let mut sizes = Vec::with_capacity(PARTS);
        for f in files {
            let f = f.into_inner().map_err(io::IntoInnerError::into_error)?;
            sizes.push(f.metadata()?.len() / RECORD as u64);
        }
        let mut history_by_part: Vec<Vec<DedupeKey>> = vec![Vec::new(); PARTS];
        for &key in history {
            history_by_part[part(key)].push(key);
        }
        let mut firsts = Firsts {
            duplicate: vec![0; rows.div_ceil(64) as usize],
            rows,
            next: 0,
            seen: KeySet::with_capacity(history.len()),
            groups: 0,
        };
        let per_group = (budget / BYTES_PER_KEY).max(1);
        let mut start = 0;
        while start < PARTS {
            // A group: consecutive parts whose records fit the budget (at least one part).
            let mut end = start + 1;
            let mut keys = sizes[start];
            while end < PARTS && keys + sizes[end] <= per_group {
                keys += sizes[end];
                end += 1;
            }
            let mut set = KeySet::with_capacity(keys as usize);
            for (i, keys) in history_by_part.iter().enumerate().take(end).skip(start) {
                firsts.dedupe_part(&dir.join(format!("keys-{i:03}")), &mut set)?;
                for &key in keys {
                    if set.contains(key) {
                        firsts.seen.insert(key);
                    }
                }
            }
            firsts.groups += 1;
            start = end;
        }
        std::fs::remove_dir_all(&dir)?;
        Ok(firsts)
    }
}

/// Which rows of a run are the first occurrence of their key, by their order at the dedupe
/// step; and which history keys the list holds.
pub struct Firsts {
    duplicate: Vec<u64>,
    rows: u64,
    next: u64,
    seen: KeySet,
    groups: usize,
}

impl Firsts {
    fn dedupe_part(&mut self, path: &Path, set: &mut KeySet) -> io::Result<()> {
        let mut reader = BufReader::with_capacity(256 * 1024, File::open(path)?);
        let mut record = [0u8; RECORD];
        loop {
            match reader.read_exact(&mut record) {
                Ok(()) => {}
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
                Err(e) => return Err(e),
            }
            let row = u64::from_le_bytes(record[..8].try_into().expect("8 bytes"));
            let key = DedupeKey::from_le_bytes(record[8..].try_into().expect("16 bytes"));
            if row >= self.rows {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!(
                        "{}: row {row} beyond the {} written",
                        path.display(),
                        self.rows
                    ),
                ));
            }
            if !set.insert(key) {
                self.duplicate[(row / 64) as usize] |= 1 << (row % 64);
            }
        }
    }

    /// Whether the next row at the dedupe step is the first of its key (rows are asked about in
    /// the order they were pushed).
    pub fn next_is_first(&mut self) -> bool {
        let row = self.next;
        self.next += 1;
        let word = self
            .duplicate
            .get((row / 64) as usize)
            .copied()
            .unwrap_or(0);
        word & (1 << (row % 64)) == 0
    }

    /// Whether `key`, one of the history keys given to [`Spill::firsts`], is on the list.
    pub fn seen(&self, key: DedupeKey) -> bool {
        self.seen.contains(key)
    }

    /// Rows asked about so far, and rows written by the first pass: equal at the end of a run
    /// whose two passes saw the same rows.
    pub fn asked_of_written(&self) -> (u64, u64) {
        (self.next, self.rows)
    }

    /// How many groups the parts were deduped in.
    pub fn groups(&self) -> usize {
        self.groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u64) -> Vec<DedupeKey> {
        // Every seventh row repeats an earlier key; keys spread over the parts.
        (0..n)
            .map(|i| {
                let k = if i % 7 == 6 { i / 2 } else { i };
                u128::from(k).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) | 1
            })
            .collect()
    }

    #[test]
    fn spilled_dedupe_gives_the_in_memory_answer_at_any_budget() {
        let all = keys(20_000);
        let mut expected = KeySet::with_capacity(16);
        let want: Vec<bool> = all.iter().map(|&k| expected.insert(k)).collect();
        let history = [all[5], all[6], 0xDEAD_BEEF, all[19_999]];
        for budget in [1, 40 * BYTES_PER_KEY, 1_000 * BYTES_PER_KEY, u64::MAX / 2] {
            let dir = tempfile::tempdir().unwrap();
            let mut spill = Spill::create(&dir.path().join("spill")).unwrap();
            for &k in &all {
                spill.push(k).unwrap();
            }
            let mut firsts = spill.firsts(budget, &history).unwrap();
            let got: Vec<bool> = all.iter().map(|_| firsts.next_is_first()).collect();
            assert_eq!(got, want, "budget {budget}");
            assert_eq!(firsts.asked_of_written(), (20_000, 20_000));
            assert!(firsts.seen(all[5]) && firsts.seen(all[19_999]));
            assert!(!firsts.seen(0xDEAD_BEEF));
            assert!(
                !dir.path().join("spill").exists(),
                "the part files are removed"
            );
            let groups = firsts.groups();
            match budget {
                1 => assert_eq!(groups, PARTS, "one part a group at the least"),
                b if b > 1 << 40 => assert_eq!(groups, 1),
                _ => assert!(groups > 1 && groups <= PARTS, "{groups}"),
            }
        }
    }
}
