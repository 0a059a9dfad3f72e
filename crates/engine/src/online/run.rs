//! `run_move`: streams, copy, lag monitor and the applier loop, wired together.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError};
use reshard_convert::schema::arrow_schema;
use reshard_mysql::MysqlError;
use reshard_mysql::binlog::snapshot::{binary_log_sizes, binlog_end};
use reshard_mysql::binlog::{MovedTable, bytes_between};
use reshard_mysql::wire::RawConn;
use reshard_types::{BinlogPosition, Dsn};

use super::apply::{Applier, CycleStats};
use super::barrier::{BarrierRequests, Barriers, FreezeRequest, barriers};
use super::checkpointing::{Checkpointing, Saver};
use super::classify::{Images, UnitView};
use super::progress::MoveProgress;
use super::stream::{self, QueuedBytes, SourceCommit, StreamPoint, StreamSpec, now};
use crate::checkpoint::{CopiedTracker, Phase, Resume};
use crate::copy::{CopyOptions, CopyPlan, Stop, copy_with, in_database};
use crate::cutover::CutoverOptions;
use crate::error::CopyError;
use crate::marks::Watermarks;
use crate::verify::VerifyOptions;
use crate::verify::in_move::{MAX_REPAIR_ROUNDS, verify_in_move};

/// Row images gathered into one cycle at most.
const CYCLE_IMAGES: usize = 200_000;
/// Bytes of row data gathered into one cycle at most (a large transaction comes in parts of
/// `stream::PART_BYTES`, so a cycle never waits for a whole one).
const CYCLE_BYTES: usize = 16 << 20;
/// How long the applier waits for changes before it looks at the copy and the clock again.
const TICK: Duration = Duration::from_millis(100);
/// How often lag is measured.
const LAG_EVERY: Duration = Duration::from_secs(1);
/// Messages the streams may queue ahead of the applier, in all.
const QUEUE: usize = 64;

/// How to move.
#[derive(Debug, Clone, Copy)]
pub struct MoveOptions {
    /// How to copy.
    pub copy: CopyOptions,
    /// Return (instead of running until interrupted) once the copy is done and the targets have
    /// applied everything up to the sources' binlog ends read after it, and no change of a moved
    /// table has come in for this long (zero: return at the first ends reached). The targets then
    /// equal the sources as of the applied positions (`MoveProgress::changes`).
    /// That the application has stopped writing cannot be known; a quiet time is what can be.
    pub stop_when_caught_up: Option<Duration>,
    /// The replica server id of source 1's stream; source `i` uses `server_id + i`. Must not
    /// be the id of any server or replica of the sources.
    pub server_id: u32,
    /// The targets already hold every table as the sources had it at the start positions (a
    /// move whose copy was done before, or a benchmark of change application): no copy runs,
    /// and every change from the start positions on is applied.
    pub tables_already_copied: bool,
    /// Verify every table once the copy is done, at one binlog position per source, repairing
    /// what differs ([`crate::verify`]); a caught-up move ends only after a clean pass. `None`:
    /// no verification.
    pub verify: Option<VerifyOptions>,
}

/// How a move ended (without an error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MoveEnd {
    /// Every target reached its sources' binlog ends, read after the copy, with no change of a
    /// moved table for the quiet time asked (`stop_when_caught_up`).
    CaughtUp,
    /// Interrupted; the current cycle was applied first.
    Interrupted,
    /// Cut over ([`crate::cutover`]): the sources' tables renamed, the application on the targets.
    CutOver,
    /// An earlier run of this move had cut over: nothing was done.
    AlreadyCutOver,
}

/// Where each source's binlog ends now: where its stream will start. Call it before anything
/// else reads the sources, and pass the positions to [`super::SourceLag::new`].
pub fn start_positions(sources: &[Dsn]) -> Result<Vec<BinlogPosition>, CopyError> {
    binlog_ends(
        sources,
        &mut sources.iter().map(|_| None).collect::<Vec<_>>(),
    )
}

