//! Throttling: a copy or move slows down when the servers are busy.
//!
//! A monitor thread samples, every [`SAMPLE_EVERY`], `Threads_running` on every source and
//! target and the InnoDB history list length on every source (long snapshots and a busy
//! server grow it; it is what a copy's reads cost the server). While any sample exceeds its
//! limit, the throttle is *engaged* with that reason, and every worker asks before its next
//! unit of work (`Throttle::wait`): copy readers before each chunk, copy writers before each
//! batch, the change applier before each cycle. They wait until the throttle is released, so
//! work already under way finishes and nothing new starts.
//!
//! Besides, `max_rows_per_second` paces the copy's writers (`Throttle::pace`: each batch
//! reserves its slot of one schedule), and a limits file ([`Throttle::watch_file`]) replaces the
//! limits whenever its content changes, so that an operator can tighten or lift them while the
//! job runs. Limits whose figures the user may not read are refused before the job writes
//! ([`preflight`]).
//!
//! It fails closed: a server whose figures cannot be read counts as over its limits (a server
//! that stopped answering is the last one to load more). Time engaged is counted per reason
//! (wall time, not per thread) and reported with the progress and the summary.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;
use reshard_types::Dsn;

/// How often the servers are sampled.
pub const SAMPLE_EVERY: Duration = Duration::from_millis(250);

/// How long a sample may wait for a server's answer.
const QUERY_WAIT: Duration = Duration::from_secs(5);

/// How often a waiting worker looks again.
const LOOK: Duration = Duration::from_millis(25);

/// The limits a copy or move keeps to; `None`: not limited. Also the format of a limits file
/// (`--throttle-file`, TOML: `max_threads_running = 40`, unknown keys refused).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleLimits {
    /// `Threads_running` on any source or target.
    pub max_threads_running: Option<u64>,
    /// The InnoDB history list length on any source.
    pub max_history_length: Option<u64>,
    /// Seconds any replica watched (`--throttle-replica`) may be behind its primary.
    pub max_replica_lag: Option<u64>,
    /// Rows the copy may write per second, over all targets.
    pub max_rows_per_second: Option<u64>,
}

impl ThrottleLimits {
    /// Whether any limit is set (else no monitor runs).
    pub fn any(&self) -> bool {
        self.max_threads_running.is_some()
            || self.max_history_length.is_some()
            || self.max_replica_lag.is_some()
    }

    /// Reads a limits file (see the type's docs).
    pub fn read(path: &std::path::Path) -> Result<ThrottleLimits, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("reading {}: {e}", path.display()))?;
        ThrottleLimits::parse(&text, path)
    }

    /// Parses a limits file's `text` (`path` for messages).
    pub fn parse(text: &str, path: &std::path::Path) -> Result<ThrottleLimits, String> {
        toml::from_str(text).map_err(|e| format!("{}: {e}", path.display()))
    }

    /// Whether a limit needs the servers sampled.
    fn samples_servers(&self) -> bool {
        self.max_threads_running.is_some() || self.max_history_length.is_some()
    }
}

/// Why the throttle is engaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ThrottleReason {
    /// `Threads_running` over its limit.
    ThreadsRunning,
    /// The history list length over its limit.
    HistoryLength,
    /// A replica's lag over its limit, or not known (its SQL thread stopped).
    ReplicaLag,
    /// A server's figures could not be read.
    Unreadable,
}

impl ThrottleReason {
    const ALL: [ThrottleReason; 4] = [
        ThrottleReason::ThreadsRunning,
        ThrottleReason::HistoryLength,
        ThrottleReason::ReplicaLag,
        ThrottleReason::Unreadable,
    ];

