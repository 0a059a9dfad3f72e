//! Writing to standard output and standard error without ever failing the run.
//!
//! `println!` and `eprintln!` panic when their stream is closed (a reader of a pipe went away:
//! `reshard move 2>&1 | head -1`) or full (`2>/dev/full`), and a panic in a worker thread of a
//! move once left the process blocked on a thread scope. What reshard prints is for people or
//! scripts reading along; the data and the exit status do not depend on it. So a write that fails
//! is dropped: [`out!`] and [`err!`] for the command's own lines, [`Stderr`] for the logs.

use std::io::Write;

/// `println!` to standard output, dropping the line if it cannot be written.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// `eprintln!` to standard error, dropping the line if it cannot be written.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

pub(crate) use {err, out};

/// Standard error for the log: every write succeeds, whether or not the bytes got out.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let _ = std::io::stderr().write_all(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let _ = std::io::stderr().flush();
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Stderr {
    type Writer = Stderr;

    fn make_writer(&'a self) -> Stderr {
        Stderr
    }
}
