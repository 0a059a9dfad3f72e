//! Query results read straight into Arrow record batches of bounded size.
//!
//! A [`TableReader`] owns one [`RawConn`] and one [`BinaryRowDecoder`]. It prepares each query
//! once (chunk queries differ only in their parameters), executes it over the binary protocol, and
//! hands every row packet to the decoder as a slice of the connection's read buffer, so no value
//! is ever copied into a heap object of its own. A batch is cut when it reaches
//! [`BatchLimits::max_rows`] or [`BatchLimits::max_bytes`] of row data, and at the end of the result.
//!
//! The session reads in UTC (`time_zone = '+00:00'`, so TIMESTAMPs arrive as the UTC instants
//! they are stored as, whatever the server's zone and its DST changes) and with
//! `character_set_results = NULL` (every string arrives as the stored bytes, unconverted).

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use mysql_common::value::Value;
use reshard_convert::decode::{BinaryRowDecoder, WireColumn};
use reshard_convert::encode::load_data::quote_identifier;
use reshard_convert::schema::arrow_schema;
use reshard_types::{Dsn, TableSchema};

use crate::error::MysqlError;
use crate::wire::{RawConn, ResultHandler, Statement};
use mysql_common::packets::Column;

/// A connection to `dsn` set up for reading exactly: utf8mb4 statements, UTC (TIMESTAMPs arrive
/// as the instants they are), and `character_set_results = NULL` (strings arrive as stored).
pub fn open_read_session(dsn: &Dsn) -> Result<RawConn, MysqlError> {
    let mut conn = RawConn::connect(dsn)?;
    conn.query_drop("SET NAMES utf8mb4")?;
    conn.query_drop("SET time_zone = '+00:00', character_set_results = NULL")?;
    Ok(conn)
}

/// Where a batch is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchLimits {
    /// Rows per batch at most.
    pub max_rows: usize,
    /// Row bytes (as sent by the server) per batch at most, give or take the last row.
    pub max_bytes: usize,
}

impl Default for BatchLimits {
    /// 64 Ki rows or 8 MiB: large enough that per-batch costs vanish, small enough that a few
    /// batches in flight per reader keep memory flat.
    fn default() -> BatchLimits {
        BatchLimits {
            max_rows: 64 * 1024,
            max_bytes: 8 << 20,
        }
    }
}

/// What one [`TableReader::read`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadStats {
    /// Rows read.
    pub rows: u64,
    /// Batches produced.
    pub batches: u64,
    /// Row bytes decoded.
    pub bytes: u64,
}

/// Reads one table's rows into record batches.
pub struct TableReader {
    conn: RawConn,
    decoder: BinaryRowDecoder,
    /// For messages.
    table: String,
    /// For SQL.
    table_sql: String,
    columns_sql: String,
    limits: BatchLimits,
    statements: HashMap<String, Statement>,
}

impl std::fmt::Debug for TableReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableReader")
            .field("table", &self.table)
            .finish_non_exhaustive()
    }
}

impl TableReader {
    /// Connects to `dsn` to read `table`'s columns (all of them, in the schema's order).
    pub fn open(
        dsn: &Dsn,
        table: &TableSchema,
        limits: BatchLimits,
    ) -> Result<TableReader, MysqlError> {
        TableReader::on_conn(open_read_session(dsn)?, table, limits)
    }

    /// Reads `table` on `conn`, a session opened by [`open_read_session`]; a reader that moves
    /// between tables keeps its connection ([`TableReader::into_conn`]).
    pub fn on_conn(
        conn: RawConn,
        table: &TableSchema,
        limits: BatchLimits,
    ) -> Result<TableReader, MysqlError> {
        let schema: SchemaRef = Arc::new(arrow_schema(table));
        let qualified = table.qualified_name();
        let decoder = BinaryRowDecoder::new(schema).map_err(|source| MysqlError::Data {
            server: conn.dsn().to_string(),
            table: qualified.clone(),
            source,
        })?;
        let columns_sql = table
            .columns
            .iter()
            .map(|c| quote_identifier(&c.name))
            .collect::<Vec<_>>()
            .join(", ");
        let table_sql = table_sql(table);
        Ok(TableReader {
            conn,
            decoder,
            table: qualified,
            table_sql,
            columns_sql,
            limits: limits.at_least_one(),
            statements: HashMap::new(),
        })
    }

    /// Gives the connection back, its prepared statements closed.
    pub fn into_conn(mut self) -> Result<RawConn, MysqlError> {
        for (_, statement) in self.statements.drain() {
            self.conn.close(statement)?;
        }
        Ok(self.conn)
    }

    /// The connection, for queries of the caller's own (chunk boundaries, say).
    pub fn conn_mut(&mut self) -> &mut RawConn {
        &mut self.conn
    }

    /// The Arrow schema of the batches.
    pub fn schema(&self) -> &SchemaRef {
        self.decoder.schema()
    }

    /// `SELECT <every column> FROM <table>`, to which a caller appends its `WHERE` and `ORDER BY`.
    pub fn select_all_sql(&self) -> String {
        format!("SELECT {} FROM {}", self.columns_sql, self.table_sql)
    }

