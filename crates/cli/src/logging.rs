//! Log set-up: `tracing` to standard error, filtered like `RUST_LOG` (e.g. `RUST_LOG=debug`,
//! `RUST_LOG=reshard_mysql=trace`). Without `RUST_LOG`, reshard's own crates log at `info` and
//! everything else at `warn`. Standard output is kept for the command's results. A log line that
//! cannot be written (standard error closed or full) is dropped ([`crate::output::Stderr`]);
//! colours only on a terminal without `NO_COLOR`.

use tracing_subscriber::EnvFilter;

// The binary's own crate is `reshard` (its target name), not `reshard_cli`.
const DEFAULT_FILTER: &str = "warn,reshard=info,reshard_engine=info,reshard_mysql=info,reshard_convert=info,reshard_kernels=info";

pub(crate) fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(crate::output::Stderr)
        .with_ansi(colour())
        .log_internal_errors(false)
        .with_target(false)
        .init();
}

/// Colour in logs only on a terminal, and never when `NO_COLOR` is set (<https://no-color.org>):
/// escape codes in a log file are noise.
fn colour() -> bool {
    use std::io::IsTerminal;
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
