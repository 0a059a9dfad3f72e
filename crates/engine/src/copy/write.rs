//! A writer thread: takes batches for one target and loads them, retrying transient errors.

use std::collections::HashMap;

use crossbeam_channel::Receiver;
use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;
use reshard_mysql::writer::{Duplicates, LoadTarget, WriteStats, open_write_session};
use reshard_types::{Dsn, ErrorClass};

use super::{Context, WriteJob, back_off};
use crate::error::CopyError;
use crate::retry::MAX_ATTEMPTS;

/// Loads batches from `jobs` into `target` until the readers are done or the copy stops.
pub(super) fn writer_loop(ctx: &Context<'_>, target: &Dsn, jobs: Receiver<WriteJob>) {
    let mut conn: Option<RawConn> = None;
    let mut loads: HashMap<usize, LoadTarget> = HashMap::new();
    for job in jobs {
        if ctx.stop.stopped() {
            return;
        }
        let progress = &ctx.progress.tables[job.table];
        let mut attempt = 1;
        loop {
            match write(ctx, target, &mut conn, &mut loads, &job) {
                Ok(stats) => {
                    progress.add_written(stats.rows, stats.inserted, stats.bytes);
                    if let Some(marks) = ctx.marks {
                        job.chunk
                            .tally
                            .part_written(marks.unit_at(job.chunk.unit), job.chunk.covers);
                    }
                    break;
                }
                Err(e) => {
                    // The connection may be dead or mid-statement: never reuse it after an error.
                    conn = None;
                    if e.class() == ErrorClass::Transient && attempt < MAX_ATTEMPTS {
                        progress.retried();
                        back_off(
                            attempt,
                            &format!("writing chunk {} of {}", job.chunk.seq, progress.name),
                            &e,
                        );
                        attempt += 1;
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

fn write(
    ctx: &Context<'_>,
    target: &Dsn,
    conn: &mut Option<RawConn>,
    loads: &mut HashMap<usize, LoadTarget>,
    job: &WriteJob,
) -> Result<WriteStats, MysqlError> {
    if conn.is_none() {
        *conn = Some(open_write_session(target)?);
    }
    let load = match loads.entry(job.table) {
        std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
        std::collections::hash_map::Entry::Vacant(e) => {
            let schema = super::in_database(&ctx.plan.tables[job.table].schema, target);
            e.insert(LoadTarget::new(target, &schema)?)
        }
    };
    load.write(
        conn.as_mut().expect("opened above"),
        &job.batch,
        Duplicates::Skip,
    )
}
