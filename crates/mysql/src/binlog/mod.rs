//! One source's binary log as a stream of decoded row changes of the moved tables.
//!
//! [`BinlogReader::start`] connects as a replica (mysql_async's binlog stream, with a server id of
//! its own), from a [`BinlogPosition`] captured by [`current_position`] **before** the copy's
//! first read of that source: every change committed after that point is in the stream, and every
//! change before it is in what the copy reads.
//!
//! [`BinlogReader::next`] reads one event and keeps the books:
//!
//! - **Positions.** The stream's position is the fake `ROTATE` the server sends on connect, then
//!   the end of each event read. The event header's `log_pos` is 32 bits and wraps in a file past
//!   4 GiB, so the 64-bit offset is the first one at or past the event's start plus its size
//!   whose low 32 bits are `log_pos` (at or past: MariaDB leaves out events a replica did not ask
//!   for, such as `ANNOTATE_ROWS`). A real `ROTATE` moves it to the next file. Events the server
//!   makes up for the replica (`log_pos` 0, or flagged artificial: the format description sent
//!   on connect) and heartbeats take no room in the file.
//! - **Transactions.** [`BinlogReader::committed`] moves only at a transaction boundary: after an
//!   `XID` or a `COMMIT` statement, or after a statement that is its own transaction (DDL). A
//!   transaction starts at `BEGIN` or at a MariaDB GTID event not flagged standalone.
//! - **Rows.** Rows events of the moved tables are decoded at once, into the table's
//!   [`ChangeDecoder`] (`reshard_convert::binlog`): no per-value `Value`, no copy of the event.
//!   [`BinlogReader::take_changes`] hands over what has been decoded, as change batches.
//! - **Refusals.** Row images without every column, partial JSON, compressed events (MariaDB's
//!   `log_bin_compress`), a statement naming a moved table (DDL, or a change logged as a
//!   statement), an event type neither understood nor flagged ignorable, and a purged binlog are
//!   each a [`BinlogError`] that names the server, the table and the position. Nothing is skipped.

mod error;
pub mod snapshot;
pub mod statement;

use std::collections::HashMap;
use std::time::Duration;

use arrow_schema::SchemaRef;
use futures_util::StreamExt;
use mysql_async::BinlogStream;
use mysql_async::BinlogStreamRequest;
use mysql_async::prelude::Queryable;
use mysql_common::binlog::events::{
    Event, EventData, QueryEvent, RotateEvent, RowsEventData, TableMapEvent,
    TransactionPayloadEvent,
};
use reshard_convert::binlog::{BinlogColumn, ChangeBatch, ChangeDecoder, RowsKind};
use reshard_types::{BinlogPosition, Dsn, Flavor};

pub use error::BinlogError;

use crate::MysqlError;
use crate::session::{Session, connect_server};

/// How often the server sends a heartbeat when it has nothing else to send. A heartbeat is how
/// an idle source's stream learns that its position moved past commits of tables it does not
/// follow, so it bounds how long a cutover waits, under its locks, for the targets to reach the
/// positions read there: a quarter of a second, a few bytes each.
pub const HEARTBEAT: Duration = Duration::from_millis(250);
/// How long without any event (heartbeats included) before the connection counts as lost.
const SILENCE_LIMIT: Duration = Duration::from_secs(30);

/// Event type codes the reader acts on (`binlog_event.h`, MariaDB's `log_event.h`).
mod code {
    pub const QUERY: u8 = 2;
    pub const STOP: u8 = 3;
    pub const ROTATE: u8 = 4;
    pub const INTVAR: u8 = 5;
    pub const RAND: u8 = 13;
    pub const USER_VAR: u8 = 14;
    pub const FORMAT_DESCRIPTION: u8 = 15;
    pub const XID: u8 = 16;
    pub const TABLE_MAP: u8 = 19;
    pub const WRITE_ROWS_V1: u8 = 23;
    pub const UPDATE_ROWS_V1: u8 = 24;
    pub const DELETE_ROWS_V1: u8 = 25;
    pub const HEARTBEAT: u8 = 27;
    pub const IGNORABLE: u8 = 28;
    pub const ROWS_QUERY: u8 = 29;
    pub const WRITE_ROWS: u8 = 30;
    pub const UPDATE_ROWS: u8 = 31;
    pub const DELETE_ROWS: u8 = 32;
    pub const GTID: u8 = 33;
    pub const ANONYMOUS_GTID: u8 = 34;
    pub const PREVIOUS_GTIDS: u8 = 35;
    pub const XA_PREPARE: u8 = 38;
    pub const PARTIAL_UPDATE_ROWS: u8 = 39;
    pub const TRANSACTION_PAYLOAD: u8 = 40;
    pub const MARIADB_ANNOTATE_ROWS: u8 = 160;
    pub const MARIADB_BINLOG_CHECKPOINT: u8 = 161;
    pub const MARIADB_GTID: u8 = 162;
    pub const MARIADB_GTID_LIST: u8 = 163;
    pub const MARIADB_START_ENCRYPTION: u8 = 164;
    /// `QUERY_COMPRESSED` up to `DELETE_ROWS_COMPRESSED` (v1 and v2).
    pub const MARIADB_COMPRESSED: std::ops::RangeInclusive<u8> = 165..=171;
}

