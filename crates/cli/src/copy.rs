//! `reshard copy`: an offline copy of whole tables from one source to one target.
//!
//! Order of work: parse both DSNs (bad input exits 2 before anything connects); set up (discover,
//! check every table, and only then create or empty target tables); copy with progress; add
//! deferred indexes; check each target table's row count against the rows read; print a summary.

use std::sync::Arc;
use std::time::Duration;

use reshard_engine::CopyError;
use reshard_engine::copy::{
    CopyOptions, CopyPlan, SetupOptions, finish_targets, prepare_copy, run_copy,
};
use reshard_engine::progress::{CopyProgress, TableProgress};
use reshard_mysql::reader::BatchLimits;
use reshard_types::Dsn;

use crate::Failure;
use crate::args::CopyArgs;
use crate::progress_display::ProgressDisplay;

pub(crate) async fn run(args: CopyArgs) -> Result<(), Failure> {
    let source = parse_dsn("--source", &args.source)?;
    let target = parse_dsn("--target", &args.target)?;
    let setup_options = SetupOptions {
        tables: args.tables.clone(),
        force: args.force,
        defer_secondary_indexes: args.defer_secondary_indexes,
    };
    let setup = prepare_copy(&source, &target, &setup_options)
        .await
        .map_err(failure)?;
    let plan = CopyPlan {
        sources: vec![source],
        target: target.clone(),
        tables: setup.tables.iter().map(|p| p.table.clone()).collect(),
    };
    let options = CopyOptions {
        read_threads: usize::from(args.threads),
        write_threads: usize::from(args.write_threads),
        target_chunk_bytes: args.target_chunk_size,
        batch: BatchLimits::default(),
    };
    let progress = Arc::new(CopyProgress::new(
        setup
            .tables
            .iter()
            .map(|p| TableProgress::new(p.table.schema.qualified_name(), p.estimated_rows))
            .collect(),
    ));
    tracing::info!(
        tables = plan.tables.len(),
        threads = options.read_threads,
        write_threads = options.write_threads,
        chunk_bytes = options.target_chunk_bytes,
        "copying"
    );
    let display = ProgressDisplay::start(Arc::clone(&progress));
    let copy_progress = Arc::clone(&progress);
    let outcome = tokio::task::spawn_blocking(move || run_copy(&plan, options, &copy_progress))
        .await
        .map_err(|e| Failure::Unfit(format!("the copy stopped unexpectedly: {e}")));
    display.finish();
    outcome?.map_err(failure)?;
    let copy_time = progress.started.elapsed();

    let snapshots = progress.snapshot();
    let rows_read: Vec<u64> = snapshots.iter().map(|s| s.rows_read).collect();
    finish_targets(&target, &setup, &rows_read)
        .await
        .map_err(failure)?;

    let rows: u64 = rows_read.iter().sum();
    let bytes: u64 = snapshots.iter().map(|s| s.bytes_read).sum();
    let retries: u64 = snapshots.iter().map(|s| s.retries).sum();
    let total = progress.started.elapsed();
    println!(
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
    Ok(())
}

fn parse_dsn(flag: &str, text: &str) -> Result<Dsn, Failure> {
    Dsn::parse(text).map_err(|e| Failure::BadInput(format!("{flag}: {e}")))
}

fn failure(e: CopyError) -> Failure {
    Failure::Unfit(e.to_string())
}

/// Per second over `d`, as a whole number.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)] // a non-negative display figure
pub(crate) fn rate(n: u64, d: Duration) -> u64 {
    let secs = d.as_secs_f64();
    if secs > 0.0 {
        (n as f64 / secs).round() as u64
    } else {
        n
    }
}

pub(crate) fn seconds(d: Duration) -> String {
    format!("{:.1} s", d.as_secs_f64())
}

/// `1.5 GB`-style, decimal units as disks and network rates are quoted.
pub(crate) fn human_bytes(n: u64) -> String {
    let n = n as f64;
    if n >= 1e9 {
        format!("{:.2} GB", n / 1e9)
    } else if n >= 1e6 {
        format!("{:.1} MB", n / 1e6)
    } else if n >= 1e3 {
        format!("{:.1} kB", n / 1e3)
    } else {
        format!("{n} B")
    }
}
