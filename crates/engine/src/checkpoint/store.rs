//! Where checkpoints live: the table `_reshard_checkpoint` in the first target's database, one
//! row per move, keyed by a hash of its tables' names. The state is JSON, written as a hex
//! literal (no quoting to get wrong) in one `REPLACE`, which commits on its own.

use reshard_mysql::MysqlError;
use reshard_mysql::wire::RawConn;
use reshard_mysql::wire::text::first_row;
use reshard_types::Dsn;
use reshard_types::keyrange::hex;

use super::Checkpoint;
use crate::error::CopyError;

/// The checkpoint table's name.
pub const TABLE: &str = "_reshard_checkpoint";

/// The checkpoint of one move, on its first target. Blocking; one connection, opened on use and
/// dropped after an error.
#[derive(Debug)]
pub struct CheckpointStore {
    dsn: Dsn,
    /// `` `db`.`_reshard_checkpoint` ``.
    table_sql: String,
    /// The move's row.
    id: String,
    /// The moved tables, for people reading the table.
    tables: String,
    conn: Option<RawConn>,
}

/// A checkpoint row of another move whose tables overlap this one's.
#[derive(Debug, Clone)]
pub struct OtherMove {
    /// Its tables.
    pub tables: String,
}

impl CheckpointStore {
    /// The store of the move of `tables` whose first target is `first_target`.
    pub fn new(first_target: &Dsn, tables: &[String]) -> CheckpointStore {
        let mut sorted = tables.to_vec();
        sorted.sort();
        let joined = sorted.join(",");
        let id = format!("{:032x}", xxhash_rust::xxh3::xxh3_128(joined.as_bytes()));
        let database = first_target.database().unwrap_or_default();
        CheckpointStore {
            dsn: first_target.clone(),
            table_sql: format!("`{}`.`{TABLE}`", database.replace('`', "``")),
            id,
            tables: joined,
            conn: None,
        }
    }

    /// The server it is on.
    pub fn dsn(&self) -> &Dsn {
        &self.dsn
    }

    fn conn(&mut self) -> Result<&mut RawConn, MysqlError> {
        if self.conn.is_none() {
            self.conn = Some(RawConn::connect(&self.dsn)?);
        }
        Ok(self.conn.as_mut().expect("connected above"))
    }

