//! One column's builder and how its binary-protocol values are decoded into it.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, Decimal128Builder, Decimal256Builder, DurationMicrosecondBuilder,
    Float32Builder, Float64Builder, Int8Builder, Int16Builder, Int32Builder, Int64Builder,
    StringBuilder, TimestampMicrosecondBuilder, UInt8Builder, UInt16Builder, UInt32Builder,
    UInt64Builder,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, Field};
use reshard_types::{ColumnDef, ColumnType, IntWidth};

use super::WireColumn;
use super::cursor::{Cursor, Truncated};
use super::wire_type as wt;
use crate::decimal;
use crate::error::ConvertError;
use crate::schema::TIMESTAMP_ZONE;
use crate::temporal::{DateTimeParts, TimeParts};

/// Why a value could not be decoded (the caller adds the column's name).
pub(crate) type DecodeFailure = &'static str;

impl From<Truncated> for DecodeFailure {
    fn from(_: Truncated) -> DecodeFailure {
        "the packet ends inside this value"
    }
}

/// A column's builder, by the Arrow type it builds; the variant is the decode path.
pub(crate) enum Sink {
    Int8(Int8Builder),
    Int16(Int16Builder),
    /// INT and MEDIUMINT: both arrive as 4 bytes.
    Int32(Int32Builder),
    Int64(Int64Builder),
    UInt8(UInt8Builder),
    UInt16(UInt16Builder),
    UInt32(UInt32Builder),
    UInt64(UInt64Builder),
    Float32(Float32Builder),
    Float64(Float64Builder),
    Decimal128 {
        builder: Decimal128Builder,
        precision: u8,
        scale: u8,
    },
    Decimal256 {
        builder: Decimal256Builder,
        precision: u8,
        scale: u8,
    },
    /// BIT(n): big-endian bytes on the wire, a number in Arrow.
    Bit(UInt64Builder),
    Year(UInt16Builder),
    /// DATE as `YYYYMMDD`.
    Date(Int32Builder),
    /// DATETIME packed.
    DateTime(Int64Builder),
    /// TIMESTAMP: the session's time zone is UTC, so the wire's parts are UTC.
    Timestamp(TimestampMicrosecondBuilder),
    Time(DurationMicrosecondBuilder),
    /// Text in a UTF-8 charset: validated, then appended.
    Utf8(StringBuilder),
    Binary(BinaryBuilder),
}

/// Rows a builder reserves room for up front.
const INITIAL_ROWS: usize = 1024;

