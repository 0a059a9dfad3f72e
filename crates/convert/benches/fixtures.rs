//! The benchmark tables, as batches and as the binary-protocol rows a server would send for them.
#![allow(dead_code, missing_docs)]
// Fixture data: the casts below only shape pseudo-random numbers into test values.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::builder::{
    BinaryBuilder, Decimal128Builder, Float64Builder, Int8Builder, Int32Builder, Int64Builder,
    StringBuilder, UInt64Builder,
};
use arrow_schema::Schema;
use reshard_convert::encode::binary_row::encode_binary_row;
use reshard_convert::schema::arrow_schema;
use reshard_convert::temporal::DateTimeParts;
use reshard_types::{ColumnDef, ColumnType as T, IntWidth, LobSize, TableSchema};

pub const ROWS: usize = 20_000;

fn column(name: &str, ty: T, nullable: bool, charset: Option<&str>) -> ColumnDef {
    ColumnDef {
        name: name.into(),
        ty,
        nullable,
        charset: charset.map(str::to_owned),
        collation: charset.map(|c| format!("{c}_general_ci")),
        column_type: String::from("bench"),
        generated: None,
    }
}

/// A small deterministic generator (xorshift), so every run decodes the same bytes.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Six integer columns: `id BIGINT UNSIGNED, a BIGINT, b INT, c INT, d TINYINT, e BIGINT`.
pub fn narrow() -> RecordBatch {
    let int = |width, unsigned| T::Int { width, unsigned };
    let table = TableSchema {
        database: "b".into(),
        name: "narrow".into(),
        columns: vec![
            column("id", int(IntWidth::W64, true), false, None),
            column("a", int(IntWidth::W64, false), false, None),
            column("b", int(IntWidth::W32, false), false, None),
            column("c", int(IntWidth::W32, false), true, None),
            column("d", int(IntWidth::W8, false), false, None),
            column("e", int(IntWidth::W64, false), true, None),
        ],
        primary_key: vec![0],
    };
    let mut rng = Rng(42);
    let mut id = UInt64Builder::new();
    let mut a = Int64Builder::new();
    let mut b = Int32Builder::new();
    let mut c = Int32Builder::new();
    let mut d = Int8Builder::new();
    let mut e = Int64Builder::new();
    for i in 0..ROWS {
        id.append_value(i as u64 + 1);
        a.append_value(rng.next() as i64);
        b.append_value(rng.below(1_000_000) as i32);
        c.append_option((rng.below(10) != 0).then(|| rng.next() as i32));
        d.append_value(rng.below(100) as i8);
        e.append_option((rng.below(5) != 0).then(|| rng.below(1 << 40) as i64));
    }
    let schema = Arc::new(arrow_schema(&table));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(id.finish()),
            Arc::new(a.finish()),
            Arc::new(b.finish()),
            Arc::new(c.finish()),
            Arc::new(d.finish()),
            Arc::new(e.finish()),
        ],
    )
    .unwrap()
}

/// The `orders` table of `../shared/reference/measured-limits.md` and then some: BIGINTs, a
/// VARCHAR, TINYINT, INT, DECIMAL(12,2), DATETIME(6), a nullable VARCHAR(200) note, nullable JSON,
/// BIT(1), a DOUBLE and a VARBINARY.
pub fn wide() -> RecordBatch {
    let int = |width, unsigned| T::Int { width, unsigned };
    let table = TableSchema {
        database: "b".into(),
        name: "wide".into(),
        columns: vec![
            column("id", int(IntWidth::W64, true), false, None),
            column("customer_id", int(IntWidth::W64, false), false, None),
            column("sku", T::VarChar { length: 32 }, true, Some("utf8mb4")),
            column("status", int(IntWidth::W8, false), true, None),
            column("qty", int(IntWidth::W32, false), true, None),
            column(
                "price",
                T::Decimal {
                    precision: 12,
                    scale: 2,
                    unsigned: false,
                },
                true,
                None,
            ),
            column("created_at", T::DateTime { fsp: 6 }, true, None),
            column("note", T::VarChar { length: 200 }, true, Some("utf8mb4")),
            column("payload", T::Json, true, Some("utf8mb4")),
            column("flag", T::Bit { bits: 1 }, true, None),
            column("score", T::Double, true, None),
            column(
                "token",
                T::Text {
                    size: LobSize::Regular,
                },
                true,
                Some("binary"),
            ),
        ],
        primary_key: vec![0],
    };
    let mut rng = Rng(7);
    let mut id = UInt64Builder::new();
    let mut customer = Int64Builder::new();
    let mut sku = StringBuilder::new();
    let mut status = Int8Builder::new();
    let mut qty = Int32Builder::new();
    let mut price = Decimal128Builder::new();
    let mut created = Int64Builder::new();
    let mut note = StringBuilder::new();
    let mut payload = StringBuilder::new();
    let mut flag = UInt64Builder::new();
    let mut score = Float64Builder::new();
    let mut token = BinaryBuilder::new();
    let words = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india",
        "juliett",
    ];
    let mut text = String::new();
    for i in 0..ROWS {
        id.append_value(i as u64 + 1);
        customer.append_value(rng.below(1_000_000) as i64);
        sku.append_value(format!(
            "SKU-{:08}-{}",
            rng.below(100_000_000),
            words[rng.below(10) as usize]
        ));
        status.append_value(rng.below(5) as i8);
        qty.append_value(rng.below(100) as i32 + 1);
        price.append_value(rng.below(10_000_000) as i128);
        let parts = DateTimeParts {
            year: 2020 + rng.below(6) as u16,
            month: 1 + rng.below(12) as u8,
            day: 1 + rng.below(28) as u8,
            hour: rng.below(24) as u8,
            minute: rng.below(60) as u8,
            second: rng.below(60) as u8,
            micros: rng.below(1_000_000) as u32,
        };
        created.append_value(parts.to_packed());
        if rng.below(5) == 0 {
            note.append_null();
        } else {
            text.clear();
            while text.len() < 60 + rng.below(70) as usize {
                text.push_str(words[rng.below(10) as usize]);
                text.push(' ');
            }
            note.append_value(&text);
        }
        if rng.below(10) < 3 {
            payload.append_null();
        } else {
            payload.append_value(format!(
                "{{\"k\": {}, \"tags\": [\"{}\", \"{}\"], \"ok\": true}}",
                rng.below(1000),
                words[rng.below(10) as usize],
                words[rng.below(10) as usize]
            ));
        }
        flag.append_value(rng.below(2));
        score.append_value(rng.next() as f64 / 3.0);
        token.append_value(rng.next().to_le_bytes());
    }
    let schema = Arc::new(arrow_schema(&table));
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(id.finish()),
            Arc::new(customer.finish()),
            Arc::new(sku.finish()),
            Arc::new(status.finish()),
            Arc::new(qty.finish()),
            Arc::new(price.finish().with_precision_and_scale(12, 2).unwrap()),
            Arc::new(created.finish()),
            Arc::new(note.finish()),
            Arc::new(payload.finish()),
            Arc::new(flag.finish()),
            Arc::new(score.finish()),
            Arc::new(token.finish()),
        ],
    )
    .unwrap()
}

/// Every row of `batch` as a binary-protocol row payload.
pub fn packets(batch: &RecordBatch) -> Vec<Vec<u8>> {
    (0..batch.num_rows())
        .map(|row| {
            let mut packet = Vec::new();
            encode_binary_row(batch, row, &mut packet).unwrap();
            packet
        })
        .collect()
}

pub fn schema_of(batch: &RecordBatch) -> Arc<Schema> {
    batch.schema()
}
