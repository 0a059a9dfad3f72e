//! The schema mapping: a table's columns to an Arrow schema, and back, without loss.
//!
//! Every column maps to an Arrow type that holds each of its values exactly, and its field
//! metadata (keys under `mysql.`) keeps what Arrow's type cannot say, so that
//! [`column_from_field`] rebuilds the very same [`ColumnDef`] from a field alone. A test walks every
//! [`ColumnType`] variant through that round trip.
//!
//! | MySQL | Arrow | why this one |
//! |---|---|---|
//! | TINYINT … BIGINT | `Int8` … `Int64`, `UInt8` … `UInt64` (MEDIUMINT: 32 bits) | same range |
//! | DECIMAL(p,s), p ≤ 38 | `Decimal128(p,s)` | exact to the last digit |
//! | DECIMAL(p,s), p > 38 | `Decimal256(p,s)` | up to DECIMAL(65,30) |
//! | FLOAT, DOUBLE | `Float32`, `Float64` | the stored IEEE value |
//! | BIT(n) | `UInt64` | the bits as a number |
//! | YEAR | `UInt16` | 0 and 1901 … 2155 |
//! | DATE | `Int32`, `YYYYMMDD` | `Date32` cannot hold `0000-00-00` or `2020-00-15`; this can, and sorts like dates |
//! | DATETIME(fsp) | `Int64`, MySQL's packed form (below) | zero and partly zero dates again; `YYYYMMDDhhmmss·10⁶+µs` would overflow |
//! | TIMESTAMP(fsp) | `Timestamp(µs, "+00:00")` | an instant; 0 is the zero timestamp, which 1970-01-01 00:00:00 UTC cannot be |
//! | TIME(fsp) | `Duration(µs)` | signed, beyond 24 h |
//! | text types, ENUM, SET in utf8mb4, utf8mb3, ascii | `Utf8` | valid UTF-8 as stored |
//! | text types, ENUM, SET in any other charset | `Binary` | the stored bytes, charset in metadata |
//! | BINARY, VARBINARY, BLOBs | `Binary` | bytes |
//! | JSON | `Utf8` | the JSON text the server returns |
//! | INET4, INET6, UUID | `Utf8` | canonical text, which writes back to the same stored bytes |
//!
//! Packed DATETIME, as MySQL packs it internally: `ymd = (year·13 + month)·32 + day`,
//! `hms = hour·4096 + minute·64 + second`, value `= (ymd·2¹⁷ + hms)·2²⁴ + microseconds`.
//! Order-preserving and exact for every DATETIME the server can hold.

use std::collections::HashMap;

use arrow_schema::{DataType, Field, Schema, TimeUnit};
use reshard_types::{
    ColumnDef, ColumnType, Generated, IntWidth, LobSize, TableSchema, parse_members,
};

use crate::error::ConvertError;

/// Metadata keys of a field. Every field has `TYPE`, `COLUMN_TYPE` and `NULLABLE`; the rest where
/// they apply.
pub mod keys {
    /// The type, in [`super::type_name`]'s words (`bigint`, `decimal`, `datetime`, ...).
    pub const TYPE: &str = "mysql.type";
    /// The server's full type text, e.g. `bigint(20) unsigned`.
    pub const COLUMN_TYPE: &str = "mysql.column_type";
    /// `true` or `false`.
    pub const UNSIGNED: &str = "mysql.unsigned";
    /// Integer width in bits (8, 16, 24, 32, 64), BIT width.
    pub const BITS: &str = "mysql.bits";
    /// DECIMAL precision.
    pub const PRECISION: &str = "mysql.precision";
    /// DECIMAL scale.
    pub const SCALE: &str = "mysql.scale";
    /// Fractional-second digits of DATETIME, TIMESTAMP, TIME.
    pub const FSP: &str = "mysql.fsp";
    /// Declared length of CHAR, VARCHAR, BINARY, VARBINARY.
    pub const LENGTH: &str = "mysql.length";
    /// `tiny`, `regular`, `medium`, `long` for the TEXT and BLOB families.
    pub const LOB_SIZE: &str = "mysql.lob_size";
    /// Character set (`binary` for byte strings).
    pub const CHARSET: &str = "mysql.charset";
    /// Collation.
    pub const COLLATION: &str = "mysql.collation";
    /// `virtual` or `stored`, for generated columns.
    pub const GENERATED: &str = "mysql.generated";
    /// The generation expression.
    pub const EXPRESSION: &str = "mysql.expression";
    /// How the value is encoded when Arrow has no exact type: `yyyymmdd`, `packed-datetime`.
    pub const ENCODING: &str = "mysql.encoding";
}

