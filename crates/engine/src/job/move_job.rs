//! A whole online move: lock, check the sources, take positions, probe the streams, set up,
//! copy while applying changes, until cancelled or caught up.

use std::sync::Arc;
use std::time::Duration;

use reshard_mysql::binlog::BinlogReader;
use reshard_mysql::{Role, ServerFacts, Verdict, assess};
use reshard_types::{Dsn, Flavor};

use super::copy_job::progress_for;
use super::settings::{JobSettings, shared_setters};
use super::{Cancel, Event, Observer};
use crate::CopyError;
use crate::checkpoint::{self, Checkpoint, CheckpointStore};
use crate::copy::{add_deferred_indexes, lock_targets, prepare_copy};
use crate::cutover::{self, CutoverOptions, CutoverRecord};
use crate::online::{
    AfterCopyContext, Checkpointing, MoveEnd, MoveOptions, MoveProgress, SourceLag, run_move_then,
    start_positions,
};
use crate::progress::CopyProgress;
use crate::topology::Topology;

/// An online move of the tables of a topology: MariaDB sources that keep taking writes.
#[derive(Debug, Clone)]
pub struct MoveJob {
    settings: JobSettings,
    stop_when_caught_up: Option<Duration>,
    server_id: Option<u32>,
    checkpoint: bool,
    cutover: Option<CutoverOptions>,
}

/// How a move job ended (without an error).
#[derive(Debug, Clone)]
pub struct MoveReport {
    /// Caught up, or cancelled.
    pub end: MoveEnd,
    /// The copy's and the change side's counters as they ended; `progress.copy_done()` says
    /// whether the copy finished (a move cancelled before leaves partial tables).
    pub progress: Arc<MoveProgress>,
    /// The cutover, when the move has cut over (now or in an earlier run).
    pub cutover: Option<CutoverRecord>,
}

shared_setters!(MoveJob);

impl MoveJob {
    /// A move between the servers of `topology` that runs until cancelled, with default tuning.
    pub fn new(topology: Topology) -> MoveJob {
        MoveJob {
            settings: JobSettings::new(topology),
            stop_when_caught_up: None,
            server_id: None,
            checkpoint: true,
            cutover: None,
        }
    }

    /// Cut over once verified (or, `deferred`, once the sentinel is dropped): see
    /// [`crate::cutover`]. Needs the checkpoint.
    #[must_use]
    pub fn cutover(mut self, cutover: Option<CutoverOptions>) -> MoveJob {
        self.cutover = cutover;
        self
    }

    /// Create missing target tables without secondary indexes and foreign keys, and add them
    /// back once the copy is done, while changes keep being applied (then `ANALYZE TABLE`),
    /// before the verification.
    #[must_use]
    pub fn defer_secondary_indexes(mut self, defer: bool) -> MoveJob {
        self.settings.defer_secondary_indexes = defer;
        self
    }

    /// End once caught up (see [`MoveOptions::stop_when_caught_up`]) instead of running until
    /// cancelled.
    #[must_use]
    pub fn stop_when_caught_up(mut self, quiet: Option<Duration>) -> MoveJob {
        self.stop_when_caught_up = quiet;
        self
    }

    /// The replica server id of the first source's stream (source N uses id + N - 1); derived
    /// from the process id by default.
    #[must_use]
    pub fn server_id(mut self, id: Option<u32>) -> MoveJob {
        self.server_id = id;
        self
    }

    /// Keep a checkpoint on the first target, and resume from the one an earlier run of the
    /// same move left (the default); `false` keeps none (an interrupted move then starts over,
    /// with `force`).
    #[must_use]
    pub fn checkpoint(mut self, keep: bool) -> MoveJob {
        self.checkpoint = keep;
        self
    }

