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
    /// Copy whole tables from a source to a target (offline: the sources must be quiet).
    ///
    /// Creates missing target tables from the source's DDL, refuses a target table that holds rows
    /// (unless --force) or differs from the source's, copies in parallel chunks, checks the row
    /// count of every target table, and prints a summary. Exits 1 with the table, chunk and server
    /// named if anything fails; 2 if the input is wrong.
    Copy(CopyArgs),
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    /// The server and database rows are read from.
    #[arg(long = "source", value_name = "DSN", required = true)]
    pub(crate) source: String,
    /// The server and database rows are written to.
    #[arg(long = "target", value_name = "DSN", required = true)]
    pub(crate) target: String,
    /// Only these tables (comma-separated); all base tables of the source database by default.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub(crate) tables: Option<Vec<String>>,
    /// Reader threads in all.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: u16,
    /// Writer threads (connections) per target.
    #[arg(long = "write-threads", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) write_threads: u16,
    /// Byte budget of a chunk (a number, optionally with K, M or G: 16M).
    #[arg(long = "target-chunk-size", value_name = "BYTES", default_value = "16M", value_parser = parse_bytes)]
    pub(crate) target_chunk_size: u64,
    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// after the copy (faster loads).
    #[arg(long = "defer-secondary-indexes")]
    pub(crate) defer_secondary_indexes: bool,
    /// Empty target tables that hold rows before copying, instead of refusing.
    #[arg(long)]
    pub(crate) force: bool,
}

/// `16M`, `512K`, `1G` or a plain number of bytes (binary multiples).
pub(crate) fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (digits, shift) = match t.as_bytes().last() {
        Some(b'K' | b'k') => (&t[..t.len() - 1], 10),
        Some(b'M' | b'm') => (&t[..t.len() - 1], 20),
        Some(b'G' | b'g') => (&t[..t.len() - 1], 30),
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("'{text}' is not a size in bytes (e.g. 16777216 or 16M)"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("'{text}' must be between 1 byte and 2^64 bytes"))
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