/// Runs a move of `plan` (blocking): starts a binlog stream per source at the position in
/// `progress.sources`, then copies while applying changes, then keeps applying until
/// `interrupt` is set or (with `stop_when_caught_up`) the targets have caught up.
pub fn run_move(
    plan: &CopyPlan,
    options: MoveOptions,
    progress: &MoveProgress,
    interrupt: &AtomicBool,
) -> Result<MoveEnd, CopyError> {
    run_move_then(plan, options, progress, interrupt, &|_| Ok(()), None, None)
}

/// Work a move does once its copy is done, while changes keep being applied, and before it
/// verifies (adding deferred indexes back, say). It should end soon after the move's stop flag
/// ([`AfterCopyContext::stop`]) is set.
pub type AfterCopy<'a> = dyn Fn(&AfterCopyContext<'_>) -> Result<(), CopyError> + Sync + 'a;

/// What [`AfterCopy`] work gets from the move.
pub struct AfterCopyContext<'a> {
    stop: &'a AtomicBool,
    barriers: &'a Barriers,
}

impl AfterCopyContext<'_> {
    /// The move's stop flag: set when the move is stopping.
    pub fn stop(&self) -> &AtomicBool {
        self.stop
    }

    /// Holds the applier between two cycles (every cycle committed on every target, none
    /// started) until the returned guard is dropped: nothing writes changes to the targets
    /// meanwhile. An error when the move stops first.
    pub fn hold_applier(&self) -> Result<HeldApplier, CopyError> {
        self.barriers.freeze(self.stop).map(HeldApplier)
    }
}

