//! Opening connections.
//!
//! A [`Session`] is one connection plus what every caller needs to know about it: the DSN it was
//! opened with (for messages) and the server's flavor (for version-specific SQL). Connections go
//! over TCP to the DSN's host and port, never silently over a local socket, so that what is
//! measured and checked is what the DSN says.

use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, OptsBuilder};
use reshard_types::{Dsn, Flavor};

use crate::error::{CONNECTING, MysqlError};

/// How long opening a connection may take before it is reported as unreachable. Long enough for
/// a loaded server across a WAN, short enough that a typo in a host name does not hang a run.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// One open connection to a server.
pub struct Session {
    conn: Conn,
    dsn: Dsn,
    version: String,
    flavor: Flavor,
}

/// Connects to the server and database `dsn` names, within [`CONNECT_TIMEOUT`].
pub async fn connect(dsn: &Dsn) -> Result<Session, MysqlError> {
    open(dsn, dsn.database()).await
}

/// Connects to the server `dsn` names without selecting its database (so that a missing database
/// can be reported as such); errors and the session still name the whole DSN.
pub async fn connect_server(dsn: &Dsn) -> Result<Session, MysqlError> {
    open(dsn, None).await
}

async fn open(dsn: &Dsn, database: Option<&str>) -> Result<Session, MysqlError> {
    let opts = OptsBuilder::default()
        .ip_or_hostname(dsn.host())
        .tcp_port(dsn.port())
        .user(Some(dsn.user()))
        .pass(Some(dsn.password()))
        .db_name(database)
        .prefer_socket(false);
    let mut conn = match tokio::time::timeout(CONNECT_TIMEOUT, Conn::new(opts)).await {
        Ok(Ok(conn)) => conn,
        Ok(Err(e)) => return Err(MysqlError::from_driver(dsn, CONNECTING, e)),
        Err(_) => {
            return Err(MysqlError::ConnectTimeout {
                server: dsn.to_string(),
                after: CONNECT_TIMEOUT,
            });
        }
    };
    let version: String = conn
        .query_first("SELECT VERSION()")
        .await
        .map_err(|e| MysqlError::from_driver(dsn, "reading the server version", e))?
        .unwrap_or_default();
    let flavor = Flavor::from_version(&version);
    tracing::debug!(server = %dsn, %version, %flavor, "connected");
    Ok(Session {
        conn,
        dsn: dsn.clone(),
        version,
        flavor,
    })
}

impl Session {
    /// The DSN this session was opened with.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    /// `SELECT VERSION()` of the server.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// MySQL or MariaDB.
    pub fn flavor(&self) -> Flavor {
        self.flavor
    }

    /// The underlying driver connection, for the modules of this crate.
    pub(crate) fn conn(&mut self) -> &mut Conn {
        &mut self.conn
    }

    /// Maps a driver error on this session to a [`MysqlError`] naming the server.
    pub(crate) fn error(&self, doing: &'static str, err: mysql_async::Error) -> MysqlError {
        MysqlError::from_driver(&self.dsn, doing, err)
    }

    /// The driver connection itself, for turning it into a binlog stream.
    pub fn into_conn(self) -> Conn {
        self.conn
    }

    /// Closes the connection politely (the server logs no aborted connection).
    pub async fn close(self) -> Result<(), MysqlError> {
        let Session { conn, dsn, .. } = self;
        conn.disconnect()
            .await
            .map_err(|e| MysqlError::from_driver(&dsn, "disconnecting", e))
    }
}