/// Event header flags.
const LOG_EVENT_ARTIFICIAL_F: u16 = 0x20;
const LOG_EVENT_IGNORABLE_F: u16 = 0x80;
/// MariaDB GTID event flag: a statement with no `BEGIN`/`COMMIT` around it (DDL).
const MARIADB_FL_STANDALONE: u8 = 1;
/// The server error of a binlog request it cannot serve (a purged or unknown file).
const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;
/// What a binlog dump request without `REPLICATION SLAVE` gets (MariaDB answers 1045, MySQL 1227).
const ER_ACCESS_DENIED_ERROR: u16 = 1045;
const ER_SPECIFIC_ACCESS_DENIED_ERROR: u16 = 1227;

/// MariaDB: another replica connection already streams under this server id.
const ER_SLAVE_SAME_ID: u16 = 4052;

/// The refusal of a binlog dump request for want of the privilege or for a server id in use, if
/// `e` is one.
fn no_grant(dsn: &Dsn, server_id: u32, e: &mysql_async::Error) -> Option<BinlogError> {
    match e {
        mysql_async::Error::Server(server) if server.code == ER_SLAVE_SAME_ID => {
            Some(BinlogError::ReplicaIdTaken {
                server: dsn.to_string(),
                id: server_id,
                by: format!("another stream connected under it ({})", server.message),
            })
        }
        mysql_async::Error::Server(server)
            if matches!(
                server.code,
                ER_ACCESS_DENIED_ERROR | ER_SPECIFIC_ACCESS_DENIED_ERROR
            ) =>
        {
            Some(BinlogError::NoReplicationGrant {
                server: dsn.to_string(),
                message: server.message.clone(),
            })
        }
        _ => None,
    }
}

/// The binlog position a server is writing at now (`SHOW MASTER STATUS`).
pub async fn current_position(session: &mut Session) -> Result<BinlogPosition, MysqlError> {
    let dsn = session.dsn().clone();
    let row: Option<mysql_async::Row> = session
        .conn()
        .query_first("SHOW MASTER STATUS")
        .await
        .map_err(|e| MysqlError::from_driver(&dsn, "reading the binlog position", e))?;
    let row = row.ok_or_else(|| MysqlError::Unexpected {
        server: dsn.to_string(),
        doing: "reading the binlog position",
        detail: String::from(
            "SHOW MASTER STATUS returned nothing: binary logging is off (start the server with log_bin)",
        ),
    })?;
    let file: Option<String> = row.get(0);
    let offset: Option<u64> = row.get(1);
    match (file, offset) {
        (Some(file), Some(offset)) => Ok(BinlogPosition::new(file, offset)),
        _ => Err(MysqlError::Unexpected {
            server: dsn.to_string(),
            doing: "reading the binlog position",
            detail: String::from("SHOW MASTER STATUS has no File and Position"),
        }),
    }
}

/// Every binary log file of a server with its size (`SHOW BINARY LOGS`), oldest first: what lag
/// in bytes is measured against.
pub async fn binary_logs(session: &mut Session) -> Result<Vec<(String, u64)>, MysqlError> {
    let dsn = session.dsn().clone();
    let rows: Vec<mysql_async::Row> = session
        .conn()
        .query("SHOW BINARY LOGS")
        .await
        .map_err(|e| MysqlError::from_driver(&dsn, "listing the binary logs", e))?;
    Ok(rows
        .into_iter()
        .filter_map(|row| Some((row.get::<String, _>(0)?, row.get::<u64, _>(1)?)))
        .collect())
}

