//! Property tests of the routing kernels against the scalar reference: for generated batches,
//! key ranges (even, uneven, with bounds longer than 8 bytes, in any target order) and every
//! vindex, each row lands in exactly one output batch: the one of the target whose range
//! contains the row's keyspace id as [`vindex::keyspace_id`] computes it and
//! [`KeyRange::contains`] decides it.

use std::sync::Arc;

use arrow_array::{
    Array, ArrayRef, BinaryArray, Int64Array, RecordBatch, StringArray, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema};
use proptest::prelude::*;
use reshard_types::KeyRange;

use crate::column::{PARALLEL_ROWS, RouteError, route_column};
use crate::route::Router;
use crate::split::Splitter;
use crate::vindex::{self, VindexKind, VindexValue};

const KINDS: [VindexKind; 8] = VindexKind::ALL;

/// Key ranges from sorted distinct cut points, handed to targets in a shuffled order.
fn ranges() -> impl Strategy<Value = Vec<KeyRange>> {
    let cut = proptest::collection::vec(any::<u8>(), 1..10);
    (proptest::collection::btree_set(cut, 0..7), any::<u64>()).prop_map(|(cuts, seed)| {
        let mut bounds: Vec<Vec<u8>> = cuts
            .into_iter()
            .map(|mut c| {
                while c.last() == Some(&0) {
                    c.pop();
                }
                c
            })
            .filter(|c| !c.is_empty())
            .collect();
        bounds.sort();
        bounds.dedup();
        let mut list = Vec::new();
        let mut start = Vec::new();
        for bound in bounds {
            list.push(KeyRange::new(&start, &bound).unwrap());
            start = bound;
        }
        list.push(KeyRange::new(&start, &[]).unwrap());
        // A deterministic shuffle, so that target order differs from key order.
        let n = list.len();
        for i in (1..n).rev() {
            let j = usize::try_from(seed.rotate_left(u32::try_from(i).unwrap()) % (i as u64 + 1))
                .unwrap();
            list.swap(i, j);
        }
        list
    })
}

#[derive(Debug, Clone)]
enum Column {
    Int(Vec<Option<i64>>),
    UInt(Vec<Option<u64>>),
    Text(Vec<Option<String>>),
    Bytes(Vec<Option<Vec<u8>>>),
}

fn column(rows: usize) -> impl Strategy<Value = Column> {
    let n = 0..rows;
    prop_oneof![
        proptest::collection::vec(
            prop_oneof![9 => any::<i64>().prop_map(Some), 1 => Just(None)],
            n.clone()
        )
        .prop_map(Column::Int),
        proptest::collection::vec(
            prop_oneof![9 => any::<u64>().prop_map(Some), 1 => Just(None)],
            n.clone()
        )
        .prop_map(Column::UInt),
        proptest::collection::vec(
            prop_oneof![
                4 => "[0-9]{1,19}".prop_map(Some),
                4 => "\\PC{0,12}".prop_map(Some),
                1 => Just(None)
            ],
            n.clone()
        )
        .prop_map(Column::Text),
        proptest::collection::vec(
            prop_oneof![9 => proptest::collection::vec(any::<u8>(), 0..20).prop_map(Some), 1 => Just(None)],
            n
        )
        .prop_map(Column::Bytes),
    ]
}

fn array(column: &Column) -> ArrayRef {
    match column {
        Column::Int(v) => Arc::new(Int64Array::from(v.clone())),
        Column::UInt(v) => Arc::new(UInt64Array::from(v.clone())),
        Column::Text(v) => Arc::new(StringArray::from(v.clone())),
        Column::Bytes(v) => Arc::new(BinaryArray::from(
            v.iter().map(|b| b.as_deref()).collect::<Vec<_>>(),
        )),
    }
}

fn value(column: &Column, row: usize) -> VindexValue<'_> {
    match column {
        Column::Int(v) => v[row].map_or(VindexValue::Null, VindexValue::Int),
        Column::UInt(v) => v[row].map_or(VindexValue::Null, VindexValue::UInt),
        Column::Text(v) => v[row]
            .as_deref()
            .map_or(VindexValue::Null, |s| VindexValue::Bytes(s.as_bytes())),
        Column::Bytes(v) => v[row]
            .as_deref()
            .map_or(VindexValue::Null, VindexValue::Bytes),
    }
}

fn len(column: &Column) -> usize {
    match column {
        Column::Int(v) => v.len(),
        Column::UInt(v) => v.len(),
        Column::Text(v) => v.len(),
        Column::Bytes(v) => v.len(),
    }
}

