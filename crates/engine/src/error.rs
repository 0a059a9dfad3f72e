//! Why a copy stopped. Every variant names the table and, through its [`MysqlError`], the server.

use reshard_mysql::MysqlError;

/// An error that stopped a copy.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    /// Reading a chunk failed (and retries, if it was transient, did not help).
    #[error("reading chunk {chunk} of {table} ({range}): {source}")]
    Read {
        /// `` `db`.`table` ``.
        table: String,
        /// The chunk's number within the table.
        chunk: u64,
        /// The chunk's key range.
        range: String,
        /// What went wrong (naming the server).
        #[source]
        source: Box<MysqlError>,
    },
    /// Writing rows of a chunk failed (and retries, if it was transient, did not help).
    #[error("writing chunk {chunk} of {table} ({range}): {source}")]
    Write {
        /// `` `db`.`table` ``.
        table: String,
        /// The chunk's number within the table.
        chunk: u64,
        /// The chunk's key range.
        range: String,
        /// What went wrong (naming the server).
        #[source]
        source: Box<MysqlError>,
    },
    /// A row's sharding value has no keyspace id under the table's vindex.
    #[error("table {table}, sharding column `{column}`: {detail}")]
    Unroutable {
        /// `` `db`.`table` ``.
        table: String,
        /// The sharding column.
        column: String,
        /// The row (by its key) and why.
        detail: String,
    },
    /// Finding the next chunk of a table failed.
    #[error("finding the next chunk of {table}: {source}")]
    Chunking {
        /// `` `db`.`table` ``.
        table: String,
        /// What went wrong (naming the server).
        #[source]
        source: Box<MysqlError>,
    },
    /// A binlog stream stopped (the error names the server, the position and what to do).
    #[error("{0}")]
    Binlog(Box<reshard_mysql::binlog::BinlogError>),
    /// Applying changes to a target failed (and retries, if it was transient, did not help).
    #[error("applying changes to {table}: {source}")]
    Apply {
        /// `` `db`.`table` `` (on the target the error names).
        table: String,
        /// What went wrong (naming the server).
        #[source]
        source: Box<MysqlError>,
    },
    /// Preparing or finishing the copy (discovery, creating tables, adding indexes) failed.
    #[error("{0}")]
    Server(Box<MysqlError>),
    /// The copy cannot be done as asked; the message names the table and says what to change.
    /// Nothing was written.
    #[error("{0}")]
    Refused(String),
    /// The input names something the servers do not hold (a sharding rule for no moved table);
    /// the message says what to change. Nothing was written.
    #[error("{0}")]
    BadInput(String),
    /// A bug in reshard (a worker thread panicked); the copy stopped.
    #[error("internal error: {0}")]
    Internal(String),
    /// After the copy, a target does not hold the rows that were read: a bug or an outside
    /// writer; the message says which table and by how much.
    #[error("{0}")]
    Mismatch(String),
}

impl From<MysqlError> for CopyError {
    fn from(e: MysqlError) -> CopyError {
        CopyError::Server(Box::new(e))
    }
}