/// The applier, held while this lives ([`AfterCopyContext::hold_applier`]).
#[derive(Debug)]
pub struct HeldApplier(#[allow(dead_code)] super::barrier::Frozen);

/// [`run_move`], running `after_copy` once the copy is done (on a thread of its own, the
/// applier going on), before the verification; a move is caught up only after both. With
/// `checkpoint`, the move goes on from its start (copied ranges, positions, tables verified)
/// and saves its progress there as it goes ([`crate::checkpoint`]); the targets must already be
/// cleaned of what the start does not account for ([`crate::checkpoint::cleanup`]), and
/// `progress.sources` must start at the start's positions.
pub fn run_move_then(
    plan: &CopyPlan,
    options: MoveOptions,
    progress: &MoveProgress,
    interrupt: &AtomicBool,
    after_copy: &AfterCopy<'_>,
    checkpoint: Option<&Checkpointing>,
    cutover: Option<&CutoverOptions>,
) -> Result<MoveEnd, CopyError> {
    assert!(
        cutover.is_none() || checkpoint.is_some(),
        "a cutover needs a checkpoint"
    );
    assert_eq!(
        progress.sources.len(),
        plan.sources.len(),
        "one lag per source"
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("reshard-binlog-io")
        .enable_all()
        .build()
        .map_err(|e| CopyError::Internal(format!("starting the binlog runtime: {e}")))?;
    let specs: Vec<StreamSpec<'_>> = plan
        .sources
        .iter()
        .enumerate()
        .map(|(source, dsn)| StreamSpec {
            source,
            dsn,
            from: progress.sources[source].applied_position(),
            skip: checkpoint
                .and_then(|c| c.start().positions.get(source))
                .map(|p| p.part.clone())
                .unwrap_or_default(),
            tables: moved_tables(plan, dsn),
            server_id: options
                .server_id
                .wrapping_add(u32::try_from(source).expect("fewer than 2^32 sources")),
        })
        .collect();
    // Every stream is connected before the copy reads anything.
    let mut readers = Vec::with_capacity(specs.len());
    for spec in &specs {
        readers.push(stream::connect(&runtime, spec)?);
    }
    let resume: Option<&[Resume]> = checkpoint.map(|c| c.start().copied.as_slice());
    let marks = match resume {
        _ if options.tables_already_copied => {
            Watermarks::all_copied(plan.sources.len(), plan.tables.len())
        }
        Some(copied) => Watermarks::resumed(copied),
        None => Watermarks::new(plan.sources.len(), plan.tables.len()),
    };
    let stop = Stop::default();
    let finished = AtomicBool::new(false);
    let (barriers, requests) = barriers();
    let verified = AtomicBool::new(false);
    let cut_over = AtomicBool::new(false);
    let (tx, rx) = crossbeam_channel::bounded::<SourceCommit>(QUEUE);
    let queued = QueuedBytes::default();
    let end = std::thread::scope(|scope| {
        for (spec, reader) in specs.iter().zip(readers) {
            let (tx, runtime, stop, queued) = (tx.clone(), &runtime, &stop, &queued);
            let lag = &progress.sources[spec.source];
            std::thread::Builder::new()
                .name("reshard-binlog".into())
                .spawn_scoped(scope, move || {
                    stream::stream_loop(
                        runtime,
                        spec,
                        reader,
                        &tx,
                        queued,
                        lag,
                        stop,
                        options.copy.retry,
                    );
                })
                .expect("spawning a binlog thread");
        }
        drop(tx);
        let (marks, stop) = (&marks, &stop);
        std::thread::Builder::new()
            .name("reshard-copy".into())
            .spawn_scoped(scope, move || {
                if !options.tables_already_copied {
                    copy_with(
                        plan,
                        options.copy,
                        &progress.copy,
                        stop,
                        Some(marks),
                        resume,
                    );
                }
                if !stop.stopped() {
                    progress.set_copy_done();
                    tracing::info!("the copy is done; applying changes until stopped or caught up");
                }
            })
            .expect("spawning the copy thread");
        {
            let (verified, cut_over) = (&verified, &cut_over);
            std::thread::Builder::new()
                .name("reshard-after-copy".into())
                .spawn_scoped(scope, move || {
                    verify_after_copy(
                        plan,
                        options.verify.as_ref(),
                        after_copy,
                        &barriers,
                        progress,
                        verified,
                        stop,
                        interrupt,
                        checkpoint,
                    );
                    // Once verified: the cutover, if asked for.
                    if let (Some(cutover), Some(checkpoint)) = (cutover, checkpoint)
                        && verified.load(Relaxed)
                        && !stop.stopped()
                    {
                        let driver = crate::cutover::Driver {
                            plan,
                            options: cutover,
                            verify: options.verify.as_ref(),
                            barriers: &barriers,
                            progress,
                            stop,
                            interrupt,
                            checkpoint,
                            retry: options.copy.retry,
                            cut_over,
                        };
                        if let Err(e) = driver.run() {
                            stop.fail(e);
                        }
                    }
                })
                .expect("spawning the after-copy thread");
        }
        let finished = &finished;
        crate::throttle::start(
            scope,
            plan,
            options.copy.throttle,
            &progress.copy.throttle,
            finished,
        );
        std::thread::Builder::new()
            .name("reshard-lag".into())
            .spawn_scoped(scope, move || monitor_lag(plan, progress, finished))
            .expect("spawning the lag thread");
        if let Some(checkpoint) = checkpoint {
            let watcher = checkpoint.watcher();
            std::thread::Builder::new()
                .name("reshard-stop-watch".into())
                .spawn_scoped(scope, move || {
                    watch_for_stop(watcher, checkpoint, stop, finished);
                })
                .expect("spawning the stop watcher");
        }
        let end = apply_loop(
            plan, options, progress, marks, &rx, &queued, &requests, &verified, stop, interrupt,
            checkpoint,
        );
        finished.store(true, Relaxed);
        match end {
            Ok(end) => {
                stop.halt();
                Ok(end)
            }
            Err(e) => {
                stop.fail(e);
                Err(())
            }
        }
    });
    if cut_over.load(Relaxed) {
        // Set once the cutover is saved done: what failed after it (a stream reading the
        // renames) does not matter.
        return Ok(MoveEnd::CutOver);
    }
    match (stop.take_error(), end) {
        (Some(error), _) => Err(error),
        (None, Ok(end)) => Ok(end),
        (None, Err(())) => Err(CopyError::Internal(String::from(
            "the move stopped without an error; please report it",
        ))),
    }
}

/// Once the copy is done: runs `after_copy`, then verifies every table at one position per
/// source (repairing what differs), records the report, and opens the gate (`verified`) after a
/// clean pass (at once without verification); a table still differing after its repairs stops
/// the move, naming the rows.
#[allow(clippy::too_many_arguments)] // the move's shared state
fn verify_after_copy(
    plan: &CopyPlan,
    options: Option<&VerifyOptions>,
    after_copy: &AfterCopy<'_>,
    barriers: &Barriers,
    progress: &MoveProgress,
    verified: &AtomicBool,
    stop: &Stop,
    interrupt: &AtomicBool,
    checkpoint: Option<&Checkpointing>,
) {
    while !progress.copy_done() {
        if stop.stopped() || interrupt.load(Relaxed) {
            return;
        }
        std::thread::sleep(TICK);
    }
    let context = AfterCopyContext {
        stop: stop.flag(),
        barriers,
    };
    if let Err(e) = after_copy(&context) {
        if !stop.stopped() {
            stop.fail(e);
        }
        return;
    }
    let Some(options) = options else {
        verified.store(true, Relaxed);
        return;
    };
    tracing::info!("verifying every table at one binlog position per source");
    // The move's stop flag: set on an error anywhere, and once the applier has ended
    // (interrupted or caught up), so the verification never waits for an applier that is gone.
    match verify_in_move(
        plan,
        &plan.target_names,
        options,
        barriers,
        &progress.verify,
        stop.flag(),
        checkpoint,
    ) {
        Ok(report) => {
            let clean = report.equal();
            let differing: Vec<String> = report
                .tables
                .iter()
                .flat_map(|t| {
                    t.rows
                        .iter()
                        .map(move |r| format!("{} {} on {}: {}", t.table, r.kind, r.target, r.key))
                })
                .collect();
            let differences = report.differences();
            let cancelled = report.cancelled;
            progress.set_verification(report);
            if clean {
                if let Some(checkpoint) = checkpoint {
                    checkpoint.all_verified();
                }
                verified.store(true, Relaxed);
            } else if !cancelled {
                stop.fail(CopyError::Mismatch(format!(
                    "{differences} row(s) still differ between the sources and the targets after {MAX_REPAIR_ROUNDS} rounds of repair \
                     (a writer other than reshard on a target, or a bug in reshard):\n- {}",
                    differing.join("\n- ")
                )));
            }
        }
        // Already stopping (interrupted, or an error elsewhere): that is what the move reports.
        Err(_) if stop.stopped() => {}
        Err(e) => stop.fail(e),
    }
}

/// The moved tables as the stream of `source` decodes them.
fn moved_tables(plan: &CopyPlan, source: &Dsn) -> Vec<MovedTable> {
    plan.tables
        .iter()
        .map(|t| {
            let on_source = in_database(&t.schema, source);
            MovedTable {
                database: on_source.database.clone(),
                name: on_source.name.clone(),
                schema: Arc::new(arrow_schema(&t.schema)),
            }
        })
        .collect()
}

/// The applier: cycles until interrupted, caught up, or stopped by an error elsewhere.
#[allow(clippy::too_many_arguments, clippy::too_many_lines)] // the move's shared state
fn apply_loop(
    plan: &CopyPlan,
    options: MoveOptions,
    progress: &MoveProgress,
    marks: &Watermarks,
    rx: &Receiver<SourceCommit>,
    queued: &QueuedBytes,
    requests: &BarrierRequests,
    verified: &AtomicBool,
    stop: &Stop,
    interrupt: &AtomicBool,
    checkpoint: Option<&Checkpointing>,
) -> Result<MoveEnd, CopyError> {
    let tables = plan.tables.len();
    let mut saver = checkpoint.map(|c| Saver::new(c, options.copy.retry));
    let mut tracker = CopiedTracker::new(match checkpoint {
        Some(c) => c.start().copied.clone(),
        None => vec![Resume::Start; plan.sources.len() * tables],
    });
    // A cycle was being written when an earlier run stopped: the first cycle reads at least
    // that far before it writes (see `crate::checkpoint`), and no barrier is set before.
    let mut replay_to = saver.as_ref().and_then(Saver::replay_to);
    let phase = || {
        if verified.load(Relaxed) {
            Phase::Replicating
        } else if progress.copy_done() {
            Phase::Verifying
        } else {
            Phase::Copying
        }
    };
    let save_now = |saver: &mut Option<Saver<'_>>| -> Result<(), CopyError> {
        match saver {
            Some(s) => s.between_cycles(phase(), true, stop),
            None => Ok(()),
        }
    };
    let mut applier = Applier::new(plan, options.copy.write_threads, options.copy.retry)?;
    let mut views: Vec<UnitView> = (0..plan.sources.len())
        .flat_map(|_| plan.tables.iter().map(|t| UnitView::new(integer_key(t))))
        .collect();
    let mut pending: Vec<Vec<Images>> = (0..tables).map(|_| Vec::new()).collect();
    let mut applied: Vec<StreamPoint> = match checkpoint {
        Some(c) => c.start().points(),
        None => progress
            .sources
            .iter()
            .map(|s| StreamPoint::at(s.applied_position()))
            .collect(),
    };
    let mut control: Vec<Option<RawConn>> = plan.sources.iter().map(|_| None).collect();
    // `stop_when_caught_up`: the sources' binlog ends last read, and when a change of a moved
    // table last came in.
    let mut ends: Option<Vec<BinlogPosition>> = None;
    let mut ends_retries = crate::retry::Retries::new(options.copy.retry);
    let mut last_change = std::time::Instant::now();
    let internal = |e: arrow_schema::ArrowError| {
        CopyError::Internal(format!("sorting changes by what the copy has done: {e}"))
    };
    // A verification's barrier (see `super::barrier`), and the changes past it, per source.
    let mut barrier: Option<ActiveBarrier> = None;
    let mut deferred: Vec<VecDeque<SourceCommit>> =
        plan.sources.iter().map(|_| VecDeque::new()).collect();
    let halted = || interrupt.load(Relaxed) || stop.stopped();
    let (mut waiting, mut requests_open, mut rescan) = (None, true, false);
    let never = crossbeam_channel::never::<FreezeRequest>();
    loop {
        if interrupt.load(Relaxed) {
            tracing::info!("interrupted: the last cycle is applied; stopping");
            save_now(&mut saver)?;
            return Ok(MoveEnd::Interrupted);
        }
        if stop.stopped() {
            // Another thread failed: what every target committed is saved, if it can be.
            let _ = save_now(&mut saver);
            return Ok(MoveEnd::Interrupted);
        }
        if let Some(active) = &barrier
            && let Err(crossbeam_channel::TryRecvError::Disconnected) = active.release.try_recv()
        {
            // The verification stopped waiting: run on, the changes held back first.
            barrier = None;
        }
        if barrier.is_none()
            && replay_to.is_none()
            && let Some(request) = waiting.take().or_else(|| requests.try_recv().ok())
        {
            let boundaries: Vec<BinlogPosition> =
                applied.iter().map(|p| p.position.clone()).collect();
            barrier = ActiveBarrier::pause(request, &boundaries, &halted);
            rescan = true;
            // Often the targets are there already (a source with nothing new since).
            if let Some(active) = &barrier
                && views.iter().all(|v| v.held_rows() == 0)
                && (0..applied.len()).all(|s| applied[s] >= active.limit[s])
            {
                barrier.take().expect("checked").reached(&halted);
            }
        }
        let copy_done = progress.copy_done();
        // Changes held back by a barrier come first: all of them once it is lifted, and under a
        // new barrier once (those at or before its limit must be applied before it counts as
        // reached; the others are held back again). Not on every pass: that would spin.
        let mut intake = Intake::new(barrier.as_ref().map(|b| b.limit.as_slice()), queued);
        if barrier.is_none() || std::mem::take(&mut rescan) {
            let held: Vec<SourceCommit> = deferred.iter_mut().flat_map(|q| q.drain(..)).collect();
            for m in held {
                intake.admit(m, &mut deferred);
            }
        }
        if intake.messages.is_empty() {
            // Wait for changes, or for a verification's request (answered at once, not after a
            // tick: the pause it asks for should be short).
            // Not while an earlier run's cycle is being read again: the targets are not at a
            // position a barrier could name until it is applied.
            let asking = if barrier.is_none() && requests_open && replay_to.is_none() {
                requests
            } else {
                &never
            };
            crossbeam_channel::select! {
                recv(rx) -> m => match m {
                    Ok(m) => intake.admit(m, &mut deferred),
                    Err(_) => return Ok(MoveEnd::Interrupted),
                },
                recv(asking) -> request => match request {
                    Ok(request) => waiting = Some(request),
                    Err(_) => requests_open = false,
                },
                default(TICK) => {}
            }
            // A request (and no message: the select took one or the other) is answered at the
            // top of the loop, at once.
            if waiting.is_some() && intake.messages.is_empty() && replay_to.is_none() {
                continue;
            }
        }
        // Changes held back count towards the cycle's reading too, so that a busy source past
        // the barrier cannot keep this loop reading forever.
        while intake.images < CYCLE_IMAGES
            && intake.read < CYCLE_IMAGES
            && intake.bytes < CYCLE_BYTES
        {
            let Ok(m) = rx.try_recv() else { break };
            intake.admit(m, &mut deferred);
        }
        if let Some(to) = &replay_to {
            while !intake.reached(to, &applied) {
                match rx.recv_timeout(TICK) {
                    Ok(m) => intake.admit(m, &mut deferred),
                    Err(RecvTimeoutError::Timeout) if !halted() => {}
                    Err(_) => return Ok(MoveEnd::Interrupted),
                }
            }
            tracing::info!(
                "read past the cycle an earlier run was writing; applying it again as one"
            );
            replay_to = None;
            // From here, the cycle's own save records where it ends.
            if let Some(saver) = &mut saver {
                saver.replayed();
            }
        }
        let (messages, images) = (intake.messages, intake.images);
        if images > 0 {
            last_change = std::time::Instant::now();
        }
        // 1. Release what completed chunks were holding, before anything newer.
        for (unit, view) in views.iter_mut().enumerate() {
            let unit_marks = marks.unit_at(unit);
            let completed = unit_marks.take_completed();
            for chunk in &completed {
                tracker.complete(unit, chunk);
            }
            view.absorb(completed.into_iter().map(|c| c.covers));
            if view.held_rows() > 0 {
                let released = view.release(unit_marks.handed()).map_err(internal)?;
                pending[unit % tables].extend(released);
            }
        }
        // 2. Sort the new changes.
        let mut last: Vec<Option<(StreamPoint, u64)>> = vec![None; plan.sources.len()];
        for message in messages {
            for (table, batch) in message.changes {
                let unit = message.source * tables + table;
                let handed = marks.unit_at(unit).handed();
                if let Some(part) = views[unit]
                    .sort(handed, (batch.images, batch.ops))
                    .map_err(internal)?
                {
                    pending[table].push(part);
                }
            }
            last[message.source] = Some((message.point, message.timestamp));
        }
        // 3-4. Apply.
        let stats = if pending.iter().any(|p| !p.is_empty()) {
            // Not while a verification holds the targets at a snapshot's position (its source
            // snapshots are open meanwhile); an interrupt ends the wait at once.
            if barrier.is_none() {
                progress.copy.throttle.wait(&|| halted());
            }
            if let Some(saver) = &mut saver {
                let to: Vec<StreamPoint> = last
                    .iter()
                    .zip(&applied)
                    .map(|(l, a)| l.as_ref().map_or_else(|| a.clone(), |(p, _)| p.clone()))
                    .collect();
                saver.before_cycle(&to, phase(), stop)?;
            }
            applier.apply(&mut pending, stop)?
        } else {
            CycleStats::default()
        };
        // 5. Positions.
        for (source, last) in last.into_iter().enumerate() {
            if let Some((point, timestamp)) = last {
                progress.sources[source].applied(&point.position, timestamp);
                applied[source] = point;
            }
        }
        if let Some(saver) = &mut saver {
            saver.committed(&applied, tracker.copied());
            saver.between_cycles(phase(), false, stop)?;
        }
        let held: usize = views.iter().map(UnitView::held_rows).sum();
        progress.cycle(stats, held as u64);
        if let Some(active) = &barrier
            && held == 0
            && (0..applied.len()).all(|s| applied[s] >= active.limit[s] || !deferred[s].is_empty())
        {
            barrier.take().expect("checked").reached(&halted);
        }
        if let Some(quiet) = options.stop_when_caught_up
            && copy_done
            && held == 0
            && verified.load(Relaxed)
        {
            // Caught up: every change up to ends read after the copy (so after every chunk's
            // snapshot) is applied, and none of a moved table came in for `quiet`. Changes of
            // other tables move the ends, and the positions reach them all the same.
            match &ends {
                Some(ends)
                    if applied
                        .iter()
                        .zip(ends)
                        .any(|(a, e)| a.position < *e || !a.part.is_empty()) => {}
                Some(_) if last_change.elapsed() >= quiet => {
                    tracing::info!("every target is at its sources' binlog ends");
                    save_now(&mut saver)?;
                    return Ok(MoveEnd::CaughtUp);
                }
                _ => match binlog_ends(&plan.sources, &mut control) {
                    Ok(read) => {
                        ends = Some(read);
                        ends_retries.succeeded();
                    }
                    Err(e)
                        if ends_retries.again(
                            "reading the sources' binlog ends",
                            copy_error_class(&e),
                            &e,
                        ) => {}
                    Err(e) => return Err(e),
                },
            }
        }
    }
}

/// The messages a cycle takes in: those to apply now, and (under a barrier) those past its
/// limit, held back per source in order.
struct Intake<'a> {
    limit: Option<&'a [StreamPoint]>,
    queued: &'a QueuedBytes,
    messages: Vec<SourceCommit>,
    /// Row images to apply.
    images: usize,
    /// Row images read, held back or not.
    read: usize,
    /// Bytes of row data to apply.
    bytes: usize,
}

