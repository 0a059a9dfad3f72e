//! Record batches written into a target table with `LOAD DATA LOCAL INFILE`, exactly.
//!
//! The data is encoded by [`LoadDataEncoder`] (whose docs say why this is the fastest exact way
//! in) and streamed to the server in packets as it is encoded. The session writes in UTC, with
//! `CHARACTER SET binary` data and a strict `sql_mode` that still admits what a source may hold
//! (zero and partly zero dates, invalid dates, an explicit 0 in an AUTO_INCREMENT column):
//!
//! `STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION`
//!
//! `LOAD DATA LOCAL` downgrades errors to warnings, so after every load the warning count is
//! checked and any warning fails the write with the server's own words ([`MysqlError::Warnings`]);
//! only duplicate-key warnings may be accepted, and only when the caller asks for it
//! ([`Duplicates::Skip`], which loads with `IGNORE`: a row whose key exists is left as it is).
//! They are counted exactly: the session keeps up to 65,535 warnings, a statement loads at most
//! that many rows, and the write is accepted only if every warning is a duplicate key and there
//! is exactly one per row the server did not insert.
//!
//! A batch that fails to encode part way (a value no column can hold exactly) must not leave the
//! rows already sent behind: the connection is cut instead of ending the file, so the server
//! aborts the statement (`tests/it/roundtrip.rs` checks that no row remains). The writer cannot
//! be used after that; open a new one.

use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use reshard_convert::encode::load_data::LoadDataEncoder;
use reshard_convert::schema::arrow_schema;
use reshard_types::{Dsn, TableSchema};

use crate::error::MysqlError;
use crate::reader::table_sql;
use crate::wire::text::text_row_fields;
use crate::wire::{OkInfo, RawConn, Rows};

/// The writing session's `sql_mode` (see the module docs).
pub const WRITE_SQL_MODE: &str =
    "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION";

/// Rows encoded per step while streaming a batch: small enough to keep the encode buffer in cache.
const ROWS_PER_STEP: usize = 1024;

/// Rows per `LOAD DATA` statement at most. The OK packet counts warnings in 16 bits and the
/// session keeps at most [`MAX_ERROR_COUNT`] of them: with no more rows than that, every skipped
/// duplicate can be seen and counted, so a batch is split into statements of this many rows.
const MAX_ROWS_PER_LOAD: usize = 65_535;

/// The session's `max_error_count` (MariaDB's maximum): how many warnings `SHOW WARNINGS` lists.
const MAX_ERROR_COUNT: usize = 65_535;

/// The server's code for a duplicate key.
const ER_DUP_ENTRY: u16 = 1062;

/// A connection to `dsn` set up for writing exactly: utf8mb4 statements, UTC, [`WRITE_SQL_MODE`],
/// every warning kept for inspection (in English, so that a duplicate's key can be read from it),
/// and foreign keys unchecked. What [`TableWriter`] writes
/// on; public for other writers (and the write-method measurement) to write under the same
/// settings.
///
/// `foreign_key_checks = 0` is the one check relaxed: tables are copied in no particular order,
/// so a child row may land before its parent; the rows are the source's, which satisfied the
/// constraint there, and no value is changed by skipping the check. Unique and CHECK constraints
/// stay on: switching those off could let a difference through.
pub fn open_write_session(dsn: &Dsn) -> Result<RawConn, MysqlError> {
    let mut conn = RawConn::connect(dsn)?;
    conn.query_drop("SET NAMES utf8mb4")?;
    conn.query_drop(&format!(
        "SET time_zone = '+00:00', sql_mode = '{WRITE_SQL_MODE}', \
         max_error_count = {MAX_ERROR_COUNT}, foreign_key_checks = 0, lc_messages = 'en_US'"
    ))?;
    Ok(conn)
}

/// What to do with a row whose primary key already exists on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Fail the write. [`TableWriter`] then keeps none of the batch's rows (it writes the batch
    /// in one transaction); [`LoadTarget::write`] leaves the transaction to its caller.
    Refuse,
    /// Keep the existing row (an idempotent re-copy).
    Skip,
    /// Replace the existing row (the change applier's upserts). Any warning still fails.
    Replace,
}

