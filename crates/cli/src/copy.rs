//! `reshard copy`: an offline copy of whole tables from N sources to M targets, each row to the
//! target whose key range holds its keyspace id.
//!
//! Order of work: build the topology from flags and files (bad input exits 2 before anything
//! connects); set up (discover, check every table on every source and target, and only then
//! create or empty target tables); copy with progress; add deferred indexes; check each target
//! table's row count against the rows routed to it; print a summary.

use std::sync::Arc;

use reshard_engine::CopyError;
use reshard_engine::config::TopologyInput;
use reshard_engine::copy::{CopyEnd, CopyTable, TableRoute};
use reshard_engine::job::{CopyJob, Event, Observer};
use reshard_engine::online::MoveProgress;
use reshard_engine::progress::CopyProgress;
use reshard_engine::topology::Topology;

use crate::Failure;
use crate::args::{CopyArgs, TopologyArgs};
use crate::failures::{failure, unfinished, with_leftovers};
use crate::format::{human_bytes, rate, seconds};
use crate::output::out;
use crate::progress_display::ProgressDisplay;
use crate::secrets::{SOURCE_PASSWORD_ENV, TARGET_PASSWORD_ENV, role_password};

pub(crate) async fn run(args: CopyArgs) -> Result<(), Failure> {
    let topology = topology(&args.topology)?;
    let (limits, replicas) = args.throttle.limits().map_err(Failure::BadInput)?;
    let mut options = args.tuning.copy_options();
    options.throttle = limits;
    let job = CopyJob::new(topology)
        .options(options)
        .throttle_replicas(replicas)
        .throttle_file(args.throttle.throttle_file.clone())
        .force(args.force)
        .defer_secondary_indexes(args.defer_secondary_indexes);
    // Ctrl-C and SIGTERM stop the copy at its next safe point.
    let cancel = crate::signals::watch("stopping the copy after the batches in flight");
    let display = Arc::new(Display::new(job.topology()));
    let _listener = match &args.listen {
        Some(addr) => Some(crate::serve::listen(addr, display.clone())?),
        None => None,
    };
    let outcome = job.run(&cancel, display.as_ref()).await;
    display.finish(matches!(&outcome, Ok(report) if report.end == CopyEnd::Done));
    let report = outcome.map_err(|e| display.failure(e))?;
    let progress = &report.progress;
    if report.end == CopyEnd::Interrupted {
        return Err(Failure::Interrupted(unfinished(progress)));
    }
    let topology = job.topology();
    let copy_time = progress.copy_time();
    let snapshots = progress.snapshot();
    let rows: u64 = snapshots.iter().map(|s| s.rows_read).sum();
    let bytes: u64 = snapshots.iter().map(|s| s.bytes_read).sum();
    let retries: u64 = snapshots.iter().map(|s| s.retries).sum();
    let total = progress.started.elapsed();
    out!(
        "copied {} table(s), {rows} rows, {} in {} ({} copying): {} rows/s, {}/s{}",
        snapshots.len(),
        human_bytes(bytes),
        seconds(total),
        seconds(copy_time),
        rate(rows, copy_time),
        human_bytes(rate(bytes, copy_time)),
        if retries > 0 {
            format!("; {retries} transient error(s) retried")
        } else {
            String::new()
        }
    );
    if let Some(limit) = progress.stages.snapshot().limit(copy_time) {
        out!("  limiting stage: {}", limit.describe());
    }
    if let Some(throttle) = crate::format::throttled(&progress.throttle.snapshot()) {
        out!("  {throttle}");
    }
    if topology.targets.len() > 1 {
        for (t, target) in topology.targets.iter().enumerate() {
            let rows: u64 = snapshots.iter().map(|s| s.rows_per_target[t]).sum();
            out!("  target {} [{}]: {rows} rows", t + 1, target.name);
        }
    }
    Ok(())
}

/// What the CLI shows of a running job: the plan in the log, then the progress display.
pub(crate) struct Display {
    /// The targets' names, for the plan.
    targets: Vec<String>,
    copy: std::sync::Mutex<Option<Arc<CopyProgress>>>,
    moving: std::sync::Mutex<Option<Arc<MoveProgress>>>,
    shown: std::sync::Mutex<Option<ProgressDisplay>>,
}

impl Display {
    /// A display for a job between the servers of `topology`.
    pub(crate) fn new(topology: &Topology) -> Display {
        Display {
            targets: topology.targets.iter().map(|t| t.name.clone()).collect(),
            copy: std::sync::Mutex::new(None),
            moving: std::sync::Mutex::new(None),
            shown: std::sync::Mutex::new(None),
        }
    }

