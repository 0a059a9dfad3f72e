//! `reshard check` against good servers, misconfigured scratch servers, and bad input.

use reshard_testkit::{ScratchServer, TestDb};

use super::{reshard, unused_port};

#[tokio::test(flavor = "multi_thread")]
async fn check_passes_on_well_configured_servers() {
    let source = TestDb::create("check_good_src", 1).await;
    let target = TestDb::create("check_good_dst", 2).await;
    let run = reshard(&[
        "check",
        "--source",
        &source.dsn(),
        "--target",
        &target.dsn(),
    ]);
    run.expect_code(0);
    for expected in [
        "MariaDB",
        "log_bin",
        "binlog_format",
        "ROW",
        "binlog_row_image",
        "FULL",
        "server_id",
        "local_infile",
    ] {
        run.stdout_has(expected);
    }
    run.stdout_has("=> fit to be a source")
        .stdout_has("=> fit to be a target")
        .stdout_has("2 of 2 server(s) fit");
    assert!(!run.stdout.contains("FAIL"), "{}", run.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn check_json_reports_the_facts_of_each_server() {
    let source = TestDb::create("check_json", 3).await;
    let run = reshard(&["check", "--json", "--source", &source.dsn()]);
    run.expect_code(0);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).expect("JSON on stdout");
    assert_eq!(report["fit"], true);
    let server = &report["servers"][0];
    assert_eq!(server["role"], "source");
    assert_eq!(server["facts"]["flavor"], "MariaDB");
    assert_eq!(server["facts"]["log_bin"], true);
    assert_eq!(server["facts"]["binlog_format"], "ROW");
    assert_eq!(server["facts"]["binlog_row_image"], "FULL");
    assert_eq!(
        server["facts"]["server_id"], 3,
        "instance 3 has server_id 3"
    );
    assert_eq!(server["facts"]["port"], source.server().port);
    assert!(
        server["findings"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["verdict"] == "ok"),
        "{server}"
    );
}

#[test]
fn check_fails_on_a_source_without_binary_log_and_names_the_setting() {
    let scratch = ScratchServer::start(&["--skip-log-bin"]);
    let dsn = scratch.dsn("");
    let run = reshard(&["check", "--source", &dsn]);
    run.expect_code(1);
    let line = run
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("log_bin"))
        .expect("a log_bin line");
    assert!(line.contains("OFF") && line.contains("FAIL"), "{line}");
    run.stdout_has("start the server with the binary log on");
    run.stderr_has("not fit for a move").stderr_has("(log_bin)");
    // A target needs no binary log: the same server is fit for that role.
    reshard(&["check", "--target", &dsn]).expect_code(0);
}

#[test]
fn check_fails_on_statement_binlogs_minimal_images_and_read_only_targets() {
    let scratch = ScratchServer::start(&[
        "--binlog-format=STATEMENT",
        "--binlog-row-image=MINIMAL",
        "--read-only",
    ]);
    let dsn = scratch.dsn("");
    reshard(&["check", "--source", &dsn])
        .expect_code(1)
        .stderr_has("(binlog_format, binlog_row_image)")
        .stdout_has("SET GLOBAL binlog_format='ROW'")
        .stdout_has("SET GLOBAL binlog_row_image='FULL'");
    reshard(&["check", "--target", &dsn])
        .expect_code(1)
        .stderr_has("(read_only)")
        .stdout_has("SET GLOBAL read_only=OFF");
}