/// Bytes from `from` to `to` across the files listed by [`binary_logs`]; 0 when `from` is at or
/// past `to`.
pub fn bytes_between(files: &[(String, u64)], from: &BinlogPosition, to: &BinlogPosition) -> u64 {
    if from >= to {
        return 0;
    }
    if from.file() == to.file() {
        return to.offset() - from.offset();
    }
    let mut total = 0;
    for (file, size) in files {
        let number = reshard_types::file_number(file);
        if number == from.file_number() {
            total += size.saturating_sub(from.offset());
        } else if number > from.file_number() && number < to.file_number() {
            total += size;
        }
    }
    total + to.offset()
}

/// A table whose changes the reader decodes, as it is on this source.
#[derive(Debug, Clone)]
pub struct MovedTable {
    /// The database it is in on this source.
    pub database: String,
    /// Its name.
    pub name: String,
    /// Its Arrow schema (the copy's).
    pub schema: SchemaRef,
}

struct Tracked {
    table: MovedTable,
    /// The table map the decoder was made for.
    columns: Vec<BinlogColumn>,
    decoder: Option<ChangeDecoder>,
    /// Batches finished when the table map changed.
    finished: Vec<ChangeBatch>,
}

/// What one call of [`BinlogReader::next`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// Row changes of a moved table were decoded (inside a transaction).
    Rows,
    /// A transaction ended: everything decoded so far is committed, up to
    /// [`BinlogReader::committed`].
    Commit,
    /// The server has nothing newer to send (a heartbeat).
    Idle,
    /// An event that changes nothing the move follows.
    Other,
}

/// A binlog stream from one source, decoding the moved tables' changes (see the module docs).
pub struct BinlogReader {
    dsn: Dsn,
    stream: BinlogStream,
    /// Where the next event starts.
    next: BinlogPosition,
    /// The last transaction boundary.
    committed: BinlogPosition,
    in_transaction: bool,
    /// The replica server id it streams under.
    server_id: u32,
    /// Whether the transaction being read has changed a moved table.
    moved_in_transaction: bool,
    /// Whether the format description event has been read.
    seen_format: bool,
    tables: Vec<Tracked>,
    /// Table ids of the stream: the moved table each one is, if any.
    by_id: HashMap<u64, Option<usize>>,
    /// The server's timestamp of the last event that is in the file.
    last_timestamp: u32,
    rows: usize,
    events: u64,
}

impl BinlogReader {
    /// Connects to `dsn` as a replica with id `server_id` and streams from `from`. `server_id`
    /// must differ from every other replica's (and the server's own).
    pub async fn start(
        dsn: &Dsn,
        from: BinlogPosition,
        tables: Vec<MovedTable>,
        server_id: u32,
    ) -> Result<BinlogReader, BinlogError> {
        let session = connect_server(dsn).await?;
        let flavor = session.flavor();
        let mut conn = session.into_conn();
        let doing = "starting the binlog stream";
        let heartbeat_ns = HEARTBEAT.as_nanos();
        let mut setup = vec![format!("SET @master_heartbeat_period = {heartbeat_ns}")];
        if flavor == Flavor::MariaDb {
            // Capability 4: GTID events instead of BEGIN queries, as MariaDB replicas get them.
            setup.push(String::from("SET @mariadb_slave_capability = 4"));
        }
        for sql in setup {
            conn.query_drop(sql)
                .await
                .map_err(|e| MysqlError::from_driver(dsn, doing, e))?;
        }
        let request = BinlogStreamRequest::new(server_id)
            .with_filename(from.file().as_bytes())
            .with_pos(from.offset());
        let stream = match conn.get_binlog_stream(request).await {
            Ok(stream) => stream,
            Err(e) => {
                return Err(no_grant(dsn, server_id, &e)
                    .unwrap_or_else(|| MysqlError::from_driver(dsn, doing, e).into()));
            }
        };
        Ok(BinlogReader {
            dsn: dsn.clone(),
            stream,
            next: from.clone(),
            committed: from,
            in_transaction: false,
            server_id,
            moved_in_transaction: false,
            seen_format: false,
            tables: tables
                .into_iter()
                .map(|table| Tracked {
                    table,
                    columns: Vec::new(),
                    decoder: None,
                    finished: Vec::new(),
                })
                .collect(),
            by_id: HashMap::new(),
            last_timestamp: 0,
            rows: 0,
            events: 0,
        })
    }

