//! The clean lists: which inputs share one, its columns, and how a kept row is written.
//!
//! Inputs with the same columns share a clean list (`clean.csv` when there is only one set of
//! columns); each other set of columns gets `clean-<first input's name>.csv`. A kept row is
//! written **as read** when nothing about it changes (`CleanList::writes_rows_as_read`).

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::Path;

use csv::ByteRecord;

use super::parquet::{Cell, InferredTable, Kind, RowTable, TypedCol, TypedTable};
use super::shape::{
    neutralise, plan_columns, ColumnPlan, ExportProfile, LineEnds, OutCol, SplitCsv,
};
use crate::address::Checked;
use crate::files::{CsvStyle, OutputError, Synced};
use crate::input::{self, Fields, OpenedInput, RowSource};
use crate::record::{flag_names, Flags, FLAG_NAMES};

/// The columns `--annotate` adds to the clean list.
pub const ANNOTATION_COLUMNS: [&str; 4] = [
    "mailscrub_status",
    "mailscrub_reason",
    "mailscrub_flags",
    "mailscrub_suggestion",
];

/// Where the kept rows of a set of inputs with the same columns go.
pub struct CleanList {
    /// The file name reported (`clean.csv`, or `.parquet` when only Parquet is written).
    pub file: String,
    /// The inputs that share it, by index.
    pub inputs: Vec<usize>,
    writer: Option<SplitCsv>,
    verbatim: bool,
    parquet: Option<CleanParquet>,
    plan: ColumnPlan,
    /// Rows kept (whatever the formats).
    pub rows: u64,
}

/// A clean list's Parquet twin.
enum CleanParquet {
    /// From CSV inputs: string columns built row by row.
    Rows(RowTable),
    /// From Parquet inputs: kept rows taken from the typed batches.
    Typed(TypedTable),
    /// From CSV inputs with `--infer-types`: typed at commit from every value.
    Inferred(InferredTable),
}

/// A kept row, as the clean list needs it.
pub struct KeptRow<'a> {
    /// The address as the email column is written (the chosen IDN form).
    pub email: &'a str,
    /// Its index in its batch (for a Parquet input's typed batch).
    pub index: usize,
    /// Its fields.
    pub fields: Fields<'a>,
    /// Its text as read, when it may be written as it was read (plain text, address unchanged).
    pub as_read: Option<&'a [u8]>,
    /// The checked address.
    pub checked: &'a Checked,
    /// Its flags.
    pub flags: Flags,
}

