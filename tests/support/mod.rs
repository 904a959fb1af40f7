//! The harness: run the built binary in a temporary folder, build its command line with
//! [`Run`], and read what it wrote.

pub mod dns_server;
pub mod hostile;

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

    /// Writes `resolv.conf` naming `servers` (in order, `[ip]:port`) with `extra` lines after
    /// them, and returns its path, for `MAILSCRUB_RESOLV_CONF`: the system-configuration path.
    pub fn resolv_conf(&self, servers: &[std::net::SocketAddr], extra: &str) -> String {
        let mut text = String::new();
        for s in servers {
            text.push_str(&format!("nameserver [{}]:{}\n", s.ip(), s.port()));
        }
        text.push_str(extra);
        self.write("resolv.conf", text)
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

    /// `mailscrub clean INPUTS... --out out --no-dns`, to be completed and run.
    pub fn clean(&self, inputs: &[&str]) -> Run<'_> {
        let mut args = vec!["clean".to_owned()];
        args.extend(inputs.iter().map(|s| (*s).to_owned()));
        Run {
            dir: self,
            args,
            out: Some("out".to_owned()),
            no_dns: true,
            stdin: None,
            env: Vec::new(),
        }
    }

    /// `mailscrub ARGS...`, to be completed and run.
    pub fn cmd(&self, args: &[&str]) -> Run<'_> {
        Run {
            dir: self,
            args: args.iter().map(|s| (*s).to_owned()).collect(),
            out: None,
            no_dns: false,
            stdin: None,
            env: Vec::new(),
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

/// A command line being built; [`Run::run`] runs it.
pub struct Run<'d> {
    dir: &'d TestDir,
    args: Vec<String>,
    out: Option<String>,
    no_dns: bool,
    stdin: Option<Vec<u8>>,
    env: Vec<(String, String)>,
}

impl Run<'_> {
    /// One more argument.
    pub fn arg(mut self, arg: impl AsRef<str>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    /// More arguments.
    pub fn args(mut self, args: &[&str]) -> Self {
        self.args.extend(args.iter().map(|s| (*s).to_owned()));
        self
    }

    /// `--out DIR` instead of `--out out`.
    pub fn out(mut self, dir: &str) -> Self {
        self.out = Some(dir.to_owned());
        self
    }

    /// `--bounces PATH`.
    pub fn bounces(self, path: &str) -> Self {
        self.arg("--bounces").arg(path)
    }

    /// `--as-of DATE`.
    #[allow(clippy::wrong_self_convention)] // named after the flag it adds
    pub fn as_of(self, date: &str) -> Self {
        self.arg("--as-of").arg(date)
    }

    /// Ask the DNS server at `addr`, one try of `timeout` seconds, instead of `--no-dns`.
    pub fn dns(mut self, addr: std::net::SocketAddr, timeout: &str) -> Self {
        self.no_dns = false;
        self.args(&["--dns-timeout", timeout, "--dns-attempts", "1"])
            .arg("--dns-server")
            .arg(addr.to_string())
    }

    /// DNS on: the servers the arguments name, or the system configuration (see
    /// [`TestDir::run_full`]).
    pub fn with_dns(mut self) -> Self {
        self.no_dns = false;
        self
    }

    /// An environment variable.
    pub fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    /// Standard input.
    pub fn stdin(mut self, bytes: impl AsRef<[u8]>) -> Self {
        self.stdin = Some(bytes.as_ref().to_vec());
        self
    }

    /// Runs it.
    pub fn run(self) -> Output {
        let mut args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        if let Some(out) = &self.out {
            args.extend(["--out", out.as_str()]);
        }
        if self.no_dns {
            args.push("--no-dns");
        }
        let env: Vec<(&str, &str)> = self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        self.dir.run_full(&args, self.stdin.as_deref(), &env)
    }

    /// Runs it and asserts it exited with `code`.
    pub fn code(self, code: i32) -> Output {
        let out = self.run();
        assert_code(&out, code);
        out
    }

    /// Runs it and asserts it succeeded.
    pub fn ok(self) -> Output {
        self.code(0)
    }
}

/// Asserts two lists of lines are equal, showing them side by side when they are not.
pub fn assert_lines<A: AsRef<str>, B: AsRef<str>>(expected: &[A], got: &[B]) {
    let e: Vec<&str> = expected.iter().map(AsRef::as_ref).collect();
    let g: Vec<&str> = got.iter().map(AsRef::as_ref).collect();
    if e == g {
        return;
    }
    let width = e
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .clamp(8, 60);
    let mut table = format!("{:<width$} | got\n", "expected");
    for i in 0..e.len().max(g.len()) {
        let (a, b) = (
            e.get(i).copied().unwrap_or(""),
            g.get(i).copied().unwrap_or(""),
        );
        let mark = if a == b { ' ' } else { '!' };
        table.push_str(&format!("{a:<width$} {mark} {b}\n"));
    }
    panic!("lines differ:\n{table}");
}

/// Asserts `text` contains `needle`, showing `text` when it does not.
pub fn assert_contains(text: &str, needle: &str) {
    assert!(text.contains(needle), "{needle:?} not found in:\n{text}");
}

/// Asserts `text` contains each of `needles`.
pub fn assert_contains_all(text: &str, needles: &[&str]) {
    for needle in needles {
        assert_contains(text, needle);
    }
}

/// The exit codes, as the binary defines them.
pub mod exit {
    pub const USAGE: i32 = mailscrub::exit::USAGE as i32;
    pub const INPUT: i32 = mailscrub::exit::INPUT as i32;
    pub const OUTPUT: i32 = mailscrub::exit::OUTPUT as i32;
    pub const OTHER: i32 = mailscrub::exit::OTHER as i32;
    pub const BUSY: i32 = mailscrub::exit::BUSY as i32;
    pub const GUARD: i32 = mailscrub::exit::GUARD as i32;
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

/// A CSV text: the `header` line, then one line per item of `rows`.
pub fn csv_lines(header: &str, rows: impl IntoIterator<Item = String>) -> String {
    let mut text = format!("{header}\n");
    for row in rows {
        text.push_str(&row);
        text.push('\n');
    }
    text
}
