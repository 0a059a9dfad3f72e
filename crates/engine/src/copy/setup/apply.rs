//! What setup writes, once every check of every table passed: target tables created (without
//! secondary indexes when they are deferred), forced ones emptied, missing indexes added; and
//! after the copy, deferred indexes added back and row counts checked.

use reshard_mysql::Session;
use reshard_mysql::connect;
use reshard_mysql::tables::{self, count_rows, run_ddl};
use reshard_types::{Dsn, TableSchema};

use super::{CopySetup, PreparedTable, SetupOptions, TargetTable};
use crate::copy::{CopyTable, in_database};
use crate::error::CopyError;
use crate::topology::Topology;

/// A table that passed every check, and what to do on each target that receives it.
#[derive(Debug, Clone)]
pub(crate) struct Planned {
    /// The table, its key and placement.
    pub(crate) table: CopyTable,
    /// The sources' estimate of its rows.
    pub(crate) estimated_rows: u64,
    /// Per receiving target: create, empty, add indexes.
    pub(crate) on_targets: Vec<TargetTable>,
    /// The `CREATE TABLE` for targets that lack it.
    pub(crate) create: String,
}

/// Creates, empties and completes the target tables of `planned` (`targets[t]` is a session on
/// target `t`).
pub(super) async fn apply(
    topology: &Topology,
    options: &SetupOptions,
    targets: &mut [Session],
    planned: Vec<Planned>,
) -> Result<Vec<PreparedTable>, CopyError> {
    // Tables are created in any order, so a foreign key may name a parent not created yet:
    // allowed with the checks off.
    for session in targets.iter_mut() {
        run_ddl(session, "SET SESSION foreign_key_checks = 0").await?;
    }
    let mut prepared = Vec::with_capacity(planned.len());
    for Planned {
        table,
        estimated_rows,
        mut on_targets,
        create,
    } in planned
    {
        for on in &mut on_targets {
            let target = &topology.targets[on.target].dsn;
            let target_schema = in_database(&table.schema, target);
            let session = &mut targets[on.target];
            if on.created {
                run_ddl(session, &create).await?;
                tracing::info!(table = %target_schema.qualified_name(), target = %target, deferred = on.add_back.len(), "created the target table");
                continue;
            }
            if on.emptied {
                tables::truncate(session, &target_schema).await?;
                tracing::warn!(table = %target_schema.qualified_name(), target = %target, "emptied the target table (--force)");
            }
            if !options.defer_secondary_indexes && !on.add_back.is_empty() {
                add_indexes(session, &target_schema, &on.add_back).await?;
                on.add_back.clear();
            }
        }
        prepared.push(PreparedTable {
            table,
            estimated_rows,
            targets: on_targets,
        });
    }
    Ok(prepared)
}

/// Adds indexes and foreign keys (`ADD ...` clauses) to a target table in one `ALTER TABLE`.
async fn add_indexes(
    session: &mut Session,
    table: &TableSchema,
    clauses: &[String],
) -> Result<(), CopyError> {
    let sql = format!(
        "ALTER TABLE {} {}",
        reshard_mysql::reader::table_sql(table),
        clauses.join(", ")
    );
    tracing::info!(table = %table.qualified_name(), target = %session.dsn(), indexes = clauses.len(), "adding indexes");
    run_ddl(session, &sql).await?;
    Ok(())
}

/// After the copy: adds back the indexes and foreign keys deferred on each target table (while a
/// move keeps applying changes: MariaDB builds them online), then, if `analyze`, refreshes the
/// tables' statistics (`ANALYZE TABLE`) for the query planner.
///
/// An online `ALTER TABLE ... ADD UNIQUE` fails on a duplicate that concurrent writes create even
/// for an instant (InnoDB checks its log of them in order), and the applier's writes of one cycle
/// are not ordered like the source's: a row may take a value before the row that held it lets go.
/// So a duplicate-key failure is tried once more with the applier held between two cycles
/// (`hold_writes` returns a guard that holds it while alive), when the target is one source state
/// and nothing writes to it: a failure then is a real duplicate among the rows.
pub async fn add_deferred_indexes<G>(
    targets: &[Dsn],
    setup: &CopySetup,
    analyze: bool,
    hold_writes: &(dyn Fn() -> Result<G, CopyError> + Sync),
) -> Result<(), CopyError> {
    for (t, target) in targets.iter().enumerate() {
        let mut dst: Session = connect(target).await?;
        for prepared in &setup.tables {
            let Some(on) = prepared.targets.iter().find(|on| on.target == t) else {
                continue;
            };
            let schema = in_database(&prepared.table.schema, target);
            if !on.add_back.is_empty() {
                match add_indexes(&mut dst, &schema, &on.add_back).await {
                    Err(e) if is_duplicate(&e) => {
                        tracing::info!(table = %schema.qualified_name(), target = %target, "a duplicate appeared while a unique index was built under changes; building it again with the changes held");
                        let held = hold_writes()?;
                        add_indexes(&mut dst, &schema, &on.add_back).await?;
                        drop(held);
                    }
                    done => done?,
                }
            }
            if analyze && (on.created || !on.add_back.is_empty()) {
                tracing::info!(table = %schema.qualified_name(), target = %target, "analyzing");
                tables::analyze(&mut dst, &schema).await?;
            }
        }
        let _ = dst.close().await;
    }
    Ok(())
}

/// Whether `e` is the server refusing a unique index over duplicate values.
fn is_duplicate(e: &CopyError) -> bool {
    // ER_DUP_KEY, ER_DUP_ENTRY, ER_DUP_UNIQUE, ER_DUP_ENTRY_WITH_KEY_NAME.
    matches!(
        e,
        CopyError::Server(error) if matches!(**error, reshard_mysql::MysqlError::Server { code: 1022 | 1062 | 1169 | 1586, .. })
    )
}

/// After the copy: adds deferred indexes back, then checks that every target table holds as
/// many rows as were routed to it (`rows_per_target[table][target]`): for an offline copy
/// (sources quiet) anything else is a lost or extra row.
pub async fn finish_targets(
    targets: &[Dsn],
    setup: &CopySetup,
    rows_per_target: &[Vec<u64>],
) -> Result<(), CopyError> {
    add_deferred_indexes(targets, setup, false, &|| Ok(())).await?;
    for (t, target) in targets.iter().enumerate() {
        let mut dst: Session = connect(target).await?;
        for (prepared, routed) in setup.tables.iter().zip(rows_per_target) {
            if !prepared.targets.iter().any(|on| on.target == t) {
                continue;
            }
            let schema = in_database(&prepared.table.schema, target);
            let count = count_rows(&mut dst, &schema).await?;
            let expected = routed[t];
            if count != expected {
                return Err(CopyError::Mismatch(format!(
                    "target table {} on {target} holds {count} rows, but {expected} were read for it from the sources; \
                     was a source or the target written to during the copy, or do two sources hold rows with the same key? \
                     (reshard copy needs quiet sources with disjoint rows; use reshard move for live ones)",
                    schema.qualified_name()
                )));
            }
        }
        let _ = dst.close().await;
    }
    Ok(())
}
