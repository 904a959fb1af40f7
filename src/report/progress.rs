//! Progress bars on stderr, one per input, measured in bytes read from disk (compressed bytes
//! for a compressed file, so the bar reaches its end with the file). Hidden when the caller says
//! so: the binary turns them off when stderr is not a terminal (cron) or with `--quiet`.

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

    /// Removes all bars (before the summary is printed).
    pub fn finish(&self) {
        let _ = self.multi.clear();
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
}
