//! The bulk copy: chunked, parallel, Arrow end to end.
//!
//! ```text
//!  Scheduler ── chunk ──► reader threads (R in all, each on one source)
//!  (least progress first)      │ TableReader: binary protocol → RecordBatch (≤ 8 MiB)
//!                              │ route: keyspace id of each row → target; split per target
//!                              ▼
//!                 bounded channel per target (W batches)
//!                              │
//!                              ▼
//!                 writer threads (W per target): LOAD DATA ... IGNORE
//! ```
//!
//! **Routing.** Each table has a [`TableRoute`]: sharded tables are split by the keyspace id of
//! their sharding column (`reshard_kernels::column`, one pass per batch) into one batch per
//! target whose range holds the ids; unsharded tables go whole to one target, reference tables
//! to every target. The reader routes the batches it read, so routing scales with the readers
//! and a batch crosses a channel once. A row the vindex cannot map (a NULL for `hash`) stops the
//! copy with the table, the column and the row's key named.
//!
//! **Memory is flat.** A reader holds the batch it is filling; the channel of each target holds
//! at most `W` batches; each writer holds the batch it is writing. So at most
//! `R + 2·W·targets` batches of at most [`BatchLimits::max_bytes`] (8 MiB by default) of row
//! data exist at once, whatever the size of the tables: with the defaults (R = 4, W = 4, one
//! target) 12 batches, about 100 MiB. A slow target fills its channel and blocks the readers.
//!
//! **Writes are idempotent.** Rows go in with `LOAD DATA ... IGNORE`: a row whose key the target
//! already holds is left as it is, never overwritten and never duplicated, and the writer counts
//! exactly one duplicate-key warning per row skipped (any other warning fails the copy). So a
//! chunk can be written twice (a read retried after some of its batches were written, a write
//! retried after its statement may have committed), and the copy can overlap with changes the
//! binlog applier writes later, without either clobbering the other.
//!
//! **Transient errors retry.** A refused, lost or killed connection, a killed query, a deadlock
//! or a lock wait timeout is retried on a fresh connection with backoff for the policy's time
//! ([`crate::retry`], `--retry-for`); a read retries its whole chunk, a write its batch. Any other
//! error stops the copy: the first error closes every worker's connection (`Stop`), so even a
//! statement blocked in a server ends, and is returned naming the table, the chunk and the
//! server.
//!
//! The threads are OS threads, not async tasks: the data connections ([`reshard_mysql::wire::RawConn`]) are blocking,
//! and each worker spends its time either waiting on its socket or decoding/encoding on its core.

mod lock;
mod read;
mod schedule;
pub(crate) mod setup;
mod sharding_values;
mod write;

pub use lock::{TargetLocks, lock_targets};
pub use setup::{
    CopySetup, PreparedTable, SetupOptions, TargetTable, add_deferred_indexes, finish_targets,
    plan_reverse, plan_verify, prepare_copy,
};

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex};

use arrow_array::RecordBatch;
use reshard_convert::encode::load_data::quote_identifier;
use reshard_kernels::route::Router;
use reshard_kernels::vindex::VindexKind;
use reshard_mysql::keyset::KeyWalk;
use reshard_mysql::reader::{BatchLimits, table_sql};
use reshard_mysql::wire::{Interrupter, RawConn};
use reshard_types::{Dsn, RowKey, TableSchema};

use crate::chunker::Chunker;
use crate::error::CopyError;
use crate::marks::{ChunkTally, Watermarks};
use crate::progress::CopyProgress;
use schedule::Scheduler;

/// Default byte budget of a chunk.
pub const DEFAULT_CHUNK_BYTES: u64 = 16 << 20;

/// A table to copy.
#[derive(Debug, Clone)]
pub struct CopyTable {
    /// Its schema (the same on every source and target; each server's DSN names the database
    /// it is in there).
    pub schema: TableSchema,
    /// The key its rows are walked and identified by.
    pub key: RowKey,
    /// Where its rows go.
    pub route: TableRoute,
    /// Its unique indexes other than the row key: a row written can collide with another row on
    /// one of them, which the change applier must not resolve by replacing that row.
    pub other_unique_keys: Vec<String>,
}

/// Where the rows of a table go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableRoute {
    /// Each row to the target whose key range holds the keyspace id of column `column` (an
    /// index into the schema's columns) under `vindex`.
    Shard {
        /// The sharding column.
        column: usize,
        /// The vindex.
        vindex: VindexKind,
    },
    /// Every row to one target.
    To(usize),
    /// Every row to every target.
    Everywhere,
}