impl Sink {
    pub(crate) fn for_column(column: &ColumnDef, field: &Field) -> Result<Sink, ConvertError> {
        let bad = |why: &str| ConvertError::BadField {
            column: column.name.clone(),
            why: why.to_owned(),
        };
        let sink = match (&column.ty, field.data_type()) {
            (
                ColumnType::Int {
                    width: IntWidth::W8,
                    ..
                },
                DataType::Int8,
            ) => Sink::Int8(Int8Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W16,
                    ..
                },
                DataType::Int16,
            ) => Sink::Int16(Int16Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W24 | IntWidth::W32,
                    ..
                },
                DataType::Int32,
            ) => Sink::Int32(Int32Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W64,
                    ..
                },
                DataType::Int64,
            ) => Sink::Int64(Int64Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W8,
                    ..
                },
                DataType::UInt8,
            ) => Sink::UInt8(UInt8Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W16,
                    ..
                },
                DataType::UInt16,
            ) => Sink::UInt16(UInt16Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W24 | IntWidth::W32,
                    ..
                },
                DataType::UInt32,
            ) => Sink::UInt32(UInt32Builder::with_capacity(INITIAL_ROWS)),
            (
                ColumnType::Int {
                    width: IntWidth::W64,
                    ..
                },
                DataType::UInt64,
            ) => Sink::UInt64(UInt64Builder::with_capacity(INITIAL_ROWS)),
            (ColumnType::Float, DataType::Float32) => {
                Sink::Float32(Float32Builder::with_capacity(INITIAL_ROWS))
            }
            (ColumnType::Double, DataType::Float64) => {
                Sink::Float64(Float64Builder::with_capacity(INITIAL_ROWS))
            }
            (ColumnType::Decimal { .. }, DataType::Decimal128(precision, scale)) => {
                Sink::Decimal128 {
                    builder: Decimal128Builder::with_capacity(INITIAL_ROWS),
                    precision: *precision,
                    scale: u8::try_from(*scale).map_err(|_| bad("negative DECIMAL scale"))?,
                }
            }
            (ColumnType::Decimal { .. }, DataType::Decimal256(precision, scale)) => {
                Sink::Decimal256 {
                    builder: Decimal256Builder::with_capacity(INITIAL_ROWS),
                    precision: *precision,
                    scale: u8::try_from(*scale).map_err(|_| bad("negative DECIMAL scale"))?,
                }
            }
            (ColumnType::Bit { .. }, DataType::UInt64) => {
                Sink::Bit(UInt64Builder::with_capacity(INITIAL_ROWS))
            }
            (ColumnType::Year, DataType::UInt16) => {
                Sink::Year(UInt16Builder::with_capacity(INITIAL_ROWS))
            }
            (ColumnType::Date, DataType::Int32) => {
                Sink::Date(Int32Builder::with_capacity(INITIAL_ROWS))
            }
            (ColumnType::DateTime { .. }, DataType::Int64) => {
                Sink::DateTime(Int64Builder::with_capacity(INITIAL_ROWS))
            }
            (ColumnType::Timestamp { .. }, DataType::Timestamp(_, _)) => Sink::Timestamp(
                TimestampMicrosecondBuilder::with_capacity(INITIAL_ROWS)
                    .with_timezone(TIMESTAMP_ZONE),
            ),
            (ColumnType::Time { .. }, DataType::Duration(_)) => {
                Sink::Time(DurationMicrosecondBuilder::with_capacity(INITIAL_ROWS))
            }
            (_, DataType::Utf8) => Sink::Utf8(StringBuilder::with_capacity(
                INITIAL_ROWS,
                INITIAL_ROWS * 32,
            )),
            (_, DataType::Binary) => Sink::Binary(BinaryBuilder::with_capacity(
                INITIAL_ROWS,
                INITIAL_ROWS * 32,
            )),
            (_, other) => return Err(bad(&format!("no decoder from this column into {other}"))),
        };
        Ok(sink)
    }

    /// Whether the server sends this column's values the way this sink decodes them.
    pub(crate) fn check_wire(&self, wire: WireColumn) -> Result<(), String> {
        let code = wire.type_code;
        let ok = match self {
            Sink::Int8(_) | Sink::UInt8(_) => code == wt::TINY,
            Sink::Int16(_) | Sink::UInt16(_) => code == wt::SHORT,
            Sink::Int32(_) | Sink::UInt32(_) => code == wt::LONG || code == wt::INT24,
            Sink::Int64(_) | Sink::UInt64(_) => code == wt::LONGLONG,
            Sink::Float32(_) => code == wt::FLOAT,
            Sink::Float64(_) => code == wt::DOUBLE,
            Sink::Decimal128 { .. } | Sink::Decimal256 { .. } => {
                code == wt::NEWDECIMAL || code == wt::DECIMAL
            }
            Sink::Bit(_) => code == wt::BIT,
            Sink::Year(_) => code == wt::YEAR,
            Sink::Date(_) => code == wt::DATE || code == wt::NEWDATE,
            Sink::DateTime(_) => code == wt::DATETIME,
            Sink::Timestamp(_) => code == wt::TIMESTAMP,
            Sink::Time(_) => code == wt::TIME,
            Sink::Utf8(_) | Sink::Binary(_) => wt::is_string(code),
        };
        if !ok {
            return Err(format!(
                "the server sends it as protocol type {code}, which does not match the column's type"
            ));
        }
        let unsigned_wire = wire.flags & super::UNSIGNED_FLAG != 0;
        let unsigned_sink = matches!(
            self,
            Sink::UInt8(_) | Sink::UInt16(_) | Sink::UInt32(_) | Sink::UInt64(_)
        );
        let signed_sink = matches!(
            self,
            Sink::Int8(_) | Sink::Int16(_) | Sink::Int32(_) | Sink::Int64(_)
        );
        if (unsigned_sink && !unsigned_wire) || (signed_sink && unsigned_wire) {
            return Err(String::from(
                "the server and the schema disagree on whether it is unsigned",
            ));
        }
        Ok(())
    }

    pub(crate) fn append_null(&mut self) {
        match self {
            Sink::Int8(b) => b.append_null(),
            Sink::Int16(b) => b.append_null(),
            Sink::Int32(b) => b.append_null(),
            Sink::Int64(b) => b.append_null(),
            Sink::UInt8(b) => b.append_null(),
            Sink::UInt16(b) | Sink::Year(b) => b.append_null(),
            Sink::UInt32(b) => b.append_null(),
            Sink::UInt64(b) | Sink::Bit(b) => b.append_null(),
            Sink::Float32(b) => b.append_null(),
            Sink::Float64(b) => b.append_null(),
            Sink::Decimal128 { builder, .. } => builder.append_null(),
            Sink::Decimal256 { builder, .. } => builder.append_null(),
            Sink::Date(b) => b.append_null(),
            Sink::DateTime(b) => b.append_null(),
            Sink::Timestamp(b) => b.append_null(),
            Sink::Time(b) => b.append_null(),
            Sink::Utf8(b) => b.append_null(),
            Sink::Binary(b) => b.append_null(),
        }
    }

    /// Decodes the next value from `cursor` and appends it.
    #[inline]
    pub(crate) fn decode(&mut self, cursor: &mut Cursor<'_>) -> Result<(), DecodeFailure> {
        match self {
            Sink::Int8(b) => b.append_value(i8::from_le_bytes(cursor.array()?)),
            Sink::Int16(b) => b.append_value(i16::from_le_bytes(cursor.array()?)),
            Sink::Int32(b) => b.append_value(i32::from_le_bytes(cursor.array()?)),
            Sink::Int64(b) => b.append_value(i64::from_le_bytes(cursor.array()?)),
            Sink::UInt8(b) => b.append_value(cursor.u8()?),
            Sink::UInt16(b) | Sink::Year(b) => b.append_value(u16::from_le_bytes(cursor.array()?)),
            Sink::UInt32(b) => b.append_value(u32::from_le_bytes(cursor.array()?)),
            Sink::UInt64(b) => b.append_value(u64::from_le_bytes(cursor.array()?)),
            Sink::Float32(b) => b.append_value(f32::from_le_bytes(cursor.array()?)),
            Sink::Float64(b) => b.append_value(f64::from_le_bytes(cursor.array()?)),
            Sink::Decimal128 {
                builder,
                precision,
                scale,
            } => {
                let text = string(cursor)?;
                builder.append_value(
                    decimal::parse_i128(text, *precision, *scale)
                        .ok_or("not a DECIMAL of this precision and scale")?,
                );
            }
            Sink::Decimal256 {
                builder,
                precision,
                scale,
            } => {
                let text = string(cursor)?;
                builder.append_value(
                    decimal::parse_i256(text, *precision, *scale)
                        .ok_or("not a DECIMAL of this precision and scale")?,
                );
            }
            Sink::Bit(b) => {
                let bytes = string(cursor)?;
                if bytes.len() > 8 {
                    return Err("a BIT value longer than 8 bytes");
                }
                b.append_value(
                    bytes
                        .iter()
                        .fold(0u64, |acc, byte| (acc << 8) | u64::from(*byte)),
                );
            }
            Sink::Date(b) => b.append_value(datetime(cursor)?.to_yyyymmdd()),
            Sink::DateTime(b) => b.append_value(datetime(cursor)?.to_packed()),
            Sink::Timestamp(b) => {
                let parts = datetime(cursor)?;
                b.append_value(
                    parts
                        .to_timestamp_micros()
                        .ok_or("a partly zero TIMESTAMP")?,
                );
            }
            Sink::Time(b) => b.append_value(time(cursor)?.to_micros()),
            Sink::Utf8(b) => {
                let bytes = string(cursor)?;
                b.append_value(
                    std::str::from_utf8(bytes).map_err(|_| "invalid UTF-8 in a UTF-8 column")?,
                );
            }
            Sink::Binary(b) => b.append_value(string(cursor)?),
        }
        Ok(())
    }

    /// The column so far as an Arrow array. The builder starts over empty, with room for as
    /// many rows (and value bytes) as this batch had: batches of a read are alike, so the next
    /// one fills its buffers without regrowing them.
    pub(crate) fn finish(&mut self) -> ArrayRef {
        macro_rules! primitive {
            ($b:expr, $builder:ty) => {{
                let array = $b.finish();
                *$b = <$builder>::with_capacity(array.len().max(INITIAL_ROWS));
                Arc::new(array) as ArrayRef
            }};
        }
        macro_rules! bytes {
            ($b:expr, $builder:ty) => {{
                let array = $b.finish();
                *$b =
                    <$builder>::with_capacity(array.len().max(INITIAL_ROWS), array.values().len());
                Arc::new(array) as ArrayRef
            }};
        }
        match self {
            Sink::Int8(b) => primitive!(b, Int8Builder),
            Sink::Int16(b) => primitive!(b, Int16Builder),
            Sink::Int32(b) | Sink::Date(b) => primitive!(b, Int32Builder),
            Sink::Int64(b) | Sink::DateTime(b) => primitive!(b, Int64Builder),
            Sink::UInt8(b) => primitive!(b, UInt8Builder),
            Sink::UInt16(b) | Sink::Year(b) => primitive!(b, UInt16Builder),
            Sink::UInt32(b) => primitive!(b, UInt32Builder),
            Sink::UInt64(b) | Sink::Bit(b) => primitive!(b, UInt64Builder),
            Sink::Float32(b) => primitive!(b, Float32Builder),
            Sink::Float64(b) => primitive!(b, Float64Builder),
            Sink::Decimal128 {
                builder,
                precision,
                scale,
            } => {
                let array = builder.finish();
                *builder = Decimal128Builder::with_capacity(array.len().max(INITIAL_ROWS));
                Arc::new(
                    array
                        .with_precision_and_scale(*precision, scale_i8(*scale))
                        .expect("precision and scale were valid when the field was made"),
                )
            }
            Sink::Decimal256 {
                builder,
                precision,
                scale,
            } => {
                let array = builder.finish();
                *builder = Decimal256Builder::with_capacity(array.len().max(INITIAL_ROWS));
                Arc::new(
                    array
                        .with_precision_and_scale(*precision, scale_i8(*scale))
                        .expect("precision and scale were valid when the field was made"),
                )
            }
            Sink::Timestamp(b) => {
                let array = b.finish();
                *b = TimestampMicrosecondBuilder::with_capacity(array.len().max(INITIAL_ROWS))
                    .with_timezone(TIMESTAMP_ZONE);
                Arc::new(array)
            }
            Sink::Time(b) => primitive!(b, DurationMicrosecondBuilder),
            Sink::Utf8(b) => bytes!(b, StringBuilder),
            Sink::Binary(b) => bytes!(b, BinaryBuilder),
        }
    }
}

