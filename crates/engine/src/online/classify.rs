//! Which changes of one (source, table) to apply now, hold, or drop (see [`super`] for why).

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, RecordBatch, UInt32Array};
use arrow_schema::{ArrowError, DataType};
use reshard_convert::binlog::ChangeOp;

use crate::chunker::Covers;
use crate::marks::Handed;

/// Images with their ops, in binlog order.
pub(crate) type Images = (RecordBatch, Vec<ChangeOp>);

/// What happens to one change now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Its key has not been handed to a reader: the read will see it.
    Drop,
    /// Its key is in a chunk being copied: wait until the chunk is on every target.
    Hold,
    /// Its key is copied: apply it.
    Apply,
}

/// The applier's view of the copy of one (source, table), and the changes it holds.
#[derive(Debug)]
pub(crate) struct UnitView {
    /// The integer key column, when chunks are integer ranges.
    int_key: Option<usize>,
    /// Integer key ranges `[lo, hi)` on every target, sorted and merged.
    done: Vec<(i128, i128)>,
    /// Chunks on every target.
    completed: u64,
    held: Vec<Images>,
    held_rows: usize,
}

impl UnitView {
    /// The view of a unit whose chunks are ranges of column `int_key` (or opaque when `None`).
    pub(crate) fn new(int_key: Option<usize>) -> UnitView {
        UnitView {
            int_key,
            done: Vec::new(),
            completed: 0,
            held: Vec::new(),
            held_rows: 0,
        }
    }

    /// Rows held.
    pub(crate) fn held_rows(&self) -> usize {
        self.held_rows
    }

