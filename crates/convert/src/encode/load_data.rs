//! Record batches as the input of `LOAD DATA LOCAL INFILE`: the fastest exact way into a server.
//!
//! **Why this format.** Measured against multi-row `INSERT` and MariaDB's bulk prepared execution
//! on the same rows and server (`docs/benchmarks.md`, "Write methods"): `INSERT` is ~1.4× slower
//! (the server parses every value as SQL); bulk execution loads at the same rate within run-to-run
//! variance but is MariaDB's alone. `LOAD DATA` costs the client least (no per-value type tags,
//! no per-value objects), streams in packets as it is encoded, and works on MySQL too.
//!
//! **The format.** One line per row, `\n`-terminated; fields separated by `\t`; NULL is `\N`;
//! in values, `\`, tab, newline and NUL are escaped as `\\`, `\t`, `\n`, `\0`. The statement loads
//! with `CHARACTER SET binary`, so the bytes of every string reach the column unconverted (binary
//! data, any charset, trailing spaces and `BINARY(n)` padding as they are). BIT columns go through
//! a user variable and `CAST(@v AS UNSIGNED)`, since `LOAD DATA` would store a digit's character
//! code; INET4, INET6 and UUID columns go through `CONVERT(@v USING utf8mb4)`, since as binary
//! strings the server would not parse their text. Generated columns are left out: the target computes them. Values are written as
//! `encode::values` describes.
//!
//! The writing session must use `time_zone = '+00:00'` (TIMESTAMPs are written as UTC) and a
//! `sql_mode` that admits the source's values (zero dates) while staying strict, and the caller
//! must treat any warning as an error: `LOAD DATA LOCAL` turns errors into warnings.

use std::fmt::Write as _;
use std::ops::Range;

use arrow_array::RecordBatch;
use arrow_schema::Schema;

use super::values::{Cell, Kind, WrittenColumns};
use crate::error::ConvertError;

/// Encodes batches of one schema for `LOAD DATA LOCAL INFILE`.
#[derive(Debug, Clone)]
pub struct LoadDataEncoder {
    columns: WrittenColumns,
    columns_sql: String,
}

/// Bytes that must be escaped inside a value.
const ESCAPED: [bool; 256] = {
    let mut table = [false; 256];
    table[b'\\' as usize] = true;
    table[b'\t' as usize] = true;
    table[b'\n' as usize] = true;
    table[0] = true;
    table
};

impl LoadDataEncoder {
    /// An encoder for batches of `schema` (made by [`crate::schema::arrow_schema`]).
    pub fn new(schema: &Schema) -> Result<LoadDataEncoder, ConvertError> {
        let columns = WrittenColumns::of(schema)?;
        let mut names = Vec::new();
        let mut sets = Vec::new();
        for (index, kind, name) in &columns.0 {
            let (index, kind) = (*index, *kind);
            let quoted = quote_identifier(name);
            if kind == Kind::Bit {
                let var = format!("@reshard_{index}");
                sets.push(format!("{quoted} = CAST({var} AS UNSIGNED)"));
                names.push(var);
            } else if kind == Kind::ParsedText {
                let var = format!("@reshard_{index}");
                sets.push(format!("{quoted} = CONVERT({var} USING utf8mb4)"));
                names.push(var);
            } else {
                names.push(quoted);
            }
        }
        let mut columns_sql = format!("({})", names.join(", "));
        if !sets.is_empty() {
            let _ = write!(columns_sql, " SET {}", sets.join(", "));
        }
        Ok(LoadDataEncoder {
            columns,
            columns_sql,
        })
    }

    /// The statement that loads this encoder's data into `table` (already quoted, e.g.
    /// `` `db`.`t` ``). `IGNORE` makes a row whose key exists already a no-op (idempotent re-copy);
    /// every other problem still raises a warning the caller must refuse.
    pub fn statement(&self, table: &str) -> String {
        self.statement_with(table, "IGNORE")
    }

    /// The `LOAD DATA LOCAL ... REPLACE INTO TABLE table ...` statement: a row whose key (or
    /// unique value) exists replaces the row there.
    pub fn replace_statement(&self, table: &str) -> String {
        self.statement_with(table, "REPLACE")
    }

    fn statement_with(&self, table: &str, duplicates: &str) -> String {
        format!(
            "LOAD DATA LOCAL INFILE 'reshard-batch' {duplicates} INTO TABLE {table} CHARACTER SET binary \
             FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' {}",
            self.columns_sql
        )
    }

    /// Appends rows `rows` of `batch` to `out`.
    pub fn encode(
        &self,
        batch: &RecordBatch,
        rows: Range<usize>,
        out: &mut Vec<u8>,
    ) -> Result<(), ConvertError> {
        let values = self.columns.values(batch)?;
        for row in rows {
            for (position, column) in values.iter().enumerate() {
                if position > 0 {
                    out.push(b'\t');
                }
                match column.cell(row, out) {
                    Ok(Cell::Written) => {}
                    Ok(Cell::Null) => out.extend_from_slice(b"\\N"),
                    Ok(Cell::Raw(bytes)) => escape_into(bytes, out),
                    Err(detail) => {
                        return Err(ConvertError::Encode {
                            column: self.columns.0[position].2.clone(),
                            detail: format!("row {row}: {detail}"),
                        });
                    }
                }
            }
            out.push(b'\n');
        }
        Ok(())
    }
}

/// Appends `bytes` with `\`, tab, newline and NUL escaped.
#[inline]
fn escape_into(bytes: &[u8], out: &mut Vec<u8>) {
    let mut clean_from = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if ESCAPED[usize::from(*byte)] {
            out.extend_from_slice(&bytes[clean_from..i]);
            out.push(b'\\');
            out.push(match byte {
                b'\t' => b't',
                b'\n' => b'n',
                0 => b'0',
                other => *other,
            });
            clean_from = i + 1;
        }
    }
    out.extend_from_slice(&bytes[clean_from..]);
}

/// `name` as a quoted identifier (backticks doubled).
pub fn quote_identifier(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Reads the format back: the fields of each line, unescaped, `None` for NULL. The inverse of
/// [`LoadDataEncoder::encode`], used by the property tests to prove the escaping loses nothing.
pub fn parse_lines(data: &[u8]) -> Result<Vec<Vec<Option<Vec<u8>>>>, String> {
    let mut lines = Vec::new();
    let mut fields = Vec::new();
    let mut field = Vec::new();
    let mut null = false;
    let mut bytes = data.iter();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\\' => match bytes.next() {
                Some(b'N') if field.is_empty() => null = true,
                Some(b't') => field.push(b'\t'),
                Some(b'n') => field.push(b'\n'),
                Some(b'0') => field.push(0),
                Some(other @ b'\\') => field.push(*other),
                other => return Err(format!("bad escape {other:?}")),
            },
            b'\t' | b'\n' => {
                fields.push(if null {
                    None
                } else {
                    Some(std::mem::take(&mut field))
                });
                null = false;
                if *byte == b'\n' {
                    lines.push(std::mem::take(&mut fields));
                }
            }
            other => field.push(*other),
        }
    }
    if !fields.is_empty() || !field.is_empty() {
        return Err(String::from("the last line is not terminated"));
    }
    Ok(lines)
}
