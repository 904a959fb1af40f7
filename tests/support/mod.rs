//! Shared test helpers: run the built binary in a temporary folder and read what it wrote.

#![allow(dead_code)]

pub mod dns_server;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// What one run of the binary did.
#[derive(Debug)]
pub struct Output {
    /// The exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// A temporary folder to run in.
pub struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    /// A new empty folder.
    pub fn new() -> Self {
        TestDir {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    /// The folder's path.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `name` inside the folder.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file and returns its path as a string.
    pub fn write(&self, name: &str, content: impl AsRef<[u8]>) -> String {
        let path = self.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&path, content).expect("write");
        path.display().to_string()
    }

    /// Runs `mailscrub args...` in this folder.
    pub fn run(&self, args: &[&str]) -> Output {
        self.run_with_stdin(args, None)
    }

    /// Runs `mailscrub args...` with `stdin` as its input; kills it after 120 s.
    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&[u8]>) -> Output {
        self.run_full(args, stdin, &[])
    }

    /// Runs `mailscrub args...` with extra environment variables.
    ///
    /// Unless `env` names `MAILSCRUB_RESOLV_CONF`, the run reads a resolv.conf that names only a
    /// closed loopback port: a test that forgets `--dns-server` or `--no-dns` never sends a
    /// query to the machine's real name servers.
    pub fn run_full(&self, args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> Output {
        let fallback = self.join(".loopback-only-resolv.conf");
        if !fallback.exists() {
            std::fs::write(
                &fallback,
                "nameserver [127.0.0.1]:9\noptions timeout:1 attempts:1\n",
            )
            .expect("write resolv.conf");
        }
        let mut command = Command::new(env!("CARGO_BIN_EXE_mailscrub"));
        command.env("MAILSCRUB_RESOLV_CONF", &fallback);
        for (k, v) in env {
            command.env(k, v);
        }
        let mut child = command
            .args(args)
            .current_dir(self.path())
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn mailscrub");
        if let Some(input) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin");
            let input = input.to_vec();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&input);
            });
        }
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if child.try_wait().expect("wait").is_some() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if child.try_wait().expect("wait").is_none() {
            let _ = child.kill();
            panic!("mailscrub {args:?} did not finish within 120 s");
        }
        let out = child.wait_with_output().expect("output");
        Output {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Reads a CSV output (header included) as rows of strings.
    pub fn csv(&self, name: &str) -> Vec<Vec<String>> {
        read_csv(&self.join(name), b',')
    }

    /// Reads `out/report.json`.
    pub fn report(&self, out: &str) -> serde_json::Value {
        let text =
            std::fs::read_to_string(self.join(out).join("report.json")).expect("report.json");
        serde_json::from_str(&text).expect("report.json is JSON")
    }
}

/// Reads a CSV file (no header handling) as rows of strings.
pub fn read_csv(path: &Path, delimiter: u8) -> Vec<Vec<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_path(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    reader
        .records()
        .map(|r| r.expect("csv row").iter().map(str::to_owned).collect())
        .collect()
}

/// Asserts the run exited with `code`, showing stderr when not.
pub fn assert_code(out: &Output, code: i32) {
    assert_eq!(out.code, Some(code), "exit code; stderr:\n{}", out.stderr);
}
