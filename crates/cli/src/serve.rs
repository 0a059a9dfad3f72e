//! `--listen ADDR`: the running job's `/status` (JSON, [`reshard_engine::status::Status`]) and
//! `/metrics` (Prometheus text format, conventional names and units), on a thread of its own.
//! Read-only; anything else is 404.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use prometheus::{
    Counter, CounterVec, Encoder, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};
use reshard_engine::status::{Phase, Status};

use crate::Failure;

/// Something that knows the job's status (none before the job has begun copying).
pub(crate) trait StatusSource: Send + Sync {
    fn status(&self) -> Option<Status>;
}

/// The listening thread; stops when dropped.
pub(crate) struct Listener {
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts serving on `addr` (`127.0.0.1:9090`); a bad or busy address is bad input.
pub(crate) fn listen(addr: &str, source: Arc<dyn StatusSource>) -> Result<Listener, Failure> {
    let server = tiny_http::Server::http(addr).map_err(|e| {
        Failure::BadInput(format!(
            "--listen {addr}: cannot listen there ({e}); give a free HOST:PORT, e.g. 127.0.0.1:9187"
        ))
    })?;
    tracing::info!("serving /status and /metrics on http://{addr}");
    let stop = Arc::new(AtomicBool::new(false));
    let stopping = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("reshard-listen".into())
        .spawn(move || {
            while !stopping.load(Ordering::Relaxed) {
                let Ok(Some(request)) = server.recv_timeout(Duration::from_millis(100)) else {
                    continue;
                };
                if request.body_length().is_some_and(|n| n > 1024) {
                    // tiny_http reads an unread body of over 1 KiB when the request is dropped,
                    // allocating its announced length first and without a timeout: a GET has
                    // no body, so such a request is left unanswered rather than let stall or
                    // abort this process.
                    std::mem::forget(request);
                    continue;
                }
                let status = source.status();
                let (code, body, kind) = match (request.method(), request.url()) {
                    (tiny_http::Method::Get, "/status") => match &status {
                        Some(status) => (
                            200,
                            serde_json::to_string_pretty(status).unwrap_or_default(),
                            "application/json",
                        ),
                        None => (
                            503,
                            String::from("{\"phase\": \"starting\"}"),
                            "application/json",
                        ),
                    },
                    (tiny_http::Method::Get, "/metrics") => (
                        200,
                        metrics(status.as_ref()),
                        "text/plain; version=0.0.4; charset=utf-8",
                    ),
                    _ => (
                        404,
                        String::from("not found: try /status or /metrics\n"),
                        "text/plain",
                    ),
                };
                let header = tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes())
                    .expect("a valid header");
                let _ = request.respond(
                    tiny_http::Response::from_string(body)
                        .with_status_code(code)
                        .with_header(header),
                );
            }
        })
        .map_err(|e| Failure::Unfit(format!("cannot start the --listen thread: {e}")))?;
    Ok(Listener {
        stop,
        thread: Some(thread),
    })
}

/// The metrics of `status` in the Prometheus text format (an empty registry before the job
/// begins).
pub(crate) fn metrics(status: Option<&Status>) -> String {
    let registry = Registry::new();
    if let Some(status) = status
        && let Err(e) = register(&registry, status)
    {
        tracing::warn!("building the metrics: {e}");
    }
    let mut out = Vec::new();
    if let Err(e) = TextEncoder::new().encode(&registry.gather(), &mut out) {
        tracing::warn!("encoding the metrics: {e}");
    }
    String::from_utf8(out).unwrap_or_default()
}

