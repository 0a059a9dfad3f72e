//! `reshard bench`: how fast a copy goes between these servers, and what limits it.
//!
//! Order of work: build the topology (one source, the targets, the bench table sharded by its
//! `id` under the chosen vindex); look at the bench table on every server and refuse a table of
//! that name that bench did not create (its comment says so), before anything is written;
//! drop leftovers of earlier `--keep` runs on the targets; generate the table on the source
//! ([`profile`]), or keep it with `--reuse` when it has the asked profile and row count; set up
//! the targets and copy exactly as `reshard copy` does, with the same per-stage counters
//! ([`reshard_engine::stages`]), reading CPU before and after ([`measure`]); check each target's
//! row count; report ([`report`]); drop what it created unless `--keep`.
//!
//! A table is marked as bench's own by its comment: `reshard bench: generating` while its rows
//! are inserted, then `reshard bench: profile=P rows=N` once complete, so an interrupted
//! generation is never reused.

mod measure;
mod profile;
mod report;

use std::sync::Arc;
use std::time::{Duration, Instant};

use reshard_convert::encode::load_data::quote_identifier;
use reshard_engine::config::TopologyInput;
use reshard_engine::copy::{CopyEnd, TargetLocks, lock_targets};
use reshard_engine::job::{CopyJob, Event, Observer};
use reshard_engine::progress::CopyProgress;
use reshard_engine::topology::Topology;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;
use reshard_types::Dsn;

use crate::Failure;
use crate::args::BenchArgs;
use crate::output::out;
use crate::progress_display::ProgressDisplay;
use profile::{MAX_ROW_BYTES, Profile};
use report::{
    ChannelReport, CpuReport, LimitReport, Network, Report, ServerCpu, Settings, TargetReport,
    stage_reports,
};

/// The comment of a table bench is still filling.
const GENERATING: &str = "reshard bench: generating";
/// What every bench table's comment starts with.
const MARK: &str = "reshard bench:";

