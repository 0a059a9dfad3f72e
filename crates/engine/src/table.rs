//! Tables for embedders: read a table as Arrow record batches, write batches into a table, and
//! split batches by shard, with the same exact decoding, encoding and Vitess-compatible routing
//! the copy uses. Blocking calls, usable from a plain thread or (through `spawn_blocking`) from
//! async code; they need no runtime of the caller's.
//!
//! ```
//! use std::sync::Arc;
//! use arrow_array::{Int64Array, RecordBatch};
//! use arrow_schema::{DataType, Field, Schema};
//! use reshard_engine::table::ShardRouter;
//! use reshard_kernels::vindex::VindexKind;
//! use reshard_types::KeyRange;
//!
//! // Two shards, -80 and 80-, by `customer_id` under the hash vindex, as Vitess places them.
//! let ranges = KeyRange::even(2).unwrap();
//! let mut router = ShardRouter::new(&ranges, VindexKind::Hash).unwrap();
//! let schema = Arc::new(Schema::new(vec![Field::new("customer_id", DataType::Int64, false)]));
//! let batch = RecordBatch::try_new(schema, vec![Arc::new(Int64Array::from(vec![1, 2, 3, 4]))]).unwrap();
//! let shards = router.split(&batch, "customer_id").unwrap();
//! // Vitess's hash of 1, 2 and 3 falls below 0x80, of 4 above it.
//! assert_eq!(shards.len(), 2);
//! assert_eq!((shards[0].0, shards[0].1.num_rows()), (0, 3));
//! assert_eq!((shards[1].0, shards[1].1.num_rows()), (1, 1));
//! ```

use std::thread::JoinHandle;

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use crossbeam_channel::Receiver;
use reshard_kernels::column::{RouteError, route_column};
use reshard_kernels::route::Router;
use reshard_kernels::split::Splitter;
use reshard_kernels::vindex::VindexKind;
use reshard_mysql::reader::{BatchLimits, TableReader};
use reshard_mysql::tables::row_key;
use reshard_mysql::writer::{Duplicates, TableWriter};
use reshard_mysql::{MysqlError, connect, discover_table};
use reshard_types::{Dsn, KeyRange, RowKey, TableSchema};

use crate::CopyError;

/// Batches read ahead of the caller at most.
const READ_AHEAD: usize = 2;

/// A table's schema and row key, discovered on a thread of its own (so that it works the same
/// from a plain thread and from inside an async runtime).
fn discover(dsn: &Dsn, table: &str) -> Result<(TableSchema, Option<RowKey>), CopyError> {
    let database = dsn.database().map(str::to_owned).ok_or_else(|| {
        CopyError::BadInput(format!(
            "the DSN {dsn} names no database; add it to the DSN's path (mysql://user:pw@host:port/database)"
        ))
    })?;
    let (dsn, table) = (dsn.clone(), table.to_owned());
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| CopyError::Internal(format!("starting a runtime for discovery: {e}")))?;
        runtime.block_on(async {
            let mut session = connect(&dsn).await?;
            let schema = discover_table(&mut session, &database, &table).await?;
            let key = row_key(&mut session, &schema).await?;
            let _ = session.close().await;
            Ok((schema, key))
        })
    })
    .join()
    .map_err(|_| CopyError::Internal(String::from("the discovery thread panicked")))?
}

/// A whole table read as Arrow record batches, in key order, in one consistent read: an
/// iterator whose batches a thread of its own reads ahead (two at most).
#[derive(Debug)]
pub struct TableSource {
    schema: TableSchema,
    arrow: SchemaRef,
    batches: Receiver<Result<RecordBatch, CopyError>>,
    reader: Option<JoinHandle<()>>,
}

impl TableSource {
    /// Opens `table` of the DSN's database and starts reading it.
    pub fn open(dsn: &Dsn, table: &str) -> Result<TableSource, CopyError> {
        let (schema, key) = discover(dsn, table)?;
        let mut reader = TableReader::open(dsn, &schema, BatchLimits::default())?;
        let arrow = reader.schema().clone();
        let order = key.map_or_else(String::new, |key| {
            let columns: Vec<String> = key
                .columns
                .iter()
                .map(|&i| {
                    reshard_convert::encode::load_data::quote_identifier(&schema.columns[i].name)
                })
                .collect();
            format!(" ORDER BY {}", columns.join(", "))
        });
        let sql = format!("{}{order}", reader.select_all_sql());
        let (tx, rx) = crossbeam_channel::bounded(READ_AHEAD);
        let server = dsn.to_string();
        let thread = std::thread::Builder::new()
            .name("reshard-table-source".into())
            .spawn(move || {
                let read = reader.read(&sql, &[], |batch| {
                    // The caller dropped the source: stop reading.
                    tx.send(Ok(batch)).map_err(|_| MysqlError::Unexpected {
                        server: server.clone(),
                        doing: "reading a table",
                        detail: String::from("the reader was dropped"),
                    })
                });
                if let Err(e) = read
                    && !matches!(&e, MysqlError::Unexpected { detail, .. } if detail == "the reader was dropped")
                {
                    let _ = tx.send(Err(e.into()));
                }
            })
            .map_err(|e| CopyError::Internal(format!("starting the table reader: {e}")))?;
        Ok(TableSource {
            schema,
            arrow,
            batches: rx,
            reader: Some(thread),
        })
    }

