//! `DELETE` statements by primary key, for the change applier.
//!
//! `DELETE FROM t WHERE k IN (v1, v2, ...)` for a one-column key, and
//! `WHERE (a = x AND b = y) OR (...)` for a composite one (an `OR` of equalities becomes index
//! lookups on every server version; a row-constructor `IN` does not on all of them).
//!
//! Key values are the literals of `INSERT` ([`super::insert`]), except strings in a character
//! set: those are written `_charset X'hex' COLLATE collation`, the stored bytes compared under
//! the column's own collation, so the primary key index is used (a `_binary` literal would
//! compare in binary and leave the index unused) and the row the server takes for that key is the
//! one deleted.

use arrow_array::{BinaryArray, RecordBatch, StringArray};
use arrow_schema::Schema;

use super::insert::write_literal;
use super::load_data::quote_identifier;
use super::values::{Kind, Values, WrittenColumns};
use crate::error::ConvertError;
use crate::schema::column_from_field;

/// How one key column's values are written.
#[derive(Debug, Clone)]
enum KeyLiteral {
    /// As `INSERT` writes them: the column's batch index, kind and name.
    Plain((usize, Kind, String)),
    /// `_charset X'hex' COLLATE collation`.
    Collated {
        index: usize,
        charset: String,
        collation: String,
    },
}

/// Encodes deletes of rows by their primary key.
#[derive(Debug, Clone)]
pub struct DeleteEncoder {
    /// Per key column: its quoted name and how its values are written.
    key: Vec<(String, KeyLiteral)>,
}

impl DeleteEncoder {
    /// An encoder for batches of `schema` whose key is the columns `key_columns`.
    pub fn new(schema: &Schema, key_columns: &[usize]) -> Result<DeleteEncoder, ConvertError> {
        let all = WrittenColumns::of(schema)?;
        let mut key = Vec::with_capacity(key_columns.len());
        for &index in key_columns {
            let field = schema.field(index);
            let column = column_from_field(field)?;
            let literal = match (column.charset.as_deref(), column.collation.as_deref()) {
                (Some(charset), Some(collation)) if charset != "binary" => KeyLiteral::Collated {
                    index,
                    charset: charset.to_owned(),
                    collation: collation.to_owned(),
                },
                _ => {
                    let written = all
                        .0
                        .iter()
                        .find(|(i, _, _)| *i == index)
                        .cloned()
                        .ok_or_else(|| ConvertError::BadField {
                            column: column.name.clone(),
                            why: String::from("a generated column cannot be a key to delete by"),
                        })?;
                    KeyLiteral::Plain(written)
                }
            };
            key.push((quote_identifier(&column.name), literal));
        }
        Ok(DeleteEncoder { key })
    }

    /// Appends `DELETE FROM table WHERE <the keys of rows `rows` of `batch`>`.
    pub fn encode(
        &self,
        table: &str,
        batch: &RecordBatch,
        rows: &[u32],
        out: &mut Vec<u8>,
    ) -> Result<(), ConvertError> {
        let columns = self
            .key
            .iter()
            .map(|(_, literal)| Prepared::new(literal, batch))
            .collect::<Result<Vec<_>, _>>()?;
        out.extend_from_slice(b"DELETE FROM ");
        out.extend_from_slice(table.as_bytes());
        out.extend_from_slice(b" WHERE ");
        if let ([(name, _)], [column]) = (self.key.as_slice(), columns.as_slice()) {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b" IN (");
            for (n, &row) in rows.iter().enumerate() {
                if n > 0 {
                    out.push(b',');
                }
                column.write(row as usize, out)?;
            }
            out.push(b')');
            return Ok(());
        }
        for (n, &row) in rows.iter().enumerate() {
            out.extend_from_slice(if n == 0 { b"(" } else { b" OR (" });
            for (c, ((name, _), column)) in self.key.iter().zip(&columns).enumerate() {
                if c > 0 {
                    out.extend_from_slice(b" AND ");
                }
                out.extend_from_slice(name.as_bytes());
                out.push(b'=');
                column.write(row as usize, out)?;
            }
            out.push(b')');
        }
        Ok(())
    }
}

