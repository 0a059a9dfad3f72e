//! The command line, as clap types. DSNs are taken as plain strings and parsed by the commands:
//! clap would repeat a rejected value, password included, in its error message.

use std::time::Duration;

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
    /// Copy whole tables from sources to targets, resharding on the way (offline: the sources
    /// must be quiet).
    ///
    /// Every row goes to the target whose key range holds its keyspace id (--shard-by, --vschema
    /// or --config say how each table is sharded). Creates missing target tables from the
    /// source's DDL, refuses a target table that holds rows (unless --force) or differs from the
    /// source's, copies in parallel chunks, checks the row count of every target table, and
    /// prints a summary. Exits 1 with the table, chunk and server named if anything fails; 2 if
    /// the input is wrong (nothing connects then).
    Copy(CopyArgs),
    /// Move tables online: copy them while applying the changes the sources take meanwhile.
    ///
    /// Sets up the targets like copy (creating or checking their tables), starts a binlog stream
    /// per source before the first row is read, copies, and applies every change to the target
    /// its row routes to (an update of the sharding column moves the row). Runs until Ctrl-C or
    /// SIGTERM (which stop after the current batch of changes) or, with --stop-when-caught-up,
    /// until the targets have caught up with the sources and no change of a moved table is
    /// coming in. Progress shows the copy and, per source, how far behind (seconds and binlog
    /// bytes) the targets are. The sources must be MariaDB and log in ROW format with
    /// binlog_row_image=FULL.
    Move(MoveArgs),
    /// Compare the sources' tables with the targets', row by row, and name every row that differs.
    ///
    /// Takes the topology options of copy. For each table, the key space is cut into chunks;
    /// each chunk is read on every source and every target that receives the table, in
    /// parallel, and compared by row hashes (byte-exact, no collation): rows missing from a
    /// target, extra on it, different on it, or misplaced (on a target whose key range does not
    /// hold their keyspace id) are named by their key. Reads only, takes no lock. Meant for
    /// quiet sources (after copy, or with writes stopped): when a source's binary log moves
    /// while it runs, the report says its differences may be changes in flight. Exits 0 when
    /// every table is equal, 1 when rows differ (or anything fails), 2 on bad input, 3 when
    /// interrupted.
    Verify(VerifyArgs),
    /// Print where a move is: from its checkpoint (the move's own topology options), running or
    /// not; or, with --from, live from a copy or move running with --listen.
    ///
    /// From the checkpoint: the phase, how far each (source, table) has been copied, per source
    /// the binlog position the targets are at and how many binlog bytes behind the source's end
    /// that is, the tables verified, and how long ago the checkpoint was saved.
    Status(StatusArgs),
    /// Discard a move that has not cut over: empty its tables on every target and delete its
    /// checkpoint, listing what it drops. Takes the move's own topology options; refuses while
    /// the move runs.
    Reset(ResetArgs),
    /// Abandon a move that has not cut over: delete its checkpoint and its cutover sentinel and,
    /// with --drop-target-tables, drop the tables it wrote on the targets, listing what it drops.
    /// Takes the move's own topology options. A run of the move that is going on is asked to
    /// stop (it looks every second) and waited for, up to a minute. Refused once the move's
    /// cutover has started its hook.
    Cancel(CancelArgs),
    /// Stream the application's writes to the targets of a move that has cut over back into the
    /// sources' <table>_old tables (the rollback window), until stopped (Ctrl-C, SIGTERM) or
    /// ended by `reshard complete`. Each row goes to the source whose key range holds it
    /// (--source-key-ranges, for several sources). Run it again to go on where it stopped.
    Reverse(ReverseArgs),
    /// Switch a move that has cut over back to its sources: the reverse stream catches up, the
    /// targets' tables are locked, the hook runs once, the targets' tables are renamed
    /// <table>_old and the sources' <table>_old back to <table>.
    Rollback(ReverseArgs),
    /// End the rollback window of a move that has cut over (the reverse stream's checkpoint is
    /// deleted; stop a running `reshard reverse` first) and, with --drop-old-tables, drop the
    /// sources' <table>_old tables.
    Complete(CompleteArgs),
    /// Print the keyspace id of each value under a vindex and, given key ranges, its shard.
    Vindex(VindexArgs),
    /// Measure copy throughput between these servers, and what limits it.
    ///
    /// Generates a synthetic table on the source (or keeps it with --reuse), copies it to the
    /// targets sharded by its id exactly as `reshard copy` would, and reports rows/s, MB/s, wall
    /// time, the time of each stage (chunking, read, decode, route, encode, write and the waits
    /// on the channels between them) with the limiting stage in one line, reshard's and the
    /// servers' CPU (servers on this machine, through /proc) and the network bytes. Drops the
    /// tables it created unless --keep. The table is named reshard_bench_<profile> in each DSN's
    /// database; a table of that name that bench did not create is never touched.
    Bench(BenchArgs),
}

