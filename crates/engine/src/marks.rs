//! What the copy tells the applier: per (source, table), which keys have been handed to a
//! reader and which chunks are on every target. A module of its own, used by both `copy` and
//! `online`, so that the copy does not depend on the online part.
//!
//! The copy publishes; the applier reads. Hand-outs are read at the moment a change is
//! classified (a change above what was handed out is dropped, see [`crate::online`]); completions are
//! queued and taken by the applier only at the start of a cycle, so within one cycle every
//! change of a key gets the same answer and held changes are released before newer ones.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};

use crate::chunker::{Covers, Resume};

/// The shared marks of a move: one [`UnitMarks`] per (source, table), source-major.
#[derive(Debug)]
pub(crate) struct Watermarks {
    units: Vec<UnitMarks>,
}

/// Hand-outs and completions of one (source, table).
#[derive(Debug, Default)]
pub(crate) struct UnitMarks {
    handed: Mutex<Handed>,
    completed: Mutex<Vec<Completion>>,
}

/// A chunk on every target: the keys it covers, and what a checkpoint records of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Completion {
    pub(crate) covers: Covers,
    /// The chunk's number in this run's walk of the unit; `None` for what an earlier run
    /// copied (a resumed move starts with it complete).
    pub(crate) seq: Option<u64>,
    /// Where the walk resumes once this chunk and every earlier one are copied.
    pub(crate) resume: Resume,
}

/// What has been handed to readers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Handed {
    /// Chunks handed out.
    pub(crate) chunks: u64,
    /// Integer keys below this are in chunks handed out (`i128::MIN`: none; `i128::MAX`: all).
    pub(crate) below: Option<i128>,
    /// Whether the last chunk has been handed out.
    pub(crate) all: bool,
}

impl Watermarks {
    /// Marks for `sources` × `tables`, nothing handed out.
    pub(crate) fn new(sources: usize, tables: usize) -> Watermarks {
        Watermarks {
            units: (0..sources * tables)
                .map(|_| UnitMarks::default())
                .collect(),
        }
    }

    /// Marks for `sources` × `tables` whose copy is already done: one chunk over every key
    /// handed out and complete, so the applier applies every change.
    pub(crate) fn all_copied(sources: usize, tables: usize) -> Watermarks {
        let marks = Watermarks::new(sources, tables);
        let everything = Covers::Int {
            lo: i128::MIN,
            hi: i128::MAX,
        };
        for unit in &marks.units {
            unit.handed_out(everything, true);
            unit.completed(Completion {
                covers: everything,
                seq: None,
                resume: Resume::End,
            });
        }
        marks
    }

    /// Marks for a resumed move: per unit (source-major), what the checkpoint says was copied
    /// is handed out and complete, as one chunk, so that the applier applies its changes from
    /// the first cycle, and the rest is handed out as this run's copy walks it.
    pub(crate) fn resumed(copied: &[Resume]) -> Watermarks {
        let marks = Watermarks {
            units: copied.iter().map(|_| UnitMarks::default()).collect(),
        };
        for (unit, copied) in marks.units.iter().zip(copied) {
            let (covers, last) = match copied {
                Resume::Start => continue,
                Resume::End => (
                    Covers::Int {
                        lo: i128::MIN,
                        hi: i128::MAX,
                    },
                    true,
                ),
                Resume::Below(below) => match below.parse::<i128>() {
                    Ok(hi) => (Covers::Int { lo: i128::MIN, hi }, false),
                    Err(_) => continue,
                },
                Resume::After(_) => (Covers::Opaque, false),
            };
            unit.handed_out(covers, last);
            unit.completed(Completion {
                covers,
                seq: None,
                resume: copied.clone(),
            });
        }
        marks
    }

    /// The unit at `index` (`source * tables + table`, the copy scheduler's numbering).
    pub(crate) fn unit_at(&self, index: usize) -> &UnitMarks {
        &self.units[index]
    }
}

