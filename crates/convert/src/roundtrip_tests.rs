//! Property tests across every column type: generated batches survive the binary-row
//! encode/decode round trip exactly, and the `LOAD DATA` format keeps every string's bytes and
//! every NULL. Also the no-fallback check: every type has its own decoder and encoder path.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Decimal128Builder, Decimal256Builder, DurationMicrosecondBuilder,
    Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder, UInt8Builder, UInt16Builder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Float64Type};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_buffer::i256;
use arrow_schema::DataType;
use proptest::prelude::*;
use reshard_types::{ColumnDef, ColumnType, IntWidth, TableSchema};

use crate::decode::BinaryRowDecoder;
use crate::encode::binary_row::{encode_binary_row, wire_columns};
use crate::encode::load_data::{LoadDataEncoder, parse_lines};
use crate::encode::values::Kind;
use crate::schema::{TIMESTAMP_ZONE, arrow_schema};
use crate::temporal::{DateTimeParts, TimeParts};
use crate::test_support::every_type;

/// One column of every type, named `c0`, `c1`, ...
fn all_types_table() -> TableSchema {
    let columns = every_type()
        .into_iter()
        .enumerate()
        .map(|(i, (column, _))| ColumnDef {
            name: format!("c{i}"),
            ..column
        })
        .collect();
    TableSchema {
        database: "db".into(),
        name: "t".into(),
        columns,
        primary_key: vec![],
    }
}

#[test]
fn every_type_has_its_own_decoder_and_encoder_path() {
    let table = all_types_table();
    let schema = Arc::new(arrow_schema(&table));
    let decoder = BinaryRowDecoder::new(Arc::clone(&schema)).expect("a decoder for every type");
    decoder
        .check_wire(&wire_columns(&schema).unwrap())
        .expect("the server's wire types are accepted");
    LoadDataEncoder::new(&schema).expect("a LOAD DATA encoding for every type");
    for (column, field) in table.columns.iter().zip(schema.fields()) {
        let (kind, _) = Kind::of(field).unwrap();
        // Only character and byte types may be written as raw text or bytes; any other type
        // landing there would be a lossy fallback.
        let is_string_type = matches!(
            column.ty,
            ColumnType::Char { .. }
                | ColumnType::VarChar { .. }
                | ColumnType::Text { .. }
                | ColumnType::Enum { .. }
                | ColumnType::Set { .. }
                | ColumnType::Json
        );
        if matches!(kind, Kind::Text | Kind::Bytes) {
            assert!(is_string_type, "{:?} falls back to {kind:?}", column.ty);
        }
    }
}

fn truncate_to_fsp(micros: u32, column: &ColumnDef) -> u32 {
    let fsp = match column.ty {
        ColumnType::DateTime { fsp } | ColumnType::Timestamp { fsp } | ColumnType::Time { fsp } => {
            fsp
        }
        _ => 6,
    };
    let unit = 10u32.pow(u32::from(6 - fsp));
    micros / unit * unit
}

/// A value of `column` (None = NULL), as something every builder can take.
#[derive(Debug, Clone)]
enum Gen {
    Int(i128),
    F32(f32),
    F64(f64),
    Dec(i128, i128),
    Bytes(Vec<u8>),
    Text(String),
}

