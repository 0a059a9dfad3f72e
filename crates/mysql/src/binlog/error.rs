//! Why a binlog stream stopped. Every variant names the server and says what to do; none is
//! ever skipped over, because a skipped change is a lost change.

use reshard_types::BinlogPosition;

use crate::MysqlError;

/// A binlog stream that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    /// Talking to the server failed.
    #[error(transparent)]
    Io(#[from] MysqlError),
    /// The file the stream needs is gone from the server.
    #[error(
        "{server}: the binary log the move needs ({position}) is no longer on the server ({message}); the changes made since then cannot be replayed, so the move must start again. Keep binary logs longer than a move takes (MariaDB: expire_logs_days / binlog_expire_logs_seconds; MySQL: binlog_expire_logs_seconds) and do not PURGE them during a move"
    )]
    Purged {
        /// The server, as a redacted DSN.
        server: String,
        /// Where the stream was.
        position: BinlogPosition,
        /// The server's message.
        message: String,
    },
    /// Row events of a moved table that do not carry every column.
    #[error(
        "{server}: the row changes of {table} at {position} do not carry every column, so they cannot be applied as whole rows; set binlog_row_image=FULL (globally, and in every session that writes: SET GLOBAL binlog_row_image='FULL'), then start the move again"
    )]
    NotFullRowImage {
        /// The server.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// The event's position.
        position: BinlogPosition,
    },
    /// MySQL's partial JSON updates.
    #[error(
        "{server}: {table} was changed by a partial JSON update at {position}, which carries only the changed part of the value; set binlog_row_value_options='' (no PARTIAL_JSON), then start the move again"
    )]
    PartialJson {
        /// The server.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// The event's position.
        position: BinlogPosition,
    },
    /// A compressed event this decoder cannot open.
    #[error(
        "{server}: the binary log holds a compressed event (type {code}) at {position}, which reshard cannot decompress; set log_bin_compress=OFF on the server (MariaDB), then start the move again"
    )]
    Compressed {
        /// The server.
        server: String,
        /// The event type code.
        code: u8,
        /// The event's position.
        position: BinlogPosition,
    },
    /// An event type that is neither understood nor marked ignorable.
    #[error(
        "{server}: an event of type {code}{hint} at {position} that reshard does not understand and that is not marked ignorable; it may change data, so the move stops rather than skip it{advice}"
    )]
    UnknownEvent {
        /// The server.
        server: String,
        /// The event type code.
        code: u8,
        /// What the event is, when reshard knows its name (" (...)"), or "".
        hint: &'static str,
        /// What to do about it.
        advice: &'static str,
        /// The event's position.
        position: BinlogPosition,
    },
    /// A statement (DDL, or a statement-based change) on a moved table.
    #[error(
        "{server}: the statement `{statement}` at {position} concerns the moved table {table}; a move cannot follow a table whose definition changes, nor changes logged as statements. The move stopped before applying anything after it; run the DDL before or after the move (or set binlog_format=ROW for the writing sessions) and start the move again"
    )]
    Statement {
        /// The server.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// The statement, shortened.
        statement: String,
        /// The event's position.
        position: BinlogPosition,
    },
    /// A row image that cannot be decoded exactly.
    #[error("{server}: the row changes of {table} at {position}: {source}")]
    Decode {
        /// The server.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// The event's position.
        position: BinlogPosition,
        /// What is wrong.
        #[source]
        source: Box<reshard_convert::ConvertError>,
    },
    /// The replica server id asked for cannot be used with this source.
    #[error(
        "{server}: replica server id {id} is taken by {by}; give the move an id no server or replica \
         of the sources uses with --server-id (source N streams as ID + N - 1)"
    )]
    ReplicaIdTaken {
        /// The server.
        server: String,
        /// The id asked for.
        id: u32,
        /// Who has it.
        by: String,
    },
    /// The DSN's user may not read the binary log as a replica.
    #[error(
        "{server}: the user may not stream the binary log ({message}); grant it the REPLICATION SLAVE \
         privilege (GRANT REPLICATION SLAVE ON *.* TO 'user'@'host'), which a move needs on every source"
    )]
    NoReplicationGrant {
        /// The server.
        server: String,
        /// The server's words.
        message: String,
    },
    /// The stream's own bookkeeping disagrees with the server's.
    #[error("{server}: {detail} (at {position}); please report this")]
    Inconsistent {
        /// The server.
        server: String,
        /// What disagrees.
        detail: String,
        /// Where.
        position: BinlogPosition,
    },
}

impl BinlogError {
    /// Whether reconnecting from the last committed position can help.
    pub fn is_transient(&self) -> bool {
        matches!(self, BinlogError::Io(e) if e.class() == reshard_types::ErrorClass::Transient)
    }
}