/// What to copy, from where, to where.
#[derive(Debug, Clone)]
pub struct CopyPlan {
    /// The servers rows are read from (each holds its own rows of every table).
    pub sources: Vec<Dsn>,
    /// The servers rows are written to.
    pub targets: Vec<Dsn>,
    /// The targets' names for reports (their key ranges, or names given).
    pub target_names: Vec<String>,
    /// Keyspace ids to targets, for sharded tables.
    pub router: Router,
    /// The tables, in the order progress reports them.
    pub tables: Vec<CopyTable>,
    /// Replicas of the sources or targets whose lag the throttle watches
    /// ([`crate::throttle::ThrottleLimits::max_replica_lag`]).
    pub replicas: Vec<Dsn>,
    /// Appended to each table's name on the targets (empty: the same name). A reverse stream
    /// writes the targets' `t` back into the sources' `t_old` ([`crate::cutover::reverse`]).
    pub target_suffix: String,
}

/// How to copy.
#[derive(Debug, Clone, Copy)]
pub struct CopyOptions {
    /// Reader threads in all (at least one per source).
    pub read_threads: usize,
    /// Writer threads per target.
    pub write_threads: usize,
    /// Byte budget of a chunk.
    pub target_chunk_bytes: u64,
    /// Where readers cut batches.
    pub batch: BatchLimits,
    /// How long transient errors are retried.
    pub retry: crate::retry::RetryPolicy,
    /// When to slow down for the servers' sake.
    pub throttle: crate::throttle::ThrottleLimits,
}

impl Default for CopyOptions {
    fn default() -> CopyOptions {
        CopyOptions {
            read_threads: 4,
            write_threads: 4,
            target_chunk_bytes: DEFAULT_CHUNK_BYTES,
            batch: BatchLimits::default(),
            retry: crate::retry::RetryPolicy::default(),
            throttle: crate::throttle::ThrottleLimits::default(),
        }
    }
}

/// Rows of one chunk on their way to a target (the channel they are sent on says which).
#[derive(Debug)]
pub(crate) struct WriteJob {
    pub(crate) table: usize,
    pub(crate) chunk: Arc<ChunkLabel>,
    pub(crate) batch: RecordBatch,
}

/// A chunk, as errors name it, and (in a move) its way to completion.
#[derive(Debug)]
pub(crate) struct ChunkLabel {
    pub(crate) seq: u64,
    pub(crate) range: String,
    /// The chunk's unit (index into the scheduler's units).
    pub(crate) unit: usize,
    /// What it covers, as the applier and the checkpoint learn it once complete.
    pub(crate) completion: crate::marks::Completion,
    /// Parts sent and written, for telling the applier when the chunk is on every target.
    pub(crate) tally: ChunkTally,
}

/// The first error of a copy or move, and the flag that stops every worker.
///
/// Workers check the flag between batches; a worker blocked inside a statement (a target whose
/// disk is full, a lock held elsewhere) would never get there. So workers register their
/// connections, and the first error closes all their sockets (the blocked call returns at once)
/// and asks each server to `KILL QUERY` them (so what they were doing is rolled back now).
#[derive(Debug, Default)]
pub(crate) struct Stop {
    flag: AtomicBool,
    first: Mutex<Option<CopyError>>,
    running: Mutex<Vec<Interrupter>>,
}

impl Stop {
    /// Stops every worker at its next batch, without an error (an interrupted move).
    pub(crate) fn halt(&self) {
        self.flag.store(true, Relaxed);
    }

    /// The first error, if any.
    pub(crate) fn take_error(&self) -> Option<CopyError> {
        self.first.lock().expect("stop lock").take()
    }

    pub(crate) fn fail(&self, error: CopyError) {
        let mut first = self.first.lock().expect("stop lock");
        let is_first = first.is_none();
        let logged = is_first.then(|| error.to_string());
        if is_first {
            *first = Some(error);
        }
        drop(first);
        self.flag.store(true, Relaxed);
        if let Some(message) = logged {
            self.interrupt_running();
            tracing::error!("{message}");
        }
    }

