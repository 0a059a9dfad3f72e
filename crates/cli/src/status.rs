//! `reshard status --from HOST:PORT`: the status of a copy or move of another process, read
//! from the `/status` endpoint it serves with `--listen` (a plain HTTP/1.0 `GET` on loopback or
//! the operator's network; the JSON is printed as served, or summarised).

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use crate::Failure;
use crate::args::StatusArgs;
use crate::output::out;

pub(crate) fn run(args: &StatusArgs) -> Result<(), Failure> {
    let body = fetch(&args.from, "/status")?;
    if args.json {
        out!("{}", body.trim_end());
        return Ok(());
    }
    let status: serde_json::Value = serde_json::from_str(&body).map_err(|e| {
        Failure::Unfit(format!(
            "{} did not serve a status ({e}): {body}",
            args.from
        ))
    })?;
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
