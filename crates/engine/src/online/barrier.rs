//! Holding the applier at an exact binlog position, for the move's verification.
//!
//! Verification compares a source snapshot taken at binlog position `P` with target snapshots;
//! that is only a comparison of equals if the targets hold exactly the changes up to `P` when
//! their snapshots open. The applier is the only writer of changes, so it is asked, between two
//! cycles (nothing in flight, every cycle committed on every target):
//!
//! 1. [`Barriers::freeze`]: pause. The caller then opens the source snapshots; each stands at
//!    or after the binlog end when it opened ([`start_snapshot_covering`]), so at or after every
//!    position the applier has applied: the targets are not ahead of the snapshots.
//! 2. [`Frozen::advance_to`]: apply every change at or before `P` (per source) and none after
//!    (later ones wait in a queue), then pause again. A source's changes reach the applier in
//!    binlog order and a message's position covers everything before it, so "at or before `P`
//!    applied" holds once the applied position reaches `P`, or once a message past `P` has
//!    arrived (an idle source's stream sends its position every heartbeat, so that happens).
//! 3. The caller opens the target snapshots, then drops the [`AtPosition`]: the applier resumes
//!    with the queued changes first.
//!
//! The applier pauses only while snapshots open; if the caller goes away (or the move stops),
//! the applier resumes on its own.
//!
//! [`start_snapshot_covering`]: reshard_mysql::binlog::snapshot::start_snapshot_covering

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, bounded};
use reshard_types::BinlogPosition;

use crate::error::CopyError;

/// How often a waiting caller looks at its halt flag.
const LOOK: Duration = Duration::from_millis(100);

/// A request to pause, as the applier receives it.
#[derive(Debug)]
pub(crate) struct FreezeRequest {
    /// Where the applier answers with its applied positions once paused.
    pub frozen: Sender<Vec<BinlogPosition>>,
    /// The positions to advance to (or nothing: resume as before).
    pub limit: Receiver<Vec<BinlogPosition>>,
    /// Where the applier says it has reached the limit.
    pub reached: Sender<()>,
    /// Dropped by the caller to let the applier resume.
    pub release: Receiver<()>,
}

/// The verification's side: asks the applier to pause.
#[derive(Debug, Clone)]
pub(crate) struct Barriers {
    tx: Sender<FreezeRequest>,
}

/// The applier's side: the requests it answers between cycles.
pub(crate) type BarrierRequests = Receiver<FreezeRequest>;

/// A pair of ends.
pub(crate) fn barriers() -> (Barriers, BarrierRequests) {
    let (tx, rx) = bounded(1);
    (Barriers { tx }, rx)
}

/// The applier, paused between cycles.
#[derive(Debug)]
pub(crate) struct Frozen {
    /// What it has applied, per source.
    pub applied: Vec<BinlogPosition>,
    limit: Sender<Vec<BinlogPosition>>,
    reached: Receiver<()>,
    release: Sender<()>,
}

/// The applier, paused with the targets at exactly the positions asked.
#[derive(Debug)]
pub(crate) struct AtPosition {
    _release: Sender<()>,
}

impl Barriers {
    /// Pauses the applier at its next cycle boundary, however long its cycle takes (it may be
    /// riding out a target's restart). Gives up (an error) when `halted` is set meanwhile: the
    /// move is stopping and the applier will not answer.
    pub(crate) fn freeze(&self, halted: &AtomicBool) -> Result<Frozen, CopyError> {
        let (frozen_tx, frozen_rx) = bounded(1);
        let (limit_tx, limit_rx) = bounded(1);
        let (reached_tx, reached_rx) = bounded(1);
        let (release_tx, release_rx) = bounded(0);
        let mut request = FreezeRequest {
            frozen: frozen_tx,
            limit: limit_rx,
            reached: reached_tx,
            release: release_rx,
        };
        loop {
            match self.tx.send_timeout(request, LOOK) {
                Ok(()) => break,
                Err(crossbeam_channel::SendTimeoutError::Timeout(r)) => request = r,
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => return Err(stopped()),
            }
            if halted.load(Ordering::Relaxed) {
                return Err(stopped());
            }
        }
        let applied = wait(&frozen_rx, halted, Duration::MAX)?.ok_or_else(stopped)?;
        Ok(Frozen {
            applied,
            limit: limit_tx,
            reached: reached_rx,
            release: release_tx,
        })
    }
}

/// Waits for a message on `rx` for up to `limit`, looking at `halted` as it waits: `None` on
/// time out, an error when halted or the other end is gone.
fn wait<T>(rx: &Receiver<T>, halted: &AtomicBool, limit: Duration) -> Result<Option<T>, CopyError> {
    let started = Instant::now();
    loop {
        match rx.recv_timeout(LOOK.min(limit)) {
            Ok(m) => return Ok(Some(m)),
            Err(RecvTimeoutError::Disconnected) => return Err(stopped()),
            Err(RecvTimeoutError::Timeout) => {}
        }
        if halted.load(Ordering::Relaxed) {
            return Err(stopped());
        }
        if started.elapsed() >= limit {
            return Ok(None);
        }
    }
}

impl Frozen {
    /// Lets the applier apply exactly the changes at or before `limit` (and pause there); the
    /// caller may read its snapshots meanwhile, then [`Advancing::wait`]s.
    pub(crate) fn advance(self, limit: Vec<BinlogPosition>) -> Result<Advancing, CopyError> {
        self.limit.send(limit).map_err(|_| stopped())?;
        Ok(Advancing {
            reached: self.reached,
            release: self.release,
        })
    }

    /// [`Frozen::advance`], then [`Advancing::wait`].
    pub(crate) fn advance_to(
        self,
        limit: Vec<BinlogPosition>,
        patience: Duration,
        halted: &AtomicBool,
    ) -> Result<Option<AtPosition>, CopyError> {
        self.advance(limit)?.wait(patience, halted)
    }
}

/// The applier, running up to a limit.
#[derive(Debug)]
pub(crate) struct Advancing {
    reached: Receiver<()>,
    release: Sender<()>,
}

impl Advancing {
    /// Waits until the applier has reached the limit, for up to `patience` (the time a source
    /// snapshot may stay open): `None` past it (dropping everything lets the applier go on).
    pub(crate) fn wait(
        self,
        patience: Duration,
        halted: &AtomicBool,
    ) -> Result<Option<AtPosition>, CopyError> {
        Ok(wait(&self.reached, halted, patience)?.map(|()| AtPosition {
            _release: self.release,
        }))
    }
}

fn stopped() -> CopyError {
    CopyError::Internal(String::from(
        "the change applier stopped while verification waited for it",
    ))
}