    /// Registers a worker's connection, so that the first error can stop its statement.
    pub(crate) fn register(&self, conn: &RawConn) {
        let mut running = self.running.lock().expect("stop lock");
        if self.stopped() {
            // Opened after the stop (a retry racing it): closed at once, nothing to kill yet.
            conn.interrupter().interrupt();
            return;
        }
        running.retain(|i| !i.is_gone());
        running.push(conn.interrupter());
    }

    /// Closes the socket of every registered connection still open, then (on a thread of its
    /// own, which the process does not wait for) kills their statements on their servers.
    fn interrupt_running(&self) {
        // Under the lock with the flag already set: a connection registered later closes itself.
        let running = std::mem::take(&mut *self.running.lock().expect("stop lock"));
        let mut per_server: Vec<(Dsn, Vec<u32>)> = Vec::new();
        for interrupter in running.iter().filter(|i| i.interrupt()) {
            match per_server.iter_mut().find(|(d, _)| d == interrupter.dsn()) {
                Some((_, ids)) => ids.push(interrupter.connection_id()),
                None => {
                    per_server.push((interrupter.dsn().clone(), vec![interrupter.connection_id()]))
                }
            }
        }
        if per_server.is_empty() {
            return;
        }
        let spawned = std::thread::Builder::new()
            .name("reshard-kill-queries".into())
            .spawn(move || {
                for (dsn, ids) in per_server {
                    let Ok(mut conn) = RawConn::connect(&dsn) else { continue };
                    for id in ids {
                        let _ = conn.query_drop(&format!("KILL QUERY {id}"));
                        tracing::debug!(server = %dsn, connection = id, "killed the statement of a stopped worker");
                    }
                }
            });
        if let Err(e) = spawned {
            tracing::warn!("cannot kill the stopped workers' statements: {e}");
        }
    }

    pub(crate) fn stopped(&self) -> bool {
        self.flag.load(Relaxed)
    }

    /// The flag [`Stop::stopped`] reads, for code that takes a cancel flag.
    pub(crate) fn flag(&self) -> &AtomicBool {
        &self.flag
    }
}

/// Everything the workers share.
pub(crate) struct Context<'a> {
    pub(crate) plan: &'a CopyPlan,
    pub(crate) options: CopyOptions,
    pub(crate) scheduler: Scheduler,
    /// Per table, its columns quoted for `SELECT`.
    pub(crate) select_lists: Vec<String>,
    pub(crate) progress: &'a CopyProgress,
    pub(crate) stop: &'a Stop,
    /// In a move: where the applier learns which keys are copied.
    pub(crate) marks: Option<&'a Watermarks>,
}

/// How a copy ended (without an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CopyEnd {
    /// Every row of every table was written.
    Done,
    /// `interrupt` was set: the workers stopped after the batches in flight; the targets hold
    /// part of the rows (each written row whole, and a later copy with `--force` starts over).
    Interrupted,
}

/// How often the copy looks at its `interrupt` flag.
const INTERRUPT_POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Copies every table of `plan` (blocking; run it on a thread of its own). `progress` must have
/// one entry per table of the plan, in order; it is updated as rows are read and written. Setting
/// `interrupt` stops every worker at its next batch.
pub fn run_copy(
    plan: &CopyPlan,
    options: CopyOptions,
    progress: &CopyProgress,
    interrupt: &AtomicBool,
) -> Result<CopyEnd, CopyError> {
    let stop = Stop::default();
    let finished = AtomicBool::new(false);
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("reshard-interrupt".into())
            .spawn_scoped(scope, || {
                while !finished.load(Relaxed) {
                    if interrupt.load(Relaxed) {
                        stop.halt();
                        return;
                    }
                    std::thread::sleep(INTERRUPT_POLL);
                }
            })
            .expect("spawning the interrupt watcher");
        crate::throttle::start(scope, plan, options.throttle, &progress.throttle, &finished);
        copy_with(plan, options, progress, &stop, None, None);
        finished.store(true, Relaxed);
    });
    match stop.take_error() {
        Some(error) => Err(error),
        // A signal that came as the copy ended finds nothing left to stop.
        None if stop.stopped() && !copied_everything(progress) => Ok(CopyEnd::Interrupted),
        None => Ok(CopyEnd::Done),
    }
}

/// Whether every table was read to its end and every routed row written.
fn copied_everything(progress: &CopyProgress) -> bool {
    progress
        .snapshot()
        .iter()
        .all(|t| t.reading_done && t.rows_written >= t.rows_per_target.iter().sum::<u64>())
}

