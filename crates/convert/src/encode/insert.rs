//! Record batches as multi-row `INSERT` statements, with the value texts of `encode::values`.
//!
//! Strings and bytes are `_binary'…'` literals (the introducer keeps the bytes unconverted; `\`,
//! `'` and NUL are backslash-escaped, so the session must not use `NO_BACKSLASH_ESCAPES`); every
//! other value is an unquoted number (INET4, INET6 and UUID text is `_utf8mb4'…'`, which the
//! server parses) or a quoted temporal literal. BIT values are numbers, which
//! an `INSERT` stores as bits.

use std::ops::Range;

use arrow_array::RecordBatch;
use arrow_schema::Schema;

use super::load_data::quote_identifier;
use super::values::{Cell, Kind, Values, WrittenColumns};
use crate::error::ConvertError;

/// Encodes batches of one schema as `INSERT` statements.
#[derive(Debug, Clone)]
pub struct InsertEncoder {
    columns: WrittenColumns,
    columns_sql: String,
}

impl InsertEncoder {
    /// An encoder for batches of `schema`; generated columns are left out.
    pub fn new(schema: &Schema) -> Result<InsertEncoder, ConvertError> {
        let columns = WrittenColumns::of(schema)?;
        let names: Vec<String> = columns
            .0
            .iter()
            .map(|(_, _, name)| quote_identifier(name))
            .collect();
        Ok(InsertEncoder {
            columns,
            columns_sql: format!("({})", names.join(", ")),
        })
    }

    /// Appends `INSERT [IGNORE] INTO table (...) VALUES (...), ...` for rows `rows` of `batch`.
    pub fn encode(
        &self,
        table: &str,
        ignore: bool,
        batch: &RecordBatch,
        rows: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), ConvertError> {
        let values = self.columns.values(batch)?;
        out.extend_from_slice(if ignore {
            b"INSERT IGNORE INTO "
        } else {
            b"INSERT INTO "
        });
        out.extend_from_slice(table.as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.columns_sql.as_bytes());
        out.extend_from_slice(b" VALUES ");
        for (n, row) in rows.enumerate() {
            out.extend_from_slice(if n == 0 { b"(" } else { b",(" });
            write_tuple(&values, &self.columns.0, row, out)?;
            out.push(b')');
        }
        Ok(())
    }
}

/// Appends the values of `row`, comma-separated, as SQL literals (see the module docs).
pub(crate) fn write_tuple(
    values: &[Values<'_>],
    columns: &[(usize, Kind, String)],
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    for (position, (column, (_, kind, name))) in values.iter().zip(columns).enumerate() {
        if position > 0 {
            out.push(b',');
        }
        write_literal(column, *kind, name, row, out)?;
    }
    Ok(())
}

/// Appends one value as an SQL literal.
pub(crate) fn write_literal(
    column: &Values<'_>,
    kind: Kind,
    name: &str,
    row: usize,
    out: &mut Vec<u8>,
) -> Result<(), ConvertError> {
    let quoted = matches!(
        kind,
        Kind::Date | Kind::DateTime { .. } | Kind::Timestamp { .. } | Kind::Time { .. }
    );
    if quoted {
        out.push(b'\'');
    }
    let mark = out.len();
    match column.cell(row, out) {
        Ok(Cell::Written) => {}
        Ok(Cell::Null) => {
            out.truncate(mark - usize::from(quoted));
            out.extend_from_slice(b"NULL");
            return Ok(());
        }
        Ok(Cell::Raw(bytes)) => {
            // INET4/INET6/UUID must be parsed as text, not taken as raw bytes.
            out.extend_from_slice(if kind == Kind::ParsedText {
                b"_utf8mb4'"
            } else {
                b"_binary'"
            });
            for byte in bytes {
                match byte {
                    b'\\' | b'\'' => out.extend_from_slice(&[b'\\', *byte]),
                    0 => out.extend_from_slice(b"\\0"),
                    other => out.push(*other),
                }
            }
            out.push(b'\'');
        }
        Err(detail) => {
            return Err(ConvertError::Encode {
                column: name.to_owned(),
                detail: format!("row {row}: {detail}"),
            });
        }
    }
    if quoted {
        out.push(b'\'');
    }
    Ok(())
}