pub(crate) async fn run(args: BenchArgs) -> Result<(), Failure> {
    let profile = match (args.row_bytes, &args.profile) {
        (Some(bytes), _) => {
            let bytes = u32::try_from(bytes)
                .ok()
                .filter(|&b| (9..=MAX_ROW_BYTES).contains(&b))
                .ok_or_else(|| {
                    Failure::BadInput(format!(
                        "--row-bytes {bytes} is out of range: give 9 bytes (an id and one byte) to {} (4M)",
                        MAX_ROW_BYTES
                    ))
                })?;
            Profile::RowBytes(bytes)
        }
        (None, Some(name)) => Profile::parse(name).map_err(Failure::BadInput)?,
        (None, None) => Profile::Wide,
    };
    let rows = args.rows.unwrap_or_else(|| profile.default_rows());
    if rows == 0 {
        return Err(Failure::BadInput(String::from("--rows must be at least 1")));
    }
    let table = profile.table_name();
    let topology = TopologyInput {
        sources: vec![args.source.clone()],
        targets: args.targets.clone(),
        shard_by: vec![format!("{table}=id:{}", args.vindex)],
        key_ranges: args.key_ranges.clone(),
        tables: Some(vec![table.clone()]),
        source_password: crate::secrets::role_password(None, crate::secrets::SOURCE_PASSWORD_ENV)?,
        target_password: crate::secrets::role_password(None, crate::secrets::TARGET_PASSWORD_ENV)?,
        ..TopologyInput::default()
    }
    .topology()
    .map_err(|e| Failure::BadInput(e.to_string()))?;
    // Held until this function returns, cleanup included: no other run writes into the targets.
    let locks = lock_targets(&topology)
        .await
        .map_err(crate::failures::failure)?;
    let source = topology.sources[0].clone();
    let targets: Vec<Dsn> = topology.targets.iter().map(|t| t.dsn.clone()).collect();
    let comment = format!("{MARK} profile={} rows={rows}", profile.name());

    // Look everywhere before writing anything.
    let (source_state, target_states) = blocking({
        let (source, targets, table) = (source.clone(), targets.clone(), table.clone());
        move || {
            let source_state = table_state(&source, &table)?;
            let target_states = targets
                .iter()
                .map(|t| table_state(t, &table))
                .collect::<Result<Vec<_>, _>>()?;
            Ok((source_state, target_states))
        }
    })
    .await?;
    for (dsn, state) in
        std::iter::once((&source, &source_state)).chain(targets.iter().zip(&target_states))
    {
        if let TableState::Foreign = state {
            return Err(Failure::Unfit(format!(
                "{dsn} already holds a table `{table}` that reshard bench did not create (its comment does not start with '{MARK}'); \
                 nothing was changed. Drop or rename it, or point bench at another database"
            )));
        }
    }
    let reuse = args.reuse && source_state == TableState::Bench(comment.clone());
    blocking({
        let (targets, table) = (targets.clone(), table.clone());
        move || {
            for (dsn, state) in targets.iter().zip(&target_states) {
                if matches!(state, TableState::Bench(_)) {
                    drop_table(dsn, &table)?;
                }
            }
            Ok(())
        }
    })
    .await?;
    let generate_started = Instant::now();
    if !reuse {
        let (source, table, comment) = (source.clone(), table.clone(), comment.clone());
        let threads = usize::from(args.tuning.threads).clamp(1, 4);
        blocking(move || generate(&source, &table, profile, rows, &comment, threads)).await?;
    }
    let generate_seconds = if reuse {
        0.0
    } else {
        generate_started.elapsed().as_secs_f64()
    };
    let owned = Owned {
        source: (!args.reuse && !args.keep).then(|| source.clone()),
        targets: if args.keep {
            Vec::new()
        } else {
            targets.clone()
        },
        table: table.clone(),
    };
    let outcome = copy_and_report(
        &args,
        &topology,
        &locks,
        profile,
        rows,
        reuse,
        generate_seconds,
    )
    .await;
    let cleaned = blocking(move || owned.drop_all()).await;
    let report = outcome?;
    cleaned?;
    if args.json {
        let json = serde_json::to_string_pretty(&report)
            .map_err(|e| Failure::Unfit(format!("cannot write the report as JSON: {e}")))?;
        out!("{json}");
    } else {
        let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), report.human().as_bytes());
    }
    Ok(())
}

/// The tables a run drops when it ends.
struct Owned {
    source: Option<Dsn>,
    targets: Vec<Dsn>,
    table: String,
}

impl Owned {
    fn drop_all(&self) -> Result<(), Failure> {
        for dsn in self.source.iter().chain(&self.targets) {
            drop_table(dsn, &self.table)?;
        }
        Ok(())
    }
}

/// What bench measures around the copy itself: CPU of reshard and of the servers when the copy
/// starts and when it ends (setup and the row-count check are not measured), and the display.
struct Measure {
    servers: Vec<Server>,
    show_progress: bool,
    at_copy: std::sync::Mutex<Option<Reading>>,
    at_end: std::sync::Mutex<Option<Reading>>,
    progress: std::sync::Mutex<Option<Arc<CopyProgress>>>,
    display: std::sync::Mutex<Option<ProgressDisplay>>,
}

/// CPU used so far by reshard and by each server, at an instant.
struct Reading {
    at: Instant,
    reshard: Result<Duration, String>,
    servers: Vec<Result<Duration, String>>,
}

impl Measure {
    fn read(&self) -> Reading {
        Reading {
            at: Instant::now(),
            reshard: measure::process_cpu("self"),
            servers: servers_cpu(&self.servers),
        }
    }

    /// Stops the display; `completed` says whether the copy finished.
    fn finish(&self, completed: bool) {
        if let Some(display) = self.display.lock().expect("bench lock").take() {
            display.finish(completed);
        }
    }
}

impl Observer for Measure {
    fn event(&self, event: &Event<'_>) {
        match event {
            Event::Copying(progress) => {
                *self.progress.lock().expect("bench lock") = Some(Arc::clone(progress));
                if self.show_progress {
                    *self.display.lock().expect("bench lock") =
                        Some(ProgressDisplay::start(Arc::clone(progress)));
                }
                *self.at_copy.lock().expect("bench lock") = Some(self.read());
            }
            Event::Finishing => *self.at_end.lock().expect("bench lock") = Some(self.read()),
            _ => {}
        }
    }
}

