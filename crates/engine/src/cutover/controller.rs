//! The cutover's driver: runs on the move's after-copy thread once the gate has opened (every
//! table verified equal), and takes the steps of [`super`] in order.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::{Duration, Instant};

use reshard_mysql::binlog::snapshot::binlog_end;
use reshard_mysql::wire::RawConn;
use reshard_types::BinlogPosition;

use super::locks::{LockFailure, SourceLocks};
use super::record::{CutoverRecord, CutoverStep};
use super::sentinel::Sentinel;
use super::{CutoverContext, CutoverOptions, EarlierHook};
use crate::checkpoint::{Phase, StoredPosition};
use crate::copy::{CopyPlan, Stop};
use crate::error::CopyError;
use crate::online::barrier::Barriers;
use crate::online::{Checkpointing, MoveProgress};
use crate::retry::{Retries, RetryPolicy, backoff};
use crate::verify::{VerifyOptions, VerifyProgress, in_move::verify_in_move};

/// How often the sentinel is looked for.
const LOOK_EVERY: Duration = Duration::from_secs(1);
/// How long a cutover whose hook has run waits before it tries to finish again.
const RETRY_AFTER_HOOK: Duration = Duration::from_secs(10);
/// How long the applier may take to catch up before the locks are tried (it is usually a
/// cycle away; a busy source can keep it longer).
const CATCH_UP_BEFORE_LOCK: Duration = Duration::from_secs(120);

/// Everything the driver uses of the move.
pub(crate) struct Driver<'a> {
    pub(crate) plan: &'a CopyPlan,
    pub(crate) options: &'a CutoverOptions,
    pub(crate) verify: Option<&'a VerifyOptions>,
    pub(crate) barriers: &'a Barriers,
    pub(crate) progress: &'a MoveProgress,
    pub(crate) stop: &'a Stop,
    pub(crate) interrupt: &'a AtomicBool,
    pub(crate) checkpoint: &'a Checkpointing,
    pub(crate) retry: RetryPolicy,
    /// Set once the move has cut over (the applier then ends with [`crate::online::MoveEnd::CutOver`]).
    pub(crate) cut_over: &'a AtomicBool,
}

/// How an attempt ended short of cutting over.
enum Attempt {
    CutOver,
    /// Nothing renamed, writes released, the move replicating: why.
    Failed(String),
    Stopped,
}

