//! `reshard bench`: its JSON has every field, and its figures agree with each other and with the
//! servers (the row counts the oracle reads from each target, the source's rows, the wall time
//! bounding every stage's time per thread); it copies every profile to 1, 2 and 4 targets
//! exactly (the union of the targets equals the source, by the oracle's dumps); it never
//! touches a table it did not create; it cleans up after itself unless told to keep.

use reshard_testkit::{TableDump, TestDb, assert_same};
use serde_json::Value;

use crate::reshard;

/// The fields every report has (`limiting_stage` is null only with stage timing off).
const FIELDS: [&str; 19] = [
    "table",
    "profile",
    "table_rows",
    "reused",
    "generate_seconds",
    "source",
    "targets",
    "settings",
    "rows",
    "wall_seconds",
    "rows_per_second",
    "mb_per_second",
    "row_bytes_read",
    "load_bytes_written",
    "network",
    "stages",
    "channels",
    "limiting_stage",
    "cpu",
];

const STAGES: [&str; 8] = [
    "chunking",
    "read",
    "decode",
    "route",
    "send_wait",
    "recv_wait",
    "encode",
    "write",
];

fn f(v: &Value, key: &str) -> f64 {
    v[key]
        .as_f64()
        .unwrap_or_else(|| panic!("{key} is not a number in {v}"))
}

fn u(v: &Value, key: &str) -> u64 {
    v[key]
        .as_u64()
        .unwrap_or_else(|| panic!("{key} is not an unsigned integer in {v}"))
}

#[track_caller]
fn close(a: f64, b: f64, what: &str) {
    assert!(
        (a - b).abs() <= 1e-6 * a.abs().max(b.abs()).max(1.0),
        "{what}: {a} != {b}"
    );
}

/// Runs bench with `args` and returns its JSON report.
fn bench_json(args: &[String]) -> Value {
    let mut all: Vec<&str> = vec!["bench", "--json"];
    all.extend(args.iter().map(String::as_str));
    let run = reshard(&all);
    run.expect_code(0);
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}):\n{}", run.stdout))
}

