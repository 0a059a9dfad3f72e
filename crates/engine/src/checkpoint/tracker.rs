//! How far each (source, table) has been copied, from the chunks that completed: the walk hands
//! chunks out in order but they complete in any order, so the checkpoint records the end of the
//! longest run of completed chunks from the start (later ones are copied again on resume).

use std::collections::BTreeMap;

use crate::chunker::{Covers, Resume};
use crate::marks::Completion;

/// Per unit (source-major), how far its copy has got.
#[derive(Debug)]
pub(crate) struct CopiedTracker {
    units: Vec<UnitTrack>,
}

#[derive(Debug)]
struct UnitTrack {
    copied: Resume,
    /// The next chunk (by this run's numbering) that would extend `copied`.
    next: u64,
    /// Chunks completed ahead of `next`, by number, with the place they take the walk to (`None`:
    /// a keyset chunk before the last, which moves nothing, see `complete`).
    ahead: BTreeMap<u64, Option<Resume>>,
}

impl CopiedTracker {
    /// A tracker starting from what an earlier run copied (`Resume::Start` for a new move).
    pub(crate) fn new(start: Vec<Resume>) -> CopiedTracker {
        CopiedTracker {
            units: start
                .into_iter()
                .map(|copied| UnitTrack {
                    copied,
                    next: 0,
                    ahead: BTreeMap::new(),
                })
                .collect(),
        }
    }

    /// A chunk of `unit` is on every target (and the changes held for it are being released).
    ///
    /// A keyset chunk (opaque keys) moves nothing until the unit's last one: the applier holds
    /// every change of such a unit until all its chunks are on every target (only the server
    /// can place a string key in a chunk), so a checkpoint that counted a keyset chunk copied
    /// before then would claim changes applied that are only held, and lose them in a crash.
    pub(crate) fn complete(&mut self, unit: usize, chunk: &Completion) {
        let Some(seq) = chunk.seq else {
            return; // what an earlier run copied: already in the start
        };
        let moves = !matches!(chunk.covers, Covers::Opaque) || chunk.resume == Resume::End;
        let track = &mut self.units[unit];
        track.ahead.insert(seq, moves.then(|| chunk.resume.clone()));
        while let Some(resume) = track.ahead.remove(&track.next) {
            if let Some(resume) = resume {
                track.copied = resume;
            }
            track.next += 1;
        }
    }

    /// How far each unit has got.
    pub(crate) fn copied(&self) -> Vec<Resume> {
        self.units.iter().map(|u| u.copied.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunk(seq: u64, resume: Resume) -> Completion {
        Completion {
            covers: Covers::Int { lo: 0, hi: 1 },
            seq: Some(seq),
            resume,
        }
    }

    #[test]
    fn keyset_chunks_count_only_once_the_last_is_copied() {
        let after = |k: &str| Resume::After(vec![format!("'{k}'")]);
        let keyset = |seq, resume| Completion {
            covers: Covers::Opaque,
            seq: Some(seq),
            resume,
        };
        let mut tracker = CopiedTracker::new(vec![Resume::Start]);
        tracker.complete(0, &keyset(0, after("m")));
        tracker.complete(0, &keyset(1, after("t")));
        assert_eq!(
            tracker.copied()[0],
            Resume::Start,
            "their changes are still held"
        );
        tracker.complete(0, &keyset(3, Resume::End));
        assert_eq!(tracker.copied()[0], Resume::Start, "chunk 2 is missing");
        tracker.complete(0, &keyset(2, after("x")));
        assert_eq!(tracker.copied()[0], Resume::End);
    }

    #[test]
    fn only_the_run_of_completed_chunks_from_the_start_counts() {
        let below = |n: u32| Resume::Below(n.to_string());
        let mut tracker = CopiedTracker::new(vec![Resume::Start, Resume::Below(String::from("7"))]);
        tracker.complete(0, &chunk(1, below(20)));
        tracker.complete(0, &chunk(2, below(30)));
        assert_eq!(
            tracker.copied()[0],
            Resume::Start,
            "chunk 0 is still in flight"
        );
        tracker.complete(0, &chunk(0, below(10)));
        assert_eq!(tracker.copied()[0], below(30));
        tracker.complete(0, &chunk(4, Resume::End));
        assert_eq!(tracker.copied()[0], below(30), "chunk 3 is missing");
        tracker.complete(0, &chunk(3, below(40)));
        assert_eq!(tracker.copied()[0], Resume::End);
        // A resumed unit keeps its start until this run's first chunk completes.
        tracker.complete(
            1,
            &Completion {
                covers: Covers::Opaque,
                seq: None,
                resume: Resume::End,
            },
        );
        assert_eq!(tracker.copied()[1], below(7));
    }
}
