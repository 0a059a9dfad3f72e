//! Chunks compared on hand-made rows: each kind of difference found exactly, and nothing else.

use super::*;

/// A row with key `key` and values `value`, belonging to `placement`.
fn row(key: u128, value: u128, placement: Placement) -> RowEntry {
    RowEntry {
        key,
        hash: key.wrapping_mul(1_000_003) ^ value,
        batch: 0,
        row: 0,
        placement,
    }
}

fn side(rows: Vec<RowEntry>) -> SideRows {
    SideRows {
        keys: Vec::new(),
        rows,
    }
}

/// Keys 1..=6 on one source, odd keys on target 0 and even on target 1.
fn sharded_source() -> SideRows {
    side(
        (1..=6)
            .map(|k| row(k, 0, Placement::One(u32::from(k % 2 == 0))))
            .collect(),
    )
}

fn on_target(keys: &[u128]) -> Option<SideRows> {
    Some(side(
        keys.iter().map(|&k| row(k, 0, Placement::Every)).collect(),
    ))
}

/// (kind, target, belongs, key) of each difference, sorted.
fn kinds(
    sources: &[SideRows],
    targets: &[Option<SideRows>],
) -> Vec<(DifferenceKind, usize, Option<usize>, u128)> {
    let result = compare(sources, targets);
    let mut out: Vec<_> = result
        .found
        .iter()
        .map(|f| {
            let key = match f.at.0 {
                Side::Source(s) => sources[s].rows[f.at.1].key,
                Side::Target(t) => targets[t].as_ref().unwrap().rows[f.at.1].key,
            };
            (f.kind, f.target, f.belongs, key)
        })
        .collect();
    out.sort_unstable();
    out
}

#[test]
fn equal_chunks_report_nothing() {
    let sources = [sharded_source()];
    let result = compare(&sources, &[on_target(&[1, 3, 5]), on_target(&[6, 4, 2])]);
    assert!(result.found.is_empty());
    assert_eq!(result.source_rows, 6);
    assert_eq!(result.target_rows, vec![3, 3]);
}

#[test]
fn missing_extra_and_different_rows_are_each_named_once() {
    let sources = [sharded_source()];
    let mut changed = on_target(&[2, 4, 6, 8]).unwrap();
    changed.rows[1].hash ^= 1; // key 4 holds other values
    let found = kinds(&sources, &[on_target(&[1, 5]), Some(changed)]);
    assert_eq!(
        found,
        vec![
            (DifferenceKind::Missing, 0, None, 3),
            (DifferenceKind::Extra, 1, None, 8),
            (DifferenceKind::Different, 1, None, 4),
        ]
    );
}

#[test]
fn a_row_on_the_wrong_shard_is_one_misplaced_row() {
    let sources = [sharded_source()];
    // Key 3 belongs on target 0 and is on target 1 only.
    let found = kinds(&sources, &[on_target(&[1, 5]), on_target(&[2, 3, 4, 6])]);
    assert_eq!(found, vec![(DifferenceKind::Misplaced, 1, Some(0), 3)]);
    // Key 5 on both targets: the union has it twice; the copy on target 1 is misplaced.
    let found = kinds(&sources, &[on_target(&[1, 3, 5]), on_target(&[2, 4, 5, 6])]);
    assert_eq!(found, vec![(DifferenceKind::Misplaced, 1, Some(0), 5)]);
}

#[test]
fn rows_of_several_sources_are_compared_together() {
    let a = side(vec![
        row(1, 0, Placement::One(0)),
        row(2, 0, Placement::One(0)),
    ]);
    let b = side(vec![row(3, 0, Placement::One(0))]);
    assert!(kinds(&[a, b], &[on_target(&[3, 2, 1])]).is_empty());
    let a = side(vec![row(1, 0, Placement::One(0))]);
    let b = side(vec![row(3, 0, Placement::One(0))]);
    assert_eq!(
        kinds(&[a, b], &[on_target(&[1])]),
        vec![(DifferenceKind::Missing, 0, None, 3)]
    );
}

#[test]
fn a_reference_table_must_be_whole_on_every_target_and_others_are_not_read() {
    let source = side((1..=3).map(|k| row(k, 0, Placement::Every)).collect());
    let found = kinds(
        std::slice::from_ref(&source),
        &[on_target(&[1, 2, 3]), on_target(&[1, 3])],
    );
    assert_eq!(found, vec![(DifferenceKind::Missing, 1, None, 2)]);
    // An unsharded table placed on target 1: target 0 is not compared (not read).
    let to_second = side((1..=2).map(|k| row(k, 0, Placement::One(1))).collect());
    let result = compare(&[to_second], &[None, on_target(&[1, 2])]);
    assert!(result.found.is_empty());
    assert_eq!(result.target_rows, vec![0, 2]);
}