    /// Its name in reports.
    pub fn name(self) -> &'static str {
        match self {
            ThrottleReason::ThreadsRunning => "threads_running",
            ThrottleReason::HistoryLength => "history_list_length",
            ThrottleReason::ReplicaLag => "replica_lag",
            ThrottleReason::Unreadable => "server_unreadable",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// The throttle of one copy or move: its limits (which a limits file may change while it runs),
/// whether it is engaged, why, and for how long it was.
#[derive(Debug, Default)]
pub struct Throttle {
    limits: Mutex<ThrottleLimits>,
    /// A file the limits are read from again whenever its content changes, and the content
    /// last applied.
    file: Mutex<Option<(std::path::PathBuf, String)>>,
    /// The rate limit's next free moment.
    next_slot: Mutex<Option<Instant>>,
    /// Nanoseconds writers slept for the rate limit, summed over writers.
    paced_nanos: AtomicU64,
    engaged: AtomicBool,
    /// What engaged it last, in words (server, figure, limit).
    why: Mutex<Option<(ThrottleReason, String)>>,
    /// Nanoseconds engaged, per reason.
    engaged_nanos: [AtomicU64; 4],
}

/// The throttle at one moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleSnapshot {
    /// Why it is engaged now, if it is.
    pub now: Option<String>,
    /// Wall time engaged so far, per reason (reasons never engaged left out).
    pub engaged: Vec<(&'static str, Duration)>,
    /// The writers' sleep for `max_rows_per_second`, summed over writers (writer time, not
    /// wall time).
    pub paced: Duration,
    /// The limits in force.
    pub limits: ThrottleLimits,
}

impl ThrottleSnapshot {
    /// Time engaged in all.
    pub fn total(&self) -> Duration {
        self.engaged.iter().map(|(_, d)| *d).sum()
    }
}

impl Throttle {
    /// The limits in force.
    pub fn limits(&self) -> ThrottleLimits {
        *self.limits.lock().expect("throttle lock")
    }

    /// Sets the limits (at the start of a job, or from its limits file).
    pub fn set_limits(&self, limits: ThrottleLimits) {
        *self.limits.lock().expect("throttle lock") = limits;
    }

    /// Takes `limits` (a job's options) unless a limits file decides them.
    pub(crate) fn adopt(&self, limits: ThrottleLimits) {
        if self.file.lock().expect("throttle lock").is_none() {
            self.set_limits(limits);
        }
    }

    /// Reads the limits from `file` now and whenever it changes while the job runs.
    pub fn watch_file(&self, file: std::path::PathBuf) -> Result<(), String> {
        let text = std::fs::read_to_string(&file)
            .map_err(|e| format!("reading {}: {e}", file.display()))?;
        self.set_limits(ThrottleLimits::parse(&text, &file)?);
        *self.file.lock().expect("throttle lock") = Some((file, text));
        Ok(())
    }

    /// Applies the limits file again if its content changed since it was last applied (a
    /// file that does not parse, caught mid-write say, keeps the limits in force).
    fn reread_file(&self) {
        let mut file = self.file.lock().expect("throttle lock");
        let Some((path, seen)) = file.as_mut() else {
            return;
        };
        let Ok(text) = std::fs::read_to_string(&*path) else {
            return;
        };
        if text == *seen {
            return;
        }
        let parsed = ThrottleLimits::parse(&text, path);
        // Seen either way: a file that does not parse is warned about once, not every sample.
        *seen = text;
        drop(file);
        match parsed {
            Ok(limits) => {
                tracing::info!("throttle limits now {limits:?} (from the limits file)");
                self.set_limits(limits);
            }
            Err(e) => tracing::warn!("keeping the throttle limits: {e}"),
        }
    }

    /// Whether a monitor is needed: a limit is set, or may be set by the limits file.
    pub(crate) fn watched(&self) -> bool {
        self.limits().any() || self.file.lock().expect("throttle lock").is_some()
    }

    /// Sleeps, if `max_rows_per_second` is set, until `rows` more rows may be written (the
    /// rate is shared by all writers: each reserves the next slot).
    pub(crate) fn pace(&self, rows: u64, stop: &AtomicBool) {
        let Some(rate) = self.limits().max_rows_per_second else {
            return;
        };
        if rate == 0 {
            // Zero rows a second: no writes until the limit changes (as a zero threads-running
            // limit pauses everything).
            let began = Instant::now();
            while self.limits().max_rows_per_second == Some(0) && !stop.load(Relaxed) {
                std::thread::sleep(LOOK);
            }
            self.paced_nanos.fetch_add(
                u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX),
                Relaxed,
            );
            return;
        }
        #[allow(clippy::cast_precision_loss)] // a duration to sleep
        let cost = Duration::from_secs_f64(rows as f64 / rate as f64);
        let start = {
            let mut next = self.next_slot.lock().expect("throttle lock");
            let now = Instant::now();
            let start = next.filter(|t| *t > now).unwrap_or(now);
            *next = Some(start + cost);
            start
        };
        let began = Instant::now();
        while Instant::now() < start && !stop.load(Relaxed) {
            if self.limits().max_rows_per_second != Some(rate) {
                // The limit changed: slots booked at the old rate no longer hold.
                *self.next_slot.lock().expect("throttle lock") = None;
                break;
            }
            std::thread::sleep(LOOK.min(start.saturating_duration_since(Instant::now())));
        }
        self.paced_nanos.fetch_add(
            u64::try_from(began.elapsed().as_nanos()).unwrap_or(u64::MAX),
            Relaxed,
        );
    }

    /// Waits while the throttle is engaged, or until `halted` says the job is stopping.
    pub(crate) fn wait(&self, halted: &dyn Fn() -> bool) {
        while self.engaged.load(Relaxed) && !halted() {
            std::thread::sleep(LOOK);
        }
    }

    /// What it has done so far.
    pub fn snapshot(&self) -> ThrottleSnapshot {
        ThrottleSnapshot {
            now: if self.engaged.load(Relaxed) {
                self.why
                    .lock()
                    .expect("throttle lock")
                    .as_ref()
                    .map(|(_, why)| why.clone())
            } else {
                None
            },
            engaged: ThrottleReason::ALL
                .iter()
                .map(|r| (r.name(), self.engaged_nanos[r.index()].load(Relaxed)))
                .filter(|(_, nanos)| *nanos > 0)
                .map(|(name, nanos)| (name, Duration::from_nanos(nanos)))
                .collect(),
            paced: Duration::from_nanos(self.paced_nanos.load(Relaxed)),
            limits: self.limits(),
        }
    }

    fn set(&self, why: Option<(ThrottleReason, String)>, elapsed: Duration) {
        let mut current = self.why.lock().expect("throttle lock");
        // The time since the last sample goes to what held then.
        if self.engaged.load(Relaxed)
            && let Some((reason, _)) = current.as_ref()
        {
            self.engaged_nanos[reason.index()].fetch_add(
                u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX),
                Relaxed,
            );
        }
        match why {
            Some(why) => {
                if !self.engaged.load(Relaxed) {
                    tracing::info!("throttling: {}", why.1);
                }
                *current = Some(why);
                self.engaged.store(true, Relaxed);
            }
            None => {
                if self.engaged.load(Relaxed) {
                    tracing::info!("throttle released");
                }
                self.engaged.store(false, Relaxed);
            }
        }
    }
}

