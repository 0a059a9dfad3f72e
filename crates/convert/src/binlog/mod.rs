//! Binlog row images, decoded straight into Arrow builders: the change batches of a move.
//!
//! A rows event (write, update, delete; v1 and v2 carry the same row data) holds, per row, one
//! image (writes and deletes) or two (updates: before, then after). An image is a NULL bitmap
//! over the columns it carries, then each non-NULL value in the server's storage format.
//! [`ChangeDecoder`] appends every image to the column builders of the table's Arrow schema, the
//! very schema the copy reads into, so a change row and a copied row of the same values are the
//! same Arrow values: the applier routes, splits and encodes both with the same code.
//!
//! A change batch is one `RecordBatch` of images plus one [`ChangeOp`] per row. An update is two
//! rows, `UpdateBefore` then `UpdateAfter`, so every row is a full image that satisfies the
//! table's `NOT NULL` constraints, and no half-empty before/after columns are needed.
//!
//! **What differs from the result-set decoder** ([`crate::decode`]): temporal values come packed
//! (`DATETIME2`, `TIME2`, `TIMESTAMP2`), DECIMAL in its binary form ([`decimal`]), ENUM and SET as
//! member numbers, CHAR with or without its pad spaces and BINARY without its trailing zero
//! bytes; each is turned into exactly what `SELECT` returns for it. Nothing is allocated per
//! value: strings go from the event's bytes into the builder, and the few values that need
//! rewriting (BINARY padding, SET lists, INET4 text) are built in one scratch buffer.
//!
//! **Untrusted input.** Every read is bounds-checked; a malformed image is an error naming the
//! column, never a panic. After an error the decoder is poisoned until [`ChangeDecoder::reset`].

pub(crate) mod decimal;
pub mod format;
mod value;

use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;

use crate::decode::column::Sink;
use crate::decode::cursor::Cursor;
use crate::error::ConvertError;
use crate::schema::column_from_field;
pub use format::BinlogColumn;
use format::ValueFormat;

/// What a row of a change batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum ChangeOp {
    /// A new row (the after image of an insert).
    Insert = 0,
    /// A row removed (its before image).
    Delete = 1,
    /// A row as it was before an update.
    UpdateBefore = 2,
    /// The same row after the update; always right after its `UpdateBefore`.
    UpdateAfter = 3,
}

impl ChangeOp {
    /// Whether this row is a row that exists after its event (the image to write).
    pub fn is_after(self) -> bool {
        matches!(self, ChangeOp::Insert | ChangeOp::UpdateAfter)
    }
}

/// Which kind of rows event the row data came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowsKind {
    /// `WRITE_ROWS`: one after image per row.
    Write,
    /// `UPDATE_ROWS`: a before and an after image per row.
    Update,
    /// `DELETE_ROWS`: one before image per row.
    Delete,
}

/// Rows changed in one table, in binlog order.
#[derive(Debug, Clone)]
pub struct ChangeBatch {
    /// One full image per row, in the table's Arrow schema.
    pub images: RecordBatch,
    /// What each row of `images` is.
    pub ops: Vec<ChangeOp>,
}

/// One column: its builder and how its binlog values are read.
struct Column {
    sink: Sink,
    format: ValueFormat,
    nullable: bool,
}

/// Decodes the row images of one table's rows events into change batches.
pub struct ChangeDecoder {
    schema: SchemaRef,
    columns: Vec<Column>,
    ops: Vec<ChangeOp>,
    bitmap_len: usize,
    bytes: usize,
    scratch: Vec<u8>,
    poisoned: bool,
}

impl ChangeDecoder {
    /// A decoder for the table whose Arrow schema is `schema` (from [`crate::schema::arrow_schema`])
    /// and whose table map lists `table_map`, one entry per column in the same order. Fails,
    /// naming the column, when a column's binlog storage does not fit its type.
    pub fn new(
        schema: SchemaRef,
        table_map: &[BinlogColumn],
    ) -> Result<ChangeDecoder, ConvertError> {
        if table_map.len() != schema.fields().len() {
            return Err(ConvertError::WireMismatch {
                column: String::from("(all)"),
                detail: format!(
                    "the binlog's table map has {} columns, the table schema {}",
                    table_map.len(),
                    schema.fields().len()
                ),
            });
        }
        let mut columns = Vec::with_capacity(table_map.len());
        for (field, binlog) in schema.fields().iter().zip(table_map) {
            let def = column_from_field(field)?;
            let format = ValueFormat::choose(&def, *binlog).map_err(|detail| {
                ConvertError::WireMismatch {
                    column: field.name().clone(),
                    detail,
                }
            })?;
            columns.push(Column {
                sink: Sink::for_column(&def, field)?,
                format,
                nullable: field.is_nullable(),
            });
        }
        Ok(ChangeDecoder {
            bitmap_len: columns.len().div_ceil(8),
            schema,
            columns,
            ops: Vec::new(),
            bytes: 0,
            scratch: Vec::new(),
            poisoned: false,
        })
    }

