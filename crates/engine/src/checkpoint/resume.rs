//! Whether a move may resume from its checkpoint: every check reads only, and runs before the
//! first write of the run.

use reshard_mysql::binlog::snapshot::binary_log_sizes;
use reshard_mysql::wire::RawConn;
use reshard_types::Dsn;

use super::{Checkpoint, CheckpointStore, Identity, Resume};
use crate::copy::setup::apply::Planned;
use crate::error::CopyError;
use crate::topology::Topology;

/// Loads the checkpoint of the move of `tables` whose first target is `first_target`, and
/// refuses when another move's checkpoint there covers some of the same tables.
pub async fn load(
    first_target: &Dsn,
    tables: &[String],
) -> Result<(CheckpointStore, Option<Checkpoint>), CopyError> {
    let (dsn, tables) = (first_target.clone(), tables.to_vec());
    tokio::task::spawn_blocking(move || {
        let mut store = CheckpointStore::new(&dsn, &tables);
        let others = store.overlapping(&tables)?;
        if let Some(other) = others.first() {
            return Err(CopyError::Refused(format!(
                "{dsn} holds the checkpoint of another move whose tables ({}) overlap these; nothing was written. Resume that move with its own --tables, or discard it with reshard reset --tables {}",
                other.tables, other.tables
            )));
        }
        let checkpoint = store.load()?;
        Ok((store, checkpoint))
    })
    .await
    .map_err(|e| CopyError::Internal(format!("reading the checkpoint stopped: {e}")))?
}

/// Sources whose binary log no longer holds the file a checkpoint's position is in (purged
/// since): the changes between that position and now are gone, so the move cannot go on.
pub async fn purged(sources: &[Dsn], checkpoint: &Checkpoint) -> Result<Vec<String>, CopyError> {
    let (sources, positions) = (sources.to_vec(), checkpoint.positions());
    tokio::task::spawn_blocking(move || {
        let mut problems = Vec::new();
        for (dsn, position) in sources.iter().zip(&positions) {
            let mut conn = RawConn::connect(dsn)?;
            let files = binary_log_sizes(&mut conn)?;
            if !files.iter().any(|(file, _)| file == position.file()) {
                problems.push(format!(
                    "source {dsn} no longer has binlog file {} (the move's position is {position}; the oldest it has is {}): the changes since are gone. Keep binlogs longer (expire_logs_days, binlog_expire_logs_seconds) and start over with --force",
                    position.file(),
                    files.first().map_or("none", |(f, _)| f.as_str())
                ));
            }
        }
        Ok(problems)
    })
    .await
    .map_err(|e| CopyError::Internal(format!("reading the binlogs stopped: {e}")))?
}

/// Why the tables planned now cannot resume `checkpoint`: a different move (sources, targets,
/// tables, schemas, rules), or targets that lost what the checkpoint says was copied.
pub(crate) fn refusals(
    topology: &Topology,
    checkpoint: &Checkpoint,
    planned: &[Planned],
) -> Vec<String> {
    let tables: Vec<_> = planned.iter().map(|p| p.table.clone()).collect();
    let now = Identity::of(topology, &tables);
    let mut out = checkpoint.identity.differences(&now);
    if !out.is_empty() {
        return out;
    }
    let (sources, count) = (topology.sources.len(), planned.len());
    let shaped = checkpoint.copied.len() == sources * count
        && checkpoint.positions.len() == sources
        && checkpoint
            .in_flight
            .as_ref()
            .is_none_or(|f| f.len() == sources)
        && checkpoint
            .positions
            .iter()
            .chain(checkpoint.in_flight.iter().flatten())
            .all(|p| p.part.len() <= count);
    if !shaped {
        out.push(String::from(
            "the checkpoint's positions or copy progress do not fit its own sources and tables: it was altered",
        ));
        return out;
    }
    for (t, p) in planned.iter().enumerate() {
        let started = (0..topology.sources.len()).any(|s| {
            checkpoint
                .copied
                .get(s * count + t)
                .is_some_and(|c| *c != Resume::Start)
        });
        if !started {
            continue;
        }
        let name = p.table.schema.qualified_name();
        for on in p.on_targets.iter().filter(|on| on.created) {
            out.push(format!(
                "table {name} is missing on target {} ({}), though the checkpoint says rows were copied there: it was dropped since",
                topology.targets[on.target].name, topology.targets[on.target].dsn
            ));
        }
        if p.estimated_rows > 0 && p.on_targets.iter().all(|on| !on.created && !on.kept_rows) {
            out.push(format!(
                "table {name} is empty on every target, though the checkpoint says rows were copied: it was emptied since"
            ));
        }
    }
    out
}

/// The names of the tables a move of `topology` moves: those given, or every table of the
/// first source's database.
pub async fn moved_table_names(topology: &Topology) -> Result<Vec<String>, CopyError> {
    if let Some(names) = &topology.tables {
        return Ok(names.clone());
    }
    let source = &topology.sources[0];
    let database = source.database().ok_or_else(|| {
        CopyError::Refused(format!(
            "the source DSN {source} names no database; add it to the DSN's path (mysql://user:pw@host:port/database)"
        ))
    })?;
    let mut session = reshard_mysql::connect(source).await?;
    let names = reshard_mysql::tables::list_tables(&mut session, database).await?;
    let _ = session.close().await;
    Ok(names)
}
