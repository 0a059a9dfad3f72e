//! The verification's threads: per table, workers take chunks from the chunker of the first
//! source and compare each on every server, reading the servers in parallel.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Instant;

use reshard_convert::encode::describe::describe_row;
use reshard_mysql::MysqlError;
use reshard_mysql::keyset::KeyWalk;
use reshard_mysql::reader::{BatchLimits, table_sql};
use reshard_mysql::wire::RawConn;

use super::compare::{ChunkComparison, Side, SideRows, compare};
use super::read::{ChunkReader, Placing};
use super::report::{RowDifference, TableReport, TargetCounts, VerifyReport};
use crate::chunker::{Chunk, Chunker};
use crate::copy::{CopyPlan, CopyTable, DEFAULT_CHUNK_BYTES, TableRoute, in_database};
use crate::error::CopyError;
use crate::retry::{Retries, RetryPolicy};

/// Where verification cuts batches: smaller than the copy's, as every batch is hashed and
/// dropped at once (nothing downstream to amortise over), so memory stays low.
pub const VERIFY_BATCH: BatchLimits = BatchLimits {
    max_rows: 16 * 1024,
    max_bytes: 2 << 20,
};

/// How to verify.
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions {
    /// Chunks compared at once (each reads every server on a thread of its own).
    pub threads: usize,
    /// Byte budget of a chunk (on the first source).
    pub target_chunk_bytes: u64,
    /// Where reads cut batches.
    pub batch: BatchLimits,
    /// How long transient errors are retried.
    pub retry: RetryPolicy,
    /// Differing rows listed per table at most (all are counted).
    pub max_rows_listed: usize,
}

impl Default for VerifyOptions {
    fn default() -> VerifyOptions {
        VerifyOptions {
            threads: 2,
            target_chunk_bytes: DEFAULT_CHUNK_BYTES,
            batch: VERIFY_BATCH,
            retry: RetryPolicy::default(),
            max_rows_listed: 100,
        }
    }
}

/// Live counters of a verification.
#[derive(Debug)]
pub struct VerifyProgress {
    /// When it began.
    pub started: Instant,
    /// Tables fully compared.
    pub tables_done: AtomicU64,
    /// Chunks compared.
    pub chunks: AtomicU64,
    /// Source rows compared.
    pub rows: AtomicU64,
    /// Differing rows found.
    pub differences: AtomicU64,
    /// Rows repaired (during a move).
    pub repairs: AtomicU64,
}

impl Default for VerifyProgress {
    fn default() -> VerifyProgress {
        VerifyProgress {
            started: Instant::now(),
            tables_done: AtomicU64::new(0),
            chunks: AtomicU64::new(0),
            rows: AtomicU64::new(0),
            differences: AtomicU64::new(0),
            repairs: AtomicU64::new(0),
        }
    }
}

/// Compares every table of `plan` (blocking): sources against the targets named
/// `target_names`. `cancel` stops it between chunks (the report says `cancelled`).
pub fn run_verify(
    plan: &CopyPlan,
    target_names: &[String],
    options: &VerifyOptions,
    progress: &VerifyProgress,
    cancel: &AtomicBool,
) -> Result<VerifyReport, CopyError> {
    let mut report = VerifyReport::default();
    for table in &plan.tables {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        let table_report = verify_table(plan, table, target_names, options, progress, cancel)?;
        tracing::info!(
            table = %table_report.table,
            chunks = table_report.chunks,
            rows = table_report.source_rows,
            differences = table_report.differences(),
            "verified"
        );
        report.tables.push(table_report);
        progress.tables_done.fetch_add(1, Ordering::Relaxed);
    }
    report.cancelled |= cancel.load(Ordering::Relaxed);
    Ok(report)
}

/// What the workers of one table share.
pub(super) struct Shared<'a> {
    pub(super) plan: &'a CopyPlan,
    pub(super) table: &'a CopyTable,
    pub(super) receiving: Vec<bool>,
    pub(super) options: &'a VerifyOptions,
    pub(super) progress: &'a VerifyProgress,
    pub(super) cancel: &'a AtomicBool,
    pub(super) chunker: Mutex<Chunker>,
    /// Threads that read the servers, one per server and worker.
    pub(super) pool: rayon::ThreadPool,
    report: Mutex<TableReport>,
    /// Set when a worker failed: the others stop at their next chunk.
    failed: AtomicBool,
    error: Mutex<Option<CopyError>>,
}

