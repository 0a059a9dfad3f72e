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
        assert!(
            run.stdout.contains(expected),
            "missing {expected}:\n{}",
            run.stdout
        );
    }
    assert!(
        run.stdout.contains("=> fit to be a source"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("=> fit to be a target"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("2 of 2 server(s) fit"),
        "{}",
        run.stdout
    );
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
    assert!(
        run.stdout
            .contains("start the server with the binary log on"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("not fit for a move") && run.stderr.contains("(log_bin)"),
        "{}",
        run.stderr
    );
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
    let as_source = reshard(&["check", "--source", &dsn]);
    as_source.expect_code(1);
    assert!(
        as_source
            .stderr
            .contains("(binlog_format, binlog_row_image)"),
        "{}",
        as_source.stderr
    );
    assert!(
        as_source.stdout.contains("SET GLOBAL binlog_format='ROW'"),
        "{}",
        as_source.stdout
    );
    assert!(
        as_source
            .stdout
            .contains("SET GLOBAL binlog_row_image='FULL'"),
        "{}",
        as_source.stdout
    );
    let as_target = reshard(&["check", "--target", &dsn]);
    as_target.expect_code(1);
    assert!(
        as_target.stderr.contains("(read_only)"),
        "{}",
        as_target.stderr
    );
    assert!(
        as_target.stdout.contains("SET GLOBAL read_only=OFF"),
        "{}",
        as_target.stdout
    );
}

#[test]
fn check_reports_an_unreachable_port_clearly() {
    let port = unused_port();
    let run = reshard(&[
        "check",
        "--source",
        &format!("mysql://reshard:Sekr1t-Pw@127.0.0.1:{port}/db"),
    ]);
    run.expect_code(1);
    assert!(
        run.all().contains(&format!("127.0.0.1:{port}")),
        "{}",
        run.all()
    );
    assert!(
        run.all()
            .contains("connection refused; is the server running"),
        "{}",
        run.all()
    );
    assert!(
        !run.all().contains("Sekr1t-Pw"),
        "password leaked:\n{}",
        run.all()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_a_wrong_password_without_showing_it() {
    let db = TestDb::create("check_wrong_pw", 1).await;
    let dsn = format!(
        "mysql://reshard:Wr0ng-Pa55word@127.0.0.1:{}/{}",
        db.server().port,
        db.name()
    );
    let run = reshard(&["check", "--source", &dsn]);
    run.expect_code(1);
    assert!(
        run.all()
            .contains("access denied on mysql://reshard:***@127.0.0.1:"),
        "{}",
        run.all()
    );
    assert!(
        run.all().contains("check the user and password"),
        "{}",
        run.all()
    );
    assert!(
        !run.all().contains("Wr0ng-Pa55word"),
        "password leaked:\n{}",
        run.all()
    );
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
        run.expect_code(2);
        assert!(
            run.stderr.contains("source #1: malformed DSN"),
            "{dsn}: {}",
            run.stderr
        );
        assert!(run.stderr.contains(reason), "{dsn}: {}", run.stderr);
        assert!(
            run.stderr
                .contains("expected mysql://user:password@host:port/database"),
            "{}",
            run.stderr
        );
        assert!(
            !run.all().contains("Hidden-Pw1"),
            "password leaked:\n{}",
            run.all()
        );
        assert_eq!(run.stderr.lines().count(), 1, "one line:\n{}", run.stderr);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_reports_every_server_even_when_one_is_unreachable() {
    let source = TestDb::create("check_partial", 2).await;
    let port = unused_port();
    let run = reshard(&[
        "check",
        "--source",
        &source.dsn(),
        "--target",
        &format!("mysql://reshard:x@127.0.0.1:{port}/t"),
    ]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("=> fit to be a source"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("=> NOT fit to be a target"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("target #1") && run.stderr.contains("unreachable"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn check_refuses_the_same_database_as_source_and_target() {
    let db = TestDb::create("check_same", 4).await;
    let run = reshard(&["check", "--source", &db.dsn(), "--target", &db.dsn()]);
    run.expect_code(1);
    assert!(
        run.stdout.contains("same server and database as source #1"),
        "{}",
        run.stdout
    );
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
    let run = reshard(&["--help"]);
    run.expect_code(0);
    assert!(
        run.stdout.contains("check")
            && run
                .stdout
                .contains("mysql://user:password@host:port/database"),
        "{}",
        run.stdout
    );
    reshard(&["check"]).expect_code(2);
}
