//! Before a resumed move writes anything else: every row of a (source, table) beyond what its
//! checkpoint says was copied is deleted from every target that receives the table, so that the
//! chunks the walk reads again land on targets holding nothing of them (see [`super`] for why
//! that is what makes resuming exact).
//!
//! With one source, that is every target row past the walk's place. With several, the rows past
//! one source's place include other sources' rows (keys of several sources interleave): a row is
//! deleted only when its key is on none of the other sources now. A key lives on one source, so
//! a key another source holds is that source's; a key no other source holds is this source's or
//! one another source has deleted, whose delete its stream will carry again (it restarts at the
//! checkpoint's position, before anything the targets hold).

use reshard_mysql::MysqlError;
use reshard_mysql::keyset::KeyWalk;
use reshard_mysql::reader::table_sql;
use reshard_mysql::wire::text::text_row_fields;
use reshard_mysql::wire::{RawConn, Rows};
use reshard_types::Dsn;

use super::Resume;
use crate::copy::{CopyPlan, TableRoute, in_database};
use crate::error::CopyError;

/// Rows deleted per statement, and keys looked up per query.
const BATCH: usize = 5000;
/// How long the writes of the run before (killed, its statements still running on a target)
/// are waited for before they are killed.
const SETTLE: std::time::Duration = std::time::Duration::from_secs(30);

/// Rows one cleanup deleted from one table on one target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cleaned {
    /// The table.
    pub table: String,
    /// The target's index.
    pub target: usize,
    /// Rows deleted.
    pub rows: u64,
}

/// Deletes, from every target, the rows of each unit of `copied` (source-major) beyond its
/// place. A table whose key cannot be walked, moved from several sources, is started over from
/// every source (its entries in `copied` become `Resume::Start`).
pub fn cleanup(plan: &CopyPlan, copied: &mut [Resume]) -> Result<Vec<Cleaned>, CopyError> {
    let tables = plan.tables.len();
    let mut cleaned = Vec::new();
    let mut conns: Vec<Option<RawConn>> = plan.targets.iter().map(|_| None).collect();
    for (target, dsn) in plan.targets.iter().enumerate() {
        let conn = open(&mut conns[target], dsn)?;
        settle(conn).map_err(|e| CopyError::Server(Box::new(e)))?;
    }
    let mut source_conns: Vec<Option<RawConn>> = plan.sources.iter().map(|_| None).collect();
    for (t, table) in plan.tables.iter().enumerate() {
        let walk = KeyWalk::new(&table.schema, &table.key).ok();
        let several = plan.sources.len() > 1;
        if several
            && walk.is_none()
            && (0..plan.sources.len()).any(|s| copied[s * tables + t] != Resume::End)
        {
            for s in 0..plan.sources.len() {
                copied[s * tables + t] = Resume::Start;
            }
        }
        let receiving: Vec<usize> = match table.route {
            TableRoute::To(target) => vec![target],
            TableRoute::Shard { .. } | TableRoute::Everywhere => (0..plan.targets.len()).collect(),
        };
        for (s, source) in plan.sources.iter().enumerate() {
            let region = match (&copied[s * tables + t], &walk) {
                (Resume::End, _) => continue,
                (Resume::Start, _) => None,
                (Resume::Below(below), Some(walk)) => {
                    Some(walk.at_least_int(below.parse().map_err(|_| {
                        CopyError::Internal(format!(
                            "a checkpoint's integer bound `{below}` is not an integer"
                        ))
                    })?))
                }
                (Resume::After(after), Some(walk)) => Some(walk.after(after)),
                (other, None) => {
                    return Err(CopyError::Internal(format!(
                        "a checkpoint's place {other:?} in {} does not fit its key",
                        table.schema.qualified_name()
                    )));
                }
            };
            for &target in &receiving {
                let dsn = &plan.targets[target];
                let name = table_sql(&in_database(&table.schema, dsn));
                let conn = open(&mut conns[target], dsn)?;
                let rows = match (&walk, several) {
                    (Some(walk), true) => {
                        let others: Vec<(usize, String)> = plan
                            .sources
                            .iter()
                            .enumerate()
                            .filter(|&(o, _)| o != s)
                            .map(|(o, d)| (o, table_sql(&in_database(&table.schema, d))))
                            .collect();
                        delete_unowned(
                            conn,
                            &name,
                            region.as_deref(),
                            walk,
                            &others,
                            plan,
                            &mut source_conns,
                        )
                    }
                    _ => delete_all(conn, &name, region.as_deref()),
                }
                .inspect_err(|_| conns[target] = None)
                .map_err(|e| CopyError::Cleanup {
                    table: table.schema.qualified_name(),
                    source: Box::new(e),
                })?;
                if rows > 0 {
                    tracing::info!(
                        table = %table.schema.qualified_name(),
                        source = %source,
                        target = %dsn,
                        rows,
                        "deleted rows of chunks that were in flight, to copy them again"
                    );
                }
                cleaned.push(Cleaned {
                    table: table.schema.qualified_name(),
                    target,
                    rows,
                });
            }
        }
    }
    Ok(cleaned)
}

fn open<'a>(slot: &'a mut Option<RawConn>, dsn: &Dsn) -> Result<&'a mut RawConn, CopyError> {
    if slot.is_none() {
        let mut conn = RawConn::connect(dsn)?;
        // Foreign keys between moved tables are checked at the end of a move, not row by row.
        conn.query_drop("SET SESSION foreign_key_checks = 0")?;
        *slot = Some(conn);
    }
    Ok(slot.as_mut().expect("opened above"))
}

