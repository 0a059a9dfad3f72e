//! Arbitrary bytes as binary-protocol result rows of a table with a column of every type: the
//! decoder must return an error or a valid batch, never panic or read out of bounds.
//!
//! Input: a sequence of packets, each a 2-byte little-endian length and that many bytes.
#![no_main]

use std::sync::{Arc, OnceLock};

use arrow_schema::Schema;

use libfuzzer_sys::fuzz_target;
use reshard_convert::decode::BinaryRowDecoder;
use reshard_convert::schema::arrow_schema;
use reshard_types::{ColumnDef, ColumnType as T, IntWidth, LobSize, TableSchema};

fn column(index: usize, ty: T, charset: Option<&str>) -> ColumnDef {
    ColumnDef {
        column_type: if matches!(ty, T::Enum { .. }) {
            String::from("enum('a')")
        } else {
            String::from("fuzz")
        },
        name: format!("c{index}"),
        ty,
        nullable: index % 5 != 0,
        charset: charset.map(str::to_owned),
        collation: charset.map(|c| format!("{c}_bin")),
        generated: None,
    }
}

fn table() -> TableSchema {
    let types = vec![
        (
            T::Int {
                width: IntWidth::W8,
                unsigned: false,
            },
            None,
        ),
        (
            T::Int {
                width: IntWidth::W16,
                unsigned: true,
            },
            None,
        ),
        (
            T::Int {
                width: IntWidth::W24,
                unsigned: false,
            },
            None,
        ),
        (
            T::Int {
                width: IntWidth::W32,
                unsigned: true,
            },
            None,
        ),
        (
            T::Int {
                width: IntWidth::W64,
                unsigned: false,
            },
            None,
        ),
        (
            T::Decimal {
                precision: 10,
                scale: 2,
                unsigned: false,
            },
            None,
        ),
        (
            T::Decimal {
                precision: 65,
                scale: 30,
                unsigned: false,
            },
            None,
        ),
        (T::Float, None),
        (T::Double, None),
        (T::Bit { bits: 64 }, None),
        (T::Year, None),
        (T::Date, None),
        (T::DateTime { fsp: 6 }, None),
        (T::Timestamp { fsp: 3 }, None),
        (T::Time { fsp: 6 }, None),
        (T::VarChar { length: 20 }, Some("utf8mb4")),
        (T::Char { length: 4 }, Some("latin1")),
        (
            T::Text {
                size: LobSize::Long,
            },
            Some("binary"),
        ),
        (
            T::Enum {
                members: vec!["a".into()],
            },
            Some("utf8mb4"),
        ),
        (T::Json, Some("utf8mb4")),
        (T::Uuid, None),
    ];
    let columns = types
        .into_iter()
        .enumerate()
        .map(|(i, (ty, cs))| column(i, ty, cs))
        .collect();
    TableSchema {
        database: "f".into(),
        name: "t".into(),
        columns,
        primary_key: vec![0],
    }
}

fuzz_target!(|data: &[u8]| {
    static SCHEMA: OnceLock<Arc<Schema>> = OnceLock::new();
    thread_local! {
        // One decoder for every input (reset first), as a reader reuses its decoder.
        static DECODER: std::cell::RefCell<Option<BinaryRowDecoder>> = const { std::cell::RefCell::new(None) };
    }
    DECODER.with_borrow_mut(|slot| {
        let decoder = slot.get_or_insert_with(|| {
            let schema = Arc::clone(SCHEMA.get_or_init(|| Arc::new(arrow_schema(&table()))));
            BinaryRowDecoder::new(schema).expect("a decoder for the fuzz table")
        });
        decoder.reset();
        let mut rest = data;
        let mut decoded = 0;
        while rest.len() >= 2 {
            let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
            let end = (2 + len).min(rest.len());
            let packet = &rest[2..end];
            rest = &rest[end..];
            if decoder.decode_row(packet).is_ok() {
                decoded += 1;
            } else {
                decoder.reset();
                decoded = 0;
            }
        }
        let batch = decoder.finish().expect("a batch of the rows that decoded");
        assert_eq!(batch.num_rows(), decoded);
    });
});
