//! How far a cutover got, as the move's checkpoint stores it (see [`super`] for what each step
//! promises and what a rerun does after a crash at it).

use serde::{Deserialize, Serialize};

use crate::checkpoint::StoredPosition;

/// The steps of a cutover, in order. Each is saved before it is taken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CutoverStep {
    /// Taking the write locks on the sources and catching up under them; nothing is changed
    /// yet (a crash releases the locks: the move just goes on).
    Locking,
    /// The targets hold exactly the sources' changes up to `source_positions`, and the hook is
    /// running (or was, at a crash: whether it finished is not known).
    HookRunning,
    /// The hook succeeded: the application has been told to use the targets.
    HookDone,
    /// The sources' tables are being renamed to `<table><suffix>`.
    Renaming,
    /// Cut over: every source table renamed; the move has ended.
    Done,
}

impl CutoverStep {
    /// The step as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            CutoverStep::Locking => "locking the sources",
            CutoverStep::HookRunning => "running the cutover hook",
            CutoverStep::HookDone => "the hook ran; renaming next",
            CutoverStep::Renaming => "renaming the source tables",
            CutoverStep::Done => "cut over",
        }
    }
}

/// A cutover under way or done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CutoverRecord {
    /// The step reached (saved before it is taken).
    pub step: CutoverStep,
    /// Unix seconds when this attempt started.
    pub started_at: u64,
    /// Per source: its binlog end read under the write lock; the targets hold exactly the
    /// changes before it once the hook runs. Empty while locking.
    #[serde(default)]
    pub source_positions: Vec<StoredPosition>,
    /// Per target: its binlog end read under the lock once the applier had reached the
    /// sources' positions, before the hook (where a reverse stream starts). Empty while locking.
    #[serde(default)]
    pub target_positions: Vec<StoredPosition>,
    /// Unix seconds when the hook was started, if it was.
    #[serde(default)]
    pub hook_started_at: Option<u64>,
    /// Unix seconds when the cutover was done.
    #[serde(default)]
    pub done_at: Option<u64>,
    /// What the source tables are renamed to: `<table><suffix>`.
    pub suffix: String,
    /// A rollback: the targets' `<table><suffix>` are renamed back to `<table>` after the
    /// sources' renames.
    #[serde(default)]
    pub restore_targets: bool,
}

impl CutoverRecord {
    /// A new attempt, at its first step.
    pub(crate) fn locking(suffix: &str, restore_targets: bool) -> CutoverRecord {
        CutoverRecord {
            step: CutoverStep::Locking,
            started_at: crate::online::unix_now(),
            source_positions: Vec::new(),
            target_positions: Vec::new(),
            hook_started_at: None,
            done_at: None,
            suffix: suffix.to_owned(),
            restore_targets,
        }
    }
}
