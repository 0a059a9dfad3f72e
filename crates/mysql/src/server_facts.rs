//! The server settings a move depends on, read once per server.
//!
//! `SHOW GLOBAL VARIABLES WHERE Variable_name IN (...)` works the same on MySQL and MariaDB and
//! simply omits variables a flavor lacks (MariaDB has no `binlog_row_value_options`), so one
//! query serves both. Global values are read, not session ones: they are what the application's
//! sessions, whose changes we must replicate, inherit.

use std::collections::HashMap;

use mysql_async::prelude::Queryable;
use reshard_types::Flavor;
use serde::Serialize;

use crate::error::MysqlError;
use crate::session::Session;

const VARIABLES: &[&str] = &[
    "log_bin",
    "binlog_format",
    "binlog_row_image",
    "binlog_row_value_options",
    "server_id",
    "local_infile",
    "read_only",
    "super_read_only",
    "hostname",
    "port",
];

/// What a server says about itself. Plain data: [`crate::assess`] judges it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ServerFacts {
    /// `SELECT VERSION()`.
    pub version: String,
    /// Told from the version.
    #[serde(serialize_with = "display")]
    pub flavor: Flavor,
    /// `@@global.log_bin`.
    pub log_bin: bool,
    /// `@@global.binlog_format` (`ROW`, `STATEMENT`, `MIXED`).
    pub binlog_format: String,
    /// `@@global.binlog_row_image` (`FULL`, `MINIMAL`, `NOBLOB`, MariaDB's `FULL_NODUP`).
    pub binlog_row_image: String,
    /// `@@global.binlog_row_value_options`, MySQL only (`PARTIAL_JSON` or empty).
    pub binlog_row_value_options: Option<String>,
    /// `@@global.server_id`.
    pub server_id: u32,
    /// `@@global.local_infile`.
    pub local_infile: bool,
    /// `@@global.read_only`, or MySQL's `super_read_only`.
    pub read_only: bool,
    /// `@@hostname` and `@@port`: with `server_id`, tells whether two DSNs reach one server.
    pub hostname: String,
    /// `@@port`.
    pub port: u16,
    /// The DSN's database and whether it exists; `None` when the DSN names none.
    pub database: Option<(String, bool)>,
    /// `CURRENT_USER()`: the account the grants are for (`name@host`).
    pub user: String,
    /// `SHOW GRANTS`: the current user's and its enabled role's (see [`crate::privileges`]).
    /// Not serialized: a line may carry a password hash (`IDENTIFIED BY PASSWORD '*...'`).
    #[serde(skip)]
    pub grants: Vec<String>,
    /// The server ids of replicas registered with it (`SHOW SLAVE HOSTS`; empty when the user
    /// may not list them).
    pub replica_ids: Vec<u32>,
}

fn display<S: serde::Serializer>(f: &Flavor, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(f)
}

impl ServerFacts {
    /// Connects to the server of `dsn` (without requiring its database) and reads its facts.
    pub async fn of(dsn: &reshard_types::Dsn) -> Result<ServerFacts, MysqlError> {
        let mut session = crate::session::connect_server(dsn).await?;
        let facts = ServerFacts::read(&mut session, dsn.database()).await?;
        if let Err(e) = session.close().await {
            tracing::debug!("closing the session that read the server's facts failed: {e}");
        }
        Ok(facts)
    }

