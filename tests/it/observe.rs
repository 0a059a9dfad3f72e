//! A move seen from outside: `--listen` serves `/metrics` (parsed by a Prometheus text-format
//! parser) and `/status`, and `reshard status --from` prints the same status.

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use reshard_testkit::TestDb;

use crate::moves::{Child, servers};
use crate::{reshard, unused_port};

/// The body of `GET path` on `127.0.0.1:port`, or `None` while nothing answers 200.
fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    head.contains(" 200 ").then(|| body.to_owned())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_listening_move_serves_metrics_and_the_status_reshard_status_prints() {
    let source = TestDb::create("observe_src", 1).await;
    let target = TestDb::create("observe_dst", 2).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v VARCHAR(20));
             INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_30000;",
        )
        .await;
    let port = unused_port();
    let mut args = servers(&[&source], &[&target]);
    args.extend(
        [
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--stop-when-caught-up=6s",
        ]
        .map(String::from),
    );
    let child = Child::start(&args);
    // Wait until the copy is done and verified (the move then idles out its quiet time).
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        assert!(
            Instant::now() < deadline,
            "the move never reached its applying phase"
        );
        if let Some(body) = get(port, "/status") {
            let status: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            if status["phase"] == "applying" && status["verification"]["finished"] == true {
                break status;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status["rows_copied"], 30000, "{status:#}");
    assert_eq!(status["verification"]["equal"], true, "{status:#}");

    let metrics = get(port, "/metrics").expect("the metrics");
    let lines = metrics.lines().map(|l| Ok(l.to_owned()));
    let scrape = prometheus_parse::Scrape::parse(lines).expect("Prometheus text format");
    let value = |name: &str| {
        scrape
            .samples
            .iter()
            .find(|s| s.metric == name)
            .map(|s| match s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => v,
                _ => f64::NAN,
            })
            .unwrap_or_else(|| panic!("{name} is not in:\n{metrics}"))
    };
    assert!((value("reshard_rows_copied_total") - 30000.0).abs() < f64::EPSILON);
    assert!(value("reshard_source_lag_seconds") >= 0.0);
    assert!(value("reshard_verify_chunks_total") >= 1.0);
    let phase = scrape
        .samples
        .iter()
        .find(|s| s.metric == "reshard_phase" && s.labels.get("phase") == Some("applying"))
        .expect("the applying phase");
    assert!(
        matches!(phase.value, prometheus_parse::Value::Gauge(v) if (v - 1.0).abs() < f64::EPSILON)
    );
    assert_eq!(
        scrape
            .docs
            .get("reshard_rows_copied_total")
            .map(String::as_str),
        Some("Rows the copy has written to the targets.")
    );

    // `reshard status --json` prints what /status serves (the clock aside).
    let printed = reshard(&["status", "--from", &format!("127.0.0.1:{port}"), "--json"]);
    let served = get(port, "/status").expect("the status");
    printed.expect_code(0);
    let without_clock = |text: &str| {
        let mut v: serde_json::Value = serde_json::from_str(text).expect("JSON");
        v.as_object_mut()
            .expect("an object")
            .remove("elapsed_seconds");
        v
    };
    assert_eq!(without_clock(&printed.stdout), without_clock(&served));
    reshard(&["status", "--from", &format!("127.0.0.1:{port}")])
        .expect_code(0)
        .stdout_has("phase: applying; 30000 rows copied")
        .stdout_has("verification: ");

    let run = child.finish(Duration::from_secs(60));
    run.expect_code(0);
    // Once the move has ended, nothing answers there.
    reshard(&["status", "--from", &format!("127.0.0.1:{port}")])
        .expect_code(1)
        .stderr_has("is a copy or move running there with --listen");
}

/// `--stop-when-caught-up` promises an exit 0 only when caught up and verified: stopped before
/// (here by SIGTERM while it waits out its quiet time), it exits 3, even with its copy done.
#[tokio::test(flavor = "multi_thread")]
async fn a_move_asked_to_stop_when_caught_up_exits_3_when_stopped_before() {
    let source = TestDb::create("observe_term_src", 1).await;
    let target = TestDb::create("observe_term_dst", 2).await;
    source
        .exec(
            "CREATE TABLE t (id BIGINT NOT NULL PRIMARY KEY, v INT);
             INSERT INTO t SELECT seq, seq FROM seq_1_to_2000;",
        )
        .await;
    let port = unused_port();
    let mut args = servers(&[&source], &[&target]);
    args.extend(
        [
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--stop-when-caught-up=60s",
        ]
        .map(String::from),
    );
    let child = Child::start(&args);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the move never copied its table");
        if let Some(body) = get(port, "/status") {
            let status: serde_json::Value = serde_json::from_str(&body).expect("JSON");
            if status["phase"] == "applying" {
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let killed = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    child
        .finish(Duration::from_secs(30))
        .expect_code(3)
        .stderr_has("stopped before it had caught up and verified every table");
}
