//! Hand-built row images of the storage formats a real server writes. The real server's own
//! images of every column type are checked against `SELECT` in `tests/it/binlog.rs`.

use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, DurationMicrosecondType, Int32Type, Int64Type, UInt16Type,
};
use reshard_types::{ColumnType, IntWidth, TableSchema};

use super::*;
use crate::decode::wire_type as bt;
use crate::schema::arrow_schema;
use crate::temporal::DateTimeParts;
use crate::test_support::col;

fn table() -> (SchemaRef, Vec<BinlogColumn>) {
    let mut columns = vec![
        col(
            ColumnType::Int {
                width: IntWidth::W24,
                unsigned: false,
            },
            "mediumint(9)",
            None,
        ),
        col(
            ColumnType::Decimal {
                precision: 14,
                scale: 4,
                unsigned: false,
            },
            "decimal(14,4)",
            None,
        ),
        col(ColumnType::DateTime { fsp: 6 }, "datetime(6)", None),
        col(ColumnType::Time { fsp: 3 }, "time(3)", None),
        col(ColumnType::Char { length: 4 }, "binary(4)", Some("binary")),
        col(ColumnType::Char { length: 3 }, "char(3)", Some("utf8mb4")),
        col(
            ColumnType::Enum {
                members: vec!["a".into(), "b".into()],
            },
            "enum('a','b')",
            Some("utf8mb4"),
        ),
        col(
            ColumnType::Set {
                members: vec!["x".into(), "y".into(), "z".into()],
            },
            "set('x','y','z')",
            Some("utf8mb4"),
        ),
        col(ColumnType::Year, "year(4)", None),
        col(ColumnType::Date, "date", None),
    ];
    for (i, c) in columns.iter_mut().enumerate() {
        c.name = format!("c{i}");
    }
    let schema = arrow_schema(&TableSchema {
        database: "d".into(),
        name: "t".into(),
        columns,
        primary_key: vec![0],
    });
    let map = vec![
        BinlogColumn {
            type_code: bt::INT24,
            meta: [0, 0],
        },
        BinlogColumn {
            type_code: bt::NEWDECIMAL,
            meta: [14, 4],
        },
        BinlogColumn {
            type_code: bt::DATETIME2,
            meta: [6, 0],
        },
        BinlogColumn {
            type_code: bt::TIME2,
            meta: [3, 0],
        },
        BinlogColumn {
            type_code: bt::STRING,
            meta: [bt::STRING, 4],
        },
        BinlogColumn {
            type_code: bt::STRING,
            meta: [bt::STRING, 12],
        },
        BinlogColumn {
            type_code: bt::STRING,
            meta: [bt::ENUM, 1],
        },
        BinlogColumn {
            type_code: bt::STRING,
            meta: [bt::SET, 1],
        },
        BinlogColumn {
            type_code: bt::YEAR,
            meta: [0, 0],
        },
        BinlogColumn {
            type_code: bt::DATE,
            meta: [0, 0],
        },
    ];
    (Arc::new(schema), map)
}

/// One image: NULL bitmap (2 bytes for 10 columns), then the values.
fn image(nulls: u16, values: &[&[u8]]) -> Vec<u8> {
    let mut out = nulls.to_le_bytes().to_vec();
    for v in values {
        out.extend_from_slice(v);
    }
    out
}

