//! A move's state as its checkpoint tells it (`reshard status` without `--from`): readable
//! whether the move runs or not, since the checkpoint is on the first target.

use reshard_mysql::binlog::bytes_between;
use reshard_mysql::binlog::snapshot::{binary_log_sizes, binlog_end};
use reshard_mysql::wire::RawConn;
use serde::Serialize;

use super::{Checkpoint, CheckpointStore, Resume};
use crate::error::CopyError;
use crate::topology::Topology;

/// What `reshard status` prints of a checkpointed move.
#[derive(Debug, Clone, Serialize)]
pub struct MoveRecord {
    /// The moved tables.
    pub tables: Vec<String>,
    /// Its phase.
    pub phase: String,
    /// Unix seconds when the move started.
    pub started_at: u64,
    /// Unix seconds when the checkpoint was last saved.
    pub saved_at: u64,
    /// Seconds since then (a running move saves at least every second).
    pub seconds_since_saved: u64,
    /// How far each (source, table) has been copied.
    pub copies: Vec<CopyRecord>,
    /// Per source: the position the targets are at, and how far behind its binlog's end.
    pub sources: Vec<SourceRecord>,
    /// Tables verified equal.
    pub verified: Vec<String>,
    /// Whether a cycle of changes was being written at the last save.
    pub cycle_in_flight: bool,
    /// Unix seconds when the last verification of every table ended equal (the first, or a
    /// re-verification while the cutover is deferred).
    pub verified_at: Option<u64>,
    /// The cutover, once one has started: its step and positions.
    pub cutover: Option<crate::cutover::CutoverRecord>,
    /// After the cutover: the reverse stream's own record (the rollback window), if one ran.
    pub reverse: Option<Box<MoveRecord>>,
    /// While the cutover waits: the sentinel's drop statement, if the sentinel exists (`None`
    /// when it could not be looked for, or is not there).
    pub sentinel: Option<String>,
}

/// One (source, table) copy.
#[derive(Debug, Clone, Serialize)]
pub struct CopyRecord {
    /// The source, `host:port/database`.
    pub source: String,
    /// The table.
    pub table: String,
    /// `done`, `not started`, or how far the walk has got.
    pub copied: String,
    /// Whether it is done.
    pub done: bool,
}

/// One source's replication.
#[derive(Debug, Clone, Serialize)]
pub struct SourceRecord {
    /// The source, `host:port/database`.
    pub source: String,
    /// Every change before this is on the targets.
    pub position: String,
    /// Where the source's binlog ends now (`None` when it could not be read).
    pub binlog_end: Option<String>,
    /// Binlog bytes between the two.
    pub bytes_behind: Option<u64>,
    /// Why the source could not be read, if it could not.
    pub error: Option<String>,
}

impl MoveRecord {
    /// The record of `checkpoint`, reading each source's binlog end now.
    pub fn of(topology: &Topology, checkpoint: &Checkpoint) -> MoveRecord {
        let tables = checkpoint.identity.table_names();
        let sources = &checkpoint.identity.sources;
        let copies = checkpoint
            .copied
            .iter()
            .enumerate()
            .map(|(unit, copied)| CopyRecord {
                source: sources
                    .get(unit / tables.len().max(1))
                    .cloned()
                    .unwrap_or_default(),
                table: tables
                    .get(unit % tables.len().max(1))
                    .cloned()
                    .unwrap_or_default(),
                copied: match copied {
                    Resume::Start => String::from("not started"),
                    Resume::End => String::from("done"),
                    Resume::Below(below) => format!("keys below {below}"),
                    Resume::After(after) => format!("keys up to ({})", after.join(", ")),
                },
                done: *copied == Resume::End,
            })
            .collect();
        let sources = topology
            .sources
            .iter()
            .zip(checkpoint.positions())
            .zip(sources)
            .map(|((dsn, position), name)| {
                let now = (|| -> Result<_, reshard_mysql::MysqlError> {
                    let mut conn = RawConn::connect(dsn)?;
                    let end = binlog_end(&mut conn)?;
                    let files = binary_log_sizes(&mut conn)?;
                    Ok((bytes_between(&files, &position, &end), end))
                })();
                let (binlog_end, bytes_behind, error) = match now {
                    Ok((bytes, end)) => (Some(end.to_string()), Some(bytes), None),
                    Err(e) => (None, None, Some(e.to_string())),
                };
                SourceRecord {
                    source: name.clone(),
                    position: position.to_string(),
                    binlog_end,
                    bytes_behind,
                    error,
                }
            })
            .collect();
        let now = crate::online::unix_now();
        MoveRecord {
            tables,
            phase: checkpoint.phase.name().to_owned(),
            started_at: checkpoint.started_at,
            saved_at: checkpoint.saved_at,
            seconds_since_saved: now.saturating_sub(checkpoint.saved_at),
            copies,
            sources,
            verified: checkpoint.verified.clone(),
            cycle_in_flight: checkpoint.in_flight.is_some(),
            verified_at: checkpoint.verified_at,
            cutover: checkpoint.cutover.clone(),
            reverse: None,
            sentinel: if checkpoint.phase.is_finished() {
                None
            } else {
                let sentinel = crate::cutover::sentinel::Sentinel::on(&topology.targets[0].dsn);
                sentinel
                    .connect()
                    .and_then(|mut conn| sentinel.exists(&mut conn))
                    .ok()
                    .filter(|exists| *exists)
                    .map(|_| sentinel.drop_statement())
            },
        }
    }
}

/// The checkpoint of the move of `topology`'s tables, if there is one, as a record.
pub async fn read(topology: &Topology) -> Result<Option<MoveRecord>, CopyError> {
    // A move that has cut over: its source tables are renamed, so it is found by its servers.
    let cut_over = {
        let topology = topology.clone();
        tokio::task::spawn_blocking(move || crate::cutover::finish::cut_over_move(&topology))
            .await
            .map_err(|e| CopyError::Internal(format!("reading the checkpoint stopped: {e}")))??
    };
    if let Some(done) = cut_over {
        let topology = topology.clone();
        return tokio::task::spawn_blocking(move || {
            let mut record = MoveRecord::of(&topology, &done);
            // The reverse stream keeps its checkpoint next to the move's, under the `_old` names.
            let suffix = done
                .cutover
                .as_ref()
                .map_or_else(|| String::from("_old"), |c| c.suffix.clone());
            let names: Vec<String> = done
                .identity
                .table_names()
                .iter()
                .map(|n| format!("{n}{suffix}"))
                .collect();
            if let Some(reverse) = CheckpointStore::new(&topology.targets[0].dsn, &names).load()? {
                let mut back = topology.clone();
                back.sources = topology.targets.iter().map(|t| t.dsn.clone()).collect();
                back.targets = topology.sources_as_targets();
                record.reverse = Some(Box::new(MoveRecord::of(&back, &reverse)));
            }
            Ok(Some(record))
        })
        .await
        .map_err(|e| CopyError::Internal(format!("reading the checkpoint stopped: {e}")))?;
    }
    let names = super::resume::moved_table_names(topology).await?;
    let topology = topology.clone();
    tokio::task::spawn_blocking(move || {
        let mut store = CheckpointStore::new(&topology.targets[0].dsn, &names);
        Ok(store.load()?.map(|c| MoveRecord::of(&topology, &c)))
    })
    .await
    .map_err(|e| CopyError::Internal(format!("reading the checkpoint stopped: {e}")))?
}
