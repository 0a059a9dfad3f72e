//! Faults and signals as an operator meets them: standard error closed or full, Ctrl-C or SIGTERM
//! in the middle of a copy. The process must neither hang nor panic, must exit with the status
//! the README documents, and must report what the targets hold (checked by the oracle).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reshard_testkit::{TestDb, assert_same};

use crate::Run;
use crate::copy::pair;

/// Runs the binary with `args`, standard error going to `stderr`, and waits up to `limit`.
fn run_with_stderr(args: &[String], stderr: Stdio, limit: Duration) -> (Option<i32>, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_reshard"))
        .args(args)
        .env("RUST_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("starting reshard");
    // A closed pipe: the reading end goes away at once.
    drop(child.stderr.take());
    let deadline = Instant::now() + limit;
    while child.try_wait().expect("polling reshard").is_none() {
        if Instant::now() > deadline {
            child.kill().ok();
            panic!("reshard {args:?} did not exit within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().expect("reshard output");
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// The rows of `t` on `db`, or `None` while the table does not exist.
pub(crate) async fn rows_of_t(db: &TestDb) -> Option<u64> {
    if !db.tables().await.iter().any(|t| t == "t") {
        return None;
    }
    db.query_column("SELECT COUNT(*) FROM t").await[0]
        .as_deref()
        .and_then(|n| n.parse().ok())
}

/// Waits (up to 60 s) until the rows of `t` on `db` satisfy `done`.
async fn until_rows(db: &TestDb, what: &str, done: impl Fn(Option<u64>) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !done(rows_of_t(db).await) {
        assert!(Instant::now() < deadline, "{what} within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Sends SIGTERM to process `pid`.
fn sigterm(pid: u32) {
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .expect("running kill");
    assert!(status.success(), "kill -TERM {pid}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_closed_or_full_standard_error_neither_hangs_nor_panics() {
    let (source, target) = pair("faults_stderr").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20)); INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_20000")
        .await;
    for (command, sink) in [("move", "closed"), ("move", "full"), ("copy", "full")] {
        let mut args = vec![
            command.to_owned(),
            "--source".into(),
            source.dsn(),
            "--target".into(),
            target.dsn(),
            "--force".into(),
            "--target-chunk-size".into(),
            "64K".into(),
        ];
        if command == "move" {
            args.push("--stop-when-caught-up".into());
        }
        let stderr = if sink == "closed" {
            Stdio::piped()
        } else {
            Stdio::from(
                std::fs::OpenOptions::new()
                    .write(true)
                    .open("/dev/full")
                    .unwrap(),
            )
        };
        let (code, stdout) = tokio::task::spawn_blocking(move || {
            run_with_stderr(&args, stderr, Duration::from_secs(120))
        })
        .await
        .unwrap();
        assert_eq!(code, Some(0), "{command}, stderr {sink}: {stdout}");
        assert!(
            stdout.contains(if command == "move" {
                "caught up"
            } else {
                "copied 1 table(s)"
            }),
            "{command}, stderr {sink}: {stdout}"
        );
        assert_same(&source.dump("t").await, &target.dump("t").await);
    }
}

/// Starts `reshard <command>` of a table large enough to be interrupted mid-copy, waits until the
/// target holds some of its rows, sends SIGTERM, and returns what the run printed.
async fn interrupted(command: &str, source: &TestDb, target: &TestDb) -> Run {
    let mut args = vec![
        command.to_owned(),
        "--source".into(),
        source.dsn(),
        "--target".into(),
        target.dsn(),
        "--threads".into(),
        "1".into(),
        "--write-threads".into(),
        "1".into(),
        "--target-chunk-size".into(),
        "16K".into(),
    ];
    if command == "move" {
        args.push("--stop-when-caught-up".into());
    }
    let child = crate::spawn_reshard(&args);
    until_rows(target, "the copy wrote a row", |rows| rows.unwrap_or(0) > 0).await;
    sigterm(child.id());
    tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(45);
        let mut child = child;
        while child.try_wait().unwrap().is_none() {
            assert!(Instant::now() < deadline, "no exit within 45 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
        Run::from(child.wait_with_output().unwrap())
    })
    .await
    .unwrap()
}

/// The number in `text` right before `marker` (`"... 1234 rows written"` → 1234).
fn number_before(text: &str, marker: &str) -> u64 {
    let at = text
        .find(marker)
        .unwrap_or_else(|| panic!("{marker:?} not in {text}"));
    text[..at]
        .trim_end()
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no number before {marker:?} in {text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_copy_or_move_exits_3_and_reports_the_rows_written() {
    let (source, target) = pair("faults_interrupt").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t SELECT seq, REPEAT('x', 40) FROM seq_1_to_400000")
        .await;
    for command in ["copy", "move"] {
        target.exec("DROP TABLE IF EXISTS t").await;
        let run = interrupted(command, &source, &target).await;
        run.expect_code(3)
            .stderr_has("interrupted: the copy did not finish");
        let written = number_before(&run.stderr, "rows written to the targets");
        let held: u64 = target.query_column("SELECT COUNT(*) FROM t").await[0]
            .as_deref()
            .unwrap()
            .parse()
            .unwrap();
        assert_eq!(
            written, held,
            "{command}: rows written as reported, and as the target holds"
        );
        assert!(
            held < 400_000,
            "{command}: the copy was interrupted mid-way"
        );
        if command == "move" {
            run.stdout_has("stopped after")
                .stdout_has(&format!("copied {held} rows"));
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dsn_without_a_database_is_bad_input() {
    // Nothing listens there: the refusal comes before anything connects.
    let port = crate::unused_port();
    for command in ["copy", "move"] {
        crate::reshard::run(vec![
            command.into(),
            "--source".into(),
            format!("mysql://app:secret@127.0.0.1:{port}"),
            "--target".into(),
            format!("mysql://app:secret@127.0.0.1:{port}/shop"),
        ])
        .await
        .expect_code(2)
        .stderr_has("the source DSN mysql://app:***@127.0.0.1:")
        .stderr_has("names no database")
        .never_shows("secret");
    }
}

/// `reshard move` of table `t` from `source` to `target` with `--server-id id`.
async fn move_with_server_id(source: &TestDb, target: &TestDb, id: &str) -> Run {
    crate::reshard::run(vec![
        "move".into(),
        "--source".into(),
        source.dsn(),
        "--target".into(),
        target.dsn(),
        "--stop-when-caught-up".into(),
        "--server-id".into(),
        id.into(),
    ])
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn replica_ids_in_use_are_refused_before_anything_is_written() {
    let (source, target) = pair("faults_server_id").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1)")
        .await;
    move_with_server_id(&source, &target, "0")
        .await
        .expect_code(2)
        .stderr_has("--server-id");
    let own = source.query_column("SELECT @@server_id").await[0]
        .clone()
        .unwrap();
    move_with_server_id(&source, &target, &own)
        .await
        .expect_code(1)
        .stderr_has(&format!(
            "replica server id {own} is taken by the source server itself"
        ));
    assert!(target.tables().await.is_empty());

    // A real replica of the source's server, registered under its own id.
    let replica = tokio::task::spawn_blocking(|| reshard_testkit::ScratchServer::start(&[]))
        .await
        .unwrap();
    let replica_id = replica.server().port.to_string();
    let primary = source.server().clone();
    let (file, position): (String, u64) = {
        use mysql_async::prelude::Queryable;
        let mut conn = source.conn().await;
        let row: mysql_async::Row = conn
            .query_first("SHOW MASTER STATUS")
            .await
            .unwrap()
            .unwrap();
        (row.get(0).unwrap(), row.get(1).unwrap())
    };
    let replica_db = TestDb::create_on("faults_replica", replica.server().clone()).await;
    replica_db
        .exec(&format!(
            "CHANGE MASTER TO MASTER_HOST = '127.0.0.1', MASTER_PORT = {}, MASTER_USER = '{}',
                 MASTER_PASSWORD = '{}', MASTER_LOG_FILE = '{file}', MASTER_LOG_POS = {position},
                 MASTER_USE_GTID = no;
             START SLAVE IO_THREAD;",
            primary.port, primary.user, primary.password
        ))
        .await;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let ids: Vec<u32> = {
            use mysql_async::prelude::Queryable;
            let mut conn = source.conn().await;
            let rows: Vec<mysql_async::Row> = conn.query("SHOW SLAVE HOSTS").await.unwrap();
            rows.iter().filter_map(|r| r.get(0)).collect()
        };
        if ids.iter().any(|id| id.to_string() == replica_id) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the replica never registered: {ids:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let refused = move_with_server_id(&source, &target, &replica_id).await;
    replica_db.exec("STOP SLAVE; RESET SLAVE ALL").await;
    refused.expect_code(1).stderr_has(&format!(
        "replica server id {replica_id} is taken by a replica registered with the source"
    ));
    assert!(target.tables().await.is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_into_a_target_another_run_writes_is_refused() {
    let (source, target) = pair("faults_two_runs").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v INT); INSERT INTO t SELECT seq, seq FROM seq_1_to_5000")
        .await;
    let mut args = crate::moves::servers(&[&source], &[&target]);
    args.extend(["--tables".into(), "t".into()]);
    let first = crate::moves::Child::start(&args);
    crate::moves::until_set_up(&target, "t").await;
    for command in ["copy", "move"] {
        let mut second = vec![
            command.into(),
            "--source".into(),
            source.dsn(),
            "--target".into(),
            target.dsn(),
            "--force".into(),
        ];
        if command == "move" {
            second.push("--stop-when-caught-up".into());
        }
        crate::reshard::run(second)
            .await
            .expect_code(1)
            .stderr_has(
                "nothing was written: another reshard run is writing into the database of target 1",
            )
            .stderr_has("its lock is held by connection");
    }
    // Stopped once its copy is done, the first run exits 0.
    until_rows(&target, "the first run copied the table", |rows| {
        rows == Some(5000)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    sigterm(first.id());
    tokio::task::spawn_blocking(move || first.finish(Duration::from_secs(60)))
        .await
        .unwrap()
        .expect_code(0);
    assert_same(&source.dump("t").await, &target.dump("t").await);
    // The lock went with the first run.
    crate::reshard::run(vec![
        "copy".into(),
        "--source".into(),
        source.dsn(),
        "--target".into(),
        target.dsn(),
        "--force".into(),
    ])
    .await
    .expect_code(0);
}

#[tokio::test(flavor = "multi_thread")]
async fn passwords_stay_out_of_the_process_arguments() {
    let (source, target) = pair("faults_secrets").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t SELECT seq FROM seq_1_to_1000")
        .await;
    let user = format!("pw_{}", std::process::id());
    let secret = format!("Sec{}Ret", std::process::id() * 7 + 13);
    for db in [&source, &target] {
        db.exec(&format!(
            "CREATE USER IF NOT EXISTS '{user}'@'%' IDENTIFIED BY '{secret}';
             GRANT ALL ON *.* TO '{user}'@'%';"
        ))
        .await;
    }
    let dsn = |db: &TestDb, password: &str| {
        let pw = if password.is_empty() {
            String::new()
        } else {
            format!(":{password}")
        };
        format!(
            "mysql://{user}{pw}@127.0.0.1:{}/{}",
            db.server().port,
            db.name()
        )
    };

    // Given on the command line: overwritten in the running process's arguments.
    let mover = Command::new(env!("CARGO_BIN_EXE_reshard"))
        .args([
            "move",
            "--source",
            &dsn(&source, &secret),
            "--target",
            &dsn(&target, &secret),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    crate::moves::until_set_up(&target, "t").await;
    let cmdline = std::fs::read(format!("/proc/{}/cmdline", mover.id())).unwrap();
    // Stopped once its copy is done, a move exits 0.
    until_rows(&target, "the move copied the table", |rows| {
        rows == Some(1000)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
    sigterm(mover.id());
    let code = tokio::task::spawn_blocking(move || mover.wait_with_output().unwrap().status.code())
        .await
        .unwrap();
    assert!(!cmdline.contains(&secret), "{cmdline}");
    assert!(
        cmdline.contains(&format!("{user}:{}@", "x".repeat(secret.len()))),
        "{cmdline}"
    );
    assert_eq!(code, Some(0));

    // From the environment, and from files: the DSNs carry no password at all.
    let files = std::env::temp_dir().join(format!("reshard-pw-{}", std::process::id()));
    std::fs::write(&files, format!("{secret}\n")).unwrap();
    let copy = |extra: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::new(env!("CARGO_BIN_EXE_reshard"));
        command.args([
            "copy",
            "--force",
            "--source",
            &dsn(&source, ""),
            "--target",
            &dsn(&target, ""),
        ]);
        command.args(extra).envs(env.iter().copied());
        command.output().unwrap()
    };
    let by_env = copy(
        &[],
        &[
            ("RESHARD_SOURCE_PASSWORD", &secret),
            ("RESHARD_TARGET_PASSWORD", &secret),
        ],
    );
    let file = files.to_string_lossy().into_owned();
    let by_file = copy(
        &[
            "--source-password-file",
            &file,
            "--target-password-file",
            &file,
        ],
        &[],
    );
    std::fs::remove_file(&files).ok();
    for db in [&source, &target] {
        db.exec(&format!("DROP USER '{user}'@'%'")).await;
    }
    for run in [by_env, by_file] {
        Run::from(run).expect_code(0).never_shows(&secret);
    }
    assert_same(&source.dump("t").await, &target.dump("t").await);
}

/// Kills `server` as a crash would, and starts it again 2 s later.
async fn crash_and_restart(
    server: reshard_testkit::ScratchServer,
) -> reshard_testkit::ScratchServer {
    tokio::task::spawn_blocking(move || {
        server.kill();
        std::thread::sleep(Duration::from_secs(2));
        server.restart();
        server
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_move_survives_its_target_and_its_source_restarting() {
    let (source_server, target_server) = tokio::task::spawn_blocking(|| {
        (
            reshard_testkit::ScratchServer::start(&[]),
            reshard_testkit::ScratchServer::start(&[]),
        )
    })
    .await
    .unwrap();
    let source = TestDb::create_on("faults_restart", source_server.server().clone()).await;
    let target = TestDb::create_on("faults_restart", target_server.server().clone()).await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO t SELECT seq, REPEAT('v', 40) FROM seq_1_to_200000")
        .await;
    let args = [
        "move",
        "--source",
        &source.dsn(),
        "--target",
        &target.dsn(),
        "--threads",
        "1",
        "--write-threads",
        "1",
        "--target-chunk-size",
        "16K",
        "--retry-for",
        "90s",
        "--stop-when-caught-up=3s",
    ]
    .map(String::from);
    let mover = crate::spawn_reshard(&args);
    // The target dies while the copy writes to it, and comes back 2 s later.
    until_rows(&target, "the move wrote a row", |rows| {
        rows.unwrap_or(0) > 0
    })
    .await;
    let target_server = crash_and_restart(target_server).await;
    // Changes while the target is back, then the source dies and comes back.
    source
        .exec("UPDATE t SET v = 'changed' WHERE id % 1000 = 0; DELETE FROM t WHERE id % 997 = 0; INSERT INTO t VALUES (300001, 'new')")
        .await;
    let source_server = crash_and_restart(source_server).await;
    source
        .exec(
            "UPDATE t SET v = 'after' WHERE id % 1001 = 0; INSERT INTO t VALUES (300002, 'newer')",
        )
        .await;
    let run = tokio::task::spawn_blocking(move || {
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut mover = mover;
        while mover.try_wait().unwrap().is_none() {
            if Instant::now() > deadline {
                mover.kill().ok();
                panic!("the move did not end within 180 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Run::from(mover.wait_with_output().unwrap())
    })
    .await
    .unwrap();
    run.expect_code(0)
        .stdout_has("caught up")
        .stderr_has("retrying on a fresh connection");
    assert_same(&source.dump("t").await, &target.dump("t").await);
    // The databases go with their servers.
    std::mem::forget((source, target));
    drop((source_server, target_server));
}

#[tokio::test(flavor = "multi_thread")]
async fn after_a_fatal_error_a_statement_blocked_in_a_target_is_stopped() {
    let (source, target) = pair("faults_blocked").await;
    // `big` is copied first (the largest table first); `fails` has a row its target rejects, in
    // its last chunk.
    source
        .exec(
            "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40)); INSERT INTO big SELECT seq, REPEAT('b', 40) FROM seq_1_to_20000;
             CREATE TABLE fails (id INT PRIMARY KEY, v INT NOT NULL); INSERT INTO fails SELECT seq, seq FROM seq_1_to_3000;
             UPDATE fails SET v = -1 WHERE id = 3000;
             ANALYZE TABLE big, fails;",
        )
        .await;
    target
        .exec(
            "CREATE TABLE big (id INT PRIMARY KEY, v VARCHAR(40));
             CREATE TABLE fails (id INT PRIMARY KEY, v INT NOT NULL, CONSTRAINT positive CHECK (v >= 0));",
        )
        .await;
    // Another session holds the lock on `big`'s first key: the copy's load into `big` waits for it
    // (for innodb_lock_wait_timeout, 50 s, and then would retry).
    let mut holder = target.conn().await;
    {
        use mysql_async::prelude::Queryable;
        holder
            .query_drop("BEGIN; INSERT INTO big VALUES (1, 'held')")
            .await
            .unwrap();
    }
    let started = Instant::now();
    let run = crate::reshard::run(vec![
        "copy".into(),
        "--source".into(),
        source.dsn(),
        "--target".into(),
        target.dsn(),
        "--threads".into(),
        "2".into(),
        "--write-threads".into(),
        "2".into(),
        "--target-chunk-size".into(),
        "8K".into(),
        "--retry-for".into(),
        "10m".into(),
    ])
    .await;
    let took = started.elapsed();
    {
        use mysql_async::prelude::Queryable;
        holder.query_drop("ROLLBACK").await.unwrap();
    }
    drop(holder);
    run.expect_code(1)
        .stderr_has("CONSTRAINT `positive` failed")
        .stderr_has("the targets hold part of these tables");
    // Without stopping the blocked load it would wait out the lock (50 s) and retry.
    assert!(
        took < Duration::from_secs(45),
        "the copy took {took:?} to stop after its error"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_written_to_a_file_carry_no_colour_codes() {
    let (source, target) = pair("faults_colour").await;
    source
        .exec("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t SELECT seq FROM seq_1_to_100")
        .await;
    // Standard error is a pipe here, as it is a file in a job's log.
    let run = crate::reshard::run(vec![
        "copy".into(),
        "--source".into(),
        source.dsn(),
        "--target".into(),
        target.dsn(),
    ])
    .await;
    run.expect_code(0).stderr_has("INFO");
    assert!(
        !run.stderr.contains('\u{1b}'),
        "escape codes in the log:\n{}",
        run.stderr
    );
}
