//! Schema discovery: a table's columns and primary key, from `information_schema`.
//!
//! Each column's `DATA_TYPE` picks one [`ColumnType`] variant; the rest of its definition comes
//! from the other `COLUMNS` fields (`COLUMN_TYPE` for signedness and ENUM/SET members, precision
//! and scale, fractional-second precision, length, character set, collation, generation). A
//! `DATA_TYPE` reshard does not support stops discovery with an error naming table, column and
//! type: there is no default mapping to fall back on.
//!
//! MariaDB's JSON is `LONGTEXT` with a column-level `CHECK (json_valid(col))`; it is recognised
//! from `information_schema.CHECK_CONSTRAINTS` and described as [`ColumnType::Json`], as MySQL's is.

use mysql_async::prelude::Queryable;
use reshard_types::{
    ColumnDef, ColumnType, Generated, IntWidth, LobSize, TableSchema, parse_members,
};

use crate::error::MysqlError;
use crate::session::Session;

/// `ER_UNKNOWN_TABLE`: what a server without `information_schema.CHECK_CONSTRAINTS` answers.
const ER_UNKNOWN_TABLE: u16 = 1109;

/// One row of `information_schema.COLUMNS`, as read.
type ColumnRow = (
    String,         // COLUMN_NAME
    String,         // DATA_TYPE
    String,         // COLUMN_TYPE
    String,         // IS_NULLABLE
    Option<String>, // CHARACTER_SET_NAME
    Option<String>, // COLLATION_NAME
    Option<u64>,    // NUMERIC_PRECISION
    Option<u64>,    // NUMERIC_SCALE
    Option<u64>,    // DATETIME_PRECISION
    Option<u64>,    // CHARACTER_MAXIMUM_LENGTH
    String,         // EXTRA
    Option<String>, // GENERATION_EXPRESSION
);

/// Reads the schema of `database.table`.
pub async fn discover_table(
    session: &mut Session,
    database: &str,
    table: &str,
) -> Result<TableSchema, MysqlError> {
    let rows: Vec<ColumnRow> = session
        .conn()
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, IS_NULLABLE, CHARACTER_SET_NAME, COLLATION_NAME, \
                    NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION, CHARACTER_MAXIMUM_LENGTH, EXTRA, \
                    GENERATION_EXPRESSION \
             FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (database, table),
        )
        .await
        .map_err(|e| session.error("reading column definitions", e))?;
    if rows.is_empty() {
        return Err(MysqlError::TableNotFound {
            server: session.dsn().to_string(),
            table: qualified(database, table),
        });
    }
    let json_columns: Vec<String> = match session
        .conn()
        .exec(
            "SELECT CONSTRAINT_NAME FROM information_schema.CHECK_CONSTRAINTS \
             WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ? AND CHECK_CLAUSE = CONCAT('json_valid(`', CONSTRAINT_NAME, '`)')",
            (database, table),
        )
        .await
    {
        Ok(names) => names,
        // MySQL before 8.0.16 has no CHECK_CONSTRAINTS, and no MariaDB-style JSON either; any
        // other error is an error.
        Err(mysql_async::Error::Server(e)) if e.code == ER_UNKNOWN_TABLE => Vec::new(),
        Err(e) => return Err(session.error("reading check constraints", e)),
    };
    let key_names: Vec<String> = session
        .conn()
        .exec(
            "SELECT COLUMN_NAME FROM information_schema.STATISTICS \
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX",
            (database, table),
        )
        .await
        .map_err(|e| session.error("reading the primary key", e))?;

    let columns = rows
        .into_iter()
        .map(|row| column_def(row, &json_columns))
        .collect::<Result<Vec<_>, Unsupported>>()
        .map_err(|u| MysqlError::UnsupportedColumn {
            server: session.dsn().to_string(),
            table: qualified(database, table),
            column: u.column,
            column_type: u.column_type,
            why: u.why,
        })?;
    let primary_key = key_names
        .iter()
        .map(|k| {
            columns
                .iter()
                .position(|c| &c.name == k)
                .expect("a key column is a column")
        })
        .collect();
    Ok(TableSchema {
        database: database.to_owned(),
        name: table.to_owned(),
        columns,
        primary_key,
    })
}

fn qualified(database: &str, table: &str) -> String {
    format!("`{database}`.`{table}`")
}

/// A column reshard cannot carry exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Unsupported {
    column: String,
    column_type: String,
    why: &'static str,
}