/// What one [`TableWriter::write`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriteStats {
    /// Rows in the batch.
    pub rows: u64,
    /// Rows the server inserted (fewer when duplicates were skipped).
    pub inserted: u64,
    /// Bytes of load data sent.
    pub bytes: u64,
    /// Nanoseconds spent encoding the rows, when timed ([`LoadTarget::time_encoding`]).
    pub encode_nanos: u64,
}

/// How batches of one table are loaded: its encoder and statement, on whichever connection.
/// A writer that moves between tables keeps one connection and one `LoadTarget` per table.
pub struct LoadTarget {
    encoder: LoadDataEncoder,
    statement: String,
    replace_statement: String,
    table: String,
    /// The index rows are identified by: the only one a skipped duplicate may collide on.
    row_key: String,
    schema: Arc<Schema>,
    /// Whether encoding is timed (two clock reads per step of rows).
    time_encoding: bool,
}

impl std::fmt::Debug for LoadTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadTarget")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl LoadTarget {
    /// Prepares loading batches of `arrow_schema(table)` into `table`; `server` names the target
    /// in errors.
    pub fn new(server: &Dsn, table: &TableSchema) -> Result<LoadTarget, MysqlError> {
        let schema = Arc::new(arrow_schema(table));
        let qualified = table.qualified_name();
        let encoder = LoadDataEncoder::new(&schema).map_err(|source| MysqlError::Data {
            server: server.to_string(),
            table: qualified.clone(),
            source,
        })?;
        let statement = encoder.statement(&table_sql(table));
        let replace_statement = encoder.replace_statement(&table_sql(table));
        Ok(LoadTarget {
            encoder,
            statement,
            replace_statement,
            table: qualified,
            row_key: String::from("PRIMARY"),
            schema,
            time_encoding: false,
        })
    }

    /// Names the index rows are identified by, when it is not the primary key (a unique index
    /// over `NOT NULL` columns standing in for one).
    #[must_use]
    pub fn with_row_key(mut self, index: &str) -> LoadTarget {
        index.clone_into(&mut self.row_key);
        self
    }

    /// The Arrow schema batches must have.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Starts or stops timing the encoding of rows ([`WriteStats::encode_nanos`]).
    pub fn time_encoding(&mut self, on: bool) {
        self.time_encoding = on;
    }

    /// Writes every row of `batch` on `conn` (a session of [`open_write_session`]). With
    /// [`Duplicates::Skip`], rows whose key exists are left as they are, and counted exactly:
    /// every warning must be a duplicate of the row key and there must be exactly one per row not
    /// inserted. A duplicate on any other unique key fails the write whatever `duplicates` says
    /// ([`MysqlError::DuplicateOnOtherKey`]): the row would be lost, not found already there.
    pub fn write(
        &self,
        conn: &mut RawConn,
        batch: &RecordBatch,
        duplicates: Duplicates,
    ) -> Result<WriteStats, MysqlError> {
        let mut total = WriteStats::default();
        let mut start = 0;
        while start < batch.num_rows() {
            let end = (start + MAX_ROWS_PER_LOAD).min(batch.num_rows());
            let stats = self.load(conn, batch, start..end, duplicates)?;
            total.rows += stats.rows;
            total.inserted += stats.inserted;
            total.bytes += stats.bytes;
            total.encode_nanos += stats.encode_nanos;
            start = end;
        }
        Ok(total)
    }

    fn load(
        &self,
        conn: &mut RawConn,
        batch: &RecordBatch,
        rows: std::ops::Range<usize>,
        duplicates: Duplicates,
    ) -> Result<WriteStats, MysqlError> {
        let mut next = rows.start;
        let mut sent = 0u64;
        let mut encode_nanos = 0u64;
        let encoder = &self.encoder;
        let server = conn.dsn().to_string();
        let table = &self.table;
        let statement = match duplicates {
            Duplicates::Replace => &self.replace_statement,
            Duplicates::Refuse | Duplicates::Skip => &self.statement,
        };
        let ok = conn.load_data_local(statement, |out| {
            let end = (next + ROWS_PER_STEP).min(rows.end);
            let before = out.len();
            let started = self.time_encoding.then(std::time::Instant::now);
            let encoded = encoder.encode(batch, next..end, out);
            if let Some(started) = started {
                encode_nanos += crate::wire::packets::nanos_since(started);
            }
            encoded.map_err(|source| MysqlError::Data {
                server: server.clone(),
                table: table.clone(),
                source,
            })?;
            sent += (out.len() - before) as u64;
            next = end;
            Ok::<bool, MysqlError>(next < rows.end)
        })?;
        let count = rows.len() as u64;
        if duplicates == Duplicates::Replace {
            // A replaced row counts twice in affected rows (deleted, inserted): only warnings
            // say something went wrong.
            refuse_warnings(conn, table, ok)?;
            return Ok(WriteStats {
                rows: count,
                inserted: ok.affected_rows.min(count),
                bytes: sent,
                encode_nanos,
            });
        }
        if ok.warnings > 0 || ok.affected_rows != count {
            self.check_warnings(conn, ok, count, duplicates)?;
        }
        Ok(WriteStats {
            rows: count,
            inserted: ok.affected_rows,
            bytes: sent,
            encode_nanos,
        })
    }

    /// Fails with the server's warnings unless all are duplicate keys the caller accepts, one
    /// for each row that was not inserted.
    fn check_warnings(
        &self,
        conn: &mut RawConn,
        ok: OkInfo,
        rows: u64,
        duplicates: Duplicates,
    ) -> Result<(), MysqlError> {
        let mut warnings = Vec::new();
        let mut listed = 0u64;
        let mut duplicate_keys = 0u64;
        let mut other_key: Option<(String, String)> = None;
        let unqualified = self.table.rsplit('.').next().unwrap_or_default();
        let unqualified = unqualified.trim_matches('`');
        conn.query_rows(
            "SHOW WARNINGS",
            &mut Rows(|row: &[u8]| {
                let fields = text_row_fields(row);
                let code = fields
                    .get(1)
                    .copied()
                    .flatten()
                    .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok());
                let message = || {
                    fields
                        .get(2)
                        .copied()
                        .flatten()
                        .map(|m| String::from_utf8_lossy(m).into_owned())
                        .unwrap_or_default()
                };
                listed += 1;
                if code == Some(ER_DUP_ENTRY) {
                    duplicate_keys += 1;
                    if other_key.is_none() {
                        // A key that cannot be read from the message counts as another key: a
                        // skipped row is accepted only when it is known to be already there.
                        let message = message();
                        match duplicate_key_name(&message, unqualified) {
                            Some(key) if key == self.row_key => {}
                            key => {
                                let key = key.unwrap_or("(not named)").to_owned();
                                other_key = Some((key, message.clone()));
                            }
                        }
                    }
                } else if warnings.len() < SHOWN_WARNINGS {
                    warnings.push(format!("{}: {}", code.unwrap_or_default(), message()));
                }
                Ok(())
            }),
        )?;
        if let Some((key, message)) = other_key {
            return Err(MysqlError::DuplicateOnOtherKey {
                server: conn.dsn().to_string(),
                table: self.table.clone(),
                duplicate: Box::new(crate::error::OtherKeyDuplicate {
                    key,
                    row_key: self.row_key.clone(),
                    message,
                }),
            });
        }
        let skipped = rows.saturating_sub(ok.affected_rows);
        let exact = listed == u64::from(ok.warnings) && duplicate_keys == listed;
        if duplicates == Duplicates::Skip && exact && duplicate_keys == skipped {
            return Ok(());
        }
        if warnings.is_empty() && duplicate_keys > 0 {
            return Err(MysqlError::DuplicateRowKey {
                server: conn.dsn().to_string(),
                table: self.table.clone(),
                rows: duplicate_keys,
            });
        }
        if warnings.is_empty() {
            warnings.push(format!(
                "{} of {rows} row(s) inserted, with no warning saying why",
                ok.affected_rows
            ));
        }
        Err(MysqlError::Warnings {
            server: conn.dsn().to_string(),
            table: self.table.clone(),
            count: ok.warnings,
            warnings,
        })
    }
}

