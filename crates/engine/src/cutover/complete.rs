//! `reshard complete`: ends the rollback window of a move that has cut over. The reverse stream's
//! checkpoint goes (a reverse stream that runs holds the sources' locks, so completing waits for
//! the operator to stop it), the move is marked completed, and on request the sources'
//! `<table>_old` tables are dropped (Vitess's `DropTable` step), each named with the rows it held.

use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;

use super::locks::table_exists;
use crate::checkpoint::{CheckpointStore, Phase};
use crate::copy::lock_targets;
use crate::error::CopyError;
use crate::topology::Topology;

/// What `complete` did.
#[derive(Debug, Clone)]
pub struct CompleteReport {
    /// The moved tables.
    pub tables: Vec<String>,
    /// Whether a reverse stream's checkpoint was deleted.
    pub reverse_ended: bool,
    /// Per source and `_old` table dropped: the source, the table, and the rows it held.
    pub dropped: Vec<(String, String, u64)>,
    /// Whether the move had been completed before (nothing was done).
    pub already: bool,
}

/// Ends the rollback window of the move of `topology` (see the module docs); with `drop_old`,
/// drops the sources' `_old` tables.
pub async fn complete(topology: &Topology, drop_old: bool) -> Result<CompleteReport, CopyError> {
    let found = {
        let topology = topology.clone();
        tokio::task::spawn_blocking(move || super::finish::cut_over_move(&topology))
            .await
            .map_err(|e| CopyError::Internal(format!("completing stopped: {e}")))??
    };
    let Some(done) = found else {
        return Err(CopyError::Refused(String::from(
            "no move between these sources and targets has cut over, so there is nothing to complete (reshard cancel abandons a move that has not); nothing was changed",
        )));
    };
    let tables = done.identity.table_names();
    match done.phase {
        Phase::CutOver => {}
        Phase::Completed if !drop_old => {
            return Ok(CompleteReport {
                tables,
                reverse_ended: false,
                dropped: Vec::new(),
                already: true,
            });
        }
        Phase::Completed => {}
        _ => {
            return Err(CopyError::Refused(String::from(
                "this move was rolled back: the sources serve, and their tables are not <table>_old any more; nothing was changed",
            )));
        }
    }
    let suffix = done
        .cutover
        .as_ref()
        .map_or_else(|| String::from("_old"), |c| c.suffix.clone());
    // A reverse stream writes to the sources under their locks: taken here, so it is not
    // running (and cannot start) while its window is closed.
    let mut reverse = topology.clone();
    reverse.targets = topology.sources_as_targets();
    let locks = lock_targets(&reverse).await?;
    let (topology, names) = (topology.clone(), tables.clone());
    let result = tokio::task::spawn_blocking(move || -> Result<CompleteReport, CopyError> {
        let store_dsn = &topology.targets[0].dsn;
        let reverse_names: Vec<String> = names.iter().map(|n| format!("{n}{suffix}")).collect();
        let mut reverse_store = CheckpointStore::new(store_dsn, &reverse_names);
        if let Some(rollback) = reverse_store.load()?.and_then(|c| c.cutover)
            && rollback.step != super::CutoverStep::Locking
        {
            return Err(CopyError::Refused(format!(
                "a rollback of this move stopped at its step `{}`; finish it with reshard rollback (the application may be on the sources again); nothing was changed",
                rollback.step.name()
            )));
        }
        let reverse_ended = reverse_store
            .delete()
            .map_err(|e| CopyError::Checkpoint(Box::new(e)))?;
        let mut forward = CheckpointStore::new(store_dsn, &names);
        if let Some(mut checkpoint) = forward.load()? {
            checkpoint.phase = Phase::Completed;
            checkpoint.saved_at = crate::online::unix_now();
            forward
                .save(&checkpoint)
                .map_err(|e| CopyError::Checkpoint(Box::new(e)))?;
        }
        let mut dropped = Vec::new();
        if drop_old {
            let server = |e: MysqlError| CopyError::Server(Box::new(e));
            for source in &topology.sources {
                let database = source.database().unwrap_or_default();
                let mut conn = RawConn::connect(source).map_err(server)?;
                for name in &names {
                    let old = format!("{name}{suffix}");
                    if !table_exists(&mut conn, database, &old).map_err(server)? {
                        continue;
                    }
                    let quote = reshard_convert::encode::load_data::quote_identifier;
                    let table = format!("{}.{}", quote(database), quote(&old));
                    let rows = first_row(&mut conn, &format!("SELECT COUNT(*) FROM {table}"))
                        .map_err(server)?
                        .and_then(|r| r.into_iter().next().flatten())
                        .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
                        .unwrap_or(0);
                    conn.query_drop(&format!("DROP TABLE {table}")).map_err(server)?;
                    tracing::warn!(source = %source, table = %table, rows, "dropped (reshard complete --drop-old-tables)");
                    dropped.push((source.to_string(), old, rows));
                }
            }
        }
        Ok(CompleteReport {
            tables: names,
            reverse_ended,
            dropped,
            already: false,
        })
    })
    .await
    .map_err(|e| CopyError::Internal(format!("completing stopped: {e}")))?;
    locks.release().await;
    result
}
