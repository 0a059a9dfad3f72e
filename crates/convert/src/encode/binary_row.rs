//! Batches as the server's binary-protocol result rows: the exact bytes a `COM_STMT_EXECUTE`
//! result would carry for these values.
//!
//! Not on the data plane (the server makes these rows); it makes fixtures: the property test
//! that decoding inverts it, the decode benchmarks' input, and the fuzz target's seed corpus.

use arrow_array::Array;
use arrow_array::RecordBatch;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal256Type, DurationMicrosecondType, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_schema::{DataType, Schema};
use reshard_types::{ColumnType, IntWidth};

use crate::decimal;
use crate::decode::wire_type as wt;
use crate::decode::{UNSIGNED_FLAG, WireColumn};
use crate::error::ConvertError;
use crate::schema::column_from_field;
use crate::temporal::{DateTimeParts, TimeParts};

/// The column definitions a server would send for `schema`.
pub fn wire_columns(schema: &Schema) -> Result<Vec<WireColumn>, ConvertError> {
    schema
        .fields()
        .iter()
        .map(|field| {
            let column = column_from_field(field)?;
            let (type_code, unsigned) = match &column.ty {
                ColumnType::Int { width, unsigned } => (
                    match width {
                        IntWidth::W8 => wt::TINY,
                        IntWidth::W16 => wt::SHORT,
                        IntWidth::W24 => wt::INT24,
                        IntWidth::W32 => wt::LONG,
                        IntWidth::W64 => wt::LONGLONG,
                    },
                    *unsigned,
                ),
                ColumnType::Decimal { .. } => (wt::NEWDECIMAL, false),
                ColumnType::Float => (wt::FLOAT, false),
                ColumnType::Double => (wt::DOUBLE, false),
                ColumnType::Bit { .. } => (wt::BIT, true),
                ColumnType::Year => (wt::YEAR, true),
                ColumnType::Date => (wt::DATE, false),
                ColumnType::DateTime { .. } => (wt::DATETIME, false),
                ColumnType::Timestamp { .. } => (wt::TIMESTAMP, false),
                ColumnType::Time { .. } => (wt::TIME, false),
                ColumnType::Text { .. } => (wt::BLOB, false),
                ColumnType::VarChar { .. } => (wt::VAR_STRING, false),
                _ => (wt::STRING, false),
            };
            Ok(WireColumn {
                type_code,
                flags: if unsigned { UNSIGNED_FLAG } else { 0 },
            })
        })
        .collect()
}