impl<'a> Intake<'a> {
    fn new(limit: Option<&'a [StreamPoint]>, queued: &'a QueuedBytes) -> Intake<'a> {
        Intake {
            limit,
            queued,
            messages: Vec::new(),
            images: 0,
            read: 0,
            bytes: 0,
        }
    }

    /// Whether the messages taken to apply reach `to` on every source (a source whose `to` is
    /// not past `from`, where its stream starts, had nothing in that cycle: reached).
    fn reached(&self, to: &[StreamPoint], from: &[StreamPoint]) -> bool {
        to.iter().zip(from).enumerate().all(|(source, (to, from))| {
            to <= from
                || self
                    .messages
                    .iter()
                    .filter(|m| m.source == source)
                    .any(|m| m.point >= *to)
        })
    }

    /// Takes `m` to apply, or holds it back in `deferred` when it is past the barrier (a
    /// source's messages come in order: once one is past, every later one is).
    fn admit(&mut self, mut m: SourceCommit, deferred: &mut [VecDeque<SourceCommit>]) {
        let rows = message_rows(&m);
        self.read += rows;
        // The stream may send more once the applier has it (held back or not).
        self.queued.taken(std::mem::take(&mut m.bytes));
        let past = self
            .limit
            .is_some_and(|limit| !deferred[m.source].is_empty() || m.point > limit[m.source]);
        if past {
            deferred[m.source].push_back(m);
        } else {
            self.images += rows;
            self.bytes += m
                .changes
                .iter()
                .map(|(_, b)| b.images.get_array_memory_size())
                .sum::<usize>();
            self.messages.push(m);
        }
    }
}

