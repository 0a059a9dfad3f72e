//! The verification step of a move: every chunk compared at one binlog position per source
//! while the sources keep taking writes, without locking anything; differences repaired row by
//! row in order with the stream, then compared again.
//!
//! # Why a comparison under live writes is exact
//!
//! For each chunk (see [`crate::online::barrier`] for the applier's side):
//!
//! 1. The applier is paused between two cycles: every change it applied is committed on every
//!    target, at positions `A` (per source).
//! 2. On each source a consistent snapshot opens that contains every transaction the binlog
//!    held (`start_snapshot_covering`), at position `P >= A`: it holds exactly the source's
//!    rows as of `P`.
//! 3. The applier applies every change up to `P` and none after, and pauses again. The targets
//!    now hold, for every key of the chunk, the copy plus every change up to `P`: the sources
//!    as of `P`, if the move is right.
//! 4. Each receiving target opens a consistent snapshot; then the applier resumes (it paused
//!    for as long as the snapshots took to open, twice, a few milliseconds each).
//! 5. Every server reads the chunk inside its snapshot, and [`super::compare`] compares.
//!
//! No `LOCK TABLES`, no `FLUSH TABLES WITH READ LOCK`: the sources' writers never wait. A
//! source snapshot stays open from step 2 until the chunk is read: the applier's catch-up to
//! `P` plus one chunk read. The catch-up is bounded ([`SNAPSHOT_WAIT`]); past it the snapshot
//! is given up (InnoDB's history is not held) and the chunk tried again later.
//!
//! # Repairs
//!
//! A row that differs is repaired in order with the stream's changes to its key: the applier
//! is paused, each source opens a fresh snapshot at `P'`, the applier reaches exactly `P'`,
//! and while it is paused the row is deleted from every target that receives the table and
//! written (as the source holds it at `P'`) to the one target it belongs on; every later change
//! to the key then comes through the stream as usual. The chunk is compared again; a chunk
//! still differing after [`MAX_REPAIR_ROUNDS`] rounds stops the move, naming its rows. A
//! repair is never expected: it means a bug in reshard, or a writer other than reshard on a
//! target, and the report says so.

use std::sync::atomic::Ordering;
use std::time::Duration;

use arrow_array::{BooleanArray, RecordBatch};
use arrow_select::concat::concat_batches;
use arrow_select::filter::filter_record_batch;
use reshard_convert::encode::delete::DeleteEncoder;
use reshard_kernels::column::route_column;
use reshard_mysql::MysqlError;
use reshard_mysql::binlog::snapshot::start_snapshot_covering;
use reshard_mysql::reader::{BatchLimits, TableReader, open_read_session, table_sql};
use reshard_mysql::writer::{Duplicates, LoadTarget, open_write_session};

use super::compare::{ChunkComparison, Side, SideRows, compare};
use super::report::{RowDifference, TableReport, VerifyReport};
use super::run::{Readers, Shared, read_everywhere, record};
use super::{VerifyOptions, VerifyProgress};
use crate::chunker::Chunk;
use crate::copy::{CopyPlan, CopyTable, TableRoute, in_database};
use crate::error::CopyError;
use crate::online::barrier::Barriers;
use crate::retry::Retries;

/// How long a source snapshot may wait for the applier to reach its position.
pub const SNAPSHOT_WAIT: Duration = Duration::from_secs(60);

/// Repairs of one chunk before the move gives up on it.
pub const MAX_REPAIR_ROUNDS: u32 = 3;

