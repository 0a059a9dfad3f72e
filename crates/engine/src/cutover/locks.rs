//! The write locks of a cutover: `LOCK TABLES ... WRITE` on every moved table of every source,
//! one connection per source, taken with a short lock wait so the application is never held
//! long, then the sources' binlog positions read under them, and the tables renamed.
//!
//! Why `LOCK TABLES ... WRITE`: it waits for transactions that touch the tables to end, then
//! blocks every other session's reads and writes of them until released, and a change of them
//! cannot be committed meanwhile, so the binlog end read under it covers every change of the
//! moved tables there will ever be on that source. (MariaDB's `FLUSH TABLES ... WITH READ LOCK`
//! would let the lock holder read but not rename.) A waiting lock holds up the application's new
//! statements on those tables too, so the wait is bounded (`lock_wait_timeout`), and a failed
//! attempt releases what it took.
//!
//! MariaDB refuses `RENAME TABLE` under `LOCK TABLES`, but takes `ALTER TABLE t RENAME TO t_old`
//! on a table locked for writing: the statements the lock held up then find no `t` and fail,
//! which is the application's signal to use the targets (the hook has switched it by then).

use std::time::Duration;

use reshard_mysql::MysqlError;
use reshard_mysql::binlog::snapshot::binlog_end;
use reshard_mysql::reader::table_sql;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;
use reshard_types::{BinlogPosition, Dsn, TableSchema};

use crate::copy::{CopyPlan, in_database};

/// The moved tables of a source, as that source names them.
pub(crate) fn tables_on(plan: &CopyPlan, source: &Dsn) -> Vec<TableSchema> {
    plan.tables
        .iter()
        .map(|t| in_database(&t.schema, source))
        .collect()
}

/// `` `db`.`<table><suffix>` ``.
pub(crate) fn renamed_sql(table: &TableSchema, suffix: &str) -> String {
    table_sql(&TableSchema {
        name: format!("{}{suffix}", table.name),
        ..table.clone()
    })
}

/// Whether `database.name` exists on the server of `conn`.
pub(crate) fn table_exists(
    conn: &mut RawConn,
    database: &str,
    name: &str,
) -> Result<bool, MysqlError> {
    let quote = |s: &str| s.replace('\\', "\\\\").replace('\'', "''");
    let found = first_row(
        conn,
        &format!(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{}'",
            quote(database),
            quote(name)
        ),
    )?;
    Ok(found
        .and_then(|row| row.into_iter().next().flatten())
        .is_some_and(|count| count != b"0"))
}

/// Write locks held on every source.
pub(crate) struct SourceLocks {
    /// Per source: the connection holding its locks, and its tables.
    held: Vec<(RawConn, Vec<TableSchema>)>,
}

/// Why the locks could not be taken.
pub(crate) enum LockFailure {
    /// A source's lock wait ran out (the application holds the tables): try again later.
    Busy(String),
    /// Anything else.
    Error(MysqlError),
}

impl SourceLocks {
    /// Locks the moved tables of every source, in order, waiting at most `budget` in all (and at
    /// least a second per source: the server's granularity). On any failure every lock already
    /// taken is released before returning.
    pub(crate) fn take(plan: &CopyPlan, budget: Duration) -> Result<SourceLocks, LockFailure> {
        let started = std::time::Instant::now();
        let mut held = Vec::with_capacity(plan.sources.len());
        for source in &plan.sources {
            let left = budget.saturating_sub(started.elapsed());
            let seconds = left.as_secs_f64().ceil().max(1.0);
            let tables = tables_on(plan, source);
            let lock = (|| -> Result<RawConn, MysqlError> {
                let mut conn = RawConn::connect(source)?;
                conn.query_drop(&format!("SET SESSION lock_wait_timeout = {seconds}"))?;
                let list: Vec<String> = tables
                    .iter()
                    .map(|t| format!("{} WRITE", table_sql(t)))
                    .collect();
                conn.query_drop(&format!("LOCK TABLES {}", list.join(", ")))?;
                Ok(conn)
            })();
            match lock {
                Ok(conn) => held.push((conn, tables)),
                Err(e) => {
                    SourceLocks { held }.release();
                    return Err(match &e {
                        // ER_LOCK_WAIT_TIMEOUT
                        MysqlError::Server { code: 1205, .. } => LockFailure::Busy(format!(
                            "the moved tables of {source} stayed in use for {seconds} s"
                        )),
                        _ => LockFailure::Error(e),
                    });
                }
            }
        }
        Ok(SourceLocks { held })
    }

    /// Each source's binlog end, read under the locks.
    pub(crate) fn positions(&mut self) -> Result<Vec<BinlogPosition>, MysqlError> {
        self.held
            .iter_mut()
            .map(|(conn, _)| binlog_end(conn))
            .collect()
    }

    /// Renames every moved table of every source to `<table><suffix>`, under the locks,
    /// calling `after_source` once a source's tables are renamed.
    pub(crate) fn rename(
        &mut self,
        suffix: &str,
        mut after_source: impl FnMut(usize),
    ) -> Result<(), MysqlError> {
        for (i, (conn, tables)) in self.held.iter_mut().enumerate() {
            for table in tables.iter() {
                conn.query_drop(&format!(
                    "ALTER TABLE {} RENAME TO {}",
                    table_sql(table),
                    renamed_sql(table, suffix)
                ))?;
                tracing::info!(source = %conn.dsn(), table = %table.qualified_name(), to = %renamed_sql(table, suffix), "renamed");
            }
            after_source(i);
        }
        Ok(())
    }

    /// Releases every lock (closing the connections releases them too, should this fail).
    pub(crate) fn release(self) {
        for (mut conn, _) in self.held {
            if let Err(e) = conn.query_drop("UNLOCK TABLES") {
                tracing::warn!(
                    "releasing the cutover's locks on {}: {e} (closing the connection releases them)",
                    conn.dsn()
                );
            }
        }
    }
}

/// Renames `database.<name><suffix>` back to `database.name` (a rollback's targets).
pub(crate) fn restore(
    conn: &mut RawConn,
    database: &str,
    name: &str,
    suffix: &str,
) -> Result<(), MysqlError> {
    let quote = reshard_convert::encode::load_data::quote_identifier;
    conn.query_drop(&format!(
        "RENAME TABLE {db}.{old} TO {db}.{new}",
        db = quote(database),
        old = quote(&format!("{name}{suffix}")),
        new = quote(name)
    ))?;
    tracing::info!(server = %conn.dsn(), table = %name, "renamed back from {name}{suffix}");
    Ok(())
}
