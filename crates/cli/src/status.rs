//! `reshard status`: where a move is, from its checkpoint (`reshard_engine::checkpoint::report`)
//! or, with `--from HOST:PORT`, live from the `/status` endpoint a copy or move serves with
//! `--listen` (a plain HTTP/1.0 `GET` on loopback or the operator's network; the JSON is printed
//! as served, or summarised). `reshard reset` discards a move.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::Failure;
use crate::args::StatusArgs;
use crate::output::out;

pub(crate) async fn run(args: &StatusArgs) -> Result<(), Failure> {
    match &args.from {
        Some(from) => live(from, args.json),
        None => from_checkpoint(args).await,
    }
}

/// `reshard status` with the move's options: its checkpoint.
async fn from_checkpoint(args: &StatusArgs) -> Result<(), Failure> {
    let topology = crate::copy::topology(&args.topology)?;
    let record = reshard_engine::checkpoint::report::read(&topology)
        .await
        .map_err(crate::failures::failure)?;
    let Some(record) = record else {
        return Err(Failure::Unfit(format!(
            "{} holds no checkpoint of a move of these tables: the move has not started, was reset, or was started with other --tables or targets",
            topology.targets[0].dsn
        )));
    };
    if args.json {
        out!(
            "{}",
            serde_json::to_string_pretty(&record).expect("a record serializes")
        );
        return Ok(());
    }
    out!(
        "phase: {}; tables {}; checkpoint saved {} s ago{}",
        record.phase,
        record.tables.join(", "),
        record.seconds_since_saved,
        if record.cycle_in_flight {
            " (a cycle of changes was being written)"
        } else {
            ""
        }
    );
    let done = record.copies.iter().filter(|c| c.done).count();
    out!(
        "copy: {done} of {} (source, table) copies done",
        record.copies.len()
    );
    for copy in record.copies.iter().filter(|c| !c.done) {
        out!("  {} from {}: {}", copy.table, copy.source, copy.copied);
    }
    for source in &record.sources {
        match (&source.binlog_end, source.bytes_behind) {
            (Some(end), Some(bytes)) => out!(
                "  {}: targets at {}, {bytes} binlog bytes behind its end {end}",
                source.source,
                source.position
            ),
            _ => out!(
                "  {}: targets at {} (its binlog end could not be read: {})",
                source.source,
                source.position,
                source.error.as_deref().unwrap_or("?")
            ),
        }
    }
    let now = reshard_engine::online::unix_now();
    out!(
        "verified: {}{}",
        if record.verified.is_empty() {
            String::from("no table yet")
        } else {
            record.verified.join(", ")
        },
        record.verified_at.map_or_else(String::new, |at| format!(
            " (every table last found equal {} s ago)",
            now.saturating_sub(at)
        ))
    );
    if let Some(drop) = &record.sentinel {
        out!("cutover: deferred; replicating until the sentinel is dropped: {drop}");
    }
    if let Some(cutover) = &record.cutover {
        out!(
            "cutover: {} (step `{}`, attempt started {} s ago){}",
            cutover.step.name(),
            serde_json::to_value(cutover.step)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            now.saturating_sub(cutover.started_at),
            match cutover.step {
                reshard_engine::cutover::CutoverStep::HookRunning => String::from(
                    "; whether the hook finished is not known: rerun the move with --cutover-hook-ran or --run-cutover-hook-again"
                ),
                reshard_engine::cutover::CutoverStep::Done => format!(
                    "; the source tables are renamed to <table>{}",
                    cutover.suffix
                ),
                _ => String::new(),
            }
        );
        for (i, p) in cutover.source_positions.iter().enumerate() {
            out!(
                "  source {} locked at binlog {}:{}",
                i + 1,
                p.file,
                p.offset
            );
        }
    }
    if let Some(reverse) = &record.reverse {
        out!(
            "rollback window: the reverse stream's checkpoint was saved {} s ago",
            reverse.seconds_since_saved
        );
        for source in &reverse.sources {
            match (&source.binlog_end, source.bytes_behind) {
                (Some(end), Some(bytes)) => out!(
                    "  target {}: its changes are in the sources' _old tables up to {}, {bytes} binlog bytes behind its end {end}",
                    source.source,
                    source.position
                ),
                _ => out!(
                    "  target {}: its changes are in the sources' _old tables up to {}",
                    source.source,
                    source.position
                ),
            }
        }
        if let Some(rollback) = &reverse.cutover {
            out!(
                "rollback: {} (attempt started {} s ago){}",
                rollback.step.name(),
                now.saturating_sub(rollback.started_at),
                if rollback.step == reshard_engine::cutover::CutoverStep::HookRunning {
                    "; whether its hook finished is not known: rerun reshard rollback with --cutover-hook-ran or --run-cutover-hook-again"
                } else {
                    ""
                }
            );
        }
    }
    Ok(())
}

