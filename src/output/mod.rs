//! Stage 7: every byte of the files a run leaves behind.
//!
//! [`Outputs`] is the one place that turns verdicts into bytes: a rejected row, a duplicate, a
//! suppressed address with its evidence, a kept row; then [`Outputs::commit`] syncs every file
//! and renames them into place only when all are written. The clean lists' layout is in
//! [`clean`], the suppression file's in [`suppression`]; files are written through the atomic
//! layer of [`crate::files`].

pub mod clean;
pub mod export;
pub mod parquet;
pub mod shape;
pub mod suppression;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use parquet::{Cell, Kind, RowTable};
use shape::{neutralise, ExportProfile, SplitCsv};

use crate::files::{AtomicCsv, OutputError, Synced};
use crate::input::OpenedInput;
use crate::policy::{Evidence, HistoryVerdict};
use crate::record::Reason;
use crate::report::CleanOutput;

pub use clean::{CleanList, KeptRow, ANNOTATION_COLUMNS};
pub use suppression::SUPPRESSION_COLUMNS;

/// The header of `rejects.csv`.
pub const REJECT_COLUMNS: [&str; 4] = ["file", "line", "error", "raw"];
/// The header of `duplicates.csv`.
pub const DUPLICATE_COLUMNS: [&str; 3] = ["file", "line", "email"];

/// Every output file of a run, written in input order by one thread.
pub struct Outputs {
    dir: PathBuf,
    profile: ExportProfile,
    lists: Vec<CleanList>,
    list_of: Vec<usize>,
    suppression: suppression::SuppressionFile,
    rejects: AtomicCsv,
    rejects_pq: Option<RowTable>,
    duplicates: Option<AtomicCsv>,
    /// Where the fields of the row being kept lie (reused from row to row).
    bounds: Vec<(usize, usize)>,
    /// Cells made inert by `--spreadsheet-safe`.
    neutralised: u64,
    /// Duplicates pushed (the file is only written with `--write-duplicates`).
    duplicates_seen: u64,
    /// Rows left to other parts of a `--partition` run (no file: another run writes them).
    other_partition: u64,
}

/// What a commit put in place.
pub struct Committed {
    /// Every file written, by name.
    pub files: Vec<String>,
    /// The clean lists.
    pub clean: Vec<CleanOutput>,
    /// The clean list of each input, by index into `clean`.
    pub list_of: Vec<usize>,
}

impl Outputs {
    /// Plans the clean lists of `opened` and starts every file in `dir` under temporary names.
    pub fn create(
        dir: &Path,
        opened: &[OpenedInput],
        profile: &ExportProfile,
    ) -> Result<Self, crate::error::Error> {
        let (lists, list_of) = clean::plan(dir, opened, profile)?;
        let suppression = suppression::SuppressionFile::create(dir, profile.parquet)?;
        let mut rejects = AtomicCsv::create(dir, "rejects.csv", b',')?;
        rejects.header(REJECT_COLUMNS)?;
        let duplicates = if profile.write_duplicates {
            let mut d = AtomicCsv::create(dir, "duplicates.csv", b',')?;
            d.header(DUPLICATE_COLUMNS)?;
            Some(d)
        } else {
            None
        };
        let rejects_pq = if profile.parquet {
            Some(RowTable::create(
                dir,
                "rejects.parquet",
                &[
                    ("file", Kind::Text),
                    ("line", Kind::Int),
                    ("error", Kind::Text),
                    ("raw", Kind::Text),
                ],
            )?)
        } else {
            None
        };
        Ok(Outputs {
            dir: dir.to_path_buf(),
            profile: profile.clone(),
            lists,
            list_of,
            suppression,
            rejects,
            rejects_pq,
            duplicates,
            bounds: Vec::new(),
            neutralised: 0,
            duplicates_seen: 0,
            other_partition: 0,
        })
    }

    /// The input rows the files hold, by verdict, counted by the files themselves (`rows_in`
    /// is left 0: rows are counted where they are read).
    pub fn written(&self) -> crate::report::Counts {
        crate::report::Counts {
            rows_in: 0,
            kept: self.lists.iter().map(CleanList::written).sum(),
            suppressed: self.suppression.written(),
            duplicates: self
                .duplicates
                .as_ref()
                .map_or(self.duplicates_seen, AtomicCsv::rows),
            rejected: self.rejects.rows(),
            other_partition: self.other_partition,
        }
    }

    /// Cells made inert for spreadsheets so far.
    pub fn neutralised(&self) -> u64 {
        self.neutralised
    }