/// Plans the clean lists of `opened` in `dir`: which inputs share one (returned per input) and
/// each one's columns and writers.
pub fn plan(
    dir: &Path,
    opened: &[OpenedInput],
    profile: &ExportProfile,
) -> Result<(Vec<CleanList>, Vec<usize>), crate::error::Error> {
    let shape = |o: &OpenedInput| {
        let types = match &o.rows {
            RowSource::Parquet(p) => format!(
                "parquet:{:?}",
                p.schema
                    .fields()
                    .iter()
                    .map(|f| f.data_type().to_string())
                    .collect::<Vec<_>>()
            ),
            RowSource::Csv(_) => "csv".to_owned(),
        };
        (o.layout.headers.clone(), o.layout.columns, types)
    };
    let mut shapes: Vec<(Option<ByteRecord>, usize, String)> = Vec::new();
    let mut group_of = Vec::with_capacity(opened.len());
    let mut members: Vec<Vec<usize>> = Vec::new();
    for (i, o) in opened.iter().enumerate() {
        let s = shape(o);
        let g = match shapes.iter().position(|x| *x == s) {
            Some(g) => g,
            None => {
                shapes.push(s);
                members.push(Vec::new());
                shapes.len() - 1
            }
        };
        members[g].push(i);
        group_of.push(g);
    }
    let mut lists = Vec::with_capacity(shapes.len());
    let mut used = HashSet::new();
    let annotations: &[&str] = if profile.annotate {
        &ANNOTATION_COLUMNS
    } else {
        &[]
    };
    for (g, inputs) in members.into_iter().enumerate() {
        let first = &opened[inputs[0]];
        let stem_name = if shapes.len() == 1 {
            "clean".to_owned()
        } else {
            unique_name(&mut used, &format!("clean-{}", stem(&first.name)))
        };
        let header: Option<Vec<String>> = shapes[g].0.as_ref().map(|h| {
            h.iter()
                .map(|f| String::from_utf8_lossy(f).into_owned())
                .collect()
        });
        let plan = plan_columns(
            header.as_deref(),
            first.layout.columns,
            first.layout.email_column,
            annotations,
            profile,
        )
        .map_err(|e| crate::error::Error::Usage(format!("{}: {e}", first.name)))?;
        let writer = if profile.csv {
            let (crlf, bom) = match profile.line_ends {
                LineEnds::Input => (first.layout.crlf, first.layout.bom),
                LineEnds::Lf => (false, false),
                LineEnds::Crlf => (true, false),
            };
            let style = CsvStyle {
                delimiter: profile.out_delimiter.unwrap_or(first.layout.delimiter),
                crlf,
                bom,
            };
            Some(SplitCsv::create(
                dir,
                &stem_name,
                style,
                plan.header.clone(),
                profile.split_rows,
            )?)
        } else {
            None
        };
        let parquet = if profile.parquet {
            Some(CleanParquet::create(
                dir,
                &format!("{stem_name}.parquet"),
                first,
                &plan,
                profile.infer_types,
            )?)
        } else {
            None
        };
        let members: Vec<&OpenedInput> = inputs.iter().map(|&i| &opened[i]).collect();
        let verbatim = writer.is_some() && CleanList::writes_rows_as_read(&members, &plan, profile);
        lists.push(CleanList {
            file: if profile.csv {
                format!("{stem_name}.csv")
            } else {
                format!("{stem_name}.parquet")
            },
            inputs,
            writer,
            verbatim,
            parquet,
            plan,
            rows: 0,
        });
    }
    Ok((lists, group_of))
}

impl CleanParquet {
    fn create(
        dir: &Path,
        name: &str,
        first: &OpenedInput,
        plan: &ColumnPlan,
        infer_types: bool,
    ) -> Result<Self, OutputError> {
        Ok(match &first.rows {
            RowSource::Parquet(p) => CleanParquet::Typed(TypedTable::create(
                dir,
                name,
                &p.schema,
                parquet_columns(plan, true),
            )?),
            RowSource::Csv(_) if infer_types => {
                let cols = parquet_columns(plan, false)
                    .into_iter()
                    .zip(plan_kinds(plan))
                    .map(|((n, c), inferable)| {
                        let fixed = match c {
                            _ if inferable => None,
                            TypedCol::Built(k) => Some(k),
                            TypedCol::Input(_) => Some(Kind::Text),
                        };
                        (n, fixed)
                    })
                    .collect();
                CleanParquet::Inferred(InferredTable::create(dir, name, cols)?)
            }
            RowSource::Csv(_) => {
                let cols = parquet_columns(plan, false);
                let spec: Vec<(&str, Kind)> = cols
                    .iter()
                    .map(|(n, c)| match c {
                        TypedCol::Built(k) => (n.as_str(), *k),
                        TypedCol::Input(_) => (n.as_str(), Kind::Text),
                    })
                    .collect();
                CleanParquet::Rows(RowTable::create(dir, name, &spec)?)
            }
        })
    }
}

/// For each Parquet column of `plan`: whether it holds an input field (inferable).
fn plan_kinds(plan: &ColumnPlan) -> Vec<bool> {
    let mut out = Vec::new();
    for col in &plan.cols {
        match col {
            OutCol::Field(_) => out.push(true),
            OutCol::Annotation(2) => out.extend(std::iter::repeat_n(false, FLAG_NAMES.len())),
            _ => out.push(false),
        }
    }
    out
}

