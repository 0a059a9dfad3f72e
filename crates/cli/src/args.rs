//! The command line, as clap types. DSNs are taken as plain strings and parsed by the commands:
//! clap would repeat a rejected value, password included, in its error message.

use clap::{ArgGroup, Args, Parser, Subcommand};

/// Move and reshard very large MySQL and MariaDB tables online.
///
/// DSNs are URLs: mysql://user:password@host:port/database (percent-encode special characters
/// in the password, e.g. '@' as %40). Logging goes to standard error and follows RUST_LOG.
#[derive(Debug, Parser)]
#[command(name = "reshard", version, about, long_about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Check that servers are fit for a move: version, binary log settings, server id, writability.
    ///
    /// Connects to every server (read-only), prints what it found and a verdict per setting, and
    /// exits with 1 if any server is unfit or unreachable, naming the setting and how to fix it.
    Check(CheckArgs),
}

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("servers").required(true).multiple(true).args(["sources", "targets"])))]
pub(crate) struct CheckArgs {
    /// A server rows are read from and whose binary log is followed (repeatable).
    #[arg(long = "source", value_name = "DSN")]
    pub(crate) sources: Vec<String>,
    /// A server rows are written to (repeatable).
    #[arg(long = "target", value_name = "DSN")]
    pub(crate) targets: Vec<String>,
    /// Print the findings as JSON on standard output instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
}
