//! A reader thread: takes chunks of one source, reads them into batches, routes each batch to its
//! targets and hands the parts to their writers. Its time is counted as chunking, reading,
//! decoding, routing and waiting to send ([`crate::stages`]).

use std::sync::Arc;

use crossbeam_channel::Sender;
use reshard_mysql::MysqlError;
use reshard_mysql::binlog::snapshot::start_snapshot_covering;
use reshard_mysql::reader::{TableReader, open_read_session};
use reshard_mysql::wire::RawConn;
use reshard_types::Dsn;

use arrow_array::RecordBatch;
use reshard_convert::encode::describe::describe_row;
use reshard_kernels::column::{RouteError, route_column};
use reshard_kernels::split::Splitter;

use super::schedule::Assignment;
use super::{ChunkLabel, Context, TableRoute, WriteJob};
use crate::error::CopyError;
use crate::marks::ChunkTally;
use crate::retry::Retries;
use crate::stages::Stage;

/// The connection of a reader: bare (between tables) or inside the reader of its current table.
struct Slot<'a> {
    dsn: &'a Dsn,
    /// Where the connections are registered (see [`super::Stop`]).
    stop: &'a super::Stop,
    /// Whether connections time their socket calls.
    timed: bool,
    bare: Option<RawConn>,
    reader: Option<(usize, TableReader)>,
}

/// A read session on `dsn`, timing its socket calls if `timed`, registered with `stop`.
fn open_timed(dsn: &Dsn, timed: bool, stop: &super::Stop) -> Result<RawConn, MysqlError> {
    let mut conn = open_read_session(dsn)?;
    conn.time_io(timed);
    stop.register(&conn);
    Ok(conn)
}

impl Slot<'_> {
    fn conn(&mut self) -> Result<&mut RawConn, MysqlError> {
        if let Some((_, reader)) = &mut self.reader {
            return Ok(reader.conn_mut());
        }
        if self.bare.is_none() {
            self.bare = Some(open_timed(self.dsn, self.timed, self.stop)?);
        }
        Ok(self.bare.as_mut().expect("just opened"))
    }

    fn reader(&mut self, ctx: &Context<'_>, table: usize) -> Result<&mut TableReader, MysqlError> {
        if self.reader.as_ref().is_some_and(|(t, _)| *t != table) {
            let (_, old) = self.reader.take().expect("checked");
            self.bare = Some(old.into_conn()?);
        }
        if self.reader.is_none() {
            let conn = match self.bare.take() {
                Some(conn) => conn,
                None => open_timed(self.dsn, self.timed, self.stop)?,
            };
            let schema = &ctx.plan.tables[table].schema;
            self.reader = Some((
                table,
                TableReader::on_conn(conn, schema, ctx.options.batch)?,
            ));
        }
        Ok(&mut self.reader.as_mut().expect("just set").1)
    }

    /// Drops the connection (after an error it may be mid-result or dead).
    fn reset(&mut self) {
        self.bare = None;
        self.reader = None;
    }
}

/// Reads chunks of `source` until none is left or the copy stops.
pub(super) fn reader_loop(ctx: &Context<'_>, source: usize, tx: &[Sender<WriteJob>]) {
    let dsn = &ctx.plan.sources[source];
    let clock = &ctx.progress.stages;
    let mut slot = Slot {
        dsn,
        stop: ctx.stop,
        timed: clock.timed(),
        bare: None,
        reader: None,
    };
    let mut routing = Routing {
        targets: Vec::new(),
        splitter: Splitter::new(ctx.plan.targets.len()),
        sent: vec![0; ctx.plan.targets.len()],
    };
    while !ctx.stop.stopped() {
        // Nothing new starts while the servers are over a limit.
        ctx.progress.throttle.wait(&|| ctx.stop.stopped());
        let chunking = clock.lap();
        let next = next_chunk(ctx, source, &mut slot);
        clock.add(Stage::Chunking, chunking.nanos());
        let assignment = match next {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => return ctx.stop.fail(e),
        };
        if let Some(marks) = ctx.marks {
            // Before the chunk's snapshot: see `crate::online` for why the order matters.
            marks
                .unit_at(assignment.unit)
                .handed_out(assignment.chunk.covers(), assignment.last);
        }
        match read_chunk(ctx, &mut slot, &mut routing, &assignment, tx) {
            Ok(Some((rows, bytes))) => {
                let unit = ctx.scheduler.unit(assignment.unit);
                let table = &ctx.progress.tables[unit.table];
                table.chunk_done();
                let chunking = clock.lap();
                // The chunker measures the next chunk (over a gap of keys, with a query):
                // transient errors are retried like every other read's.
                let mut retries = Retries::new(ctx.options.retry);
                let done = loop {
                    let done = slot.conn().and_then(|conn| {
                        unit.chunker.lock().expect("chunker lock").done(
                            conn,
                            &assignment.chunk,
                            rows,
                            bytes,
                        )
                    });
                    match done {
                        Err(e)
                            if !ctx.stop.stopped()
                                && retries.again(
                                    &format!("finding the next chunk of {}", table.name),
                                    e.class(),
                                    &e,
                                ) =>
                        {
                            slot.reset();
                        }
                        done => break done,
                    }
                };
                clock.add(Stage::Chunking, chunking.nanos());
                if let Err(source) = done {
                    if ctx.stop.stopped() {
                        return;
                    }
                    return ctx.stop.fail(CopyError::Chunking {
                        table: table.name.clone(),
                        source: Box::new(source),
                    });
                }
            }
            Ok(None) => return,
            Err(e) => return ctx.stop.fail(e),
        }
    }
}