/// Takes a job's `limits` (unless a limits file decides them) and, when anything is to be
/// watched, starts the [`monitor`] of `plan`'s servers on a thread of `scope` until `finished`.
pub(crate) fn start<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    plan: &'scope crate::copy::CopyPlan,
    limits: ThrottleLimits,
    throttle: &'scope Throttle,
    finished: &'scope AtomicBool,
) {
    throttle.adopt(limits);
    if throttle.watched() {
        std::thread::Builder::new()
            .name("reshard-throttle".into())
            .spawn_scoped(scope, move || {
                monitor(
                    &plan.sources,
                    &plan.targets,
                    &plan.replicas,
                    throttle,
                    finished,
                );
            })
            .expect("spawning the throttle monitor");
    }
}

/// Samples `sources` and `targets` (and `replicas`, replicas of any of them, for their lag)
/// against `limits` until `finished`, engaging and releasing `throttle` (blocking; run it on a
/// thread of its own).
pub(crate) fn monitor(
    sources: &[Dsn],
    targets: &[Dsn],
    replicas: &[Dsn],
    throttle: &Throttle,
    finished: &AtomicBool,
) {
    if !throttle.watched() {
        return;
    }

    // Replicas are read with the async client (it names `SHOW SLAVE STATUS`'s columns).
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            tracing::warn!("cannot start the throttle's runtime ({e}); not throttling");
            return;
        }
    };
    let mut replica_sessions: Vec<Option<reshard_mysql::Session>> =
        replicas.iter().map(|_| None).collect();
    let servers: Vec<(&Dsn, bool)> = sources
        .iter()
        .map(|d| (d, true))
        .chain(targets.iter().map(|d| (d, false)))
        .collect();
    let mut conns: Vec<Option<RawConn>> = servers.iter().map(|_| None).collect();
    let mut last = Instant::now();
    while !finished.load(Relaxed) {
        throttle.reread_file();
        let limits = throttle.limits();
        let mut why = limits.max_replica_lag.and_then(|max| {
            replicas
                .iter()
                .zip(&mut replica_sessions)
                .find_map(|(dsn, session)| runtime.block_on(replica_over(dsn, max, session)))
        });
        for ((dsn, is_source), conn) in servers.iter().zip(&mut conns) {
            if why.is_some() || !limits.samples_servers() {
                break;
            }
            match over_limit(dsn, *is_source, limits, conn) {
                Ok(None) => {}
                Ok(Some(over)) => {
                    why = Some(over);
                    break;
                }
                Err(e) => {
                    *conn = None;
                    why = Some((
                        ThrottleReason::Unreadable,
                        format!("cannot read the load of {dsn} ({e}); waiting until it answers"),
                    ));
                    break;
                }
            }
        }
        let now = Instant::now();
        throttle.set(why, now - last);
        last = now;
        let mut slept = Duration::ZERO;
        while slept < SAMPLE_EVERY && !finished.load(Relaxed) {
            std::thread::sleep(LOOK);
            slept += LOOK;
        }
    }
    throttle.set(None, last.elapsed());
}