    /// `text` made inert for spreadsheets when `--spreadsheet-safe` is on (and counted).
    fn inert<'t>(&mut self, text: &'t str) -> Cow<'t, str> {
        if !self.profile.spreadsheet_safe {
            return Cow::Borrowed(text);
        }
        match neutralise(text.as_bytes()) {
            Some(inert) => {
                self.neutralised += 1;
                Cow::Owned(String::from_utf8_lossy(&inert).into_owned())
            }
            None => Cow::Borrowed(text),
        }
    }

    /// A row that could not be read.
    pub fn reject(
        &mut self,
        file: &str,
        line: u64,
        error: &str,
        raw: &str,
    ) -> Result<(), OutputError> {
        let raw = self.inert(raw);
        self.rejects.row([file, &line.to_string(), error, &raw])?;
        if let Some(pq) = &mut self.rejects_pq {
            pq.push(&[
                Cell::Text(file),
                Cell::Int(line as i64),
                Cell::Text(error),
                Cell::Text(&raw),
            ])?;
        }
        Ok(())
    }

    /// A row of another part of a `--partition` run: written nowhere here, counted.
    pub fn other_partition(&mut self) {
        self.other_partition += 1;
    }

    /// A row whose address came earlier (only written with `--write-duplicates`).
    pub fn duplicate(&mut self, file: &str, line: u64, email: &str) -> Result<(), OutputError> {
        self.duplicates_seen += 1;
        if let Some(d) = &mut self.duplicates {
            d.row([file, &line.to_string(), email])?;
        }
        Ok(())
    }

    /// A suppressed address of row `line` of input `file`, with the evidence of its decision.
    pub fn suppress(
        &mut self,
        email: &str,
        reason: Reason,
        detail: &str,
        evidence: &Evidence,
        file: &str,
        line: u64,
    ) -> Result<(), OutputError> {
        let detail = self.inert(detail).into_owned();
        self.suppression
            .write(email, reason, &detail, evidence, file, line)
    }

    /// A kept row of input `input`.
    pub fn keep(&mut self, input: usize, row: KeptRow) -> Result<(), OutputError> {
        let list = &mut self.lists[self.list_of[input]];
        self.neutralised += list.keep(row, &self.profile, &mut self.bounds)?;
        Ok(())
    }

    /// The end of a batch of input `input`; `arrow` is its typed batch (Parquet inputs).
    pub fn end_batch(
        &mut self,
        input: usize,
        arrow: Option<&arrow_array::RecordBatch>,
    ) -> Result<(), OutputError> {
        match arrow {
            Some(batch) => self.lists[self.list_of[input]].finish_batch(batch),
            None => Ok(()),
        }
    }

    /// Writes the history's suppressions of addresses no row carried; returns how many.
    pub fn carry_forward(&mut self, verdicts: Vec<&HistoryVerdict>) -> Result<u64, OutputError> {
        self.suppression.carry_forward(verdicts)
    }

    /// Syncs every file, then renames them all into place; `names` are the inputs' names.
    pub fn commit(self, names: &[String]) -> Result<Committed, OutputError> {
        let Outputs {
            mut lists,
            list_of,
            suppression,
            rejects,
            rejects_pq,
            duplicates,
            ..
        } = self;
        // Every CSV output is synced at once, each on a thread of its own (each mostly waits on
        // the disk for its last part), and none is renamed into place before all are synced.
        let writers: Vec<Option<SplitCsv>> = lists.iter_mut().map(CleanList::take_writer).collect();
        type Parts = Result<Vec<Synced>, OutputError>;
        let (clean, sinks, suppression_pq) = std::thread::scope(|scope| {
            let clean: Vec<_> = writers
                .into_iter()
                .map(|w| scope.spawn(move || w.map_or(Ok(Vec::new()), SplitCsv::sync)))
                .collect();
            let suppression = scope.spawn(move || suppression.sync());
            let others: Vec<_> = [Some(rejects), duplicates]
                .into_iter()
                .flatten()
                .map(|f| scope.spawn(move || f.sync().map(|s| vec![s])))
                .collect();
            let join = |h: std::thread::ScopedJoinHandle<'_, Parts>| {
                h.join().unwrap_or_else(|p| std::panic::resume_unwind(p))
            };
            let clean = clean.into_iter().map(join).collect::<Vec<_>>();
            let (mut sinks, suppression_pq) = match suppression
                .join()
                .unwrap_or_else(|p| std::panic::resume_unwind(p))
            {
                Ok((synced, pq)) => (vec![Ok(vec![synced])], pq),
                Err(e) => (vec![Err(e)], None),
            };
            sinks.extend(others.into_iter().map(join));
            (clean, sinks, suppression_pq)
        });
        let clean: Vec<Vec<Synced>> = clean.into_iter().collect::<Result<_, _>>()?;
        let sinks: Vec<Vec<Synced>> = sinks.into_iter().collect::<Result<_, _>>()?;
        let mut files = Vec::new();
        let mut outputs = Vec::new();
        for (mut list, synced) in lists.into_iter().zip(clean) {
            let mut parts = clean::persist(synced)?;
            parts.extend(list.commit_parquet()?);
            files.extend(parts.iter().cloned());
            outputs.push(CleanOutput {
                file: list.file,
                inputs: list.inputs.iter().map(|i| names[*i].clone()).collect(),
                rows: list.rows,
                parts,
            });
        }
        for part in sinks.into_iter().flatten() {
            files.push(shape::persist_name(part)?);
        }
        for (pq, name) in [
            (suppression_pq, "suppression.parquet"),
            (rejects_pq, "rejects.parquet"),
        ] {
            if let Some(p) = pq {
                p.commit()?;
                files.push(name.to_owned());
            }
        }
        Ok(Committed {
            files,
            clean: outputs,
            list_of,
        })
    }

    /// The output folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

/// Writes `report.html` into `dir`, atomically (`history`: the last runs, tonight's last).
pub fn write_report_html(
    dir: &Path,
    report: &crate::report::Report,
    history: &[crate::report::history::Summary],
) -> Result<(), OutputError> {
    let html = crate::report::html::render(report, history);
    crate::files::write_atomic(dir, "report.html", html.as_bytes())?;
    Ok(())
}

/// Writes `report.json` into `dir`, atomically.
pub fn write_report(dir: &Path, report: &crate::report::Report) -> Result<(), OutputError> {
    let json = serde_json::to_vec_pretty(report)
        .map_err(|e| OutputError::other(&dir.join("report.json"), e))?;
    crate::files::write_atomic(dir, "report.json", &json)?;
    Ok(())
}
