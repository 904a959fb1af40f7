//! A CSV input's rows, read a batch at a time as the text they came in.
//!
//! Most subscriber files have no quotes at all, and for them a CSV parser only splits lines at
//! the delimiter. So a batch keeps the bytes as read, and each row is one of three kinds:
//! - a **plain** row, whose text holds no `"` and no `\r`: its fields are the text split at the
//!   delimiter, found only when asked for, and the text can be written out again as it is;
//! - a row of **simple quoted fields** on one line (no quote inside a field; what files that
//!   quote every field hold): its fields are spans of its text, found by one scan;
//! - a **parsed** row, read by `csv_core` (the `csv` crate's parser) because it has other quotes
//!   or a lone carriage return: its fields are copied out into the batch.
//!
//! A chunk is cut into lines with `memchr` up to the line holding the next quote or `\r`; the
//! row starting on that line is split by one scan when its fields are simple (or its only `\r`
//! ends it) and goes through the parser otherwise (a quoted field may span lines), and the
//! cutting goes on after it. A parsed row without quotes is still kept plain. The rows are the
//! ones the `csv` crate reads (a flexible reader with the default quoting, and `\r`, `\n` or
//! `\r\n` as line ends; blank lines are skipped), which the tests check against it on random
//! text cut at every size.
//!
//! A batch can also hold rows that were never text: a Parquet batch's rows are read from its
//! columns where they lie ([`RowBatch::push_columns`]).
//!
//! Each row's line is the line its first byte is on, counting every `\n` before it, those of
//! skipped blank lines included.

use std::io::{self, Read};

use super::parquet::TextColumn;

/// Where one row of a [`RowBatch`] is.
#[derive(Debug, Clone, Copy)]
struct RowAt {
    line: u64,
    /// The row's text in `text`, without its line end.
    start: usize,
    end: usize,
    /// How its fields are found.
    layout: Layout,
}

/// How a row's fields are found.
#[derive(Debug, Clone, Copy)]
enum Layout {
    /// The text split at the delimiter.
    Plain,
    /// Copied out: the field data starts at `data[data_at]`, and the field ends are
    /// `ends[ends_at..ends_at + fields]`, each relative to `data_at`.
    Parsed {
        data_at: usize,
        ends_at: usize,
        fields: usize,
    },
    /// Spans of the text (a row of simple quoted fields, read where it lies): field `k` is
    /// `text[start + ends[at + 2k]..start + ends[at + 2k + 1]]`.
    Spans { at: usize, fields: usize },
    /// Row `start` of the columns `columns[set]` (a Parquet batch's, read where they lie).
    Columns { set: usize },
}

/// Rows read together: their text and, for rows with quotes, their fields.
#[derive(Debug)]
pub struct RowBatch {
    delimiter: u8,
    /// Bytes read; only `..filled` hold this batch's text. (The rest is kept initialised so that
    /// the next read goes straight into it.)
    text: Vec<u8>,
    filled: usize,
    data: Vec<u8>,
    ends: Vec<usize>,
    rows: Vec<RowAt>,
    /// The column sets that `Columns` rows are read from.
    columns: Vec<Vec<TextColumn>>,
}

impl RowBatch {
    /// An empty batch of rows split at `delimiter`.
    pub fn new(delimiter: u8) -> Self {
        RowBatch {
            delimiter,
            text: Vec::new(),
            filled: 0,
            data: Vec::new(),
            ends: Vec::new(),
            rows: Vec::new(),
            columns: Vec::new(),
        }
    }

    /// Rows in the batch.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the batch holds no row.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The line (CSV) or row number (Parquet) of row `i`.
    pub fn line(&self, i: usize) -> u64 {
        self.rows[i].line
    }

