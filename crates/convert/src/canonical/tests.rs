use std::sync::Arc;

use arrow_array::{
    ArrayRef, BinaryArray, Decimal128Array, Float32Array, Float64Array, Int64Array, RecordBatch,
    StringArray, TimestampMicrosecondArray, UInt64Array,
};
use proptest::prelude::*;

use super::*;

/// One row of a mixed schema; `PartialEq` compares floats by bits, as the encoding must.
#[derive(Debug, Clone)]
struct Row {
    i: Option<i64>,
    u: Option<u64>,
    f: Option<f32>,
    d: Option<f64>,
    dec: Option<i128>,
    ts: Option<i64>,
    s: Option<String>,
    b: Option<Vec<u8>>,
}

impl PartialEq for Row {
    fn eq(&self, o: &Row) -> bool {
        self.i == o.i
            && self.u == o.u
            && self.f.map(f32::to_bits) == o.f.map(f32::to_bits)
            && self.d.map(f64::to_bits) == o.d.map(f64::to_bits)
            && self.dec == o.dec
            && self.ts == o.ts
            && self.s == o.s
            && self.b == o.b
    }
}

fn batch(rows: &[Row]) -> RecordBatch {
    let columns: Vec<(&str, ArrayRef)> = vec![
        (
            "i",
            Arc::new(Int64Array::from(
                rows.iter().map(|r| r.i).collect::<Vec<_>>(),
            )),
        ),
        (
            "u",
            Arc::new(UInt64Array::from(
                rows.iter().map(|r| r.u).collect::<Vec<_>>(),
            )),
        ),
        (
            "f",
            Arc::new(Float32Array::from(
                rows.iter().map(|r| r.f).collect::<Vec<_>>(),
            )),
        ),
        (
            "d",
            Arc::new(Float64Array::from(
                rows.iter().map(|r| r.d).collect::<Vec<_>>(),
            )),
        ),
        (
            "dec",
            Arc::new(
                Decimal128Array::from(rows.iter().map(|r| r.dec).collect::<Vec<_>>())
                    .with_precision_and_scale(38, 10)
                    .unwrap(),
            ),
        ),
        (
            "ts",
            Arc::new(
                TimestampMicrosecondArray::from(rows.iter().map(|r| r.ts).collect::<Vec<_>>())
                    .with_timezone("+00:00"),
            ),
        ),
        (
            "s",
            Arc::new(StringArray::from(
                rows.iter().map(|r| r.s.as_deref()).collect::<Vec<_>>(),
            )),
        ),
        (
            "b",
            Arc::new(BinaryArray::from(
                rows.iter().map(|r| r.b.as_deref()).collect::<Vec<_>>(),
            )),
        ),
    ];
    RecordBatch::try_from_iter(columns).unwrap()
}

fn encodings(rows: &[Row]) -> Vec<Vec<u8>> {
    let mut enc = RowEncoder::new();
    enc.encode(&batch(rows)).unwrap();
    (0..enc.len()).map(|i| enc.row(i).to_vec()).collect()
}

fn row_strategy() -> impl Strategy<Value = Row> {
    (
        any::<Option<i64>>(),
        any::<Option<u64>>(),
        proptest::option::of(any::<f32>().prop_filter("finite", |f| f.is_finite())),
        proptest::option::of(any::<f64>().prop_filter("finite", |f| f.is_finite())),
        proptest::option::of(-(10i128.pow(38) - 1)..10i128.pow(38)),
        any::<Option<i64>>(),
        proptest::option::of("[a-c]{0,3}"),
        proptest::option::of(proptest::collection::vec(0u8..3, 0..3)),
    )
        .prop_map(|(i, u, f, d, dec, ts, s, b)| Row {
            i,
            u,
            f,
            d,
            dec,
            ts,
            s,
            b,
        })
}

/// `row` with column `column` taken from `other`: the two differ in at most that column.
fn with_column_of(row: &Row, other: &Row, column: usize) -> Row {
    let mut r = row.clone();
    match column {
        0 => r.i = other.i,
        1 => r.u = other.u,
        2 => r.f = other.f,
        3 => r.d = other.d,
        4 => r.dec = other.dec,
        5 => r.ts = other.ts,
        6 => r.s.clone_from(&other.s),
        _ => r.b.clone_from(&other.b),
    }
    r
}

proptest! {
    /// Rows that differ in any single column (value or NULL-ness) encode differently, and equal
    /// rows encode the same. Small value domains make equal and near-equal pairs common.
    #[test]
    fn encodings_are_equal_exactly_when_rows_are(a in row_strategy(), other in row_strategy(), column in 0usize..8) {
        let b = with_column_of(&a, &other, column);
        let enc = encodings(&[a.clone(), b.clone()]);
        prop_assert_eq!(a == b, enc[0] == enc[1], "{:?} vs {:?}", a, b);
    }
}

fn base() -> Row {
    Row {
        i: Some(1),
        u: Some(2),
        f: Some(0.5),
        d: Some(0.0),
        dec: Some(7),
        ts: Some(0),
        s: Some(String::new()),
        b: None,
    }
}

#[test]
fn the_classic_traps_are_told_apart() {
    // NULL versus the empty string.
    let null_s = Row { s: None, ..base() };
    // -0.0 versus 0.0.
    let neg_zero = Row {
        d: Some(-0.0),
        ..base()
    };
    // NULL versus zero.
    let null_i = Row { i: None, ..base() };
    let zero_i = Row {
        i: Some(0),
        ..base()
    };
    let all = [base(), null_s, neg_zero, null_i, zero_i];
    let enc = encodings(&all);
    for i in 0..all.len() {
        for j in 0..i {
            assert_ne!(enc[i], enc[j], "rows {i} and {j}");
        }
    }
}

#[test]
fn column_boundaries_cannot_shift() {
    let a = Row {
        s: Some("ab".into()),
        b: Some(b"c".to_vec()),
        ..base()
    };
    let b = Row {
        s: Some("a".into()),
        b: Some(b"bc".to_vec()),
        ..base()
    };
    let enc = encodings(&[a, b]);
    assert_ne!(enc[0], enc[1]);
}

#[test]
fn the_encoder_is_reusable_and_its_layout_is_as_documented() {
    let mut enc = RowEncoder::new();
    enc.encode(&batch(&[base(), base()])).unwrap();
    assert_eq!(enc.len(), 2);
    assert_eq!(enc.row(0), enc.row(1));
    enc.encode(&batch(&[])).unwrap();
    assert!(enc.is_empty());
    let one = RecordBatch::try_from_iter([
        ("i", Arc::new(Int64Array::from(vec![Some(-2)])) as ArrayRef),
        (
            "s",
            Arc::new(StringArray::from(vec![None, Some("hé")]).slice(1, 1)) as ArrayRef,
        ),
    ])
    .unwrap();
    enc.encode(&one).unwrap();
    let mut expected = vec![0x01];
    expected.extend_from_slice(&(-2i64).to_le_bytes());
    expected.extend_from_slice(&[0x01, 3, 0, 0, 0, b'h', 0xC3, 0xA9]);
    assert_eq!(enc.row(0), expected.as_slice());
}

#[test]
fn arrow_types_the_mapping_never_produces_are_refused() {
    let batch = RecordBatch::try_from_iter([(
        "x",
        Arc::new(arrow_array::Date32Array::from(vec![1])) as ArrayRef,
    )])
    .unwrap();
    let err = RowEncoder::new().encode(&batch).unwrap_err();
    assert!(err.to_string().contains("column `x`"), "{err}");
}