#[derive(Debug, Args)]
pub(crate) struct BenchArgs {
    /// The server and database the bench table is generated on and read from.
    #[arg(long = "source", value_name = "DSN", required = true)]
    pub(crate) source: String,
    /// A server and database the table is copied to (repeatable: the table is sharded over the
    /// targets by --vindex, even key ranges unless --key-ranges).
    #[arg(long = "target", value_name = "DSN", required = true)]
    pub(crate) targets: Vec<String>,
    /// Rows of the table (default: about 250 MB of rows: narrow 4M, wide 1M, text 200k, blob 16k).
    #[arg(long, value_name = "N")]
    pub(crate) rows: Option<u64>,
    /// The table's shape: narrow (integers), wide (an orders table: numbers, strings, dates,
    /// JSON, NULLs, a secondary index), text (~1.4 kB of UTF-8 a row), blob (8-24 KiB values).
    #[arg(long, value_name = "PROFILE", conflicts_with = "row_bytes")]
    pub(crate) profile: Option<String>,
    /// Instead of a profile: rows of an id and a binary value, this many bytes in all (9 to 4M).
    #[arg(long = "row-bytes", value_name = "BYTES", value_parser = parse_bytes)]
    pub(crate) row_bytes: Option<u64>,
    #[command(flatten)]
    pub(crate) tuning: TuningArgs,
    /// The vindex sharding the table by its id: hash, xxhash, numeric, reverse_bits, binary,
    /// binary_md5, unicode_loose_xxhash, unicode_loose_md5.
    #[arg(long, value_name = "NAME", default_value = "xxhash")]
    pub(crate) vindex: String,
    /// The targets' key ranges in target order (-80,80-); even ranges by default.
    #[arg(long = "key-ranges", value_name = "RANGES", allow_hyphen_values = true)]
    pub(crate) key_ranges: Option<String>,
    /// Keep the source table if it has the asked profile and row count (else generate it), and
    /// leave it for the next run.
    #[arg(long)]
    pub(crate) reuse: bool,
    /// Leave the generated and copied tables in place.
    #[arg(long)]
    pub(crate) keep: bool,
    /// Print the report as JSON on standard output (no progress display).
    #[arg(long)]
    pub(crate) json: bool,
    /// Do not time the stages (to measure what timing them costs).
    #[arg(long = "no-stage-timing")]
    pub(crate) no_stage_timing: bool,
}

#[derive(Debug, Args)]
pub(crate) struct CopyArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    #[command(flatten)]
    pub(crate) tuning: TuningArgs,
    #[command(flatten)]
    pub(crate) throttle: ThrottleArgs,
    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// after the copy (faster loads).
    #[arg(long = "defer-secondary-indexes")]
    pub(crate) defer_secondary_indexes: bool,
    /// Empty target tables that hold rows before copying, instead of refusing.
    #[arg(long)]
    pub(crate) force: bool,
    /// Serve the copy's /status (JSON) and /metrics (Prometheus) on HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) listen: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct StatusArgs {
    /// Read the live status of a job started with --listen HOST:PORT, instead of a checkpoint.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) from: Option<String>,
    /// The move whose checkpoint to read: the options it was started with.
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    /// Print the status as JSON.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct ResetArgs {
    /// The move to discard: the options it was started with.
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
}

#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    #[command(flatten)]
    pub(crate) tuning: TuningArgs,
    /// Differing rows listed per table at most (every one is counted).
    #[arg(long = "max-rows-listed", value_name = "N", default_value_t = 100)]
    pub(crate) max_rows_listed: usize,
    /// Print the report as JSON on standard output.
    #[arg(long)]
    pub(crate) json: bool,
}

