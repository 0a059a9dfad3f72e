//! The error type of all MySQL I/O, classified by what the caller must do.
//!
//! Driver errors are turned into [`MysqlError`] at the call site, where the server and the
//! operation are known, by [`MysqlError::from_driver`]. The server is named by its redacted DSN;
//! the driver's own messages never contain the password (they are built from the server's reply
//! or the OS error), so they may be quoted.

use std::io;
use std::time::Duration;

use mysql_async::{DriverError, IoError};
use reshard_types::{Dsn, ErrorClass};

/// Server error codes reshard reacts to. Names as in MySQL's `mysqld_error.h`.
mod codes {
    pub const ER_DBACCESS_DENIED_ERROR: u16 = 1044;
    pub const ER_ACCESS_DENIED_ERROR: u16 = 1045;
    pub const ER_BAD_DB_ERROR: u16 = 1049;
    pub const ER_CON_COUNT_ERROR: u16 = 1040;
    pub const ER_SERVER_SHUTDOWN: u16 = 1053;
    pub const ER_LOCK_WAIT_TIMEOUT: u16 = 1205;
    pub const ER_LOCK_DEADLOCK: u16 = 1213;
    /// MariaDB: the connection was killed (`KILL CONNECTION`).
    pub const ER_CONNECTION_KILLED: u16 = 1927;
    /// The statement was killed (`KILL QUERY`), its transaction rolled back.
    pub const ER_QUERY_INTERRUPTED: u16 = 1317;
}

/// An error talking to one server. Every variant names the server (as a redacted DSN) and says
/// what to do; [`MysqlError::class`] tells whether retrying can help.
#[derive(Debug, thiserror::Error)]
pub enum MysqlError {
    /// Nothing listens on the host and port.
    #[error(
        "cannot connect to {server}: connection refused; is the server running and listening on that host and port?"
    )]
    ConnectionRefused {
        /// The server, as a redacted DSN.
        server: String,
    },
    /// The connection attempt did not finish in time.
    #[error("cannot connect to {server}: no answer within {} s; check the host and port, and that no firewall drops the connection", .after.as_secs())]
    ConnectTimeout {
        /// The server, as a redacted DSN.
        server: String,
        /// How long we waited.
        after: Duration,
    },
    /// The connection could not be set up for another reason (unknown host, TLS, ...).
    #[error("cannot connect to {server}: {detail}; check the host name and port in the DSN")]
    ConnectFailed {
        /// The server, as a redacted DSN.
        server: String,
        /// The OS or driver message.
        detail: String,
    },
    /// Wrong user or password, or the user may not connect from here.
    #[error(
        "access denied on {server}: {message}; check the user and password in the DSN and that the user may connect from this host"
    )]
    AccessDenied {
        /// The server, as a redacted DSN.
        server: String,
        /// The server's message (it never contains the password).
        message: String,
    },
    /// The database named in the DSN does not exist (or the user may not see it).
    #[error(
        "database '{database}' does not exist on {server}; fix the database in the DSN or create it"
    )]
    UnknownDatabase {
        /// The server, as a redacted DSN.
        server: String,
        /// The database the DSN names.
        database: String,
    },
    /// The table does not exist (or the user may not see it).
    #[error(
        "table {table} does not exist on {server}; check the table name and the database in the DSN"
    )]
    TableNotFound {
        /// The server, as a redacted DSN.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
    },
    /// A column of a type reshard cannot carry exactly; nothing is copied rather than something
    /// changed.
    #[error(
        "table {table} on {server}: column `{column}` of type {column_type} is not supported ({why}); leave the table out of the move (--tables) or change the column's type"
    )]
    UnsupportedColumn {
        /// The server, as a redacted DSN.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// The column's name.
        column: String,
        /// Its type as the server writes it.
        column_type: String,
        /// Why it cannot be carried.
        why: &'static str,
    },
    /// The connection broke while in use; a fresh connection may succeed.
    #[error("lost the connection to {server} while {doing}: {detail}")]
    ConnectionLost {
        /// The server, as a redacted DSN.
        server: String,
        /// What we were doing.
        doing: &'static str,
        /// The OS or driver message.
        detail: String,
    },
    /// The server refused a statement.
    #[error("{server} refused {doing}: {message} (error {code})")]
    Server {
        /// The server, as a redacted DSN.
        server: String,
        /// What we were doing.
        doing: &'static str,
        /// The server's error code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// The server ran out of space (a full disk, or a tablespace that may not grow).
    #[error(
        "{server} ran out of space while {doing}: {message} (error {code}); free space on that server (or let its tablespace grow), then run the same command again: a move resumes from its checkpoint"
    )]
    OutOfSpace {
        /// The server, as a redacted DSN.
        server: String,
        /// What we were doing.
        doing: &'static str,
        /// The server's error code.
        code: u16,
        /// The server's message.
        message: String,
    },
    /// The server answered something reshard cannot use.
    #[error("unexpected answer from {server} while {doing}: {detail}")]
    Unexpected {
        /// The server, as a redacted DSN.
        server: String,
        /// What we were doing.
        doing: &'static str,
        /// What was wrong with the answer.
        detail: String,
    },
    /// A value or schema that cannot be carried exactly; nothing was changed to make it fit.
    #[error("table {table} on {server}: {source}")]
    Data {
        /// The server, as a redacted DSN.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// What cannot be converted.
        #[source]
        source: reshard_convert::ConvertError,
    },
    /// A write raised warnings; each may mean a value was changed, so none is tolerated.
    #[error(
        "{server}: writing into {table} raised {count} warning(s), so the target may not hold the source's exact values: {}; make the target table's columns match the source's (type, length, charset), then copy again",
        .warnings.join("; ")
    )]
    Warnings {
        /// The server, as a redacted DSN.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// How many warnings the server counted.
        count: u16,
        /// The first of them, as `code: message`.
        warnings: Vec<String>,
    },
    /// Rows written have a key the table already holds, and duplicates were refused.
    #[error(
        "{server}: {rows} row(s) written into {table} have a key the table already holds, and \
         duplicates were refused; empty the table first, or write with duplicates skipped"
    )]
    DuplicateRowKey {
        /// The server, as a redacted DSN.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// How many rows.
        rows: u64,
    },
    /// A row written collided with another row of the target on a unique key that is not the
    /// row key: loading it would have skipped or replaced a row the source holds.
    #[error(
        "{server}: a row written into {table} collides on unique key `{}`, not on the row key `{}` \
         ({}): the target holds another row with that value, and the row would have been lost. \
         Either the target table holds rows or unique keys the source lacks (compare SHOW CREATE TABLE \
         on both, or let reshard create the table), two sources hold rows with the same unique value, \
         or, in a move, the application gave the value to another row while the copy ran and that \
         change was not applied yet: run the move again (--force) when that is less frequent",
        .duplicate.key, .duplicate.row_key, .duplicate.message
    )]
    DuplicateOnOtherKey {
        /// The server, as a redacted DSN.
        server: String,
        /// `` `database`.`table` ``.
        table: String,
        /// Which keys, and the server's words.
        duplicate: Box<OtherKeyDuplicate>,
    },
}

