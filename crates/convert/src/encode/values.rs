//! Each Arrow column's values as the MySQL text a server parses back into the same stored value.
//!
//! | column | text | why it is exact |
//! |---|---|---|
//! | integers | decimal digits | |
//! | DECIMAL | digits with exactly `scale` fraction digits | |
//! | FLOAT | the shortest text of the value *widened to f64* | the server parses it to that f64 exactly, and narrowing a double that is a float is exact; shortest-as-f32 text would be parsed as a double first and could round differently |
//! | DOUBLE | shortest round-trip text (ryu) | correctly rounded parsing gives the same bits back, `-0.0` included |
//! | BIT | the number (written through `CAST(@v AS UNSIGNED)` by the caller) | text would be taken as the bits of its characters |
//! | YEAR | four digits, `0000` for zero | `0` would be read as 2000 |
//! | DATE, DATETIME | `YYYY-MM-DD[ hh:mm:ss[.f…]]`, zero parts kept | exactly `fsp` fraction digits: no rounding |
//! | TIMESTAMP | the UTC parts, same form | the writing session's time zone is `+00:00` |
//! | TIME | `[-]h…h:mm:ss[.f…]` | hours beyond 24 as they are |
//! | strings, bytes | the bytes (escaped by the caller's format) | loaded with `CHARACTER SET binary`: no conversion |
//! | INET4, INET6, UUID | their canonical text, converted to utf8mb4 by the caller | parsed as text, the stored bytes again |

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal256Type, DurationMicrosecondType, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{
    Array, BinaryArray, Decimal128Array, Decimal256Array, DurationMicrosecondArray, Float32Array,
    Float64Array, Int8Array, Int16Array, Int32Array, Int64Array, StringArray,
    TimestampMicrosecondArray, UInt8Array, UInt16Array, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field};
use reshard_types::{ColumnDef, ColumnType};

use crate::decimal;
use crate::error::ConvertError;
use crate::schema::column_from_field;
use crate::temporal::{DateTimeParts, TimeParts};

/// How one column's values are written, decided once per schema.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    Float32,
    Float64,
    Decimal {
        scale: u8,
    },
    Bit,
    Year,
    Date,
    DateTime {
        fsp: u8,
    },
    Timestamp {
        fsp: u8,
    },
    Time {
        fsp: u8,
    },
    Text,
    /// INET4, INET6, UUID: text the server must parse as text; as a binary string of 4 or 16 bytes
    /// it would take the bytes as the stored value, and any other binary string is refused.
    ParsedText,
    Bytes,
}

impl Kind {
    pub(crate) fn of(field: &Field) -> Result<(Kind, ColumnDef), ConvertError> {
        let column = column_from_field(field)?;
        let kind = match (&column.ty, field.data_type()) {
            (ColumnType::Int { .. }, _) => Kind::Int,
            (ColumnType::Float, _) => Kind::Float32,
            (ColumnType::Double, _) => Kind::Float64,
            (ColumnType::Decimal { scale, .. }, _) => Kind::Decimal { scale: *scale },
            (ColumnType::Bit { .. }, _) => Kind::Bit,
            (ColumnType::Year, _) => Kind::Year,
            (ColumnType::Date, _) => Kind::Date,
            (ColumnType::DateTime { fsp }, _) => Kind::DateTime { fsp: *fsp },
            (ColumnType::Timestamp { fsp }, _) => Kind::Timestamp { fsp: *fsp },
            (ColumnType::Time { fsp }, _) => Kind::Time { fsp: *fsp },
            (ColumnType::Inet4 | ColumnType::Inet6 | ColumnType::Uuid, DataType::Utf8) => {
                Kind::ParsedText
            }
            (_, DataType::Utf8) => Kind::Text,
            (_, DataType::Binary) => Kind::Bytes,
            (_, other) => {
                return Err(ConvertError::BadField {
                    column: column.name.clone(),
                    why: format!("no text encoding for {other}"),
                });
            }
        };
        Ok((kind, column))
    }
}

/// The columns an encoder writes: every column but the generated ones (the target computes
/// those), with its batch index, how its values are written, and its name.
#[derive(Debug, Clone)]
pub(crate) struct WrittenColumns(pub(crate) Vec<(usize, Kind, String)>);

impl WrittenColumns {
    pub(crate) fn of(schema: &arrow_schema::Schema) -> Result<WrittenColumns, ConvertError> {
        let mut columns = Vec::new();
        for (index, field) in schema.fields().iter().enumerate() {
            let (kind, column) = Kind::of(field)?;
            if column.generated.is_none() {
                columns.push((index, kind, column.name));
            }
        }
        Ok(WrittenColumns(columns))
    }

    /// The written columns of `batch`, each downcast once.
    pub(crate) fn values<'a>(
        &self,
        batch: &'a arrow_array::RecordBatch,
    ) -> Result<Vec<Values<'a>>, ConvertError> {
        self.0
            .iter()
            .map(|(index, kind, name)| Values::new(*kind, batch.column(*index).as_ref(), name))
            .collect()
    }
}