    /// The table as reshard understands it.
    pub fn table_schema(&self) -> &TableSchema {
        &self.schema
    }

    /// The Arrow schema of its batches (field metadata says each column's MySQL type).
    pub fn schema(&self) -> &SchemaRef {
        &self.arrow
    }
}

impl Iterator for TableSource {
    type Item = Result<RecordBatch, CopyError>;

    fn next(&mut self) -> Option<Self::Item> {
        match self.batches.recv() {
            Ok(item) => Some(item),
            Err(_) => {
                if let Some(thread) = self.reader.take() {
                    let _ = thread.join();
                }
                None
            }
        }
    }
}

/// What a [`TableSink`] does with a row whose key the table already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkDuplicates {
    /// Fail the write; none of the batch's rows stays (each batch is one transaction).
    Refuse,
    /// Keep the existing row; the batch's other rows are written.
    Skip,
}

/// Writes Arrow record batches into a table, exactly (the copy's `LOAD DATA` encoding; any
/// warning, any value the server would change, fails the write).
pub struct TableSink {
    writer: TableWriter,
}

impl std::fmt::Debug for TableSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TableSink").finish_non_exhaustive()
    }
}

impl TableSink {
    /// Opens `table` of the DSN's database for writing.
    pub fn open(
        dsn: &Dsn,
        table: &str,
        duplicates: SinkDuplicates,
    ) -> Result<TableSink, CopyError> {
        let (schema, _) = discover(dsn, table)?;
        let duplicates = match duplicates {
            SinkDuplicates::Refuse => Duplicates::Refuse,
            SinkDuplicates::Skip => Duplicates::Skip,
        };
        Ok(TableSink {
            writer: TableWriter::open(dsn, &schema, duplicates)?,
        })
    }

    /// The Arrow schema batches must have (a [`TableSource`] of a table of the same columns
    /// gives it).
    pub fn schema(&self) -> &SchemaRef {
        self.writer.schema()
    }

    /// Writes every row of `batch`; returns how many the table took (fewer with
    /// [`SinkDuplicates::Skip`] when some were there already).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<u64, CopyError> {
        Ok(self.writer.write(batch)?.inserted)
    }
}

/// Splits batches by shard: each row to the shard whose key range holds its keyspace id under a
/// vindex, byte-exact with Vitess.
#[derive(Debug)]
pub struct ShardRouter {
    router: Router,
    vindex: VindexKind,
    targets: Vec<u32>,
    splitter: Splitter,
}

impl ShardRouter {
    /// A router over shards with these key ranges (which must cover the keyspace exactly once),
    /// by `vindex`.
    pub fn new(ranges: &[KeyRange], vindex: VindexKind) -> Result<ShardRouter, CopyError> {
        let router = Router::new(ranges)
            .map_err(|e| CopyError::BadInput(format!("shard key ranges: {e}")))?;
        Ok(ShardRouter {
            splitter: Splitter::new(router.targets()),
            router,
            vindex,
            targets: Vec::new(),
        })
    }

    /// The rows of `batch` per shard, by the values of `column`: pairs of (shard index in the
    /// order of the ranges given, rows), for the shards that get rows.
    pub fn split(
        &mut self,
        batch: &RecordBatch,
        column: &str,
    ) -> Result<Vec<(usize, RecordBatch)>, CopyError> {
        let values = batch
            .column_by_name(column)
            .ok_or_else(|| CopyError::BadInput(format!("the batch has no column `{column}`")))?;
        route_column(
            self.vindex,
            values.as_ref(),
            &self.router,
            &mut self.targets,
        )
        .map_err(|e| CopyError::Unroutable {
            table: String::from("(a batch)"),
            column: column.to_owned(),
            detail: match e {
                RouteError::Unmappable { row, reason } => format!("row {row}: {reason}"),
                other => other.to_string(),
            },
        })?;
        self.splitter
            .split(batch, &self.targets)
            .map_err(|e| CopyError::Internal(format!("splitting a batch: {e}")))
    }
}