    /// Runs the move. Safe inside a tokio runtime: the streams' own runtime and the workers run
    /// on `spawn_blocking` threads.
    pub async fn run(
        &self,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<MoveReport, CopyError> {
        let topology = self.topology();
        let locks = lock_targets(topology).await?;
        // A move that has cut over, run again: says so and changes nothing.
        if !self.settings.force
            && let Some(done) = {
                let topology = topology.clone();
                blocking(move || cutover::finish::cut_over_move(&topology)).await?
            }
        {
            locks.release().await;
            if done.phase == checkpoint::Phase::RolledBack {
                return Err(CopyError::Refused(String::from(
                    "this move cut over and was rolled back: the sources serve again and the targets' tables are renamed <table>_old. To move again, drop those and run the move with --force; nothing was written",
                )));
            }
            return Ok(MoveReport {
                end: MoveEnd::AlreadyCutOver,
                progress: Arc::new(MoveProgress::new(CopyProgress::new(Vec::new()), Vec::new())),
                cutover: done.cutover,
            });
        }
        if self.cutover.is_some() && !self.checkpoint {
            return Err(CopyError::BadInput(String::from(
                "a move that cuts over keeps a checkpoint (it is what makes a crash during the cutover safe): drop --no-checkpoint",
            )));
        }
        for source in &topology.sources {
            check_source(source).await?;
        }
        super::check_target_grants(topology, true).await?;
        if self.cutover.is_some() {
            super::check_cutover_grants(&topology.sources, "source").await?;
        }
        self.settings.check_throttle_file()?;
        self.settings
            .check_throttle(&self.settings.replicas)
            .await?;
        // An earlier run's checkpoint: this run goes on from it, or (--force) discards it.
        let names = checkpoint::resume::moved_table_names(topology).await?;
        let (store, found) = checkpoint::resume::load(&topology.targets[0].dsn, &names).await?;
        if !self.checkpoint && found.is_some() && !self.settings.force {
            return Err(CopyError::Refused(format!(
                "{} holds a checkpoint of this move: run it without --no-checkpoint to resume it, or with --force to start over; nothing was written",
                topology.targets[0].dsn
            )));
        }
        let (resume, discard) = match found {
            Some(found) if self.settings.force => (None, Some(found)),
            Some(mut found) => {
                // A cutover under way when the run before stopped: finished here, refused, or
                // taken up again by the driver.
                let earlier_hook = self
                    .cutover
                    .as_ref()
                    .map(|c| c.earlier_hook)
                    .unwrap_or_default();
                let finished = {
                    let (topology, found, dsn) =
                        (topology.clone(), found.clone(), store.dsn().clone());
                    let names = names.clone();
                    blocking(move || {
                        let mut store = CheckpointStore::new(&dsn, &names);
                        cutover::finish::resume_cutover(&topology, &found, &mut store, earlier_hook)
                    })
                    .await?
                };
                if let Some(record) = finished {
                    locks.release().await;
                    return Ok(MoveReport {
                        end: MoveEnd::CutOver,
                        progress: Arc::new(MoveProgress::new(
                            CopyProgress::new(Vec::new()),
                            Vec::new(),
                        )),
                        cutover: Some(record),
                    });
                }
                if found
                    .cutover
                    .as_ref()
                    .is_some_and(|c| c.step == cutover::CutoverStep::Locking)
                {
                    found.cutover = None;
                }
                if let Some(record) = &found.cutover
                    && self.cutover.is_none()
                {
                    return Err(CopyError::Refused(format!(
                        "this move was cutting over when it stopped ({}); run it with the cutover options it was started with (--cutover or --defer-cutover, and its hook) to finish; nothing was written",
                        record.step.name()
                    )));
                }
                let purged = checkpoint::resume::purged(&topology.sources, &found).await?;
                if !purged.is_empty() {
                    return Err(CopyError::Refused(format!(
                        "this move cannot resume from its checkpoint; nothing was written:\n- {}",
                        purged.join("\n- ")
                    )));
                }
                (Some(found), None)
            }
            None => (None, None),
        };
        // A new move's positions are taken before the tables are discovered: a DDL after this
        // point stops the move instead of going unseen, and the copy reads nothing before them.
        let positions = match &resume {
            Some(resumed) => resumed.positions(),
            None => {
                let sources = topology.sources.clone();
                tokio::task::spawn_blocking(move || start_positions(&sources))
                    .await
                    .map_err(|e| {
                        CopyError::Internal(format!("reading the binlog positions stopped: {e}"))
                    })??
            }
        };
        let server_id = self.server_id.unwrap_or_else(default_server_id);
        // Whether each source lets this user stream its binary log under this id, from where
        // the move starts, before anything is written.
        for (i, (source, at)) in topology.sources.iter().zip(&positions).enumerate() {
            let id = server_id.wrapping_add(u32::try_from(i).expect("fewer than 2^32 sources"));
            BinlogReader::probe(source, at.clone(), id)
                .await
                .map_err(|e| CopyError::Refused(format!("nothing was written: {e}")))?;
        }
        let mut setup_options = self.settings.setup(true);
        setup_options.resume.clone_from(&resume);
        if discard.is_some() {
            setup_options.discard = Some((topology.targets[0].dsn.clone(), names.clone()));
        }
        if let Some(discarded) = &discard {
            observer.event(&Event::Discarding(discarded));
        }
        if let Some(cutover) = &self.cutover {
            let (topology, names, suffix) =
                (topology.clone(), names.clone(), cutover.suffix.clone());
            blocking(move || check_renames_free(&topology, &names, &suffix)).await?;
        }
        let fresh = resume.is_none();
        let setup = prepare_copy(topology, &setup_options).await?;
        if fresh
            && let Some(cutover) = &self.cutover
            && cutover.deferred
        {
            let sentinel = cutover::sentinel::Sentinel::on(&topology.targets[0].dsn);
            let created = sentinel.clone();
            blocking(move || {
                created
                    .create(&mut created.connect()?)
                    .map_err(|e| CopyError::Server(Box::new(e)))
            })
            .await?;
            tracing::info!(
                "created the cutover sentinel {}: the move cuts over once it is verified and this table is dropped",
                sentinel.table_sql()
            );
        }
        // Every check passed; from here on, the run writes.
        observer.event(&Event::Planned(&setup.tables));
        let mut plan = setup.plan(topology);
        plan.replicas.clone_from(&self.settings.replicas);
        let start = match resume {
            Some(mut resumed) => {
                let cleaned = {
                    let (plan, mut copied) = (plan.clone(), resumed.copied.clone());
                    let cleaned = tokio::task::spawn_blocking(move || {
                        checkpoint::cleanup::cleanup(&plan, &mut copied).map(|c| (c, copied))
                    })
                    .await
                    .map_err(|e| CopyError::Internal(format!("cleaning up stopped: {e}")))??;
                    resumed.copied = cleaned.1;
                    cleaned.0
                };
                observer.event(&Event::Resuming {
                    checkpoint: &resumed,
                    cleaned: &cleaned,
                });
                resumed
            }
            None => {
                let now = crate::online::unix_now();
                Checkpoint {
                    version: checkpoint::VERSION,
                    identity: checkpoint::Identity::of(topology, &plan.tables),
                    phase: checkpoint::Phase::Copying,
                    positions: positions
                        .iter()
                        .map(checkpoint::StoredPosition::from)
                        .collect(),
                    in_flight: None,
                    copied: vec![checkpoint::Resume::Start; plan.sources.len() * plan.tables.len()],
                    verified: Vec::new(),
                    started_at: now,
                    saved_at: now,
                    cutover: None,
                    verified_at: None,
                }
            }
        };
        // Saved before the first row is copied, so that whatever this run writes is accounted
        // for; a discarded checkpoint is replaced.
        let keep = self.checkpoint;
        let store = {
            let start = start.clone();
            tokio::task::spawn_blocking(move || {
                let mut store = store;
                if keep {
                    store.save(&start)?;
                }
                Ok(store)
            })
            .await
            .map_err(|e| CopyError::Internal(format!("saving the checkpoint stopped: {e}")))?
            .map_err(|e| CopyError::Checkpoint(Box::new(e)))?
        };
        let checkpointing = Arc::new(Checkpointing::new(store, start));
        let progress = Arc::new(MoveProgress::new(
            progress_for(&setup, plan.targets.len(), self.settings.stage_timing),
            plan.sources
                .iter()
                .zip(positions)
                .map(|(dsn, at)| {
                    tracing::info!(source = %dsn, position = %at, "streaming changes from");
                    SourceLag::new(dsn.to_string(), at)
                })
                .collect(),
        ));
        self.settings.watch_throttle_file(&progress.copy.throttle)?;
        observer.event(&Event::Moving(&progress));
        let options = MoveOptions {
            copy: self.settings.options,
            stop_when_caught_up: self.stop_when_caught_up,
            server_id,
            tables_already_copied: false,
            verify: Some(crate::verify::VerifyOptions {
                threads: 1,
                target_chunk_bytes: self.settings.options.target_chunk_bytes,
                batch: crate::verify::VERIFY_BATCH,
                retry: self.settings.options.retry,
                max_rows_listed: 100,
            }),
        };
        let (counters, cancel_handle) = (Arc::clone(&progress), cancel.clone());
        // Once the copy is done, while changes keep being applied: deferred indexes and
        // foreign keys back, fresh statistics; then the move verifies.
        let runtime = tokio::runtime::Handle::current();
        let targets = plan.targets.clone();
        let cutover = self.cutover.clone();
        let checkpointing_after = Arc::clone(&checkpointing);
        let end = tokio::task::spawn_blocking(move || {
            let after_copy = |context: &AfterCopyContext<'_>| {
                let (stop, hold) = (context.stop(), || context.hold_applier());
                runtime.block_on(async {
                    // An ALTER may take long: a stopping move does not wait for it (closing the
                    // connection ends the statement on the server).
                    tokio::select! {
                        done = add_deferred_indexes(&targets, &setup, true, &hold) => done,
                        () = stopped(stop) => Err(CopyError::Internal(String::from(
                            "the move stopped while deferred indexes were being added",
                        ))),
                    }
                })
            };
            run_move_then(
                &plan,
                options,
                &counters,
                cancel_handle.flag(),
                &after_copy,
                keep.then_some(&*checkpointing),
                cutover.as_ref(),
            )
        })
        .await
        .map_err(|e| CopyError::Internal(format!("the move stopped unexpectedly: {e}")))??;
        locks.release().await;
        Ok(MoveReport {
            end,
            progress,
            cutover: (end == MoveEnd::CutOver)
                .then(|| checkpointing_after.cutover())
                .flatten(),
        })
    }

