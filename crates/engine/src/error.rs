//! Why a copy stopped. Every variant names the table and, through its [`MysqlError`], the server.

use reshard_mysql::MysqlError;

/// An error that stopped a copy or move. Match on the variant for what happened, and on
/// [`CopyError::class`] for whether running again can help.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// Deleting the rows of chunks in flight at a crash, before a resumed move copies them again.
    #[error("deleting the rows of {table} that a resumed move copies again: {source}")]
    Cleanup {
        /// The table.
        table: String,
        /// What failed.
        source: Box<MysqlError>,
    },
    /// Saving the move's checkpoint failed.
    #[error("saving the checkpoint: {0}")]
    Checkpoint(Box<MysqlError>),
    /// The copy cannot be done as asked; the message names the table and says what to change.
    /// Nothing was written.
    #[error("{0}")]
    Refused(String),
    /// Checks before the first write found these problems, each about one table; nothing was
    /// written.
    #[error("nothing was copied:\n- {}", .0.iter().map(|r| r.message.as_str()).collect::<Vec<_>>().join("\n- "))]
    Refusals(Vec<Refusal>),
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

/// One reason a copy or move cannot start, found before anything was written.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Refusal {
    /// The table it is about (`` `db`.`table` ``), when it is about one.
    pub table: Option<String>,
    /// What is wrong and what to do.
    pub message: String,
}

impl CopyError {
    /// Whether running again, unchanged, can help: transient when the server side of the error
    /// was (a lost connection that outlasted the retries, say), definite otherwise (a refusal,
    /// bad input, a value that cannot be written).
    pub fn class(&self) -> reshard_types::ErrorClass {
        match self {
            CopyError::Read { source, .. }
            | CopyError::Write { source, .. }
            | CopyError::Chunking { source, .. }
            | CopyError::Apply { source, .. } => source.class(),
            CopyError::Server(source)
            | CopyError::Checkpoint(source)
            | CopyError::Cleanup { source, .. } => source.class(),
            CopyError::Binlog(source) if source.is_transient() => {
                reshard_types::ErrorClass::Transient
            }
            _ => reshard_types::ErrorClass::Definite,
        }
    }

    /// The table the error is about, when it is about one.
    pub fn table(&self) -> Option<&str> {
        match self {
            CopyError::Read { table, .. }
            | CopyError::Write { table, .. }
            | CopyError::Chunking { table, .. }
            | CopyError::Apply { table, .. }
            | CopyError::Unroutable { table, .. } => Some(table),
            _ => None,
        }
    }
}

impl From<MysqlError> for CopyError {
    fn from(e: MysqlError) -> CopyError {
        CopyError::Server(Box::new(e))
    }
}
