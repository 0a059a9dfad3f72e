//! A blocking MySQL connection on mysql_common's packet types, for the data plane's bulk paths.
//!
//! mysql_async hands rows over only as `Row`s of `Value`s (a heap allocation per non-NULL cell).
//! The bulk paths need the raw row packets, so they talk the protocol themselves: handshake and
//! authentication (`mysql_native_password`, `caching_sha2_password`), text queries, prepared
//! statements whose binary result rows go to a callback as byte slices, and
//! `LOAD DATA LOCAL INFILE` fed from memory. Everything else (checks, discovery, control) stays
//! on mysql_async's [`crate::Session`].
//!
//! It is blocking on purpose: a reader's work is decoding what it reads, so it runs on a thread
//! of its own (or `spawn_blocking`) with no per-packet `.await`.

use std::io;
use std::net::{TcpStream, ToSocketAddrs};

use mysql_common::constants::{CapabilityFlags, Command, MariadbCapabilities};
use mysql_common::crypto;
use mysql_common::io::ParseBuf;
use mysql_common::packets::{
    AuthPlugin, AuthSwitchRequest, Column, ComStmtBulkExecuteRequestBuilder,
    ComStmtExecuteRequestBuilder, CommonOkPacket, ErrPacket, HandshakePacket, HandshakeResponse,
    OkPacket, OkPacketDeserializer, StmtPacket,
};
use mysql_common::proto::MySerialize;
use mysql_common::value::Value;
use reshard_types::{Dsn, Flavor};

use super::packets::PacketIo;
use super::text::lenenc_int;
use crate::error::{CONNECTING, MysqlError};
use crate::session::CONNECT_TIMEOUT;

/// The largest packet we announce we accept.
const MAX_ALLOWED_PACKET: u32 = 1 << 30;

/// What an OK packet reported.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OkInfo {
    /// Rows the statement changed.
    pub affected_rows: u64,
    /// Warnings it raised.
    pub warnings: u16,
}

/// Receives a result set: its column definitions once, then every row packet.
pub trait ResultHandler {
    /// The error the handler may stop the result with.
    type Error: From<MysqlError>;
    /// The result's column definitions, before any row.
    fn columns(&mut self, columns: &[Column]) -> Result<(), Self::Error>;
    /// One row packet (text or binary protocol, as the command was).
    fn row(&mut self, packet: &[u8]) -> Result<(), Self::Error>;
}

/// A [`ResultHandler`] from a closure over row packets.
pub struct Rows<F>(pub F);

impl<F: FnMut(&[u8]) -> Result<(), MysqlError>> ResultHandler for Rows<F> {
    type Error = MysqlError;
    fn columns(&mut self, _: &[Column]) -> Result<(), MysqlError> {
        Ok(())
    }
    fn row(&mut self, packet: &[u8]) -> Result<(), MysqlError> {
        (self.0)(packet)
    }
}

/// A statement prepared on a [`RawConn`].
#[derive(Debug)]
pub struct Statement {
    id: u32,
    params: u16,
    /// The result columns' definitions.
    pub columns: Vec<Column>,
}

/// Bytes a connection moved and the time it spent in socket calls, since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IoStats {
    /// Bytes read from the server.
    pub bytes_in: u64,
    /// Bytes written to the server.
    pub bytes_out: u64,
    /// Nanoseconds spent in socket reads and writes while timed ([`RawConn::time_io`]): waiting
    /// on the server and the network.
    pub wait_nanos: u64,
}

impl IoStats {
    /// What happened between `earlier` and `self`.
    pub fn since(self, earlier: IoStats) -> IoStats {
        IoStats {
            bytes_in: self.bytes_in.saturating_sub(earlier.bytes_in),
            bytes_out: self.bytes_out.saturating_sub(earlier.bytes_out),
            wait_nanos: self.wait_nanos.saturating_sub(earlier.wait_nanos),
        }
    }
}