#[derive(Debug, Args)]
pub(crate) struct MoveArgs {
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    #[command(flatten)]
    pub(crate) tuning: TuningArgs,
    #[command(flatten)]
    pub(crate) throttle: ThrottleArgs,
    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// back once the copy is done, while changes keep being applied (then ANALYZE TABLE), before
    /// the verification.
    #[arg(long = "defer-secondary-indexes")]
    pub(crate) defer_secondary_indexes: bool,
    /// Empty target tables that hold rows before copying, instead of refusing.
    #[arg(long)]
    pub(crate) force: bool,
    /// Exit once the copy is done and the targets have applied every change up to the sources'
    /// binlog ends read after it: the targets then equal the sources as of the positions the
    /// summary prints. With a QUIET time (e.g. 5s), also wait until no change of a moved table
    /// has come in for that long (ends are read again meanwhile).
    #[arg(long = "stop-when-caught-up", value_name = "QUIET", num_args = 0..=1, default_missing_value = "0s", value_parser = parse_duration)]
    pub(crate) stop_when_caught_up: Option<Duration>,
    /// Replica server id of the first source's binlog stream (source N uses this + N - 1); must
    /// differ from every server's and replica's id. Derived from the process id by default.
    #[arg(long = "server-id", value_name = "ID", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) server_id: Option<u32>,
    /// Keep no checkpoint (for benchmarks and throwaway moves): an interrupted move cannot be
    /// resumed, and runs again only with --force. By default a move saves its progress in
    /// `_reshard_checkpoint` on the first target, and the same command run again resumes it.
    #[arg(long = "no-checkpoint")]
    pub(crate) no_checkpoint: bool,
    /// Serve the move's /status (JSON) and /metrics (Prometheus) on HOST:PORT.
    #[arg(long, value_name = "HOST:PORT")]
    pub(crate) listen: Option<String>,
    #[command(flatten)]
    pub(crate) cutover: CutoverArgs,
}

/// When and how a move cuts over.
#[derive(Debug, Args)]
pub(crate) struct CutoverArgs {
    /// Cut over once every table is verified: lock the moved tables on every source, let the
    /// targets reach the sources' positions, run --cutover-hook, rename the source tables to
    /// <table>_old, release; then exit.
    #[arg(long, conflicts_with_all = ["stop_when_caught_up", "no_checkpoint"])]
    pub(crate) cutover: bool,
    /// Like --cutover, but first create the table `_reshard_sentinel` in the first target's
    /// database and keep replicating (re-verifying every --reverify-every) until it is dropped.
    #[arg(long = "defer-cutover", conflicts_with_all = ["stop_when_caught_up", "no_checkpoint", "cutover"])]
    pub(crate) defer_cutover: bool,
    /// While the cutover is deferred: how often every table is verified again.
    #[arg(long = "reverify-every", value_name = "DURATION", default_value = "1h", value_parser = parse_duration)]
    pub(crate) reverify_every: Duration,
    /// What the source tables are renamed to: <table><SUFFIX>.
    #[arg(long = "old-suffix", value_name = "SUFFIX", default_value = "_old", value_parser = parse_suffix)]
    pub(crate) suffix: String,
    /// After the cutover, keep running as the rollback window: stream the application's writes
    /// to the targets back into the sources' <table>_old tables (as `reshard reverse` does).
    #[arg(long)]
    pub(crate) reverse: bool,
    #[command(flatten)]
    pub(crate) switch: SwitchArgs,
}

/// How a cutover (or a rollback) switches: its lock, its hook.
#[derive(Debug, Args)]
pub(crate) struct SwitchArgs {
    /// The longest the application waits on the cutover's lock (per attempt), and the longest
    /// the other side may take to catch up under it.
    #[arg(long = "cutover-lock-timeout", value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub(crate) lock_timeout: Duration,
    /// Lock attempts (with back-off) before the switch gives up and replication goes on, with
    /// the sentinel created again (drop it to try again).
    #[arg(long = "cutover-attempts", value_name = "N", default_value_t = 5, value_parser = clap::value_parser!(u32).range(1..=100))]
    pub(crate) attempts: u32,
    /// A shell command that switches the application, run once under the lock with
    /// RESHARD_SOURCES, RESHARD_TARGETS, RESHARD_TABLES, RESHARD_SOURCE_POSITIONS,
    /// RESHARD_TARGET_POSITIONS and RESHARD_OLD_SUFFIX in its environment (for a rollback the
    /// sources are the move's targets). Non-zero exit: nothing is renamed, the locks are
    /// released, replication goes on.
    #[arg(long = "cutover-hook", value_name = "COMMAND")]
    pub(crate) hook: Option<String>,
    /// Kill the hook (and fail the attempt) if it runs longer than this.
    #[arg(long = "cutover-hook-timeout", value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub(crate) hook_timeout: Duration,
    /// After a crash while the hook ran: it did finish (the application was switched); finish
    /// without running it again.
    #[arg(long = "cutover-hook-ran", conflicts_with = "run_hook_again")]
    pub(crate) hook_ran: bool,
    /// After a crash while the hook ran: it did not finish; run it again.
    #[arg(long = "run-cutover-hook-again")]
    pub(crate) run_hook_again: bool,
}