/// The next chunk, retrying transient errors of the boundary queries.
fn next_chunk(
    ctx: &Context<'_>,
    source: usize,
    slot: &mut Slot<'_>,
) -> Result<Option<Assignment>, CopyError> {
    let mut retries = Retries::new(ctx.options.retry);
    loop {
        let result = match slot.conn() {
            Ok(conn) => ctx.scheduler.next(source, ctx.progress, conn),
            Err(e) => Err((usize::MAX, e)),
        };
        match result {
            Ok(next) => return Ok(next),
            Err((unit, e)) => {
                slot.reset();
                if ctx.stop.stopped() {
                    // Another worker failed first (and may have closed this connection).
                    return Ok(None);
                }
                let table = if unit == usize::MAX {
                    String::from("a table")
                } else {
                    ctx.progress.tables[ctx.scheduler.unit(unit).table]
                        .name
                        .clone()
                };
                if retries.again(&format!("finding the next chunk of {table}"), e.class(), &e) {
                    continue;
                }
                return Err(CopyError::Chunking {
                    table,
                    source: Box::new(e),
                });
            }
        }
    }
}

/// A reader's routing buffers, reused batch after batch.
struct Routing {
    /// The target of each row of the current batch.
    targets: Vec<u32>,
    splitter: Splitter,
    /// Rows sent to each target by the current attempt at a chunk (taken back if it fails).
    sent: Vec<u64>,
}

/// Why a batch was not sent.
enum NotSent {
    /// The copy is stopping.
    Stopped,
    /// A row cannot be routed; the copy must stop with this error.
    Failed(CopyError),
}

/// Routes `batch` of table `table` and sends its parts to their targets' channels.
fn dispatch(
    ctx: &Context<'_>,
    routing: &mut Routing,
    table: usize,
    label: &Arc<ChunkLabel>,
    batch: RecordBatch,
    tx: &[Sender<WriteJob>],
) -> Result<(), NotSent> {
    let job = |batch| WriteJob {
        table,
        chunk: Arc::clone(label),
        batch,
    };
    let rows = batch.num_rows() as u64;
    let progress = &ctx.progress.tables[table];
    let clock = &ctx.progress.stages;
    let send = |target: usize, batch: RecordBatch, routing: &mut Routing| {
        let n = batch.num_rows() as u64;
        label.tally.part_sent();
        let waiting = clock.lap();
        let sent = tx[target].send(job(batch));
        clock.add_channel_wait(Stage::SendWait, target, waiting);
        sent.map_err(|_| NotSent::Stopped)?;
        routing.sent[target] += n;
        progress.add_routed(target, n);
        Ok(())
    };
    match ctx.plan.tables[table].route {
        TableRoute::To(target) => send(target, batch, routing),
        TableRoute::Everywhere => {
            for target in 0..tx.len() {
                send(target, batch.clone(), routing)?;
            }
            Ok(())
        }
        TableRoute::Shard { column, vindex } => {
            let routing_lap = clock.lap();
            route_column(
                vindex,
                batch.column(column).as_ref(),
                &ctx.plan.router,
                &mut routing.targets,
            )
            .map_err(|e| NotSent::Failed(unroutable(ctx, table, &batch, column, e)))?;
            let parts = routing
                .splitter
                .split(&batch, &routing.targets)
                .map_err(|e| {
                    NotSent::Failed(CopyError::Internal(format!(
                        "splitting a batch of {} by target: {e}",
                        progress.name
                    )))
                })?;
            debug_assert_eq!(
                parts.iter().map(|(_, b)| b.num_rows() as u64).sum::<u64>(),
                rows
            );
            clock.add(Stage::Route, routing_lap.nanos());
            for (target, part) in parts {
                send(target, part, routing)?;
            }
            Ok(())
        }
    }
}

/// The error for a row the vindex cannot map: table, column, and the row's key.
fn unroutable(
    ctx: &Context<'_>,
    table: usize,
    batch: &RecordBatch,
    column: usize,
    error: RouteError,
) -> CopyError {
    let copy_table = &ctx.plan.tables[table];
    let column_name = &copy_table.schema.columns[column].name;
    let detail = match error {
        RouteError::Unmappable { row, reason } => format!(
            "the row with {} has a sharding value the vindex cannot map: {reason}; \
             fix the row, or shard the table by another column or vindex",
            describe_row(batch, row, &copy_table.key.columns)
        ),
        RouteError::UnsupportedType(_) => error.to_string(),
    };
    CopyError::Unroutable {
        table: ctx.progress.tables[table].name.clone(),
        column: column_name.clone(),
        detail,
    }
}