/// A blocking connection for bulk reads and writes.
pub struct RawConn {
    io: PacketIo,
    dsn: Dsn,
    capabilities: CapabilityFlags,
    version: String,
    flavor: Flavor,
    /// Whether the server accepts `COM_STMT_BULK_EXECUTE` (MariaDB).
    bulk: bool,
    /// The server's id of this connection (for `KILL QUERY`).
    connection_id: u32,
}

/// A handle that stops a [`RawConn`]'s statement from another thread: it closes the socket (the
/// thread blocked on it gets an error at once, whatever the server is doing) and can ask the
/// server to kill the statement (so it rolls back now, not when the server next looks at the
/// socket). It holds the socket weakly: once the connection is dropped, it does nothing.
#[derive(Debug, Clone)]
pub struct Interrupter {
    dsn: Dsn,
    connection_id: u32,
    stream: std::sync::Weak<TcpStream>,
}

impl Interrupter {
    /// Closes the connection's socket if the connection still exists; returns whether it did.
    pub fn interrupt(&self) -> bool {
        match self.stream.upgrade() {
            Some(stream) => {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                true
            }
            None => false,
        }
    }

    /// The server the connection is to.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    /// The server's id of the connection.
    pub fn connection_id(&self) -> u32 {
        self.connection_id
    }

    /// Whether the connection has been dropped.
    pub fn is_gone(&self) -> bool {
        self.stream.strong_count() == 0
    }
}

impl std::fmt::Debug for RawConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawConn")
            .field("server", &self.dsn.to_string())
            .finish_non_exhaustive()
    }
}