/// Sets up the targets, copies with measurements, checks the targets (a copy job under the
/// locks bench holds), and builds the report.
async fn copy_and_report(
    args: &BenchArgs,
    topology: &Topology,
    locks: &TargetLocks,
    profile: Profile,
    table_rows: u64,
    reused: bool,
    generate_seconds: f64,
) -> Result<Report, Failure> {
    let options = args.tuning.copy_options();
    let job = CopyJob::new(topology.clone())
        .options(options)
        .stage_timing(!args.no_stage_timing);
    let measure = Measure {
        servers: server_pids(topology).await,
        show_progress: !args.json,
        at_copy: std::sync::Mutex::new(None),
        at_end: std::sync::Mutex::new(None),
        progress: std::sync::Mutex::new(None),
        display: std::sync::Mutex::new(None),
    };
    let cancel = crate::signals::watch("stopping the benchmark's copy");
    let outcome = job.run_locked(locks, &cancel, &measure).await;
    measure.finish(matches!(&outcome, Ok(report) if report.end == CopyEnd::Done));
    let report = outcome.map_err(|e| {
        let failure = crate::failures::failure(e);
        match measure.progress.lock().expect("bench lock").as_ref() {
            Some(progress) => crate::failures::with_leftovers(failure, progress),
            None => failure,
        }
    })?;
    let progress = &report.progress;
    if report.end == CopyEnd::Interrupted {
        return Err(Failure::Interrupted(crate::failures::unfinished(progress)));
    }
    let (Some(before), Some(after)) = (
        measure.at_copy.lock().expect("bench lock").take(),
        measure.at_end.lock().expect("bench lock").take(),
    ) else {
        return Err(Failure::Unfit(String::from(
            "the copy ended without reporting its start and end; nothing was measured",
        )));
    };
    let servers = measure.servers;
    let cpu_before = (before.reshard, before.servers);
    let cpu_after = (after.reshard, after.servers);
    let wall = after.at.duration_since(before.at);
    let snapshot = &progress.snapshot()[0];
    let stages = progress.stages.snapshot();
    let wall_seconds = wall.as_secs_f64();
    #[allow(clippy::cast_precision_loss)] // report figures
    let per_second = |n: u64| n as f64 / wall_seconds.max(f64::MIN_POSITIVE);
    let rows = snapshot.rows_read;
    let reshard_cpu = match (&cpu_before.0, &cpu_after.0) {
        (Ok(before), Ok(after)) => Ok(after.saturating_sub(*before)),
        (Err(e), _) | (_, Err(e)) => Err(e.clone()),
    };
    #[allow(clippy::cast_precision_loss)] // report figures
    let cpu = CpuReport {
        reshard_seconds: reshard_cpu.as_ref().ok().map(Duration::as_secs_f64),
        reshard_seconds_per_million_rows: reshard_cpu
            .as_ref()
            .ok()
            .map(|c| c.as_secs_f64() * 1e6 / (rows.max(1) as f64)),
        reshard_cores: reshard_cpu
            .as_ref()
            .ok()
            .map(|c| c.as_secs_f64() / wall_seconds.max(f64::MIN_POSITIVE)),
        machine_cores: std::thread::available_parallelism().map_or(1, usize::from),
        servers: servers
            .iter()
            .zip(cpu_before.1.iter().zip(&cpu_after.1))
            .map(|(server, (before, after))| {
                let spent = match (&server.pid, before, after) {
                    (Err(why), _, _) => Err(why.clone()),
                    (Ok(_), Ok(b), Ok(a)) => Ok(a.saturating_sub(*b)),
                    (Ok(_), Err(e), _) | (Ok(_), _, Err(e)) => Err(e.clone()),
                };
                ServerCpu {
                    server: server.address.clone(),
                    roles: server.roles.clone(),
                    cpu_seconds: spent.as_ref().ok().map(Duration::as_secs_f64),
                    cores: spent
                        .as_ref()
                        .ok()
                        .map(|c| c.as_secs_f64() / wall_seconds.max(f64::MIN_POSITIVE)),
                    unavailable: spent.err(),
                }
            })
            .collect(),
        unavailable: reshard_cpu.err(),
    };
    Ok(Report {
        table: snapshot.name.clone(),
        profile: profile.name(),
        table_rows,
        reused,
        generate_seconds,
        source: topology.sources[0].to_string(),
        targets: topology
            .targets
            .iter()
            .zip(&snapshot.rows_per_target)
            .map(|(t, &rows)| TargetReport {
                dsn: t.dsn.to_string(),
                key_range: t.range.to_string(),
                rows,
            })
            .collect(),
        settings: Settings {
            threads: options.read_threads,
            write_threads: options.write_threads,
            chunk_bytes: options.target_chunk_bytes,
            vindex: args.vindex.clone(),
            stage_timing: stages.timed,
        },
        rows,
        wall_seconds,
        rows_per_second: per_second(rows),
        mb_per_second: per_second(snapshot.bytes_read) / 1e6,
        row_bytes_read: snapshot.bytes_read,
        load_bytes_written: snapshot.bytes_written,
        network: Network {
            bytes_in: stages.bytes_in,
            bytes_out: stages.bytes_out,
        },
        stages: stage_reports(&stages, wall),
        channels: stages
            .channel_waits
            .iter()
            .enumerate()
            .map(|(target, w)| ChannelReport {
                target,
                send_wait_seconds: w.send.as_secs_f64(),
                recv_wait_seconds: w.recv.as_secs_f64(),
            })
            .collect(),
        limiting_stage: stages.limit(wall).map(|limit| LimitReport {
            stage: limit.stage.name(),
            share_of_wall: limit.share,
            other_side_waiting: limit.other_side_waiting,
            summary: limit.describe(),
        }),
        cpu,
    })
}