#[test]
fn check_reports_an_unreachable_port_clearly() {
    let port = unused_port();
    let run = reshard(&[
        "check",
        "--source",
        &format!("mysql://reshard:Sekr1t-Pw@127.0.0.1:{port}/db"),
    ]);
    run.expect_code(1)
        .stderr_has(&format!(
            "source #1: cannot connect to mysql://reshard:***@127.0.0.1:{port}/db"
        ))
        .stderr_has("connection refused; is the server running")
        .never_shows("Sekr1t-Pw");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_a_wrong_password_without_showing_it() {
    let db = TestDb::create("check_wrong_pw", 1).await;
    let dsn = format!(
        "mysql://reshard:Wr0ng-Pa55word@127.0.0.1:{}/{}",
        db.server().port,
        db.name()
    );
    reshard(&["check", "--source", &dsn])
        .expect_code(1)
        .stderr_has("source #1: access denied on mysql://reshard:***@127.0.0.1:")
        .stderr_has("check the user and password")
        .never_shows("Wr0ng-Pa55word");
}

#[test]
fn check_refuses_malformed_dsns_before_connecting() {
    for (dsn, reason) in [
        ("127.0.0.1:3306", "it is not a URL"),
        (
            "postgres://u:Hidden-Pw1@h/db",
            "unsupported scheme 'postgres'",
        ),
        ("mysql://u:Hidden-Pw1@127.0.0.1:port/db", "invalid port"),
        (
            "mysql://u:Hidden-Pw1@127.0.0.1:3306/db?ssl=true",
            "options after '?'",
        ),
    ] {
        let run = reshard(&["check", "--source", dsn]);
        run.expect_code(2)
            .stderr_has("source #1: malformed DSN")
            .stderr_has(reason)
            .stderr_has("expected mysql://user:password@host:port/database")
            .never_shows("Hidden-Pw1");
        assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_every_server_even_when_one_is_unreachable() {
    let source = TestDb::create("check_partial", 2).await;
    let port = unused_port();
    let target = format!("mysql://reshard:x@127.0.0.1:{port}/t");
    reshard(&["check", "--source", &source.dsn(), "--target", &target])
        .expect_code(1)
        .stdout_has("=> fit to be a source")
        .stdout_has("=> NOT fit to be a target")
        .stderr_has("1 of 2 server(s) not fit")
        .stderr_has("target #1: cannot connect to")
        .stderr_has("connection refused");
}

#[tokio::test(flavor = "multi_thread")]
async fn check_refuses_the_same_database_as_source_and_target() {
    let db = TestDb::create("check_same", 4).await;
    reshard(&["check", "--source", &db.dsn(), "--target", &db.dsn()])
        .expect_code(1)
        .stdout_has("same server and database as source #1")
        .stderr_has("(identity)");
    // Two databases of one server are a legitimate move.
    let other = TestDb::create("check_same_other", 4).await;
    reshard(&["check", "--source", &db.dsn(), "--target", &other.dsn()]).expect_code(0);
}

#[test]
fn version_and_help() {
    let run = reshard(&["--version"]);
    run.expect_code(0);
    assert_eq!(
        run.stdout.trim(),
        format!("reshard {}", env!("CARGO_PKG_VERSION"))
    );
    reshard(&["--help"])
        .expect_code(0)
        .stdout_has("check")
        .stdout_has("mysql://user:password@host:port/database");
    reshard(&["check"]).expect_code(2);
}

/// A user short of grants: `reshard check` names each missing privilege with the `GRANT` that
/// adds it (cutover's only warn), and a copy into a target where the user may not insert is
/// refused before anything is written.
#[tokio::test(flavor = "multi_thread")]
async fn missing_grants_are_named_with_the_statements_that_add_them() {
    let source = TestDb::create("check_grants_src", 1).await;
    let target = TestDb::create("check_grants_dst", 1).await;
    source
        .exec("CREATE TABLE t (id INT NOT NULL PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    let user = format!("lean_{}", std::process::id());
    source
        .exec(&format!(
            "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY 'pw';
             GRANT SELECT ON `{}`.* TO '{user}'@'%';
             GRANT SELECT, CREATE ON `{}`.* TO '{user}'@'%';",
            source.name(),
            target.name()
        ))
        .await;
    let dsn = |db: &TestDb| {
        format!(
            "mysql://{user}:pw@127.0.0.1:{}/{}",
            db.server().port,
            db.name()
        )
    };
    let run = reshard(&[
        "check",
        "--source",
        &dsn(&source),
        "--target",
        &dsn(&target),
    ]);
    let copy = reshard(&["copy", "--source", &dsn(&source), "--target", &dsn(&target)]);
    let tables = target.tables().await;
    source.exec(&format!("DROP USER '{user}'@'%'")).await;
    run.expect_code(1)
        .stdout_has("privileges")
        .stdout_has(&format!(
            "GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'%'"
        ))
        .stdout_has(&format!(
            "GRANT INSERT, UPDATE, DELETE, ALTER ON `{}`.* TO '{user}'@'%'",
            target.name()
        ))
        .stdout_has("needed at cutover or with --force: LOCK TABLES");
    copy.expect_code(1)
        .stderr_has("nothing was written")
        .stderr_has("INSERT (loading rows)");
    assert!(tables.is_empty(), "the copy created {tables:?}");
}

/// `--server-id` is checked against each source's own id: a move under it would be refused.
#[tokio::test(flavor = "multi_thread")]
async fn a_server_id_taken_by_the_source_is_refused_by_check() {
    let source = TestDb::create("check_server_id", 1).await;
    let own = source.query_column("SELECT @@server_id").await[0]
        .clone()
        .expect("the server's id");
    reshard(&["check", "--source", &source.dsn(), "--server-id", &own])
        .expect_code(1)
        .stdout_has("--server-id")
        .stdout_has("is the source's own server_id");
    reshard(&[
        "check",
        "--source",
        &source.dsn(),
        "--server-id",
        "1999999999",
    ])
    .expect_code(0);
}