#[test]
fn decodes_each_storage_format() {
    let (schema, map) = table();
    let mut decoder = ChangeDecoder::new(schema, &map).unwrap();
    // -2 as MEDIUMINT; 1234567890.1234; 2024-02-29 23:59:58.000007; -00:00:01.500;
    // BINARY 'ab' (zeros stripped); CHAR 'x' padded with spaces; ENUM 2; SET {x,z}; YEAR 2155;
    // DATE 2024-02-29.
    let ymd = (2024 * 13 + 2) * 32 + 29;
    let hms = (23 << 12) | (59 << 6) | 58;
    let dt_int: u64 = 0x80_0000_0000 + ((ymd << 17) | hms);
    let dt = dt_int.to_be_bytes();
    // TIME2(3) of -1.5 s: packed -(1 << 24 | 500000); int part -(1) - ... as the server stores
    // it: intpart = -2 + offset, frac = 0x10000 - 5000.
    let time_int = (0x80_0000i64 - 2).to_be_bytes();
    let time_frac = u16::try_from(0x1_0000 - 5_000).unwrap().to_be_bytes();
    let date = (29u32 | (2 << 5) | (2024 << 9)).to_le_bytes();
    let first = image(
        0,
        &[
            &[0xFE, 0xFF, 0xFF],
            &[0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2],
            &dt[3..8],
            &[0, 0, 7],
            &time_int[5..8],
            &time_frac,
            &[2, b'a', b'b'],
            &[3, b'x', b' ', b' '],
            &[2],
            &[0b101],
            &[255],
            &date[..3],
        ],
    );
    // The second row: every column but the first NULL.
    let second = image(0b11_1111_1110, &[&[1, 0, 0]]);
    let mut rows = first.clone();
    rows.extend_from_slice(&second);
    assert_eq!(decoder.decode_rows(RowsKind::Update, &rows).unwrap(), 2);
    let batch = decoder.finish().unwrap();
    assert_eq!(
        batch.ops,
        vec![ChangeOp::UpdateBefore, ChangeOp::UpdateAfter]
    );
    let images = &batch.images;
    assert_eq!(
        images.column(0).as_primitive::<Int32Type>().values(),
        &[-2, 1]
    );
    assert_eq!(
        images.column(1).as_primitive::<Decimal128Type>().value(0),
        12_345_678_901_234
    );
    let expected_dt = DateTimeParts {
        year: 2024,
        month: 2,
        day: 29,
        hour: 23,
        minute: 59,
        second: 58,
        micros: 7,
    }
    .to_packed();
    assert_eq!(
        images.column(2).as_primitive::<Int64Type>().value(0),
        expected_dt
    );
    assert_eq!(
        images
            .column(3)
            .as_primitive::<DurationMicrosecondType>()
            .value(0),
        -1_500_000
    );
    assert_eq!(images.column(4).as_binary::<i32>().value(0), b"ab\0\0");
    assert_eq!(images.column(5).as_string::<i32>().value(0), "x");
    assert_eq!(images.column(6).as_string::<i32>().value(0), "b");
    assert_eq!(images.column(7).as_string::<i32>().value(0), "x,z");
    assert_eq!(images.column(8).as_primitive::<UInt16Type>().value(0), 2155);
    assert_eq!(
        images.column(9).as_primitive::<Int32Type>().value(0),
        20_240_229
    );
    for c in 1..10 {
        assert!(images.column(c).is_null(1), "column {c}");
    }
}

#[test]
fn a_truncated_image_is_an_error_and_poisons() {
    let (schema, map) = table();
    let mut decoder = ChangeDecoder::new(schema, &map).unwrap();
    let cut = image(0, &[&[1, 0, 0], &[0x81, 0x0D]]);
    let error = decoder.decode_rows(RowsKind::Write, &cut).unwrap_err();
    assert!(error.to_string().contains("c1"), "{error}");
    assert!(decoder.finish().is_err());
    decoder.reset();
    let ok = image(0b11_1111_1110, &[&[5, 0, 0]]);
    assert_eq!(decoder.decode_rows(RowsKind::Delete, &ok).unwrap(), 1);
    assert_eq!(decoder.finish().unwrap().ops, vec![ChangeOp::Delete]);
}

#[test]
fn a_type_that_changed_is_refused_by_name() {
    let (schema, mut map) = table();
    map[2] = BinlogColumn {
        type_code: bt::DATETIME2,
        meta: [3, 0],
    };
    let error = ChangeDecoder::new(Arc::clone(&schema), &map).err().unwrap();
    assert!(error.to_string().contains("`c2`"), "{error}");
    map.pop();
    let error = ChangeDecoder::new(schema, &map).err().unwrap();
    assert!(
        error.to_string().contains("table map has 9 columns"),
        "{error}"
    );
}