/// The encoding of DATE values (see the module docs).
pub const DATE_ENCODING: &str = "yyyymmdd";
/// The encoding of DATETIME values (see the module docs).
pub const DATETIME_ENCODING: &str = "packed-datetime";
/// The time zone of TIMESTAMP arrays: values are instants in UTC.
pub const TIMESTAMP_ZONE: &str = "+00:00";

/// Whether text in this character set is stored as valid UTF-8 (and so maps to `Utf8`).
pub fn is_utf8_charset(charset: Option<&str>) -> bool {
    matches!(charset, Some("utf8mb4" | "utf8mb3" | "utf8" | "ascii"))
}

/// The Arrow type that holds every value of `column` exactly.
pub fn arrow_type(column: &ColumnDef) -> DataType {
    let text = || {
        if is_utf8_charset(column.charset.as_deref()) {
            DataType::Utf8
        } else {
            DataType::Binary
        }
    };
    match &column.ty {
        ColumnType::Int {
            width,
            unsigned: false,
        } => match width {
            IntWidth::W8 => DataType::Int8,
            IntWidth::W16 => DataType::Int16,
            IntWidth::W24 | IntWidth::W32 => DataType::Int32,
            IntWidth::W64 => DataType::Int64,
        },
        ColumnType::Int {
            width,
            unsigned: true,
        } => match width {
            IntWidth::W8 => DataType::UInt8,
            IntWidth::W16 => DataType::UInt16,
            IntWidth::W24 | IntWidth::W32 => DataType::UInt32,
            IntWidth::W64 => DataType::UInt64,
        },
        ColumnType::Decimal {
            precision, scale, ..
        } => {
            let scale = i8::try_from(*scale).expect("DECIMAL scale is at most 30");
            if *precision <= 38 {
                DataType::Decimal128(*precision, scale)
            } else {
                DataType::Decimal256(*precision, scale)
            }
        }
        ColumnType::Float => DataType::Float32,
        ColumnType::Double => DataType::Float64,
        ColumnType::Bit { .. } => DataType::UInt64,
        ColumnType::Year => DataType::UInt16,
        ColumnType::Date => DataType::Int32,
        ColumnType::DateTime { .. } => DataType::Int64,
        ColumnType::Timestamp { .. } => {
            DataType::Timestamp(TimeUnit::Microsecond, Some(TIMESTAMP_ZONE.into()))
        }
        ColumnType::Time { .. } => DataType::Duration(TimeUnit::Microsecond),
        ColumnType::Char { .. } | ColumnType::VarChar { .. } | ColumnType::Text { .. } => text(),
        ColumnType::Enum { .. } | ColumnType::Set { .. } => text(),
        ColumnType::Json | ColumnType::Inet4 | ColumnType::Inet6 | ColumnType::Uuid => {
            DataType::Utf8
        }
    }
}

