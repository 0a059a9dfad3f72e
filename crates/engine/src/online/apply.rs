//! One applier cycle: the changes of a cycle, per table in binlog order, deduplicated by key,
//! routed like the copy's rows, and written to every target in parallel, one transaction per
//! target: the deletes first, then the upserts (`REPLACE` of full rows).

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::Schema;
use reshard_convert::encode::delete::DeleteEncoder;
use reshard_convert::encode::describe::describe_row;
use reshard_convert::encode::insert::InsertEncoder;
use reshard_convert::schema::arrow_schema;
use reshard_kernels::changes::plan_changes;
use reshard_kernels::column::{RouteError, route_column};
use reshard_mysql::MysqlError;
use reshard_mysql::reader::table_sql;
use reshard_mysql::wire::RawConn;
use reshard_mysql::writer::{open_write_session, refuse_warnings};
use reshard_types::{Dsn, ErrorClass};

use super::classify::Images;
use crate::copy::{CopyPlan, TableRoute, back_off, in_database};
use crate::error::CopyError;
use crate::retry::MAX_ATTEMPTS;

/// Keys per `DELETE` statement at most.
const KEYS_PER_DELETE: usize = 1000;
/// Bytes of row data per `REPLACE` statement, about (well under the default 16 MiB
/// `max_allowed_packet`, large enough that the round trip is a small part of it).
const BYTES_PER_REPLACE: usize = 2 << 20;

/// How the changes of one table are written.
struct TableApply {
    schema: Arc<Schema>,
    key_columns: Vec<usize>,
    insert: InsertEncoder,
    delete: DeleteEncoder,
    /// Per target: the table as statements name it there.
    names: Vec<String>,
    /// `` `db`.`table` `` for messages.
    label: String,
}

/// What a cycle did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CycleStats {
    /// Row images taken in.
    pub images: u64,
    /// Distinct keys they touched.
    pub keys: u64,
    /// Rows deleted by key, over all targets.
    pub deletes: u64,
    /// Rows written whole, over all targets.
    pub upserts: u64,
}

/// A statement for a target, and the table it writes (for messages).
struct Statement {
    table: usize,
    sql: Vec<u8>,
}

/// Applies cycles of changes to the targets of a plan.
pub(crate) struct Applier<'a> {
    plan: &'a CopyPlan,
    tables: Vec<TableApply>,
    /// Per target, its write session (opened on first use, dropped after an error).
    conns: Vec<Option<RawConn>>,
    routed: Vec<u32>,
}

impl<'a> Applier<'a> {
    /// An applier for the tables and targets of `plan`.
    pub(crate) fn new(plan: &'a CopyPlan) -> Result<Applier<'a>, CopyError> {
        let mut tables = Vec::with_capacity(plan.tables.len());
        for table in &plan.tables {
            let schema = Arc::new(arrow_schema(&table.schema));
            let label = table.schema.qualified_name();
            let internal = |e: reshard_convert::ConvertError| {
                CopyError::Internal(format!("preparing to apply changes to {label}: {e}"))
            };
            tables.push(TableApply {
                insert: InsertEncoder::new(&schema).map_err(internal)?,
                delete: DeleteEncoder::new(&schema, &table.key.columns).map_err(internal)?,
                key_columns: table.key.columns.clone(),
                names: plan
                    .targets
                    .iter()
                    .map(|t| table_sql(&in_database(&table.schema, t)))
                    .collect(),
                schema,
                label,
            });
        }
        Ok(Applier {
            plan,
            tables,
            conns: plan.targets.iter().map(|_| None).collect(),
            routed: Vec::new(),
        })
    }

    /// Applies `pending[t]`, the changes of table `t` in binlog order, to every target. When it
    /// returns `Ok`, every target has committed its part.
    pub(crate) fn apply(&mut self, pending: &mut [Vec<Images>]) -> Result<CycleStats, CopyError> {
        let targets = self.plan.targets.len();
        let mut statements: Vec<Vec<Statement>> = (0..targets).map(|_| Vec::new()).collect();
        let mut stats = CycleStats::default();
        for (t, parts) in pending.iter_mut().enumerate() {
            if parts.is_empty() {
                continue;
            }
            let parts = std::mem::take(parts);
            self.plan_table(t, &parts, &mut statements, &mut stats)?;
        }
        let plan = self.plan;
        let tables = &self.tables;
        let results: Vec<Result<(), CopyError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .conns
                .iter_mut()
                .zip(&statements)
                .enumerate()
                .filter(|(_, (_, s))| !s.is_empty())
                .map(|(target, (conn, statements))| {
                    let dsn = &plan.targets[target];
                    std::thread::Builder::new()
                        .name("reshard-applier".into())
                        .spawn_scoped(scope, move || {
                            run_with_retries(dsn, conn, statements, tables, target)
                        })
                        .expect("spawning an applier thread")
                })
                .collect();
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
        let row_bytes = (batch.get_array_memory_size() / rows.max(1)).max(1);
        let per_replace = (BYTES_PER_REPLACE / row_bytes).clamp(1, 10_000);
        for (target, out) in statements.iter_mut().enumerate() {
            let slot = if shared { 0 } else { target };
            let name = &table.names[target];
            for rows in plan.deletes[slot].chunks(KEYS_PER_DELETE) {
                let mut sql = Vec::new();
                table
                    .delete
                    .encode(name, &batch, rows, &mut sql)
                    .map_err(|e| internal("encoding", &e))?;
                stats.deletes += rows.len() as u64;
                out.push(Statement { table: t, sql });
            }
            for rows in plan.upserts[slot].chunks(per_replace) {
                let mut sql = Vec::new();
                table
                    .insert
                    .encode_replace(name, &batch, rows, &mut sql)
                    .map_err(|e| internal("encoding", &e))?;
                stats.upserts += rows.len() as u64;
                out.push(Statement { table: t, sql });
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
) -> Result<(), CopyError> {
    let mut attempt = 1;
    loop {
        match run(dsn, conn, statements, tables, target) {
            Ok(()) => return Ok(()),
            Err((table, e)) => {
                *conn = None;
                let label = &tables[table].label;
                if e.class() == ErrorClass::Transient && attempt < MAX_ATTEMPTS {
                    back_off(
                        attempt,
                        &format!("applying changes of {label} to target {}", target + 1),
                        &e,
                    );
                    attempt += 1;
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
) -> Result<(), (usize, MysqlError)> {
    let first = statements.first().map_or(0, |s| s.table);
    if conn.is_none() {
        *conn = Some(open_write_session(dsn).map_err(|e| (first, e))?);
    }
    let conn = conn.as_mut().expect("opened above");
    conn.query_drop("BEGIN").map_err(|e| (first, e))?;
    for statement in statements {
        let ok = conn
            .query_drop_bytes(&statement.sql)
            .map_err(|e| (statement.table, e))?;
        refuse_warnings(conn, &tables[statement.table].names[target], ok)
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
