//! A run's outputs switch as one: every file of a run is written into a generation folder of its
//! own, and one symbolic link names the current generation.
//!
//! ```text
//! OUT/clean.csv        -> .mailscrub/current/clean.csv      (one link per output name)
//! OUT/.mailscrub/current -> runs/20261201T101500Z-4242-9f3c  (switched by one rename)
//! OUT/.mailscrub/runs/20261201T101500Z-4242-9f3c/clean.csv ...
//! OUT/.mailscrub/lock                                        (held for the whole run)
//! ```
//! A reader that opens `OUT/clean.csv` goes through `current`, so every name in `OUT` shows the
//! same run: the previous one until the rename of `current`, the new one from then on. A name the
//! new run does not write is a link whose target does not exist in the new generation: it reads
//! as absent at once, and its link is removed right after the switch. Nothing of the new run
//! becomes visible before all of its files are written and synced, so a full disk or a kill at
//! any instant leaves the previous run whole. Files of the user's own in `OUT` (a DNS cache) are
//! never touched. A second run into the same `OUT` finds the lock held and stops at once.
//!
//! Folders and files left by interrupted runs (a generation that never became current, the
//! hidden `.NAME.XXXXXX.tmp` files that earlier versions of mailscrub wrote beside their
//! outputs) are removed by the next run, and nothing else.

use std::fs::{self, File};
use std::io;
use std::path::{Path, PathBuf};

use super::OutputError;

/// The folder, inside `OUT`, that holds the generations.
pub const STATE_DIR: &str = ".mailscrub";

/// Why a run cannot take the output folder.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// Another run holds the lock.
    #[error("{}: another mailscrub run is writing to this folder (lock {} held); try again when it has finished", dir.display(), lock.display())]
    Busy {
        /// The output folder.
        dir: PathBuf,
        /// The lock file.
        lock: PathBuf,
    },
    /// The folder cannot be prepared.
    #[error(transparent)]
    Io(#[from] OutputError),
}

/// The output folder, taken by one run.
pub struct Generation {
    out: PathBuf,
    state: PathBuf,
    id: String,
    dir: PathBuf,
    _lock: File,
}

fn fail(path: &Path) -> impl Fn(io::Error) -> OutputError + '_ {
    move |source| OutputError {
        path: path.to_path_buf(),
        source,
    }
}

/// A fault-injection point of the switch: in debug builds, `MAILSCRUB_FAULT_COMMIT_STEP=k`
/// aborts the process at the k-th point (counted from 1), as a kill would. Release builds
/// ignore it.
fn step() {
    #[cfg(debug_assertions)]
    {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst) + 1;
        let at = std::env::var("MAILSCRUB_FAULT_COMMIT_STEP")
            .ok()
            .and_then(|v| v.parse::<u32>().ok());
        if at == Some(n) {
            std::process::abort();
        }
    }
}

impl Generation {
    /// Takes `out` (created if missing): locks it, removes what interrupted runs left, and
    /// makes a new, empty generation folder for this run.
    pub fn begin(out: &Path) -> Result<Self, TakeError> {
        fs::create_dir_all(out).map_err(fail(out))?;
        let state = out.join(STATE_DIR);
        let runs = state.join("runs");
        fs::create_dir_all(&runs).map_err(fail(&runs))?;
        let lock_path = state.join("lock");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(fail(&lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                return Err(TakeError::Busy {
                    dir: out.to_path_buf(),
                    lock: lock_path,
                })
            }
            Err(fs::TryLockError::Error(e)) => return Err(fail(&lock_path)(e).into()),
        }
        let mut g = Generation {
            out: out.to_path_buf(),
            state,
            id: run_id(),
            dir: PathBuf::new(),
            _lock: lock,
        };
        g.clean_up_interrupted()?;
        g.dir = runs.join(&g.id);
        fs::create_dir(&g.dir).map_err(fail(&g.dir))?;
        Ok(g)
    }

    /// The folder this run writes its files into.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// This run's id (the generation folder's name).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The generation `current` names, if any.
    fn current(&self) -> Option<String> {
        let target = fs::read_link(self.state.join("current")).ok()?;
        target.file_name().map(|n| n.to_string_lossy().into_owned())
    }

