//! A reader thread: takes chunks of one source, reads them into batches, hands them to the writers.

use std::sync::Arc;

use crossbeam_channel::Sender;
use reshard_mysql::MysqlError;
use reshard_mysql::reader::{TableReader, open_read_session};
use reshard_mysql::wire::RawConn;
use reshard_types::{Dsn, ErrorClass};

use super::schedule::Assignment;
use super::{ChunkLabel, Context, WriteJob, back_off};
use crate::error::CopyError;
use crate::retry::MAX_ATTEMPTS;

/// The connection of a reader: bare (between tables) or inside the reader of its current table.
struct Slot<'a> {
    dsn: &'a Dsn,
    bare: Option<RawConn>,
    reader: Option<(usize, TableReader)>,
}

impl Slot<'_> {
    fn conn(&mut self) -> Result<&mut RawConn, MysqlError> {
        if let Some((_, reader)) = &mut self.reader {
            return Ok(reader.conn_mut());
        }
        if self.bare.is_none() {
            self.bare = Some(open_read_session(self.dsn)?);
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
                None => open_read_session(self.dsn)?,
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
pub(super) fn reader_loop(ctx: &Context<'_>, source: usize, tx: Sender<WriteJob>) {
    let dsn = &ctx.plan.sources[source];
    let mut slot = Slot {
        dsn,
        bare: None,
        reader: None,
    };
    while !ctx.stop.stopped() {
        let assignment = match next_chunk(ctx, source, &mut slot) {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(e) => return ctx.stop.fail(e),
        };
        match read_chunk(ctx, &mut slot, &assignment, &tx) {
            Ok(Some((rows, bytes))) => {
                let unit = ctx.scheduler.unit(assignment.unit);
                let table = &ctx.progress.tables[unit.table];
                table.chunk_done();
                let done = slot.conn().and_then(|conn| {
                    unit.chunker.lock().expect("chunker lock").done(
                        conn,
                        &assignment.chunk,
                        rows,
                        bytes,
                    )
                });
                if let Err(source) = done {
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
    let mut attempt = 1;
    loop {
        let result = match slot.conn() {
            Ok(conn) => ctx.scheduler.next(source, ctx.progress, conn),
            Err(e) => Err((usize::MAX, e)),
        };
        match result {
            Ok(next) => return Ok(next),
            Err((unit, e)) => {
                slot.reset();
                let table = if unit == usize::MAX {
                    String::from("a table")
                } else {
                    ctx.progress.tables[ctx.scheduler.unit(unit).table]
                        .name
                        .clone()
                };
                if e.class() == ErrorClass::Transient && attempt < MAX_ATTEMPTS {
                    back_off(attempt, &format!("finding the next chunk of {table}"), &e);
                    attempt += 1;
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

/// Reads one chunk and sends its batches on; retries the whole chunk on a transient error.
/// Returns its rows and bytes, or `None` if the copy stopped meanwhile.
fn read_chunk(
    ctx: &Context<'_>,
    slot: &mut Slot<'_>,
    assignment: &Assignment,
    tx: &Sender<WriteJob>,
) -> Result<Option<(u64, u64)>, CopyError> {
    let unit = ctx.scheduler.unit(assignment.unit);
    let table = unit.table;
    let progress = &ctx.progress.tables[table];
    let chunk = &assignment.chunk;
    let label = Arc::new(ChunkLabel {
        seq: chunk.seq,
        range: chunk.describe(),
    });
    let sql = {
        let from = &unit.from_sql;
        let columns = &ctx.select_lists[table];
        match &chunk.predicate {
            Some(p) => format!("SELECT {columns} FROM {from} WHERE {p}"),
            None => format!("SELECT {columns} FROM {from}"),
        }
    };
    let mut attempt = 1;
    loop {
        let (mut rows, mut bytes) = (0u64, 0u64);
        let mut stopped = false;
        let result = slot.reader(ctx, table).and_then(|reader| {
            reader.read_once(&sql, |batch, batch_bytes| {
                let batch_rows = batch.num_rows() as u64;
                if ctx.stop.stopped()
                    || tx
                        .send(WriteJob {
                            table,
                            chunk: Arc::clone(&label),
                            batch,
                        })
                        .is_err()
                {
                    stopped = true;
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
            })
        });
        match result {
            Ok(stats) => return Ok(Some((stats.rows, stats.bytes))),
            Err(_) if stopped => return Ok(None),
            Err(e) => {
                slot.reset();
                progress.undo_read(rows, bytes);
                if e.class() == ErrorClass::Transient && attempt < MAX_ATTEMPTS {
                    progress.retried();
                    back_off(
                        attempt,
                        &format!("reading chunk {} of {}", chunk.seq, progress.name),
                        &e,
                    );
                    attempt += 1;
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
