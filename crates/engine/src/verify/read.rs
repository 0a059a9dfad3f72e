//! One server's rows of one chunk, as key ids, row hashes and placements ([`SideRows`]).
//!
//! The rows arrive as Arrow batches from the copy's reader (binary protocol, byte-exact); each
//! batch is hashed ([`RowHasher`]), its key columns are kept to name rows that differ, and the
//! batch itself is dropped. A source row's placement comes from the same routing kernel the copy
//! routes by. Memory: one batch (bounded by [`BatchLimits`](reshard_mysql::reader::BatchLimits))
//! plus 48 bytes and the key's columns per row of the chunk.

use arrow_array::RecordBatch;
use reshard_convert::encode::describe::describe_row;
use reshard_kernels::column::{RouteError, route_column};
use reshard_kernels::route::Router;
use reshard_kernels::rowhash::RowHasher;
use reshard_mysql::MysqlError;
use reshard_mysql::keyset::KeyWalk;
use reshard_mysql::reader::{BatchLimits, TableReader, open_read_session};
use reshard_types::Dsn;

use super::compare::{Placement, RowEntry, SideRows};
use crate::copy::{CopyTable, TableRoute, in_database};
use crate::error::CopyError;

/// Where a server's rows belong, decided per batch.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Placing<'a> {
    /// A target's rows: placement is not asked.
    Target,
    /// A source's rows, placed by the table's route.
    Source(&'a Router),
}

/// Reads chunks of one table on one server.
pub(crate) struct ChunkReader {
    reader: TableReader,
    /// `SELECT <columns> FROM <table> FORCE INDEX (<key>)`.
    select: String,
    hasher: RowHasher,
    hashes: Vec<u128>,
    keys: Vec<u128>,
    targets: Vec<u32>,
}

impl std::fmt::Debug for ChunkReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkReader")
            .field("select", &self.select)
            .finish_non_exhaustive()
    }
}

impl ChunkReader {
    /// A reader of `table` in the database of `dsn`.
    pub(crate) fn open(
        dsn: &Dsn,
        table: &CopyTable,
        batch: BatchLimits,
    ) -> Result<ChunkReader, MysqlError> {
        let schema = in_database(&table.schema, dsn);
        let reader = TableReader::on_conn(open_read_session(dsn)?, &schema, batch)?;
        let force = KeyWalk::new(&schema, &table.key)
            .map(|walk| walk.force_index())
            .unwrap_or_default();
        let select = format!("{} {force}", reader.select_all_sql());
        Ok(ChunkReader {
            reader,
            select,
            hasher: RowHasher::new(),
            hashes: Vec::new(),
            keys: Vec::new(),
            targets: Vec::new(),
        })
    }

    /// The connection, for the chunker's boundary queries.
    pub(crate) fn conn_mut(&mut self) -> &mut reshard_mysql::wire::RawConn {
        self.reader.conn_mut()
    }

    /// Reads the rows of `table` matching `predicate` (all rows when `None`). Returns them and
    /// the bytes the server sent.
    pub(crate) fn read(
        &mut self,
        table: &CopyTable,
        predicate: Option<&str>,
        placing: Placing<'_>,
    ) -> Result<(SideRows, u64), CopyError> {
        let sql = match predicate {
            Some(p) => format!("{} WHERE {p}", self.select),
            None => self.select.clone(),
        };
        let mut side = SideRows::default();
        let mut bytes = 0u64;
        let mut failed: Option<CopyError> = None;
        let (hasher, hashes, keys, targets) = (
            &mut self.hasher,
            &mut self.hashes,
            &mut self.keys,
            &mut self.targets,
        );
        self.reader
            .read_once(&sql, |batch, batch_bytes| {
                bytes += batch_bytes;
                if let Err(e) = add_batch(
                    table, &batch, placing, hasher, hashes, keys, targets, &mut side,
                ) {
                    failed = Some(e);
                    return Err(MysqlError::Unexpected {
                        server: String::new(),
                        doing: "verifying a chunk",
                        detail: String::from("stopped after an error of the batch"),
                    });
                }
                Ok(())
            })
            .map_err(|e| failed.take().unwrap_or_else(|| e.into()))?;
        Ok((side, bytes))
    }
}

/// Hashes `batch` into `side`: key ids, row hashes, placements, key columns.
#[allow(clippy::too_many_arguments)] // the reader's reused buffers, passed apart from it
fn add_batch(
    table: &CopyTable,
    batch: &RecordBatch,
    placing: Placing<'_>,
    hasher: &mut RowHasher,
    hashes: &mut Vec<u128>,
    keys: &mut Vec<u128>,
    targets: &mut Vec<u32>,
    side: &mut SideRows,
) -> Result<(), CopyError> {
    let name = table.schema.qualified_name();
    let convert = |e: reshard_convert::ConvertError| {
        CopyError::Internal(format!("hashing rows of {name}: {e}"))
    };
    hasher.hash_rows(batch, hashes).map_err(convert)?;
    hasher
        .hash_columns(batch, &table.key.columns, keys)
        .map_err(convert)?;
    let placement = |targets: &[u32], r: usize| match (placing, table.route) {
        (Placing::Target, _) | (Placing::Source(_), TableRoute::Everywhere) => Placement::Every,
        (Placing::Source(_), TableRoute::To(t)) => {
            Placement::One(u32::try_from(t).expect("fewer than 2^32 targets"))
        }
        (Placing::Source(_), TableRoute::Shard { .. }) => Placement::One(targets[r]),
    };
    if let (Placing::Source(router), TableRoute::Shard { column, vindex }) = (placing, table.route)
    {
        route_column(vindex, batch.column(column).as_ref(), router, targets).map_err(|e| {
            let detail = match e {
                RouteError::Unmappable { row, reason } => format!(
                    "the source row with {} has a sharding value the vindex cannot map ({reason}), so where it belongs is unknown",
                    describe_row(batch, row, &table.key.columns)
                ),
                RouteError::UnsupportedType(_) => e.to_string(),
            };
            CopyError::Unroutable {
                table: name.clone(),
                column: table.schema.columns[column].name.clone(),
                detail,
            }
        })?;
    }
    let key_batch = batch
        .project(&table.key.columns)
        .map_err(|e| CopyError::Internal(format!("the key columns of {name}: {e}")))?;
    let batch_index = u32::try_from(side.keys.len()).expect("fewer than 2^32 batches a chunk");
    side.rows.reserve(batch.num_rows());
    for r in 0..batch.num_rows() {
        side.rows.push(RowEntry {
            key: keys[r],
            hash: hashes[r],
            batch: batch_index,
            row: u32::try_from(r).expect("fewer than 2^32 rows a batch"),
            placement: placement(targets, r),
        });
    }
    side.keys.push(key_batch);
    Ok(())
}
