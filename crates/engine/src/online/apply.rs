//! One applier cycle: the changes of a cycle, per table in binlog order, deduplicated by key,
//! routed like the copy's rows, and written to every target in parallel: the deletes (by key)
//! and upserts (full rows, loaded with `LOAD DATA ... REPLACE`: the copy's exact encoding and
//! the server's fastest way in) of a target are spread over several connections, each
//! running its share as one transaction.
//!
//! Spreading one target's share is safe because the plan names every key at most once per
//! target (it is either deleted there or written whole, never both), so no two statements of a
//! cycle touch the same row, and each leaves the same state however often it runs: a
//! transaction that fails transiently is simply run again. The cycle is done when every
//! connection has committed; only then does the applier record the sources' positions.
//!
//! A `REPLACE` also deletes any row that holds one of the written row's other unique values.
//! While the copy runs, the target is not the source at one point in time (a chunk read late sits
//! beside changes applied early), so such a row can be one whose own later image is not in this
//! cycle: it would be lost. Tables with unique keys besides the row key are therefore written
//! apart, on one connection per target and in order: every changed key is deleted, then the rows
//! are loaded without `REPLACE`, and a collision on another unique key fails the move naming the
//! key and row ([`Work::Exclusive`]) rather than deleting a row.

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch, UInt32Array};
use arrow_schema::Schema;
use reshard_convert::encode::delete::DeleteEncoder;
use reshard_convert::encode::describe::describe_row;
use reshard_convert::schema::arrow_schema;
use reshard_kernels::changes::plan_changes;
use reshard_kernels::column::{RouteError, route_column};
use reshard_mysql::MysqlError;
use reshard_mysql::reader::table_sql;
use reshard_mysql::wire::RawConn;
use reshard_mysql::writer::{Duplicates, LoadTarget, open_write_session, refuse_warnings};
use reshard_types::Dsn;

use super::classify::Images;
use crate::copy::{CopyPlan, Stop, TableRoute, on_target};
use crate::error::CopyError;
use crate::retry::{Retries, RetryPolicy};

/// Keys per `DELETE` statement at most.
const KEYS_PER_DELETE: usize = 1000;
/// Rows per upsert statement at most (`LOAD DATA` streams them, so their size does not matter to
/// `max_allowed_packet`; the number spreads a cycle's upserts over the connections).
const ROWS_PER_UPSERT: usize = 8192;

/// How the changes of one table are written.
struct TableApply {
    schema: Arc<Schema>,
    key_columns: Vec<usize>,
    delete: DeleteEncoder,
    /// Per target: how upserts are loaded there (`LOAD DATA ... REPLACE`).
    loads: Vec<LoadTarget>,
    /// Per target: the table as statements name it there.
    names: Vec<String>,
    /// `` `db`.`table` `` for messages.
    label: String,
}

/// What a cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct CycleStats {
    /// Row images taken in.
    pub(crate) images: u64,
    /// Distinct keys they touched.
    pub(crate) keys: u64,
    /// Rows deleted by key, over all targets.
    pub(crate) deletes: u64,
    /// Rows written whole, over all targets.
    pub(crate) upserts: u64,
}

/// A statement for a target, and the table it writes (for messages).
struct Statement {
    table: usize,
    work: Work,
}

/// What a statement does.
enum Work {
    /// `DELETE ... WHERE key IN (...)`.
    Delete(Vec<u8>),
    /// These whole rows, loaded with `LOAD DATA ... REPLACE`.
    Upsert(RecordBatch),
    /// Every change of a table with unique keys besides its row key, on one connection: the
    /// `DELETE`s (of deleted and of upserted keys), then the upserted rows loaded without
    /// `REPLACE`, so that a row meeting another row's unique value fails the cycle, naming the
    /// key, instead of silently deleting that row.
    Exclusive {
        deletes: Vec<Vec<u8>>,
        inserts: Vec<RecordBatch>,
    },
}

/// Applies cycles of changes to the targets of a plan.
pub(crate) struct Applier<'a> {
    plan: &'a CopyPlan,
    tables: Vec<TableApply>,
    /// Per target, its write sessions (opened on first use, dropped after an error).
    conns: Vec<Vec<Option<RawConn>>>,
    routed: Vec<u32>,
    retry: RetryPolicy,
}

