//! Cutover: the end of a move, when the application stops writing to the sources and starts
//! writing to the targets, without a write lost or applied twice.
//!
//! # When
//!
//! Only once the gate has opened: every table verified equal at one binlog position per source
//! (with repairs), and the applier replicating. With `deferred`, a sentinel table
//! ([`sentinel::SENTINEL`], on the first target) is created when the move starts and the move
//! keeps replicating, verifying every table again every `reverify_every`, until the operator
//! drops it; without, the cutover follows the gate at once.
//!
//! # The steps, and why the targets are the sources at the switch
//!
//! Each step is saved in the move's checkpoint ([`CutoverRecord`]) before it is taken:
//!
//! 1. **Locking.** The applier catches up with the sources' binlog ends (so little is left to
//!    apply under the locks). Then, on every source, `LOCK TABLES <moved tables> WRITE` with a
//!    short lock wait ([`locks`]): no session can change the moved tables until the release, so
//!    the binlog end read under the lock, `P`, covers every change of them there will be. The
//!    applier is paused between two cycles and advanced to exactly `P` (the verification's
//!    barrier, [`crate::online::barrier`]): the targets then hold every change up to `P` and,
//!    as there is none after, the sources' tables as they are. A lock or catch-up that takes
//!    longer than `lock_timeout` is released and tried again with back-off, at most
//!    `lock_attempts` times; the application waits at most that long per attempt.
//! 2. **Hook running.** The targets' binlog ends are read (a reverse stream of the
//!    application's writes to the targets starts there), the step is saved, and the caller's
//!    hook runs, once, with the positions ([`CutoverContext`]). A hook that fails (or, for a
//!    command, outlives its time limit and is killed): the locks are released and the applier
//!    resumes, nothing renamed; the step is forgotten, the sentinel created again, and the move
//!    goes on replicating until the operator drops it to try again.
//! 3. **Hook done.** Saved once the hook returned `Ok`: the application uses the targets.
//! 4. **Renaming.** The move's streams and applier stop; every moved table of every source is
//!    renamed `<table><suffix>` under its lock (statements the lock held up then fail on the
//!    missing table instead of writing to the sources), and the locks are released.
//! 5. **Done.** The checkpoint's phase becomes [`crate::checkpoint::Phase::CutOver`].
//!
//! # A crash at each step, and what the next run does
//!
//! A crash releases the locks (they belong to the dead process's connections).
//!
//! - **Locking:** nothing happened: the next run resumes and tries the cutover again.
//! - **Hook running:** whether the hook finished is not known, so the next run neither runs it
//!   again nor skips it on its own: it refuses, naming the time the hook started, until told
//!   which ([`EarlierHook`]: `--cutover-hook-ran`, the application uses the targets: the run
//!   finishes without the hook; `--run-cutover-hook-again`).
//! - **Hook done:** the run resumes replicating, cuts over at once without the hook (and keeps
//!   retrying, never running the hook again, if the locks cannot be had: the application is on
//!   the targets already). The targets' positions read before the hook stay the reverse
//!   stream's start.
//! - **Renaming:** if every source is renamed, the run ends, cut over. Otherwise the locks went
//!   with the crash while some sources still had their tables, and statements that waited on
//!   them may have written there: the renamed tables get their names back and the run goes on
//!   as after the hook (from the locked positions, which the checkpoint holds from the hook on:
//!   nothing older is replayed over the application's writes to the targets) ([`finish`]).
//! - **Done:** the run says the move has cut over, and changes nothing.

pub mod complete;
mod controller;
pub mod finish;
mod hook;
pub mod locks;
mod record;
pub mod sentinel;

use std::time::Duration;

pub(crate) use controller::Driver;
pub use hook::{CutoverContext, CutoverHook, command_hook};
pub use record::{CutoverRecord, CutoverStep};

/// How a cutover that an earlier run started, and that crashed while its hook ran, goes on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EarlierHook {
    /// Refuse to go on until told (the default).
    #[default]
    Unknown,
    /// The hook did finish (the application uses the targets): finish without running it.
    Ran,
    /// It did not: run it again.
    RunAgain,
}

/// How a move cuts over.
#[derive(Clone)]
pub struct CutoverOptions {
    /// Wait for the sentinel to be dropped (re-verifying meanwhile) instead of cutting over
    /// once verified.
    pub deferred: bool,
    /// While deferred: how often every table is verified again.
    pub reverify_every: Duration,
    /// The longest the application waits on a lock attempt, and the longest the targets may
    /// take to catch up under the locks.
    pub lock_timeout: Duration,
    /// Lock attempts before the cutover is given up (the move goes on replicating).
    pub lock_attempts: u32,
    /// What switches the application, run once under the locks.
    pub hook: Option<CutoverHook>,
    /// The source tables are renamed to `<table><suffix>`.
    pub suffix: String,
    /// After a crash while the hook ran.
    pub earlier_hook: EarlierHook,
    /// A rollback ([`reverse`]): after the sources' renames, rename the targets'
    /// `<table><suffix>` back to `<table>`.
    pub restore_targets: bool,
}

impl std::fmt::Debug for CutoverOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CutoverOptions")
            .field("deferred", &self.deferred)
            .field("reverify_every", &self.reverify_every)
            .field("lock_timeout", &self.lock_timeout)
            .field("lock_attempts", &self.lock_attempts)
            .field("hook", &self.hook.is_some())
            .field("suffix", &self.suffix)
            .field("earlier_hook", &self.earlier_hook)
            .field("restore_targets", &self.restore_targets)
            .finish()
    }
}

impl Default for CutoverOptions {
    fn default() -> CutoverOptions {
        CutoverOptions {
            deferred: false,
            reverify_every: Duration::from_secs(3600),
            lock_timeout: Duration::from_secs(2),
            lock_attempts: 5,
            hook: None,
            suffix: String::from("_old"),
            earlier_hook: EarlierHook::Unknown,
            restore_targets: false,
        }
    }
}