/// Checks the report's shape and that its figures agree with each other; returns rows per target.
fn check_report(
    report: &Value,
    rows: u64,
    threads: u64,
    write_threads: u64,
    timed: bool,
) -> Vec<u64> {
    for field in FIELDS {
        assert!(report.get(field).is_some(), "no {field} in {report}");
    }
    let targets = report["targets"].as_array().expect("targets");
    assert_eq!(u(report, "table_rows"), rows);
    assert_eq!(u(report, "rows"), rows, "rows copied = rows generated");
    let per_target: Vec<u64> = targets.iter().map(|t| u(t, "rows")).collect();
    assert_eq!(per_target.iter().sum::<u64>(), rows);
    for t in targets {
        assert!(
            t["dsn"].as_str().is_some_and(|d| d.contains(":***@")),
            "{t}"
        );
        assert!(t["key_range"].is_string());
    }
    let wall = f(report, "wall_seconds");
    assert!(wall > 0.0);
    #[allow(clippy::cast_precision_loss)]
    {
        close(f(report, "rows_per_second"), rows as f64 / wall, "rows/s");
        close(
            f(report, "mb_per_second"),
            u(report, "row_bytes_read") as f64 / 1e6 / wall,
            "MB/s",
        );
    }
    assert!(u(report, "row_bytes_read") > 0);
    let network = &report["network"];
    assert!(
        u(network, "bytes_in") >= u(report, "row_bytes_read"),
        "{network}"
    );
    assert!(
        u(network, "bytes_out") >= u(report, "load_bytes_written"),
        "{network}"
    );
    let settings = &report["settings"];
    assert_eq!(u(settings, "threads"), threads);
    assert_eq!(u(settings, "write_threads"), write_threads);
    assert_eq!(settings["stage_timing"].as_bool(), Some(timed));

    let stages = report["stages"].as_array().expect("stages");
    let names: Vec<&str> = stages
        .iter()
        .map(|s| s["stage"].as_str().expect("name"))
        .collect();
    assert_eq!(names, STAGES);
    let mut per_side = [0.0f64; 2];
    for s in stages {
        let side = s["side"].as_str().expect("side");
        let workers = u(s, "workers");
        let expected = if side == "reader" {
            threads
        } else {
            write_threads * targets.len() as u64
        };
        assert_eq!(workers, expected, "{s}");
        let per_worker = f(s, "per_worker_seconds");
        #[allow(clippy::cast_precision_loss)]
        close(
            f(s, "busy_seconds"),
            per_worker * workers as f64,
            "busy = per worker x workers",
        );
        assert!(
            per_worker <= wall * 1.001,
            "{} per thread {per_worker} s exceeds the wall time {wall} s",
            s["stage"]
        );
        close(f(s, "share_of_wall"), per_worker / wall, "share");
        per_side[usize::from(side == "writer")] += per_worker;
        if !timed {
            assert!(per_worker.abs() < f64::EPSILON, "untimed but {s}");
        }
    }
    for total in per_side {
        assert!(
            total <= wall * 1.001,
            "a side's stages add to {total} s, over the wall {wall} s"
        );
    }
    let channels = report["channels"].as_array().expect("channels");
    assert_eq!(channels.len(), targets.len());
    let send: f64 = channels.iter().map(|c| f(c, "send_wait_seconds")).sum();
    close(send, f(&stages[4], "busy_seconds"), "send waits by channel");
    let recv: f64 = channels.iter().map(|c| f(c, "recv_wait_seconds")).sum();
    close(
        recv,
        f(&stages[5], "busy_seconds"),
        "receive waits by channel",
    );

    let limit = &report["limiting_stage"];
    if timed {
        let stage = limit["stage"].as_str().expect("a limiting stage");
        let busiest = stages
            .iter()
            .filter(|s| !s["stage"].as_str().expect("name").ends_with("_wait"))
            .max_by(|a, b| f(a, "share_of_wall").total_cmp(&f(b, "share_of_wall")))
            .expect("stages");
        assert_eq!(stage, busiest["stage"].as_str().expect("name"));
        assert!(
            limit["summary"]
                .as_str()
                .expect("summary")
                .starts_with(stage)
        );
        close(
            f(limit, "share_of_wall"),
            f(busiest, "share_of_wall"),
            "limiting share",
        );
    } else {
        assert!(limit.is_null(), "{limit}");
    }

    let cpu = &report["cpu"];
    let reshard_cpu = f(cpu, "reshard_seconds");
    assert!(reshard_cpu > 0.0, "{cpu}");
    #[allow(clippy::cast_precision_loss)]
    close(
        f(cpu, "reshard_seconds_per_million_rows"),
        reshard_cpu * 1e6 / rows as f64,
        "CPU per M rows",
    );
    let servers = cpu["servers"].as_array().expect("servers");
    let roles: usize = servers
        .iter()
        .map(|s| s["roles"].as_array().expect("roles").len())
        .sum();
    assert_eq!(roles, 1 + targets.len(), "every server's roles: {cpu}");
    for s in servers {
        // The test servers run on this machine: their CPU is readable through /proc.
        assert!(s["cpu_seconds"].as_f64().is_some(), "no CPU for {s}");
    }
    per_target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_profile_copies_exactly_to_1_2_and_4_targets_and_the_json_agrees() {
    // (profile arguments, rows, targets): every profile, and each target count.
    let cases: [(&[&str], u64, usize); 5] = [
        (&["--profile", "narrow"], 30_000, 4),
        (&["--profile", "wide"], 6_000, 2),
        (&["--profile", "text"], 2_000, 1),
        (&["--profile", "blob"], 300, 2),
        (&["--row-bytes", "3000"], 1_000, 4),
    ];
    for (profile, rows, target_count) in cases {
        let source = TestDb::create("bench_src", 1).await;
        let mut targets = Vec::new();
        for t in 0..target_count {
            // Instances 2..4, then a second database on instance 2.
            targets.push(TestDb::create("bench_dst", 2 + t % 3).await);
        }
        let mut args: Vec<String> = vec![
            String::from("--source"),
            source.dsn(),
            String::from("--rows"),
            rows.to_string(),
            String::from("--threads"),
            String::from("2"),
            String::from("--write-threads"),
            String::from("2"),
            String::from("--target-chunk-size"),
            String::from("256K"),
            String::from("--keep"),
        ];
        args.extend(profile.iter().map(|s| (*s).to_owned()));
        for t in &targets {
            args.push(String::from("--target"));
            args.push(t.dsn());
        }
        let report = bench_json(&args);
        let per_target = check_report(&report, rows, 2, 2, true);
        let table = report["table"]
            .as_str()
            .expect("table")
            .rsplit('.')
            .next()
            .expect("name")
            .trim_matches('`')
            .to_owned();
        // The oracle: each target's own count, and the union of the targets against the source.
        let source_dump = source.dump(&table).await;
        assert_eq!(source_dump.rows.len() as u64, rows, "{profile:?}");
        let mut parts = Vec::new();
        for (t, db) in targets.iter().enumerate() {
            let part = db.dump(&table).await;
            assert_eq!(
                part.rows.len() as u64,
                per_target[t],
                "{profile:?}: target {} holds {} rows, the report says {}",
                t + 1,
                part.rows.len(),
                per_target[t]
            );
            if target_count > 1 {
                assert!(
                    per_target[t] > 0,
                    "{profile:?}: target {} got nothing",
                    t + 1
                );
            }
            parts.push(part);
        }
        assert_same(
            &TableDump::union(&parts),
            &source_dump.sorted_by_rendered_key(),
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reuse_keeps_the_source_table_and_runs_drop_what_they_created() {
    let source = TestDb::create("bench_reuse_src", 1).await;
    let target = TestDb::create("bench_reuse_dst", 2).await;
    let args = |extra: &[&str]| -> Vec<String> {
        let mut a: Vec<String> = [
            "--source",
            &source.dsn(),
            "--target",
            &target.dsn(),
            "--profile",
            "narrow",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        a.extend(extra.iter().map(|s| (*s).to_owned()));
        a
    };
    let first = bench_json(&args(&["--reuse", "--rows", "5000"]));
    assert_eq!(first["reused"], Value::Bool(false));
    check_report(&first, 5000, 4, 4, true);
    // The target table is dropped; the source table stays for the next --reuse.
    assert_eq!(target.tables().await, Vec::<String>::new());
    assert_eq!(source.tables().await, ["reshard_bench_narrow"]);

    let second = bench_json(&args(&["--reuse", "--rows", "5000", "--no-stage-timing"]));
    assert_eq!(second["reused"], Value::Bool(true));
    assert!(f(&second, "generate_seconds").abs() < f64::EPSILON);
    check_report(&second, 5000, 4, 4, false);

    // Another row count is another table: generated again, not reused.
    let third = bench_json(&args(&["--reuse", "--rows", "6000"]));
    assert_eq!(third["reused"], Value::Bool(false));
    assert_eq!(u(&third, "rows"), 6000);

    // Without --reuse or --keep, everything bench created is gone afterwards.
    let plain = reshard(
        &std::iter::once("bench")
            .chain(args(&["--rows", "5000"]).iter().map(String::as_str))
            .collect::<Vec<_>>(),
    );
    plain
        .expect_code(0)
        .stdout_has("limiting stage: ")
        .stdout_has("stages (time per thread, share of the wall time):")
        .stdout_has("cpu: reshard ")
        .stdout_has(":***@")
        .never_shows(&format!(":{}@", reshard_testkit::servers::password()));
    assert_eq!(source.tables().await, Vec::<String>::new());
    assert_eq!(target.tables().await, Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_table_bench_did_not_create_is_never_touched() {
    let source = TestDb::create("bench_foreign_src", 1).await;
    let target = TestDb::create("bench_foreign_dst", 2).await;
    target
        .exec("CREATE TABLE reshard_bench_narrow (id BIGINT PRIMARY KEY, v INT); INSERT INTO reshard_bench_narrow VALUES (1, 1), (2, 2)")
        .await;
    let run = reshard(&[
        "bench",
        "--source",
        &source.dsn(),
        "--target",
        &target.dsn(),
        "--profile",
        "narrow",
        "--rows",
        "100",
    ]);
    run.expect_code(1)
        .stderr_has(
            "already holds a table `reshard_bench_narrow` that reshard bench did not create",
        )
        .stderr_has("nothing was changed");
    // Nothing was generated on the source, and the user's table is as it was.
    assert_eq!(source.tables().await, Vec::<String>::new());
    assert_eq!(
        target
            .query_column("SELECT COUNT(*) FROM reshard_bench_narrow")
            .await,
        [Some(String::from("2"))]
    );

    let bad = reshard(&[
        "bench",
        "--source",
        &source.dsn(),
        "--target",
        &target.dsn(),
        "--profile",
        "huge",
    ]);
    bad.expect_code(2).stderr_has("unknown profile 'huge'");
    assert_eq!(source.tables().await, Vec::<String>::new());
}
