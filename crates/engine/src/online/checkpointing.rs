//! The applier's side of checkpoints ([`crate::checkpoint`]): what it saves, and when.
//!
//! The applier owns the saves because only it knows which cycle every target has committed:
//! before a cycle writes, it saves the last committed state with the cycle's end as
//! `in_flight`; between cycles, at most once a second, it saves what changed. The verification
//! adds the tables it has found equal.

use std::sync::Mutex;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::Relaxed;
use std::time::{Duration, Instant};

use super::stream::StreamPoint;
use crate::checkpoint::{Checkpoint, CheckpointStore, Phase, Resume, StoredPosition};
use crate::copy::Stop;
use crate::cutover::CutoverRecord;
use crate::error::CopyError;
use crate::retry::{Retries, RetryPolicy};

/// How often a move saves its checkpoint when no cycle forces it.
const EVERY: Duration = Duration::from_secs(1);

/// A move's checkpoint while it runs.
#[derive(Debug)]
pub struct Checkpointing {
    store: Mutex<Stored>,
    /// The checkpoint the move started from: a new move's, or the one it resumes.
    start: Checkpoint,
    /// Tables verified equal (the start's, and this run's).
    verified: Mutex<Vec<String>>,
}

/// The store, and what every save writes besides the applier's state. Under one lock, so that
/// saves are ordered and each writes the cutover record current when it is written.
#[derive(Debug)]
struct Stored {
    store: CheckpointStore,
    /// The last checkpoint saved (the start until a save).
    last: Checkpoint,
    /// The cutover under way, if one is ([`crate::cutover`]).
    cutover: Option<CutoverRecord>,
    /// When every table was last verified equal.
    verified_at: Option<u64>,
}

impl Checkpointing {
    /// Checkpoints saved to `store`, from `start` on.
    pub fn new(store: CheckpointStore, start: Checkpoint) -> Checkpointing {
        Checkpointing {
            verified: Mutex::new(start.verified.clone()),
            store: Mutex::new(Stored {
                store,
                last: start.clone(),
                cutover: start.cutover.clone(),
                verified_at: start.verified_at,
            }),
            start,
        }
    }

    /// Every table was verified equal just now: later saves say when.
    pub(crate) fn all_verified(&self) {
        self.store.lock().expect("store lock").verified_at = Some(super::stream::now());
    }

    /// A store of this move on a connection of its own, for watching for a stop request.
    pub(crate) fn watcher(&self) -> CheckpointStore {
        self.store.lock().expect("store lock").store.sibling()
    }

    /// The cutover record saves carry now.
    pub(crate) fn cutover(&self) -> Option<CutoverRecord> {
        self.store.lock().expect("store lock").cutover.clone()
    }

    /// Records `cutover` (or clears it) and saves it at once with the last checkpoint saved
    /// (`phase` too, if given), retrying transient errors as `retry` allows. `held_at_record`:
    /// the applier is held at exactly the record's source positions with every cycle committed,
    /// so they are the checkpoint's positions.
    pub(crate) fn save_cutover(
        &self,
        cutover: Option<CutoverRecord>,
        phase: Option<Phase>,
        held_at_record: bool,
        retry: RetryPolicy,
        stop: &AtomicBool,
    ) -> Result<(), CopyError> {
        let verified = self.verified();
        let mut stored = self.store.lock().expect("store lock");
        stored.cutover.clone_from(&cutover);
        let mut checkpoint = stored.last.clone();
        // From the hook on, the applier is held at exactly the locked positions with every cycle
        // committed: a run after a crash starts its streams there, and replays nothing older
        // over what the application writes to the targets.
        if held_at_record
            && let Some(record) = &cutover
            && !record.source_positions.is_empty()
        {
            checkpoint.positions.clone_from(&record.source_positions);
            checkpoint.in_flight = None;
        }
        checkpoint.cutover = cutover;
        checkpoint.verified = verified;
        checkpoint.verified_at = stored.verified_at;
        if let Some(phase) = phase {
            checkpoint.phase = phase;
        }
        checkpoint.saved_at = super::stream::now();
        stored.write(checkpoint, retry, stop)
    }

    /// The checkpoint the move started from.
    pub fn start(&self) -> &Checkpoint {
        &self.start
    }

    /// Tables verified equal so far.
    pub fn verified(&self) -> Vec<String> {
        self.verified.lock().expect("verified lock").clone()
    }

    /// `table` was verified equal.
    pub(crate) fn table_verified(&self, table: &str) {
        let mut verified = self.verified.lock().expect("verified lock");
        if !verified.iter().any(|t| t == table) {
            verified.push(table.to_owned());
        }
    }
}

/// What the applier last saved and has committed since.
pub(crate) struct Saver<'a> {
    checkpointing: &'a Checkpointing,
    retry: RetryPolicy,
    /// Positions every target has committed.
    positions: Vec<StreamPoint>,
    /// Copy progress whose held changes every target has committed.
    copied: Vec<Resume>,
    saved: Option<Checkpoint>,
    checked_at: Instant,
    /// The cycle an earlier run was writing, until this run has applied it again: every save
    /// keeps it in flight till then (a run stopped before would otherwise forget it).
    replaying: Option<Vec<StreamPoint>>,
}