fn value_strategy(column: &ColumnDef, data_type: &DataType) -> BoxedStrategy<Gen> {
    let int = |lo: i128, hi: i128| (lo..=hi).prop_map(Gen::Int).boxed();
    let column = column.clone();
    match (&column.ty, data_type) {
        (ColumnType::Int { width, unsigned }, _) => {
            let bits = match width {
                IntWidth::W8 => 8,
                IntWidth::W16 => 16,
                IntWidth::W24 => 24,
                IntWidth::W32 => 32,
                IntWidth::W64 => 64,
            };
            if *unsigned {
                int(0, (1i128 << bits) - 1)
            } else {
                int(-(1i128 << (bits - 1)), (1i128 << (bits - 1)) - 1)
            }
        }
        (ColumnType::Float, _) => {
            (prop::num::f32::NORMAL | prop::num::f32::SUBNORMAL | prop::num::f32::ZERO)
                .prop_map(Gen::F32)
                .boxed()
        }
        (ColumnType::Double, _) => {
            (prop::num::f64::NORMAL | prop::num::f64::SUBNORMAL | prop::num::f64::ZERO)
                .prop_map(Gen::F64)
                .boxed()
        }
        (ColumnType::Decimal { precision, .. }, _) => {
            let p = u32::from(*precision);
            let high_digits = p.saturating_sub(38);
            let high_max = 10i128.pow(high_digits) - 1;
            let low_max = 10i128.pow(p.min(38)) - 1;
            (-high_max..=high_max, -low_max..=low_max)
                .prop_map(|(h, l)| Gen::Dec(h, l))
                .boxed()
        }
        (ColumnType::Bit { bits }, _) => {
            let max = if *bits >= 64 {
                u64::MAX
            } else {
                (1u64 << bits) - 1
            };
            (0..=max).prop_map(|v| Gen::Int(i128::from(v))).boxed()
        }
        (ColumnType::Year, _) => prop_oneof![Just(0i128), 1901i128..=2155]
            .prop_map(Gen::Int)
            .boxed(),
        (ColumnType::Date, _) => (0u16..=9999, 0u8..=12, 0u8..=31)
            .prop_map(|(year, month, day)| {
                Gen::Int(i128::from(
                    DateTimeParts {
                        year,
                        month,
                        day,
                        ..Default::default()
                    }
                    .to_yyyymmdd(),
                ))
            })
            .boxed(),
        (ColumnType::DateTime { .. }, _) => (
            0u16..=9999,
            0u8..=12,
            0u8..=31,
            0u8..=23,
            0u8..=59,
            0u8..=59,
            0u32..=999_999,
        )
            .prop_map(move |(year, month, day, hour, minute, second, micros)| {
                let micros = truncate_to_fsp(micros, &column);
                Gen::Int(i128::from(
                    DateTimeParts {
                        year,
                        month,
                        day,
                        hour,
                        minute,
                        second,
                        micros,
                    }
                    .to_packed(),
                ))
            })
            .boxed(),
        (ColumnType::Timestamp { .. }, _) => {
            prop_oneof![Just(0i64), 1_000_000i64..=2_147_483_647_999_999]
                .prop_map(move |v| {
                    let micros = u32::try_from(v % 1_000_000).unwrap();
                    Gen::Int(i128::from(
                        v - i64::from(micros) + i64::from(truncate_to_fsp(micros, &column)),
                    ))
                })
                .boxed()
        }
        (ColumnType::Time { .. }, _) => (-3_020_399_000_000i64..=3_020_399_000_000)
            .prop_map(move |v| {
                let parts = TimeParts::from_micros(v).unwrap();
                let parts = TimeParts {
                    micros: truncate_to_fsp(parts.micros, &column),
                    ..parts
                };
                Gen::Int(i128::from(parts.to_micros()))
            })
            .boxed(),
        (_, DataType::Utf8) => prop_oneof![
            Just(String::new()),
            Just(String::from("\\N")),
            any::<String>(),
            "[a\\\\\t\n\0 ]{0,8}",
        ]
        .prop_map(Gen::Text)
        .boxed(),
        _ => prop::collection::vec(any::<u8>(), 0..40)
            .prop_map(Gen::Bytes)
            .boxed(),
    }
}

