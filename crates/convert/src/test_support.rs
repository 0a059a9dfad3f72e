//! Test fixtures shared by the crate's unit tests.

use arrow_schema::{DataType, TimeUnit};
use reshard_types::{ColumnDef, ColumnType, IntWidth, LobSize};

pub(crate) fn col(ty: ColumnType, column_type: &str, charset: Option<&str>) -> ColumnDef {
    ColumnDef {
        name: "c".into(),
        ty,
        nullable: true,
        charset: charset.map(str::to_owned),
        collation: charset.map(|c| format!("{c}_bin")),
        column_type: column_type.into(),
        generated: None,
    }
}

/// One column of every type, with the Arrow type it must map to. A `ColumnType` variant missing
/// here fails `every_variant_is_covered`.
pub(crate) fn every_type() -> Vec<(ColumnDef, DataType)> {
    use ColumnType as T;
    use DataType as A;
    let int = |width, unsigned| T::Int { width, unsigned };
    vec![
        (col(int(IntWidth::W8, false), "tinyint(4)", None), A::Int8),
        (
            col(int(IntWidth::W8, true), "tinyint(3) unsigned", None),
            A::UInt8,
        ),
        (
            col(int(IntWidth::W16, false), "smallint(6)", None),
            A::Int16,
        ),
        (
            col(int(IntWidth::W16, true), "smallint(5) unsigned", None),
            A::UInt16,
        ),
        (
            col(int(IntWidth::W24, false), "mediumint(9)", None),
            A::Int32,
        ),
        (
            col(int(IntWidth::W24, true), "mediumint(8) unsigned", None),
            A::UInt32,
        ),
        (col(int(IntWidth::W32, false), "int(11)", None), A::Int32),
        (
            col(int(IntWidth::W32, true), "int(10) unsigned", None),
            A::UInt32,
        ),
        (col(int(IntWidth::W64, false), "bigint(20)", None), A::Int64),
        (
            col(int(IntWidth::W64, true), "bigint(20) unsigned", None),
            A::UInt64,
        ),
        (
            col(
                T::Decimal {
                    precision: 10,
                    scale: 2,
                    unsigned: false,
                },
                "decimal(10,2)",
                None,
            ),
            A::Decimal128(10, 2),
        ),
        (
            col(
                T::Decimal {
                    precision: 38,
                    scale: 0,
                    unsigned: true,
                },
                "decimal(38,0) unsigned",
                None,
            ),
            A::Decimal128(38, 0),
        ),
        (
            col(
                T::Decimal {
                    precision: 39,
                    scale: 30,
                    unsigned: false,
                },
                "decimal(39,30)",
                None,
            ),
            A::Decimal256(39, 30),
        ),
        (
            col(
                T::Decimal {
                    precision: 65,
                    scale: 30,
                    unsigned: false,
                },
                "decimal(65,30)",
                None,
            ),
            A::Decimal256(65, 30),
        ),
        (col(T::Float, "float", None), A::Float32),
        (col(T::Double, "double", None), A::Float64),
        (col(T::Bit { bits: 1 }, "bit(1)", None), A::UInt64),
        (col(T::Bit { bits: 64 }, "bit(64)", None), A::UInt64),
        (col(T::Year, "year(4)", None), A::UInt16),
        (col(T::Date, "date", None), A::Int32),
        (col(T::DateTime { fsp: 0 }, "datetime", None), A::Int64),
        (col(T::DateTime { fsp: 6 }, "datetime(6)", None), A::Int64),
        (
            col(T::Timestamp { fsp: 3 }, "timestamp(3)", None),
            A::Timestamp(TimeUnit::Microsecond, Some("+00:00".into())),
        ),
        (
            col(T::Time { fsp: 6 }, "time(6)", None),
            A::Duration(TimeUnit::Microsecond),
        ),
        (
            col(T::Char { length: 10 }, "char(10)", Some("utf8mb4")),
            A::Utf8,
        ),
        (
            col(T::Char { length: 16 }, "binary(16)", Some("binary")),
            A::Binary,
        ),
        (
            col(T::VarChar { length: 300 }, "varchar(300)", Some("utf8mb3")),
            A::Utf8,
        ),
        (
            col(T::VarChar { length: 50 }, "varchar(50)", Some("latin1")),
            A::Binary,
        ),
        (
            col(T::VarChar { length: 300 }, "varbinary(300)", Some("binary")),
            A::Binary,
        ),
        (
            col(
                T::Text {
                    size: LobSize::Tiny,
                },
                "tinytext",
                Some("ascii"),
            ),
            A::Utf8,
        ),
        (
            col(
                T::Text {
                    size: LobSize::Regular,
                },
                "text",
                Some("utf8mb4"),
            ),
            A::Utf8,
        ),
        (
            col(
                T::Text {
                    size: LobSize::Medium,
                },
                "mediumtext",
                Some("latin1"),
            ),
            A::Binary,
        ),
        (
            col(
                T::Text {
                    size: LobSize::Long,
                },
                "longblob",
                Some("binary"),
            ),
            A::Binary,
        ),
        (
            col(
                T::Enum {
                    members: vec!["a".into(), "it's".into()],
                },
                "enum('a','it''s')",
                Some("utf8mb4"),
            ),
            A::Utf8,
        ),
        (
            col(
                T::Enum {
                    members: vec!["x".into()],
                },
                "enum('x')",
                Some("latin1"),
            ),
            A::Binary,
        ),
        (
            col(
                T::Set {
                    members: vec!["a".into(), "b c".into()],
                },
                "set('a','b c')",
                Some("utf8mb4"),
            ),
            A::Utf8,
        ),
        (col(T::Json, "longtext", Some("utf8mb4")), A::Utf8),
        (col(T::Inet4, "inet4", None), A::Utf8),
        (col(T::Inet6, "inet6", None), A::Utf8),
        (col(T::Uuid, "uuid", None), A::Utf8),
    ]
}