impl SwitchArgs {
    /// The engine's options for a switch renaming to `<table><suffix>`.
    pub(crate) fn options(
        &self,
        deferred: bool,
        reverify_every: Duration,
        suffix: &str,
    ) -> reshard_engine::cutover::CutoverOptions {
        use reshard_engine::cutover::{CutoverOptions, EarlierHook, command_hook};
        CutoverOptions {
            deferred,
            reverify_every,
            lock_timeout: self.lock_timeout,
            lock_attempts: self.attempts,
            hook: self
                .hook
                .clone()
                .map(|command| command_hook(command, self.hook_timeout)),
            suffix: suffix.to_owned(),
            earlier_hook: if self.hook_ran {
                EarlierHook::Ran
            } else if self.run_hook_again {
                EarlierHook::RunAgain
            } else {
                EarlierHook::Unknown
            },
            restore_targets: false,
        }
    }
}

impl CutoverArgs {
    /// The engine's options, if the move cuts over.
    pub(crate) fn options(&self) -> Option<reshard_engine::cutover::CutoverOptions> {
        (self.cutover || self.defer_cutover).then(|| {
            self.switch
                .options(self.defer_cutover, self.reverify_every, &self.suffix)
        })
    }
}

/// A rename suffix: letters, digits, `_` and `$` (no quoting to get wrong), not empty.
fn parse_suffix(text: &str) -> Result<String, String> {
    if text.is_empty() {
        return Err(String::from(
            "the source tables are renamed to <table><SUFFIX>: give a suffix (the default is _old)",
        ));
    }
    if text.len() > 32
        || !text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$')
    {
        return Err(format!(
            "'{text}' is not a usable suffix: use at most 32 letters, digits, _ or $"
        ));
    }
    Ok(text.to_owned())
}

/// `reshard reverse` and `reshard rollback`.
#[derive(Debug, Args)]
pub(crate) struct ReverseArgs {
    /// The move that has cut over: the options it was run with (and the sources' own key
    /// ranges, --source-key-ranges, when there are several sources).
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    #[command(flatten)]
    pub(crate) tuning: TuningArgs,
    /// Replica server id of the first stream (as for move).
    #[arg(long = "server-id", value_name = "ID", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) server_id: Option<u32>,
    #[command(flatten)]
    pub(crate) switch: SwitchArgs,
}

/// `reshard complete`.
#[derive(Debug, Args)]
pub(crate) struct CompleteArgs {
    /// The move that has cut over: the options it was run with.
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    /// Also drop the sources' <table>_old tables, listing the rows each held.
    #[arg(long = "drop-old-tables")]
    pub(crate) drop_old_tables: bool,
}

/// `reshard cancel`.
#[derive(Debug, Args)]
pub(crate) struct CancelArgs {
    /// The move to abandon: the options it was started with.
    #[command(flatten)]
    pub(crate) topology: TopologyArgs,
    /// Also drop the tables the move wrote on the targets, listing the rows each held.
    #[arg(long = "drop-target-tables")]
    pub(crate) drop_target_tables: bool,
}

/// How hard to copy (shared by copy and move).
#[derive(Debug, Args)]
pub(crate) struct TuningArgs {
    /// Reader threads in all.
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) threads: u16,
    /// Writer threads (connections) per target; a move applies changes over as many.
    #[arg(long = "write-threads", value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub(crate) write_threads: u16,
    /// Byte budget of a chunk (a number, optionally with K, M or G: 16M).
    #[arg(long = "target-chunk-size", value_name = "BYTES", default_value = "16M", value_parser = parse_bytes)]
    pub(crate) target_chunk_size: u64,
    /// How long a read, write or stream retries transient errors (a server restarting or failing
    /// over, a lost or killed connection, a deadlock) after its first failure, with backoff from
    /// 100 ms to 8 s; then the run stops with the error (e.g. 30s, 5m).
    #[arg(long = "retry-for", value_name = "DURATION", default_value = "5m", value_parser = parse_duration)]
    pub(crate) retry_for: Duration,
}