    /// The schema of the images.
    pub fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    /// Appends every row of one rows event's row data (the part after the column bitmaps). The
    /// event must carry every column in each image (`binlog_row_image=FULL`): the caller checks
    /// its column bitmaps. Returns the number of images appended.
    pub fn decode_rows(&mut self, kind: RowsKind, rows: &[u8]) -> Result<usize, ConvertError> {
        if self.poisoned {
            return Err(poisoned());
        }
        let before = self.ops.len();
        let result = self.decode_rows_inner(kind, rows);
        if result.is_err() {
            self.poisoned = true;
        }
        result.map(|()| self.ops.len() - before)
    }

    fn decode_rows_inner(&mut self, kind: RowsKind, rows: &[u8]) -> Result<(), ConvertError> {
        let mut cursor = Cursor::new(rows);
        while cursor.remaining() > 0 {
            match kind {
                RowsKind::Write => self.image(&mut cursor, ChangeOp::Insert)?,
                RowsKind::Delete => self.image(&mut cursor, ChangeOp::Delete)?,
                RowsKind::Update => {
                    self.image(&mut cursor, ChangeOp::UpdateBefore)?;
                    self.image(&mut cursor, ChangeOp::UpdateAfter)?;
                }
            }
        }
        self.bytes += rows.len();
        Ok(())
    }

    fn image(&mut self, cursor: &mut Cursor<'_>, op: ChangeOp) -> Result<(), ConvertError> {
        let bitmap = cursor
            .take(self.bitmap_len)
            .map_err(|_| ConvertError::Decode {
                column: String::from("(row)"),
                detail: String::from("the event ends inside a row's NULL bitmap"),
            })?;
        for (index, column) in self.columns.iter_mut().enumerate() {
            if bitmap[index / 8] & (1 << (index % 8)) != 0 {
                if !column.nullable {
                    return Err(ConvertError::Decode {
                        column: self.schema.field(index).name().clone(),
                        detail: String::from("NULL in a NOT NULL column"),
                    });
                }
                column.sink.append_null();
                continue;
            }
            value::decode(&mut column.sink, &column.format, cursor, &mut self.scratch).map_err(
                |detail| ConvertError::Decode {
                    column: self.schema.field(index).name().clone(),
                    detail: detail.to_owned(),
                },
            )?;
        }
        self.ops.push(op);
        Ok(())
    }

    /// Rows (images) appended since the last [`ChangeDecoder::finish`].
    pub fn rows(&self) -> usize {
        self.ops.len()
    }

    /// Row-data bytes decoded since the last [`ChangeDecoder::finish`].
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The images appended so far as one change batch; the builders start over empty.
    pub fn finish(&mut self) -> Result<ChangeBatch, ConvertError> {
        if self.poisoned {
            return Err(poisoned());
        }
        let arrays: Vec<ArrayRef> = self.columns.iter_mut().map(|c| c.sink.finish()).collect();
        let images = RecordBatch::try_new(Arc::clone(&self.schema), arrays).map_err(|error| {
            ConvertError::Decode {
                column: String::from("(batch)"),
                detail: error.to_string(),
            }
        })?;
        self.bytes = 0;
        Ok(ChangeBatch {
            images,
            ops: std::mem::take(&mut self.ops),
        })
    }

    /// Drops whatever was appended (a partial row after an error too) and clears the poisoned
    /// state.
    pub fn reset(&mut self) {
        for column in &mut self.columns {
            drop(column.sink.finish());
        }
        self.ops.clear();
        self.bytes = 0;
        self.poisoned = false;
    }
}

fn poisoned() -> ConvertError {
    ConvertError::Decode {
        column: String::from("(row)"),
        detail: String::from("an earlier row failed to decode; reset the decoder first"),
    }
}

#[cfg(test)]
mod tests;