/// Appends row `row` of `batch` to `out` as one binary result-row payload (no packet header).
pub fn encode_binary_row(
    batch: &RecordBatch,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let columns = batch.num_columns();
    out.push(0x00);
    let bitmap_at = out.len();
    out.resize(bitmap_at + (columns + 7 + 2) / 8, 0);
    for (index, field) in batch.schema().fields().iter().enumerate() {
        let array = batch.column(index);
        if array.is_null(row) {
            let bit = index + 2;
            out[bitmap_at + bit / 8] |= 1 << (bit % 8);
            continue;
        }
        let column = column_from_field(field)?;
        let bad = |detail: &str| ConvertError::Encode {
            column: column.name.clone(),
            detail: detail.to_owned(),
        };
        match (&column.ty, array.data_type()) {
            (ColumnType::Bit { bits }, DataType::UInt64) => {
                let value = array.as_primitive::<UInt64Type>().value(row);
                let bytes = usize::from(*bits).div_ceil(8).max(1);
                lenenc_bytes(&value.to_be_bytes()[8 - bytes..], out);
            }
            (_, DataType::Int8) => {
                out.extend_from_slice(&array.as_primitive::<Int8Type>().value(row).to_le_bytes())
            }
            (_, DataType::Int16) => {
                out.extend_from_slice(&array.as_primitive::<Int16Type>().value(row).to_le_bytes())
            }
            (ColumnType::Date, DataType::Int32) => {
                let parts =
                    DateTimeParts::from_yyyymmdd(array.as_primitive::<Int32Type>().value(row))
                        .ok_or_else(|| bad("DATE out of range"))?;
                datetime(parts, 4, out);
            }
            (_, DataType::Int32) => {
                out.extend_from_slice(&array.as_primitive::<Int32Type>().value(row).to_le_bytes())
            }
            (ColumnType::DateTime { .. }, DataType::Int64) => {
                let parts =
                    DateTimeParts::from_packed(array.as_primitive::<Int64Type>().value(row))
                        .ok_or_else(|| bad("not a packed DATETIME"))?;
                datetime(parts, 11, out);
            }
            (_, DataType::Int64) => {
                out.extend_from_slice(&array.as_primitive::<Int64Type>().value(row).to_le_bytes())
            }
            (_, DataType::UInt8) => out.push(array.as_primitive::<UInt8Type>().value(row)),
            (_, DataType::UInt16) => {
                out.extend_from_slice(&array.as_primitive::<UInt16Type>().value(row).to_le_bytes())
            }
            (_, DataType::UInt32) => {
                out.extend_from_slice(&array.as_primitive::<UInt32Type>().value(row).to_le_bytes())
            }
            (_, DataType::UInt64) => {
                out.extend_from_slice(&array.as_primitive::<UInt64Type>().value(row).to_le_bytes())
            }
            (_, DataType::Float32) => {
                out.extend_from_slice(&array.as_primitive::<Float32Type>().value(row).to_le_bytes())
            }
            (_, DataType::Float64) => {
                out.extend_from_slice(&array.as_primitive::<Float64Type>().value(row).to_le_bytes())
            }
            (_, DataType::Decimal128(_, scale)) => {
                let mut text = Vec::new();
                let scale = u8::try_from(*scale).map_err(|_| bad("negative scale"))?;
                decimal::write_i128(
                    array.as_primitive::<Decimal128Type>().value(row),
                    scale,
                    &mut text,
                );
                lenenc_bytes(&text, out);
            }
            (_, DataType::Decimal256(_, scale)) => {
                let mut text = Vec::new();
                let scale = u8::try_from(*scale).map_err(|_| bad("negative scale"))?;
                decimal::write_i256(
                    array.as_primitive::<Decimal256Type>().value(row),
                    scale,
                    &mut text,
                );
                lenenc_bytes(&text, out);
            }
            (_, DataType::Timestamp(..)) => {
                let parts = DateTimeParts::from_timestamp_micros(
                    array.as_primitive::<TimestampMicrosecondType>().value(row),
                )
                .ok_or_else(|| bad("TIMESTAMP out of range"))?;
                datetime(parts, 11, out);
            }
            (_, DataType::Duration(..)) => {
                let parts = TimeParts::from_micros(
                    array.as_primitive::<DurationMicrosecondType>().value(row),
                )
                .ok_or_else(|| bad("TIME out of range"))?;
                time(parts, out)?;
            }
            (_, DataType::Utf8) => {
                lenenc_bytes(array.as_string::<i32>().value(row).as_bytes(), out)
            }
            (_, DataType::Binary) => lenenc_bytes(array.as_binary::<i32>().value(row), out),
            (_, other) => return Err(bad(&format!("no binary row encoding for {other}"))),
        }
    }
    Ok(())
}

fn lenenc_bytes(bytes: &[u8], out: &mut Vec<u8>) {
    let len = bytes.len() as u64;
    match len {
        0..=0xFA => out.push(u8::try_from(len).expect("below 0xFB")),
        0xFB..=0xFFFF => {
            out.push(0xFC);
            out.extend_from_slice(&u16::try_from(len).expect("fits").to_le_bytes());
        }
        0x1_0000..=0xFF_FFFF => {
            out.push(0xFD);
            out.extend_from_slice(&len.to_le_bytes()[..3]);
        }
        _ => {
            out.push(0xFE);
            out.extend_from_slice(&len.to_le_bytes());
        }
    }
    out.extend_from_slice(bytes);
}

/// The shortest form the server uses: 0 bytes for the zero value, 4 for a date at midnight, 7
/// without microseconds, else 11 (`longest` caps it: 4 for DATE columns).
fn datetime(parts: DateTimeParts, longest: u8, out: &mut Vec<u8>) {
    let len = if parts.is_zero() {
        0
    } else if longest == 4 || (parts.hour, parts.minute, parts.second, parts.micros) == (0, 0, 0, 0)
    {
        4
    } else if parts.micros == 0 {
        7
    } else {
        11
    };
    out.push(len);
    if len >= 4 {
        out.extend_from_slice(&parts.year.to_le_bytes());
        out.extend_from_slice(&[parts.month, parts.day]);
    }
    if len >= 7 {
        out.extend_from_slice(&[parts.hour, parts.minute, parts.second]);
    }
    if len == 11 {
        out.extend_from_slice(&parts.micros.to_le_bytes());
    }
}

fn time(parts: TimeParts, out: &mut Vec<u8>) -> Result<(), ConvertError> {
    if parts == TimeParts::default() {
        out.push(0);
        return Ok(());
    }
    let len = if parts.micros == 0 { 8 } else { 12 };
    out.push(len);
    out.push(u8::from(parts.negative));
    out.extend_from_slice(&(parts.hours / 24).to_le_bytes());
    out.extend_from_slice(&[
        u8::try_from(parts.hours % 24).expect("below 24"),
        parts.minutes,
        parts.seconds,
    ]);
    if len == 12 {
        out.extend_from_slice(&parts.micros.to_le_bytes());
    }
    Ok(())
}