impl<'a> Saver<'a> {
    pub(crate) fn new(checkpointing: &'a Checkpointing, retry: RetryPolicy) -> Saver<'a> {
        let start = checkpointing.start();
        Saver {
            checkpointing,
            retry,
            positions: start.points(),
            copied: start.copied.clone(),
            saved: None,
            checked_at: Instant::now(),
            replaying: start
                .in_flight
                .as_ref()
                .map(|f| f.iter().map(StreamPoint::from).collect()),
        }
    }

    /// The earlier run's cycle in flight has been applied again.
    pub(crate) fn replayed(&mut self) {
        self.replaying = None;
    }

    /// Where a cycle in flight at the crash ended, if one was: the first cycle must read at
    /// least that far before it writes.
    pub(crate) fn replay_to(&self) -> Option<Vec<StreamPoint>> {
        self.replaying.clone()
    }

    /// A cycle is about to write, ending at `to`: saves the committed state with it in flight.
    pub(crate) fn before_cycle(
        &mut self,
        to: &[StreamPoint],
        phase: Phase,
        stop: &Stop,
    ) -> Result<(), CopyError> {
        let checkpoint = self.checkpoint(phase, Some(to));
        self.save(checkpoint, stop)
    }

    /// Every target has committed a cycle: these are the positions and copy progress now.
    pub(crate) fn committed(&mut self, positions: &[StreamPoint], copied: Vec<Resume>) {
        self.positions = positions.to_vec();
        self.copied = copied;
    }

    /// Saves what changed since the last save: at once when chunks completed (so that a
    /// resumed move copies again little more than the chunks in flight), else at most once a
    /// second unless `now`.
    pub(crate) fn between_cycles(
        &mut self,
        phase: Phase,
        now: bool,
        stop: &Stop,
    ) -> Result<(), CopyError> {
        let copied_moved = self.saved.as_ref().is_none_or(|s| s.copied != self.copied);
        if !now && !copied_moved && self.checked_at.elapsed() < EVERY {
            return Ok(());
        }
        let checkpoint = self.checkpoint(phase, None);
        let unchanged = self.saved.as_ref().is_some_and(|s| {
            s.positions == checkpoint.positions
                && s.copied == checkpoint.copied
                && s.verified == checkpoint.verified
                && s.phase == checkpoint.phase
                && s.in_flight == checkpoint.in_flight
                && s.cutover == checkpoint.cutover
        });
        if unchanged {
            // Looked at again in a second, not at every pass.
            self.checked_at = Instant::now();
            return Ok(());
        }
        self.save(checkpoint, stop)
    }

    fn checkpoint(&self, phase: Phase, in_flight: Option<&[StreamPoint]>) -> Checkpoint {
        let start = self.checkpointing.start();
        Checkpoint {
            version: crate::checkpoint::VERSION,
            identity: start.identity.clone(),
            phase,
            positions: self.positions.iter().map(StoredPosition::from).collect(),
            in_flight: in_flight
                .or(self.replaying.as_deref())
                .map(|to| to.iter().map(StoredPosition::from).collect()),
            copied: self.copied.clone(),
            verified: self.checkpointing.verified(),
            started_at: start.started_at,
            saved_at: super::stream::now(),
            cutover: self.checkpointing.cutover(),
            verified_at: self
                .checkpointing
                .store
                .lock()
                .expect("store lock")
                .verified_at,
        }
    }

    fn save(&mut self, mut checkpoint: Checkpoint, stop: &Stop) -> Result<(), CopyError> {
        let mut stored = self.checkpointing.store.lock().expect("store lock");
        checkpoint.cutover.clone_from(&stored.cutover);
        checkpoint.verified_at = stored.verified_at;
        if stored.last.phase.is_finished() {
            // Saved by the cutover, which ended the move: nothing the applier says after it
            // changes that.
            return Ok(());
        }
        stored.write(checkpoint.clone(), self.retry, stop.flag())?;
        self.saved = Some(checkpoint);
        self.checked_at = Instant::now();
        Ok(())
    }
}

impl Stored {
    /// Saves `checkpoint` (with transient errors retried), and remembers it as the last.
    fn write(
        &mut self,
        checkpoint: Checkpoint,
        retry: RetryPolicy,
        stop: &AtomicBool,
    ) -> Result<(), CopyError> {
        let mut retries = Retries::new(retry);
        loop {
            match self.store.save(&checkpoint) {
                Ok(()) => break,
                Err(e) => {
                    let what = format!("saving the checkpoint on {}", self.store.dsn());
                    if !stop.load(Relaxed) && retries.again(&what, e.class(), &e) {
                        continue;
                    }
                    return Err(CopyError::Checkpoint(Box::new(e)));
                }
            }
        }
        self.last = checkpoint;
        Ok(())
    }
}