/// One column of a batch, downcast once, ready to write any row's value.
pub(crate) enum Values<'a> {
    I8(&'a Int8Array),
    I16(&'a Int16Array),
    I32(&'a Int32Array),
    I64(&'a Int64Array),
    U8(&'a UInt8Array),
    U16(&'a UInt16Array),
    U32(&'a UInt32Array),
    U64(&'a UInt64Array),
    F32(&'a Float32Array),
    F64(&'a Float64Array),
    D128(&'a Decimal128Array, u8),
    D256(&'a Decimal256Array, u8),
    Year(&'a UInt16Array),
    Date(&'a Int32Array),
    DateTime(&'a Int64Array, u8),
    Timestamp(&'a TimestampMicrosecondArray, u8),
    Time(&'a DurationMicrosecondArray, u8),
    Text(&'a StringArray),
    Bytes(&'a BinaryArray),
}

/// A text value: either written into `out` already, or bytes for the caller to escape.
pub(crate) enum Cell<'a> {
    Null,
    Written,
    Raw(&'a [u8]),
}

impl<'a> Values<'a> {
    /// Views `array` as `kind`'s values; errors if the array is not of the expected type.
    pub(crate) fn new(
        kind: Kind,
        array: &'a dyn Array,
        name: &str,
    ) -> Result<Values<'a>, ConvertError> {
        let mismatch = || ConvertError::Encode {
            column: name.to_owned(),
            detail: format!(
                "the batch holds {} where the schema says otherwise",
                array.data_type()
            ),
        };
        Ok(match (kind, array.data_type()) {
            (Kind::Int | Kind::Bit, DataType::Int8) => Values::I8(array.as_primitive::<Int8Type>()),
            (Kind::Int | Kind::Bit, DataType::Int16) => {
                Values::I16(array.as_primitive::<Int16Type>())
            }
            (Kind::Int | Kind::Bit, DataType::Int32) => {
                Values::I32(array.as_primitive::<Int32Type>())
            }
            (Kind::Int | Kind::Bit, DataType::Int64) => {
                Values::I64(array.as_primitive::<Int64Type>())
            }
            (Kind::Int | Kind::Bit, DataType::UInt8) => {
                Values::U8(array.as_primitive::<UInt8Type>())
            }
            (Kind::Int | Kind::Bit, DataType::UInt16) => {
                Values::U16(array.as_primitive::<UInt16Type>())
            }
            (Kind::Int | Kind::Bit, DataType::UInt32) => {
                Values::U32(array.as_primitive::<UInt32Type>())
            }
            (Kind::Int | Kind::Bit, DataType::UInt64) => {
                Values::U64(array.as_primitive::<UInt64Type>())
            }
            (Kind::Float32, DataType::Float32) => Values::F32(array.as_primitive::<Float32Type>()),
            (Kind::Float64, DataType::Float64) => Values::F64(array.as_primitive::<Float64Type>()),
            (Kind::Decimal { scale }, DataType::Decimal128(..)) => {
                Values::D128(array.as_primitive::<Decimal128Type>(), scale)
            }
            (Kind::Decimal { scale }, DataType::Decimal256(..)) => {
                Values::D256(array.as_primitive::<Decimal256Type>(), scale)
            }
            (Kind::Year, DataType::UInt16) => Values::Year(array.as_primitive::<UInt16Type>()),
            (Kind::Date, DataType::Int32) => Values::Date(array.as_primitive::<Int32Type>()),
            (Kind::DateTime { fsp }, DataType::Int64) => {
                Values::DateTime(array.as_primitive::<Int64Type>(), fsp)
            }
            (Kind::Timestamp { fsp }, DataType::Timestamp(..)) => {
                Values::Timestamp(array.as_primitive::<TimestampMicrosecondType>(), fsp)
            }
            (Kind::Time { fsp }, DataType::Duration(..)) => {
                Values::Time(array.as_primitive::<DurationMicrosecondType>(), fsp)
            }
            (Kind::Text | Kind::ParsedText, DataType::Utf8) => {
                Values::Text(array.as_string::<i32>())
            }
            (Kind::Bytes | Kind::Text, DataType::Binary) => Values::Bytes(array.as_binary::<i32>()),
            _ => return Err(mismatch()),
        })
    }

    fn array(&self) -> &dyn Array {
        match self {
            Values::I8(a) => *a,
            Values::I16(a) => *a,
            Values::I32(a) | Values::Date(a) => *a,
            Values::I64(a) | Values::DateTime(a, _) => *a,
            Values::U8(a) => *a,
            Values::U16(a) | Values::Year(a) => *a,
            Values::U32(a) => *a,
            Values::U64(a) => *a,
            Values::F32(a) => *a,
            Values::F64(a) => *a,
            Values::D128(a, _) => *a,
            Values::D256(a, _) => *a,
            Values::Timestamp(a, _) => *a,
            Values::Time(a, _) => *a,
            Values::Text(a) => *a,
            Values::Bytes(a) => *a,
        }
    }

    /// Writes row `row`'s value as text into `out`, or returns its bytes for the caller to escape.
    #[inline]
    pub(crate) fn cell(&self, row: usize, out: &mut Vec<u8>) -> Result<Cell<'a>, &'static str> {
        if self.array().is_null(row) {
            return Ok(Cell::Null);
        }
        let mut ints = itoa::Buffer::new();
        match self {
            Values::I8(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::I16(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::I32(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::I64(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::U8(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::U16(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::U32(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::U64(a) => out.extend_from_slice(ints.format(a.value(row)).as_bytes()),
            Values::F32(a) => write_float(f64::from(a.value(row)), out)?,
            Values::F64(a) => write_float(a.value(row), out)?,
            Values::D128(a, scale) => decimal::write_i128(a.value(row), *scale, out),
            Values::D256(a, scale) => decimal::write_i256(a.value(row), *scale, out),
            Values::Year(a) => {
                let year = a.value(row);
                if year == 0 {
                    out.extend_from_slice(b"0000");
                } else {
                    out.extend_from_slice(ints.format(year).as_bytes());
                }
            }
            Values::Date(a) => {
                let parts =
                    DateTimeParts::from_yyyymmdd(a.value(row)).ok_or("a DATE out of range")?;
                write_date(parts, out);
            }
            Values::DateTime(a, fsp) => {
                let parts =
                    DateTimeParts::from_packed(a.value(row)).ok_or("not a packed DATETIME")?;
                check_fsp(parts.micros, *fsp)?;
                write_datetime(parts, *fsp, out);
            }
            Values::Timestamp(a, fsp) => {
                let parts = DateTimeParts::from_timestamp_micros(a.value(row))
                    .ok_or("a TIMESTAMP out of range")?;
                check_fsp(parts.micros, *fsp)?;
                write_datetime(parts, *fsp, out);
            }
            Values::Time(a, fsp) => {
                let parts = TimeParts::from_micros(a.value(row)).ok_or("a TIME out of range")?;
                check_fsp(parts.micros, *fsp)?;
                write_time(parts, *fsp, out);
            }
            Values::Text(a) => return Ok(Cell::Raw(a.value(row).as_bytes())),
            Values::Bytes(a) => return Ok(Cell::Raw(a.value(row))),
        }
        Ok(Cell::Written)
    }
}

/// Refuses microseconds the column's `fsp` digits cannot hold: writing them would round.
fn check_fsp(micros: u32, fsp: u8) -> Result<(), &'static str> {
    let unit = 10u32.pow(u32::from(6 - fsp.min(6)));
    if micros.is_multiple_of(unit) {
        Ok(())
    } else {
        Err("more fractional digits than the column's precision")
    }
}

fn write_float(value: f64, out: &mut Vec<u8>) -> Result<(), &'static str> {
    if !value.is_finite() {
        return Err("NaN or infinity, which MySQL cannot store");
    }
    let mut buffer = ryu::Buffer::new();
    out.extend_from_slice(buffer.format_finite(value).as_bytes());
    Ok(())
}

fn push_padded(value: u32, width: usize, out: &mut Vec<u8>) {
    let mut digits = [b'0'; 10];
    let mut rest = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + u8::try_from(rest % 10).expect("a digit");
        rest /= 10;
    }
    out.extend_from_slice(&digits[..width]);
}

fn write_date(parts: DateTimeParts, out: &mut Vec<u8>) {
    push_padded(u32::from(parts.year), 4, out);
    out.push(b'-');
    push_padded(u32::from(parts.month), 2, out);
    out.push(b'-');
    push_padded(u32::from(parts.day), 2, out);
}

fn write_fraction(micros: u32, fsp: u8, out: &mut Vec<u8>) {
    if fsp > 0 {
        out.push(b'.');
        let fsp = usize::from(fsp.min(6));
        let mut digits = [b'0'; 6];
        let mut rest = micros;
        for slot in digits.iter_mut().rev() {
            *slot = b'0' + u8::try_from(rest % 10).expect("a digit");
            rest /= 10;
        }
        out.extend_from_slice(&digits[..fsp]);
    }
}

fn write_datetime(parts: DateTimeParts, fsp: u8, out: &mut Vec<u8>) {
    write_date(parts, out);
    out.push(b' ');
    push_padded(u32::from(parts.hour), 2, out);
    out.push(b':');
    push_padded(u32::from(parts.minute), 2, out);
    out.push(b':');
    push_padded(u32::from(parts.second), 2, out);
    write_fraction(parts.micros, fsp, out);
}

fn write_time(parts: TimeParts, fsp: u8, out: &mut Vec<u8>) {
    if parts.negative {
        out.push(b'-');
    }
    if parts.hours < 10 {
        out.push(b'0');
    }
    out.extend_from_slice(itoa::Buffer::new().format(parts.hours).as_bytes());
    out.push(b':');
    push_padded(u32::from(parts.minutes), 2, out);
    out.push(b':');
    push_padded(u32::from(parts.seconds), 2, out);
    write_fraction(parts.micros, fsp, out);
}