    /// Checks, before anything is written, that a stream can run: `server_id` is not 0, not the
    /// source's own id and not that of a replica registered with it (a server drops the older
    /// of two streams with one id, so they would take turns forever); then opens a stream from
    /// `from` and reads its first event (the user may stream the binary log from there).
    pub async fn probe(dsn: &Dsn, from: BinlogPosition, server_id: u32) -> Result<(), BinlogError> {
        let taken = |by: String| BinlogError::ReplicaIdTaken {
            server: dsn.to_string(),
            id: server_id,
            by,
        };
        if server_id == 0 {
            return Err(taken(String::from(
                "0, which a server does not accept from a replica",
            )));
        }
        let mut session = connect_server(dsn).await?;
        let own: Option<u32> = session
            .conn()
            .query_first("SELECT @@server_id")
            .await
            .map_err(|e| session.error("reading the server's id", e))?;
        if own == Some(server_id) {
            return Err(taken(String::from("the source server itself")));
        }
        // Replicas that registered with the source (listing them may need a privilege the user
        // lacks; then only the checks above are made).
        match session
            .conn()
            .query::<mysql_async::Row, _>("SHOW SLAVE HOSTS")
            .await
        {
            Ok(rows) => {
                for row in rows {
                    let id: Option<u32> = row.get(0);
                    if id == Some(server_id) {
                        let host: Option<String> = row.get(1);
                        let port: Option<u32> = row.get(2);
                        return Err(taken(format!(
                            "a replica registered with the source (host {}, port {})",
                            host.filter(|h| !h.is_empty())
                                .unwrap_or_else(|| String::from("not reported")),
                            port.map_or_else(|| String::from("?"), |p| p.to_string())
                        )));
                    }
                }
            }
            Err(e) => tracing::debug!(source = %dsn, "cannot list the source's replicas: {e}"),
        }
        let _ = session.close().await;
        let mut reader = BinlogReader::start(dsn, from, Vec::new(), server_id).await?;
        reader.next().await?;
        Ok(())
    }

    /// The last transaction boundary read: resuming from it replays no partial transaction.
    pub fn committed(&self) -> &BinlogPosition {
        &self.committed
    }

    /// Whether the reader is inside a transaction.
    pub fn in_transaction(&self) -> bool {
        self.in_transaction
    }

    /// The position of the next event to read.
    pub fn position(&self) -> &BinlogPosition {
        &self.next
    }

    /// The server's timestamp (Unix seconds) of the last event read that is in the binlog; 0
    /// before the first one.
    pub fn last_timestamp(&self) -> u32 {
        self.last_timestamp
    }

    /// Rows decoded and not yet taken.
    pub fn pending_rows(&self) -> usize {
        self.rows
    }

    /// Bytes of row data decoded and not yet taken (what [`BinlogReader::take_changes`] would
    /// hand over, about): a stream hands a large transaction over in parts of a bounded size.
    pub fn pending_bytes(&self) -> usize {
        self.tables
            .iter()
            .map(|t| {
                t.finished
                    .iter()
                    .map(|b| b.images.get_array_memory_size())
                    .sum::<usize>()
                    + t.decoder.as_ref().map_or(0, |d| d.bytes())
            })
            .sum()
    }

    /// Events read so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// The change batches decoded since the last call, per moved table (index into the tables
    /// given to [`BinlogReader::start`]), in binlog order within each table.
    pub fn take_changes(&mut self) -> Result<Vec<(usize, ChangeBatch)>, BinlogError> {
        let mut out = Vec::new();
        for (index, tracked) in self.tables.iter_mut().enumerate() {
            for batch in tracked.finished.drain(..) {
                out.push((index, batch));
            }
            if let Some(decoder) = tracked.decoder.as_mut().filter(|d| d.rows() > 0) {
                let batch = decoder.finish().map_err(|source| BinlogError::Decode {
                    server: self.dsn.to_string(),
                    table: qualified(&tracked.table),
                    position: self.next.clone(),
                    source: Box::new(source),
                })?;
                out.push((index, batch));
            }
        }
        self.rows = 0;
        Ok(out)
    }