/// A barrier the applier is running up to (see `super::barrier`).
struct ActiveBarrier {
    limit: Vec<StreamPoint>,
    reached: crossbeam_channel::Sender<()>,
    release: Receiver<()>,
}

impl ActiveBarrier {
    /// Answers a freeze request with the `applied` positions and waits, paused, for the limit
    /// (or for the caller to go away, or the move to halt: then nothing is held).
    fn pause(
        request: FreezeRequest,
        applied: &[BinlogPosition],
        halted: &dyn Fn() -> bool,
    ) -> Option<ActiveBarrier> {
        request.frozen.send(applied.to_vec()).ok()?;
        loop {
            match request.limit.recv_timeout(TICK) {
                Ok(limit) => {
                    return Some(ActiveBarrier {
                        limit: limit.into_iter().map(StreamPoint::at).collect(),
                        reached: request.reached,
                        release: request.release,
                    });
                }
                Err(RecvTimeoutError::Timeout) if !halted() => {}
                Err(_) => return None,
            }
        }
    }

    /// The targets are at the limit: says so and stays paused until released.
    fn reached(self, halted: &dyn Fn() -> bool) {
        if self.reached.send(()).is_err() {
            return; // the caller gave up waiting
        }
        while let Err(RecvTimeoutError::Timeout) = self.release.recv_timeout(TICK) {
            if halted() {
                return;
            }
        }
    }
}