/// A server of the run, with its roles and (when local) its pid.
struct Server {
    address: String,
    roles: Vec<String>,
    pid: Result<u32, String>,
}

/// The distinct servers of `topology` (a server holding the source and a target database is
/// one process, measured once).
async fn server_pids(topology: &Topology) -> Vec<Server> {
    let roles = std::iter::once((String::from("source"), topology.sources[0].clone())).chain(
        topology
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| (format!("target {}", i + 1), t.dsn.clone())),
    );
    let mut servers: Vec<Server> = Vec::new();
    for (role, dsn) in roles {
        let address = dsn.server();
        if let Some(known) = servers.iter_mut().find(|s| s.address == address) {
            known.roles.push(role);
            continue;
        }
        let pid = tokio::task::spawn_blocking(move || measure::server_pid(&dsn))
            .await
            .unwrap_or_else(|e| Err(e.to_string()));
        servers.push(Server {
            address,
            roles: vec![role],
            pid,
        });
    }
    servers
}

fn servers_cpu(servers: &[Server]) -> Vec<Result<Duration, String>> {
    servers
        .iter()
        .map(|s| match &s.pid {
            Ok(pid) => measure::process_cpu(&pid.to_string()),
            Err(why) => Err(why.clone()),
        })
        .collect()
}

/// What a server holds under the bench table's name.
#[derive(Debug, Clone, PartialEq, Eq)]
enum TableState {
    Missing,
    /// A table bench created, with this comment.
    Bench(String),
    /// A table of someone else's.
    Foreign,
}

/// `_utf8mb4 X'…'`: a string literal that needs no escaping under any `sql_mode`.
fn literal(text: &str) -> String {
    let hex: String = text.bytes().map(|b| format!("{b:02X}")).collect();
    format!("_utf8mb4 X'{hex}'")
}

/// `` `db`.`table` `` on `dsn`.
fn qualified(dsn: &Dsn, table: &str) -> String {
    format!(
        "{}.{}",
        quote_identifier(dsn.database().unwrap_or_default()),
        quote_identifier(table)
    )
}