    /// Takes in chunks that completed.
    pub(crate) fn absorb(&mut self, completed: impl IntoIterator<Item = Covers>) {
        for covers in completed {
            self.completed += 1;
            if let Covers::Int { lo, hi } = covers {
                self.done.push((lo, hi));
            }
        }
        self.done.sort_unstable();
        let mut merged: Vec<(i128, i128)> = Vec::with_capacity(self.done.len());
        for &(lo, hi) in &self.done {
            match merged.last_mut() {
                Some(last) if lo <= last.1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        self.done = merged;
    }

    fn is_done(&self, key: i128) -> bool {
        let i = self.done.partition_point(|&(lo, _)| lo <= key);
        i > 0 && key < self.done[i - 1].1
    }

    /// The fate of every row of `images` given what was handed out; `None` when they all share
    /// one fate, which is then the second value.
    fn fates(&self, handed: Handed, images: &RecordBatch) -> Result<(Vec<Fate>, Fate), ArrowError> {
        let Some(column) = self.int_key else {
            let fate = if handed.chunks == 0 {
                Fate::Drop
            } else if handed.all && self.completed == handed.chunks {
                Fate::Apply
            } else {
                Fate::Hold
            };
            return Ok((Vec::new(), fate));
        };
        let keys = int_keys(images.column(column).as_ref())?;
        let fates: Vec<Fate> = keys
            .iter()
            .map(|&key| match handed.below {
                Some(below) if key < below => {
                    if self.is_done(key) {
                        Fate::Apply
                    } else {
                        Fate::Hold
                    }
                }
                _ => Fate::Drop,
            })
            .collect();
        let first = fates.first().copied().unwrap_or(Fate::Drop);
        if fates.iter().all(|&f| f == first) {
            return Ok((Vec::new(), first));
        }
        Ok((fates, first))
    }

    /// Sorts new changes: returns the part to apply now, holds the part to hold, drops the
    /// rest.
    pub(crate) fn sort(
        &mut self,
        handed: Handed,
        images: Images,
    ) -> Result<Option<Images>, ArrowError> {
        let (fates, single) = self.fates(handed, &images.0)?;
        if fates.is_empty() {
            return Ok(match single {
                Fate::Drop => None,
                Fate::Apply => Some(images),
                Fate::Hold => {
                    self.hold(images);
                    None
                }
            });
        }
        if let Some(hold) = select(&images, &fates, Fate::Hold)? {
            self.hold(hold);
        }
        select(&images, &fates, Fate::Apply)
    }

    /// The held changes whose chunks have completed, in the order they came; the rest stay
    /// held.
    pub(crate) fn release(&mut self, handed: Handed) -> Result<Vec<Images>, ArrowError> {
        let mut released = Vec::new();
        for images in std::mem::take(&mut self.held) {
            self.held_rows -= images.0.num_rows();
            let (fates, single) = self.fates(handed, &images.0)?;
            // A held key was handed out, and hand-outs only grow: nothing held is dropped (a
            // `Drop` here could only be a bug, and keeping it held is the safe side).
            if fates.is_empty() {
                match single {
                    Fate::Apply => released.push(images),
                    Fate::Hold | Fate::Drop => self.hold(images),
                }
                continue;
            }
            let keep: Vec<Fate> = fates
                .iter()
                .map(|&f| if f == Fate::Drop { Fate::Hold } else { f })
                .collect();
            if let Some(hold) = select(&images, &keep, Fate::Hold)? {
                self.hold(hold);
            }
            if let Some(apply) = select(&images, &keep, Fate::Apply)? {
                released.push(apply);
            }
        }
        Ok(released)
    }

    fn hold(&mut self, images: Images) {
        self.held_rows += images.0.num_rows();
        self.held.push(images);
    }
}

/// The rows of `images` whose fate is `wanted`, or `None` if there are none.
fn select(images: &Images, fates: &[Fate], wanted: Fate) -> Result<Option<Images>, ArrowError> {
    let rows: Vec<u32> = fates
        .iter()
        .enumerate()
        .filter(|&(_, &f)| f == wanted)
        .map(|(i, _)| u32::try_from(i).expect("a change batch has fewer than 2^32 rows"))
        .collect();
    if rows.is_empty() {
        return Ok(None);
    }
    let ops = rows.iter().map(|&i| images.1[i as usize]).collect();
    let indices = UInt32Array::from(rows);
    let batch = arrow_select::take::take_record_batch(&images.0, &indices)?;
    Ok(Some((batch, ops)))
}

/// The values of an integer key column, widened.
fn int_keys(array: &dyn Array) -> Result<Vec<i128>, ArrowError> {
    macro_rules! widen {
        ($t:ty) => {
            array
                .as_primitive::<$t>()
                .values()
                .iter()
                .map(|&v| i128::from(v))
                .collect()
        };
    }
    Ok(match array.data_type() {
        DataType::Int8 => widen!(Int8Type),
        DataType::Int16 => widen!(Int16Type),
        DataType::Int32 => widen!(Int32Type),
        DataType::Int64 => widen!(Int64Type),
        DataType::UInt8 => widen!(UInt8Type),
        DataType::UInt16 => widen!(UInt16Type),
        DataType::UInt32 => widen!(UInt32Type),
        DataType::UInt64 => widen!(UInt64Type),
        other => {
            return Err(ArrowError::InvalidArgumentError(format!(
                "an integer key column of type {other}"
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, RecordBatch};
    use arrow_schema::{Field, Schema};
    use reshard_convert::binlog::ChangeOp;

    use super::*;

    fn images(keys: &[i64]) -> Images {
        let schema = Arc::new(Schema::new(vec![Field::new("id", DataType::Int64, false)]));
        let batch =
            RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(keys.to_vec()))]).unwrap();
        (batch, vec![ChangeOp::Insert; keys.len()])
    }

    fn keys(images: &Images) -> Vec<i64> {
        images
            .0
            .column(0)
            .as_primitive::<Int64Type>()
            .values()
            .to_vec()
    }

    fn handed(chunks: u64, below: Option<i128>, all: bool) -> Handed {
        Handed { chunks, below, all }
    }

    #[test]
    fn integer_keys_are_dropped_held_or_applied_by_their_chunk() {
        let mut view = UnitView::new(Some(0));
        // Nothing handed out: the reads will see every change.
        assert!(
            view.sort(handed(0, None, false), images(&[1, 2]))
                .unwrap()
                .is_none()
        );
        assert_eq!(view.held_rows(), 0);
        // [MIN, 100) handed out, not yet written: 50 is held, 150 dropped.
        let now = handed(1, Some(100), false);
        assert!(view.sort(now, images(&[50, 150, -7])).unwrap().is_none());
        assert_eq!(view.held_rows(), 2);
        // Still in flight: nothing is released, and a newer change of 50 is held after it.
        assert!(view.release(now).unwrap().is_empty());
        assert!(view.sort(now, images(&[50])).unwrap().is_none());
        // The chunk completes: the held changes come out in their order, then new ones apply.
        view.absorb(vec![Covers::Int {
            lo: i128::MIN,
            hi: 100,
        }]);
        let released: Vec<i64> = view.release(now).unwrap().iter().flat_map(keys).collect();
        assert_eq!(released, vec![50, -7, 50]);
        assert_eq!(view.held_rows(), 0);
        let applied = view.sort(now, images(&[99, 100])).unwrap().unwrap();
        assert_eq!(keys(&applied), vec![99], "100 is not handed out yet");
    }

    #[test]
    fn completed_ranges_merge_and_gaps_between_them_hold() {
        let mut view = UnitView::new(Some(0));
        let now = handed(3, Some(300), false);
        view.absorb(vec![
            Covers::Int { lo: 200, hi: 300 },
            Covers::Int {
                lo: i128::MIN,
                hi: 100,
            },
        ]);
        let applied = view.sort(now, images(&[5, 150, 250])).unwrap().unwrap();
        assert_eq!(keys(&applied), vec![5, 250]);
        assert_eq!(view.held_rows(), 1, "150 is in the chunk still in flight");
        view.absorb(vec![Covers::Int { lo: 100, hi: 200 }]);
        assert_eq!(view.done, vec![(i128::MIN, 300)]);
        let released: Vec<i64> = view.release(now).unwrap().iter().flat_map(keys).collect();
        assert_eq!(released, vec![150]);
    }

    #[test]
    fn opaque_units_hold_everything_until_their_last_chunk_is_written() {
        let mut view = UnitView::new(None);
        assert!(
            view.sort(handed(0, None, false), images(&[1]))
                .unwrap()
                .is_none()
        );
        assert_eq!(view.held_rows(), 0, "dropped before the first hand-out");
        let two = handed(2, None, true);
        assert!(view.sort(two, images(&[1, 2])).unwrap().is_none());
        view.absorb(vec![Covers::Opaque]);
        assert!(
            view.release(two).unwrap().is_empty(),
            "one of two chunks written"
        );
        view.absorb(vec![Covers::Opaque]);
        let released: Vec<i64> = view.release(two).unwrap().iter().flat_map(keys).collect();
        assert_eq!(released, vec![1, 2]);
        assert_eq!(
            keys(&view.sort(two, images(&[3])).unwrap().unwrap()),
            vec![3]
        );
    }
}