    /// Reads and handles the next event.
    pub async fn next(&mut self) -> Result<Step, BinlogError> {
        let event = match tokio::time::timeout(SILENCE_LIMIT, self.stream.next()).await {
            Ok(Some(Ok(event))) => event,
            Ok(Some(Err(e))) => return Err(self.stream_error(e)),
            Ok(None) => return Err(self.lost("the server ended the binlog stream")),
            Err(_) => {
                return Err(self.lost(&format!(
                    "no event and no heartbeat for {} s",
                    SILENCE_LIMIT.as_secs()
                )));
            }
        };
        self.events += 1;
        let header = event.header();
        let code = header.event_type_raw();
        let at = self.next.clone();
        if code == code::HEARTBEAT {
            return Ok(Step::Idle);
        }
        if code == code::ROTATE {
            let rotate: RotateEvent<'_> = event.read_event().map_err(|e| self.bad(&e, &at))?;
            let mut name = rotate.name_raw();
            // The fake rotate on connect comes before the format description, so the parser
            // does not know yet that events end in a 4-byte checksum and reads it as part of
            // the name. It names the file that was asked for.
            let asked = self.next.file().as_bytes();
            if !self.seen_format && name.len() == asked.len() + 4 && name.starts_with(asked) {
                name = asked;
            }
            let name = String::from_utf8_lossy(name).into_owned();
            if self.seen_format {
                // A real rotate: the server numbers tables anew in the next file, and ids of
                // tables no longer in use must not pile up over a long move.
                self.by_id.clear();
            }
            self.next = BinlogPosition::new(name, rotate.position());
            if !self.in_transaction {
                self.committed = self.next.clone();
            }
            return Ok(Step::Other);
        }
        if code == code::FORMAT_DESCRIPTION {
            self.seen_format = true;
        }
        let in_file = header.log_pos() != 0 && header.flags_raw() & LOG_EVENT_ARTIFICIAL_F == 0;
        if in_file {
            self.next = BinlogPosition::new(
                self.next.file(),
                end_offset(at.offset(), header.event_size(), header.log_pos()),
            );
            self.last_timestamp = header.timestamp();
        }
        self.handle(&event, code, header.flags_raw(), &at)
    }

    fn handle(
        &mut self,
        event: &Event,
        code: u8,
        flags: u16,
        at: &BinlogPosition,
    ) -> Result<Step, BinlogError> {
        match code {
            code::XID => Ok(self.commit()),
            code::QUERY => {
                let query: QueryEvent<'_> = event.read_event().map_err(|e| self.bad(&e, at))?;
                self.query(&query.query(), &query.schema(), at)
            }
            code::TABLE_MAP => {
                let map: TableMapEvent<'_> = event.read_event().map_err(|e| self.bad(&e, at))?;
                self.table_map(&map, at)?;
                Ok(Step::Other)
            }
            code::WRITE_ROWS_V1
            | code::UPDATE_ROWS_V1
            | code::DELETE_ROWS_V1
            | code::WRITE_ROWS
            | code::UPDATE_ROWS
            | code::DELETE_ROWS
            | code::PARTIAL_UPDATE_ROWS => self.rows_event(event, at),
            code::MARIADB_GTID => {
                // seq_no (8), domain_id (4), flags2 (1).
                let standalone = event
                    .data()
                    .get(12)
                    .is_some_and(|f| f & MARIADB_FL_STANDALONE != 0);
                if !standalone {
                    self.in_transaction = true;
                }
                Ok(Step::Other)
            }
            code::TRANSACTION_PAYLOAD => {
                // mysql_async decompresses the payload and streams the events inside; if it
                // cannot parse it, it drops them silently, so make sure it can.
                event
                    .read_event::<TransactionPayloadEvent<'_>>()
                    .map_err(|_| BinlogError::Compressed {
                        server: self.dsn.to_string(),
                        code,
                        position: at.clone(),
                    })?;
                Ok(Step::Other)
            }
            c if code::MARIADB_COMPRESSED.contains(&c) => Err(BinlogError::Compressed {
                server: self.dsn.to_string(),
                code,
                position: at.clone(),
            }),
            // A file's header events and checkpoints belong to no transaction: outside one, the
            // position after them is a transaction boundary too. Without this, a source idle after
            // a rotation would stay behind its binlog end (the header events) forever.
            code::STOP
            | code::FORMAT_DESCRIPTION
            | code::PREVIOUS_GTIDS
            | code::MARIADB_BINLOG_CHECKPOINT
            | code::MARIADB_GTID_LIST
            | code::MARIADB_START_ENCRYPTION => {
                if !self.in_transaction {
                    self.committed = self.next.clone();
                }
                Ok(Step::Other)
            }
            code::INTVAR
            | code::RAND
            | code::USER_VAR
            | code::IGNORABLE
            | code::ROWS_QUERY
            | code::GTID
            | code::ANONYMOUS_GTID
            | code::MARIADB_ANNOTATE_ROWS => Ok(Step::Other),
            _ if flags & LOG_EVENT_IGNORABLE_F != 0 => Ok(Step::Other),
            // The first phase of a two-phase XA transaction ends its event group; its `XA
            // COMMIT` (or `XA ROLLBACK`) comes later as a statement of its own. One that changed no
            // moved table concerns the move no more than any other transaction does.
            code::XA_PREPARE if !self.moved_in_transaction => {
                self.in_transaction = false;
                self.committed = self.next.clone();
                Ok(Step::Other)
            }
            code::XA_PREPARE => Err(BinlogError::UnknownEvent {
                server: self.dsn.to_string(),
                code,
                hint: " (XA PREPARE: the first phase of an XA transaction, whose changes may still be rolled back)",
                advice: "; reshard does not follow two-phase XA transactions on the tables it moves: run them outside the move's tables, or finish them and start the move again",
                position: at.clone(),
            }),
            _ => Err(BinlogError::UnknownEvent {
                server: self.dsn.to_string(),
                code,
                hint: "",
                advice: ". Please report the server version",
                position: at.clone(),
            }),
        }
    }

