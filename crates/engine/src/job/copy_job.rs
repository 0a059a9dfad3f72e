//! A whole copy: lock, set up, copy, finish, check.

use std::sync::Arc;

use super::settings::{JobSettings, shared_setters};
use super::{Cancel, Event, Observer};
use crate::CopyError;
use crate::copy::{
    CopyEnd, CopySetup, TargetLocks, finish_targets, lock_targets, prepare_copy, run_copy,
};
use crate::progress::{CopyProgress, TableProgress};
use crate::topology::Topology;

/// A copy of whole tables from the sources to the targets of a topology, for quiet sources.
#[derive(Debug, Clone)]
pub struct CopyJob {
    settings: JobSettings,
}

/// How a copy job ended (without an error).
#[derive(Debug, Clone)]
pub struct CopyReport {
    /// Whether every row was copied and checked, or the job was cancelled first.
    pub end: CopyEnd,
    /// The copy's counters as they ended.
    pub progress: Arc<CopyProgress>,
}

shared_setters!(CopyJob);

impl CopyJob {
    /// A copy between the servers of `topology`, with default tuning, refusing target tables
    /// that hold rows, creating missing ones with their indexes.
    pub fn new(topology: Topology) -> CopyJob {
        CopyJob {
            settings: JobSettings::new(topology),
        }
    }

    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// after the copy.
    #[must_use]
    pub fn defer_secondary_indexes(mut self, defer: bool) -> CopyJob {
        self.settings.defer_secondary_indexes = defer;
        self
    }

    /// Runs the copy. Safe inside a tokio runtime: the blocking work runs on `spawn_blocking`
    /// threads. Cancelled, it stops after the batches in flight and reports
    /// [`CopyEnd::Interrupted`].
    pub async fn run(
        &self,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<CopyReport, CopyError> {
        let locks = lock_targets(self.topology()).await?;
        let report = self.run_locked(&locks, cancel, observer).await;
        locks.release().await;
        report
    }

    /// [`CopyJob::run`] under locks of the targets the caller took with [`lock_targets`] for
    /// this job's topology, and holds across work of its own before and after the job (as
    /// `reshard bench` does to generate and drop its table).
    pub async fn run_locked(
        &self,
        locks: &TargetLocks,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<CopyReport, CopyError> {
        locks.cover(self.topology())?;
        super::check_target_grants(self.topology(), false).await?;
        self.settings.check_throttle_file()?;
        self.settings
            .check_throttle(&self.settings.replicas)
            .await?;
        let settings = &self.settings;
        let setup = prepare_copy(&settings.topology, &settings.setup(false)).await?;
        observer.event(&Event::Planned(&setup.tables));
        let mut plan = setup.plan(&settings.topology);
        plan.replicas.clone_from(&settings.replicas);
        let targets = plan.targets.clone();
        let progress = Arc::new(progress_for(&setup, targets.len(), settings.stage_timing));
        settings.watch_throttle_file(&progress.throttle)?;
        observer.event(&Event::Copying(&progress));
        let (counters, cancel_handle, options) =
            (Arc::clone(&progress), cancel.clone(), settings.options);
        let end = tokio::task::spawn_blocking(move || {
            run_copy(&plan, options, &counters, cancel_handle.flag())
        })
        .await
        .map_err(|e| CopyError::Internal(format!("the copy stopped unexpectedly: {e}")))??;
        if end == CopyEnd::Done {
            observer.event(&Event::Finishing);
            let rows_per_target: Vec<Vec<u64>> = progress
                .snapshot()
                .iter()
                .map(|s| s.rows_per_target.clone())
                .collect();
            finish_targets(&targets, &setup, &rows_per_target).await?;
        }
        Ok(CopyReport { end, progress })
    }

    /// [`CopyJob::run`] for blocking callers (a plain thread, or a `spawn_blocking` thread): the
    /// job runs on a runtime and thread of its own while the caller waits. From async code,
    /// await `run` instead.
    pub fn run_blocking(
        &self,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<CopyReport, CopyError> {
        super::block_on(self.run(cancel, observer))?
    }
}

/// Counters for the tables of `setup`, copied to `targets` targets.
pub(super) fn progress_for(setup: &CopySetup, targets: usize, stage_timing: bool) -> CopyProgress {
    CopyProgress::with_stage_timing(
        setup
            .tables
            .iter()
            .map(|p| TableProgress::new(p.table.schema.qualified_name(), p.estimated_rows, targets))
            .collect(),
        stage_timing,
    )
}