    /// An engine error as the CLI reports it, with the tables the targets were left holding in
    /// part once a copy had begun.
    pub(crate) fn failure(&self, e: CopyError) -> Failure {
        let failure = failure(e);
        if let Some(copy) = self.copy.lock().expect("display lock").as_ref() {
            return with_leftovers(failure, copy);
        }
        match self.moving.lock().expect("display lock").as_ref() {
            Some(moving) => with_leftovers(failure, &moving.copy),
            None => failure,
        }
    }

    /// Stops the display; `completed` says whether the copy finished.
    pub(crate) fn finish(&self, completed: bool) {
        if let Some(shown) = self.shown.lock().expect("display lock").take() {
            shown.finish(completed);
        }
    }
}

impl crate::serve::StatusSource for Display {
    fn status(&self) -> Option<reshard_engine::status::Status> {
        if let Some(moving) = self.moving.lock().expect("display lock").as_ref() {
            return Some(reshard_engine::status::Status::of_move(moving));
        }
        self.copy
            .lock()
            .expect("display lock")
            .as_ref()
            .map(|copy| reshard_engine::status::Status::of_copy(copy))
    }
}

impl Observer for Display {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Planned(tables) => {
                for prepared in *tables {
                    tracing::info!(
                        table = %prepared.table.schema.qualified_name(),
                        placement = %describe_route(&prepared.table, &self.targets),
                        "planned"
                    );
                }
            }
            Event::Copying(progress) => {
                *self.copy.lock().expect("display lock") = Some(Arc::clone(progress));
                *self.shown.lock().expect("display lock") =
                    Some(ProgressDisplay::start(Arc::clone(progress)));
            }
            Event::Resuming {
                checkpoint,
                cleaned,
            } => {
                let (done, units) = checkpoint.units_copied();
                let positions: Vec<String> = checkpoint
                    .positions()
                    .iter()
                    .map(ToString::to_string)
                    .collect();
                tracing::info!(
                    "resuming this move from its checkpoint (saved {} s ago): {}; {done} of {units} (source, table) copies finished; streams restart at {}",
                    reshard_engine::online::unix_now().saturating_sub(checkpoint.saved_at),
                    checkpoint.phase.name(),
                    positions.join(", ")
                );
                let deleted: u64 = cleaned.iter().map(|c| c.rows).sum();
                if deleted > 0 {
                    for c in cleaned.iter().filter(|c| c.rows > 0) {
                        tracing::info!(
                            "deleted {} row(s) of {} on target {} from chunks in flight when the last run stopped; they are copied again",
                            c.rows,
                            c.table,
                            self.targets[c.target]
                        );
                    }
                }
            }
            Event::Discarding(checkpoint) => {
                let (done, units) = checkpoint.units_copied();
                tracing::warn!(
                    "--force: discarding this move's checkpoint ({}, {done} of {units} (source, table) copies finished, tables {}) and emptying its target tables that hold rows; the move starts over",
                    checkpoint.phase.name(),
                    checkpoint.identity.table_names().join(", ")
                );
            }
            Event::Moving(progress) => {
                *self.moving.lock().expect("display lock") = Some(Arc::clone(progress));
                *self.shown.lock().expect("display lock") =
                    Some(ProgressDisplay::start(Arc::clone(progress)));
            }
            _ => {}
        }
    }
}

/// The validated topology, or a bad-input failure (nothing has connected).
pub(crate) fn topology(args: &TopologyArgs) -> Result<Topology, Failure> {
    TopologyInput {
        sources: args.sources.clone(),
        targets: args.targets.clone(),
        config: args.config.clone(),
        vschema: args.vschema.clone(),
        shard_by: args.shard_by.clone(),
        key_ranges: args.key_ranges.clone(),
        unsharded_target: args.unsharded_target.clone(),
        source_key_ranges: args.source_key_ranges.clone(),
        source_shards: args.source_shards.clone(),
        tables: args.tables.clone(),
        source_password: role_password(args.source_password_file.as_deref(), SOURCE_PASSWORD_ENV)?,
        target_password: role_password(args.target_password_file.as_deref(), TARGET_PASSWORD_ENV)?,
    }
    .topology()
    .map_err(|e| Failure::BadInput(e.to_string()))
}

/// `sharded by customer_id (hash)`, `whole to -80`, `to every target`.
fn describe_route(table: &CopyTable, targets: &[String]) -> String {
    match table.route {
        TableRoute::Shard { column, vindex } => format!(
            "sharded by `{}` ({})",
            table.schema.columns[column].name,
            vindex.name()
        ),
        TableRoute::To(t) => format!("whole to target {}", targets[t]),
        TableRoute::Everywhere => String::from("whole to every target"),
    }
}
