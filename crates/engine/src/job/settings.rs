//! What every job is given: the servers and rules, the tuning, and what to do with target tables
//! that exist. Both jobs hold a [`JobSettings`] and share its setters (`shared_setters!`).

use crate::copy::{CopyOptions, SetupOptions};
use crate::topology::Topology;

/// The settings every job has.
#[derive(Debug, Clone)]
pub(super) struct JobSettings {
    pub topology: Topology,
    pub options: CopyOptions,
    pub force: bool,
    pub defer_secondary_indexes: bool,
    pub stage_timing: bool,
    pub replicas: Vec<reshard_types::Dsn>,
    pub throttle_file: Option<std::path::PathBuf>,
}

impl JobSettings {
    /// Default tuning, refusing target tables that hold rows, creating missing ones with their
    /// indexes, timing the copy's stages.
    pub fn new(topology: Topology) -> JobSettings {
        JobSettings {
            topology,
            options: CopyOptions::default(),
            force: false,
            defer_secondary_indexes: false,
            stage_timing: true,
            replicas: Vec::new(),
            throttle_file: None,
        }
    }

    /// Reads the limits file, if any, before anything is written (a bad file is bad input).
    pub fn check_throttle_file(&self) -> Result<(), crate::CopyError> {
        match &self.throttle_file {
            Some(path) => crate::throttle::ThrottleLimits::read(path)
                .map(|_| ())
                .map_err(|e| crate::CopyError::BadInput(format!("--throttle-file: {e}"))),
            None => Ok(()),
        }
    }

    /// Samples once what the throttle will watch (see [`crate::throttle::preflight`]), before
    /// anything is written.
    pub async fn check_throttle(
        &self,
        plan_replicas: &[reshard_types::Dsn],
    ) -> Result<(), crate::CopyError> {
        let limits = match &self.throttle_file {
            Some(path) => crate::throttle::ThrottleLimits::read(path)
                .map_err(|e| crate::CopyError::BadInput(format!("--throttle-file: {e}")))?,
            None => self.options.throttle,
        };
        if !limits.any() {
            return Ok(());
        }
        let sources = self.topology.sources.clone();
        let targets: Vec<_> = self
            .topology
            .targets
            .iter()
            .map(|t| t.dsn.clone())
            .collect();
        let replicas = plan_replicas.to_vec();
        tokio::task::spawn_blocking(move || {
            crate::throttle::preflight(&sources, &targets, &replicas, limits)
        })
        .await
        .map_err(|e| crate::CopyError::Internal(format!("checking the throttle stopped: {e}")))?
        .map_err(|e| crate::CopyError::Refused(format!("nothing was written: {e}")))
    }

    /// Has `throttle` follow the limits file, if any.
    pub fn watch_throttle_file(
        &self,
        throttle: &crate::throttle::Throttle,
    ) -> Result<(), crate::CopyError> {
        match &self.throttle_file {
            Some(path) => throttle
                .watch_file(path.clone())
                .map_err(|e| crate::CopyError::BadInput(format!("--throttle-file: {e}"))),
            None => Ok(()),
        }
    }

    /// What setup does with the target tables; `online` for a move.
    pub fn setup(&self, online: bool) -> SetupOptions {
        SetupOptions {
            force: self.force,
            defer_secondary_indexes: self.defer_secondary_indexes,
            online,
            resume: None,
            discard: None,
        }
    }
}

/// The setters of [`JobSettings`] on a job type with a `settings` field.
macro_rules! shared_setters {
    ($job:ident) => {
        impl $job {
            /// Threads, chunk size, retries.
            #[must_use]
            pub fn options(mut self, options: $crate::copy::CopyOptions) -> $job {
                self.settings.options = options;
                self
            }

            /// Empty target tables that hold rows instead of refusing them.
            #[must_use]
            pub fn force(mut self, force: bool) -> $job {
                self.settings.force = force;
                self
            }

            /// Whether the copy measures the time of each stage (read, route, write, ...;
            /// on by default), as the progress's `stages` report; off measures what the
            /// measuring costs.
            #[must_use]
            pub fn stage_timing(mut self, timed: bool) -> $job {
                self.settings.stage_timing = timed;
                self
            }

            /// Replicas of the sources or targets whose lag holds the job back past
            /// `options.throttle.max_replica_lag`.
            #[must_use]
            pub fn throttle_replicas(mut self, replicas: Vec<reshard_types::Dsn>) -> $job {
                self.settings.replicas = replicas;
                self
            }

            /// A limits file ([`ThrottleLimits`](crate::throttle::ThrottleLimits) as TOML) whose
            /// limits replace `options.throttle`, read again whenever it changes while the job
            /// runs.
            #[must_use]
            pub fn throttle_file(mut self, file: Option<std::path::PathBuf>) -> $job {
                self.settings.throttle_file = file;
                self
            }

            /// The servers and rules it works by.
            pub fn topology(&self) -> &$crate::topology::Topology {
                &self.settings.topology
            }
        }
    };
}
pub(super) use shared_setters;
