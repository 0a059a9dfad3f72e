//! A running copy or move at one moment, as data: what `/status` serves as JSON and `/metrics`
//! renders for Prometheus, built from the live counters ([`CopyProgress`], [`MoveProgress`]).

use std::sync::atomic::Ordering::Relaxed;

use serde::Serialize;

use crate::online::MoveProgress;
use crate::progress::CopyProgress;

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Phase {
    /// Copying rows (a move applies changes meanwhile).
    Copying,
    /// A move's copy is done; it verifies the tables.
    Verifying,
    /// A move's copy is done (and verified, if it verifies); it applies changes.
    Applying,
    /// A copy's workers have ended.
    Done,
}

/// A job at one moment.
#[derive(Debug, Clone, Serialize)]
#[non_exhaustive]
pub struct Status {
    /// Where it is.
    pub phase: Phase,
    /// Seconds since the copy started.
    pub elapsed_seconds: f64,
    /// Rows written to the targets by the copy.
    pub rows_copied: u64,
    /// Row bytes read from the sources.
    pub bytes_read: u64,
    /// Rows per second over the copy's time.
    pub rows_per_second: u64,
    /// Transient errors retried by the copy, in all (each is logged with its server).
    pub retries: u64,
    /// Each table's copy.
    pub tables: Vec<TableStatus>,
    /// A move's change side; `None` for a copy.
    pub changes: Option<ChangesStatus>,
    /// Whether the job is held back for the servers' sake, and for how long it was.
    pub throttle: ThrottleStatus,
    /// A move's verification, once it has begun.
    pub verification: Option<VerificationStatus>,
    /// A move's cutover, once it waits for its sentinel or has begun.
    pub cutover: Option<crate::online::CutoverProgress>,
}

/// One table's copy.
#[derive(Debug, Clone, Serialize)]
pub struct TableStatus {
    /// `` `db`.`table` ``.
    pub table: String,
    /// The sources' estimate of its rows.
    pub estimated_rows: u64,
    /// Rows written to the targets.
    pub rows_copied: u64,
    /// Chunks read and written.
    pub chunks_done: u64,
    /// Whether every chunk has been read.
    pub read_done: bool,
    /// Transient errors (a lost connection, a deadlock) retried while copying it.
    pub retries: u64,
}

/// A move's change side.
#[derive(Debug, Clone, Serialize)]
pub struct ChangesStatus {
    /// Row images applied.
    pub images_applied: u64,
    /// Row images held until their chunk is on every target.
    pub held: u64,
    /// Per source.
    pub sources: Vec<SourceStatus>,
}

/// How far the targets are behind one source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceStatus {
    /// The source (password hidden).
    pub source: String,
    /// Where its changes are applied up to.
    pub applied: String,
    /// Where its binary log ended when last asked.
    pub end: String,
    /// Seconds between the oldest change not applied and now.
    pub lag_seconds: u64,
    /// Binlog bytes not applied.
    pub lag_bytes: u64,
}

/// The throttle.
#[derive(Debug, Clone, Serialize)]
pub struct ThrottleStatus {
    /// Why it holds the job back now, if it does.
    pub now: Option<String>,
    /// Seconds held back so far (wall time), per reason.
    pub seconds: Vec<(String, f64)>,
    /// Seconds the writers slept for the rate limit, summed over writers.
    pub rate_limit_writer_seconds: f64,
    /// The limits in force (a limits file may change them while the job runs).
    pub limits: crate::throttle::ThrottleLimits,
}

/// A move's verification.
#[derive(Debug, Clone, Serialize)]
pub struct VerificationStatus {
    /// Whether every table has been compared.
    pub finished: bool,
    /// Tables compared.
    pub tables_done: u64,
    /// Chunks compared.
    pub chunks: u64,
    /// Differing rows found (before repairs).
    pub differences: u64,
    /// Rows repaired.
    pub repairs: u64,
    /// Whether the last pass found the targets equal (once finished).
    pub equal: Option<bool>,
}

impl Status {
    /// A copy's status.
    pub fn of_copy(copy: &CopyProgress) -> Status {
        let tables = copy.snapshot();
        let rows: u64 = tables.iter().map(|t| t.rows_inserted).sum();
        let throttle = copy.throttle.snapshot();
        Status {
            phase: if copy.ended() {
                Phase::Done
            } else {
                Phase::Copying
            },
            elapsed_seconds: copy.started.elapsed().as_secs_f64(),
            rows_copied: rows,
            bytes_read: tables.iter().map(|t| t.bytes_read).sum(),
            rows_per_second: per_second(rows, copy.copy_time()),
            retries: tables.iter().map(|t| t.retries).sum(),
            tables: tables
                .iter()
                .map(|t| TableStatus {
                    table: t.name.clone(),
                    estimated_rows: t.estimated_rows,
                    rows_copied: t.rows_inserted,
                    chunks_done: t.chunks_done,
                    read_done: t.reading_done,
                    retries: t.retries,
                })
                .collect(),
            changes: None,
            throttle: ThrottleStatus {
                now: throttle.now,
                seconds: throttle
                    .engaged
                    .iter()
                    .map(|(name, d)| ((*name).to_owned(), d.as_secs_f64()))
                    .collect(),
                rate_limit_writer_seconds: throttle.paced.as_secs_f64(),
                limits: throttle.limits,
            },
            verification: None,
            cutover: None,
        }
    }

    /// A move's status.
    pub fn of_move(moving: &MoveProgress) -> Status {
        let mut status = Status::of_copy(&moving.copy);
        let changes = moving.changes();
        let verify = &moving.verify;
        let report = moving.verification();
        let begun = verify.chunks.load(Relaxed) > 0 || report.is_some();
        status.phase = if !moving.copy_done() {
            Phase::Copying
        } else if begun && report.is_none() {
            Phase::Verifying
        } else {
            Phase::Applying
        };
        status.changes = Some(ChangesStatus {
            images_applied: changes.images,
            held: changes.held,
            sources: changes
                .sources
                .iter()
                .map(|s| SourceStatus {
                    source: s.name.clone(),
                    applied: s.applied.to_string(),
                    end: s.end.to_string(),
                    lag_seconds: s.seconds_behind,
                    lag_bytes: s.bytes_behind,
                })
                .collect(),
        });
        status.verification = begun.then(|| VerificationStatus {
            finished: report.is_some(),
            tables_done: verify.tables_done.load(Relaxed),
            chunks: verify.chunks.load(Relaxed),
            differences: verify.differences.load(Relaxed),
            repairs: verify.repairs.load(Relaxed),
            equal: report.as_ref().map(crate::verify::VerifyReport::equal),
        });
        let cutover = moving.cutover();
        status.cutover = (cutover != crate::online::CutoverProgress::default()).then_some(cutover);
        status
    }
}

fn per_second(n: u64, over: std::time::Duration) -> u64 {
    let millis = u64::try_from(over.as_millis()).unwrap_or(u64::MAX).max(1);
    n.saturating_mul(1000) / millis
}
