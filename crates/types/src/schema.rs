//! Tables and columns as reshard understands them: exactly what is needed to read, route, write
//! back and compare every value without loss.
//!
//! A [`TableSchema`] is read from the server once (`reshard_mysql` discovers it) and then drives
//! everything: the Arrow schema (`reshard_convert`), the decoders, the write encoders, the DDL of
//! targets. Its [`ColumnType`] has one variant per storage type reshard supports; a column of any
//! other type is refused when discovered, by name, never mapped to a near neighbour.

/// Integer widths, as declared (`TINYINT` 8 ... `BIGINT` 64; `MEDIUMINT` is 24).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IntWidth {
    /// TINYINT
    W8,
    /// SMALLINT
    W16,
    /// MEDIUMINT
    W24,
    /// INT
    W32,
    /// BIGINT
    W64,
}

/// Sizes of the TEXT and BLOB families (their maximum byte length is 2^8, 2^16, 2^24, 2^32 - 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LobSize {
    /// TINYTEXT / TINYBLOB
    Tiny,
    /// TEXT / BLOB
    Regular,
    /// MEDIUMTEXT / MEDIUMBLOB
    Medium,
    /// LONGTEXT / LONGBLOB
    Long,
}

/// The storage type of a column. Character types carry their character set on the
/// [`ColumnDef`]; the `binary` character set makes them byte strings.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ColumnType {
    /// TINYINT ... BIGINT.
    Int {
        /// Declared width.
        width: IntWidth,
        /// `UNSIGNED`.
        unsigned: bool,
    },
    /// DECIMAL(precision, scale); precision 1..=65, scale 0..=30.
    Decimal {
        /// Total digits.
        precision: u8,
        /// Digits after the point.
        scale: u8,
        /// `UNSIGNED` (deprecated, still accepted: refuses negatives).
        unsigned: bool,
    },
    /// FLOAT (4 bytes).
    Float,
    /// DOUBLE (8 bytes).
    Double,
    /// BIT(bits), 1..=64.
    Bit {
        /// Declared width.
        bits: u8,
    },
    /// YEAR (0, or 1901..=2155).
    Year,
    /// DATE, including zero and partly zero dates where the server allowed them.
    Date,
    /// DATETIME(fsp).
    DateTime {
        /// Fractional-second digits, 0..=6.
        fsp: u8,
    },
    /// TIMESTAMP(fsp): an instant, stored in UTC.
    Timestamp {
        /// Fractional-second digits, 0..=6.
        fsp: u8,
    },
    /// TIME(fsp): -838:59:59 ..= 838:59:59, with fractions.
    Time {
        /// Fractional-second digits, 0..=6.
        fsp: u8,
    },
    /// CHAR(n) (n characters, padded), or BINARY(n) (n bytes, zero-padded) in charset `binary`.
    Char {
        /// Declared length in characters (bytes for BINARY).
        length: u32,
    },
    /// VARCHAR(n), or VARBINARY(n) in charset `binary`.
    VarChar {
        /// Declared maximum length in characters (bytes for VARBINARY).
        length: u32,
    },
    /// TINYTEXT ... LONGTEXT, or TINYBLOB ... LONGBLOB in charset `binary`.
    Text {
        /// Which of the four.
        size: LobSize,
    },
    /// ENUM('a', 'b', ...): one of the members, or '' (index 0) for a value the server rejected
    /// in non-strict mode.
    Enum {
        /// Members in declaration order (index 1 is the first).
        members: Vec<String>,
    },
    /// SET('a', 'b', ...): any subset of up to 64 members.
    Set {
        /// Members in declaration order (bit 0 is the first).
        members: Vec<String>,
    },
    /// JSON: MySQL's binary JSON, or MariaDB's LONGTEXT with a `json_valid` check.
    Json,
    /// MariaDB INET4.
    Inet4,
    /// MariaDB INET6.
    Inet6,
    /// MariaDB UUID.
    Uuid,
}