/// The Parquet columns of a clean list: the plan's, with `mailscrub_flags` spread over one
/// boolean column per flag.
fn parquet_columns(plan: &ColumnPlan, typed: bool) -> Vec<(String, TypedCol)> {
    let mut out = Vec::new();
    for (k, col) in plan.cols.iter().enumerate() {
        let name = plan
            .header
            .as_ref()
            .and_then(|h| h.get(k).cloned())
            .unwrap_or_else(|| format!("column_{}", k + 1));
        match col {
            OutCol::Field(i) if typed => out.push((name, TypedCol::Input(*i))),
            OutCol::Annotation(2) => {
                for (_, flag) in FLAG_NAMES {
                    out.push((
                        format!("mailscrub_flag_{flag}"),
                        TypedCol::Built(Kind::Bool),
                    ));
                }
            }
            _ => out.push((name, TypedCol::Built(Kind::Text))),
        }
    }
    out
}

/// `dir/list.csv.gz` -> `list`; stdin -> `stdin`.
fn stem(name: &str) -> String {
    if name == input::STDIN_NAME {
        return "stdin".to_owned();
    }
    let base = Path::new(name)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_else(|| name.to_owned());
    let base = base.split('.').next().unwrap_or(&base).to_owned();
    let safe: String = base
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if safe.is_empty() {
        "input".to_owned()
    } else {
        safe
    }
}

fn unique_name(used: &mut HashSet<String>, stem: &str) -> String {
    let mut name = stem.to_owned();
    let mut n = 2;
    while !used.insert(name.clone()) {
        name = format!("{stem}-{n}");
        n += 1;
    }
    name
}

impl CleanList {
    /// The one rule for writing a kept row as the text it was read as: the CSV list has the
    /// inputs' columns in order, every input has the list's delimiter, and no cell is made
    /// inert. (The row itself must also be plain text whose address is already in normal form:
    /// [`KeptRow::as_read`].)
    fn writes_rows_as_read(
        members: &[&OpenedInput],
        plan: &ColumnPlan,
        profile: &ExportProfile,
    ) -> bool {
        let layout = &members[0].layout;
        !profile.spreadsheet_safe
            && profile.out_delimiter.is_none_or(|d| d == layout.delimiter)
            && members
                .iter()
                .all(|o| o.layout.delimiter == layout.delimiter)
            && plan.cols.len() == layout.columns
            && plan.cols.iter().enumerate().all(|(i, c)| match *c {
                OutCol::Email => i == layout.email_column,
                OutCol::Field(f) => f == i,
                OutCol::Annotation(_) => false,
            })
    }