    fn commit(&mut self) -> Step {
        self.in_transaction = false;
        self.moved_in_transaction = false;
        self.committed = self.next.clone();
        Step::Commit
    }

    fn query(
        &mut self,
        statement: &str,
        default_db: &str,
        at: &BinlogPosition,
    ) -> Result<Step, BinlogError> {
        let word = statement::first_word(statement);
        let is = |w: &str| word.eq_ignore_ascii_case(w);
        // `XA START` and `XA COMMIT` bracket an XA transaction.
        let xa_second = || statement.split_whitespace().nth(1).unwrap_or_default();
        if is("BEGIN") || (is("XA") && xa_second().eq_ignore_ascii_case("START")) {
            self.in_transaction = true;
            return Ok(Step::Other);
        }
        if is("COMMIT")
            || is("ROLLBACK")
            || (is("XA") && xa_second().eq_ignore_ascii_case("COMMIT"))
        {
            return Ok(self.commit());
        }
        if let Some(tracked) = self.tables.iter().find(|t| {
            statement::statement_names_table(
                statement,
                default_db,
                &t.table.database,
                &t.table.name,
            )
        }) {
            let mut shown: String = statement.chars().take(300).collect();
            if shown.len() < statement.len() {
                shown.push_str("...");
            }
            return Err(BinlogError::Statement {
                server: self.dsn.to_string(),
                table: qualified(&tracked.table),
                statement: shown,
                position: at.clone(),
            });
        }
        if self.in_transaction {
            Ok(Step::Other)
        } else {
            Ok(self.commit())
        }
    }

    fn table_map(
        &mut self,
        map: &TableMapEvent<'_>,
        at: &BinlogPosition,
    ) -> Result<(), BinlogError> {
        if self.by_id.contains_key(&map.table_id()) {
            return Ok(());
        }
        let database = map.database_name();
        let name = map.table_name();
        let index = self
            .tables
            .iter()
            .position(|t| t.table.database == database && t.table.name == name);
        self.by_id.insert(map.table_id(), index);
        let Some(index) = index else {
            return Ok(());
        };
        let count = usize::try_from(map.columns_count()).unwrap_or(usize::MAX);
        let mut columns = Vec::with_capacity(count);
        for i in 0..count {
            let type_code = match map.get_raw_column_type(i) {
                Ok(Some(ty)) => ty as u8,
                _ => {
                    return Err(self.inconsistent(
                        format!(
                            "the table map of {} has a column of unknown type",
                            qualified(&self.tables[index].table)
                        ),
                        at,
                    ));
                }
            };
            let raw = map.get_column_metadata(i).unwrap_or(&[]);
            let mut meta = [0u8; 2];
            for (slot, byte) in meta.iter_mut().zip(raw) {
                *slot = *byte;
            }
            columns.push(BinlogColumn { type_code, meta });
        }
        let server = self.dsn.to_string();
        let tracked = &mut self.tables[index];
        if tracked.decoder.is_some() && tracked.columns == columns {
            return Ok(());
        }
        if let Some(mut old) = tracked.decoder.take()
            && old.rows() > 0
        {
            let batch = old.finish().map_err(|source| BinlogError::Decode {
                server: server.clone(),
                table: qualified(&tracked.table),
                position: at.clone(),
                source: Box::new(source),
            })?;
            tracked.finished.push(batch);
        }
        let decoder =
            ChangeDecoder::new(tracked.table.schema.clone(), &columns).map_err(|source| {
                BinlogError::Decode {
                    server,
                    table: qualified(&tracked.table),
                    position: at.clone(),
                    source: Box::new(source),
                }
            })?;
        tracked.columns = columns;
        tracked.decoder = Some(decoder);
        Ok(())
    }

