//! The naive path the decoder is measured against: mysql_common parses each row into a `Row` of
//! `Value`s (what mysql_async hands an application), and each value is appended to an Arrow
//! builder.
#![allow(dead_code, missing_docs)]
// Fixture data: the casts below only shape pseudo-random numbers into test values.
#![allow(
    clippy::cast_possible_truncation,
    clippy::cast_possible_wrap,
    clippy::cast_sign_loss,
    clippy::cast_precision_loss
)]

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Decimal128Builder, Float64Builder, Int8Builder, Int32Builder, Int64Builder,
    StringBuilder, UInt64Builder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};
use mysql_common::constants::{ColumnFlags, ColumnType};
use mysql_common::io::ParseBuf;
use mysql_common::packets::Column;
use mysql_common::proto::Binary;
use mysql_common::row::RowDeserializer;
use mysql_common::value::{ServerSide, Value};
use reshard_convert::decimal;
use reshard_convert::decode::WireColumn;
use reshard_convert::temporal::DateTimeParts;

pub fn columns(wire: &[WireColumn]) -> Arc<[Column]> {
    wire.iter()
        .map(|w| {
            Column::new(ColumnType::try_from(w.type_code).unwrap())
                .with_flags(ColumnFlags::from_bits_truncate(w.flags))
        })
        .collect()
}

enum Naive {
    I8(Int8Builder),
    I32(Int32Builder),
    I64(Int64Builder),
    U64(UInt64Builder),
    F64(Float64Builder),
    Dec(Decimal128Builder, u8, u8, i8),
    DateTime(Int64Builder),
    Utf8(StringBuilder),
    Bin(BinaryBuilder),
}

pub struct NaiveDecoder {
    schema: Arc<Schema>,
    columns: Arc<[Column]>,
    sinks: Vec<Naive>,
}

impl NaiveDecoder {
    pub fn new(schema: Arc<Schema>, columns: Arc<[Column]>) -> NaiveDecoder {
        let sinks = schema
            .fields()
            .iter()
            .map(|f| match f.data_type() {
                DataType::Int8 => Naive::I8(Int8Builder::new()),
                DataType::Int32 => Naive::I32(Int32Builder::new()),
                DataType::Int64
                    if f.metadata().get("mysql.type").map(String::as_str) == Some("datetime") =>
                {
                    Naive::DateTime(Int64Builder::new())
                }
                DataType::Int64 => Naive::I64(Int64Builder::new()),
                DataType::UInt64 => Naive::U64(UInt64Builder::new()),
                DataType::Float64 => Naive::F64(Float64Builder::new()),
                DataType::Decimal128(p, s) => {
                    Naive::Dec(Decimal128Builder::new(), *p, *s as u8, *s)
                }
                DataType::Utf8 => Naive::Utf8(StringBuilder::new()),
                DataType::Binary => Naive::Bin(BinaryBuilder::new()),
                other => panic!("the naive path does not handle {other}"),
            })
            .collect();
        NaiveDecoder {
            schema,
            columns,
            sinks,
        }
    }

    pub fn decode_row(&mut self, packet: &[u8]) {
        let row = ParseBuf(packet)
            .parse::<RowDeserializer<ServerSide, Binary>>(Arc::clone(&self.columns))
            .unwrap()
            .into_inner();
        for (sink, value) in self.sinks.iter_mut().zip(row.unwrap()) {
            match (sink, value) {
                (Naive::I8(b), Value::NULL) => b.append_null(),
                (Naive::I32(b), Value::NULL) => b.append_null(),
                (Naive::I64(b) | Naive::DateTime(b), Value::NULL) => b.append_null(),
                (Naive::U64(b), Value::NULL) => b.append_null(),
                (Naive::F64(b), Value::NULL) => b.append_null(),
                (Naive::Dec(b, ..), Value::NULL) => b.append_null(),
                (Naive::Utf8(b), Value::NULL) => b.append_null(),
                (Naive::Bin(b), Value::NULL) => b.append_null(),
                (Naive::I8(b), Value::Int(v)) => b.append_value(v as i8),
                (Naive::I32(b), Value::Int(v)) => b.append_value(v as i32),
                (Naive::I64(b), Value::Int(v)) => b.append_value(v),
                (Naive::U64(b), Value::UInt(v)) => b.append_value(v),
                (Naive::U64(b), Value::Int(v)) => b.append_value(v as u64),
                (Naive::U64(b), Value::Bytes(bytes)) => {
                    b.append_value(bytes.iter().fold(0u64, |acc, x| acc << 8 | u64::from(*x)))
                }
                (Naive::F64(b), Value::Double(v)) => b.append_value(v),
                (Naive::Dec(b, p, s, _), Value::Bytes(bytes)) => {
                    b.append_value(decimal::parse_i128(&bytes, *p, *s).unwrap())
                }
                (
                    Naive::DateTime(b),
                    Value::Date(year, month, day, hour, minute, second, micros),
                ) => b.append_value(
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
                ),
                (Naive::Utf8(b), Value::Bytes(bytes)) => {
                    b.append_value(std::str::from_utf8(&bytes).unwrap())
                }
                (Naive::Bin(b), Value::Bytes(bytes)) => b.append_value(&bytes),
                (_, other) => panic!("unexpected value {other:?}"),
            }
        }
    }

    pub fn finish(&mut self) -> RecordBatch {
        let arrays: Vec<ArrayRef> = self
            .sinks
            .iter_mut()
            .map(|s| -> ArrayRef {
                match s {
                    Naive::I8(b) => Arc::new(b.finish()),
                    Naive::I32(b) => Arc::new(b.finish()),
                    Naive::I64(b) | Naive::DateTime(b) => Arc::new(b.finish()),
                    Naive::U64(b) => Arc::new(b.finish()),
                    Naive::F64(b) => Arc::new(b.finish()),
                    Naive::Dec(b, p, _, s) => {
                        Arc::new(b.finish().with_precision_and_scale(*p, *s).unwrap())
                    }
                    Naive::Utf8(b) => Arc::new(b.finish()),
                    Naive::Bin(b) => Arc::new(b.finish()),
                }
            })
            .collect();
        RecordBatch::try_new(Arc::clone(&self.schema), arrays).unwrap()
    }
}
