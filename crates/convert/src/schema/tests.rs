use super::*;

use crate::test_support::{col, every_type};

#[test]
fn every_type_maps_to_its_exact_arrow_type_and_back() {
    for (column, expected) in every_type() {
        let f = field(&column);
        assert_eq!(f.data_type(), &expected, "{column:?}");
        assert_eq!(
            column_from_field(&f).unwrap(),
            column,
            "round trip of {column:?}"
        );
    }
}

/// The test above covers every variant: an exhaustive match (no `_` arm) stops compiling when a
/// variant is added, and the count makes sure each arm is met by a sample.
#[test]
fn every_variant_is_covered() {
    let mut seen = [false; 19];
    for (column, _) in every_type() {
        let i = match column.ty {
            ColumnType::Int { .. } => 0,
            ColumnType::Decimal { .. } => 1,
            ColumnType::Float => 2,
            ColumnType::Double => 3,
            ColumnType::Bit { .. } => 4,
            ColumnType::Year => 5,
            ColumnType::Date => 6,
            ColumnType::DateTime { .. } => 7,
            ColumnType::Timestamp { .. } => 8,
            ColumnType::Time { .. } => 9,
            ColumnType::Char { .. } => 10,
            ColumnType::VarChar { .. } => 11,
            ColumnType::Text { .. } => 12,
            ColumnType::Enum { .. } => 13,
            ColumnType::Set { .. } => 14,
            ColumnType::Json => 15,
            ColumnType::Inet4 => 16,
            ColumnType::Inet6 => 17,
            ColumnType::Uuid => 18,
        };
        seen[i] = true;
    }
    assert!(
        seen.iter().all(|&s| s),
        "variants without a sample: {seen:?}"
    );
}

#[test]
fn generated_columns_and_nullability_survive() {
    let mut column = col(
        ColumnType::Int {
            width: IntWidth::W64,
            unsigned: false,
        },
        "bigint(20)",
        None,
    );
    column.nullable = false;
    column.generated = Some(Generated {
        stored: true,
        expression: "`a` * 2".into(),
    });
    assert_eq!(column_from_field(&field(&column)).unwrap(), column);
}

#[test]
fn fields_without_mysql_metadata_are_refused() {
    let plain = Field::new("x", DataType::Int64, false);
    let err = column_from_field(&plain).unwrap_err();
    assert!(
        err.to_string().contains("column `x`") && err.to_string().contains("mysql.column_type"),
        "{err}"
    );
}

#[test]
fn the_schema_names_table_and_key() {
    let table = TableSchema {
        database: "shop".into(),
        name: "orders".into(),
        columns: vec![
            col(
                ColumnType::Int {
                    width: IntWidth::W64,
                    unsigned: true,
                },
                "bigint(20) unsigned",
                None,
            ),
            col(
                ColumnType::VarChar { length: 5 },
                "varchar(5)",
                Some("utf8mb4"),
            ),
        ],
        primary_key: vec![0],
    };
    let schema = arrow_schema(&table);
    assert_eq!(schema.fields().len(), 2);
    assert_eq!(schema.metadata()["mysql.table"], "orders");
    assert_eq!(schema.metadata()["mysql.primary_key"], "c");
}
