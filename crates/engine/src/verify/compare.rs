//! One chunk compared, without a server: the sources' rows against each target's, by digest
//! first and, where a target's digest differs, row by row.
//!
//! Each source row carries where it belongs ([`Placement`]: the target its keyspace id falls in,
//! the one target of an unsharded table, or every target of a reference table). For each target
//! that receives the table, the rows that belong there (from every source) must be exactly the
//! rows it holds: their [`Digest`]s are compared, and only a target whose digest differs is
//! narrowed, by key id, into
//!
//! - **missing**: belongs on the target, absent there;
//! - **extra**: on the target, on no source;
//! - **different**: on the target and belonging there, with other values;
//! - **misplaced**: on the target, on a source, but belonging on another target. Reported once,
//!   where it is, naming where it belongs (its absence there is the same fault, not a second one).
//!
//! A target's digest covers every row it holds in the chunk's key range, so a misplaced row
//! (even one whose correct copy is also in place, so that the union of the targets is equal)
//! changes its digest. Memory is the chunk's key ids and hashes (32 bytes a row) and its key
//! columns, whatever the rows' size.

use ahash::{AHashMap, AHashSet};
use arrow_array::RecordBatch;
use reshard_kernels::rowhash::Digest;

/// Where a source row belongs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Placement {
    /// On this target only.
    One(u32),
    /// On every target (a reference table).
    Every,
}

impl Placement {
    fn includes(self, target: usize) -> bool {
        match self {
            Placement::One(t) => t as usize == target,
            Placement::Every => true,
        }
    }
}

/// One row as verification sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowEntry {
    /// The hash of its key columns.
    pub key: u128,
    /// The hash of the whole row.
    pub hash: u128,
    /// Where its key values are: batch and row of [`SideRows::keys`].
    pub batch: u32,
    /// The row within that batch.
    pub row: u32,
    /// Where it belongs (source rows); `Every` on target rows, where it is unused.
    pub placement: Placement,
}

/// One server's rows of a chunk.
#[derive(Debug, Default)]
pub(crate) struct SideRows {
    /// The key columns of each batch read, to name rows by their key.
    pub keys: Vec<RecordBatch>,
    /// Every row, in reading order.
    pub rows: Vec<RowEntry>,
}

/// Which server a row was read on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// Source `i`.
    Source(usize),
    /// Target `i`.
    Target(usize),
}

/// How a row differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum DifferenceKind {
    /// It belongs on the target and is not there.
    Missing,
    /// It is on the target and on no source.
    Extra,
    /// It is on the target, belongs there, and holds other values than on its source.
    Different,
    /// It is on the target and on a source, but belongs on another target.
    Misplaced,
}

impl std::fmt::Display for DifferenceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DifferenceKind::Missing => "missing",
            DifferenceKind::Extra => "extra",
            DifferenceKind::Different => "different",
            DifferenceKind::Misplaced => "misplaced",
        })
    }
}

/// A row found to differ, before its key is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found {
    /// How.
    pub kind: DifferenceKind,
    /// The target it is about: where it is missing, or where it is (extra, different,
    /// misplaced).
    pub target: usize,
    /// For a misplaced row, the target it belongs on; `None` for the other kinds.
    pub belongs: Option<usize>,
    /// Where its key values can be read.
    pub at: (Side, usize),
}

/// The outcome of one chunk.
#[derive(Debug, Default)]
pub(crate) struct ChunkComparison {
    /// Rows read on the sources.
    pub source_rows: u64,
    /// Rows read on each target (0 for targets that do not receive the table).
    pub target_rows: Vec<u64>,
    /// The rows that differ (exactly all of them).
    pub found: Vec<Found>,
}

/// Compares the chunk's `sources` rows against each of `targets` (`None`: that target does not
/// receive the table).
pub(crate) fn compare(sources: &[SideRows], targets: &[Option<SideRows>]) -> ChunkComparison {
    let mut out = ChunkComparison {
        source_rows: sources.iter().map(|s| s.rows.len() as u64).sum(),
        target_rows: targets
            .iter()
            .map(|t| t.as_ref().map_or(0, |t| t.rows.len() as u64))
            .collect(),
        found: Vec::new(),
    };
    let mut expected = vec![Digest::default(); targets.len()];
    for row in sources.iter().flat_map(|s| &s.rows) {
        match row.placement {
            Placement::One(t) => {
                if let Some(digest) = expected.get_mut(t as usize) {
                    digest.add(row.hash);
                }
            }
            Placement::Every => expected.iter_mut().for_each(|d| d.add(row.hash)),
        }
    }
    let differing: Vec<usize> = targets
        .iter()
        .enumerate()
        .filter_map(|(t, side)| {
            let side = side.as_ref()?;
            let held = side.rows.iter().fold(Digest::default(), |mut d, r| {
                d.add(r.hash);
                d
            });
            (held != expected[t]).then_some(t)
        })
        .collect();
    if differing.is_empty() {
        return out;
    }
    // Narrow: every source row by key id.
    let mut by_key: AHashMap<u128, (usize, usize)> =
        AHashMap::with_capacity(sources.iter().map(|s| s.rows.len()).sum());
    for (s, side) in sources.iter().enumerate() {
        for (i, row) in side.rows.iter().enumerate() {
            by_key.entry(row.key).or_insert((s, i));
        }
    }
    let mut misplaced_keys: AHashSet<u128> = AHashSet::new();
    let mut missing: Vec<(u128, Found)> = Vec::new();
    for &t in &differing {
        let held = targets[t].as_ref().expect("differing targets are read");
        let mut seen: AHashSet<u128> = AHashSet::with_capacity(held.rows.len());
        for (i, row) in held.rows.iter().enumerate() {
            let at = (Side::Target(t), i);
            match by_key.get(&row.key) {
                None => out.found.push(Found {
                    kind: DifferenceKind::Extra,
                    target: t,
                    belongs: None,
                    at,
                }),
                Some(&(s, j)) => {
                    let source = &sources[s].rows[j];
                    if !source.placement.includes(t) {
                        misplaced_keys.insert(row.key);
                        out.found.push(Found {
                            kind: DifferenceKind::Misplaced,
                            target: t,
                            belongs: match source.placement {
                                Placement::One(b) => Some(b as usize),
                                Placement::Every => None,
                            },
                            at,
                        });
                        continue;
                    }
                    seen.insert(row.key);
                    if source.hash != row.hash {
                        out.found.push(Found {
                            kind: DifferenceKind::Different,
                            target: t,
                            belongs: None,
                            at,
                        });
                    }
                }
            }
        }
        for (s, side) in sources.iter().enumerate() {
            for (i, row) in side.rows.iter().enumerate() {
                if row.placement.includes(t) && !seen.contains(&row.key) {
                    missing.push((
                        row.key,
                        Found {
                            kind: DifferenceKind::Missing,
                            target: t,
                            belongs: None,
                            at: (Side::Source(s), i),
                        },
                    ));
                }
            }
        }
    }
    // A row that is misplaced is reported where it is; its absence where it belongs is the
    // same fault.
    out.found.extend(
        missing
            .into_iter()
            .filter(|(key, _)| !misplaced_keys.contains(key))
            .map(|(_, found)| found),
    );
    out
}

#[cfg(test)]
#[path = "compare_tests.rs"]
mod tests;