/// The type's name in metadata: the server's `DATA_TYPE` word, with byte strings named as such.
pub fn type_name(column: &ColumnDef) -> &'static str {
    let binary = column.is_binary();
    match &column.ty {
        ColumnType::Int { width, .. } => match width {
            IntWidth::W8 => "tinyint",
            IntWidth::W16 => "smallint",
            IntWidth::W24 => "mediumint",
            IntWidth::W32 => "int",
            IntWidth::W64 => "bigint",
        },
        ColumnType::Decimal { .. } => "decimal",
        ColumnType::Float => "float",
        ColumnType::Double => "double",
        ColumnType::Bit { .. } => "bit",
        ColumnType::Year => "year",
        ColumnType::Date => "date",
        ColumnType::DateTime { .. } => "datetime",
        ColumnType::Timestamp { .. } => "timestamp",
        ColumnType::Time { .. } => "time",
        ColumnType::Char { .. } => {
            if binary {
                "binary"
            } else {
                "char"
            }
        }
        ColumnType::VarChar { .. } => {
            if binary {
                "varbinary"
            } else {
                "varchar"
            }
        }
        ColumnType::Text { .. } => {
            if binary {
                "blob"
            } else {
                "text"
            }
        }
        ColumnType::Enum { .. } => "enum",
        ColumnType::Set { .. } => "set",
        ColumnType::Json => "json",
        ColumnType::Inet4 => "inet4",
        ColumnType::Inet6 => "inet6",
        ColumnType::Uuid => "uuid",
    }
}

/// The Arrow field of `column`, with its metadata.
pub fn field(column: &ColumnDef) -> Field {
    let mut meta = HashMap::new();
    let mut put = |k: &str, v: String| {
        meta.insert(k.to_owned(), v);
    };
    put(keys::TYPE, type_name(column).to_owned());
    put(keys::COLUMN_TYPE, column.column_type.clone());
    match &column.ty {
        ColumnType::Int { width, unsigned } => {
            let bits = match width {
                IntWidth::W8 => 8,
                IntWidth::W16 => 16,
                IntWidth::W24 => 24,
                IntWidth::W32 => 32,
                IntWidth::W64 => 64,
            };
            put(keys::BITS, u8::to_string(&bits));
            put(keys::UNSIGNED, unsigned.to_string());
        }
        ColumnType::Decimal {
            precision,
            scale,
            unsigned,
        } => {
            put(keys::PRECISION, precision.to_string());
            put(keys::SCALE, scale.to_string());
            put(keys::UNSIGNED, unsigned.to_string());
        }
        ColumnType::Bit { bits } => put(keys::BITS, bits.to_string()),
        ColumnType::Date => put(keys::ENCODING, DATE_ENCODING.to_owned()),
        ColumnType::DateTime { fsp } => {
            put(keys::FSP, fsp.to_string());
            put(keys::ENCODING, DATETIME_ENCODING.to_owned());
        }
        ColumnType::Timestamp { fsp } | ColumnType::Time { fsp } => put(keys::FSP, fsp.to_string()),
        ColumnType::Char { length } | ColumnType::VarChar { length } => {
            put(keys::LENGTH, length.to_string())
        }
        ColumnType::Text { size } => put(keys::LOB_SIZE, lob_size_name(*size).to_owned()),
        ColumnType::Float
        | ColumnType::Double
        | ColumnType::Year
        | ColumnType::Enum { .. }
        | ColumnType::Set { .. }
        | ColumnType::Json
        | ColumnType::Inet4
        | ColumnType::Inet6
        | ColumnType::Uuid => {}
    }
    if let Some(charset) = &column.charset {
        put(keys::CHARSET, charset.clone());
    }
    if let Some(collation) = &column.collation {
        put(keys::COLLATION, collation.clone());
    }
    if let Some(g) = &column.generated {
        put(
            keys::GENERATED,
            if g.stored { "stored" } else { "virtual" }.to_owned(),
        );
        put(keys::EXPRESSION, g.expression.clone());
    }
    Field::new(&column.name, arrow_type(column), column.nullable).with_metadata(meta)
}

/// The Arrow schema of a table; schema metadata names the table and its primary key.
pub fn arrow_schema(table: &TableSchema) -> Schema {
    let key: Vec<&str> = table
        .primary_key
        .iter()
        .map(|&i| table.columns[i].name.as_str())
        .collect();
    let meta = HashMap::from([
        ("mysql.database".to_owned(), table.database.clone()),
        ("mysql.table".to_owned(), table.name.clone()),
        ("mysql.primary_key".to_owned(), key.join(",")),
    ]);
    Schema::new_with_metadata(table.columns.iter().map(field).collect::<Vec<_>>(), meta)
}