impl<'a> Applier<'a> {
    /// An applier for the tables and targets of `plan`, writing over `connections` connections
    /// per target.
    pub(crate) fn new(
        plan: &'a CopyPlan,
        connections: usize,
        retry: RetryPolicy,
    ) -> Result<Applier<'a>, CopyError> {
        let mut tables = Vec::with_capacity(plan.tables.len());
        for table in &plan.tables {
            let schema = Arc::new(arrow_schema(&table.schema));
            let label = table.schema.qualified_name();
            let internal = |e: reshard_convert::ConvertError| {
                CopyError::Internal(format!("preparing to apply changes to {label}: {e}"))
            };
            let mut loads = Vec::with_capacity(plan.targets.len());
            for target in &plan.targets {
                loads.push(
                    LoadTarget::new(target, &on_target(plan, &table.schema, target))?
                        .with_row_key(&table.key.index),
                );
            }
            tables.push(TableApply {
                loads,
                delete: DeleteEncoder::new(&schema, &table.key.columns).map_err(internal)?,
                key_columns: table.key.columns.clone(),
                names: plan
                    .targets
                    .iter()
                    .map(|t| table_sql(&on_target(plan, &table.schema, t)))
                    .collect(),
                schema,
                label,
            });
        }
        Ok(Applier {
            plan,
            tables,
            conns: plan
                .targets
                .iter()
                .map(|_| (0..connections.max(1)).map(|_| None).collect())
                .collect(),
            routed: Vec::new(),
            retry,
        })
    }

    /// Applies `pending[t]`, the changes of table `t` in binlog order, to every target. When it
    /// returns `Ok`, every target has committed its part.
    pub(crate) fn apply(
        &mut self,
        pending: &mut [Vec<Images>],
        stop: &Stop,
    ) -> Result<CycleStats, CopyError> {
        let targets = self.plan.targets.len();
        let mut statements: Vec<Vec<Statement>> = (0..targets).map(|_| Vec::new()).collect();
        let mut stats = CycleStats::default();
        let started = std::time::Instant::now();
        for (t, parts) in pending.iter_mut().enumerate() {
            if parts.is_empty() {
                continue;
            }
            let parts = std::mem::take(parts);
            self.plan_table(t, &parts, &mut statements, &mut stats)?;
        }
        let planned = std::time::Instant::now();
        let plan = self.plan;
        let tables = &self.tables;
        let retry = self.retry;
        let results: Vec<Result<(), CopyError>> = std::thread::scope(|scope| {
            let mut handles = Vec::new();
            for (target, (conns, statements)) in self.conns.iter_mut().zip(&statements).enumerate()
            {
                let dsn = &plan.targets[target];
                let share = statements.len().div_ceil(conns.len()).max(1);
                for (conn, part) in conns.iter_mut().zip(statements.chunks(share)) {
                    handles.push(
                        std::thread::Builder::new()
                            .name("reshard-applier".into())
                            .spawn_scoped(scope, move || {
                                run_with_retries(dsn, conn, part, tables, target, retry, stop)
                            })
                            .expect("spawning an applier thread"),
                    );
                }
            }
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(CopyError::Internal(String::from(
                            "an applier thread panicked (its message is above); please report it",
                        )))
                    })
                })
                .collect()
        });
        results.into_iter().collect::<Result<(), _>>()?;
        tracing::debug!(
            images = stats.images,
            statements = statements.iter().map(Vec::len).sum::<usize>(),
            plan_ms = planned.duration_since(started).as_millis(),
            write_ms = planned.elapsed().as_millis(),
            "applied a cycle"
        );
        Ok(stats)
    }

    /// Plans the changes of table `t` and encodes its statements per target.
    fn plan_table(
        &mut self,
        t: usize,
        parts: &[Images],
        statements: &mut [Vec<Statement>],
        stats: &mut CycleStats,
    ) -> Result<(), CopyError> {
        let table = &self.tables[t];
        let internal = |what: &str, e: &dyn std::fmt::Display| {
            CopyError::Internal(format!("{what} changes of {}: {e}", table.label))
        };
        let batch = arrow_select::concat::concat_batches(&table.schema, parts.iter().map(|p| &p.0))
            .map_err(|e| internal("gathering", &e))?;
        let rows = batch.num_rows();
        let is_after: Vec<bool> = parts
            .iter()
            .flat_map(|p| p.1.iter().map(|op| op.is_after()))
            .collect();
        debug_assert_eq!(is_after.len(), rows);
        let keys: Vec<ArrayRef> = table
            .key_columns
            .iter()
            .map(|&c| Arc::clone(batch.column(c)))
            .collect();
        let route = self.plan.tables[t].route;
        let n_targets = self.plan.targets.len();
        let (plan_targets, shared) = match route {
            TableRoute::Shard { column, vindex } => {
                route_column(
                    vindex,
                    batch.column(column).as_ref(),
                    &self.plan.router,
                    &mut self.routed,
                )
                .map_err(|e| unroutable(self.plan, t, &batch, column, e))?;
                (n_targets, false)
            }
            TableRoute::To(target) => {
                self.routed.clear();
                self.routed.resize(
                    rows,
                    u32::try_from(target).expect("fewer than 2^32 targets"),
                );
                (n_targets, false)
            }
            TableRoute::Everywhere => {
                self.routed.clear();
                self.routed.resize(rows, 0);
                (1, true)
            }
        };
        let plan = plan_changes(&keys, &is_after, &self.routed, plan_targets)
            .map_err(|e| internal("planning", &e))?;
        stats.images += rows as u64;
        stats.keys += plan.keys as u64;
        let exclusive = !self.plan.tables[t].other_unique_keys.is_empty();
        for (target, out) in statements.iter_mut().enumerate() {
            let slot = if shared { 0 } else { target };
            let name = &table.names[target];
            if exclusive {
                let (mut deletes, mut inserts) = (Vec::new(), Vec::new());
                let upserted = plan.upserts[slot].chunks(KEYS_PER_DELETE);
                for rows in plan.deletes[slot].chunks(KEYS_PER_DELETE).chain(upserted) {
                    let mut sql = Vec::new();
                    table
                        .delete
                        .encode(name, &batch, rows, &mut sql)
                        .map_err(|e| internal("encoding", &e))?;
                    deletes.push(sql);
                }
                for rows in plan.upserts[slot].chunks(ROWS_PER_UPSERT) {
                    let indices = UInt32Array::from(rows.to_vec());
                    inserts.push(
                        arrow_select::take::take_record_batch(&batch, &indices)
                            .map_err(|e| internal("gathering", &e))?,
                    );
                }
                stats.deletes += plan.deletes[slot].len() as u64;
                stats.upserts += plan.upserts[slot].len() as u64;
                if !deletes.is_empty() {
                    out.push(Statement {
                        table: t,
                        work: Work::Exclusive { deletes, inserts },
                    });
                }
                continue;
            }
            for rows in plan.deletes[slot].chunks(KEYS_PER_DELETE) {
                let mut sql = Vec::new();
                table
                    .delete
                    .encode(name, &batch, rows, &mut sql)
                    .map_err(|e| internal("encoding", &e))?;
                stats.deletes += rows.len() as u64;
                out.push(Statement {
                    table: t,
                    work: Work::Delete(sql),
                });
            }
            for rows in plan.upserts[slot].chunks(ROWS_PER_UPSERT) {
                let indices = UInt32Array::from(rows.to_vec());
                let part = arrow_select::take::take_record_batch(&batch, &indices)
                    .map_err(|e| internal("gathering", &e))?;
                stats.upserts += rows.len() as u64;
                out.push(Statement {
                    table: t,
                    work: Work::Upsert(part),
                });
            }
        }
        Ok(())
    }
}

