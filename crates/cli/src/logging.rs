//! Log set-up: `tracing` to standard error, filtered like `RUST_LOG` (e.g. `RUST_LOG=debug`,
//! `RUST_LOG=reshard_mysql=trace`). Without `RUST_LOG`, reshard's own crates log at `info` and
//! everything else at `warn`. Standard output is kept for the command's results. A log line that
//! cannot be written (standard error closed or full) is dropped ([`crate::output::Stderr`]), and
//! lines are written by a thread of their own, so a blocked standard error stalls nothing;
//! colours only on a terminal without `NO_COLOR`.

use tracing_subscriber::EnvFilter;

// The binary's own crate is `reshard` (its target name), not `reshard_cli`.
const DEFAULT_FILTER: &str = "warn,reshard=info,reshard_engine=info,reshard_mysql=info,reshard_convert=info,reshard_kernels=info";

/// Log lines queued for standard error at most; past that (a reader that stopped reading), new
/// lines are dropped rather than stall the thread that logs them.
const QUEUED_LINES: usize = 10_000;

/// Sets up logging; keep the guard until the end of `main` (it writes out what is queued).
pub(crate) fn init() -> tracing_appender::non_blocking::WorkerGuard {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    // Lines are written by a thread of their own: a standard error that blocks (a pipe whose
    // reader is paused) never blocks a worker, a signal handler or the applier.
    let (writer, guard) = tracing_appender::non_blocking::NonBlockingBuilder::default()
        .lossy(true)
        .buffered_lines_limit(QUEUED_LINES)
        .thread_name("reshard-log")
        .finish(crate::output::Stderr);
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_ansi(colour())
        .log_internal_errors(false)
        .with_target(false)
        .init();
    guard
}

/// Colour in logs only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>):
/// escape codes in a log file are noise.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