/// Why replica `dsn` holds the job back, if it does: lag over `max`, unknown lag (its SQL
/// thread stopped), or no answer.
async fn replica_over(
    dsn: &Dsn,
    max: u64,
    session: &mut Option<reshard_mysql::Session>,
) -> Option<(ThrottleReason, String)> {
    if session.is_none() {
        match reshard_mysql::connect_server(dsn).await {
            Ok(s) => *session = Some(s),
            Err(e) => {
                return Some((
                    ThrottleReason::Unreadable,
                    format!("cannot read replica {dsn} ({e}); waiting until it answers"),
                ));
            }
        }
    }
    let open = session.as_mut().expect("connected above");
    match reshard_mysql::replica_lag(open).await {
        Ok(Some(lag)) if lag <= max => None,
        Ok(Some(lag)) => Some((
            ThrottleReason::ReplicaLag,
            format!("replica {dsn} is {lag} s behind, over --max-replica-lag {max}"),
        )),
        Ok(None) => Some((
            ThrottleReason::ReplicaLag,
            format!(
                "replica {dsn} does not know its lag (its SQL thread is stopped, or it is not replicating)"
            ),
        )),
        Err(e) => {
            *session = None;
            Some((
                ThrottleReason::Unreadable,
                format!("cannot read replica {dsn} ({e}); waiting until it answers"),
            ))
        }
    }
}

