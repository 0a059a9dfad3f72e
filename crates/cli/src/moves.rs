//! `reshard move`: an online move. Sets up the targets like `reshard copy`, starts one binlog
//! stream per source, copies while applying the changes the sources take meanwhile, and keeps
//! applying them until interrupted (Ctrl-C or SIGTERM, which stop after the current cycle; exit 3
//! when the copy was not done by then, see [`crate::signals`]) or,
//! with `--stop-when-caught-up`, until the targets have reached the sources' binlog positions.
//!
//! Before anything is written: the topology is validated (exit 2), every source must log in
//! ROW format with FULL row images (the move cannot follow anything else), and the tables are
//! checked like a copy's.

use reshard_engine::job::MoveJob;
use reshard_engine::online::MoveEnd;

use crate::Failure;
use crate::args::MoveArgs;
use crate::copy::{Display, topology};
use crate::format::seconds;
use crate::output::out;

pub(crate) async fn run(args: MoveArgs) -> Result<(), Failure> {
    if args.cutover.reverse && args.cutover.options().is_none() {
        return Err(Failure::BadInput(String::from(
            "--reverse streams the targets' writes back after the cutover: give --cutover or --defer-cutover with it",
        )));
    }
    let topology = topology(&args.topology)?;
    let (limits, replicas) = args.throttle.limits().map_err(Failure::BadInput)?;
    let mut options = args.tuning.copy_options();
    options.throttle = limits;
    let job = MoveJob::new(topology)
        .options(options)
        .throttle_replicas(replicas)
        .throttle_file(args.throttle.throttle_file.clone())
        .force(args.force)
        .defer_secondary_indexes(args.defer_secondary_indexes)
        .stop_when_caught_up(args.stop_when_caught_up)
        .server_id(args.server_id)
        .checkpoint(!args.no_checkpoint)
        .cutover(args.cutover.options());
    // Ctrl-C and SIGTERM stop the move at its next safe point (during the setup: before the copy
    // starts).
    let cancel = crate::signals::watch("stopping the move after the current cycle");
    let display = std::sync::Arc::new(Display::new(job.topology()));
    let _listener = match &args.listen {
        Some(addr) => Some(crate::serve::listen(addr, display.clone())?),
        None => None,
    };
    let outcome = job.run(&cancel, display.as_ref()).await;
    display.finish(matches!(&outcome, Ok(report) if report.progress.copy_done()));
    let report = outcome.map_err(|e| display.failure(e))?;
    if let Some(record) = &report.cutover
        && matches!(report.end, MoveEnd::CutOver | MoveEnd::AlreadyCutOver)
    {
        print_cutover(&report, record);
        // Nothing copied or applied in this run (an earlier one had cut over, or this one only
        // finished its renames): no counters to show.
        if report.end == MoveEnd::AlreadyCutOver || report.progress.copy.tables.is_empty() {
            return reverse_after(&args, job.topology(), &cancel).await;
        }
    }
    let progress = &report.progress;
    let copy_done = progress.copy_done();
    let written: u64 = progress
        .copy
        .snapshot()
        .iter()
        .map(|s| s.rows_inserted)
        .sum();
    let changes = progress.changes();
    let what = match report.end {
        MoveEnd::CaughtUp => "caught up",
        MoveEnd::CutOver => "cut over",
        _ => "stopped",
    };
    out!(
        "{what} after {}: copied {written} rows; applied {} change images ({} deletes, {} upserts on targets)",
        seconds(progress.copy.started.elapsed()),
        changes.images,
        changes.deletes,
        changes.upserts,
    );
    // The applied position is what the targets hold; the binlog end last measured may be older
    // than it, so it is not shown here. Only a caught-up move has applied past every chunk's
    // snapshot (the ends it reached were read after the copy), so only then are the targets the
    // sources at one position.
    for lag in &changes.sources {
        if matches!(report.end, MoveEnd::CaughtUp | MoveEnd::CutOver) {
            out!(
                "  {}: the targets equal this source as of binlog {}",
                lag.name,
                lag.applied
            );
        } else {
            out!(
                "  {}: changes applied up to binlog {} (stopped before catching up: the targets are not yet equal to it)",
                lag.name,
                lag.applied
            );
        }
    }
    if let Some(throttle) = crate::format::throttled(&progress.copy.throttle.snapshot()) {
        out!("  {throttle}");
    }
    if let Some(verification) = progress
        .verification()
        .filter(|v| v.tables.is_empty() && v.equal())
    {
        let _ = verification;
        out!(
            "  every table was verified by an earlier run of this move (its checkpoint says so), and the changes applied since keep it equal"
        );
    } else if let Some(verification) = progress.verification() {
        let repairs = verification.repairs();
        out!(
            "  verified {} table(s), {} rows, each chunk at one binlog position per source: {}{}",
            verification.tables.len(),
            verification
                .tables
                .iter()
                .map(|t| t.source_rows)
                .sum::<u64>(),
            if verification.equal() {
                "the targets hold exactly the sources' rows"
            } else if verification.cancelled {
                "interrupted before every table was verified"
            } else {
                "rows differ"
            },
            if repairs > 0 {
                format!(
                    "; {repairs} row(s) were repaired first (a writer other than reshard on a target, or a bug in reshard): {}",
                    verification
                        .tables
                        .iter()
                        .flat_map(|t| t
                            .repaired_rows
                            .iter()
                            .map(move |r| format!("{} {} on {}", t.table, r.key, r.target)))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            } else {
                String::new()
            }
        );
    }
    if report.end == MoveEnd::CutOver {
        return reverse_after(&args, job.topology(), &cancel).await;
    }
    if !copy_done {
        return Err(Failure::Interrupted(crate::failures::unfinished(
            &progress.copy,
        )));
    }
    if args.cutover.options().is_some() {
        // Asked to cut over: anything less is unfinished.
        return Err(Failure::Interrupted(String::from(
            "the move stopped before its cutover; run the same command again to go on (it resumes from its checkpoint)",
        )));
    }
    if args.stop_when_caught_up.is_some() && report.end != MoveEnd::CaughtUp {
        // Asked to end caught up and verified: anything less is unfinished, whatever the copy did.
        return Err(Failure::Interrupted(String::from(
            "the move stopped before it had caught up and verified every table (a clean \
             verification pass is what --stop-when-caught-up ends on); nothing is proven: run it \
             again (with --force) to finish",
        )));
    }
    Ok(())
}

/// The cutover's lines: when, the positions, and how long the sources were locked.
fn print_cutover(
    report: &reshard_engine::job::MoveReport,
    record: &reshard_engine::cutover::CutoverRecord,
) {
    let when = record.done_at.unwrap_or(record.started_at);
    if report.end == MoveEnd::AlreadyCutOver {
        out!(
            "this move cut over at Unix time {when} ({} s ago): the source tables are renamed to <table>{}; nothing to do",
            reshard_engine::online::unix_now().saturating_sub(when),
            record.suffix
        );
    } else {
        let locked = report.progress.cutover().locked_ms;
        out!(
            "cut over: the source tables are renamed to <table>{}{}",
            record.suffix,
            locked.map_or_else(String::new, |ms| format!(
                "; the sources were locked for {ms} ms"
            ))
        );
    }
    for (i, p) in record.source_positions.iter().enumerate() {
        out!(
            "  source {}: the targets hold its changes up to binlog {}:{}",
            i + 1,
            p.file,
            p.offset
        );
    }
    for (i, p) in record.target_positions.iter().enumerate() {
        out!(
            "  target {}: binlog {}:{} when the application was switched",
            i + 1,
            p.file,
            p.offset
        );
    }
}

/// `--reverse`: once cut over, the rollback window's stream, in this process.
async fn reverse_after(
    args: &MoveArgs,
    topology: &reshard_engine::topology::Topology,
    cancel: &reshard_engine::job::Cancel,
) -> Result<(), Failure> {
    if !args.cutover.reverse {
        return Ok(());
    }
    out!(
        "streaming the application's writes to the targets back into the sources' <table>_old tables until stopped"
    );
    let report = reshard_engine::job::ReverseJob::new(topology.clone())
        .options(args.tuning.copy_options())
        .server_id(args.server_id)
        .run(cancel, &reshard_engine::job::Quiet)
        .await
        .map_err(crate::failures::failure)?;
    crate::lifecycle::render(&report, false)
}