/// Verifies every table of `plan` during a move (blocking), repairing what differs.
pub(crate) fn verify_in_move(
    plan: &CopyPlan,
    target_names: &[String],
    options: &VerifyOptions,
    barriers: &Barriers,
    progress: &VerifyProgress,
    cancel: &std::sync::atomic::AtomicBool,
    checkpoint: Option<&crate::online::Checkpointing>,
) -> Result<VerifyReport, CopyError> {
    let mut report = VerifyReport::default();
    for table in &plan.tables {
        if cancel.load(Ordering::Relaxed) {
            report.cancelled = true;
            break;
        }
        // Verified by an earlier run of this move: the changes applied since keep it equal
        // (the move's argument), so it is not read again.
        if checkpoint.is_some_and(|c| c.verified().contains(&table.schema.name)) {
            tracing::info!(table = %table.schema.qualified_name(), "verified by an earlier run of this move");
            progress.tables_done.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let shared = Shared::new(plan, table, target_names, options, progress, cancel);
        let repaired = verify_table(&shared, target_names, barriers)?;
        let mut table_report: TableReport = shared.finish()?;
        table_report.repaired = repaired.len() as u64;
        table_report.repaired_rows = repaired;
        table_report.repaired_rows.truncate(options.max_rows_listed);
        tracing::info!(
            table = %table_report.table,
            chunks = table_report.chunks,
            rows = table_report.source_rows,
            differences = table_report.differences(),
            repaired = table_report.repaired,
            "verified during the move"
        );
        progress.tables_done.fetch_add(1, Ordering::Relaxed);
        if table_report.differences() == 0
            && !cancel.load(Ordering::Relaxed)
            && let Some(checkpoint) = checkpoint
        {
            checkpoint.table_verified(&table.schema.name);
        }
        report.tables.push(table_report);
    }
    report.cancelled |= cancel.load(Ordering::Relaxed);
    Ok(report)
}

/// Compares every chunk of one table, one at a time; returns the rows repaired.
fn verify_table(
    shared: &Shared<'_>,
    target_names: &[String],
    barriers: &Barriers,
) -> Result<Vec<RowDifference>, CopyError> {
    let table_name = shared.table.schema.qualified_name();
    let mut readers: Option<Readers> = None;
    let mut retries = Retries::new(shared.options.retry);
    let mut repaired = Vec::new();
    // The chunk being compared and its repair rounds so far: kept across a retry, so that a
    // transient error never skips a chunk (the chunker has moved past it).
    let mut pending: Option<(Chunk, u32)> = None;
    loop {
        if shared.cancel.load(Ordering::Relaxed) {
            return Ok(repaired);
        }
        let attempt = (|| -> Result<Option<()>, CopyError> {
            if readers.is_none() {
                readers = Some(Readers::open(shared).map_err(server)?);
            }
            let open = readers.as_mut().expect("just opened");
            if pending.is_none() {
                let Some(chunk) = shared.next_chunk(open.sources[0].conn_mut())? else {
                    return Ok(None);
                };
                pending = Some((chunk, 0));
            }
            let (chunk, rounds) = pending.as_mut().expect("set above");
            let chunk = chunk.clone();
            loop {
                let (sources, targets, first_bytes) =
                    at_one_position(shared, barriers, open, &chunk)?;
                let comparison = compare(&sources, &targets);
                if comparison.found.is_empty() || *rounds == MAX_REPAIR_ROUNDS {
                    shared.chunk_done(
                        open.sources[0].conn_mut(),
                        &chunk,
                        sources[0].rows.len() as u64,
                        first_bytes,
                    )?;
                    record(shared, target_names, &comparison, &sources, &targets);
                    pending = None;
                    return Ok(Some(()));
                }
                *rounds += 1;
                let rows = named(shared, target_names, &comparison, &sources, &targets);
                tracing::warn!(
                    table = %table_name,
                    chunk = chunk.seq,
                    rows = rows.len(),
                    "rows differ between the sources and the targets at one binlog position: repairing them \
                     (a repair means a bug in reshard or a writer other than reshard on a target): {}",
                    rows.iter().map(|r| format!("{} {} on {}", r.kind, r.key, r.target)).collect::<Vec<_>>().join("; ")
                );
                repair(shared, barriers, &comparison, &sources, &targets)?;
                shared
                    .progress
                    .repairs
                    .fetch_add(rows.len() as u64, Ordering::Relaxed);
                repaired.extend(rows);
            }
        })();
        match attempt {
            Ok(Some(())) => retries.succeeded(),
            Ok(None) => return Ok(repaired),
            Err(e) => {
                readers = None;
                if !retries.again(&format!("verifying {table_name}"), e.class(), &e) {
                    return Err(e);
                }
            }
        }
    }
}

fn server(e: MysqlError) -> CopyError {
    CopyError::Server(Box::new(e))
}

/// Reads `chunk` on every server with the targets at exactly the sources' snapshot positions
/// (the steps of the module docs).
fn at_one_position(
    shared: &Shared<'_>,
    barriers: &Barriers,
    readers: &mut Readers,
    chunk: &Chunk,
) -> Result<super::run::Sides, CopyError> {
    loop {
        let frozen = barriers.freeze(shared.cancel)?;
        let mut positions = Vec::with_capacity(readers.sources.len());
        for reader in &mut readers.sources {
            positions.push(start_snapshot_covering(reader.conn_mut()).map_err(server)?);
        }
        if positions.iter().zip(&frozen.applied).any(|(p, a)| p < a) {
            return Err(CopyError::Internal(format!(
                "a source snapshot ({positions:?}) stands before what the targets hold ({:?})",
                frozen.applied
            )));
        }
        let Some(at) = frozen.advance_to(positions, SNAPSHOT_WAIT, shared.cancel)? else {
            tracing::info!(
                table = %shared.table.schema.qualified_name(),
                "the targets did not reach the sources' snapshot within {} s; trying again",
                SNAPSHOT_WAIT.as_secs()
            );
            for reader in &mut readers.sources {
                reader.conn_mut().query_drop("ROLLBACK").map_err(server)?;
            }
            continue;
        };
        for reader in readers.targets.iter_mut().flatten() {
            let conn = reader.conn_mut();
            conn.query_drop("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                .map_err(server)?;
            conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
                .map_err(server)?;
        }
        drop(at);
        let read = read_everywhere(shared, readers, chunk);
        for reader in readers
            .sources
            .iter_mut()
            .chain(readers.targets.iter_mut().flatten())
        {
            reader.conn_mut().query_drop("ROLLBACK").map_err(server)?;
        }
        return read;
    }
}

/// The differing rows of `comparison`, named (all of them, for the repair log and report).
fn named(
    shared: &Shared<'_>,
    target_names: &[String],
    comparison: &ChunkComparison,
    sources: &[SideRows],
    targets: &[Option<SideRows>],
) -> Vec<RowDifference> {
    let key_columns: Vec<usize> = (0..shared.table.key.columns.len()).collect();
    comparison
        .found
        .iter()
        .map(|found| {
            let (batch, row) = key_at(found.at, sources, targets);
            RowDifference {
                kind: found.kind,
                target: target_names[found.target].clone(),
                belongs_on: found.belongs.map(|b| target_names[b].clone()),
                key: reshard_convert::encode::describe::describe_row(batch, row, &key_columns),
            }
        })
        .collect()
}

/// The key batch and row of a row found on `side`.
fn key_at<'a>(
    at: (Side, usize),
    sources: &'a [SideRows],
    targets: &'a [Option<SideRows>],
) -> (&'a RecordBatch, usize) {
    let side = match at.0 {
        Side::Source(s) => &sources[s],
        Side::Target(t) => targets[t].as_ref().expect("a read target"),
    };
    let entry = side.rows[at.1];
    (&side.keys[entry.batch as usize], entry.row as usize)
}

/// Repairs the differing rows of a chunk: with the applier at a fresh snapshot's positions,
/// deletes their keys from every target that receives the table and writes each source row to
/// the target it belongs on.
fn repair(
    shared: &Shared<'_>,
    barriers: &Barriers,
    comparison: &ChunkComparison,
    sources: &[SideRows],
    targets: &[Option<SideRows>],
) -> Result<(), CopyError> {
    let table = shared.table;
    let plan = shared.plan;
    let keys: Vec<RecordBatch> = comparison
        .found
        .iter()
        .map(|f| {
            let (batch, row) = key_at(f.at, sources, targets);
            batch.slice(row, 1)
        })
        .collect();
    let internal =
        |e: arrow_schema::ArrowError| CopyError::Internal(format!("gathering keys to repair: {e}"));
    let keys = concat_batches(&keys[0].schema(), &keys).map_err(internal)?;
    let key_columns: Vec<usize> = (0..keys.num_columns()).collect();
    let rows: Vec<u32> =
        (0..u32::try_from(keys.num_rows()).expect("fewer than 2^32 rows")).collect();
    let encoder = DeleteEncoder::new(&keys.schema(), &key_columns)
        .map_err(|e| CopyError::Internal(format!("encoding keys to repair: {e}")))?;
    let condition = |table_sql: &str| -> Result<String, CopyError> {
        let mut sql = Vec::new();
        encoder
            .encode(table_sql, &keys, &rows, &mut sql)
            .map_err(|e| CopyError::Internal(format!("encoding keys to repair: {e}")))?;
        Ok(String::from_utf8_lossy(&sql).into_owned())
    };
    // Sessions first, so that none is opened while the applier is paused.
    let mut source_readers = plan
        .sources
        .iter()
        .map(|dsn| {
            let schema = in_database(&table.schema, dsn);
            TableReader::on_conn(open_read_session(dsn)?, &schema, BatchLimits::default())
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(server)?;
    let mut writers = Vec::new();
    for (t, dsn) in plan.targets.iter().enumerate() {
        if !shared.receiving[t] {
            continue;
        }
        let schema = in_database(&table.schema, dsn);
        let target = LoadTarget::new(dsn, &schema)
            .map_err(server)?
            .with_row_key(&table.key.index);
        writers.push((t, schema, target, open_write_session(dsn).map_err(server)?));
    }
    let mut found: Vec<RecordBatch> = Vec::new();
    let at = loop {
        // Paused only while the snapshots open; the rows are read while the applier runs up to
        // the snapshots' positions, and it pauses there again for the writes.
        let frozen = barriers.freeze(shared.cancel)?;
        let mut positions = Vec::with_capacity(source_readers.len());
        for reader in &mut source_readers {
            positions.push(start_snapshot_covering(reader.conn_mut()).map_err(server)?);
        }
        let advancing = frozen.advance(positions)?;
        found.clear();
        for (reader, dsn) in source_readers.iter_mut().zip(&plan.sources) {
            let on_source = in_database(&table.schema, dsn);
            let delete = condition(&table_sql(&on_source))?;
            let predicate = delete.split_once(" WHERE ").map_or("", |(_, p)| p);
            let sql = format!("{} WHERE {predicate}", reader.select_all_sql());
            reader
                .read_once(&sql, |batch, _| {
                    found.push(batch);
                    Ok(())
                })
                .map_err(server)?;
            reader.conn_mut().query_drop("ROLLBACK").map_err(server)?;
        }
        match advancing.wait(SNAPSHOT_WAIT, shared.cancel)? {
            Some(at) => break at,
            None => tracing::info!(
                table = %table.schema.qualified_name(),
                "the targets did not reach the sources' snapshot within {} s; repairing again",
                SNAPSHOT_WAIT.as_secs()
            ),
        }
    };
    let mut placements = Vec::new();
    for (t, schema, target, conn) in &mut writers {
        let mut write = |conn: &mut reshard_mysql::wire::RawConn| -> Result<(), CopyError> {
            conn.query_drop("BEGIN").map_err(server)?;
            conn.query_drop(&condition(&table_sql(schema))?)
                .map_err(server)?;
            for batch in &found {
                let mask = belongs(table, plan, batch, *t, &mut placements)?;
                let mine = filter_record_batch(batch, &mask).map_err(internal)?;
                if mine.num_rows() > 0 {
                    target
                        .write(conn, &mine, Duplicates::Replace)
                        .map_err(server)?;
                }
            }
            conn.query_drop("COMMIT").map(|_| ()).map_err(server)
        };
        write(conn)?;
    }
    drop(at);
    Ok(())
}

/// Which rows of `batch` (read on a source) belong on target `t`.
fn belongs(
    table: &CopyTable,
    plan: &CopyPlan,
    batch: &RecordBatch,
    t: usize,
    targets: &mut Vec<u32>,
) -> Result<BooleanArray, CopyError> {
    Ok(match table.route {
        TableRoute::Everywhere => BooleanArray::from(vec![true; batch.num_rows()]),
        TableRoute::To(only) => BooleanArray::from(vec![only == t; batch.num_rows()]),
        TableRoute::Shard { column, vindex } => {
            route_column(vindex, batch.column(column).as_ref(), &plan.router, targets).map_err(
                |e| CopyError::Unroutable {
                    table: table.schema.qualified_name(),
                    column: table.schema.columns[column].name.clone(),
                    detail: e.to_string(),
                },
            )?;
            targets
                .iter()
                .map(|&target| Some(target as usize == t))
                .collect()
        }
    })
}
