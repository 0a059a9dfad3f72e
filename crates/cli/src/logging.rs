//! Log set-up: `tracing` to standard error, filtered like `RUST_LOG` (e.g. `RUST_LOG=debug`,
//! `RUST_LOG=reshard_mysql=trace`). Without `RUST_LOG`, reshard's own crates log at `info` and
//! everything else at `warn`. Standard output is kept for the command's results.

use tracing_subscriber::EnvFilter;

// The binary's own crate is `reshard` (its target name), not `reshard_cli`.
const DEFAULT_FILTER: &str = "warn,reshard=info,reshard_engine=info,reshard_mysql=info,reshard_convert=info,reshard_kernels=info";

pub(crate) fn init() {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
}
