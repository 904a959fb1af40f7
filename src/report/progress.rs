//! Progress bars on stderr, one per input, measured in bytes read from disk (compressed bytes
//! for a compressed file, so the bar reaches its end with the file). Hidden when the caller says
//! so: the binary turns them off when stderr is not a terminal (cron) or with `--quiet`.

use std::io::Read;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

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
        Box::new(bar.wrap_read(reader))
    }

    /// Removes all bars (before the summary is printed).
    pub fn finish(&self) {
        let _ = self.multi.clear();
    }
}
