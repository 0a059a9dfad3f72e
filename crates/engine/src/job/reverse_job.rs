//! The rollback window of a move that has cut over: a reverse stream of the application's writes
//! to the targets back into the sources' `<table>_old` tables, and the rollback (the same
//! cutover, the other way).
//!
//! # Why the sources' `_old` tables follow the targets exactly
//!
//! At the cutover, under the sources' write locks, the targets held exactly the sources'
//! tables, and each target's binlog end was read then, before the hook switched the
//! application ([`crate::cutover::CutoverRecord::target_positions`]). So every change the
//! application made to the targets is after those positions, and the `_old` tables are the
//! targets' rows as of them. The reverse stream is a move with nothing to copy: it starts there,
//! and its applier writes each change to the source whose own key range holds the row's keyspace
//! id (the sources' ranges, given as Vitess shards are: `--source-key-ranges`), into
//! `<table>_old`. It keeps a checkpoint of its own (the moved tables' `_old` names, on the first
//! target), so a stopped reverse stream goes on where it was, by the argument of
//! [`crate::checkpoint`].
//!
//! # Rollback
//!
//! [`crate::cutover`] in the other direction: the targets' tables locked, the reverse applier
//! brought to exactly their positions, the hook run once (it switches the application back), the
//! targets' tables renamed `<table>_old` and the sources' `<table>_old` renamed back to
//! `<table>`; each step saved, a crash at any of them taken up by the next run of
//! `reshard rollback`. The move's own checkpoint then says it was rolled back.

use std::sync::Arc;

use reshard_mysql::binlog::BinlogReader;

use super::move_job::blocking;
use super::settings::{JobSettings, shared_setters};
use super::{Cancel, MoveReport, Observer};
use crate::CopyError;
use crate::checkpoint::{self, Checkpoint, CheckpointStore, Phase, Resume};
use crate::copy::{CopyPlan, lock_targets, plan_reverse};
use crate::cutover::{self, CutoverOptions};
use crate::online::{Checkpointing, MoveEnd, MoveOptions, MoveProgress, SourceLag, run_move_then};
use crate::progress::CopyProgress;
use crate::topology::Topology;

/// The reverse stream (and, with [`ReverseJob::rollback`], the rollback) of the move of a
/// topology that has cut over.
#[derive(Debug, Clone)]
pub struct ReverseJob {
    settings: JobSettings,
    server_id: Option<u32>,
    rollback: Option<CutoverOptions>,
}

shared_setters!(ReverseJob);

impl ReverseJob {
    /// The reverse of the move of `topology` (the move's own topology, with the sources' key
    /// ranges when there are several sources), running until cancelled.
    pub fn new(topology: Topology) -> ReverseJob {
        ReverseJob {
            settings: JobSettings::new(topology),
            server_id: None,
            rollback: None,
        }
    }

    /// Roll back: once caught up, cut over back to the sources (see the module docs).
    #[must_use]
    pub fn rollback(mut self, cutover: Option<CutoverOptions>) -> ReverseJob {
        self.rollback = cutover.map(|c| CutoverOptions {
            deferred: false,
            restore_targets: true,
            ..c
        });
        self
    }

    /// The replica server id of the first stream (as [`super::MoveJob::server_id`]).
    #[must_use]
    pub fn server_id(mut self, id: Option<u32>) -> ReverseJob {
        self.server_id = id;
        self
    }