/// Reads one chunk and sends its batches on; retries the whole chunk on a transient error.
/// Returns its rows and bytes, or `None` if the copy stopped meanwhile.
fn read_chunk(
    ctx: &Context<'_>,
    slot: &mut Slot<'_>,
    routing: &mut Routing,
    assignment: &Assignment,
    tx: &[Sender<WriteJob>],
) -> Result<Option<(u64, u64)>, CopyError> {
    let unit = ctx.scheduler.unit(assignment.unit);
    let table = unit.table;
    let progress = &ctx.progress.tables[table];
    let clock = &ctx.progress.stages;
    let chunk = &assignment.chunk;
    let label = Arc::new(ChunkLabel {
        seq: chunk.seq,
        range: chunk.describe(),
        unit: assignment.unit,
        completion: crate::marks::Completion {
            covers: chunk.covers(),
            seq: Some(chunk.seq),
            resume: chunk.resume().clone(),
        },
        tally: ChunkTally::default(),
    });
    let sql = {
        let from = &unit.from_sql;
        let columns = &ctx.select_lists[table];
        match &chunk.predicate {
            Some(p) => format!("SELECT {columns} FROM {from} WHERE {p}"),
            None => format!("SELECT {columns} FROM {from}"),
        }
    };
    let mut retries = Retries::new(ctx.options.retry);
    loop {
        if ctx.stop.stopped() {
            return Ok(None);
        }
        let (mut rows, mut bytes) = (0u64, 0u64);
        let mut stopped = false;
        let mut failed = None;
        routing.sent.fill(0);
        let result = slot.reader(ctx, table).and_then(|reader| {
            // The chunk's time: waiting in socket calls is reading, handing batches on is
            // counted by `dispatch`, the rest is decoding.
            let (lap, before) = (clock.lap(), reader.conn_mut().io_stats());
            let mut dispatching = 0u64;
            let read = read_in_snapshot(ctx, reader, &sql, |batch, batch_bytes| {
                let batch_rows = batch.num_rows() as u64;
                let dispatch_lap = clock.lap();
                let outcome = if ctx.stop.stopped() {
                    Err(NotSent::Stopped)
                } else {
                    dispatch(ctx, routing, table, &label, batch, tx)
                };
                dispatching += dispatch_lap.nanos();
                if let Err(why) = outcome {
                    match why {
                        NotSent::Stopped => stopped = true,
                        NotSent::Failed(e) => failed = Some(e),
                    }
                    return Err(MysqlError::Unexpected {
                        server: String::new(),
                        doing: "copying",
                        detail: String::from("stopped"),
                    });
                }
                rows += batch_rows;
                bytes += batch_bytes;
                progress.add_read(batch_rows, batch_bytes);
                Ok(())
            });
            let io = reader.conn_mut().io_stats().since(before);
            clock.add_bytes(io.bytes_in, io.bytes_out);
            clock.add(Stage::Read, io.wait_nanos);
            clock.add(
                Stage::Decode,
                lap.nanos()
                    .saturating_sub(io.wait_nanos)
                    .saturating_sub(dispatching),
            );
            read
        });
        if let Some(e) = failed {
            return Err(e);
        }
        match result {
            Ok(stats) => {
                if let Some(marks) = ctx.marks {
                    label
                        .tally
                        .read_finished(marks.unit_at(label.unit), &label.completion);
                }
                return Ok(Some((stats.rows, stats.bytes)));
            }
            Err(_) if stopped => return Ok(None),
            Err(_) if ctx.stop.stopped() => {
                slot.reset();
                return Ok(None);
            }
            Err(e) => {
                slot.reset();
                progress.undo_read(rows, bytes);
                for (target, &n) in routing.sent.iter().enumerate() {
                    progress.undo_routed(target, n);
                }
                let what = format!("reading chunk {} of {}", chunk.seq, progress.name);
                if retries.again(&what, e.class(), &e) {
                    progress.retried();
                    continue;
                }
                return Err(CopyError::Read {
                    table: progress.name.clone(),
                    chunk: chunk.seq,
                    range: label.range.clone(),
                    source: Box::new(e),
                });
            }
        }
    }
}

/// Runs a chunk's `SELECT`, in a move inside a snapshot placed in the binlog
/// ([`start_snapshot_covering`]) and committed after.
fn read_in_snapshot(
    ctx: &Context<'_>,
    reader: &mut TableReader,
    sql: &str,
    on_batch: impl FnMut(RecordBatch, u64) -> Result<(), MysqlError>,
) -> Result<reshard_mysql::reader::ReadStats, MysqlError> {
    if ctx.marks.is_some() {
        start_snapshot_covering(reader.conn_mut())?;
    }
    let read = reader.read_once(sql, on_batch)?;
    if ctx.marks.is_some() {
        reader.conn_mut().query_drop("COMMIT")?;
    }
    Ok(read)
}
