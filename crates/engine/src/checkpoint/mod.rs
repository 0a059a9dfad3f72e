//! Checkpoints: what a move has done, kept on its first target, so that running the same
//! command again after a crash, a `kill -9` or a server that stayed away goes on where the move
//! was, re-copying only the chunks that were in flight and losing no change.
//!
//! # What is recorded
//!
//! One row per move in `_reshard_checkpoint`, in the first target's database (sources are never
//! written before cutover), keyed by the moved tables. It holds a JSON [`Checkpoint`]:
//!
//! - **identity**: the sources, targets, tables, their schemas and placement rules; a run whose
//!   identity differs is refused ([`identity`]);
//! - **positions**: per source, a binlog position (a transaction boundary) such that every
//!   change before it, of every *copied* key, is on every target;
//! - **copied**: per (source, table), how far its walk has got ([`Resume`]): every chunk up to
//!   there is on every target, and the changes held back for those chunks are applied;
//! - **in_flight**: while a cycle of changes is being written, where it ends;
//! - the phase, which tables have been verified, and when.
//!
//! # Why a crash at any instant loses nothing and resurrects nothing
//!
//! The applier writes the checkpoint itself, between its cycles (`crate::online`), so a record
//! never describes a state the targets have not reached:
//!
//! 1. **Before a cycle writes anything**, the checkpoint is saved (and committed) with the
//!    positions and copied marks of the last cycle, which every target has committed, and with
//!    `in_flight` set to where the new cycle ends. Between cycles, when the copy has completed
//!    chunks or positions moved, it is saved with `in_flight` empty.
//! 2. A chunk counts as copied only once the applier has taken in its completion (every part on
//!    every target) *and* the cycle that released the changes held for it has committed: the
//!    copied marks saved are those from before the cycle in flight.
//!
//! On resume, from a checkpoint (P, C, F):
//!
//! - **Chunks beyond C** (in flight at the crash, or complete but not yet recorded) may be
//!   partly on the targets, from a read that is gone, and their held changes are lost. Every
//!   row of theirs is deleted from every target before anything else is written ([`cleanup`]),
//!   and the walk re-reads them from C: the targets hold nothing of them, as for a chunk never
//!   handed out, and the move's usual argument (`crate::online`) holds again.
//! - **Chunks within C** are on every target, with every change before P applied. The streams
//!   restart at P. Changes after P were perhaps applied already (the cycle in flight, F): the
//!   first cycle of the new run reads at least up to F before it writes, and writes, per key,
//!   its image as of the end of that cycle. A cycle's statements leave the same state however
//!   often and in whatever part they ran before (`crate::online::apply`), so the target ends
//!   where the sources were at the end of that cycle: a change applied twice this way changes
//!   nothing that matters. Without F (no cycle in flight), nothing after P was applied.
//! - Changes held back for a chunk within C were applied before C advanced past it (2.), so
//!   none is lost.
//!
//! The checkpoint is saved before a cycle's first statement and after the completions it
//! records: it may lag the targets (more applied, more copied), never lead them.
//!
//! # Cost
//!
//! One small `REPLACE` on the first target per cycle that writes, and at most one a second
//! otherwise; `docs/benchmarks.md` has the measured effect on copy and apply throughput.

pub mod cleanup;
pub mod identity;
pub mod report;
pub mod reset;
pub mod resume;
pub mod store;
mod tracker;

pub use identity::Identity;
pub use store::{CheckpointStore, TABLE as CHECKPOINT_TABLE};
pub(crate) use tracker::CopiedTracker;

use reshard_types::BinlogPosition;
use serde::{Deserialize, Serialize};

pub use crate::chunker::Resume;

/// The format version written; a checkpoint of another version is refused, not guessed at.
pub const VERSION: u32 = 1;

/// Where a move is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Copying while applying changes.
    Copying,
    /// The copy is done; deferred indexes are being added and the tables verified.
    Verifying,
    /// Every table verified equal at one position per source; the move keeps applying changes
    /// (and may be cutting over: [`Checkpoint::cutover`]).
    Replicating,
    /// Cut over: the sources' tables renamed, the move ended (a reverse stream may be keeping
    /// the sources' `_old` tables up to date: the rollback window).
    CutOver,
    /// Cut over, and the rollback window ended (`reshard complete`).
    Completed,
    /// Cut over, then switched back (`reshard rollback`): the sources serve again.
    RolledBack,
}