/// A duplicate on a unique key other than the row key: which, and what the server said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OtherKeyDuplicate {
    /// The unique key the row collided on.
    pub key: String,
    /// The key rows are identified by.
    pub row_key: String,
    /// The server's message (`Duplicate entry '...' for key '...'`).
    pub message: String,
}

impl MysqlError {
    /// Whether retrying (on a fresh connection, after a backoff) can help.
    pub fn class(&self) -> ErrorClass {
        match self {
            // Refused: the server was reachable when the run began (setup connects to every
            // server first), so it is restarting or failing over.
            MysqlError::ConnectTimeout { .. }
            | MysqlError::ConnectionLost { .. }
            | MysqlError::ConnectionRefused { .. } => ErrorClass::Transient,
            MysqlError::Server { code, .. } if is_transient_code(*code) => ErrorClass::Transient,
            _ => ErrorClass::Definite,
        }
    }

    /// Classifies a driver error from talking to `dsn` while `doing` something.
    pub fn from_driver(dsn: &Dsn, doing: &'static str, err: mysql_async::Error) -> MysqlError {
        match err {
            mysql_async::Error::Server(e) => MysqlError::from_server(dsn, doing, e.code, e.message),
            mysql_async::Error::Io(IoError::Io(e)) => MysqlError::from_io(dsn, doing, &e),
            mysql_async::Error::Driver(DriverError::ConnectionClosed) => {
                MysqlError::ConnectionLost {
                    server: dsn.to_string(),
                    doing,
                    detail: "the server closed the connection".into(),
                }
            }
            other => MysqlError::Unexpected {
                server: dsn.to_string(),
                doing,
                detail: other.to_string(),
            },
        }
    }

