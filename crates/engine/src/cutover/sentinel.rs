//! The sentinel of a deferred cutover: the table `_reshard_sentinel` in the first target's
//! database (with the checkpoint: on the targets, never on a source before cutover). While it
//! exists a verified move keeps replicating and re-verifying; dropping it starts the cutover.
//! The operator's one action is a `DROP TABLE`, which needs no reshard at hand and is logged
//! by the server.

use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;
use reshard_types::Dsn;

/// The sentinel table's name.
pub const SENTINEL: &str = "_reshard_sentinel";

/// The sentinel of the moves whose first target is `dsn`.
#[derive(Debug, Clone)]
pub struct Sentinel {
    dsn: Dsn,
    database: String,
}

impl Sentinel {
    /// The sentinel on `first_target`'s database.
    pub fn on(first_target: &Dsn) -> Sentinel {
        Sentinel {
            dsn: first_target.clone(),
            database: first_target.database().unwrap_or_default().to_owned(),
        }
    }

    /// `` `db`.`_reshard_sentinel` ``, as statements and messages name it.
    pub fn table_sql(&self) -> String {
        format!("`{}`.`{SENTINEL}`", self.database.replace('`', "``"))
    }

    /// What the operator runs to start the cutover.
    pub fn drop_statement(&self) -> String {
        format!("DROP TABLE {} (on {})", self.table_sql(), self.dsn)
    }

    /// Creates it (if it is not there).
    pub fn create(&self, conn: &mut RawConn) -> Result<(), MysqlError> {
        conn.query_drop(&format!(
            "CREATE TABLE IF NOT EXISTS {} (id INT NOT NULL PRIMARY KEY, note VARCHAR(200) NOT NULL) \
             COMMENT 'reshard: drop this table to start the cutover'",
            self.table_sql()
        ))?;
        Ok(())
    }

    /// Whether it exists.
    pub fn exists(&self, conn: &mut RawConn) -> Result<bool, MysqlError> {
        let found = first_row(
            conn,
            &format!(
                "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = '{SENTINEL}'",
                self.database.replace('\\', "\\\\").replace('\'', "''")
            ),
        )?;
        Ok(found
            .and_then(|row| row.into_iter().next().flatten())
            .is_some_and(|count| count != b"0"))
    }

    /// Drops it (if it is there).
    pub fn drop_table(&self, conn: &mut RawConn) -> Result<(), MysqlError> {
        conn.query_drop(&format!("DROP TABLE IF EXISTS {}", self.table_sql()))?;
        Ok(())
    }

    /// A connection to its server.
    pub fn connect(&self) -> Result<RawConn, MysqlError> {
        RawConn::connect(&self.dsn)
    }
}
