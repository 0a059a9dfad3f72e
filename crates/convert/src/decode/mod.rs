//! Result rows of the binary protocol, decoded straight into Arrow builders.
//!
//! A reader hands each row packet (`COM_STMT_EXECUTE` result row: `0x00`, the NULL bitmap, the
//! values) to [`BinaryRowDecoder::decode_row`], which appends every value to its column's builder:
//! integers and floats are copied from their little-endian bytes, strings and byte strings are
//! appended into the builder's one values buffer, DECIMAL text is parsed into an `i128`/`i256`,
//! temporal values are turned into the encodings of [`crate::schema`]. Nothing is allocated per
//! cell; a batch costs one allocation per column when [`BinaryRowDecoder::finish`] hands the
//! buffers to Arrow.
//!
//! **Why the binary protocol.** It sends FLOAT and DOUBLE as their stored IEEE bytes (the text
//! protocol rounds FLOAT to 6 digits: `tests/it/protocol.rs` pins it), integers and temporal values
//! as fixed-width binary instead of ASCII digits to parse, and on the measured 5M-row table it was
//! 11–20% faster end to end than the text protocol before any decoding (`docs/benchmarks.md`).
//!
//! **Untrusted input.** Every read is bounds-checked (the `cursor` module); a malformed packet is an error
//! naming the column, never a panic (a cargo-fuzz target, `fuzz/fuzz_targets/row_decoder.rs`,
//! feeds it arbitrary bytes). After an error the decoder is poisoned: the builders hold a partial
//! row, so [`BinaryRowDecoder::finish`] refuses until [`BinaryRowDecoder::reset`].

pub(crate) mod column;
pub(crate) mod cursor;
pub mod wire_type;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;

use crate::error::ConvertError;
use crate::schema::column_from_field;
use column::Sink;
use cursor::Cursor;

/// What the server says about one result-set column: its protocol type code and flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WireColumn {
    /// The `MYSQL_TYPE_*` code ([`wire_type`]).
    pub type_code: u8,
    /// The column-definition flags (`UNSIGNED_FLAG` is `0x20`).
    pub flags: u16,
}

/// The column-definition flag of unsigned integer columns.
pub const UNSIGNED_FLAG: u16 = 0x20;

/// Decodes binary-protocol result rows of one schema into record batches.
pub struct BinaryRowDecoder {
    schema: SchemaRef,
    sinks: Vec<Sink>,
    /// Whether each column may be NULL.
    nullable: Vec<bool>,
    /// Bytes of the NULL bitmap: `(columns + 7 + 2) / 8`.
    bitmap_len: usize,
    rows: usize,
    bytes: usize,
    poisoned: bool,
}

impl BinaryRowDecoder {
    /// A decoder for rows whose columns are `schema`'s fields, in order. The schema must come from
    /// [`crate::schema::arrow_schema`] (its field metadata says how to decode each column).
    pub fn new(schema: SchemaRef) -> Result<BinaryRowDecoder, ConvertError> {
        let mut sinks = Vec::with_capacity(schema.fields().len());
        let mut nullable = Vec::with_capacity(schema.fields().len());
        for field in schema.fields() {
            let column = column_from_field(field)?;
            sinks.push(Sink::for_column(&column, field)?);
            nullable.push(field.is_nullable());
        }
        let bitmap_len = (sinks.len() + 7 + 2) / 8;
        Ok(BinaryRowDecoder {
            schema,
            sinks,
            nullable,
            bitmap_len,
            rows: 0,
            bytes: 0,
            poisoned: false,
        })
    }

    /// The schema of the batches this decoder makes.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Checks the result set's column definitions against the schema: same count, and each wire
    /// type is the one this column's values arrive as. Call once per result set, before its rows.
    pub fn check_wire(&self, wire: &[WireColumn]) -> Result<(), ConvertError> {
        if wire.len() != self.sinks.len() {
            return Err(ConvertError::WireMismatch {
                column: String::from("(all)"),
                detail: format!(
                    "the result has {} columns, the table schema {}",
                    wire.len(),
                    self.sinks.len()
                ),
            });
        }
        for ((sink, wire), field) in self.sinks.iter().zip(wire).zip(self.schema.fields()) {
            sink.check_wire(*wire)
                .map_err(|detail| ConvertError::WireMismatch {
                    column: field.name().clone(),
                    detail,
                })?;
        }
        Ok(())
    }

    /// Appends one binary-protocol row packet (starting with its `0x00` header) to the builders.
    #[inline]
    pub fn decode_row(&mut self, packet: &[u8]) -> Result<(), ConvertError> {
        if self.poisoned {
            return Err(self.poisoned_error());
        }
        let result = self.decode_row_inner(packet);
        if result.is_err() {
            self.poisoned = true;
        }
        result
    }

    fn decode_row_inner(&mut self, packet: &[u8]) -> Result<(), ConvertError> {
        let mut cursor = Cursor::new(packet);
        let header = cursor
            .u8()
            .map_err(|_| self.row_error(None, "empty packet"))?;
        if header != 0x00 {
            return Err(self.row_error(None, "not a binary result row (header is not 0x00)"));
        }
        let bitmap = cursor
            .take(self.bitmap_len)
            .map_err(|_| self.row_error(None, "packet ends inside the NULL bitmap"))?;
        for (index, sink) in self.sinks.iter_mut().enumerate() {
            let bit = index + 2;
            if bitmap[bit / 8] & (1 << (bit % 8)) != 0 {
                if !self.nullable[index] {
                    return Err(ConvertError::Decode {
                        column: self.schema.field(index).name().clone(),
                        detail: String::from("NULL in a NOT NULL column"),
                    });
                }
                sink.append_null();
                continue;
            }
            if let Err(detail) = sink.decode(&mut cursor) {
                return Err(ConvertError::Decode {
                    column: self.schema.field(index).name().clone(),
                    detail: detail.to_string(),
                });
            }
        }
        if cursor.remaining() != 0 {
            return Err(self.row_error(None, "bytes left over after the last column"));
        }
        self.rows += 1;
        self.bytes += packet.len();
        Ok(())
    }

    /// Rows appended since the last [`BinaryRowDecoder::finish`].
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Packet bytes decoded since the last [`BinaryRowDecoder::finish`]: the measure a reader
    /// bounds its batches by.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The rows appended so far as one batch; the builders start over empty.
    pub fn finish(&mut self) -> Result<RecordBatch, ConvertError> {
        if self.poisoned {
            return Err(self.poisoned_error());
        }
        let columns: Vec<ArrayRef> = self.sinks.iter_mut().map(Sink::finish).collect();
        self.rows = 0;
        self.bytes = 0;
        RecordBatch::try_new(Arc::clone(&self.schema), columns).map_err(|error| {
            ConvertError::Decode {
                column: String::from("(batch)"),
                detail: error.to_string(),
            }
        })
    }

    /// Drops whatever was appended (including a partial row after an error) and clears the
    /// poisoned state.
    pub fn reset(&mut self) {
        for sink in &mut self.sinks {
            drop(sink.finish());
        }
        self.rows = 0;
        self.bytes = 0;
        self.poisoned = false;
    }

    fn row_error(&self, column: Option<usize>, detail: &str) -> ConvertError {
        ConvertError::Decode {
            column: column.map_or_else(
                || String::from("(row)"),
                |c| self.schema.field(c).name().clone(),
            ),
            detail: detail.to_owned(),
        }
    }

    fn poisoned_error(&self) -> ConvertError {
        self.row_error(
            None,
            "an earlier row failed to decode; reset the decoder first",
        )
    }
}