/// Whether `dsn` is over a limit now, and which.
fn over_limit(
    dsn: &Dsn,
    is_source: bool,
    limits: ThrottleLimits,
    conn: &mut Option<RawConn>,
) -> Result<Option<(ThrottleReason, String)>, reshard_mysql::MysqlError> {
    if conn.is_none() {
        let mut fresh = RawConn::connect(dsn)?;
        // A server that hangs must not freeze the throttle in whatever state it is.
        fresh.set_read_timeout(Some(QUERY_WAIT))?;
        *conn = Some(fresh);
    }
    let conn = conn.as_mut().expect("connected above");
    if let Some(max) = limits.max_threads_running {
        // This sample's own statement is one of the running threads.
        let running =
            number(conn, "SHOW GLOBAL STATUS LIKE 'Threads_running'", 1)?.saturating_sub(1);
        if running > max {
            return Ok(Some((
                ThrottleReason::ThreadsRunning,
                format!("{dsn} has {running} threads running, over --max-threads-running {max}"),
            )));
        }
    }
    if is_source && let Some(max) = limits.max_history_length {
        let length = number(
            conn,
            "SELECT COUNT FROM information_schema.INNODB_METRICS WHERE NAME = 'trx_rseg_history_len'",
            0,
        )?;
        if length > max {
            return Ok(Some((
                ThrottleReason::HistoryLength,
                format!(
                    "{dsn} has an InnoDB history list of {length}, over --max-history-length {max}"
                ),
            )));
        }
    }
    Ok(None)
}

/// Column `column` of the first row of `sql`, as a number.
fn number(conn: &mut RawConn, sql: &str, column: usize) -> Result<u64, reshard_mysql::MysqlError> {
    let row = first_row(conn, sql)?;
    let text = row
        .and_then(|r| r.into_iter().nth(column).flatten())
        .map(|v| String::from_utf8_lossy(&v).into_owned())
        .unwrap_or_default();
    text.trim()
        .parse()
        .map_err(|_| reshard_mysql::MysqlError::Unexpected {
            server: conn.dsn().to_string(),
            doing: "reading the server's load",
            detail: format!("`{sql}` gave '{text}', not a number"),
        })
}

/// Takes each sample `limits` needs once, before anything is written: a limit whose figure this
/// user may not read (`PROCESS` for the history list, `REPLICATION CLIENT`/`SLAVE MONITOR` for
/// a replica's status) would otherwise hold the job back for ever. Transient failures pass (the
/// monitor retries them, holding the job back meanwhile).
pub fn preflight(
    sources: &[Dsn],
    targets: &[Dsn],
    replicas: &[Dsn],
    limits: ThrottleLimits,
) -> Result<(), String> {
    use reshard_types::ErrorClass;
    let definite = |dsn: &Dsn, e: &reshard_mysql::MysqlError, what: &str| {
        (e.class() == ErrorClass::Definite).then(|| {
            format!(
                "the throttle cannot read {what} on {dsn} ({e}); grant what it needs, or drop that limit"
            )
        })
    };
    if limits.samples_servers() {
        for (dsn, is_source) in sources
            .iter()
            .map(|d| (d, true))
            .chain(targets.iter().map(|d| (d, false)))
        {
            let mut conn = None;
            if let Err(e) = over_limit(dsn, is_source, limits, &mut conn)
                && let Some(why) = definite(dsn, &e, "its load")
            {
                return Err(why);
            }
        }
    }
    if limits.max_replica_lag.is_some() && !replicas.is_empty() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("starting the throttle's runtime: {e}"))?;
        for dsn in replicas {
            let read = runtime.block_on(async {
                let mut session = reshard_mysql::connect_server(dsn).await?;
                reshard_mysql::replica_lag(&mut session).await
            });
            if let Err(e) = read
                && let Some(why) = definite(dsn, &e, "the replica's status")
            {
                return Err(why);
            }
        }
    }
    Ok(())
}