fn lob_size_name(size: LobSize) -> &'static str {
    match size {
        LobSize::Tiny => "tiny",
        LobSize::Regular => "regular",
        LobSize::Medium => "medium",
        LobSize::Long => "long",
    }
}

/// Rebuilds the column a field was made from, from its name, nullability and metadata alone.
pub fn column_from_field(field: &Field) -> Result<ColumnDef, ConvertError> {
    let meta = field.metadata();
    let bad = |why: String| ConvertError::BadField {
        column: field.name().clone(),
        why,
    };
    let get = |k: &str| {
        meta.get(k)
            .map(String::as_str)
            .ok_or_else(|| bad(format!("metadata {k} is missing")))
    };
    let num = |k: &str| -> Result<u32, ConvertError> {
        get(k)?
            .parse()
            .map_err(|_| bad(format!("metadata {k} is not a number")))
    };
    let small = |k: &str| {
        num(k).and_then(|v| u8::try_from(v).map_err(|_| bad(format!("metadata {k} is too large"))))
    };
    let flag = |k: &str| get(k).map(|v| v == "true");
    let column_type = get(keys::COLUMN_TYPE)?.to_owned();
    let ty = match get(keys::TYPE)? {
        "tinyint" | "smallint" | "mediumint" | "int" | "bigint" => {
            let width = match small(keys::BITS)? {
                8 => IntWidth::W8,
                16 => IntWidth::W16,
                24 => IntWidth::W24,
                32 => IntWidth::W32,
                64 => IntWidth::W64,
                other => return Err(bad(format!("{other} is not an integer width"))),
            };
            ColumnType::Int {
                width,
                unsigned: flag(keys::UNSIGNED)?,
            }
        }
        "decimal" => ColumnType::Decimal {
            precision: small(keys::PRECISION)?,
            scale: small(keys::SCALE)?,
            unsigned: flag(keys::UNSIGNED)?,
        },
        "float" => ColumnType::Float,
        "double" => ColumnType::Double,
        "bit" => ColumnType::Bit {
            bits: small(keys::BITS)?,
        },
        "year" => ColumnType::Year,
        "date" => ColumnType::Date,
        "datetime" => ColumnType::DateTime {
            fsp: small(keys::FSP)?,
        },
        "timestamp" => ColumnType::Timestamp {
            fsp: small(keys::FSP)?,
        },
        "time" => ColumnType::Time {
            fsp: small(keys::FSP)?,
        },
        "char" | "binary" => ColumnType::Char {
            length: num(keys::LENGTH)?,
        },
        "varchar" | "varbinary" => ColumnType::VarChar {
            length: num(keys::LENGTH)?,
        },
        "text" | "blob" => ColumnType::Text {
            size: match get(keys::LOB_SIZE)? {
                "tiny" => LobSize::Tiny,
                "regular" => LobSize::Regular,
                "medium" => LobSize::Medium,
                "long" => LobSize::Long,
                other => return Err(bad(format!("{other} is not a TEXT/BLOB size"))),
            },
        },
        "enum" => ColumnType::Enum {
            members: parse_members(&column_type, "enum(")
                .ok_or_else(|| bad("bad ENUM type".into()))?,
        },
        "set" => ColumnType::Set {
            members: parse_members(&column_type, "set(")
                .ok_or_else(|| bad("bad SET type".into()))?,
        },
        "json" => ColumnType::Json,
        "inet4" => ColumnType::Inet4,
        "inet6" => ColumnType::Inet6,
        "uuid" => ColumnType::Uuid,
        other => return Err(bad(format!("unknown mysql.type '{other}'"))),
    };
    let generated = match meta.get(keys::GENERATED).map(String::as_str) {
        None => None,
        Some(kind) => Some(Generated {
            stored: kind == "stored",
            expression: get(keys::EXPRESSION)?.to_owned(),
        }),
    };
    Ok(ColumnDef {
        name: field.name().clone(),
        ty,
        nullable: field.is_nullable(),
        charset: meta.get(keys::CHARSET).cloned(),
        collation: meta.get(keys::COLLATION).cloned(),
        column_type,
        generated,
    })
}

#[cfg(test)]
mod tests;