/// The statements of one target in one transaction, retried whole on a transient error (they
/// leave the same state however often they run).
fn run_with_retries(
    dsn: &Dsn,
    conn: &mut Option<RawConn>,
    statements: &[Statement],
    tables: &[TableApply],
    target: usize,
    retry: RetryPolicy,
    stop: &Stop,
) -> Result<(), CopyError> {
    let mut retries = Retries::new(retry);
    loop {
        match run(dsn, conn, statements, tables, target, stop) {
            Ok(()) => return Ok(()),
            Err((table, e)) => {
                *conn = None;
                let label = &tables[table].label;
                let what = format!("applying changes of {label} to target {}", target + 1);
                // Once the move is stopping (another part failed first, and may have closed this
                // connection), the cycle is given up: its positions are not recorded.
                if !stop.stopped() && retries.again(&what, e.class(), &e) {
                    continue;
                }
                return Err(CopyError::Apply {
                    table: label.clone(),
                    source: Box::new(e),
                });
            }
        }
    }
}

fn run(
    dsn: &Dsn,
    conn: &mut Option<RawConn>,
    statements: &[Statement],
    tables: &[TableApply],
    target: usize,
    stop: &Stop,
) -> Result<(), (usize, MysqlError)> {
    let first = statements.first().map_or(0, |s| s.table);
    if conn.is_none() {
        let opened = open_write_session(dsn).map_err(|e| (first, e))?;
        stop.register(&opened);
        *conn = Some(opened);
    }
    let conn = conn.as_mut().expect("opened above");
    conn.query_drop("BEGIN").map_err(|e| (first, e))?;
    for statement in statements {
        let table = &tables[statement.table];
        match &statement.work {
            Work::Delete(sql) => {
                let ok = conn
                    .query_drop_bytes(sql)
                    .map_err(|e| (statement.table, e))?;
                refuse_warnings(conn, &table.names[target], ok)
            }
            Work::Upsert(rows) => table.loads[target]
                .write(conn, rows, Duplicates::Replace)
                .map(|_| ()),
            Work::Exclusive { deletes, inserts } => (|| {
                for sql in deletes {
                    let ok = conn.query_drop_bytes(sql)?;
                    refuse_warnings(conn, &table.names[target], ok)?;
                }
                for rows in inserts {
                    table.loads[target].write(conn, rows, Duplicates::Refuse)?;
                }
                Ok(())
            })(),
        }
        .map_err(|e| (statement.table, e))?;
    }
    conn.query_drop("COMMIT").map_err(|e| (first, e))?;
    Ok(())
}

/// The error for an image the vindex cannot map: table, column, and the row's key.
fn unroutable(
    plan: &CopyPlan,
    table: usize,
    batch: &RecordBatch,
    column: usize,
    error: RouteError,
) -> CopyError {
    let copy_table = &plan.tables[table];
    let detail = match error {
        RouteError::Unmappable { row, reason } => format!(
            "a change to the row with {} has a sharding value the vindex cannot map: {reason}",
            describe_row(batch, row, &copy_table.key.columns)
        ),
        RouteError::UnsupportedType(_) => error.to_string(),
    };
    CopyError::Unroutable {
        table: copy_table.schema.qualified_name(),
        column: copy_table.schema.columns[column].name.clone(),
        detail,
    }
}
