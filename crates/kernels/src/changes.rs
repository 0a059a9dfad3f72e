//! What to write where for a run of row changes: the dedupe-and-route plan of the change applier.
//!
//! Input: the images of a run of changes of one table, in binlog order (an update is two rows,
//! its before image then its after image), whether each row is an *after* image (a row that
//! exists once its event is applied: an insert or an update's after image), and the target each
//! row's image routes to (from the same routing kernel as the copy).
//!
//! Output, per target: the rows to **delete** (by key) and the rows to **upsert** (whole rows).
//! For every key (the table's primary key, compared as bytes by `arrow-row`):
//!
//! - the **last image wins**: if the key's last row is an after image, that row is upserted on
//!   its target, once, whatever came before it; if it is a before image (a delete, or an update
//!   that moved the row to another key), the key ends up absent;
//! - the key is **deleted on every other target any of its images routed to**. Before the run,
//!   the key can exist only where one of its images says: its state before the run is the first
//!   row's before image (or nothing, for an insert), and a copy that read it mid-run holds one of
//!   the images in between. So an update of the sharding column becomes a delete on the old shard
//!   and an upsert on the new one, and a delete goes only to the shards its images route to,
//!   never everywhere.
//!
//! Applying a plan means, per target, the deletes and then the upserts; targets are independent.
//! A key appears in at most one upsert list and never in the same target's delete list, so the
//! order within a list does not matter. Applied to any state that one of the run's images
//! describes, the plan leaves exactly the state of the run's end: replaying it is harmless.

use std::hash::BuildHasherDefault;

use ahash::AHasher;
use arrow_array::ArrayRef;
use arrow_row::{RowConverter, SortField};
use arrow_schema::ArrowError;

type KeyMap<'a> = std::collections::HashMap<arrow_row::Row<'a>, u32, BuildHasherDefault<AHasher>>;

/// Per target, the rows of the input to delete by key and to upsert whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangePlan {
    /// `deletes[t]`: rows whose key columns name a key to delete on target `t`.
    pub deletes: Vec<Vec<u32>>,
    /// `upserts[t]`: rows to write whole on target `t`.
    pub upserts: Vec<Vec<u32>>,
    /// Distinct keys in the input.
    pub keys: usize,
}

