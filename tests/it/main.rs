//! reshard's integration tests, against real MariaDB servers.
//!
//! They need the local instances of `scripts/db.sh up` (`scripts/test.sh` starts them, then runs
//! everything). One test binary, one module per area; each test makes its own databases through
//! `reshard_testkit::TestDb`, so all of them run in parallel.

mod bench;
mod binlog;
mod check;
mod copy;
mod cutover;
mod discover;
mod examples;
mod faults;
mod jobs;
mod moves;
mod observe;
mod protocol;
mod reshard;
mod resume;
mod rollback;
mod roundtrip;
mod safety;
mod testkit;
mod throttle;
mod verify;
mod wire;

use std::process::{Command, Output};

/// Runs the real `reshard` binary with `args`, logging at `trace` so that tests also see what the
/// most verbose logs would reveal (a password must not appear even there).
fn reshard(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_reshard"))
        .args(args)
        .env("RUST_LOG", "trace")
        .output()
        .expect("running the reshard binary");
    Run::from(output)
}

/// Starts the real `reshard` binary with `args`, logging at `info`, both outputs piped, and
/// returns at once (for tests that act while it runs).
fn spawn_reshard<I, S>(args: I) -> std::process::Child
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    Command::new(env!("CARGO_BIN_EXE_reshard"))
        .args(args)
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("starting reshard")
}

/// What one run of the binary did.
#[derive(Debug)]
struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Standard output and standard error together.
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    /// Panics unless standard output contains `needle`.
    #[track_caller]
    fn stdout_has(&self, needle: &str) -> &Run {
        assert!(
            self.stdout.contains(needle),
            "stdout lacks {needle:?}:\n{}",
            self.stdout
        );
        self
    }

    /// Panics unless standard error contains `needle`.
    #[track_caller]
    fn stderr_has(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }

    /// Panics if anything the run printed contains `secret`.
    #[track_caller]
    fn never_shows(&self, secret: &str) -> &Run {
        assert!(
            !self.all().contains(secret),
            "{secret:?} leaked:\n{}",
            self.all()
        );
        self
    }

    /// Panics unless the run ended with `code`, showing everything it printed.
    #[track_caller]
    fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            Some(code),
            "expected exit {code}; output:\n{}",
            self.all()
        );
        assert!(
            !self.all().contains("panicked"),
            "the binary panicked:\n{}",
            self.all()
        );
        self
    }
}

/// A loopback port nothing listens on (free a moment ago).
fn unused_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binding a free port");
    listener.local_addr().expect("local address").port()
}