fn column_def(row: ColumnRow, json_columns: &[String]) -> Result<ColumnDef, Unsupported> {
    let (
        name,
        data_type,
        column_type,
        nullable,
        charset,
        collation,
        precision,
        scale,
        fsp,
        length,
        extra,
        expression,
    ) = row;
    let unsupported = |why| Unsupported {
        column: name.clone(),
        column_type: column_type.clone(),
        why,
    };
    let unsigned = column_type.contains("unsigned");
    let small =
        |v: Option<u64>, max: u64| v.filter(|&v| v <= max).and_then(|v| u8::try_from(v).ok());
    let int = |width| Ok(ColumnType::Int { width, unsigned });
    let fsp_of = |fsp| {
        small(fsp, 6).ok_or_else(|| unsupported("its fractional-second precision is not 0..6"))
    };
    let len = || {
        length
            .and_then(|l| u32::try_from(l).ok())
            .ok_or_else(|| unsupported("its length is unknown"))
    };
    let ty = match data_type.to_ascii_lowercase().as_str() {
        "tinyint" => int(IntWidth::W8),
        "smallint" => int(IntWidth::W16),
        "mediumint" => int(IntWidth::W24),
        "int" | "integer" => int(IntWidth::W32),
        "bigint" => int(IntWidth::W64),
        "decimal" | "numeric" => match (small(precision, 65), small(scale, 30)) {
            (Some(precision), Some(scale)) if precision >= 1 => Ok(ColumnType::Decimal {
                precision,
                scale,
                unsigned,
            }),
            _ => Err(unsupported(
                "its precision or scale is out of DECIMAL's range",
            )),
        },
        "float" => Ok(ColumnType::Float),
        "double" | "real" | "double precision" => Ok(ColumnType::Double),
        "bit" => match small(precision, 64) {
            Some(bits) if bits >= 1 => Ok(ColumnType::Bit { bits }),
            _ => Err(unsupported("its width is not 1..64")),
        },
        "year" => Ok(ColumnType::Year),
        "date" => Ok(ColumnType::Date),
        "datetime" => fsp_of(fsp).map(|fsp| ColumnType::DateTime { fsp }),
        "timestamp" => fsp_of(fsp).map(|fsp| ColumnType::Timestamp { fsp }),
        "time" => fsp_of(fsp).map(|fsp| ColumnType::Time { fsp }),
        "char" | "binary" => len().map(|length| ColumnType::Char { length }),
        "varchar" | "varbinary" => len().map(|length| ColumnType::VarChar { length }),
        "tinytext" | "tinyblob" => Ok(ColumnType::Text {
            size: LobSize::Tiny,
        }),
        "text" | "blob" => Ok(ColumnType::Text {
            size: LobSize::Regular,
        }),
        "mediumtext" | "mediumblob" => Ok(ColumnType::Text {
            size: LobSize::Medium,
        }),
        "longtext" | "longblob" if json_columns.contains(&name) => Ok(ColumnType::Json),
        "longtext" | "longblob" => Ok(ColumnType::Text {
            size: LobSize::Long,
        }),
        "enum" => parse_members(&column_type, "enum(")
            .map(|members| ColumnType::Enum { members })
            .ok_or_else(|| unsupported("its members cannot be read")),
        "set" => match parse_members(&column_type, "set(") {
            Some(members) if members.len() <= 64 => Ok(ColumnType::Set { members }),
            _ => Err(unsupported("its members cannot be read")),
        },
        "json" => Ok(ColumnType::Json),
        "inet4" => Ok(ColumnType::Inet4),
        "inet6" => Ok(ColumnType::Inet6),
        "uuid" => Ok(ColumnType::Uuid),
        _ => Err(unsupported("reshard has no exact mapping for this type")),
    }?;
    let is_bytes = matches!(
        data_type.as_str(),
        "binary" | "varbinary" | "tinyblob" | "blob" | "mediumblob" | "longblob"
    );
    let charset = if is_bytes {
        Some("binary".to_owned())
    } else {
        charset
    };
    let generated = extra
        .to_ascii_uppercase()
        .contains("GENERATED")
        .then(|| Generated {
            stored: extra.to_ascii_uppercase().contains("STORED"),
            expression: expression.unwrap_or_default(),
        });
    Ok(ColumnDef {
        name,
        ty,
        nullable: nullable == "YES",
        charset,
        collation,
        column_type,
        generated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(data_type: &str, column_type: &str) -> ColumnRow {
        (
            "c".into(),
            data_type.into(),
            column_type.into(),
            "YES".into(),
            None,
            None,
            Some(10),
            Some(2),
            Some(6),
            Some(4),
            String::new(),
            None,
        )
    }

    #[test]
    fn unknown_types_are_refused_by_name() {
        for (data_type, column_type) in [
            ("geometry", "geometry"),
            ("point", "point"),
            ("vector", "vector(3)"),
        ] {
            let err = column_def(row(data_type, column_type), &[]).unwrap_err();
            assert_eq!(err.column, "c");
            assert_eq!(err.column_type, column_type);
        }
    }

    #[test]
    fn binary_strings_get_the_binary_charset() {
        let def = column_def(row("varbinary", "varbinary(4)"), &[]).unwrap();
        assert!(def.is_binary());
        assert_eq!(def.ty, ColumnType::VarChar { length: 4 });
    }

    #[test]
    fn mariadb_json_is_recognised_by_its_check() {
        let def = column_def(row("longtext", "longtext"), &["c".to_owned()]).unwrap();
        assert_eq!(def.ty, ColumnType::Json);
        let def = column_def(row("longtext", "longtext"), &[]).unwrap();
        assert_eq!(
            def.ty,
            ColumnType::Text {
                size: LobSize::Long
            }
        );
    }
}