/// Checks one column against the reference: the kernel fails exactly at the first unmappable
/// row, or routes every row to the one range that contains its id, and the split puts every
/// row (identified by its position, carried in a second column) into that target's batch.
fn check(kind: VindexKind, column: &Column, ranges: &[KeyRange]) -> Result<(), TestCaseError> {
    let router = Router::new(ranges).unwrap();
    let array = array(column);
    let rows = len(column);
    let mut targets = vec![7u32; 3]; // stale content the kernel must replace
    let routed = route_column(kind, array.as_ref(), &router, &mut targets);
    let mut id = Vec::new();
    let mut expected = Vec::with_capacity(rows);
    for row in 0..rows {
        match vindex::keyspace_id(kind, value(column, row), &mut id) {
            Ok(()) => {
                let hits: Vec<usize> = (0..ranges.len())
                    .filter(|&t| ranges[t].contains(&id))
                    .collect();
                prop_assert_eq!(hits.len(), 1);
                expected.push(u32::try_from(hits[0]).unwrap());
            }
            Err(reason) => {
                prop_assert_eq!(routed, Err(RouteError::Unmappable { row, reason }));
                return Ok(());
            }
        }
    }
    prop_assert_eq!(routed, Ok(()));
    prop_assert_eq!(&targets, &expected);

    let positions: ArrayRef = Arc::new(UInt64Array::from_iter_values(0..rows as u64));
    let schema = Schema::new(vec![
        Field::new("key", array.data_type().clone(), true),
        Field::new("row", DataType::UInt64, false),
    ]);
    let batch = RecordBatch::try_new(Arc::new(schema), vec![array, positions]).unwrap();
    let mut seen = vec![0usize; rows];
    for (target, part) in Splitter::new(ranges.len()).split(&batch, &targets).unwrap() {
        let rows_of_part = part
            .column(1)
            .as_any()
            .downcast_ref::<UInt64Array>()
            .unwrap();
        for &row in rows_of_part.values() {
            let row = usize::try_from(row).unwrap();
            prop_assert_eq!(expected[row] as usize, target);
            seen[row] += 1;
        }
    }
    prop_assert!(seen.iter().all(|&n| n == 1), "every row exactly once");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_row_lands_in_exactly_the_target_whose_range_holds_its_id(
        column in column(300),
        ranges in ranges(),
    ) {
        for kind in KINDS {
            check(kind, &column, &ranges)?;
        }
    }

    #[test]
    fn even_splits_route_like_the_reference(column in column(300), n in 1usize..20) {
        let ranges = KeyRange::even(n).unwrap();
        for kind in KINDS {
            check(kind, &column, &ranges)?;
        }
    }
}

/// Batches above [`PARALLEL_ROWS`] are routed in parallel blocks; the result and the first
/// failing row are the same as sequentially.
#[test]
fn parallel_blocks_route_like_the_reference() {
    let rows = PARALLEL_ROWS * 3 + 17;
    let values: Vec<Option<i64>> = (0..rows)
        .map(|i| {
            i64::try_from(i)
                .unwrap()
                .wrapping_mul(0x9e37_79b9_7f4a_7c15_u64.cast_signed())
        })
        .map(Some)
        .collect();
    let ranges = KeyRange::parse_list("-40,40-a0,a0-c0,c0-").unwrap();
    for kind in KINDS {
        check(kind, &Column::Int(values.clone()), &ranges).unwrap();
    }
    // NULLs in two blocks: the error names the first.
    let mut with_nulls = values;
    with_nulls[PARALLEL_ROWS * 2 + 5] = None;
    with_nulls[PARALLEL_ROWS + 3] = None;
    let router = Router::new(&ranges).unwrap();
    let mut targets = Vec::new();
    let err = route_column(
        VindexKind::Hash,
        &Int64Array::from(with_nulls),
        &router,
        &mut targets,
    )
    .unwrap_err();
    assert_eq!(
        err,
        RouteError::Unmappable {
            row: PARALLEL_ROWS + 3,
            reason: vindex::Unmappable::Null("hash"),
        }
    );
}

#[test]
fn other_types_are_refused() {
    let column = arrow_array::Float64Array::from(vec![1.0]);
    let mut targets = Vec::new();
    assert_eq!(
        route_column(VindexKind::Hash, &column, &Router::single(), &mut targets),
        Err(RouteError::UnsupportedType(DataType::Float64))
    );
}
