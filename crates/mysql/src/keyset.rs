//! SQL for walking a table in key order: key literals, and row-constructor comparisons spelled as
//! `OR` chains so that the server's range optimizer uses the index.
//!
//! Chunk boundaries are key values the server found (by `ORDER BY key LIMIT 1 OFFSET n`), read
//! back over the text protocol with `character_set_results = NULL`, so each arrives as the exact
//! text or bytes the server holds. They go back into the next query as literals that mean exactly
//! that value under the column's own type and collation:
//!
//! | key column | literal | why |
//! |---|---|---|
//! | integers, DECIMAL | the digits | exact numeric literal |
//! | DATE, DATETIME, TIMESTAMP, TIME, YEAR, INET4/6, UUID | `'text'` | converted to the column's type for the comparison; the session is UTC |
//! | character strings | `_cs X'hex' COLLATE coll` | the stored bytes in the column's character set, compared under the column's collation: the server orders strings, never reshard |
//! | binary strings | `X'hex'` | the bytes |
//!
//! Keys with a column of another type (FLOAT, DOUBLE, BIT, ENUM, SET, JSON: ordered or compared
//! differently from their text) are not walked: [`KeyWalk::new`] says why, and the table is read
//! as one chunk.
//!
//! `(a, b) > (x, y)` is written `a >= x AND (a > x OR (a = x AND b > y))`: MariaDB's optimizer
//! does not turn a row constructor comparison into an index range, while the leading `a >= x`
//! gives it one.

use reshard_convert::encode::load_data::quote_identifier;
use reshard_types::keyrange::hex;
use reshard_types::{ColumnType, RowKey, TableSchema};

/// How one key column's values are written as literals.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Literal {
    /// Digits (and sign, point) as they are.
    Number,
    /// Quoted text (the text is digits, signs, separators and hex digits only).
    Quoted,
    /// Bytes in a character set, compared under a collation.
    Text { charset: String, collation: String },
    /// Bytes.
    Binary,
}

/// One column of the key.
#[derive(Debug, Clone, PartialEq, Eq)]
struct KeyColumn {
    quoted: String,
    literal: Literal,
}

/// A table's row key, as SQL: what is needed to ask for rows after, or up to, a key value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyWalk {
    columns: Vec<KeyColumn>,
    index: String,
    integer: Option<IntegerKey>,
}

/// The value range of a key that is one integer column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IntegerKey {
    /// Smallest value the column type holds.
    pub min: i128,
    /// Largest value the column type holds.
    pub max: i128,
}

/// A key value as SQL literals, one per key column.
pub type KeyValue = Vec<String>;

impl KeyWalk {
    /// The walk over `key` of `table`, or why the key cannot be walked in order by value.
    pub fn new(table: &TableSchema, key: &RowKey) -> Result<KeyWalk, String> {
        let mut columns = Vec::with_capacity(key.columns.len());
        for &i in &key.columns {
            let column = &table.columns[i];
            let literal = match &column.ty {
                ColumnType::Int { .. } | ColumnType::Decimal { .. } => Literal::Number,
                ColumnType::Date
                | ColumnType::DateTime { .. }
                | ColumnType::Timestamp { .. }
                | ColumnType::Time { .. }
                | ColumnType::Year
                | ColumnType::Inet4
                | ColumnType::Inet6
                | ColumnType::Uuid => Literal::Quoted,
                ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text { .. }
                    if column.is_binary() =>
                {
                    Literal::Binary
                }
                ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text { .. } => {
                    match (&column.charset, &column.collation) {
                        (Some(charset), Some(collation)) => Literal::Text {
                            charset: charset.clone(),
                            collation: collation.clone(),
                        },
                        _ => {
                            return Err(format!(
                                "key column `{}` has no known character set",
                                column.name
                            ));
                        }
                    }
                }
                other => {
                    return Err(format!(
                        "key column `{}` is {other:?}, which the server orders differently from its text",
                        column.name
                    ));
                }
            };
            columns.push(KeyColumn {
                quoted: quote_identifier(&column.name),
                literal,
            });
        }
        if columns.is_empty() {
            return Err(String::from("the key has no columns"));
        }
        let integer = match (&key.columns[..], columns.len()) {
            ([only], 1) => match table.columns[*only].ty {
                ColumnType::Int { width, unsigned } => Some(integer_range(width, unsigned)),
                _ => None,
            },
            _ => None,
        };
        Ok(KeyWalk {
            columns,
            index: key.index.clone(),
            integer,
        })
    }