/// Waits until no statement of the run before writes on this target any more (or kills it).
///
/// A run killed with `kill -9` loses its connections, but a statement the server had wholly
/// received (a `LOAD DATA` whose rows were all sent) runs on and commits; its rows must not land
/// after the cleanup. This run holds the target's lock, so any writing statement of the same
/// user in this database is the dead run's.
fn settle(conn: &mut RawConn) -> Result<(), MysqlError> {
    let sql = "SELECT ID FROM information_schema.PROCESSLIST \
               WHERE USER = SUBSTRING_INDEX(USER(), '@', 1) AND DB = DATABASE() \
               AND ID <> CONNECTION_ID() AND COMMAND = 'Query' \
               AND (INFO LIKE 'LOAD DATA%' OR INFO LIKE 'DELETE%' OR INFO LIKE 'REPLACE%' \
                    OR INFO LIKE 'INSERT%' OR INFO LIKE 'UPDATE%')";
    let started = std::time::Instant::now();
    loop {
        let mut ids: Vec<String> = Vec::new();
        conn.query_rows(
            sql,
            &mut Rows(|row: &[u8]| {
                if let Some(Some(id)) = text_row_fields(row).first() {
                    ids.push(String::from_utf8_lossy(id).into_owned());
                }
                Ok(())
            }),
        )?;
        if ids.is_empty() {
            return Ok(());
        }
        if started.elapsed() >= SETTLE {
            for id in &ids {
                tracing::warn!(connection = %id, server = %conn.dsn(), "killing a statement the run before left writing");
                // Gone already is fine.
                let _ = conn.query_drop(&format!("KILL {id}"));
            }
            return Ok(());
        }
        tracing::info!(statements = ids.len(), server = %conn.dsn(), "waiting for the writes of the run before to end");
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

/// Deletes every row of `table` in `region` (all when `None`), in batches.
fn delete_all(conn: &mut RawConn, table: &str, region: Option<&str>) -> Result<u64, MysqlError> {
    let filter = region.map(|r| format!(" WHERE {r}")).unwrap_or_default();
    let mut deleted = 0;
    loop {
        let ok = conn.query_drop(&format!("DELETE FROM {table}{filter} LIMIT {BATCH}"))?;
        deleted += ok.affected_rows;
        if ok.affected_rows < BATCH as u64 {
            return Ok(deleted);
        }
    }
}

/// Deletes the rows of `table` in `region` whose keys none of `others` (sources, with the
/// table's name there) holds, in key order, a batch at a time.
fn delete_unowned(
    conn: &mut RawConn,
    table: &str,
    region: Option<&str>,
    walk: &KeyWalk,
    others: &[(usize, String)],
    plan: &CopyPlan,
    source_conns: &mut [Option<RawConn>],
) -> Result<u64, MysqlError> {
    let columns = walk.column_list();
    let mut after: Option<Vec<String>> = None;
    let mut deleted = 0;
    loop {
        let mut filters: Vec<String> = region.iter().map(|r| (*r).to_owned()).collect();
        if let Some(after) = &after {
            filters.push(walk.after(after));
        }
        let filter = if filters.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", filters.join(" AND "))
        };
        let keys = read_keys(
            conn,
            walk,
            &format!("SELECT {columns} FROM {table}{filter} ORDER BY {columns} LIMIT {BATCH}"),
        )?;
        let Some(last) = keys.last() else {
            return Ok(deleted);
        };
        after = Some(last.clone());
        let mut unowned: Vec<Vec<String>> = keys.clone();
        for (source, name) in others {
            if unowned.is_empty() {
                break;
            }
            let dsn = &plan.sources[*source];
            if source_conns[*source].is_none() {
                source_conns[*source] = Some(RawConn::connect(dsn)?);
            }
            let source_conn = source_conns[*source].as_mut().expect("opened above");
            let held = read_keys(
                source_conn,
                walk,
                &format!(
                    "SELECT {columns} FROM {name} WHERE ({columns}) IN ({})",
                    tuples(&unowned)
                ),
            )
            .inspect_err(|_| source_conns[*source] = None)?;
            unowned.retain(|k| !held.contains(k));
        }
        if !unowned.is_empty() {
            let ok = conn.query_drop(&format!(
                "DELETE FROM {table} WHERE ({columns}) IN ({})",
                tuples(&unowned)
            ))?;
            deleted += ok.affected_rows;
        }
        if keys.len() < BATCH {
            return Ok(deleted);
        }
    }
}

fn tuples(keys: &[Vec<String>]) -> String {
    keys.iter()
        .map(|k| format!("({})", k.join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The keys a query returns, as literals.
fn read_keys(
    conn: &mut RawConn,
    walk: &KeyWalk,
    sql: &str,
) -> Result<Vec<Vec<String>>, MysqlError> {
    let mut keys = Vec::new();
    let mut bad = None;
    conn.query_rows(
        sql,
        &mut Rows(|row: &[u8]| {
            let fields = text_row_fields(row);
            let key: Result<Vec<String>, String> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    f.ok_or_else(|| String::from("a NULL key value"))
                        .and_then(|raw| walk.literal(i, raw))
                })
                .collect();
            match key {
                Ok(k) => keys.push(k),
                Err(e) => bad = Some(e),
            }
            Ok(())
        }),
    )?;
    if let Some(detail) = bad {
        return Err(MysqlError::Unexpected {
            server: conn.dsn().to_string(),
            doing: "reading keys to clean up",
            detail,
        });
    }
    Ok(keys)
}