    /// Runs `f` on the connection, dropping it after an error.
    fn with<T>(
        &mut self,
        f: impl FnOnce(&mut RawConn, &str) -> Result<T, MysqlError>,
    ) -> Result<T, MysqlError> {
        let table = self.table_sql.clone();
        let result = self.conn().and_then(|c| f(c, &table));
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    /// This move's checkpoint, if there is one.
    pub fn load(&mut self) -> Result<Option<Checkpoint>, CopyError> {
        let id = self.id.clone();
        let raw = self.with(|conn, table| {
            if !table_exists(conn)? {
                return Ok(None);
            }
            Ok(first_row(
                conn,
                &format!("SELECT state FROM {table} WHERE id = '{id}'"),
            )?
            .and_then(|row| row.into_iter().next().flatten()))
        })?;
        let Some(raw) = raw else { return Ok(None) };
        let checkpoint: Checkpoint = serde_json::from_slice(&raw).map_err(|e| {
            CopyError::Refused(format!(
                "the checkpoint in {} on {} cannot be read ({e}); nothing was written. Run `reshard reset` with the same arguments to discard it, or --force to start over",
                self.table_sql, self.dsn
            ))
        })?;
        if checkpoint.version != super::VERSION {
            return Err(CopyError::Refused(format!(
                "the checkpoint in {} on {} is of format {} and this reshard writes {}; nothing was written. Finish the move with the reshard that started it, or start over with --force",
                self.table_sql,
                self.dsn,
                checkpoint.version,
                super::VERSION
            )));
        }
        Ok(Some(checkpoint))
    }

    /// Every move's checkpoint on this server (those that cannot be read are left out).
    pub fn all(&mut self) -> Result<Vec<Checkpoint>, CopyError> {
        let rows = self.with(|conn, table| {
            let mut rows = Vec::new();
            if !table_exists(conn)? {
                return Ok(rows);
            }
            conn.query_rows(
                &format!("SELECT state FROM {table}"),
                &mut reshard_mysql::wire::Rows(|row: &[u8]| {
                    if let Some(Some(state)) =
                        reshard_mysql::wire::text::text_row_fields(row).first()
                    {
                        rows.push(state.to_vec());
                    }
                    Ok(())
                }),
            )?;
            Ok(rows)
        })?;
        Ok(rows
            .iter()
            .filter_map(|raw| serde_json::from_slice(raw).ok())
            .collect())
    }

    /// A store of the same move with a connection of its own (for a thread that watches).
    pub fn sibling(&self) -> CheckpointStore {
        CheckpointStore {
            dsn: self.dsn.clone(),
            table_sql: self.table_sql.clone(),
            id: self.id.clone(),
            tables: self.tables.clone(),
            conn: None,
        }
    }

    /// The row that asks this move to stop (`reshard cancel`): its own id, no tables (so no
    /// move takes it for a checkpoint).
    fn stop_id(&self) -> String {
        format!(
            "{:032x}",
            xxhash_rust::xxh3::xxh3_128(format!("stop:{}", self.tables).as_bytes())
        )
    }

    /// Asks a running run of this move to stop (it looks every second).
    pub fn request_stop(&mut self) -> Result<(), MysqlError> {
        let sql = format!(
            "REPLACE INTO {{table}} (id, tables, state, saved_at) VALUES ('{}', '', X'7B7D', NOW(6))",
            self.stop_id()
        );
        self.replace_row(&sql)
    }

    /// Whether this move has been asked to stop.
    pub fn stop_requested(&mut self) -> Result<bool, MysqlError> {
        let id = self.stop_id();
        self.with(|conn, table| {
            if !table_exists(conn)? {
                return Ok(false);
            }
            Ok(first_row(conn, &format!("SELECT 1 FROM {table} WHERE id = '{id}'"))?.is_some())
        })
    }

    /// Withdraws a request to stop.
    pub fn clear_stop_request(&mut self) -> Result<(), MysqlError> {
        let id = self.stop_id();
        self.with(|conn, table| {
            if table_exists(conn)? {
                conn.query_drop(&format!("DELETE FROM {table} WHERE id = '{id}'"))?;
            }
            Ok(())
        })
    }

    /// Checkpoints of other moves whose tables overlap `tables`.
    pub fn overlapping(&mut self, tables: &[String]) -> Result<Vec<OtherMove>, CopyError> {
        let id = self.id.clone();
        let rows = self.with(|conn, table| {
            let mut rows = Vec::new();
            if !table_exists(conn)? {
                return Ok(rows);
            }
            conn.query_rows(
                &format!("SELECT tables FROM {table} WHERE id <> '{id}'"),
                &mut reshard_mysql::wire::Rows(|row: &[u8]| {
                    if let Some(Some(t)) = reshard_mysql::wire::text::text_row_fields(row).first() {
                        rows.push(String::from_utf8_lossy(t).into_owned());
                    }
                    Ok(())
                }),
            )?;
            Ok(rows)
        })?;
        Ok(rows
            .into_iter()
            .filter(|other| other.split(',').any(|t| tables.iter().any(|m| m == t)))
            .map(|tables| OtherMove { tables })
            .collect())
    }

    /// Saves `checkpoint` (creating the table on first use); committed when it returns.
    pub fn save(&mut self, checkpoint: &Checkpoint) -> Result<(), MysqlError> {
        let json = serde_json::to_vec(checkpoint).expect("a checkpoint serializes");
        let sql = format!(
            "REPLACE INTO {{table}} (id, tables, state, saved_at) VALUES ('{}', X'{}', X'{}', NOW(6))",
            self.id,
            hex(self.tables.as_bytes()),
            hex(&json)
        );
        self.replace_row(&sql)
    }

    /// Runs a `REPLACE INTO {table} ...` (creating the table on first use).
    fn replace_row(&mut self, sql: &str) -> Result<(), MysqlError> {
        self.with(|conn, table| {
            let sql = sql.replace("{table}", table);
            match conn.query_drop(&sql) {
                Ok(_) => Ok(()),
                Err(MysqlError::Server { code: 1146, .. }) => {
                    create_table(conn, table)?;
                    conn.query_drop(&sql).map(|_| ())
                }
                Err(e) => Err(e),
            }
        })
    }

    /// Deletes this move's checkpoint; whether there was one.
    pub fn delete(&mut self) -> Result<bool, MysqlError> {
        let id = self.id.clone();
        self.with(|conn, table| {
            if !table_exists(conn)? {
                return Ok(false);
            }
            let ok = conn.query_drop(&format!("DELETE FROM {table} WHERE id = '{id}'"))?;
            Ok(ok.affected_rows > 0)
        })
    }
}

fn table_exists(conn: &mut RawConn) -> Result<bool, MysqlError> {
    Ok(first_row(
        conn,
        &format!(
            "SELECT 1 FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{TABLE}'"
        ),
    )?
    .is_some())
}

fn create_table(conn: &mut RawConn, table: &str) -> Result<(), MysqlError> {
    conn.query_drop(&format!(
        "CREATE TABLE IF NOT EXISTS {table} (\
         id CHAR(32) CHARACTER SET ascii NOT NULL PRIMARY KEY, \
         tables TEXT NOT NULL, \
         state LONGBLOB NOT NULL, \
         saved_at TIMESTAMP(6) NOT NULL\
         ) ENGINE=InnoDB COMMENT='reshard move checkpoints: see reshard status; reshard reset discards one'"
    ))
    .map(|_| ())
}