/// `reshard reset`: discards a move, listing what it dropped.
pub(crate) async fn reset(args: &crate::args::ResetArgs) -> Result<(), Failure> {
    let topology = crate::copy::topology(&args.topology)?;
    let report = reshard_engine::checkpoint::reset::reset(&topology)
        .await
        .map_err(crate::failures::failure)?;
    out!(
        "discarded the move of {}: its checkpoint is deleted",
        report.tables.join(", ")
    );
    for (target, table, rows) in &report.emptied {
        out!("  emptied {table} on target {target} ({rows} rows)");
    }
    Ok(())
}

/// `reshard status --from`: the live status a job serves.
fn live(from: &str, json: bool) -> Result<(), Failure> {
    let body = fetch(from, "/status")?;
    if json {
        out!("{}", body.trim_end());
        return Ok(());
    }
    let status: serde_json::Value = serde_json::from_str(&body)
        .map_err(|e| Failure::Unfit(format!("{from} did not serve a status ({e}): {body}")))?;
    out!(
        "phase: {}; {} rows copied ({} rows/s) in {:.0} s",
        status["phase"].as_str().unwrap_or("?"),
        status["rows_copied"],
        status["rows_per_second"],
        status["elapsed_seconds"].as_f64().unwrap_or(0.0)
    );
    for table in status["tables"].as_array().into_iter().flatten() {
        out!(
            "  {}: {} of ~{} rows{}",
            table["table"].as_str().unwrap_or("?"),
            table["rows_copied"],
            table["estimated_rows"],
            if table["read_done"].as_bool() == Some(true) {
                ", read"
            } else {
                ""
            }
        );
    }
    for source in status["changes"]["sources"]
        .as_array()
        .into_iter()
        .flatten()
    {
        out!(
            "  {}: applied up to {}, {} s / {} B behind",
            source["source"].as_str().unwrap_or("?"),
            source["applied"].as_str().unwrap_or("?"),
            source["lag_seconds"],
            source["lag_bytes"]
        );
    }
    if let Some(why) = status["throttle"]["now"].as_str() {
        out!("  throttled now: {why}");
    }
    if status["verification"].is_object() {
        let v = &status["verification"];
        out!(
            "  verification: {} chunks, {} differences, {} repairs{}",
            v["chunks"],
            v["differences"],
            v["repairs"],
            match v["equal"].as_bool() {
                Some(true) => ", equal",
                Some(false) => ", NOT equal",
                None => ", running",
            }
        );
    }
    Ok(())
}

/// The body of `GET path` on `addr`.
fn fetch(addr: &str, path: &str) -> Result<String, Failure> {
    let unreachable = |e: &dyn std::fmt::Display| {
        Failure::Unfit(format!(
            "cannot read the status from {addr} ({e}); is a copy or move running there with --listen {addr}?"
        ))
    };
    let targets: Vec<_> = addr
        .to_socket_addrs()
        .map_err(|e| Failure::BadInput(format!("--from {addr}: {e}; give HOST:PORT")))?
        .collect();
    // Every address the name resolves to (localhost may be ::1 and 127.0.0.1), the first that
    // answers.
    let mut last_error = String::from("no address");
    let mut stream = None;
    for target in &targets {
        match TcpStream::connect_timeout(target, Duration::from_secs(5)) {
            Ok(s) => {
                stream = Some(s);
                break;
            }
            Err(e) => last_error = e.to_string(),
        }
    }
    let mut stream = stream.ok_or_else(|| unreachable(&last_error))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(|e| unreachable(&e))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(|e| unreachable(&e))?;
    let mut response = String::new();
    stream
        .take(16 << 20)
        .read_to_string(&mut response)
        .map_err(|e| unreachable(&e))?;
    let (head, body) = response
        .split_once("\r\n\r\n")
        .ok_or_else(|| unreachable(&"an answer that is not HTTP"))?;
    let code = head.split(' ').nth(1).unwrap_or_default();
    // 503: the job is starting (before its copy begins); its body says so.
    if !head.starts_with("HTTP/1.") || !matches!(code, "200" | "503") {
        return Err(unreachable(
            &head.lines().next().unwrap_or("no status line"),
        ));
    }
    Ok(body.to_owned())
}