/// The key a duplicate-entry message names: MariaDB says `... for key 'k'`, MySQL 8 `... for key
/// 'table.k'`.
fn duplicate_key_name<'m>(message: &'m str, table: &str) -> Option<&'m str> {
    let at = message.rfind("for key '")? + "for key '".len();
    let key = message[at..].strip_suffix('\'')?;
    Some(
        key.strip_prefix(table)
            .and_then(|k| k.strip_prefix('.'))
            .unwrap_or(key),
    )
}

/// Warnings quoted in an error at most.
const SHOWN_WARNINGS: usize = 20;

/// Writes batches into one table of one server.
pub struct TableWriter {
    conn: RawConn,
    target: LoadTarget,
    duplicates: Duplicates,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.target.table)
            .finish_non_exhaustive()
    }
}

impl TableWriter {
    /// Connects to `dsn` to write into `table` (batches of `arrow_schema(table)`).
    pub fn open(
        dsn: &Dsn,
        table: &TableSchema,
        duplicates: Duplicates,
    ) -> Result<TableWriter, MysqlError> {
        let target = LoadTarget::new(dsn, table)?;
        let conn = open_write_session(dsn)?;
        Ok(TableWriter {
            conn,
            target,
            duplicates,
        })
    }

    /// The Arrow schema batches must have.
    pub fn schema(&self) -> &Arc<Schema> {
        self.target.schema()
    }