    /// Bytes this reader's connection has received.
    pub fn bytes_received(&self) -> u64 {
        self.conn.bytes_read()
    }

    /// Runs `sql` (a query returning the table's columns in schema order) with `params` and
    /// passes its rows to `on_batch` as record batches. The statement stays prepared for the
    /// next call with the same `sql`.
    pub fn read(
        &mut self,
        sql: &str,
        params: &[Value],
        mut on_batch: impl FnMut(RecordBatch) -> Result<(), MysqlError>,
    ) -> Result<ReadStats, MysqlError> {
        if !self.statements.contains_key(sql) {
            let statement = self.conn.prepare(sql)?;
            self.statements.insert(sql.to_owned(), statement);
        }
        let statement = &self.statements[sql];
        Self::execute(
            &mut self.conn,
            &mut self.decoder,
            self.limits,
            &self.table,
            statement,
            params,
            |batch, _| on_batch(batch),
        )
    }

    /// As [`TableReader::read`] for a statement run once (its literals differ every time): it
    /// is prepared, run and closed again, so nothing accumulates on the server. `on_batch` also
    /// gets the batch's size as the server sent it (row bytes).
    pub fn read_once(
        &mut self,
        sql: &str,
        on_batch: impl FnMut(RecordBatch, u64) -> Result<(), MysqlError>,
    ) -> Result<ReadStats, MysqlError> {
        let statement = self.conn.prepare(sql)?;
        let stats = Self::execute(
            &mut self.conn,
            &mut self.decoder,
            self.limits,
            &self.table,
            &statement,
            &[],
            on_batch,
        );
        // After a failed read the connection may be unusable; the read's error is the one to report.
        if stats.is_ok() {
            self.conn.close(statement)?;
        }
        stats
    }

    fn execute(
        conn: &mut RawConn,
        decoder: &mut BinaryRowDecoder,
        limits: BatchLimits,
        table: &str,
        statement: &Statement,
        params: &[Value],
        mut on_batch: impl FnMut(RecordBatch, u64) -> Result<(), MysqlError>,
    ) -> Result<ReadStats, MysqlError> {
        decoder.reset();
        let mut handler = BatchHandler {
            decoder,
            limits,
            stats: ReadStats::default(),
            on_batch: &mut on_batch,
            server: conn.dsn().to_string(),
            table,
        };
        conn.execute_rows(statement, params, &mut handler)?;
        if handler.decoder.rows() > 0 {
            handler.flush()?;
        }
        Ok(handler.stats)
    }
}

/// Decodes a result's rows and cuts them into batches.
struct BatchHandler<'a, F> {
    decoder: &'a mut BinaryRowDecoder,
    limits: BatchLimits,
    stats: ReadStats,
    on_batch: &'a mut F,
    server: String,
    table: &'a str,
}

impl<F: FnMut(RecordBatch, u64) -> Result<(), MysqlError>> BatchHandler<'_, F> {
    fn data_error(&self, source: reshard_convert::ConvertError) -> MysqlError {
        MysqlError::Data {
            server: self.server.clone(),
            table: self.table.to_owned(),
            source,
        }
    }

    fn flush(&mut self) -> Result<(), MysqlError> {
        let bytes = self.decoder.bytes() as u64;
        self.stats.bytes += bytes;
        let batch = self.decoder.finish().map_err(|e| self.data_error(e))?;
        self.stats.rows += batch.num_rows() as u64;
        self.stats.batches += 1;
        (self.on_batch)(batch, bytes)
    }
}

impl<F: FnMut(RecordBatch, u64) -> Result<(), MysqlError>> ResultHandler for BatchHandler<'_, F> {
    type Error = MysqlError;

    fn columns(&mut self, columns: &[Column]) -> Result<(), MysqlError> {
        let wire: Vec<WireColumn> = columns
            .iter()
            .map(|c| WireColumn {
                type_code: c.column_type() as u8,
                flags: c.flags().bits(),
            })
            .collect();
        self.decoder
            .check_wire(&wire)
            .map_err(|e| self.data_error(e))
    }

    #[inline]
    fn row(&mut self, packet: &[u8]) -> Result<(), MysqlError> {
        if let Err(e) = self.decoder.decode_row(packet) {
            return Err(self.data_error(e));
        }
        if self.decoder.rows() >= self.limits.max_rows
            || self.decoder.bytes() >= self.limits.max_bytes
        {
            self.flush()?;
        }
        Ok(())
    }
}

impl BatchLimits {
    /// At least one row and one byte per batch.
    fn at_least_one(self) -> BatchLimits {
        BatchLimits {
            max_rows: self.max_rows.max(1),
            max_bytes: self.max_bytes.max(1),
        }
    }
}

/// `` `database`.`table` `` quoted for SQL.
pub fn table_sql(table: &TableSchema) -> String {
    format!(
        "{}.{}",
        quote_identifier(&table.database),
        quote_identifier(&table.name)
    )
}
