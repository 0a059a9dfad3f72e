//! The workflow's other ends: `reshard cancel` (abandon a move that has not cut over),
//! `reshard reverse` (the rollback window's stream), `reshard rollback` (switch back) and
//! `reshard complete` (end the window). The engine does the work; this parses and renders.

use reshard_engine::checkpoint::reset::{TargetTables, discard};
use reshard_engine::cutover::complete::complete;
use reshard_engine::job::{MoveReport, Quiet, ReverseJob};
use reshard_engine::online::MoveEnd;

use crate::Failure;
use crate::args::{CancelArgs, CompleteArgs, ReverseArgs};
use crate::failures::failure;
use crate::output::out;

/// `reshard cancel`.
pub(crate) async fn cancel(args: &CancelArgs) -> Result<(), Failure> {
    let topology = crate::copy::topology(&args.topology)?;
    let how = if args.drop_target_tables {
        TargetTables::Drop
    } else {
        TargetTables::Keep
    };
    let report = discard(&topology, how).await.map_err(failure)?;
    out!(
        "cancelled the move of {}: its checkpoint is deleted{}",
        report.tables.join(", "),
        if report.sentinel_dropped {
            ", and its cutover sentinel dropped"
        } else {
            ""
        }
    );
    for (target, table, rows) in &report.emptied {
        out!("  dropped {table} on target {target} ({rows} rows)");
    }
    if !args.drop_target_tables {
        out!("  the target tables are left as they are (--drop-target-tables drops them)");
    }
    Ok(())
}

/// `reshard complete`.
pub(crate) async fn finish(args: &CompleteArgs) -> Result<(), Failure> {
    let topology = crate::copy::topology(&args.topology)?;
    let report = complete(&topology, args.drop_old_tables)
        .await
        .map_err(failure)?;
    if report.already {
        out!(
            "the move of {} was completed before; nothing to do",
            report.tables.join(", ")
        );
        return Ok(());
    }
    out!(
        "completed the move of {}: the rollback window is closed{}",
        report.tables.join(", "),
        if report.reverse_ended {
            " (the reverse stream's checkpoint is deleted)"
        } else {
            ""
        }
    );
    for (source, table, rows) in &report.dropped {
        out!("  dropped {table} on {source} ({rows} rows)");
    }
    Ok(())
}

/// `reshard reverse` (`rollback` false) and `reshard rollback`.
pub(crate) async fn reverse(args: ReverseArgs, rollback: bool) -> Result<(), Failure> {
    let topology = crate::copy::topology(&args.topology)?;
    let job = ReverseJob::new(topology)
        .options(args.tuning.copy_options())
        .server_id(args.server_id)
        .rollback(rollback.then(|| {
            args.switch
                .options(false, std::time::Duration::from_secs(3600), "_old")
        }));
    let cancel = crate::signals::watch("stopping the reverse stream after the current cycle");
    let report = job.run(&cancel, &Quiet).await.map_err(failure)?;
    render(&report, rollback)
}

/// The end of a reverse stream or rollback.
pub(crate) fn render(report: &MoveReport, rollback: bool) -> Result<(), Failure> {
    match report.end {
        MoveEnd::CutOver => {
            out!(
                "rolled back: the targets' tables are renamed <table>_old and the sources' tables serve again under their own names"
            );
            if let Some(record) = &report.cutover {
                for (i, p) in record.source_positions.iter().enumerate() {
                    out!(
                        "  target {}: the sources hold its changes up to binlog {}:{}",
                        i + 1,
                        p.file,
                        p.offset
                    );
                }
            }
            Ok(())
        }
        MoveEnd::AlreadyCutOver => {
            out!("this move was rolled back before; nothing to do");
            Ok(())
        }
        _ => {
            for lag in &report.progress.changes().sources {
                out!(
                    "  {}: its changes are in the sources' <table>_old tables up to binlog {}",
                    lag.name,
                    lag.applied
                );
            }
            if rollback {
                return Err(Failure::Interrupted(String::from(
                    "stopped before the rollback switched back; run reshard rollback again to go on",
                )));
            }
            out!(
                "stopped; run reshard reverse again to go on, reshard rollback to switch back, or reshard complete to end the window"
            );
            Ok(())
        }
    }
}