fn build(data_type: &DataType, values: &[Option<Gen>]) -> ArrayRef {
    macro_rules! ints {
        ($builder:ty, $t:ty) => {{
            let mut b = <$builder>::new();
            for v in values {
                match v {
                    Some(Gen::Int(i)) => b.append_value(<$t>::try_from(*i).unwrap()),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }
    match data_type {
        DataType::Int8 => ints!(Int8Builder, i8),
        DataType::Int16 => ints!(Int16Builder, i16),
        DataType::Int32 => ints!(Int32Builder, i32),
        DataType::Int64 => ints!(Int64Builder, i64),
        DataType::UInt8 => ints!(UInt8Builder, u8),
        DataType::UInt16 => ints!(UInt16Builder, u16),
        DataType::UInt32 => ints!(UInt32Builder, u32),
        DataType::UInt64 => ints!(UInt64Builder, u64),
        DataType::Timestamp(..) => {
            let mut b = TimestampMicrosecondBuilder::new().with_timezone(TIMESTAMP_ZONE);
            for v in values {
                match v {
                    Some(Gen::Int(i)) => b.append_value(i64::try_from(*i).unwrap()),
                    _ => b.append_null(),
                }
            }
            Arc::new(b.finish())
        }
        DataType::Duration(..) => ints!(DurationMicrosecondBuilder, i64),
        DataType::Float32 => {
            let mut b = Float32Builder::new();
            values.iter().for_each(|v| {
                b.append_option(match v {
                    Some(Gen::F32(f)) => Some(*f),
                    _ => None,
                })
            });
            Arc::new(b.finish())
        }
        DataType::Float64 => {
            let mut b = Float64Builder::new();
            values.iter().for_each(|v| {
                b.append_option(match v {
                    Some(Gen::F64(f)) => Some(*f),
                    _ => None,
                })
            });
            Arc::new(b.finish())
        }
        DataType::Decimal128(p, s) => {
            let mut b = Decimal128Builder::new();
            values.iter().for_each(|v| {
                b.append_option(match v {
                    Some(Gen::Dec(_, l)) => Some(*l),
                    _ => None,
                })
            });
            Arc::new(b.finish().with_precision_and_scale(*p, *s).unwrap())
        }
        DataType::Decimal256(p, s) => {
            let mut b = Decimal256Builder::new();
            let big = |h: i128, l: i128| {
                i256::from_i128(h) * i256::from_i128(10i128.pow(38)) + i256::from_i128(l)
            };
            values.iter().for_each(|v| {
                b.append_option(match v {
                    Some(Gen::Dec(h, l)) => Some(big(*h, *l)),
                    _ => None,
                })
            });
            Arc::new(b.finish().with_precision_and_scale(*p, *s).unwrap())
        }
        DataType::Utf8 => {
            let mut b = StringBuilder::new();
            values.iter().for_each(|v| {
                b.append_option(match v {
                    Some(Gen::Text(t)) => Some(t.as_str()),
                    _ => None,
                })
            });
            Arc::new(b.finish())
        }
        DataType::Binary => {
            let mut b = BinaryBuilder::new();
            values.iter().for_each(|v| {
                b.append_option(match v {
                    Some(Gen::Bytes(t)) => Some(t.as_slice()),
                    _ => None,
                })
            });
            Arc::new(b.finish())
        }
        other => panic!("no generator for {other}"),
    }
}

fn batch_strategy() -> impl Strategy<Value = RecordBatch> {
    let table = all_types_table();
    let schema = Arc::new(arrow_schema(&table));
    let columns: Vec<_> = table
        .columns
        .iter()
        .zip(schema.fields())
        .map(|(column, field)| {
            let dt = field.data_type().clone();
            prop::collection::vec(
                prop::option::weighted(0.8, value_strategy(column, &dt)),
                1..8,
            )
            .prop_map(move |values| (dt.clone(), values))
        })
        .collect();
    columns.prop_map(move |columns| {
        let rows = columns.iter().map(|(_, v)| v.len()).min().unwrap();
        let arrays = columns
            .iter()
            .map(|(dt, values)| build(dt, &values[..rows]))
            .collect();
        RecordBatch::try_new(Arc::clone(&schema), arrays).unwrap()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn binary_rows_decode_to_the_batch_they_encode(batch in batch_strategy()) {
        let schema = batch.schema();
        let mut decoder = BinaryRowDecoder::new(Arc::clone(&schema)).unwrap();
        decoder.check_wire(&wire_columns(&schema).unwrap()).unwrap();
        let mut packet = Vec::new();
        for row in 0..batch.num_rows() {
            packet.clear();
            encode_binary_row(&batch, row, &mut packet).unwrap();
            decoder.decode_row(&packet).unwrap();
        }
        let decoded = decoder.finish().unwrap();
        prop_assert_eq!(&decoded, &batch);
        // Floats compare by bits too (== would equate -0.0 and 0.0).
        for (i, field) in schema.fields().iter().enumerate() {
            match field.data_type() {
                DataType::Float32 => prop_assert_eq!(
                    decoded.column(i).as_primitive::<Float32Type>().values().iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                    batch.column(i).as_primitive::<Float32Type>().values().iter().map(|f| f.to_bits()).collect::<Vec<_>>()
                ),
                DataType::Float64 => prop_assert_eq!(
                    decoded.column(i).as_primitive::<Float64Type>().values().iter().map(|f| f.to_bits()).collect::<Vec<_>>(),
                    batch.column(i).as_primitive::<Float64Type>().values().iter().map(|f| f.to_bits()).collect::<Vec<_>>()
                ),
                _ => {}
            }
        }
    }

    #[test]
    fn load_data_keeps_every_string_float_and_null(batch in batch_strategy()) {
        let schema = batch.schema();
        let encoder = LoadDataEncoder::new(&schema).unwrap();
        let mut data = Vec::new();
        encoder.encode(&batch, 0..batch.num_rows(), &mut data).unwrap();
        let lines = parse_lines(&data).unwrap();
        prop_assert_eq!(lines.len(), batch.num_rows());
        for (row, fields) in lines.iter().enumerate() {
            prop_assert_eq!(fields.len(), schema.fields().len());
            for (i, field) in fields.iter().enumerate() {
                let array = batch.column(i);
                prop_assert_eq!(field.is_none(), array.is_null(row), "NULL-ness of column {} row {}", i, row);
                let Some(text) = field else { continue };
                match array.data_type() {
                    DataType::Utf8 => prop_assert_eq!(text.as_slice(), array.as_string::<i32>().value(row).as_bytes()),
                    DataType::Binary => prop_assert_eq!(text.as_slice(), array.as_binary::<i32>().value(row)),
                    DataType::Float32 => {
                        let parsed: f64 = std::str::from_utf8(text).unwrap().parse().unwrap();
                        prop_assert_eq!(parsed, f64::from(array.as_primitive::<Float32Type>().value(row)));
                    }
                    DataType::Float64 => {
                        let parsed: f64 = std::str::from_utf8(text).unwrap().parse().unwrap();
                        prop_assert_eq!(parsed.to_bits(), array.as_primitive::<Float64Type>().value(row).to_bits());
                    }
                    _ => {}
                }
            }
        }
    }
}