/// When to hold back for the servers' sake (copy and move).
#[derive(Debug, Args)]
pub(crate) struct ThrottleArgs {
    /// Pause new reads, writes and change batches while any source or target has more than N
    /// threads running (`Threads_running`, sampled every 250 ms; a server that cannot be read
    /// counts as over).
    #[arg(long = "max-threads-running", value_name = "N")]
    pub(crate) max_threads_running: Option<u64>,
    /// Pause likewise while any source's InnoDB history list is longer than N (long snapshots
    /// and heavy writes grow it).
    #[arg(long = "max-history-length", value_name = "N")]
    pub(crate) max_history_length: Option<u64>,
    /// Pause likewise while any --throttle-replica is more than SECONDS behind its primary, or
    /// does not know how far (its SQL thread stopped).
    #[arg(
        long = "max-replica-lag",
        value_name = "SECONDS",
        requires = "throttle_replicas"
    )]
    pub(crate) max_replica_lag: Option<u64>,
    /// A replica of a source or target to watch for --max-replica-lag (repeatable).
    #[arg(
        long = "throttle-replica",
        value_name = "DSN",
        requires = "max_replica_lag"
    )]
    pub(crate) throttle_replicas: Vec<String>,
    /// Write at most N rows per second to the targets, in all.
    #[arg(long = "max-rows-per-second", value_name = "N")]
    pub(crate) max_rows_per_second: Option<u64>,
    /// A TOML file of limits (max_threads_running, max_history_length, max_replica_lag,
    /// max_rows_per_second) that replaces the flags' and is read again whenever it changes, so
    /// that limits can be changed while a copy or move runs.
    #[arg(long = "throttle-file", value_name = "FILE")]
    pub(crate) throttle_file: Option<std::path::PathBuf>,
}

impl ThrottleArgs {
    /// The limits, and the replicas parsed (a bad DSN is bad input).
    pub(crate) fn limits(
        &self,
    ) -> Result<
        (
            reshard_engine::throttle::ThrottleLimits,
            Vec<reshard_types::Dsn>,
        ),
        String,
    > {
        let replicas = self
            .throttle_replicas
            .iter()
            .map(|text| {
                reshard_types::Dsn::parse(text).map_err(|e| format!("--throttle-replica {e}"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok((
            reshard_engine::throttle::ThrottleLimits {
                max_threads_running: self.max_threads_running,
                max_history_length: self.max_history_length,
                max_replica_lag: self.max_replica_lag,
                max_rows_per_second: self.max_rows_per_second,
            },
            replicas,
        ))
    }
}

impl TuningArgs {
    /// The engine's copy options.
    pub(crate) fn copy_options(&self) -> reshard_engine::copy::CopyOptions {
        reshard_engine::copy::CopyOptions {
            read_threads: usize::from(self.threads),
            write_threads: usize::from(self.write_threads),
            target_chunk_bytes: self.target_chunk_size,
            batch: reshard_mysql::reader::BatchLimits::default(),
            retry: reshard_engine::retry::RetryPolicy {
                retry_for: self.retry_for,
            },
            throttle: reshard_engine::throttle::ThrottleLimits::default(),
        }
    }
}

/// Sources, targets, key ranges and sharding rules (shared by the commands that move rows).
#[derive(Debug, Args)]
pub(crate) struct TopologyArgs {
    /// A server and database rows are read from (repeatable: several sources, e.g. the shards
    /// being merged or split, must hold the tables with the same columns).
    #[arg(long = "source", value_name = "DSN")]
    pub(crate) sources: Vec<String>,
    /// A server and database rows are written to (repeatable). Several targets split the
    /// keyspace: each gets the key range given by --key-ranges or --config, else even ranges in
    /// the order given (-80, 80- for two).
    #[arg(long = "target", value_name = "DSN")]
    pub(crate) targets: Vec<String>,
    /// A TOML file with the whole topology: sources, targets with key ranges, tables, rules (see
    /// docs/resharding.md). Servers given here are not also given as flags.
    #[arg(long, value_name = "FILE")]
    pub(crate) config: Option<std::path::PathBuf>,
    /// A Vitess VSchema (JSON, as `vtctldclient GetVSchema` prints it): each table's first
    /// column vindex shards it; reference tables go to every target.
    #[arg(long, value_name = "FILE")]
    pub(crate) vschema: Option<std::path::PathBuf>,
    /// Shard TABLE by the keyspace id of COLUMN under VINDEX (hash, xxhash, numeric,
    /// reverse_bits, binary, binary_md5, unicode_loose_xxhash, unicode_loose_md5); repeatable,
    /// overrides --vschema and --config.
    #[arg(long = "shard-by", value_name = "TABLE=COLUMN:VINDEX")]
    pub(crate) shard_by: Vec<String>,
    /// The targets' key ranges in target order, Vitess-style (-80,80-); overrides --config.
    #[arg(long = "key-ranges", value_name = "RANGES", allow_hyphen_values = true)]
    pub(crate) key_ranges: Option<String>,
    /// Where tables without a sharding rule go: a target's key range, name or position (1..), or
    /// 'all' for every target. Required when there are several targets and such tables.
    #[arg(
        long = "unsharded-target",
        value_name = "TARGET",
        allow_hyphen_values = true
    )]
    pub(crate) unsharded_target: Option<String>,
    /// The sources' own key ranges, in source order (-80,80-), when the sources are shards:
    /// what a reverse stream routes rows back by, and what --source-shards picks from.
    #[arg(
        long = "source-key-ranges",
        value_name = "RANGES",
        allow_hyphen_values = true
    )]
    pub(crate) source_key_ranges: Option<String>,
    /// A shard-level move: only the sources of these key ranges (comma-separated, among
    /// --source-key-ranges), to the targets inside them; each shard moves, cuts over and keeps
    /// its checkpoint on its own. Every target's range must lie inside one source's.
    #[arg(
        long = "source-shards",
        value_name = "RANGES",
        allow_hyphen_values = true
    )]
    pub(crate) source_shards: Option<String>,
    /// Only these tables (comma-separated); all base tables of the (first) source database by
    /// default.
    #[arg(long, value_name = "A,B,...", value_delimiter = ',')]
    pub(crate) tables: Option<Vec<String>>,
    /// A file whose first line is the password of source DSNs that give none (else the
    /// RESHARD_SOURCE_PASSWORD environment variable): it then never shows in `ps`.
    #[arg(long = "source-password-file", value_name = "FILE")]
    pub(crate) source_password_file: Option<std::path::PathBuf>,
    /// Likewise for target DSNs (else RESHARD_TARGET_PASSWORD).
    #[arg(long = "target-password-file", value_name = "FILE")]
    pub(crate) target_password_file: Option<std::path::PathBuf>,
}