/// The copy of [`run_copy`], stopped by `stop` (which gets its first error), and in a move
/// reading each chunk in a snapshot placed in the binlog and publishing hand-outs and
/// completions to `marks`. With `resume` (per unit, source-major), each walk goes on from
/// where a checkpoint says an earlier run got.
pub(crate) fn copy_with(
    plan: &CopyPlan,
    options: CopyOptions,
    progress: &CopyProgress,
    stop: &Stop,
    marks: Option<&Watermarks>,
    resume: Option<&[crate::chunker::Resume]>,
) {
    assert_eq!(
        progress.tables.len(),
        plan.tables.len(),
        "one progress entry per table"
    );
    let mut units = Vec::new();
    for source in 0..plan.sources.len() {
        for (t, table) in plan.tables.iter().enumerate() {
            let walk = match KeyWalk::new(&table.schema, &table.key) {
                Ok(walk) => Some(walk),
                Err(why) => {
                    tracing::info!(
                        table = %table.schema.qualified_name(),
                        "copying in one chunk: {why}"
                    );
                    None
                }
            };
            let on_source = in_database(&table.schema, &plan.sources[source]);
            let sql = table_sql(&on_source);
            let chunker = match resume.map(|r| &r[source * plan.tables.len() + t]) {
                None => Chunker::new(&sql, walk, options.target_chunk_bytes),
                Some(at) => match Chunker::resumed(&sql, walk, options.target_chunk_bytes, at) {
                    Ok(chunker) => chunker,
                    Err(why) => {
                        return stop.fail(CopyError::Internal(format!(
                            "resuming the copy of {}: {why}",
                            table.schema.qualified_name()
                        )));
                    }
                },
            };
            units.push((source, t, chunker));
        }
    }
    let ctx = Context {
        plan,
        options,
        scheduler: Scheduler::new(units),
        select_lists: plan
            .tables
            .iter()
            .map(|t| {
                t.schema
                    .columns
                    .iter()
                    .map(|c| quote_identifier(&c.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .collect(),
        progress,
        stop,
        marks,
    };
    let readers = options.read_threads.max(plan.sources.len()).max(1);
    let writers = options.write_threads.max(1);
    progress
        .stages
        .set_workers(readers, writers * plan.targets.len());
    let (senders, receivers): (Vec<_>, Vec<_>) = plan
        .targets
        .iter()
        .map(|_| crossbeam_channel::bounded::<WriteJob>(writers))
        .unzip();
    std::thread::scope(|scope| {
        let ctx = &ctx;
        let mut writer_handles = Vec::with_capacity(writers * plan.targets.len());
        for (t, (target, rx)) in plan.targets.iter().zip(receivers).enumerate() {
            for _ in 0..writers {
                let rx = rx.clone();
                writer_handles.push(
                    std::thread::Builder::new()
                        .name("reshard-writer".into())
                        .spawn_scoped(scope, move || write::writer_loop(ctx, t, target, rx))
                        .expect("spawning a writer thread"),
                );
            }
        }
        let reader_handles: Vec<_> = (0..readers)
            .map(|i| {
                let tx = senders.clone();
                let source = i % plan.sources.len();
                std::thread::Builder::new()
                    .name("reshard-reader".into())
                    .spawn_scoped(scope, move || read::reader_loop(ctx, source, &tx))
                    .expect("spawning a reader thread")
            })
            .collect();
        drop(senders);
        for handle in reader_handles.into_iter().chain(writer_handles) {
            if handle.join().is_err() {
                ctx.stop.fail(CopyError::Internal(String::from(
                    "a copy thread panicked (its message is above); please report it",
                )));
            }
        }
    });
    progress.mark_ended();
}

/// `schema` as it is on `server`: in the database the server's DSN names.
/// `schema` as target `target` of `plan` names it: in its database, with the plan's target
/// suffix.
pub(crate) fn on_target(plan: &CopyPlan, schema: &TableSchema, target: &Dsn) -> TableSchema {
    let mut on = in_database(schema, target);
    on.name.push_str(&plan.target_suffix);
    on
}

/// `schema` as it is on `server`: in the database the server's DSN names.
pub(crate) fn in_database(schema: &TableSchema, server: &Dsn) -> TableSchema {
    TableSchema {
        database: server.database().unwrap_or(&schema.database).to_owned(),
        ..schema.clone()
    }
}
