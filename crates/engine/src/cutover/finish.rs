//! What a run of a move does first when its checkpoint says a cutover was under way or done
//! (see [`super`]): say it has cut over, finish the renames a crash interrupted, or refuse until
//! the operator says whether a hook that was running at a crash finished.

use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;

use super::EarlierHook;
use super::locks::table_exists;
use super::record::{CutoverRecord, CutoverStep};
use crate::checkpoint::{Checkpoint, CheckpointStore, Phase};
use crate::error::CopyError;
use crate::topology::Topology;

/// The finished (cut over, completed or rolled back) move between these servers (and of these tables, if the topology names them),
/// if the first target holds one: the move run again has nothing to do.
pub fn cut_over_move(topology: &Topology) -> Result<Option<Checkpoint>, CopyError> {
    let mut store = CheckpointStore::new(&topology.targets[0].dsn, &[]);
    let found = store.all()?;
    Ok(found.into_iter().find(|c| {
        c.phase.is_finished()
            && c.identity.same_servers(topology)
            && topology.tables.as_ref().is_none_or(|names| {
                let mut names = names.clone();
                names.sort();
                let mut moved = c.identity.table_names();
                moved.sort();
                names == moved
            })
    }))
}

/// Finishes or refuses a cutover that `found` says was under way. `Some(record)` after completing
/// the renames of a run that crashed among them (the checkpoint saved as cut over); `None` when
/// the move goes on (no cutover under way, or one the move's driver takes up again).
pub fn resume_cutover(
    topology: &Topology,
    found: &Checkpoint,
    store: &mut CheckpointStore,
    earlier_hook: EarlierHook,
) -> Result<Option<CutoverRecord>, CopyError> {
    let Some(record) = &found.cutover else {
        return Ok(None);
    };
    match record.step {
        CutoverStep::Locking | CutoverStep::HookDone => Ok(None),
        CutoverStep::HookRunning if earlier_hook != EarlierHook::Unknown => Ok(None),
        CutoverStep::HookRunning => Err(CopyError::Refused(format!(
            "an earlier run of this move was running its cutover hook (started {} s ago, Unix time {}) when it stopped, so whether the hook finished is not known; nothing was written. \
             The locked tables are writable again, nothing is renamed. If the hook switched the application (it now writes where this run switches it to), run the same command with --cutover-hook-ran to finish without the hook; \
             if it did not, with --run-cutover-hook-again",
            crate::online::unix_now()
                .saturating_sub(record.hook_started_at.unwrap_or(record.started_at)),
            record.hook_started_at.unwrap_or(record.started_at)
        ))),
        CutoverStep::Renaming | CutoverStep::Done => {
            // The renames are not atomic across sources: a crash among them released the locks,
            // and statements that waited on them may then have written to a source not renamed
            // yet. Each such source is locked again, what it logged since the locked position is
            // applied to the targets, and it is renamed.
            finish_renames(topology, found, record)?;
            if record.restore_targets {
                restore_targets(topology, found, &record.suffix)?;
            }
            let mut done = found.clone();
            let mut record = record.clone();
            record.step = CutoverStep::Done;
            record.done_at = Some(crate::online::unix_now());
            done.cutover = Some(record.clone());
            done.phase = Phase::CutOver;
            done.saved_at = crate::online::unix_now();
            store
                .save(&done)
                .map_err(|e| CopyError::Checkpoint(Box::new(e)))?;
            Ok(Some(record))
        }
    }
}

