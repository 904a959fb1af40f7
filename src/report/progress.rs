//! Progress on stderr: one bar per input, measured in bytes read from disk (compressed bytes
//! for a compressed file, so the bar reaches its end with the file), and one line per phase
//! (bounce evidence, rows with rows/s, DNS domains answered of those asked, writing). Hidden when
//! the caller says so: the binary turns it off when stderr is not a terminal (cron) or with
//! `--quiet`.

use std::io::Read;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

/// A pause in reading after which a file's rate and ETA start over.
const RESUME_AFTER: std::time::Duration = std::time::Duration::from_millis(500);

/// A reader that advances its bar, and restarts the bar's clock when reading resumes after a
/// pause: every input's first bytes are read when the inputs are opened, the rest when the run
/// reaches it, and the ETA of the second file must count from then, not from the start of the
/// run ("eta 6m" for a file read in two seconds).
pub struct Resumed<R> {
    bar: ProgressBar,
    inner: R,
    last: Option<std::time::Instant>,
    after: std::time::Duration,
}

impl<R> Resumed<R> {
    /// Wraps `inner`; a pause longer than `after` restarts the bar's clock.
    pub fn new(bar: ProgressBar, inner: R, after: std::time::Duration) -> Self {
        Resumed {
            bar,
            inner,
            last: None,
            after,
        }
    }
}

impl<R: Read> Read for Resumed<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let now = std::time::Instant::now();
        if self
            .last
            .is_some_and(|l| now.duration_since(l) > self.after)
        {
            self.bar.reset_elapsed();
            self.bar.reset_eta();
        }
        let n = self.inner.read(buf)?;
        self.bar.inc(n as u64);
        self.last = Some(std::time::Instant::now());
        Ok(n)
    }
}

/// The bars of one run.
pub struct Progress {
    multi: MultiProgress,
    enabled: bool,
}

impl Progress {
    /// Bars drawn on stderr when `enabled`, nowhere otherwise.
    pub fn new(enabled: bool) -> Self {
        let target = if enabled {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        };
        Progress {
            multi: MultiProgress::with_draw_target(target),
            enabled,
        }
    }

    /// Wraps `reader` so that reading it advances a bar named `name` of `size` bytes.
    pub fn track(
        &self,
        name: &str,
        size: Option<u64>,
        reader: Box<dyn Read + Send>,
    ) -> Box<dyn Read + Send> {
        if !self.enabled {
            return reader;
        }
        let bar = match size {
            Some(len) => {
                let bar = ProgressBar::new(len);
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg:30!} {wide_bar} {binary_bytes}/{binary_total_bytes} {binary_bytes_per_sec} eta {eta}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
                );
                bar
            }
            None => {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template(
                        "{msg:30!} {spinner} {binary_bytes} {binary_bytes_per_sec}",
                    )
                    .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar
            }
        };
        let bar = self.multi.add(bar);
        bar.set_message(name.to_owned());
        Box::new(Resumed::new(bar, reader, RESUME_AFTER))
    }

    /// Whether anything is drawn (a terminal, not `--quiet`).
    pub fn shown(&self) -> bool {
        self.enabled
    }

    /// A line for one phase, `name` in front of what [`Phase::say`] tells.
    pub fn phase(&self, name: &str) -> Phase {
        self.line(name, "{prefix:8} {spinner} {msg}")
    }

    /// The rows line: rows decided, rows per second, time since the line started.
    pub fn rows(&self) -> Phase {
        self.line(
            "rows",
            "{prefix:8} {spinner} {human_pos} rows, {rows_per_sec} rows/s {msg} ({elapsed})",
        )
    }

    fn line(&self, name: &str, template: &str) -> Phase {
        let bar = ProgressBar::new_spinner().with_prefix(name.to_owned());
        let style = ProgressStyle::with_template(template)
            .unwrap_or_else(|_| ProgressStyle::default_spinner())
            .with_key(
                "rows_per_sec",
                |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                    let _ = write!(w, "{}", indicatif::HumanCount(state.per_sec() as u64));
                },
            );
        bar.set_style(style);
        let bar = self.multi.add(bar);
        if self.enabled {
            bar.enable_steady_tick(std::time::Duration::from_millis(200));
        }
        Phase { bar }
    }

    /// Removes all bars (before the summary is printed).
    pub fn finish(&self) {
        let _ = self.multi.clear();
    }
}

/// One phase's line (hidden when progress is off; it still counts, which the tests read).
pub struct Phase {
    bar: ProgressBar,
}

impl Phase {
    /// Replaces what the line says.
    pub fn say(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// Adds `n` to the line's count (rows).
    pub fn add(&self, n: u64) {
        self.bar.inc(n);
    }

    /// The DNS line's words: `answered` of `asked` distinct domains, `cached` from the cache.
    pub fn dns(&self, answered: u64, asked: u64, cached: u64) {
        let mut said = format!("{answered} of {asked} domains answered");
        if cached > 0 {
            said.push_str(&format!(", {cached} from the cache"));
        }
        self.say(said);
    }

    /// Stops the clock and leaves the line with `message`.
    pub fn done(&self, message: impl Into<String>) {
        self.bar.finish_with_message(message.into());
    }

    /// The count so far.
    pub fn count(&self) -> u64 {
        self.bar.position()
    }

    /// What the line says now.
    pub fn message(&self) -> String {
        self.bar.message()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_restarts_when_reading_resumes() {
        let bar = ProgressBar::hidden();
        bar.set_length(100);
        let mut r = Resumed::new(
            bar.clone(),
            &[7u8; 100][..],
            std::time::Duration::from_millis(20),
        );
        let mut buf = [0u8; 10];
        r.read_exact(&mut buf).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(80));
        assert!(bar.elapsed() >= std::time::Duration::from_millis(80));
        r.read_exact(&mut buf).unwrap();
        assert!(
            bar.elapsed() < std::time::Duration::from_millis(40),
            "{:?}",
            bar.elapsed()
        );
        assert_eq!(bar.position(), 20);
    }

    #[test]
    fn phase_lines_count_and_tell() {
        let progress = Progress::new(false);
        let rows = progress.rows();
        rows.add(1000);
        rows.add(24);
        assert_eq!(rows.count(), 1024);
        let dns = progress.phase("dns");
        dns.dns(3, 10, 0);
        assert_eq!(dns.message(), "3 of 10 domains answered");
        dns.dns(10, 10, 4);
        assert_eq!(dns.message(), "10 of 10 domains answered, 4 from the cache");
        dns.done("done");
        assert_eq!(dns.message(), "done");
    }
}
