//! One row's values as a person reads them in an error message: `` `id`=42, `name`='abc' ``.
//!
//! Used to name the row a copy cannot route (a NULL or non-numeric sharding value), so the user
//! can find it with a `SELECT`. Values use the same text as every write (`encode::values`);
//! strings that are not printable UTF-8 are shown as hex.

use arrow_array::RecordBatch;

use super::load_data::quote_identifier;
use super::values::{Cell, Kind, Values};

/// Columns `columns` of row `row` of `batch`, as `` `name`=value `` pairs joined by `, `.
pub fn describe_row(batch: &RecordBatch, row: usize, columns: &[usize]) -> String {
    let schema = batch.schema();
    let mut parts = Vec::with_capacity(columns.len());
    for &index in columns {
        let field = schema.field(index);
        let name = quote_identifier(field.name());
        let value = Kind::of(field)
            .ok()
            .and_then(|(kind, _)| {
                Values::new(kind, batch.column(index).as_ref(), field.name()).ok()
            })
            .map_or_else(
                || String::from("(unreadable)"),
                |values| {
                    let mut out = Vec::new();
                    match values.cell(row, &mut out) {
                        Ok(Cell::Null) => String::from("NULL"),
                        Ok(Cell::Written) => String::from_utf8_lossy(&out).into_owned(),
                        Ok(Cell::Raw(bytes)) => quoted(bytes),
                        Err(detail) => format!("({detail})"),
                    }
                },
            );
        parts.push(format!("{name}={value}"));
    }
    parts.join(", ")
}

/// `'text'` when printable UTF-8, `0xHEX` otherwise.
fn quoted(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => {
            format!("'{}'", text.replace('\'', "''"))
        }
        _ => {
            let mut out = String::from("0x");
            for b in bytes {
                out.push_str(&format!("{b:02X}"));
            }
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow_array::{BinaryArray, Int64Array, StringArray};
    use arrow_schema::Schema;
    use reshard_types::{ColumnType, IntWidth};

    use super::*;
    use crate::schema::field;
    use crate::test_support::col;

    #[test]
    fn names_each_column_with_its_value() {
        let named = |name: &str, mut c: reshard_types::ColumnDef| {
            c.name = name.into();
            field(&c)
        };
        let schema = Schema::new(vec![
            named(
                "id",
                col(
                    ColumnType::Int {
                        width: IntWidth::W64,
                        unsigned: false,
                    },
                    "bigint(20)",
                    None,
                ),
            ),
            named(
                "name",
                col(
                    ColumnType::VarChar { length: 9 },
                    "varchar(9)",
                    Some("utf8mb4"),
                ),
            ),
            named(
                "raw",
                col(
                    ColumnType::VarChar { length: 9 },
                    "varbinary(9)",
                    Some("binary"),
                ),
            ),
        ]);
        let batch = RecordBatch::try_new(
            Arc::new(schema),
            vec![
                Arc::new(Int64Array::from(vec![7, -3])),
                Arc::new(StringArray::from(vec![Some("it's"), None])),
                Arc::new(BinaryArray::from(vec![Some(&b"\x00\xff"[..]), Some(b"ok")])),
            ],
        )
        .unwrap();
        assert_eq!(
            describe_row(&batch, 0, &[0, 1, 2]),
            "`id`=7, `name`='it''s', `raw`=0x00FF"
        );
        assert_eq!(describe_row(&batch, 1, &[1, 0]), "`name`=NULL, `id`=-3");
    }
}
