//! A writer thread: takes batches for one target and loads them, retrying transient errors.
//! Its time is counted as waiting for a batch, encoding and waiting on the target
//! ([`crate::stages`]).

use std::collections::HashMap;

use crossbeam_channel::Receiver;
use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;
use reshard_mysql::writer::{Duplicates, LoadTarget, WriteStats, open_write_session};
use reshard_types::Dsn;

use super::{Context, WriteJob};
use crate::error::CopyError;
use crate::retry::Retries;
use crate::stages::Stage;

/// Loads batches from `jobs` into `target` (target number `t`) until the readers are done or
/// the copy stops.
pub(super) fn writer_loop(ctx: &Context<'_>, t: usize, target: &Dsn, jobs: Receiver<WriteJob>) {
    let clock = &ctx.progress.stages;
    let mut conn: Option<RawConn> = None;
    let mut loads: HashMap<usize, LoadTarget> = HashMap::new();
    loop {
        let waiting = clock.lap();
        let Ok(job) = jobs.recv() else { return };
        clock.add_channel_wait(Stage::RecvWait, t, waiting);
        if ctx.stop.stopped() {
            return;
        }
        ctx.progress.throttle.wait(&|| ctx.stop.stopped());
        ctx.progress
            .throttle
            .pace(job.batch.num_rows() as u64, ctx.stop.flag());
        let progress = &ctx.progress.tables[job.table];
        let mut retries = Retries::new(ctx.options.retry);
        loop {
            if ctx.stop.stopped() {
                return;
            }
            match write(ctx, target, &mut conn, &mut loads, &job) {
                Ok(stats) => {
                    progress.add_written(stats.rows, stats.inserted, stats.bytes);
                    if let Some(marks) = ctx.marks {
                        job.chunk
                            .tally
                            .part_written(marks.unit_at(job.chunk.unit), &job.chunk.completion);
                    }
                    break;
                }
                Err(e) => {
                    // The connection may be dead or mid-statement: never reuse it after an error.
                    conn = None;
                    if ctx.stop.stopped() {
                        // Another worker failed first (and may have closed this connection).
                        return;
                    }
                    let what = format!("writing chunk {} of {}", job.chunk.seq, progress.name);
                    if retries.again(&what, e.class(), &e) {
                        progress.retried();
                        continue;
                    }
                    return ctx.stop.fail(CopyError::Write {
                        table: progress.name.clone(),
                        chunk: job.chunk.seq,
                        range: job.chunk.range.clone(),
                        source: Box::new(e),
                    });
                }
            }
        }
    }
}

/// Writes one job's batch; counts its encoding, its wait on the target and its bytes.
fn write(
    ctx: &Context<'_>,
    target: &Dsn,
    conn: &mut Option<RawConn>,
    loads: &mut HashMap<usize, LoadTarget>,
    job: &WriteJob,
) -> Result<WriteStats, MysqlError> {
    let clock = &ctx.progress.stages;
    if conn.is_none() {
        let mut opened = open_write_session(target)?;
        ctx.stop.register(&opened);
        opened.time_io(clock.timed());
        *conn = Some(opened);
    }
    let conn = conn.as_mut().expect("opened above");
    let load = match loads.entry(job.table) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let table = &ctx.plan.tables[job.table];
            let schema = super::in_database(&table.schema, target);
            let mut load = LoadTarget::new(target, &schema)?.with_row_key(&table.key.index);
            load.time_encoding(clock.timed());
            e.insert(load)
        }
    };
    let lap = clock.lap();
    let before = conn.io_stats();
    let written = load.write(conn, &job.batch, Duplicates::Skip);
    let io = conn.io_stats().since(before);
    clock.add_bytes(io.bytes_in, io.bytes_out);
    let encode = written.as_ref().map_or(0, |w| w.encode_nanos);
    clock.add(Stage::Encode, encode);
    clock.add(Stage::Write, lap.nanos().saturating_sub(encode));
    written
}