    /// Removes generations that never became current (or were replaced and not yet removed),
    /// and the hidden temporary files earlier versions left beside their outputs.
    fn clean_up_interrupted(&self) -> Result<(), OutputError> {
        let current = self.current();
        let runs = self.state.join("runs");
        for entry in fs::read_dir(&runs).map_err(fail(&runs))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if Some(&name) != current.as_ref() && is_run_id(&name) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
        for entry in fs::read_dir(&self.out).map_err(fail(&self.out))?.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_legacy_temp(&name) && entry.file_type().is_ok_and(|t| t.is_file()) {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Makes this run's files, `names` (written and synced in [`Generation::dir`]), the ones
    /// `OUT` shows, all at once; then removes what only the previous run had.
    pub fn publish(self, names: &[String]) -> Result<(), OutputError> {
        sync_dir(&self.dir)?;
        step();
        // Links for names the previous run did not have: they point through `current`, so they
        // read as absent until the switch.
        let mut legacy = Vec::new();
        for name in names {
            let visible = self.out.join(name);
            match fs::symlink_metadata(&visible) {
                Ok(m) if m.file_type().is_symlink() => {}
                Ok(_) => legacy.push(name),
                Err(_) => {
                    self.link(name)?;
                    step();
                }
            }
        }
        sync_dir(&self.out)?;
        step();
        // The switch.
        let next = self.state.join(format!("current.{}", self.id));
        let _ = fs::remove_file(&next);
        std::os::unix::fs::symlink(Path::new("runs").join(&self.id), &next).map_err(fail(&next))?;
        let current = self.state.join("current");
        let previous = self.current();
        fs::rename(&next, &current).map_err(fail(&current))?;
        sync_dir(&self.state)?;
        step();
        // After the switch: files of an earlier version's layout become links, names this run
        // did not write go, and so does the previous generation.
        for name in legacy {
            self.link(name)?;
            step();
        }
        for entry in fs::read_dir(&self.out).map_err(fail(&self.out))?.flatten() {
            let path = entry.path();
            let points_here = fs::read_link(&path)
                .is_ok_and(|t| t.starts_with(Path::new(STATE_DIR).join("current")));
            if points_here && !path.exists() {
                let _ = fs::remove_file(&path);
                step();
            }
        }
        if let Some(previous) = previous.filter(|p| *p != self.id) {
            let _ = fs::remove_dir_all(self.state.join("runs").join(previous));
            step();
        }
        sync_dir(&self.out)?;
        Ok(())
    }

    /// `OUT/name` as a link through `current`, put in place by a rename.
    fn link(&self, name: &str) -> Result<(), OutputError> {
        let visible = self.out.join(name);
        let temp = self.out.join(format!(".{name}.{}.link", self.id));
        let _ = fs::remove_file(&temp);
        std::os::unix::fs::symlink(Path::new(STATE_DIR).join("current").join(name), &temp)
            .map_err(fail(&temp))?;
        fs::rename(&temp, &visible).map_err(fail(&visible))
    }

    /// Removes this run's generation (a run that failed before publishing).
    pub fn abandon(self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Syncs a folder, so that the names created or renamed in it are on disk.
fn sync_dir(dir: &Path) -> Result<(), OutputError> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail(dir))
}

/// A new run's id: UTC time, process id and a random part, sortable by time.
fn run_id() -> String {
    let mut random = [0u8; 4];
    let _ = getrandom::fill(&mut random);
    format!(
        "{}-{}-{:08x}",
        chrono::Utc::now().format("%Y%m%dT%H%M%S%3fZ"),
        std::process::id(),
        u32::from_le_bytes(random)
    )
}

/// Whether `name` has the shape of a run id (so that nothing else in `runs` is removed).
fn is_run_id(name: &str) -> bool {
    let parts: Vec<&str> = name.split('-').collect();
    parts.len() == 3
        && parts[0].ends_with('Z')
        && parts[0].contains('T')
        && parts[1].bytes().all(|b| b.is_ascii_digit())
        && parts[2].len() == 8
        && parts[2].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether `name` is a temporary file an earlier version of mailscrub left beside an output
/// (`.clean.csv.AbC123.tmp`), or a link of this version's left half made (`.clean.csv.ID.link`).
fn is_legacy_temp(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.') else {
        return false;
    };
    let Some(stem) = rest
        .strip_suffix(".tmp")
        .or_else(|| rest.strip_suffix(".link"))
    else {
        return false;
    };
    let Some((output, _random)) = stem.rsplit_once('.') else {
        return false;
    };
    let output_name = output.starts_with("clean")
        || [
            "suppression.csv",
            "suppression.parquet",
            "rejects.csv",
            "rejects.parquet",
            "duplicates.csv",
            "report.json",
        ]
        .contains(&output);
    output_name
        && (output.ends_with(".csv") || output.ends_with(".parquet") || output == "report.json")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mailscrubs_own_leftovers_are_recognised() {
        assert!(is_legacy_temp(".clean.csv.Xy12Ab.tmp"));
        assert!(is_legacy_temp(".clean-0001.csv.Xy12Ab.tmp"));
        assert!(is_legacy_temp(".report.json.Q1w2E3.tmp"));
        assert!(is_legacy_temp(".suppression.parquet.abcdef.tmp"));
        assert!(is_legacy_temp(
            ".clean.csv.20261201T101500000Z-1-0a0b0c0d.link"
        ));
        assert!(!is_legacy_temp(".dns-cache.jsonl.Xy12Ab.tmp"));
        assert!(!is_legacy_temp("clean.csv"));
        assert!(!is_legacy_temp(".my-notes.txt.tmp"));
        assert!(!is_legacy_temp(".clean.csv"));
        assert!(
            !is_legacy_temp(".clean.txt.AbC123.tmp"),
            "not a CSV or Parquet output"
        );
        assert!(is_run_id(&run_id()), "{}", run_id());
        assert!(!is_run_id("keep-me"));
        assert!(!is_run_id("20261201T101500000Z-1-zzzzzzzz"));
        assert!(!is_run_id("20261201T101500000Z-a-0a0b0c0d"));
        assert!(!is_run_id("x-1-0a0b0c0d"));
        assert!(!is_run_id("20261201T101500000Z-1-0a0b0c"));
    }

    #[test]
    fn a_new_run_clears_what_interrupted_runs_left_but_not_the_current_one() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        let g = Generation::begin(out).unwrap();
        std::fs::write(g.dir().join("clean.csv"), "first").unwrap();
        g.publish(&["clean.csv".to_owned()]).unwrap();
        let runs = out.join(STATE_DIR).join("runs");
        let stale = runs.join("20200101T000000000Z-1-0a0b0c0d");
        std::fs::create_dir(&stale).unwrap();
        std::fs::create_dir(runs.join("not-a-run")).unwrap();
        std::fs::write(out.join(".report.json.AbC123.tmp"), "half").unwrap();
        let g = Generation::begin(out).unwrap();
        assert!(!stale.exists(), "an interrupted run's folder");
        assert!(
            runs.join("not-a-run").exists(),
            "nothing that is not mailscrub's"
        );
        assert!(!out.join(".report.json.AbC123.tmp").exists());
        assert_eq!(
            std::fs::read_to_string(out.join("clean.csv")).unwrap(),
            "first",
            "the current run stays readable while the next one writes"
        );
        assert!(g.id().len() > 20 && g.dir().ends_with(g.id()));
        let dir_of_new = g.dir().to_path_buf();
        g.abandon();
        assert!(!dir_of_new.exists(), "an abandoned run leaves nothing");
    }

    #[test]
    fn a_second_run_finds_the_folder_busy() {
        let dir = tempfile::tempdir().unwrap();
        let first = Generation::begin(dir.path()).unwrap();
        assert!(matches!(
            Generation::begin(dir.path()),
            Err(TakeError::Busy { .. })
        ));
        first.abandon();
        assert!(Generation::begin(dir.path()).is_ok());
    }

    #[test]
    fn names_switch_together_and_old_names_go() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path();
        std::fs::write(out.join("dns-cache.jsonl"), "mine").unwrap();
        std::fs::write(out.join("clean.csv"), "from an earlier version").unwrap();
        let publish = |files: &[(&str, &str)]| {
            let g = Generation::begin(out).unwrap();
            for (name, text) in files {
                std::fs::write(g.dir().join(name), text).unwrap();
            }
            let names: Vec<String> = files.iter().map(|(n, _)| (*n).to_owned()).collect();
            g.publish(&names).unwrap();
        };
        publish(&[("clean.csv", "one"), ("clean-0002.csv", "one b")]);
        let read = |n: &str| std::fs::read_to_string(out.join(n)).ok();
        assert_eq!(read("clean.csv").as_deref(), Some("one"));
        assert_eq!(read("clean-0002.csv").as_deref(), Some("one b"));
        publish(&[("clean.csv", "two")]);
        assert_eq!(read("clean.csv").as_deref(), Some("two"));
        assert_eq!(read("clean-0002.csv"), None);
        assert!(std::fs::symlink_metadata(out.join("clean-0002.csv")).is_err());
        assert_eq!(read("dns-cache.jsonl").as_deref(), Some("mine"));
        let runs = std::fs::read_dir(out.join(STATE_DIR).join("runs")).unwrap();
        assert_eq!(runs.count(), 1, "the previous generation is removed");
    }
}
