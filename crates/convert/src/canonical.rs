//! The canonical row encoding: one definition of a row's bytes, for checksums and row diffs.
//!
//! Two rows of one schema get the same bytes exactly when every column holds the same value with
//! the same NULL-ness. Checksums hash these bytes on the source and on the targets, so the
//! encoding depends only on values, never on how they were read (text or binary protocol, copy or
//! binlog), and it is injective:
//!
//! | column value | bytes |
//! |---|---|
//! | NULL | `0x00` |
//! | fixed width (integers, decimals, temporal) | `0x01`, then the Arrow value little-endian |
//! | FLOAT, DOUBLE | `0x01`, then the IEEE bits little-endian (-0.0 and 0.0 differ) |
//! | strings, bytes | `0x01`, the byte length as u32 little-endian, the bytes |
//!
//! The length prefix keeps column boundaries from shifting (`"ab","c"` ≠ `"a","bc"`); the
//! NULL tag tells NULL from the empty string. Columns are appended in schema order.
//!
//! [`RowEncoder::encode`] chooses the code path once per column and loops over the rows inside
//! it, writing every row's bytes into one reused buffer with an offsets vector, so a batch costs
//! no allocation once the buffers have grown.

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Decimal128Type, Decimal256Type, DurationMicrosecondType, Float32Type, Float64Type, Int8Type,
    Int16Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrowPrimitiveType, RecordBatch};
use arrow_schema::{DataType, TimeUnit};

use crate::error::ConvertError;

const NULL_TAG: u8 = 0x00;
const VALUE_TAG: u8 = 0x01;

/// Encodes the rows of record batches canonically. Reuse one encoder across batches: its buffers
/// keep their capacity.
#[derive(Debug, Default)]
pub struct RowEncoder {
    /// All rows' bytes, row after row.
    bytes: Vec<u8>,
    /// Row `i` is `bytes[offsets[i]..offsets[i + 1]]`.
    offsets: Vec<usize>,
    /// Per column: every row's bytes of that column, gathered before the rows are interleaved.
    columns: Vec<Vec<u8>>,
    /// Per column, where each row's bytes start in `columns[c]`.
    column_offsets: Vec<Vec<usize>>,
}

impl RowEncoder {
    /// A new encoder with empty buffers.
    pub fn new() -> RowEncoder {
        RowEncoder::default()
    }

    /// Encodes every row of `batch`. Afterwards, [`RowEncoder::row`] returns each row's bytes.
    pub fn encode(&mut self, batch: &RecordBatch) -> Result<(), ConvertError> {
        let rows = batch.num_rows();
        let width = batch.num_columns();
        self.columns.resize_with(width, Vec::new);
        self.column_offsets.resize_with(width, Vec::new);
        for (c, array) in batch.columns().iter().enumerate() {
            let out = &mut self.columns[c];
            let offsets = &mut self.column_offsets[c];
            out.clear();
            offsets.clear();
            let name = batch.schema_ref().field(c).name();
            encode_column(array.as_ref(), out, offsets, name)?;
            offsets.push(out.len());
        }
        // Interleave: row r is column 0's bytes of row r, then column 1's, ...
        self.bytes.clear();
        self.offsets.clear();
        self.offsets.push(0);
        for r in 0..rows {
            for c in 0..width {
                let o = &self.column_offsets[c];
                self.bytes
                    .extend_from_slice(&self.columns[c][o[r]..o[r + 1]]);
            }
            self.offsets.push(self.bytes.len());
        }
        Ok(())
    }

    /// How many rows the last [`RowEncoder::encode`] encoded.
    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Whether the last batch had no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The canonical bytes of row `i` of the last batch.
    pub fn row(&self, i: usize) -> &[u8] {
        &self.bytes[self.offsets[i]..self.offsets[i + 1]]
    }
}

/// Appends each row's encoding of one column to `out`, recording where each row starts.
fn encode_column(
    array: &dyn Array,
    out: &mut Vec<u8>,
    starts: &mut Vec<usize>,
    name: &str,
) -> Result<(), ConvertError> {
    // The fixed-width arms differ only in the Arrow type: each writes the value little-endian.
    macro_rules! le {
        ($t:ty) => {
            fixed::<$t>(array, out, starts, |v, o| {
                o.extend_from_slice(&v.to_le_bytes())
            })
        };
    }
    match array.data_type() {
        DataType::Int8 => le!(Int8Type),
        DataType::Int16 => le!(Int16Type),
        DataType::Int32 => le!(Int32Type),
        DataType::Int64 => le!(Int64Type),
        DataType::UInt8 => le!(UInt8Type),
        DataType::UInt16 => le!(UInt16Type),
        DataType::UInt32 => le!(UInt32Type),
        DataType::UInt64 => le!(UInt64Type),
        DataType::Decimal128(..) => le!(Decimal128Type),
        DataType::Decimal256(..) => le!(Decimal256Type),
        DataType::Timestamp(TimeUnit::Microsecond, _) => le!(TimestampMicrosecondType),
        DataType::Duration(TimeUnit::Microsecond) => le!(DurationMicrosecondType),
        // Bits, not values: -0.0 and 0.0 must differ.
        DataType::Float32 => fixed::<Float32Type>(array, out, starts, |v, o| {
            o.extend_from_slice(&v.to_bits().to_le_bytes())
        }),
        DataType::Float64 => fixed::<Float64Type>(array, out, starts, |v, o| {
            o.extend_from_slice(&v.to_bits().to_le_bytes())
        }),
        DataType::Utf8 => {
            let a = array.as_string::<i32>();
            variable(
                a.len(),
                |i| a.is_null(i),
                |i| a.value(i).as_bytes(),
                out,
                starts,
                name,
            )?;
        }
        DataType::Binary => {
            let a = array.as_binary::<i32>();
            variable(a.len(), |i| a.is_null(i), |i| a.value(i), out, starts, name)?;
        }
        other => {
            return Err(ConvertError::BadField {
                column: name.to_owned(),
                why: format!("Arrow type {other} is not one the schema mapping produces"),
            });
        }
    }
    Ok(())
}

fn fixed<T: ArrowPrimitiveType>(
    array: &dyn Array,
    out: &mut Vec<u8>,
    starts: &mut Vec<usize>,
    put: impl Fn(T::Native, &mut Vec<u8>),
) {
    let a = array.as_primitive::<T>();
    let values = a.values();
    for (i, &v) in values.iter().enumerate() {
        starts.push(out.len());
        if a.is_null(i) {
            out.push(NULL_TAG);
        } else {
            out.push(VALUE_TAG);
            put(v, out);
        }
    }
}

fn variable<'a>(
    len: usize,
    is_null: impl Fn(usize) -> bool,
    value: impl Fn(usize) -> &'a [u8],
    out: &mut Vec<u8>,
    starts: &mut Vec<usize>,
    name: &str,
) -> Result<(), ConvertError> {
    for i in 0..len {
        starts.push(out.len());
        if is_null(i) {
            out.push(NULL_TAG);
            continue;
        }
        let v = value(i);
        let n = u32::try_from(v.len()).map_err(|_| ConvertError::BadField {
            column: name.to_owned(),
            why: format!(
                "a value of {} bytes is longer than any MySQL value",
                v.len()
            ),
        })?;
        out.push(VALUE_TAG);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests;