    fn rows_event(&mut self, event: &Event, at: &BinlogPosition) -> Result<Step, BinlogError> {
        let Some(EventData::RowsEvent(rows)) = event.read_data().map_err(|e| self.bad(&e, at))?
        else {
            return Err(
                self.inconsistent(String::from("a rows event that does not parse as one"), at)
            );
        };
        let Some(Some(index)) = self.by_id.get(&rows.table_id()).copied() else {
            return Ok(Step::Other);
        };
        // The names for an error message are only made when there is one: this runs for every
        // rows event of a moved table.
        let dsn = &self.dsn;
        let tracked = &mut self.tables[index];
        let kind = rows_kind(&rows, || dsn.to_string(), || qualified(&tracked.table), at)?;
        let columns = tracked.columns.len();
        let num_columns = usize::try_from(rows.num_columns()).unwrap_or(usize::MAX);
        let before_full = rows
            .columns_before_image()
            .is_none_or(|b| b.len() >= columns && b[..columns].all());
        let after_full = rows
            .columns_after_image()
            .is_none_or(|b| b.len() >= columns && b[..columns].all());
        if num_columns != columns || !before_full || !after_full {
            return Err(BinlogError::NotFullRowImage {
                server: dsn.to_string(),
                table: qualified(&tracked.table),
                position: at.clone(),
            });
        }
        let decoder = tracked
            .decoder
            .as_mut()
            .expect("a table id maps to a moved table only once its decoder is made");
        let decoded = decoder
            .decode_rows(kind, rows.rows_data())
            .map_err(|source| BinlogError::Decode {
                server: dsn.to_string(),
                table: qualified(&tracked.table),
                position: at.clone(),
                source: Box::new(source),
            })?;
        self.rows += decoded;
        self.moved_in_transaction = true;
        Ok(Step::Rows)
    }

    fn stream_error(&self, e: mysql_async::Error) -> BinlogError {
        if let Some(refused) = no_grant(&self.dsn, self.server_id, &e) {
            return refused;
        }
        if let mysql_async::Error::Server(ref server) = e
            && server.code == ER_MASTER_FATAL_ERROR_READING_BINLOG
        {
            return BinlogError::Purged {
                server: self.dsn.to_string(),
                position: self.next.clone(),
                message: server.message.clone(),
            };
        }
        BinlogError::Io(MysqlError::from_driver(
            &self.dsn,
            "reading the binlog stream",
            e,
        ))
    }

    fn lost(&self, detail: &str) -> BinlogError {
        BinlogError::Io(MysqlError::ConnectionLost {
            server: self.dsn.to_string(),
            doing: "reading the binlog stream",
            detail: detail.to_owned(),
        })
    }

    fn bad(&self, e: &std::io::Error, at: &BinlogPosition) -> BinlogError {
        self.inconsistent(format!("an event that does not parse: {e}"), at)
    }

    fn inconsistent(&self, detail: String, at: &BinlogPosition) -> BinlogError {
        BinlogError::Inconsistent {
            server: self.dsn.to_string(),
            detail,
            position: at.clone(),
        }
    }
}

/// Where an event that starts at `start` or later, is `size` bytes long and ends at `log_pos`
/// by its 32-bit header ends, as a 64-bit offset: the first offset at or past `start + size`
/// whose low 32 bits are `log_pos`. At or past, because the server does not send every event of
/// the file (MariaDB leaves out the `ANNOTATE_ROWS` events a replica did not ask for), so the
/// next event may start after the end of the last one received.
fn end_offset(start: u64, size: u32, log_pos: u32) -> u64 {
    let least = start + u64::from(size);
    let low = u32::try_from(least & 0xFFFF_FFFF).expect("masked to 32 bits");
    let gap = u64::from(log_pos.wrapping_sub(low));
    least + gap
}

/// What a rows event of a moved table does, or the refusal of one reshard cannot apply: MySQL's
/// partial JSON updates carry only the changed part of a value.
fn rows_kind(
    rows: &RowsEventData<'_>,
    server: impl FnOnce() -> String,
    table: impl FnOnce() -> String,
    at: &BinlogPosition,
) -> Result<RowsKind, BinlogError> {
    match rows {
        RowsEventData::WriteRowsEventV1(_) | RowsEventData::WriteRowsEvent(_) => {
            Ok(RowsKind::Write)
        }
        RowsEventData::UpdateRowsEventV1(_) | RowsEventData::UpdateRowsEvent(_) => {
            Ok(RowsKind::Update)
        }
        RowsEventData::DeleteRowsEventV1(_) | RowsEventData::DeleteRowsEvent(_) => {
            Ok(RowsKind::Delete)
        }
        RowsEventData::PartialUpdateRowsEvent(_) => Err(BinlogError::PartialJson {
            server: server(),
            table: table(),
            position: at.clone(),
        }),
    }
}