    /// The fields of row `i`.
    pub fn fields(&self, i: usize) -> Fields<'_> {
        let r = &self.rows[i];
        match r.layout {
            Layout::Plain => Fields::Plain {
                text: &self.text[r.start..r.end],
                delimiter: self.delimiter,
            },
            Layout::Parsed {
                data_at,
                ends_at,
                fields,
            } => Fields::Parsed {
                data: &self.data[data_at..],
                ends: &self.ends[ends_at..ends_at + fields],
            },
            Layout::Spans { at, fields } => Fields::Spans {
                text: &self.text[r.start..r.end],
                spans: &self.ends[at..at + 2 * fields],
            },
            Layout::Columns { set } => Fields::Columns {
                columns: &self.columns[set],
                row: r.start,
            },
        }
    }

    /// Row `i`'s text when it is plain: the fields joined by the delimiter, with no quote and no
    /// line end in it, so a CSV writer with the same delimiter would write these very bytes.
    pub fn plain_text(&self, i: usize) -> Option<&[u8]> {
        let r = &self.rows[i];
        matches!(r.layout, Layout::Plain).then(|| &self.text[r.start..r.end])
    }

    /// Row `i`'s text as it was read, quotes included, without its line end: what a writer
    /// that keeps the input's quoting writes for the row unchanged. `None` for the rare row
    /// whose text began in the previous read (its fields are still there), and for a row that
    /// was not read as text.
    pub fn text_as_read(&self, i: usize) -> Option<&[u8]> {
        let r = &self.rows[i];
        let whole = match r.layout {
            Layout::Plain | Layout::Spans { .. } => true,
            Layout::Parsed { .. } => r.end > r.start,
            Layout::Columns { .. } => false,
        };
        whole.then(|| &self.text[r.start..r.end])
    }

    /// The first byte of row `i` as read (for prefetching), if any.
    pub fn first_byte(&self, i: usize) -> Option<&u8> {
        let r = &self.rows[i];
        match r.layout {
            Layout::Plain | Layout::Spans { .. } => self.text.get(r.start),
            Layout::Parsed { data_at, .. } => self.data.get(data_at),
            Layout::Columns { .. } => None,
        }
    }

    /// Adds the rows of `columns`, one per value of the columns (which all hold `rows` values),
    /// numbered from `first_line`: the rows' fields are read from the columns where they lie.
    pub fn push_columns(&mut self, columns: Vec<TextColumn>, rows: usize, first_line: u64) {
        let set = self.columns.len();
        self.columns.push(columns);
        self.rows.extend((0..rows).map(|row| RowAt {
            line: first_line + row as u64,
            start: row,
            end: row,
            layout: Layout::Columns { set },
        }));
    }

    /// Empties the batch for rows split at `delimiter`, keeping its memory.
    pub fn reset(&mut self, delimiter: u8) {
        self.delimiter = delimiter;
        self.clear();
    }

    /// Empties the batch, keeping its memory.
    pub fn clear(&mut self) {
        self.filled = 0;
        self.data.clear();
        self.ends.clear();
        self.rows.clear();
        self.columns.clear();
    }
}

/// One row's fields.
#[derive(Debug, Clone, Copy)]
pub enum Fields<'a> {
    /// Text with no quotes: the fields are what lies between the delimiters.
    Plain {
        /// The row's text.
        text: &'a [u8],
        /// The delimiter.
        delimiter: u8,
    },
    /// Fields copied out by the parser.
    Parsed {
        /// The field data, from the row's first field on.
        data: &'a [u8],
        /// The end of each field in `data`.
        ends: &'a [usize],
    },
    /// Fields that are spans of the row's text (quoted fields without their quotes).
    Spans {
        /// The row's text.
        text: &'a [u8],
        /// Each field's start and end in `text`, one after the other.
        spans: &'a [usize],
    },
    /// One row of columns: field `k` is `columns[k]`'s value at `row`.
    Columns {
        /// The columns.
        columns: &'a [TextColumn],
        /// The row.
        row: usize,
    },
}

