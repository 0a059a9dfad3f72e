//! Facts about the servers' wire behaviour that reshard's design relies on. If one of these
//! tests fails after a server upgrade, revisit the decision its doc names.

use mysql_async::prelude::Queryable;
use reshard_testkit::TestDb;

/// The text protocol sends FLOAT columns rounded to 6 significant digits, so a reader that
/// parses text loses FLOAT values (16777216 arrives as "16777200"). This is why the columnar
/// reader must read FLOAT through the binary protocol (or as `CAST(col AS DOUBLE)`), and why
/// the oracle renders FLOAT through DOUBLE.
#[tokio::test(flavor = "multi_thread")]
async fn text_protocol_rounds_float_columns_to_six_digits() {
    let db = TestDb::create("proto_float", 2).await;
    db.exec("CREATE TABLE f (id INT PRIMARY KEY, f FLOAT); INSERT INTO f VALUES (1, 16777216), (2, 123456792)").await;
    let mut conn = db.conn().await;
    let text: Vec<String> = conn
        .query("SELECT CAST(f AS CHAR) FROM f ORDER BY id")
        .await
        .unwrap();
    assert_eq!(text, ["16777200", "123457000"], "the text form is rounded");
    let plain: Vec<Vec<u8>> = conn.query("SELECT f FROM f ORDER BY id").await.unwrap();
    assert_eq!(
        plain,
        [b"16777200".to_vec(), b"123457000".to_vec()],
        "a plain SELECT over the text protocol is too"
    );
    let binary: Vec<f32> = conn.exec("SELECT f FROM f ORDER BY id", ()).await.unwrap();
    assert_eq!(
        binary,
        [16_777_216.0, 123_456_792.0],
        "the binary protocol is exact"
    );
    conn.disconnect().await.unwrap();
}
