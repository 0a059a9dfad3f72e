//! `reshard reset`: discards a move that has not cut over: empties its tables on every target
//! (the rows it copied) and deletes its checkpoint, saying what it drops. It takes the targets'
//! locks first, so it never pulls the rows from under a running move.

use reshard_convert::encode::load_data::quote_identifier;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;

use super::CheckpointStore;
use super::store::TABLE;
use crate::copy::lock_targets;
use crate::error::CopyError;
use crate::topology::Topology;

/// What a reset dropped.
#[derive(Debug, Clone)]
pub struct ResetReport {
    /// The moved tables.
    pub tables: Vec<String>,
    /// Per target and table: the target's name, the table, and the rows it held.
    pub emptied: Vec<(String, String, u64)>,
}

/// Discards the move of `topology`'s tables (see the module docs); refuses when there is no
/// checkpoint of it, or another run holds a target.
pub async fn reset(topology: &Topology) -> Result<ResetReport, CopyError> {
    let locks = lock_targets(topology).await?;
    let names = super::resume::moved_table_names(topology).await?;
    let topology_copy = topology.clone();
    let result = tokio::task::spawn_blocking(move || -> Result<ResetReport, CopyError> {
        let topology = topology_copy;
        let mut store = CheckpointStore::new(&topology.targets[0].dsn, &names);
        let Some(checkpoint) = store.load()? else {
            return Err(CopyError::Refused(format!(
                "{} holds no checkpoint of a move of the tables {} (in `{TABLE}`); nothing was dropped. Give the --tables and targets the move was started with",
                topology.targets[0].dsn,
                names.join(", ")
            )));
        };
        let tables = checkpoint.identity.table_names();
        // The checkpoint goes first: a reset stopped half-way leaves tables a move refuses
        // (not empty, no checkpoint) rather than a checkpoint over rows that are gone.
        store.delete()?;
        let mut emptied = Vec::new();
        for target in &topology.targets {
            let mut conn = RawConn::connect(&target.dsn)?;
            let database = target.dsn.database().unwrap_or_default();
            for table in checkpoint
                .identity
                .tables
                .iter()
                .filter(|t| t.receiving.is_empty() || t.receiving.contains(&target.name))
                .map(|t| &t.name)
            {
                let exists = first_row(
                    &mut conn,
                    &format!(
                        "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{}'",
                        table.replace('\'', "''")
                    ),
                )?
                .is_some();
                if !exists {
                    continue;
                }
                let name = format!("{}.{}", quote_identifier(database), quote_identifier(table));
                let rows = first_row(&mut conn, &format!("SELECT COUNT(*) FROM {name}"))?
                    .and_then(|r| r.into_iter().next().flatten())
                    .and_then(|v| String::from_utf8_lossy(&v).parse().ok())
                    .unwrap_or(0);
                conn.query_drop(&format!("TRUNCATE TABLE {name}"))?;
                tracing::warn!(table = %name, target = %target.dsn, rows, "emptied the target table (reshard reset)");
                emptied.push((target.name.clone(), table.clone(), rows));
            }
        }
        Ok(ResetReport { tables, emptied })
    })
    .await
    .map_err(|e| CopyError::Internal(format!("the reset stopped: {e}")))?;
    locks.release().await;
    result
}
