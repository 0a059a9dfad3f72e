//! Schema discovery on a real server: every supported type, refusals by name.

use reshard_mysql::{MysqlError, connect, discover_table};
use reshard_testkit::{TestDb, torture};
use reshard_types::{ColumnType as T, Dsn, IntWidth, LobSize};

async fn session(db: &TestDb) -> reshard_mysql::Session {
    connect(&Dsn::parse(&db.dsn()).unwrap()).await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn every_column_type_of_the_torture_table_is_discovered_exactly() {
    let db = TestDb::create("discover_torture", 1).await;
    db.create_table(&torture::ddl("torture")).await;
    let schema = discover_table(&mut session(&db).await, db.name(), "torture")
        .await
        .unwrap();
    let ty = |name: &str| {
        schema
            .column(name)
            .unwrap_or_else(|| panic!("no column {name}"))
            .ty
            .clone()
    };
    let int = |width, unsigned| T::Int { width, unsigned };
    assert_eq!(ty("i8"), int(IntWidth::W8, false));
    assert_eq!(ty("u8"), int(IntWidth::W8, true));
    assert_eq!(ty("i24"), int(IntWidth::W24, false));
    assert_eq!(ty("u64"), int(IntWidth::W64, true));
    assert_eq!(
        ty("dec_max"),
        T::Decimal {
            precision: 65,
            scale: 30,
            unsigned: false
        }
    );
    assert_eq!(
        ty("dec_unsigned"),
        T::Decimal {
            precision: 5,
            scale: 1,
            unsigned: true
        }
    );
    assert_eq!(ty("f"), T::Float);
    assert_eq!(ty("d"), T::Double);
    assert_eq!(ty("bit1"), T::Bit { bits: 1 });
    assert_eq!(ty("bit64"), T::Bit { bits: 64 });
    assert_eq!(ty("y"), T::Year);
    assert_eq!(ty("dt_date"), T::Date);
    assert_eq!(ty("dt3"), T::DateTime { fsp: 3 });
    assert_eq!(ty("ts0"), T::Timestamp { fsp: 0 });
    assert_eq!(ty("t6"), T::Time { fsp: 6 });
    assert_eq!(ty("c_utf8mb4"), T::Char { length: 10 });
    assert_eq!(ty("bin16"), T::Char { length: 16 });
    assert_eq!(ty("vbin"), T::VarChar { length: 300 });
    assert_eq!(
        ty("ttxt"),
        T::Text {
            size: LobSize::Tiny
        }
    );
    assert_eq!(
        ty("lblob"),
        T::Text {
            size: LobSize::Long
        }
    );
    assert_eq!(
        ty("e"),
        T::Enum {
            members: vec!["small".into(), "it's".into(), r"b\s".into(), String::new()]
        }
    );
    assert_eq!(
        ty("s"),
        T::Set {
            members: vec!["a".into(), "b".into(), "c d".into()]
        }
    );
    assert_eq!(ty("j"), T::Json);
    assert_eq!(ty("ip4"), T::Inet4);
    assert_eq!(ty("ip6"), T::Inet6);
    assert_eq!(ty("uid"), T::Uuid);

    let col = |name: &str| schema.column(name).unwrap();
    assert_eq!(col("vc_latin1").charset.as_deref(), Some("latin1"));
    assert_eq!(col("vc_utf8mb3").charset.as_deref(), Some("utf8mb3"));
    assert_eq!(
        col("vc_utf8mb4").collation.as_deref(),
        Some("utf8mb4_unicode_ci")
    );
    assert!(col("lblob").is_binary() && col("bin16").is_binary() && !col("txt").is_binary());
    assert!(!col("id").nullable && col("i8").nullable);
    assert_eq!(col("u64").column_type, "bigint(20) unsigned");
    assert!(
        col("gen_v")
            .generated
            .as_ref()
            .is_some_and(|g| !g.stored && g.expression.contains("i32"))
    );
    assert!(col("gen_s").generated.as_ref().is_some_and(|g| g.stored));
    assert!(col("i64").generated.is_none());
    assert_eq!(schema.primary_key, [0]);

    // The Arrow schema of the real table keeps every column exactly: each field rebuilds it.
    let arrow = reshard_convert::schema::arrow_schema(&schema);
    for (field, column) in arrow.fields().iter().zip(&schema.columns) {
        assert_eq!(
            &reshard_convert::schema::column_from_field(field).unwrap(),
            column
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn composite_primary_keys_keep_key_order() {
    let db = TestDb::create("discover_pk", 2).await;
    db.exec("CREATE TABLE t (a INT, b VARCHAR(10), c INT, PRIMARY KEY (c, a))")
        .await;
    let schema = discover_table(&mut session(&db).await, db.name(), "t")
        .await
        .unwrap();
    assert_eq!(schema.primary_key, [2, 0]);
    db.exec("CREATE TABLE nokey (a INT)").await;
    let schema = discover_table(&mut session(&db).await, db.name(), "nokey")
        .await
        .unwrap();
    assert!(schema.primary_key.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn unsupported_types_and_missing_tables_are_refused_by_name() {
    let db = TestDb::create("discover_refuse", 3).await;
    db.exec("CREATE TABLE geo (id INT PRIMARY KEY, shape GEOMETRY NULL)")
        .await;
    let err = discover_table(&mut session(&db).await, db.name(), "geo")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, MysqlError::UnsupportedColumn { column, .. } if column == "shape"),
        "{err}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!("`{}`.`geo`", db.name()))
            && text.contains("column `shape` of type geometry"),
        "{text}"
    );
    let err = discover_table(&mut session(&db).await, db.name(), "nope")
        .await
        .unwrap_err();
    assert!(matches!(err, MysqlError::TableNotFound { .. }), "{err}");
}