    /// Set when the key is a single integer column: chunks can then be ranges of values.
    pub fn integer(&self) -> Option<IntegerKey> {
        self.integer
    }

    /// The key's columns, quoted and comma-separated.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.quoted.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// `FORCE INDEX (...)` naming the key's index: reads walk it, whatever the statistics say.
    pub fn force_index(&self) -> String {
        format!("FORCE INDEX ({})", quote_identifier(&self.index))
    }

    /// The literal for a key column's value as the text protocol delivered it.
    pub fn literal(&self, column: usize, raw: &[u8]) -> Result<String, String> {
        let col = &self.columns[column];
        let text_ok = |allowed: &dyn Fn(u8) -> bool| {
            if !raw.is_empty() && raw.iter().all(|&b| allowed(b)) {
                Ok(String::from_utf8_lossy(raw).into_owned())
            } else {
                Err(format!(
                    "the server sent key value {} for {}, which is not of its type",
                    hex(raw),
                    col.quoted
                ))
            }
        };
        Ok(match &col.literal {
            Literal::Number => text_ok(&|b| b.is_ascii_digit() || b == b'-' || b == b'.')?,
            Literal::Quoted => format!(
                "'{}'",
                text_ok(&|b| b.is_ascii_hexdigit() || b"-:. ".contains(&b))?
            ),
            Literal::Text { charset, collation } => {
                format!("_{charset} X'{}' COLLATE {collation}", hex(raw))
            }
            Literal::Binary => format!("X'{}'", hex(raw)),
        })
    }

    /// `key > value`, as an `OR` chain (see the module docs).
    pub fn after(&self, value: &[String]) -> String {
        self.compare(value, ">")
    }

    /// `key <= value`.
    pub fn at_most(&self, value: &[String]) -> String {
        self.compare(value, "<=")
    }

    /// `key >= value` for an integer key.
    pub fn at_least_int(&self, value: i128) -> String {
        format!("{} >= {value}", self.columns[0].quoted)
    }

    /// `key < value` for an integer key.
    pub fn below_int(&self, value: i128) -> String {
        format!("{} < {value}", self.columns[0].quoted)
    }

    /// `(c1, ..., cn) op (v1, ..., vn)` for `>` or `<=`, written for the range optimizer.
    fn compare(&self, value: &[String], op: &str) -> String {
        assert_eq!(
            value.len(),
            self.columns.len(),
            "one literal per key column"
        );
        let strict = if op == ">" { ">" } else { "<" };
        let last = self.columns.len() - 1;
        // Built from the last column outwards: c_last op v_last, then
        // c_i strict v_i OR (c_i = v_i AND (inner)).
        let mut inner = format!("{} {op} {}", self.columns[last].quoted, value[last]);
        for i in (0..last).rev() {
            let (c, v) = (&self.columns[i].quoted, &value[i]);
            inner = format!("{c} {strict} {v} OR ({c} = {v} AND ({inner}))");
        }
        if last == 0 {
            return inner;
        }
        let loose = if op == ">" { ">=" } else { "<=" };
        format!(
            "{} {loose} {} AND ({inner})",
            self.columns[0].quoted, value[0]
        )
    }
}