impl<'a> Shared<'a> {
    pub(super) fn new(
        plan: &'a CopyPlan,
        table: &'a CopyTable,
        target_names: &[String],
        options: &'a VerifyOptions,
        progress: &'a VerifyProgress,
        cancel: &'a AtomicBool,
    ) -> Shared<'a> {
        let on_first = in_database(&table.schema, &plan.sources[0]);
        let walk = KeyWalk::new(&on_first, &table.key).ok();
        let receiving: Vec<bool> = (0..plan.targets.len())
            .map(|t| match table.route {
                TableRoute::To(only) => only == t,
                TableRoute::Shard { .. } | TableRoute::Everywhere => true,
            })
            .collect();
        Shared {
            plan,
            table,
            options,
            progress,
            cancel,
            chunker: Mutex::new(Chunker::new(
                &table_sql(&on_first),
                walk,
                options.target_chunk_bytes,
            )),
            report: Mutex::new(TableReport {
                table: table.schema.qualified_name(),
                chunks: 0,
                source_rows: 0,
                targets: target_names
                    .iter()
                    .zip(&receiving)
                    .filter(|(_, r)| **r)
                    .map(|(name, _)| TargetCounts {
                        target: name.clone(),
                        ..TargetCounts::default()
                    })
                    .collect(),
                rows: Vec::new(),
                rows_not_listed: 0,
                repaired: 0,
                repaired_rows: Vec::new(),
            }),
            pool: rayon::ThreadPoolBuilder::new()
                .num_threads(options.threads.max(1) * (plan.sources.len() + plan.targets.len()))
                .thread_name(|i| format!("reshard-verify-read-{i}"))
                .build()
                .expect("starting the verification's read threads"),
            receiving,
            failed: AtomicBool::new(false),
            error: Mutex::new(None),
        }
    }

    /// The table's next chunk (boundary queries on `conn`, a session on the first source).
    pub(super) fn next_chunk(&self, conn: &mut RawConn) -> Result<Option<Chunk>, CopyError> {
        self.chunker
            .lock()
            .expect("chunker lock")
            .next(conn)
            .map_err(|e| self.chunking(e))
    }

    /// Tells the chunker a chunk held `rows` rows of `bytes` on the first source (it sizes the
    /// next one by that, and jumps gaps on `conn`).
    pub(super) fn chunk_done(
        &self,
        conn: &mut RawConn,
        chunk: &Chunk,
        rows: u64,
        bytes: u64,
    ) -> Result<(), CopyError> {
        self.chunker
            .lock()
            .expect("chunker lock")
            .done(conn, chunk, rows, bytes)
            .map_err(|e| self.chunking(e))
    }

    fn chunking(&self, e: MysqlError) -> CopyError {
        CopyError::Chunking {
            table: self.table.schema.qualified_name(),
            source: Box::new(e),
        }
    }

    /// The table's report, its listed rows in order.
    pub(super) fn finish(self) -> Result<TableReport, CopyError> {
        if let Some(e) = self.error.into_inner().expect("verify lock") {
            return Err(e);
        }
        let mut report = self.report.into_inner().expect("verify lock");
        report.rows.sort();
        Ok(report)
    }
}

fn verify_table(
    plan: &CopyPlan,
    table: &CopyTable,
    target_names: &[String],
    options: &VerifyOptions,
    progress: &VerifyProgress,
    cancel: &AtomicBool,
) -> Result<TableReport, CopyError> {
    let shared = Shared::new(plan, table, target_names, options, progress, cancel);
    std::thread::scope(|scope| {
        for w in 0..options.threads.max(1) {
            let shared = &shared;
            std::thread::Builder::new()
                .name(format!("reshard-verify-{w}"))
                .spawn_scoped(scope, move || {
                    if let Err(e) = worker(shared, target_names) {
                        shared.failed.store(true, Ordering::Relaxed);
                        shared.error.lock().expect("verify lock").get_or_insert(e);
                    }
                })
                .expect("spawning a verify thread");
        }
    });
    shared.finish()
}

/// A worker's sessions: one per source and per receiving target.
pub(super) struct Readers {
    pub(super) sources: Vec<ChunkReader>,
    pub(super) targets: Vec<Option<ChunkReader>>,
}