    /// [`MoveJob::run`] for blocking callers (a plain thread, or a `spawn_blocking` thread): the
    /// job runs on a runtime and thread of its own while the caller waits. From async code,
    /// await `run` instead.
    pub fn run_blocking(
        &self,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<MoveReport, CopyError> {
        super::block_on(self.run(cancel, observer))?
    }
}

/// Resolves once `stop` is set.
async fn stopped(stop: &std::sync::atomic::AtomicBool) {
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Refuses a source whose binlog the move cannot follow, naming the setting and the fix.
async fn check_source(dsn: &Dsn) -> Result<(), CopyError> {
    let facts = ServerFacts::of(dsn).await?;
    let mut problems: Vec<String> = assess(&facts, Role::Source)
        .findings
        .into_iter()
        .filter_map(|f| match f.verdict {
            Verdict::Fail(why) => Some(format!("{}: {why}", f.setting)),
            Verdict::Ok | Verdict::Warn(_) => None,
        })
        .collect();
    if facts.flavor != Flavor::MariaDb {
        problems.push(format!(
            "version: {} is MySQL; reshard move places its chunk reads in the binlog with \
             binlog_snapshot_position, which MariaDB reports and MySQL does not, so it moves from \
             MariaDB sources only for now (reshard copy works with quiet MySQL sources)",
            facts.version
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    Err(CopyError::Refused(format!(
        "source {dsn} cannot be moved from; nothing was written:\n  - {}",
        problems.join("\n  - ")
    )))
}

/// Refuses a cutover whose renames would meet a table already there: `<table><suffix>` on a
/// source (checked before anything is written; the cutover checks nothing it could not undo).
pub(crate) fn check_renames_free(
    topology: &Topology,
    tables: &[String],
    suffix: &str,
) -> Result<(), CopyError> {
    let mut taken = Vec::new();
    for source in &topology.sources {
        let database = source.database().unwrap_or_default();
        let mut conn = reshard_mysql::wire::RawConn::connect(source)
            .map_err(|e| CopyError::Server(Box::new(e)))?;
        for table in tables {
            let renamed = format!("{table}{suffix}");
            if cutover::locks::table_exists(&mut conn, database, &renamed)
                .map_err(|e| CopyError::Server(Box::new(e)))?
            {
                taken.push(format!("`{database}`.`{renamed}` on {source}"));
            }
        }
    }
    if taken.is_empty() {
        return Ok(());
    }
    Err(CopyError::Refused(format!(
        "the cutover renames each source table to <table>{suffix}, and these already exist: {}; nothing was written. Drop or rename them, or choose another --old-suffix",
        taken.join(", ")
    )))
}

/// Runs blocking work (connections of our own wire client) off the runtime's threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, CopyError> + Send + 'static,
) -> Result<T, CopyError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| CopyError::Internal(format!("a blocking step stopped: {e}")))?
}

/// A replica server id for the streams: fixed high bits, the process id below, and a count of
/// the moves this process started below that (16 sources each), so that moves on one host, or
/// several in one process, do not collide.
pub(crate) fn default_server_id() -> u32 {
    static MOVES: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = MOVES.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 16;
    0x5e00_0000 | ((std::process::id() & 0xffff) << 8) | (n << 4)
}