impl UnitMarks {
    /// A reader was given a chunk covering `covers`; `last` when no chunk follows it. Called
    /// before the chunk's read snapshot is taken.
    pub(crate) fn handed_out(&self, covers: Covers, last: bool) {
        let mut handed = self.handed.lock().expect("marks lock");
        handed.chunks += 1;
        handed.all |= last;
        if let Covers::Int { hi, .. } = covers {
            handed.below = Some(handed.below.map_or(hi, |b| b.max(hi)));
        }
    }

    /// What has been handed out, now.
    pub(crate) fn handed(&self) -> Handed {
        *self.handed.lock().expect("marks lock")
    }

    /// A chunk is on every target.
    fn completed(&self, completion: Completion) {
        self.completed.lock().expect("marks lock").push(completion);
    }

    /// Chunks completed since the last call.
    pub(crate) fn take_completed(&self) -> Vec<Completion> {
        std::mem::take(&mut *self.completed.lock().expect("marks lock"))
    }
}

/// A chunk's way to completion: it is complete when its read has finished and every part sent
/// to a writer (by any attempt at it) has been written.
#[derive(Debug, Default)]
pub(crate) struct ChunkTally {
    pending: AtomicU64,
    read_done: AtomicBool,
    reported: AtomicBool,
}

impl ChunkTally {
    /// A part is about to be sent to a writer.
    pub(crate) fn part_sent(&self) {
        self.pending.fetch_add(1, SeqCst);
    }

    /// A part was written; reports the chunk to `unit` if that completed it.
    pub(crate) fn part_written(&self, unit: &UnitMarks, chunk: &Completion) {
        if self.pending.fetch_sub(1, SeqCst) == 1 && self.read_done.load(SeqCst) {
            self.report(unit, chunk);
        }
    }

    /// The read finished (every part has been sent); reports the chunk to `unit` if every part
    /// is already written.
    pub(crate) fn read_finished(&self, unit: &UnitMarks, chunk: &Completion) {
        self.read_done.store(true, SeqCst);
        if self.pending.load(SeqCst) == 0 {
            self.report(unit, chunk);
        }
    }

    fn report(&self, unit: &UnitMarks, chunk: &Completion) {
        if !self.reported.swap(true, SeqCst) {
            unit.completed(chunk.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chunk_completes_once_when_read_and_written_in_either_order() {
        let covers = Completion {
            covers: Covers::Int { lo: 0, hi: 10 },
            seq: Some(0),
            resume: Resume::Below(String::from("10")),
        };
        // Written before the read finishes.
        let unit = UnitMarks::default();
        let tally = ChunkTally::default();
        tally.part_sent();
        tally.part_sent();
        tally.part_written(&unit, &covers);
        assert!(unit.take_completed().is_empty());
        tally.part_written(&unit, &covers);
        assert!(unit.take_completed().is_empty(), "the read is not done yet");
        tally.read_finished(&unit, &covers);
        assert_eq!(unit.take_completed(), vec![covers.clone()]);
        // Read finishes first.
        let tally = ChunkTally::default();
        tally.part_sent();
        tally.read_finished(&unit, &covers);
        assert!(unit.take_completed().is_empty());
        tally.part_written(&unit, &covers);
        assert_eq!(unit.take_completed(), vec![covers.clone()]);
        // An empty chunk completes when read.
        let tally = ChunkTally::default();
        tally.read_finished(&unit, &covers);
        tally.read_finished(&unit, &covers);
        assert_eq!(unit.take_completed(), vec![covers.clone()], "reported once");
    }

    #[test]
    fn hand_outs_only_raise_the_mark() {
        let unit = UnitMarks::default();
        assert_eq!(unit.handed().below, None);
        unit.handed_out(Covers::Int { lo: 100, hi: 200 }, false);
        unit.handed_out(
            Covers::Int {
                lo: i128::MIN,
                hi: 100,
            },
            false,
        );
        let handed = unit.handed();
        assert_eq!(
            (handed.chunks, handed.below, handed.all),
            (2, Some(200), false)
        );
        unit.handed_out(
            Covers::Int {
                lo: 200,
                hi: i128::MAX,
            },
            true,
        );
        assert_eq!(unit.handed().below, Some(i128::MAX));
        assert!(unit.handed().all);
    }
}