/// Renames what the crashed run left unrenamed, each such source locked first; what it logged
/// for the moved tables since the cutover's positions (statements that waited on the crashed
/// run's lock) is applied to the targets before. Refuses a source that holds both names, or
/// neither.
fn finish_renames(
    topology: &Topology,
    found: &Checkpoint,
    record: &CutoverRecord,
) -> Result<(), CopyError> {
    let server = |e: MysqlError| CopyError::Server(Box::new(e));
    let suffix = &record.suffix;
    for (i, source) in topology.sources.iter().enumerate() {
        let database = source.database().unwrap_or_default().to_owned();
        let mut conn = RawConn::connect(source).map_err(server)?;
        let mut left = Vec::new();
        for name in found.identity.table_names() {
            let old = format!("{name}{suffix}");
            match (
                table_exists(&mut conn, &database, &name).map_err(server)?,
                table_exists(&mut conn, &database, &old).map_err(server)?,
            ) {
                (false, true) => {}
                (true, false) => left.push(name),
                (true, true) => {
                    return Err(CopyError::Refused(format!(
                        "the cutover of this move stopped while renaming the source tables, and {source} now holds both `{name}` and `{old}`; \
                         find out which holds the rows (a table created since?), keep that one as `{old}`, then run the same command again"
                    )));
                }
                (false, false) => {
                    return Err(CopyError::Refused(format!(
                        "the cutover of this move stopped while renaming the source tables, and {source} holds neither `{name}` nor `{old}`; \
                         put the table back as `{old}`, then run the same command again"
                    )));
                }
            }
        }
        if left.is_empty() {
            continue;
        }
        let quote = reshard_convert::encode::load_data::quote_identifier;
        let list: Vec<String> = left
            .iter()
            .map(|n| format!("{}.{} WRITE", quote(&database), quote(n)))
            .collect();
        conn.query_drop(&format!("LOCK TABLES {}", list.join(", ")))
            .map_err(server)?;
        let since = record
            .source_positions
            .get(i)
            .map(reshard_types::BinlogPosition::from)
            .ok_or_else(|| {
                CopyError::Internal(String::from(
                    "a cutover record without the positions of its sources",
                ))
            })?;
        let written = match row_events_since(&mut conn, &since, &database, &left) {
            Ok(n) => n,
            Err(e) => {
                let _ = conn.query_drop("UNLOCK TABLES");
                return Err(server(e));
            }
        };
        if written > 0 {
            // Applied to the targets from the locked position on, the source held locked
            // meanwhile (the application, switched, no longer writes there).
            tracing::warn!(source = %source, events = written, "statements that waited on the cutover's lock wrote to this source after it, before it was renamed; applying their changes to the targets");
            if let Err(e) = catch_up_source(topology, i, &left, &since) {
                let _ = conn.query_drop("UNLOCK TABLES");
                return Err(e);
            }
        }
        for name in &left {
            let renamed = conn.query_drop(&format!(
                "ALTER TABLE {db}.{t} RENAME TO {db}.{old}",
                db = quote(&database),
                t = quote(name),
                old = quote(&format!("{name}{suffix}"))
            ));
            if let Err(e) = renamed {
                let _ = conn.query_drop("UNLOCK TABLES");
                return Err(server(e));
            }
            tracing::info!(source = %source, table = %name, "renamed (finishing the cutover of an earlier run)");
        }
        let _ = conn.query_drop("UNLOCK TABLES");
    }
    Ok(())
}

/// Applies the changes of `tables` that source `source` logged after `since` to the targets (a
/// move with nothing to copy, run until caught up with the source's binlog end).
fn catch_up_source(
    topology: &Topology,
    source: usize,
    tables: &[String],
    since: &reshard_types::BinlogPosition,
) -> Result<(), CopyError> {
    use crate::online::{MoveEnd, MoveOptions, MoveProgress, SourceLag, run_move};
    let mut one = topology.clone();
    one.sources = vec![topology.sources[source].clone()];
    one.source_ranges = None;
    one.tables = Some(tables.to_vec());
    let copy_tables = tokio::runtime::Handle::current().block_on(crate::copy::plan_verify(&one))?;
    let plan = crate::copy::CopyPlan {
        sources: one.sources.clone(),
        targets: one.targets.iter().map(|t| t.dsn.clone()).collect(),
        target_names: one.targets.iter().map(|t| t.name.clone()).collect(),
        router: one.router.clone(),
        tables: copy_tables,
        replicas: Vec::new(),
        target_suffix: String::new(),
    };
    let progress = MoveProgress::new(
        crate::progress::CopyProgress::new(Vec::new()),
        vec![SourceLag::new(one.sources[0].to_string(), since.clone())],
    );
    let options = MoveOptions {
        copy: crate::copy::CopyOptions::default(),
        stop_when_caught_up: Some(std::time::Duration::ZERO),
        server_id: crate::job::default_server_id(),
        tables_already_copied: true,
        verify: None,
    };
    match run_move(
        &plan,
        options,
        &progress,
        &std::sync::atomic::AtomicBool::new(false),
    )? {
        MoveEnd::CaughtUp => Ok(()),
        other => Err(CopyError::Internal(format!(
            "applying what {} logged after the cutover's lock ended {other:?}",
            one.sources[0]
        ))),
    }
}