impl Readers {
    pub(super) fn open(shared: &Shared<'_>) -> Result<Readers, MysqlError> {
        let batch = shared.options.batch;
        let sources = shared
            .plan
            .sources
            .iter()
            .map(|dsn| ChunkReader::open(dsn, shared.table, batch))
            .collect::<Result<Vec<_>, _>>()?;
        let targets = shared
            .plan
            .targets
            .iter()
            .zip(&shared.receiving)
            .map(|(dsn, &receives)| {
                receives
                    .then(|| ChunkReader::open(dsn, shared.table, batch))
                    .transpose()
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Readers { sources, targets })
    }
}

fn worker(shared: &Shared<'_>, target_names: &[String]) -> Result<(), CopyError> {
    let table_name = shared.table.schema.qualified_name();
    let mut readers: Option<Readers> = None;
    let mut retries = Retries::new(shared.options.retry);
    let mut pending: Option<Chunk> = None;
    loop {
        if shared.cancel.load(Ordering::Relaxed) || shared.failed.load(Ordering::Relaxed) {
            return Ok(());
        }
        let attempt = (|| -> Result<Option<()>, CopyError> {
            if readers.is_none() {
                readers = Some(Readers::open(shared).map_err(|e| CopyError::Server(Box::new(e)))?);
            }
            let open = readers.as_mut().expect("just opened");
            let chunk = match pending.take() {
                Some(chunk) => chunk,
                None => match shared.next_chunk(open.sources[0].conn_mut())? {
                    Some(chunk) => chunk,
                    None => return Ok(None),
                },
            };
            pending = Some(chunk.clone());
            let (sources, targets, first_bytes) = read_everywhere(shared, open, &chunk)?;
            let first_rows = sources[0].rows.len() as u64;
            shared.chunk_done(open.sources[0].conn_mut(), &chunk, first_rows, first_bytes)?;
            pending = None;
            let comparison = compare(&sources, &targets);
            record(shared, target_names, &comparison, &sources, &targets);
            Ok(Some(()))
        })();
        match attempt {
            Ok(Some(())) => retries.succeeded(),
            Ok(None) => return Ok(()),
            Err(e) => {
                readers = None;
                let what = match &pending {
                    Some(chunk) => format!("verifying chunk {} of {table_name}", chunk.seq),
                    None => format!("verifying {table_name}"),
                };
                if !retries.again(&what, e.class(), &e) {
                    return Err(e);
                }
            }
        }
    }
}

pub(super) type Sides = (Vec<SideRows>, Vec<Option<SideRows>>, u64);

/// Reads `chunk` on every source and receiving target, one thread per server.
pub(super) fn read_everywhere(
    shared: &Shared<'_>,
    readers: &mut Readers,
    chunk: &Chunk,
) -> Result<Sides, CopyError> {
    let table = shared.table;
    let predicate = chunk.predicate.as_deref();
    let router = &shared.plan.router;
    let label = |e: CopyError| match e {
        CopyError::Server(source) => CopyError::Read {
            table: table.schema.qualified_name(),
            chunk: chunk.seq,
            range: chunk.describe(),
            source,
        },
        other => other,
    };
    let mut source_reads: Vec<Option<Result<(SideRows, u64), CopyError>>> =
        readers.sources.iter().map(|_| None).collect();
    let mut target_reads: Vec<Option<Result<(SideRows, u64), CopyError>>> =
        readers.targets.iter().map(|_| None).collect();
    // The pool's threads live as long as the verification: their allocator heaps are reused
    // chunk after chunk (threads spawned per chunk left freed memory in abandoned heaps).
    shared.pool.scope(|scope| {
        for (reader, out) in readers.sources.iter_mut().zip(&mut source_reads) {
            scope.spawn(move |_| {
                *out = Some(reader.read(table, predicate, Placing::Source(router)));
            });
        }
        for (reader, out) in readers.targets.iter_mut().zip(&mut target_reads) {
            if let Some(reader) = reader {
                scope.spawn(move |_| {
                    *out = Some(reader.read(table, predicate, Placing::Target));
                });
            }
        }
    });
    let mut first_bytes = 0;
    let mut source_rows = Vec::with_capacity(source_reads.len());
    for (i, read) in source_reads.into_iter().enumerate() {
        let (rows, bytes) = read.expect("every source was read").map_err(label)?;
        if i == 0 {
            first_bytes = bytes;
        }
        source_rows.push(rows);
    }
    let mut target_rows = Vec::with_capacity(target_reads.len());
    for read in target_reads {
        target_rows.push(match read {
            None => None,
            Some(read) => Some(read.map_err(label)?.0),
        });
    }
    Ok((source_rows, target_rows, first_bytes))
}

/// Adds a chunk's comparison to the table's report, naming the differing rows by their key.
pub(super) fn record(
    shared: &Shared<'_>,
    target_names: &[String],
    comparison: &ChunkComparison,
    sources: &[SideRows],
    targets: &[Option<SideRows>],
) {
    let progress = shared.progress;
    progress.chunks.fetch_add(1, Ordering::Relaxed);
    progress
        .rows
        .fetch_add(comparison.source_rows, Ordering::Relaxed);
    progress
        .differences
        .fetch_add(comparison.found.len() as u64, Ordering::Relaxed);
    let mut report = shared.report.lock().expect("verify lock");
    report.chunks += 1;
    report.source_rows += comparison.source_rows;
    let slot_of = |t: usize| shared.receiving[..t].iter().filter(|r| **r).count();
    for (t, &rows) in comparison.target_rows.iter().enumerate() {
        if shared.receiving[t] {
            report.targets[slot_of(t)].rows += rows;
        }
    }
    let key_columns: Vec<usize> = (0..shared.table.key.columns.len()).collect();
    for found in &comparison.found {
        report.targets[slot_of(found.target)].count(found.kind);
        if report.rows.len() >= shared.options.max_rows_listed {
            report.rows_not_listed += 1;
            continue;
        }
        let side = match found.at.0 {
            Side::Source(s) => &sources[s],
            Side::Target(t) => targets[t].as_ref().expect("a read target"),
        };
        let entry = side.rows[found.at.1];
        let key = describe_row(
            &side.keys[entry.batch as usize],
            entry.row as usize,
            &key_columns,
        );
        report.rows.push(RowDifference {
            kind: found.kind,
            target: target_names[found.target].clone(),
            belongs_on: found.belongs.map(|b| target_names[b].clone()),
            key,
        });
    }
}