impl<'a> Fields<'a> {
    /// How many fields there are, and field `column` when there is one: one pass over the text.
    pub fn count_and_get(&self, column: usize) -> (usize, Option<&'a [u8]>) {
        match *self {
            Fields::Plain { text, delimiter } => {
                let (mut count, mut start, mut found) = (0, 0, None);
                for at in memchr::memchr_iter(delimiter, text) {
                    if count == column {
                        found = Some(&text[start..at]);
                    }
                    count += 1;
                    start = at + 1;
                }
                if count == column {
                    found = Some(&text[start..]);
                }
                (count + 1, found)
            }
            Fields::Parsed { .. } | Fields::Spans { .. } | Fields::Columns { .. } => {
                (self.len(), self.get(column))
            }
        }
    }

    /// How many fields there are.
    pub fn len(&self) -> usize {
        match *self {
            Fields::Plain { text, delimiter } => memchr::memchr_iter(delimiter, text).count() + 1,
            Fields::Parsed { ends, .. } => ends.len(),
            Fields::Spans { spans, .. } => spans.len() / 2,
            Fields::Columns { columns, .. } => columns.len(),
        }
    }

    /// True when there is no field (a parsed row of none; a text row has at least one).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Field `i`.
    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        match *self {
            Fields::Plain { text, delimiter } => text.split(move |b| *b == delimiter).nth(i),
            Fields::Parsed { data, ends } => {
                let end = *ends.get(i)?;
                let start = if i == 0 { 0 } else { ends[i - 1] };
                Some(&data[start..end])
            }
            Fields::Spans { text, spans } => {
                let end = *spans.get(2 * i + 1)?;
                Some(&text[spans[2 * i]..end])
            }
            Fields::Columns { columns, row } => Some(columns.get(i)?.value(row)),
        }
    }

    /// Where each field lies, into `out` (emptied first), for [`Fields::at`]: a row's fields are
    /// found once however many of them are then read, in whatever order, with no allocation
    /// once `out` has grown. (For a row of columns, a field's place is its column.)
    pub fn bounds(&self, out: &mut Vec<(usize, usize)>) {
        out.clear();
        match *self {
            Fields::Plain { text, delimiter } => {
                let mut start = 0;
                for at in memchr::memchr_iter(delimiter, text) {
                    out.push((start, at));
                    start = at + 1;
                }
                out.push((start, text.len()));
            }
            Fields::Parsed { ends, .. } => {
                let mut start = 0;
                for &end in ends {
                    out.push((start, end));
                    start = end;
                }
            }
            Fields::Spans { spans, .. } => {
                out.extend(spans.chunks_exact(2).map(|s| (s[0], s[1])));
            }
            Fields::Columns { columns, .. } => out.extend((0..columns.len()).map(|k| (k, k))),
        }
    }

    /// The field at `bounds`, one of those [`Fields::bounds`] gave.
    pub fn at(&self, (start, end): (usize, usize)) -> &'a [u8] {
        match *self {
            Fields::Plain { text, .. } | Fields::Spans { text, .. } => &text[start..end],
            Fields::Parsed { data, .. } => &data[start..end],
            Fields::Columns { columns, row } => {
                debug_assert_eq!(start, end);
                columns[start].value(row)
            }
        }
    }

    /// Every field, in order.
    pub fn iter(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let (plain, parsed, spans, columns) = match *self {
            Fields::Plain { text, delimiter } => {
                (Some(text.split(move |b| *b == delimiter)), None, None, None)
            }
            Fields::Parsed { data, ends } => (
                None,
                Some(ends.iter().scan(0, move |start, &end| {
                    let field = &data[*start..end];
                    *start = end;
                    Some(field)
                })),
                None,
                None,
            ),
            Fields::Spans { text, spans } => (
                None,
                None,
                Some(spans.chunks_exact(2).map(move |s| &text[s[0]..s[1]])),
                None,
            ),
            Fields::Columns { columns, row } => (
                None,
                None,
                None,
                Some(columns.iter().map(move |c| c.value(row))),
            ),
        };
        plain
            .into_iter()
            .flatten()
            .chain(parsed.into_iter().flatten())
            .chain(spans.into_iter().flatten())
            .chain(columns.into_iter().flatten())
    }
}