/// Row events of `database.tables` in the binlog of the server of `conn` after `since` (each
/// `Table_map` event names its table).
fn row_events_since(
    conn: &mut RawConn,
    since: &reshard_types::BinlogPosition,
    database: &str,
    tables: &[String],
) -> Result<u64, MysqlError> {
    let names: Vec<String> = tables.iter().map(|t| format!("({database}.{t})")).collect();
    let mut files = Vec::new();
    conn.query_rows(
        "SHOW BINARY LOGS",
        &mut reshard_mysql::wire::Rows(|row: &[u8]| {
            if let Some(Some(name)) = reshard_mysql::wire::text::text_row_fields(row).first() {
                files.push(String::from_utf8_lossy(name).into_owned());
            }
            Ok(())
        }),
    )?;
    let mut count = 0u64;
    for file in files.iter().filter(|f| f.as_str() >= since.file()) {
        let mut from = if file == since.file() {
            since.offset()
        } else {
            4
        };
        loop {
            let mut seen = 0;
            let mut next = from;
            conn.query_rows(
                &format!(
                    "SHOW BINLOG EVENTS IN '{}' FROM {from} LIMIT 10000",
                    file.replace('\'', "''")
                ),
                &mut reshard_mysql::wire::Rows(|row: &[u8]| {
                    let fields = reshard_mysql::wire::text::text_row_fields(row);
                    seen += 1;
                    let field = |i: usize| {
                        fields
                            .get(i)
                            .and_then(|f| f.as_ref())
                            .map(|f| String::from_utf8_lossy(f).into_owned())
                            .unwrap_or_default()
                    };
                    if field(2) == "Table_map"
                        && names.iter().any(|n| field(5).ends_with(n.as_str()))
                    {
                        count += 1;
                    }
                    if let Ok(end) = field(4).parse::<u64>() {
                        next = next.max(end);
                    }
                    Ok(())
                }),
            )?;
            if seen < 10_000 || next <= from {
                break;
            }
            from = next;
        }
    }
    Ok(count)
}

/// A rollback's last rename: every target's `<table><suffix>` back to `<table>` (where the
/// rollback stopped before it).
fn restore_targets(topology: &Topology, found: &Checkpoint, suffix: &str) -> Result<(), CopyError> {
    let server = |e: MysqlError| CopyError::Server(Box::new(e));
    for target in &topology.targets {
        let database = target.dsn.database().unwrap_or_default().to_owned();
        let mut conn = RawConn::connect(&target.dsn).map_err(server)?;
        for name in found.identity.table_names() {
            let old = format!("{name}{suffix}");
            match (
                table_exists(&mut conn, &database, &name).map_err(server)?,
                table_exists(&mut conn, &database, &old).map_err(server)?,
            ) {
                (true, false) => {}
                (false, true) => {
                    super::locks::restore(&mut conn, &database, &name, suffix).map_err(server)?;
                }
                _ => {
                    return Err(CopyError::Refused(format!(
                        "the rollback of this move stopped while renaming `{old}` back to `{name}` on {}, which now holds both or neither; put the rows back as `{name}`, then run the same command again",
                        target.dsn
                    )));
                }
            }
        }
    }
    Ok(())
}