/// How a generated column is computed; such columns are never written, the server computes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Generated {
    /// `STORED` (true) or `VIRTUAL`.
    pub stored: bool,
    /// The expression, as the server reports it.
    pub expression: String,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnDef {
    /// Its name.
    pub name: String,
    /// Its storage type.
    pub ty: ColumnType,
    /// Whether it accepts NULL.
    pub nullable: bool,
    /// Character set of character, ENUM, SET and JSON columns (`binary` for byte strings);
    /// `None` for the others.
    pub charset: Option<String>,
    /// Collation, with the character set.
    pub collation: Option<String>,
    /// The server's full type text (`bigint(20) unsigned`, `enum('a','b')`): with the rest of this
    /// definition, what a target column is created from.
    pub column_type: String,
    /// Set for generated columns.
    pub generated: Option<Generated>,
}

impl ColumnDef {
    /// Whether values are byte strings (charset `binary`) rather than text.
    pub fn is_binary(&self) -> bool {
        self.charset.as_deref() == Some("binary")
    }
}

/// A table: its columns in order, and its primary key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TableSchema {
    /// The database (schema) it is in.
    pub database: String,
    /// Its name.
    pub name: String,
    /// Columns in table order.
    pub columns: Vec<ColumnDef>,
    /// Indexes into `columns` of the primary key, in key order; empty when the table has none.
    pub primary_key: Vec<usize>,
}

impl TableSchema {
    /// `` `database`.`name` `` for messages.
    pub fn qualified_name(&self) -> String {
        format!("`{}`.`{}`", self.database, self.name)
    }

    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The members of `enum('a','it''s','b\\s')` (with `prefix` `enum(`) or `set(...)`, as the server
/// writes its `COLUMN_TYPE`: each quoted, a quote doubled, a backslash escaped. `None` when the
/// text is not of that shape.
pub fn parse_members(column_type: &str, prefix: &str) -> Option<Vec<String>> {
    let body = column_type.strip_prefix(prefix)?.strip_suffix(')')?;
    let mut out = Vec::new();
    let mut chars = body.chars().peekable();
    loop {
        if chars.next()? != '\'' {
            return None;
        }
        let mut member = String::new();
        loop {
            match chars.next()? {
                '\'' if chars.peek() == Some(&'\'') => {
                    chars.next();
                    member.push('\'');
                }
                '\'' => break,
                '\\' => member.push(match chars.next()? {
                    'n' => '\n',
                    'r' => '\r',
                    't' => '\t',
                    '0' => '\0',
                    'Z' => '\x1a',
                    c => c,
                }),
                c => member.push(c),
            }
        }
        out.push(member);
        match chars.next() {
            None => return Some(out),
            Some(',') => {}
            Some(_) => return None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_members_are_unquoted() {
        assert_eq!(
            parse_members(r"enum('x','it''s','b\\s','c,d','','é')", "enum(").unwrap(),
            ["x", "it's", r"b\s", "c,d", "", "é"]
        );
        assert_eq!(
            parse_members("set('p','q r')", "set(").unwrap(),
            ["p", "q r"]
        );
        assert_eq!(parse_members("enum('a'", "enum("), None);
        assert_eq!(parse_members("enum('a' 'b')", "enum("), None);
        assert_eq!(parse_members("int(11)", "enum("), None);
    }
}

/// The unique key that identifies a table's rows for copying: the primary key, or, when the
/// table has none, a unique index whose columns are all `NOT NULL` (which then stands in for it:
/// it is what InnoDB itself clusters such a table by).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RowKey {
    /// `PRIMARY`, or the name of the unique index standing in.
    pub index: String,
    /// Indexes into the table's columns, in key order.
    pub columns: Vec<usize>,
}

impl RowKey {
    /// Whether this is the table's primary key (rather than a unique index standing in).
    pub fn is_primary(&self) -> bool {
        self.index == "PRIMARY"
    }
}