/// A CSV stream read in batches of rows (see the module's documentation).
pub struct CsvRows {
    stream: Box<dyn Read + Send>,
    core: csv_core::Reader,
    delimiter: u8,
    /// Bytes to read per batch; doubled when a single row is longer.
    chunk: usize,
    /// The bytes read after the last whole row: the start of the next batch.
    carry: Vec<u8>,
    /// The line of `carry`'s first byte.
    line: u64,
    /// When the parser stopped inside a row (the end of `carry`): the fields it had copied out.
    partial: Option<(Vec<u8>, Vec<usize>)>,
    eof: bool,
    /// The first row is a header and is not returned.
    skip_header: bool,
}

impl CsvRows {
    /// Rows of `stream`, split at `delimiter`, read about `chunk` bytes at a time; the first row
    /// is dropped when `header` is true.
    pub fn new(stream: Box<dyn Read + Send>, delimiter: u8, chunk: usize, header: bool) -> Self {
        CsvRows {
            stream,
            core: csv_core::ReaderBuilder::new().delimiter(delimiter).build(),
            delimiter,
            chunk: chunk.max(1),
            carry: Vec::new(),
            line: 1,
            partial: None,
            eof: false,
            skip_header: header,
        }
    }

    /// The line reading has reached (where a read error happened).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// A batch to read into.
    pub fn batch(&self) -> RowBatch {
        RowBatch::new(self.delimiter)
    }

    /// Reads the next rows into `batch` (emptied first); false when there are no more. A batch
    /// holds at least one row unless the input is done.
    pub fn read(&mut self, batch: &mut RowBatch) -> io::Result<bool> {
        batch.clear();
        batch.delimiter = self.delimiter;
        loop {
            let rest = self.fill(batch)?;
            if self.skip_header && !batch.rows.is_empty() {
                batch.rows.remove(0);
                self.skip_header = false;
            }
            if !batch.rows.is_empty() || self.eof {
                return Ok(!batch.rows.is_empty());
            }
            // Nothing whole yet: a row longer than the chunk, or only blank lines so far.
            if rest == 0 {
                self.chunk = self.chunk.saturating_mul(2);
            }
        }
    }