/// One key column of a batch, downcast once.
enum Prepared<'a> {
    Plain {
        values: Values<'a>,
        kind: Kind,
        name: &'a str,
    },
    Text {
        array: &'a StringArray,
        charset: &'a str,
        collation: &'a str,
    },
    Bytes {
        array: &'a BinaryArray,
        charset: &'a str,
        collation: &'a str,
    },
}

impl<'a> Prepared<'a> {
    fn new(literal: &'a KeyLiteral, batch: &'a RecordBatch) -> Result<Prepared<'a>, ConvertError> {
        Ok(match literal {
            KeyLiteral::Plain((index, kind, name)) => Prepared::Plain {
                values: Values::new(*kind, batch.column(*index).as_ref(), name)?,
                kind: *kind,
                name,
            },
            KeyLiteral::Collated {
                index,
                charset,
                collation,
            } => {
                let array = batch.column(*index).as_any();
                if let Some(array) = array.downcast_ref::<StringArray>() {
                    Prepared::Text {
                        array,
                        charset,
                        collation,
                    }
                } else if let Some(array) = array.downcast_ref::<BinaryArray>() {
                    Prepared::Bytes {
                        array,
                        charset,
                        collation,
                    }
                } else {
                    return Err(ConvertError::Encode {
                        column: format!("(key column {index})"),
                        detail: String::from("a text key column that is not a string array"),
                    });
                }
            }
        })
    }

    fn write(&self, row: usize, out: &mut Vec<u8>) -> Result<(), ConvertError> {
        let (bytes, charset, collation) = match self {
            Prepared::Plain { values, kind, name } => {
                return write_literal(values, *kind, name, row, out);
            }
            Prepared::Text {
                array,
                charset,
                collation,
            } => (array.value(row).as_bytes(), *charset, *collation),
            Prepared::Bytes {
                array,
                charset,
                collation,
            } => (array.value(row), *charset, *collation),
        };
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        out.push(b'_');
        out.extend_from_slice(charset.as_bytes());
        out.extend_from_slice(b" X'");
        for b in bytes {
            out.push(HEX[usize::from(b >> 4)]);
            out.push(HEX[usize::from(b & 15)]);
        }
        out.extend_from_slice(b"' COLLATE ");
        out.extend_from_slice(collation.as_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array};
    use reshard_types::{ColumnType, IntWidth, TableSchema};

    use super::*;
    use crate::schema::arrow_schema;
    use crate::test_support::col;

    fn batch() -> RecordBatch {
        let mut id = col(
            ColumnType::Int {
                width: IntWidth::W64,
                unsigned: false,
            },
            "bigint(20)",
            None,
        );
        id.name = "id".into();
        let mut name = col(
            ColumnType::VarChar { length: 10 },
            "varchar(10)",
            Some("utf8mb4"),
        );
        name.name = "name".into();
        let schema = Arc::new(arrow_schema(&TableSchema {
            database: "d".into(),
            name: "t".into(),
            columns: vec![id, name],
            primary_key: vec![0, 1],
        }));
        let columns: Vec<ArrayRef> = vec![
            Arc::new(Int64Array::from(vec![1, -2, 3])),
            Arc::new(StringArray::from(vec!["a'b", "é", ""])),
        ];
        RecordBatch::try_new(schema, columns).unwrap()
    }

    #[test]
    fn one_column_keys_are_an_in_list() {
        let batch = batch();
        let mut out = Vec::new();
        DeleteEncoder::new(&batch.schema(), &[0])
            .unwrap()
            .encode("`t`", &batch, &[2, 1], &mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "DELETE FROM `t` WHERE `id` IN (3,-2)"
        );
    }

    #[test]
    fn composite_keys_are_an_or_of_equalities_with_collated_strings() {
        let batch = batch();
        let mut out = Vec::new();
        DeleteEncoder::new(&batch.schema(), &[0, 1])
            .unwrap()
            .encode("`t`", &batch, &[0, 1, 2], &mut out)
            .unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "DELETE FROM `t` WHERE (`id`=1 AND `name`=_utf8mb4 X'612762' COLLATE utf8mb4_bin) \
             OR (`id`=-2 AND `name`=_utf8mb4 X'C3A9' COLLATE utf8mb4_bin) \
             OR (`id`=3 AND `name`=_utf8mb4 X'' COLLATE utf8mb4_bin)"
        );
    }
}
