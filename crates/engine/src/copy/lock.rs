//! One run at a time per target database: a lock taken before anything is written and held until
//! the run ends (see `reshard_mysql::lock` for why a server-side named lock).

use reshard_mysql::lock::TargetLock;
use reshard_types::Dsn;

use crate::error::CopyError;
use crate::topology::Topology;

/// The locks of a run's target databases.
#[derive(Debug)]
pub struct TargetLocks {
    locks: Vec<TargetLock>,
    /// The target databases locked, in the topology's order.
    targets: Vec<Dsn>,
}

impl TargetLocks {
    /// Refuses a topology whose targets are not the ones these locks were taken for (a job run
    /// under locks the caller took for other servers would write unguarded).
    pub fn cover(&self, topology: &Topology) -> Result<(), CopyError> {
        let wanted: Vec<&Dsn> = topology.targets.iter().map(|t| &t.dsn).collect();
        if wanted.iter().copied().eq(self.targets.iter()) {
            return Ok(());
        }
        Err(CopyError::BadInput(String::from(
            "the target locks given to the job were taken for other targets than the job's; \
             take them with lock_targets on the job's own topology",
        )))
    }

    /// Releases every lock (dropping them does too, when their connections close).
    pub async fn release(self) {
        for lock in self.locks {
            lock.release().await;
        }
    }
}

/// Takes the lock of every target database, or refuses naming the other run that holds one.
pub async fn lock_targets(topology: &Topology) -> Result<TargetLocks, CopyError> {
    let mut locks: Vec<TargetLock> = Vec::with_capacity(topology.targets.len());
    for (i, target) in topology.targets.iter().enumerate() {
        match TargetLock::take(&target.dsn).await? {
            Ok(lock) => locks.push(lock),
            Err(holder) => {
                let ours = locks
                    .iter()
                    .position(|l| l.holder() == (&holder.server, holder.connection));
                let why = match ours {
                    Some(other) => format!(
                        "target {} ({}) is the same database as target {other_n}; give each database once",
                        i + 1,
                        target.dsn,
                        other_n = other + 1
                    ),
                    None => format!(
                        "another reshard run is writing into the database of target {} ({}): its lock is held by {holder}; \
                         wait for that run to end (or stop it), then start this one",
                        i + 1,
                        target.dsn
                    ),
                };
                for lock in locks {
                    lock.release().await;
                }
                return Err(CopyError::Refused(format!("nothing was written: {why}")));
            }
        }
    }
    Ok(TargetLocks {
        locks,
        targets: topology.targets.iter().map(|t| t.dsn.clone()).collect(),
    })
}