    /// Runs the reverse stream until cancelled, or until rolled back.
    pub async fn run(
        &self,
        cancel: &Cancel,
        _observer: &dyn Observer,
    ) -> Result<MoveReport, CopyError> {
        let forward = self.topology();
        let done = {
            let forward = forward.clone();
            blocking(move || cutover::finish::cut_over_move(&forward)).await?
        };
        let Some(done) = done else {
            return Err(CopyError::Refused(String::from(
                "no move between these sources and targets has cut over (a reverse stream and a rollback come after the cutover); nothing was written. Give the options the move was run with",
            )));
        };
        let record = done.cutover.clone().ok_or_else(|| {
            CopyError::Internal(String::from("a cut-over move without its cutover record"))
        })?;
        match done.phase {
            Phase::CutOver => {}
            Phase::Completed => {
                return Err(CopyError::Refused(String::from(
                    "the rollback window of this move was ended (reshard complete): there is nothing to reverse; nothing was written",
                )));
            }
            _ => {
                return Ok(MoveReport {
                    end: MoveEnd::AlreadyCutOver,
                    progress: empty_progress(),
                    cutover: done.cutover.clone(),
                });
            }
        }
        let names = done.identity.table_names();
        let suffix = record.suffix.clone();
        let mut reverse = forward
            .reversed()
            .map_err(|e| CopyError::BadInput(e.to_string()))?;
        reverse.tables = Some(names.clone());
        let locks = lock_targets(&reverse).await?;
        // The reverse's own checkpoint, next to the move's.
        let reverse_names: Vec<String> = names.iter().map(|n| format!("{n}{suffix}")).collect();
        let store_dsn = forward.targets[0].dsn.clone();
        let (store, found) = checkpoint::resume::load(&store_dsn, &reverse_names).await?;
        if let Some(found) = &found
            && found.cutover.is_some()
        {
            let earlier = self
                .rollback
                .as_ref()
                .map(|c| c.earlier_hook)
                .unwrap_or_default();
            let finished = {
                let (reverse, found, dsn, names) = (
                    reverse.clone(),
                    found.clone(),
                    store_dsn.clone(),
                    reverse_names.clone(),
                );
                blocking(move || {
                    let mut store = CheckpointStore::new(&dsn, &names);
                    cutover::finish::resume_cutover(&reverse, &found, &mut store, earlier)
                })
                .await?
            };
            if let Some(record) = finished {
                mark_forward(&store_dsn, &names, Phase::RolledBack).await?;
                locks.release().await;
                return Ok(MoveReport {
                    end: MoveEnd::CutOver,
                    progress: empty_progress(),
                    cutover: Some(record),
                });
            }
            if self.rollback.is_none() {
                return Err(CopyError::Refused(String::from(
                    "this move's rollback was under way when it stopped: run reshard rollback (with its hook) to finish it; nothing was written",
                )));
            }
        }
        let positions = match &found {
            Some(found) => found.positions(),
            None => record.target_positions.iter().map(Into::into).collect(),
        };
        let server_id = self
            .server_id
            .unwrap_or_else(super::move_job::default_server_id);
        for (i, (source, at)) in reverse.sources.iter().zip(&positions).enumerate() {
            let id = server_id.wrapping_add(u32::try_from(i).expect("fewer than 2^32 sources"));
            BinlogReader::probe(source, at.clone(), id)
                .await
                .map_err(|e| CopyError::Refused(format!("nothing was written: {e}")))?;
        }
        if self.rollback.is_some() {
            // The rollback locks and renames the move's targets, and renames the sources back.
            super::check_cutover_grants(&reverse.sources, "target").await?;
            super::check_cutover_grants(&forward.sources, "source").await?;
            let (reverse, names, suffix) = (reverse.clone(), names.clone(), suffix.clone());
            blocking(move || super::move_job::check_renames_free(&reverse, &names, &suffix))
                .await?;
        }
        let tables = plan_reverse(&reverse, &suffix).await?;
        let plan = CopyPlan {
            sources: reverse.sources.clone(),
            targets: reverse.targets.iter().map(|t| t.dsn.clone()).collect(),
            target_names: reverse.targets.iter().map(|t| t.name.clone()).collect(),
            router: reverse.router.clone(),
            tables,
            replicas: Vec::new(),
            target_suffix: suffix.clone(),
        };
        let start = match found {
            Some(mut found) => {
                // A rollback that stopped while locking changed nothing; from its hook on, its
                // record is what the driver goes on from.
                if found
                    .cutover
                    .as_ref()
                    .is_some_and(|c| c.step == cutover::CutoverStep::Locking)
                {
                    found.cutover = None;
                }
                found
            }
            None => {
                let now = crate::online::unix_now();
                Checkpoint {
                    version: checkpoint::VERSION,
                    identity: checkpoint::Identity::of(&reverse, &plan.tables),
                    phase: Phase::Replicating,
                    positions: positions
                        .iter()
                        .map(checkpoint::StoredPosition::from)
                        .collect(),
                    in_flight: None,
                    copied: vec![Resume::End; plan.sources.len() * plan.tables.len()],
                    verified: names.clone(),
                    started_at: now,
                    saved_at: now,
                    cutover: None,
                    verified_at: None,
                }
            }
        };
        let store = {
            let start = start.clone();
            blocking(move || {
                let mut store = store;
                store
                    .save(&start)
                    .map_err(|e| CopyError::Checkpoint(Box::new(e)))?;
                Ok(store)
            })
            .await?
        };
        let checkpointing = Arc::new(Checkpointing::new(store, start));
        let progress = Arc::new(MoveProgress::new(
            CopyProgress::new(Vec::new()),
            plan.sources
                .iter()
                .zip(positions)
                .map(|(dsn, at)| {
                    tracing::info!(target = %dsn, position = %at, "streaming the application's changes back from");
                    SourceLag::new(dsn.to_string(), at)
                })
                .collect(),
        ));
        let options = MoveOptions {
            copy: self.settings.options,
            stop_when_caught_up: None,
            server_id,
            tables_already_copied: true,
            verify: None,
        };
        // The rollback renames with the suffix the cutover used.
        let rollback = self.rollback.clone().map(|mut r| {
            r.suffix.clone_from(&suffix);
            r
        });
        let (counters, cancel_handle) = (Arc::clone(&progress), cancel.clone());
        let after = Arc::clone(&checkpointing);
        let end = tokio::task::spawn_blocking(move || {
            run_move_then(
                &plan,
                options,
                &counters,
                cancel_handle.flag(),
                &|_| Ok(()),
                Some(&*checkpointing),
                rollback.as_ref(),
            )
        })
        .await
        .map_err(|e| {
            CopyError::Internal(format!("the reverse stream stopped unexpectedly: {e}"))
        })??;
        if end == MoveEnd::CutOver {
            mark_forward(&store_dsn, &names, Phase::RolledBack).await?;
        }
        locks.release().await;
        Ok(MoveReport {
            end,
            progress,
            cutover: (end == MoveEnd::CutOver).then(|| after.cutover()).flatten(),
        })
    }
}

/// Saves the move's own checkpoint (of `names`, on `dsn`) with `phase`.
pub(crate) async fn mark_forward(
    dsn: &reshard_types::Dsn,
    names: &[String],
    phase: Phase,
) -> Result<(), CopyError> {
    let (dsn, names) = (dsn.clone(), names.to_vec());
    blocking(move || {
        let mut store = CheckpointStore::new(&dsn, &names);
        let Some(mut forward) = store.load()? else {
            return Ok(());
        };
        forward.phase = phase;
        forward.saved_at = crate::online::unix_now();
        store
            .save(&forward)
            .map_err(|e| CopyError::Checkpoint(Box::new(e)))
    })
    .await
}

fn empty_progress() -> Arc<MoveProgress> {
    Arc::new(MoveProgress::new(CopyProgress::new(Vec::new()), Vec::new()))
}
