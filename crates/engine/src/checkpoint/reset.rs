//! `reshard reset` and `reshard cancel`: discard a move that has not cut over. Reset empties its
//! tables on every target (the rows it copied, to start again) and deletes its checkpoint;
//! cancel deletes the checkpoint and the cutover sentinel, and on request drops the target
//! tables. Both say what they drop, take the targets' locks first (so they never pull rows from
//! under a running move), and refuse a move that has started its cutover's hook: from then on
//! the application may be using the targets.

use reshard_convert::encode::load_data::quote_identifier;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;

use super::CheckpointStore;
use super::store::TABLE;
use crate::copy::lock_targets;
use crate::error::CopyError;
use crate::topology::Topology;

/// What a reset or cancel dropped.
#[derive(Debug, Clone)]
pub struct ResetReport {
    /// The moved tables.
    pub tables: Vec<String>,
    /// Per target and table: the target's name, the table, and the rows it held (emptied, or
    /// dropped).
    pub emptied: Vec<(String, String, u64)>,
    /// Whether the cutover sentinel was dropped.
    pub sentinel_dropped: bool,
}

/// What becomes of the target tables of a discarded move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetTables {
    /// Emptied (`reshard reset`: the move can start over).
    Empty,
    /// Dropped (`reshard cancel --drop-target-tables`).
    Drop,
    /// Left as they are (`reshard cancel`).
    Keep,
}

/// `reshard reset`: see the module docs.
pub async fn reset(topology: &Topology) -> Result<ResetReport, CopyError> {
    discard(topology, TargetTables::Empty).await
}

/// Discards the move of `topology`'s tables (see the module docs); refuses when there is no
/// checkpoint of it, when its cutover has reached its hook, or when another run holds a target.
pub async fn discard(topology: &Topology, targets: TargetTables) -> Result<ResetReport, CopyError> {
    let names = super::resume::moved_table_names(topology).await?;
    let locks = match lock_targets(topology).await {
        Ok(locks) => locks,
        // A cancel stops the move that runs (a reset does not: it would drop what a running
        // move is copying).
        Err(CopyError::Refused(why)) if targets != TargetTables::Empty => {
            stop_running(topology, &names, &why).await?
        }
        Err(e) => return Err(e),
    };
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
        if checkpoint.phase.is_finished()
            || checkpoint
                .cutover
                .as_ref()
                .is_some_and(|c| c.step != crate::cutover::CutoverStep::Locking)
        {
            return Err(CopyError::Refused(format!(
                "the move of {} has {}: the application may be using the targets, so nothing was dropped. \
                 Use reshard complete to end it (or reshard rollback to switch back)",
                tables.join(", "),
                if checkpoint.phase.is_finished() { "cut over" } else { "started its cutover hook" }
            )));
        }
        // The checkpoint goes first: a reset stopped half-way leaves tables a move refuses
        // (not empty, no checkpoint) rather than a checkpoint over rows that are gone.
        store.delete()?;
        let sentinel = crate::cutover::sentinel::Sentinel::on(&topology.targets[0].dsn);
        let mut sentinel_dropped = false;
        if targets != TargetTables::Empty {
            let mut conn = sentinel.connect()?;
            if sentinel.exists(&mut conn)? {
                sentinel.drop_table(&mut conn)?;
                sentinel_dropped = true;
            }
        }
        if targets == TargetTables::Keep {
            return Ok(ResetReport { tables, emptied: Vec::new(), sentinel_dropped });
        }
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
                if targets == TargetTables::Drop {
                    conn.query_drop(&format!("DROP TABLE {name}"))?;
                    tracing::warn!(table = %name, target = %target.dsn, rows, "dropped the target table (reshard cancel)");
                } else {
                    conn.query_drop(&format!("TRUNCATE TABLE {name}"))?;
                    tracing::warn!(table = %name, target = %target.dsn, rows, "emptied the target table (reshard reset)");
                }
                emptied.push((target.name.clone(), table.clone(), rows));
            }
        }
        Ok(ResetReport { tables, emptied, sentinel_dropped })
    })
    .await
    .map_err(|e| CopyError::Internal(format!("the reset stopped: {e}")))?;
    locks.release().await;
    result
}

/// How long a cancel waits for the running move to stop.
const STOP_WAIT: std::time::Duration = std::time::Duration::from_secs(60);

/// Asks the running move (that holds the targets' locks: `why`) to stop, and takes the locks
/// once it has; the request is withdrawn either way.
async fn stop_running(
    topology: &Topology,
    names: &[String],
    why: &str,
) -> Result<crate::copy::TargetLocks, CopyError> {
    let mut store = CheckpointStore::new(&topology.targets[0].dsn, names);
    let request = |store: &mut CheckpointStore, ask: bool| -> Result<(), CopyError> {
        if ask {
            store.request_stop()
        } else {
            store.clear_stop_request()
        }
        .map_err(|e| CopyError::Checkpoint(Box::new(e)))
    };
    let (store_dsn, names_owned) = (topology.targets[0].dsn.clone(), names.to_vec());
    let mut ask = CheckpointStore::new(&store_dsn, &names_owned);
    tokio::task::spawn_blocking(move || {
        // A move past its cutover's hook is not abandoned (it would not stop for it).
        if let Some(checkpoint) = ask.load()?
            && (checkpoint.phase.is_finished()
                || checkpoint
                    .cutover
                    .as_ref()
                    .is_some_and(|c| c.step != crate::cutover::CutoverStep::Locking))
        {
            return Err(CopyError::Refused(String::from(
                "the running move has started its cutover's hook: it cannot be cancelled any more; nothing was dropped. Let it finish, then use reshard complete or reshard rollback",
            )));
        }
        request(&mut ask, true)
    })
        .await
        .map_err(|e| CopyError::Internal(format!("asking the move to stop: {e}")))??;
    tracing::info!("a run of this move holds the targets ({why}); asked it to stop");
    let started = std::time::Instant::now();
    let taken = loop {
        match lock_targets(topology).await {
            Ok(locks) => break Ok(locks),
            Err(CopyError::Refused(_)) if started.elapsed() < STOP_WAIT => {
                tokio::time::sleep(std::time::Duration::from_millis(250)).await;
            }
            Err(CopyError::Refused(still)) => {
                break Err(CopyError::Refused(format!(
                    "the running move did not stop within {} s of being asked ({still}); nothing was dropped. Stop it (Ctrl-C or SIGTERM), then cancel again",
                    STOP_WAIT.as_secs()
                )));
            }
            Err(e) => break Err(e),
        }
    };
    tokio::task::spawn_blocking(move || request(&mut store, false))
        .await
        .map_err(|e| CopyError::Internal(format!("withdrawing the stop request: {e}")))??;
    taken
}