/// The values an integer column of `width` holds.
fn integer_range(width: reshard_types::IntWidth, unsigned: bool) -> IntegerKey {
    use reshard_types::IntWidth::*;
    let bits = match width {
        W8 => 8,
        W16 => 16,
        W24 => 24,
        W32 => 32,
        W64 => 64,
    };
    if unsigned {
        IntegerKey {
            min: 0,
            max: (1i128 << bits) - 1,
        }
    } else {
        IntegerKey {
            min: -(1i128 << (bits - 1)),
            max: (1i128 << (bits - 1)) - 1,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reshard_types::{ColumnDef, IntWidth};

    fn column(name: &str, ty: ColumnType, charset: Option<&str>) -> ColumnDef {
        ColumnDef {
            name: name.into(),
            ty,
            nullable: false,
            charset: charset.map(Into::into),
            collation: charset.map(|c| format!("{c}_general_ci")),
            column_type: String::new(),
            generated: None,
        }
    }

    fn table(columns: Vec<ColumnDef>) -> TableSchema {
        TableSchema {
            database: "d".into(),
            name: "t".into(),
            primary_key: (0..columns.len()).collect(),
            columns,
        }
    }

    fn primary(n: usize) -> RowKey {
        RowKey {
            index: "PRIMARY".into(),
            columns: (0..n).collect(),
        }
    }

    #[test]
    fn composite_keys_become_or_chains_with_a_leading_range() {
        let t = table(vec![
            column(
                "a",
                ColumnType::Int {
                    width: IntWidth::W32,
                    unsigned: false,
                },
                None,
            ),
            column("b", ColumnType::VarChar { length: 8 }, Some("latin1")),
            column("c", ColumnType::Char { length: 16 }, Some("binary")),
        ]);
        let walk = KeyWalk::new(&t, &primary(3)).unwrap();
        assert_eq!(walk.integer(), None);
        let v = vec![
            walk.literal(0, b"-5").unwrap(),
            walk.literal(1, b"\xe9t\xe9").unwrap(),
            walk.literal(2, b"\x00\xff").unwrap(),
        ];
        assert_eq!(v[1], "_latin1 X'e974e9' COLLATE latin1_general_ci");
        assert_eq!(v[2], "X'00ff'");
        assert_eq!(
            walk.after(&v),
            "`a` >= -5 AND (`a` > -5 OR (`a` = -5 AND (`b` > _latin1 X'e974e9' COLLATE latin1_general_ci \
             OR (`b` = _latin1 X'e974e9' COLLATE latin1_general_ci AND (`c` > X'00ff')))))"
        );
        assert!(walk.at_most(&v).starts_with("`a` <= -5 AND (`a` < -5 OR"));
        assert!(walk.at_most(&v).ends_with("(`c` <= X'00ff')))))"));
    }

    #[test]
    fn single_integer_keys_know_their_range() {
        let t = table(vec![column(
            "id",
            ColumnType::Int {
                width: IntWidth::W64,
                unsigned: true,
            },
            None,
        )]);
        let walk = KeyWalk::new(&t, &primary(1)).unwrap();
        assert_eq!(
            walk.integer(),
            Some(IntegerKey {
                min: 0,
                max: u64::MAX.into()
            })
        );
        assert_eq!(walk.after(&["7".into()]), "`id` > 7");
        assert_eq!(walk.force_index(), "FORCE INDEX (`PRIMARY`)");
    }

    #[test]
    fn values_that_are_not_of_the_column_type_are_refused() {
        let t = table(vec![column("d", ColumnType::DateTime { fsp: 6 }, None)]);
        let walk = KeyWalk::new(&t, &primary(1)).unwrap();
        assert_eq!(
            walk.literal(0, b"2024-01-02 03:04:05.000006").unwrap(),
            "'2024-01-02 03:04:05.000006'"
        );
        assert!(walk.literal(0, b"1' OR '1").is_err());
        assert!(walk.literal(0, b"").is_err());
    }

    #[test]
    fn keys_ordered_unlike_their_text_are_not_walked() {
        for ty in [
            ColumnType::Double,
            ColumnType::Enum {
                members: vec!["a".into()],
            },
            ColumnType::Bit { bits: 8 },
        ] {
            let t = table(vec![column("k", ty, None)]);
            assert!(KeyWalk::new(&t, &primary(1)).is_err());
        }
    }
}