fn register(registry: &Registry, status: &Status) -> Result<(), prometheus::Error> {
    let counter = |name: &str, help: &str, value: u64| -> Result<(), prometheus::Error> {
        let c = IntCounter::new(name, help)?;
        c.inc_by(value);
        registry.register(Box::new(c))
    };
    let gauge = |name: &str, help: &str, value: i64| -> Result<(), prometheus::Error> {
        let g = IntGauge::new(name, help)?;
        g.set(value);
        registry.register(Box::new(g))
    };
    let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    counter(
        "reshard_rows_copied_total",
        "Rows the copy has written to the targets.",
        status.rows_copied,
    )?;
    counter(
        "reshard_bytes_read_total",
        "Row bytes the copy has read from the sources.",
        status.bytes_read,
    )?;
    counter(
        "reshard_retries_total",
        "Transient errors the copy retried (lost connections, deadlocks).",
        status.retries,
    )?;
    gauge(
        "reshard_rows_per_second",
        "Rows copied per second over the copy's time.",
        signed(status.rows_per_second),
    )?;
    let phases = IntGaugeVec::new(
        Opts::new(
            "reshard_phase",
            "1 for the phase the job is in, 0 for the others.",
        ),
        &["phase"],
    )?;
    for (phase, name) in [
        (Phase::Copying, "copying"),
        (Phase::Verifying, "verifying"),
        (Phase::Applying, "applying"),
        (Phase::Done, "done"),
    ] {
        phases
            .with_label_values(&[name])
            .set(i64::from(status.phase == phase));
    }
    registry.register(Box::new(phases))?;
    let table_rows = IntCounterVec::new(
        Opts::new("reshard_table_rows_copied_total", "Rows written per table."),
        &["table"],
    )?;
    for table in &status.tables {
        table_rows
            .with_label_values(&[&table.table])
            .inc_by(table.rows_copied);
    }
    registry.register(Box::new(table_rows))?;
    let throttled = CounterVec::new(
        Opts::new(
            "reshard_throttled_seconds_total",
            "Seconds (wall time) the job was held back for the servers' sake, per reason.",
        ),
        &["reason"],
    )?;
    for (reason, seconds) in &status.throttle.seconds {
        throttled.with_label_values(&[reason]).inc_by(*seconds);
    }
    registry.register(Box::new(throttled))?;
    let paced = Counter::new(
        "reshard_rate_limit_writer_seconds_total",
        "Seconds the copy's writers slept for the rate limit, summed over writers.",
    )?;
    paced.inc_by(status.throttle.rate_limit_writer_seconds);
    registry.register(Box::new(paced))?;
    gauge(
        "reshard_throttled",
        "1 while the job is held back for the servers' sake.",
        i64::from(status.throttle.now.is_some()),
    )?;
    if let Some(changes) = &status.changes {
        counter(
            "reshard_change_images_applied_total",
            "Row images of the sources' changes applied to the targets.",
            changes.images_applied,
        )?;
        gauge(
            "reshard_changes_held",
            "Row images held until their chunk is on every target.",
            signed(changes.held),
        )?;
        let lag = IntGaugeVec::new(
            Opts::new(
                "reshard_source_lag_seconds",
                "Seconds between the oldest change not applied and now, per source.",
            ),
            &["source"],
        )?;
        let bytes = IntGaugeVec::new(
            Opts::new(
                "reshard_source_lag_bytes",
                "Binlog bytes not applied, per source.",
            ),
            &["source"],
        )?;
        for source in &changes.sources {
            lag.with_label_values(&[&source.source])
                .set(signed(source.lag_seconds));
            bytes
                .with_label_values(&[&source.source])
                .set(signed(source.lag_bytes));
        }
        registry.register(Box::new(lag))?;
        registry.register(Box::new(bytes))?;
    }
    if let Some(verification) = &status.verification {
        counter(
            "reshard_verify_chunks_total",
            "Chunks the move's verification compared.",
            verification.chunks,
        )?;
        counter(
            "reshard_verify_differences_total",
            "Differing rows the verification found.",
            verification.differences,
        )?;
        counter(
            "reshard_verify_repairs_total",
            "Rows the verification repaired.",
            verification.repairs,
        )?;
    }
    Ok(())
}
