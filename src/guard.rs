//! Containment for parsers of outside input: a bug that panics on one record costs that record,
//! never the run.
//!
//! [`contained`] runs a parse and turns a panic into an error naming it as a bug, which the
//! caller reports like any unreadable record. While a contained call runs, [`is_contained`] is
//! true on its thread, so the binary's panic hook can stay quiet about panics that are already
//! reported (and print the usual message for any other).

use std::cell::Cell;
use std::panic::{catch_unwind, AssertUnwindSafe};

thread_local! {
    static DEPTH: Cell<u32> = const { Cell::new(0) };
}

/// Runs `f` on one record of outside input; a panic inside it becomes `Err` saying the record
/// was skipped because of a bug.
pub fn contained<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    caught(f).map_err(|message| {
        format!("skipped: mailscrub failed on this record (a bug, please report it): {message}")
    })
}

/// Runs `f`; a panic inside it becomes `Err` with the panic's message.
pub fn caught<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    DEPTH.with(|d| d.set(d.get() + 1));
    let result = catch_unwind(AssertUnwindSafe(f));
    DEPTH.with(|d| d.set(d.get() - 1));
    result.map_err(|payload| {
        payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned())
    })
}

/// True while a [`contained`] call runs on this thread.
pub fn is_contained() -> bool {
    DEPTH.with(|d| d.get() > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_an_error_and_the_depth_is_restored() {
        let r: Result<(), String> = contained(|| {
            assert!(is_contained());
            panic!("boom at byte 3")
        });
        assert!(r.unwrap_err().contains("boom at byte 3"));
        assert!(!is_contained());
        assert_eq!(contained(|| 7), Ok(7));
    }
}