impl RawConn {
    /// Connects to `dsn` (its database, if it names one) and authenticates.
    pub fn connect(dsn: &Dsn) -> Result<RawConn, MysqlError> {
        let io_error = |e: io::Error| MysqlError::from_io(dsn, CONNECTING, &e);
        let addrs: Vec<_> = (dsn.host(), dsn.port())
            .to_socket_addrs()
            .map_err(io_error)?
            .collect();
        let mut last = io::Error::new(
            io::ErrorKind::NotFound,
            "the host name resolves to no address",
        );
        let mut stream = None;
        for addr in addrs {
            match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(s) => {
                    stream = Some(s);
                    break;
                }
                Err(e) => last = e,
            }
        }
        let stream = match stream {
            Some(stream) => stream,
            None if last.kind() == io::ErrorKind::TimedOut => {
                return Err(MysqlError::ConnectTimeout {
                    server: dsn.to_string(),
                    after: CONNECT_TIMEOUT,
                });
            }
            None => return Err(io_error(last)),
        };
        stream.set_nodelay(true).map_err(io_error)?;
        stream
            .set_read_timeout(Some(CONNECT_TIMEOUT))
            .map_err(io_error)?;
        let mut conn = RawConn {
            io: PacketIo::new(stream),
            dsn: dsn.clone(),
            capabilities: CapabilityFlags::empty(),
            version: String::new(),
            flavor: Flavor::MariaDb,
            bulk: false,
            connection_id: 0,
        };
        conn.handshake()?;
        // Handshake done: statements may run for as long as they need.
        conn.io.set_read_timeout(None).map_err(io_error)?;
        Ok(conn)
    }

    /// Bounds how long a read may wait for the server (`None`: as long as a statement needs);
    /// a read past it fails as a lost connection.
    pub fn set_read_timeout(
        &mut self,
        timeout: Option<std::time::Duration>,
    ) -> Result<(), MysqlError> {
        let set = self.io.set_read_timeout(timeout);
        set.map_err(|e| self.io_error("setting a read timeout", &e))
    }

    /// A handle that stops this connection's statements from another thread.
    pub fn interrupter(&self) -> Interrupter {
        Interrupter {
            dsn: self.dsn.clone(),
            connection_id: self.connection_id,
            stream: self.io.weak_stream(),
        }
    }

    /// The server's version string.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// MySQL or MariaDB.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The server, as the DSN it was reached by.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    /// Bytes received from the server so far.
    pub fn bytes_read(&self) -> u64 {
        self.io.bytes_read()
    }

    /// What this connection has moved and waited so far: the figures behind the copy's
    /// per-stage times and network bytes.
    pub fn io_stats(&self) -> IoStats {
        IoStats {
            bytes_in: self.io.bytes_read(),
            bytes_out: self.io.bytes_written(),
            wait_nanos: self.io.wait_nanos(),
        }
    }

    /// Starts or stops measuring the time spent waiting in socket calls ([`IoStats::wait_nanos`]).
    pub fn time_io(&mut self, on: bool) {
        self.io.set_timed(on);
    }

    fn handshake(&mut self) -> Result<(), MysqlError> {
        let dsn = self.dsn.clone();
        let packet = self.read(CONNECTING)?;
        if packet.first() == Some(&0xFF) {
            return Err(self.server_error(CONNECTING, &packet));
        }
        let handshake = ParseBuf(&packet)
            .parse::<HandshakePacket>(())
            .map_err(|e| self.unexpected(CONNECTING, format!("bad handshake packet: {e}")))?;
        let mut nonce = handshake.scramble_1_ref().to_vec();
        nonce.extend_from_slice(handshake.scramble_2_ref().unwrap_or_default());
        nonce.resize(20, 0);
        self.version = handshake.server_version_str().into_owned();
        self.connection_id = handshake.connection_id();
        self.flavor = Flavor::from_version(&self.version);
        let version = handshake
            .maria_db_server_version_parsed()
            .or_else(|| handshake.server_version_parsed())
            .unwrap_or((0, 0, 0));
        let wanted = CapabilityFlags::CLIENT_PROTOCOL_41
            | CapabilityFlags::CLIENT_SECURE_CONNECTION
            | CapabilityFlags::CLIENT_LONG_PASSWORD
            | CapabilityFlags::CLIENT_LONG_FLAG
            | CapabilityFlags::CLIENT_TRANSACTIONS
            | CapabilityFlags::CLIENT_PLUGIN_AUTH
            | CapabilityFlags::CLIENT_PLUGIN_AUTH_LENENC_CLIENT_DATA
            | CapabilityFlags::CLIENT_LOCAL_FILES
            | CapabilityFlags::CLIENT_MULTI_RESULTS
            | CapabilityFlags::CLIENT_PS_MULTI_RESULTS
            | CapabilityFlags::CLIENT_CONNECT_WITH_DB;
        self.capabilities = handshake.capabilities() & wanted;
        // MariaDB's extended capabilities (its handshake leaves out CLIENT_LONG_PASSWORD to say it
        // has them): only bulk execution, measured as a write method.
        let mariadb = if self.flavor == Flavor::MariaDb
            && !handshake
                .capabilities()
                .contains(CapabilityFlags::CLIENT_LONG_PASSWORD)
        {
            handshake.mariadb_ext_capabilities()
                & MariadbCapabilities::MARIADB_CLIENT_STMT_BULK_OPERATIONS
        } else {
            MariadbCapabilities::empty()
        };
        self.bulk = !mariadb.is_empty();
        let mut plugin = match handshake.auth_plugin() {
            Some(AuthPlugin::CachingSha2Password) => AuthPlugin::CachingSha2Password,
            _ => AuthPlugin::MysqlNativePassword,
        };
        let password = Some(dsn.password());
        let data = plugin.gen_data(password, &nonce);
        let response = HandshakeResponse::new(
            data.as_ref().map(|d| {
                let mut bytes = Vec::new();
                d.serialize(&mut bytes);
                bytes
            }),
            version,
            Some(dsn.user().as_bytes()),
            dsn.database().map(str::as_bytes),
            Some(plugin.clone()),
            self.capabilities,
            None,
            MAX_ALLOWED_PACKET,
        )
        .with_mariadb_ext_capabilities(mariadb);
        let mut buf = Vec::new();
        response.serialize(&mut buf);
        self.write(CONNECTING, &buf)?;

        let mut switched = false;
        loop {
            let packet = self.read(CONNECTING)?;
            match packet.first() {
                Some(0x00) => return Ok(()),
                Some(0xFF) => return Err(self.server_error(CONNECTING, &packet)),
                Some(0xFE) if !switched => {
                    switched = true;
                    let switch = ParseBuf(&packet)
                        .parse::<AuthSwitchRequest>(())
                        .map_err(|e| {
                            self.unexpected(CONNECTING, format!("bad auth switch request: {e}"))
                        })?;
                    plugin = match switch.auth_plugin() {
                        AuthPlugin::MysqlNativePassword => AuthPlugin::MysqlNativePassword,
                        AuthPlugin::CachingSha2Password => AuthPlugin::CachingSha2Password,
                        other => return Err(self.unsupported_plugin(&other)),
                    };
                    nonce = switch.plugin_data().to_vec();
                    if nonce.last() == Some(&0) {
                        nonce.pop();
                    }
                    let mut bytes = Vec::new();
                    if let Some(data) = plugin.gen_data(password, &nonce) {
                        data.serialize(&mut bytes);
                    }
                    self.write(CONNECTING, &bytes)?;
                }
                // caching_sha2_password: 0x01 0x03 is "fast auth done" (an OK follows), 0x01 0x04
                // asks for the password, RSA-encrypted since this connection is not TLS.
                Some(0x01) if plugin == AuthPlugin::CachingSha2Password => match packet.get(1) {
                    Some(0x03) => {}
                    Some(0x04) => {
                        self.write(CONNECTING, &[0x02])?;
                        let key = self.read(CONNECTING)?;
                        let key = key.get(1..).unwrap_or_default().to_vec();
                        let mut pass = dsn.password().as_bytes().to_vec();
                        pass.push(0);
                        for (i, byte) in pass.iter_mut().enumerate() {
                            *byte ^= nonce[i % nonce.len()];
                        }
                        let encrypted = crypto::encrypt(&pass, &key);
                        self.write(CONNECTING, &encrypted)?;
                    }
                    _ => {
                        return Err(self.unexpected(
                            CONNECTING,
                            String::from("unknown caching_sha2_password step"),
                        ));
                    }
                },
                _ => {
                    return Err(self.unexpected(
                        CONNECTING,
                        format!(
                            "unexpected packet during authentication (first byte {:?})",
                            packet.first()
                        ),
                    ));
                }
            }
        }
    }

    /// Runs a statement over the text protocol and discards any rows it returns.
    pub fn query_drop(&mut self, sql: &str) -> Result<OkInfo, MysqlError> {
        self.query_rows(sql, &mut Rows(|_: &[u8]| Ok(())))
            .map(|(ok, _)| ok)
    }

    /// Runs a statement given as bytes (its literals need not be UTF-8: a `_binary'...'` or a
    /// `_latin1'...'` string holds the stored bytes) and discards any rows it returns.
    pub fn query_drop_bytes(&mut self, sql: &[u8]) -> Result<OkInfo, MysqlError> {
        self.query_bytes(sql, &mut Rows(|_: &[u8]| Ok(())))
            .map(|(ok, _)| ok)
    }

    /// Runs a statement over the text protocol, handing each result row's packet to `on_row`.
    /// Returns the final OK (or EOF) and how many rows there were.
    pub fn query_rows<H: ResultHandler>(
        &mut self,
        sql: &str,
        handler: &mut H,
    ) -> Result<(OkInfo, u64), H::Error> {
        self.query_bytes(sql.as_bytes(), handler)
    }

    fn query_bytes<H: ResultHandler>(
        &mut self,
        sql: &[u8],
        handler: &mut H,
    ) -> Result<(OkInfo, u64), H::Error> {
        const DOING: &str = "running a query";
        let mut command = Vec::with_capacity(sql.len() + 1);
        command.push(Command::COM_QUERY as u8);
        command.extend_from_slice(sql);
        self.io.reset_seq();
        self.write(DOING, &command)?;
        self.read_result(DOING, handler)
    }

    /// Prepares `sql` for the binary protocol.
    pub fn prepare(&mut self, sql: &str) -> Result<Statement, MysqlError> {
        const DOING: &str = "preparing a statement";
        let mut command = Vec::with_capacity(sql.len() + 1);
        command.push(Command::COM_STMT_PREPARE as u8);
        command.extend_from_slice(sql.as_bytes());
        self.io.reset_seq();
        self.write(DOING, &command)?;
        let packet = self.read(DOING)?;
        if packet.first() == Some(&0xFF) {
            return Err(self.server_error(DOING, &packet));
        }
        let ok = ParseBuf(&packet)
            .parse::<StmtPacket>(())
            .map_err(|e| self.unexpected(DOING, format!("bad prepare answer: {e}")))?;
        let (id, params, columns) = (ok.statement_id(), ok.num_params(), ok.num_columns());
        if params > 0 {
            self.read_columns(DOING, usize::from(params))?;
        }
        let columns = if columns > 0 {
            self.read_columns(DOING, usize::from(columns))?
        } else {
            Vec::new()
        };
        Ok(Statement {
            id,
            params,
            columns,
        })
    }

    /// Executes a prepared statement with `params`, handing the result to `handler` (binary
    /// row packets). Returns the final OK (or EOF) and the number of rows.
    pub fn execute_rows<H: ResultHandler>(
        &mut self,
        statement: &Statement,
        params: &[Value],
        handler: &mut H,
    ) -> Result<(OkInfo, u64), H::Error> {
        const DOING: &str = "executing a statement";
        if params.len() != usize::from(statement.params) {
            return Err(self
                .unexpected(
                    DOING,
                    format!(
                        "{} parameters given, the statement has {}",
                        params.len(),
                        statement.params
                    ),
                )
                .into());
        }
        let (request, _) = ComStmtExecuteRequestBuilder::new(statement.id).build(params);
        let mut command = Vec::new();
        request.serialize(&mut command);
        self.io.reset_seq();
        self.write(DOING, &command)?;
        self.read_result(DOING, handler)
    }

    /// Runs a prepared statement once per row of parameters with MariaDB's bulk execution
    /// (`COM_STMT_BULK_EXECUTE`: many parameter rows per packet, one answer per packet).
    pub fn execute_bulk(
        &mut self,
        statement: &Statement,
        rows: impl IntoIterator<Item = Vec<Value>>,
    ) -> Result<OkInfo, MysqlError> {
        const DOING: &str = "bulk-executing a statement";
        /// Parameter bytes per bulk packet.
        const BULK_PACKET: usize = 16 << 20;
        if !self.bulk {
            return Err(self.unexpected(
                DOING,
                String::from("the server does not offer bulk execution (MariaDB only)"),
            ));
        }
        let mut builder = ComStmtBulkExecuteRequestBuilder::new(statement.id, BULK_PACKET);
        let mut total = OkInfo::default();
        let too_large = |conn: &RawConn, e: &dyn std::fmt::Display| {
            conn.unexpected(DOING, format!("a row does not fit a bulk packet: {e}"))
        };
        for row in rows {
            if let Some(rejected) = builder.add_row(row).map_err(|e| too_large(self, &e))? {
                // The packet is full: send it, and start the next one with the row that did not fit.
                self.send_bulk(&mut builder, &mut total)?;
                if builder
                    .add_row(rejected)
                    .map_err(|e| too_large(self, &e))?
                    .is_some()
                {
                    return Err(
                        self.unexpected(DOING, String::from("a row larger than a bulk packet"))
                    );
                }
            }
        }
        if builder.has_rows() {
            self.send_bulk(&mut builder, &mut total)?;
        }
        Ok(total)
    }

    fn send_bulk(
        &mut self,
        builder: &mut ComStmtBulkExecuteRequestBuilder<'_>,
        total: &mut OkInfo,
    ) -> Result<(), MysqlError> {
        const DOING: &str = "bulk-executing a statement";
        let request = builder
            .build()
            .map_err(|e| self.unexpected(DOING, e.to_string()))?;
        let mut command = Vec::new();
        request.serialize(&mut command);
        self.io.reset_seq();
        self.write(DOING, &command)?;
        let packet = self.read(DOING)?;
        let ok = self.ok_or_error(DOING, &packet)?;
        total.affected_rows += ok.affected_rows;
        total.warnings = total.warnings.saturating_add(ok.warnings);
        Ok(())
    }

    /// Frees a prepared statement on the server (no answer is sent).
    pub fn close(&mut self, statement: Statement) -> Result<(), MysqlError> {
        let mut command = vec![Command::COM_STMT_CLOSE as u8];
        command.extend_from_slice(&statement.id.to_le_bytes());
        self.io.reset_seq();
        self.write("closing a statement", &command)
    }

    /// Runs a `LOAD DATA LOCAL INFILE` statement and streams the file from `fill`, which appends
    /// the next part of the data to the buffer it is given and returns `false` when there is no
    /// more. Parts are sent as they come, so the data never has to be in memory at once. If
    /// `fill` fails, the connection is cut so that the server aborts the statement (rather than
    /// loading a partial file); the connection cannot be used afterwards.
    pub fn load_data_local<E: From<MysqlError>>(
        &mut self,
        sql: &str,
        mut fill: impl FnMut(&mut Vec<u8>) -> Result<bool, E>,
    ) -> Result<OkInfo, E> {
        const DOING: &str = "loading data";
        let mut command = Vec::with_capacity(sql.len() + 1);
        command.push(Command::COM_QUERY as u8);
        command.extend_from_slice(sql.as_bytes());
        self.io.reset_seq();
        self.write(DOING, &command)?;
        let packet = self.read(DOING)?;
        match packet.first() {
            Some(0xFB) => {}
            Some(0xFF) => return Err(self.server_error(DOING, &packet).into()),
            _ => {
                return Err(self
                    .unexpected(DOING, String::from("the server did not ask for the file"))
                    .into());
            }
        }
        // Encode about a packet's worth, send it, reuse the buffer.
        const PACKET_DATA: usize = 4 << 20;
        let mut data = Vec::with_capacity(PACKET_DATA + (1 << 16));
        let mut more = true;
        while more {
            data.clear();
            while more && data.len() < PACKET_DATA {
                match fill(&mut data) {
                    Ok(go_on) => more = go_on,
                    Err(e) => {
                        // Ending the file now would make the server load the rows sent so far.
                        // Cutting the connection instead makes it abort the statement, so a
                        // failed batch leaves nothing behind; this connection is unusable after.
                        self.io.abort();
                        return Err(e);
                    }
                }
            }
            self.io
                .send_data(&data)
                .map_err(|e| self.io_error(DOING, &e))?;
        }
        // The empty packet ends the file.
        self.io
            .write_physical(&[])
            .map_err(|e| self.io_error(DOING, &e))?;
        let packet = self.read(DOING)?;
        self.ok_or_error(DOING, &packet).map_err(Into::into)
    }

    /// Reads a result: an OK, an error, or column definitions then rows until EOF.
    fn read_result<H: ResultHandler>(
        &mut self,
        doing: &'static str,
        handler: &mut H,
    ) -> Result<(OkInfo, u64), H::Error> {
        let packet = self.read(doing)?;
        let count = match packet.first() {
            Some(0x00) => return Ok((self.ok_or_error(doing, &packet)?, 0)),
            Some(0xFF) => return Err(self.server_error(doing, &packet).into()),
            Some(0xFB) => {
                return Err(self
                    .unexpected(doing, String::from("the server asked for a local file"))
                    .into());
            }
            _ => {
                let (count, _) = lenenc_int(&packet)
                    .ok_or_else(|| self.unexpected(doing, String::from("bad column count")))?;
                usize::try_from(count).unwrap_or(usize::MAX)
            }
        };
        let columns = self.read_columns(doing, count)?;
        // If `on_columns` refuses, the rows must still be drained to keep the connection usable.
        let mut verdict = handler.columns(&columns);
        let mut rows = 0u64;
        loop {
            let packet = match self.io.next_packet() {
                Ok(packet) => packet,
                Err(e) => return Err(self.io_error(doing, &e).into()),
            };
            match packet.first() {
                Some(0xFE) if packet.len() < 9 => {
                    let info = OkInfo {
                        affected_rows: 0,
                        warnings: eof_warnings(packet),
                    };
                    return verdict.map(|()| (info, rows));
                }
                Some(0xFF) => {
                    let packet = packet.to_vec();
                    return Err(self.server_error(doing, &packet).into());
                }
                _ => {
                    if verdict.is_ok() {
                        verdict = handler.row(packet);
                        rows += 1;
                    }
                }
            }
        }
    }

    fn read_columns(
        &mut self,
        doing: &'static str,
        count: usize,
    ) -> Result<Vec<Column>, MysqlError> {
        let mut columns = Vec::with_capacity(count.min(4096));
        for _ in 0..count {
            let packet = self.read(doing)?;
            let column = ParseBuf(&packet)
                .parse::<Column>(())
                .map_err(|e| self.unexpected(doing, format!("bad column definition: {e}")))?;
            columns.push(column);
        }
        let eof = self.read(doing)?;
        if eof.first() != Some(&0xFE) {
            return Err(self.unexpected(doing, String::from("no EOF after the column definitions")));
        }
        Ok(columns)
    }

    fn ok_or_error(&self, doing: &'static str, packet: &[u8]) -> Result<OkInfo, MysqlError> {
        if packet.first() == Some(&0xFF) {
            return Err(self.server_error(doing, packet));
        }
        let ok: OkPacket<'_> = ParseBuf(packet)
            .parse::<OkPacketDeserializer<'_, CommonOkPacket>>(self.capabilities)
            .map_err(|e| self.unexpected(doing, format!("bad OK packet: {e}")))?
            .into();
        Ok(OkInfo {
            affected_rows: ok.affected_rows(),
            warnings: ok.warnings(),
        })
    }

    fn read(&mut self, doing: &'static str) -> Result<Vec<u8>, MysqlError> {
        match self.io.next_packet() {
            Ok(packet) => Ok(packet.to_vec()),
            Err(e) => Err(self.io_error(doing, &e)),
        }
    }

    fn write(&mut self, doing: &'static str, payload: &[u8]) -> Result<(), MysqlError> {
        self.io.send(payload).map_err(|e| self.io_error(doing, &e))
    }

    fn io_error(&self, doing: &'static str, e: &io::Error) -> MysqlError {
        MysqlError::from_io(&self.dsn, doing, e)
    }

    fn server_error(&self, doing: &'static str, packet: &[u8]) -> MysqlError {
        match ParseBuf(packet).parse::<ErrPacket>(self.capabilities) {
            Ok(ErrPacket::Error(e)) => MysqlError::from_server(
                &self.dsn,
                doing,
                e.error_code(),
                e.message_str().into_owned(),
            ),
            Ok(ErrPacket::Progress(_)) => self.unexpected(doing, String::from("a progress report")),
            Err(e) => self.unexpected(doing, format!("bad error packet: {e}")),
        }
    }

    fn unexpected(&self, doing: &'static str, detail: String) -> MysqlError {
        MysqlError::Unexpected {
            server: self.dsn.to_string(),
            doing,
            detail,
        }
    }

    fn unsupported_plugin(&self, plugin: &AuthPlugin<'_>) -> MysqlError {
        MysqlError::ConnectFailed {
            server: self.dsn.to_string(),
            detail: format!(
                "the user authenticates with {}, which reshard's bulk connections do not support yet; \
                 use mysql_native_password or caching_sha2_password for reshard's user",
                String::from_utf8_lossy(plugin.as_bytes())
            ),
        }
    }
}

/// The warning count of an EOF packet (`0xFE`, warnings u16, status u16).
fn eof_warnings(packet: &[u8]) -> u16 {
    match packet {
        [0xFE, a, b, ..] => u16::from_le_bytes([*a, *b]),
        _ => 0,
    }
}