    /// Writes a kept row; returns the cells made inert for spreadsheets. `bounds` is a buffer
    /// reused from row to row.
    pub fn keep(
        &mut self,
        row: KeptRow,
        profile: &ExportProfile,
        bounds: &mut Vec<(usize, usize)>,
    ) -> Result<u64, OutputError> {
        self.rows += 1;
        let as_read = row.as_read.filter(|_| self.verbatim);
        if let (Some(writer), Some(text)) = (&mut self.writer, as_read) {
            // Most kept rows of a plain file: one copy, no field-by-field writing.
            writer.line(text)?;
            if self.parquet.is_none() {
                return Ok(0);
            }
        }
        let fields = row.fields;
        // A row of columns reads a field straight from its column; a row of text finds its
        // fields once.
        let columns = matches!(fields, Fields::Columns { .. });
        if !columns {
            fields.bounds(bounds);
        }
        let record = |i: usize| {
            let field = if columns {
                fields.get(i)
            } else {
                bounds.get(i).map(|b| fields.at(*b))
            };
            field.unwrap_or_default()
        };
        let flag_text = if profile.annotate {
            flag_names(row.flags).join(";")
        } else {
            String::new()
        };
        let status: &str = if row.flags.is_empty() {
            "ok"
        } else {
            "flagged"
        };
        let suggestion = row.checked.suggestion.as_deref().unwrap_or("");
        let mut neutralised = 0;
        if let (Some(writer), None) = (&mut self.writer, as_read) {
            // Fields go straight to the CSV writer, no record built in between.
            let fields = self.plan.cols.iter().map(|col| {
                let value: &[u8] = match *col {
                    OutCol::Email => return Cow::Borrowed(row.email.as_bytes()),
                    OutCol::Field(i) => record(i),
                    OutCol::Annotation(0) => status.as_bytes(),
                    OutCol::Annotation(1) => b"",
                    OutCol::Annotation(2) => flag_text.as_bytes(),
                    OutCol::Annotation(_) => suggestion.as_bytes(),
                };
                match if profile.spreadsheet_safe {
                    neutralise(value)
                } else {
                    None
                } {
                    Some(inert) => {
                        neutralised += 1;
                        Cow::Owned(inert)
                    }
                    None => Cow::Borrowed(value),
                }
            });
            writer.row(fields)?;
        }
        let Some(pq) = &mut self.parquet else {
            return Ok(neutralised);
        };
        let typed = matches!(pq, CleanParquet::Typed(_));
        let texts: Vec<Cow<str>> = self
            .plan
            .cols
            .iter()
            .map(|c| match *c {
                OutCol::Field(i) => String::from_utf8_lossy(record(i)),
                _ => Cow::Borrowed(""),
            })
            .collect();
        let mut cells: Vec<Cell> = Vec::with_capacity(self.plan.cols.len() + 6);
        for (k, col) in self.plan.cols.iter().enumerate() {
            match *col {
                OutCol::Field(_) if typed => {}
                OutCol::Field(_) => cells.push(Cell::Text(&texts[k])),
                OutCol::Email => cells.push(Cell::Text(row.email)),
                OutCol::Annotation(0) => cells.push(Cell::Text(status)),
                OutCol::Annotation(1) => cells.push(Cell::Null),
                OutCol::Annotation(2) => {
                    for (f, _) in FLAG_NAMES {
                        cells.push(Cell::Bool(row.flags.contains(f)));
                    }
                }
                OutCol::Annotation(_) => cells.push(if suggestion.is_empty() {
                    Cell::Null
                } else {
                    Cell::Text(suggestion)
                }),
            }
        }
        match pq {
            CleanParquet::Rows(t) => t.push(&cells)?,
            CleanParquet::Inferred(t) => t.push(&cells)?,
            CleanParquet::Typed(t) => t.keep(row.index, &cells),
        }
        Ok(neutralised)
    }

    /// The end of a Parquet input's batch: its kept rows are taken from the typed batch.
    pub fn finish_batch(&mut self, batch: &arrow_array::RecordBatch) -> Result<(), OutputError> {
        if let Some(CleanParquet::Typed(t)) = &mut self.parquet {
            t.finish_batch(batch)?;
        }
        Ok(())
    }

    /// Rows the list's file holds: the CSV writer's own count, or the rows kept when only
    /// Parquet is written.
    pub fn written(&self) -> u64 {
        self.writer.as_ref().map_or(self.rows, SplitCsv::rows)
    }

    /// Takes the CSV writer out, to be synced on a thread of its own.
    pub fn take_writer(&mut self) -> Option<SplitCsv> {
        self.writer.take()
    }

    /// Commits the Parquet twin (written and renamed); returns its file name.
    pub fn commit_parquet(&mut self) -> Result<Option<String>, OutputError> {
        let path = match self.parquet.take() {
            Some(CleanParquet::Rows(t)) => t.commit()?,
            Some(CleanParquet::Typed(t)) => t.commit()?,
            Some(CleanParquet::Inferred(t)) => t.commit()?,
            None => return Ok(None),
        };
        Ok(Some(
            path.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        ))
    }
}

/// The synced parts of a CSV clean list, renamed into place; their file names.
pub fn persist(parts: Vec<Synced>) -> Result<Vec<String>, OutputError> {
    parts.into_iter().map(super::shape::persist_name).collect()
}
