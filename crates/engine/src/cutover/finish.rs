//! What a run of a move does first when its checkpoint says a cutover was under way or done
//! (see [`super`]): say it has cut over, finish the renames a crash interrupted, or refuse until
//! the operator says whether a hook that was running at a crash finished.

use reshard_mysql::MysqlError;
use reshard_mysql::reader::table_sql;
use reshard_mysql::wire::RawConn;
use reshard_types::TableSchema;

use super::EarlierHook;
use super::locks::{renamed_sql, table_exists};
use super::record::{CutoverRecord, CutoverStep};
use crate::checkpoint::{Checkpoint, CheckpointStore, Phase};
use crate::error::CopyError;
use crate::topology::Topology;

/// The finished (cut over, completed or rolled back) move between these servers (and of these tables, if the topology names them),
/// if the first target holds one: the move run again has nothing to do.
pub fn cut_over_move(topology: &Topology) -> Result<Option<Checkpoint>, CopyError> {
    let mut store = CheckpointStore::new(&topology.targets[0].dsn, &[]);
    let found = store.all()?;
    Ok(found.into_iter().find(|c| {
        c.phase.is_finished()
            && c.identity.same_servers(topology)
            && topology.tables.as_ref().is_none_or(|names| {
                let mut names = names.clone();
                names.sort();
                let mut moved = c.identity.table_names();
                moved.sort();
                names == moved
            })
    }))
}

/// Finishes or refuses a cutover that `found` says was under way. `Some(record)` after completing
/// the renames of a run that crashed among them (the checkpoint saved as cut over); `None` when
/// the move goes on (no cutover under way, or one the move's driver takes up again).
pub fn resume_cutover(
    topology: &Topology,
    found: &Checkpoint,
    store: &mut CheckpointStore,
    earlier_hook: EarlierHook,
) -> Result<Option<CutoverRecord>, CopyError> {
    let Some(record) = &found.cutover else {
        return Ok(None);
    };
    match record.step {
        CutoverStep::Locking | CutoverStep::HookDone => Ok(None),
        CutoverStep::HookRunning if earlier_hook != EarlierHook::Unknown => Ok(None),
        CutoverStep::HookRunning => Err(CopyError::Refused(format!(
            "an earlier run of this move was running its cutover hook (started {} s ago, Unix time {}) when it stopped, so whether the hook finished is not known; nothing was written. \
             The sources were locked and are writable again, nothing is renamed. If the application now uses the targets, run the same command with --cutover-hook-ran to finish the cutover without the hook; \
             if it does not, with --run-cutover-hook-again",
            crate::online::unix_now()
                .saturating_sub(record.hook_started_at.unwrap_or(record.started_at)),
            record.hook_started_at.unwrap_or(record.started_at)
        ))),
        CutoverStep::Renaming | CutoverStep::Done => {
            finish_renames(topology, found, &record.suffix)?;
            if record.restore_targets {
                restore_targets(topology, found, &record.suffix)?;
            }
            let mut done = found.clone();
            let mut record = record.clone();
            record.step = CutoverStep::Done;
            record.done_at = Some(crate::online::unix_now());
            done.cutover = Some(record.clone());
            done.phase = Phase::CutOver;
            done.saved_at = crate::online::unix_now();
            store
                .save(&done)
                .map_err(|e| CopyError::Checkpoint(Box::new(e)))?;
            Ok(Some(record))
        }
    }
}

/// Renames every moved table still under its own name on a source to `<table><suffix>` (each
/// under a write lock); refuses when a source holds both names, or neither.
fn finish_renames(topology: &Topology, found: &Checkpoint, suffix: &str) -> Result<(), CopyError> {
    for source in &topology.sources {
        let database = source.database().unwrap_or_default().to_owned();
        let server = |e: MysqlError| CopyError::Server(Box::new(e));
        let mut conn = RawConn::connect(source).map_err(server)?;
        for name in found.identity.table_names() {
            let table = TableSchema {
                database: database.clone(),
                name: name.clone(),
                columns: Vec::new(),
                primary_key: Vec::new(),
            };
            let old = format!("{name}{suffix}");
            let (has_table, has_old) = (
                table_exists(&mut conn, &database, &name).map_err(server)?,
                table_exists(&mut conn, &database, &old).map_err(server)?,
            );
            match (has_table, has_old) {
                (false, true) => {}
                (true, false) => {
                    conn.query_drop(&format!("LOCK TABLES {} WRITE", table_sql(&table)))
                        .map_err(server)?;
                    let renamed = conn.query_drop(&format!(
                        "ALTER TABLE {} RENAME TO {}",
                        table_sql(&table),
                        renamed_sql(&table, suffix)
                    ));
                    let _ = conn.query_drop("UNLOCK TABLES");
                    renamed.map_err(server)?;
                    tracing::info!(source = %source, table = %name, "renamed (finishing the cutover of an earlier run)");
                }
                (true, true) => {
                    return Err(CopyError::Refused(format!(
                        "the cutover of this move stopped while renaming the source tables, and {source} now holds both `{name}` and `{old}`; \
                         find out which holds the rows (a table created since?), keep that one as `{old}`, then run the same command again"
                    )));
                }
                (false, false) => {
                    return Err(CopyError::Refused(format!(
                        "the cutover of this move stopped while renaming the source tables, and {source} holds neither `{name}` nor `{old}`; \
                         put the table back as `{old}`, then run the same command again"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// A rollback's last rename: every target's `<table><suffix>` back to `<table>` (where the
/// rollback stopped before it).
fn restore_targets(topology: &Topology, found: &Checkpoint, suffix: &str) -> Result<(), CopyError> {
    let server = |e: MysqlError| CopyError::Server(Box::new(e));
    for target in &topology.targets {
        let database = target.dsn.database().unwrap_or_default().to_owned();
        let mut conn = RawConn::connect(&target.dsn).map_err(server)?;
        for name in found.identity.table_names() {
            let old = format!("{name}{suffix}");
            match (
                table_exists(&mut conn, &database, &name).map_err(server)?,
                table_exists(&mut conn, &database, &old).map_err(server)?,
            ) {
                (true, false) => {}
                (false, true) => {
                    super::locks::restore(&mut conn, &database, &name, suffix).map_err(server)?;
                }
                _ => {
                    return Err(CopyError::Refused(format!(
                        "the rollback of this move stopped while renaming `{old}` back to `{name}` on {}, which now holds both or neither; put the rows back as `{name}`, then run the same command again",
                        target.dsn
                    )));
                }
            }
        }
    }
    Ok(())
}