fn qualified(table: &MovedTable) -> String {
    format!("`{}`.`{}`", table.database, table.name)
}

#[cfg(test)]
mod tests {
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::{Event, EventData, FormatDescriptionEvent};
    use reshard_convert::binlog::RowsKind;
    use reshard_types::BinlogPosition;

    use super::{BinlogError, code, end_offset, rows_kind};

    /// A binlog v4 rows event of `event_type` for table id 7 with one column, as a server writes
    /// it (19-byte header, no checksum): table id, flags, extra data, the column count, the
    /// column bitmaps and `rows`.
    fn rows_event_bytes(event_type: u8, rows: &[u8]) -> Vec<u8> {
        let mut body = vec![7, 0, 0, 0, 0, 0]; // table id
        body.extend_from_slice(&1u16.to_le_bytes()); // STMT_END_F
        body.extend_from_slice(&2u16.to_le_bytes()); // no extra data
        body.push(1); // one column
        body.push(0x01); // before image: the column
        if event_type != code::WRITE_ROWS && event_type != code::DELETE_ROWS {
            body.push(0x01); // after image
        }
        body.extend_from_slice(rows);
        let size = u32::try_from(19 + body.len()).unwrap();
        let mut event = Vec::new();
        event.extend_from_slice(&1_700_000_000u32.to_le_bytes()); // timestamp
        event.push(event_type);
        event.extend_from_slice(&1u32.to_le_bytes()); // server id
        event.extend_from_slice(&size.to_le_bytes());
        event.extend_from_slice(&(1000 + size).to_le_bytes()); // log_pos
        event.extend_from_slice(&0u16.to_le_bytes()); // flags
        event.extend_from_slice(&body);
        event
    }

    fn kind_of(event_type: u8, rows: &[u8]) -> Result<RowsKind, BinlogError> {
        let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
        let bytes = rows_event_bytes(event_type, rows);
        let event = Event::read(&fde, &bytes[..]).expect("a well-formed event");
        let Some(EventData::RowsEvent(data)) = event.read_data().expect("parses") else {
            panic!("type {event_type} is not read as a rows event");
        };
        let at = BinlogPosition::new("binlog.000042", 1000);
        rows_kind(
            &data,
            || String::from("127.0.0.1:3306"),
            || String::from("`shop`.`orders`"),
            &at,
        )
    }

    #[test]
    fn a_partial_json_update_is_refused_naming_the_setting() {
        // MySQL logs a JSON_SET/JSON_REPLACE/JSON_REMOVE update with
        // binlog_row_value_options=PARTIAL_JSON as a PARTIAL_UPDATE_ROWS event (type 39).
        let error = kind_of(code::PARTIAL_UPDATE_ROWS, &[0x00, 0x00]).unwrap_err();
        let text = error.to_string();
        assert!(matches!(error, BinlogError::PartialJson { .. }), "{text}");
        assert!(text.contains("127.0.0.1:3306"), "{text}");
        assert!(text.contains("`shop`.`orders`"), "{text}");
        assert!(text.contains("binlog.000042:1000"), "{text}");
        assert!(text.contains("partial JSON update"), "{text}");
        assert!(text.contains("binlog_row_value_options=''"), "{text}");
        // The full-image kinds pass.
        assert_eq!(kind_of(code::WRITE_ROWS, &[0x00]).unwrap(), RowsKind::Write);
        assert_eq!(kind_of(code::UPDATE_ROWS, &[]).unwrap(), RowsKind::Update);
        assert_eq!(
            kind_of(code::DELETE_ROWS_V1, &[]).unwrap(),
            RowsKind::Delete
        );
    }

    #[test]
    fn end_offsets_follow_log_pos_past_four_gib() {
        assert_eq!(end_offset(1267, 75, 1394), 1394);
        assert_eq!(end_offset(100, 50, 150), 150);
        // Past 4 GiB the header's log_pos has wrapped.
        let start = (1u64 << 32) - 20;
        assert_eq!(end_offset(start, 100, 80), (1u64 << 32) + 80);
        assert_eq!(end_offset((5u64 << 32) + 10, 30, 40), (5u64 << 32) + 40);
        // A skipped event between: the gap is added, never lost.
        assert_eq!(end_offset((1u64 << 32) + 10, 30, 90), (1u64 << 32) + 90);
    }
}