/// `16M`, `512K`, `1G` or a plain number of bytes (binary multiples).
/// `500ms`, `5s`, `2m`, `1h` (a bare number is seconds).
pub(crate) fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit() && c != '.')
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: f64 = number
        .parse()
        .map_err(|_| format!("'{text}' is not a duration; write e.g. 500ms, 5s, 2m"))?;
    let seconds = match unit {
        "ms" => number / 1000.0,
        "" | "s" => number,
        "m" => number * 60.0,
        "h" => number * 3600.0,
        _ => return Err(format!("'{text}': the unit must be ms, s, m or h")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("'{text}': {e}"))
}

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
    /// The replica server id a move would stream the first source's binary log under (source N
    /// uses this + N - 1): checked against each source's own id and its registered replicas'.
    #[arg(long = "server-id", value_name = "ID", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) server_id: Option<u32>,
}

#[derive(Debug, Args)]
pub(crate) struct VindexArgs {
    /// The vindex: hash, xxhash, numeric, reverse_bits, binary, binary_md5,
    /// unicode_loose_xxhash, unicode_loose_md5.
    #[arg(long, value_name = "NAME")]
    pub(crate) vindex: String,
    /// Key ranges (-80,80-) or a number of even shards (4): print the shard of each value.
    #[arg(long = "key-ranges", value_name = "RANGES", allow_hyphen_values = true)]
    pub(crate) key_ranges: Option<String>,
    /// Print JSON lines ({"value", "keyspace_id", "shard"}) instead of a table.
    #[arg(long)]
    pub(crate) json: bool,
    /// The values, as their text (integers in decimal; the numeric vindexes parse them). NULL is
    /// written as --null.
    #[arg(value_name = "VALUE", required = true, allow_negative_numbers = true)]
    pub(crate) values: Vec<String>,
    /// Treat this argument as SQL NULL.
    #[arg(long = "null", value_name = "TEXT")]
    pub(crate) null: Option<String>,
}
