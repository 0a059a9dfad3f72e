//! A database of its own for each test, dropped afterwards.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use mysql_async::Conn;
use mysql_async::prelude::Queryable;

use crate::oracle::{self, TableDump};
use crate::servers::{self, Server};

/// Set to `1` to keep test databases after the test, for inspecting what a failing test left.
const KEEP_ENV: &str = "RESHARD_KEEP_TEST_DBS";

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A uniquely named database on one test server. Dropping it drops the database.
#[derive(Debug)]
pub struct TestDb {
    server: Server,
    name: String,
}

impl TestDb {
    /// Creates a fresh database for `test` on instance `instance` (1-based) of the local servers.
    ///
    /// The name (`rt_<test>_<pid>_<n>_<nonce>`) is unique across the threads and processes of a
    /// run, and across runs, so parallel tests and leftovers of crashed runs never collide.
    pub async fn create(test: &str, instance: usize) -> TestDb {
        Self::create_on(test, servers::instance(instance)).await
    }

    /// Takes over database `name`, which exists on `server` (created by the test another way,
    /// say so that a replica sees it created): it is dropped like the others.
    pub fn attach(name: &str, server: Server) -> TestDb {
        TestDb {
            server,
            name: name.to_owned(),
        }
    }

    /// Like [`TestDb::create`], on any server (a [`crate::ScratchServer`], say).
    pub async fn create_on(test: &str, server: Server) -> TestDb {
        let name = unique_name(test);
        let mut conn = Conn::new(server.opts(None)).await.unwrap_or_else(|e| {
            panic!("cannot reach the test server on 127.0.0.1:{}: {e}; start the servers with `scripts/db.sh up`", server.port)
        });
        conn.query_drop(format!("CREATE DATABASE `{name}` CHARACTER SET utf8mb4"))
            .await
            .unwrap_or_else(|e| panic!("CREATE DATABASE {name} on port {}: {e}", server.port));
        conn.disconnect().await.ok();
        TestDb { server, name }
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server it lives on.
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// Its DSN, `mysql://user:password@127.0.0.1:port/name`.
    pub fn dsn(&self) -> String {
        self.server.dsn(&self.name)
    }

    /// A new connection with this database selected.
    pub async fn conn(&self) -> Conn {
        Conn::new(self.server.opts(Some(&self.name)))
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "connecting to {} on port {}: {e}",
                    self.name, self.server.port
                )
            })
    }

    /// Runs statements (`;`-separated are fine: the text protocol's multi-statements) or panics
    /// with the SQL and the server's error.
    pub async fn exec(&self, sql: &str) {
        let mut conn = self.conn().await;
        conn.query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}\nin: {sql}"));
        conn.disconnect().await.ok();
    }

    /// Runs a query and returns its first column of every row as text (`None` for NULL).
    pub async fn query_column(&self, sql: &str) -> Vec<Option<String>> {
        let mut conn = self.conn().await;
        let rows: Vec<Option<String>> = conn
            .query(sql)
            .await
            .unwrap_or_else(|e| panic!("{e}\nin: {sql}"));
        conn.disconnect().await.ok();
        rows
    }

    /// The names of the tables in the database, sorted.
    pub async fn tables(&self) -> Vec<String> {
        self.query_column(&format!(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' ORDER BY 1",
            self.name
        ))
        .await
        .into_iter()
        .flatten()
        .collect()
    }

    /// Creates a table from its DDL.
    pub async fn create_table(&self, ddl: &str) {
        self.exec(ddl).await;
    }

    /// The table summarised by the oracle (for tables too large to dump).
    pub async fn digest(&self, table: &str) -> oracle::TableDigest {
        let mut conn = self.conn().await;
        let digest = oracle::digest_table(&mut conn, &self.name, table).await;
        conn.disconnect().await.ok();
        digest
    }

    /// The table's rows through the oracle.
    pub async fn dump(&self, table: &str) -> TableDump {
        let mut conn = self.conn().await;
        let dump = oracle::dump_table(&mut conn, &self.name, table).await;
        conn.disconnect().await.ok();
        dump
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if std::env::var(KEEP_ENV).is_ok_and(|v| v == "1") {
            eprintln!(
                "keeping test database {} on port {} ({KEEP_ENV}=1)",
                self.name, self.server.port
            );
            return;
        }
        // Drop cannot await, and may run inside or outside a runtime: drop the database from a
        // thread of its own with a runtime of its own.
        let opts = self.server.opts(None);
        let sql = format!("DROP DATABASE IF EXISTS `{}`", self.name);
        let dropped = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            rt.block_on(async move {
                let mut conn = Conn::new(opts).await.map_err(std::io::Error::other)?;
                conn.query_drop(sql).await.map_err(std::io::Error::other)?;
                conn.disconnect().await.map_err(std::io::Error::other)
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!(
                "warning: could not drop test database {} on port {}: {dropped:?}",
                self.name, self.server.port
            );
        }
    }
}

fn unique_name(test: &str) -> String {
    let clean: String = test
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .take(28)
        .collect();
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nonce = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0)
        % 0x1_0000;
    format!("rt_{clean}_{}_{n}_{nonce:04x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_valid_and_short() {
        let a = unique_name("copy: a Big/test name with spaces and more than enough characters");
        let b = unique_name("copy: a Big/test name with spaces and more than enough characters");
        assert_ne!(a, b);
        for name in [a, b] {
            assert!(name.len() <= 64, "{name}");
            assert!(
                name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'),
                "{name}"
            );
        }
    }
}