/// Whether retrying what failed with `e` can help.
fn copy_error_class(e: &CopyError) -> reshard_types::ErrorClass {
    match e {
        CopyError::Server(m) => m.class(),
        _ => reshard_types::ErrorClass::Definite,
    }
}

/// Where each source's binlog ends now, over `control` connections (one per source, opened when
/// `None`, kept between calls).
fn binlog_ends(
    sources: &[Dsn],
    control: &mut [Option<RawConn>],
) -> Result<Vec<BinlogPosition>, CopyError> {
    let mut ends = Vec::with_capacity(control.len());
    for (dsn, conn) in sources.iter().zip(control.iter_mut()) {
        if conn.is_none() {
            *conn = Some(RawConn::connect(dsn)?);
        }
        let end = binlog_end(conn.as_mut().expect("connected above")).inspect_err(|_| {
            *conn = None;
        })?;
        ends.push(end);
    }
    Ok(ends)
}

fn message_rows(message: &SourceCommit) -> usize {
    message
        .changes
        .iter()
        .map(|(_, b)| b.images.num_rows())
        .sum()
}

/// The key column of a table chunked by integer ranges.
fn integer_key(table: &crate::copy::CopyTable) -> Option<usize> {
    let walk = reshard_mysql::keyset::KeyWalk::new(&table.schema, &table.key).ok()?;
    walk.integer()?;
    table.key.columns.first().copied()
}

