//! Test-only kit: real MariaDB servers, isolated databases, generated data, and an oracle.
//!
//! ```text
//!  scripts/db.sh up ──► instances 1..N on 127.0.0.1:33061.. ──► servers::instance(i)
//!                                                                │
//!  TestDb::create("my_test", i) ── a uniquely named database ◄───┘   dropped when the TestDb is
//!      │                                                             (unless RESHARD_KEEP_TEST_DBS=1)
//!      ├── exec / create_table / insert_rows / fill_orders           generate data
//!      └── dump(table) ──► oracle::TableDump ── assert_same ◄── dump of the other side
//!
//!  ScratchServer::start(&["--skip-log-bin"]) ── a throwaway mariadbd with other settings,
//!                                                 started by scripts/db.sh start-one, stopped on drop
//! ```
//!
//! Tests run in parallel (threads of one test binary, or processes): every [`TestDb`] has a name
//! no other test uses, so tests never see each other's data. The [oracle] reads tables through
//! plain SQL (`HEX()` and exact casts) and shares no code with reshard.

pub mod generate;
pub mod oracle;
mod scratch;
pub mod servers;
mod test_db;
pub mod torture;

pub use oracle::{TableDump, assert_same};
pub use scratch::ScratchServer;
pub use test_db::TestDb;