impl ChangePlan {
    /// Rows to delete and upsert, over all targets.
    pub fn len(&self) -> usize {
        self.deletes.iter().chain(&self.upserts).map(Vec::len).sum()
    }

    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Plans a run of changes (see the module docs). `keys` are the key columns of the images,
/// `is_after[i]` says whether row `i` is an after image, `targets[i]` is the target its image
/// routes to (`< n_targets`).
pub fn plan_changes(
    keys: &[ArrayRef],
    is_after: &[bool],
    targets: &[u32],
    n_targets: usize,
) -> Result<ChangePlan, ArrowError> {
    let rows = is_after.len();
    assert_eq!(targets.len(), rows, "one target per row");
    let converter = RowConverter::new(
        keys.iter()
            .map(|k| SortField::new(k.data_type().clone()))
            .collect(),
    )?;
    let encoded = converter.convert_columns(keys)?;
    assert_eq!(encoded.num_rows(), rows, "one key per row");
    let mut ids: KeyMap<'_> = KeyMap::default();
    ids.reserve(rows);
    // Per row, its key's id; per key id, its last row.
    let mut key_of = Vec::with_capacity(rows);
    let mut last_row: Vec<u32> = Vec::new();
    for (row, key) in encoded.iter().enumerate() {
        let row = u32::try_from(row).expect("a batch has fewer than 2^32 rows");
        let next_id = u32::try_from(last_row.len()).expect("fewer than 2^32 keys");
        let id = *ids.entry(key).or_insert(next_id);
        if id == next_id {
            last_row.push(row);
        } else {
            last_row[id as usize] = row;
        }
        key_of.push(id);
    }
    // Every (key, target) any image of the key routed to, once.
    let mut seen: Vec<(u32, u32)> = key_of
        .iter()
        .copied()
        .zip(targets.iter().copied())
        .collect();
    seen.sort_unstable();
    seen.dedup();
    let mut plan = ChangePlan {
        deletes: vec![Vec::new(); n_targets],
        upserts: vec![Vec::new(); n_targets],
        keys: last_row.len(),
    };
    for &row in &last_row {
        if is_after[row as usize] {
            plan.upserts[targets[row as usize] as usize].push(row);
        }
    }
    for (id, target) in seen {
        let row = last_row[id as usize];
        let stays_here = is_after[row as usize] && targets[row as usize] == target;
        if !stays_here {
            plan.deletes[target as usize].push(row);
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{Int64Array, StringArray};

    use super::*;

    fn ints(values: &[i64]) -> Vec<ArrayRef> {
        vec![Arc::new(Int64Array::from(values.to_vec()))]
    }

    #[test]
    fn the_last_image_wins_and_is_written_once() {
        // insert 1; update 1 (before, after); insert 2; delete 2.
        let keys = ints(&[1, 1, 1, 2, 2]);
        let after = [true, false, true, true, false];
        let targets = [0, 0, 0, 1, 1];
        let plan = plan_changes(&keys, &after, &targets, 2).unwrap();
        assert_eq!(plan.upserts, vec![vec![2], vec![]]);
        assert_eq!(plan.deletes, vec![vec![], vec![4]]);
        assert_eq!(plan.keys, 2);
    }

    #[test]
    fn a_row_that_moves_shard_is_deleted_where_it_was() {
        // update of the sharding column: before on target 0, after on target 2.
        let keys = ints(&[7, 7]);
        let plan = plan_changes(&keys, &[false, true], &[0, 2], 3).unwrap();
        assert_eq!(plan.upserts, vec![vec![], vec![], vec![1]]);
        assert_eq!(plan.deletes, vec![vec![1], vec![], vec![]]);
    }

    #[test]
    fn every_shard_a_key_passed_through_loses_it() {
        // insert on 0, move to 1, move to 2, delete: deleted on 0, 1 and 2, written nowhere.
        let keys = ints(&[5, 5, 5, 5, 5, 5]);
        let after = [true, false, true, false, true, false];
        let targets = [0, 0, 1, 1, 2, 2];
        let plan = plan_changes(&keys, &after, &targets, 3).unwrap();
        assert!(plan.upserts.iter().all(Vec::is_empty));
        assert_eq!(plan.deletes, vec![vec![5], vec![5], vec![5]]);
    }

    #[test]
    fn a_key_change_deletes_the_old_key_and_writes_the_new() {
        // update id 3 -> 30 on the same shard.
        let keys = ints(&[3, 30]);
        let plan = plan_changes(&keys, &[false, true], &[1, 1], 2).unwrap();
        assert_eq!(plan.upserts, vec![vec![], vec![1]]);
        assert_eq!(plan.deletes, vec![vec![], vec![0]]);
    }

    #[test]
    fn composite_and_string_keys_compare_by_value() {
        let keys: Vec<ArrayRef> = vec![
            Arc::new(StringArray::from(vec!["a", "a", "b", "a"])),
            Arc::new(Int64Array::from(vec![1, 2, 1, 1])),
        ];
        let plan = plan_changes(&keys, &[true, true, true, false], &[0, 0, 0, 0], 1).unwrap();
        // (a,1) ends deleted; (a,2) and (b,1) are written.
        assert_eq!(plan.upserts, vec![vec![1, 2]]);
        assert_eq!(plan.deletes, vec![vec![3]]);
    }

    /// A run of events on keys 0..5 over 3 shards, as (key, shard) images with an after flag:
    /// inserts of absent keys, updates that may change the shard or the key, deletes.
    #[allow(clippy::type_complexity)]
    fn run(
        choices: &[(u8, u8, u8)],
    ) -> (
        Vec<(i64, u32, bool)>,
        Vec<std::collections::BTreeMap<i64, (u32, usize)>>,
        Vec<usize>,
    ) {
        use std::collections::BTreeMap;
        let mut state: BTreeMap<i64, (u32, usize)> = BTreeMap::new();
        let mut images = Vec::new();
        let mut states = vec![state.clone()];
        // Images before each state.
        let mut bounds = vec![0];
        for &(op, key, shard) in choices {
            let key = i64::from(key % 5);
            let shard = u32::from(shard % 3);
            match (op % 3, state.get(&key).copied()) {
                (_, None) => {
                    images.push((key, shard, true));
                    state.insert(key, (shard, images.len() - 1));
                }
                (0, Some((old, _))) => {
                    images.push((key, old, false));
                    state.remove(&key);
                }
                (1, Some((old, _))) => {
                    images.push((key, old, false));
                    images.push((key, shard, true));
                    state.insert(key, (shard, images.len() - 1));
                }
                (_, Some((old, _))) => {
                    // The key changes to one that is free, if any.
                    let Some(new_key) = (0..5).find(|k| !state.contains_key(k)) else {
                        continue;
                    };
                    images.push((key, old, false));
                    images.push((new_key, shard, true));
                    state.remove(&key);
                    state.insert(new_key, (shard, images.len() - 1));
                }
            }
            states.push(state.clone());
            bounds.push(images.len());
        }
        (images, states, bounds)
    }

    proptest::proptest! {
        /// The plan of the events after some point (keys that existed before it included), applied
        /// to the state at that point or any later one (what a copy may have read), leaves
        /// exactly the final state on every shard.
        #[test]
        fn the_plan_reaches_the_final_state_from_any_state_of_the_run(
            choices in proptest::collection::vec((0u8..3, 0u8..5, 0u8..3), 1..40),
            from in 0usize..41,
            start in 0usize..41,
        ) {
            use std::collections::BTreeMap;
            let (all_images, states, bounds) = run(&choices);
            let from = from.min(states.len() - 1);
            let start = from + start % (states.len() - from);
            // The plan sees only the images from `from` on; rows keep their numbers by offset.
            let offset = bounds[from];
            let images = &all_images[offset..];
            proptest::prop_assume!(!images.is_empty());
            let keys = ints(&images.iter().map(|i| i.0).collect::<Vec<_>>());
            let after: Vec<bool> = images.iter().map(|i| i.2).collect();
            let targets: Vec<u32> = images.iter().map(|i| i.1).collect();
            let plan = plan_changes(&keys, &after, &targets, 3).unwrap();
            let initial = &states[start];
            let mut shards: Vec<BTreeMap<i64, usize>> = vec![BTreeMap::new(); 3];
            for (key, (shard, row)) in initial {
                shards[*shard as usize].insert(*key, *row);
            }
            for ((shard, deletes), upserts) in shards.iter_mut().zip(&plan.deletes).zip(&plan.upserts) {
                for &row in deletes {
                    shard.remove(&images[row as usize].0);
                }
                for &row in upserts {
                    shard.insert(images[row as usize].0, row as usize + offset);
                }
            }
            let mut expected: Vec<BTreeMap<i64, usize>> = vec![BTreeMap::new(); 3];
            for (key, (shard, row)) in states.last().unwrap() {
                expected[*shard as usize].insert(*key, *row);
            }
            proptest::prop_assert_eq!(shards, expected);
        }
    }
}