/// Looks once a second, until `finished`, for a request to stop this move (`reshard cancel`,
/// [`crate::checkpoint::CheckpointStore::request_stop`]), and stops it with an error saying so.
fn watch_for_stop(
    mut store: crate::checkpoint::CheckpointStore,
    checkpoint: &Checkpointing,
    stop: &Stop,
    finished: &AtomicBool,
) {
    while !finished.load(Relaxed) && !stop.stopped() {
        // Past the start of a cutover's hook a move is not abandoned: it finishes.
        let cutting_over = checkpoint
            .cutover()
            .is_some_and(|c| c.step != crate::cutover::CutoverStep::Locking);
        match store.stop_requested() {
            Ok(true) if !cutting_over => {
                stop.fail(CopyError::Refused(String::from(
                    "stopped by reshard cancel, which abandons this move",
                )));
                return;
            }
            Ok(_) => {}
            Err(e) => tracing::debug!("looking for a request to stop: {e}"),
        }
        let mut waited = Duration::ZERO;
        while waited < Duration::from_secs(1) && !finished.load(Relaxed) && !stop.stopped() {
            std::thread::sleep(TICK);
            waited += TICK;
        }
    }
}

/// Measures each source's lag once a second until `finished`.
fn monitor_lag(plan: &CopyPlan, progress: &MoveProgress, finished: &AtomicBool) {
    let mut conns: Vec<Option<RawConn>> = plan.sources.iter().map(|_| None).collect();
    while !finished.load(Relaxed) {
        for (source, dsn) in plan.sources.iter().enumerate() {
            let lag = &progress.sources[source];
            let measured = (|| -> Result<(), MysqlError> {
                if conns[source].is_none() {
                    conns[source] = Some(RawConn::connect(dsn)?);
                }
                let conn = conns[source].as_mut().expect("connected above");
                let end = binlog_end(conn)?;
                let files = binary_log_sizes(conn)?;
                let bytes = bytes_between(&files, &lag.applied_position(), &end);
                lag.measured(end, bytes, now());
                Ok(())
            })();
            if let Err(e) = measured {
                conns[source] = None;
                tracing::warn!("measuring the lag of {dsn}: {e}");
            }
        }
        let mut waited = Duration::ZERO;
        while waited < LAG_EVERY && !finished.load(Relaxed) {
            std::thread::sleep(TICK);
            waited += TICK;
        }
    }
}