/// Whether `dsn`'s database holds `table`, and whose it is.
fn table_state(dsn: &Dsn, table: &str) -> Result<TableState, Failure> {
    let mut conn = open(dsn)?;
    let sql = format!(
        "SELECT TABLE_COMMENT FROM information_schema.TABLES WHERE TABLE_SCHEMA = {} AND TABLE_NAME = {}",
        literal(dsn.database().unwrap_or_default()),
        literal(table)
    );
    let row = first_row(&mut conn, &sql).map_err(|e| Failure::Unfit(e.to_string()))?;
    Ok(match row {
        None => TableState::Missing,
        Some(fields) => {
            let comment = fields
                .into_iter()
                .next()
                .flatten()
                .map(|c| String::from_utf8_lossy(&c).into_owned())
                .unwrap_or_default();
            if comment.starts_with(MARK) {
                TableState::Bench(comment)
            } else {
                TableState::Foreign
            }
        }
    })
}

fn open(dsn: &Dsn) -> Result<RawConn, Failure> {
    let mut conn = RawConn::connect(dsn).map_err(|e| Failure::Unfit(e.to_string()))?;
    conn.query_drop("SET NAMES utf8mb4")
        .map_err(|e| Failure::Unfit(e.to_string()))?;
    Ok(conn)
}

fn drop_table(dsn: &Dsn, table: &str) -> Result<(), Failure> {
    let mut conn = open(dsn)?;
    conn.query_drop(&format!("DROP TABLE IF EXISTS {}", qualified(dsn, table)))
        .map_err(|e| Failure::Unfit(format!("dropping the bench table on {dsn}: {e}")))?;
    Ok(())
}

/// Creates `table` on `source` and fills it with `rows` rows of `profile`, `threads` blocks at
/// a time, then marks it complete with `comment`.
fn generate(
    source: &Dsn,
    table: &str,
    profile: Profile,
    rows: u64,
    comment: &str,
    threads: usize,
) -> Result<(), Failure> {
    let name = qualified(source, table);
    let mut conn = open(source)?;
    let fail = |doing: &str, e: reshard_mysql::MysqlError| {
        Failure::Unfit(format!("{doing} the bench table {name} on {source}: {e}"))
    };
    conn.query_drop(&format!("DROP TABLE IF EXISTS {name}"))
        .map_err(|e| fail("dropping", e))?;
    conn.query_drop(&profile.create_sql(&name, GENERATING))
        .map_err(|e| fail("creating", e))?;
    tracing::info!(table = %name, rows, profile = %profile.name(), "generating the bench table");
    let block = profile.block_rows();
    let next = std::sync::atomic::AtomicU64::new(1);
    let first_error = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                let mut conn = match open(source) {
                    Ok(conn) => conn,
                    Err(e) => {
                        first_error.lock().expect("error lock").get_or_insert(e);
                        return;
                    }
                };
                loop {
                    if first_error.lock().expect("error lock").is_some() {
                        return;
                    }
                    let first = next.fetch_add(block, std::sync::atomic::Ordering::Relaxed);
                    if first > rows {
                        return;
                    }
                    let last = (first + block - 1).min(rows);
                    if let Err(e) = conn.query_drop(&profile.insert_block_sql(&name, first, last)) {
                        first_error
                            .lock()
                            .expect("error lock")
                            .get_or_insert(fail("filling", e));
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_error.into_inner().expect("error lock") {
        // A partial table is of no use; the next run would drop it anyway (its comment says it
        // is still being generated).
        if let Err(dropping) = conn.query_drop(&format!("DROP TABLE IF EXISTS {name}")) {
            tracing::warn!("could not drop the partial bench table {name} on {source}: {dropping}");
        }
        return Err(e);
    }
    conn.query_drop(&format!("ANALYZE TABLE {name}"))
        .map_err(|e| fail("analyzing", e))?;
    // The comment is made of a profile name and a number: nothing to escape.
    conn.query_drop(&format!("ALTER TABLE {name} COMMENT = '{comment}'"))
        .map_err(|e| fail("marking", e))?;
    Ok(())
}

/// Runs blocking server work off the async runtime.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, Failure> + Send + 'static,
) -> Result<T, Failure> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Failure::Unfit(format!("a bench task stopped unexpectedly: {e}")))?
}