    /// Writes every row of `batch`. With [`Duplicates::Refuse`] the batch is one transaction:
    /// a row whose key exists fails the write and none of the batch's rows stays.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<WriteStats, MysqlError> {
        if self.duplicates != Duplicates::Refuse {
            return self.target.write(&mut self.conn, batch, self.duplicates);
        }
        self.conn.query_drop("BEGIN")?;
        match self.target.write(&mut self.conn, batch, self.duplicates) {
            Ok(stats) => {
                self.conn.query_drop("COMMIT")?;
                Ok(stats)
            }
            Err(e) => {
                // If the rollback fails too, the connection is gone, and the server rolls back.
                let _ = self.conn.query_drop("ROLLBACK");
                Err(e)
            }
        }
    }
}

/// Fails with the server's own words if the statement that returned `ok` raised any warning:
/// for writers other than `LOAD DATA` (the change applier's `REPLACE` and `DELETE`), where a
/// warning may mean a value was changed.
pub fn refuse_warnings(conn: &mut RawConn, table: &str, ok: OkInfo) -> Result<(), MysqlError> {
    if ok.warnings == 0 {
        return Ok(());
    }
    let mut warnings = Vec::new();
    conn.query_rows(
        "SHOW WARNINGS",
        &mut Rows(|row: &[u8]| {
            if warnings.len() < SHOWN_WARNINGS {
                let fields = text_row_fields(row);
                let field = |i: usize| {
                    fields
                        .get(i)
                        .copied()
                        .flatten()
                        .map(|m| String::from_utf8_lossy(m).into_owned())
                        .unwrap_or_default()
                };
                warnings.push(format!("{}: {}", field(1), field(2)));
            }
            Ok(())
        }),
    )?;
    Err(MysqlError::Warnings {
        server: conn.dsn().to_string(),
        table: table.to_owned(),
        count: ok.warnings,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::duplicate_key_name;

    #[test]
    fn the_key_of_a_duplicate_is_read_from_either_flavor() {
        let mariadb = "Duplicate entry 'SKU-1' for key 'u_sku'";
        assert_eq!(duplicate_key_name(mariadb, "orders"), Some("u_sku"));
        let mysql = "Duplicate entry '7' for key 'orders.PRIMARY'";
        assert_eq!(duplicate_key_name(mysql, "orders"), Some("PRIMARY"));
        assert_eq!(duplicate_key_name("Data truncated", "orders"), None);
    }
}
