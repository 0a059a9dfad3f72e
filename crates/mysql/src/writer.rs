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
//! ([`Duplicates::Skip`]).
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
use crate::wire::{RawConn, Rows};

/// The writing session's `sql_mode` (see the module docs).
pub const WRITE_SQL_MODE: &str =
    "STRICT_ALL_TABLES,NO_AUTO_VALUE_ON_ZERO,ALLOW_INVALID_DATES,NO_ENGINE_SUBSTITUTION";

/// Rows encoded per step while streaming a batch: small enough to keep the encode buffer in cache.
const ROWS_PER_STEP: usize = 1024;

/// The server's code for a duplicate key.
const ER_DUP_ENTRY: u16 = 1062;

/// A connection to `dsn` set up for writing exactly: utf8mb4 statements, UTC, and
/// [`WRITE_SQL_MODE`]. What [`TableWriter`] writes on; public for other writers (and the
/// write-method measurement) to write under the same settings.
pub fn open_write_session(dsn: &Dsn) -> Result<RawConn, MysqlError> {
    let mut conn = RawConn::connect(dsn)?;
    conn.query_drop("SET NAMES utf8mb4")?;
    conn.query_drop(&format!(
        "SET time_zone = '+00:00', sql_mode = '{WRITE_SQL_MODE}'"
    ))?;
    Ok(conn)
}

/// What to do with a row whose primary key already exists on the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Duplicates {
    /// Fail the write.
    Refuse,
    /// Keep the existing row (an idempotent re-copy).
    Skip,
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
}

/// Writes batches into one table of one server.
pub struct TableWriter {
    conn: RawConn,
    encoder: LoadDataEncoder,
    statement: String,
    table: String,
    duplicates: Duplicates,
    schema: Arc<Schema>,
}

impl std::fmt::Debug for TableWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableWriter")
            .field("table", &self.table)
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
        let schema = Arc::new(arrow_schema(table));
        let qualified = table.qualified_name();
        let encoder = LoadDataEncoder::new(&schema).map_err(|source| MysqlError::Data {
            server: dsn.to_string(),
            table: qualified.clone(),
            source,
        })?;
        let conn = open_write_session(dsn)?;
        let statement = encoder.statement(&table_sql(table));
        Ok(TableWriter {
            conn,
            encoder,
            statement,
            table: qualified,
            duplicates,
            schema,
        })
    }

    /// The Arrow schema batches must have.
    pub fn schema(&self) -> &Arc<Schema> {
        &self.schema
    }

    /// Writes every row of `batch`.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<WriteStats, MysqlError> {
        let rows = batch.num_rows();
        let mut next = 0;
        let mut sent = 0u64;
        let encoder = &self.encoder;
        let server = self.conn.dsn().to_string();
        let table = &self.table;
        let ok = self.conn.load_data_local(&self.statement, |out| {
            let end = (next + ROWS_PER_STEP).min(rows);
            let before = out.len();
            encoder
                .encode(batch, next..end, out)
                .map_err(|source| MysqlError::Data {
                    server: server.clone(),
                    table: table.clone(),
                    source,
                })?;
            sent += (out.len() - before) as u64;
            next = end;
            Ok::<bool, MysqlError>(next < rows)
        })?;
        if ok.warnings > 0 {
            self.check_warnings(ok.warnings)?;
        }
        Ok(WriteStats {
            rows: rows as u64,
            inserted: ok.affected_rows,
            bytes: sent,
        })
    }

    /// Fails with the server's warnings unless all are duplicate keys the caller accepts.
    fn check_warnings(&mut self, count: u16) -> Result<(), MysqlError> {
        let mut warnings = Vec::new();
        let mut only_duplicates = true;
        self.conn.query_rows(
            "SHOW WARNINGS LIMIT 20",
            &mut Rows(|row: &[u8]| {
                let fields = text_row_fields(row);
                let code = fields
                    .get(1)
                    .copied()
                    .flatten()
                    .and_then(|c| std::str::from_utf8(c).ok()?.parse::<u16>().ok());
                only_duplicates &= code == Some(ER_DUP_ENTRY);
                let message = fields
                    .get(2)
                    .copied()
                    .flatten()
                    .map(|m| String::from_utf8_lossy(m).into_owned())
                    .unwrap_or_default();
                warnings.push(format!("{}: {message}", code.unwrap_or_default()));
                Ok(())
            }),
        )?;
        if only_duplicates && self.duplicates == Duplicates::Skip && usize::from(count) <= 20 {
            return Ok(());
        }
        Err(MysqlError::Warnings {
            server: self.conn.dsn().to_string(),
            table: self.table.clone(),
            count,
            warnings,
        })
    }
}
