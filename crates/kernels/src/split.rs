//! The split of a batch into one batch per target, from the targets [`crate::column`] computed.
//!
//! A [`Splitter`] keeps one index buffer per target and reuses them batch after batch; the rows
//! of each target are gathered with Arrow's `take`, in their original order. A batch whose rows
//! all go to one target is passed on as it is (no copy), which is every batch of a one-target
//! copy and of an unsharded table.

use arrow_array::{RecordBatch, UInt32Array};
use arrow_schema::ArrowError;
use arrow_select::take::take_record_batch;

/// Splits batches by target, reusing its index buffers.
#[derive(Debug, Default)]
pub struct Splitter {
    indexes: Vec<Vec<u32>>,
}

impl Splitter {
    /// A splitter for `targets` targets.
    pub fn new(targets: usize) -> Splitter {
        Splitter {
            indexes: vec![Vec::new(); targets],
        }
    }

    /// The rows of `batch` per target, where row `i` goes to `targets[i]`: pairs of (target,
    /// batch), in target order, only for targets that get rows.
    pub fn split(
        &mut self,
        batch: &RecordBatch,
        targets: &[u32],
    ) -> Result<Vec<(usize, RecordBatch)>, ArrowError> {
        assert_eq!(batch.num_rows(), targets.len(), "one target per row");
        let Some(&first) = targets.first() else {
            return Ok(Vec::new());
        };
        if targets.iter().all(|&t| t == first) {
            return Ok(vec![(first as usize, batch.clone())]);
        }
        for list in &mut self.indexes {
            list.clear();
        }
        for (row, &target) in targets.iter().enumerate() {
            let row = u32::try_from(row).expect("a batch has fewer than 2^32 rows");
            self.indexes[target as usize].push(row);
        }
        let mut out = Vec::new();
        for (target, rows) in self.indexes.iter().enumerate() {
            if rows.is_empty() {
                continue;
            }
            let indices = UInt32Array::from_iter_values(rows.iter().copied());
            out.push((target, take_record_batch(batch, &indices)?));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Array, Int64Array, StringArray};
    use arrow_schema::{DataType, Field, Schema};

    use super::*;

    fn batch() -> RecordBatch {
        let schema = Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("name", DataType::Utf8, true),
        ]);
        RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![1, 2, 3, 4, 5])),
                Arc::new(StringArray::from(vec![
                    Some("a"),
                    None,
                    Some("c"),
                    Some("d"),
                    Some(""),
                ])),
            ],
        )
        .unwrap()
    }

    fn ids(b: &RecordBatch) -> Vec<i64> {
        b.column(0)
            .as_any()
            .downcast_ref::<Int64Array>()
            .unwrap()
            .values()
            .to_vec()
    }

    #[test]
    fn rows_go_to_their_target_in_order() {
        let mut splitter = Splitter::new(3);
        let b = batch();
        let parts = splitter.split(&b, &[2, 0, 2, 0, 2]).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0].0, 0);
        assert_eq!(ids(&parts[0].1), vec![2, 4]);
        assert_eq!(parts[1].0, 2);
        assert_eq!(ids(&parts[1].1), vec![1, 3, 5]);
        let names = parts[0].1.column(1);
        assert!(names.is_null(0), "the NULL travels with its row");
        assert_eq!(parts[0].1.schema(), b.schema());
        // The buffers are reused: a second batch starts from empty lists.
        let again = splitter.split(&b, &[1, 1, 0, 1, 1]).unwrap();
        assert_eq!(ids(&again[0].1), vec![3]);
        assert_eq!(ids(&again[1].1), vec![1, 2, 4, 5]);
    }

    #[test]
    fn a_batch_for_one_target_is_passed_on_whole() {
        let mut splitter = Splitter::new(2);
        let b = batch();
        let parts = splitter.split(&b, &[1; 5]).unwrap();
        assert_eq!(parts.len(), 1);
        assert_eq!(parts[0].0, 1);
        assert_eq!(parts[0].1, b);
        assert!(splitter.split(&b.slice(0, 0), &[]).unwrap().is_empty());
    }
}