    /// Reads a chunk after the carried bytes and cuts it into rows; returns where the new carry
    /// started.
    fn fill(&mut self, batch: &mut RowBatch) -> io::Result<usize> {
        let carried = self.carry.len();
        let want = carried + self.chunk;
        if batch.text.len() < want {
            batch.text.resize(want, 0);
        }
        batch.text[..carried].copy_from_slice(&self.carry);
        let mut filled = carried;
        while filled < want && !self.eof {
            match self.stream.read(&mut batch.text[filled..want]) {
                Ok(0) => self.eof = true,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        batch.filled = filled;
        let rest = self.cut(batch, carried);
        self.carry.clear();
        self.carry.extend_from_slice(&batch.text[rest..filled]);
        Ok(rest)
    }

    /// Cuts a chunk into rows; returns where the bytes to carry over start. Lines up to the one
    /// holding the next quote or `\r` are cut at their `\n`; the row starting on that line goes
    /// through the parser (it may span lines); and so on. `resume` is where the parser picks up
    /// when it stopped inside a row at the end of the last chunk (that row's bytes start the
    /// chunk).
    fn cut(&mut self, batch: &mut RowBatch, resume: usize) -> usize {
        let filled = batch.filled;
        // `line` is the line of byte `pos`, where the rows not cut yet start.
        let (mut pos, mut line) = (0, self.line);
        let mut out = Out::default();
        let mut parse_at = None;
        if let Some((data, ends)) = self.partial.take() {
            grow(&mut batch.data, data.len());
            batch.data[..data.len()].copy_from_slice(&data);
            grow(&mut batch.ends, ends.len());
            batch.ends[..ends.len()].copy_from_slice(&ends);
            (out.data, out.ends) = (data.len(), ends.len());
            parse_at = Some(resume);
        }
        loop {
            let resumed = parse_at.is_some();
            let at = match parse_at.take() {
                Some(at) => at,
                None => {
                    let text = &batch.text[..filled];
                    let special = memchr::memchr2(b'"', b'\r', &text[pos..]).map(|q| pos + q);
                    let plain_end = match special {
                        Some(q) => {
                            memchr::memrchr(b'\n', &text[pos..q]).map_or(pos, |n| pos + n + 1)
                        }
                        None => filled,
                    };
                    let from = pos;
                    for nl in memchr::memchr_iter(b'\n', &text[from..plain_end]) {
                        let nl = from + nl;
                        if nl > pos {
                            batch.rows.push(RowAt {
                                line,
                                start: pos,
                                end: nl,
                                layout: Layout::Plain,
                            });
                        }
                        (line, pos) = (line + 1, nl + 1);
                    }
                    if special.is_none() {
                        if self.eof && pos < filled {
                            batch.rows.push(RowAt {
                                line,
                                start: pos,
                                end: filled,
                                layout: Layout::Plain,
                            });
                            pos = filled;
                        }
                        break;
                    }
                    pos
                }
            };
            // The row starting at `pos` has a quote or a `\r`. A one-line row of simple fields
            // (quoted ones without inner quotes or line ends; a `\r\n` line end) is split here;
            // any other goes to the parser.
            if !resumed {
                if let Some(next) = simple_row(batch, pos, line, &mut out) {
                    (line, pos) = (line + 1, next);
                    continue;
                }
            }
            let Some(end) = self.parse_one(batch, at, &mut out) else {
                if first_of_row(&batch.text[..filled], pos, filled) < filled {
                    // Stopped inside the row: the parser keeps its state, and the row's bytes
                    // and the fields copied out so far go to the next chunk.
                    self.partial = Some((
                        batch.data[out.row_data..out.data].to_vec(),
                        batch.ends[out.row_ends..out.ends].to_vec(),
                    ));
                }
                break;
            };
            let text = &batch.text[..filled];
            let first = first_of_row(text, pos, end);
            if first < end {
                line += count_lines(&text[pos..first]);
                let mut last = end;
                while last > first && matches!(text[last - 1], b'\n' | b'\r') {
                    last -= 1;
                }
                // Without a quote, a row's fields are its text split at the delimiter.
                let plain = memchr::memchr2(b'"', b'\r', &text[first..last]).is_none();
                batch.rows.push(RowAt {
                    line,
                    start: first,
                    end: last,
                    layout: if plain {
                        Layout::Plain
                    } else {
                        Layout::Parsed {
                            data_at: out.row_data,
                            ends_at: out.row_ends,
                            fields: out.ends - out.row_ends,
                        }
                    },
                });
                if plain {
                    (out.data, out.ends) = (out.row_data, out.row_ends);
                }
                line += count_lines(&text[first..end]);
            } else {
                line += count_lines(&text[pos..end]);
            }
            (out.row_data, out.row_ends) = (out.data, out.ends);
            pos = end;
        }
        self.line = line;
        batch.data.truncate(out.data);
        batch.ends.truncate(out.ends);
        pos
    }

    /// Feeds the parser from `at` until it ends a row; returns where the row's bytes end, or
    /// `None` when the chunk ran out first (or the input ended with only line ends).
    fn parse_one(&mut self, batch: &mut RowBatch, mut at: usize, out: &mut Out) -> Option<usize> {
        let filled = batch.filled;
        loop {
            if at == filled && !self.eof {
                return None;
            }
            if out.data == batch.data.len() {
                grow(&mut batch.data, 256);
            }
            if out.ends == batch.ends.len() {
                grow(&mut batch.ends, 16);
            }
            let (result, nin, nout, nend) = self.core.read_record(
                &batch.text[at..filled],
                &mut batch.data[out.data..],
                &mut batch.ends[out.ends..],
            );
            at += nin;
            out.data += nout;
            out.ends += nend;
            match result {
                csv_core::ReadRecordResult::Record => return Some(at),
                csv_core::ReadRecordResult::End => return None,
                _ => {}
            }
        }
    }
}

/// Reads the row at `pos` when it is one line of simple fields: unquoted fields without `"` or
/// `\r`, and quoted fields whose text has no `"`, `\r` or `\n` and whose closing quote is
/// followed by the delimiter or the line end (`\n` or `\r\n`). These are most rows of files
/// that quote every field (Mailchimp, HubSpot, `QUOTE_ALL`) or end lines with `\r\n` (Excel),
/// and `csv_core` reads them as exactly these fields. Pushes the row (plain when it has no
/// quote, else as spans of its text: nothing is copied) and returns where the next row starts;
/// `None`, with nothing pushed, for any other row or when the line end is not in the chunk yet.
fn simple_row(batch: &mut RowBatch, pos: usize, line: u64, out: &mut Out) -> Option<usize> {
    let filled = batch.filled;
    let (text, delimiter) = (&batch.text[..filled], batch.delimiter);
    if matches!(text.get(pos), None | Some(b'\n' | b'\r')) {
        return None;
    }
    // A row without a quote (a CRLF file's usual row) is plain up to its line end: its fields
    // are found later where they are needed, so they are not looked for here.
    let first = memchr::memchr3(b'"', b'\n', b'\r', &text[pos..]).map(|p| pos + p);
    let plain_end = match first {
        Some(e) if text[e] == b'\n' => Some((e, e + 1)),
        Some(e) if text[e] == b'\r' && text.get(e + 1) == Some(&b'\n') => Some((e, e + 2)),
        Some(e) if text[e] == b'"' => None,
        // a lone `\r`, or no line end yet in the chunk: the parser's
        _ => return None,
    };
    if let Some((end, next)) = plain_end {
        batch.rows.push(RowAt {
            line,
            start: pos,
            end,
            layout: Layout::Plain,
        });
        (out.row_data, out.row_ends) = (out.data, out.ends);
        return Some(next);
    }
    // Each field's start and end, relative to the row, go into `ends` as pairs past the rows
    // already there; they count (`out.ends`) only once the row is known to be simple and quoted.
    let mark = out.ends;
    let mut pairs = mark;
    let mut quoted = false;
    let mut i = pos;
    let found = loop {
        let (from, to, after) = if text[i] == b'"' {
            quoted = true;
            // The closing quote, with no line end before it (one scan for the three).
            let close = match memchr::memchr3(b'"', b'\n', b'\r', &text[i + 1..]) {
                Some(c) if text[i + 1 + c] == b'"' => i + 1 + c,
                _ => break None,
            };
            (i + 1, close, close + 1)
        } else {
            let stop = text[i..]
                .iter()
                .position(|b| *b == delimiter || matches!(b, b'\n' | b'\r' | b'"'))
                .map_or(filled, |p| i + p);
            (i, stop, stop)
        };
        // Two stores where the buffer already reaches (a reused batch): `put` copies a slice,
        // and a call to copy two numbers per field showed in profiles of quoted files.
        if let Some(pair) = batch.ends.get_mut(pairs..pairs + 2) {
            pair[0] = from - pos;
            pair[1] = to - pos;
        } else {
            put(&mut batch.ends, pairs, &[from - pos, to - pos]);
        }
        pairs += 2;
        match text.get(after) {
            Some(b) if *b == delimiter && after + 1 < filled => i = after + 1,
            Some(b'\n') => break Some((after, after + 1)),
            Some(b'\r') if text.get(after + 1) == Some(&b'\n') => break Some((after, after + 2)),
            _ => break None,
        }
    };
    let (content_end, next) = found?;
    let layout = if quoted {
        out.ends = pairs;
        Layout::Spans {
            at: mark,
            fields: (pairs - mark) / 2,
        }
    } else {
        Layout::Plain
    };
    batch.rows.push(RowAt {
        line,
        start: pos,
        end: content_end,
        layout,
    });
    (out.row_data, out.row_ends) = (out.data, out.ends);
    Some(next)
}

/// How much of a batch's field buffers is used, and where the row being parsed starts in them.
#[derive(Default)]
struct Out {
    data: usize,
    ends: usize,
    row_data: usize,
    row_ends: usize,
}

/// Where a row read from `text[start..end]` begins: after the line ends the parser skipped.
fn first_of_row(text: &[u8], start: usize, end: usize) -> usize {
    text[start..end]
        .iter()
        .position(|b| *b != b'\n' && *b != b'\r')
        .map_or(end, |p| start + p)
}

fn count_lines(text: &[u8]) -> u64 {
    memchr::memchr_iter(b'\n', text).count() as u64
}

/// Writes `src` into `buf` at `at`, over what is there and past its end: the buffers of a batch
/// are used up to a count kept beside them, and a tail already there is not written twice.
fn put<T: Copy>(buf: &mut Vec<T>, at: usize, src: &[T]) {
    debug_assert!(at <= buf.len(), "a gap in a batch buffer");
    let over = src.len().min(buf.len().saturating_sub(at));
    buf[at..at + over].copy_from_slice(&src[..over]);
    buf.extend_from_slice(&src[over..]);
}

/// Makes `buf` at least `more` elements longer (doubling, so that growth is amortised).
fn grow<T: Default + Clone>(buf: &mut Vec<T>, more: usize) {
    let len = buf.len().max(more).max(buf.len() * 2);
    buf.resize(len, T::default());
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Trickle;

    /// Every row as (line, fields, plain), read with `chunk`-byte batches and `step`-byte reads.
    fn ours(
        text: &[u8],
        chunk: usize,
        step: usize,
        header: bool,
    ) -> Vec<(u64, Vec<Vec<u8>>, bool)> {
        ours_split(text, b',', chunk, step, header)
    }

    fn ours_split(
        text: &[u8],
        delimiter: u8,
        chunk: usize,
        step: usize,
        header: bool,
    ) -> Vec<(u64, Vec<Vec<u8>>, bool)> {
        let mut rows = CsvRows::new(Box::new(Trickle::new(text, step)), delimiter, chunk, header);
        let mut batch = rows.batch();
        let mut out = Vec::new();
        while rows.read(&mut batch).unwrap() {
            assert!(!batch.is_empty());
            for i in 0..batch.len() {
                let fields = batch.fields(i);
                let all: Vec<Vec<u8>> = fields.iter().map(<[u8]>::to_vec).collect();
                assert_eq!(fields.len(), all.len());
                for (k, f) in all.iter().enumerate() {
                    assert_eq!(fields.get(k), Some(f.as_slice()));
                    assert_eq!(fields.count_and_get(k), (all.len(), Some(f.as_slice())));
                }
                assert_eq!(fields.get(all.len()), None);
                let mut bounds = Vec::new();
                fields.bounds(&mut bounds);
                let by_bounds: Vec<Vec<u8>> =
                    bounds.iter().map(|b| fields.at(*b).to_vec()).collect();
                assert_eq!(by_bounds, all);
                if let Some(plain) = batch.plain_text(i) {
                    assert_eq!(plain, all.join(&delimiter));
                }
                out.push((batch.line(i), all, batch.plain_text(i).is_some()));
            }
        }
        out
    }

    /// What the `csv` crate reads, each row's line being the line of its first byte.
    fn theirs(text: &[u8], delimiter: u8, header: bool) -> Vec<(u64, Vec<Vec<u8>>)> {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .has_headers(header)
            .flexible(true)
            .from_reader(text);
        let mut record = csv::ByteRecord::new();
        let mut out = Vec::new();
        while reader.read_byte_record(&mut record).unwrap() {
            let at = record.position().unwrap().byte() as usize;
            let first = first_of_row(text, at, text.len());
            let line = 1 + count_lines(&text[..first]);
            out.push((line, record.iter().map(<[u8]>::to_vec).collect()));
        }
        out
    }

    /// Reads `text` at each (chunk, read size) of `cuts` and checks the rows against the `csv`
    /// crate's.
    fn assert_read_as_the_csv_crate(
        text: &[u8],
        delimiter: u8,
        header: bool,
        cuts: &[(usize, usize)],
    ) {
        let want = theirs(text, delimiter, header);
        for &(chunk, step) in cuts {
            let got = ours_split(text, delimiter, chunk, step, header);
            let got_rows: Vec<_> = got.iter().map(|(l, f, _)| (*l, f.clone())).collect();
            assert_eq!(
                got_rows,
                want,
                "{:?} chunk {chunk} step {step}",
                String::from_utf8_lossy(text)
            );
        }
    }

    #[test]
    fn rows_are_the_csv_crates_whatever_the_cuts() {
        let mut next = crate::testing::xorshift(0x2545_f491_4f6c_dd1d);
        let alphabet = b"ab,,\"\n\n\r x";
        for case in 0..400 {
            let len = next(60);
            let text: Vec<u8> = (0..len).map(|_| alphabet[next(alphabet.len())]).collect();
            let cuts = [
                (1, 1),
                (2, 3),
                (3, 1),
                (5, 7),
                (8, 2),
                (64, 64),
                (1 << 16, 5),
            ];
            assert_read_as_the_csv_crate(&text, b',', case % 3 == 0, &cuts);
        }
    }

    /// Rows built of whole fields, most of them simple (quoted or not, `\n` or `\r\n` line
    /// ends) and some not (inner quotes, quoted line breaks, a quote inside an unquoted field,
    /// text after a closing quote, lone `\r`), with `,` or `;`: the split of simple rows and the
    /// parser give the `csv` crate's rows at every cut.
    #[test]
    fn rows_of_quoted_fields_are_the_csv_crates_whatever_the_cuts() {
        let mut next = crate::testing::xorshift(0x9e37_79b9_7f4a_7c15);
        let fields: &[&[u8]] = &[
            b"ann@x.org",
            b"\"ann@x.org\"",
            b"\"\"",
            b"",
            b"\"J\xc3\xbcrgen, Jr\"",
            b"\"a\"\"b\"",
            b"\"two\nlines\"",
            b"a\"b",
            b"\"q\"x",
            b"\"cr\rin\"",
            b"\xd0\x98\xd0\xb2\xd0\xb0\xd0\xbd",
        ];
        let ends: &[&[u8]] = &[b"\n", b"\r\n", b"\r\n", b"\n\n", b"\r", b""];
        for case in 0..300 {
            let delimiter = if case % 2 == 0 { b',' } else { b';' };
            let mut text = Vec::new();
            for _ in 0..1 + next(6) {
                for f in 0..1 + next(4) {
                    if f > 0 {
                        text.push(delimiter);
                    }
                    let field = fields[next(fields.len())];
                    // Mostly simple fields, so that most rows take the simple split.
                    let field = if next(3) > 0 { fields[next(5)] } else { field };
                    text.extend_from_slice(field);
                }
                text.extend_from_slice(ends[next(ends.len())]);
            }
            let cuts = [(1, 1), (3, 2), (7, 5), (16, 16), (1 << 16, 1 << 16)];
            assert_read_as_the_csv_crate(&text, delimiter, case % 5 == 0, &cuts);
        }
    }

    #[test]
    fn lines_without_quotes_stay_plain_and_count_blank_lines() {
        let text = b"email,name\nA@x.org,Ann\n\nb@y.org,\"Bob, Jr\"\nc@z.org,Cy\r\nd@w.org\n";
        let got = ours(text, 1 << 16, 1 << 16, true);
        let rows: Vec<(u64, bool)> = got.iter().map(|(l, _, p)| (*l, *p)).collect();
        // The quoted row is parsed; the others, even in the same chunk, are kept as text.
        assert_eq!(rows, [(2, true), (4, false), (5, true), (6, true)]);
        assert_eq!(got[1].1, [b"b@y.org".to_vec(), b"Bob, Jr".to_vec()]);
        // Without quotes at all the chunk is only cut at line ends.
        let got = ours(b"a,b\n\n\nc,d", 4, 1, false);
        assert_eq!(
            got.iter().map(|(l, _, p)| (*l, *p)).collect::<Vec<_>>(),
            [(1, true), (4, true)]
        );
    }
}