    /// Reads the facts over `session`. `database` is the database to look for (the session's own
    /// DSN may name none, so that a missing database is a finding, not a connection failure).
    pub async fn read(
        session: &mut Session,
        database: Option<&str>,
    ) -> Result<ServerFacts, MysqlError> {
        const DOING: &str = "reading server variables";
        let list = VARIABLES
            .iter()
            .map(|v| format!("'{v}'"))
            .collect::<Vec<_>>()
            .join(",");
        let rows: Vec<(String, String)> = session
            .conn()
            .query(format!(
                "SHOW GLOBAL VARIABLES WHERE Variable_name IN ({list})"
            ))
            .await
            .map_err(|e| session.error(DOING, e))?;
        let vars: HashMap<String, String> = rows
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let database = match database {
            None => None,
            Some(db) => {
                let found: Option<String> = session
                    .conn()
                    .exec_first(
                        "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?",
                        (db,),
                    )
                    .await
                    .map_err(|e| session.error("looking up the database", e))?;
                Some((db.to_owned(), found.is_some()))
            }
        };
        let dsn = session.dsn().to_string();
        let get = |name: &str| -> Result<&str, MysqlError> {
            vars.get(name)
                .map(String::as_str)
                .ok_or_else(|| MysqlError::Unexpected {
                    server: dsn.clone(),
                    doing: DOING,
                    detail: format!("the server does not report @@{name}"),
                })
        };
        let number = |name: &str| -> Result<u64, MysqlError> {
            let text = get(name)?;
            text.parse().map_err(|_| MysqlError::Unexpected {
                server: dsn.clone(),
                doing: DOING,
                detail: format!("@@{name} is '{text}', not a number"),
            })
        };
        let port = number("port")?;
        let server_id = number("server_id")?;
        let user: Option<String> = session
            .conn()
            .query_first("SELECT CURRENT_USER()")
            .await
            .map_err(|e| session.error("reading the current user", e))?;
        let grants: Vec<String> = session
            .conn()
            .query("SHOW GRANTS")
            .await
            .map_err(|e| session.error("reading the user's grants", e))?;
        // Listing replicas may need a privilege the user lacks: then none are known.
        let replica_ids: Vec<u32> = match session
            .conn()
            .query::<mysql_async::Row, _>("SHOW SLAVE HOSTS")
            .await
        {
            Ok(rows) => rows.iter().filter_map(|row| row.get::<u32, _>(0)).collect(),
            Err(_) => Vec::new(),
        };
        Ok(ServerFacts {
            version: session.version().to_owned(),
            flavor: session.flavor(),
            log_bin: is_on(get("log_bin")?),
            binlog_format: get("binlog_format")?.to_ascii_uppercase(),
            binlog_row_image: get("binlog_row_image")?.to_ascii_uppercase(),
            binlog_row_value_options: vars.get("binlog_row_value_options").cloned(),
            server_id: u32::try_from(server_id).unwrap_or(u32::MAX),
            local_infile: is_on(get("local_infile")?),
            read_only: is_on(get("read_only")?)
                || vars.get("super_read_only").is_some_and(|v| is_on(v)),
            hostname: get("hostname")?.to_owned(),
            port: u16::try_from(port).unwrap_or(0),
            database,
            user: user.unwrap_or_default(),
            grants,
            replica_ids,
        })
    }

    /// The numeric `major.minor.patch` at the start of the version (`10.11.19`), skipping the
    /// `5.5.5-` prefix old MariaDB releases put before their real version.
    pub fn version_numbers(&self) -> Option<(u32, u32, u32)> {
        let v = self.version.strip_prefix("5.5.5-").unwrap_or(&self.version);
        let mut parts = v
            .split(|c: char| !c.is_ascii_digit())
            .take(3)
            .map(str::parse::<u32>);
        Some((
            parts.next()?.ok()?,
            parts.next()?.ok()?,
            parts.next()?.ok()?,
        ))
    }

    /// Whether two sets of facts come from the same server (same host name, port and server id).
    pub fn same_server(&self, other: &ServerFacts) -> bool {
        self.hostname == other.hostname
            && self.port == other.port
            && self.server_id == other.server_id
    }
}

fn is_on(value: &str) -> bool {
    matches!(value.to_ascii_uppercase().as_str(), "ON" | "1" | "TRUE")
}

/// How far a replica is behind its primary: `Seconds_Behind_Master` of `SHOW SLAVE STATUS`, or
/// `None` when that is NULL (its SQL thread stopped, or not connected) or the server is not a
/// replica: lag that cannot be known.
pub async fn replica_lag(session: &mut Session) -> Result<Option<u64>, MysqlError> {
    let row: Option<mysql_async::Row> = session
        .conn()
        .query_first("SHOW SLAVE STATUS")
        .await
        .map_err(|e| session.error("reading the replica's status", e))?;
    Ok(row.and_then(|row| {
        row.get_opt::<Option<u64>, _>("Seconds_Behind_Master")
            .and_then(Result::ok)
            .flatten()
    }))
}
