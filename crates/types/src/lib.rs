//! Shared vocabulary of reshard, with no I/O.
//!
//! Every other crate speaks in these types, so they are small, validated on construction, and
//! never stringly typed:
//!
//! - [`Dsn`]: where a server is and how to log in. Its `Display` and `Debug` never show the
//!   password, so a `Dsn` can go into any log line or error as it is.
//! - [`Flavor`]: MySQL or MariaDB, read from the server's version string.
//! - [`ErrorClass`]: what a caller must do about an error (retry it or report it).
//! - [`TableSchema`], [`ColumnDef`], [`ColumnType`]: a table as read from the server, exactly
//!   enough to carry every value without loss.
//!
//! - [`KeyRange`]: a range of keyspace ids as Vitess defines it (`-80`, `80-c0`), with the check
//!   that a set of them covers the keyspace exactly once.
//!
//! - [`BinlogPosition`]: a file and a byte offset in one server's binary log, ordered by the
//!   file's number and exact past 4 GiB.

mod dsn;
mod error_class;
mod flavor;
pub mod keyrange;
mod position;
mod schema;

pub use dsn::{DEFAULT_PORT, Dsn, DsnError};
pub use error_class::ErrorClass;
pub use flavor::Flavor;
pub use keyrange::{KeyRange, KeyRangeError};
pub use position::{BinlogPosition, file_number};
pub use schema::{
    ColumnDef, ColumnType, Generated, IntWidth, LobSize, RowKey, TableSchema, parse_members,
};