impl Driver<'_> {
    fn halted(&self) -> bool {
        self.stop.stopped() || self.interrupt.load(Relaxed)
    }

    /// Runs until cut over, stopped, or failed for good (the error also stops the move).
    pub(crate) fn run(&self) -> Result<(), CopyError> {
        let sentinel = Sentinel::on(&self.plan.targets[0]);
        // An earlier run's cutover whose hook ran (a crash after it, or the operator says it
        // finished): the application uses the targets, so the hook is never run again, and the
        // targets' positions read before it stay the reverse stream's start.
        let ran: Option<CutoverRecord> = self
            .checkpoint
            .start()
            .cutover
            .clone()
            .filter(|c| match c.step {
                CutoverStep::HookDone | CutoverStep::Renaming => true,
                CutoverStep::HookRunning => self.options.earlier_hook == EarlierHook::Ran,
                CutoverStep::Locking | CutoverStep::Done => false,
            })
            .map(|mut c| {
                c.step = CutoverStep::HookDone;
                c
            });
        let mut wait_for_sentinel = self.options.deferred && ran.is_none();
        let mut last_verified = Instant::now();
        loop {
            if self.halted() {
                return Ok(());
            }
            if wait_for_sentinel && !self.wait_for_sentinel(&sentinel, &mut last_verified)? {
                return Ok(());
            }
            match self.attempt(ran.as_ref())? {
                Attempt::CutOver => {
                    self.cut_over.store(true, Relaxed);
                    return Ok(());
                }
                Attempt::Stopped => return Ok(()),
                Attempt::Failed(why) if ran.is_some() => {
                    // The application was switched already: finishing is the only way on.
                    tracing::warn!(
                        "the cutover could not finish yet: {why}. Its hook ran before, so it is not run again; trying again in {} s",
                        RETRY_AFTER_HOOK.as_secs()
                    );
                    self.progress.cutover_failed(why);
                    let started = Instant::now();
                    while started.elapsed() < RETRY_AFTER_HOOK && !self.halted() {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                }
                Attempt::Failed(why) => {
                    // The operator decides when to try again: the sentinel is back.
                    let retry_with = sentinel.drop_statement();
                    retry(
                        self.retry,
                        self.stop.flag(),
                        "creating the cutover sentinel",
                        || sentinel.create(&mut sentinel.connect()?),
                    )?;
                    tracing::warn!(
                        "the cutover did not happen: {why}. Nothing was renamed and the sources are writable; the move goes on replicating. To try again: {retry_with}"
                    );
                    self.progress.cutover_failed(why);
                    wait_for_sentinel = true;
                }
            }
        }
    }

    /// Waits (replicating, and re-verifying every `reverify_every`) until the sentinel is
    /// dropped: `true`, or the move stops: `false`.
    fn wait_for_sentinel(
        &self,
        sentinel: &Sentinel,
        last_verified: &mut Instant,
    ) -> Result<bool, CopyError> {
        self.progress
            .cutover_waiting(Some(sentinel.drop_statement()));
        let mut announced = false;
        loop {
            if self.halted() {
                return Ok(false);
            }
            let exists = retry(
                self.retry,
                self.stop.flag(),
                "looking for the cutover sentinel",
                || sentinel.exists(&mut sentinel.connect()?),
            )?;
            if !exists {
                tracing::info!(
                    "the sentinel {} is gone: cutting over",
                    sentinel.table_sql()
                );
                self.progress.cutover_waiting(None);
                return Ok(true);
            }
            if !announced {
                tracing::info!(
                    "verified; replicating until the sentinel is dropped: {}",
                    sentinel.drop_statement()
                );
                announced = true;
            }
            if let Some(verify) = self.verify
                && last_verified.elapsed() >= self.options.reverify_every
            {
                self.reverify(verify)?;
                *last_verified = Instant::now();
            }
            let mut waited = Duration::ZERO;
            while waited < LOOK_EVERY && !self.halted() {
                std::thread::sleep(Duration::from_millis(100));
                waited += Duration::from_millis(100);
            }
        }
    }

    /// Verifies every table again (repairing what differs); a table that still differs stops
    /// the move, as the first verification does.
    fn reverify(&self, verify: &VerifyOptions) -> Result<(), CopyError> {
        tracing::info!("re-verifying every table while the cutover is deferred");
        let counters = VerifyProgress::default();
        let report = verify_in_move(
            self.plan,
            &self.plan.target_names,
            verify,
            self.barriers,
            &counters,
            self.stop.flag(),
            None,
        )?;
        let (equal, cancelled, differences) =
            (report.equal(), report.cancelled, report.differences());
        self.progress.reverified(report);
        if equal {
            self.checkpoint.all_verified();
        }
        if !equal && !cancelled {
            return Err(CopyError::Mismatch(format!(
                "{differences} row(s) differ between the sources and the targets after repairs, found while the cutover was deferred (a writer other than reshard on a target, or a bug in reshard)"
            )));
        }
        Ok(())
    }

    /// One cutover attempt (see [`super`] for the steps); `ran`: the record of a hook that ran
    /// before, which the attempt keeps (and goes back to if it fails).
    fn attempt(&self, ran: Option<&CutoverRecord>) -> Result<Attempt, CopyError> {
        let options = self.options;
        if ran.is_none() {
            self.save(
                Some(CutoverRecord::locking(
                    &options.suffix,
                    options.restore_targets,
                )),
                None,
            )?;
            self.progress.cutover_step(CutoverStep::Locking);
            fault_point("locking");
        }
        // Catch up first, so that little is left to apply under the locks.
        if self.catch_up()?.is_none() {
            if self.halted() {
                return Ok(Attempt::Stopped);
            }
            self.forget(ran)?;
            return Ok(Attempt::Failed(format!(
                "the targets did not catch up with the sources within {} s",
                CATCH_UP_BEFORE_LOCK.as_secs()
            )));
        }
        let patience = options.lock_timeout.max(Duration::from_secs(1));
        let mut attempts = 0;
        let (mut locks, at, positions, locked_at) = loop {
            if self.halted() {
                self.forget(ran)?;
                return Ok(Attempt::Stopped);
            }
            attempts += 1;
            let last = attempts >= options.lock_attempts;
            // The applier pauses between two cycles before the locks are taken (a cycle may
            // take a while): under the locks it only applies what is left up to them.
            let frozen = match self.barriers.freeze(self.stop.flag()) {
                Ok(frozen) => frozen,
                Err(_) if self.halted() => return Ok(Attempt::Stopped),
                Err(e) => return Err(e),
            };
            let locked_at = Instant::now();
            let why = match SourceLocks::take(self.plan, options.lock_timeout) {
                Ok(mut locks) => match locks.positions() {
                    Ok(positions) => {
                        // Exactly the changes up to the positions: the targets are the
                        // sources, frozen.
                        match frozen.advance_to(positions.clone(), patience, self.stop.flag()) {
                            Ok(Some(at)) => break (locks, at, positions, locked_at),
                            Ok(None) => {
                                locks.release();
                                format!(
                                    "the targets did not reach the sources' positions within {} s under the locks",
                                    patience.as_secs_f64()
                                )
                            }
                            Err(_) if self.halted() => {
                                locks.release();
                                return Ok(Attempt::Stopped);
                            }
                            Err(e) => {
                                locks.release();
                                return Err(e);
                            }
                        }
                    }
                    Err(e) => {
                        locks.release();
                        format!("reading the sources' positions under the locks: {e}")
                    }
                },
                Err(LockFailure::Busy(why)) => why,
                Err(LockFailure::Error(e)) if e.class() == reshard_types::ErrorClass::Transient => {
                    e.to_string()
                }
                Err(LockFailure::Error(e)) => {
                    self.forget(ran)?;
                    return Err(CopyError::Server(Box::new(e)));
                }
            };
            if last {
                self.forget(ran)?;
                return Ok(Attempt::Failed(format!(
                    "{why} (attempt {attempts} of {}; each waits at most {} s for the locks)",
                    options.lock_attempts,
                    options.lock_timeout.as_secs_f64()
                )));
            }
            tracing::info!("cutover attempt {attempts}: {why}; trying again");
            std::thread::sleep(backoff(attempts));
        };
        // The targets' own positions now, before the application's first write to them (kept
        // from the attempt that ran the hook, if one did: it wrote since).
        let targets = match ran {
            Some(r) if !r.target_positions.is_empty() => {
                r.target_positions.iter().map(Into::into).collect()
            }
            _ => match target_positions(self.plan) {
                Ok(t) => t,
                Err(e) => {
                    drop(at);
                    locks.release();
                    self.forget(ran)?;
                    return Ok(Attempt::Failed(format!(
                        "reading the targets' binlog positions: {e}"
                    )));
                }
            },
        };
        let mut record = CutoverRecord {
            step: if ran.is_some() {
                CutoverStep::HookDone
            } else {
                CutoverStep::HookRunning
            },
            source_positions: positions.iter().map(StoredPosition::from).collect(),
            target_positions: targets.iter().map(StoredPosition::from).collect(),
            hook_started_at: match ran {
                Some(r) => r.hook_started_at,
                None => Some(crate::online::unix_now()),
            },
            ..CutoverRecord::locking(&options.suffix, options.restore_targets)
        };
        if let Err(e) = self.save_held(&record) {
            drop(at);
            locks.release();
            return Err(e);
        }
        fault_point("hook");
        if ran.is_some() {
            tracing::info!(
                "the cutover hook ran in an earlier run of this move: it is not run again"
            );
        } else if let Some(hook) = &options.hook {
            self.progress.cutover_step(CutoverStep::HookRunning);
            let context = CutoverContext {
                sources: self.plan.sources.iter().map(ToString::to_string).collect(),
                targets: self.plan.targets.iter().map(ToString::to_string).collect(),
                tables: self
                    .plan
                    .tables
                    .iter()
                    .map(|t| t.schema.name.clone())
                    .collect(),
                source_positions: positions.iter().map(ToString::to_string).collect(),
                target_positions: targets.iter().map(ToString::to_string).collect(),
                suffix: options.suffix.clone(),
            };
            tracing::info!("running the cutover hook (sources locked, targets at their positions)");
            if let Err(why) = hook(&context) {
                locks.release();
                drop(at);
                self.forget(None)?;
                return Ok(Attempt::Failed(why));
            }
        }
        record.step = CutoverStep::HookDone;
        self.save_held(&record)?;
        fault_point("hook_done");
        record.step = CutoverStep::Renaming;
        self.save_held(&record)?;
        self.progress.cutover_step(CutoverStep::Renaming);
        // The move ends here: its streams would otherwise read the renames.
        self.stop.halt();
        drop(at);
        let mut renamed = locks.rename(&options.suffix, |_| fault_point("renamed_one"));
        if renamed.is_ok() && options.restore_targets {
            renamed = self.restore_targets(&options.suffix);
        }
        fault_point("renamed");
        locks.release();
        let held = locked_at.elapsed();
        renamed.map_err(|e| CopyError::Server(Box::new(e)))?;
        record.step = CutoverStep::Done;
        record.done_at = Some(crate::online::unix_now());
        self.checkpoint.save_cutover(
            Some(record),
            Some(Phase::CutOver),
            true,
            self.retry,
            &AtomicBool::new(false),
        )?;
        self.progress.cutover_done(held);
        // A sentinel created again after a failed attempt (this run's or an earlier one's) has
        // nothing left to hold. (A deferred cutover starts only once its sentinel is gone: one
        // there now is another move's.)
        if !options.deferred {
            let sentinel = Sentinel::on(&self.plan.targets[0]);
            if let Err(e) = sentinel
                .connect()
                .and_then(|mut conn| sentinel.drop_table(&mut conn))
            {
                tracing::warn!("dropping {} after the cutover: {e}", sentinel.table_sql());
            }
        }
        tracing::info!(
            "cut over: the sources' tables are renamed to <table>{}; the sources were locked for {} ms",
            options.suffix,
            held.as_millis()
        );
        Ok(Attempt::CutOver)
    }

    /// Waits until the applier has applied every source's binlog end read now: `None` past
    /// [`CATCH_UP_BEFORE_LOCK`] or once halted.
    fn catch_up(&self) -> Result<Option<()>, CopyError> {
        let ends = retry(
            self.retry,
            self.stop.flag(),
            "reading the sources' binlog ends",
            || {
                self.plan
                    .sources
                    .iter()
                    .map(|s| binlog_end(&mut RawConn::connect(s)?))
                    .collect::<Result<Vec<BinlogPosition>, _>>()
            },
        )?;
        let started = Instant::now();
        loop {
            if self.halted() || started.elapsed() > CATCH_UP_BEFORE_LOCK {
                return Ok(None);
            }
            let behind = self
                .progress
                .sources
                .iter()
                .zip(&ends)
                .any(|(lag, end)| lag.applied_position() < *end);
            if !behind {
                return Ok(Some(()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A rollback: every target's `<table><suffix>` back to `<table>` (nothing writes to them:
    /// the reverse applier has stopped).
    fn restore_targets(&self, suffix: &str) -> Result<(), reshard_mysql::MysqlError> {
        for target in &self.plan.targets {
            let mut conn = RawConn::connect(target)?;
            let database = target.database().unwrap_or_default();
            for table in &self.plan.tables {
                super::locks::restore(&mut conn, database, &table.schema.name, suffix)?;
            }
        }
        Ok(())
    }

    fn save(&self, record: Option<CutoverRecord>, phase: Option<Phase>) -> Result<(), CopyError> {
        self.checkpoint
            .save_cutover(record, phase, false, self.retry, self.stop.flag())
    }

    /// Saves `record` while the applier is held at exactly its source positions.
    fn save_held(&self, record: &CutoverRecord) -> Result<(), CopyError> {
        self.checkpoint.save_cutover(
            Some(record.clone()),
            None,
            true,
            self.retry,
            &AtomicBool::new(false),
        )
    }

    /// An attempt that changed nothing: its record goes, or goes back to that of the hook
    /// that ran before (`ran`).
    fn forget(&self, ran: Option<&CutoverRecord>) -> Result<(), CopyError> {
        self.progress.cutover_step_cleared();
        self.save(ran.cloned(), None)
    }
}

/// Each target's binlog end.
fn target_positions(plan: &CopyPlan) -> Result<Vec<BinlogPosition>, reshard_mysql::MysqlError> {
    plan.targets
        .iter()
        .map(|t| binlog_end(&mut RawConn::connect(t)?))
        .collect()
}

/// Runs `f` until it succeeds, retrying transient errors as `policy` allows.
fn retry<T>(
    policy: RetryPolicy,
    stop: &AtomicBool,
    what: &str,
    mut f: impl FnMut() -> Result<T, reshard_mysql::MysqlError>,
) -> Result<T, CopyError> {
    let mut retries = Retries::new(policy);
    loop {
        match f() {
            Ok(v) => return Ok(v),
            Err(e) if !stop.load(Relaxed) && retries.again(what, e.class(), &e) => {}
            Err(e) => return Err(CopyError::Server(Box::new(e))),
        }
    }
}

/// For the fault tests: `RESHARD_FAULT_AT=<point>` kills the process (SIGKILL, as `kill -9`
/// would) when the cutover reaches `point` (`locking`: before the locks are taken; `hook`: under the locks, before the hook runs;
/// `hook_done`: after it; `renamed_one`: after the first source's renames; `renamed`: after the
/// renames, before the release).
fn fault_point(point: &str) {
    if std::env::var("RESHARD_FAULT_AT").is_ok_and(|p| p == point) {
        tracing::warn!("RESHARD_FAULT_AT={point}: killing this process");
        let _ = std::process::Command::new("kill")
            .args(["-KILL", &std::process::id().to_string()])
            .status();
        std::thread::sleep(Duration::from_secs(60));
    }
}