fn scale_i8(scale: u8) -> i8 {
    i8::try_from(scale).expect("DECIMAL scale is at most 30")
}

#[inline]
fn string<'a>(cursor: &mut Cursor<'a>) -> Result<&'a [u8], DecodeFailure> {
    cursor
        .lenenc_bytes()?
        .ok_or("a NULL marker where a value was expected")
}

/// A binary-protocol DATE, DATETIME or TIMESTAMP: a length byte (0, 4, 7 or 11), then
/// year (2 bytes), month, day, hour, minute, second, microseconds (4 bytes).
#[inline]
fn datetime(cursor: &mut Cursor<'_>) -> Result<DateTimeParts, DecodeFailure> {
    let len = cursor.u8()?;
    let mut parts = DateTimeParts::default();
    if !matches!(len, 0 | 4 | 7 | 11) {
        return Err("a temporal value of a length the protocol does not use");
    }
    if len >= 4 {
        parts.year = u16::from_le_bytes(cursor.array()?);
        parts.month = cursor.u8()?;
        parts.day = cursor.u8()?;
    }
    if len >= 7 {
        parts.hour = cursor.u8()?;
        parts.minute = cursor.u8()?;
        parts.second = cursor.u8()?;
    }
    if len == 11 {
        parts.micros = u32::from_le_bytes(cursor.array()?);
    }
    if !parts.is_in_range() {
        return Err("a date or time part out of range");
    }
    Ok(parts)
}

/// A binary-protocol TIME: a length byte (0, 8 or 12), then sign, days (4 bytes), hour, minute,
/// second, microseconds (4 bytes).
#[inline]
fn time(cursor: &mut Cursor<'_>) -> Result<TimeParts, DecodeFailure> {
    let len = cursor.u8()?;
    if !matches!(len, 0 | 8 | 12) {
        return Err("a TIME value of a length the protocol does not use");
    }
    let mut parts = TimeParts::default();
    if len >= 8 {
        parts.negative = match cursor.u8()? {
            0 => false,
            1 => true,
            _ => return Err("a TIME sign byte other than 0 or 1"),
        };
        let days = u32::from_le_bytes(cursor.array()?);
        let hour = cursor.u8()?;
        parts.minutes = cursor.u8()?;
        parts.seconds = cursor.u8()?;
        if days > 34 || hour > 23 || parts.minutes > 59 || parts.seconds > 59 {
            return Err("a TIME part out of range");
        }
        parts.hours = days * 24 + u32::from(hour);
    }
    if len == 12 {
        parts.micros = u32::from_le_bytes(cursor.array()?);
        if parts.micros > 999_999 {
            return Err("TIME microseconds out of range");
        }
    }
    Ok(parts)
}
