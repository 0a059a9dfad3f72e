//! Read snapshots that are tied to a binlog position, for reads that run while changes stream.
//!
//! An online move reads each chunk inside `START TRANSACTION WITH CONSISTENT SNAPSHOT` and asks
//! MariaDB where in the binlog that snapshot stands (`binlog_snapshot_file` and
//! `binlog_snapshot_position`, status variables that are consistent with the snapshot: every
//! transaction logged before that position is in it, none logged after). A transaction is
//! written to the binlog before it commits in the storage engine, so a snapshot taken "after"
//! a change was seen in the binlog need not contain it. [`start_snapshot_covering`] therefore
//! takes the binlog's end first and starts snapshots until one stands at or after it: the read
//! that follows sees every change the binlog held when it was called.

use std::time::{Duration, Instant};

use reshard_types::BinlogPosition;

use crate::error::MysqlError;
use crate::wire::text::{first_row, text_row_fields};
use crate::wire::{RawConn, Rows};

/// How long [`start_snapshot_covering`] waits for transactions logged but not yet committed to
/// commit before it gives up.
const COVER_WAIT: Duration = Duration::from_secs(60);

/// Starts, on `conn`, a consistent-snapshot transaction that contains every transaction the
/// binlog held when it was called, and returns the snapshot's binlog position. The caller reads
/// and then ends the transaction (`COMMIT`).
pub fn start_snapshot_covering(conn: &mut RawConn) -> Result<BinlogPosition, MysqlError> {
    let end = binlog_end(conn)?;
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    loop {
        conn.query_drop("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")?;
        let at = snapshot_position(conn)?;
        if at >= end {
            return Ok(at);
        }
        conn.query_drop("ROLLBACK")?;
        if started.elapsed() > COVER_WAIT {
            return Err(unexpected(
                conn,
                &format!(
                    "transactions logged up to {end} did not become visible within {} s (snapshots stayed at {at}); \
                     is a transaction stuck between its binlog write and its commit?",
                    COVER_WAIT.as_secs()
                ),
            ));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// Where the binlog ends now (`SHOW MASTER STATUS`).
pub fn binlog_end(conn: &mut RawConn) -> Result<BinlogPosition, MysqlError> {
    let fields = first_row(conn, "SHOW MASTER STATUS")?.ok_or_else(|| {
        unexpected(
            conn,
            "SHOW MASTER STATUS returned nothing: binary logging is off (start the server with log_bin)",
        )
    })?;
    position(conn, fields.first(), fields.get(1))
}

/// The binlog position of the current transaction's consistent snapshot.
fn snapshot_position(conn: &mut RawConn) -> Result<BinlogPosition, MysqlError> {
    let mut file = None;
    let mut offset = None;
    conn.query_rows(
        "SHOW STATUS LIKE 'binlog_snapshot_%'",
        &mut Rows(|row: &[u8]| {
            let fields = text_row_fields(row);
            let name = fields.first().copied().flatten().unwrap_or_default();
            let value = fields.get(1).copied().flatten().map(<[u8]>::to_vec);
            if name.eq_ignore_ascii_case(b"binlog_snapshot_file") {
                file = value;
            } else if name.eq_ignore_ascii_case(b"binlog_snapshot_position") {
                offset = value;
            }
            Ok(())
        }),
    )?;
    if file.is_none() || offset.is_none() {
        return Err(unexpected(
            conn,
            "the server does not report binlog_snapshot_file/binlog_snapshot_position (MariaDB and Percona do; \
             MySQL does not), so a chunk read cannot be placed in the binlog; reshard move needs a MariaDB source for now",
        ));
    }
    position(conn, Some(&file), Some(&offset))
}

fn position(
    conn: &RawConn,
    file: Option<&Option<Vec<u8>>>,
    offset: Option<&Option<Vec<u8>>>,
) -> Result<BinlogPosition, MysqlError> {
    let file = file
        .and_then(Option::as_deref)
        .and_then(|f| std::str::from_utf8(f).ok());
    let offset = offset
        .and_then(Option::as_deref)
        .and_then(|o| std::str::from_utf8(o).ok())
        .and_then(|o| o.parse::<u64>().ok());
    match (file, offset) {
        (Some(file), Some(offset)) if !file.is_empty() => {
            Ok(BinlogPosition::new(file.to_owned(), offset))
        }
        _ => Err(unexpected(
            conn,
            "a binlog position without a file or offset",
        )),
    }
}

fn unexpected(conn: &RawConn, detail: &str) -> MysqlError {
    MysqlError::Unexpected {
        server: conn.dsn().to_string(),
        doing: "starting a read snapshot",
        detail: detail.to_owned(),
    }
}

/// Every binary log file with its size (`SHOW BINARY LOGS`), oldest first: what lag in bytes
/// is measured against ([`super::bytes_between`]).
pub fn binary_log_sizes(conn: &mut RawConn) -> Result<Vec<(String, u64)>, MysqlError> {
    let mut files = Vec::new();
    conn.query_rows(
        "SHOW BINARY LOGS",
        &mut Rows(|row: &[u8]| {
            let fields = text_row_fields(row);
            let name = fields.first().copied().flatten();
            let size = fields
                .get(1)
                .copied()
                .flatten()
                .and_then(|s| std::str::from_utf8(s).ok()?.parse::<u64>().ok());
            if let (Some(name), Some(size)) = (name, size) {
                files.push((String::from_utf8_lossy(name).into_owned(), size));
            }
            Ok(())
        }),
    )?;
    Ok(files)
}
