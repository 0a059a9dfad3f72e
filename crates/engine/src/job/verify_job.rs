//! A standalone verification: plan the tables read-only, note the sources' binlog positions,
//! compare every chunk, note the positions again.

use std::sync::Arc;

use super::settings::{JobSettings, shared_setters};
use super::{Cancel, Event, Observer};
use crate::CopyError;
use crate::copy::plan_verify;
use crate::online::start_positions;
use crate::topology::Topology;
use crate::verify::{SourceWritten, VerifyOptions, VerifyProgress, VerifyReport, run_verify};

/// A comparison of the sources' tables with the targets', row by row (see [`crate::verify`]).
/// Reads only: it takes no lock and writes nothing anywhere.
#[derive(Debug, Clone)]
pub struct VerifyJob {
    settings: JobSettings,
    max_rows_listed: usize,
}

shared_setters!(VerifyJob);

impl VerifyJob {
    /// A verification of the tables of `topology`, listing up to 100 differing rows a table.
    pub fn new(topology: Topology) -> VerifyJob {
        VerifyJob {
            settings: JobSettings::new(topology),
            max_rows_listed: VerifyOptions::default().max_rows_listed,
        }
    }

    /// Differing rows listed per table at most; all are counted.
    #[must_use]
    pub fn max_rows_listed(mut self, rows: usize) -> VerifyJob {
        self.max_rows_listed = rows;
        self
    }

    /// Runs the verification. Safe inside a tokio runtime (the comparison runs on a
    /// `spawn_blocking` thread). Cancelled, it stops between chunks and the report says so.
    pub async fn run(
        &self,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<VerifyReport, CopyError> {
        let topology = self.topology();
        let tables = plan_verify(topology).await?;
        let plan = crate::copy::CopyPlan {
            sources: topology.sources.clone(),
            targets: topology.targets.iter().map(|t| t.dsn.clone()).collect(),
            target_names: topology.targets.iter().map(|t| t.name.clone()).collect(),
            router: topology.router.clone(),
            tables,
            replicas: Vec::new(),
            target_suffix: String::new(),
        };
        let copy = self.settings.options;
        let options = VerifyOptions {
            threads: copy.read_threads,
            target_chunk_bytes: copy.target_chunk_bytes,
            batch: crate::verify::VERIFY_BATCH,
            retry: copy.retry,
            max_rows_listed: self.max_rows_listed,
        };
        let progress = Arc::new(VerifyProgress::default());
        observer.event(&Event::Verifying(&progress));
        let (counters, cancel_handle) = (Arc::clone(&progress), cancel.clone());
        let mut report = tokio::task::spawn_blocking(move || {
            // Positions are best effort: a source without a binary log has none to compare.
            let before = start_positions(&plan.sources).ok();
            let report = run_verify(
                &plan,
                &plan.target_names,
                &options,
                &counters,
                cancel_handle.flag(),
            );
            let after = start_positions(&plan.sources).ok();
            report.map(|mut report| {
                if let (Some(before), Some(after)) = (before, after) {
                    report.sources_written = plan
                        .sources
                        .iter()
                        .zip(before.iter().zip(&after))
                        .filter(|(_, (b, a))| b != a)
                        .map(|(dsn, (b, a))| SourceWritten::new(dsn.to_string(), b, a))
                        .collect();
                }
                report
            })
        })
        .await
        .map_err(|e| {
            CopyError::Internal(format!("the verification stopped unexpectedly: {e}"))
        })??;
        report.cancelled |= cancel.is_cancelled();
        Ok(report)
    }

    /// [`VerifyJob::run`] for blocking callers (see [`super::CopyJob::run_blocking`]).
    pub fn run_blocking(
        &self,
        cancel: &Cancel,
        observer: &dyn Observer,
    ) -> Result<VerifyReport, CopyError> {
        super::block_on(self.run(cancel, observer))?
    }
}