impl Phase {
    /// The phase as reports name it.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Copying => "copying",
            Phase::Verifying => "verifying",
            Phase::Replicating => "replicating (verified)",
            Phase::CutOver => "cut over",
            Phase::Completed => "cut over and completed",
            Phase::RolledBack => "rolled back",
        }
    }

    /// Whether the move has ended at its cutover (and perhaps since).
    pub fn is_finished(self) -> bool {
        matches!(self, Phase::CutOver | Phase::Completed | Phase::RolledBack)
    }
}

/// A source's place in its binary log, as a checkpoint stores it: a transaction boundary,
/// and, in the middle of a large transaction applied in parts, how many images of each moved
/// table of the transaction starting there are applied.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredPosition {
    /// The binlog file.
    pub file: String,
    /// The byte offset in it.
    pub offset: u64,
    /// Per moved table, images of the transaction at `file:offset` applied (empty: none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub part: Vec<u64>,
}

impl From<&BinlogPosition> for StoredPosition {
    fn from(p: &BinlogPosition) -> StoredPosition {
        StoredPosition {
            file: p.file().to_owned(),
            offset: p.offset(),
            part: Vec::new(),
        }
    }
}

impl From<&crate::online::StreamPoint> for StoredPosition {
    fn from(p: &crate::online::StreamPoint) -> StoredPosition {
        StoredPosition {
            part: p.part.clone(),
            ..StoredPosition::from(&p.position)
        }
    }
}

impl From<&StoredPosition> for crate::online::StreamPoint {
    fn from(p: &StoredPosition) -> crate::online::StreamPoint {
        crate::online::StreamPoint {
            position: BinlogPosition::from(p),
            part: p.part.clone(),
        }
    }
}

impl From<&StoredPosition> for BinlogPosition {
    fn from(p: &StoredPosition) -> BinlogPosition {
        BinlogPosition::new(p.file.clone(), p.offset)
    }
}

/// What a move has done (see the module docs for what each part promises).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// [`VERSION`].
    pub version: u32,
    /// What the move is.
    pub identity: Identity,
    /// Where it is.
    pub phase: Phase,
    /// Per source: every change before this is on every target, for every copied key.
    pub positions: Vec<StoredPosition>,
    /// Per source: where the cycle being written when this was saved ends, if one was.
    pub in_flight: Option<Vec<StoredPosition>>,
    /// Per (source, table), source-major: how far its copy has got.
    pub copied: Vec<Resume>,
    /// Tables verified equal (by name); all of them once the phase is `Replicating`.
    pub verified: Vec<String>,
    /// Unix seconds when the move started (its first run).
    pub started_at: u64,
    /// Unix seconds when this was saved.
    pub saved_at: u64,
    /// Unix seconds when every table was last verified equal (the first pass, or a
    /// re-verification while the cutover is deferred).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<u64>,
    /// The cutover, once one has started ([`crate::cutover`]); cleared when an attempt fails
    /// before its hook succeeded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cutover: Option<crate::cutover::CutoverRecord>,
}

impl Checkpoint {
    /// The stored positions as binlog positions: the transaction boundaries the streams start at.
    pub fn positions(&self) -> Vec<BinlogPosition> {
        self.positions.iter().map(BinlogPosition::from).collect()
    }

    /// The stored positions with the parts of large transactions applied.
    pub(crate) fn points(&self) -> Vec<crate::online::StreamPoint> {
        self.positions.iter().map(Into::into).collect()
    }

    /// Units (source, table) whose copy is finished, and in all.
    pub fn units_copied(&self) -> (usize, usize) {
        (
            self.copied.iter().filter(|c| **c == Resume::End).count(),
            self.copied.len(),
        )
    }

    /// Whether the copy of every table from every source is finished.
    pub fn copy_done(&self) -> bool {
        self.copied.iter().all(|c| *c == Resume::End)
    }
}
