//! `reshard move`: an online move. Sets up the targets like `reshard copy`, starts one binlog
//! stream per source, copies while applying the changes the sources take meanwhile, and keeps
//! applying them until interrupted (Ctrl-C or SIGTERM, which stop after the current cycle; exit 3
//! when the copy was not done by then, see [`crate::signals`]) or,
//! with `--stop-when-caught-up`, until the targets have reached the sources' binlog positions.
//!
//! Before anything is written: the topology is validated (exit 2), every source must log in
//! ROW format with FULL row images (the move cannot follow anything else), and the tables are
//! checked like a copy's.

use std::sync::Arc;

use reshard_engine::copy::{SetupOptions, lock_targets, prepare_copy};
use reshard_engine::online::{
    ChangeSnapshot, MoveEnd, MoveOptions, MoveProgress, SourceLag, run_move, start_positions,
};
use reshard_mysql::binlog::BinlogReader;
use reshard_mysql::{Role, Verdict, assess};
use reshard_types::{Dsn, Flavor};

use crate::Failure;
use crate::args::MoveArgs;
use crate::copy::{copy_progress, failure, human_bytes, seconds, topology};
use crate::output::out;
use crate::progress_display::ProgressDisplay;

pub(crate) async fn run(args: MoveArgs) -> Result<(), Failure> {
    let topology = topology(&args.topology)?;
    // Held until this function returns: no other reshard run writes into these databases.
    let _locks = lock_targets(&topology).await.map_err(failure)?;
    // From here on, Ctrl-C and SIGTERM stop the move at its next safe point (during the setup:
    // before the copy starts).
    let interrupt = crate::signals::watch("stopping the move after the current cycle");
    for source in &topology.sources {
        check_source(source).await?;
    }
    // The streams start here: before the tables are discovered (a DDL after this point stops
    // the move instead of going unseen) and before the copy reads anything.
    let sources = topology.sources.clone();
    let positions = tokio::task::spawn_blocking(move || start_positions(&sources))
        .await
        .map_err(|e| Failure::Unfit(format!("reading the binlog positions stopped: {e}")))?
        .map_err(|e| Failure::Unfit(e.to_string()))?;
    let server_id = args.server_id.unwrap_or_else(default_server_id);
    // Whether each source lets this user stream its binary log, before anything is written.
    for (i, (source, at)) in topology.sources.iter().zip(&positions).enumerate() {
        let id = server_id.wrapping_add(u32::try_from(i).expect("fewer than 2^32 sources"));
        BinlogReader::probe(source, at.clone(), id)
            .await
            .map_err(|e| Failure::Unfit(format!("nothing was written: {e}")))?;
    }
    let setup = prepare_copy(
        &topology,
        &SetupOptions {
            force: args.force,
            defer_secondary_indexes: false,
            online: true,
        },
    )
    .await
    .map_err(failure)?;
    let plan = setup.plan(&topology);
    let targets = plan.targets.clone();
    let options = MoveOptions {
        copy: args.tuning.copy_options(),
        stop_when_caught_up: args.stop_when_caught_up,
        server_id,
        tables_already_copied: false,
    };
    let progress = Arc::new(MoveProgress::new(
        copy_progress(&setup, targets.len()),
        plan.sources
            .iter()
            .zip(positions)
            .map(|(dsn, at)| {
                tracing::info!(source = %dsn, position = %at, "streaming changes from");
                SourceLag::new(dsn.to_string(), at)
            })
            .collect(),
    ));
    tracing::info!(
        tables = plan.tables.len(),
        sources = plan.sources.len(),
        targets = %topology.describe_targets(),
        "moving"
    );
    let display = ProgressDisplay::start(Arc::clone(&progress));
    let (move_progress, flag) = (Arc::clone(&progress), Arc::clone(&interrupt));
    let outcome =
        tokio::task::spawn_blocking(move || run_move(&plan, options, &move_progress, &flag))
            .await
            .map_err(|e| Failure::Unfit(format!("the move stopped unexpectedly: {e}")));
    let end = outcome.and_then(|r| {
        r.map_err(|e| crate::copy::with_leftovers(Failure::Unfit(e.to_string()), &progress.copy))
    });
    let copy_done = progress.copy_done();
    display.finish(copy_done && end.is_ok());
    let end = end?;
    let snapshots = progress.copy.snapshot();
    let written: u64 = snapshots.iter().map(|s| s.rows_inserted).sum();
    let changes = progress.changes();
    let what = match end {
        MoveEnd::CaughtUp => "caught up",
        MoveEnd::Interrupted => "stopped",
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
        if end == MoveEnd::CaughtUp {
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
    if !copy_done {
        return Err(Failure::Interrupted(crate::copy::unfinished(
            &progress.copy,
        )));
    }
    Ok(())
}

/// One line on the change side of a move, for the progress display.
pub(crate) fn changes_line(changes: &ChangeSnapshot) -> String {
    let lags: Vec<String> = changes
        .sources
        .iter()
        .enumerate()
        .map(|(i, lag)| {
            format!(
                "source {} {} s / {} behind",
                i + 1,
                lag.seconds_behind,
                human_bytes(lag.bytes_behind)
            )
        })
        .collect();
    format!(
        "{} applied, {} held; {}",
        changes.images,
        changes.held,
        lags.join(", ")
    )
}

/// Refuses a source whose binlog the move cannot follow, naming the setting and the fix.
async fn check_source(dsn: &Dsn) -> Result<(), Failure> {
    let facts = crate::check::read_facts(dsn)
        .await
        .map_err(|e| Failure::Unfit(e.to_string()))?;
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
    Err(Failure::Unfit(format!(
        "source {dsn} cannot be moved from; nothing was written:\n  - {}",
        problems.join("\n  - ")
    )))
}

/// A replica server id for the streams: fixed high bits, the process id below, so two moves on
/// one host do not collide.
fn default_server_id() -> u32 {
    0x5e00_0000 | ((std::process::id() & 0xffff) << 8)
}
