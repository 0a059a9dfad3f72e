//! All of reshard's I/O to MySQL and MariaDB.
//!
//! ```text
//!   Dsn ──connect()──► Session ──ServerFacts::read()──► ServerFacts ──assess(role)──► Assessment
//!                         │                                                (pure, unit-tested)
//!                         ├── discover_table() ──► TableSchema (columns, types, primary key)
//!                         └── binlog::current_position ─► BinlogPosition
//!
//!   Dsn ──binlog::BinlogReader (mysql_async's binlog stream)──► change batches of the moved tables
//!   RawConn ──binlog::snapshot::start_snapshot_covering──► a read snapshot placed in the binlog
//!
//!   Dsn ──wire::RawConn (blocking, our own protocol client)──┬── reader::TableReader ──► RecordBatch
//!                                                            └── writer::TableWriter ◄── RecordBatch
//! ```
//!
//! mysql_async serves control, discovery and checks; the bulk data paths use [`wire::RawConn`],
//! which hands row packets over as byte slices (see that module for why).
//!
//! Every error leaving this crate is a [`MysqlError`] that names the server (never its password),
//! says what to do, and carries an [`ErrorClass`](reshard_types::ErrorClass) so callers know
//! whether a retry can help. Version-specific SQL lives behind [`Flavor`](reshard_types::Flavor)
//! checks in this crate only.

pub mod binlog;
mod checks;
pub mod constraints;
mod discover;
mod error;
pub mod keyset;
pub mod lock;
pub mod privileges;
pub mod reader;
mod server_facts;
mod session;
pub mod tables;
pub mod wire;
pub mod writer;

pub use checks::{Assessment, Finding, Role, Verdict, assess, cross_check, stream_id};
pub use discover::discover_table;
pub use error::{MysqlError, OtherKeyDuplicate};
pub use server_facts::{ServerFacts, replica_lag};
pub use session::{CONNECT_TIMEOUT, Session, connect, connect_server};
