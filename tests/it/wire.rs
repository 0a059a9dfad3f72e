//! The bulk paths' own protocol connection against a real server: authentication, errors that
//! name the server and say what to do, and a reader that refuses a result whose columns do not
//! match the schema it decodes.

use reshard_mysql::MysqlError;
use reshard_mysql::reader::{BatchLimits, TableReader};
use reshard_mysql::wire::RawConn;
use reshard_testkit::TestDb;
use reshard_types::Dsn;

use crate::unused_port;

#[tokio::test(flavor = "multi_thread")]
async fn connects_and_reports_connection_problems_by_server() {
    let db = TestDb::create("wire_connect", 1).await;
    let good = Dsn::parse(&db.dsn()).unwrap();
    let port = db.server().port;
    let name = db.name().to_owned();
    tokio::task::spawn_blocking(move || {
        let mut conn = RawConn::connect(&good).unwrap();
        assert!(conn.version().contains("MariaDB"), "{}", conn.version());
        assert_eq!(conn.query_drop("DO 1").unwrap().warnings, 0);

        let wrong = Dsn::parse(&format!("mysql://reshard:not-the-password@127.0.0.1:{port}/{name}")).unwrap();
        let error = RawConn::connect(&wrong).unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, MysqlError::AccessDenied { .. }), "{message}");
        assert!(message.contains(&format!("127.0.0.1:{port}")) && !message.contains("not-the-password"), "{message}");

        let missing = Dsn::parse(&format!("mysql://reshard:reshard@127.0.0.1:{port}/no_such_db_here")).unwrap();
        assert!(matches!(RawConn::connect(&missing), Err(MysqlError::UnknownDatabase { ref database, .. }) if database == "no_such_db_here"));

        let closed = Dsn::parse(&format!("mysql://reshard:reshard@127.0.0.1:{}/x", unused_port())).unwrap();
        assert!(matches!(RawConn::connect(&closed), Err(MysqlError::ConnectionRefused { .. })));

        // A server error mid-session is the server's own, and the connection stays usable.
        let error = conn.query_drop("SELECT * FROM no_such_table").unwrap_err();
        assert!(matches!(error, MysqlError::Server { code: 1146, .. }), "{error}");
        assert_eq!(conn.query_drop("DO 2").unwrap().affected_rows, 0);
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_result_that_does_not_match_the_schema_is_refused_by_column() {
    let db = TestDb::create("wire_mismatch", 1).await;
    db.create_table("CREATE TABLE t (id INT PRIMARY KEY, v BIGINT, s VARCHAR(10))")
        .await;
    db.exec("INSERT INTO t VALUES (1, 10, 'a'), (2, NULL, 'b')")
        .await;
    let mut session = reshard_mysql::connect(&Dsn::parse(&db.dsn()).unwrap())
        .await
        .unwrap();
    let schema = reshard_mysql::discover_table(&mut session, db.name(), "t")
        .await
        .unwrap();
    let dsn = Dsn::parse(&db.dsn()).unwrap();
    tokio::task::spawn_blocking(move || {
        let mut reader = TableReader::open(&dsn, &schema, BatchLimits::default()).unwrap();
        // `v` selected as text: the decoder expects a BIGINT there and says so.
        let error = reader
            .read("SELECT id, CAST(v AS CHAR), s FROM t", &[], |_| Ok(()))
            .unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, MysqlError::Data { .. }), "{message}");
        assert!(
            message.contains("`v`") && message.contains("`t`"),
            "{message}"
        );
        // Too few columns.
        let error = reader
            .read("SELECT id, v FROM t", &[], |_| Ok(()))
            .unwrap_err();
        assert!(error.to_string().contains("2 columns"), "{error}");
        // The same reader still reads the right query.
        let mut rows = 0;
        reader
            .read(
                &format!("{} ORDER BY id", reader.select_all_sql()),
                &[],
                |batch| {
                    rows += batch.num_rows();
                    Ok(())
                },
            )
            .unwrap();
        assert_eq!(rows, 2);
    })
    .await
    .unwrap();
}