    /// Classifies an error packet the server sent.
    pub fn from_server(dsn: &Dsn, doing: &'static str, code: u16, message: String) -> MysqlError {
        let server = dsn.to_string();
        match code {
            codes::ER_ACCESS_DENIED_ERROR | codes::ER_DBACCESS_DENIED_ERROR => {
                MysqlError::AccessDenied { server, message }
            }
            codes::ER_BAD_DB_ERROR => MysqlError::UnknownDatabase {
                server,
                database: dsn.database().unwrap_or_default().to_owned(),
            },
            // ER_DISK_FULL, ER_RECORD_FILE_FULL; a write error with errno 28 (ENOSPC).
            1021 | 1114 => MysqlError::OutOfSpace {
                server,
                doing,
                code,
                message,
            },
            code if message.contains("errno: 28") || message.contains("No space left") => {
                MysqlError::OutOfSpace {
                    server,
                    doing,
                    code,
                    message,
                }
            }
            code => MysqlError::Server {
                server,
                doing,
                code,
                message,
            },
        }
    }

    /// Classifies an I/O error on the connection to `dsn`.
    pub fn from_io(dsn: &Dsn, doing: &'static str, e: &io::Error) -> MysqlError {
        let server = dsn.to_string();
        if e.kind() == io::ErrorKind::ConnectionRefused {
            MysqlError::ConnectionRefused { server }
        } else if is_broken_connection(e) {
            MysqlError::ConnectionLost {
                server,
                doing,
                detail: e.to_string(),
            }
        } else if doing == CONNECTING {
            MysqlError::ConnectFailed {
                server,
                detail: e.to_string(),
            }
        } else {
            MysqlError::Unexpected {
                server,
                doing,
                detail: e.to_string(),
            }
        }
    }
}

/// The `doing` of errors raised while opening a connection.
pub(crate) const CONNECTING: &str = "connecting";

fn is_transient_code(code: u16) -> bool {
    matches!(
        code,
        codes::ER_LOCK_DEADLOCK
            | codes::ER_LOCK_WAIT_TIMEOUT
            | codes::ER_CON_COUNT_ERROR
            | codes::ER_SERVER_SHUTDOWN
            | codes::ER_CONNECTION_KILLED
            | codes::ER_QUERY_INTERRUPTED
    )
}

fn is_broken_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::BrokenPipe
            | io::ErrorKind::UnexpectedEof
            | io::ErrorKind::TimedOut
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dsn(db: Option<&str>) -> Dsn {
        Dsn::parse("mysql://app:pw@db:3306/")
            .unwrap()
            .with_database(db)
    }

    fn server_error(code: u16) -> mysql_async::Error {
        mysql_async::Error::Server(mysql_async::ServerError {
            code,
            message: "msg".into(),
            state: "HY000".into(),
        })
    }

    #[test]
    fn classifies_server_errors() {
        let e =
            MysqlError::from_driver(&dsn(None), "reading", server_error(codes::ER_LOCK_DEADLOCK));
        assert_eq!(e.class(), ErrorClass::Transient);
        let e = MysqlError::from_driver(&dsn(None), "reading", server_error(1146));
        assert_eq!(e.class(), ErrorClass::Definite);
        assert!(e.to_string().contains("error 1146"), "{e}");
        let e = MysqlError::from_driver(
            &dsn(Some("shop")),
            CONNECTING,
            server_error(codes::ER_BAD_DB_ERROR),
        );
        assert!(
            matches!(e, MysqlError::UnknownDatabase { ref database, .. } if database == "shop"),
            "{e}"
        );
        let e = MysqlError::from_driver(
            &dsn(None),
            CONNECTING,
            server_error(codes::ER_ACCESS_DENIED_ERROR),
        );
        assert!(matches!(e, MysqlError::AccessDenied { .. }));
        assert!(e.to_string().contains("check the user and password"), "{e}");
    }

    #[test]
    fn classifies_io_errors() {
        let io = |kind| mysql_async::Error::Io(IoError::Io(io::Error::new(kind, "x")));
        let e =
            MysqlError::from_driver(&dsn(None), CONNECTING, io(io::ErrorKind::ConnectionRefused));
        assert!(matches!(e, MysqlError::ConnectionRefused { .. }));
        let e = MysqlError::from_driver(&dsn(None), "reading", io(io::ErrorKind::ConnectionReset));
        assert_eq!(e.class(), ErrorClass::Transient);
        let e = MysqlError::from_driver(&dsn(None), CONNECTING, io(io::ErrorKind::Other));
        assert!(matches!(e, MysqlError::ConnectFailed { .. }));
    }

    #[test]
    fn messages_name_the_server_without_its_password() {
        let e = MysqlError::from_driver(
            &dsn(None),
            CONNECTING,
            server_error(codes::ER_ACCESS_DENIED_ERROR),
        );
        let text = e.to_string();
        assert!(text.contains("mysql://app:***@db:3306/"), "{text}");
        assert!(!text.contains(":pw@"), "{text}");
    }
}
